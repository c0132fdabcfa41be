//! cgroup v2: one leaf in the unified hierarchy.
//!
//! Two kernel rules shape this (Documentation/admin-guide/cgroup-v2.rst):
//! - no internal processes: a non-root cgroup can enable domain controllers
//!   (memory) for its children only while it has no processes itself, and a
//!   process cannot enter a cgroup that has them enabled (EBUSY);
//! - delegation containment: moving a process needs write access to
//!   `cgroup.procs` of the common ancestor of its old and new cgroups, so an
//!   unprivileged launcher can only move processes within a subtree it owns.

use std::fs;
use std::path::{Path, PathBuf};

use super::{
    delegated_name, euid, mkdir, mkdir_p, procs, sweep_stale, try_write, writable, write_error, write_file,
    Cgroup, Controller, Host, Leaf, Limits, MovedSelf, Swap, ROOT_PARENT, SELF_SUFFIX,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// --cgroup-parent.
    Override,
    /// The launcher is in the root cgroup, which may hold processes and children alike.
    Root,
    /// The launcher is alone (with its container's init) in a cgroup it may
    /// write: it moves both into a leaf next to the container's, so its cgroup
    /// can pass controllers down.
    MoveSelf,
    /// Root elsewhere: `/launcher` under the hierarchy's root.
    Dedicated,
    /// Unprivileged, running inside `/launcher.user-<uid>` from scripts/cgroup.sh.
    Delegated,
}

#[derive(Clone, Debug)]
pub struct Place {
    pub mount: PathBuf,
    pub controllers: Vec<Controller>,
    pub own: PathBuf,
    pub parent: PathBuf,
    pub rule: Rule,
}

impl Place {
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self.controllers.iter().map(|c| c.name()).collect();
        let why = match self.rule {
            Rule::Override => "--cgroup-parent".to_string(),
            Rule::Root => "beneath the launcher's own cgroup, the root".to_string(),
            Rule::MoveSelf => format!(
                "beneath the launcher's own cgroup {}, where it is alone: it moves itself into launcher-<pid>-self",
                self.own.display()
            ),
            Rule::Dedicated => format!(
                "dedicated parent: the launcher's own cgroup {} holds other processes",
                self.own.display()
            ),
            Rule::Delegated => "delegated parent made by `sudo make cgroup`".to_string(),
        };
        format!("v2 {}: {}/launcher-<pid> ({why})", names.join(","), self.parent.display())
    }
}

fn controllers_of(dir: &Path, file: &str) -> Vec<String> {
    fs::read_to_string(dir.join(file)).unwrap_or_default().split_whitespace().map(str::to_string).collect()
}

pub fn place(
    host: &Host,
    needed: &[Controller],
    parent: Option<&Path>,
    container: Option<libc::pid_t>,
) -> Result<Place, String> {
    let mount = host.v2_mount().ok_or("cgroup v2: no cgroup2 filesystem is mounted")?.point.clone();
    let own = host.own_dir(host.v2_mount().unwrap(), None)?;
    let me = std::process::id() as libc::pid_t;
    let place = |parent: PathBuf, rule| Place {
        mount: mount.clone(),
        controllers: needed.to_vec(),
        own: own.clone(),
        parent,
        rule,
    };
    if let Some(p) = parent {
        return Ok(place(super::v1::override_dir(&mount, p), Rule::Override));
    }
    if own == mount && euid() == 0 {
        return Ok(place(own.clone(), Rule::Root));
    }
    // Inside the delegated parent, it is the cheaper choice: no move of our own.
    let d = mount.join(delegated_name(euid()));
    if euid() != 0 && own.starts_with(&d) && own != d {
        return Ok(place(d, Rule::Delegated));
    }
    let available = controllers_of(&own, "cgroup.controllers");
    if writable(&own.join("cgroup.procs"))
        && writable(&own.join("cgroup.subtree_control"))
        && procs(&own).iter().all(|&p| p == me || Some(p) == container)
        && needed.iter().all(|c| available.iter().any(|a| a == c.name()))
    {
        return Ok(place(own.clone(), Rule::MoveSelf));
    }
    if euid() == 0 {
        return Ok(place(mount.join(ROOT_PARENT), Rule::Dedicated));
    }
    if !d.is_dir() {
        return Err(format!(
            "cgroup v2: the launcher's cgroup {} is not writable for uid {}: Permission denied, and {} does not exist: run `sudo make cgroup` or run as root",
            own.display(),
            euid(),
            d.display()
        ));
    }
    Err(format!(
            "cgroup v2: {d} is delegated to uid {uid}, but this launcher runs in {own}, outside it, and the kernel lets an unprivileged process move processes only within a subtree it owns: start your shell inside it once with `echo $$ | sudo tee {d}/session/cgroup.procs`, or run the launcher alone in a delegated systemd scope: `systemd-run --user --scope -p Delegate=yes launcher run ...`, or run as root",
            d = d.display(),
            uid = euid(),
            own = own.display()
        ))
}

/// Make sure every cgroup from the hierarchy's root down to `dir` passes the
/// controllers to its children; writes only where one is missing.
fn enable_down_to(mount: &Path, dir: &Path, needed: &[Controller]) -> Result<Vec<Controller>, String> {
    let mut chain = vec![mount.to_path_buf()];
    if let Ok(rel) = dir.strip_prefix(mount) {
        let mut p = mount.to_path_buf();
        for c in rel.components() {
            p.push(c);
            chain.push(p.clone());
        }
    }
    let mut enabled_last = Vec::new();
    for d in &chain {
        let have = controllers_of(d, "cgroup.subtree_control");
        let missing: Vec<Controller> =
            needed.iter().copied().filter(|c| !have.iter().any(|h| h == c.name())).collect();
        enabled_last = missing.clone();
        if missing.is_empty() {
            continue;
        }
        let value: Vec<String> = missing.iter().map(|c| format!("+{}", c.name())).collect();
        let file = d.join("cgroup.subtree_control");
        if let Err(e) = fs::write(&file, value.join(" ")) {
            let why = match e.raw_os_error() {
                Some(libc::EBUSY) => format!(
                    "{} has processes of its own, and the kernel's no-internal-processes rule forbids that with controllers for children: pick an empty cgroup with --cgroup-parent, or run as root",
                    d.display()
                ),
                Some(libc::ENOENT) | Some(libc::EINVAL) => format!(
                    "not all of them are in {}/cgroup.controllers ({:?}): the parent cgroup does not pass them down",
                    d.display(),
                    controllers_of(d, "cgroup.controllers").join(" ")
                ),
                _ => super::errno_hint(&e).trim_start_matches(": ").to_string(),
            };
            return Err(format!("cgroup v2: enable {:?} in {}: {e}: {why}", value.join(" "), file.display()));
        }
    }
    Ok(enabled_last)
}

pub(super) fn create(
    cg: &mut Cgroup,
    place: &Place,
    name: &str,
    limits: &Limits,
    container: Option<libc::pid_t>,
) -> Result<(), String> {
    match place.rule {
        Rule::MoveSelf => {
            sweep_stale(&place.own, true);
            let self_leaf = place.own.join(format!("{name}{SELF_SUFFIX}"));
            if !mkdir(&self_leaf)? {
                super::destroy(&self_leaf, true)?;
                mkdir(&self_leaf)?;
            }
            // The container was cloned in here too; out with it, or the
            // no-internal-processes rule keeps controllers from being enabled.
            let pids = [Some(std::process::id() as libc::pid_t), container];
            for pid in pids.into_iter().flatten() {
                if let Err(e) = write_file(&self_leaf.join("cgroup.procs"), &pid.to_string()) {
                    let _ = fs::remove_dir(&self_leaf);
                    return Err(e);
                }
            }
            cg.moved = Some(MovedSelf { own: place.own.clone(), self_leaf, enabled: Vec::new() });
            let enabled = enable_down_to(&place.mount, &place.parent, &place.controllers)?;
            if let Some(m) = cg.moved.as_mut() {
                m.enabled = enabled;
            }
        }
        Rule::Override | Rule::Dedicated => {
            cg.made.extend(mkdir_p(&place.mount, &place.parent)?);
            enable_down_to(&place.mount, &place.parent, &place.controllers)?;
        }
        Rule::Root | Rule::Delegated => {
            enable_down_to(&place.mount, &place.parent, &place.controllers)?;
        }
    }
    if place.rule != Rule::MoveSelf {
        sweep_stale(&place.parent, true);
    }
    let leaf = place.parent.join(name);
    if !mkdir(&leaf)? {
        super::destroy(&leaf, true)?;
        mkdir(&leaf)?;
    }
    cg.leaves.push(Leaf { path: leaf.clone(), v2: true, hierarchy: None });
    write_limits(&leaf, limits)?;
    if let Some(m) = limits.memory {
        cg.memory = Some((leaf.clone(), true, m));
    }
    Ok(())
}

pub(super) fn write_limits(leaf: &Path, limits: &Limits) -> Result<(), String> {
    if let Some(n) = limits.pids {
        write_file(&leaf.join("pids.max"), &n.to_string())?;
    }
    if let Some(m) = limits.memory {
        write_file(&leaf.join("memory.max"), &m.to_string())?;
        // v2 limits swap alone, not memory plus swap as docker's flag does.
        let swap = leaf.join("memory.swap.max");
        let value = match limits.memory_swap {
            None => "0".to_string(),
            Some(Swap::Total(t)) => (t - m).to_string(),
            Some(Swap::Unlimited) => "max".to_string(),
        };
        match try_write(&swap, &value) {
            Ok(()) => {}
            // No swap accounting: nothing to limit, unless asked for.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && limits.memory_swap.is_none() => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "cgroup v2: --memory-swap needs {}, which this kernel lacks (swap accounting is off: CONFIG_MEMCG_SWAP or swapaccount=1)",
                    swap.display()
                ))
            }
            Err(e) => return Err(write_error(&swap, &value, &e)),
        }
    }
    if let Some(shares) = limits.cpu_shares {
        // The kernel's and runc's mapping of v1's 2..262144 onto 1..10000.
        let weight = 1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142;
        write_file(&leaf.join("cpu.weight"), &weight.to_string())?;
    }
    if let Some(c) = limits.cpus {
        let file = leaf.join("cpu.max");
        if !file.exists() {
            return Err(format!(
                "cgroup v2: --cpus needs {}, which this kernel lacks (CONFIG_CFS_BANDWIDTH)",
                file.display()
            ));
        }
        write_file(&file, &format!("{} {}", c.quota, c.period))?;
    }
    Ok(())
}

/// Undo MoveSelf: give the controllers back, return to the own cgroup, drop the leaf.
pub(super) fn move_back(m: &MovedSelf) {
    let warn = |e: String| eprintln!("launcher: warning: {e}");
    if !m.enabled.is_empty() {
        let value: Vec<String> = m.enabled.iter().map(|c| format!("-{}", c.name())).collect();
        if let Err(e) = write_file(&m.own.join("cgroup.subtree_control"), &value.join(" ")) {
            warn(e);
        }
    }
    if let Err(e) = write_file(&m.own.join("cgroup.procs"), &std::process::id().to_string()) {
        warn(e);
    }
    if let Err(e) = fs::remove_dir(&m.self_leaf) {
        warn(format!("cgroup: rmdir {}: {e}", m.self_leaf.display()));
    }
}
