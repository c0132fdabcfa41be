//! The cloned child's few steps before it becomes init: it is already in the
//! new namespaces, but must wait for its id maps (an exec without them would
//! drop every capability) and, on cgroup v1, for its cgroup.
//!
//! This runs in a fork of the launcher: no allocation, no locks, only syscalls
//! on memory prepared before the clone.

use std::ffi::{c_char, CString};
use std::os::fd::RawFd;

use crate::channel::{self, CHILD_FD, GO};
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

/// Set up fd 3, wait for the parent's go, exec init. Never returns.
pub fn exec_init(channel: RawFd, mut init: RawFd, cgroups: &[RawFd], cmd: &InitCommand) -> ! {
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
        let mut go = 0u8;
        if libc::read(CHILD_FD, &mut go as *mut u8 as *mut _, 1) != 1 || go != GO {
            // The launcher died or gave up; it reports why, if it can.
            libc::_exit(RUNTIME_ERROR);
        }
        // Join the container's v1 cgroups by writing "0" (ourselves) to each:
        // far cheaper than the parent moving us (see Cgroup::self_join_fds),
        // and still before anything of the container runs.
        for &fd in cgroups {
            if libc::write(fd, b"0".as_ptr() as *const _, 1) != 1 {
                let errno = *libc::__errno_location();
                channel::send_error(CHILD_FD, errno, &[b"join the container's cgroup"]);
                libc::_exit(RUNTIME_ERROR);
            }
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
