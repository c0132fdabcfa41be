//! `--trace`: the phases of start-up as measured by the launcher, init and
//! the command's process, merged on one clock. Only orders are checked, never
//! durations: a busy machine changes every number but no order.

mod common;

use std::process::Output;

use common::*;

/// One printed phase: (offset in us, process, phase).
type Event = (u64, String, String);

/// init's phases in the order its code reaches them, all of which a plain
/// successful run goes through.
const INIT_PHASES: [&str; 9] = [
    "started, config record read",
    "hostname set",
    "/ made private, rootfs bound",
    "/proc mounted",
    "/dev made",
    "/sys bound",
    "/sys read-only, config mounts, /tmp done",
    "pivot_root done, old root detached",
    "workdir, pty, signalfd ready: forking",
];
const COMMAND_PHASES: [&str; 3] =
    ["forked", "signals unblocked, session (and tty) set", "caps and seccomp set: execve"];

/// The trace lines of stderr ("launcher: trace   1234 us  init      started"),
/// and every other line but the trace's notes ("launcher: trace isolation: ...").
fn parse(out: &Output) -> (Vec<Event>, Vec<String>) {
    let mut events = Vec::new();
    let mut other = Vec::new();
    for line in stderr(out).lines() {
        let Some(rest) = line.strip_prefix("launcher: trace ") else {
            other.push(line.to_string());
            continue;
        };
        if !rest.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let parsed = (|| {
            let (us, rest) = rest.trim_start().split_once(' ')?;
            let rest = rest.trim_start().strip_prefix("us")?.trim_start();
            let (who, phase) = rest.split_once(' ')?;
            Some((us.parse().ok()?, who.to_string(), phase.trim().to_string()))
        })();
        events.push(parsed.unwrap_or_else(|| panic!("malformed trace line {line:?}\n{}", stderr(out))));
    }
    (events, other)
}

/// Where `who`'s `phase` was printed; fails unless it was printed exactly once.
#[track_caller]
fn position(events: &[Event], who: &str, phase: &str, out: &Output) -> usize {
    let found: Vec<usize> =
        (0..events.len()).filter(|&i| events[i].1 == who && events[i].2 == phase).collect();
    assert_eq!(
        found.len(),
        1,
        "{who} {phase:?} printed {} times, wanted once:\n{}",
        found.len(),
        stderr(out)
    );
    found[0]
}

/// What every successful traced run must show: each phase once, in time
/// order, both sides present, and the orders that causality imposes across
/// processes, which catch a wrong conversion between their clocks.
#[track_caller]
fn check_full_trace(out: &Output) -> Vec<Event> {
    let (events, other) = parse(out);
    assert!(other.is_empty(), "stderr has lines other than the trace: {other:?}\n{}", stderr(out));
    let offsets: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "offsets go backwards: {offsets:?}\n{}", stderr(out));
    for (i, e) in events.iter().enumerate() {
        assert!(
            !events[..i].iter().any(|p| p.1 == e.1 && p.2 == e.2),
            "{} {:?} printed twice:\n{}",
            e.1,
            e.2,
            stderr(out)
        );
    }
    // Which isolation is in force, said once, before the timings.
    let text = stderr(out);
    let notes: Vec<&str> =
        text.lines().filter_map(|l| l.strip_prefix("launcher: trace isolation: ")).collect();
    assert_eq!(notes.len(), 1, "want one isolation note:\n{}", stderr(out));
    assert!(notes[0].starts_with("a user namespace of its own; root inside is "), "{}", stderr(out));
    let at = |who, phase| position(&events, who, phase, out);
    let cloned = at("launcher", "cloned");
    let maps = at("launcher", "id maps written");
    let exec_seen = at("launcher", "command exec'd (channel closed)");
    assert!(cloned < maps, "clone before the id maps:\n{}", stderr(out));
    // Each process's own phases come in program order...
    let init: Vec<usize> = INIT_PHASES.iter().map(|p| at("init", p)).collect();
    let command: Vec<usize> = COMMAND_PHASES.iter().map(|p| at("command", p)).collect();
    for steps in [&init, &command] {
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "phases out of program order:\n{}", stderr(out));
    }
    // ... and across processes as causes precede effects: init runs only
    // after the launcher wrote the maps and sent "go"; the command forks off
    // init; the launcher sees the channel close only after the exec.
    assert!(maps < init[0], "init started before the launcher wrote the id maps:\n{}", stderr(out));
    assert!(
        init[INIT_PHASES.len() - 1] < command[0],
        "the command forked before init forked it:\n{}",
        stderr(out)
    );
    assert!(
        command[COMMAND_PHASES.len() - 1] < exec_seen,
        "the exec was seen before it was made:\n{}",
        stderr(out)
    );
    at("launcher", "container exited");
    events
}

#[test]
fn trace_shows_launcher_init_and_command_phases_in_time_order() {
    let out = output(&mut launcher(&["--trace", "--", "/bin/echo", "hello"]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "hello\n", "the trace goes to stderr only");
    let events = check_full_trace(&out);
    let launcher: Vec<&str> = events.iter().filter(|e| e.1 == "launcher").map(|e| e.2.as_str()).collect();
    assert_eq!(
        launcher,
        [
            "command line parsed",
            "prepared",
            "cloned",
            "id maps written",
            "released",
            "command exec'd (channel closed)",
            "container exited"
        ],
        "the launcher's phases, no cgroup asked for:\n{}",
        stderr(&out)
    );
}

#[test]
fn launcher_trace_variable_turns_it_on() {
    let out = output(launcher(&["--", "/bin/true"]).env("LAUNCHER_TRACE", "1"));
    assert_code(&out, 0);
    check_full_trace(&out);
}

#[test]
fn nothing_on_stderr_without_trace() {
    let out = output(&mut launcher(&["--", "/bin/true"]));
    assert_code(&out, 0);
    assert_eq!(stderr(&out), "", "a successful run without --trace prints nothing");
    let out = output(launcher(&["--", "/bin/true"]).env("LAUNCHER_TRACE", "0"));
    assert_code(&out, 0);
    assert_eq!(stderr(&out), "", "LAUNCHER_TRACE=0 means off");
}

#[test]
fn trace_with_a_tty_limits_and_rootless() {
    // -t: init's FLAGS carry both the pty and the trace letter.
    let out = output(&mut launcher(&["-t", "--trace", "--", "/bin/true"]));
    assert_code(&out, 0);
    check_full_trace(&out);

    let out = output(&mut launcher(&["--trace", "--pids-limit", "20", "--", "/bin/true"]));
    assert_code(&out, 0);
    let events = check_full_trace(&out);
    let at = |who, phase| position(&events, who, phase, &out);
    // The launcher makes the cgroup while init builds the mounts; init joins
    // it after /proc, /dev and /sys, before it pivots and forks the command;
    // the cgroup is removed after the container has exited.
    assert!(at("launcher", "released") < at("launcher", "cgroup made"), "{}", stderr(&out));
    assert!(at("launcher", "cgroup made") < at("init", "cgroups joined"), "{}", stderr(&out));
    assert!(at("init", "/sys bound") < at("init", "cgroups joined"), "{}", stderr(&out));
    assert!(
        at("init", "cgroups joined") < at("init", "pivot_root done, old root detached"),
        "{}",
        stderr(&out)
    );
    assert!(
        at("init", "cgroups joined") < at("init", INIT_PHASES[INIT_PHASES.len() - 1]),
        "{}",
        stderr(&out)
    );
    assert!(at("launcher", "container exited") < at("launcher", "cgroup removed"), "{}", stderr(&out));

    let out = output(&mut launcher_rootless(&["--trace", "--", "/bin/true"]));
    assert_code(&out, 0);
    check_full_trace(&out);
}

#[test]
fn a_failed_set_up_still_traces_the_phases_reached() {
    // The workdir cannot be made in /proc, after pivot_root and before the fork.
    let out = output(&mut launcher(&["--trace", "-w", "/proc/nope/dir", "--", "/bin/true"]));
    assert_code(&out, 125);
    let (events, other) = parse(&out);
    assert!(
        other.len() == 1 && other[0].contains("chdir /proc/nope/dir"),
        "one error line naming the step: {other:?}\n{}",
        stderr(&out)
    );
    let at = |who, phase| position(&events, who, phase, &out);
    assert!(at("launcher", "id maps written") < at("init", INIT_PHASES[0]), "{}", stderr(&out));
    assert!(
        at("init", INIT_PHASES[0]) < at("init", "pivot_root done, old root detached"),
        "{}",
        stderr(&out)
    );
    at("launcher", "channel closed, no command");
    assert!(
        !events.iter().any(|e| e.1 == "command" || e.2 == INIT_PHASES[INIT_PHASES.len() - 1]),
        "phases after the failure were printed:\n{}",
        stderr(&out)
    );
}
