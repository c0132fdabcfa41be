//! A hostile or broken root filesystem, and what the container may see of
//! the host: mount targets that are symlinks or files, a rootfs changed under
//! a starting container, /dev/shm, the cgroup namespace, PID 1's arguments,
//! and limits too small to start in.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;

fn sh(script: &str) -> Vec<&str> {
    vec!["--", "/bin/sh", "-c", script]
}

/// A directory on the host that a hostile rootfs points at, with one marker
/// file in it: whatever a run leaves there, or mounts there, shows.
struct HostDir(PathBuf);

impl HostDir {
    fn new(what: &str) -> HostDir {
        // Not below /tmp, the cargo target directory or the checkout, which may
        // be anywhere (CI clones into /tmp): the /tmp test links /tmp to it.
        let dir = Path::new("/var/tmp").join(format!("launcher-hostdir-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("marker"), "host").unwrap();
        HostDir(dir)
    }

    /// Nothing but the marker, unchanged, and no mount on or below it.
    #[track_caller]
    fn assert_untouched(&self) {
        let names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["marker"], "{} was written to", self.0.display());
        assert_eq!(std::fs::read_to_string(self.0.join("marker")).unwrap(), "host");
        let dir = self.0.to_string_lossy().into_owned();
        assert!(!host_mounts().contains(&dir), "a mount appeared at {dir}:\n{}", host_mounts());
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A copy of the test rootfs that the unprivileged test user owns.
fn user_rootfs_copy(what: &str) -> PathBuf {
    let copy = rootfs_copy(what);
    let (uid, gid) = test_user();
    let status = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&copy).status().unwrap();
    assert!(status.success());
    copy
}

fn run_in(rootfs: &Path, rootless: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(launcher_bin());
    cmd.arg("run").arg("--rootfs").arg(rootfs).args(args);
    cmd.stdin(std::process::Stdio::null());
    if rootless {
        let (uid, gid) = test_user();
        as_user(&mut cmd, uid, gid);
    }
    output(&mut cmd)
}

/// Exit 125 and exactly one line on stderr, which contains `needle`.
#[track_caller]
fn assert_refused(out: &Output, needle: &str) {
    assert_code(out, 125);
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line:\n{err}");
    assert!(err.starts_with("launcher: ") && err.contains(needle), "wanted {needle:?} in:\n{err}");
}

/// Replaces `rootfs/name` (a directory) with a symlink to `to`.
fn make_link(rootfs: &Path, name: &str, to: &Path) {
    let at = rootfs.join(name);
    std::fs::remove_dir_all(&at).unwrap();
    symlink(to, &at).unwrap();
}

fn restore_dir(rootfs: &Path, name: &str) {
    let at = rootfs.join(name);
    std::fs::remove_file(&at).unwrap();
    std::fs::create_dir(&at).unwrap();
}

#[test]
fn proc_dev_and_sys_as_symlinks_are_refused_and_the_host_is_untouched() {
    let host = HostDir::new("links");
    for rootless in [false, true] {
        let rootfs = if rootless { user_rootfs_copy("links-user") } else { rootfs_copy("links") };
        let before = host_mounts();
        for name in ["proc", "dev", "sys"] {
            let targets = [
                host.0.clone(),
                PathBuf::from("../../../../../../../../").join(host.0.strip_prefix("/").unwrap()),
                PathBuf::from("/"),
                rootfs.clone(),
            ];
            for to in targets {
                make_link(&rootfs, name, &to);
                let out = run_in(&rootfs, rootless, &["--", "/bin/true"]);
                let what = format!("{name} -> {} (rootless: {rootless})", to.display());
                assert_refused(&out, &format!("mount /{name}: "));
                assert!(stderr(&out).contains("is a symbolic link"), "{what}: {}", stderr(&out));
                assert!(stderr(&out).contains(&to.display().to_string()), "{what}: names the target");
                host.assert_untouched();
                restore_dir(&rootfs, name);
            }
        }
        assert_eq!(host_mounts(), before, "the host's mount table changed");
        std::fs::remove_dir_all(&rootfs).unwrap();
    }
}

#[test]
fn a_file_where_proc_belongs_is_refused() {
    let rootfs = rootfs_copy("file-proc");
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    std::fs::write(rootfs.join("proc"), "not a directory").unwrap();
    let out = run_in(&rootfs, false, &["--", "/bin/true"]);
    assert_refused(&out, "mount /proc: Not a directory: /proc in the rootfs is not a directory");
    std::fs::remove_dir_all(&rootfs).unwrap();
}

#[test]
fn tmp_as_a_symlink_leads_inside_the_rootfs() {
    let host = HostDir::new("tmp");
    let rootfs = rootfs_copy("tmp-link");
    std::fs::remove_dir_all(rootfs.join("tmp")).unwrap();
    // An absolute link, as distributions make it, meant inside the rootfs.
    std::fs::create_dir_all(rootfs.join(host.0.strip_prefix("/").unwrap())).unwrap();
    symlink(&host.0, rootfs.join("tmp")).unwrap();
    // --read-only: /tmp is not writable, so init mounts a tmpfs where it leads.
    let out =
        run_in(&rootfs, false, &["--read-only", "--", "/bin/sh", "-c", "echo x > /tmp/f && cat /tmp/f"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "x\n");
    host.assert_untouched();
    std::fs::remove_dir_all(&rootfs).unwrap();
}

/// Another process keeps swapping the rootfs's /dev (and a directory in it)
/// with symlinks to a host directory while containers start: each start
/// either runs with the real /dev, /proc and /dev/shm, or fails with one
/// line, and nothing ever reaches the host directory or its mount table.
///
/// One more outcome cannot be prevented: a swap after init's mounts renames
/// the mounted directory away on the host, so the running command finds
/// /dev gone (its checks fail: exit 1). The rootfs's owner can do that to
/// a running container at any time; what matters is that it is never
/// mounted outside. The old code followed the link silently, so it never
/// refused a start: `refused > 0` tells the two apart.
#[test]
fn a_rootfs_changed_while_containers_start_never_reaches_the_host() {
    let host = HostDir::new("race");
    let rootfs = rootfs_copy("race");
    std::fs::create_dir_all(rootfs.join("dev/pts")).unwrap();
    symlink(&host.0, rootfs.join("dev.swap")).unwrap();
    symlink(&host.0, rootfs.join("dev/pts.swap")).unwrap();
    let before = host_mounts();
    let stop = AtomicBool::new(false);
    // Stops the swapper on every way out, a failed assertion too, or the
    // scope would wait for it forever.
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let check =
        "test -c /dev/null && test -d /proc/1 && grep -q ' /dev/shm .* - tmpfs ' /proc/self/mountinfo \
                 && grep -q ' /dev/pts .* - devpts ' /proc/self/mountinfo && echo ok";
    let (mut ran, mut refused, mut lost_dev) = (0, 0, 0);
    std::thread::scope(|s| {
        s.spawn(|| {
            let exchange = |a: &Path, b: &Path| {
                let a = std::ffi::CString::new(a.as_os_str().as_encoded_bytes()).unwrap();
                let b = std::ffi::CString::new(b.as_os_str().as_encoded_bytes()).unwrap();
                // SAFETY: two NUL-terminated paths; renameat2 touches no other
                // memory. (This musl has no wrapper for it.)
                unsafe {
                    let (at, flag) = (libc::AT_FDCWD, libc::RENAME_EXCHANGE);
                    libc::syscall(libc::SYS_renameat2, at, a.as_ptr(), at, b.as_ptr(), flag)
                };
            };
            // Bursts of swaps with quiet gaps, so that some starts meet a
            // swap at their mounts and some run undisturbed.
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..300 {
                    exchange(&rootfs.join("dev"), &rootfs.join("dev.swap"));
                    exchange(&rootfs.join("dev.swap"), &rootfs.join("dev"));
                    exchange(&rootfs.join("dev/pts"), &rootfs.join("dev/pts.swap"));
                    exchange(&rootfs.join("dev/pts.swap"), &rootfs.join("dev/pts"));
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        let _stop = StopOnDrop(&stop);
        for _ in 0..200 {
            let out = run_in(&rootfs, false, &sh(check));
            match out.status.code() {
                Some(0) => {
                    assert_eq!(stdout(&out), "ok\n", "{}", stderr(&out));
                    ran += 1;
                }
                Some(1) => {
                    assert_eq!(stdout(&out), "", "{}", stderr(&out));
                    lost_dev += 1;
                }
                _ => {
                    assert_refused(&out, "mount /dev: ");
                    refused += 1;
                }
            }
            host.assert_untouched();
        }
    });
    assert_eq!(host_mounts(), before, "the host's mount table changed");
    let counts = format!("{ran} ran, {refused} refused, {lost_dev} lost /dev after the start");
    assert!(ran > 0 && refused > 0, "the race was never won or never lost: {counts}");
    eprintln!("{counts}");
    std::fs::remove_dir_all(&rootfs).unwrap();
}

#[test]
fn dev_shm_is_a_tmpfs_of_its_own_sized_by_shm_size() {
    let line = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(sh("grep ' /dev/shm ' /proc/self/mountinfo; stat -c %a /dev/shm"));
        let out = output(&mut launcher(&all));
        assert_code(&out, 0);
        stdout(&out)
    };
    let default = line(&[]);
    assert!(default.contains(" /dev/shm rw,nosuid,nodev,noexec,"), "{default}");
    assert!(default.contains(" - tmpfs ") && default.contains("size=65536k"), "docker's 64m: {default}");
    assert!(default.ends_with("\n1777\n"), "sticky and world-writable: {default}");
    assert!(line(&["--shm-size", "1m"]).contains("size=1024k"));
    let out = output(&mut launcher_rootless(&sh("df -k /dev/shm | tail -1")));
    assert_code(&out, 0);
    assert!(stdout(&out).split_whitespace().nth(1) == Some("65536"), "rootless: {}", stdout(&out));
    assert_refused(&output(&mut launcher(&["--shm-size", "lots", "--", "/bin/true"])), "--shm-size \"lots\"");
}

/// What the command sees of cgroups: its namespace's root is its own cgroup.
fn cgroup_view(rootless: bool, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(sh(
        "cat /proc/self/cgroup; echo --; ls /sys/fs/cgroup; echo --; \
                   cat /sys/fs/cgroup/*/pids.max /sys/fs/cgroup/*/memory.limit_in_bytes 2>/dev/null; \
                   echo --; touch /sys/fs/cgroup/x 2>&1; (echo 1 > /sys/fs/cgroup/pids/pids.max) 2>&1; true",
    ));
    let out = output(&mut if rootless { launcher_rootless(&all) } else { launcher(&all) });
    assert_code(&out, 0);
    stdout(&out)
}

#[test]
fn the_container_sees_only_its_own_cgroup() {
    for rootless in [false, true] {
        let delegated = rootless.then(|| {
            let made = Command::new(repo_root().join("scripts/cgroup.sh")).arg(TEST_USER).output().unwrap();
            assert!(made.status.success(), "scripts/cgroup.sh: {}", stderr(&made));
        });
        // No limits: no cgroup of its own, so an empty, read-only /sys/fs/cgroup.
        let text = cgroup_view(rootless, &[]);
        let parts: Vec<&str> = text.split("--\n").collect();
        assert!(parts[0].lines().all(|l| l.ends_with(":/")), "every hierarchy at its root:\n{text}");
        assert_eq!(parts[1], "", "nothing of the host's hierarchies:\n{text}");
        assert!(parts[3].contains("Read-only file system"), "{text}");
        // Limits (cgroup v1 here): each hierarchy of its own, from inside.
        let text = cgroup_view(rootless, &["--pids-limit", "10", "--memory", "50m"]);
        let parts: Vec<&str> = text.split("--\n").collect();
        assert!(parts[0].lines().all(|l| l.ends_with(":/")), "every hierarchy at its root:\n{text}");
        assert_eq!(parts[1], "memory\npids\n", "{text}");
        assert_eq!(parts[2], "10\n52428800\n", "its own limits:\n{text}");
        assert_eq!(parts[3].matches("Read-only file system").count(), 2, "read-only:\n{text}");
        if delegated.is_some() {
            let removed = Command::new(repo_root().join("scripts/cgroup.sh"))
                .args(["--remove", TEST_USER])
                .output()
                .unwrap();
            assert!(removed.status.success(), "scripts/cgroup.sh --remove: {}", stderr(&removed));
        }
    }
    // The host's namespace when asked: the path of the launcher's own cgroup.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let text = cgroup_view(false, &["--cgroupns", "host"]);
    let memory = own.lines().find(|l| l.contains(":memory:")).unwrap();
    assert!(text.contains(memory), "{text}");
    assert!(text.split("--\n").nth(1).unwrap().contains("memory\n"), "the host's hierarchies: {text}");
    let out = output(&mut launcher(&["--cgroupns", "shared", "--", "/bin/true"]));
    assert_refused(&out, "--cgroupns \"shared\": use private (the default) or host");
}

#[test]
fn pid_1_shows_init_and_the_command_but_not_the_host() {
    for rootless in [false, true] {
        let mut cmd = if rootless {
            launcher_rootless(&sh("tr '\\0' ' ' < /proc/1/cmdline"))
        } else {
            launcher(&sh("tr '\\0' ' ' < /proc/1/cmdline"))
        };
        let out = output(&mut cmd);
        assert_code(&out, 0);
        assert_eq!(stdout(&out), "init -- /bin/sh -c tr '\\0' ' ' < /proc/1/cmdline ");
    }
}

#[test]
fn limits_too_small_to_start_in_are_refused() {
    assert_refused(
        &output(&mut launcher(&["--pids-limit", "1", "--", "/bin/true"])),
        "--pids-limit 1: the container's init is one of its processes",
    );
    assert_refused(&output(&mut launcher(&["--memory", "1k", "--", "/bin/true"])), "below 6m");
    assert_refused(&output(&mut launcher(&["--memory", "5m", "--", "/bin/true"])), "use at least 6m");
    assert_code(&output(&mut launcher(&["--pids-limit", "2", "--memory", "6m", "--", "/bin/true"])), 0);
}

#[test]
fn version_names_the_commit() {
    for args in [&["--version"][..], &["version"]] {
        let out = output(Command::new(launcher_bin()).args(args));
        assert_code(&out, 0);
        let text = stdout(&out);
        let (head, commit) = text.trim_end().split_once(" (commit ").unwrap();
        assert_eq!(head, concat!("launcher ", env!("CARGO_PKG_VERSION")));
        let commit = commit.strip_suffix(')').unwrap();
        assert!(commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    }
}
