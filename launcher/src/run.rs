//! `launcher run`: the host side of a container's life, in order.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use crate::cgroup::{self, Cgroup};
use crate::channel::{self, Message};
use crate::child::{self, InitCommand};
use crate::idmap::{CommandUser, IdMap};
use crate::initexe;
use crate::mounts;
use crate::namespaces::{self, UserNs};
use crate::remount;
use crate::seccomp;
use crate::signals::{self, SignalFd};
use crate::spec::{Seccomp, Spec};
use crate::status;
use crate::trace::Trace;
use crate::tty::{self, Relay};

/// Runs the container and returns the launcher's exit code.
pub fn run(spec: &Spec, trace: &Trace) -> Result<i32, String> {
    run_and_tell(spec, trace, |_, _, _| Ok(()))
}

/// `run`, calling `started` with init's pid, the container's cgroup and
/// whether it got a user namespace of its own, once init is released (OCI `run` records its state there).
pub fn run_and_tell(
    spec: &Spec,
    trace: &Trace,
    started: impl FnOnce(libc::pid_t, Option<&Cgroup>, bool) -> Result<(), String>,
) -> Result<i32, String> {
    // Block before anything exists that a signal could leave behind.
    let signals = SignalFd::block().map_err(|e| format!("set up signal handling: {e}"))?;
    let mut cgroup = None;
    let result = launch(spec, trace, Mode::Attached, &mut cgroup).and_then(|mut launched| {
        let pid = launched.container.pid;
        started(pid, cgroup.as_ref(), launched.user_namespace)?;
        let code =
            EventLoop::new(spec, trace, &signals, launched.channel, pid).run(&mut launched.container)?;
        trace.mark("container exited");
        Ok(code)
    });
    if let Some(cgroup) = cgroup.as_mut() {
        if result.is_ok() {
            if let Some(oom) = cgroup.oom_message() {
                status::say(&oom);
            }
        }
        cgroup.remove();
        trace.mark("cgroup removed");
    }
    trace.print();
    result
}

/// Who waits for the container.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `launcher run`: we are init's parent to the end, and it dies with us.
    Attached,
    /// OCI `create`: init outlives us (the engine, a subreaper, adopts it),
    /// is in its cgroup already, and waits before its command for the `J`
    /// record (`Launched::join`), which `start` has sent.
    Created,
}

/// A container cloned and released: its init builds the mounts.
pub struct Launched {
    pub container: Container,
    pub channel: OwnedFd,
    /// Created mode: the `J` record init waits for before it starts the command.
    pub join: Vec<u8>,
    pub user_namespace: bool,
    /// init's argv and envp, which the child reads in our memory until it
    /// has exec'd init: alive as long as this is.
    pub command: Box<InitCommand>,
}

/// Clones init into its namespaces, writes its id maps, releases it, and
/// makes its cgroup (into `cgroup`, for the caller to remove).
pub fn launch(
    spec: &Spec,
    trace: &Trace,
    mode: Mode,
    cgroup: &mut Option<Cgroup>,
) -> Result<Launched, String> {
    let init = initexe::memfd()?;
    let (ours, theirs) = channel::pair().map_err(|e| format!("socketpair for the container channel: {e}"))?;
    // Boxed: the child reads it where it is while `Launched` moves.
    let command = Box::new(init_command(spec));
    let security = &spec.security;
    let tmpfs_points: Vec<&Path> = spec.tmpfs.iter().map(|t| t.target.as_path()).collect();
    mounts::make_mount_points(&spec.rootfs, &security.volumes, &tmpfs_points)?;
    // Probed once: the config's read-only mounts and the cgroup view's both depend on it.
    let has_setattr = remount::kernel_has_mount_setattr();
    let idmap = match &spec.namespaces.id_maps {
        Some((uids, gids)) => IdMap::Given { uids: uids.clone(), gids: gids.clone() },
        None => IdMap::for_caller(),
    };
    // An id the map lacks is refused here, not by the switch inside.
    let user = idmap.command_user(spec.user.as_ref())?;
    let config = config_record(spec, user.as_ref(), has_setattr, mode == Mode::Created, trace)?;
    // Queued for init before the clone: sharing our CPU, the child often runs
    // only once we sleep, so every step between "go" and that sleep delays it.
    channel::send(ours.as_raw_fd(), &config).map_err(|e| format!("send init its configuration: {e}"))?;
    for (nstype, path) in &spec.namespaces.join {
        namespaces::enter(*nstype, path)?;
    }
    trace.mark("prepared");

    if let Some(mask) = spec.umask {
        // SAFETY: umask takes a mode and cannot fail; init inherits it.
        unsafe { libc::umask(mask as libc::mode_t) };
    }
    let go = child::Go::new()?;
    // Plain numbers for the child, which runs in our memory (see clone_container).
    let fds = (theirs.as_raw_fd(), go.as_raw_fd(), init.as_raw_fd());
    let command_ref: &InitCommand = &command;
    let die_with_launcher = mode == Mode::Attached;
    let (pid, userns) = namespaces::clone_container(security.no_network, spec.namespaces.user, move || {
        child::exec_init(fds.0, fds.1, fds.2, command_ref, die_with_launcher)
    })
    .map_err(|e| {
        format!(
            "clone into new user, PID, mount, UTS and IPC namespaces: {e}: {}",
            namespaces::userns_blocker()
        )
    })?;
    let container = Container { pid, reaped: false };
    drop(theirs);
    trace.mark("cloned");

    match userns {
        UserNs::Own => {
            trace.note(|| format!("isolation: a user namespace of its own; {}", idmap.describe()));
            idmap.write(container.pid)?;
            trace.mark("id maps written");
        }
        UserNs::HostRoot => trace.note(|| format!("isolation: {NO_USERNS}")),
    }
    limit_init(spec, pid)?;
    go.release().map_err(|e| format!("release the container: {e}"))?;
    drop((go, init));
    trace.mark("released");

    // init now builds the container's mounts, which takes longer than making
    // the cgroup here, on another CPU; it joins the cgroup before it starts the
    // command, which must get our CPU affinity back first.
    let (join, fds) = if spec.has_cgroup() {
        let affinity = if mode == Mode::Attached { child::move_off_our_cpu(pid) } else { None };
        let made = make_cgroup(spec, pid, mode, trace, cgroup);
        if let Some(mask) = &affinity {
            // Works on an init that has already failed, too: our child stays
            // a zombie, pid and all, until the event loop reaps it.
            child::restore_affinity(pid, mask)
                .map_err(|e| format!("give init back its CPU affinity: {e}"))?;
        }
        let (view, files) = made?;
        trace.mark("cgroup made");
        let view = if has_setattr { view } else { remount::view_without_mount_setattr(view) };
        (channel::join_record(&view), files)
    } else {
        (channel::join_record(&[]), Vec::new())
    };
    if mode == Mode::Attached && spec.has_cgroup() {
        let fds: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        match channel::send_fds(ours.as_raw_fd(), &join, &fds) {
            // init has already failed; the event loop reads its error record.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
            Err(e) => return Err(format!("send init its cgroup: {e}")),
            Ok(()) => {}
        }
    }
    let user_namespace = userns == UserNs::Own;
    Ok(Launched { container, channel: ours, join, user_namespace, command })
}

/// Makes the container's cgroup (into `cgroup`) and returns the ops of init's
/// view of it and what init joins it by: one fd per hierarchy (Attached), or
/// none, init being moved in here (Created: the engine looks for it there
/// before `start`). Without limits, where only tracking was asked (OCI) and
/// no cgroup can be made (rootless, no delegation), it goes on without one,
/// as runc does.
fn make_cgroup(
    spec: &Spec,
    pid: libc::pid_t,
    mode: Mode,
    trace: &Trace,
    cgroup: &mut Option<Cgroup>,
) -> Result<(Vec<mounts::Op>, Vec<OwnedFd>), String> {
    let (name, parent) = match &spec.cgroup_path {
        Some(path) => {
            (path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), path.parent())
        }
        None => (cgroup::default_name(), spec.cgroup_parent.as_deref().map(Path::new)),
    };
    let made = match Cgroup::create_for(&name, &spec.limits, &spec.cgroup_controllers(), parent, Some(pid)) {
        Ok(made) => cgroup.insert(made),
        Err(e) if spec.limits.is_empty() => {
            trace.note(|| format!("no cgroup of its own (no limit asked): {e}"));
            return Ok((Vec::new(), Vec::new()));
        }
        Err(e) => return Err(e),
    };
    let files = match mode {
        Mode::Attached => made.join_fds()?,
        Mode::Created => {
            made.attach(pid)?;
            Vec::new()
        }
    };
    let view = if spec.security.cgroupns { made.view_ops() } else { Vec::new() };
    Ok((view, files))
}

/// The rlimits and OOM score the spec asks for, set on init before it runs
/// anything: the command inherits them.
fn limit_init(spec: &Spec, pid: libc::pid_t) -> Result<(), String> {
    for &(resource, soft, hard) in &spec.rlimits {
        let limit = libc::rlimit64 { rlim_cur: soft, rlim_max: hard };
        // SAFETY: prlimit64 reads one rlimit64 and writes none (NULL old).
        if unsafe { libc::prlimit64(pid, resource as _, &limit, std::ptr::null_mut()) } != 0 {
            let e = std::io::Error::last_os_error();
            let hint = if e.raw_os_error() == Some(libc::EPERM) {
                ": raising a hard limit needs CAP_SYS_RESOURCE, which this launcher lacks: ask for at most the current hard limit (`ulimit -H`)"
            } else {
                ""
            };
            return Err(format!("set rlimit {resource} to {soft}:{hard} on the container's init: {e}{hint}"));
        }
    }
    if !spec.sysctl.is_empty() {
        set_sysctls(&spec.sysctl, pid)?;
    }
    if let Some(score) = spec.oom_score_adj {
        let path = format!("/proc/{pid}/oom_score_adj");
        std::fs::write(&path, score.to_string()).map_err(|e| {
            format!("write {score} to {path}: {e}: lowering the OOM score below the launcher's own needs CAP_SYS_RESOURCE")
        })?;
    }
    Ok(())
}

/// The isolation in force when the kernel refuses user namespaces to root.
pub const NO_USERNS: &str = "no user namespace (the kernel refuses them): the container is the host's root, \
     held in by docker's capabilities, seccomp and no_new_privs unless relaxed, as with docker and runc";

/// Writes the sysctls from inside init's network and IPC namespaces (a
/// sysctl's namespace is its writer's), then returns to ours.
fn set_sysctls(sysctls: &[(String, String)], pid: libc::pid_t) -> Result<(), String> {
    let open = |path: String| std::fs::File::open(&path).map_err(|e| format!("open {path}: {e}"));
    let enter = |file: &std::fs::File, path: &str| {
        // SAFETY: setns on a namespace fd we own.
        match unsafe { libc::setns(file.as_raw_fd(), 0) } {
            0 => Ok(()),
            _ => Err(format!("join {path} to set sysctls: {}", std::io::Error::last_os_error())),
        }
    };
    // Which namespace each sysctl is set in (config.rs allows only these).
    let namespace_of = |key: &str| match key {
        k if k.starts_with("net.") => "net",
        "kernel.domainname" | "kernel.hostname" => "uts",
        _ => "ipc",
    };
    for ns in ["net", "ipc", "uts"] {
        if !sysctls.iter().any(|(key, _)| namespace_of(key) == ns) {
            continue;
        }
        let ours = open(format!("/proc/self/ns/{ns}"))?;
        let theirs = open(format!("/proc/{pid}/ns/{ns}"))?;
        enter(&theirs, &format!("the container's {ns} namespace"))?;
        let mut result = Ok(());
        for (key, value) in sysctls.iter().filter(|(key, _)| namespace_of(key) == ns) {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            if let Err(e) = std::fs::write(&path, value) {
                result = Err(format!("sysctl {key}={value}: write {path}: {e}"));
                break;
            }
        }
        enter(&ours, &format!("our own {ns} namespace back"))?;
        result?;
    }
    Ok(())
}

/// The config record for init (README, "The config record"): everything it
/// does besides running the command.
/// `user`: the command's, checked against the id map (`IdMap::command_user`).
/// `has_setattr`: whether the kernel has mount_setattr (Linux 5.12), or needs
/// the read-only mounts made by remounts.
/// `gate`: init waits for a `J` record before its command even without
/// limits (OCI create: `start` sends it).
pub(crate) fn config_record(
    spec: &Spec,
    user: Option<&CommandUser>,
    has_setattr: bool,
    gate: bool,
    trace: &Trace,
) -> Result<Vec<u8>, String> {
    let security = &spec.security;
    let default_filter;
    let filter: &[u8] = match &security.seccomp {
        Seccomp::Off => &[],
        Seccomp::Default => {
            default_filter = seccomp::as_bytes(&seccomp::filter(security.caps));
            &default_filter
        }
        Seccomp::Profile(program) => program,
    };
    let mut ops = mounts::ops(&mounts::Plan {
        volumes: &security.volumes,
        read_only_root: security.read_only,
        shm_size: spec.shm_size,
        cgroupns: security.cgroupns,
        limits: spec.has_cgroup(),
        mqueue: spec.mqueue,
        extra_masked: &spec.extra_masked,
        extra_read_only: &spec.extra_read_only,
        nodev_root: spec.nodev_root,
        tmpfs: &spec.tmpfs,
    });
    if !has_setattr {
        let table = remount::MountTable::read()?;
        ops = remount::without_mount_setattr(ops, &table, &spec.rootfs, &security.volumes)?;
        let remounts = ops.iter().filter(|op| op.is_remount()).count();
        trace.note(|| format!("kernel: no mount_setattr (Linux < 5.12): {remounts} bind remounts make the read-only mounts instead"));
    }
    // Only a pty has a size: without -t, no ioctl on our stdin and stdout.
    let tty = spec.tty.then(|| tty::window_size().map_or((24, 80), |ws| (ws.ws_row, ws.ws_col)));
    Ok(channel::Config {
        caps: security.caps,
        no_new_privs: security.no_new_privs,
        filter,
        loopback_up: security.no_network,
        tty,
        trace: spec.trace,
        join_cgroup: gate || spec.has_cgroup(),
        user,
        rootfs: spec.rootfs.as_os_str().as_bytes(),
        hostname: &spec.hostname,
        workdir: &spec.workdir,
        ops: &ops,
    }
    .encode())
}

/// init's argv and the command's environment. All else init learns from the
/// config record, so that the container sees only `init -- CMD ARGS` as PID
/// 1's arguments, never the host's paths.
fn init_command(spec: &Spec) -> InitCommand {
    let cstr = |s: &[u8]| CString::new(s).expect("NUL bytes were rejected when the spec was built");
    let mut argv = vec![cstr(b"init"), cstr(b"--")];
    argv.extend(spec.command.iter().map(|a| cstr(a.as_bytes())));
    let env = spec.env.iter().map(|v| cstr(v.as_bytes())).collect();
    InitCommand::new(argv, env)
}

/// The init process; killed and reaped if we leave early, so no error path
/// leaves a container behind.
pub struct Container {
    pub pid: libc::pid_t,
    reaped: bool,
}

impl Container {
    /// Leaves init to live on without us (OCI create).
    pub fn release(mut self) {
        self.reaped = true;
    }

    /// The wait status if init has exited.
    fn try_wait(&mut self) -> Option<libc::c_int> {
        let mut wstatus = 0;
        // SAFETY: waitpid writes the status into a live local.
        let ret = unsafe { libc::waitpid(self.pid, &mut wstatus, libc::WNOHANG) };
        if ret == self.pid {
            self.reaped = true;
            return Some(wstatus);
        }
        None
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.reaped {
            signals::send(self.pid, libc::SIGKILL);
            // SAFETY: blocking waitpid on our own child; status not needed.
            unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), 0) };
        }
    }
}

/// Waits for the container while forwarding signals, reading the channel and
/// relaying the terminal: one poll(2), no threads, no timers but the stop timeout.
struct EventLoop<'a> {
    spec: &'a Spec,
    trace: &'a Trace,
    signals: &'a SignalFd,
    channel: Option<OwnedFd>,
    relay: Option<Relay>,
    error: Option<(i32, String)>,
    kill_at: Option<Instant>,
    /// The channel closed while init lived: the command's exec succeeded.
    command_started: bool,
    pid: libc::pid_t,
}

impl<'a> EventLoop<'a> {
    fn new(
        spec: &'a Spec,
        trace: &'a Trace,
        signals: &'a SignalFd,
        channel: OwnedFd,
        pid: libc::pid_t,
    ) -> Self {
        EventLoop {
            spec,
            trace,
            signals,
            channel: Some(channel),
            relay: None,
            error: None,
            kill_at: None,
            command_started: false,
            pid,
        }
    }

    fn run(mut self, container: &mut Container) -> Result<i32, String> {
        let wstatus = loop {
            let mut fds = [libc::pollfd { fd: -1, events: 0, revents: 0 }; 4];
            fds[0] = libc::pollfd { fd: self.signals.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            if let Some(channel) = &self.channel {
                fds[1] = libc::pollfd { fd: channel.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            }
            if let Some(relay) = &self.relay {
                fds[2..4].copy_from_slice(&relay.poll_fds());
            }
            let timeout = match self.kill_at {
                Some(at) => at.saturating_duration_since(Instant::now()).as_millis() as libc::c_int,
                None => -1,
            };
            // SAFETY: polls the fds array we own; its length is passed.
            if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) } == -1 {
                return Err(format!("poll: {}", std::io::Error::last_os_error()));
            }
            if self.kill_at.is_some_and(|at| Instant::now() >= at) {
                // On a raw terminal a line feed does not return the carriage.
                let end = if self.relay.is_some() { "\r" } else { "" };
                status::say(&format!(
                    "the container did not stop within {}s (--stop-timeout): killing it{end}",
                    self.spec.stop_timeout.as_secs()
                ));
                signals::send(container.pid, libc::SIGKILL);
                self.kill_at = None;
            }
            if fds[1].revents != 0 {
                self.read_channel()?;
            }
            if let Some(relay) = self.relay.as_mut() {
                relay.handle(&[fds[2], fds[3]]).map_err(|e| format!("terminal relay: {e}"))?;
            }
            if fds[0].revents != 0 {
                if let Some(wstatus) = self.handle_signals(container)? {
                    break wstatus;
                }
            }
        };
        // init is gone, and with it every process that held the channel:
        // whatever it still holds is the last word.
        while self.channel.is_some() {
            self.read_channel()?;
        }
        if let Some(relay) = self.relay.as_mut() {
            relay.drain().map_err(|e| format!("terminal relay: {e}"))?;
        }
        drop(self.relay.take());
        let code = status::exit_code(wstatus);
        if let Some((errno, text)) = &self.error {
            report(text, *errno, &self.spec.rootfs);
        } else if !self.command_started && code >= status::RUNTIME_ERROR {
            status::say(&format!(
                "the container's init ended before starting the command (exit code {code})"
            ));
        }
        Ok(code)
    }

    fn read_channel(&mut self) -> Result<(), String> {
        let Some(channel) = &self.channel else {
            return Ok(());
        };
        match channel::recv(channel) {
            Ok(None) => {
                self.channel = None;
                self.command_started = self.error.is_none() && init_not_killed(self.pid);
                self.trace.mark(match self.command_started {
                    true => "command exec'd (channel closed)",
                    false => "channel closed, no command",
                });
            }
            Ok(Some(Message::Error { errno, text })) => self.error = Some((errno, text)),
            Ok(Some(Message::Trace(stamps))) => self.trace.init_stamps(&stamps)?,
            Ok(Some(Message::Pty(master))) => {
                let relay = Relay::new(master, self.spec.interactive)
                    .map_err(|e| format!("put the terminal in raw mode: {e}"))?;
                self.relay = Some(relay);
            }
            Err(e) => return Err(format!("read the container channel: {e}")),
        }
        Ok(())
    }

    fn handle_signals(&mut self, container: &mut Container) -> Result<Option<libc::c_int>, String> {
        while let Some(sig) = self.signals.next().map_err(|e| format!("read signalfd: {e}"))? {
            match sig {
                libc::SIGCHLD => {}
                libc::SIGWINCH => {
                    if let Some(relay) = &self.relay {
                        relay.resize();
                    }
                }
                _ => {
                    signals::send(container.pid, sig);
                    if (sig == libc::SIGTERM || sig == libc::SIGINT) && self.kill_at.is_none() {
                        self.kill_at = Some(Instant::now() + self.spec.stop_timeout);
                    }
                }
            }
        }
        Ok(container.try_wait())
    }
}

/// Whether init is running, or has exited by itself, without reaping it. With
/// the channel closed and no error record, that means the command's exec
/// succeeded: init closes its end only after it, and a short command may
/// have ended, and init with it, before we read the close. A killed init
/// (SIGKILL from outside, the OOM killer while it set up) started nothing.
fn init_not_killed(pid: libc::pid_t) -> bool {
    // SAFETY: an all-zero siginfo_t is valid; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: waitid writes into the live local `info`.
    let ret = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
    // SAFETY: si_pid is valid to read for a CLD_* siginfo (0 when nothing exited).
    ret == 0 && (unsafe { info.si_pid() } == 0 || info.si_code == libc::CLD_EXITED)
}

/// Prints an error reported from inside the container, with what to do.
fn report(text: &str, errno: i32, rootfs: &Path) {
    let mut line = text.to_string();
    if errno != 0 {
        line += &format!(": {}", status::strerror(errno));
    }
    let hint = match (text.strip_prefix("mount /"), errno) {
        // Init refuses a link where the kernel's filesystems go; name it.
        (Some(dir), libc::ELOOP) => {
            let to = std::fs::read_link(rootfs.join(dir)).map(|t| format!(" (to {})", t.display()));
            format!(
                "/{dir} in the rootfs is a symbolic link{}: the container's /proc, /dev and /sys must be directories of the root filesystem itself",
                to.unwrap_or_default()
            )
        }
        (Some(dir), libc::ENOTDIR) => {
            format!("/{dir} in the rootfs is not a directory: make it one, or remove it")
        }
        _ => status::hint(text, errno).to_string(),
    };
    if !hint.is_empty() {
        line += &format!(": {hint}");
    }
    status::say(&line);
}
