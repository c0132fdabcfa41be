//! launcher-init: PID 1 of a launcher container.
//!
//! `launcher-init ROOTFS HOSTNAME WORKDIR FLAGS WINSIZE CMD [ARGS...]`, with
//! the command's environment as ours and fd 3 the channel to the launcher.
//! It builds the container's mounts, pivots into the rootfs, starts CMD, then
//! forwards signals to it and reaps zombies until CMD exits. Any failure
//! before CMD runs is sent on the channel as `E` + errno + "step path" and
//! ends with status 125 (126/127 when the exec itself fails).
//!
//! No libc, no allocator, no core::fmt: the whole binary is a few KiB.

#![no_std]
#![no_main]
// No libc means no strlen/memcmp: keep LLVM from turning our loops into calls
// to them.
#![no_builtins]

mod exec;
mod harden;
mod sys;
mod trace;

use core::ffi::CStr;
use core::marker::PhantomData;
use sys::{Errno, IoVec, *};

// The kernel starts us with argc at the stack pointer, not with a call frame;
// hand that pointer to Rust with the stack aligned as the ABI wants.
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

const CHANNEL: usize = 3;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(125)
}

/// A C string as one pointer (a `&CStr` is two words): the dozens of error
/// checks each pass two strings, and this keeps every check a few bytes.
#[derive(Clone, Copy)]
struct Thin<'a>(*const u8, PhantomData<&'a CStr>);

impl<'a> Thin<'a> {
    #[inline(always)]
    fn new(s: &'a CStr) -> Self {
        Thin(s.as_ptr().cast(), PhantomData)
    }

    fn bytes(self) -> &'a [u8] {
        // SAFETY: made from a `&'a CStr`.
        unsafe { cstr(self.0) }.to_bytes()
    }
}

/// Sends an error record to the launcher, which prints it:
/// 'E', errno (u32 LE), then `what` and `path` as one text.
#[inline(always)]
fn report(err: Errno, what: &CStr, path: &CStr) {
    report_thin(err, Thin::new(what), Thin::new(path))
}

#[inline(never)]
fn report_thin(err: Errno, what: Thin, path: Thin) {
    let e = (err.into_raw() as u32).to_le_bytes();
    let head = [b'E', e[0], e[1], e[2], e[3]];
    let iov = [IoVec::new(&head), IoVec::new(what.bytes()), IoVec::new(path.bytes())];
    // Nobody is left to tell if the launcher is gone.
    let _ = send(CHANNEL, &iov, None);
}

#[inline(always)]
fn die(err: Errno, what: &CStr, path: &CStr) -> ! {
    die_thin(err, Thin::new(what), Thin::new(path))
}

#[cold]
#[inline(never)]
fn die_thin(err: Errno, what: Thin, path: Thin) -> ! {
    report_thin(err, what, path);
    // How far we got, and how long it took.
    trace::send(CHANNEL);
    exit(125)
}

trait OrDie<T> {
    fn or_die(self, what: &CStr, path: &CStr) -> T;
}

impl<T> OrDie<T> for Result<T, Errno> {
    // Inlined, each check is a compare and a branch to `die`, not a Result in memory.
    #[inline(always)]
    fn or_die(self, what: &CStr, path: &CStr) -> T {
        match self {
            Ok(v) => v,
            Err(e) => die(e, what, path),
        }
    }
}

/// `s.contains(&c)` without core's memchr, which is large.
#[allow(clippy::manual_contains)]
fn has(s: &[u8], c: u8) -> bool {
    s.iter().any(|&b| b == c)
}

/// # Safety
/// `p` must point to a NUL-terminated string that lives for the rest of the
/// process (argv and envp strings do).
#[inline(never)]
unsafe fn cstr<'a>(p: *const u8) -> &'a CStr {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated, so every byte up to the NUL is readable.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: the `n + 1` bytes were just read and end with the only NUL.
    unsafe { CStr::from_bytes_with_nul_unchecked(core::slice::from_raw_parts(p, n + 1)) }
}

/// "/dev/null" -> "dev/null": between the chdir into the rootfs and
/// pivot_root, container paths are reached relative to ".", while error
/// messages keep the absolute form the user knows.
fn rel(path: &CStr) -> &CStr {
    let bytes = path.to_bytes_with_nul();
    let tail = bytes.get(1..).unwrap_or(bytes);
    // SAFETY: a suffix of a C string that still ends with its NUL.
    unsafe { CStr::from_bytes_with_nul_unchecked(tail) }
}

/// Mounts onto the container path `dst`, creating a missing mount point.
/// `fstype` and `data` may be empty (a bind mount ignores both).
#[inline(always)]
fn mount_in(src: &CStr, dst: &CStr, fstype: &CStr, flags: usize, data: &CStr) {
    mount_in_thin(Thin::new(src), Thin::new(dst), Thin::new(fstype), flags, Thin::new(data))
}

#[inline(never)]
fn mount_in_thin(src: Thin, dst: Thin, fstype: Thin, flags: usize, data: Thin) {
    // SAFETY: all four were made from `&CStr`s.
    let [src, dst, fstype, data] = [src, dst, fstype, data].map(|t| unsafe { cstr(t.0) });
    let target = rel(dst);
    let mut r = mount(Some(src), target, Some(fstype), flags, Some(data));
    if r == Err(Errno::ENOENT) {
        let _ = mkdir(target, 0o755);
        r = mount(Some(src), target, Some(fstype), flags, Some(data));
    }
    r.or_die(c"mount ", dst);
}

/// Calls `f` on each string of `list`, C strings packed back to back (a
/// table of `&CStr`s would cost 16 bytes an entry).
fn each(list: &'static [u8], mut f: impl FnMut(&'static CStr)) {
    let mut start = 0;
    for (i, &b) in list.iter().enumerate() {
        if b == 0 {
            if let Some(s) = list.get(start..=i) {
                // SAFETY: `s` ends at the first NUL after `start`.
                f(unsafe { CStr::from_bytes_with_nul_unchecked(s) });
            }
            start = i + 1;
        }
    }
}

/// Device nodes cannot be made in a user namespace: bind the host's instead.
const DEVICES: &[u8] = b"/dev/null\0/dev/zero\0/dev/full\0/dev/random\0/dev/urandom\0/dev/tty\0";

/// Pairs of symlink target, link.
const DEV_LINKS: &[u8] = b"pts/ptmx\0/dev/ptmx\0\
    /proc/self/fd\0/dev/fd\0\
    /proc/self/fd/0\0/dev/stdin\0\
    /proc/self/fd/1\0/dev/stdout\0\
    /proc/self/fd/2\0/dev/stderr\0";

struct Config {
    rootfs: &'static CStr,
    hostname: &'static CStr,
    workdir: &'static CStr,
    flags: &'static CStr,
    winsize: &'static CStr,
    cmd: &'static CStr,
    /// argv of the command (from CMD on), NULL-terminated, from the kernel.
    argv: *const *const u8,
    envp: *const *const u8,
}

/// Called from `_start` with the initial stack pointer.
///
/// # Safety
/// `sp` must be the stack pointer the kernel gave `_start`.
unsafe extern "C" fn entry(sp: *const usize) -> ! {
    // SAFETY: the kernel lays out argc, then argv[0..argc] and a NULL, then
    // envp and a NULL, all strings NUL-terminated and never freed.
    unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        if argc < 7 {
            die(
                Errno::EINVAL,
                c"usage: launcher-init ROOTFS HOSTNAME WORKDIR FLAGS WINSIZE CMD [ARGS...]",
                c"",
            );
        }
        let mut a = [c""; 7];
        for (i, s) in a.iter_mut().enumerate() {
            *s = cstr(*argv.add(i));
        }
        let [_, rootfs, hostname, workdir, flags, winsize, cmd] = a;
        run(&Config {
            rootfs,
            hostname,
            workdir,
            flags,
            winsize,
            cmd,
            argv: argv.add(6),
            envp: argv.add(argc + 1),
        })
    }
}

fn run(c: &Config) -> ! {
    trace::start(c.flags.to_bytes());
    // 1. Signals are queued, not acted on, until the signalfd loop reads them.
    block_signals(true).or_die(c"sigprocmask", c"");
    // EOF on the channel will tell the launcher that CMD's exec succeeded.
    // Done first, as it also checks that fd 3 is there before any fd of
    // ours could take its number.
    set_cloexec(CHANNEL).or_die(c"fcntl channel", c"");
    // Only 0-3 are ours to pass on; anything else leaked to us must not reach
    // the container. Best effort: close_range is Linux 5.9+.
    let _ = close_from(CHANNEL + 1);
    // Read before any change, so that a bad record fails early.
    let hardening = if has(c.flags.to_bytes(), b'c') { Some(harden::receive(CHANNEL)) } else { None };
    let hardening = hardening.as_ref();
    trace::stamp(trace::CONFIG_READ);
    sethostname(c.hostname.to_bytes()).or_die(c"sethostname", c"");
    trace::stamp(trace::HOSTNAME);

    // 2. Our mounts must not leak to the host, and pivot_root needs the new
    // root to be a mount point.
    mount(None, c"/", None, MS_REC | MS_PRIVATE, None).or_die(c"make-rprivate /", c"");
    mount(Some(c.rootfs), c.rootfs, None, MS_BIND | MS_REC, None).or_die(c"bind-mount ", c.rootfs);
    chdir(c.rootfs).or_die(c"chdir ", c.rootfs);
    trace::stamp(trace::ROOT_BOUND);

    setup_mounts(hardening);
    enter_root();
    trace::stamp(trace::PIVOTED);
    enter_workdir(c.workdir);

    // 9. The pty lives in the container's own devpts; the launcher gets the master.
    let tty = has(c.flags.to_bytes(), b't');
    let master = if tty { Some(open_pty(c.winsize)) } else { None };
    if let Some(m) = master {
        send(CHANNEL, &[IoVec::new(b"P")], Some(m)).or_die(c"send pty master", c"");
    }

    // 10. The launcher made the container's cgroups while we built the mounts.
    if has(c.flags.to_bytes(), b'g') {
        join_cgroups();
    }

    // 11. Made before the command starts so that its failure can still be reported, and
    // with all signals already queued, none is lost while CMD starts.
    let sfd = signalfd_all().or_die(c"signalfd", c"");
    trace::stamp(trace::FORKING);
    let args = ChildArgs { c, master, hardening };
    // SAFETY: `child` only reads `args`, our config and the hardening record,
    // and writes its own stack and the trace stamps, before it execs or exits.
    let pid = unsafe { spawn(child, &args as *const ChildArgs as usize) }.or_die(c"clone", c"");

    // 12. PID 1 needs none of its descriptors but the signalfd.
    if let Some(m) = master {
        close(m);
    }
    for fd in 0..=CHANNEL {
        if fd != sfd {
            close(fd);
        }
    }
    supervise(sfd, pid)
}

/// Joins each cgroup the launcher's `J` record brings a write-only fd of, by
/// writing "0" (this process) to it, so the command and all it starts are
/// inside the limits. The fds are v1 `tasks` files (moving the one thread of a
/// process, and yourself, skips the kernel's global lock) and v2 `cgroup.procs`.
fn join_cgroups() {
    const WHAT: &CStr = c"join the container's cgroup";
    let r = recv_fds(CHANNEL).or_die(WHAT, c"");
    if r.tag != b'J' {
        die(Errno::EINVAL, WHAT, c"");
    }
    for &fd in r.fds.iter().take(r.count) {
        write(fd as usize, b"0").or_die(WHAT, c"");
        close(fd as usize);
    }
    trace::stamp(trace::CGROUP_JOINED);
}

/// Steps 3 to 6, relative to the rootfs (our cwd).
fn setup_mounts(hardening: Option<&harden::Hardening>) {
    mount_in(c"proc", c"/proc", c"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, c"");
    trace::stamp(trace::PROC);

    // Docker's 64 MiB, and /dev/shm lives in it too. Nothing here runs or
    // acts as a device: the device nodes are bind mounts, with flags of their own.
    let tmpfs = c"tmpfs";
    mount_in(c"tmpfs", c"/dev", tmpfs, MS_NOSUID | MS_NODEV | MS_NOEXEC, c"mode=755,size=64m");
    each(DEVICES, |dev| {
        mkfile(rel(dev)).or_die(c"create ", dev);
        mount_in(dev, dev, c"", MS_BIND, c"");
    });
    // The fresh tmpfs is empty: make the mount point rather than fail a mount first.
    let _ = mkdir(rel(c"/dev/pts"), 0o755);
    // POSIX shared memory: a sticky world-writable directory of /dev's tmpfs,
    // not a tmpfs of its own, which would cost ~20 us to make and tear down.
    let shm = c"/dev/shm";
    mkdir(rel(shm), 0o755).or_die(c"mkdir ", shm);
    chmod(rel(shm), 0o1777).or_die(c"chmod ", shm);
    // No gid= option: gid 5 (tty) may be unmapped when rootless.
    mount_in(
        c"devpts",
        c"/dev/pts",
        c"devpts",
        MS_NOSUID | MS_NOEXEC,
        c"newinstance,ptmxmode=0666,mode=0620",
    );
    let mut target = None;
    each(DEV_LINKS, |s| match target.take() {
        None => target = Some(s),
        Some(t) => {
            symlink(t, rel(s)).or_die(c"symlink ", s);
        }
    });
    trace::stamp(trace::DEV);

    // A fresh sysfs needs our own network namespace; we keep the host's, so
    // show the host's /sys, read-only all the way down.
    let sys = c"/sys";
    mount_in(sys, sys, c"", MS_BIND | MS_REC, c"");
    let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    // Before Linux 5.12 (ENOSYS) the launcher sends a remount of /sys and of
    // each mount below it instead, first among the config mounts.
    if let Err(e) = mount_setattr(CWD, rel(sys), AT_RECURSIVE, ro) {
        if e != Errno::ENOSYS {
            die(e, c"mount_setattr /sys", c"");
        }
    }
    trace::stamp(trace::SYS);

    // The launcher's extra mounts (masked and read-only paths, volumes, a
    // read-only root) see the finished /proc, /dev and /sys, and come before
    // the /tmp check so that a read-only root still gets a tmpfs /tmp.
    if let Some(h) = hardening {
        harden::run_ops(h);
    }

    let tmp = c"/tmp";
    if !writable(rel(tmp)) {
        mount_in(c"tmpfs", tmp, tmpfs, MS_NOSUID | MS_NODEV, c"mode=1777");
    }
    trace::stamp(trace::EXTRA_MOUNTS);
}

/// Step 7: make the rootfs "/" and drop every way back to the host's root.
fn enter_root() {
    match pivot_root(c".", c".") {
        // The old root now sits on top of the new one: detach it.
        Ok(_) => {
            umount_detach(c".").or_die(c"detach the old root", c"");
        }
        // An initramfs root cannot be pivoted away from.
        Err(Errno::EINVAL) => {
            mount(Some(c"."), c"/", None, MS_MOVE, None).or_die(c"move-mount onto /", c"");
            chroot(c".").or_die(c"chroot", c"");
        }
        Err(e) => die(e, c"pivot_root", c""),
    }
    chdir(c"/").or_die(c"chdir /", c"");
}

/// Step 8: like docker -w, create the working directory (and its parents).
fn enter_workdir(dir: &CStr) {
    // "/" (the default): enter_root is already there.
    if dir.to_bytes() == b"/" {
        return;
    }
    match chdir(dir) {
        Err(Errno::ENOENT) => {
            mkdir_p(dir, 0o755, c"mkdir ");
            chdir(dir).or_die(c"chdir ", dir);
        }
        r => {
            r.or_die(c"chdir ", dir);
        }
    }
}

/// mkdir -p, relative to the current directory, which is taken as the root:
/// each directory is made in its parent as opened by `open_in_root`, so that
/// no symlink (or "..") in the path can lead outside. A failure dies with
/// `what` and the part of the path that failed.
fn mkdir_p(path: &CStr, mode: usize, what: &CStr) {
    let mut buf = [0u8; 4096];
    let mut dir = CWD;
    let mut start = 0;
    for (i, &b) in path.to_bytes_with_nul().iter().enumerate() {
        if (b == b'/' || b == 0) && i > start {
            let (Some(prefix), Some(name)) = (buf.get(..=i), buf.get(start..=i)) else {
                die(Errno::ENAMETOOLONG, what, path)
            };
            // SAFETY: buf[i] is still 0, and the bytes before it come from a C
            // string (so hold no NUL): both are C strings ending at i.
            let (prefix, name) = unsafe {
                (CStr::from_bytes_with_nul_unchecked(prefix), CStr::from_bytes_with_nul_unchecked(name))
            };
            match mkdirat(dir, name, mode) {
                Ok(_) | Err(Errno::EEXIST) => {}
                Err(e) => die(e, what, prefix),
            }
            let next = open_in_root(prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, 0).or_die(what, prefix);
            if dir != CWD {
                close(dir);
            }
            dir = next;
        }
        if b == b'/' {
            start = i + 1;
        }
        if let Some(d) = buf.get_mut(i) {
            *d = b;
        }
    }
    if dir != CWD {
        close(dir);
    }
}

/// Step 9: a pty master from the container's devpts, unlocked and sized.
fn open_pty(winsize: &CStr) -> usize {
    let m = open(c"/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC).or_die(c"open /dev/ptmx", c"");
    pty_unlock(m).or_die(c"unlock pty", c"");
    let ws = winsize.to_bytes();
    if ws != b"-" {
        let Some([rows, cols]) = parse_winsize(ws) else {
            die(Errno::EINVAL, c"parse window size ", winsize)
        };
        pty_set_size(m, rows, cols).or_die(c"set pty size ", winsize);
    }
    m
}

/// "ROWSxCOLS" -> [rows, cols].
fn parse_winsize(s: &[u8]) -> Option<[u16; 2]> {
    let mut v = [0u16; 2];
    let mut k = 0;
    let mut digits = 0;
    for &b in s {
        if b == b'x' && k == 0 && digits > 0 {
            k = 1;
            digits = 0;
            continue;
        }
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        let x = v.get_mut(k)?;
        *x = x.checked_mul(10)?.checked_add(d as u16)?;
        digits += 1;
    }
    if k == 1 && digits > 0 {
        Some(v)
    } else {
        None
    }
}

struct ChildArgs<'a> {
    c: &'a Config,
    master: Option<usize>,
    hardening: Option<&'a harden::Hardening>,
}

/// The command's process, between `spawn` and exec, in PID 1's memory.
extern "C" fn child(args: usize) -> ! {
    // SAFETY: `spawn` passes the address of `run`'s ChildArgs, alive while
    // PID 1 waits for us to exec.
    let &ChildArgs { c, master, hardening } = unsafe { &*(args as *const ChildArgs) };
    trace::stamp(trace::FORKED);
    block_signals(false).or_die(c"sigprocmask", c"");
    if let Some(m) = master {
        // A session leader whose controlling tty is the pty: job control works.
        setsid().or_die(c"setsid", c"");
        let slave = pty_peer(m).or_die(c"open pty slave", c"");
        set_ctty(slave).or_die(c"TIOCSCTTY", c"");
        for fd in 0..3 {
            dup2(slave, fd).or_die(c"dup2 pty slave", c"");
        }
        close(slave);
        close(m);
    } else {
        // As tini does: a group of its own, so that what the command sends to
        // its group never reaches PID 1. PID 1's session has no terminal to
        // share, and a new session would cost a scheduler autogroup (~10 us).
        setpgid_self().or_die(c"setpgid", c"");
    }
    trace::stamp(trace::SESSION);
    if let Some(h) = hardening {
        harden::restrict(h);
    }
    // Last words on the channel: our stamps, and PID 1's from before the spawn.
    trace::stamp(trace::EXEC);
    trace::send(CHANNEL);
    // SAFETY: argv and envp are the kernel-provided arrays (see `entry`).
    let err = unsafe { exec::execvp(c.cmd, c.argv, c.envp) };
    report(err, c"exec ", c.cmd);
    let not_found = err == Errno::ENOENT || err == Errno::ENOTDIR;
    exit(if not_found { 127 } else { 126 })
}

/// Step 11, PID 1's job: forward every signal to the command, reap every
/// zombie (the command's and orphans'), and leave with the command's status.
fn supervise(sfd: usize, cmd: usize) -> ! {
    loop {
        let block = match read_signal(sfd) {
            Ok(SIGCHLD) => false,
            Ok(sig) => {
                let _ = kill(cmd, sig);
                continue;
            }
            // Retrying a failed read would spin: sleep in wait4 instead,
            // still reaping, no longer forwarding.
            Err(_) => true,
        };
        let mut status = 0u32;
        while let Ok(pid) = reap(&mut status, block) {
            if pid == 0 {
                break;
            }
            if pid == cmd {
                let sig = status & 0x7f;
                exit(if sig == 0 { (status >> 8) as usize & 0xff } else { 128 + sig as usize });
            }
        }
    }
}
