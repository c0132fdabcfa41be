//! The syscall layer: one thin wrapper per call the init makes, so that the
//! rest of the init is safe code. Strings go in as `&CStr` (the kernel needs
//! the NUL); results come back as the kernel's `Result<usize, Errno>`.

use core::ffi::CStr;
use core::mem::{size_of, MaybeUninit};
use core::ptr::null;
use syscalls::Sysno;

pub type Res = Result<usize, Errno>;

/// A kernel error number, kept as the raw syscall returned it (-errno):
/// pointer-sized, so that a `Res` is returned in two registers rather than
/// through memory (with some sixty calls that check one, that is a tenth of
/// the init), and not negated at each of the dozens of checks, only where it
/// is reported.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(usize);

impl Errno {
    pub const EIO: Errno = Errno::new(5);
    pub const EACCES: Errno = Errno::new(13);
    pub const ENOTDIR: Errno = Errno::new(20);
    pub const EINVAL: Errno = Errno::new(22);
    pub const ENAMETOOLONG: Errno = Errno::new(36);
    pub const EMSGSIZE: Errno = Errno::new(90);
    pub const ENOENT: Errno = Errno::new(2);

    const fn new(errno: usize) -> Errno {
        Errno(errno.wrapping_neg())
    }

    pub fn into_raw(self) -> i32 {
        self.0.wrapping_neg() as i32
    }

    /// A raw syscall's return: -4095..-1 is an error number.
    #[inline(always)]
    pub fn from_ret(ret: usize) -> Res {
        if ret > -4096isize as usize {
            Err(Errno(ret))
        } else {
            Ok(ret)
        }
    }
}

/// `syscalls::syscall!`, returning our `Res`.
macro_rules! syscall {
    ($($args:tt)*) => {
        $crate::sys::Errno::from_ret(syscalls::raw_syscall!($($args)*))
    };
}
pub(crate) use syscall;

pub use crate::arch::{dup2, exit, O_DIRECTORY};

pub const MS_REMOUNT: usize = 0x20;
pub const MS_BIND: usize = 0x1000;
pub const MS_MOVE: usize = 0x2000;
pub const MS_REC: usize = 0x4000;
pub const MS_PRIVATE: usize = 0x40000;

pub const MOUNT_ATTR_NOSUID: u64 = 2;
pub const MOUNT_ATTR_NODEV: u64 = 4;
pub const MOUNT_ATTR_NOEXEC: u64 = 8;

pub const O_RDWR: usize = 2;
pub const O_NOCTTY: usize = 0o400;
pub const O_CLOEXEC: usize = 0o2000000;
pub const O_PATH: usize = 0o10000000;

/// The dirfd meaning "the current directory".
pub const CWD: usize = -100isize as usize;
pub const AT_RECURSIVE: usize = 0x8000;
pub const AT_EMPTY_PATH: usize = 0x1000;

pub const PR_CAPBSET_DROP: usize = 24;
pub const PR_SET_NO_NEW_PRIVS: usize = 38;
pub const PR_CAP_AMBIENT: usize = 47;
pub const PR_CAP_AMBIENT_CLEAR_ALL: usize = 4;

pub const SIGCHLD: u32 = 17;
pub const CLONE_NEWCGROUP: usize = 0x0200_0000;

pub const W_OK: usize = 2;
pub const F_OK: usize = 0;
const CLOCK_MONOTONIC: usize = 1;
const MNT_DETACH: usize = 2;
const S_IFREG: usize = 0o100000;
const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;
const SIGSET_SIZE: usize = 8;
const F_SETFD: usize = 2;
const FD_CLOEXEC: usize = 1;
const WNOHANG: usize = 1;
const SOL_SOCKET: i32 = 1;
const SCM_RIGHTS: i32 = 1;
const MSG_NOSIGNAL: usize = 0x4000;
const TIOCSWINSZ: usize = 0x5414;
const TIOCSCTTY: usize = 0x540e;
const TIOCSPTLCK: usize = 0x4004_5431;
const TIOCGPTPEER: usize = 0x5441;
const MSG_TRUNC: usize = 0x20;
const MSG_CMSG_CLOEXEC: usize = 0x4000_0000;
const SECCOMP_SET_MODE_FILTER: usize = 1;
const CAP_VERSION_3: u32 = 0x2008_0522;
const AF_INET: usize = 2;
const SOCK_DGRAM: usize = 2;
const SIOCGIFFLAGS: usize = 0x8913;
const SIOCSIFFLAGS: usize = 0x8914;
const IFF_UP: u8 = 1;

fn ptr(s: Option<&CStr>) -> *const u8 {
    s.map_or(null(), |s| s.as_ptr().cast())
}

/// Blocks every signal (`all`) or unblocks every signal (`!all`).
pub fn block_signals(all: bool) -> Res {
    let set: u64 = if all { !0 } else { 0 };
    let how = if all { SIG_BLOCK } else { SIG_SETMASK };
    // SAFETY: `set` is a valid sigset for the call; the old set is not asked for.
    unsafe { syscall!(Sysno::rt_sigprocmask, how, &set as *const u64, 0, SIGSET_SIZE) }
}

pub fn sethostname(name: &[u8]) -> Res {
    // SAFETY: the kernel reads `name.len()` bytes from a live slice.
    unsafe { syscall!(Sysno::sethostname, name.as_ptr(), name.len()) }
}

pub fn mount(
    src: Option<&CStr>,
    dst: &CStr,
    fstype: Option<&CStr>,
    flags: usize,
    data: Option<&CStr>,
) -> Res {
    mount_raw(ptr(src), dst, ptr(fstype), flags, ptr(data))
}

/// mount(2) with each optional string as a pointer, NULL for none.
pub fn mount_raw(src: *const u8, dst: &CStr, fstype: *const u8, flags: usize, data: *const u8) -> Res {
    // SAFETY: every pointer is NULL or a NUL-terminated string that outlives the
    // call (the callers' contract, met by `ptr` and by the config record).
    unsafe { syscall!(Sysno::mount, src, dst.as_ptr(), fstype, flags, data) }
}

#[repr(C)]
struct MountAttr {
    set: u64,
    clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Sets `attrs` on the mount at `dir`/`path` (with AT_RECURSIVE in `flags`,
/// also on every mount below it).
#[inline(always)]
pub fn mount_setattr(dir: usize, path: &CStr, flags: usize, attrs: u64) -> Res {
    let flags = flags | empty(path);
    let attr = MountAttr { set: attrs, clr: 0, propagation: 0, userns_fd: 0 };
    // SAFETY: `path` is NUL-terminated; `attr` is a live mount_attr of the size passed.
    unsafe {
        syscall!(
            Sysno::mount_setattr,
            dir,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            size_of::<MountAttr>()
        )
    }
}

pub fn umount_detach(path: &CStr) -> Res {
    // SAFETY: `path` is NUL-terminated.
    unsafe { syscall!(Sysno::umount2, path.as_ptr(), MNT_DETACH) }
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Res {
    // SAFETY: both paths are NUL-terminated.
    unsafe { syscall!(Sysno::pivot_root, new_root.as_ptr(), put_old.as_ptr()) }
}

pub fn chroot(path: &CStr) -> Res {
    // SAFETY: `path` is NUL-terminated.
    unsafe { syscall!(Sysno::chroot, path.as_ptr()) }
}

pub fn chdir(path: &CStr) -> Res {
    // SAFETY: `path` is NUL-terminated.
    unsafe { syscall!(Sysno::chdir, path.as_ptr()) }
}

pub fn fchdir(fd: usize) -> Res {
    // SAFETY: a descriptor number only.
    unsafe { syscall!(Sysno::fchdir, fd) }
}

pub fn mkdir(path: &CStr, mode: usize) -> Res {
    mkdirat(CWD, path, mode)
}

pub fn mkdirat(dir: usize, path: &CStr, mode: usize) -> Res {
    // SAFETY: `path` is NUL-terminated.
    unsafe { syscall!(Sysno::mkdirat, dir, path.as_ptr(), mode) }
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2's RESOLVE_NO_SYMLINKS: no symlink anywhere in the path.
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
/// openat2's RESOLVE_IN_ROOT: resolve as if `dir` were "/".
pub const RESOLVE_IN_ROOT: u64 = 0x10;

/// openat2(2): `path` in `dir`, resolved as `resolve` allows.
pub fn openat2(dir: usize, path: &CStr, flags: usize, mode: usize, resolve: u64) -> Res {
    let how = OpenHow { flags: flags as u64, mode: mode as u64, resolve };
    // SAFETY: `path` is NUL-terminated; `how` is a live open_how of the size passed.
    unsafe { syscall!(Sysno::openat2, dir, path.as_ptr(), &how as *const OpenHow, size_of::<OpenHow>()) }
}

/// Opens `path` with every component, symlinks and ".." included, resolved
/// as if the current directory were "/": a rootfs's symlinks cannot lead
/// out of it while we still see the host's mounts.
pub fn open_in_root(path: &CStr, flags: usize, mode: usize) -> Res {
    openat2(CWD, path, flags, mode, RESOLVE_IN_ROOT)
}

/// Creates an empty regular file (a bind-mount target) without opening it.
pub fn mkfile(dir: usize, path: &CStr) -> Res {
    // SAFETY: `path` is NUL-terminated; S_IFREG needs no device number.
    unsafe { syscall!(Sysno::mknodat, dir, path.as_ptr(), S_IFREG | 0o666, 0) }
}

pub fn symlink(target: &CStr, dir: usize, link: &CStr) -> Res {
    // SAFETY: both paths are NUL-terminated.
    unsafe { syscall!(Sysno::symlinkat, target.as_ptr(), dir, link.as_ptr()) }
}

/// Whether we may write in the directory `dir` (an O_PATH descriptor will do).
/// faccessat(2): whether `dir`/`path` ("." for `dir` itself) allows `mode`
/// (W_OK), or exists (F_OK).
pub fn access(dir: usize, path: &CStr, mode: usize) -> bool {
    // SAFETY: `path` is NUL-terminated.
    unsafe { syscall!(Sysno::faccessat, dir, path.as_ptr(), mode) }.is_ok()
}

pub fn close(fd: usize) {
    // SAFETY: closing a descriptor touches no memory; the callers own `fd`.
    unsafe {
        let _ = syscall!(Sysno::close, fd);
    }
}

/// Closes every descriptor from `first` to `last`.
pub fn close_range(first: usize, last: usize) -> Res {
    // SAFETY: descriptor numbers only.
    unsafe { syscall!(Sysno::close_range, first, last, 0) }
}

pub fn set_cloexec(fd: usize) -> Res {
    // SAFETY: descriptor flags only.
    unsafe { syscall!(Sysno::fcntl, fd, F_SETFD, FD_CLOEXEC) }
}

pub fn pty_unlock(master: usize) -> Res {
    let unlock: i32 = 0;
    // SAFETY: TIOCSPTLCK reads one int from a live local.
    unsafe { syscall!(Sysno::ioctl, master, TIOCSPTLCK, &unlock as *const i32) }
}

/// `winsize`: a struct winsize (rows, columns, two unused pixel counts).
pub fn pty_set_size(master: usize, winsize: &[u16; 4]) -> Res {
    // SAFETY: TIOCSWINSZ reads a struct winsize (four u16) from a live array.
    unsafe { syscall!(Sysno::ioctl, master, TIOCSWINSZ, winsize as *const [u16; 4]) }
}

/// Opens the slave of `master` without a path lookup (the caller's /dev may differ).
pub fn pty_peer(master: usize) -> Res {
    // SAFETY: TIOCGPTPEER takes open flags by value.
    unsafe { syscall!(Sysno::ioctl, master, TIOCGPTPEER, O_RDWR | O_NOCTTY) }
}

pub fn set_ctty(fd: usize) -> Res {
    // SAFETY: TIOCSCTTY takes an int by value.
    unsafe { syscall!(Sysno::ioctl, fd, TIOCSCTTY, 0) }
}

const CLONE_VM: usize = 0x100;
const CLONE_VFORK: usize = 0x4000;
const SPAWN_STACK: usize = 16 * 1024;

/// The stack `spawn`'s child runs on until it execs: in .bss, so it costs no
/// file bytes, and only the pages it touches cost memory.
#[repr(align(16))]
struct SpawnStack([u8; SPAWN_STACK]);
static mut STACK: SpawnStack = SpawnStack([0; SPAWN_STACK]);

/// Runs `f(arg)` in a new process that shares our memory (CLONE_VM), on its
/// own stack, and returns its pid once it has exec'd or exited (CLONE_VFORK).
/// A fork would copy our page tables for a process that replaces them at
/// once, and copying them is slow under a VM's paging.
///
/// # Safety
/// `f` runs in our memory while we wait: until it execs or exits it may only
/// read what we own and write its own stack, and memory nobody reads after it
/// (its trace stamps). `arg` must point into our frame, which waits with us.
pub unsafe fn spawn(f: extern "C" fn(usize) -> !, arg: usize) -> Res {
    let top = core::ptr::addr_of_mut!(STACK.0).cast::<u8>().wrapping_add(SPAWN_STACK);
    // SAFETY: `top` is the 16-byte aligned end of a stack nobody else uses (a
    // second spawn reuses it only after the first child left it, as
    // CLONE_VFORK waits); the caller vouches for `f` and `arg`.
    Errno::from_ret(unsafe { crate::arch::clone_on(CLONE_VM | CLONE_VFORK | SIGCHLD as usize, top, f, arg) })
}

/// CLOCK_MONOTONIC in nanoseconds (the raw syscall: we have no vDSO parser).
pub fn monotonic_ns() -> u64 {
    let mut ts = [0u64; 2];
    // SAFETY: the kernel writes one struct timespec (two 64-bit words) into `ts`.
    let _ = unsafe { syscall!(crate::arch::CLOCK_GETTIME, CLOCK_MONOTONIC, ts.as_mut_ptr()) };
    ts[0].wrapping_mul(1_000_000_000).wrapping_add(ts[1])
}

/// Makes the caller the leader of a new process group of its own.
pub fn setpgid_self() -> Res {
    // SAFETY: integer arguments only.
    unsafe { syscall!(Sysno::setpgid, 0, 0) }
}

pub fn setsid() -> Res {
    // SAFETY: no arguments.
    unsafe { syscall!(Sysno::setsid) }
}

/// Replaces the process image; returns only the error.
///
/// # Safety
/// `argv` and `envp` must point to NULL-terminated arrays of pointers to
/// NUL-terminated strings (such as the ones the kernel gave this process).
pub unsafe fn execve(path: &CStr, argv: *const *const u8, envp: *const *const u8) -> Errno {
    // SAFETY: `path` is NUL-terminated; the caller vouches for argv and envp.
    match unsafe { syscall!(Sysno::execve, path.as_ptr(), argv, envp) } {
        Err(e) => e,
        Ok(_) => Errno::EINVAL,
    }
}

#[repr(C)]
pub struct IoVec<'a> {
    base: *const u8,
    len: usize,
    _life: core::marker::PhantomData<&'a [u8]>,
}

impl<'a> IoVec<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        IoVec { base: buf.as_ptr(), len: buf.len(), _life: core::marker::PhantomData }
    }
}

#[repr(C)]
struct MsgHdr {
    name: *const u8,
    namelen: u32,
    iov: *const IoVec<'static>,
    iovlen: usize,
    control: *const u8,
    controllen: usize,
    flags: i32,
}

/// A cmsghdr carrying one fd, padded to CMSG_SPACE(sizeof(int)).
#[repr(C)]
struct CmsgFd {
    len: usize,
    level: i32,
    kind: i32,
    fd: i32,
    _pad: i32,
}

/// Sends `iov` as one record on socket `sock`, with `pass` as SCM_RIGHTS if given.
/// MSG_NOSIGNAL: a closed peer must not leave a SIGPIPE queued for PID 1 to forward.
pub fn send(sock: usize, iov: &[IoVec], pass: Option<usize>) -> Res {
    let cmsg = CmsgFd {
        len: size_of::<usize>() + 2 * size_of::<i32>() + size_of::<i32>(),
        level: SOL_SOCKET,
        kind: SCM_RIGHTS,
        fd: pass.unwrap_or(0) as i32,
        _pad: 0,
    };
    let msg = MsgHdr {
        name: null(),
        namelen: 0,
        iov: iov.as_ptr().cast(),
        iovlen: iov.len(),
        control: if pass.is_some() { (&cmsg as *const CmsgFd).cast() } else { null() },
        controllen: if pass.is_some() { size_of::<CmsgFd>() } else { 0 },
        flags: 0,
    };
    // SAFETY: `msg` and everything it points to (iov buffers, cmsg) live across the call.
    unsafe { syscall!(Sysno::sendmsg, sock, &msg as *const MsgHdr, MSG_NOSIGNAL) }
}

/// The most descriptors one received record may carry: the launcher sends one
/// per cgroup hierarchy (v1: pids, memory, cpu; v2: one).
pub const MAX_FDS: usize = 4;

/// A cmsghdr with room for MAX_FDS descriptors (CMSG_SPACE of them).
#[repr(C)]
struct CmsgFds {
    len: usize,
    level: i32,
    kind: i32,
    fds: [i32; MAX_FDS],
}

/// A record's length and the descriptors that came with it: -1 in the slots
/// the record left empty.
pub struct Received {
    pub len: usize,
    pub fds: [i32; MAX_FDS],
}

/// Receives a record into `buf` with up to MAX_FDS descriptors (close-on-exec).
/// EOF, or a peer that went away, reads as length 0.
pub fn recv_fds(sock: usize, buf: &mut [u8]) -> Result<Received, Errno> {
    let iov = IoVec { base: buf.as_mut_ptr(), len: buf.len(), _life: core::marker::PhantomData };
    // The kernel writes as many fds as came; the other slots keep their -1.
    let mut cmsg = CmsgFds { len: 0, level: 0, kind: 0, fds: [-1; MAX_FDS] };
    let msg = MsgHdr {
        name: null(),
        namelen: 0,
        iov: &iov,
        iovlen: 1,
        control: (&mut cmsg as *mut CmsgFds).cast(),
        controllen: size_of::<CmsgFds>(),
        flags: 0,
    };
    // SAFETY: the kernel writes at most buf.len() bytes into `buf` (through
    // the iovec made from its pointer) and at most `controllen` bytes into
    // `cmsg`; both live across the call.
    let len = unsafe { syscall!(Sysno::recvmsg, sock, &msg as *const MsgHdr, MSG_CMSG_CLOEXEC) }?;
    // The peer is our launcher on a private socketpair without SO_PASSCRED:
    // control data can only be SCM_RIGHTS.
    Ok(Received { len, fds: cmsg.fds })
}

pub fn write(fd: usize, buf: &[u8]) -> Res {
    // SAFETY: the kernel reads at most buf.len() bytes of the live slice.
    unsafe { syscall!(Sysno::write, fd, buf.as_ptr(), buf.len()) }
}

/// A close-on-exec signalfd for every signal (all of which the caller keeps blocked).
pub fn signalfd_all() -> Res {
    let set: u64 = !0;
    // SAFETY: `set` is a live sigset of the size passed.
    unsafe { syscall!(Sysno::signalfd4, -1isize, &set as *const u64, SIGSET_SIZE, O_CLOEXEC) }
}

/// Receives one record into `buf`; returns its full length, which exceeds
/// `buf.len()` when the record did not fit (and was cut).
pub fn recv_record(sock: usize, buf: &mut [u8]) -> Res {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the live buffer;
    // no source address is asked for.
    unsafe { syscall!(Sysno::recvfrom, sock, buf.as_mut_ptr(), buf.len(), MSG_TRUNC, 0, 0) }
}

#[inline(always)]
pub fn prctl(option: usize, arg: usize) -> Res {
    // SAFETY: the options used here take integers only; unused arguments must be 0.
    unsafe { syscall!(Sysno::prctl, option, arg, 0, 0, 0) }
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const u8,
}

/// Keep speculative store bypass enabled, as docker and runc do: without this
/// flag the kernel turns on the SSBD mitigation for every filtered task, which
/// slows the whole container down (measured here: +0.3 ms on a /bin/true run).
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: usize = 1 << 2;

/// Loads a classic BPF program (`filter`: struct sock_filter, 8 bytes each).
pub fn seccomp_filter(filter: &[u8]) -> Res {
    let prog = SockFprog { len: (filter.len() / 8) as u16, filter: filter.as_ptr() };
    // SAFETY: `prog` points to `len` whole instructions inside the live slice;
    // the kernel copies them before returning.
    unsafe {
        syscall!(
            Sysno::seccomp,
            SECCOMP_SET_MODE_FILTER,
            SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            &prog as *const SockFprog
        )
    }
}

/// Sets the effective, permitted and inheritable sets all to `caps`.
pub fn capset(caps: u64) -> Res {
    let head: [u32; 2] = [CAP_VERSION_3, 0];
    let (lo, hi) = (caps as u32, (caps >> 32) as u32);
    let data: [u32; 6] = [lo, lo, lo, hi, hi, hi];
    // SAFETY: a version-3 header for ourselves and its two data structs, all live.
    unsafe { syscall!(Sysno::capset, &head as *const [u32; 2], &data as *const [u32; 6]) }
}

/// The command's user: the `count` supplementary groups at `groups`, then
/// the gid, then the uid, real, effective and saved alike. Leaving uid 0
/// empties the permitted, effective and ambient capability sets.
///
/// # Safety
/// `groups` must point to `count` readable gids.
pub unsafe fn set_user(groups: *const u32, count: usize, gid: usize, uid: usize) -> Res {
    let [groups_call, gid_call, uid_call, _] = crate::arch::ID_CALLS;
    // SAFETY: the kernel reads `count` gids from `groups` (the caller's
    // contract); the other calls take integers only.
    unsafe {
        syscall!(groups_call, count, groups)?;
        syscall!(gid_call, gid, gid, gid)?;
        syscall!(uid_call, uid, uid, uid)
    }
}

/// Gives the file `fd` to `uid`, its group unchanged.
pub fn give_to(fd: usize, uid: usize) -> Res {
    let [.., chown_call] = crate::arch::ID_CALLS;
    // SAFETY: integer arguments only; -1 leaves the group as it is.
    unsafe { syscall!(chown_call, fd, uid, u32::MAX as usize) }
}

/// Sets IFF_UP on "lo" (of our network namespace).
pub fn loopback_up() -> Res {
    // SAFETY: no memory is passed.
    let sock = unsafe { syscall!(Sysno::socket, AF_INET, SOCK_DGRAM | O_CLOEXEC, 0) }?;
    // struct ifreq: the name, then the flags (a short) at offset 16.
    let mut ifr = [0u8; 40];
    ifr[0] = b'l';
    ifr[1] = b'o';
    // SAFETY: both ioctls read and write one struct ifreq, the live `ifr`.
    let mut r = unsafe { syscall!(Sysno::ioctl, sock, SIOCGIFFLAGS, ifr.as_mut_ptr()) };
    if r.is_ok() {
        ifr[16] |= IFF_UP;
        // SAFETY: as above.
        r = unsafe { syscall!(Sysno::ioctl, sock, SIOCSIFFLAGS, ifr.as_ptr()) };
    }
    close(sock);
    r
}

/// Blocks until a signal is queued and returns its number.
pub fn read_signal(sfd: usize) -> Result<u32, Errno> {
    let mut info = MaybeUninit::<[u32; 32]>::uninit();
    // SAFETY: the kernel writes at most 128 bytes (one signalfd_siginfo) into `info`.
    let n = unsafe { syscall!(Sysno::read, sfd, info.as_mut_ptr(), 128) }?;
    if n < 4 {
        return Err(Errno::EIO);
    }
    // SAFETY: the kernel filled at least the first u32 (ssi_signo).
    Ok(unsafe { info.as_ptr().cast::<u32>().read() })
}

/// Reaps one exited child: Ok(0) when none is ready and `block` is false.
pub fn reap(status: &mut u32, block: bool) -> Res {
    let flags = if block { 0 } else { WNOHANG };
    // SAFETY: `status` is a live u32; no rusage is asked for.
    unsafe { syscall!(Sysno::wait4, -1isize, status as *mut u32, flags, 0) }
}

pub fn kill(pid: usize, sig: u32) -> Res {
    // SAFETY: no memory is passed.
    unsafe { syscall!(Sysno::kill, pid, sig) }
}

// The mount API of Linux 5.2: filesystems and bind mounts are made detached,
// as descriptors, and attached through a descriptor of their mount point, so
// no path in a root filesystem can redirect where a mount lands.

const FSOPEN_CLOEXEC: usize = 1;
const FSCONFIG_SET_FLAG: usize = 0;
const FSCONFIG_SET_STRING: usize = 1;
const FSCONFIG_CMD_CREATE: usize = 6;
const FSMOUNT_CLOEXEC: usize = 1;
const OPEN_TREE_CLONE: usize = 1;
const MOVE_MOUNT_F_EMPTY_PATH: usize = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: usize = 0x40;

/// A new filesystem of `fstype` as a detached mount with MOUNT_ATTR_* `attrs`.
/// `options`: "key\0value\0" pairs (an empty value: a flag), ended by an
/// empty key; or NULL for none.
pub fn new_fs(fstype: *const u8, attrs: u64, options: *const u8) -> Res {
    // SAFETY: `fstype` is NUL-terminated (the callers' contract).
    let fs = unsafe { syscall!(Sysno::fsopen, fstype, FSOPEN_CLOEXEC) }?;
    let r = configure(fs, options).and_then(|_| {
        // SAFETY: integer arguments only.
        unsafe { syscall!(Sysno::fsmount, fs, FSMOUNT_CLOEXEC, attrs) }
    });
    close(fs);
    r
}

/// Passes each option to the filesystem context `fs`, then creates the
/// filesystem.
fn configure(fs: usize, mut option: *const u8) -> Res {
    // SAFETY: the options are pairs of NUL-terminated strings ended by an
    // empty one (the callers' contract): each step stays inside them.
    unsafe {
        while !option.is_null() && *option != 0 {
            let key = option;
            let value = key.add(crate::cstr(key).count_bytes() + 1);
            option = value.add(crate::cstr(value).count_bytes() + 1);
            let (cmd, value) =
                if *value == 0 { (FSCONFIG_SET_FLAG, null()) } else { (FSCONFIG_SET_STRING, value) };
            syscall!(Sysno::fsconfig, fs, cmd, key, value, 0)?;
        }
        syscall!(Sysno::fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0)
    }
}

/// A detached copy of the mount tree at `dir`/`path` (with `recursive`, the
/// mounts below it too), as bind mounts start.
pub fn clone_tree(dir: usize, path: &CStr, recursive: bool) -> Res {
    let flags = OPEN_TREE_CLONE | O_CLOEXEC | if recursive { AT_RECURSIVE } else { 0 } | empty(path);
    // SAFETY: `path` is NUL-terminated.
    unsafe { syscall!(Sysno::open_tree, dir, path.as_ptr(), flags) }
}

/// Attaches the detached mount `mount` at `dir`/`path` ("": `dir` itself).
/// A final symlink in `path` is not followed.
pub fn attach(mount: usize, dir: usize, path: &CStr) -> Res {
    let flags = MOVE_MOUNT_F_EMPTY_PATH | if empty(path) != 0 { MOVE_MOUNT_T_EMPTY_PATH } else { 0 };
    // SAFETY: both paths are NUL-terminated.
    unsafe { syscall!(Sysno::move_mount, mount, c"".as_ptr(), dir, path.as_ptr(), flags) }
}

/// AT_EMPTY_PATH for an empty `path`: the call acts on the descriptor itself.
pub fn empty(path: &CStr) -> usize {
    if path.is_empty() {
        AT_EMPTY_PATH
    } else {
        0
    }
}

/// Enters a new namespace of each kind in `flags` (CLONE_NEW*).
pub fn unshare(flags: usize) -> Res {
    // SAFETY: integer arguments only.
    unsafe { syscall!(Sysno::unshare, flags) }
}
