//! `-t`: the host terminal in raw mode, and the byte relay between it and the
//! pty master that init created inside the container and sent us.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, Once};

const STDIN: RawFd = 0;
const STDOUT: RawFd = 1;

/// The host terminal's mode, restored on drop: every exit path of the
/// launcher returns through the event loop (signals arrive via a signalfd),
/// so dropping is enough short of SIGKILL, and a panic hook covers panics
/// (they abort, so nothing is dropped then).
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

/// What the panic hook restores: set while a `RawMode` lives.
static RESTORE: Mutex<Option<(RawFd, libc::termios)>> = Mutex::new(None);

impl RawMode {
    /// Puts `fd` in raw mode if it is a terminal; `None` if it is not.
    pub fn enter(fd: RawFd) -> io::Result<Option<RawMode>> {
        let mut saved = MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills the termios it is given when it succeeds.
        if unsafe { libc::tcgetattr(fd, saved.as_mut_ptr()) } == -1 {
            return Ok(None);
        }
        // SAFETY: initialised by the successful tcgetattr above.
        let saved = unsafe { saved.assume_init() };
        let mut raw = saved;
        // SAFETY: cfmakeraw edits the struct in place; tcsetattr reads it.
        if unsafe {
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(fd, libc::TCSADRAIN, &raw)
        } == -1
        {
            return Err(io::Error::last_os_error());
        }
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if let Ok(Some((fd, saved))) = RESTORE.try_lock().as_deref() {
                    // SAFETY: restores a termios read from this same fd.
                    unsafe { libc::tcsetattr(*fd, libc::TCSADRAIN, saved) };
                }
                previous(info)
            }));
        });
        *RESTORE.lock().unwrap_or_else(|e| e.into_inner()) = Some((fd, saved));
        Ok(Some(RawMode { fd, saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        *RESTORE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        // SAFETY: restores the termios read from this same fd.
        unsafe { libc::tcsetattr(self.fd, libc::TCSADRAIN, &self.saved) };
    }
}

/// The host terminal's size (from stdin, else stdout), if there is one.
pub fn window_size() -> Option<libc::winsize> {
    [STDIN, STDOUT].into_iter().find_map(|fd| {
        let mut ws = MaybeUninit::<libc::winsize>::uninit();
        // SAFETY: TIOCGWINSZ fills a winsize when it succeeds.
        (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, ws.as_mut_ptr()) } == 0)
            // SAFETY: initialised by the successful ioctl.
            .then(|| unsafe { ws.assume_init() })
            .filter(|ws| ws.ws_row > 0 && ws.ws_col > 0)
    })
}

/// Copies bytes host terminal -> pty master and master -> host stdout, in
/// order and without loss: input is read only when the previous read has been
/// written out, so a container that stops reading stalls the typist, not us.
pub struct Relay {
    /// `None` once the container's side is gone (EIO), or once we hung it up
    /// because our stdout went away.
    master: Option<OwnedFd>,
    /// With `-t` but without `-i`, nothing is read from stdin (docker's way).
    stdin_open: bool,
    pending: Vec<u8>,
    _raw: Option<RawMode>,
}

const CHUNK: usize = 64 * 1024;

impl Relay {
    pub fn new(master: OwnedFd, interactive: bool) -> io::Result<Relay> {
        set_nonblocking(master.as_raw_fd())?;
        let raw = if interactive { RawMode::enter(STDIN)? } else { None };
        let relay = Relay { master: Some(master), stdin_open: interactive, pending: Vec::new(), _raw: raw };
        relay.resize();
        Ok(relay)
    }

    fn master_fd(&self) -> Option<RawFd> {
        self.master.as_ref().map(|m| m.as_raw_fd())
    }

    /// Follow the host terminal's size (on SIGWINCH); the kernel then signals
    /// the container's foreground job.
    pub fn resize(&self) {
        if let (Some(ws), Some(master)) = (window_size(), self.master_fd()) {
            // SAFETY: TIOCSWINSZ reads the winsize it is given.
            unsafe { libc::ioctl(master, libc::TIOCSWINSZ, &ws) };
        }
    }

    /// The fds to poll and for what, in the order `handle` expects them.
    pub fn poll_fds(&self) -> [libc::pollfd; 2] {
        let master = self.master_fd().unwrap_or(-1);
        let stdin_events = if self.stdin_open && self.pending.is_empty() { libc::POLLIN } else { 0 };
        let mut master_events = if master >= 0 { libc::POLLIN } else { 0 };
        if master >= 0 && !self.pending.is_empty() {
            master_events |= libc::POLLOUT;
        }
        [
            libc::pollfd { fd: if stdin_events != 0 { STDIN } else { -1 }, events: stdin_events, revents: 0 },
            libc::pollfd {
                fd: if master_events != 0 { master } else { -1 },
                events: master_events,
                revents: 0,
            },
        ]
    }

    pub fn handle(&mut self, fds: &[libc::pollfd; 2]) -> io::Result<()> {
        if fds[0].revents != 0 {
            let mut buf = vec![0u8; CHUNK];
            match read(STDIN, &mut buf) {
                Ok(0) => {
                    // The end of our input becomes the end of the container's:
                    // its terminal's EOF character, which a reader in canonical
                    // mode sees as end of file and a line editor as Ctrl-D.
                    self.stdin_open = false;
                    self.pending = vec![self.eof_char()];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.stdin_open = false,
                Ok(n) => {
                    buf.truncate(n);
                    self.pending = buf;
                }
            }
        }
        match self.master_fd() {
            Some(master) if !self.pending.is_empty() => match write(master, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                Err(_) => self.pending.clear(),
            },
            Some(_) => {}
            None => self.pending.clear(),
        }
        if fds[1].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            self.copy_output();
        }
        Ok(())
    }

    fn eof_char(&self) -> u8 {
        // SAFETY: an all-zero termios is valid; tcgetattr fills it on success.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let ret = match self.master_fd() {
            // SAFETY: as above; the master fd is ours.
            Some(master) => unsafe { libc::tcgetattr(master, &mut t) },
            None => -1,
        };
        if ret == 0 {
            t.c_cc[libc::VEOF]
        } else {
            4 // ^D, the default
        }
    }

    /// Everything the container wrote that is still in the pty, to stdout.
    pub fn drain(&mut self) -> io::Result<()> {
        self.copy_output();
        Ok(())
    }

    fn copy_output(&mut self) {
        let mut buf = [0u8; CHUNK];
        while let Some(master) = self.master_fd() {
            match read(master, &mut buf) {
                Ok(0) => self.master = None,
                Ok(n) => {
                    if write_all(STDOUT, &buf[..n]).is_err() {
                        // Our terminal or pipe is gone (`| head`, a closed
                        // window): hang up the container's terminal as a real
                        // one would, so its session gets SIGHUP and ends.
                        self.master = None;
                        self.stdin_open = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // EIO: every slave fd is closed, the container's side is gone.
                Err(_) => self.master = None,
            }
        }
    }
}

/// Writes all of `buf`, waiting when `fd` is non-blocking and full (stdout
/// may share its file description with a terminal someone made non-blocking).
fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match write(fd, buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut pfd = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
                // SAFETY: polls one pollfd we own.
                unsafe { libc::poll(&mut pfd, 1, -1) };
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with integer arguments on an fd we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags == -1 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: reads at most buf.len() bytes into buf.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut _, buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: writes at most buf.len() initialised bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr() as *const _, buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
