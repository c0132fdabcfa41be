//! The OCI runtime commands (create, start, state, kill, delete, run, exec,
//! ...), which engines such as podman, containerd and docker call, each verb
//! a new process. JSON is parsed only on this path: `launcher run` never
//! pays for it.
//!
//! The command line is runc's: global options (`--root`, `--log`,
//! `--log-format`), then the verb, its options and the container's ID.

pub(crate) mod config;
mod exec;
mod holder;
mod hooks;
mod lifecycle;
mod process;
pub(crate) mod seccomp;
mod skeleton;
pub(crate) mod state;

use std::io::Write;
use std::path::PathBuf;

/// The verbs only the OCI front end has. `run` is shared: it is the OCI one
/// when a global option comes first or it names a bundle (see `is_oci`).
const VERBS: &[&str] =
    &["create", "start", "state", "kill", "delete", "exec", "list", "ps", "spec", "features", "events"];
const GLOBAL_OPTIONS: &[&str] =
    &["--root", "--log", "--log-format", "--debug", "--systemd-cgroup", "--rootless", "--criu"];
/// runc's options of `run` and `create` that `launcher run` does not have.
const OCI_RUN_OPTIONS: &[&str] = &["--bundle", "-b", "--detach", "-d", "--pid-file", "--console-socket"];

/// Whether `launcher ARGS` is an OCI runtime command line.
pub fn is_oci(args: &[String]) -> bool {
    let Some(first) = args.first() else { return false };
    let option_name = first.split('=').next().unwrap_or(first);
    if VERBS.contains(&first.as_str()) || GLOBAL_OPTIONS.contains(&option_name) {
        return true;
    }
    first == "run"
        && args[1..]
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| OCI_RUN_OPTIONS.contains(&a.split('=').next().unwrap_or(a)))
}

/// Options before the verb.
pub struct Globals {
    pub root: PathBuf,
    log: Option<PathBuf>,
    json_log: bool,
}

impl Globals {
    /// Reports an error as the engines read it: on stderr, and in the log
    /// file in the format asked for (containerd's shim shows the last JSON
    /// line's "msg").
    fn error(&self, message: &str) {
        crate::status::say(message);
        let Some(path) = &self.log else { return };
        let line = if self.json_log {
            let entry = serde_json::json!({
                "level": "error",
                "msg": message,
                "time": state::now_rfc3339(),
            });
            format!("{entry}\n")
        } else {
            format!("{} error: {message}\n", state::now_rfc3339())
        };
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Runs an OCI command line; returns the exit code (runc's: 1 for an error
/// of the runtime; `run` and `exec` pass the container's status on).
pub fn main(args: &[String]) -> i32 {
    let args = split_equals(args);
    let mut globals = Globals { root: state::default_root(), log: None, json_log: false };
    let mut rest = args.as_slice();
    while let Some(arg) = rest.first() {
        let value = || rest.get(1).cloned().ok_or_else(|| format!("{arg} needs a value"));
        let taken = match arg.as_str() {
            "--root" => value().map(|v| globals.root = PathBuf::from(v)),
            "--log" => value().map(|v| globals.log = Some(PathBuf::from(v))),
            "--log-format" => value().and_then(|v| {
                globals.json_log = match v.as_str() {
                    "json" => true,
                    "text" => false,
                    other => return Err(format!("--log-format {other:?}: use text or json")),
                };
                Ok(())
            }),
            "--rootless" | "--criu" => value().map(|_| ()),
            "--debug" => {
                rest = &rest[1..];
                continue;
            }
            "--systemd-cgroup" => Err(
                "--systemd-cgroup: launcher manages cgroups through the filesystem only: use the engine's cgroupfs manager (podman --cgroup-manager cgroupfs; containerd's runc options SystemdCgroup = false)".into(),
            ),
            _ => break,
        };
        if let Err(e) = taken {
            globals.error(&e);
            return 1;
        }
        rest = &rest[2..];
    }
    match lifecycle::dispatch(&globals, rest) {
        Ok(code) => code,
        Err(message) => {
            globals.error(&message);
            1
        }
    }
}

/// `--opt=value` as two arguments, as the parsers here and argh want them
/// (podman passes some options that way). Stops at `--` and at the first
/// argument of an `exec`'s command.
fn split_equals(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut done = false;
    let mut in_exec = false;
    for arg in args {
        // `exec ID CMD ARGS`: the command's own arguments stay as they are.
        done |= arg == "--" || (in_exec && !arg.starts_with('-'));
        in_exec |= arg == "exec";
        match arg.split_once('=') {
            Some((name, value)) if !done && name.starts_with("--") => {
                out.push(name.to_string());
                out.push(value.to_string());
            }
            _ => out.push(arg.clone()),
        }
    }
    out
}

/// A verb's options and positional arguments, parsed by a table of which
/// options take a value: runc's command line, where engines pass options we
/// accept and need not act on (--no-new-keyring, --no-pivot).
pub struct Parsed {
    options: Vec<(String, Option<String>)>,
    pub positional: Vec<String>,
}

impl Parsed {
    /// `with_value` and `switches` name the options (long and short forms).
    pub fn new(
        verb: &str,
        args: &[String],
        with_value: &[&str],
        switches: &[&str],
    ) -> Result<Parsed, String> {
        let mut options = Vec::new();
        let mut positional = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "--" {
                positional.extend(iter.cloned());
                break;
            }
            if !positional.is_empty() || !arg.starts_with('-') || arg == "-" {
                positional.push(arg.clone());
                continue;
            }
            if with_value.contains(&arg.as_str()) {
                let value = iter.next().ok_or_else(|| format!("{verb} {arg}: needs a value"))?;
                options.push((arg.clone(), Some(value.clone())));
            } else if switches.contains(&arg.as_str()) {
                options.push((arg.clone(), None));
            } else {
                return Err(format!("{verb}: unknown option {arg}: see `launcher --help`"));
            }
        }
        Ok(Parsed { options, positional })
    }

    pub fn value(&self, names: &[&str]) -> Option<&str> {
        self.options.iter().rev().find(|(n, _)| names.contains(&n.as_str())).and_then(|(_, v)| v.as_deref())
    }

    pub fn has(&self, names: &[&str]) -> bool {
        self.options.iter().any(|(n, _)| names.contains(&n.as_str()))
    }

    /// The container ID: the first positional argument.
    pub fn id(&self, verb: &str) -> Result<&str, String> {
        self.positional.first().map(String::as_str).ok_or_else(|| format!("{verb}: no container ID given"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn oci_command_lines_are_told_from_launcher_run() {
        assert!(is_oci(&strings(&["create", "--bundle", "b", "x"])));
        assert!(is_oci(&strings(&["--root", "/r", "state", "x"])));
        assert!(is_oci(&strings(&["--log-format=json", "start", "x"])));
        assert!(is_oci(&strings(&["run", "--bundle", "b", "x"])));
        assert!(is_oci(&strings(&["run", "-d", "x"])));
        assert!(!is_oci(&strings(&["run", "--", "/bin/sh"])));
        assert!(!is_oci(&strings(&["run", "--rootfs", "r", "--", "sh", "-b"])));
        assert!(!is_oci(&strings(&["check"])));
    }

    #[test]
    fn verb_options() {
        let args = strings(&["--bundle", "/b", "--no-new-keyring", "id1"]);
        let p = Parsed::new("create", &args, &["--bundle"], &["--no-new-keyring"]).unwrap();
        assert_eq!(p.value(&["--bundle", "-b"]), Some("/b"));
        assert!(p.has(&["--no-new-keyring"]));
        assert_eq!(p.id("create").unwrap(), "id1");
        assert!(Parsed::new("create", &strings(&["--what", "x"]), &[], &[]).is_err());
        assert_eq!(
            split_equals(&strings(&["--log-format=json", "exec", "--", "a=b"])),
            ["--log-format", "json", "exec", "--", "a=b"]
        );
    }
}
