//! `launcher exec`: a new process in a running container, with the
//! container's namespaces, cgroup and seccomp filter and the process's own
//! user, capabilities and limits (what `podman exec` and `ctr task exec`
//! call).
//!
//! Three processes, so that the launcher never leaves the host's namespaces
//! (the pid file, the console socket and the engine's log stay reachable by
//! path, and signals keep their meaning):
//!
//! - the launcher (P) reads the state, opens init by pidfd, checks that it
//!   is the same process (start time), and becomes a child subreaper;
//! - a helper (C1) joins the container's cgroups, enters its namespaces in
//!   one `setns(pidfd, ...)` (only the types that differ from ours: a
//!   rootless caller could not re-enter the host's network namespace from
//!   the container's user namespace), forks, reports the child's pid and
//!   exits: a new PID namespace applies only to children;
//! - the child (C2), now P's, waits until P has written the pid file, then
//!   makes the pty, sets limits, user, capabilities, no_new_privs and the
//!   filter, and execs. Its end of the channel to P is close-on-exec: P
//!   learns that the exec happened from the channel's end, and anything that
//!   failed before from one message on it.
//!
//! Every byte here counts against the launcher's size budget: errors are
//! built in few places, from static step names and errno.

use std::ffi::CString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::process::{self, Process};
use super::state::{self, State, Status};
use super::{Globals, Parsed};
use crate::signals::{self, SignalFd};
use crate::status;

/// runc's `exec` options.
#[derive(Default)]
pub struct ExecArgs {
    /// The runtime-spec's process JSON to run (`--process`, `-p`).
    pub process: Option<String>,
    pub tty: bool,
    pub detach: bool,
    pub pid_file: Option<String>,
    pub console_socket: Option<String>,
    pub cwd: Option<String>,
    /// KEY=VALUE, in order.
    pub env: Vec<String>,
    /// UID[:GID].
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    /// Added to the bounding, effective and permitted sets.
    pub cap: Vec<String>,
    pub no_new_privs: bool,
    /// fds 3 to 3+N-1 are passed on.
    pub preserve_fds: u32,
    /// --apparmor or --process-label given: refused where that module is on.
    pub label: bool,
    pub id: String,
    /// The command and its arguments, without --process.
    pub command: Vec<String>,
}

/// runc's options with a value, then its switches; the index picks the field.
const OPTIONS: &[&str] = &[
    "--process",
    "-p",
    "--pid-file",
    "--console-socket",
    "--cwd",
    "--env",
    "-e",
    "--user",
    "-u",
    "--additional-gids",
    "-g",
    "--cap",
    "-c",
    "--preserve-fds",
    "--process-label",
    "--apparmor",
    "--cgroup",
    "--tty",
    "-t",
    "--detach",
    "-d",
    "--no-new-privs",
    "--ignore-paused",
];
const SWITCHES: usize = 17;

impl ExecArgs {
    /// `exec [OPTIONS] ID [CMD ARGS...]`, after the verb.
    pub fn parse(args: &[String]) -> Result<ExecArgs, String> {
        let parsed = Parsed::new("exec", args, &OPTIONS[..SWITCHES], &OPTIONS[SWITCHES..])?;
        let mut a = ExecArgs { id: parsed.id("exec")?.to_string(), ..ExecArgs::default() };
        a.command = parsed.positional[1..].to_vec();
        for (name, value) in parsed.options {
            let v = value.unwrap_or_default();
            match OPTIONS.iter().position(|o| *o == name).unwrap_or(usize::MAX) {
                0 | 1 => a.process = Some(v),
                2 => a.pid_file = Some(v),
                3 => a.console_socket = Some(v),
                4 => a.cwd = Some(v),
                5 | 6 => a.env.push(v),
                7 | 8 => a.user = Some(v),
                9 | 10 => a.additional_gids.push(number("-g", &v)?),
                11 | 12 => a.cap.push(v),
                13 => a.preserve_fds = number("--preserve-fds", &v)?,
                14 | 15 => a.label = true,
                16 => {
                    return Err(
                        "exec --cgroup: the process joins the container's own cgroup, not a sub-cgroup"
                            .into(),
                    )
                }
                17 | 18 => a.tty = true,
                19 | 20 => a.detach = true,
                21 => a.no_new_privs = true,
                // --ignore-paused: no container is ever paused here.
                _ => {}
            }
        }
        Ok(a)
    }
}

fn number(option: &str, v: &str) -> Result<u32, String> {
    v.parse().map_err(|_| format!("exec {option} {v:?}: must be a number 0 to 4294967295"))
}

/// What the child needs: the process, the filter, the command as C strings
/// (made before any change of credentials, so nothing allocates under the
/// filter) and the console socket.
struct Setup<'a> {
    process: &'a Process,
    filter: Option<&'a [libc::sock_filter]>,
    /// Each place to try, in order: the path itself, or each PATH entry.
    candidates: Vec<CString>,
    argv: Vec<CString>,
    env: Vec<CString>,
    console: Option<RawFd>,
}

/// Runs `args` in container `args.id`; the exit code to exit with (the
/// process's own, 128+N for signal N, 0 at once with --detach; 126/127 when
/// it cannot be executed, reported as errors are, in the words engines look
/// for).
pub fn exec(globals: &Globals, args: ExecArgs) -> Result<i32, String> {
    // The lock is held only while reading: the process may run for long.
    let (container, filter) = {
        let dir = state::Dir::open(&globals.root, &args.id)?;
        (dir.load()?, read_filter(&dir.path.join("seccomp.bpf"))?)
    };
    match container.status() {
        Status::Running => {}
        // init has not yet made the container's root and mounts: a process
        // entering now would see the host's.
        Status::Created => {
            return Err(format!("container {} is created but not started: `start` it first", args.id))
        }
        Status::Stopped => return Err(stopped(&args.id)),
    }
    close_on_exec_from(3 + args.preserve_fds)?;
    let process = process_for(&args, &container)?;
    let console = match (&args.console_socket, process.terminal) {
        (Some(path), true) => Some(
            UnixStream::connect(path)
                .map_err(|e| format!("exec: connect to the console socket {path}: {e}"))?,
        ),
        (None, false) => None,
        _ => return Err("exec: --tty (or \"terminal\": true) and --console-socket SOCKET go together".into()),
    };
    if process.args.iter().chain(&process.env).any(|s| s.contains('\0')) {
        return Err("exec: an argument or environment entry holds a NUL byte".into());
    }
    // No NUL inside, checked above.
    let c = |s: &str| CString::new(s).unwrap_or_default();
    let argv: Vec<CString> = process.args.iter().map(|a| c(a)).collect();
    let env: Vec<CString> = process.env.iter().map(|e| c(e)).collect();
    let name = &process.args[0];
    let candidates = if name.contains('/') {
        vec![argv[0].clone()]
    } else {
        // execvpe's search, in the process's own PATH, not the launcher's.
        let path = process
            .env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':').map(|dir| c(&format!("{}/{name}", if dir.is_empty() { "." } else { dir }))).collect()
    };
    let signals = match args.detach {
        true => None,
        false => Some(SignalFd::block().map_err(|_| os("block signals"))?),
    };
    let target = Target::open(&container)?;
    // SAFETY: prctl with integer arguments; changes only this process.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }, "become a child subreaper")?;
    let (mut ours, theirs) = UnixStream::pair().map_err(|_| os("socketpair"))?;
    let setup = Setup {
        process: &process,
        filter: filter.as_deref(),
        candidates,
        argv,
        env,
        console: console.as_ref().map(|c| c.as_raw_fd()),
    };

    // SAFETY: the launcher is single-threaded, so the child may do anything
    // the parent could (allocate included); it never returns from here.
    let helper = unsafe { libc::fork() };
    check(helper, "fork")?;
    if helper == 0 {
        drop(ours);
        helper_main(&container, &target, theirs, &setup);
    }
    drop((theirs, console));
    let mut pid = [0u8; 4];
    if wait(helper)? != 0 || ours.read_exact(&mut pid).is_err() {
        let (_, text) = failure(&mut ours);
        return Err(if text.is_empty() { "exec: the helper process died".into() } else { text });
    }
    let child = i32::from_le_bytes(pid);

    let written = write_pid_file(args.pid_file.as_deref(), child);
    if written.is_ok() {
        // Go, then the channel's end (the exec) or what failed.
        let _ = ours.write_all(b"G");
    }
    let (code, text) = match written {
        Ok(()) => failure(&mut ours),
        Err(e) => (1, e),
    };
    if !text.is_empty() {
        // SAFETY: kill has no memory arguments; the child is ours and not yet reaped.
        unsafe { libc::kill(child, libc::SIGKILL) };
        let _ = wait(child);
        if let Some(path) = &args.pid_file {
            let _ = fs::remove_file(path);
        }
        if code == 126 || code == 127 {
            globals.error(&text);
            return Ok(code);
        }
        return Err(text);
    }
    match signals {
        None => Ok(0),
        Some(signals) => wait_forwarding(child, &signals),
    }
}

fn stopped(id: &str) -> String {
    format!("cannot exec in a stopped container: {id} has ended")
}

/// The rest of the channel: empty when the child exec'd, else its code and
/// message.
fn failure(channel: &mut UnixStream) -> (i32, String) {
    let mut rest = Vec::new();
    let _ = channel.read_to_end(&mut rest);
    match rest.split_first() {
        None => (0, String::new()),
        Some((code, text)) => (i32::from(*code), String::from_utf8_lossy(text).into_owned()),
    }
}

/// "exec: STEP: the system's reason".
fn os(step: &str) -> String {
    format!("exec: {step}: {}", io::Error::last_os_error())
}

/// A syscall's result: negative is failure (with errno).
fn check<T: Into<i64>>(r: T, step: &str) -> Result<(), String> {
    if r.into() < 0 {
        return Err(os(step));
    }
    Ok(())
}

/// The container's seccomp program as `create` stored it (the
/// `crate::seccomp::as_bytes` layout); absent = no filter.
fn read_filter(path: &Path) -> Result<Option<Vec<libc::sock_filter>>, String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("exec: read {}: {e}", path.display())),
    };
    if bytes.is_empty() || bytes.len() % 8 != 0 || bytes.len() / 8 > crate::seccomp::MAX_LEN {
        return Err(format!("{}: not a seccomp program: `delete --force` the container", path.display()));
    }
    let filter = bytes
        .chunks_exact(8)
        .map(|i| libc::sock_filter {
            code: u16::from_le_bytes([i[0], i[1]]),
            jt: i[2],
            jf: i[3],
            k: u32::from_le_bytes([i[4], i[5], i[6], i[7]]),
        })
        .collect();
    Ok(Some(filter))
}

/// The process to run: `--process FILE` as it is, or the bundle's
/// config.json `process` with CMD and the options applied (as runc does).
fn process_for(a: &ExecArgs, container: &State) -> Result<Process, String> {
    let (file, field) = match &a.process {
        Some(f) => (PathBuf::from(f), f.as_str()),
        None => (container.bundle.join("config.json"), "process"),
    };
    let v: serde_json::Value = fs::read(&file)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_slice(&text).map_err(|e| e.to_string()))
        .map_err(|e| format!("exec: {}: {e}", file.display()))?;
    let cli = a.env.len() + a.cap.len() + a.additional_gids.len() + a.command.len() > 0
        || a.cwd.is_some()
        || a.user.is_some()
        || a.no_new_privs
        || a.label;
    let mut p = match a.process {
        Some(_) if cli => {
            return Err(format!(
                "exec --process {field}: CMD, --cwd, --env, --user, --cap etc. go in the file instead"
            ))
        }
        Some(_) => process::parse(&v, field)?,
        None if a.command.is_empty() => {
            return Err("exec: name the command after the id, or pass --process FILE".into())
        }
        None => process::parse(&v["process"], field).map_err(|e| format!("{}: {e}", file.display()))?,
    };
    p.terminal |= a.tty;
    if a.process.is_some() {
        return Ok(p);
    }
    p.args.clone_from(&a.command);
    p.terminal = a.tty;
    if let Some(cwd) = &a.cwd {
        p.cwd.clone_from(cwd);
    }
    for entry in &a.env {
        let key = entry.split('=').next();
        p.env.retain(|e| e.split('=').next() != key);
        p.env.push(entry.clone());
    }
    if let Some(user) = &a.user {
        let (uid, gid) = user.split_once(':').unwrap_or((user, ""));
        p.uid = number("--user", uid)?;
        if !gid.is_empty() {
            p.gid = number("--user", gid)?;
        }
    }
    if !a.additional_gids.is_empty() {
        p.additional_gids.clone_from(&a.additional_gids);
    }
    for cap in &a.cap {
        let bit = crate::caps::parse(cap)?;
        p.caps.bounding |= bit;
        p.caps.effective |= bit;
        p.caps.permitted |= bit;
    }
    p.no_new_privs |= a.no_new_privs;
    if a.label && process::host_lsms().iter().any(|(_, _, on)| *on) {
        return Err("exec --apparmor/--process-label: this host enforces AppArmor or SELinux, whose labels this runtime cannot apply".into());
    }
    Ok(p)
}

/// Marks every fd from `first` on close-on-exec, so that only stdio and the
/// --preserve-fds ones reach the process. Nothing of ours is open there yet.
fn close_on_exec_from(first: u32) -> Result<(), String> {
    let range = |flags: libc::c_uint| {
        // SAFETY: close_range with integer arguments only closes or flags fds.
        unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, flags) }
    };
    // Linux 5.10 has close_range without CLOSE_RANGE_CLOEXEC (5.11): close them.
    if range(libc::CLOSE_RANGE_CLOEXEC) != 0 {
        check(range(0), "close inherited fds")?;
    }
    Ok(())
}

/// init, held by a pidfd, and which of its namespaces to enter.
struct Target {
    pidfd: OwnedFd,
    /// CLONE_NEW* of the namespaces that differ from ours.
    flags: libc::c_int,
}

const NAMESPACES: [(&str, libc::c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("pid", libc::CLONE_NEWPID),
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
];

impl Target {
    fn open(c: &State) -> Result<Target, String> {
        // SAFETY: pidfd_open with integer arguments returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, c.pid, 0) };
        check(fd, "pidfd_open of the container's init")?;
        // SAFETY: a fresh fd that nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        let ns = |pid: &str, name| fs::metadata(format!("/proc/{pid}/ns/{name}")).map(|m| (m.dev(), m.ino()));
        let mut flags = 0;
        for (name, flag) in NAMESPACES {
            // A namespace type this kernel lacks is not entered.
            if let Ok(ours) = ns("self", name) {
                let theirs = ns(&c.pid.to_string(), name).map_err(|_| os("read init's namespaces"))?;
                if ours != theirs {
                    flags |= flag;
                }
            }
        }
        // Checked after the pidfd and /proc were read: the pid named init
        // all along, not a later process that got its number.
        if !c.init_alive() {
            return Err(stopped(&c.id));
        }
        Ok(Target { pidfd, flags })
    }
}

/// C1: joins the cgroups, enters the namespaces, forks the child, reports
/// its pid, exits.
fn helper_main(c: &State, target: &Target, mut channel: UnixStream, setup: &Setup) -> ! {
    let mut step = || -> Result<libc::pid_t, String> {
        for dir in &c.cgroups {
            // "0" is the writer: this process, and so all it forks.
            fs::write(dir.join("cgroup.procs"), b"0")
                .map_err(|e| format!("exec: join the container's cgroup {}: {e}", dir.display()))?;
        }
        // The cgroup namespace too: the writes above were made in ours.
        if target.flags != 0 {
            // SAFETY: setns with a pidfd and CLONE_NEW* flags; changes only this process.
            check(
                unsafe { libc::setns(target.pidfd.as_raw_fd(), target.flags) },
                "enter the container's namespaces",
            )?;
        }
        // SAFETY: still single-threaded (see `exec`); the child never returns.
        let child = unsafe { libc::fork() };
        check(child, "fork into the container")?;
        if child == 0 {
            child_main(&mut channel, setup);
        }
        Ok(child)
    };
    // P reads the pid when we exit 0, else the code and message.
    let (code, record) = match step() {
        Ok(child) => (0, child.to_le_bytes().to_vec()),
        Err(text) => (1, [&[1u8][..], text.as_bytes()].concat()),
    };
    let _ = channel.write_all(&record);
    // SAFETY: _exit ends this forked process without running the parent's exit handlers.
    unsafe { libc::_exit(code) }
}

/// C2: waits for P's go, then sets everything up and execs; on failure
/// sends its code and message.
fn child_main(channel: &mut UnixStream, s: &Setup) -> ! {
    let mut go = [0u8];
    let (code, text) = match channel.read_exact(&mut go) {
        Ok(()) => match prepare(s) {
            Ok(()) => run(s),
            Err(text) => (1, text),
        },
        // P is gone: nothing is to run.
        Err(_) => (1, String::new()),
    };
    let _ = channel.write_all(&[&[code as u8], text.as_bytes()].concat());
    // SAFETY: _exit ends this forked process without running the parent's exit handlers.
    unsafe { libc::_exit(code) }
}

/// Execs the command; returns only on failure, with 126 or 127 and why.
fn run(s: &Setup) -> (i32, String) {
    let null = std::ptr::null();
    let argv: Vec<*const libc::c_char> = s.argv.iter().map(|a| a.as_ptr()).chain([null]).collect();
    let envp: Vec<*const libc::c_char> = s.env.iter().map(|e| e.as_ptr()).chain([null]).collect();
    // A file that exists but cannot run (126) outranks one that does not
    // exist (127), as in execvp.
    let mut failed = (&s.argv[0], libc::ENOENT);
    for path in &s.candidates {
        // SAFETY: path, argv and envp are NUL-terminated strings in
        // NULL-terminated arrays, all alive across the call.
        unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if errno != libc::ENOENT && errno != libc::ENOTDIR {
            failed = (path, errno);
            if errno != libc::EACCES {
                break;
            }
        }
    }
    let (path, errno) = failed;
    let path = path.to_str().unwrap_or_default();
    // In the words podman, docker and containerd look for to tell 127 from 126.
    let (code, why) = match errno {
        libc::ENOENT if s.candidates.len() > 1 => {
            (127, "executable file not found in $PATH: no such file or directory")
        }
        libc::ENOENT => (127, "no such file or directory: check the command's path inside the container"),
        libc::EACCES | libc::EPERM => (126, "permission denied: not executable, or on a noexec filesystem"),
        _ => (126, "cannot be executed here"),
    };
    (code, format!("exec {path}: {why} ({})", status::strerror(errno)))
}

/// Everything between the go and the exec, in the order the kernel allows.
fn prepare(s: &Setup) -> Result<(), String> {
    let p = s.process;
    // The launcher blocks the signals it forwards and ignores SIGPIPE; the
    // process starts with neither, as from a shell.
    // SAFETY: an all-zero sigset_t is empty; signal() resets a disposition,
    // no handler is involved.
    unsafe {
        let empty = std::mem::zeroed::<libc::sigset_t>();
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Some(socket) = s.console {
        terminal(socket, p)?;
    }
    for &(resource, soft, hard) in &p.rlimits {
        let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
        // SAFETY: prlimit on ourselves (pid 0) reads `limit`, which is alive.
        check(
            unsafe { libc::prlimit(0, resource as _, &limit, std::ptr::null_mut()) },
            "set process.rlimits",
        )?;
    }
    if let Some(adj) = p.oom_score_adj {
        fs::write("/proc/self/oom_score_adj", adj.to_string()).map_err(|_| os("set process.oomScoreAdj"))?;
    }
    let cwd = CString::new(p.cwd.as_str()).unwrap_or_default();
    // SAFETY: chdir reads a NUL-terminated path.
    if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
        return Err(os(&format!("cwd {}", p.cwd)));
    }
    if let Some(mask) = p.umask {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
    }
    // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter,
    // which a process of another user no longer has by the end: load it
    // now, as runc does. With it, last, as init does.
    if !p.no_new_privs {
        load_filter(s.filter)?;
    }
    let last = crate::caps::last_cap();
    let known = crate::caps::all_up_to(last);
    for cap in (0..=last).filter(|c| p.caps.bounding & (1 << c) == 0) {
        // SAFETY: prctl with integer arguments changes only this process.
        check(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) }, "drop the bounding set")?;
    }
    // Keep the permitted set across the uid change, for capset to choose from.
    // SAFETY: as above.
    check(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) }, "keepcaps")?;
    // SAFETY: setgroups reads additional_gids.len() gids from a live slice.
    // With every capability in the namespace, an empty list fails only where
    // setgroups is denied (a rootless namespace with one id mapped), whose
    // groups show as nobody's: nothing to drop there.
    if unsafe { libc::setgroups(p.additional_gids.len(), p.additional_gids.as_ptr()) } != 0
        && !p.additional_gids.is_empty()
    {
        return Err(os("set process.user.additionalGids"));
    }
    // SAFETY: setresgid/setresuid and prctl with integer arguments.
    unsafe {
        check(libc::setresgid(p.gid, p.gid, p.gid), "set process.user.gid (mapped in the container?)")?;
        check(libc::setresuid(p.uid, p.uid, p.uid), "set process.user.uid (mapped in the container?)")?;
        check(libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0), "keepcaps")?;
    }
    capset(p.caps.effective & known, p.caps.permitted & known, p.caps.inheritable & known)?;
    // SAFETY: prctl with integer arguments changes only this process.
    check(
        unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) },
        "clear ambient caps",
    )?;
    for cap in (0..=last).filter(|c| p.caps.ambient & (1 << c) != 0) {
        // SAFETY: as above.
        let r = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap, 0, 0) };
        check(r, "raise an ambient capability (it must be permitted and inheritable too)")?;
    }
    if p.no_new_privs {
        // SAFETY: as above.
        check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }, "set no_new_privs")?;
        load_filter(s.filter)?;
    }
    Ok(())
}

/// A pty from the container's own devpts; the master goes to the console
/// socket, the slave becomes the controlling terminal and stdio.
fn terminal(socket: RawFd, p: &Process) -> Result<(), String> {
    // SAFETY: open of a constant path; the fd is owned right below.
    let fd = unsafe { libc::open(c"/dev/ptmx".as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    check(fd, "--tty: open the container's /dev/ptmx")?;
    // SAFETY: a fresh fd that nothing else owns.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    let unlock: libc::c_int = 0;
    let (rows, cols) = p.console_size.unwrap_or_default();
    let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSPTLCK reads an int and TIOCSWINSZ a winsize, both alive;
    // TIOCGPTPEER opens this very master's peer (no path to swap, Linux 4.13).
    let slave = unsafe {
        check(libc::ioctl(fd, libc::TIOCSPTLCK, &unlock), "--tty: unlock the pty")?;
        if p.console_size.is_some() {
            check(libc::ioctl(fd, libc::TIOCSWINSZ, &size), "--tty: set the console size")?;
        }
        libc::ioctl(fd, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY)
    };
    check(slave, "--tty: open the pty's terminal")?;
    crate::channel::send_fds(socket, b"/dev/ptmx", &[master.as_raw_fd()])
        .map_err(|_| os("send the pty to the console socket"))?;
    drop(master);
    // SAFETY: fchown, setsid, TIOCSCTTY and dup2 on the slave, which we own;
    // it stays open as fds 0-2 (a copy is closed below if it is not one of them).
    unsafe {
        // The process may reopen its terminal (/dev/tty) once no longer root.
        check(libc::fchown(slave, p.uid, u32::MAX), "--tty: chown the pty")?;
        check(libc::setsid(), "--tty: setsid")?;
        check(libc::ioctl(slave, libc::TIOCSCTTY, 0), "--tty: make the pty the controlling terminal")?;
        for std_fd in 0..3 {
            check(libc::dup2(slave, std_fd), "--tty: the pty as stdio")?;
        }
        if slave > 2 {
            libc::close(slave);
        }
    }
    Ok(())
}

/// capset(2), version 3: 64-bit sets as two 32-bit words each.
fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), String> {
    let header: [u32; 2] = [0x2008_0522, 0];
    let word = |set: u64, shift: u32| (set >> shift) as u32;
    let data = [0, 32].map(|s| [word(effective, s), word(permitted, s), word(inheritable, s)]);
    // SAFETY: capset reads a v3 header (version, pid) and two data structs
    // (effective, permitted, inheritable), both alive here.
    let r = unsafe { libc::syscall(libc::SYS_capset, header.as_ptr(), data.as_ptr()) };
    check(r, "set process.capabilities (effective ones must also be permitted)")
}

fn load_filter(filter: Option<&[libc::sock_filter]>) -> Result<(), String> {
    let Some(filter) = filter else { return Ok(()) };
    let program =
        libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr() as *mut libc::sock_filter };
    // SAFETY: the kernel copies `program` and the instructions it points at, both alive here.
    let r = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &program) };
    check(r, "load the container's seccomp filter")
}

/// Writes the pid file whole (a temporary file, renamed): engines read it as
/// soon as it appears.
fn write_pid_file(path: Option<&str>, pid: libc::pid_t) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    let tmp = format!("{path}.tmp");
    fs::write(&tmp, pid.to_string())
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("exec: write the pid file {path}: {e}"))
}

/// Waits for the process, passing on the signals the launcher receives;
/// its status as an exit code (128+N for signal N).
fn wait_forwarding(child: libc::pid_t, signals: &SignalFd) -> Result<i32, String> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int, alive here; WNOHANG does not block.
        match unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } {
            0 => {}
            pid if pid == child => return Ok(status::exit_code(status)),
            _ => return Err(os("wait for the process")),
        }
        let mut pfd = libc::pollfd { fd: signals.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: polls one pollfd, alive here; EINTR just loops.
        unsafe { libc::poll(&mut pfd, 1, -1) };
        while let Ok(Some(sig)) = signals.next() {
            if signals::FORWARDED.contains(&sig) {
                signals::send(child, sig);
            }
        }
    }
}

/// Waits for a child of ours that is about to end; its wait status.
fn wait(pid: libc::pid_t) -> Result<libc::c_int, String> {
    let mut status = 0;
    // SAFETY: waitpid writes one int, alive here.
    while unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(os("wait"));
        }
    }
    Ok(status)
}
