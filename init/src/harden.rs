//! The optional hardening record (FLAGS has `c`): what the launcher decided,
//! carried out here. All policy (which capabilities, which filter, which
//! paths) is the launcher's; this module only parses and executes.
//!
//! ```text
//! 'C', caps u64, flags u32, filter_len u16, filter_len * 8 bytes of
//! struct sock_filter, op_count u16, then each op:
//!   kind u8, arg u32, source, target, fstype, data (NUL-terminated; "" = NULL)
//! ```
//! Integers are little-endian. Targets are relative to the rootfs.

use crate::sys::{self, Errno, *};
use crate::{die, mkdir_p, OrDie};
use core::ffi::CStr;
use core::ptr::{addr_of_mut, null};

const DROP_CAPS: u32 = 1;
const NO_NEW_PRIVS: u32 = 2;
const SECCOMP: u32 = 4;
const LOOPBACK_UP: u32 = 8;

const MOUNT: u8 = 1;
const SETATTR_R: u8 = 2;
const SETATTR: u8 = 3;
const MKDIR_P: u8 = 4;
const TOUCH: u8 = 5;
/// Set on an op's kind: the target is an entry of our own /proc or /sys,
/// mounted moments before. Entries there are the kernel's, not the rootfs's,
/// so no symlink of the image can redirect the path: the op goes by path
/// (no openat2 and close), and is skipped when this kernel lacks the entry
/// (such as /proc/sched_debug).
const KERNEL_FS: u8 = 0x80;
/// Set on KERNEL_FS mounts that are to show one filesystem (the masks' empty
/// tmpfs): the first that succeeds mounts it as given, the later ones bind
/// that mount, which is cheaper than a new filesystem each.
const SHARED: u8 = 0x40;

const MAX_RECORD: usize = 64 * 1024;

/// The record's buffer. In .bss rather than on the stack: only the pages the
/// record fills are ever touched, where a 64 KiB stack frame would be probed
/// page by page and stay resident in PID 1.
static mut RECORD: [u8; MAX_RECORD] = [0; MAX_RECORD];

pub struct Hardening {
    caps: u64,
    flags: u32,
    filter: &'static [u8],
    /// The ops, already checked to be well-formed back to back.
    ops: &'static [u8],
}

struct Op {
    kind: u8,
    arg: u32,
    target: &'static CStr,
    /// NULL when empty, as mount(2) wants them.
    source: *const u8,
    fstype: *const u8,
    data: *const u8,
}

/// Receives and checks the record; a bad one ends init here, before any
/// change to the container.
pub fn receive(channel: usize) -> Hardening {
    // SAFETY: the only reference to RECORD ever made, and init has one thread.
    let buf: &'static mut [u8; MAX_RECORD] = unsafe { &mut *addr_of_mut!(RECORD) };
    let n = sys::recv_record(channel, buf).or_die(c"config record", c"");
    if n > MAX_RECORD {
        die(Errno::EMSGSIZE, c"config record", c"");
    }
    let mut r = Cursor(buf.get(..n).unwrap_or_default());
    let tag = r.int(1);
    let caps = r.int(8);
    let flags = r.int(4) as u32;
    // A request this init does not know must not pass as granted.
    if tag != u64::from(b'C') || flags > 15 {
        bad_record();
    }
    let len = r.int(2) as usize;
    let filter = r.take(len * 8);
    let count = r.int(2);
    let ops = r.0;
    for _ in 0..count {
        r.op();
    }
    if !r.0.is_empty() {
        bad_record();
    }
    if flags & LOOPBACK_UP != 0 {
        sys::loopback_up().or_die(c"bring up lo", c"");
    }
    Hardening { caps, flags, filter, ops }
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

    fn op(&mut self) -> Op {
        let kind = self.int(1) as u8;
        if !(MOUNT..=TOUCH).contains(&(kind & !(KERNEL_FS | SHARED))) {
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
        Op { kind, arg, target, source, fstype: self.string(), data: self.string() }
    }
}

/// Runs the ops in order, with the rootfs as cwd. Each target is opened
/// inside the rootfs and the op applied to that open file, so a symlink in
/// the rootfs cannot aim a mount at the host (KERNEL_FS targets excepted).
pub fn run_ops(h: &Hardening) {
    let mut r = Cursor(h.ops);
    let mut shared: Option<&CStr> = None;
    while !r.0.is_empty() {
        let op = r.op();
        let kind = op.kind & !(KERNEL_FS | SHARED);
        let target = op.target;
        // Names for error records: prefixed with the target, made absolute.
        let what = match kind {
            MOUNT => c"mount /",
            MKDIR_P => c"mkdir /",
            TOUCH => c"create /",
            _ => c"remount read-only /",
        };
        if kind == MKDIR_P {
            mkdir_p(target, op.arg as usize, what);
            continue;
        }
        let rec = if kind == SETATTR_R { AT_RECURSIVE } else { 0 };
        if op.kind & KERNEL_FS != 0 {
            let share = op.kind & SHARED != 0;
            let res = match (kind, share.then_some(shared).flatten()) {
                (MOUNT, Some(first)) => mount_raw(first.as_ptr().cast(), target, null(), MS_BIND, null()),
                (MOUNT, None) => mount_raw(op.source, target, op.fstype, op.arg as usize, op.data),
                _ => mount_setattr(CWD, target, rec, u64::from(op.arg)),
            };
            if share && shared.is_none() && res.is_ok() {
                shared = Some(target);
            }
            if res != Err(Errno::ENOENT) {
                res.or_die(what, target);
            }
            continue;
        }
        // openat2 refuses a mode without O_CREAT.
        let (flags, mode) =
            if kind == TOUCH { (O_CREAT | O_EXCL | O_CLOEXEC, 0o644) } else { (O_PATH | O_CLOEXEC, 0) };
        let fd = match open_in_root(target, flags, mode) {
            Ok(fd) => fd,
            Err(Errno::EEXIST) if kind == TOUCH => continue,
            Err(e) => die(e, what, target),
        };
        let res = match kind {
            MOUNT => {
                // The fd as a path that mount(2) follows to the very file
                // (in our own /proc, just mounted, relative to the rootfs).
                // One digit: besides it, only fds 0 to 3 are open.
                if fd > 9 {
                    die(Errno::EMFILE, what, target)
                }
                let mut path = *b"proc/self/fd/0\0";
                if let Some(d) = path.get_mut(13) {
                    *d += fd as u8;
                }
                // SAFETY: a literal ending in its only NUL.
                let path = unsafe { CStr::from_bytes_with_nul_unchecked(&path) };
                mount_raw(op.source, path, op.fstype, op.arg as usize, op.data)
            }
            SETATTR_R | SETATTR => mount_setattr(fd, c"", AT_EMPTY_PATH | rec, u64::from(op.arg)),
            _ => Ok(0),
        };
        close(fd);
        res.or_die(what, target);
    }
}

/// In the command's process, right before exec: the bounding set, then
/// no_new_privs, then the filter (still allowed without no_new_privs, as we
/// hold CAP_SYS_ADMIN in our user namespace), then the capability sets.
pub fn restrict(h: &Hardening) {
    let drop = h.flags & DROP_CAPS != 0;
    if drop {
        for cap in 0..64 {
            if (h.caps >> cap) & 1 == 0 {
                match prctl(PR_CAPBSET_DROP, cap) {
                    // Past the kernel's last capability.
                    Err(Errno::EINVAL) => break,
                    r => {
                        r.or_die(c"drop capabilities", c"");
                    }
                }
            }
        }
    }
    if h.flags & NO_NEW_PRIVS != 0 {
        prctl(PR_SET_NO_NEW_PRIVS, 1).or_die(c"no_new_privs", c"");
    }
    if h.flags & SECCOMP != 0 {
        seccomp_filter(h.filter).or_die(c"seccomp filter", c"");
    }
    if drop {
        capset(h.caps).or_die(c"capset", c"");
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL).or_die(c"clear ambient capabilities", c"");
    }
}
