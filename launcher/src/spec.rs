//! The one plain configuration that flows from the command line to the clone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::caps;
use crate::cgroup::Limits;
use crate::cli::RunArgs;
use crate::mounts::Volume;
use crate::size;
use crate::user::{self, User};

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
    /// The command's user (`--user`, `--group-add`); None: root, as init is.
    pub user: Option<User>,
}

/// Least privilege inside, docker's defaults unless relaxed.
pub struct Security {
    /// The command's capabilities (bounding, permitted, effective, inheritable).
    pub caps: u64,
    pub no_new_privs: bool,
    pub seccomp: bool,
    pub read_only: bool,
    /// A network namespace of its own with only `lo` (`--net none`).
    pub no_network: bool,
    /// A cgroup namespace of its own, its cgroups alone at /sys/fs/cgroup
    /// (`--cgroupns private`, the default).
    pub cgroupns: bool,
    pub volumes: Vec<Volume>,
}

/// Same default PATH as docker and the Alpine image.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's /dev/shm size.
const DEFAULT_SHM_SIZE: u64 = 64 << 20;

/// Linux's limit on a hostname (HOST_NAME_MAX).
const HOST_NAME_MAX: usize = 64;

/// The kernel refuses an argv+envp larger than this (a quarter of an 8 MiB stack); be
/// clear about it here rather than report E2BIG from inside the container.
const MAX_ARGS_BYTES: usize = 2 * 1024 * 1024;
/// And any one string longer than this (MAX_ARG_STRLEN, 32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Validates the command line (as argh parsed it) into a Spec.
pub fn build(input: RunArgs) -> Result<Spec, String> {
    if input.command.is_empty() {
        return Err("no command given: usage: launcher run [OPTIONS] [--] CMD [ARGS...], e.g. launcher run -- /bin/sh".into());
    }
    if input.command[0].is_empty() {
        return Err("the command is an empty string: name a program, e.g. /bin/sh".into());
    }
    let limits = Limits {
        pids: option("--pids-limit", &input.pids_limit, size::parse_pids_limit)?,
        memory: option("--memory", &input.memory, size::parse_size)?,
        memory_swap: option("--memory-swap", &input.memory_swap, size::parse_swap)?,
        cpus: option("--cpus", &input.cpus, size::parse_cpus)?,
    };
    limits.validate()?;
    check_hostname(&input.hostname)?;
    check_workdir(&input.workdir)?;
    let rootfs = check_rootfs(&input.rootfs)?;
    let shm_size = match &input.shm_size {
        Some(v) => size::parse_size(v).map_err(|e| format!("--shm-size {v:?}: {e}"))?,
        None => DEFAULT_SHM_SIZE,
    };
    let security = security(&input, &rootfs)?;
    let user = user::resolve(input.user.as_deref(), &input.group_add, &rootfs)?;
    let home = user.as_ref().map_or("/root", |(_, home)| home.as_str());
    let env = environment(&input.hostname, input.tty, home, input.env)?;
    let mut all = input.command.iter().chain(env.iter());
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
    Ok(Spec {
        rootfs,
        hostname: input.hostname,
        env,
        workdir: input.workdir,
        tty: input.tty,
        interactive: input.interactive,
        command: input.command,
        limits,
        cgroup_parent: input.cgroup_parent,
        stop_timeout: Duration::from_secs(input.stop_timeout),
        trace: input.trace || std::env::var_os("LAUNCHER_TRACE").is_some_and(|v| v != "0"),
        shm_size,
        security,
        user: user.map(|(user, _)| user),
    })
}

/// Parses an optional value, naming the option in the error.
fn option<T>(
    name: &str,
    value: &Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    value.as_deref().map(|v| parse(v).map_err(|e| format!("{name} {v:?}: {e}"))).transpose()
}

fn check_hostname(name: &str) -> Result<(), String> {
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

fn check_workdir(dir: &str) -> Result<(), String> {
    if !dir.starts_with('/') || dir.contains('\0') {
        return Err(format!("--workdir {dir:?}: must be an absolute path inside the container, e.g. /root"));
    }
    Ok(())
}

fn check_rootfs(path: &str) -> Result<PathBuf, String> {
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

fn security(input: &RunArgs, rootfs: &Path) -> Result<Security, String> {
    let mut security = Security {
        caps: caps::effective_set(&input.cap_add, &input.cap_drop)?,
        no_new_privs: true,
        seccomp: true,
        read_only: input.read_only,
        no_network: match input.net.as_str() {
            "host" => false,
            "none" => true,
            other => return Err(format!("--net {other:?}: use host (the default) or none")),
        },
        cgroupns: match input.cgroupns.as_str() {
            "private" => true,
            "host" => false,
            other => return Err(format!("--cgroupns {other:?}: use private (the default) or host")),
        },
        volumes: input.volume.iter().map(|v| Volume::parse(v, rootfs)).collect::<Result<_, _>>()?,
    };
    for opt in &input.security_opt {
        match opt.as_str() {
            "no-new-privileges" | "no-new-privileges=true" => security.no_new_privs = true,
            "no-new-privileges=false" => security.no_new_privs = false,
            "seccomp=unconfined" => security.seccomp = false,
            other => {
                return Err(format!(
                    "--security-opt {other:?}: supported are no-new-privileges[=true|false] and seccomp=unconfined"
                ))
            }
        }
    }
    Ok(security)
}

/// A clean environment like docker's: never the host's.
fn environment(hostname: &str, tty: bool, home: &str, extra: Vec<String>) -> Result<Vec<String>, String> {
    let mut env =
        vec![format!("PATH={DEFAULT_PATH}"), format!("HOSTNAME={hostname}"), format!("HOME={home}")];
    if tty {
        env.push("TERM=xterm".to_string());
    }
    for var in extra {
        let Some((key, _)) = var.split_once('=') else {
            return Err(format!("-e {var:?}: expected KEY=VALUE, e.g. -e {var}=1"));
        };
        if key.is_empty() {
            return Err(format!("-e {var:?}: the variable name before '=' is empty"));
        }
        let prefix = format!("{key}=");
        env.retain(|v| !v.starts_with(&prefix));
        env.push(var);
    }
    Ok(env)
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
    fn env_overrides_and_rejects() {
        let env = environment("h", true, "/root", vec!["PATH=/x".into(), "A=b=c".into()]).unwrap();
        assert_eq!(env, ["HOSTNAME=h", "HOME=/root", "TERM=xterm", "PATH=/x", "A=b=c"]);
        assert!(environment("h", false, "/", vec!["NOEQUALS".into()]).is_err());
        assert!(environment("h", false, "/", vec!["=v".into()]).is_err());
    }

    #[test]
    fn workdir_must_be_absolute() {
        assert!(check_workdir("/tmp").is_ok());
        assert!(check_workdir("tmp").is_err());
    }
}
