//! Signals sent to the launcher reach the command, whatever the moment; the
//! stop timeout ends a command that ignores them; PID 1 reaps orphans.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn kill(child: &Child, sig: libc::c_int) {
    // SAFETY: kill has no memory arguments.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0, "kill({}, {sig})", child.id());
}

/// Waits at most `patience`, killing the launcher and failing after that.
#[track_caller]
fn wait_for(child: &mut Child, patience: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: the launcher was still running after {patience:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts `cmd` with stdout piped and returns once it printed "ready".
fn start(cmd: &mut Command) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn the launcher");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    if line != "ready\n" {
        let _ = child.kill();
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("the command did not start: stdout {line:?}, stderr {err:?}");
    }
    (child, out)
}

fn trapping(name: &str) -> String {
    format!("trap 'echo got {name}; exit 0' {name}; echo ready; while :; do sleep 0.1; done")
}

#[test]
fn forwarded_signals_reach_a_trapping_command() {
    let signals =
        [("TERM", libc::SIGTERM), ("INT", libc::SIGINT), ("HUP", libc::SIGHUP), ("USR1", libc::SIGUSR1)];
    for (name, sig) in signals {
        for rootless in [false, true] {
            let script = trapping(name);
            let args = ["--", "/bin/sh", "-c", &script];
            let mut cmd = if rootless { launcher_rootless(&args) } else { launcher(&args) };
            let what = format!("SIG{name}{}", if rootless { " rootless" } else { "" });
            let (mut child, mut out) = start(&mut cmd);
            kill(&child, sig);
            let status = wait_for(&mut child, Duration::from_secs(5), &what);
            let mut rest = String::new();
            out.read_to_string(&mut rest).unwrap();
            assert_eq!(rest, format!("got {name}\n"), "{what}: the trap did not run ({status:?})");
            assert_eq!(status.code(), Some(0), "{what}");
        }
    }
}

#[test]
fn stop_timeout_kills_a_command_that_ignores_sigterm() {
    for rootless in [false, true] {
        let script = "trap '' TERM INT; echo ready; while :; do sleep 0.1; done";
        let args = ["--stop-timeout", "1", "--", "/bin/sh", "-c", script];
        let mut cmd = if rootless { launcher_rootless(&args) } else { launcher(&args) };
        let (mut child, _out) = start(&mut cmd);
        let sent = Instant::now();
        kill(&child, libc::SIGTERM);
        let status = wait_for(&mut child, Duration::from_secs(5), "--stop-timeout 1");
        let took = sent.elapsed();
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!(status.code(), Some(137), "killed after the stop timeout: {status:?}, stderr {err:?}");
        // A lower bound the launcher's own timer sets: it did wait.
        assert!(took >= Duration::from_millis(900), "killed after {took:?}, before the 1 s stop timeout");
        assert!(err.contains("--stop-timeout"), "no word of the stop timeout on stderr: {err:?}");
    }
}

#[test]
fn a_signal_sent_right_after_spawn_is_not_lost() {
    // Sent before the command can have started, at several moments: the
    // launcher must end promptly each time. Acceptable ends: the trap ran (0),
    // the command got it before its trap was set (143), or the launcher got
    // it before it had made anything (killed by SIGTERM). Not acceptable: a
    // hang, or a kill by the stop timeout (the container never got it).
    for delay_us in [0u64, 100, 300, 1000, 2000, 3000, 5000, 10000] {
        let script = trapping("TERM");
        let mut child = launcher(&["--stop-timeout", "30", "--", "/bin/sh", "-c", &script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(delay_us));
        kill(&child, libc::SIGTERM);
        let what = format!("SIGTERM {delay_us} µs after spawn");
        let status = wait_for(&mut child, Duration::from_secs(5), &what);
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        let ok = match status.code() {
            Some(0) => out.ends_with("got TERM\n"),
            Some(143) => true,
            Some(_) => false,
            None => std::os::unix::process::ExitStatusExt::signal(&status) == Some(libc::SIGTERM),
        };
        assert!(ok, "{what}: {status:?}, stdout {out:?}");
    }
}

#[test]
fn orphans_are_reaped_promptly() {
    // Twenty orphans exit at once; within 100 ms none may be left a zombie.
    // Sampling uses only shell builtins, so the sampler makes no zombies itself.
    let script = r#"
        zombies() {
            found=
            for f in /proc/[0-9]*/stat; do
                read -r line < "$f" 2>/dev/null || continue
                set -- $line
                [ "$3" = Z ] && found="$found [$1 $2 $3 ppid $4]"
            done
            echo "${found:-none}"
        }
        i=0; while [ $i -lt 20 ]; do (sleep 0.05 &); i=$((i+1)); done
        sleep 0.1
        for t in 1 2 3 4 5; do zombies; sleep 0.02; done
    "#;
    for rootless in [false, true] {
        let args = ["--", "/bin/sh", "-c", script];
        let mut cmd = if rootless { launcher_rootless(&args) } else { launcher(&args) };
        let out = output(&mut cmd);
        assert_code(&out, 0);
        let text = stdout(&out);
        let samples: Vec<&str> = text.lines().collect();
        assert_eq!(samples.len(), 5, "five samples expected:\n{text}");
        // The first sample may catch an orphan between its exit and its reaping.
        assert!(
            samples[1..].iter().all(|s| *s == "none"),
            "zombies not reaped (rootless: {rootless}):\n{text}"
        );
    }
}

/// `cmd` with `ignored` set to SIG_IGN in the launcher, as a caller such as
/// `nohup`, a non-interactive shell's `&`, or a daemon would leave them.
fn ignoring(mut cmd: Command, ignored: &'static [libc::c_int]) -> Command {
    // SAFETY: signal(2) is async-signal-safe and allocates nothing.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            for &sig in ignored {
                libc::signal(sig, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    cmd
}

#[test]
fn a_caller_ignoring_sigchld_does_not_hang_the_launcher() {
    // SIGCHLD at SIG_IGN makes the kernel reap the launcher's child (init) by
    // itself and send no SIGCHLD: the launcher must set it back to default.
    let mut child = ignoring(launcher(&["--", "/bin/sh", "-c", "exit 3"]), &[libc::SIGCHLD])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_for(
        &mut child,
        Duration::from_secs(5),
        "KNOWN BUG (launcher/src/signals.rs SignalFd::block, child.rs exec_init): with SIGCHLD \
         ignored by the caller the launcher never learns that init exited; set every signal it \
         blocks back to SIG_DFL",
    );
    assert_eq!(status.code(), Some(3));
}

#[test]
fn the_command_starts_with_default_signal_dispositions() {
    // docker's containers start with no signal ignored, whatever the client's state.
    let ignored = &[libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGXFSZ];
    for rootless in [false, true] {
        let args = ["--", "/bin/grep", "SigIgn", "/proc/self/status"];
        let cmd = if rootless { launcher_rootless(&args) } else { launcher(&args) };
        let out = output(&mut ignoring(cmd, ignored));
        assert_code(&out, 0);
        assert_eq!(
            stdout(&out).split_whitespace().nth(1),
            Some("0000000000000000"),
            "KNOWN BUG (launcher/src/child.rs exec_init resets only SIGPIPE): the caller's ignored \
             signals leak into the container, so e.g. Ctrl-C cannot interrupt a foreground job; \
             reset every signal 1..=64 to SIG_DFL before exec'ing init (rootless: {rootless}): {}",
            stdout(&out)
        );
    }
}
