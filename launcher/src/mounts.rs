//! Extra mounts that init performs for the launcher, decided here: docker's
//! masked and read-only paths, `-v` volumes, and `--read-only`. Init only
//! executes the list (see `Op`), so policy stays in one place, testable.

use std::path::{Component, Path, PathBuf};

/// Paths under /proc and /sys a container has no business reading, as docker
/// masks them: directories get an empty read-only tmpfs (one, bound over each),
/// files /dev/null.
/// Which exist depends on the kernel's configuration: init skips missing ones.
const MASKED_DIRS: &[&str] =
    &["proc/asound", "proc/acpi", "proc/scsi", "sys/firmware", "sys/devices/virtual/powercap"];
const MASKED_FILES: &[&str] = &[
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/timer_list",
    "proc/timer_stats",
    "proc/sched_debug",
];

/// Kernel knobs visible but not writable, as docker leaves them.
const READ_ONLY: &[&str] = &["proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"];

const MOUNT_ATTR_RDONLY: u32 = 0x1;

/// One step for init, with targets relative to the rootfs (init runs them
/// before pivot_root, its working directory the rootfs).
#[derive(Debug, PartialEq)]
pub enum Op {
    /// mount(2) as given; empty strings are NULL. `kernel_fs`: see KERNEL_FS;
    /// `shared` (with `kernel_fs`): see SHARED.
    Mount {
        source: String,
        target: String,
        fstype: String,
        flags: u32,
        data: String,
        kernel_fs: bool,
        shared: bool,
    },
    /// mount_setattr(target, attr), recursively or on this mount only.
    SetAttr { target: String, attr: u32, recursive: bool, kernel_fs: bool },
    /// mkdir -p, for a directory volume's mount point.
    MkdirP { target: String },
    /// Create an empty file, for a file volume's mount point.
    Touch { target: String },
}

/// A `-v HOST:CONTAINER[:ro]` bind mount, validated.
#[derive(Debug)]
pub struct Volume {
    /// Canonical host path.
    pub source: PathBuf,
    /// Inside the rootfs, symlinks resolved within it: relative, never escaping.
    pub target: PathBuf,
    pub read_only: bool,
}

impl Volume {
    pub fn parse(arg: &str, rootfs: &Path) -> Result<Volume, String> {
        let bad = |why: &str| format!("-v {arg:?}: {why}");
        if arg.contains('\0') {
            return Err(bad("contains a NUL byte"));
        }
        let mut parts = arg.split(':');
        let (Some(host), Some(container)) = (parts.next(), parts.next()) else {
            return Err(bad("expected HOST:CONTAINER[:ro], e.g. -v /srv/data:/data:ro"));
        };
        let read_only = match parts.next() {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => return Err(bad(&format!("unknown mode {other:?}: use ro or rw"))),
        };
        if parts.next().is_some() {
            return Err(bad("too many ':' (paths with ':' are not supported)"));
        }
        if !host.starts_with('/') {
            return Err(bad("the host path must be absolute"));
        }
        let source = std::fs::canonicalize(host).map_err(|e| bad(&format!("host path {host}: {e}")))?;
        if !container.starts_with('/') {
            return Err(bad("the container path must be absolute, e.g. /data"));
        }
        if Path::new(container).components().any(|c| c == Component::ParentDir) {
            return Err(bad("the container path must not contain '..'"));
        }
        let target = resolve_in_root(rootfs, Path::new(container)).map_err(|e| bad(&e))?;
        if target.as_os_str().is_empty() {
            return Err(bad("cannot mount over the container's root"));
        }
        Ok(Volume { source, target, read_only })
    }
}

/// Resolves `path` as the container will see it: symlinks inside the rootfs
/// are followed relative to the rootfs, and `..` stops at its root, so the
/// result can never leave it. Returns the path relative to the rootfs.
pub fn resolve_in_root(rootfs: &Path, path: &Path) -> Result<PathBuf, String> {
    let mut resolved = PathBuf::new();
    let mut pending: Vec<PathBuf> = path.components().rev().map(|c| PathBuf::from(c.as_os_str())).collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.to_str() {
            Some("/") | Some(".") => continue,
            Some("..") => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(&part);
        match std::fs::read_link(rootfs.join(&candidate)) {
            Ok(link) => {
                links += 1;
                if links > 40 {
                    return Err(format!("too many symbolic links under {}", path.display()));
                }
                if link.is_absolute() {
                    resolved = PathBuf::new();
                }
                pending.extend(link.components().rev().map(|c| PathBuf::from(c.as_os_str())));
            }
            Err(_) => resolved = candidate,
        }
    }
    Ok(resolved)
}

/// What to do, in order: masks and read-only kernel paths, volumes, then the root.
pub fn ops(volumes: &[Volume], read_only_root: bool) -> Vec<Op> {
    let mut ops = Vec::new();
    for path in MASKED_DIRS {
        ops.push(Op::Mount {
            source: "tmpfs".into(),
            target: path.to_string(),
            fstype: "tmpfs".into(),
            flags: (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u32,
            data: "size=0".into(),
            kernel_fs: true,
            shared: true,
        });
    }
    for path in MASKED_FILES {
        ops.push(bind("/dev/null", path, true));
    }
    for path in READ_ONLY {
        // mount_setattr works on a mount's root: bind the path onto itself first.
        ops.push(bind(path, path, true));
        ops.push(Op::SetAttr {
            target: path.to_string(),
            attr: MOUNT_ATTR_RDONLY,
            recursive: true,
            kernel_fs: true,
        });
    }
    for volume in volumes {
        let target = volume.target.to_string_lossy().into_owned();
        ops.push(match volume.source.is_dir() {
            true => Op::MkdirP { target: target.clone() },
            false => Op::Touch { target: target.clone() },
        });
        ops.push(bind(&volume.source.to_string_lossy(), &target, false));
        if volume.read_only {
            ops.push(Op::SetAttr { target, attr: MOUNT_ATTR_RDONLY, recursive: true, kernel_fs: false });
        }
    }
    if read_only_root {
        ops.push(Op::SetAttr {
            target: ".".into(),
            attr: MOUNT_ATTR_RDONLY,
            recursive: false,
            kernel_fs: false,
        });
    }
    ops
}

fn bind(source: &str, target: &str, kernel_fs: bool) -> Op {
    Op::Mount {
        source: source.into(),
        target: target.into(),
        fstype: String::new(),
        flags: (libc::MS_BIND | libc::MS_REC) as u32,
        data: String::new(),
        kernel_fs,
        shared: false,
    }
}

/// The op kind's flag for a target in the container's own /proc or /sys, which
/// init mounted moments before: its entries are the kernel's, so no symlink of
/// the rootfs can redirect the path, and init reaches it by path (no openat2
/// and close per op); an entry this kernel lacks is skipped.
const KERNEL_FS: u8 = 0x80;

/// The op kind's flag for kernel-fs mounts that are to show one filesystem:
/// init mounts the first that succeeds as given and binds that mount onto the
/// later ones (a bind is ~10 us cheaper than a new tmpfs, made and torn down).
const SHARED: u8 = 0x40;

impl Op {
    /// The record layout init reads (README, "The config record").
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (kind, arg, strings): (u8, u32, [&str; 4]) = match self {
            Op::Mount { source, target, fstype, flags, data, kernel_fs, shared } => {
                debug_assert!(!shared || *kernel_fs, "init shares only kernel-fs mounts");
                let shared = if *shared { SHARED } else { 0 };
                (1 | kernel_fs_bit(*kernel_fs) | shared, *flags, [source, target, fstype, data])
            }
            Op::SetAttr { target, attr, recursive, kernel_fs } => {
                (if *recursive { 2 } else { 3 } | kernel_fs_bit(*kernel_fs), *attr, ["", target, "", ""])
            }
            Op::MkdirP { target } => (4, 0o755, ["", target, "", ""]),
            Op::Touch { target } => (5, 0o644, ["", target, "", ""]),
        };
        out.push(kind);
        out.extend_from_slice(&arg.to_le_bytes());
        for s in strings {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
    }
}

fn kernel_fs_bit(kernel_fs: bool) -> u8 {
    if kernel_fs {
        KERNEL_FS
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs_with_links() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("launcher-mounts-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real/sub")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../..", dir.join("real/up")).unwrap();
        std::os::unix::fs::symlink("real/sub", dir.join("rel")).unwrap();
        dir
    }

    #[test]
    fn symlinks_resolve_inside_the_rootfs() {
        let root = rootfs_with_links();
        let r = |p: &str| resolve_in_root(&root, Path::new(p)).unwrap();
        assert_eq!(r("/abs/x"), PathBuf::from("etc/x"), "an absolute link points into the rootfs");
        assert_eq!(r("/real/up/x"), PathBuf::from("x"), "'..' stops at the rootfs's root");
        assert_eq!(r("/rel/y"), PathBuf::from("real/sub/y"));
        assert_eq!(r("/new/dir"), PathBuf::from("new/dir"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn volume_arguments_are_validated() {
        let root = rootfs_with_links();
        let v = Volume::parse("/tmp:/abs/data:ro", &root).unwrap();
        assert_eq!(v.target, PathBuf::from("etc/data"));
        assert!(v.read_only);
        for bad in
            ["/tmp", "tmp:/data", "/tmp:data", "/tmp:/a/../b", "/tmp:/data:rx", "/no/such:/data", "/tmp:/"]
        {
            assert!(Volume::parse(bad, &root).is_err(), "{bad} accepted");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn read_only_root_comes_last() {
        let ops = ops(&[], true);
        let root_ro =
            Op::SetAttr { target: ".".into(), attr: MOUNT_ATTR_RDONLY, recursive: false, kernel_fs: false };
        assert_eq!(ops.last(), Some(&root_ro));
        assert!(ops.iter().any(|op| matches!(op, Op::Mount { target, .. } if target == "proc/keys")));
    }
}
