//! The container's uid/gid maps, written by the parent while the child waits.

use std::fs;

/// Who is who inside the user namespace.
pub struct IdMap {
    uid_map: String,
    gid_map: String,
    /// An unprivileged writer must deny setgroups(2) before writing gid_map, or
    /// the container could drop a group the caller was kept out by.
    deny_setgroups: bool,
}

impl IdMap {
    /// Root stays root (identity map); anyone else becomes root inside and
    /// maps to nobody else.
    pub fn for_caller() -> IdMap {
        // SAFETY: geteuid/getegid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if uid == 0 {
            IdMap {
                uid_map: "0 0 4294967295".into(),
                gid_map: "0 0 4294967295".into(),
                deny_setgroups: false,
            }
        } else {
            IdMap { uid_map: format!("0 {uid} 1"), gid_map: format!("0 {gid} 1"), deny_setgroups: true }
        }
    }

    pub fn write(&self, pid: libc::pid_t) -> Result<(), String> {
        let write = |file: &str, content: &str| {
            let path = format!("/proc/{pid}/{file}");
            fs::write(&path, content).map_err(|e| format!("write {path} ({content:?}): {e}"))
        };
        if self.deny_setgroups {
            write("setgroups", "deny")?;
        }
        write("uid_map", &self.uid_map)?;
        write("gid_map", &self.gid_map)
    }
}
