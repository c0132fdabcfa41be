//! A bundle's config.json turned into the one `Spec` that `launcher run`
//! builds from its options, plus what only the OCI verbs use (hooks,
//! annotations). What cannot be honoured and would weaken isolation if
//! ignored is refused, naming the field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::hooks::{Hook, Hooks};
use super::process;
use crate::cgroup::Limits;
use crate::mounts::{self, Tmpfs, Volume, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID};
use crate::size::{Cpus, Swap};
use crate::spec::{self, Namespaces, Security, Spec};

pub struct Bundle {
    pub spec: Spec,
    pub hooks: Hooks,
    pub annotations: Value,
    /// The compiled seccomp program, kept for `exec`.
    pub seccomp: Option<Vec<u8>>,
}

fn read(bundle: &Path) -> Result<Value, String> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: not valid JSON: {e}", path.display()))
}

/// Only the hooks (`start`, `delete`), without checking the rest again.
pub fn load_hooks(bundle: &Path) -> Result<Hooks, String> {
    hooks(&read(bundle)?["hooks"])
}

pub fn load(bundle: &Path, id: &str) -> Result<Bundle, String> {
    let config = read(bundle)?;
    from_json(&config, bundle, id)
}

/// The config's `field` as a string, or an error naming it.
fn string<'a>(v: &'a Value, field: &str) -> Result<Option<&'a str>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(format!("{field}: expected a string")),
    }
}

fn array<'a>(v: &'a Value, field: &str) -> Result<&'a [Value], String> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a),
        _ => Err(format!("{field}: expected an array")),
    }
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, String> {
    array(v, field)?
        .iter()
        .enumerate()
        .map(|(i, s)| s.as_str().map(String::from).ok_or_else(|| format!("{field}[{i}]: expected a string")))
        .collect()
}

/// Fails when `v` is an object holding a key other than `known`.
fn only(v: &Value, field: &str, known: &[&str]) -> Result<(), String> {
    if let Some(map) = v.as_object() {
        if let Some(key) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("{field}.{key}: not supported by launcher"));
        }
    }
    Ok(())
}

fn from_json(c: &Value, bundle: &Path, id: &str) -> Result<Bundle, String> {
    let version = string(&c["ociVersion"], "ociVersion")?.unwrap_or("");
    if !version.starts_with("1.") {
        return Err(format!("ociVersion {version:?}: launcher speaks runtime-spec 1.x"));
    }
    let p = process::parse(&c["process"], "process")?;
    if p.args.is_empty() || p.args[0].is_empty() {
        return Err("process.args: empty: name the program to run".into());
    }
    let root = string(&c["root"]["path"], "root.path")?.ok_or("root.path: missing")?;
    let rootfs = spec::check_rootfs(&bundle.join(root).to_string_lossy())?;
    let linux = &c["linux"];
    only(
        linux,
        "linux",
        &[
            "namespaces",
            "uidMappings",
            "gidMappings",
            "resources",
            "cgroupsPath",
            "devices",
            "maskedPaths",
            "readonlyPaths",
            "seccomp",
            "sysctl",
            "rootfsPropagation",
            "mountLabel",
        ],
    )?;
    if !array(&linux["devices"], "linux.devices")?.is_empty() {
        return Err("linux.devices: extra device nodes are not supported: the container gets /dev/null, zero, full, random, urandom, tty and a pty".into());
    }
    let mut sysctl = sysctls(&linux["sysctl"])?;
    // The NIS domain name is the UTS namespace's, set from inside it as the
    // sysctls are.
    if let Some(domain) = string(&c["domainname"], "domainname")?.filter(|d| !d.is_empty()) {
        if domain.len() > 64 || domain.contains('\0') {
            return Err(format!("domainname {domain:?}: at most 64 bytes, no NUL"));
        }
        sysctl.push(("kernel.domainname".into(), domain.to_string()));
    }
    match string(&linux["rootfsPropagation"], "linux.rootfsPropagation")?.unwrap_or("") {
        "" | "private" | "rprivate" | "slave" | "rslave" | "unbindable" | "runbindable" => {}
        other => {
            return Err(format!(
                "linux.rootfsPropagation {other:?}: the container's mounts never propagate to the host here (private, slave and unbindable are accepted)"
            ))
        }
    }
    if let Some(label) = string(&linux["mountLabel"], "linux.mountLabel")?.filter(|l| !l.is_empty()) {
        if Path::new("/sys/fs/selinux/enforce").exists() {
            return Err(format!("linux.mountLabel {label:?}: SELinux labels cannot be applied by launcher"));
        }
    }
    let seccomp = seccomp(&linux["seccomp"])?;
    let namespaces = namespaces(linux)?;
    let no_network = namespaces.1;
    let cgroupns = namespaces.2;
    let (limits, deny_devices) = resources(&linux["resources"])?;
    let cgroup_path = match string(&linux["cgroupsPath"], "linux.cgroupsPath")? {
        Some(path) if path.contains(':') => {
            return Err(format!(
                "linux.cgroupsPath {path:?}: a systemd slice:prefix:name path; launcher manages cgroups through the filesystem: use the engine's cgroupfs manager"
            ))
        }
        Some(path) if !path.is_empty() => PathBuf::from("/").join(path),
        _ => PathBuf::from("/launcher").join(id),
    };
    let mut volumes = Vec::new();
    let mut shm_size = spec::DEFAULT_SHM_SIZE;
    let mut mqueue = false;
    let mut tmpfs = Vec::new();
    for (i, m) in array(&c["mounts"], "mounts")?.iter().enumerate() {
        let field = format!("mounts[{i}]");
        match mount(m, &field, &rootfs)? {
            Mount::Kernel => {}
            Mount::Shm(size) => shm_size = size.unwrap_or(shm_size),
            Mount::Mqueue => mqueue = true,
            Mount::Bind(v) => volumes.push(v),
            Mount::Tmpfs(t) => tmpfs.push(t),
        }
    }
    let (extra_masked, extra_read_only) = kernel_paths(linux)?;
    let hostname = string(&c["hostname"], "hostname")?.filter(|h| !h.is_empty()).unwrap_or("container");
    spec::check_hostname(hostname).map_err(|e| e.replace("--hostname", "hostname"))?;
    spec::check_workdir(&p.cwd).map_err(|e| e.replace("--workdir", "process.cwd"))?;
    spec::check_strings(&p.args, &p.env)?;
    let mut caps = p.caps.bounding;
    if deny_devices {
        // The device cgroup's default deny, kept by other means: no mknod,
        // and the rootfs's own nodes unusable (nodev below).
        caps &= !crate::caps::parse("MKNOD")?;
    }
    let security = Security {
        caps,
        no_new_privs: p.no_new_privs,
        seccomp: match &seccomp {
            Some(program) => spec::Seccomp::Profile(program.clone()),
            None => spec::Seccomp::Off,
        },
        read_only: c["root"]["readonly"].as_bool().unwrap_or(false),
        no_network,
        cgroupns,
        volumes,
    };
    let spec = Spec {
        rootfs,
        hostname: hostname.to_string(),
        env: p.env,
        workdir: p.cwd,
        tty: p.terminal,
        interactive: false,
        command: p.args,
        limits,
        cgroup_parent: None,
        stop_timeout: Duration::from_secs(10),
        trace: std::env::var_os("LAUNCHER_TRACE").is_some_and(|v| v != "0"),
        shm_size,
        security,
        user: (p.uid != 0 || p.gid != 0 || !p.additional_gids.is_empty()).then(|| crate::user::User {
            uid: p.uid,
            gid: p.gid,
            groups: p.additional_gids.clone(),
            member_of: Vec::new(),
        }),
        umask: p.umask,
        namespaces: namespaces.0,
        cgroup_path: Some(cgroup_path),
        rlimits: p.rlimits.iter().map(|&(r, soft, hard)| (r as u32, soft, hard)).collect(),
        oom_score_adj: p.oom_score_adj,
        mqueue,
        extra_masked,
        extra_read_only,
        nodev_root: deny_devices,
        tmpfs,
        sysctl,
        cgroup_always: true,
    };
    Ok(Bundle { spec, hooks: hooks(&c["hooks"])?, annotations: c["annotations"].clone(), seccomp })
}

/// The sysctls to set in the container's namespaces: those of its network
/// (net.*), IPC (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) and UTS
/// (kernel.domainname, kernel.hostname) namespaces; any other would change
/// the host.
fn sysctls(v: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(map) = v.as_object() else { return Ok(Vec::new()) };
    let ipc = |k: &str| {
        ["kernel.shm", "kernel.msg", "fs.mqueue."].iter().any(|p| k.starts_with(p)) || k == "kernel.sem"
    };
    map.iter()
        .map(|(key, value)| {
            let value = value.as_str().ok_or(format!("linux.sysctl.{key}: expected a string"))?;
            let uts = key == "kernel.domainname" || key == "kernel.hostname";
            if !(key.starts_with("net.") || ipc(key) || uts) || key.contains("..") || key.contains('/') {
                return Err(format!("linux.sysctl.{key}: not namespaced (only net.* and the IPC ones are): it would change the host"));
            }
            Ok((key.clone(), value.to_string()))
        })
        .collect()
}

/// Finds the command in the rootfs, as runc does before `create` returns,
/// so that a missing or non-executable program fails `create` in the words
/// podman and docker map to 127 and 126. A program under a volume or tmpfs
/// (mounted only inside) is left for init to find.
pub fn find_command(spec: &Spec) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let cmd = &spec.command[0];
    let path = spec.env.iter().find_map(|v| v.strip_prefix("PATH=")).unwrap_or(spec::DEFAULT_PATH);
    let candidates: Vec<PathBuf> = if cmd.contains('/') {
        vec![Path::new(&spec.workdir).join(cmd)]
    } else {
        path.split(':').filter(|d| d.starts_with('/')).map(|d| Path::new(d).join(cmd)).collect()
    };
    let root =
        std::fs::File::open(&spec.rootfs).map_err(|e| format!("rootfs {}: {e}", spec.rootfs.display()))?;
    let mounted = |p: &Path| {
        let rel = p.strip_prefix("/").unwrap_or(p);
        spec.security
            .volumes
            .iter()
            .map(|v| &v.target)
            .chain(spec.tmpfs.iter().map(|t| &t.target))
            .any(|t| rel.starts_with(t))
    };
    let mut not_executable = None;
    for candidate in &candidates {
        if mounted(candidate) {
            return Ok(());
        }
        let Ok(fd) = mounts::open_in_root(&root, candidate, libc::O_PATH, 0) else { continue };
        let Ok(meta) = std::fs::File::from(fd).metadata() else { continue };
        if meta.is_file() && meta.mode() & 0o111 != 0 {
            return Ok(());
        }
        not_executable.get_or_insert(candidate);
    }
    Err(match not_executable {
        Some(p) => format!("exec: {:?}: {}: permission denied", cmd, p.display()),
        None => format!("exec: {cmd:?}: executable file not found in $PATH: no such file or directory"),
    })
}

fn seccomp(v: &Value) -> Result<Option<Vec<u8>>, String> {
    if v.is_null() {
        return Ok(None);
    }
    super::seccomp::compile(v).map(Some)
}

/// (namespaces, a network namespace of its own, a cgroup namespace).
fn namespaces(linux: &Value) -> Result<(Namespaces, bool, bool), String> {
    let mut ns = Namespaces { user: false, id_maps: None, join: Vec::new() };
    let (mut new_net, mut cgroupns) = (false, false);
    for (i, entry) in array(&linux["namespaces"], "linux.namespaces")?.iter().enumerate() {
        let field = format!("linux.namespaces[{i}]");
        let kind = string(&entry["type"], &format!("{field}.type"))?.unwrap_or("");
        let path = string(&entry["path"], &format!("{field}.path"))?.filter(|p| !p.is_empty());
        match (kind, path) {
            ("pid" | "mount" | "ipc" | "uts", None) => {}
            ("network", None) => new_net = true,
            ("network", Some(p)) => ns.join.push((libc::CLONE_NEWNET, PathBuf::from(p))),
            ("cgroup", None) => cgroupns = true,
            ("user", None) => ns.user = true,
            (_, Some(p)) => {
                return Err(format!("{field}: joining a {kind} namespace ({p}) is not supported; only a network namespace can be joined"))
            }
            (other, None) => return Err(format!("{field}.type {other:?}: unknown or not supported")),
        }
    }
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !ns.user && !root {
        return Err("linux.namespaces: no user namespace, which a runtime that is not root needs: add {\"type\": \"user\"} (`launcher spec --rootless` writes one)".into());
    }
    if ns.user && root {
        let map = |key: &str| -> Result<Option<String>, String> {
            let entries = array(&linux[key], &format!("linux.{key}"))?;
            if entries.is_empty() {
                return Ok(None);
            }
            let mut text = String::new();
            for (i, e) in entries.iter().enumerate() {
                let n = |f: &str| {
                    e[f].as_u64()
                        .filter(|&v| v <= u32::MAX as u64)
                        .ok_or_else(|| format!("linux.{key}[{i}].{f}: expected a number"))
                };
                text.push_str(&format!("{} {} {}\n", n("containerID")?, n("hostID")?, n("size")?));
            }
            Ok(Some(text))
        };
        if let (Some(uids), Some(gids)) = (map("uidMappings")?, map("gidMappings")?) {
            ns.id_maps = Some((uids, gids));
        }
    }
    Ok((ns, new_net, cgroupns))
}

/// (limits, whether the device rules deny by default).
fn resources(r: &Value) -> Result<(Limits, bool), String> {
    only(
        r,
        "linux.resources",
        &["memory", "pids", "cpu", "devices", "blockIO", "hugepageLimits", "network", "unified"],
    )?;
    let positive = |v: &Value| v.as_i64().filter(|&n| n > 0).map(|n| n as u64);
    let mem = &r["memory"];
    only(
        mem,
        "linux.resources.memory",
        &[
            "limit",
            "swap",
            "reservation",
            "swappiness",
            "disableOOMKiller",
            "kernel",
            "kernelTCP",
            "useHierarchy",
            "checkBeforeUpdate",
        ],
    )?;
    let memory = positive(&mem["limit"]);
    let memory_swap = match mem["swap"].as_i64() {
        Some(-1) if memory.is_some() => Some(Swap::Unlimited),
        Some(n) if n > 0 && memory.is_some() => Some(Swap::Total(n as u64)),
        _ => None,
    };
    let pids = positive(&r["pids"]["limit"]);
    let cpu = &r["cpu"];
    only(
        cpu,
        "linux.resources.cpu",
        &["quota", "period", "shares", "cpus", "mems", "realtimeRuntime", "realtimePeriod", "burst", "idle"],
    )?;
    for key in ["cpus", "mems"] {
        if cpu[key].as_str().is_some_and(|s| !s.is_empty()) {
            return Err(format!("linux.resources.cpu.{key}: cpusets are not supported; use a CPU quota"));
        }
    }
    let cpus = match (positive(&cpu["quota"]), positive(&cpu["period"])) {
        (Some(quota), period) => Some(Cpus { quota, period: period.unwrap_or(100_000) }),
        _ => None,
    };
    let cpu_shares = positive(&cpu["shares"]);
    if cpu_shares.is_some_and(|s| !(2..=262_144).contains(&s)) {
        return Err("linux.resources.cpu.shares: must be 2 to 262144 (1024 is the default weight)".into());
    }
    // Zero, empty and null mean "not set" (docker sends a weight of 0).
    fn set(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.values().any(set),
            Value::Array(a) => !a.is_empty(),
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::Null => false,
        }
    }
    for (key, what) in [
        ("blockIO", "block I/O limits"),
        ("hugepageLimits", "huge page limits"),
        ("unified", "cgroup v2 files"),
    ] {
        if set(&r[key]) {
            return Err(format!("linux.resources.{key}: {what} are not supported"));
        }
    }
    let deny_devices = array(&r["devices"], "linux.resources.devices")?.first().is_some_and(|rule| {
        rule["allow"] == Value::Bool(false) && rule["type"].as_str().is_none_or(|t| t == "a")
    });
    let limits = Limits { pids, memory, memory_swap, cpus, cpu_shares };
    limits.validate().map_err(|e| format!("linux.resources: {e}"))?;
    Ok((limits, deny_devices))
}

enum Mount {
    /// /proc, /dev, /dev/pts, /sys, /sys/fs/cgroup: made by init itself.
    Kernel,
    Shm(Option<u64>),
    Mqueue,
    Bind(Volume),
    Tmpfs(Tmpfs),
}

fn mount(m: &Value, field: &str, rootfs: &Path) -> Result<Mount, String> {
    let dest = string(&m["destination"], &format!("{field}.destination"))?
        .ok_or(format!("{field}.destination: missing"))?;
    let kind = string(&m["type"], &format!("{field}.type"))?.unwrap_or("");
    let options = strings(&m["options"], &format!("{field}.options"))?;
    let dest_clean = dest.trim_end_matches('/');
    // init makes these itself, whatever the config makes them of (rootless
    // configs bind the host's /sys): mounting the config's over them would
    // undo init's read-only /sys and masks.
    if ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup"].contains(&dest_clean) {
        return Ok(Mount::Kernel);
    }
    let is_bind = kind == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    if !is_bind {
        return match (dest_clean, kind) {
            ("/dev/shm", "tmpfs") => {
                let size = options.iter().find_map(|o| o.strip_prefix("size="));
                size.map(crate::size::parse_size).transpose().map(Mount::Shm).map_err(|e| format!("{field}.options size: {e}"))
            }
            ("/dev/mqueue", "mqueue") => Ok(Mount::Mqueue),
            (_, "tmpfs") => tmpfs(dest, &options, field, rootfs).map(Mount::Tmpfs),
            _ => Err(format!("{field}: a {kind} mount on {dest} is not supported (supported: bind mounts, and /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, /sys/fs/cgroup as the runtime makes them)")),
        };
    }
    let source =
        string(&m["source"], &format!("{field}.source"))?.ok_or(format!("{field}.source: missing"))?;
    let source = std::fs::canonicalize(source).map_err(|e| format!("{field}.source {source}: {e}"))?;
    let target = target_in_root(dest, field, rootfs)?;
    let mut attrs = 0;
    let mut read_only = false;
    for o in &options {
        match o.as_str() {
            "ro" => read_only = true,
            "nosuid" => attrs |= MOUNT_ATTR_NOSUID,
            "nodev" => attrs |= MOUNT_ATTR_NODEV,
            "noexec" => attrs |= MOUNT_ATTR_NOEXEC,
            "rw" | "bind" | "rbind" | "private" | "rprivate" | "slave" | "rslave" | "z" | "Z" | "suid"
            | "dev" | "exec" | "relatime" | "norelatime" | "strictatime" | "noatime" => {}
            "shared" | "rshared" => {
                return Err(format!("{field}.options {o:?}: shared propagation is not supported"))
            }
            other => return Err(format!("{field}.options {other:?}: not supported on a bind mount")),
        }
    }
    Ok(Mount::Bind(Volume { source, target, read_only, attrs }))
}

fn tmpfs(dest: &str, options: &[String], field: &str, rootfs: &Path) -> Result<Tmpfs, String> {
    let target = target_in_root(dest, field, rootfs)?;
    let mut flags = 0;
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => flags |= libc::MS_RDONLY as u32,
            "nosuid" => flags |= libc::MS_NOSUID as u32,
            "nodev" => flags |= libc::MS_NODEV as u32,
            "noexec" => flags |= libc::MS_NOEXEC as u32,
            "rw" | "suid" | "dev" | "exec" | "relatime" | "norelatime" | "strictatime" | "noatime"
            | "private" | "rprivate" | "tmpcopyup" => {}
            o if ["mode=", "size=", "uid=", "gid=", "nr_inodes=", "nr_blocks="]
                .iter()
                .any(|k| o.starts_with(k)) =>
            {
                data.push(o)
            }
            other => return Err(format!("{field}.options {other:?}: not supported on a tmpfs")),
        }
    }
    Ok(Tmpfs { target, flags, data: data.join(",") })
}

/// `dest` inside the rootfs, links resolved there; never the root itself.
fn target_in_root(dest: &str, field: &str, rootfs: &Path) -> Result<PathBuf, String> {
    if !dest.starts_with('/') || Path::new(dest).components().any(|c| c == std::path::Component::ParentDir) {
        return Err(format!("{field}.destination {dest:?}: must be absolute, without '..'"));
    }
    let target = mounts::resolve_in_root(rootfs, Path::new(dest)).map_err(|e| format!("{field}: {e}"))?;
    if target.as_os_str().is_empty() {
        return Err(format!("{field}: cannot mount over the container's root"));
    }
    Ok(target)
}

/// The config's masked and read-only paths that docker's defaults, which
/// init always applies, do not cover; each must be under /proc or /sys.
/// Masked paths (with whether each is a directory) and read-only paths.
type KernelPaths = (Vec<(String, bool)>, Vec<String>);

fn kernel_paths(linux: &Value) -> Result<KernelPaths, String> {
    let relative = |p: &str, field: &str| -> Result<String, String> {
        let rel = p.trim_start_matches('/').trim_end_matches('/');
        if !(rel.starts_with("proc/") || rel.starts_with("sys/")) || rel.contains("..") {
            return Err(format!(
                "{field} {p:?}: only paths under /proc and /sys can be masked or made read-only"
            ));
        }
        Ok(rel.to_string())
    };
    let mut masked = Vec::new();
    for p in strings(&linux["maskedPaths"], "linux.maskedPaths")? {
        let rel = relative(&p, "linux.maskedPaths")?;
        if mounts::MASKED_DIRS.contains(&rel.as_str()) || mounts::MASKED_FILES.contains(&rel.as_str()) {
            continue;
        }
        // /proc and /sys inside show the host's: a directory there is one inside.
        let is_dir = Path::new("/").join(&rel).is_dir();
        masked.push((rel, is_dir));
    }
    let mut read_only = Vec::new();
    for p in strings(&linux["readonlyPaths"], "linux.readonlyPaths")? {
        let rel = relative(&p, "linux.readonlyPaths")?;
        if !mounts::READ_ONLY.contains(&rel.as_str()) {
            read_only.push(rel);
        }
    }
    Ok((masked, read_only))
}

fn hooks(h: &Value) -> Result<Hooks, String> {
    only(
        h,
        "hooks",
        &["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    )?;
    for key in ["createContainer", "startContainer"] {
        if !array(&h[key], &format!("hooks.{key}"))?.is_empty() {
            return Err(format!("hooks.{key}: hooks that run inside the container are not supported"));
        }
    }
    let list = |key: &str| -> Result<Vec<Hook>, String> {
        array(&h[key], &format!("hooks.{key}"))?
            .iter()
            .enumerate()
            .map(|(i, hook)| {
                let field = format!("hooks.{key}[{i}]");
                let path = string(&hook["path"], &format!("{field}.path"))?
                    .ok_or(format!("{field}.path: missing"))?;
                let timeout = match &hook["timeout"] {
                    Value::Null => None,
                    t => Some(Duration::from_secs(
                        t.as_u64()
                            .filter(|&s| s > 0)
                            .ok_or(format!("{field}.timeout: expected a positive number of seconds"))?,
                    )),
                };
                Ok(Hook {
                    path: path.to_string(),
                    args: strings(&hook["args"], &format!("{field}.args"))?,
                    env: strings(&hook["env"], &format!("{field}.env"))?,
                    timeout,
                })
            })
            .collect()
    };
    Ok(Hooks {
        prestart: list("prestart")?,
        create_runtime: list("createRuntime")?,
        poststart: list("poststart")?,
        poststop: list("poststop")?,
    })
}
