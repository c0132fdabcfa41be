//! Signals are never handled asynchronously here: they are blocked from the
//! start and read from a signalfd in the event loop. The cloned child inherits
//! the blocked mask, so a signal sent while the container starts is queued, not
//! lost, and init (which keeps them blocked) reads it from its own signalfd.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Signals the launcher passes on to the container (docker's sig-proxy set).
pub const FORWARDED: [libc::c_int; 6] =
    [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2];

pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks the forwarded signals, SIGCHLD and SIGWINCH, and opens a signalfd for them.
    pub fn block() -> io::Result<SignalFd> {
        let mut set = empty_set();
        for sig in FORWARDED.iter().chain(&[libc::SIGCHLD, libc::SIGWINCH]) {
            // SAFETY: `set` is an initialised sigset_t; the signal numbers are valid.
            unsafe { libc::sigaddset(&mut set, *sig) };
        }
        // SAFETY: `set` is initialised; the old mask is not wanted.
        if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } == -1 {
            return Err(io::Error::last_os_error());
        }
        // A caller that ignores SIGCHLD would make the kernel reap init by itself,
        // and we would never hear that the container ended.
        // SAFETY: resets a disposition to its default; no handler is involved.
        unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
        // SAFETY: -1 asks for a new fd; `set` is initialised.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh fd that nothing else owns.
        Ok(SignalFd { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// The next pending signal, if any.
    pub fn next(&self) -> io::Result<Option<libc::c_int>> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reads at most `size` bytes into `info`, which has that size.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr() as *mut _, size) };
        if n == -1 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                _ => Err(err),
            };
        }
        // SAFETY: the kernel filled a whole signalfd_siginfo (reads are all or nothing).
        Ok(Some(unsafe { info.assume_init() }.ssi_signo as libc::c_int))
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn empty_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the whole set.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        set.assume_init()
    }
}

/// Sends `sig` to `pid`; a process already gone is not an error.
pub fn send(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(pid, sig) };
}
