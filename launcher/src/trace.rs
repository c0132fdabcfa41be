//! `--trace`: where start-up time goes, as offsets from the launcher's start,
//! measured in each process where it happens: the launcher's own marks and
//! the stamps init and the command take (init/src/trace.rs), which arrive as
//! one record just before the command's exec. All are printed together, in
//! time order, when the run ends, so that printing does not slow the phases
//! it measures.
//!
//! The two sides can be compared because both read CLOCK_MONOTONIC: std's
//! `Instant` on Linux, and init's raw clock_gettime (the container has no
//! time namespace of its own).

use std::cell::RefCell;
use std::time::Instant;

/// The names of init's stamps, by index, as (process, phase). Must match
/// init/src/trace.rs, phase for phase.
const INIT_PHASES: [(&str, &str); 13] = [
    ("init", "started, config record read"),
    ("init", "hostname set"),
    ("init", "/ made private, rootfs bound"),
    ("init", "/proc mounted"),
    ("init", "/dev made"),
    ("init", "/sys bound"),
    ("init", "cgroups joined"),
    ("init", "/sys read-only, config mounts, /tmp done"),
    ("init", "pivot_root done, old root detached"),
    ("init", "workdir, pty, signalfd ready: forking"),
    ("command", "forked"),
    ("command", "signals unblocked, session (and tty) set"),
    ("command", "caps and seccomp set: execve"),
];

pub struct Trace {
    on: Option<On>,
}

struct On {
    start: Instant,
    /// `start` as a CLOCK_MONOTONIC reading, in ns.
    start_ns: u64,
    /// (ns since start, process, phase), in the order they were recorded.
    events: RefCell<Vec<(u64, &'static str, &'static str)>>,
    /// Facts about the run printed before the timings (the isolation in force).
    notes: RefCell<Vec<String>>,
}

impl Trace {
    pub fn new(enabled: bool, start: Instant) -> Trace {
        let on = enabled.then(|| {
            // Two readings of the same clock a few ns apart: the error is the
            // same for every init stamp, so it cannot reorder them.
            let start_ns = monotonic_ns().saturating_sub(start.elapsed().as_nanos() as u64);
            On { start, start_ns, events: RefCell::new(Vec::with_capacity(32)), notes: RefCell::default() }
        });
        Trace { on }
    }

    pub fn mark(&self, phase: &'static str) {
        if let Some(on) = &self.on {
            let at = on.start.elapsed().as_nanos() as u64;
            on.events.borrow_mut().push((at, "launcher", phase));
        }
    }

    /// A line printed before the timings, made only when tracing.
    pub fn note(&self, line: impl FnOnce() -> String) {
        if let Some(on) = &self.on {
            on.notes.borrow_mut().push(line());
        }
    }

    /// Init's record: one CLOCK_MONOTONIC stamp per entry of `INIT_PHASES`,
    /// 0 for a phase not reached.
    pub fn init_stamps(&self, stamps: &[u64]) -> Result<(), String> {
        let Some(on) = &self.on else {
            return Err("a trace record came from the container, but tracing is off".into());
        };
        if stamps.len() != INIT_PHASES.len() {
            return Err(format!(
                "the init's trace record has {} stamps, the launcher expects {}: the init and the launcher were built from different sources",
                stamps.len(),
                INIT_PHASES.len()
            ));
        }
        let mut events = on.events.borrow_mut();
        for (&ns, &(who, phase)) in stamps.iter().zip(&INIT_PHASES) {
            if ns != 0 {
                events.push((ns.saturating_sub(on.start_ns), who, phase));
            }
        }
        Ok(())
    }

    /// Prints everything recorded, in time order, on stderr.
    pub fn print(&self) {
        let Some(on) = &self.on else { return };
        for note in on.notes.take() {
            crate::status::say(&format!("trace {note}"));
        }
        let mut events = on.events.take();
        events.sort_by_key(|&(at, _, _)| at);
        for (at, who, phase) in events {
            crate::status::say(&format!("trace {:>8} us  {who:<8}  {phase}", at / 1000));
        }
    }
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into the live local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
