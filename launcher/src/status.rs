//! Exit statuses, docker's way.

/// The launcher itself failed (bad option, missing rootfs, set-up refused).
pub const RUNTIME_ERROR: i32 = 125;

/// The launcher's exit code for the init's wait status: its exit code, or
/// 128+N when it was killed by signal N (the init exits 128+N itself when the
/// command was killed, so both paths give docker's codes).
pub fn exit_code(wait_status: libc::c_int) -> i32 {
    if libc::WIFEXITED(wait_status) {
        libc::WEXITSTATUS(wait_status)
    } else if libc::WIFSIGNALED(wait_status) {
        128 + libc::WTERMSIG(wait_status)
    } else {
        RUNTIME_ERROR
    }
}

/// The step named when the cloned child cannot exec init (child.rs).
pub const INIT_EXEC_STEP: &str = "exec the init from its memfd";

/// What to do about a failed step reported from inside the container.
pub fn hint(step: &str, errno: i32) -> &'static str {
    if step == INIT_EXEC_STEP {
        // The launcher's own program, not the user's command, failed to start.
        return match errno {
            libc::ENOENT => "the kernel could not reach the launcher's memfd by /dev/fd/N nor /proc/self/fd/N: mount /proc on the host",
            libc::EACCES | libc::EPERM => "a security policy (SELinux, AppArmor, seccomp) refuses to exec a memfd: allow it for the launcher",
            libc::ENOEXEC => "this kernel cannot run the launcher's init: build the launcher for this machine's architecture",
            _ => "",
        };
    }
    match (step.split(' ').next().unwrap_or(""), errno) {
        ("exec", libc::ENOENT) => {
            "check the command's path inside the rootfs (PATH is searched for names without '/')"
        }
        ("exec", libc::EACCES) => "the file is not executable, or its filesystem is mounted noexec",
        ("exec", libc::ENOEXEC) => {
            "not a program for this machine (wrong architecture, or a script without #!)"
        }
        ("exec", libc::ENOTDIR) => "a part of the command's path is not a directory",
        ("mount", libc::EPERM | libc::EACCES) => {
            "the kernel refused a mount in the container's user namespace: run `launcher check`"
        }
        ("pivot_root", _) => {
            "the rootfs must be on a filesystem that allows pivot_root: run `launcher check`"
        }
        ("chdir", libc::ENOENT | libc::ENOTDIR) => "the directory does not exist in the rootfs",
        (_, libc::ENOSYS) => {
            "this kernel lacks a system call the launcher needs (Linux 5.10 or later): `launcher check` lists what is missing"
        }
        _ => "",
    }
}

/// The C library's text for an errno, without Rust's "(os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated static string.
    let text = unsafe { std::ffi::CStr::from_ptr(libc::strerror(errno)) };
    text.to_string_lossy().into_owned()
}

/// Prints one line on stderr, "launcher: " first. Errors are ignored: a closed
/// or broken stderr must not abort the launcher halfway through a cleanup.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "launcher: {line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_exec_of_init_does_not_blame_the_command() {
        let init = hint(INIT_EXEC_STEP, libc::ENOENT);
        assert!(init.contains("/proc/self/fd/N"), "{init}");
        assert!(!init.contains("command's path"), "{init}");
        assert!(hint("exec /bin/nope", libc::ENOENT).contains("command's path"));
        assert!(hint("mount /data", libc::ENOSYS).contains("Linux 5.10"));
    }
}
