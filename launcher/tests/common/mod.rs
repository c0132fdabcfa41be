//! Shared by the integration tests: the built launcher, a busybox rootfs made by
//! the project's own script, and an unprivileged user for rootless runs.
//!
//! These tests drive real containers on the real kernel, so they need root (to
//! make the test user, and for rootful runs). They fail loudly otherwise.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub const TEST_USER: &str = "launcher-test";

pub fn launcher_bin() -> &'static str {
    env!("CARGO_BIN_EXE_launcher")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn require_root() {
    // SAFETY: geteuid has no failure modes.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "these tests run real containers rootful and rootless and must run as root (sudo make test)"
    );
}

/// A busybox rootfs owned by root, built once per test binary.
pub fn rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        require_root();
        let dir = scratch_dir("rootfs");
        build_rootfs(&dir);
        dir
    })
}

/// A rootfs owned by the test user, for rootless runs.
pub fn user_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let (uid, gid) = test_user();
        let dir = scratch_dir("user-rootfs");
        build_rootfs(&dir);
        let status = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&dir).status().unwrap();
        assert!(status.success(), "chown -R {uid}:{gid} {}", dir.display());
        dir
    })
}

/// A fresh rootfs of its own, for a test that changes it; in the scratch
/// space as `<test binary>-<what>`, replaced on each call. Made anew rather
/// than copied from `rootfs()`, which other tests of the binary write to
/// (and remove from) while they run.
pub fn rootfs_copy(what: &str) -> PathBuf {
    require_root();
    let dir = scratch_dir(what);
    build_rootfs(&dir);
    dir
}

/// A directory under cargo's target/tmp named after this test binary, so
/// runs reuse (and rebuild) the same place instead of piling up in /tmp.
/// It must be reachable by the unprivileged test user: target/ is.
fn scratch_dir(what: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe.file_stem().unwrap().to_string_lossy();
    let binary = binary.split('-').next().unwrap_or("test");
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{binary}-{what}"))
}

fn build_rootfs(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let script = repo_root().join("scripts/busybox-rootfs.sh");
    let out = Command::new(&script).arg(dir).output().expect("run scripts/busybox-rootfs.sh");
    assert!(
        out.status.success(),
        "{} {} failed: {}",
        script.display(),
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("bin/sh").exists(), "busybox rootfs has no /bin/sh");
}

/// (uid, gid) of the unprivileged test user, made with useradd if missing.
pub fn test_user() -> (u32, u32) {
    static USER: OnceLock<(u32, u32)> = OnceLock::new();
    *USER.get_or_init(|| {
        require_root();
        let lookup = || {
            let out = Command::new("id").args(["-u", TEST_USER]).output().ok()?;
            let uid = String::from_utf8(out.stdout).ok()?.trim().parse().ok()?;
            let out = Command::new("id").args(["-g", TEST_USER]).output().ok()?;
            let gid = String::from_utf8(out.stdout).ok()?.trim().parse().ok()?;
            Some((uid, gid))
        };
        if let Some(ids) = lookup() {
            return ids;
        }
        let out = Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER])
            .output()
            .expect("useradd (package passwd) is needed to make the rootless test user");
        // Parallel tests may race to create it: only a lookup failure is fatal.
        lookup().unwrap_or_else(|| panic!("useradd {TEST_USER}: {}", String::from_utf8_lossy(&out.stderr)))
    })
}

/// `launcher run --rootfs ROOTFS ARGS...` as root.
pub fn launcher(args: &[&str]) -> Command {
    let mut cmd = Command::new(launcher_bin());
    cmd.arg("run").arg("--rootfs").arg(rootfs()).args(args);
    cmd.stdin(Stdio::null());
    cmd
}

/// The same, as the unprivileged test user with its own rootfs.
pub fn launcher_rootless(args: &[&str]) -> Command {
    let (uid, gid) = test_user();
    let mut cmd = Command::new(launcher_bin());
    cmd.arg("run").arg("--rootfs").arg(user_rootfs()).args(args);
    cmd.stdin(Stdio::null());
    as_user(&mut cmd, uid, gid);
    cmd
}

/// Makes `cmd` run as uid:gid with no supplementary groups and a minimal environment.
pub fn as_user(cmd: &mut Command, uid: u32, gid: u32) {
    cmd.env_clear().env("PATH", "/usr/bin:/bin");
    // SAFETY: only async-signal-safe syscalls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs and returns the output, with both streams in any assertion message.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn the launcher")
}

#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status {:?}, wanted {code}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// The host's mount table, to compare before and after a run.
pub fn host_mounts() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

/// A spawned launcher, SIGKILLed and reaped if a test fails before it ends
/// (its container dies with it), so a failing test leaves nothing running.
pub struct Running(pub std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An argument for `sleep` that no other test process uses, so `pgrep -f`
/// finds only this process's sleepers ("600.<pid>" seconds).
pub fn long_sleep() -> String {
    format!("600.{}", std::process::id())
}

/// A user that root gave subordinate id ranges (useradd does for normal users),
/// with its own copy of the rootfs.
pub fn ranged_user() -> (u32, u32, std::path::PathBuf) {
    const USER: &str = "launcher-subid";
    static MADE: OnceLock<(u32, u32, std::path::PathBuf)> = OnceLock::new();
    MADE.get_or_init(|| {
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, USER]).output().ok()?;
            String::from_utf8(out.stdout).ok()?.trim().parse().ok()
        };
        if id("-u").is_none() {
            let out = Command::new("useradd")
                .args(["--no-create-home", "--shell", "/usr/sbin/nologin", USER])
                .output()
                .unwrap();
            assert!(id("-u").is_some(), "useradd {USER}: {}", stderr(&out));
        }
        for file in ["/etc/subuid", "/etc/subgid"] {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if !text.lines().any(|l| l.starts_with(&format!("{USER}:"))) {
                let flag = if file.ends_with("uid") { "--add-subuids" } else { "--add-subgids" };
                let out = Command::new("usermod").args([flag, "600000-665535", USER]).output().unwrap();
                assert!(out.status.success(), "usermod {flag}: {}", stderr(&out));
            }
        }
        let (uid, gid) = (id("-u").unwrap(), id("-g").unwrap());
        let dir = rootfs_copy("subid-rootfs");
        let owned = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&dir).status().unwrap();
        assert!(owned.success(), "chown the rootfs copy for {USER}");
        (uid, gid, dir)
    })
    .clone()
}
