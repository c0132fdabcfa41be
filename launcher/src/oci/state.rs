//! A container's state between the OCI verbs, each a process of its own:
//! `ROOT/ID/state.json` (the runtime-spec's state plus what the later verbs
//! need), under a lock on the directory so that two verbs on one ID take
//! turns.

use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// The runtime-spec version whose state and config we speak.
pub const OCI_VERSION: &str = "1.1.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// init waits for `start` before it runs the command.
    Created,
    Running,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
        }
    }
}

/// What `create` leaves for the other verbs.
#[derive(Clone, Debug)]
pub struct State {
    pub id: String,
    /// init's pid on the host (the pid file's).
    pub pid: libc::pid_t,
    /// init's start time (field 22 of /proc/PID/stat): a pid reused by
    /// another process after init died is not mistaken for the container.
    pub start_time: u64,
    pub bundle: PathBuf,
    /// The root filesystem on the host (config.json's root.path, resolved).
    pub rootfs: PathBuf,
    /// As written by the last verb; `status()` says what holds now.
    pub status: Status,
    pub annotations: Value,
    /// RFC 3339, when `create` finished.
    pub created: String,
    /// The container's cgroup directories (one per v1 hierarchy, or one
    /// v2), to join (`exec`), kill (`kill --all`) and remove (`delete`).
    pub cgroups: Vec<PathBuf>,
    /// The cgroup directories made above them, removed when empty.
    pub cgroup_parents: Vec<PathBuf>,
    /// The caller had a user namespace made for the container.
    pub user_namespace: bool,
}

impl State {
    /// What holds now: a container whose init is gone is stopped, whatever
    /// the file says.
    pub fn status(&self) -> Status {
        if self.init_alive() {
            self.status
        } else {
            Status::Stopped
        }
    }

    /// init exists and is not a zombie, and is the same process (start time).
    pub fn init_alive(&self) -> bool {
        self.pid > 0 && proc_start_time(self.pid).is_some_and(|(t, zombie)| t == self.start_time && !zombie)
    }

    /// The runtime-spec's state document (`launcher state`).
    pub fn oci_json(&self) -> Value {
        let status = self.status();
        let mut doc = json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "annotations": self.annotations,
        });
        if status != Status::Stopped {
            doc["pid"] = json!(self.pid);
        } else {
            doc["pid"] = json!(0);
        }
        doc
    }

    fn to_json(&self) -> Value {
        json!({
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": self.pid,
            "startTime": self.start_time,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "status": self.status.as_str(),
            "annotations": self.annotations,
            "created": self.created,
            "cgroups": self.cgroups,
            "cgroupParents": self.cgroup_parents,
            "userNamespace": self.user_namespace,
        })
    }

    fn from_json(v: &Value) -> Option<State> {
        let paths = |key: &str| -> Option<Vec<PathBuf>> {
            v[key].as_array()?.iter().map(|p| p.as_str().map(PathBuf::from)).collect()
        };
        Some(State {
            id: v["id"].as_str()?.to_string(),
            pid: v["pid"].as_i64()? as libc::pid_t,
            start_time: v["startTime"].as_u64()?,
            bundle: PathBuf::from(v["bundle"].as_str()?),
            rootfs: PathBuf::from(v["rootfs"].as_str()?),
            status: match v["status"].as_str()? {
                "created" => Status::Created,
                "running" => Status::Running,
                _ => Status::Stopped,
            },
            annotations: v["annotations"].clone(),
            created: v["created"].as_str()?.to_string(),
            cgroups: paths("cgroups")?,
            cgroup_parents: paths("cgroupParents")?,
            user_namespace: v["userNamespace"].as_bool()?,
        })
    }
}

/// A container's directory under the state root, locked while held.
pub struct Dir {
    pub path: PathBuf,
    pub id: String,
    /// flock(LOCK_EX) on the directory, released when dropped.
    _lock: OwnedFd,
}

/// The state root: `--root`, else /run/launcher for the host's root and
/// $XDG_RUNTIME_DIR/launcher otherwise, as runc chooses: root in a user
/// namespace (rootless podman runs its runtime so) cannot write /run.
pub fn default_root() -> PathBuf {
    // SAFETY: geteuid and getuid cannot fail.
    let (euid, uid) = unsafe { (libc::geteuid(), libc::getuid()) };
    let host_root = euid == 0
        && fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]);
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() && !host_root => Path::new(&dir).join("launcher"),
        _ if !host_root && uid != 0 => PathBuf::from(format!("/tmp/launcher-{uid}")),
        _ => PathBuf::from("/run/launcher"),
    }
}

/// An ID names a directory: no path separators, no dot names, nothing odd.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+:@".contains(&b));
    if !ok {
        return Err(format!(
            "container id {id:?}: use letters, digits and . _ - + : @ only (not . or ..), e.g. web-1"
        ));
    }
    Ok(())
}

impl Dir {
    /// Makes the directory for a new container; fails if the ID is taken.
    pub fn create(root: &Path, id: &str) -> Result<Dir, String> {
        check_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| format!("create the state root {}: {e}: pass --root DIR", root.display()))?;
        let path = root.join(id);
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(format!("container {id} already exists: pick another id, or `delete` it first"));
            }
            Err(e) => return Err(format!("create {}: {e}", path.display())),
        }
        let lock = lock(&path)?;
        Ok(Dir { path, id: id.to_string(), _lock: lock })
    }

    /// Opens and locks an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<Dir, String> {
        check_id(id)?;
        let path = root.join(id);
        if !path.join("state.json").exists() && !path.is_dir() {
            return Err(format!("container {id} does not exist (state root {})", root.display()));
        }
        let lock = lock(&path)?;
        Ok(Dir { path, id: id.to_string(), _lock: lock })
    }

    pub fn load(&self) -> Result<State, String> {
        let file = self.path.join("state.json");
        let text = fs::read(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("container {} is being created or was left half made: `delete --force` it", self.id)
            }
            _ => format!("read {}: {e}", file.display()),
        })?;
        serde_json::from_slice(&text).ok().as_ref().and_then(State::from_json).ok_or_else(|| {
            format!("{}: not a state file of this launcher: `delete --force` it", file.display())
        })
    }

    /// Writes state.json whole, by rename, so that no reader sees half of it.
    pub fn save(&self, state: &State) -> Result<(), String> {
        let tmp = self.path.join("state.json.tmp");
        let file = self.path.join("state.json");
        let write = || -> std::io::Result<()> {
            let mut f =
                fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            f.write_all(state.to_json().to_string().as_bytes())?;
            fs::rename(&tmp, &file)
        };
        write().map_err(|e| format!("write {}: {e}", file.display()))
    }

    /// Removes the directory and all in it.
    pub fn remove(self) -> Result<(), String> {
        fs::remove_dir_all(&self.path).map_err(|e| format!("remove {}: {e}", self.path.display()))
    }
}

fn lock(dir: &Path) -> Result<OwnedFd, String> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| format!("open {}: {e}", dir.display()))?;
    // SAFETY: flock on an fd we own; it blocks until the other verb is done.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("lock {}: {}", dir.display(), std::io::Error::last_os_error()));
    }
    Ok(file.into())
}

/// Every container's ID under `root`, sorted.
pub fn list(root: &Path) -> Vec<String> {
    let mut ids: Vec<String> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("state.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    ids
}

/// (start time, zombie) of a process, from /proc/PID/stat.
pub fn proc_start_time(pid: libc::pid_t) -> Option<(u64, bool)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name in parentheses may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // rest starts at field 3 (state); start time is field 22.
    let state = *fields.first()?;
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((start, state == "Z" || state == "X"))
}

/// Now as RFC 3339 in UTC, from the clock alone (no time zone database).
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        now.subsec_nanos()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn ids() {
        for ok in ["a", "web-1", "0123456789abcdef", "x.y_z+1:2@3"] {
            assert!(check_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "a\0"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn own_start_time_is_read() {
        // SAFETY: getpid cannot fail.
        let (start, zombie) = proc_start_time(unsafe { libc::getpid() }).expect("our own /proc/PID/stat");
        assert!(start > 0 && !zombie);
    }

    #[test]
    fn state_round_trips() {
        let s = State {
            id: "c1".into(),
            pid: 42,
            start_time: 7,
            bundle: "/b".into(),
            rootfs: "/r".into(),
            status: Status::Created,
            annotations: json!({"k": "v"}),
            created: now_rfc3339(),
            cgroups: vec!["/sys/fs/cgroup/x".into()],
            cgroup_parents: vec![],
            user_namespace: true,
        };
        let back = State::from_json(&s.to_json()).unwrap();
        assert_eq!(back.pid, 42);
        assert_eq!(back.status, Status::Created);
        assert_eq!(back.cgroups, s.cgroups);
        assert_eq!(back.annotations["k"], "v");
    }
}
