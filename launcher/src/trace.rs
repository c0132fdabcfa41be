//! `--trace`: where start-up time goes, as offsets from the launcher's start.

use std::time::Instant;

pub struct Trace {
    start: Option<Instant>,
}

impl Trace {
    pub fn new(enabled: bool, start: Instant) -> Trace {
        Trace { start: enabled.then_some(start) }
    }

    pub fn mark(&self, phase: &str) {
        if let Some(start) = self.start {
            crate::status::say(&format!("trace {:>8} us  {phase}", start.elapsed().as_micros()));
        }
    }
}
