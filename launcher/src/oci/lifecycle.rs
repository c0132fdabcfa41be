//! The verbs of a container's life: create, start, state, kill, delete, and
//! run (create + start, attached); list and ps.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::config::{self, Bundle};
use super::state::{self, Dir, State, Status};
use super::{holder, hooks, skeleton, Globals, Parsed};
use crate::cgroup::Cgroup;
use crate::channel::{self, Message};
use crate::run::{self, Mode};
use crate::trace::Trace;

/// Options of `create` and `run` that take a value, and switches we accept.
const CREATE_VALUES: &[&str] = &["--bundle", "-b", "--pid-file", "--console-socket", "--preserve-fds"];
const CREATE_SWITCHES: &[&str] = &["--no-pivot", "--no-new-keyring", "--detach", "-d", "--keep"];

pub fn dispatch(globals: &Globals, args: &[String]) -> Result<i32, String> {
    let Some((verb, rest)) = args.split_first() else {
        return Err(
            "no command: use create, start, state, kill, delete, run, exec, list, ps, spec or features"
                .into(),
        );
    };
    let root = &globals.root;
    match verb.as_str() {
        "create" => create(root, &Parsed::new("create", rest, CREATE_VALUES, CREATE_SWITCHES)?),
        "run" => run_bundle(root, &Parsed::new("run", rest, CREATE_VALUES, CREATE_SWITCHES)?),
        "start" => start(root, Parsed::new("start", rest, &[], &[])?.id("start")?),
        "state" => state(root, Parsed::new("state", rest, &[], &[])?.id("state")?),
        "kill" => kill(root, &Parsed::new("kill", rest, &[], &["--all", "-a"])?),
        "delete" => delete(root, &Parsed::new("delete", rest, &[], &["--force", "-f"])?),
        "list" => list(root, &Parsed::new("list", rest, &["--format", "-f"], &["--quiet", "-q"])?),
        "ps" => ps(root, &Parsed::new("ps", rest, &["--format", "-f"], &[])?),
        "exec" => super::exec::exec(globals, super::exec::ExecArgs::parse(rest)?),
        "spec" => skeleton::spec(&Parsed::new("spec", rest, &["--bundle", "-b"], &["--rootless"])?),
        "features" => skeleton::features(),
        "events" => Err("events: not supported; engines fall back to polling `state`".into()),
        other => Err(format!("unknown command {other:?}: see `launcher --help`")),
    }
}

/// `create [--bundle B] [--pid-file F] [--console-socket S] ID`.
fn create(root: &Path, args: &Parsed) -> Result<i32, String> {
    let id = args.id("create")?;
    let bundle = bundle_path(args)?;
    let preserve = args.value(&["--preserve-fds"]).unwrap_or("0");
    if preserve != "0" {
        return Err(format!("create --preserve-fds {preserve}: passing extra descriptors is not supported"));
    }
    let loaded = config::load(&bundle, id)?;
    config::find_command(&loaded.spec)?;
    let dir = Dir::create(root, id)?;
    let path = dir.path.clone();
    match create_in(dir, &loaded, &bundle, args) {
        Ok(()) => Ok(0),
        Err(e) => {
            // Nothing of a failed create stays behind.
            let _ = std::fs::remove_dir_all(&path);
            Err(e)
        }
    }
}

fn bundle_path(args: &Parsed) -> Result<PathBuf, String> {
    let bundle = args.value(&["--bundle", "-b"]).unwrap_or(".");
    std::fs::canonicalize(bundle).map_err(|e| format!("bundle {bundle}: {e}"))
}

fn create_in(dir: Dir, loaded: &Bundle, bundle: &Path, args: &Parsed) -> Result<(), String> {
    let spec = &loaded.spec;
    let trace = Trace::new(spec.trace, std::time::Instant::now());
    if let Some(filter) = &loaded.seccomp {
        // For `exec`, whose processes get the container's filter too.
        std::fs::write(dir.path.join("seccomp.bpf"), filter)
            .map_err(|e| format!("save the seccomp filter: {e}"))?;
    }
    // Bound before init exists, so `start` can connect the moment we exit.
    let listener = holder::listen(&dir.path)?;
    let mut cgroup = None;
    let launched = run::launch(spec, &trace, Mode::Created, &mut cgroup)?;
    let pid = launched.container.pid;
    let start_time =
        state::proc_start_time(pid).map(|(t, _)| t).ok_or("the container's init died at once")?;
    let (cgroups, cgroup_parents) = match cgroup {
        Some(c) => c.keep(),
        None => (Vec::new(), Vec::new()),
    };
    let st = State {
        id: dir.id.clone(),
        pid,
        start_time,
        bundle: bundle.to_path_buf(),
        rootfs: spec.rootfs.clone(),
        status: Status::Created,
        annotations: loaded.annotations.clone(),
        created: state::now_rfc3339(),
        cgroups,
        cgroup_parents,
        user_namespace: launched.user_namespace,
    };
    let result = (|| {
        if spec.tty {
            let master = wait_for_pty(&launched.channel)?;
            let socket = args.value(&["--console-socket"]).ok_or(
                "process.terminal is true but no --console-socket was given to send the terminal to",
            )?;
            send_console(socket, &master)?;
        }
        dir.save(&st)?;
        hooks::run(&loaded.hooks.prestart, &st, "prestart")?;
        hooks::run(&loaded.hooks.create_runtime, &st, "createRuntime")?;
        if let Some(file) = args.value(&["--pid-file"]) {
            write_pid_file(file, pid)?;
        }
        holder::spawn(listener, launched.channel, launched.join, &dir.path)
    })();
    match result {
        Ok(()) => {
            // init lives on; the engine (a subreaper) adopts it when we exit.
            launched.container.release();
            // Read by the child until it has exec'd init, which may be after
            // we return: never freed, as we exit soon.
            std::mem::forget(launched.command);
            Ok(())
        }
        Err(e) => {
            drop(launched.container);
            let _ = Cgroup::remove_dirs(&st.cgroups, &st.cgroup_parents);
            Err(e)
        }
    }
}

/// Reads init's records until the pty master comes (init sends it before it
/// waits for `start`).
fn wait_for_pty(channel: &OwnedFd) -> Result<OwnedFd, String> {
    loop {
        match channel::recv(channel).map_err(|e| format!("read the container channel: {e}"))? {
            Some(Message::Pty(master)) => return Ok(master),
            Some(Message::Error { errno, text }) => return Err(init_error(errno, &text)),
            Some(Message::Trace(_)) => {}
            None => return Err("the container's init ended before it made the terminal".into()),
        }
    }
}

pub fn init_error(errno: i32, text: &str) -> String {
    // In the words engines look for to tell 127 from 126 (podman, docker).
    if text.starts_with("exec ") {
        match errno {
            libc::ENOENT | libc::ENOTDIR => {
                return format!(
                    "container init: {text}: executable file not found in $PATH: no such file or directory"
                )
            }
            libc::EACCES | libc::EPERM => return format!("container init: {text}: permission denied"),
            _ => {}
        }
    }
    match errno {
        0 => format!("container init: {text}"),
        _ => format!("container init: {text}: {}", crate::status::strerror(errno)),
    }
}

/// Sends the pty master to the engine's console socket (SCM_RIGHTS), as runc does.
fn send_console(socket: &str, master: &OwnedFd) -> Result<(), String> {
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("connect to the console socket {socket}: {e}"))?;
    channel::send_fds(stream.as_raw_fd(), b"/dev/ptmx", &[master.as_raw_fd()])
        .map_err(|e| format!("send the terminal to the console socket {socket}: {e}"))
}

fn write_pid_file(file: &str, pid: libc::pid_t) -> Result<(), String> {
    // Whole or not at all: engines read it as soon as it exists.
    let tmp = format!("{file}.tmp-{}", std::process::id());
    std::fs::write(&tmp, pid.to_string())
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| format!("write the pid file {file}: {e}"))
}

/// `start ID`: lets init start the command.
fn start(root: &Path, id: &str) -> Result<i32, String> {
    let dir = Dir::open(root, id)?;
    let mut st = dir.load()?;
    match st.status() {
        Status::Created => {}
        Status::Running => return Err(format!("container {id} is already running")),
        Status::Stopped => {
            let why = holder::failure(&dir.path).unwrap_or_else(|| "its init has exited".into());
            return Err(format!("container {id} cannot start: {why}"));
        }
    }
    holder::start(&dir.path)?;
    st.status = Status::Running;
    dir.save(&st)?;
    let loaded = config::load_hooks(&st.bundle)?;
    // A poststart hook's failure is a warning: the command already runs.
    if let Err(e) = hooks::run(&loaded.poststart, &st, "poststart") {
        crate::status::say(&format!("warning: {e}"));
    }
    Ok(0)
}

/// `state ID`: the runtime-spec's state JSON.
fn state(root: &Path, id: &str) -> Result<i32, String> {
    let st = Dir::open(root, id)?.load()?;
    println!("{}", serde_json::to_string_pretty(&st.oci_json()).unwrap_or_default());
    Ok(0)
}

/// `kill [--all] ID [SIGNAL]`: SIGTERM by default, to init (which passes
/// it on to the command) or, with --all, to every process in the cgroup.
fn kill(root: &Path, args: &Parsed) -> Result<i32, String> {
    let id = args.id("kill")?;
    let sig = parse_signal(args.positional.get(1).map(String::as_str).unwrap_or("SIGTERM"))?;
    let st = Dir::open(root, id)?.load()?;
    if st.status() == Status::Stopped {
        return Err(format!("container {id} is not running"));
    }
    let pidfd = open_init(&st)?;
    if args.has(&["--all", "-a"]) {
        for dir in &st.cgroups {
            for pid in crate::cgroup::procs(dir) {
                // SAFETY: plain kill(2) of a pid listed in the container's own cgroup.
                unsafe { libc::kill(pid, sig) };
            }
        }
    }
    // SAFETY: pidfd_send_signal on a pidfd we own; no siginfo.
    let sent = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, 0usize, 0u32) };
    if sent != 0 {
        return Err(format!("signal {sig} to container {id}: {}", std::io::Error::last_os_error()));
    }
    Ok(0)
}

/// SIGTERM, TERM, 15.
pub fn parse_signal(name: &str) -> Result<libc::c_int, String> {
    if let Ok(n) = name.parse::<libc::c_int>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    }
    let bare = name.strip_prefix("SIG").unwrap_or(name).to_ascii_uppercase();
    const NAMES: &[(&str, libc::c_int)] = &[
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("QUIT", libc::SIGQUIT),
        ("KILL", libc::SIGKILL),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
        ("PIPE", libc::SIGPIPE),
        ("ALRM", libc::SIGALRM),
        ("TERM", libc::SIGTERM),
        ("CHLD", libc::SIGCHLD),
        ("CONT", libc::SIGCONT),
        ("STOP", libc::SIGSTOP),
        ("TSTP", libc::SIGTSTP),
        ("TTIN", libc::SIGTTIN),
        ("TTOU", libc::SIGTTOU),
        ("WINCH", libc::SIGWINCH),
        ("PWR", libc::SIGPWR),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == bare)
        .map(|&(_, s)| s)
        .ok_or_else(|| format!("signal {name:?}: unknown; use a name such as SIGTERM or a number"))
}

/// A pidfd of the container's init, checked to be that process (not a
/// reused pid) after it was opened.
pub fn open_init(st: &State) -> Result<OwnedFd, String> {
    // SAFETY: pidfd_open takes a pid and flags; returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, st.pid, 0) };
    if fd < 0 {
        return Err(format!(
            "container {}: its init {} is gone: {}",
            st.id,
            st.pid,
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: a new fd owned by nothing else.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
    if !st.init_alive() {
        return Err(format!("container {}: its init has exited", st.id));
    }
    Ok(fd)
}

/// `delete [--force] ID`: removes a stopped (or never started) container;
/// --force kills a running one first.
fn delete(root: &Path, args: &Parsed) -> Result<i32, String> {
    let id = args.id("delete")?;
    let force = args.has(&["--force", "-f"]);
    let dir = match Dir::open(root, id) {
        Ok(dir) => dir,
        // As runc: forcing the removal of what is not there is no error.
        Err(_) if force && !root.join(id).exists() => return Ok(0),
        Err(e) => return Err(e),
    };
    let st = match dir.load() {
        Ok(st) => st,
        Err(e) if force => {
            dir.remove()?;
            crate::status::say(&format!("warning: {e}; removed"));
            return Ok(0);
        }
        Err(e) => return Err(e),
    };
    match st.status() {
        Status::Running if !force => {
            return Err(format!("container {id} is running: stop it first, or use delete --force"));
        }
        Status::Running | Status::Created => kill_and_wait(&st)?,
        Status::Stopped => {}
    }
    Cgroup::remove_dirs(&st.cgroups, &st.cgroup_parents)?;
    let poststop = config::load_hooks(&st.bundle).map(|h| h.poststop).unwrap_or_default();
    dir.remove()?;
    // A poststop hook's failure is a warning: the container is gone.
    if let Err(e) = hooks::run(&poststop, &st, "poststop") {
        crate::status::say(&format!("warning: {e}"));
    }
    Ok(0)
}

/// SIGKILL to init (the PID namespace ends with it) and a wait for its exit.
fn kill_and_wait(st: &State) -> Result<(), String> {
    let Ok(pidfd) = open_init(st) else { return Ok(()) };
    // SAFETY: pidfd_send_signal on our pidfd; no siginfo.
    unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), libc::SIGKILL, 0usize, 0u32) };
    let mut pfd = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: polls one pollfd we own; a pidfd is readable once the process exited.
    if unsafe { libc::poll(&mut pfd, 1, 10_000) } != 1 {
        return Err(format!("container {}: init {} did not die within 10 s of SIGKILL", st.id, st.pid));
    }
    Ok(())
}

/// `run [--bundle B] [--detach] ID`: create and start; attached (the
/// default), we wait and exit with the container's status.
fn run_bundle(root: &Path, args: &Parsed) -> Result<i32, String> {
    let id = args.id("run")?;
    if args.has(&["--detach", "-d"]) {
        create(root, args)?;
        return start(root, id);
    }
    let bundle = bundle_path(args)?;
    let loaded = config::load(&bundle, id)?;
    // Made (so the id is ours), then unlocked: `state` and `kill` from
    // elsewhere take the lock while we wait.
    drop(Dir::create(root, id)?);
    let trace = Trace::new(loaded.spec.trace, std::time::Instant::now());
    let code = run::run_and_tell(&loaded.spec, &trace, |pid, cgroup, user_namespace| {
        let start_time = state::proc_start_time(pid).map_or(0, |(t, _)| t);
        let st = State {
            id: id.to_string(),
            pid,
            start_time,
            bundle: bundle.clone(),
            rootfs: loaded.spec.rootfs.clone(),
            status: Status::Running,
            annotations: loaded.annotations.clone(),
            created: state::now_rfc3339(),
            cgroups: cgroup.map(|c| c.paths().iter().map(|p| p.to_path_buf()).collect()).unwrap_or_default(),
            cgroup_parents: Vec::new(),
            user_namespace,
        };
        Dir::open(root, id)?.save(&st)
    });
    if let Ok(dir) = Dir::open(root, id) {
        let _ = dir.remove();
    }
    code
}

/// `list [--format table|json] [--quiet]`.
fn list(root: &Path, args: &Parsed) -> Result<i32, String> {
    let states: Vec<State> =
        state::list(root).iter().filter_map(|id| Dir::open(root, id).ok()?.load().ok()).collect();
    if args.has(&["--quiet", "-q"]) {
        for st in &states {
            println!("{}", st.id);
        }
    } else if args.value(&["--format", "-f"]) == Some("json") {
        let all: Vec<_> = states.iter().map(State::oci_json).collect();
        println!("{}", serde_json::Value::from(all));
    } else {
        println!("{:<20} {:<8} {:<10} {:<40} CREATED", "ID", "PID", "STATUS", "BUNDLE");
        for st in &states {
            let status = st.status();
            let pid = if status == Status::Stopped { 0 } else { st.pid };
            println!(
                "{:<20} {:<8} {:<10} {:<40} {}",
                st.id,
                pid,
                status.as_str(),
                st.bundle.display(),
                st.created
            );
        }
    }
    Ok(0)
}

/// `ps [--format json] ID`: the host pids of the container's processes.
fn ps(root: &Path, args: &Parsed) -> Result<i32, String> {
    let id = args.id("ps")?;
    let st = Dir::open(root, id)?.load()?;
    let mut pids: Vec<libc::pid_t> = st.cgroups.iter().flat_map(|d| crate::cgroup::procs(d)).collect();
    if pids.is_empty() && st.status() != Status::Stopped {
        pids.push(st.pid);
    }
    pids.sort();
    pids.dedup();
    if args.value(&["--format", "-f"]) == Some("json") {
        println!("{}", serde_json::Value::from(pids));
    } else {
        println!("PID");
        for pid in pids {
            println!("{pid}");
        }
    }
    Ok(0)
}
