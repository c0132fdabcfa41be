//! The run path, end to end: real namespaces, mounts and processes.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn sh(script: &str) -> Vec<&str> {
    vec!["--", "/bin/sh", "-c", script]
}

#[test]
fn true_exits_zero_and_false_one() {
    assert_code(&output(&mut launcher(&["--", "/bin/true"])), 0);
    assert_code(&output(&mut launcher(&["--", "/bin/false"])), 1);
}

#[test]
fn command_exit_code_is_passed_through() {
    assert_code(&output(&mut launcher(&sh("exit 3"))), 3);
    assert_code(&output(&mut launcher_rootless(&sh("exit 3"))), 3);
}

#[test]
fn command_is_a_child_of_init_in_its_own_pid_namespace() {
    let out = output(&mut launcher(&sh(
        "echo $$ $PPID; cat /proc/1/cmdline | tr '\\0' ' '; echo; ps -o pid,comm; true",
    )));
    assert_code(&out, 0);
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("2 1"), "the command is pid 2, its parent init pid 1:\n{text}");
    let init = lines.next().unwrap();
    // As docker's --init shows `/sbin/docker-init -- CMD`: no host path, no internal flags.
    assert!(init.starts_with("init -- /bin/sh -c echo $$ $PPID;"), "pid 1 is the init:\n{text}");
    let processes: Vec<Vec<&str>> = lines.skip(1).map(|l| l.split_whitespace().collect()).collect();
    // init, the shell, and ps itself: nothing of the host.
    assert_eq!(processes.len(), 3, "ps sees only the container:\n{text}");
    assert_eq!(processes[0][0], "1");
    assert_eq!([processes[1][1], processes[2][1]], ["sh", "ps"], "{text}");
}

#[test]
fn proc_shows_only_the_containers_processes() {
    let out = output(&mut launcher(&sh("ls /proc | grep '^[0-9]' | tr '\\n' ' '")));
    assert_code(&out, 0);
    let pids: Vec<u32> = stdout(&out).split_whitespace().map(|p| p.parse().unwrap()).collect();
    assert!(pids.contains(&1) && pids.iter().all(|&p| p <= 10), "host pids visible: {pids:?}");
}

#[test]
fn hostname_is_set_inside_and_host_unchanged() {
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = output(&mut launcher(&["--hostname", "box-7", "--", "/bin/hostname"]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "box-7\n");
    let out = output(&mut launcher(&["--", "/bin/hostname"]));
    assert_eq!(stdout(&out), "container\n", "default hostname");
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), before);
}

#[test]
fn root_keeps_an_identity_map() {
    let out = output(&mut launcher(&sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g")));
    assert_code(&out, 0);
    let words: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    assert_eq!(words, ["0", "0", "4294967295", "0", "0", "4294967295", "0", "0"]);
}

#[test]
fn rootless_caller_becomes_root_inside_and_nobody_else_is_mapped() {
    let (uid, gid) = test_user();
    let out = output(&mut launcher_rootless(&sh(
        "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id",
    )));
    assert_code(&out, 0);
    let text = stdout(&out);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(&words[..7], ["0", &uid.to_string(), "1", "0", &gid.to_string(), "1", "deny"], "{text}");
    assert!(text.contains("uid=0(root) gid=0(root)"), "{text}");
}

#[test]
fn dev_holds_exactly_the_minimal_set() {
    let expected = "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero";
    for cmd in
        [launcher(&sh("ls -A /dev | tr '\\n' ' '")), launcher_rootless(&sh("ls -A /dev | tr '\\n' ' '"))]
    {
        let out = output(&mut { cmd });
        assert_code(&out, 0);
        assert_eq!(stdout(&out).trim(), expected);
    }
    let out = output(&mut launcher(&sh(
        "echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && echo x > /dev/shm/y && ls /dev/pts",
    )));
    assert_code(&out, 0);
    assert_eq!(stdout(&out).split_whitespace().collect::<Vec<_>>(), ["4", "4", "ptmx"]);
}

#[test]
fn dev_shm_is_docker_sized_sticky_and_noexec() {
    // shm_open and friends need a sticky, world-writable tmpfs directory with
    // docker's 64 MiB of room; nothing placed there may run or act as a device.
    let out =
        output(&mut launcher(&sh("stat -c %a /dev/shm; stat -f -c %T /dev/shm; df -k /dev/shm | tail -1; \
         head -c 1048576 /dev/zero > /dev/shm/big && echo filled; \
         cp /bin/busybox /dev/shm/bb && /dev/shm/bb true; echo exec=$?")));
    assert_code(&out, 0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["1777", "tmpfs"], "{text}");
    let fields: Vec<&str> = lines[2].split_whitespace().collect();
    let kib: u64 = fields[1].parse().unwrap_or(0);
    assert!(kib >= 64 * 1024, "/dev/shm holds {kib} KiB, docker gives 64 MiB:\n{text}");
    let mounts = output(&mut launcher(&sh(&format!("grep ' {} ' /proc/mounts", fields[5]))));
    let options = stdout(&mounts);
    for flag in ["nosuid", "nodev", "noexec"] {
        assert!(options.split([' ', ',']).any(|o| o == flag), "/dev/shm's mount lacks {flag}: {options}");
    }
    assert!(text.contains("filled\n") && text.contains("exec=126"), "{text}\n{}", stderr(&out));
}

#[test]
fn closed_standard_fds_become_dev_null() {
    // Started with stdin and stderr closed, the launcher must not hand those
    // numbers to its own files (the channel, the init memfd).
    let mut cmd = launcher(&sh("readlink /proc/self/fd/0; readlink /proc/self/fd/2; echo out"));
    // SAFETY: close(2) between fork and exec, on fds of the child only.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::close(0);
            libc::close(2);
            Ok(())
        });
    }
    let out = cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit()).output().expect("run the launcher");
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "/dev/null\n/dev/null\nout\n");
}

#[test]
fn command_has_its_own_process_group_in_inits_session() {
    // As under tini (docker --init): signals to the command's group never
    // reach PID 1; without -t there is no terminal to own, so no session of its own.
    let out = output(&mut launcher(&sh("cut -d' ' -f1,5,6 /proc/self/stat")));
    assert_code(&out, 0);
    let text = stdout(&out);
    let f: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(f.len(), 3, "{text}");
    assert_eq!((f[1], f[2]), (f[0], "1"), "pid pgrp session: {text}");
}

#[test]
fn sys_is_read_only() {
    let out = output(&mut launcher(&sh(
        "echo 1 > /sys/kernel/uevent_helper; echo rc=$?; grep ' /sys ' /proc/mounts",
    )));
    let text = stdout(&out);
    assert!(text.contains("rc=1") || !text.contains("rc=0"), "wrote to /sys:\n{text}");
    assert!(text.contains(" ro,") || text.contains(" ro "), "/sys not mounted ro:\n{text}");
}

#[test]
fn tmp_is_writable() {
    for mut cmd in [
        launcher(&sh("echo x > /tmp/f && cat /tmp/f")),
        launcher_rootless(&sh("echo x > /tmp/f && cat /tmp/f")),
    ] {
        let out = output(&mut cmd);
        assert_code(&out, 0);
        assert_eq!(stdout(&out), "x\n");
    }
}

#[test]
fn old_root_is_not_reachable() {
    let marker = format!("launcher-host-marker-{}", std::process::id());
    std::fs::write(std::env::temp_dir().join(&marker), "host").unwrap();
    let out = output(&mut launcher(&sh(&format!(
        "find / -name '{marker}' 2>/dev/null; cut -d' ' -f5 /proc/self/mountinfo | tr '\\n' ' '"
    ))));
    let _ = std::fs::remove_file(std::env::temp_dir().join(&marker));
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(!text.contains(&marker), "the host's /tmp is reachable:\n{text}");
    assert!(text.contains("/proc "), "no mount table read inside:\n{text}");
    for mount_point in text.split_whitespace() {
        let inside = ["/", "/proc", "/dev", "/sys", "/tmp"]
            .iter()
            .any(|top| mount_point == *top || mount_point.starts_with(&format!("{top}/")));
        assert!(inside, "unexpected mount {mount_point} inside:\n{text}");
    }
}

#[test]
fn no_mount_is_left_on_the_host() {
    let before = host_mounts();
    assert_code(&output(&mut launcher(&["--", "/bin/true"])), 0);
    assert_code(&output(&mut launcher_rootless(&["--", "/bin/true"])), 0);
    assert_eq!(host_mounts(), before);
}

#[test]
fn no_mount_propagates_to_a_shared_host_root() {
    // A private mount namespace whose / is shared stands in for a systemd host;
    // the container may mount (SYS_ADMIN, no seccomp), and nothing may come back.
    let script = format!(
        "mount --make-rshared / && before=$(cat /proc/self/mountinfo | wc -l) && \
         {bin} run --rootfs {rootfs} --cap-add SYS_ADMIN --security-opt seccomp=unconfined -- /bin/sh -c 'mount -t tmpfs t /root && grep -q /root /proc/mounts' && \
         after=$(cat /proc/self/mountinfo | wc -l) && echo $before $after && \
         ! grep -q '{rootfs}' /proc/self/mountinfo",
        bin = launcher_bin(),
        rootfs = rootfs().display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "unchanged", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    let counts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(counts.len(), 2, "{text}");
    assert_eq!(counts[0], counts[1], "mounts leaked to a shared host root");
}

#[test]
fn not_found_is_127_and_not_executable_is_126() {
    for (cmd, code, text) in [
        ("/no/such/program", 127, "exec /no/such/program: No such file or directory"),
        ("nosuchprogram", 127, "exec nosuchprogram: No such file or directory"),
        ("/etc/passwd", 126, "exec /etc/passwd: Permission denied"),
    ] {
        for mut launcher in [launcher(&["--", cmd]), launcher_rootless(&["--", cmd])] {
            let out = output(&mut launcher);
            assert_code(&out, code);
            assert!(stderr(&out).contains(text), "{cmd}: {}", stderr(&out));
        }
    }
}

#[test]
fn killed_command_gives_128_plus_signal() {
    assert_code(&output(&mut launcher(&sh("kill -9 $$"))), 137);
    assert_code(&output(&mut launcher_rootless(&sh("kill -9 $$"))), 137);
}

#[test]
fn sigterm_to_the_launcher_is_forwarded() {
    for mut cmd in [launcher(&["--", "/bin/sleep", "30"]), launcher_rootless(&["--", "/bin/sleep", "30"])] {
        let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        // SAFETY: kill has no memory arguments.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(143), "{status:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "SIGTERM was not forwarded");
    }
}

#[test]
fn orphans_are_reaped() {
    // The subshell's sleep is orphaned to init; once it exits, it must not stay a zombie.
    let out = output(&mut launcher(&sh("(sleep 0.2 &); sleep 1; cat /proc/[0-9]*/stat | cut -d' ' -f2,3")));
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.lines().count() >= 3, "expected init, sh and cut in:\n{text}");
    assert!(!text.lines().any(|l| l.ends_with(" Z")), "zombie left:\n{text}");
}

#[test]
fn stdin_is_passed_through() {
    let mut child =
        launcher(&["--", "/bin/cat"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "hi\n");
}

#[test]
fn environment_is_clean_and_e_adds_to_it() {
    let out = output(
        launcher(&["-e", "GREETING=hello world", "-e", "HOME=/home/x", "--", "/usr/bin/env"])
            .env("LEAK", "1"),
    );
    assert_code(&out, 0);
    let mut vars: Vec<String> = stdout(&out).lines().map(String::from).collect();
    vars.sort();
    assert_eq!(
        vars,
        [
            "GREETING=hello world",
            "HOME=/home/x",
            "HOSTNAME=container",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]
    );
}

#[test]
fn workdir_is_the_starting_directory_and_made_if_missing() {
    let out = output(&mut launcher(&["-w", "/tmp", "--", "/bin/pwd"]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "/tmp\n");
    let out = output(&mut launcher(&["-w", "/new/dir", "--", "/bin/pwd"]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "/new/dir\n");
    let _ = std::fs::remove_dir_all(rootfs().join("new"));
}

#[test]
fn arguments_are_passed_unchanged() {
    let out = output(&mut launcher(&["--", "/bin/echo", "-n", "a  b", "", "--", "$HOME"]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "a  b  -- $HOME");
}

#[test]
fn bad_input_is_refused_with_125_and_a_clear_message() {
    let file = std::env::temp_dir().join(format!("launcher-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, "").unwrap();
    let root = rootfs().display().to_string();
    let long_hostname = "a".repeat(65);
    let cases: [(&[&str], &str); 11] = [
        (&["run", "--rootfs", "/no/such/rootfs", "/bin/true"], "rootfs /no/such/rootfs: No such file"),
        (&["run", "--rootfs", file.to_str().unwrap(), "/bin/true"], "not a directory"),
        (&["run", "--rootfs", &root], "no command given"),
        (&["run", "--rootfs", &root, ""], "empty string"),
        (&["run", "--rootfs", &root, "--bogus", "/bin/true"], "Unrecognized argument: --bogus"),
        (&["run", "--rootfs", &root, "--hostname", &long_hostname, "/bin/true"], "1 to 64 bytes"),
        (&["run", "--rootfs", &root, "--hostname", "a_b", "/bin/true"], "letters, digits"),
        (&["run", "--rootfs", &root, "-e", "NOVALUE", "/bin/true"], "expected KEY=VALUE"),
        (&["run", "--rootfs", &root, "-w", "relative", "/bin/true"], "absolute path"),
        (&["run", "--rootfs", &root, "--stop-timeout", "soon", "/bin/true"], "stop-timeout"),
        (&["frobnicate"], "Unrecognized argument"),
    ];
    let before = host_mounts();
    for (args, message) in cases {
        let out = output(Command::new(launcher_bin()).args(args).stdin(Stdio::null()));
        assert_code(&out, 125);
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: wanted {message:?} in:\n{err}");
        assert!(err.starts_with("launcher: "), "{args:?}: {err}");
    }
    let _ = std::fs::remove_file(&file);
    assert_eq!(host_mounts(), before);
}

#[test]
fn help_is_complete() {
    let out = Command::new(launcher_bin()).args(["run", "--help"]).output().unwrap();
    assert_code(&out, 0);
    let text = stdout(&out);
    for option in [
        "--rootfs",
        "--hostname",
        "--env",
        "--workdir",
        "--tty",
        "--interactive",
        "--pids-limit",
        "--memory",
        "--cpus",
        "--stop-timeout",
    ] {
        assert!(text.contains(option), "run --help lacks {option}");
    }
    let out = Command::new(launcher_bin()).arg("--help").output().unwrap();
    assert_code(&out, 0);
    assert!(stdout(&out).contains("run") && stdout(&out).contains("check"));
}

#[test]
fn launcher_is_one_small_static_binary() {
    const BUDGET: u64 = 768 * 1024;
    let bytes = std::fs::read(launcher_bin()).unwrap();
    assert!(bytes.starts_with(b"\x7fELF"));
    let size = bytes.len() as u64;
    if !cfg!(debug_assertions) {
        assert!(size <= BUDGET, "the launcher is {size} bytes, over its {BUDGET}-byte budget");
    }
    // Static: no program interpreter (PT_INTERP) to load it.
    let out = Command::new("readelf").args(["-lW", launcher_bin()]).output().expect("readelf (binutils)");
    assert!(!stdout(&out).contains("INTERP"), "the launcher is dynamically linked");
}
