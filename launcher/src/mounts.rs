//! Extra mounts that init performs for the launcher, decided here: docker's
//! masked and read-only paths, `-v` volumes, and `--read-only`. Init only
//! executes the list (see `Op`), so policy stays in one place, testable.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// Paths under /proc and /sys a container has no business reading, as docker
/// masks them: directories get an empty read-only tmpfs (one, bound over each),
/// files /dev/null.
/// Which exist depends on the kernel's configuration: init skips missing ones.
pub const MASKED_DIRS: &[&str] =
    &["proc/asound", "proc/acpi", "proc/scsi", "sys/firmware", "sys/devices/virtual/powercap"];
pub const MASKED_FILES: &[&str] = &[
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/timer_list",
    "proc/timer_stats",
    "proc/sched_debug",
];

/// Kernel knobs visible but not writable, as docker leaves them.
pub const READ_ONLY: &[&str] = &["proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"];

pub const MOUNT_ATTR_RDONLY: u32 = 0x1;
pub const MOUNT_ATTR_NOSUID: u32 = 0x2;
pub const MOUNT_ATTR_NODEV: u32 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u32 = 0x8;

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
    /// A directory in a mount of init's own (the cgroup view's tmpfs).
    Mkdir { target: String },
    /// Join the container's cgroups (when it has any) and enter a new cgroup
    /// namespace; then run the ops that came with the cgroups (`J` record).
    CgroupNs,
}

/// A `-v HOST:CONTAINER[:ro]` bind mount, validated.
#[derive(Debug)]
pub struct Volume {
    /// Canonical host path.
    pub source: PathBuf,
    /// Inside the rootfs, symlinks resolved within it: relative, never escaping.
    pub target: PathBuf,
    pub read_only: bool,
    /// MOUNT_ATTR_NOSUID, _NODEV, _NOEXEC as an OCI config's options ask.
    pub attrs: u32,
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
        Ok(Volume { source, target, read_only, attrs: 0 })
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

/// Flags of a mount that nothing on it may use: read-only, no setuid, no
/// devices, no programs.
const INERT: u32 = (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u32;

/// The container's own mounts beyond /proc, /dev and /sys, decided here.
pub struct Plan<'a> {
    pub volumes: &'a [Volume],
    pub read_only_root: bool,
    /// Bytes of the /dev/shm tmpfs.
    pub shm_size: u64,
    /// A cgroup namespace (`--cgroupns private`); `limits`: the container
    /// gets cgroups of its own, whose view comes with them (`view`).
    pub cgroupns: bool,
    pub limits: bool,
    /// A POSIX message queue filesystem at /dev/mqueue (OCI configs ask for one).
    pub mqueue: bool,
    /// Masked and read-only paths beyond docker's (under proc/ or sys/),
    /// and whether each masked one is a directory.
    pub extra_masked: &'a [(String, bool)],
    pub extra_read_only: &'a [String],
    /// Device nodes of the rootfs unusable (nodev): an OCI config's device
    /// rules, which a device cgroup would enforce, forbid them.
    pub nodev_root: bool,
    /// tmpfs mounts in the rootfs (an OCI config's), before the volumes.
    pub tmpfs: &'a [Tmpfs],
}

/// A tmpfs at `target` (relative, resolved in the rootfs), with MS_* flags
/// and mount(8)-style data ("mode=755,size=65536k").
#[derive(Debug)]
pub struct Tmpfs {
    pub target: PathBuf,
    pub flags: u32,
    pub data: String,
}

/// Makes each volume's mount point in the rootfs, as docker does: a
/// directory (and its parents) for a directory, an empty file for a file.
/// Every step is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT), so a
/// symlink in it, even one swapped in meanwhile, cannot lead out.
/// `dirs`: more mount points that are directories (tmpfs).
pub fn make_mount_points(rootfs: &Path, volumes: &[Volume], dirs: &[&Path]) -> Result<(), String> {
    if volumes.is_empty() && dirs.is_empty() {
        return Ok(());
    }
    let root = std::fs::File::open(rootfs).map_err(|e| format!("rootfs {}: {e}", rootfs.display()))?;
    let points = volumes
        .iter()
        .map(|v| (v.target.as_path(), v.source.is_dir()))
        .chain(dirs.iter().map(|d| (*d, true)));
    for (target, is_dir) in points {
        let fail =
            |e: std::io::Error| format!("-v {}: make its mount point in the rootfs: {e}", target.display());
        let dir = if is_dir { Some(target) } else { target.parent() };
        let mut prefix = PathBuf::new();
        for part in dir.iter().flat_map(|d| d.components()) {
            let parent = open_in_root(&root, &prefix, libc::O_PATH | libc::O_DIRECTORY, 0).map_err(fail)?;
            prefix.push(part);
            let name = std::ffi::CString::new(part.as_os_str().as_encoded_bytes())
                .map_err(|_| fail(std::io::ErrorKind::InvalidInput.into()))?;
            // SAFETY: mkdirat reads a NUL-terminated name; `parent` is an open fd.
            if unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(fail(e));
                }
            }
        }
        if !is_dir {
            let flags = libc::O_CREAT | libc::O_WRONLY;
            open_in_root(&root, target, flags, 0o644).map_err(fail)?;
        }
    }
    Ok(())
}

/// openat2(2) of `path` below `root`, resolved as if `root` were "/".
fn open_in_root(root: &std::fs::File, path: &Path, flags: i32, mode: u64) -> std::io::Result<OwnedFd> {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())?;
    // struct open_how: flags, mode, resolve (libc's is non-exhaustive).
    let how: [u64; 3] = [(flags | libc::O_CLOEXEC) as u64, mode, libc::RESOLVE_IN_ROOT];
    let dot = c".";
    let name = if path.is_empty() { dot } else { path.as_c_str() };
    // SAFETY: openat2 reads the NUL-terminated path and one open_how of the
    // size passed; `root` is an open directory.
    let fd = unsafe {
        libc::syscall(libc::SYS_openat2, root.as_raw_fd(), name.as_ptr(), &how, std::mem::size_of_val(&how))
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// What to do, in order: /dev/shm, masks and read-only kernel paths,
/// volumes, the root, then the cgroup namespace.
pub fn ops(plan: &Plan) -> Vec<Op> {
    // The host's /sys, which init binds (a fresh sysfs needs a network
    // namespace of our own), read-only all the way down; then docker's
    // /dev/shm: a tmpfs of its own, sized by --shm-size.
    let sys_attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    let sys_ro = Op::SetAttr { target: "sys".into(), attr: sys_attrs, recursive: true, kernel_fs: true };
    let mut ops = vec![
        sys_ro,
        Op::Mount {
            source: String::new(),
            target: "dev/shm".into(),
            fstype: "tmpfs".into(),
            flags: (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u32,
            data: format!("mode=1777,size={}", plan.shm_size),
            kernel_fs: true,
            shared: false,
        },
    ];
    if plan.mqueue {
        let safe = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u32;
        ops.push(Op::Mkdir { target: "dev/mqueue".into() });
        ops.push(new_fs("mqueue", "dev/mqueue", safe, ""));
    }
    let dirs =
        MASKED_DIRS.iter().copied().chain(plan.extra_masked.iter().filter(|m| m.1).map(|m| m.0.as_str()));
    for path in dirs {
        ops.push(Op::Mount {
            source: String::new(),
            target: path.to_string(),
            fstype: "tmpfs".into(),
            flags: INERT,
            data: String::new(),
            kernel_fs: true,
            shared: true,
        });
    }
    let files =
        MASKED_FILES.iter().copied().chain(plan.extra_masked.iter().filter(|m| !m.1).map(|m| m.0.as_str()));
    for path in files {
        ops.push(bind("/dev/null", path, true));
    }
    for path in READ_ONLY.iter().copied().chain(plan.extra_read_only.iter().map(String::as_str)) {
        // mount_setattr works on a mount's root: bind the path onto itself first.
        ops.push(bind(path, path, true));
        ops.push(Op::SetAttr {
            target: path.to_string(),
            attr: MOUNT_ATTR_RDONLY,
            recursive: true,
            kernel_fs: true,
        });
    }
    for t in plan.tmpfs {
        ops.push(Op::Mount {
            source: String::new(),
            target: t.target.to_string_lossy().into_owned(),
            fstype: "tmpfs".into(),
            flags: t.flags,
            data: t.data.clone(),
            kernel_fs: false,
            shared: false,
        });
    }
    for volume in plan.volumes {
        let target = volume.target.to_string_lossy().into_owned();
        ops.push(bind(&volume.source.to_string_lossy(), &target, false));
        let attr = volume.attrs | if volume.read_only { MOUNT_ATTR_RDONLY } else { 0 };
        if attr != 0 {
            ops.push(Op::SetAttr { target, attr, recursive: true, kernel_fs: false });
        }
    }
    let root_attr =
        (plan.read_only_root as u32 * MOUNT_ATTR_RDONLY) | (plan.nodev_root as u32 * MOUNT_ATTR_NODEV);
    if root_attr != 0 {
        ops.push(Op::SetAttr { target: ".".into(), attr: root_attr, recursive: false, kernel_fs: false });
    }
    if plan.cgroupns {
        // Last: init joins the cgroups here, which the launcher makes
        // meanwhile. A container without limits has no cgroup of its own:
        // what its namespace's root holds is its launcher's, so it sees none.
        ops.push(Op::CgroupNs);
        if !plan.limits {
            // The masks' empty read-only tmpfs: a bind of it costs less than a new one.
            ops.push(Op::Mount {
                source: String::new(),
                target: "sys/fs/cgroup".into(),
                fstype: "tmpfs".into(),
                flags: INERT,
                data: String::new(),
                kernel_fs: true,
                shared: true,
            });
        }
    }
    ops
}

/// The view of the container's own cgroups at /sys/fs/cgroup, mounted from
/// inside its cgroup namespace, read-only: `v1` lists each hierarchy's
/// directory name and mount options, `v2` whether it has a cgroup2 leaf.
pub fn cgroup_view(v1: &[(String, String)], v2: bool) -> Vec<Op> {
    const VIEW: &str = "sys/fs/cgroup";
    if v1.is_empty() {
        return match v2 {
            true => vec![new_fs("cgroup2", VIEW, INERT, "")],
            false => Vec::new(),
        };
    }
    let inert_rw = INERT & !libc::MS_RDONLY as u32;
    let mut ops = vec![new_fs("tmpfs", VIEW, inert_rw, "mode=755")];
    let hierarchies = v1.iter().map(|(dir, options)| (dir.as_str(), "cgroup", options.as_str()));
    for (dir, fstype, options) in hierarchies.chain(v2.then_some(("unified", "cgroup2", ""))) {
        let target = format!("{VIEW}/{dir}");
        ops.push(Op::Mkdir { target: target.clone() });
        ops.push(new_fs(fstype, &target, INERT, options));
    }
    ops.push(Op::SetAttr { target: VIEW.into(), attr: MOUNT_ATTR_RDONLY, recursive: false, kernel_fs: true });
    ops
}

/// A new filesystem on an entry of init's own /proc, /dev or /sys.
fn new_fs(fstype: &str, target: &str, flags: u32, data: &str) -> Op {
    Op::Mount {
        source: String::new(),
        target: target.into(),
        fstype: fstype.into(),
        flags,
        data: data.into(),
        kernel_fs: true,
        shared: false,
    }
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

/// The op kind's flag for a target in the container's own /proc, /dev or
/// /sys, which init mounted moments before and reaches through its
/// descriptor of that mount (named by the first letter of the target); their
/// entries are the kernel's or init's, never the rootfs's. An entry this
/// kernel lacks is skipped.
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
            Op::Mkdir { target } => (4 | KERNEL_FS, 0o755, ["", target, "", ""]),
            Op::CgroupNs => (5, 0, ["", ".", "", ""]),
        };
        let [source, target, fstype, data] = strings;
        out.push(kind);
        out.extend_from_slice(&arg.to_le_bytes());
        for s in [source, target, fstype] {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        // mount(8)'s "key=value,flag" as init takes it: pairs of strings.
        for option in data.split(',').filter(|o| !o.is_empty()) {
            let (key, value) = option.split_once('=').unwrap_or((option, ""));
            for s in [key, value] {
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
        }
        out.push(0);
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
    fn read_only_root_comes_after_the_mounts_and_before_the_cgroup_namespace() {
        let plan = Plan {
            volumes: &[],
            read_only_root: true,
            shm_size: 1,
            cgroupns: true,
            limits: true,
            mqueue: false,
            extra_masked: &[],
            extra_read_only: &[],
            nodev_root: false,
            tmpfs: &[],
        };
        let ops = ops(&plan);
        let root_ro =
            Op::SetAttr { target: ".".into(), attr: MOUNT_ATTR_RDONLY, recursive: false, kernel_fs: false };
        assert_eq!(&ops[ops.len() - 2..], [root_ro, Op::CgroupNs]);
        assert!(ops.iter().any(|op| matches!(op, Op::Mount { target, .. } if target == "proc/keys")));
    }

    /// Init finds the mount of a kernel-fs target by its first letter.
    #[test]
    fn kernel_fs_targets_are_in_proc_dev_or_sys() {
        let plan = Plan {
            volumes: &[],
            read_only_root: false,
            shm_size: 1,
            cgroupns: true,
            limits: false,
            mqueue: false,
            extra_masked: &[],
            extra_read_only: &[],
            nodev_root: false,
            tmpfs: &[],
        };
        let view = cgroup_view(&[("memory".into(), "memory".into())], true);
        for op in ops(&plan).iter().chain(&view) {
            let (target, kernel_fs) = match op {
                Op::Mount { target, kernel_fs, .. } | Op::SetAttr { target, kernel_fs, .. } => {
                    (target, *kernel_fs)
                }
                Op::Mkdir { target } => (target, true),
                Op::CgroupNs => continue,
            };
            let top = target.split('/').next().unwrap();
            assert!(!kernel_fs || ["proc", "dev", "sys"].contains(&top), "{target}");
        }
    }
}
