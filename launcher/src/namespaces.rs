//! Cloning the container's first process into its new namespaces.

use std::io;

/// New user, PID, mount, UTS and IPC namespaces. The network stays the host's
/// unless `--net none` asks for a namespace of its own.
const NAMESPACES: u64 =
    (libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC)
        as u64;

/// Fork into new namespaces and run `child` there; it should exec or exit.
///
/// The caller must be single-threaded: like fork(2), only the calling thread
/// exists in the child, and `child` runs on a copy of the parent's memory.
pub fn clone_container(new_net: bool, child: impl FnOnce()) -> io::Result<libc::pid_t> {
    let flags = NAMESPACES | if new_net { libc::CLONE_NEWNET as u64 } else { 0 } | libc::SIGCHLD as u64;
    // SAFETY: clone without CLONE_VM and with a null stack behaves like fork:
    // the child continues on a private copy of this (single-threaded) process.
    // On x86_64 the raw argument order is flags, stack, parent_tid, child_tid, tls.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            child();
            // SAFETY: _exit ends the child without running the parent's atexit work.
            unsafe { libc::_exit(crate::status::RUNTIME_ERROR) }
        }
        pid => Ok(pid as libc::pid_t),
    }
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
