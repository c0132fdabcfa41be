//! cgroup v1: one directory per hierarchy that holds a needed controller.
//! Each hierarchy costs a mkdir, writes and a join, so only needed ones are touched.

use std::io;
use std::path::{Path, PathBuf};

use super::{
    delegated_name, euid, join_rel, mkdir, mkdir_p, sweep_stale, try_write, writable, write_error,
    write_file, Cgroup, Controller, Host, Leaf, Limits, Swap,
};

#[derive(Clone, Debug)]
pub struct Place {
    pub mount: PathBuf,
    /// The hierarchy's mount options: its controllers ("cpu,cpuacct").
    pub options: String,
    pub controllers: Vec<Controller>,
    pub parent: PathBuf,
    pub rule: &'static str,
}

impl Place {
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self.controllers.iter().map(|c| c.name()).collect();
        format!("v1 {}: {}/launcher-<pid> ({})", names.join(","), self.parent.display(), self.rule)
    }
}

/// A `--cgroup-parent` path relative to a hierarchy, as docker takes it; a full
/// path below the mount point is accepted too.
pub(super) fn override_dir(mount: &Path, p: &Path) -> PathBuf {
    match p.strip_prefix(mount) {
        Ok(rest) => join_rel(mount, &rest.to_string_lossy()),
        Err(_) => join_rel(mount, &p.to_string_lossy()),
    }
}

pub fn places(host: &Host, needed: &[Controller], parent: Option<&Path>) -> Result<Vec<Place>, String> {
    let mut out: Vec<Place> = Vec::new();
    for &ctrl in needed {
        let mount = host.v1_mount(ctrl.name()).ok_or_else(|| {
            format!(
                "cgroup: the {0} controller is neither on the unified hierarchy nor mounted as a v1 hierarchy (see /proc/self/mountinfo): the {0} limit cannot be applied",
                ctrl.name()
            )
        })?;
        // Controllers mounted together (cpu,cpuacct) share one directory.
        if let Some(p) = out.iter_mut().find(|p| p.mount == mount.point) {
            p.controllers.push(ctrl);
            continue;
        }
        let (dir, rule) = if let Some(p) = parent {
            (override_dir(&mount.point, p), "--cgroup-parent")
        } else {
            let own = host.own_dir(mount, Some(ctrl.name()))?;
            if euid() == 0 || (writable(&own) && writable(&own.join("cgroup.procs"))) {
                (own, "beneath the launcher's own cgroup")
            } else {
                let uid = euid();
                let d = mount.point.join(delegated_name(uid));
                if !(d.is_dir() && writable(&d)) {
                    return Err(format!(
                        "cgroup v1 {} controller not writable: {}: Permission denied, and no {} is delegated to uid {uid}: run `sudo make cgroup` or run as root",
                        ctrl.name(),
                        own.display(),
                        d.display()
                    ));
                }
                (d, "delegated parent made by `sudo make cgroup`")
            }
        };
        let options = mount.options.join(",");
        out.push(Place { mount: mount.point.clone(), options, controllers: vec![ctrl], parent: dir, rule });
    }
    Ok(out)
}

pub(super) fn create(cg: &mut Cgroup, place: &Place, name: &str, limits: &Limits) -> Result<(), String> {
    cg.made.extend(mkdir_p(&place.mount, &place.parent)?);
    sweep_stale(&place.parent, false);
    let leaf = place.parent.join(name);
    if !mkdir(&leaf)? {
        // Our name, so left by an earlier process with our pid: it is dead.
        super::destroy(&leaf, false)?;
        mkdir(&leaf)?;
    }
    let dir = place.mount.file_name().map_or_else(|| place.options.clone(), |d| d.to_string_lossy().into());
    cg.leaves.push(Leaf { path: leaf.clone(), v2: false, hierarchy: Some((dir, place.options.clone())) });
    for ctrl in &place.controllers {
        match ctrl {
            Controller::Pids => {
                if let Some(n) = limits.pids {
                    write_file(&leaf.join("pids.max"), &n.to_string())?;
                }
            }
            Controller::Memory => {
                let Some(m) = limits.memory else { continue };
                write_file(&leaf.join("memory.limit_in_bytes"), &m.to_string())?;
                // memsw is memory plus swap and must not be below the memory
                // limit, hence written second. Equal to it means no swap.
                let memsw = leaf.join("memory.memsw.limit_in_bytes");
                let total = match limits.memory_swap {
                    None => m.to_string(),
                    Some(Swap::Total(t)) => t.to_string(),
                    Some(Swap::Unlimited) => "-1".to_string(),
                };
                match try_write(&memsw, &total) {
                    Ok(()) => {}
                    // No swap accounting: nothing to limit, unless asked for.
                    Err(e) if e.kind() == io::ErrorKind::NotFound && limits.memory_swap.is_none() => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(format!(
                            "cgroup v1: --memory-swap needs {}, which this kernel lacks (swap accounting is off: boot with swapaccount=1)",
                            memsw.display()
                        ))
                    }
                    Err(e) => return Err(write_error(&memsw, &total, &e)),
                }
                cg.memory = Some((leaf.clone(), false, m));
            }
            Controller::Cpu => {
                if let Some(shares) = limits.cpu_shares {
                    write_file(&leaf.join("cpu.shares"), &shares.to_string())?;
                }
                let Some(c) = limits.cpus else { continue };
                let quota = leaf.join("cpu.cfs_quota_us");
                if !quota.exists() {
                    return Err(format!(
                        "cgroup v1: --cpus needs {}, which this kernel lacks (CONFIG_CFS_BANDWIDTH)",
                        quota.display()
                    ));
                }
                write_file(&leaf.join("cpu.cfs_period_us"), &c.period.to_string())?;
                write_file(&quota, &c.quota.to_string())?;
            }
        }
    }
    Ok(())
}
