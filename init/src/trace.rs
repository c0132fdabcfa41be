//! Start-up stamps for `launcher run --trace` (the config record's TRACE flag).
//!
//! Each phase's end is stamped with CLOCK_MONOTONIC, the clock of the
//! launcher's `Instant`, so the launcher can place our phases among its own.
//! Stamps live in memory, which the command's process shares with PID 1 until
//! its exec, so the command sends them all, as one record, right before its
//! exec, while it still holds the channel (no extra round trip):
//!
//! ```text
//! 'T', then COUNT stamps (u64 ns, native = little-endian), 0 = not reached
//! ```
//!
//! Phases are indexes; their names are in the launcher's table
//! (launcher/src/trace.rs, `INIT_PHASES`), which must list them in this order.

use crate::sys::{self, IoVec};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// Stamped once the config record, which says whether to trace, is read.
pub const STARTED: usize = 0;
pub const HOSTNAME: usize = 1;
pub const ROOT_BOUND: usize = 2;
pub const PROC: usize = 3;
pub const DEV: usize = 4;
pub const SYS: usize = 5;
pub const CGROUP_JOINED: usize = 6;
pub const EXTRA_MOUNTS: usize = 7;
pub const PIVOTED: usize = 8;
pub const FORKING: usize = 9;
/// In the command's process from here on.
pub const FORKED: usize = 10;
pub const SESSION: usize = 11;
pub const EXEC: usize = 12;
const COUNT: usize = 13;

static ON: AtomicBool = AtomicBool::new(false);
// Atomics only to stay out of `static mut`: init has one thread, and a
// relaxed store is a plain store.
static STAMPS: [AtomicU64; COUNT] = [const { AtomicU64::new(0) }; COUNT];

/// Turns tracing on if asked, and stamps our start.
pub fn start(on: bool) {
    ON.store(on, Relaxed);
    stamp(STARTED);
}

/// Stamps `phase` when tracing; otherwise costs a call and one branch.
#[inline(never)]
pub fn stamp(phase: usize) {
    if ON.load(Relaxed) {
        if let Some(s) = STAMPS.get(phase) {
            s.store(sys::monotonic_ns(), Relaxed);
        }
    }
}

/// Sends the stamps taken so far to the launcher, when tracing.
#[inline(never)]
pub fn send(channel: usize) {
    if ON.load(Relaxed) {
        // SAFETY: `AtomicU64` has the size and layout of `u64`, so the array
        // is COUNT * 8 initialised bytes; nothing writes them meanwhile (one
        // thread, and we are not writing).
        let bytes = unsafe { core::slice::from_raw_parts(STAMPS.as_ptr().cast::<u8>(), COUNT * 8) };
        // Best effort: a lost trace must not stop the container.
        let _ = sys::send(channel, &[IoVec::new(b"T"), IoVec::new(bytes)], None);
    }
}
