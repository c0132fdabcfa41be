//! PLACEHOLDER until the cgroup branch lands.
pub fn run() -> i32 {
    125
}
