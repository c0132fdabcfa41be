//! Resource limits on real cgroups: the host's layout (this machine: v1
//! controllers beside a cgroup2 mount). Pure cgroup v2 is tested in a VM
//! (scripts/test-vm.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The host directories of the cgroups a process is in, for the controllers
/// that a limit touches ("pids", "memory", "cpu"), read from /proc/PID/cgroup.
fn cgroup_dirs(pid: u32) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let pure_v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let dir = match controllers {
                "" if pure_v2 => format!("/sys/fs/cgroup{path}"),
                "" => format!("/sys/fs/cgroup/unified{path}"),
                c if ["pids", "memory", "cpu", "cpu,cpuacct"].contains(&c) => {
                    format!("/sys/fs/cgroup/{c}{path}")
                }
                _ => return None,
            };
            dir.contains("/launcher-").then(|| PathBuf::from(dir))
        })
        .collect()
}

/// The container's init: the launcher's only child.
fn init_pid(launcher: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// Waits until the container runs and its cgroups exist; returns their directories.
fn wait_for_cgroups(launcher: &Child) -> (u32, Vec<PathBuf>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(init) = init_pid(launcher.id()) {
            let dirs = cgroup_dirs(init);
            if !dirs.is_empty() {
                return (init, dirs);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the container's cgroups did not appear within 10 s");
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

/// One at a time: each run with limits sweeps cgroups of dead launchers, so a
/// test that looks at a stale cgroup must not race the others.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn terminate(launcher: &mut Child) -> Option<i32> {
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(launcher.id() as i32, libc::SIGTERM) };
    launcher.wait().unwrap().code()
}

fn assert_gone(dirs: &[PathBuf]) {
    for dir in dirs {
        assert!(!dir.exists(), "cgroup {} left behind", dir.display());
    }
}

#[test]
fn pids_limit_stops_a_fork_bomb_and_everything_is_removed() {
    let _serial = serial();
    // The subshell forks until the limit refuses; then the shell becomes a
    // sleep (exec, no fork) so the container stays up to be counted.
    let sleep = long_sleep();
    let script = format!(
        "(i=0; while [ $i -lt 100 ]; do sleep {sleep} & i=$((i+1)); done) 2>/dev/null; exec sleep {sleep}"
    );
    let mut launcher = Running(
        launcher(&["--pids-limit", "10", "--", "/bin/sh", "-c", &script])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (_, dirs) = wait_for_cgroups(&launcher);
    let pids_dir = dirs.iter().find(|d| d.join("pids.max").exists()).expect("no pids cgroup").clone();
    assert_eq!(std::fs::read_to_string(pids_dir.join("pids.max")).unwrap().trim(), "10");
    // Wait until the kernel has refused a fork (pids.events counts refusals).
    let refused = || {
        let events = std::fs::read_to_string(pids_dir.join("pids.events")).unwrap_or_default();
        events.lines().any(|l| l.starts_with("max ") && l != "max 0")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !refused() {
        assert!(Instant::now() < deadline, "no fork was refused within 10 s");
        let tasks = count_lines(&pids_dir.join("tasks"));
        assert!(tasks <= 10, "{tasks} tasks in a cgroup limited to 10");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let tasks = count_lines(&pids_dir.join("tasks"));
    assert!((7..=10).contains(&tasks), "{tasks} tasks: expected the sleeps to fill the limit of 10");
    // The launcher still answers: SIGTERM is forwarded to the sleep, which dies of it.
    assert_eq!(terminate(&mut launcher), Some(143));
    assert_gone(&dirs);
    let sleepers = Command::new("pgrep").args(["-f", &format!("sleep {sleep}")]).output().unwrap();
    assert!(stdout(&sleepers).trim().is_empty(), "processes survived: {}", stdout(&sleepers));
}

#[test]
fn memory_hog_is_killed_with_137_and_an_oom_message() {
    let _serial = serial();
    let out = output(&mut launcher(&[
        "--memory",
        "50m",
        "--",
        "/bin/sh",
        "-c",
        "head -c 100000000 /dev/zero | tail",
    ]));
    assert_code(&out, 137);
    let err = stderr(&out);
    assert!(err.contains("ran out of memory") && err.contains("50m"), "no OOM report:\n{err}");
}

#[test]
fn memory_below_the_limit_runs() {
    let _serial = serial();
    let out = output(&mut launcher(&[
        "--memory",
        "50m",
        "--",
        "/bin/sh",
        "-c",
        "head -c 10000000 /dev/zero | tail | wc -c",
    ]));
    assert_code(&out, 0);
}

#[test]
fn the_container_keeps_the_launchers_cpu_affinity() {
    // With limits the launcher moves the starting container off its own CPU
    // while it makes the cgroup; the command and PID 1 must end up with the
    // launcher's affinity all the same, whatever that is.
    let _serial = serial();
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    assert!(cpus >= 2, "this test needs 2 CPUs to see the move (the machine has {cpus})");
    let args = ["--pids-limit", "10", "--memory", "50m", "--", "/bin/sh", "-c"];
    let script = "grep Cpus_allowed_list /proc/1/status /proc/self/status";
    let all = format!("0-{}", cpus - 1);
    for (set, want) in [(None, all.as_str()), (Some("1"), "1"), (Some("0,1"), "0-1")] {
        let mut cmd = match set {
            None => launcher(&args),
            Some(set) => {
                let mut cmd = Command::new("taskset");
                cmd.args(["-c", set, launcher_bin(), "run", "--rootfs"]).arg(rootfs()).args(args);
                cmd
            }
        };
        cmd.arg(script);
        let out = output(&mut cmd);
        assert_code(&out, 0);
        let text = stdout(&out);
        let lists: Vec<&str> = text.lines().map(|l| l.rsplit('\t').next().unwrap_or("")).collect();
        assert_eq!(lists, [want, want], "launcher under taskset {set:?}:\n{text}");
    }
}

#[test]
fn cpus_sets_the_quota() {
    let _serial = serial();
    let mut launcher =
        Running(launcher(&["--cpus", "0.5", "--", "/bin/sleep", &long_sleep()]).spawn().unwrap());
    let (_, dirs) = wait_for_cgroups(&launcher);
    let quota = dirs.iter().find_map(|d| {
        let v1 = std::fs::read_to_string(d.join("cpu.cfs_quota_us")).ok();
        let period = std::fs::read_to_string(d.join("cpu.cfs_period_us")).ok();
        match (v1, period) {
            (Some(q), Some(p)) => Some(format!("{} {}", q.trim(), p.trim())),
            _ => std::fs::read_to_string(d.join("cpu.max")).ok().map(|s| s.trim().to_string()),
        }
    });
    assert_eq!(quota.as_deref(), Some("50000 100000"));
    assert_eq!(terminate(&mut launcher), Some(143));
    assert_gone(&dirs);
}

#[test]
fn cgroup_is_below_the_launchers_own_and_removed_after_a_kill() {
    let _serial = serial();
    let mut launcher =
        launcher(&["--pids-limit", "20", "--memory", "64m", "--", "/bin/sleep", &long_sleep()])
            .spawn()
            .unwrap();
    let (init, dirs) = wait_for_cgroups(&launcher);
    assert!(dirs.len() >= 2, "pids and memory cgroups expected: {dirs:?}");
    // Like runc: each leaf is beneath the cgroup the launcher itself is in.
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", launcher.id())).unwrap();
    for dir in &dirs {
        let controller = dir.strip_prefix("/sys/fs/cgroup").unwrap().iter().next().unwrap().to_str().unwrap();
        let own_path = own
            .lines()
            .find_map(|l| l.split_once(&format!(":{controller}:")).map(|(_, p)| p.to_string()))
            .unwrap_or_default();
        let expected_parent = format!("/sys/fs/cgroup/{controller}{}", own_path.trim_end_matches('/'));
        assert_eq!(
            dir.parent().unwrap(),
            Path::new(&expected_parent),
            "{dir:?} not beneath the launcher's own"
        );
    }
    // Kill the command from the host; the launcher reports it and cleans up.
    let sleep = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children")).unwrap();
    let sleep: i32 = sleep.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(sleep, libc::SIGKILL) };
    assert_eq!(launcher.wait().unwrap().code(), Some(137));
    assert_gone(&dirs);
}

#[test]
fn cgroup_of_a_sigkilled_launcher_is_removed_by_the_next_run() {
    let _serial = serial();
    let mut first =
        Running(launcher(&["--pids-limit", "20", "--", "/bin/sleep", &long_sleep()]).spawn().unwrap());
    let (init, dirs) = wait_for_cgroups(&first);
    first.kill().unwrap();
    first.wait().unwrap();
    // The container dies with its launcher (PR_SET_PDEATHSIG on init) ...
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{init}")).exists() {
        assert!(Instant::now() < deadline, "init {init} outlived its launcher");
        std::thread::sleep(Duration::from_millis(10));
    }
    // ... but nobody removed its cgroup: the next run does.
    assert!(dirs.iter().all(|d| d.exists()), "expected the stale cgroup to remain until the next run");
    assert_code(&output(&mut launcher(&["--pids-limit", "20", "--", "/bin/true"])), 0);
    assert_gone(&dirs);
}

#[test]
fn a_start_that_fails_while_the_cgroup_is_made_reports_inits_error_and_leaves_nothing() {
    let _serial = serial();
    // A read-only rootfs without /proc: init fails at its first mount, which
    // is usually before the launcher has made the cgroup and sent it (init
    // runs on the other CPU meanwhile; the send then finds the channel closed,
    // in 31 of 50 runs here), sometimes after. Either way the error is init's,
    // and the cgroup is removed.
    let copy = rootfs_copy("noproc");
    std::fs::remove_dir(copy.join("proc")).unwrap();
    let script = format!(
        "mount --bind -o ro {copy} {copy} && {bin} run --rootfs {copy} --pids-limit 10 --memory 50m -- /bin/true",
        copy = copy.display(),
        bin = launcher_bin()
    );
    let out = Command::new("unshare").args(["--mount", "sh", "-c", &script]).output().unwrap();
    std::fs::remove_dir_all(&copy).unwrap();
    assert_code(&out, 125);
    assert_eq!(
        stderr(&out).trim(),
        "launcher: mount /proc: No such file or directory",
        "one line, init's error"
    );
    let left = Command::new("find").args(["/sys/fs/cgroup", "-name", "launcher-[0-9]*"]).output().unwrap();
    assert!(left.stdout.is_empty(), "cgroups left behind:\n{}", stdout(&left));
}

#[test]
fn no_limit_means_no_cgroup() {
    let _serial = serial();
    let out = output(&mut launcher(&["--", "/bin/cat", "/proc/self/cgroup"]));
    assert_code(&out, 0);
    assert!(!stdout(&out).contains("launcher-"), "a cgroup was made without limits:\n{}", stdout(&out));
}

#[test]
fn bad_limits_are_refused() {
    let _serial = serial();
    for (args, message) in [
        (&["--memory", "abc"][..], "--memory \"abc\""),
        (&["--memory", "0"], "--memory \"0\""),
        (&["--pids-limit", "ten"], "--pids-limit \"ten\""),
        (&["--pids-limit", "0"], "--pids-limit \"0\""),
        (&["--cpus", "0"], "--cpus \"0\""),
        (&["--cpus", "-1"], "--cpus \"-1\""),
        (&["--memory-swap", "10m"], "--memory-swap"),
    ] {
        let mut cmd = launcher(args);
        let out = output(cmd.arg("/bin/true"));
        assert_code(&out, 125);
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn rootless_limits_use_the_delegated_cgroup_and_refuse_without_it() {
    let _serial = serial();
    let (uid, _) = test_user();
    let script = repo_root().join("scripts/cgroup.sh");
    // Without delegation: a clear refusal that names the fix, never a silent run.
    let _ = Command::new(&script).args(["--remove", TEST_USER]).output();
    // The cgroup is made after the clone, while init sets up: the refusal
    // must also end that init, which never forks the command.
    let sleep = long_sleep();
    let out = output(&mut launcher_rootless(&["--pids-limit", "10", "--", "sleep", &sleep]));
    assert_code(&out, 125);
    assert!(stderr(&out).contains("sudo make cgroup"), "{}", stderr(&out));
    let left = Command::new("pgrep").args(["-f", &sleep]).output().unwrap();
    assert!(left.stdout.is_empty(), "processes left behind: {}", stdout(&left));
    // With it (what `sudo make cgroup` does): the limit is enforced.
    let made = Command::new(&script).arg(TEST_USER).output().unwrap();
    assert!(made.status.success(), "scripts/cgroup.sh {TEST_USER}: {}", stderr(&made));
    // The host's cgroup namespace, so that /proc/self/cgroup shows where it is.
    let out = output(&mut launcher_rootless(&[
        "--cgroupns",
        "host",
        "--pids-limit",
        "5",
        "--memory",
        "50m",
        "--",
        "/bin/sh",
        "-c",
        "cat /proc/self/cgroup; (for i in 1 2 3 4 5 6; do sleep 5 & done) 2>&1 | grep -c fork",
    ]));
    let removed = Command::new(&script).args(["--remove", TEST_USER]).output().unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.contains(&format!("launcher.user-{uid}/launcher-")), "not in the delegated cgroup:\n{text}");
    assert!(
        text.trim_end().ends_with('1') || text.trim_end().ends_with('2'),
        "forks were not refused:\n{text}"
    );
    assert!(removed.status.success(), "scripts/cgroup.sh --remove: {}", stderr(&removed));
}
