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
mod sys;

use core::ffi::CStr;
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

/// Sends an error record to the launcher, which prints it.
fn report(err: Errno, what: &[u8], path: &[u8]) {
    let e = (err.into_raw() as u32).to_le_bytes();
    let head = [b'E', e[0], e[1], e[2], e[3]];
    let iov = [IoVec::new(&head), IoVec::new(what), IoVec::new(path)];
    // Nobody is left to tell if the launcher is gone.
    let _ = send(CHANNEL, &iov, None);
}

#[cold]
#[inline(never)]
fn die(err: Errno, what: &[u8], path: &[u8]) -> ! {
    report(err, what, path);
    exit(125)
}

trait OrDie<T> {
    fn or_die(self, what: &[u8], path: &[u8]) -> T;
}

impl<T> OrDie<T> for Result<T, Errno> {
    // Inlined, each check is a compare and a branch to `die`, not a Result in memory.
    #[inline(always)]
    fn or_die(self, what: &[u8], path: &[u8]) -> T {
        match self {
            Ok(v) => v,
            Err(e) => die(e, what, path),
        }
    }
}

/// `s.contains(&c)` without core's memchr, which is large.
fn has(s: &[u8], c: u8) -> bool {
    s.iter().any(|&b| b == c)
}

/// # Safety
/// `p` must point to a NUL-terminated string that lives for the rest of the
/// process (argv and envp strings do).
#[inline(never)]
unsafe fn cstr(p: *const u8) -> &'static CStr {
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
fn mount_in(src: &CStr, dst: &CStr, fstype: Option<&CStr>, flags: usize, data: Option<&CStr>) {
    let target = rel(dst);
    let mut r = mount(Some(src), target, fstype, flags, data);
    if r == Err(Errno::ENOENT) {
        let _ = mkdir(target, 0o755);
        r = mount(Some(src), target, fstype, flags, data);
    }
    r.or_die(b"mount ", dst.to_bytes());
}

/// Device nodes cannot be made in a user namespace: bind the host's instead.
static DEVICES: [&CStr; 6] =
    [c"/dev/null", c"/dev/zero", c"/dev/full", c"/dev/random", c"/dev/urandom", c"/dev/tty"];

/// (target, link)
static DEV_LINKS: [(&CStr, &CStr); 5] = [
    (c"pts/ptmx", c"/dev/ptmx"),
    (c"/proc/self/fd", c"/dev/fd"),
    (c"/proc/self/fd/0", c"/dev/stdin"),
    (c"/proc/self/fd/1", c"/dev/stdout"),
    (c"/proc/self/fd/2", c"/dev/stderr"),
];

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
                b"usage: launcher-init ROOTFS HOSTNAME WORKDIR FLAGS WINSIZE CMD [ARGS...]",
                b"",
            );
        }
        let arg = |i: usize| cstr(*argv.add(i));
        run(&Config {
            rootfs: arg(1),
            hostname: arg(2),
            workdir: arg(3),
            flags: arg(4),
            winsize: arg(5),
            cmd: arg(6),
            argv: argv.add(6),
            envp: argv.add(argc + 1),
        })
    }
}

fn run(c: &Config) -> ! {
    // 1. Signals are queued, not acted on, until the signalfd loop reads them.
    block_signals(true).or_die(b"sigprocmask", b"");
    // Only 0-3 are ours to pass on; anything else leaked to us must not reach
    // the container. Best effort: close_range is Linux 5.9+.
    let _ = close_from(CHANNEL + 1);
    sethostname(c.hostname.to_bytes()).or_die(b"sethostname", b"");

    // 2. Our mounts must not leak to the host, and pivot_root needs the new
    // root to be a mount point.
    mount(None, c"/", None, MS_REC | MS_PRIVATE, None).or_die(b"make-rprivate /", b"");
    let rootfs = c.rootfs.to_bytes();
    mount(Some(c.rootfs), c.rootfs, None, MS_BIND | MS_REC, None).or_die(b"bind-mount ", rootfs);
    chdir(c.rootfs).or_die(b"chdir ", rootfs);

    setup_mounts();
    enter_root();
    enter_workdir(c.workdir);

    // 9. The pty lives in the container's own devpts; the launcher gets the master.
    let tty = has(c.flags.to_bytes(), b't');
    let master = if tty { Some(open_pty(c.winsize)) } else { None };
    if let Some(m) = master {
        send(CHANNEL, &[IoVec::new(b"P")], Some(m)).or_die(b"send pty master", b"");
    }

    // 10. Made before the fork so that its failure can still be reported, and
    // with all signals already queued, none is lost while CMD starts.
    let sfd = signalfd_all().or_die(b"signalfd", b"");
    // EOF on the channel then tells the launcher the exec succeeded.
    set_cloexec(CHANNEL).or_die(b"fcntl channel", b"");
    let pid = fork().or_die(b"fork", b"");
    if pid == 0 {
        child(c, master);
    }

    // 11. PID 1 needs none of its descriptors but the signalfd.
    if let Some(m) = master {
        close(m);
    }
    for fd in 0..=CHANNEL {
        close(fd);
    }
    supervise(sfd, pid)
}

/// Steps 3 to 6, relative to the rootfs (our cwd).
fn setup_mounts() {
    mount_in(c"proc", c"/proc", Some(c"proc"), MS_NOSUID | MS_NODEV | MS_NOEXEC, None);

    let tmpfs = Some(c"tmpfs");
    mount_in(c"tmpfs", c"/dev", tmpfs, MS_NOSUID | MS_NOEXEC, Some(c"mode=755,size=64k"));
    for &dev in &DEVICES {
        mkfile(rel(dev)).or_die(b"create ", dev.to_bytes());
        mount_in(dev, dev, None, MS_BIND, None);
    }
    // No gid= option: gid 5 (tty) may be unmapped when rootless.
    mount_in(
        c"devpts",
        c"/dev/pts",
        Some(c"devpts"),
        MS_NOSUID | MS_NOEXEC,
        Some(c"newinstance,ptmxmode=0666,mode=0620"),
    );
    mount_in(c"shm", c"/dev/shm", tmpfs, MS_NOSUID | MS_NODEV, Some(c"mode=1777"));
    for &(target, link) in &DEV_LINKS {
        symlink(target, rel(link)).or_die(b"symlink ", link.to_bytes());
    }

    // A fresh sysfs needs our own network namespace; we keep the host's, so
    // show the host's /sys, read-only all the way down.
    let sys = c"/sys";
    mount_in(sys, sys, None, MS_BIND | MS_REC, None);
    let ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    match mount_setattr_rec(rel(sys), ro) {
        Err(Errno::ENOSYS) => {
            let flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
            mount(None, rel(sys), None, flags, None).or_die(b"remount read-only /sys", b"");
        }
        r => {
            r.or_die(b"mount_setattr /sys", b"");
        }
    }

    let tmp = c"/tmp";
    if !writable(rel(tmp)) {
        mount_in(c"tmpfs", tmp, tmpfs, MS_NOSUID | MS_NODEV, Some(c"mode=1777"));
    }
}

/// Step 7: make the rootfs "/" and drop every way back to the host's root.
fn enter_root() {
    match pivot_root(c".", c".") {
        // The old root now sits on top of the new one: detach it.
        Ok(_) => {
            umount_detach(c".").or_die(b"detach the old root", b"");
        }
        // An initramfs root cannot be pivoted away from.
        Err(Errno::EINVAL) => {
            mount(Some(c"."), c"/", None, MS_MOVE, None).or_die(b"move-mount onto /", b"");
            chroot(c".").or_die(b"chroot", b"");
        }
        Err(e) => die(e, b"pivot_root", b""),
    }
    chdir(c"/").or_die(b"chdir /", b"");
}

/// Step 8: like docker -w, create the working directory (and its parents).
fn enter_workdir(dir: &CStr) {
    let path = dir.to_bytes();
    if chdir(dir) == Err(Errno::ENOENT) {
        let mut buf = [0u8; 4096];
        for (i, &b) in path.iter().enumerate() {
            // Each "/" ends a parent: cut the path there for one mkdir.
            if b == b'/' && i > 0 {
                if let Some(parent) = buf.get(..=i) {
                    // SAFETY: `buf[..i]` is a prefix of a C string and buf[i] is 0.
                    let parent = unsafe { CStr::from_bytes_with_nul_unchecked(parent) };
                    match mkdir(parent, 0o755) {
                        Ok(_) | Err(Errno::EEXIST) => {}
                        Err(e) => die(e, b"mkdir ", parent.to_bytes()),
                    }
                }
            }
            if let Some(d) = buf.get_mut(i) {
                *d = b;
            }
        }
        match mkdir(dir, 0o755) {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => die(e, b"mkdir ", path),
        }
    }
    chdir(dir).or_die(b"chdir ", path);
}

/// Step 9: a pty master from the container's devpts, unlocked and sized.
fn open_pty(winsize: &CStr) -> usize {
    let m = open(c"/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC).or_die(b"open /dev/ptmx", b"");
    pty_unlock(m).or_die(b"unlock pty", b"");
    let ws = winsize.to_bytes();
    if ws != b"-" {
        let mut it = ws.split(|&b| b == b'x');
        match (it.next().and_then(num), it.next().and_then(num), it.next()) {
            (Some(rows), Some(cols), None) => {
                pty_set_size(m, rows, cols).or_die(b"set pty size ", ws);
            }
            _ => die(Errno::EINVAL, b"parse window size ", ws),
        }
    }
    m
}

fn num(s: &[u8]) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    let mut v: u16 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u16)?;
    }
    Some(v)
}

/// The command's process, between fork and exec.
fn child(c: &Config, master: Option<usize>) -> ! {
    block_signals(false).or_die(b"sigprocmask", b"");
    setsid().or_die(b"setsid", b"");
    if let Some(m) = master {
        // A session leader whose controlling tty is the pty: job control works.
        let slave = pty_peer(m).or_die(b"open pty slave", b"");
        set_ctty(slave).or_die(b"TIOCSCTTY", b"");
        for fd in 0..3 {
            dup2(slave, fd).or_die(b"dup2 pty slave", b"");
        }
        close(slave);
        close(m);
    }
    // SAFETY: argv and envp are the kernel-provided arrays (see `entry`).
    let err = unsafe { exec::execvp(c.cmd, c.argv, c.envp) };
    report(err, b"exec ", c.cmd.to_bytes());
    let not_found = err == Errno::ENOENT || err == Errno::ENOTDIR;
    exit(if not_found { 127 } else { 126 })
}

/// Step 11, PID 1's job: forward every signal to the command, reap every
/// zombie (the command's and orphans'), and leave with the command's status.
fn supervise(sfd: usize, cmd: usize) -> ! {
    loop {
        let Ok(sig) = read_signal(sfd) else {
            continue;
        };
        if sig != SIGCHLD {
            let _ = kill(cmd, sig);
            continue;
        }
        let mut status = 0u32;
        while let Ok(pid) = reap(&mut status) {
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
