//! `spec` (a starting config.json) and `features` (what this runtime
//! supports, as the runtime-spec's features document lists it).

use serde_json::{json, Value};

use super::Parsed;

/// `spec [--bundle B] [--rootless]`: writes B/config.json (not over one).
pub fn spec(args: &Parsed) -> Result<i32, String> {
    let bundle = std::path::Path::new(args.value(&["--bundle", "-b"]).unwrap_or("."));
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(format!("{} exists: remove it first, or pass another --bundle", path.display()));
    }
    let rootless = args.has(&["--rootless"]);
    let text = serde_json::to_string_pretty(&default_config(rootless)).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(0)
}

/// A container like `launcher run`'s: docker's capabilities, a shell on a
/// terminal, the rootfs in `rootfs/`.
fn default_config(rootless: bool) -> Value {
    let caps = crate::caps::names(crate::caps::effective_set(&[], &[]).unwrap_or_default());
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "cgroup"}),
    ];
    let mut config = json!({
        "ociVersion": super::state::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [format!("PATH={}", crate::spec::DEFAULT_PATH), "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
            },
            "noNewPrivileges": true,
        },
        "root": {"path": "rootfs", "readonly": false},
        "hostname": "container",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [],
        },
    });
    if rootless {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        namespaces.push(json!({"type": "user"}));
        config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    }
    config["linux"]["namespaces"] = Value::from(namespaces);
    config
}

/// `features`: the runtime-spec's features document.
pub fn features() -> Result<i32, String> {
    let caps = crate::caps::names(u64::MAX);
    let doc = json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": super::state::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "private", "rprivate"],
        "linux": {
            "namespaces": ["pid", "mount", "ipc", "uts", "network", "user", "cgroup"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_LOG"],
                "operators": ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"],
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
        },
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    Ok(0)
}
