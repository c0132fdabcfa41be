//! Cloning the container's first process into its new namespaces.

use std::cell::UnsafeCell;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// New user, PID, mount, UTS and IPC namespaces. The network stays the host's
/// unless `--net none` asks for a namespace of its own.
const NAMESPACES: u64 =
    (libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC)
        as u64;

/// The cloned child's stack. The child shares the launcher's memory, so it
/// needs a stack of its own; one container per launcher, so one stack.
#[repr(C, align(16))]
struct ChildStack(UnsafeCell<[u8; CHILD_STACK_SIZE]>);
const CHILD_STACK_SIZE: usize = 64 << 10;
// SAFETY: only the one cloned child ever uses the stack (STACK_TAKEN).
unsafe impl Sync for ChildStack {}
static CHILD_STACK: ChildStack = ChildStack(UnsafeCell::new([0; CHILD_STACK_SIZE]));
static STACK_TAKEN: AtomicBool = AtomicBool::new(false);

/// Whether the container got a user namespace of its own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UserNs {
    /// The usual: root inside is the caller (or its range) outside.
    Own,
    /// The kernel refuses new user namespaces (user.max_user_namespaces=0:
    /// ENOSPC; built without CONFIG_USER_NS: EINVAL) and the caller is root:
    /// the container runs as the host's root, held in by docker's capability
    /// set, seccomp and no_new_privs, as docker and runc run rootful ones.
    HostRoot,
}

/// Clone a process into new namespaces that runs `child`, which must exec or
/// exit, and return its pid. Call it once per process.
///
/// Where the kernel refuses a user namespace and we are root, the clone is
/// tried once more without one (UserNs::HostRoot). Deciding it here rather
/// than up front costs the common path nothing: no sysctl is read before a
/// clone that works.
///
/// The child shares this process's memory (CLONE_VM, as posix_spawn does):
/// copying the launcher's page tables, and the copy-on-write faults the
/// launcher would then take on every page it writes, cost more than all the
/// child does before it execs init. So `child` must write nothing but its own
/// stack (no allocation, no errno: see child.rs), and what it reads must stay
/// alive and unchanged until it has exec'd or died: the caller kills and reaps
/// it on every early return (run.rs, `Container`) before that memory goes. Its
/// descriptors and signal handlers are its own copies (no CLONE_FILES or
/// CLONE_SIGHAND). The caller must be single-threaded.
///
/// `new_user` false (only for root): no user namespace is asked for at all,
/// as an OCI config without one wants (UserNs::HostRoot).
pub fn clone_container<F: FnOnce()>(
    new_net: bool,
    new_user: bool,
    child: F,
) -> io::Result<(libc::pid_t, UserNs)> {
    extern "C" fn start<F: FnOnce()>(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` points at the `F` written at the top of the child's
        // stack, which nothing else touches; it is moved out once, here.
        let child = unsafe { std::ptr::read(arg as *mut F) };
        child();
        // Should `child` return, libc's clone ends the process with this status.
        crate::status::RUNTIME_ERROR
    }
    if STACK_TAKEN.swap(true, Ordering::Relaxed) {
        return Err(io::Error::other("one container per launcher process: the child stack is taken"));
    }
    let mut namespaces = NAMESPACES | if new_net { libc::CLONE_NEWNET as u64 } else { 0 };
    if !new_user {
        namespaces &= !(libc::CLONE_NEWUSER as u64);
    }
    let flags = (namespaces | libc::CLONE_VM as u64) as libc::c_int | libc::SIGCHLD;
    // `child` goes to the top of the child's stack, not in this frame, which
    // is gone once we return while the child may still be reading it.
    let room = std::mem::size_of::<F>().next_multiple_of(16);
    assert!(
        std::mem::align_of::<F>() <= 16 && room <= CHILD_STACK_SIZE / 2,
        "closure too large for the child stack"
    );
    // SAFETY: the stack is 16-byte aligned and used by this one child only;
    // `child` is written below its top, 16-byte aligned, and the child's stack
    // starts below that. `start` runs it there; it execs or exits. The
    // child's constraints are the caller's, as documented above.
    let slot = unsafe {
        let slot = CHILD_STACK.0.get().cast::<u8>().add(CHILD_STACK_SIZE - room);
        std::ptr::write(slot.cast::<F>(), child);
        slot
    };
    // SAFETY: as above. A clone that failed started no child, so the closure
    // is still in its slot, unread, for the second try.
    let clone = |flags| unsafe { libc::clone(start::<F>, slot.cast(), flags, slot.cast()) };
    let pid = clone(flags);
    if pid != -1 {
        return Ok((pid, if new_user { UserNs::Own } else { UserNs::HostRoot }));
    }
    let err = io::Error::last_os_error();
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root && userns_refused(&err) {
        match clone(flags & !libc::CLONE_NEWUSER) {
            -1 => return Err(io::Error::last_os_error()),
            pid => return Ok((pid, UserNs::HostRoot)),
        }
    }
    Err(err)
}

/// Enters the namespace at `path` (setns), e.g. the network namespace an
/// engine made for the container, which init then inherits.
pub fn enter(nstype: libc::c_int, path: &std::path::Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("open namespace {}: {e}", path.display()))?;
    // SAFETY: setns on an fd we own; the kernel checks it is of that type.
    if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), nstype) } != 0 {
        return Err(format!("join namespace {}: {}", path.display(), io::Error::last_os_error()));
    }
    Ok(())
}

/// The errors of a kernel that makes no user namespaces at all, for anyone:
/// ENOSPC under user.max_user_namespaces=0 (or its count used up), EINVAL
/// when built without CONFIG_USER_NS. EPERM (a policy that singles out the
/// caller, such as a seccomp filter) is no such kernel.
pub fn userns_refused(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOSPC | libc::EINVAL))
}

/// Why the kernel may refuse a new user namespace, for the error message.
pub fn userns_blocker() -> String {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    if !std::path::Path::new("/proc/self/ns/user").exists() {
        return "rootless containers need user namespaces, and this kernel is built without them (CONFIG_USER_NS): use a kernel with CONFIG_USER_NS=y, or run as root".into();
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return "unprivileged user namespaces are disabled: run `sudo sysctl kernel.unprivileged_userns_clone=1`, or run as root".into();
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): run `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`, add an AppArmor profile allowing `userns` for launcher, or run as root".into();
    }
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "rootless containers need user namespaces, and this kernel has them turned off (user.max_user_namespaces=0): enable them with `sudo sysctl -w user.max_user_namespaces=15000`, or run as root".into();
    }
    "the kernel or a security policy (seccomp, SELinux, a container you are in) refused new namespaces: run `launcher check` to see what this host supports".into()
}
