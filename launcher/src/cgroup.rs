//! One container's cgroup: where it goes, its limits, attach, OOM report, removal.
//!
//! The layout is found at run time from /proc/self/mountinfo and /proc/self/cgroup:
//! pure v2, v1, or hybrid (v1 controllers plus a cgroup2 mount that usually has
//! none). Each controller a limit needs (pids, memory, cpu) is used from the
//! unified hierarchy when it is there, from its v1 hierarchy otherwise. Nothing
//! here unmounts or rearranges the host's hierarchies: we only make and remove
//! our own directories, and enable a controller in a parent's
//! `cgroup.subtree_control` when v2 needs it to limit a child.
//!
//! Placement (which rule applied is told by `launcher check`):
//! - v1: beneath the launcher's own cgroup of that hierarchy, as runc does;
//!   unprivileged and not writable there: `<hierarchy root>/launcher.user-<uid>`,
//!   prepared by `sudo make cgroup` (scripts/cgroup.sh).
//! - v2 (no internal processes: a non-root cgroup with processes cannot give
//!   controllers to children): beneath the own cgroup when it is the root, or when
//!   the launcher is alone in a cgroup it may write (it then moves itself, and
//!   only itself, into a leaf `launcher-<pid>-self`); else a dedicated parent:
//!   `/launcher` as root, `/launcher.user-<uid>` (delegated by scripts/cgroup.sh)
//!   when unprivileged.
//! - `--cgroup-parent P`: P, relative to each hierarchy's root, made if missing.

mod v1;
mod v2;

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::size::{Cpus, Swap};

/// The one place the delegated parent's name is defined; scripts/cgroup.sh uses
/// the same `launcher.user-$uid`.
pub fn delegated_name(uid: u32) -> String {
    format!("launcher.user-{uid}")
}

/// The dedicated parent for a root launcher on v2 that cannot nest under its own cgroup.
pub const ROOT_PARENT: &str = "launcher";

/// Name prefix of a container cgroup; the rest is the owning launcher's pid.
pub const PREFIX: &str = "launcher-";
const SELF_SUFFIX: &str = "-self";

/// The name for this launcher's container cgroup: `launcher-<pid>`.
pub fn default_name() -> String {
    format!("{PREFIX}{}", std::process::id())
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub pids: Option<u64>,
    /// Bytes.
    pub memory: Option<u64>,
    /// docker's memory + swap total. None with a memory limit means no swap.
    pub memory_swap: Option<Swap>,
    pub cpus: Option<Cpus>,
    /// A relative CPU weight: v1 cpu.shares (2..262144, 1024 the default),
    /// v2 cpu.weight converted from it (an OCI config's cpu.shares).
    pub cpu_shares: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controller {
    Pids,
    Memory,
    Cpu,
}

impl Controller {
    pub const ALL: [Controller; 3] = [Controller::Pids, Controller::Memory, Controller::Cpu];
    pub fn name(self) -> &'static str {
        match self {
            Controller::Pids => "pids",
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
        }
    }
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.pids.is_none()
            && self.memory.is_none()
            && self.memory_swap.is_none()
            && self.cpus.is_none()
            && self.cpu_shares.is_none()
    }

    /// docker's rules for --memory-swap.
    pub fn validate(&self) -> Result<(), String> {
        if self.pids == Some(1) {
            return Err("--pids-limit 1: the container's init is one of its processes, so a limit of 1 leaves no room for the command: use at least 2".into());
        }
        if let Some(m) = self.memory.filter(|&m| m < MIN_MEMORY) {
            return Err(format!(
                "--memory {}: below {}, the least a container starts in (as docker): use at least 6m",
                crate::size::format_size(m),
                crate::size::format_size(MIN_MEMORY)
            ));
        }
        match (self.memory, self.memory_swap) {
            (None, Some(_)) => Err("--memory-swap needs --memory too (it is the total of memory and swap)".into()),
            (Some(m), Some(Swap::Total(t))) if t < m => Err(format!(
                "--memory-swap {} is smaller than --memory {}: it is the total of memory and swap, so it must be at least the memory limit (or -1 for unlimited swap)",
                crate::size::format_size(t),
                crate::size::format_size(m)
            )),
            _ => Ok(()),
        }
    }

    /// The controllers these limits need, in a fixed order.
    pub fn controllers(&self) -> Vec<Controller> {
        let mut c = Vec::new();
        if self.pids.is_some() {
            c.push(Controller::Pids);
        }
        if self.memory.is_some() || self.memory_swap.is_some() {
            c.push(Controller::Memory);
        }
        if self.cpus.is_some() || self.cpu_shares.is_some() {
            c.push(Controller::Cpu);
        }
        c
    }
}

/// The smallest memory limit accepted: docker's 6 MiB. Below it the kernel
/// kills the container's init while it starts, which reads as an OOM of the
/// command.
pub const MIN_MEMORY: u64 = 6 << 20;

// ---------------------------------------------------------------------------
// Host discovery

#[derive(Clone, Debug)]
pub struct Mount {
    pub point: PathBuf,
    /// The path inside the hierarchy that is mounted here (mountinfo field 4).
    pub root: String,
    pub v2: bool,
    /// v1: the controllers bound to this hierarchy ("cpu", "cpuacct", "name=systemd").
    pub options: Vec<String>,
}

/// A line of /proc/self/cgroup: hierarchy id, controllers, path.
#[derive(Clone, Debug)]
pub struct Membership {
    pub id: u32,
    pub controllers: Vec<String>,
    pub path: String,
}

/// The cgroup side of this host, as seen by this process.
#[derive(Clone, Debug)]
pub struct Host {
    pub mounts: Vec<Mount>,
    pub member: Vec<Membership>,
    /// Controllers available on the unified hierarchy (its root's cgroup.controllers).
    pub v2_controllers: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    V2,
    V1,
    Hybrid,
    Missing,
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut mounts = Vec::new();
    for line in text.lines() {
        // id parent major:minor root point options [optional...] - fstype source super-options
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 {
            continue;
        }
        let v2 = match r[0] {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        mounts.push(Mount {
            point: PathBuf::from(unescape(l[4])),
            root: unescape(l[3]),
            v2,
            options: r[2].split(',').map(str::to_string).collect(),
        });
    }
    mounts
}

pub fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.splitn(3, ':');
            let id = it.next()?.parse().ok()?;
            let ctrl = it.next()?;
            let path = it.next()?.to_string();
            let controllers = ctrl.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
            Some(Membership { id, controllers, path })
        })
        .collect()
}

/// Reads a /proc or cgroupfs file. They report a size of 0, on which
/// `fs::read_to_string` probes with reads of 32, 64, 128... bytes, and the
/// kernel formats the text again for each; one 16 KiB buffer takes it in one
/// read (/proc/self/mountinfo here: 146 us in 8 reads, 75 us in one).
fn read(path: &Path) -> Result<String, String> {
    let mut text = String::with_capacity(16 << 10);
    fs::File::open(path)
        .and_then(|mut f| io::Read::read_to_string(&mut f, &mut text))
        .map_err(|e| format!("read {}: {e}", path.display()))?;
    Ok(text)
}

/// The cgroup mounts where systemd and the distributions put them: cgroup2 at
/// /sys/fs/cgroup, or a tmpfs there with each v1 hierarchy in a directory
/// named after its controllers and cgroup2 in `unified`. statfs checks that
/// layout in a few us, where /proc/self/mountinfo costs ~120 us to read and
/// parse here (more with many mounts); it is read when the layout differs.
/// Every hierarchy this process is in must be there and mounted from its root,
/// so that our own cgroup directory exists beneath it.
fn usual_mounts(member: &[Membership]) -> Option<Vec<Mount>> {
    let base = Path::new("/sys/fs/cgroup");
    let mount = |point: PathBuf, v2, options| Mount { point, root: "/".into(), v2, options };
    match fs_type(base)? {
        libc::CGROUP2_SUPER_MAGIC => return Some(vec![mount(base.to_path_buf(), true, Vec::new())]),
        libc::TMPFS_MAGIC => {}
        _ => return None,
    }
    let mut mounts = Vec::new();
    for m in member {
        let (dir, magic) = match (m.id, m.controllers.as_slice()) {
            (0, []) => ("unified".to_string(), libc::CGROUP2_SUPER_MAGIC),
            (0, _) | (_, []) => return None,
            (_, [only]) if only.starts_with("name=") => {
                (only["name=".len()..].to_string(), libc::CGROUP_SUPER_MAGIC)
            }
            (_, list) => (list.join(","), libc::CGROUP_SUPER_MAGIC),
        };
        let point = base.join(dir);
        if fs_type(&point)? != magic || !join_rel(&point, &m.path).is_dir() {
            return None;
        }
        mounts.push(mount(point, m.id == 0, m.controllers.clone()));
    }
    Some(mounts)
}

/// The filesystem type (statfs f_type) at `path`.
fn fs_type(path: &Path) -> Option<libc::c_long> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statfs is valid; statfs writes into it and reads the
    // NUL-terminated path, both live across the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statfs(c.as_ptr(), &mut st) } == 0).then_some(st.f_type as libc::c_long)
}

impl Host {
    /// The hierarchies of the controllers the launcher can limit (and cgroup2),
    /// and where they are mounted.
    pub fn probe() -> Result<Host, String> {
        Host::probe_for(&Controller::ALL)
    }

    /// As `probe`, but with the v1 hierarchies of `needed` only (and cgroup2):
    /// the start path checks no more than it uses.
    pub fn probe_for(needed: &[Controller]) -> Result<Host, String> {
        let mut member = parse_proc_cgroup(&read(Path::new("/proc/self/cgroup"))?);
        member.retain(|m| m.id == 0 || m.controllers.iter().any(|c| needed.iter().any(|n| n.name() == c)));
        let mounts = match usual_mounts(&member) {
            Some(mounts) => mounts,
            None => parse_mountinfo(&read(Path::new("/proc/self/mountinfo"))?),
        };
        let mut host = Host { mounts, member, v2_controllers: Vec::new() };
        if let Some(m) = host.v2_mount() {
            // The controllers of the hierarchy's root; a mount of a sub-tree (in a
            // container) shows what that sub-tree may use, which is what matters.
            let text = read(&m.point.join("cgroup.controllers"))?;
            host.v2_controllers = text.split_whitespace().map(str::to_string).collect();
        }
        Ok(host)
    }

    /// The cgroup2 mount; the one at /sys/fs/cgroup wins over others.
    pub fn v2_mount(&self) -> Option<&Mount> {
        let v2 = self.mounts.iter().filter(|m| m.v2);
        v2.clone().find(|m| m.point == Path::new("/sys/fs/cgroup")).or_else(|| v2.clone().next())
    }

    pub fn v1_mount(&self, ctrl: &str) -> Option<&Mount> {
        self.mounts.iter().find(|m| !m.v2 && m.options.iter().any(|o| o == ctrl))
    }

    pub fn layout(&self) -> Layout {
        let v1 = self.mounts.iter().any(|m| !m.v2 && m.options.iter().any(|o| is_controller_opt(o)));
        match (v1, self.v2_mount().is_some()) {
            (true, true) => Layout::Hybrid,
            (true, false) => Layout::V1,
            (false, true) => Layout::V2,
            (false, false) => Layout::Missing,
        }
    }

    /// Whether `ctrl` should be used from the unified hierarchy.
    pub fn on_v2(&self, ctrl: Controller) -> bool {
        self.v2_controllers.iter().any(|c| c == ctrl.name())
    }

    /// This process's cgroup directory in a hierarchy, translated through the mount's root.
    pub fn own_dir(&self, mount: &Mount, ctrl: Option<&str>) -> Result<PathBuf, String> {
        let m = self
            .member
            .iter()
            .find(|m| match ctrl {
                None => m.id == 0 && m.controllers.is_empty(),
                Some(c) => m.controllers.iter().any(|x| x == c),
            })
            .ok_or_else(|| {
                format!(
                    "/proc/self/cgroup has no line for the {} hierarchy mounted at {}",
                    ctrl.unwrap_or("unified"),
                    mount.point.display()
                )
            })?;
        let rel = if mount.root == "/" {
            m.path.as_str()
        } else if let Some(rest) = m.path.strip_prefix(&mount.root) {
            if !(rest.is_empty() || rest.starts_with('/')) {
                return Err(self.outside(mount, m));
            }
            rest
        } else {
            return Err(self.outside(mount, m));
        };
        Ok(join_rel(&mount.point, rel))
    }

    fn outside(&self, mount: &Mount, m: &Membership) -> String {
        format!(
            "this process's cgroup {} is outside the part {} of the hierarchy mounted at {}: use --cgroup-parent",
            m.path,
            mount.root,
            mount.point.display()
        )
    }
}

fn is_controller_opt(o: &str) -> bool {
    !matches!(
        o,
        "rw" | "ro"
            | "nosuid"
            | "nodev"
            | "noexec"
            | "relatime"
            | "noprefix"
            | "xattr"
            | "clone_children"
            | "nsdelegate"
            | "memory_recursiveprot"
            | "memory_localevents"
    ) && !o.starts_with("release_agent=")
        && !o.starts_with("name=")
}

/// `base` + a cgroup path such as "/a/b" (never escaping `base`).
fn join_rel(base: &Path, rel: &str) -> PathBuf {
    let mut p = base.to_path_buf();
    for part in rel.split('/').filter(|s| !s.is_empty() && *s != "." && *s != "..") {
        p.push(part);
    }
    p
}

// ---------------------------------------------------------------------------
// Small file helpers; every error names the file, the errno text and a way out.

pub(crate) fn errno_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => ": run `sudo make cgroup` or run as root",
        Some(libc::EROFS) => ": the cgroup filesystem is mounted read-only here",
        _ => "",
    }
}

pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), String> {
    try_write(path, value).map_err(|e| write_error(path, value, &e))
}

/// One write(2) (cgroup files take a value per write call) to a file that
/// must exist: NotFound when this kernel lacks it.
pub(crate) fn try_write(path: &Path, value: &str) -> io::Result<()> {
    io::Write::write_all(&mut fs::OpenOptions::new().write(true).open(path)?, value.as_bytes())
}

pub(crate) fn write_error(path: &Path, value: &str, e: &io::Error) -> String {
    format!("cgroup: write {:?} to {}: {e}{}", value.trim(), path.display(), errno_hint(e))
}

pub(crate) fn mkdir(path: &Path) -> Result<bool, String> {
    match fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(format!("cgroup: mkdir {}: {e}{}", path.display(), errno_hint(&e))),
    }
}

/// Make `dir` and any missing ancestors below `base`; returns the ones made, deepest first.
pub(crate) fn mkdir_p(base: &Path, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut made = Vec::new();
    if dir.is_dir() {
        return Ok(made); // the usual case: one stat instead of a mkdir per level
    }
    let rel = dir.strip_prefix(base).unwrap_or(Path::new(""));
    let mut p = base.to_path_buf();
    for part in rel.components() {
        p.push(part);
        if mkdir(&p)? {
            made.push(p.clone());
        }
    }
    made.reverse();
    Ok(made)
}

pub(crate) fn writable(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

pub(crate) fn procs(dir: &Path) -> Vec<libc::pid_t> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn pid_alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Kill everything in `dir` (v2: cgroup.kill when the kernel has it), wait until
/// it is empty, rmdir it. Returns an error text when something stayed.
pub(crate) fn destroy(dir: &Path, v2: bool) -> Result<(), String> {
    // Normally empty by now (the PID namespace died with init): rmdir first,
    // and kill only what a busy cgroup still holds.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pause = Duration::from_micros(50);
    let mut used_kill = None;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                if Instant::now() > deadline {
                    return Err(format!(
                        "cgroup: rmdir {}: {e}: processes {:?} still in it after SIGKILL",
                        dir.display(),
                        procs(dir)
                    ));
                }
                let killed_all =
                    *used_kill.get_or_insert_with(|| v2 && fs::write(dir.join("cgroup.kill"), "1").is_ok());
                if !killed_all {
                    for pid in procs(dir) {
                        // SAFETY: plain kill(2); pids come from this cgroup's own list.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("cgroup: rmdir {}: {e}{}", dir.display(), errno_hint(&e))),
        }
    }
}

/// Remove the `launcher-<pid>` cgroups (and `launcher-<pid>-self` leaves) in
/// `parent` whose launcher is gone, e.g. one killed by SIGKILL. Returns how many.
pub fn sweep_stale(parent: &Path, v2: bool) -> usize {
    let Ok(entries) = fs::read_dir(parent) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let digits = rest.strip_suffix(SELF_SUFFIX).unwrap_or(rest);
        let Ok(pid) = digits.parse::<libc::pid_t>() else {
            continue;
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) || pid <= 0 || pid_alive(pid) || !e.path().is_dir() {
            continue;
        }
        if destroy(&e.path(), v2).is_ok() {
            n += 1;
        }
    }
    n
}

// ---------------------------------------------------------------------------
// Placement

/// Where the next container's cgroup would go, without touching anything.
#[derive(Clone, Debug)]
pub struct Plan {
    pub v2: Option<v2::Place>,
    pub v1: Vec<v1::Place>,
}

impl Plan {
    /// One line per hierarchy, for `launcher check`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.v2 {
            out.push(p.describe());
        }
        for p in &self.v1 {
            out.push(p.describe());
        }
        out
    }
}

/// Decide, for these controllers, where the container cgroup goes.
/// `container`: the container's init, if already cloned into our cgroup.
pub fn plan(
    host: &Host,
    needed: &[Controller],
    parent: Option<&Path>,
    container: Option<libc::pid_t>,
) -> Result<Plan, String> {
    let on_v2: Vec<Controller> = needed.iter().copied().filter(|c| host.on_v2(*c)).collect();
    let on_v1: Vec<Controller> = needed.iter().copied().filter(|c| !host.on_v2(*c)).collect();
    let v2 = if on_v2.is_empty() { None } else { Some(v2::place(host, &on_v2, parent, container)?) };
    let v1 = v1::places(host, &on_v1, parent)?;
    Ok(Plan { v2, v1 })
}

// ---------------------------------------------------------------------------
// The container's cgroup

pub(crate) struct Leaf {
    pub path: PathBuf,
    pub v2: bool,
    /// v1: the hierarchy's directory name under /sys/fs/cgroup and its
    /// mount options, to show the container its own cgroup.
    pub hierarchy: Option<(String, String)>,
}

/// A launcher that moved itself into `self_leaf` below `own` (v2): undone on remove.
pub(crate) struct MovedSelf {
    pub own: PathBuf,
    pub self_leaf: PathBuf,
    pub enabled: Vec<Controller>,
}

pub struct Cgroup {
    leaves: Vec<Leaf>,
    /// Parent directories this launcher made, deepest first; removed when empty.
    made: Vec<PathBuf>,
    moved: Option<MovedSelf>,
    memory: Option<(PathBuf, bool, u64)>,
    done: bool,
}

impl Cgroup {
    /// Make the container's cgroup(s) named `name` and write the limits. Stale
    /// cgroups of dead launchers in the same parents are swept first.
    /// `container` is the already cloned init, which joins by itself later
    /// (`join_fds`), and which a launcher that moves out of its own cgroup
    /// (v2, `Rule::MoveSelf`) takes along.
    pub fn create(
        name: &str,
        limits: &Limits,
        parent: Option<&Path>,
        container: Option<libc::pid_t>,
    ) -> Result<Cgroup, String> {
        limits.validate()?;
        let needed = limits.controllers();
        if needed.is_empty() {
            return Err("cgroup: no limit asked, so no cgroup should be made".into());
        }
        let plan = plan(&Host::probe_for(&needed)?, &needed, parent, container)?;
        let mut cg = Cgroup { leaves: Vec::new(), made: Vec::new(), moved: None, memory: None, done: false };
        // On error, `cg` is dropped and removes whatever was made so far.
        for place in &plan.v1 {
            v1::create(&mut cg, place, name, limits)?;
        }
        if let Some(place) = &plan.v2 {
            v2::create(&mut cg, place, name, limits, container)?;
        }
        Ok(cg)
    }

    /// One write-only fd per leaf, for init to join by writing "0" (itself):
    /// a process moving itself is cheaper than being moved. On v1 the file is
    /// `tasks`: moving one thread (init's only one) that is the writer skips the
    /// kernel's global threadgroup lock, whose rare RCU wait cost up to 14 ms
    /// here with `cgroup.procs`. v2 has no such file for a whole process.
    pub fn join_fds(&self) -> Result<Vec<OwnedFd>, String> {
        self.leaves
            .iter()
            .map(|leaf| {
                let path = leaf.path.join(if leaf.v2 { "cgroup.procs" } else { "tasks" });
                let file = fs::OpenOptions::new().write(true).open(&path).map_err(|e| {
                    format!("open {}: {e}: is the cgroup writable? run `launcher check`", path.display())
                })?;
                Ok(OwnedFd::from(file))
            })
            .collect()
    }

    /// Moves `pid` into the container's cgroups (OCI create, where init must
    /// be inside before the engine looks).
    pub fn attach(&self, pid: libc::pid_t) -> Result<(), String> {
        for leaf in &self.leaves {
            let path = leaf.path.join("cgroup.procs");
            fs::write(&path, pid.to_string())
                .map_err(|e| format!("write {pid} to {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Hands the cgroup to whoever outlives us (OCI create): the leaf
    /// directories and the parents made for them, deepest first, for
    /// `remove_dirs` to remove later.
    pub fn keep(mut self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        self.done = true;
        let leaves = self.leaves.iter().map(|l| l.path.clone()).collect();
        (leaves, std::mem::take(&mut self.made))
    }

    /// What `keep` handed over, removed: what is left in the leaves killed.
    pub fn remove_dirs(leaves: &[PathBuf], parents: &[PathBuf]) -> Result<(), String> {
        for leaf in leaves {
            let v2 = leaf.join("cgroup.kill").exists() || leaf.join("cgroup.type").exists();
            destroy(leaf, v2)?;
        }
        for dir in parents {
            let _ = fs::remove_dir(dir);
        }
        Ok(())
    }

    /// The ops that show a container in its own cgroup namespace its cgroups
    /// at /sys/fs/cgroup (see `mounts::cgroup_view`).
    pub fn view_ops(&self) -> Vec<crate::mounts::Op> {
        let v1: Vec<(String, String)> = self.leaves.iter().filter_map(|l| l.hierarchy.clone()).collect();
        crate::mounts::cgroup_view(&v1, self.leaves.iter().any(|l| l.v2))
    }

    /// The leaf directories (v1: one per hierarchy; v2: one).
    pub fn paths(&self) -> Vec<&Path> {
        self.leaves.iter().map(|l| l.path.as_path()).collect()
    }

    /// After the container ended: a sentence when the kernel's OOM killer fired in it.
    pub fn oom_message(&self) -> Option<String> {
        let (dir, v2, limit) = self.memory.as_ref()?;
        let count = |file: &str, key: &str| -> Option<u64> {
            let text = read(&dir.join(file)).ok()?;
            text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        };
        let kills = if *v2 {
            count("memory.events", "oom_kill ")?
        } else {
            // oom_kill is in memory.oom_control since 4.13; failcnt only says the
            // limit was hit, so it is the fallback for older kernels.
            match count("memory.oom_control", "oom_kill ") {
                Some(n) => n,
                None => count("memory.failcnt", "")?,
            }
        };
        (kills > 0).then(|| {
            format!(
                "container ran out of memory (limit {}): the kernel's OOM killer ended a process in it",
                crate::size::format_size(*limit)
            )
        })
    }

    /// Kill what is left, rmdir every directory made. Idempotent; Drop runs it too.
    pub fn remove(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        for leaf in &self.leaves {
            if let Err(e) = destroy(&leaf.path, leaf.v2) {
                crate::status::say(&format!("warning: {e}; the next run with limits removes it"));
            }
        }
        if let Some(m) = self.moved.take() {
            v2::move_back(&m);
        }
        for dir in &self.made {
            // Busy means another launcher uses it: it is theirs to remove then.
            let _ = fs::remove_dir(dir);
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests;
