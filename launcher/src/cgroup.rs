//! PLACEHOLDER until the cgroup branch lands: refuses every limit.
use std::os::fd::RawFd;
pub struct SwapLimit;
impl SwapLimit {
    pub fn parse(_: &str) -> Result<SwapLimit, String> {
        Err("limits not implemented yet".into())
    }
}
pub struct Cpus;
impl Cpus {
    pub fn parse(_: &str) -> Result<Cpus, String> {
        Err("limits not implemented yet".into())
    }
}
pub struct Limits {
    pub pids: Option<u64>,
    pub memory: Option<u64>,
    pub memory_swap: Option<SwapLimit>,
    pub cpus: Option<Cpus>,
}
impl Limits {
    pub fn is_empty(&self) -> bool {
        self.pids.is_none() && self.memory.is_none() && self.cpus.is_none()
    }
}
pub struct Cgroup;
impl Cgroup {
    pub fn create(_: &str, _: &Limits, _: Option<&str>) -> Result<Cgroup, String> {
        Err("limits not implemented yet".into())
    }
    pub fn clone_into_fd(&self) -> Option<RawFd> {
        None
    }
    pub fn attach(&self, _: libc::pid_t) -> Result<(), String> {
        Ok(())
    }
    pub fn oom_message(&self) -> Option<String> {
        None
    }
    pub fn remove(&mut self) {}
}
pub fn sweep_stale() {}
