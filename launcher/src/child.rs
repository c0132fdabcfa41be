//! The cloned child's few steps before it becomes init: it is already in the
//! new namespaces, but must wait for its id maps (an exec without them would
//! drop every capability).
//!
//! This runs in the launcher's own memory (CLONE_VM, see namespaces.rs): no
//! allocation, no locks, no errno, only raw syscalls on memory prepared before
//! the clone.

use std::ffi::{c_char, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::channel::{self, CHILD_FD};
use crate::status::RUNTIME_ERROR;

/// argv and envp for init, as the NULL-terminated arrays execveat wants.
pub struct InitCommand {
    _strings: Vec<CString>,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
}

impl InitCommand {
    pub fn new(argv: Vec<CString>, env: Vec<CString>) -> InitCommand {
        let ptrs = |v: &[CString]| v.iter().map(|s| s.as_ptr()).chain([std::ptr::null()]).collect();
        let (argv_ptrs, envp_ptrs) = (ptrs(&argv), ptrs(&env));
        let mut strings = argv;
        strings.extend(env);
        InitCommand { _strings: strings, argv: argv_ptrs, envp: envp_ptrs }
    }
}

/// The launcher's "go" to the child once its id maps are written: an eventfd,
/// not a byte on the channel. A socket write wakes its reader as a "sync"
/// wakeup, which moves the reader onto the writer's CPU to run when the writer
/// sleeps; with limits the launcher goes on to make the cgroup (0.3 ms) and
/// the child would wait for it instead of running beside it on the other CPU.
pub struct Go(OwnedFd);

impl Go {
    pub fn new() -> Result<Go, String> {
        // SAFETY: eventfd takes no pointers; a new fd is returned or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(format!("eventfd: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: fd was just created and nothing else owns it.
        Ok(Go(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    pub fn release(&self) -> std::io::Result<()> {
        let one = 1u64;
        // SAFETY: writes the 8 bytes of a live u64, as eventfd requires.
        match unsafe { libc::write(self.0.as_raw_fd(), &one as *const u64 as *const _, 8) } {
            8 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

/// Moves the child off the CPU we run on, for when we have work to do beside
/// it (the cgroup, ~0.3 ms): started on our CPU, as the scheduler often
/// places it, it would wait for us to sleep. Returns the affinity to give
/// back with `restore_affinity` before the container's command starts, or
/// None where there is no other CPU (or the kernel refused: this is a hint).
pub fn move_off_our_cpu(pid: libc::pid_t) -> Option<libc::cpu_set_t> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: an all-zero cpu_set_t is an empty set; the affinity calls read
    // or write one cpu_set_t of the size passed.
    unsafe {
        let mut ours: libc::cpu_set_t = std::mem::zeroed();
        let cpu = libc::sched_getcpu();
        if cpu < 0 || libc::sched_getaffinity(pid, size, &mut ours) != 0 {
            return None;
        }
        let mut others = ours;
        libc::CPU_CLR(cpu as usize, &mut others);
        if libc::CPU_COUNT(&others) == 0 || libc::sched_setaffinity(pid, size, &others) != 0 {
            return None;
        }
        Some(ours)
    }
}

/// Gives the child (init by now) back the affinity `move_off_our_cpu` took.
pub fn restore_affinity(pid: libc::pid_t, mask: &libc::cpu_set_t) -> std::io::Result<()> {
    // SAFETY: reads one cpu_set_t of the size passed.
    match unsafe { libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), mask) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Set up fd 3, wait for the parent's go, exec init. Never returns.
///
/// This runs in the launcher's own memory (`namespaces::clone_container`
/// shares it, CLONE_VM) while the launcher goes on: it writes nothing but its
/// own stack, and so makes raw syscalls (libc's wrappers would set the
/// launcher's errno on failure).
/// `die_with_launcher`: `launcher run`'s init dies with the launcher; an OCI
/// container's outlives `create`.
pub fn exec_init(
    channel: RawFd,
    go: RawFd,
    mut init: RawFd,
    cmd: &InitCommand,
    die_with_launcher: bool,
) -> ! {
    // Out of the launcher's session and process group: keystrokes in the
    // launcher's terminal reach the container only as forwarded signals, never
    // twice.
    sys(libc::SYS_setsid, [0; 6]);
    // If the launcher dies, so does init, and with it the whole PID namespace.
    if die_with_launcher {
        sys(libc::SYS_prctl, [libc::PR_SET_PDEATHSIG as usize, libc::SIGKILL as usize, 0, 0, 0, 0]);
    }
    // The container starts with default dispositions: Rust's runtime ignores
    // SIGPIPE, and whoever started us may ignore others (a shell's `&` ignores
    // SIGINT and SIGQUIT). Exec keeps "ignored", so reset them all. (Our own
    // table of handlers: CLONE_VM without CLONE_SIGHAND copies it.)
    // Room for the kernel's struct sigaction on every architecture (at most
    // handler, flags, restorer and an 8-byte mask).
    let default_action = [0u64; 4];
    for sig in 1..=64 {
        sys(libc::SYS_rt_sigaction, [sig, default_action.as_ptr() as usize, 0, 8, 0, 0]);
    }
    let fd3 = CHILD_FD as usize;
    if init == CHILD_FD {
        init =
            sys(libc::SYS_fcntl, [init as usize, libc::F_DUPFD_CLOEXEC as usize, fd3 + 1, 0, 0, 0]) as RawFd;
    }
    if channel == CHILD_FD {
        sys(libc::SYS_fcntl, [fd3, libc::F_SETFD as usize, 0, 0, 0, 0]);
    } else {
        // dup3 without flags leaves the new fd without close-on-exec: init
        // inherits it. (dup2 is not in the generic table of aarch64 and riscv64.)
        sys(libc::SYS_dup3, [channel as usize, fd3, 0, 0, 0, 0]);
    }
    // Wait for "go" on the eventfd; the channel hanging up without it means
    // the launcher died or gave up, and reports why if it can. (Readable it
    // already is: the config record waits in it for init.)
    let mut waits = [
        libc::pollfd { fd: go, events: libc::POLLIN, revents: 0 },
        libc::pollfd { fd: CHILD_FD, events: libc::POLLRDHUP, revents: 0 },
    ];
    // ppoll without a timeout (plain poll is not in the generic table).
    while sys(libc::SYS_ppoll, [waits.as_mut_ptr() as usize, 2, 0, 0, 0, 0]) < 0 {}
    let mut count = 0u64;
    let read = sys(libc::SYS_read, [go as usize, &mut count as *mut u64 as usize, 8, 0, 0, 0]);
    if waits[0].revents & libc::POLLIN == 0 || read != 8 {
        exit(RUNTIME_ERROR);
    }
    let (argv, envp) = (cmd.argv.as_ptr() as usize, cmd.envp.as_ptr() as usize);
    let empty = c"".as_ptr() as usize;
    let mut err =
        -sys(libc::SYS_execveat, [init as usize, empty, argv, envp, libc::AT_EMPTY_PATH as usize, 0]);
    if err == libc::ENOENT as isize {
        // A program exec'd by fd is named "/dev/fd/N", and TOMOYO on Debian
        // 11's Linux 5.10 looks that name up: where /dev/fd is missing (a bare
        // devtmpfs, an initramfs) every exec by fd fails with ENOENT (Debian
        // 12's 6.1 does not). /proc/self/fd/N reaches the same sealed memfd
        // by a path that /proc alone provides. Only that failure pays for it.
        let mut path = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0";
        let digits = decimal(init as usize, &mut path[14..24]);
        if digits.is_some() {
            err = -sys(libc::SYS_execve, [path.as_ptr() as usize, argv, envp, 0, 0, 0]);
        }
    }
    let mut record = [0u8; 512];
    let len = channel::error_record(&mut record, err as i32, &[crate::status::INIT_EXEC_STEP.as_bytes()]);
    sys(libc::SYS_write, [fd3, record.as_ptr() as usize, len, 0, 0, 0]);
    exit(RUNTIME_ERROR)
}

/// Writes `n` in decimal at the start of `out`; None when it does not fit.
fn decimal(mut n: usize, out: &mut [u8]) -> Option<()> {
    let digits = std::iter::successors(Some(n), |&m| (m >= 10).then_some(m / 10)).count();
    for slot in out.get_mut(..digits)?.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    Some(())
}

fn exit(code: i32) -> ! {
    loop {
        sys(libc::SYS_exit_group, [code as usize, 0, 0, 0, 0, 0]);
    }
}

/// One system call, returning what the kernel returns (-errno on failure),
/// without touching errno.
fn sys(nr: libc::c_long, args: [usize; 6]) -> isize {
    // SAFETY: the callers pass pointers only to memory that lives across the
    // call (their stack, or the launcher's prepared and unchanging InitCommand).
    unsafe { crate::arch::raw_syscall(nr, args) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_writes_the_fd_number() {
        let mut out = [0u8; 4];
        assert_eq!(super::decimal(0, &mut out), Some(()));
        assert_eq!(&out, b"0\0\0\0");
        assert_eq!(super::decimal(1234, &mut out), Some(()));
        assert_eq!(&out, b"1234");
        assert_eq!(super::decimal(12345, &mut out), None, "five digits do not fit in four bytes");
    }
}
