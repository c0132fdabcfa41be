//! The channel between the launcher and the container's side (the cloned child,
//! then init): a SOCK_SEQPACKET socketpair, one message per record. README's
//! "How it works" describes the records.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The fd number the child and init expect their end on.
pub const CHILD_FD: RawFd = 3;
/// Launcher to init: the container's cgroups are made; the record carries one
/// write-only fd per hierarchy for init to join by (the config's JOIN_CGROUP
/// flag says one comes), and the ops of the container's view of its cgroup.
pub const JOIN: u8 = b'J';
/// The most fds init takes in one record (init/src/sys.rs, MAX_FDS).
const MAX_FDS: usize = 4;
const ERROR: u8 = b'E';
const CONFIG: u8 = b'C';
/// Bytes of the config record's fixed head (init/src/harden.rs, `Head`).
const CONFIG_HEAD: usize = 32;
const PTY: u8 = b'P';
const TRACE: u8 = b'T';

/// A record from the container's side.
pub enum Message {
    /// A step failed: `text` names it ("mount /proc"), `errno` says why (0: no errno).
    Error { errno: i32, text: String },
    /// The pty master created inside the container (`-t`).
    Pty(OwnedFd),
    /// `--trace`: init's CLOCK_MONOTONIC stamps, in ns, by phase (see trace.rs).
    Trace(Vec<u64>),
}

/// The config record for init (README, "The config record"): everything but
/// the command, which init takes as its own arguments (`init -- CMD ARGS`).
pub struct Config<'a> {
    pub caps: u64,
    pub no_new_privs: bool,
    /// A seccomp BPF program, 8 bytes per instruction, or empty.
    pub filter: &'a [u8],
    pub loopback_up: bool,
    /// Allocate a pty of this size (rows, columns; 0 when unknown).
    pub tty: Option<(u16, u16)>,
    pub trace: bool,
    /// A `J` record with the container's cgroups comes before the command.
    pub join_cgroup: bool,
    /// The command's user; None: it stays root with init's groups.
    pub user: Option<&'a crate::idmap::CommandUser>,
    pub rootfs: &'a [u8],
    pub hostname: &'a str,
    pub workdir: &'a str,
    pub ops: &'a [crate::mounts::Op],
}

impl Config<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let flags = 1
            | (self.no_new_privs as u32) << 1
            | (!self.filter.is_empty() as u32) << 2
            | (self.loopback_up as u32) << 3
            | (self.tty.is_some() as u32) << 4
            | (self.trace as u32) << 5
            | (self.join_cgroup as u32) << 6
            | (self.user.is_some() as u32) << 7;
        let (rows, cols) = self.tty.unwrap_or((0, 0));
        let (uid, gid, groups) = self.user.map_or((0, 0, &[][..]), |u| (u.uid, u.gid, &u.groups[..]));
        let group_count =
            u16::try_from(groups.len()).expect("IdMap::command_user allows at most MAX_GROUPS groups");
        // The head: init reads it in place, each field at its natural alignment.
        let mut out = vec![CONFIG, 0];
        out.extend_from_slice(&group_count.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&self.caps.to_le_bytes());
        out.extend_from_slice(&uid.to_le_bytes());
        out.extend_from_slice(&gid.to_le_bytes());
        // A struct winsize: rows, columns, and the pixel sizes nobody uses.
        for n in [rows, cols, 0, 0] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        debug_assert_eq!(out.len(), CONFIG_HEAD);
        for group in groups {
            out.extend_from_slice(&group.to_le_bytes());
        }
        for text in [self.rootfs, self.hostname.as_bytes(), self.workdir.as_bytes()] {
            out.extend_from_slice(text);
            out.push(0);
        }
        out.extend_from_slice(&((self.filter.len() / 8) as u16).to_le_bytes());
        out.extend_from_slice(self.filter);
        encode_ops(self.ops, &mut out);
        out
    }
}

/// The `J` record's bytes: the tag, then the ops that show the container its
/// cgroup (run by init once it is in its cgroup namespace).
pub fn join_record(ops: &[crate::mounts::Op]) -> Vec<u8> {
    let mut out = vec![JOIN];
    encode_ops(ops, &mut out);
    out
}

fn encode_ops(ops: &[crate::mounts::Op], out: &mut Vec<u8>) {
    out.extend_from_slice(&(ops.len() as u16).to_le_bytes());
    for op in ops {
        op.encode(out);
    }
}

/// Sends one whole record.
pub fn send(fd: RawFd, record: &[u8]) -> io::Result<()> {
    // SAFETY: writes record.len() initialised bytes.
    let n = unsafe { libc::write(fd, record.as_ptr() as *const _, record.len()) };
    if n as usize != record.len() {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `record` with `fds` attached (SCM_RIGHTS).
pub fn send_fds(fd: RawFd, record: &[u8], fds: &[RawFd]) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::other(format!("{} fds in one record, init takes {MAX_FDS}", fds.len())));
    }
    let data_len = std::mem::size_of_val(fds) as u32;
    // Room for CMSG_SPACE(MAX_FDS ints), aligned as cmsghdr wants.
    let mut control = [0u64; 2 + MAX_FDS / 2];
    let mut iov = libc::iovec { iov_base: record.as_ptr() as *mut _, iov_len: record.len() };
    // SAFETY: an all-zero msghdr is valid; its pointers are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr() as *mut _;
        // SAFETY: msg_control points at `control`, which holds CMSG_SPACE(data_len)
        // bytes (fds.len() <= MAX_FDS), so the first header and its data fit.
        unsafe {
            msg.msg_controllen = libc::CMSG_SPACE(data_len) as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(data_len) as _;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg) as *mut RawFd, fds.len());
        }
    }
    // SAFETY: msg and what it points at (tag, control) live across the call;
    // the kernel only reads them.
    let sent = unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) };
    if sent != record.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Returns (launcher's end, container's end), both close-on-exec.
pub fn pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array it is given, which is large enough.
    let ret = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Builds an error record into `buf` (on the stack: the cloned child must not
/// allocate) and returns its length.
pub fn error_record(buf: &mut [u8; 512], errno: i32, parts: &[&[u8]]) -> usize {
    buf[0] = ERROR;
    buf[1..5].copy_from_slice(&(errno as u32).to_le_bytes());
    let mut len = 5;
    for part in parts {
        let n = part.len().min(buf.len() - len);
        buf[len..len + n].copy_from_slice(&part[..n]);
        len += n;
    }
    len
}

/// Receives one record; `Ok(None)` at EOF (every copy of the container's end is
/// closed: the command's exec succeeded, or the container is gone).
pub fn recv(fd: &OwnedFd) -> io::Result<Option<Message>> {
    let mut data = [0u8; 4096];
    // Room for one SCM_RIGHTS fd, aligned as cmsghdr wants.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec { iov_base: data.as_mut_ptr() as *mut _, iov_len: data.len() };
    // SAFETY: an all-zero msghdr is valid; its pointers are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut _;
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: msg points at buffers that live across the call, sized as declared.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n;
        }
        let err = io::Error::last_os_error();
        // The other end closed with our records unread (init died before it
        // read the `J` record). The kernel reports that once, ahead of the
        // records still queued for us, such as init's last error: read on.
        if err.raw_os_error() != Some(libc::ECONNRESET) {
            return Err(err);
        }
    };
    let received_fd = take_fd(&msg);
    let data = &data[..n as usize];
    match data.first() {
        None => Ok(None),
        Some(&PTY) => match received_fd {
            Some(fd) => Ok(Some(Message::Pty(fd))),
            None => Err(io::Error::other("pty record without a file descriptor")),
        },
        Some(&ERROR) if data.len() >= 5 => {
            let errno = u32::from_le_bytes(data[1..5].try_into().unwrap()) as i32;
            let text = String::from_utf8_lossy(&data[5..]).into_owned();
            Ok(Some(Message::Error { errno, text }))
        }
        Some(&TRACE) if data.len() % 8 == 1 => Ok(Some(Message::Trace(
            data[1..].chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect(),
        ))),
        Some(&TRACE) => {
            Err(io::Error::other(format!("trace record of {} bytes: not 1 + 8 per stamp", data.len())))
        }
        Some(other) => Err(io::Error::other(format!("unknown record {other:#x} from the container"))),
    }
}

fn take_fd(msg: &libc::msghdr) -> Option<OwnedFd> {
    // SAFETY: CMSG_FIRSTHDR/CMSG_DATA walk the control buffer that recvmsg just
    // filled, within msg_controllen; the kernel put an SCM_RIGHTS fd there only
    // if the header says so, and that fd is now ours.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(msg);
        if cmsg.is_null() || (*cmsg).cmsg_level != libc::SOL_SOCKET || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return None;
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const RawFd);
        Some(OwnedFd::from_raw_fd(fd))
    }
}
