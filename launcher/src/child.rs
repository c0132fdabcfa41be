//! The cloned child's few steps before it becomes init: it is already in the
//! new namespaces, but must wait for its id maps (an exec without them would
//! drop every capability).
//!
//! This runs in a fork of the launcher: no allocation, no locks, only syscalls
//! on memory prepared before the clone.

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

/// Set up fd 3, wait for the parent's go, exec init. Never returns.
pub fn exec_init(channel: RawFd, go: RawFd, mut init: RawFd, cmd: &InitCommand) -> ! {
    // SAFETY: each call below is a plain syscall on fds and static or
    // pre-built memory of this process; none allocates.
    unsafe {
        // Out of the launcher's session and process group: keystrokes in the
        // launcher's terminal reach the container only as forwarded signals,
        // never twice.
        libc::setsid();
        // If the launcher dies, so does init, and with it the whole PID namespace.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        // The container starts with default dispositions: Rust's runtime ignores
        // SIGPIPE, and whoever started us may ignore others (a shell's `&`
        // ignores SIGINT and SIGQUIT). Exec keeps "ignored", so reset them all;
        // the raw syscall, because musl refuses the signals it reserves (32-34).
        let default_action = [0usize; 4];
        for sig in 1..=64usize {
            libc::syscall(libc::SYS_rt_sigaction, sig, default_action.as_ptr(), 0usize, 8usize);
        }
        if init == CHILD_FD {
            init = libc::fcntl(init, libc::F_DUPFD_CLOEXEC, CHILD_FD + 1);
        }
        if channel == CHILD_FD {
            libc::fcntl(CHILD_FD, libc::F_SETFD, 0);
        } else {
            // dup2 leaves the new fd without close-on-exec: init inherits it.
            libc::dup2(channel, CHILD_FD);
        }
        // Wait for "go" on the eventfd; the channel turning readable without
        // it (EOF) means the launcher died or gave up, and reports why if it can.
        let mut waits = [
            libc::pollfd { fd: go, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: CHILD_FD, events: libc::POLLIN, revents: 0 },
        ];
        while libc::poll(waits.as_mut_ptr(), 2, -1) == -1 {}
        let mut count = 0u64;
        if waits[0].revents & libc::POLLIN == 0 || libc::read(go, &mut count as *mut u64 as *mut _, 8) != 8 {
            libc::_exit(RUNTIME_ERROR);
        }
        libc::syscall(
            libc::SYS_execveat,
            init,
            c"".as_ptr(),
            cmd.argv.as_ptr(),
            cmd.envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        let errno = *libc::__errno_location();
        channel::send_error(CHILD_FD, errno, &[b"exec the init from its memfd"]);
        libc::_exit(RUNTIME_ERROR)
    }
}
