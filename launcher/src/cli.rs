//! The command line: argh definitions, turned into one validated [`Spec`].

use argh::FromArgs;

use std::path::Path;
use std::time::Duration;

use crate::caps;
use crate::cgroup::Limits;
use crate::mounts::Volume;
use crate::size;
use crate::spec::{self, Namespaces, Seccomp, Security, Spec, DEFAULT_PATH, DEFAULT_SHM_SIZE};
use crate::user;

#[derive(FromArgs)]
/// A minimal, fast Linux container runtime.
///
/// Runs a command in new PID, UTS, IPC, user and mount namespaces over a root
/// filesystem directory, like `docker run IMAGE CMD` without the image store.
#[argh(help_triggers("-h", "--help"))]
pub struct Cli {
    #[argh(subcommand)]
    pub command: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
// Parsed once and moved straight into a Spec: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    Run(RunArgs),
    Check(CheckArgs),
    Version(VersionArgs),
}

#[derive(FromArgs)]
/// Run CMD in a new container; exits with CMD's status (125: launcher error,
/// 126: CMD cannot be executed, 127: CMD not found, 128+N: killed by signal N).
#[argh(subcommand, name = "run", help_triggers("-h", "--help"))]
pub struct RunArgs {
    /// root filesystem directory (default: ./alpine-fs)
    #[argh(option, default = "String::from(\"alpine-fs\")")]
    pub rootfs: String,

    /// hostname inside the container (default: container)
    #[argh(option, default = "String::from(\"container\")")]
    pub hostname: String,

    /// set an environment variable KEY=VALUE inside (repeatable)
    #[argh(option, short = 'e')]
    pub env: Vec<String>,

    /// working directory inside the container, absolute (default: /)
    #[argh(option, short = 'w', default = "String::from(\"/\")")]
    pub workdir: String,

    /// allocate a pseudo-terminal for the container (use with -i: -it)
    #[argh(switch, short = 't')]
    pub tty: bool,

    /// keep stdin attached to the container's terminal (with -t); without -t,
    /// stdin, stdout and stderr are always passed through
    #[argh(switch, short = 'i')]
    pub interactive: bool,

    /// maximum number of processes (and threads) in the container
    #[argh(option)]
    pub pids_limit: Option<String>,

    /// memory limit, docker units: 512k, 50m, 1g or bytes
    #[argh(option)]
    pub memory: Option<String>,

    /// memory plus swap limit (default: equal to --memory, i.e. no swap); -1: unlimited swap
    #[argh(option)]
    pub memory_swap: Option<String>,

    /// CPU limit as a decimal number of CPUs, e.g. 0.5
    #[argh(option)]
    pub cpus: Option<String>,

    /// place the container's cgroup under this cgroup path (relative to the hierarchy's root)
    #[argh(option)]
    pub cgroup_parent: Option<String>,

    /// seconds to wait after forwarding SIGTERM or SIGINT before killing the container (default: 10)
    #[argh(option, default = "10")]
    pub stop_timeout: u64,

    /// print where start-up time goes (also: LAUNCHER_TRACE=1)
    #[argh(switch)]
    pub trace: bool,

    /// add a capability to docker's default set (e.g. NET_ADMIN, ALL; repeatable)
    #[argh(option)]
    pub cap_add: Vec<String>,

    /// drop a capability from it (e.g. CHOWN, ALL; repeatable)
    #[argh(option)]
    pub cap_drop: Vec<String>,

    /// no-new-privileges=false or seccomp=unconfined to relax a default, seccomp=FILE for a profile (repeatable)
    #[argh(option)]
    pub security_opt: Vec<String>,

    /// mount the root filesystem read-only
    #[argh(switch)]
    pub read_only: bool,

    /// network: host (default: the host's network) or none (only lo, up)
    #[argh(option, default = "String::from(\"host\")")]
    pub net: String,

    /// size of /dev/shm, docker units (default: 64m)
    #[argh(option)]
    pub shm_size: Option<String>,

    /// cgroup namespace: private (default: the container sees only its own
    /// cgroup) or host
    #[argh(option, default = "String::from(\"private\")")]
    pub cgroupns: String,

    /// run the command as USER[:GROUP], names or numbers (names and the
    /// user's groups and HOME from the rootfs's /etc/passwd and /etc/group)
    #[argh(option, short = 'u')]
    pub user: Option<String>,

    /// add a supplementary group, a name or a gid (repeatable)
    #[argh(option)]
    pub group_add: Vec<String>,

    /// bind mount HOST:CONTAINER[:ro] (repeatable; both paths absolute)
    #[argh(option, short = 'v')]
    pub volume: Vec<String>,

    /// the command and its arguments (put `--` before them when they start with `-`)
    #[argh(positional, greedy)]
    pub command: Vec<String>,
}

#[derive(FromArgs)]
/// Print what this host supports (user namespaces, cgroups, pivot_root)
/// and where the next container's cgroup would go; exit 0 when `run` can work.
#[argh(subcommand, name = "check", help_triggers("-h", "--help"))]
pub struct CheckArgs {}

#[derive(FromArgs)]
/// Print the version and the commit it was built from (also: --version).
#[argh(subcommand, name = "version", help_triggers("-h", "--help"))]
pub struct VersionArgs {}

/// "launcher VERSION (commit HASH)".
pub fn version() -> String {
    format!("launcher {} (commit {})", env!("CARGO_PKG_VERSION"), env!("LAUNCHER_COMMIT"))
}

/// What parsing the command line ends in: something to do, or text to print
/// and an exit code (help: 0, bad usage: 125 like docker).
pub enum Parsed {
    Run(Box<Spec>),
    Check,
    Exit { text: String, code: i32 },
}

pub fn parse(args: &[String]) -> Parsed {
    if args.first().is_some_and(|a| a == "--version") {
        return Parsed::Exit { text: version(), code: 0 };
    }
    let args = split_short_flags(args);
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    match Cli::from_args(&["launcher"], &strs) {
        Ok(cli) => match cli.command {
            Command::Check(_) => Parsed::Check,
            Command::Version(_) => Parsed::Exit { text: version(), code: 0 },
            Command::Run(run) => match build(run) {
                Ok(spec) => Parsed::Run(Box::new(spec)),
                Err(e) => Parsed::Exit { text: format!("launcher: {e}"), code: 125 },
            },
        },
        Err(early) => match early.status {
            Ok(()) => Parsed::Exit { text: early.output, code: 0 },
            Err(()) => Parsed::Exit {
                text: format!(
                    "launcher: {}\nRun `launcher --help` or `launcher run --help` for usage.",
                    early.output.trim_end()
                ),
                code: 125,
            },
        },
    }
}

/// Validates the command line (as argh parsed it) into a Spec.
fn build(input: RunArgs) -> Result<Spec, String> {
    if input.command.is_empty() {
        return Err("no command given: usage: launcher run [OPTIONS] [--] CMD [ARGS...], e.g. launcher run -- /bin/sh".into());
    }
    if input.command[0].is_empty() {
        return Err("the command is an empty string: name a program, e.g. /bin/sh".into());
    }
    let limits = Limits {
        pids: option("--pids-limit", &input.pids_limit, size::parse_pids_limit)?,
        memory: option("--memory", &input.memory, size::parse_size)?,
        memory_swap: option("--memory-swap", &input.memory_swap, size::parse_swap)?,
        cpus: option("--cpus", &input.cpus, size::parse_cpus)?,
        cpu_shares: None,
    };
    limits.validate()?;
    spec::check_hostname(&input.hostname)?;
    spec::check_workdir(&input.workdir)?;
    let rootfs = spec::check_rootfs(&input.rootfs)?;
    let shm_size = match &input.shm_size {
        Some(v) => size::parse_size(v).map_err(|e| format!("--shm-size {v:?}: {e}"))?,
        None => DEFAULT_SHM_SIZE,
    };
    let security = security(&input, &rootfs)?;
    let user = user::resolve(input.user.as_deref(), &input.group_add, &rootfs)?;
    let home = user.as_ref().map_or("/root", |(_, home)| home.as_str());
    let env = environment(&input.hostname, input.tty, home, input.env)?;
    spec::check_strings(&input.command, &env)?;
    Ok(Spec {
        rootfs,
        hostname: input.hostname,
        env,
        workdir: input.workdir,
        tty: input.tty,
        interactive: input.interactive,
        command: input.command,
        limits,
        cgroup_parent: input.cgroup_parent,
        stop_timeout: Duration::from_secs(input.stop_timeout),
        trace: input.trace || std::env::var_os("LAUNCHER_TRACE").is_some_and(|v| v != "0"),
        shm_size,
        security,
        user: user.map(|(user, _)| user),
        umask: None,
        namespaces: Namespaces::default(),
        cgroup_path: None,
        rlimits: Vec::new(),
        oom_score_adj: None,
        mqueue: false,
        extra_masked: Vec::new(),
        extra_read_only: Vec::new(),
        nodev_root: false,
        tmpfs: Vec::new(),
        sysctl: Vec::new(),
        cgroup_always: false,
    })
}

/// Parses an optional value, naming the option in the error.
fn option<T>(
    name: &str,
    value: &Option<String>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    value.as_deref().map(|v| parse(v).map_err(|e| format!("{name} {v:?}: {e}"))).transpose()
}

fn security(input: &RunArgs, rootfs: &Path) -> Result<Security, String> {
    let mut security = Security {
        caps: caps::effective_set(&input.cap_add, &input.cap_drop)?,
        no_new_privs: true,
        seccomp: Seccomp::Default,
        read_only: input.read_only,
        no_network: match input.net.as_str() {
            "host" => false,
            "none" => true,
            other => return Err(format!("--net {other:?}: use host (the default) or none")),
        },
        cgroupns: match input.cgroupns.as_str() {
            "private" => true,
            "host" => false,
            other => return Err(format!("--cgroupns {other:?}: use private (the default) or host")),
        },
        volumes: input.volume.iter().map(|v| Volume::parse(v, rootfs)).collect::<Result<_, _>>()?,
    };
    for opt in &input.security_opt {
        match opt.as_str() {
            "no-new-privileges" | "no-new-privileges=true" => security.no_new_privs = true,
            "no-new-privileges=false" => security.no_new_privs = false,
            "seccomp=unconfined" => security.seccomp = Seccomp::Off,
            other if other.starts_with("seccomp=") => {
                let file = &other["seccomp=".len()..];
                security.seccomp = Seccomp::Profile(crate::oci::seccomp::load(file, security.caps)?);
            }
            other => {
                return Err(format!(
                    "--security-opt {other:?}: supported are no-new-privileges[=true|false], \
                     seccomp=unconfined and seccomp=PROFILE.json"
                ))
            }
        }
    }
    Ok(security)
}

/// A clean environment like docker's: never the host's.
fn environment(hostname: &str, tty: bool, home: &str, extra: Vec<String>) -> Result<Vec<String>, String> {
    let mut env =
        vec![format!("PATH={DEFAULT_PATH}"), format!("HOSTNAME={hostname}"), format!("HOME={home}")];
    if tty {
        env.push("TERM=xterm".to_string());
    }
    for var in extra {
        let Some((key, _)) = var.split_once('=') else {
            return Err(format!("-e {var:?}: expected KEY=VALUE, e.g. -e {var}=1"));
        };
        if key.is_empty() {
            return Err(format!("-e {var:?}: the variable name before '=' is empty"));
        }
        let prefix = format!("{key}=");
        env.retain(|v| !v.starts_with(&prefix));
        env.push(var);
    }
    Ok(env)
}

/// argh takes one short flag per argument; docker users type `-it`.
fn split_short_flags(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut options_done = false;
    for arg in args {
        let bundle = arg.len() > 2
            && arg.starts_with('-')
            && !arg.starts_with("--")
            && arg[1..].chars().all(|c| c == 'i' || c == 't');
        if !options_done && bundle {
            out.extend(arg[1..].chars().map(|c| format!("-{c}")));
        } else {
            options_done |= arg == "--";
            out.push(arg.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_and_rejects() {
        let env = environment("h", true, "/root", vec!["PATH=/x".into(), "A=b=c".into()]).unwrap();
        assert_eq!(env, ["HOSTNAME=h", "HOME=/root", "TERM=xterm", "PATH=/x", "A=b=c"]);
        assert!(environment("h", false, "/", vec!["NOEQUALS".into()]).is_err());
        assert!(environment("h", false, "/", vec!["=v".into()]).is_err());
    }

    use crate::size;

    use crate::testrng::Rng;

    impl Rng {
        fn junk(&mut self) -> String {
            const PIECES: &[&str] = &[
                "0",
                "1",
                "-1",
                "10",
                "0.5",
                ".",
                "-",
                "--",
                "=",
                "k",
                "m",
                "g",
                "t",
                "b",
                "kb",
                "x",
                " ",
                "\u{e9}",
                "18446744073709551615",
                "99999999999999999999999",
                "1e9",
                "/",
                "..",
                ":",
                ":ro",
                "ALL",
                "NET_ADMIN",
                "\u{0}",
                "\u{202e}",
                "nan",
                "inf",
                "0x10",
                "+5",
                "5.5.5",
            ];
            (0..self.next() % 5).map(|_| *self.pick(PIECES)).collect()
        }
    }

    /// Property: no command line, however odd, makes the parser panic; it
    /// ends in a spec, a check, or a message with an exit code.
    #[test]
    fn parser_never_panics_on_random_command_lines() {
        const WORDS: &[&str] = &[
            "run",
            "check",
            "--rootfs",
            "/",
            "/nonexistent",
            "--hostname",
            "-e",
            "--env",
            "-w",
            "-t",
            "-i",
            "-it",
            "--pids-limit",
            "--memory",
            "--memory-swap",
            "--cpus",
            "--cgroup-parent",
            "--stop-timeout",
            "--trace",
            "--cap-add",
            "--cap-drop",
            "--security-opt",
            "--read-only",
            "--net",
            "-v",
            "--volume",
            "-u",
            "--user",
            "--group-add",
            "--",
            "/bin/sh",
            "--help",
            "-h",
            "--bogus",
        ];
        let mut rng = Rng(0x5eed_1234_abcd_9876);
        for _ in 0..20_000 {
            let args: Vec<String> = (0..rng.next() % 9)
                .map(|_| if rng.next().is_multiple_of(3) { rng.junk() } else { rng.pick(WORDS).to_string() })
                .collect();
            match parse(&args) {
                Parsed::Exit { text, code } => {
                    assert!(code == 0 || (code == 125 && !text.is_empty()), "{args:?}")
                }
                Parsed::Run(_) | Parsed::Check => {}
            }
        }
    }

    #[test]
    fn size_parsers_never_panic_and_never_accept_zero() {
        let mut rng = Rng(0xfeed_face_cafe_beef);
        for _ in 0..50_000 {
            let s = rng.junk();
            if let Ok(bytes) = size::parse_size(&s) {
                assert!(bytes > 0, "{s:?} parsed as 0 bytes");
            }
            let _ = size::parse_swap(&s);
            let _ = size::parse_cpus(&s);
            if let Ok(n) = size::parse_pids_limit(&s) {
                assert!(n > 0, "{s:?} parsed as 0 pids");
            }
        }
    }
}
