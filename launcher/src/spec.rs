//! The one plain configuration that flows from each front end (the command
//! line, cli.rs; an OCI bundle's config.json, oci/config.rs) to the clone,
//! knowing neither, and the checks both front ends share.

use std::path::PathBuf;
use std::time::Duration;

use crate::cgroup::Limits;
use crate::mounts::Volume;

/// Everything a run needs, validated: nothing below this point has to second-guess it.
pub struct Spec {
    /// Absolute, canonical path of the root filesystem on the host.
    pub rootfs: PathBuf,
    pub hostname: String,
    /// The command's whole environment, `KEY=VALUE` each.
    pub env: Vec<String>,
    /// Absolute path inside the container.
    pub workdir: String,
    pub tty: bool,
    pub interactive: bool,
    pub command: Vec<String>,
    pub limits: Limits,
    pub cgroup_parent: Option<String>,
    pub stop_timeout: Duration,
    pub trace: bool,
    /// Bytes of the /dev/shm tmpfs.
    pub shm_size: u64,
    pub security: Security,
    pub namespaces: Namespaces,
    /// The container's cgroup at this path below each hierarchy's root,
    /// instead of `launcher-<pid>` below `cgroup_parent` (OCI cgroupsPath).
    pub cgroup_path: Option<PathBuf>,
    /// (RLIMIT_*, soft, hard) set on init, inherited by the command.
    pub rlimits: Vec<(u32, u64, u64)>,
    /// Written to init's /proc/PID/oom_score_adj; the command inherits it.
    pub oom_score_adj: Option<i32>,
    /// A message queue filesystem at /dev/mqueue.
    pub mqueue: bool,
    /// Masked (and whether a directory) and read-only paths beyond docker's,
    /// relative: `proc/...`, `sys/...`.
    pub extra_masked: Vec<(String, bool)>,
    pub extra_read_only: Vec<String>,
    /// The rootfs mounted nodev.
    pub nodev_root: bool,
    pub tmpfs: Vec<crate::mounts::Tmpfs>,
    /// (key, value), namespaced ones only (net.*, IPC), set by the launcher
    /// in the container's namespaces before it starts.
    pub sysctl: Vec<(String, String)>,
}

/// Which namespaces the container gets beyond PID, mount, UTS and IPC, which
/// it always has.
pub struct Namespaces {
    /// A user namespace of its own (without: only root may run it, and the
    /// container's root is the host's, as with rootful docker).
    pub user: bool,
    /// The uid and gid maps to write, as root (`ID OUTSIDE COUNT` lines);
    /// None: the launcher's choice (idmap.rs).
    pub id_maps: Option<(String, String)>,
    /// Namespaces to enter (setns) before the clone, CLONE_NEW* and path:
    /// e.g. the network namespace an engine made.
    pub join: Vec<(libc::c_int, PathBuf)>,
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces { user: true, id_maps: None, join: Vec::new() }
    }
}

/// Least privilege inside, docker's defaults unless relaxed.
pub struct Security {
    /// The command's capabilities (bounding, permitted, effective, inheritable).
    pub caps: u64,
    pub no_new_privs: bool,
    pub seccomp: Seccomp,
    pub read_only: bool,
    /// A network namespace of its own with only `lo` (`--net none`).
    pub no_network: bool,
    /// A cgroup namespace of its own, its cgroups alone at /sys/fs/cgroup
    /// (`--cgroupns private`, the default).
    pub cgroupns: bool,
    pub volumes: Vec<Volume>,
}

/// The seccomp filter the command runs under.
pub enum Seccomp {
    /// `--security-opt seccomp=unconfined`.
    Off,
    /// The launcher's own (seccomp.rs), for the container's capabilities.
    Default,
    /// A profile compiled for init (`--security-opt seccomp=FILE`, oci/seccomp.rs).
    Profile(Vec<u8>),
}

/// Same default PATH as docker and the Alpine image.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's /dev/shm size.
pub(crate) const DEFAULT_SHM_SIZE: u64 = 64 << 20;

/// Linux's limit on a hostname (HOST_NAME_MAX).
const HOST_NAME_MAX: usize = 64;

/// The kernel refuses an argv+envp larger than this (a quarter of an 8 MiB stack); be
/// clear about it here rather than report E2BIG from inside the container.
const MAX_ARGS_BYTES: usize = 2 * 1024 * 1024;
/// And any one string longer than this (MAX_ARG_STRLEN, 32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// What the kernel's execve would refuse, said before anything starts.
pub(crate) fn check_strings(command: &[String], env: &[String]) -> Result<(), String> {
    let mut all = command.iter().chain(env.iter());
    if let Some(bad) = all.clone().find(|s| s.contains('\0')) {
        return Err(format!(
            "argument or variable {bad:?} contains a NUL byte, which cannot be passed to a program"
        ));
    }
    if let Some(long) = all.clone().find(|s| s.len() >= MAX_ARG_STRLEN) {
        return Err(format!(
            "an argument or variable is too long ({} bytes; the kernel takes at most {MAX_ARG_STRLEN} each): pass large data through stdin or a file",
            long.len()
        ));
    }
    let bytes: usize = all.by_ref().map(|s| s.len() + 1).sum();
    if bytes > MAX_ARGS_BYTES {
        return Err(format!(
            "the command's arguments and environment are {bytes} bytes, over the {MAX_ARGS_BYTES}-byte limit the kernel accepts: pass large data through stdin or a file"
        ));
    }
    Ok(())
}

pub(crate) fn check_hostname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > HOST_NAME_MAX {
        return Err(format!(
            "--hostname {name:?}: must be 1 to {HOST_NAME_MAX} bytes long, this is {}",
            name.len()
        ));
    }
    // RFC 1123 labels: letters, digits and hyphens, not starting or ending with a hyphen.
    let valid_label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !name.split('.').all(valid_label) {
        return Err(format!(
            "--hostname {name:?}: use letters, digits, '-' and '.' only (RFC 1123), e.g. --hostname web-1"
        ));
    }
    Ok(())
}

/// The canonical path of the directory `path`, or ENOTDIR. Not through
/// `std::fs::canonicalize`: musl's realpath behind it reads every component's
/// link, and returns a malloc'd copy whose first malloc sets up musl's heap
/// (brk, two mmaps and, when freed, a munmap, with their page faults): ~25 µs of
/// a start here. The kernel names an open directory by its canonical path: an
/// O_PATH descriptor's link in /proc/self/fd is the answer, in three calls.
fn canonical_dir(path: &str) -> std::io::Result<PathBuf> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let c_path = std::ffi::CString::new(path).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // The raw call: musl's open() adds an fcntl for O_CLOEXEC, and std's
    // OpenOptions masks O_PATH out (musl counts it in O_ACCMODE).
    // SAFETY: a NUL-terminated path; no mode is read without O_CREAT.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor just opened, owned by nothing else.
    let dir = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    match std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())) {
        Ok(canonical) if canonical.is_absolute() => Ok(canonical),
        // No /proc (the launcher needs it later anyway, for the id maps), or
        // a name the kernel marks as unreachable: let libc walk the path.
        _ => std::fs::canonicalize(path),
    }
}

pub(crate) fn check_workdir(dir: &str) -> Result<(), String> {
    if !dir.starts_with('/') || dir.contains('\0') {
        return Err(format!("--workdir {dir:?}: must be an absolute path inside the container, e.g. /root"));
    }
    Ok(())
}

pub(crate) fn check_rootfs(path: &str) -> Result<PathBuf, String> {
    let canonical = canonical_dir(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENOTDIR) {
            return format!("rootfs {path}: not a directory: --rootfs takes a root filesystem directory");
        }
        let hint =
            if path == "alpine-fs" { ": run `make rootfs` to make it, or pass --rootfs DIR" } else { "" };
        format!("rootfs {path}: {e}{hint}")
    })?;
    if canonical == std::path::Path::new("/") {
        return Err(
            "rootfs /: the host's own root cannot be a container's root: pass a separate directory".into()
        );
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        assert!(check_hostname("container").is_ok());
        assert!(check_hostname("web-1.example").is_ok());
        assert!(check_hostname(&"a".repeat(64)).is_ok());
        for bad in ["", "-a", "a-", "a..b", "a b", "a_b", "ä", &"a".repeat(65)] {
            assert!(check_hostname(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn workdir_must_be_absolute() {
        assert!(check_workdir("/tmp").is_ok());
        assert!(check_workdir("tmp").is_err());
    }
}
