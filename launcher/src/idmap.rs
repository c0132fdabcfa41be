//! The container's uid/gid maps, written by the parent while the child waits.

use std::ffi::{CStr, CString};
use std::fs;

/// Who is who inside the user namespace.
pub enum IdMap {
    /// Root stays root: the identity map.
    Root,
    /// The caller becomes root inside; nobody else is mapped. setgroups(2) is
    /// denied first, as the kernel requires of an unprivileged gid_map writer
    /// (a container could otherwise drop a group that keeps the caller out).
    Single { uid: u32, gid: u32 },
    /// The caller is root inside and 1..=N map to the ranges root gave it in
    /// /etc/subuid and /etc/subgid, written by the setuid helpers newuidmap and
    /// newgidmap, so `chown` and `adduser` work inside.
    Ranges { uid: u32, gid: u32, uids: (u32, u32), gids: (u32, u32) },
    /// Maps given whole (`INSIDE OUTSIDE COUNT` lines, an OCI config's),
    /// written by root.
    Given { uids: String, gids: String },
}

impl IdMap {
    pub fn for_caller() -> IdMap {
        // SAFETY: geteuid/getegid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if uid == 0 {
            return IdMap::Root;
        }
        let user = user_name(uid);
        let ranges = (
            sub_range("/etc/subuid", uid, user.as_deref()),
            sub_range("/etc/subgid", uid, user.as_deref()),
            helper("newuidmap"),
            helper("newgidmap"),
        );
        match ranges {
            (Some(uids), Some(gids), true, true) => IdMap::Ranges { uid, gid, uids, gids },
            _ => IdMap::Single { uid, gid },
        }
    }

    /// Who root inside is, for `--trace`.
    pub fn describe(&self) -> String {
        match *self {
            IdMap::Root => "root inside is root outside (identity map)".into(),
            IdMap::Single { uid, .. } => format!("root inside is uid {uid} outside, no other id mapped"),
            IdMap::Ranges { uid, uids, .. } => {
                format!("root inside is uid {uid} outside, 1..={} map to {}..", uids.1, uids.0)
            }
            IdMap::Given { ref uids, .. } => format!("uid map as given: {}", uids.trim().replace('\n', ", ")),
        }
    }

    pub fn write(&self, pid: libc::pid_t) -> Result<(), String> {
        let write = |file: &str, content: &str| {
            let path = format!("/proc/{pid}/{file}");
            fs::write(&path, content).map_err(|e| format!("write {path} ({content:?}): {e}"))
        };
        match *self {
            IdMap::Root => {
                write("uid_map", "0 0 4294967295")?;
                write("gid_map", "0 0 4294967295")
            }
            IdMap::Single { uid, gid } => {
                write("setgroups", "deny")?;
                write("uid_map", &format!("0 {uid} 1"))?;
                write("gid_map", &format!("0 {gid} 1"))
            }
            IdMap::Ranges { uid, gid, uids, gids } => {
                run_helper("newuidmap", pid, uid, uids)?;
                run_helper("newgidmap", pid, gid, gids)
            }
            IdMap::Given { ref uids, ref gids } => {
                write("uid_map", uids)?;
                write("gid_map", gids)
            }
        }
    }
}

/// Runs newuidmap or newgidmap; they print their own reason on stderr.
fn run_helper(name: &str, pid: libc::pid_t, id: u32, (start, count): (u32, u32)) -> Result<(), String> {
    let args = [
        pid.to_string(),
        "0".into(),
        id.to_string(),
        "1".into(),
        "1".into(),
        start.to_string(),
        count.to_string(),
    ];
    let argv: Vec<CString> = std::iter::once(name.to_string())
        .chain(args.iter().cloned())
        .map(|a| CString::new(a).expect("numbers and a fixed name have no NUL"))
        .collect();
    let mut ptrs: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr() as *mut _).collect();
    ptrs.push(std::ptr::null_mut());
    let envp: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
    let mut child = 0;
    // SAFETY: argv and envp are NULL-terminated arrays of C strings that outlive
    // the call. (std's Command would do the same for ~20 KiB more binary.)
    let err = unsafe {
        libc::posix_spawnp(
            &mut child,
            ptrs[0],
            std::ptr::null(),
            std::ptr::null(),
            ptrs.as_ptr(),
            envp.as_ptr(),
        )
    };
    if err != 0 {
        return Err(format!("run {name}: {}: install it (Debian: uidmap)", crate::status::strerror(err)));
    }
    let mut wstatus = 0;
    // SAFETY: waits for the child just spawned, writing into a live local.
    unsafe { libc::waitpid(child, &mut wstatus, 0) };
    if !(libc::WIFEXITED(wstatus) && libc::WEXITSTATUS(wstatus) == 0) {
        return Err(format!(
            "{name} {} failed (its reason is above): check your ranges in /etc/sub{}id, or remove them to run with a single-id map",
            args.join(" "),
            &name[3..4]
        ));
    }
    Ok(())
}

/// The first range for this user (by name or uid) in /etc/subuid or /etc/subgid.
fn sub_range(file: &str, uid: u32, user: Option<&str>) -> Option<(u32, u32)> {
    let text = fs::read_to_string(file).ok()?;
    parse_range(&text, uid, user)
}

fn parse_range(text: &str, uid: u32, user: Option<&str>) -> Option<(u32, u32)> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let (owner, start, count) = (fields.next()?, fields.next()?, fields.next()?);
        let mine = Some(owner) == user || owner.parse::<u32>().ok() == Some(uid);
        let (start, count) = (start.parse().ok()?, count.parse::<u32>().ok()?);
        (mine && count > 0).then_some((start, count))
    })
}

fn helper(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
}

fn user_name(uid: u32) -> Option<String> {
    // SAFETY: getpwuid returns NULL or a pointer to a static passwd entry, read
    // at once; the launcher is single-threaded.
    unsafe {
        let pw = libc::getpwuid(uid);
        if pw.is_null() {
            return None;
        }
        Some(CStr::from_ptr((*pw).pw_name).to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges_by_name_or_uid() {
        let text = "alice:100000:65536\n1001:200000:1000\nbob:300000:0\n";
        assert_eq!(super::parse_range(text, 1000, Some("alice")), Some((100000, 65536)));
        assert_eq!(super::parse_range(text, 1001, Some("carol")), Some((200000, 1000)));
        assert_eq!(super::parse_range(text, 1002, Some("bob")), None, "an empty range is no range");
        assert_eq!(super::parse_range("garbage\n", 1, None), None);
    }
}
