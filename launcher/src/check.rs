//! `launcher check`: what this host supports, in the spirit of lxc-checkconfig.
//! Every answer comes from trying the real thing (in a throwaway child where it
//! would change this process) or from the files the kernel exposes.

use std::fs;
use std::io;

use crate::cgroup::{self, Controller, Host, Layout};
use crate::namespaces;

struct Report {
    lines: Vec<String>,
    /// False when `launcher run` cannot work at all.
    ok: bool,
}

impl Report {
    fn line(&mut self, what: &str, text: impl AsRef<str>) {
        self.lines.push(format!("{what:<17} {}", text.as_ref()));
    }
    fn more(&mut self, text: impl AsRef<str>) {
        self.lines.push(format!("{:<17} {}", "", text.as_ref()));
    }
}

pub fn run() -> i32 {
    let r = report();
    for l in &r.lines {
        println!("{l}");
    }
    if r.ok {
        0
    } else {
        1
    }
}

fn read_trim(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn strerror(errno: i32) -> String {
    io::Error::from_raw_os_error(errno).to_string()
}

fn report() -> Report {
    let mut r = Report { lines: Vec::new(), ok: true };
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    r.line("kernel:", read_trim("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".into()));
    r.line(
        "mode:",
        if euid == 0 {
            "rootful (uid 0)".to_string()
        } else {
            format!("rootless (uid {euid} becomes root inside: single-id map, setgroups deny)")
        },
    );
    namespaces(&mut r, euid);
    kernel_calls(&mut r);
    pivot_root(&mut r);
    cgroups(&mut r);
    r.line(
        "result:",
        if r.ok { "launcher run can work here" } else { "launcher run cannot work here: see above" },
    );
    r
}

/// In a forked child: unshare the namespaces `run` uses and make `/` private,
/// which needs the capabilities a new user namespace should grant. Returns the
/// failed step and errno. Without `user_ns` it leaves CLONE_NEWUSER out, as
/// `run` does as root where the kernel makes no user namespaces.
fn try_namespaces(user_ns: bool) -> Result<(), (&'static str, i32)> {
    const STEPS: [&str; 4] = [
        "fork",
        "unshare(CLONE_NEWUSER)",
        "unshare(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC)",
        "mount(/, MS_REC|MS_PRIVATE) in the new namespaces",
    ];
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err((STEPS[0], io::Error::last_os_error().raw_os_error().unwrap_or(0)));
    }
    // SAFETY: the child calls only async-signal-safe syscalls, then _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        // SAFETY: closing our own fds.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err((STEPS[0], e));
    }
    if pid == 0 {
        // SAFETY: raw syscalls in the child; results are sent over the pipe.
        unsafe {
            let fail = |step: u32| {
                let msg = [step, *libc::__errno_location() as u32];
                libc::write(fds[1], msg.as_ptr() as *const libc::c_void, 8);
                libc::_exit(1);
            };
            if user_ns && libc::unshare(libc::CLONE_NEWUSER) != 0 {
                fail(1);
            }
            let rest = libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
            if libc::unshare(rest) != 0 {
                fail(2);
            }
            let root = b"/\0";
            let flags = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(std::ptr::null(), root.as_ptr().cast(), std::ptr::null(), flags, std::ptr::null())
                != 0
            {
                fail(3);
            }
            libc::_exit(0);
        }
    }
    let mut msg = [0u32; 2];
    // SAFETY: reading into msg, then reaping our own child.
    let (n, st) = unsafe {
        libc::close(fds[1]);
        let n = libc::read(fds[0], msg.as_mut_ptr() as *mut libc::c_void, 8);
        libc::close(fds[0]);
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        (n, st)
    };
    if n == 8 {
        Err((STEPS[(msg[0] as usize).min(3)], msg[1] as i32))
    } else if st != 0 {
        Err(("the namespace test child died without a word", 0))
    } else {
        Ok(())
    }
}

fn namespaces(r: &mut Report, euid: u32) {
    let tried = try_namespaces(true);
    let refused = |errno: i32| namespaces::userns_refused(&io::Error::from_raw_os_error(errno));
    if let (Err((_, errno)), 0) = (tried, euid) {
        if refused(errno) && try_namespaces(false).is_ok() {
            r.line(
                "namespaces:",
                format!(
                    "ok without a user namespace: the kernel refuses them ({}); mount, pid, uts, ipc work (tried in a child)",
                    strerror(errno)
                ),
            );
            r.line("isolation:", crate::run::NO_USERNS);
            r.more("(as an ordinary user, run cannot work here: rootless containers need user namespaces)");
            return;
        }
    }
    match tried {
        Ok(()) => {
            r.line("namespaces:", "ok: user, mount, pid, uts, ipc (tried in a child)");
            r.line(
                "isolation:",
                "a user namespace of its own, plus docker's capabilities, seccomp and no_new_privs",
            );
        }
        Err((step, errno)) => {
            r.ok = false;
            r.line("namespaces:", format!("FAIL: {step}: {}", strerror(errno)));
            let mut blockers = Vec::new();
            if read_trim("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
                blockers.push("user.max_user_namespaces = 0: `sysctl -w user.max_user_namespaces=15000`");
            }
            if euid != 0 {
                if read_trim("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
                    blockers.push("kernel.unprivileged_userns_clone = 0 (Debian): `sudo sysctl -w kernel.unprivileged_userns_clone=1`");
                }
                if read_trim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1")
                {
                    blockers.push("kernel.apparmor_restrict_unprivileged_userns = 1 (Ubuntu 23.10+): AppArmor gives unprivileged user namespaces no capabilities; `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile for the launcher with `userns,`");
                }
            }
            if euid != 0 && refused(errno) {
                blockers.push("a kernel that makes no user namespaces, which rootless containers need (root can run containers without one)");
            }
            if blockers.is_empty() {
                r.more("no known sysctl blocks it: a seccomp filter (container runtime) or a kernel without CONFIG_USER_NS?");
            }
            for b in blockers {
                r.more(format!("blocked by {b}"));
            }
        }
    }
}

/// Whether the kernel knows system call `nr`: called with arguments it
/// rejects before doing anything (a bad size or an empty range), it fails with
/// ENOSYS only where it is missing (or hidden by a seccomp filter, which the
/// container would meet as well).
fn has_call(nr: libc::c_long, args: [libc::c_long; 4]) -> bool {
    // SAFETY: every call below is given arguments the kernel refuses without
    // reading memory (null pointers with size 0) or changing anything.
    let ret = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], 0) };
    !(ret == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
}

/// The newer system calls `run` uses, and what happens without each.
fn kernel_calls(r: &mut Report) {
    // (name, present, required, what happens without it)
    let calls: [(&str, bool, bool, &str); 4] = [
        (
            "the mount API: fsopen, open_tree, move_mount (Linux 5.2)",
            // A NULL filesystem name: EFAULT where the call exists.
            has_call(libc::SYS_fsopen, [0, 0, 0, 0]),
            true,
            "FAIL: init makes and places every mount with it; run needs Linux 5.10 or later",
        ),
        (
            "openat2 (Linux 5.6)",
            has_call(libc::SYS_openat2, [-1, 0, 0, 0]),
            true,
            "FAIL: init opens mount targets inside the rootfs with it; run needs Linux 5.10 or later",
        ),
        (
            "close_range (Linux 5.9)",
            has_call(libc::SYS_close_range, [1, 0, 0, 0]),
            false,
            "descriptors leaked to the launcher by its caller reach the container, and PID 1 keeps its own open",
        ),
        (
            "mount_setattr (Linux 5.12)",
            crate::remount::kernel_has_mount_setattr(),
            false,
            "read-only mounts are made by one bind remount per mount instead (listed from mountinfo)",
        ),
    ];
    let present: Vec<&str> = calls.iter().filter(|c| c.1).map(|c| c.0).collect();
    if present.len() == calls.len() {
        r.line("kernel calls:", format!("ok: {}", present.join(", ")));
        return;
    }
    r.line(
        "kernel calls:",
        format!("present: {}", if present.is_empty() { "none".into() } else { present.join(", ") }),
    );
    for (name, have, required, without) in calls {
        if !have {
            r.ok &= !required;
            r.more(format!("missing {name}: {without}"));
        }
    }
}

fn pivot_root(r: &mut Report) {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    // The last mount on / is the visible one.
    let fstype = info
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            (left.split(' ').nth(4)? == "/").then(|| right.split(' ').next().unwrap_or("").to_string())
        })
        .next_back();
    match fstype.as_deref() {
        Some("rootfs") | Some("ramfs") => r.line(
            "pivot_root:",
            "not possible: / is an initramfs (rootfs); the launcher moves the root with MS_MOVE and chroot instead",
        ),
        Some(t) => r.line("pivot_root:", format!("ok (/ is {t})")),
        None => r.line("pivot_root:", "unknown: no mount on / in /proc/self/mountinfo"),
    }
}

fn cgroups(r: &mut Report) {
    let host = match Host::probe() {
        Ok(h) => h,
        Err(e) => {
            r.line(
                "cgroups:",
                format!("unknown: {e}; limits (--memory, --cpus, --pids-limit) cannot be used"),
            );
            return;
        }
    };
    let v2 = host
        .v2_mount()
        .map(|m| {
            let c = if host.v2_controllers.is_empty() {
                "no controllers".to_string()
            } else {
                host.v2_controllers.join(" ")
            };
            format!("cgroup2 at {} ({c})", m.point.display())
        })
        .unwrap_or_default();
    let v1: Vec<String> = host
        .mounts
        .iter()
        .filter(|m| !m.v2)
        .filter_map(|m| m.point.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let layout = match host.layout() {
        Layout::V2 => format!("v2: {v2}"),
        Layout::V1 => format!("v1: hierarchies {}", v1.join(" ")),
        Layout::Hybrid => format!("hybrid: v1 hierarchies {}; {v2}", v1.join(" ")),
        Layout::Missing => "none mounted: limits cannot be used".to_string(),
    };
    r.line("cgroups:", layout);
    let mut usable = Vec::new();
    for c in Controller::ALL {
        let flag = match c {
            Controller::Pids => "--pids-limit",
            Controller::Memory => "--memory",
            Controller::Cpu => "--cpus",
        };
        match cgroup::plan(&host, &[c], None, None) {
            Ok(_) => usable.push(format!("{} ({flag})", c.name())),
            Err(e) => r.line(&format!("  {flag}:"), format!("not usable: {e}")),
        }
    }
    if !usable.is_empty() {
        r.line("limits usable:", usable.join(", "));
    }
    if let Ok(plan) = cgroup::plan(&host, &Controller::ALL, None, None) {
        r.line("next cgroup:", "(only made when a limit is asked)");
        for l in plan.describe() {
            r.more(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_host_can_run() {
        let r = report();
        let text = r.lines.join("\n");
        println!("{text}");
        assert!(r.ok, "{text}");
        assert!(text.contains("namespaces:       ok"), "{text}");
        assert!(text.contains("pivot_root:       ok"), "{text}");
        assert!(text.contains("cgroups:"), "{text}");
        assert!(text.contains("launcher-<pid>"), "{text}");
    }
}
