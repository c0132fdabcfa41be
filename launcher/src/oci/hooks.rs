//! OCI hooks: programs the engine names in config.json, run by the runtime
//! at points of the container's life with its state on stdin.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::state::State;

#[derive(Clone, Debug, Default)]
pub struct Hook {
    pub path: String,
    /// argv, the program's name first (the spec's `args`).
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub timeout: Option<Duration>,
}

#[derive(Clone, Debug, Default)]
pub struct Hooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

/// Runs `hooks` in order; the first failure ends the list with an error
/// naming the hook.
pub fn run(hooks: &[Hook], st: &State, point: &str) -> Result<(), String> {
    for (i, hook) in hooks.iter().enumerate() {
        let what = format!("hooks.{point}[{i}] {}", hook.path);
        let mut cmd = Command::new(&hook.path);
        if let Some((first, rest)) = hook.args.split_first() {
            std::os::unix::process::CommandExt::arg0(&mut cmd, first);
            cmd.args(rest);
        }
        cmd.env_clear();
        for var in &hook.env {
            if let Some((k, v)) = var.split_once('=') {
                cmd.env(k, v);
            }
        }
        let mut child = cmd.stdin(Stdio::piped()).spawn().map_err(|e| format!("{what}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(st.oci_json().to_string().as_bytes());
        }
        let deadline = hook.timeout.map(|t| Instant::now() + t);
        let status = loop {
            match child.try_wait().map_err(|e| format!("{what}: {e}"))? {
                Some(status) => break status,
                None if deadline.is_some_and(|d| Instant::now() >= d) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{what}: did not finish within its timeout, killed"));
                }
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        };
        if !status.success() {
            return Err(format!("{what}: failed ({status})"));
        }
    }
    Ok(())
}
