//! `launcher exec`: a new process in a running container, with the
//! container's namespaces, cgroup, seccomp filter and the process's own user,
//! capabilities and limits (what `podman exec` and `ctr task exec` call).
//!
//! Three processes, so that the caller never leaves the host's namespaces
//! (the pid file, the console socket and the engine's log stay reachable by
//! path, and signals keep their meaning):
//!
//! - the launcher (P) reads the state, opens init by pidfd, checks that it
//!   is the same process (start time), connects the console socket and
//!   becomes a child subreaper;
//! - a helper (C1) joins the container's cgroups, enters its namespaces in
//!   one `setns(pidfd, ...)` (atomic, and only the types that differ from
//!   ours: a rootless caller cannot re-enter the host's network namespace
//!   from the container's user namespace), forks, reports the child's pid
//!   and exits; a new PID namespace applies only to children;
//! - the child (C2), now P's (P is a subreaper), waits until P has written
//!   the pid file, then makes the pty, sets limits, user, capabilities,
//!   no_new_privs and the filter, and execs. Its channel to P is close-on-
//!   exec, so P learns that the exec happened from the channel's end, and
//!   anything that failed before from one message on it.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::process::{self, Process};
use super::state::{self, State, Status};
use super::{Globals, Parsed};
use crate::signals::{self, SignalFd};
use crate::status::{self, RUNTIME_ERROR};

/// runc's `exec` options.
#[derive(Debug, Default)]
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
    pub process_label: Option<String>,
    pub apparmor: Option<String>,
    pub id: String,
    /// The command and its arguments, without --process.
    pub command: Vec<String>,
}

const VALUES: &[&str] = &[
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
];
const SWITCHES: &[&str] = &["--tty", "-t", "--detach", "-d", "--no-new-privs", "--ignore-paused"];

impl ExecArgs {
    /// `exec [OPTIONS] ID [CMD ARGS...]`, after the verb.
    pub fn parse(args: &[String]) -> Result<ExecArgs, String> {
        let parsed = Parsed::new("exec", args, VALUES, SWITCHES)?;
        let all = |names: &[&str]| -> Vec<String> {
            parsed
                .options
                .iter()
                .filter(|(n, _)| names.contains(&n.as_str()))
                .filter_map(|(_, v)| v.clone())
                .collect()
        };
        let one = |names: &[&str]| parsed.value(names).map(str::to_string);
        if let Some(sub) = one(&["--cgroup"]) {
            return Err(format!(
                "exec --cgroup {sub}: joining a sub-cgroup is not supported: the process joins the container's cgroup"
            ));
        }
        let number = |name: &str, v: &str| {
            v.parse::<u32>().map_err(|_| format!("exec {name} {v:?}: must be a number 0 to 4294967295"))
        };
        let preserve_fds = match one(&["--preserve-fds"]) {
            Some(v) => number("--preserve-fds", &v)?,
            None => 0,
        };
        let additional_gids = all(&["--additional-gids", "-g"])
            .iter()
            .flat_map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .map(|g| number("--additional-gids", &g))
            .collect::<Result<_, _>>()?;
        let id = parsed.id("exec")?.to_string();
        Ok(ExecArgs {
            process: one(&["--process", "-p"]),
            tty: parsed.has(&["--tty", "-t"]),
            detach: parsed.has(&["--detach", "-d"]),
            pid_file: one(&["--pid-file"]),
            console_socket: one(&["--console-socket"]),
            cwd: one(&["--cwd"]),
            env: all(&["--env", "-e"]),
            user: one(&["--user", "-u"]),
            additional_gids,
            cap: all(&["--cap", "-c"]),
            no_new_privs: parsed.has(&["--no-new-privs"]),
            preserve_fds,
            process_label: one(&["--process-label"]),
            apparmor: one(&["--apparmor"]),
            command: parsed.positional[1..].to_vec(),
            id,
        })
    }
}

/// A whole command run by the child: C strings made before any change of
/// credentials, so that nothing allocates under the seccomp filter.
struct Command {
    /// Each place to try, in order: the path itself, or each PATH entry.
    candidates: Vec<CString>,
    argv: Vec<CString>,
    env: Vec<CString>,
}

/// What the child needs beyond the process: the filter and the fds P made.
struct Setup<'a> {
    process: &'a Process,
    filter: Option<&'a [libc::sock_filter]>,
    command: Command,
    console: Option<RawFd>,
}

/// Runs `args` in container `args.id` under the state root; the exit code
/// to exit with (the process's own, 128+N for signal N, 0 at once with
/// --detach; 126/127 when it cannot be executed, after reporting why as
/// other errors are, in the words engines look for).
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
            return Err(format!("container {} is created but not started: `start` it, then exec", args.id));
        }
        Status::Stopped => {
            return Err(format!(
                "cannot exec in a stopped container: {} has ended (`delete` it, then create it again)",
                args.id
            ));
        }
    }
    let process = process_for(&args, &container)?;
    let console = match (&args.console_socket, process.terminal) {
        (Some(path), true) => Some(connect(Path::new(path))?),
        (None, true) => {
            return Err("exec --tty: also pass --console-socket SOCKET (the pty master is sent there)".into());
        }
        (Some(_), false) => {
            return Err("exec --console-socket: only with --tty (or \"terminal\": true in --process)".into());
        }
        (None, false) => None,
    };
    let command = command_of(&process)?;
    close_on_exec_from(3 + args.preserve_fds as RawFd)?;
    let signals = if args.detach {
        None
    } else {
        Some(SignalFd::block().map_err(|e| format!("exec: block signals: {e}"))?)
    };
    let target = Target::open(&container)?;
    // SAFETY: prctl with integer arguments; changes only this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(format!("exec: become a child subreaper: {}", io::Error::last_os_error()));
    }
    let (ours, theirs) = seqpacket_pair()?;
    let setup = Setup {
        process: &process,
        filter: filter.as_deref(),
        command,
        console: console.as_ref().map(|c| c.as_raw_fd()),
    };

    // SAFETY: the launcher is single-threaded, so the child may do anything
    // the parent could (allocate included); it never returns from here.
    let helper = unsafe { libc::fork() };
    if helper < 0 {
        return Err(format!("exec: fork: {}", io::Error::last_os_error()));
    }
    if helper == 0 {
        drop(ours);
        helper_main(&container, &target, &theirs, &setup);
    }
    drop(theirs);
    drop(console);
    let helper_status = wait(helper).map_err(|e| format!("exec: wait for the helper: {e}"))?;
    let child = match recv(&ours) {
        Ok(Message::Pid(pid)) if helper_status == 0 => pid,
        Ok(Message::Failed(_, text)) => return Err(text),
        Ok(_) => {
            return Err(format!(
                "exec: the helper process ended with status {helper_status} before it reported"
            ))
        }
        Err(e) => return Err(format!("exec: read from the helper: {e}")),
    };

    let pid_file = args.pid_file.as_deref().map(Path::new);
    let started = write_pid_file(pid_file, child).and_then(|()| {
        send(&ours, b"G").map_err(|e| format!("exec: start the process: {e}"))?;
        recv(&ours).map_err(|e| format!("exec: read from the process: {e}"))
    });
    match started {
        Ok(Message::Exec) => {}
        failed => {
            // SAFETY: kill has no memory arguments; the child is ours and not yet reaped.
            unsafe { libc::kill(child, libc::SIGKILL) };
            let code = wait(child).unwrap_or(RUNTIME_ERROR);
            if let Some(path) = pid_file {
                let _ = fs::remove_file(path);
            }
            return match failed {
                Ok(Message::Failed(code, text)) if code != RUNTIME_ERROR => {
                    globals.error(&text);
                    Ok(code)
                }
                Ok(Message::Failed(_, text)) => Err(text),
                Ok(_) => Err(format!("exec: the process ended with status {code} before it ran the command")),
                Err(text) => Err(text),
            };
        }
    }
    match signals {
        None => Ok(0),
        Some(signals) => wait_forwarding(child, &signals),
    }
}

/// The container's seccomp program as `create` stored it (the
/// `crate::seccomp::as_bytes` layout); absent = no filter.
fn read_filter(path: &Path) -> Result<Option<Vec<libc::sock_filter>>, String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("read the container's seccomp filter {}: {e}", path.display())),
    };
    if bytes.is_empty() || bytes.len() % 8 != 0 || bytes.len() / 8 > crate::seccomp::MAX_LEN {
        return Err(format!(
            "{}: {} bytes is not a seccomp program (8 bytes an instruction, at most {}): `delete --force` the container",
            path.display(),
            bytes.len(),
            crate::seccomp::MAX_LEN
        ));
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
fn process_for(args: &ExecArgs, container: &State) -> Result<Process, String> {
    if let Some(file) = &args.process {
        let also = [
            (!args.command.is_empty(), "CMD"),
            (args.cwd.is_some(), "--cwd"),
            (!args.env.is_empty(), "--env"),
            (args.user.is_some(), "--user"),
            (!args.additional_gids.is_empty(), "--additional-gids"),
            (!args.cap.is_empty(), "--cap"),
            (args.no_new_privs, "--no-new-privs"),
            (args.apparmor.is_some(), "--apparmor"),
            (args.process_label.is_some(), "--process-label"),
        ];
        if let Some((_, name)) = also.iter().find(|(given, _)| *given) {
            return Err(format!("exec --process {file}: {name} also given: put it in the file instead"));
        }
        let text = fs::read(file).map_err(|e| format!("exec --process {file}: {e}"))?;
        let v: Value = serde_json::from_slice(&text).map_err(|e| format!("{file}: not valid JSON: {e}"))?;
        let mut p = process::parse(&v, file)?;
        p.terminal |= args.tty;
        return Ok(p);
    }
    if args.command.is_empty() {
        return Err(format!("exec {}: name the command after the id, or pass --process FILE", args.id));
    }
    let config = container.bundle.join("config.json");
    let text = fs::read(&config)
        .map_err(|e| format!("exec: read {}: {e}: pass --process FILE instead", config.display()))?;
    let v: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: not valid JSON: {e}", config.display()))?;
    let mut p = v["process"].clone();
    if !p.is_object() {
        return Err(format!("{}: no process object: pass --process FILE instead", config.display()));
    }
    p["args"] = json!(args.command);
    p["terminal"] = json!(args.tty);
    if let Some(cwd) = &args.cwd {
        p["cwd"] = json!(cwd);
    }
    if !args.env.is_empty() {
        let mut env: Vec<Value> = p["env"].as_array().cloned().unwrap_or_default();
        for entry in &args.env {
            let key = entry.split('=').next().unwrap_or_default();
            env.retain(|e| e.as_str().and_then(|s| s.split_once('=')).is_none_or(|(k, _)| k != key));
            env.push(json!(entry));
        }
        p["env"] = json!(env);
    }
    if !p["user"].is_object() {
        p["user"] = json!({"uid": 0, "gid": 0});
    }
    if let Some(user) = &args.user {
        let id = |s: &str| {
            s.parse::<u32>().map_err(|_| format!("exec --user {user}: use UID or UID:GID, numbers"))
        };
        match user.split_once(':') {
            Some((uid, gid)) => {
                p["user"]["uid"] = json!(id(uid)?);
                p["user"]["gid"] = json!(id(gid)?);
            }
            None => p["user"]["uid"] = json!(id(user)?),
        }
    }
    if !args.additional_gids.is_empty() {
        p["user"]["additionalGids"] = json!(args.additional_gids);
    }
    if !args.cap.is_empty() {
        if !p["capabilities"].is_object() {
            p["capabilities"] = json!({});
        }
        for set in ["bounding", "effective", "permitted"] {
            let mut list: Vec<Value> = p["capabilities"][set].as_array().cloned().unwrap_or_default();
            list.extend(args.cap.iter().map(|c| json!(c)));
            p["capabilities"][set] = json!(list);
        }
    }
    if args.no_new_privs {
        p["noNewPrivileges"] = json!(true);
    }
    if let Some(profile) = &args.apparmor {
        p["apparmorProfile"] = json!(profile);
    }
    if let Some(label) = &args.process_label {
        p["selinuxLabel"] = json!(label);
    }
    process::parse(&p, "process").map_err(|e| format!("exec (with {}): {e}", config.display()))
}

/// The command as C strings, and where to look for it: a name without '/'
/// is searched in the process's own PATH (not the launcher's), as execvpe.
fn command_of(p: &Process) -> Result<Command, String> {
    let c = |s: &str, what: &str| CString::new(s).map_err(|_| format!("exec: {what} {s:?} holds a NUL byte"));
    let argv = p.args.iter().map(|a| c(a, "argument")).collect::<Result<Vec<_>, _>>()?;
    let env = p.env.iter().map(|e| c(e, "environment entry")).collect::<Result<Vec<_>, _>>()?;
    let name = &p.args[0];
    let candidates = if name.contains('/') {
        vec![argv[0].clone()]
    } else {
        let path = p
            .env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':')
            .map(|dir| if dir.is_empty() { "." } else { dir })
            .map(|dir| c(&format!("{dir}/{name}"), "command"))
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(Command { candidates, argv, env })
}

/// Marks every fd from `first` on close-on-exec, so that only stdio and
/// the --preserve-fds ones reach the process.
fn close_on_exec_from(first: RawFd) -> Result<(), String> {
    // SAFETY: close_range with integer arguments only changes fd flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
    // Linux 5.10 has close_range without CLOSE_RANGE_CLOEXEC (5.11): one fd at a time.
    let fds: Vec<RawFd> = fs::read_dir("/proc/self/fd")
        .map_err(|e| format!("exec: list /proc/self/fd: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first)
        .collect();
    for fd in fds {
        // SAFETY: fcntl on an fd number; one that closed meanwhile (the
        // directory's own) fails with EBADF, which is fine.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
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
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, c.pid, 0) } as RawFd;
        if fd < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ESRCH) => Err(format!("cannot exec in a stopped container: {} has ended", c.id)),
                _ => Err(format!("exec: pidfd_open({}): {e} (Linux 5.3 or later is needed)", c.pid)),
            };
        }
        // SAFETY: a fresh fd that nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut flags = 0;
        for (name, flag) in NAMESPACES {
            let ours = match fs::metadata(format!("/proc/self/ns/{name}")) {
                Ok(m) => m,
                // This kernel has no such namespace type: nothing to enter.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("exec: /proc/self/ns/{name}: {e}")),
            };
            let path = format!("/proc/{}/ns/{name}", c.pid);
            let theirs = fs::metadata(&path).map_err(|e| format!("exec: the container's {path}: {e}"))?;
            if (ours.dev(), ours.ino()) != (theirs.dev(), theirs.ino()) {
                flags |= flag;
            }
        }
        // Checked after the pidfd and /proc were read: the pid named init
        // all along, not a later process that got its number.
        if !c.init_alive() {
            return Err(format!("cannot exec in a stopped container: {} has ended", c.id));
        }
        Ok(Target { pidfd, flags })
    }
}

/// C1: joins the cgroups, enters the namespaces, forks the child, reports
/// its pid, exits.
fn helper_main(c: &State, target: &Target, channel: &OwnedFd, setup: &Setup) -> ! {
    let fail = |text: String| -> ! {
        let _ = send_failure(channel, RUNTIME_ERROR, &text);
        // SAFETY: _exit ends this forked process without running the parent's exit handlers.
        unsafe { libc::_exit(RUNTIME_ERROR) }
    };
    for dir in &c.cgroups {
        let procs = dir.join("cgroup.procs");
        // "0" is the writer: this process, and so all it forks.
        if let Err(e) = fs::write(&procs, b"0") {
            fail(format!("exec: join the container's cgroup {}: {e}", procs.display()));
        }
    }
    // The cgroup namespace last: the cgroup writes above were made in ours.
    // SAFETY: setns with a pidfd and CLONE_NEW* flags; changes only this process.
    if target.flags != 0 && unsafe { libc::setns(target.pidfd.as_raw_fd(), target.flags) } != 0 {
        let e = io::Error::last_os_error();
        fail(format!("exec: enter the container's namespaces (setns {:#x}): {e}", target.flags));
    }
    // SAFETY: still single-threaded (see `exec`); the child never returns.
    let child = unsafe { libc::fork() };
    if child < 0 {
        fail(format!("exec: fork into the container: {}", io::Error::last_os_error()));
    }
    if child == 0 {
        child_main(channel, setup);
    }
    let _ = send(channel, &[b"P".as_slice(), &child.to_le_bytes()].concat());
    // SAFETY: as above.
    unsafe { libc::_exit(0) }
}

/// C2: waits for P's go, then sets everything up and execs.
fn child_main(channel: &OwnedFd, setup: &Setup) -> ! {
    let (code, text) = match recv(channel) {
        Ok(Message::Go) => run_process(setup),
        // P is gone or said something else: nothing is to run.
        _ => (RUNTIME_ERROR, String::new()),
    };
    if !text.is_empty() {
        let _ = send_failure(channel, code, &text);
    }
    // SAFETY: _exit ends this forked process without running the parent's exit handlers.
    unsafe { libc::_exit(code) }
}

/// Applies the process's settings in the order the kernel allows, then
/// execs; returns only on failure, with the exit code and one line.
fn run_process(s: &Setup) -> (i32, String) {
    match prepare(s) {
        Ok(()) => {}
        Err(text) => return (RUNTIME_ERROR, text),
    }
    let Command { candidates, argv, env } = &s.command;
    let argv_ptrs: Vec<*const libc::c_char> =
        argv.iter().map(|a| a.as_ptr()).chain([std::ptr::null()]).collect();
    let env_ptrs: Vec<*const libc::c_char> =
        env.iter().map(|e| e.as_ptr()).chain([std::ptr::null()]).collect();
    // Which failure to report: a file that exists but cannot run (126)
    // outranks one that does not exist (127), as in execvp.
    let mut failed: Option<(&CString, i32)> = None;
    for path in candidates {
        // SAFETY: path, argv and envp are NUL-terminated strings in
        // NULL-terminated arrays, all alive across the call.
        unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let missing = errno == libc::ENOENT || errno == libc::ENOTDIR;
        if failed.is_none_or(|(_, e)| e == libc::ENOENT || e == libc::ENOTDIR) {
            failed = Some((path, errno));
        }
        if !missing && errno != libc::EACCES {
            break;
        }
    }
    let (path, errno) = failed.unwrap_or((&argv[0], libc::ENOENT));
    let searched = candidates.len() > 1;
    // In the words podman, docker and containerd look for to tell 127 from 126.
    let text = match errno {
        libc::ENOENT | libc::ENOTDIR if searched => format!(
            "exec {}: executable file not found in $PATH: no such file or directory (the process's PATH was searched)",
            argv[0].to_string_lossy()
        ),
        libc::ENOENT | libc::ENOTDIR => format!(
            "exec {}: no such file or directory: check the command's path inside the container",
            path.to_string_lossy()
        ),
        libc::EACCES | libc::EPERM => format!(
            "exec {}: permission denied: the file is not executable, or its filesystem is mounted noexec",
            path.to_string_lossy()
        ),
        _ => {
            let step = format!("exec {}", path.to_string_lossy());
            let hint = status::hint(&step, errno);
            let sep = if hint.is_empty() { "" } else { ": " };
            format!("{step}: {}{sep}{hint}", status::strerror(errno))
        }
    };
    let code = if errno == libc::ENOENT || errno == libc::ENOTDIR { 127 } else { 126 };
    (code, text)
}

/// Everything between the go and the exec.
fn prepare(s: &Setup) -> Result<(), String> {
    let p = s.process;
    default_signals()?;
    if let Some(socket) = s.console {
        terminal(socket, p)?;
    }
    for &(resource, soft, hard) in &p.rlimits {
        let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
        // SAFETY: prlimit on ourselves (pid 0) reads `limit`, which is alive.
        if unsafe { libc::prlimit(0, resource as _, &limit, std::ptr::null_mut()) } != 0 {
            return Err(format!(
                "exec: set rlimit {resource} to {soft}/{hard}: {}",
                io::Error::last_os_error()
            ));
        }
    }
    if let Some(adj) = p.oom_score_adj {
        fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| format!("exec: set oomScoreAdj {adj}: {e}"))?;
    }
    let cwd = CString::new(p.cwd.as_str()).map_err(|_| format!("exec: cwd {:?} holds a NUL byte", p.cwd))?;
    // SAFETY: chdir reads a NUL-terminated path.
    if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
        let e = io::Error::last_os_error();
        return Err(format!("exec: cwd {}: {e}: the directory must exist in the container", p.cwd));
    }
    if let Some(mask) = p.umask {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
    }
    // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter,
    // which a process of another user no longer has by the end: load it
    // now, as runc does. With it, last, as init does.
    if let (Some(filter), false) = (s.filter, p.no_new_privs) {
        load_filter(filter)?;
    }
    let last = crate::caps::last_cap();
    let known = crate::caps::all_up_to(last);
    for cap in 0..=last {
        // SAFETY: prctl with integer arguments changes only this process.
        if p.caps.bounding & (1 << cap) == 0
            && unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0
        {
            return Err(format!(
                "exec: drop capability {cap} from the bounding set: {}",
                io::Error::last_os_error()
            ));
        }
    }
    switch_user(p)?;
    capset(p.caps.effective & known, p.caps.permitted & known, p.caps.inheritable & known)?;
    // SAFETY: prctl with integer arguments changes only this process.
    if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) } != 0 {
        return Err(format!("exec: clear the ambient capabilities: {}", io::Error::last_os_error()));
    }
    for cap in (0..=last).filter(|c| p.caps.ambient & (1 << c) != 0) {
        // SAFETY: as above.
        if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap, 0, 0) } != 0 {
            let e = io::Error::last_os_error();
            let name = crate::caps::names(1 << cap).join("");
            return Err(format!(
                "exec: raise ambient {name}: {e}: an ambient capability must also be permitted and inheritable"
            ));
        }
    }
    // SAFETY: as above.
    if p.no_new_privs && unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!("exec: set no_new_privs: {}", io::Error::last_os_error()));
    }
    if let (Some(filter), true) = (s.filter, p.no_new_privs) {
        load_filter(filter)?;
    }
    Ok(())
}

/// The launcher blocks the signals it forwards and ignores SIGPIPE; the
/// process starts with neither, as it would from a shell.
fn default_signals() -> Result<(), String> {
    // SAFETY: an empty set, initialised by sigemptyset, then installed as the mask;
    // signal() resets a disposition to its default, no handler is involved.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        if libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) != 0 {
            return Err(format!("exec: unblock signals: {}", io::Error::last_os_error()));
        }
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    Ok(())
}

/// A pty from the container's own devpts; the master goes to the console
/// socket, the slave becomes the controlling terminal and stdio.
fn terminal(socket: RawFd, p: &Process) -> Result<(), String> {
    // SAFETY: open of a constant path; the fd is owned right below.
    let fd = unsafe { libc::open(c"/dev/ptmx".as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(format!("exec --tty: open the container's /dev/ptmx: {}", io::Error::last_os_error()));
    }
    // SAFETY: a fresh fd that nothing else owns.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    let unlock: libc::c_int = 0;
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCSPTLCK reads an int, TIOCGPTN writes an unsigned int, both alive.
    if unsafe { libc::ioctl(fd, libc::TIOCSPTLCK, &unlock) } != 0
        || unsafe { libc::ioctl(fd, libc::TIOCGPTN, &mut number) } != 0
    {
        return Err(format!("exec --tty: unlock the pty: {}", io::Error::last_os_error()));
    }
    if let Some((rows, cols)) = p.console_size {
        let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ reads a winsize, alive here.
        if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &size) } != 0 {
            return Err(format!("exec --tty: set the console size: {}", io::Error::last_os_error()));
        }
    }
    // The peer of this very master, not a path another process could swap (Linux 4.13).
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd or -1.
    let slave = unsafe { libc::ioctl(fd, libc::TIOCGPTPEER, libc::O_RDWR | libc::O_NOCTTY) };
    if slave < 0 {
        return Err(format!("exec --tty: open the pty's terminal: {}", io::Error::last_os_error()));
    }
    // SAFETY: a fresh fd that nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let name = format!("/dev/pts/{number}");
    crate::channel::send_fds(socket, name.as_bytes(), &[master.as_raw_fd()])
        .map_err(|e| format!("exec --tty: send the pty to the console socket: {e}"))?;
    drop(master);
    if p.uid != 0 {
        // The process may reopen its terminal (/dev/tty) once it is no longer root.
        // SAFETY: fchown on an fd we own.
        if unsafe { libc::fchown(slave.as_raw_fd(), p.uid, u32::MAX) } != 0 {
            return Err(format!("exec --tty: give {name} to uid {}: {}", p.uid, io::Error::last_os_error()));
        }
    }
    // SAFETY: setsid, then TIOCSCTTY on the slave, then dup2 onto 0-2: plain
    // syscalls on fds we own.
    unsafe {
        if libc::setsid() < 0 || libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) != 0 {
            return Err(format!(
                "exec --tty: make {name} the controlling terminal: {}",
                io::Error::last_os_error()
            ));
        }
        for std_fd in 0..3 {
            if libc::dup2(slave.as_raw_fd(), std_fd) < 0 {
                return Err(format!("exec --tty: {name} as fd {std_fd}: {}", io::Error::last_os_error()));
            }
        }
    }
    Ok(())
}

/// Groups, then gid, then uid, keeping the permitted capabilities across
/// the uid change so that `capset` can choose from them.
fn switch_user(p: &Process) -> Result<(), String> {
    // SAFETY: prctl with integer arguments changes only this process.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "exec: keep capabilities across the user change: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: setgroups reads additional_gids.len() gids from a live slice.
    if unsafe { libc::setgroups(p.additional_gids.len(), p.additional_gids.as_ptr()) } != 0 {
        let e = io::Error::last_os_error();
        // A rootless user namespace with one id mapped denies setgroups; with
        // no groups asked for there is nothing to change.
        let denied = fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
        if !(p.additional_gids.is_empty() && denied) {
            return Err(format!("exec: set groups {:?}: {e}", p.additional_gids));
        }
    }
    // SAFETY: setresgid/setresuid with integer arguments.
    if unsafe { libc::setresgid(p.gid, p.gid, p.gid) } != 0 {
        let e = io::Error::last_os_error();
        return Err(format!(
            "exec: set gid {}: {e}: the gid must be mapped in the container's user namespace",
            p.gid
        ));
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(p.uid, p.uid, p.uid) } != 0 {
        let e = io::Error::last_os_error();
        return Err(format!(
            "exec: set uid {}: {e}: the uid must be mapped in the container's user namespace",
            p.uid
        ));
    }
    // SAFETY: as above.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) } != 0 {
        return Err(format!("exec: reset keepcaps: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// capset(2), version 3: 64-bit sets as two 32-bit words each.
fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header { version: 0x2008_0522, pid: 0 };
    let word = |set: u64, shift: u32| (set >> shift) as u32;
    let data = [0, 32].map(|s| Data {
        effective: word(effective, s),
        permitted: word(permitted, s),
        inheritable: word(inheritable, s),
    });
    // SAFETY: capset reads a v3 header and two data structs, both alive here.
    if unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) } != 0 {
        let e = io::Error::last_os_error();
        let hint =
            if effective & !permitted != 0 { ": effective capabilities must also be permitted" } else { "" };
        return Err(format!(
            "exec: set capabilities (effective {effective:#x}, permitted {permitted:#x}, inheritable {inheritable:#x}): {e}{hint}"
        ));
    }
    Ok(())
}

fn load_filter(filter: &[libc::sock_filter]) -> Result<(), String> {
    let program =
        libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr() as *mut libc::sock_filter };
    // SAFETY: the kernel copies `program` and the instructions it points at, both alive here.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &program as *const libc::sock_fprog,
        )
    };
    if r != 0 {
        return Err(format!("exec: load the container's seccomp filter: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// Writes the pid file whole (a temporary file, renamed), as engines read it
/// as soon as it appears.
fn write_pid_file(path: Option<&Path>, pid: libc::pid_t) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, pid.to_string())
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("exec --pid-file {}: {e}", path.display()))
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
            _ => return Err(format!("exec: wait for pid {child}: {}", io::Error::last_os_error())),
        }
        let mut pfd = libc::pollfd { fd: signals.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: polls one pollfd, alive here.
        if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(format!("exec: wait for signals: {e}"));
            }
        }
        while let Some(sig) = signals.next().map_err(|e| format!("exec: read signals: {e}"))? {
            if signals::FORWARDED.contains(&sig) {
                signals::send(child, sig);
            }
        }
    }
}

/// Waits for a child of ours; its status as an exit code.
fn wait(pid: libc::pid_t) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes one int, alive here.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            return Ok(status::exit_code(status));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The console socket, connected by path.
fn connect(path: &Path) -> Result<OwnedFd, String> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: an all-zero sockaddr_un is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(format!(
            "exec --console-socket {}: a unix socket path must be under {} bytes: use a shorter one",
            path.display(),
            addr.sun_path.len()
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: socket with integer arguments returns a new fd or -1.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(format!("exec --console-socket: socket: {}", io::Error::last_os_error()));
    }
    // SAFETY: a fresh fd that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: connect reads `len` bytes of `addr`, alive here.
    if unsafe { libc::connect(fd, (&addr as *const libc::sockaddr_un).cast(), len) } != 0 {
        let e = io::Error::last_os_error();
        return Err(format!("exec --console-socket {}: connect: {e}", path.display()));
    }
    Ok(socket)
}

fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into an array of two.
    if unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    } != 0
    {
        return Err(format!("exec: socketpair: {}", io::Error::last_os_error()));
    }
    // SAFETY: two fresh fds that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// What goes between P and its helpers, one datagram each.
enum Message {
    /// 'P', pid: the child's pid on the host (from the helper).
    Pid(libc::pid_t),
    /// 'G': P has written the pid file; go on (to the child).
    Go,
    /// 'E', code, text: a step failed (from either).
    Failed(i32, String),
    /// The channel's end: the child exec'd (its end was close-on-exec).
    Exec,
    Other,
}

fn send(fd: &OwnedFd, record: &[u8]) -> io::Result<()> {
    // SAFETY: sends record.len() initialised bytes; MSG_NOSIGNAL: no SIGPIPE.
    let n = unsafe { libc::send(fd.as_raw_fd(), record.as_ptr().cast(), record.len(), libc::MSG_NOSIGNAL) };
    if n as usize != record.len() {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn send_failure(fd: &OwnedFd, code: i32, text: &str) -> io::Result<()> {
    let mut record = vec![b'E', code as u8];
    record.extend_from_slice(&text.as_bytes()[..text.len().min(4000)]);
    send(fd, &record)
}

fn recv(fd: &OwnedFd) -> io::Result<Message> {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: receives at most buf.len() bytes into buf.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let msg = &buf[..n as usize];
        return Ok(match msg {
            [] => Message::Exec,
            [b'G'] => Message::Go,
            [b'P', pid @ ..] if pid.len() == 4 => {
                Message::Pid(i32::from_le_bytes([pid[0], pid[1], pid[2], pid[3]]))
            }
            [b'E', code, text @ ..] => {
                Message::Failed(i32::from(*code), String::from_utf8_lossy(text).into_owned())
            }
            _ => Message::Other,
        });
    }
}
