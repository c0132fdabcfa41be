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
/// terminal, the rootfs in `rootfs/`. Text, filled in below: a `json!` of
/// it costs several KB of code.
const DEFAULT_CONFIG: &str = r#"{
  "ociVersion": "1.1.0",
  "process": {
    "terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/", "capabilities": {}, "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "container",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]
  }
}"#;

fn default_config(rootless: bool) -> Value {
    let mut config: Value = serde_json::from_str(DEFAULT_CONFIG).unwrap_or_default();
    let caps = Value::from(crate::caps::names(crate::caps::effective_set(&[], &[]).unwrap_or_default()));
    for set in ["bounding", "effective", "permitted"] {
        config["process"]["capabilities"][set] = caps.clone();
    }
    if rootless {
        // SAFETY: geteuid/getegid cannot fail.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let map = |id: u32| json!([{"containerID": 0, "hostID": id, "size": 1}]);
        if let Some(ns) = config["linux"]["namespaces"].as_array_mut() {
            ns.push(json!({"type": "user"}));
        }
        config["linux"]["uidMappings"] = map(uid);
        config["linux"]["gidMappings"] = map(gid);
    }
    config
}

/// The runtime-spec's features document; the capabilities are filled in.
const FEATURES: &str = r#"{
  "ociVersionMin": "1.0.0",
  "ociVersionMax": "1.1.0",
  "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
  "mountOptions": ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "private", "rprivate"],
  "linux": {
    "namespaces": ["pid", "mount", "ipc", "uts", "network", "user", "cgroup"],
    "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
    "seccomp": {
      "enabled": true,
      "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_LOG"],
      "operators": ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]
    },
    "apparmor": {"enabled": false},
    "selinux": {"enabled": false}
  }
}"#;

/// `features`: what this runtime supports.
pub fn features() -> Result<i32, String> {
    let mut doc: Value = serde_json::from_str(FEATURES).unwrap_or_default();
    doc["linux"]["capabilities"] = Value::from(crate::caps::names(u64::MAX));
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_config_is_valid_json() {
        let c = super::default_config(true);
        assert_eq!(c["ociVersion"], super::super::state::OCI_VERSION);
        assert_eq!(c["linux"]["namespaces"].as_array().unwrap().len(), 6);
        assert!(c["process"]["capabilities"]["bounding"].as_array().unwrap().len() > 10);
        let f: serde_json::Value = serde_json::from_str(super::FEATURES).unwrap();
        assert_eq!(f["ociVersionMax"], super::super::state::OCI_VERSION);
    }
}
