//! launcher-init: PID 1 of a launcher container.
//!
//! `init -- CMD [ARGS...]`, with the command's environment as ours and fd 3
//! the channel to the launcher, which sends everything else in the config
//! record (harden.rs) first.
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

mod arch;
mod exec;
mod harden;
mod sys;
mod trace;

use core::ffi::CStr;
use core::marker::PhantomData;
use sys::{Errno, IoVec, *};

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

/// `die` for a step without a path: one pointer less at each of the dozens
/// of checks.
#[cold]
#[inline(never)]
fn die_at(err: Errno, what: Thin) -> ! {
    die_thin(err, what, Thin::new(c""))
}

trait OrDie<T> {
    /// The value, or the end of init with an error record `what` + `path`.
    fn or_die_at(self, what: &CStr, path: &CStr) -> T;
    /// The value, or the end of init with an error record `what`.
    fn or_die(self, what: &CStr) -> T;
}

impl<T> OrDie<T> for Result<T, Errno> {
    // Inlined, each check is a compare and a branch to `die`, not a Result in memory.
    #[inline(always)]
    fn or_die_at(self, what: &CStr, path: &CStr) -> T {
        match self {
            Ok(v) => v,
            Err(e) => die(e, what, path),
        }
    }

    #[inline(always)]
    fn or_die(self, what: &CStr) -> T {
        match self {
            Ok(v) => v,
            Err(e) => die_at(e, Thin::new(what)),
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

/// The command, as the kernel gave us our own arguments: `init -- CMD [ARGS...]`.
struct Command {
    cmd: &'static CStr,
    /// argv of the command (from CMD on), NULL-terminated.
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
        if argc < 3 {
            die(Errno::EINVAL, c"usage: init -- CMD", c"");
        }
        run(&Command { cmd: cstr(*argv.add(2)), argv: argv.add(2), envp: argv.add(argc + 1) })
    }
}

fn run(command: &Command) -> ! {
    // 1. Signals are queued, not acted on, until the signalfd loop reads them.
    block_signals(true).or_die(c"sigprocmask");
    // EOF on the channel will tell the launcher that CMD's exec succeeded.
    // Done first, as it also checks that fd 3 is there before any fd of
    // ours could take its number.
    set_cloexec(CHANNEL).or_die(c"fcntl channel");
    // Only 0-3 are ours to pass on; anything else leaked to us must not reach
    // the container. Best effort: close_range is Linux 5.9+.
    let _ = close_range(CHANNEL + 1, u32::MAX as usize);
    // Everything but the command comes in the config record, so that the
    // container sees only `init -- CMD` as PID 1's arguments. Read before any
    // change, so that a bad record fails early.
    let cfg = harden::receive(CHANNEL);
    trace::start(cfg.head.flags & harden::TRACE != 0);
    sethostname(cfg.hostname.to_bytes()).or_die(c"sethostname");
    trace::stamp(trace::HOSTNAME);

    // 2. Our mounts must not leak to the host, and pivot_root needs the new
    // root to be a mount point.
    mount(None, c"/", None, MS_REC | MS_PRIVATE, None).or_die(c"make-rprivate /");
    mount(Some(cfg.rootfs), cfg.rootfs, None, MS_BIND | MS_REC, None).or_die_at(c"bind-mount ", cfg.rootfs);
    chdir(cfg.rootfs).or_die_at(c"chdir ", cfg.rootfs);
    trace::stamp(trace::ROOT_BOUND);

    let (joined, master) = setup_mounts(&cfg);
    // 7. The launcher made the container's cgroups while we built the mounts;
    // an op joins them and enters the cgroup namespace, or we join them here.
    if !joined && cfg.head.flags & harden::JOIN_CGROUP != 0 {
        join_cgroups();
    }
    enter_root();
    trace::stamp(trace::PIVOTED);
    enter_workdir(cfg.workdir);

    // 9. Made before the command starts so that its failure can still be reported, and
    // with all signals already queued, none is lost while CMD starts.
    let sfd = signalfd_all().or_die(c"signalfd");
    trace::stamp(trace::FORKING);
    let args = ChildArgs { command, master, cfg: &cfg };
    // SAFETY: `child` only reads `args`, the command and the config record,
    // and writes its own stack and the trace stamps, before it execs or exits.
    let pid = unsafe { spawn(child, &args as *const ChildArgs as usize) }.or_die(c"clone");

    // 10. PID 1 needs none of its descriptors but the signalfd, the newest:
    // not the standard ones, the channel, the pty master or our mounts'.
    let _ = close_range(0, sfd - 1);
    supervise(sfd, pid)
}

/// Joins each cgroup the launcher's `J` record brings a write-only fd of, by
/// writing "0" (this process) to it, so the command and all it starts are
/// inside the limits. The fds are v1 `tasks` files (moving the one thread of a
/// process, and yourself, skips the kernel's global lock) and v2 `cgroup.procs`.
/// Returns the record's ops (the container's view of its cgroup).
pub fn join_cgroups() -> &'static [u8] {
    const WHAT: &CStr = c"join the cgroup";
    let r = harden::receive_join(CHANNEL);
    for fd in r.fds {
        if fd >= 0 {
            write(fd as usize, b"0").or_die(WHAT);
            close(fd as usize);
        }
    }
    trace::stamp(trace::CGROUP_JOINED);
    r.ops
}

/// Device nodes cannot be made in a user namespace: bind the host's instead.
const DEVICES: &[u8] = b"/dev/null\0/dev/zero\0/dev/full\0/dev/random\0/dev/urandom\0/dev/tty\0";

/// Pairs of symlink target, link (in /dev).
const DEV_LINKS: &[u8] = b"pts/ptmx\0ptmx\0\
    /proc/self/fd\0fd\0\
    /proc/self/fd/0\0stdin\0\
    /proc/self/fd/1\0stdout\0\
    /proc/self/fd/2\0stderr\0";

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

/// "/dev/null" -> "null": the name in our /dev.
fn in_dev(path: &'static CStr) -> &'static CStr {
    let bytes = path.to_bytes_with_nul();
    // SAFETY: a suffix of a C string that still ends with its NUL.
    unsafe { CStr::from_bytes_with_nul_unchecked(bytes.get(5..).unwrap_or(b"\0")) }
}

/// The descriptors of the mounts init makes for the container, attached in
/// the rootfs: the config's ops reach their entries through these, never
/// through a path of the rootfs.
pub struct Mounts {
    pub proc: usize,
    pub dev: usize,
    pub sys: usize,
}

/// The first part of the error record of a mount on the rootfs's `name`:
/// "mount /" + name.
const MOUNT_STEP: &CStr = c"mount /";

/// Opens the mount point `name` in the rootfs (our cwd) for `attach`,
/// making a missing directory. A symlink there is refused (ELOOP), as is a
/// file (ENOTDIR): the kernel's filesystems go on directories of the rootfs
/// itself, and a link to follow could lead out of it.
fn mount_point(name: &CStr) -> usize {
    mount_point_in(name, RESOLVE_NO_SYMLINKS)
}

/// `mount_point`, the path resolved as `resolve` says.
#[inline(never)]
fn mount_point_in(name: &CStr, resolve: u64) -> usize {
    let open = || openat2(CWD, name, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, resolve);
    let fd = match open() {
        Err(Errno::ENOENT) => {
            let _ = mkdir(name, 0o755);
            open()
        }
        r => r,
    };
    fd.or_die_at(MOUNT_STEP, name)
}

/// Makes a new filesystem and attaches it on the directory `name` of the
/// rootfs; returns the descriptor of its root.
fn mount_new(fstype: &CStr, attrs: u64, options: &[u8], name: &CStr) -> usize {
    let at = mount_point(name);
    let m = new_fs(fstype.as_ptr().cast(), attrs, options.as_ptr()).or_die_at(MOUNT_STEP, name);
    attach(m, at, c"").or_die_at(MOUNT_STEP, name);
    close(at);
    m
}

// The filesystems' options are lists of C strings (`sys::new_fs`), which a
// `c""` literal cannot hold.
#[allow(clippy::manual_c_str_literals)]
/// Steps 3 to 6, with the rootfs our cwd: the kernel's filesystems, the pty,
/// then the config's ops and /tmp. Returns whether an op joined the cgroups,
/// and the pty master (with -t).
fn setup_mounts(cfg: &harden::Config) -> (bool, Option<usize>) {
    let safe = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    let proc = mount_new(c"proc", safe, b"\0", c"proc");
    trace::stamp(trace::PROC);

    // Docker's 64 MiB. Nothing here runs or acts as a device: the device
    // nodes are bind mounts, with flags of their own. Its contents are made
    // through the descriptor of its root, which nobody else can reach.
    let dev = mount_new(c"tmpfs", safe, b"mode\x00755\0size\x0064m\0\0", c"dev");
    each(DEVICES, |host| {
        let name = in_dev(host);
        mkfile(dev, name).or_die_at(c"create ", host);
        let node = clone_tree(CWD, host, false).or_die_at(c"bind-mount ", host);
        attach(node, dev, name).or_die_at(c"bind-mount ", host);
        close(node);
    });
    // No gid= option: gid 5 (tty) may be unmapped when rootless.
    mkdir_at(dev, c"pts");
    let pts = new_fs(
        c"devpts".as_ptr().cast(),
        MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
        b"ptmxmode\x000666\0mode\x000620\0\0".as_ptr(),
    );
    attach(pts.or_die(c"mount /dev/pts"), dev, c"pts").or_die(c"mount /dev/pts");
    // The mount point of /dev/shm, a tmpfs of the config's.
    mkdir_at(dev, c"shm");
    let mut target = None;
    each(DEV_LINKS, |s| match target.take() {
        None => target = Some(s),
        Some(t) => {
            symlink(t, dev, s).or_die_at(c"symlink /dev/", s);
        }
    });
    // The pty, in /dev/pts through /dev's descriptor: its master goes to the
    // launcher now, before we wait for the cgroup (the J record), so that an
    // OCI `create` can pass it on before the container starts.
    let master = if cfg.head.flags & harden::TTY != 0 { Some(open_pty(dev, cfg.head)) } else { None };
    trace::stamp(trace::DEV);

    // A fresh sysfs needs our own network namespace; we keep the host's, so
    // show the host's /sys, read-only all the way down (the config's first op).
    let sys = clone_tree(CWD, c"/sys", true).or_die(c"bind-mount /sys");
    let at = mount_point(c"sys");
    attach(sys, at, c"").or_die_at(MOUNT_STEP, c"sys");
    close(at);
    trace::stamp(trace::SYS);

    // The launcher's extra mounts (/dev/shm, masked and read-only paths,
    // volumes, a read-only root, the cgroup view) see the finished /proc,
    // /dev and /sys, and come before the /tmp check so that a read-only root
    // still gets a tmpfs /tmp.
    let mounts = Mounts { proc, dev, sys };
    // Their descriptors stay open, close-on-exec, until PID 1 closes all.
    let joined = harden::run_ops(cfg, &mounts);

    // Where the rootfs's /tmp leads, inside the rootfs: distributions link it.
    let tmp = mount_point_in(c"tmp", RESOLVE_IN_ROOT);
    if !access(tmp, c".", W_OK) {
        let m = new_fs(
            c"tmpfs".as_ptr().cast(),
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            b"mode\x001777\0\0".as_ptr(),
        );
        attach(m.or_die_at(MOUNT_STEP, c"tmp"), tmp, c"").or_die_at(MOUNT_STEP, c"tmp");
    }
    trace::stamp(trace::EXTRA_MOUNTS);
    (joined, master)
}

/// mkdir in a directory of ours (a fresh tmpfs) that nobody else can reach.
fn mkdir_at(dir: usize, name: &CStr) {
    mkdirat(dir, name, 0o755).or_die_at(c"mkdir /dev/", name);
}

/// Step 7: make the rootfs "/" and drop every way back to the host's root.
fn enter_root() {
    match pivot_root(c".", c".") {
        // The old root now sits on top of the new one: detach it.
        Ok(_) => {
            umount_detach(c".").or_die(c"detach the old root");
        }
        // An initramfs root cannot be pivoted away from.
        Err(Errno::EINVAL) => {
            mount(Some(c"."), c"/", None, MS_MOVE, None).or_die(c"move-mount onto /");
            chroot(c".").or_die(c"chroot");
        }
        Err(e) => die(e, c"pivot_root", c""),
    }
    chdir(c"/").or_die(c"chdir /");
}

/// Step 8: like docker -w, create the working directory (and its parents).
fn enter_workdir(dir: &CStr) {
    // "/" (the default): enter_root is already there.
    if dir.to_bytes() == b"/" {
        return;
    }
    if chdir(dir).is_err() {
        mkdir_p(dir);
        chdir(dir).or_die_at(c"chdir ", dir);
    }
}

/// mkdir -p, after pivot_root: every path leads into the container.
/// Failures show in the chdir that follows.
fn mkdir_p(path: &CStr) {
    // SAFETY: PATH_BUF's only other user is the command's process, which
    // starts later; init has one thread.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(exec::PATH_BUF) };
    for (i, &b) in path.to_bytes_with_nul().iter().enumerate() {
        if (b == b'/' || b == 0) && i > 0 {
            if let Some(prefix) = buf.get(..=i) {
                // SAFETY: buf[i] is still 0, and the bytes before it come from
                // a C string (so hold no NUL).
                let _ = mkdir(unsafe { CStr::from_bytes_with_nul_unchecked(prefix) }, 0o755);
            }
        }
        if let Some(d) = buf.get_mut(i) {
            *d = b;
        }
    }
}

/// A pty master from the container's devpts (`dev`: our /dev), unlocked,
/// sized (0x0, unknown, is a new pty's own size) and sent to the launcher.
fn open_pty(dev: usize, head: &harden::Head) -> usize {
    const WHAT: &CStr = c"open /dev/pts/ptmx";
    let m = openat2(dev, c"pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS).or_die(WHAT);
    pty_unlock(m).or_die(WHAT);
    pty_set_size(m, &head.winsize).or_die(WHAT);
    send(CHANNEL, &[IoVec::new(b"P")], Some(m)).or_die(c"send pty master");
    m
}

struct ChildArgs<'a> {
    command: &'a Command,
    master: Option<usize>,
    cfg: &'a harden::Config,
}

/// The command's process, between `spawn` and exec, in PID 1's memory.
extern "C" fn child(args: usize) -> ! {
    // SAFETY: `spawn` passes the address of `run`'s ChildArgs, alive while
    // PID 1 waits for us to exec.
    let &ChildArgs { command: c, master, cfg } = unsafe { &*(args as *const ChildArgs) };
    trace::stamp(trace::FORKED);
    block_signals(false).or_die(c"sigprocmask");
    if let Some(m) = master {
        // A session leader whose controlling tty is the pty: job control works.
        const WHAT: &CStr = c"attach the pty";
        setsid().or_die(WHAT);
        let slave = pty_peer(m).or_die(WHAT);
        set_ctty(slave).or_die(WHAT);
        // The terminal is the command's: with --user, its user's, as runc
        // gives it (the group stays), so a program that reopens it by name can.
        let uid = cfg.head.uid as usize;
        if uid != 0 {
            give_to(slave, uid).or_die(WHAT);
        }
        for fd in 0..3 {
            dup2(slave, fd).or_die(WHAT);
        }
        close(slave);
        close(m);
    } else {
        // As tini does: a group of its own, so that what the command sends to
        // its group never reaches PID 1. PID 1's session has no terminal to
        // share, and a new session would cost a scheduler autogroup (~10 us).
        setpgid_self().or_die(c"setpgid");
    }
    trace::stamp(trace::SESSION);
    harden::restrict(cfg);
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
