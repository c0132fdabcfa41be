//! Faults and soak: whatever happens to the container or the launcher, the
//! right status comes out and nothing is left behind.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// One test at a time: they count processes and fds that the others would add.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn fds_of(pid: u32) -> Vec<String> {
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    fds
}

fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// Waits until the command runs (init's child has exec'd it) and returns init's pid.
fn wait_for_init(launcher: &Child, command: &str) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(&init) = children_of(launcher.id()).first() {
            let running = children_of(init).iter().any(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == command)
            });
            if running {
                return init;
            }
        }
        assert!(Instant::now() < deadline, "the container did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "process {pid} survived");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every file in the rootfs, to compare before and after.
fn rootfs_listing() -> String {
    let out = Command::new("find").arg(rootfs()).output().unwrap();
    let mut lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn sigkill_of_the_launcher_takes_the_whole_container_with_it() {
    let _serial = serial();
    let script = format!("sleep {0} & sleep {0}", long_sleep());
    let mut launcher = Running(launcher(&["--", "/bin/sh", "-c", &script]).spawn().unwrap());
    let init = wait_for_init(&launcher, "sleep");
    let command = children_of(init)[0];
    launcher.kill().unwrap();
    launcher.wait().unwrap();
    wait_gone(init);
    wait_gone(command);
}

#[test]
fn command_exiting_with_children_still_running_ends_the_container() {
    let _serial = serial();
    let started = Instant::now();
    let script = format!("sleep {0} & sleep {0} & exit 4", long_sleep());
    let out = output(&mut launcher(&["--", "/bin/sh", "-c", &script]));
    assert_code(&out, 4);
    assert!(started.elapsed() < Duration::from_secs(10), "the container outlived its command");
    let left = Command::new("pgrep").args(["-f", &format!("^sleep {}$", long_sleep())]).output().unwrap();
    assert_eq!(stdout(&left), "", "background processes survived the container");
}

#[test]
fn the_launcher_holds_only_what_it_needs_while_the_container_runs() {
    let _serial = serial();
    let mut launcher = Running(launcher(&["--", "/bin/sleep", &long_sleep()]).spawn().unwrap());
    wait_for_init(&launcher, "sleep");
    // Besides what it inherited: the signalfd. The channel closed when the
    // command started, the init's memfd once init was exec'd.
    let targets = |pid: u32| -> Vec<String> {
        fds_of(pid)
            .iter()
            .filter(|fd| !["0", "1", "2"].contains(&fd.as_str()))
            .filter_map(|fd| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok())
            .map(|t| t.to_string_lossy().into_owned())
            .collect()
    };
    let inherited = targets(std::process::id());
    let targets: Vec<String> =
        targets(launcher.id()).into_iter().filter(|t| !inherited.contains(t)).collect();
    assert_eq!(targets, ["anon_inode:[signalfd]"], "open in the launcher");
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(launcher.id() as i32, libc::SIGTERM) };
    assert_eq!(launcher.wait().unwrap().code(), Some(143));
}

#[test]
fn soak_500_in_a_row_then_20_at_once_leave_nothing_behind() {
    let _serial = serial();
    let mounts = host_mounts();
    let files = rootfs_listing();
    for i in 0..500 {
        let out = output(&mut launcher(&["--", "/bin/true"]));
        assert!(out.status.success(), "run {i}: {:?} {}", out.status, stderr(&out));
    }
    let parallel: Vec<Child> = (0..20)
        .map(|_| {
            launcher(&["--", "/bin/sh", "-c", "echo ok > /dev/null"]).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for child in parallel {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{:?} {}", out.status, stderr(&out));
    }
    assert_eq!(host_mounts(), mounts, "mounts left on the host");
    assert_eq!(rootfs_listing(), files, "files left in the rootfs");
    // Only this test binary's containers: their init names our rootfs.
    let ours = format!("launcher-init {}", rootfs().display());
    let left = Command::new("pgrep").args(["-f", &ours]).output().unwrap();
    assert_eq!(stdout(&left), "", "init processes left");
}
