//! OCI hooks: programs the engine names in config.json, run by the runtime
//! at points of the container's life with its state on stdin.

use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::state::State;

#[derive(Clone, Debug, Default)]
pub struct Hook {
    pub path: String,
    /// argv, the program's name first (the spec's `args`).
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub timeout: Option<Duration>,
}

#[derive(Clone, Debug, Default)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

/// Runs `hooks` in order; the first failure ends the list with an error
/// naming the hook.
pub fn run(hooks: &[Hook], st: &State, point: &str) -> Result<(), String> {
    for (i, hook) in hooks.iter().enumerate() {
        let what = format!("hooks.{point}[{i}] {}", hook.path);
        run_one(hook, st.oci_json().to_string().as_bytes()).map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(())
}

/// fork + execve with the state on a pipe as stdin; waits for the hook
/// through a pidfd, so the timeout needs no timer. (std's Command would do,
/// at several times the code in the launcher's static binary.)
fn run_one(hook: &Hook, state: &[u8]) -> Result<(), String> {
    let cstr = |s: &str| CString::new(s).map_err(|_| format!("{s:?} contains a NUL byte"));
    let path = cstr(&hook.path)?;
    let args = hook.args.iter().map(|a| cstr(a)).collect::<Result<Vec<_>, _>>()?;
    let env = hook.env.iter().map(|a| cstr(a)).collect::<Result<Vec<_>, _>>()?;
    let argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let mut pipe = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", io::Error::last_os_error()));
    }
    // SAFETY: the fds were just made and are ours alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
    // SAFETY: the child only calls async-signal-safe functions (dup2,
    // execve, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above.
        unsafe {
            libc::dup2(read.as_raw_fd(), 0);
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    drop(read);
    // A hook that does not read its stdin must not stop us: EPIPE is fine.
    let _ = std::fs::File::from(write).write_all(state);
    // SAFETY: pidfd_open of our own child, which is not reaped yet.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    let timeout = hook.timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
    let mut pfd = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
    // SAFETY: polls one pollfd; a pidfd is readable once the child exited.
    let done = pidfd < 0 || unsafe { libc::poll(&mut pfd, 1, timeout) } == 1;
    if pidfd >= 0 {
        // SAFETY: closes the pidfd we opened.
        unsafe { libc::close(pidfd) };
    }
    if !done {
        // SAFETY: kill of our own unreaped child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child; writes the status into a local.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    match (done, crate::status::exit_code(status)) {
        (false, _) => Err("did not finish within its timeout: killed".into()),
        (true, 0) => Ok(()),
        (true, 127) => Err("not found or not executable (exit 127)".into()),
        (true, code) => Err(format!("failed with exit code {code}")),
    }
}
