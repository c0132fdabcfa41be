//! Mount attributes on kernels without `mount_setattr` (before Linux 5.12).
//!
//! Where the call exists, init sets read-only (and nosuid, nodev, noexec) on a
//! mount and everything below it in one call. Where it does not (ENOSYS, as on
//! Linux 5.10, decided here once per run), each mount is remounted with
//! `MS_REMOUNT | MS_BIND` instead. Such a remount sets all of a mount's flags
//! at once, so each one must repeat the flags the mount already has (in a user
//! namespace the kernel refuses to drop the ones it locked) and add the new
//! ones. The launcher knows both: the container's mount namespace is a copy of
//! ours, so /proc/self/mountinfo read here lists every mount init will bind,
//! with its flags. The remounts go to init as ordinary mount ops, so init
//! needs no mountinfo parser (it has a size budget of 8 KiB).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::mounts::{Op, Volume};

/// Flags a bind remount keeps only when it repeats them.
const KEPT: u32 =
    (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_NODIRATIME) as u32;

/// The flags of the /proc that init mounts (nosuid, nodev, noexec, and the
/// kernel's default relatime), which its read-only binds inherit; the cgroup
/// view's tmpfs has the same.
const PROC_FLAGS: u32 = (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RELATIME) as u32;

/// Whether this kernel has mount_setattr: one call that fails either way
/// (a bad descriptor where it exists; ENOSYS where it does not, or where a
/// seccomp filter hides it, which init, under the same filter, would meet too).
pub fn kernel_has_mount_setattr() -> bool {
    // SAFETY: no pointer is read: the kernel rejects the size 0 or the fd -1
    // before looking at the path or the attributes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            std::ptr::null::<libc::c_char>(),
            0,
            std::ptr::null::<u8>(),
            0,
        )
    };
    !(ret == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
}

/// One mount of our namespace: where it is and the flags a remount must keep.
#[derive(Debug, PartialEq)]
struct Mount {
    point: PathBuf,
    flags: u32,
}

/// The mounts of the launcher's namespace, in mountinfo's order (a mount
/// comes after the one it is mounted on).
#[derive(Debug)]
pub struct MountTable(Vec<Mount>);

impl MountTable {
    pub fn read() -> Result<MountTable, String> {
        let path = "/proc/self/mountinfo";
        let text = std::fs::read(path).map_err(|e| {
            format!("read {path} (needed without mount_setattr, before Linux 5.12): {e}: mount /proc")
        })?;
        Ok(MountTable::parse(&text))
    }

    fn parse(text: &[u8]) -> MountTable {
        let mounts = text
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                let mut fields = line.split(|&b| b == b' ');
                let point = fields.nth(4)?;
                let options = fields.next()?;
                Some(Mount {
                    point: PathBuf::from(OsStr::from_bytes(&unescape(point))),
                    flags: flags(options),
                })
            })
            .collect();
        MountTable(mounts)
    }

    /// The flags of the mount that holds `path` (which need not be a mount
    /// point): the topmost of those mounted on `path` or on its nearest
    /// ancestor.
    fn flags_of(&self, path: &Path) -> u32 {
        let holder =
            self.0.iter().filter(|m| path.starts_with(&m.point)).max_by_key(|m| m.point.as_os_str().len());
        // max_by_key keeps the last of equals: the topmost of a stack.
        holder.map_or(0, |m| m.flags)
    }

    /// The mounts strictly below `path`, each once (the topmost of a stack),
    /// as paths relative to `path`, parents first.
    fn below(&self, path: &Path) -> Vec<(PathBuf, u32)> {
        let mut found: Vec<(PathBuf, u32)> = Vec::new();
        for m in &self.0 {
            let Ok(rel) = m.point.strip_prefix(path) else { continue };
            if rel.as_os_str().is_empty() {
                continue;
            }
            match found.iter_mut().find(|(p, _)| p == rel) {
                Some(slot) => slot.1 = m.flags,
                None => found.push((rel.to_path_buf(), m.flags)),
            }
        }
        found.sort_by_key(|(p, _)| p.components().count());
        found
    }
}

/// mountinfo writes ' ', '\t', '\n' and '\\' in paths as octal escapes.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field.get(i + 1..i + 4).filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (field[i], octal) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |v, c| (v << 3) | (c - b'0')));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// mountinfo's per-mount options as the MS_* flags a remount must repeat,
/// the atime rule included (no relatime nor noatime is strictatime).
fn flags(options: &[u8]) -> u32 {
    let mut flags = 0;
    let mut atime = libc::MS_STRICTATIME as u32;
    for option in options.split(|&b| b == b',') {
        match option {
            b"ro" => flags |= libc::MS_RDONLY as u32,
            b"nosuid" => flags |= libc::MS_NOSUID as u32,
            b"nodev" => flags |= libc::MS_NODEV as u32,
            b"noexec" => flags |= libc::MS_NOEXEC as u32,
            b"nodiratime" => flags |= libc::MS_NODIRATIME as u32,
            b"relatime" => atime = libc::MS_RELATIME as u32,
            b"noatime" => atime = libc::MS_NOATIME as u32,
            _ => {}
        }
    }
    (flags & KEPT) | atime
}

impl Op {
    /// Whether this is one of the remounts made here.
    pub fn is_remount(&self) -> bool {
        matches!(self, Op::Mount { flags, .. } if flags & libc::MS_REMOUNT as u32 != 0)
    }
}

fn remount(target: String, had: u32, attrs: u32, kernel_fs: bool) -> Op {
    Op::Mount {
        source: String::new(),
        target,
        fstype: String::new(),
        flags: (libc::MS_REMOUNT | libc::MS_BIND) as u32 | had | attrs,
        data: String::new(),
        kernel_fs,
        shared: false,
    }
}

/// `target` and, when `recursive`, each mount below it, remounted with `attrs`
/// added: `host` is where the mount at `target` comes from in our namespace,
/// or None for a bind within the container's own /proc.
fn remounts(
    table: &MountTable,
    host: Option<&Path>,
    target: &str,
    attrs: u32,
    recursive: bool,
    kernel_fs: bool,
) -> Vec<Op> {
    let Some(host) = host else {
        // A fresh /proc has no mounts below these paths but docker's masks,
        // none of which lies below a read-only path (tested in mounts.rs).
        return vec![remount(target.to_string(), PROC_FLAGS, attrs, kernel_fs)];
    };
    let mut ops = vec![remount(target.to_string(), table.flags_of(host), attrs, kernel_fs)];
    if recursive {
        for (rel, had) in table.below(host) {
            let sub = Path::new(target).join(rel).to_string_lossy().into_owned();
            ops.push(remount(sub, had, attrs, kernel_fs));
        }
    }
    ops
}

/// `ops` for a kernel without mount_setattr: /sys and each mount below it
/// remounted first (init's /sys step skips its mount_setattr on ENOSYS), then
/// every `SetAttr` op replaced by the remounts that have its effect.
pub fn without_mount_setattr(
    ops: Vec<Op>,
    table: &MountTable,
    rootfs: &Path,
    volumes: &[Volume],
) -> Result<Vec<Op>, String> {
    let mut out = Vec::new();
    for op in ops {
        let Op::SetAttr { target, attr, recursive, kernel_fs } = op else {
            out.push(op);
            continue;
        };
        let host = if target == "." {
            Some(rootfs.to_path_buf())
        } else if kernel_fs && target.starts_with("proc/") {
            None
        } else if kernel_fs && (target == "sys" || target.starts_with("sys/")) {
            Some(Path::new("/").join(&target))
        } else if let Some(v) = volumes.iter().find(|v| v.target.as_os_str() == OsStr::new(&target)) {
            Some(v.source.clone())
        } else {
            return Err(format!("internal error: no remount known for mount_setattr on {target}"));
        };
        // The MOUNT_ATTR_ bits for read-only, nosuid, nodev and noexec are
        // their MS_ flags; mounts.rs asks for no other.
        debug_assert_eq!(attr & !0xf, 0, "a mount attribute without an MS_ flag of the same value");
        out.extend(remounts(table, host.as_deref(), &target, attr & 0xf, recursive, kernel_fs));
    }
    Ok(out)
}

/// The cgroup view's ops (`mounts::cgroup_view`) for a kernel without
/// mount_setattr: its one `SetAttr`, read-only on the tmpfs that init made
/// for the view, becomes a remount that repeats that tmpfs's flags.
pub fn view_without_mount_setattr(ops: Vec<Op>) -> Vec<Op> {
    ops.into_iter()
        .map(|op| match op {
            Op::SetAttr { target, attr, recursive: false, kernel_fs: true } => {
                remount(target, PROC_FLAGS, attr & 0xf, true)
            }
            op => op,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &[u8] = b"\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
24 23 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:3 - cgroup2 cgroup2 rw
25 23 0:24 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:4 - securityfs securityfs rw
26 22 0:25 / /srv/my\\040data ro,nodev,noatime shared:5 - tmpfs tmpfs rw
27 26 0:26 / /srv/my\\040data/sub rw shared:6 - tmpfs tmpfs rw
28 26 0:27 / /srv/my\\040data/sub rw,nosuid,relatime shared:7 - tmpfs tmpfs rw
";

    #[test]
    fn mountinfo_is_read_with_escapes_and_flags() {
        let t = MountTable::parse(MOUNTINFO);
        assert_eq!(t.0.len(), 7);
        assert_eq!(t.0[4].point, PathBuf::from("/srv/my data"));
        let ms = |f: libc::c_ulong| f as u32;
        assert_eq!(t.0[4].flags, ms(libc::MS_RDONLY | libc::MS_NODEV | libc::MS_NOATIME));
        assert_eq!(t.0[5].flags, ms(libc::MS_STRICTATIME), "no atime option is strictatime");
        // A file on the root mount, and the stack at sub: its topmost.
        assert_eq!(t.flags_of(Path::new("/home/u/rootfs")), ms(libc::MS_RELATIME));
        assert_eq!(t.flags_of(Path::new("/srv/my data/sub/x")), ms(libc::MS_NOSUID | libc::MS_RELATIME));
        assert_eq!(t.below(Path::new("/srv/my data")).len(), 1, "a stack is remounted once");
    }

    #[test]
    fn setattr_ops_become_remounts_of_each_mount() {
        let t = MountTable::parse(MOUNTINFO);
        let volume =
            Volume { source: "/srv/my data".into(), target: "data".into(), read_only: true, attrs: 0 };
        let ro = libc::MS_RDONLY as u32;
        let sys_attrs = (libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC) as u32;
        let ops = vec![
            Op::SetAttr { target: "sys".into(), attr: sys_attrs, recursive: true, kernel_fs: true },
            Op::SetAttr { target: "proc/sys".into(), attr: ro, recursive: true, kernel_fs: true },
            Op::SetAttr { target: "data".into(), attr: ro, recursive: true, kernel_fs: false },
            Op::SetAttr { target: ".".into(), attr: ro, recursive: false, kernel_fs: false },
        ];
        let out = without_mount_setattr(ops, &t, Path::new("/home/u/rootfs"), &[volume]).unwrap();
        let got: Vec<(String, u32)> = out
            .iter()
            .map(|op| match op {
                Op::Mount { target, flags, source, .. } if source.is_empty() => (target.clone(), *flags),
                other => panic!("not a remount: {other:?}"),
            })
            .collect();
        let re = (libc::MS_REMOUNT | libc::MS_BIND) as u32;
        let sys = sys_attrs | re | libc::MS_RELATIME as u32;
        let want = [
            ("sys", sys),
            ("sys/fs/cgroup", sys),
            ("sys/kernel/security", sys),
            ("proc/sys", re | ro | PROC_FLAGS),
            ("data", re | ro | (libc::MS_NODEV | libc::MS_NOATIME) as u32),
            ("data/sub", re | ro | (libc::MS_NOSUID | libc::MS_RELATIME) as u32),
            (".", re | ro | libc::MS_RELATIME as u32),
        ];
        let want: Vec<(String, u32)> = want.iter().map(|(t, f)| (t.to_string(), *f)).collect();
        assert_eq!(got, want);
    }

    /// remounts() lists what lies below a read-only target from the launcher's
    /// mountinfo, which has none of init's own mounts: any of those below it
    /// must come after it (made read-only by itself, as the masks are) or be it.
    #[test]
    fn no_mount_of_inits_lies_below_a_read_only_path_before_it() {
        let plan = crate::mounts::Plan {
            volumes: &[],
            read_only_root: false,
            shm_size: 1,
            cgroupns: true,
            limits: false,
            mqueue: true,
            extra_masked: &[],
            extra_read_only: &[],
            nodev_root: true,
            tmpfs: &[],
        };
        let ops = crate::mounts::ops(&plan);
        for (i, op) in ops.iter().enumerate() {
            let Op::SetAttr { target: ro, kernel_fs: true, .. } = op else { continue };
            for other in &ops[..i] {
                if let Op::Mount { target, .. } = other {
                    assert!(
                        target == ro || !Path::new(target).starts_with(ro),
                        "{target} lies below {ro} and comes before it: remounts() must remount it too"
                    );
                }
            }
        }
    }

    #[test]
    fn an_unknown_setattr_target_is_an_error_not_a_skip() {
        let t = MountTable::parse(MOUNTINFO);
        let ops =
            vec![Op::SetAttr { target: "elsewhere".into(), attr: 1, recursive: false, kernel_fs: false }];
        assert!(without_mount_setattr(ops, &t, Path::new("/r"), &[]).is_err());
    }
}
