//! Cloning the container's first process into its new namespaces (and cgroup).

use std::io;
use std::os::fd::RawFd;

/// New user, PID, mount, UTS and IPC namespaces. The network stays the host's
/// unless `--net none` asks for a namespace of its own.
const NAMESPACES: u64 =
    (libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC)
        as u64;

/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts life inside the cgroup,
/// so it never runs outside its limits and no attach write is needed.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of clone3(2), up to and including `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// The child as the parent sees it.
pub struct Cloned {
    pub pid: libc::pid_t,
    /// True when the kernel already put the child into the cgroup (clone3 INTO_CGROUP).
    pub in_cgroup: bool,
}

/// Fork into new namespaces and run `child` there; it should exec or exit.
///
/// The caller must be single-threaded: like fork(2), only the calling thread
/// exists in the child, and `child` runs on a copy of the parent's memory.
pub fn clone_container(new_net: bool, cgroup: Option<RawFd>, child: impl FnOnce()) -> io::Result<Cloned> {
    let namespaces = NAMESPACES | if new_net { libc::CLONE_NEWNET as u64 } else { 0 };
    let mut args = CloneArgs { flags: namespaces, exit_signal: libc::SIGCHLD as u64, ..Default::default() };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: clone3 without CLONE_VM and with a null stack behaves like fork:
    // the child continues on a private copy of this (single-threaded) process.
    // `args` outlives the call and its size is passed alongside.
    let ret = unsafe {
        libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>())
    };
    let (ret, in_cgroup) = if ret == -1 && errno() == libc::ENOSYS {
        // Older kernel, or a seccomp profile that hides clone3: classic clone,
        // and the caller attaches the child to its cgroup by pid instead.
        // SAFETY: as above: fork semantics (no CLONE_VM, null stack); on x86_64
        // the raw argument order is flags, stack, parent_tid, child_tid, tls.
        let ret = unsafe {
            libc::syscall(libc::SYS_clone, namespaces | libc::SIGCHLD as u64, 0usize, 0usize, 0usize, 0usize)
        };
        (ret, false)
    } else {
        (ret, cgroup.is_some())
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            child();
            // SAFETY: _exit ends the child without running the parent's atexit work.
            unsafe { libc::_exit(crate::status::RUNTIME_ERROR) }
        }
        pid => Ok(Cloned { pid: pid as libc::pid_t, in_cgroup }),
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Why the kernel may refuse a new user namespace, for the error message.
pub fn userns_blocker() -> String {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "unprivileged user namespaces are disabled: run `sudo sysctl kernel.unprivileged_userns_clone=1`, or run as root".into();
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): run `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`, add an AppArmor profile allowing `userns` for launcher, or run as root".into();
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user namespaces are disabled (user.max_user_namespaces=0): run `sudo sysctl user.max_user_namespaces=15000`".into();
    }
    "the kernel or a security policy (seccomp, SELinux, a container you are in) refused new namespaces: run `launcher check` to see what this host supports".into()
}
