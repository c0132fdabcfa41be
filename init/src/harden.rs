//! The config record: everything the launcher decided, carried out here.
//! All policy (which capabilities, which filter, which mounts) is the
//! launcher's; this module only parses and executes.
//!
//! ```text
//! a head of 32 bytes, read in place as `Head`: 'C', 0 u8, group_count u16,
//! flags u32, caps u64, uid u32, gid u32, rows u16, cols u16, 0 u32; then
//! group_count gids (u32), rootfs, hostname, workdir
//! (NUL-terminated), filter_len u16, filter_len * 8 bytes of struct
//! sock_filter, op_count u16, then each op:
//!   kind u8, arg u32, source, target, fstype (NUL-terminated; "" = NULL),
//!   options: "key\0value\0" pairs (value "": a flag), then "\0"
//! ```
//! Integers are little-endian. Targets are relative to the rootfs.

use crate::sys::{self, Errno, *};
use crate::{die, Mounts, OrDie};
use core::ffi::CStr;
use core::mem::size_of;
use core::ptr::{addr_of_mut, null};

const DROP_CAPS: u32 = 1;
const NO_NEW_PRIVS: u32 = 2;
const SECCOMP: u32 = 4;
const LOOPBACK_UP: u32 = 8;
/// Allocate a pty for the command.
pub const TTY: u32 = 16;
/// Send trace stamps.
pub const TRACE: u32 = 32;
/// A `J` record with the container's cgroups comes before the command starts.
pub const JOIN_CGROUP: u32 = 64;
/// Run the command as the head's uid and gid, with the record's groups.
const USER: u32 = 128;
const ALL_FLAGS: u32 = 255;

const MOUNT: u8 = 1;
/// 3: mount_setattr on the target's mount alone.
const SETATTR_R: u8 = 2;
/// A directory in one of init's own mounts (KERNEL_FS).
const MKDIR: u8 = 4;
/// Join the container's cgroups (with JOIN_CGROUP) and enter a new cgroup
/// namespace, whose root is then the container's cgroup.
const CGROUP_NS: u8 = 5;
/// Set on an op's kind: the target (and a relative source) is an entry of
/// the /proc, /dev or /sys that init mounted moments before, named by its
/// first component, and is reached through the descriptor of that mount
/// (their entries are the kernel's, or ours, never the rootfs's); a target
/// this kernel lacks (such as /proc/sched_debug) is skipped.
const KERNEL_FS: u8 = 0x80;
/// Set on KERNEL_FS mounts that are to show one filesystem (the masks' empty
/// tmpfs): the first that succeeds mounts it as given, the later ones bind
/// that mount, which is cheaper than a new filesystem each.
const SHARED: u8 = 0x40;

const MAX_RECORD: usize = 64 * 1024;

/// The record's buffer. In .bss rather than on the stack: only the pages the
/// record fills are ever touched, where a 64 KiB stack frame would be probed
/// page by page and stay resident in PID 1.
/// Aligned for the record's head, which is read in place.
#[repr(align(8))]
struct RecordBuf([u8; MAX_RECORD]);
static mut RECORD: RecordBuf = RecordBuf([0; MAX_RECORD]);

/// The `J` record's buffer: 'J', then op_count u16 and ops, as in the config
/// record.
static mut JOIN_RECORD: [u8; 4096] = [0; 4096];

/// The `J` record: the container's cgroups to join, and the ops that show it
/// its cgroup once it has entered a cgroup namespace.
pub struct Join {
    /// -1 where the record brought none.
    pub fds: [i32; MAX_FDS],
    pub ops: &'static [u8],
}

/// Receives and checks the `J` record.
pub fn receive_join(channel: usize) -> Join {
    // SAFETY: the only reference to JOIN_RECORD ever made, and init has one thread.
    let buf: &'static mut [u8; 4096] = unsafe { &mut *addr_of_mut!(JOIN_RECORD) };
    let what = c"join the cgroup";
    let got = sys::recv_fds(channel, buf).or_die(what);
    let mut r = Cursor(buf.get(..got.len).unwrap_or_default());
    if r.int(1) != u64::from(b'J') {
        bad_record();
    }
    let ops = checked_ops(&mut r);
    Join { fds: got.fds, ops }
}

/// The ops at `r`, which must run to the record's end; a bad one ends init.
fn checked_ops(r: &mut Cursor) -> &'static [u8] {
    let count = r.int(2);
    let ops = r.0;
    for _ in 0..count {
        r.op();
    }
    if !r.0.is_empty() {
        bad_record();
    }
    ops
}

/// The record's fixed head, read in place: laid out as a C struct with every
/// field at its natural alignment in the aligned buffer, so reading one is
/// one load (every architecture the init runs on is little-endian).
#[repr(C)]
pub struct Head {
    tag: u8,
    _zero: u8,
    /// How many supplementary groups (u32 each) follow the head.
    groups: u16,
    pub flags: u32,
    caps: u64,
    /// The command's user, with USER (0 without).
    pub uid: u32,
    gid: u32,
    /// The pty's size, a struct winsize (rows, columns, 0, 0; 0 rows and
    /// columns when unknown, as a new pty is).
    pub winsize: [u16; 4],
}

const _: () = assert!(size_of::<Head>() == 32, "the head's layout is the record's");

pub struct Config {
    /// The head, followed in the record by `head.groups` gids.
    pub head: &'static Head,
    /// Absolute host path of the root filesystem.
    pub rootfs: &'static CStr,
    pub hostname: &'static CStr,
    /// Absolute path inside the container.
    pub workdir: &'static CStr,
    filter: &'static [u8],
    /// The ops, already checked to be well-formed back to back.
    ops: &'static [u8],
}

struct Op {
    kind: u8,
    arg: u32,
    target: &'static CStr,
    /// NULL when empty.
    source: *const u8,
    fstype: *const u8,
    /// The options, as `sys::new_fs` takes them.
    data: *const u8,
}

/// Receives and checks the record; a bad one ends init here, before any
/// change to the container.
pub fn receive(channel: usize) -> Config {
    // SAFETY: the only reference to RECORD ever made, and init has one thread.
    let buf: &'static mut [u8; MAX_RECORD] = unsafe { &mut *addr_of_mut!(RECORD.0) };
    let n = sys::recv_record(channel, buf).or_die(c"config record");
    if n > MAX_RECORD {
        die(Errno::EMSGSIZE, c"config record", c"");
    }
    let mut r = Cursor(buf.get(..n).unwrap_or_default());
    let head = r.take(size_of::<Head>()).as_ptr().cast::<Head>();
    // SAFETY: `take` checked that the record holds a whole Head at its start,
    // which RecordBuf aligns for it; a Head has integer fields only (any bytes
    // are one), and the record is 'static and never written again.
    let head = unsafe { &*head };
    // A request this init does not know must not pass as granted.
    if head.tag != b'C' || head.flags > ALL_FLAGS {
        bad_record();
    }
    // The groups stay in place, right after the head (see `restrict`).
    r.take(usize::from(head.groups) * 4);
    let [rootfs, hostname, workdir] = [r.text(), r.text(), r.text()];
    let len = r.int(2) as usize;
    let filter = r.take(len * 8);
    let ops = checked_ops(&mut r);
    if head.flags & LOOPBACK_UP != 0 {
        sys::loopback_up().or_die(c"bring up lo");
    }
    Config { head, rootfs, hostname, workdir, filter, ops }
}

#[cold]
fn bad_record() -> ! {
    die(Errno::EINVAL, c"config record", c"")
}

/// Reads the record front to back; running short ends init.
struct Cursor(&'static [u8]);

impl Cursor {
    #[inline(never)]
    fn take(&mut self, n: usize) -> &'static [u8] {
        let Some((head, rest)) = self.0.split_at_checked(n) else { bad_record() };
        self.0 = rest;
        head
    }

    /// A little-endian integer of `n` bytes.
    fn int(&mut self, n: usize) -> u64 {
        self.take(n).iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x))
    }

    /// The next NUL-terminated string, as a pointer: NULL when empty.
    fn string(&mut self) -> *const u8 {
        let end = self.0.iter().position(|&x| x == 0).unwrap_or(self.0.len());
        let s = self.take(end + 1);
        if end == 0 {
            null()
        } else {
            s.as_ptr()
        }
    }

    /// The next NUL-terminated string.
    fn text(&mut self) -> &'static CStr {
        let p = self.string();
        // SAFETY: `string` found the NUL that ends it, in the 'static record.
        if p.is_null() {
            c""
        } else {
            unsafe { crate::cstr(p) }
        }
    }

    fn op(&mut self) -> Op {
        let kind = self.int(1) as u8;
        if !(MOUNT..=CGROUP_NS).contains(&(kind & !(KERNEL_FS | SHARED))) {
            bad_record();
        }
        let arg = self.int(4) as u32;
        let source = self.string();
        let target = self.string();
        if target.is_null() {
            bad_record();
        }
        // SAFETY: `string` found the NUL that ends `target`, in the 'static record.
        let target = unsafe { crate::cstr(target) };
        let fstype = self.string();
        let data = self.0.as_ptr();
        while !self.string().is_null() {
            self.string();
        }
        Op { kind, arg, target, source, fstype, data }
    }
}

/// Runs the ops in order, with the rootfs as cwd. Each target is opened
/// inside the rootfs, or in one of init's own mounts (KERNEL_FS), and the op
/// applied to that open file, so no symlink in the rootfs can aim a mount
/// at the host. Returns whether an op joined the cgroups.
pub fn run_ops(cfg: &Config, mounts: &Mounts) -> bool {
    run(cfg.ops, cfg, mounts)
}

fn run(ops: &'static [u8], cfg: &Config, mounts: &Mounts) -> bool {
    let mut r = Cursor(ops);
    let mut shared = None;
    let mut joined = false;
    while !r.0.is_empty() {
        let op = r.op();
        let kind = op.kind & !(KERNEL_FS | SHARED);
        let target = op.target;
        if kind == CGROUP_NS {
            let view = if cfg.head.flags & JOIN_CGROUP != 0 { crate::join_cgroups() } else { &[] };
            joined = true;
            sys::unshare(CLONE_NEWCGROUP).or_die(c"enter a cgroup namespace");
            run(view, cfg, mounts);
            continue;
        }
        // Names for error records: prefixed with the target, made absolute.
        let what = if kind == MOUNT { crate::MOUNT_STEP } else { c"remount read-only /" };
        // (dir, path) of the target: an entry of one of our mounts, or the
        // target itself, opened inside the rootfs.
        let kernel_fs = op.kind & KERNEL_FS != 0;
        let (dir, path) = if kernel_fs {
            let (dir, path) = in_mount(mounts, target);
            // Skipped where this kernel lacks the entry, before a mount is made
            // for it: a detached mount closed unattached costs the kernel an RCU
            // grace period (~60 us) as it dissolves.
            if kind != MKDIR && !access(dir, path, F_OK) {
                continue;
            }
            (dir, path)
        } else {
            (open_in_root(target, O_PATH | O_CLOEXEC, 0).or_die_at(what, target), c"")
        };
        let res = match kind {
            // A bind remount (kernels without mount_setattr): mount(2) takes
            // a path, so it is given relative to the target's own descriptor,
            // or to our mount that holds it, as the working directory.
            MOUNT if op.arg as usize & MS_REMOUNT != 0 => {
                let at = if path.is_empty() { c"." } else { path };
                let r = fchdir(dir).and_then(|_| mount_raw(null(), at, null(), op.arg as usize, null()));
                chdir(cfg.rootfs).or_die_at(c"chdir ", cfg.rootfs);
                r
            }
            MOUNT => {
                let share = op.kind & SHARED != 0;
                let made = match (share, shared) {
                    (true, Some(first)) => clone_tree(first, c"", false),
                    _ if !op.fstype.is_null() => new_fs(op.fstype, u64::from(op.arg & 0xf), op.data),
                    // A bind: a relative source is in the same mount as the target.
                    _ => {
                        // SAFETY: a bind's source is a string of the record.
                        let src = unsafe { crate::cstr(op.source) };
                        let (sdir, spath) = if src.to_bytes().first() == Some(&b'/') {
                            (CWD, src)
                        } else {
                            in_mount(mounts, src)
                        };
                        clone_tree(sdir, spath, op.arg as usize & MS_REC != 0)
                    }
                };
                made.and_then(|m| {
                    let r = attach(m, dir, path);
                    if share && shared.is_none() && r.is_ok() {
                        shared = Some(m);
                    } else {
                        close(m);
                    }
                    r
                })
            }
            MKDIR => mkdirat(dir, path, op.arg as usize),
            _ => {
                mount_setattr(dir, path, if kind == SETATTR_R { AT_RECURSIVE } else { 0 }, u64::from(op.arg))
            }
        };
        if !kernel_fs {
            close(dir);
        }
        res.or_die_at(what, target);
    }
    if let Some(m) = shared {
        close(m);
    }
    joined
}

/// "proc/kcore" -> (our /proc's descriptor, "kcore"): the mount is named by
/// the first letter of the first component, which the launcher checks.
fn in_mount(mounts: &Mounts, path: &'static CStr) -> (usize, &'static CStr) {
    let bytes = path.to_bytes_with_nul();
    let dir = match bytes.first() {
        Some(b'p') => mounts.proc,
        Some(b'd') => mounts.dev,
        _ => mounts.sys,
    };
    // "sys" alone is the mount itself: ".".
    let rest = match bytes.iter().position(|&b| b == b'/') {
        Some(i) => bytes.get(i + 1..).unwrap_or(b".\0"),
        None => b".\0",
    };
    // SAFETY: a suffix of a C string that still ends with its NUL, or a literal.
    (dir, unsafe { CStr::from_bytes_with_nul_unchecked(rest) })
}

/// In the command's process, right before exec: the bounding set, then
/// no_new_privs, then the filter (still allowed without no_new_privs, as we
/// hold CAP_SYS_ADMIN in our user namespace), then the user, then the
/// capability sets. A uid other than 0 leaves the command no capability but
/// its bounding set, as docker does (the switch empties the permitted and
/// effective sets; capset empties the inheritable one), which is why the
/// filter comes first.
pub fn restrict(h: &Config) {
    let drop = h.head.flags & DROP_CAPS != 0;
    if drop {
        for cap in 0..64 {
            if (h.head.caps >> cap) & 1 == 0 {
                match prctl(PR_CAPBSET_DROP, cap) {
                    // Past the kernel's last capability.
                    Err(Errno::EINVAL) => break,
                    r => {
                        r.or_die(c"drop capabilities");
                    }
                }
            }
        }
    }
    if h.head.flags & NO_NEW_PRIVS != 0 {
        prctl(PR_SET_NO_NEW_PRIVS, 1).or_die(c"no_new_privs");
    }
    if h.head.flags & SECCOMP != 0 {
        seccomp_filter(h.filter).or_die(c"seccomp filter");
    }
    let head = h.head;
    if head.flags & USER != 0 {
        // SAFETY: `receive` checked that the record holds `head.groups` gids
        // right after the head, in the 'static record.
        let set = unsafe {
            let groups = (head as *const Head).add(1).cast::<u32>();
            set_user(groups, head.groups.into(), head.gid as usize, head.uid as usize)
        };
        set.or_die(c"set the user");
    }
    if drop {
        capset(if head.uid == 0 { head.caps } else { 0 }).or_die(c"capset");
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL).or_die(c"clear ambient caps");
    }
}
