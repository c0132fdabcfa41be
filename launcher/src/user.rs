//! The command's user: `--user USER[:GROUP]` and `--group-add GROUP`, taken
//! as docker takes them. Names, the user's primary group, its memberships and
//! its home come from the rootfs's own /etc/passwd and /etc/group, opened
//! inside the rootfs (openat2 RESOLVE_IN_ROOT), so that no symlink there can
//! make the launcher read a host file.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

/// Who the command runs as. Without one in the spec it stays root inside,
/// with the groups init has, and init makes no call for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups asked for (`--group-add`, OCI's additionalGids).
    pub groups: Vec<u32>,
    /// The groups the rootfs's /etc/group lists the user in, which runc
    /// gives it too when no group is named; left out, as runc leaves them,
    /// where setgroups(2) is denied (a single-id map).
    pub member_of: Vec<u32>,
}

impl User {
    /// What setgroups(2) gets: the memberships, then the groups asked for,
    /// each once; past MAX_GROUPS (an error for the caller) it stops.
    pub fn all_groups(&self) -> Vec<u32> {
        let mut all: Vec<u32> = Vec::new();
        for &g in self.member_of.iter().chain(&self.groups) {
            if all.len() > MAX_GROUPS {
                break;
            }
            if !all.contains(&g) {
                all.push(g);
            }
        }
        all
    }
}

/// The most supplementary groups a command gets: they travel in init's
/// config record, 4 bytes each (the kernel takes up to 65536).
pub const MAX_GROUPS: usize = 1024;

/// The largest file of users or groups the launcher reads.
const MAX_DB_BYTES: u64 = 4 << 20;

/// The user that `--user` and `--group-add` ask for (None: neither was
/// given), and the HOME it has (its passwd entry's, or "/" as with docker).
pub fn resolve(
    user: Option<&str>,
    group_add: &[String],
    rootfs: &Path,
) -> Result<Option<(User, String)>, String> {
    if user.is_none() && group_add.is_empty() {
        return Ok(None);
    }
    // Errors name the option they are about.
    let flag = |what: String| match user {
        Some(u) => format!("--user {u:?}: {what}"),
        None => format!("--group-add: {what}"),
    };
    // --group-add alone: root, with its groups and the added ones.
    let spec = user.unwrap_or("0");
    let (name, group) = match spec.split_once(':') {
        Some((name, group)) => (name, Some(group)),
        None => (spec, None),
    };
    if name.is_empty() || group == Some("") {
        return Err(flag("expected USER[:GROUP], each a name or a number, e.g. --user 1000:1000".into()));
    }
    let uid_given = parse_id(name).map_err(flag)?;
    let passwd = Db::read(rootfs, "etc/passwd").map_err(flag)?;
    // passwd: name:password:uid:gid:gecos:home:shell
    let entry = match uid_given {
        Some(uid) => passwd.find(|f| f.get(2).and_then(|u| u.parse().ok()) == Some(uid)),
        None => Some(passwd.find(|f| f.first() == Some(&name)).ok_or_else(|| {
            flag(format!(
                "no user {name:?} in the rootfs's /etc/passwd: use a uid, or add the user to the image"
            ))
        })?),
    };
    let field = |i: usize| entry.as_ref().and_then(|f| f.get(i).copied());
    let uid = match uid_given {
        Some(uid) => uid,
        None => field(2)
            .and_then(|u| u.parse().ok())
            .ok_or_else(|| flag(format!("the rootfs's /etc/passwd gives {name:?} no valid uid")))?,
    };
    // group: name:password:gid:member,member...
    let group_db = Db::read(rootfs, "etc/group").map_err(flag)?;
    let gid_of = |group: &str| -> Result<u32, String> {
        if let Some(gid) = parse_id(group)? {
            return Ok(gid);
        }
        group_db
            .find(|f| f.first() == Some(&group))
            .and_then(|f| f.get(2).and_then(|g| g.parse().ok()))
            .ok_or_else(|| {
                format!(
                    "no group {group:?} in the rootfs's /etc/group: use a gid, or add the group to the image"
                )
            })
    };
    let mut member_of = Vec::new();
    let gid = match group {
        Some(group) => gid_of(group).map_err(flag)?,
        // As runc: the passwd entry's group (0 without an entry) and, as
        // supplementary groups, those that list the user as a member; only
        // when no group is named.
        None => {
            if let Some(user_name) = field(0) {
                for f in group_db.lines() {
                    let member = f.get(3).is_some_and(|m| m.split(',').any(|m| m == user_name));
                    if let Some(g) = f.get(2).and_then(|g| g.parse().ok()).filter(|_| member) {
                        member_of.push(g);
                    }
                }
            }
            field(3).and_then(|g| g.parse().ok()).unwrap_or(0)
        }
    };
    let groups = group_add
        .iter()
        .map(|add| gid_of(add).map_err(|e| format!("--group-add {add:?}: {e}")))
        .collect::<Result<_, _>>()?;
    let home = field(5).filter(|h| !h.is_empty()).unwrap_or("/").to_string();
    Ok(Some((User { uid, gid, groups, member_of }, home)))
}

/// A number is an id; anything else a name. u32::MAX is no id: set*id(2)
/// read it as "leave unchanged".
fn parse_id(s: &str) -> Result<Option<u32>, String> {
    if s.is_empty() {
        return Err("an empty name: give a name or a number".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(id) if id != u32::MAX => Ok(Some(id)),
        _ => Err(format!("{s} is not an id: ids go from 0 to 4294967294")),
    }
}

/// A colon-separated database of the rootfs (/etc/passwd, /etc/group); empty
/// when the file does not exist, as in images without users.
struct Db(String);

impl Db {
    fn read(rootfs: &Path, path: &str) -> Result<Db, String> {
        let fail = |e: std::io::Error| format!("read the rootfs's /{path}: {e}");
        let root = std::fs::File::open(rootfs).map_err(|e| format!("rootfs {}: {e}", rootfs.display()))?;
        // O_NONBLOCK: a FIFO put there must not stall the launcher.
        let flags = libc::O_RDONLY | libc::O_NOCTTY | libc::O_NONBLOCK;
        let fd: OwnedFd = match crate::mounts::open_in_root(&root, Path::new(path), flags, 0) {
            Ok(fd) => fd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Db(String::new())),
            Err(e) => return Err(fail(e)),
        };
        let file = std::fs::File::from(fd);
        let meta = file.metadata().map_err(fail)?;
        if !meta.is_file() {
            return Err(format!("the rootfs's /{path} is not a regular file: make it one"));
        }
        if meta.len() > MAX_DB_BYTES {
            return Err(format!(
                "the rootfs's /{path} is {} bytes, over the {MAX_DB_BYTES} read",
                meta.len()
            ));
        }
        let mut text = String::new();
        file.take(MAX_DB_BYTES).read_to_string(&mut text).map_err(fail)?;
        Ok(Db(text))
    }

    /// Each line's fields; comments and blank lines are skipped.
    fn lines(&self) -> impl Iterator<Item = Vec<&str>> {
        self.0
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split(':').collect())
    }

    fn find(&self, matches: impl Fn(&[&str]) -> bool) -> Option<Vec<&str>> {
        self.lines().find(|f| matches(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs(passwd: &str, group: &str) -> tempdir::Dir {
        tempdir::Dir::new(passwd, group)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new(passwd: &str, group: &str) -> Dir {
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let dir = std::env::temp_dir().join(format!("launcher-user-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(dir.join("etc")).unwrap();
                std::fs::write(dir.join("etc/passwd"), passwd).unwrap();
                std::fs::write(dir.join("etc/group"), group).unwrap();
                Dir(dir)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n# c\nnohome:x:1002:1002:::\n";
    const GROUP: &str = "root:x:0:root\nwheel:x:10:root,app\napp:x:1001:\nstaff:x:50:\n";

    fn user(u: Option<&str>, add: &[&str]) -> Result<Option<(User, String)>, String> {
        let dir = rootfs(PASSWD, GROUP);
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve(u, &add, &dir.0)
    }

    #[test]
    fn numbers_names_groups_and_home() {
        assert_eq!(user(None, &[]).unwrap(), None);
        let u = |uid, gid, groups: &[u32], member_of: &[u32], home: &str| {
            let user = User { uid, gid, groups: groups.to_vec(), member_of: member_of.to_vec() };
            Some((user, home.to_string()))
        };
        assert_eq!(user(Some("1000:1000"), &[]).unwrap(), u(1000, 1000, &[], &[], "/home/app"));
        assert_eq!(user(Some("1000"), &[]).unwrap(), u(1000, 1001, &[], &[10], "/home/app"));
        let app = user(Some("app"), &["staff", "7", "10"]).unwrap();
        assert_eq!(app, u(1000, 1001, &[50, 7, 10], &[10], "/home/app"));
        assert_eq!(app.unwrap().0.all_groups(), [10, 50, 7]);
        assert_eq!(user(Some("app:staff"), &[]).unwrap(), u(1000, 50, &[], &[], "/home/app"));
        assert_eq!(user(Some("4242"), &[]).unwrap(), u(4242, 0, &[], &[], "/"));
        assert_eq!(user(Some("nohome"), &[]).unwrap(), u(1002, 1002, &[], &[], "/"));
        assert_eq!(user(None, &["staff"]).unwrap(), u(0, 0, &[50], &[0, 10], "/root"));
    }

    #[test]
    fn bad_users_are_named() {
        for (bad, want) in [
            ("nobody", "no user \"nobody\""),
            ("app:nogroup", "no group \"nogroup\""),
            ("4294967295", "is not an id"),
            ("99999999999", "is not an id"),
            (":1", "expected USER[:GROUP]"),
            ("1:", "expected USER[:GROUP]"),
        ] {
            let e = user(Some(bad), &[]).unwrap_err();
            assert!(e.contains(want) && e.starts_with("--user"), "{bad}: {e}");
        }
        let e = user(Some("1"), &["nope"]).unwrap_err();
        assert!(e.starts_with("--group-add \"nope\": no group"), "{e}");
        let e = user(None, &[""]).unwrap_err();
        assert!(e.starts_with("--group-add \"\": an empty name"), "{e}");
    }

    #[test]
    fn without_databases_numbers_still_work() {
        let dir = std::env::temp_dir().join(format!("launcher-user-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let got = resolve(Some("5:6"), &[], &dir).unwrap();
        assert_eq!(got, Some((User { uid: 5, gid: 6, ..User::default() }, "/".into())));
        assert!(resolve(Some("app"), &[], &dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
