//! The OCI `process` object (config.json's `process`, or the file that
//! `exec --process FILE` names): what to run, as whom, with which
//! capabilities and limits. Parsed from a `serde_json::Value` by hand (no
//! derive), so that every error names the field it is about.

// `create` and `exec` use it once the OCI verbs are wired; until then only the tests.
#![cfg_attr(not(test), allow(dead_code))]

use serde_json::{Map, Value};

/// The five capability sets, in the kernel's layout (bit N = capability N).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub args: Vec<String>,
    /// `KEY=VALUE` entries, in order.
    pub env: Vec<String>,
    /// Absolute, inside the container.
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub terminal: bool,
    /// (rows, columns) of the terminal.
    pub console_size: Option<(u16, u16)>,
    pub caps: Caps,
    pub no_new_privs: bool,
    /// (resource, soft, hard), resource as libc's RLIMIT_* number.
    pub rlimits: Vec<(libc::c_int, u64, u64)>,
    pub oom_score_adj: Option<i32>,
}

/// The runtime-spec's rlimit names, with the resource each sets.
const RLIMITS: &[(&str, libc::c_int)] = &[
    ("RLIMIT_AS", libc::RLIMIT_AS as libc::c_int),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as libc::c_int),
    ("RLIMIT_CPU", libc::RLIMIT_CPU as libc::c_int),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as libc::c_int),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as libc::c_int),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as libc::c_int),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as libc::c_int),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as libc::c_int),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as libc::c_int),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as libc::c_int),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as libc::c_int),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as libc::c_int),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as libc::c_int),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as libc::c_int),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as libc::c_int),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as libc::c_int),
];

/// Fields of the runtime-spec's `process` that we cannot honour; ignoring
/// them would drop what the caller asked for, so each is refused.
const UNSUPPORTED: &[&str] = &["ioPriority", "scheduler", "execCPUAffinity"];

/// Parses a `process` object; `field` names it in errors ("process" for
/// config.json, the file's path for `exec --process FILE`).
pub fn parse(v: &Value, field: &str) -> Result<Process, String> {
    parse_with(v, field, &host_lsms())
}

/// The Linux security modules enabled here, whose per-process labels we
/// cannot apply: (the config field, the module's name, whether it is on).
pub(crate) fn host_lsms() -> [(&'static str, &'static str, bool); 2] {
    let selinux = std::fs::read_to_string("/sys/fs/selinux/enforce").is_ok();
    [
        ("apparmorProfile", "AppArmor", std::path::Path::new("/sys/kernel/security/apparmor").exists()),
        ("selinuxLabel", "SELinux", selinux),
    ]
}

fn parse_with(v: &Value, field: &str, lsms: &[(&str, &str, bool)]) -> Result<Process, String> {
    let obj = v.as_object().ok_or_else(|| format!("{field}: must be an object"))?;
    for key in UNSUPPORTED {
        if obj.contains_key(*key) {
            return Err(format!("{field}.{key}: not supported by this runtime: remove it"));
        }
    }
    for (key, module, enabled) in lsms {
        match obj.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) if *enabled => {
                return Err(format!(
                    "{field}.{key} {s:?}: this host enforces {module}, and this runtime cannot apply \
                     {module} labels: remove it, or use runc or crun"
                ));
            }
            // As runc: a label for a module the host does not have means nothing here.
            Some(Value::String(_)) => {}
            Some(_) => return Err(format!("{field}.{key}: must be a string")),
        }
    }

    let args = strings(obj, field, "args")?.unwrap_or_default();
    if args.is_empty() {
        return Err(format!("{field}.args: missing or empty: name the command to run"));
    }
    let env = strings(obj, field, "env")?.unwrap_or_default();
    for (i, e) in env.iter().enumerate() {
        if !e.contains('=') || e.starts_with('=') {
            return Err(format!("{field}.env[{i}] {e:?}: must be KEY=VALUE"));
        }
    }
    let cwd = match obj.get("cwd") {
        Some(Value::String(s)) if s.starts_with('/') => s.clone(),
        Some(Value::String(s)) => return Err(format!("{field}.cwd {s:?}: must be an absolute path")),
        None => return Err(format!("{field}.cwd: missing: give an absolute path such as \"/\"")),
        Some(_) => return Err(format!("{field}.cwd: must be a string")),
    };

    let user_field = format!("{field}.user");
    let (uid, gid, additional_gids, umask) = match obj.get("user") {
        None => (0, 0, Vec::new(), None),
        Some(Value::Object(user)) => {
            let id = |key: &str| -> Result<u32, String> {
                match user.get(key) {
                    None => Ok(0),
                    Some(v) => u32_of(v)
                        .ok_or_else(|| format!("{user_field}.{key}: must be a number 0 to 4294967295")),
                }
            };
            let (uid, gid) = (id("uid")?, id("gid")?);
            let gids = match user.get("additionalGids") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(list)) => list
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        u32_of(v).ok_or_else(|| {
                            format!("{user_field}.additionalGids[{i}]: must be a number 0 to 4294967295")
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(format!("{user_field}.additionalGids: must be an array of numbers")),
            };
            let umask = match user.get("umask") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    u32_of(v)
                        .filter(|m| *m <= 0o777)
                        .ok_or_else(|| format!("{user_field}.umask: must be a number 0 to 511 (0o777)"))?,
                ),
            };
            if user.get("username").is_some_and(|u| !u.is_null()) {
                return Err(format!("{user_field}.username: Windows only: give uid and gid"));
            }
            (uid, gid, gids, umask)
        }
        Some(_) => return Err(format!("{user_field}: must be an object")),
    };

    let terminal = boolean(obj, field, "terminal")?;
    let console_size = match obj.get("consoleSize") {
        None | Some(Value::Null) => None,
        Some(Value::Object(size)) => {
            let dim = |key: &str| -> Result<u16, String> {
                size.get(key)
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| format!("{field}.consoleSize.{key}: must be a number 0 to 65535"))
            };
            Some((dim("height")?, dim("width")?))
        }
        Some(_) => return Err(format!("{field}.consoleSize: must be an object with height and width")),
    };

    let caps = match obj.get("capabilities") {
        None | Some(Value::Null) => Caps::default(),
        Some(Value::Object(sets)) => {
            let set = |key: &str| cap_set(sets.get(key), &format!("{field}.capabilities.{key}"));
            Caps {
                bounding: set("bounding")?,
                effective: set("effective")?,
                inheritable: set("inheritable")?,
                permitted: set("permitted")?,
                ambient: set("ambient")?,
            }
        }
        Some(_) => return Err(format!("{field}.capabilities: must be an object of five lists")),
    };
    let no_new_privs = boolean(obj, field, "noNewPrivileges")?;

    let rlimits = match obj.get("rlimits") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            let mut out: Vec<(libc::c_int, u64, u64)> = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                let at = format!("{field}.rlimits[{i}]");
                let kind =
                    item["type"].as_str().ok_or_else(|| format!("{at}.type: missing or not a string"))?;
                let resource =
                    RLIMITS.iter().find(|(name, _)| *name == kind).map(|(_, r)| *r).ok_or_else(|| {
                        format!("{at}.type {kind:?}: unknown: use one of setrlimit(2)'s, e.g. RLIMIT_NOFILE")
                    })?;
                let limit = |key: &str| {
                    item[key]
                        .as_u64()
                        .ok_or_else(|| format!("{at}.{key}: missing or not a number 0 to 2^64-1"))
                };
                let (soft, hard) = (limit("soft")?, limit("hard")?);
                if soft > hard {
                    return Err(format!("{at} {kind}: soft {soft} is above hard {hard}"));
                }
                if out.iter().any(|(r, _, _)| *r == resource) {
                    return Err(format!("{at}.type {kind:?}: given twice"));
                }
                out.push((resource, soft, hard));
            }
            out
        }
        Some(_) => return Err(format!("{field}.rlimits: must be an array")),
    };

    let oom_score_adj = match obj.get("oomScoreAdj") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|n| (-1000..=1000).contains(n))
                .ok_or_else(|| format!("{field}.oomScoreAdj: must be a number -1000 to 1000"))?
                as i32,
        ),
    };

    Ok(Process {
        args,
        env,
        cwd,
        uid,
        gid,
        additional_gids,
        umask,
        terminal,
        console_size,
        caps,
        no_new_privs,
        rlimits,
        oom_score_adj,
    })
}

fn u32_of(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn boolean(obj: &Map<String, Value>, field: &str, key: &str) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{field}.{key}: must be true or false")),
    }
}

/// An optional array of strings.
fn strings(obj: &Map<String, Value>, field: &str, key: &str) -> Result<Option<Vec<String>>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_string).ok_or_else(|| format!("{field}.{key}[{i}]: must be a string"))
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(format!("{field}.{key}: must be an array of strings")),
    }
}

/// A list of `CAP_*` names as a mask. The runtime-spec spells them with the
/// prefix; `ALL` and bare names are `launcher run`'s, not the spec's.
fn cap_set(v: Option<&Value>, at: &str) -> Result<u64, String> {
    let list = match v {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(format!("{at}: must be an array of names such as \"CAP_CHOWN\"")),
    };
    let mut mask = 0;
    for (i, item) in list.iter().enumerate() {
        let name =
            item.as_str().ok_or_else(|| format!("{at}[{i}]: must be a string such as \"CAP_CHOWN\""))?;
        if !name.starts_with("CAP_") {
            return Err(format!(
                "{at}[{i}] {name:?}: unknown: capability names start with CAP_, e.g. CAP_CHOWN"
            ));
        }
        mask |= crate::caps::parse(name).map_err(|e| format!("{at}[{i}]: {e}"))?;
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NO_LSM: &[(&str, &str, bool)] =
        &[("apparmorProfile", "AppArmor", false), ("selinuxLabel", "SELinux", false)];

    fn parse(v: Value) -> Result<Process, String> {
        parse_with(&v, "process", NO_LSM)
    }

    #[test]
    fn full_process_parses() {
        let p = parse(json!({
            "terminal": true,
            "consoleSize": {"height": 24, "width": 80},
            "user": {"uid": 1000, "gid": 100, "umask": 18, "additionalGids": [5, 6]},
            "args": ["sh", "-c", "echo hi"],
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "cwd": "/tmp",
            "capabilities": {
                "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_KILL"],
                "inheritable": [],
                "permitted": ["CAP_KILL", "CAP_CHOWN"],
                "ambient": ["CAP_KILL"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
            "noNewPrivileges": true,
            "oomScoreAdj": -500,
            "apparmorProfile": "",
            "selinuxLabel": ""
        }))
        .unwrap();
        assert_eq!(p.args, ["sh", "-c", "echo hi"]);
        assert_eq!(p.env, ["PATH=/usr/bin:/bin", "TERM=xterm"]);
        assert_eq!(p.cwd, "/tmp");
        assert_eq!(
            (p.uid, p.gid, p.additional_gids.as_slice(), p.umask),
            (1000, 100, &[5, 6][..], Some(0o22))
        );
        assert!(p.terminal && p.no_new_privs);
        assert_eq!(p.console_size, Some((24, 80)));
        assert_eq!(
            p.caps,
            Caps {
                bounding: 1 | 1 << 5 | 1 << 10,
                effective: 1 << 5,
                inheritable: 0,
                permitted: 1 << 5 | 1,
                ambient: 1 << 5
            }
        );
        assert_eq!(p.rlimits, [(libc::RLIMIT_NOFILE as libc::c_int, 512, 1024)]);
        assert_eq!(p.oom_score_adj, Some(-500));
    }

    #[test]
    fn minimal_process_has_root_and_nothing_else() {
        let p = parse(json!({"args": ["true"], "cwd": "/"})).unwrap();
        assert_eq!((p.uid, p.gid, p.umask, p.terminal, p.no_new_privs), (0, 0, None, false, false));
        assert_eq!(p.caps, Caps::default());
        assert!(p.env.is_empty() && p.rlimits.is_empty() && p.oom_score_adj.is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let base = json!({"args": ["true"], "cwd": "/"});
        let with = |key: &str, v: Value| {
            let mut p = base.clone();
            p[key] = v;
            parse(p).unwrap_err()
        };
        let e = with("rlimits", json!([{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]));
        assert!(e.starts_with("process.rlimits[0].type \"RLIMIT_FOO\": unknown"), "{e}");
        let e = with("rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}]));
        assert!(e.contains("soft 2 is above hard 1"), "{e}");
        let e = with("rlimits", json!([{"type": "RLIMIT_NOFILE", "soft": 1}]));
        assert!(e.starts_with("process.rlimits[0].hard: missing"), "{e}");
        let e = with("capabilities", json!({"bounding": ["CAP_CHOWN", "CAP_NOPE"]}));
        assert!(e.starts_with("process.capabilities.bounding[1]: unknown capability \"CAP_NOPE\""), "{e}");
        let e = with("capabilities", json!({"effective": ["ALL"]}));
        assert!(e.starts_with("process.capabilities.effective[0] \"ALL\": unknown"), "{e}");
        let e = with("cwd", json!("tmp"));
        assert!(e.starts_with("process.cwd \"tmp\": must be an absolute path"), "{e}");
        let e = with("args", json!([]));
        assert!(e.starts_with("process.args: missing or empty"), "{e}");
        let e = with("args", json!(["a", 1]));
        assert!(e.starts_with("process.args[1]: must be a string"), "{e}");
        let e = with("env", json!(["NOEQUALS"]));
        assert!(e.starts_with("process.env[0] \"NOEQUALS\": must be KEY=VALUE"), "{e}");
        let e = with("user", json!({"uid": -1}));
        assert!(e.starts_with("process.user.uid: must be a number"), "{e}");
        let e = with("user", json!({"uid": 0, "gid": 0, "umask": 4096}));
        assert!(e.starts_with("process.user.umask"), "{e}");
        let e = with("user", json!({"uid": 0, "gid": 0, "additionalGids": [1, "x"]}));
        assert!(e.starts_with("process.user.additionalGids[1]"), "{e}");
        let e = with("oomScoreAdj", json!(1001));
        assert!(e.starts_with("process.oomScoreAdj"), "{e}");
        let e = with("consoleSize", json!({"height": 24}));
        assert!(e.starts_with("process.consoleSize.width"), "{e}");
        let e = with("terminal", json!("yes"));
        assert!(e.starts_with("process.terminal: must be true or false"), "{e}");
        let e = with("scheduler", json!({"policy": "SCHED_OTHER"}));
        assert!(e.starts_with("process.scheduler: not supported"), "{e}");
        let e = parse_with(&json!([]), "/tmp/p.json", NO_LSM).unwrap_err();
        assert_eq!(e, "/tmp/p.json: must be an object");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn lsm_labels_refused_only_where_the_module_is_on() {
        let p =
            json!({"args": ["true"], "cwd": "/", "apparmorProfile": "docker-default", "selinuxLabel": "x"});
        assert!(parse_with(&p, "process", NO_LSM).is_ok());
        let apparmor_on = [("apparmorProfile", "AppArmor", true), ("selinuxLabel", "SELinux", false)];
        let e = parse_with(&p, "process", &apparmor_on).unwrap_err();
        assert!(
            e.starts_with("process.apparmorProfile \"docker-default\": this host enforces AppArmor"),
            "{e}"
        );
        let selinux_on = [("apparmorProfile", "AppArmor", false), ("selinuxLabel", "SELinux", true)];
        let e = parse_with(&p, "process", &selinux_on).unwrap_err();
        assert!(e.starts_with("process.selinuxLabel \"x\": this host enforces SELinux"), "{e}");
        // An empty label asks for nothing, wherever.
        let empty = json!({"args": ["true"], "cwd": "/", "apparmorProfile": ""});
        assert!(parse_with(&empty, "process", &apparmor_on).is_ok());
    }

    #[test]
    fn every_spec_rlimit_is_known() {
        for (name, resource) in RLIMITS {
            let p = parse(
                json!({"args": ["true"], "cwd": "/", "rlimits": [{"type": name, "soft": 1, "hard": 2}]}),
            );
            assert_eq!(p.unwrap().rlimits, [(*resource, 1, 2)], "{name}");
        }
        assert_eq!(RLIMITS.len(), 16);
    }
}
