//! A real terminal for the launcher under test: a pty pair opened here, the
//! launcher's stdio on the slave, and the slave its controlling terminal, so
//! the kernel treats it exactly as a login shell's terminal (SIGWINCH on
//! resize, job control, termios it must restore).
//!
//! Included with `#[path = "common/pty.rs"] mod pty;` next to `mod common;`.

#![allow(dead_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long any one expected piece of output may take: generous, because a
/// test that waits for text only pays this when it is about to fail.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Everything the launcher wrote so far, and whether the master reached EOF.
#[derive(Default)]
struct Transcript {
    bytes: Vec<u8>,
    closed: bool,
}

/// A launcher running on a pty of ours.
pub struct Session {
    master: OwnedFd,
    /// Kept open so the terminal outlives the launcher: its termios can be
    /// read after the launcher exits, and reads never see EIO before then.
    pub slave: OwnedFd,
    pub child: Child,
    /// The terminal's attributes before the launcher started.
    pub before: libc::termios,
    transcript: Arc<(Mutex<Transcript>, Condvar)>,
    /// Where in the cleaned transcript the next `expect` starts looking.
    cursor: usize,
}

/// Opens a pty pair of the given size.
pub fn open(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty writes two fds; name and termios pointers may be null.
    let ret = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(ret, 0, "openpty: {}", io::Error::last_os_error());
    // SAFETY: fresh fds owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// The terminal's attributes, to compare before and after.
pub fn termios(fd: RawFd) -> libc::termios {
    // Zeroed, not uninit: the kernel fills 19 control characters of libc's
    // 32, and the rest must compare equal.
    // SAFETY: an all-zero termios is a valid value.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr fills the struct it is given.
    let ret = unsafe { libc::tcgetattr(fd, &mut t) };
    assert_eq!(ret, 0, "tcgetattr: {}", io::Error::last_os_error());
    t
}

/// termios has no PartialEq in libc: compare the fields that matter.
pub fn same_termios(a: &libc::termios, b: &libc::termios) -> bool {
    a.c_iflag == b.c_iflag
        && a.c_oflag == b.c_oflag
        && a.c_cflag == b.c_cflag
        && a.c_lflag == b.c_lflag
        && a.c_line == b.c_line
        && a.c_cc == b.c_cc
        // SAFETY: cfget*speed only read the structs.
        && unsafe { libc::cfgetispeed(a) == libc::cfgetispeed(b) && libc::cfgetospeed(a) == libc::cfgetospeed(b) }
}

pub fn describe(t: &libc::termios) -> String {
    format!(
        "iflag {:#o} oflag {:#o} cflag {:#o} lflag {:#o} cc {:?}",
        t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc
    )
}

/// Output as a person reads it: no carriage returns, no escape sequences.
pub fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {}
            '\x1b' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ST.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                // Two-byte sequences (ESC =, ESC 7, ...) and charset selection.
                Some('(' | ')') => {
                    chars.next();
                }
                _ => {}
            },
            _ => out.push(c),
        }
    }
    out
}

impl Session {
    /// Spawns `cmd` with a fresh `rows`x`cols` pty as stdin, stdout, stderr
    /// and controlling terminal.
    pub fn spawn(cmd: &mut Command, rows: u16, cols: u16) -> Session {
        Session::spawn_with_stderr(cmd, rows, cols, None)
    }

    /// The same, with stderr elsewhere when `stderr` is given.
    pub fn spawn_with_stderr(cmd: &mut Command, rows: u16, cols: u16, stderr: Option<Stdio>) -> Session {
        let (master, slave) = open(rows, cols);
        let before = termios(slave.as_raw_fd());
        let stdio = || Stdio::from(slave.try_clone().expect("dup the pty slave"));
        cmd.stdin(stdio()).stdout(stdio()).stderr(stderr.unwrap_or_else(stdio));
        // SAFETY: setsid and ioctl are async-signal-safe; nothing allocates.
        unsafe {
            cmd.pre_exec(|| {
                // As from a login shell, whatever ran the tests: an inherited
                // SIG_IGN (say, SIGINT under `cargo test &`) would otherwise
                // reach the container (see signals.rs) and make Ctrl-C moot.
                for sig in 1..32 {
                    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                        libc::signal(sig, libc::SIG_DFL);
                    }
                }
                if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn the launcher on a pty");
        let transcript = Arc::new((Mutex::new(Transcript::default()), Condvar::new()));
        // The launcher blocks writing to its terminal if nobody reads it, so
        // a thread drains the master the whole time, whatever the test does.
        {
            let fd = master.try_clone().expect("dup the pty master");
            let transcript = Arc::clone(&transcript);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    // SAFETY: reads at most buf.len() bytes into buf.
                    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr() as *mut _, buf.len()) };
                    let (lock, cvar) = &*transcript;
                    let mut t = lock.lock().unwrap();
                    if n > 0 {
                        t.bytes.extend_from_slice(&buf[..n as usize]);
                    } else if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                        // EIO: the slave is closed everywhere (we drop ours last).
                        t.closed = true;
                        cvar.notify_all();
                        return;
                    }
                    cvar.notify_all();
                }
            });
        }
        Session { master, slave, child, before, transcript, cursor: 0 }
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Types `bytes` on the terminal, all of them (blocking when the
    /// terminal's input queue is full, as a real paste would).
    pub fn send(&self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            // SAFETY: writes at most rest.len() initialised bytes.
            let n = unsafe { libc::write(self.master.as_raw_fd(), rest.as_ptr() as *const _, rest.len()) };
            if n < 0 {
                let err = io::Error::last_os_error();
                assert_eq!(err.kind(), io::ErrorKind::Interrupted, "write to the pty master: {err}");
                continue;
            }
            rest = &rest[n as usize..];
        }
    }

    pub fn line(&self, text: &str) {
        self.send(format!("{text}\n").as_bytes());
    }

    /// The bytes exactly as the terminal got them so far.
    pub fn raw(&self) -> Vec<u8> {
        self.transcript.0.lock().unwrap().bytes.clone()
    }

    /// The whole cleaned transcript so far.
    pub fn text(&self) -> String {
        clean(&self.transcript.0.lock().unwrap().bytes)
    }

    /// Waits until `needle` appears after the previous match; returns the
    /// cleaned text from the previous match to the end of this one.
    #[track_caller]
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, PATIENCE)
    }

    #[track_caller]
    pub fn expect_within(&mut self, needle: &str, patience: Duration) -> String {
        match self.find(needle, patience) {
            Some(text) => text,
            None => panic!(
                "no {needle:?} on the terminal within {patience:?}; after the last match it shows:\n{}",
                self.text().get(self.cursor..).unwrap_or("")
            ),
        }
    }

    /// Like `expect`, but `None` on timeout.
    pub fn find(&mut self, needle: &str, patience: Duration) -> Option<String> {
        let deadline = Instant::now() + patience;
        let (lock, cvar) = &*self.transcript;
        let mut t = lock.lock().unwrap();
        loop {
            let text = clean(&t.bytes);
            if let Some(at) = text.get(self.cursor..).and_then(|rest| rest.find(needle)) {
                let end = self.cursor + at + needle.len();
                let found = text[self.cursor..end].to_string();
                self.cursor = end;
                return Some(found);
            }
            let now = Instant::now();
            if t.closed || now >= deadline {
                return None;
            }
            t = cvar.wait_timeout(t, deadline - now).unwrap().0;
        }
    }

    /// Waits for the launcher to exit (killing it after `patience`, which
    /// fails the test).
    #[track_caller]
    pub fn wait(&mut self, patience: Duration) -> ExitStatus {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the launcher did not exit within {patience:?}; terminal:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Resizes the terminal; the kernel sends SIGWINCH to its foreground
    /// process group, the launcher.
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ reads the winsize it is given.
        let ret = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(ret, 0, "TIOCSWINSZ: {}", io::Error::last_os_error());
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill has no memory arguments.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0, "kill {sig}: {}", io::Error::last_os_error());
    }

    pub fn termios(&self) -> libc::termios {
        termios(self.slave.as_raw_fd())
    }

    /// Fails unless the terminal's attributes are what they were before the launcher ran.
    #[track_caller]
    pub fn assert_restored(&self) {
        let now = self.termios();
        assert!(
            same_termios(&self.before, &now),
            "the terminal was not restored:\nbefore: {}\nafter:  {}\nterminal:\n{}",
            describe(&self.before),
            describe(&now),
            self.text()
        );
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The reader thread ends on its own with EIO once our slave (dropped
        // with self) was the last one; it is not joined, so a leaked slave
        // elsewhere cannot hang the test.
    }
}
