//! The holder: between `create` and `start`, the one process that keeps the
//! launcher's end of init's channel, so that init, waiting for its `J`
//! record, neither starts the command nor reads "launcher gone" (EOF) when
//! `create` exits.
//!
//! Why a process and not a FIFO that init opens (runc's exec.fifo): init
//! stays as it is, a few KiB with one way to wait, and the channel that
//! carries init's errors is still read, so `start` can report a command that
//! did not start as `launcher run` does.
//!
//! `create` binds `ROOT/ID/start.sock` and forks the holder; `start`
//! connects, the holder sends the `J` record, reads the channel until init
//! has exec'd the command (EOF) or failed (an error record), replies, and
//! exits. When init dies first (`delete`, `kill`), the channel's EOF ends
//! the holder too, leaving init's last error in `ROOT/ID/init-error`.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::channel::{self, Message};

const SOCKET: &str = "start.sock";
const FAILURE: &str = "init-error";

/// A path to `dir/name` short enough for a socket address (108 bytes):
/// through /proc/self/fd and an open descriptor of `dir`.
fn socket_path(dir: &Path) -> Result<(std::fs::File, PathBuf), String> {
    let handle = std::fs::File::open(dir).map_err(|e| format!("open {}: {e}", dir.display()))?;
    let path = PathBuf::from(format!("/proc/self/fd/{}/{SOCKET}", handle.as_raw_fd()));
    Ok((handle, path))
}

pub fn listen(dir: &Path) -> Result<UnixListener, String> {
    let (_handle, path) = socket_path(dir)?;
    UnixListener::bind(&path).map_err(|e| format!("bind {}/{SOCKET}: {e}", dir.display()))
}

/// Forks the holder and returns in the parent (`create`), which then exits.
pub fn spawn(listener: UnixListener, channel: OwnedFd, join: Vec<u8>, dir: &Path) -> Result<(), String> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| format!("open /dev/null: {e}"))?;
    // SAFETY: fork in a single-threaded process; the child only uses what
    // it owns here and exits without returning.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork the holder: {}", std::io::Error::last_os_error())),
        0 => {
            // Out of the engine's session and off its pipes: the engine waits
            // for `create`'s stdout and stderr to close.
            // SAFETY: setsid and dup2 take no pointers.
            unsafe {
                libc::setsid();
                for fd in 0..3 {
                    libc::dup2(null.as_raw_fd(), fd);
                }
            }
            drop(null);
            // Nothing of the engine's but what we hold: it may wait for the
            // descriptors it gave `create` to close.
            let mut keep = [listener.as_raw_fd(), channel.as_raw_fd()];
            keep.sort();
            close_all_but(&keep);
            let code = match hold(&listener, &channel, &join) {
                Ok(()) => 0,
                // Where `delete` has removed the directory, nobody asks.
                Err(e) => std::fs::write(dir.join(FAILURE), e).map_or(0, |()| 1),
            };
            std::process::exit(code)
        }
        _ => Ok(()),
    }
}

/// Closes every descriptor from 3 up but those in `keep` (sorted).
fn close_all_but(keep: &[i32]) {
    let mut from = 3;
    for &fd in keep.iter().chain([&i32::MAX]) {
        if fd > from {
            // SAFETY: close_range takes no pointers; it closes [from, fd - 1].
            unsafe { libc::syscall(libc::SYS_close_range, from as u32, (fd - 1) as u32, 0u32) };
        }
        from = fd.saturating_add(1);
    }
}

/// The holder's life: wait for `start` or for init's end.
fn hold(listener: &UnixListener, channel: &OwnedFd, join: &[u8]) -> Result<(), String> {
    loop {
        let mut fds = [
            libc::pollfd { fd: listener.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: channel.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: polls the two pollfds we own.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            continue;
        }
        if fds[1].revents != 0 {
            // Before `start`, init only speaks to fail; then it exits.
            match channel::recv(channel) {
                Ok(Some(Message::Error { errno, text })) => {
                    return Err(super::lifecycle::init_error(errno, &text));
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Err("the container's init exited before `start`".into()),
                Err(e) => return Err(format!("read the container channel: {e}")),
            }
        }
        if fds[0].revents != 0 {
            let Ok((mut conn, _)) = listener.accept() else { continue };
            let mut byte = [0u8; 1];
            if conn.read_exact(&mut byte).is_err() {
                continue;
            }
            let outcome = release(channel, join);
            let reply = match &outcome {
                Ok(()) => "ok".to_string(),
                Err(e) => e.clone(),
            };
            let _ = conn.write_all(reply.as_bytes());
            return outcome;
        }
    }
}

/// Sends the `J` record and reads until init has exec'd the command.
fn release(channel: &OwnedFd, join: &[u8]) -> Result<(), String> {
    if let Err(e) = channel::send(channel.as_raw_fd(), join) {
        return Err(format!("release the container: {e}"));
    }
    let mut error = None;
    loop {
        match channel::recv(channel) {
            Ok(Some(Message::Error { errno, text })) => {
                error = Some(super::lifecycle::init_error(errno, &text))
            }
            Ok(Some(_)) => {}
            // Closed by the command's exec, or by init's end after an error.
            Ok(None) => return error.map_or(Ok(()), Err),
            Err(e) => return Err(format!("read the container channel: {e}")),
        }
    }
}

/// `start`'s side: tell the holder, and wait for its answer.
pub fn start(dir: &Path) -> Result<(), String> {
    let (_handle, path) = socket_path(dir)?;
    let mut conn = UnixStream::connect(&path).map_err(|e| {
        let why = failure(dir).unwrap_or_else(|| format!("its holder is gone ({e})"));
        format!("cannot start the container: {why}")
    })?;
    conn.write_all(b"s").map_err(|e| format!("start the container: {e}"))?;
    let mut reply = String::new();
    let _ = conn.read_to_string(&mut reply);
    match reply.as_str() {
        "ok" => Ok(()),
        "" => Err("start the container: the holder ended without an answer".into()),
        why => Err(why.to_string()),
    }
}

/// What ended init before `start`, if the holder recorded it.
pub fn failure(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(FAILURE)).ok()
}
