//! `launcher --root R exec ID ...`: a new process in a running container.
//!
//! The containers are real: `launcher run ... -- sleep` in the background,
//! with a state directory written for its init by hand (the fields
//! `State::to_json` writes), until `create`/`start` make them.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const PATIENCE: Duration = Duration::from_secs(20);

/// A running container and its hand-made state under `root`.
struct Container {
    launcher: Running,
    root: PathBuf,
    bundle: PathBuf,
    id: String,
    init: i32,
    /// (uid, gid) to run the launcher as; None: root.
    user: Option<(u32, u32)>,
}

/// The process config.json's `process` that CLI-style exec starts from.
const CONFIG_PROCESS: &str = r#"{
    "args": ["sh"], "cwd": "/", "env": ["PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root"],
    "user": {"uid": 0, "gid": 0},
    "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"],
                     "permitted": ["CAP_CHOWN", "CAP_KILL"]},
    "noNewPrivileges": true
}"#;

impl Container {
    /// `launcher run ARGS -- sleep LONG` as root, with state for it as `name`.
    fn start(name: &str, args: &[&str]) -> Container {
        let mut all: Vec<&str> = args.to_vec();
        let sleep = long_sleep();
        all.extend_from_slice(&["--hostname", name, "--", "sleep", &sleep]);
        Container::with(name, launcher(&all), None)
    }

    /// The same, rootless, as the test user.
    fn start_rootless(name: &str) -> Container {
        let sleep = long_sleep();
        let cmd = launcher_rootless(&["--hostname", name, "--", "sleep", &sleep]);
        Container::with(name, cmd, Some(test_user()))
    }

    fn with(name: &str, mut cmd: Command, user: Option<(u32, u32)>) -> Container {
        let launcher = Running(cmd.stdout(Stdio::null()).spawn().expect("spawn launcher run"));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oci_exec-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        let (root, bundle) = (dir.join("root"), dir.join("bundle"));
        for d in [&root.join(name), &bundle] {
            std::fs::create_dir_all(d).unwrap();
        }
        if let Some((uid, gid)) = user {
            let status =
                Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&dir).status().unwrap();
            assert!(status.success());
        }
        let init = wait_for_command(launcher.id() as i32);
        let start_time = stat_field(init, 22);
        let cgroups = own_cgroups(init);
        let state = format!(
            r#"{{"ociVersion":"1.1.0","id":"{name}","pid":{init},"startTime":{start_time},"bundle":"{}","status":"running","annotations":{{}},"created":"2026-01-01T00:00:00Z","cgroups":{cgroups:?},"cgroupParents":[],"userNamespace":true}}"#,
            bundle.display()
        );
        std::fs::write(root.join(name).join("state.json"), state).unwrap();
        std::fs::write(
            bundle.join("config.json"),
            format!(r#"{{"ociVersion":"1.1.0","process":{CONFIG_PROCESS}}}"#),
        )
        .unwrap();
        if let Some((uid, gid)) = user {
            let status =
                Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&dir).status().unwrap();
            assert!(status.success());
        }
        Container { launcher, root, bundle, id: name.to_string(), init, user }
    }

    /// `launcher --root R exec ARGS...` (ARGS hold the id where wanted).
    fn exec_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(launcher_bin());
        cmd.arg("--root").arg(&self.root).arg("exec").args(args);
        cmd.stdin(Stdio::null());
        if let Some((uid, gid)) = self.user {
            as_user(&mut cmd, uid, gid);
        }
        cmd
    }

    /// `exec -d --pid-file PID_FILE ARGS...`: its exit code, stderr and the
    /// pid file's pid. The process outlives the launcher and keeps what it
    /// inherits, so its stdout goes nowhere and stderr to a file (pipes would
    /// stay open until the process ends).
    fn exec_detached(&self, args: &[&str]) -> (i32, String, Option<i32>) {
        let pid_file = self.bundle.join("exec.pid");
        let err_file = self.bundle.join("exec.err");
        let _ = std::fs::remove_file(&pid_file);
        let err = std::fs::File::create(&err_file).unwrap();
        let mut all = vec!["-d", "--pid-file", pid_file.to_str().unwrap()];
        all.extend_from_slice(args);
        let status = self.exec_cmd(&all).stdout(Stdio::null()).stderr(err).status().unwrap();
        let pid = std::fs::read_to_string(&pid_file).ok().map(|p| p.parse().unwrap());
        (status.code().unwrap_or(-1), std::fs::read_to_string(&err_file).unwrap(), pid)
    }

    /// `exec ID sh -c SCRIPT`.
    fn sh(&self, script: &str) -> Output {
        output(&mut self.exec_cmd(&[&self.id, "/bin/sh", "-c", script]))
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.bundle.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Ends the container and waits until its init is gone.
    fn stop(&mut self) {
        let _ = self.launcher.kill();
        let _ = self.launcher.wait();
        let deadline = Instant::now() + PATIENCE;
        while Path::new(&format!("/proc/{}", self.init)).exists() {
            assert!(Instant::now() < deadline, "init {} outlived its launcher", self.init);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Field N (1-based, as proc(5)) of /proc/PID/stat.
fn stat_field(pid: i32, n: usize) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(n - 3).unwrap().to_string()
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim_end().to_string()
}

fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

/// The container's init (the launcher's child) once its command runs, so
/// that its namespaces, mounts and cgroup are all in place.
fn wait_for_command(launcher: i32) -> i32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(&init) = children(launcher).first() {
            if children(init).iter().any(|c| comm(*c) == "sleep") {
                return init;
            }
        }
        assert!(Instant::now() < deadline, "the container's command did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The cgroup directories `pid` is in that the test itself is not (the
/// container's own), as `create` records them.
fn own_cgroups(pid: i32) -> Vec<String> {
    let theirs = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let ours = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    theirs
        .lines()
        .filter(|l| !ours.lines().any(|o| o == *l))
        .map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, controllers, path) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let hierarchy = match controllers {
                "" if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() => String::new(),
                "" => "unified".to_string(),
                c => c.strip_prefix("name=").unwrap_or(c).to_string(),
            };
            format!("/sys/fs/cgroup/{hierarchy}{path}").replace("//", "/")
        })
        .collect()
}

fn ns(pid: &str, name: &str) -> (u64, u64) {
    let m = std::fs::metadata(format!("/proc/{pid}/ns/{name}")).unwrap();
    (m.dev(), m.ino())
}

#[test]
fn exit_status_passes_through() {
    require_root();
    let c = Container::start("exit-codes", &[]);
    let out = c.sh("echo out; echo err >&2; exit 3");
    assert_code(&out, 3);
    assert_eq!((stdout(&out), stderr(&out)), ("out\n".to_string(), "err\n".to_string()));
    assert_code(&c.sh("true"), 0);

    let out = output(&mut c.exec_cmd(&[&c.id, "no-such-command"]));
    assert_code(&out, 127);
    assert!(stderr(&out).contains("exec no-such-command: No such file or directory"), "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&[&c.id, "/etc/passwd"]));
    assert_code(&out, 126);
    assert!(stderr(&out).contains("exec /etc/passwd: Permission denied"), "{}", stderr(&out));
    let out = c.sh("kill -KILL $$");
    assert_code(&out, 137);
}

#[test]
fn runs_in_the_containers_namespaces_and_cgroup() {
    require_root();
    let c = Container::start("inside", &["--pids-limit", "20"]);
    let sleep = long_sleep();
    let out = c.sh("hostname; ls /; ps -o pid,args; cat /proc/self/cgroup");
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("inside\n"), "{text}");
    // The rootfs, not the host's / (which has no such tree as busybox's alone).
    let listing: Vec<&str> = text.lines().skip(1).take_while(|l| !l.starts_with("PID")).collect();
    let mut want: Vec<String> =
        std::fs::read_dir(rootfs()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    want.sort();
    assert_eq!(listing, want, "{text}");
    // The container's processes, its init as PID 1.
    assert!(
        text.contains(&format!("    1 {{memfd:init}} init -- sleep {sleep}"))
            || text.contains(&format!("    1 init -- sleep {sleep}")),
        "{text}"
    );
    assert!(text.contains(&format!("sleep {sleep}")), "{text}");
    assert!(!text.lines().any(|l| l.contains("cargo")), "host processes seen: {text}");

    // In the cgroup: seen from the host, with a pid of the host.
    let (code, err, pid) = c.exec_detached(&[&c.id, "sleep", "30"]);
    assert_eq!(code, 0, "{err}");
    let pid = pid.expect("exec -d wrote the pid file").to_string();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let init_cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", c.init)).unwrap();
    assert_eq!(cgroup, init_cgroup);
    assert!(!own_cgroups(c.init).is_empty(), "the container has a cgroup of its own (--pids-limit)");
    let init = c.init.to_string();
    for name in ["pid", "mnt", "uts", "ipc", "net", "user", "cgroup"] {
        assert_eq!(ns(&pid, name), ns(&init, name), "{name} namespace of the exec'd process");
    }
    assert_eq!(std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap(), "sleep\x0030\x00");
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(pid.parse().unwrap(), libc::SIGKILL) };
}

#[test]
fn detach_returns_at_once_with_the_pid_file_written() {
    require_root();
    let c = Container::start("detach", &[]);
    let start = Instant::now();
    let (code, err, pid) = c.exec_detached(&[&c.id, "sleep", "31"]);
    assert_eq!(code, 0, "{err}");
    assert!(start.elapsed() < Duration::from_secs(25), "exec -d waited for the process");
    let pid = pid.expect("exec -d wrote the pid file");
    assert_eq!(comm(pid), "sleep");
    assert_eq!(ns(&pid.to_string(), "pid"), ns(&c.init.to_string(), "pid"));
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(pid, libc::SIGKILL) };

    // A command that cannot run is reported, even detached, and leaves no pid file.
    let (code, err, pid) = c.exec_detached(&[&c.id, "nope"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("exec nope: No such file or directory"), "{err}");
    assert_eq!(pid, None, "the pid file of a process that never ran is removed");
}

#[test]
fn capabilities_and_seccomp_of_the_container_apply() {
    require_root();
    let c = Container::start("restricted", &[]);
    // config.json's process: bounding = effective = permitted = CHOWN|KILL.
    let out = c.sh("grep -E '^(CapBnd|CapEff|CapPrm|CapAmb|NoNewPrivs)' /proc/self/status; unshare -U true && echo unshared");
    assert_code(&out, 0);
    let text = stdout(&out);
    for want in [
        "CapBnd:\t0000000000000021",
        "CapEff:\t0000000000000021",
        "CapAmb:\t0000000000000000",
        "NoNewPrivs:\t1",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    assert!(text.contains("unshared"), "without a filter, unshare works: {text}{}", stderr(&out));

    // A filter as `create` stores it (crate::seccomp::as_bytes: code, jt, jf,
    // k, little-endian): unshare gets EPERM, all else is allowed.
    let insn =
        |code: u16, jt: u8, jf: u8, k: u32| [&code.to_le_bytes()[..], &[jt, jf], &k.to_le_bytes()].concat();
    let program = [
        insn(0x20, 0, 0, 0),                                // ld [0]: the syscall number
        insn(0x15, 0, 1, libc::SYS_unshare as u32),         // jeq unshare
        insn(0x06, 0, 0, 0x0005_0000 | libc::EPERM as u32), // ret ERRNO(EPERM)
        insn(0x06, 0, 0, 0x7fff_0000),                      // ret ALLOW
    ]
    .concat();
    std::fs::write(c.root.join(&c.id).join("seccomp.bpf"), program).unwrap();
    let out = c.sh("unshare -U true || echo refused");
    assert_code(&out, 0);
    assert!(stdout(&out).contains("refused"), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("Operation not permitted"), "{}", stderr(&out));

    // --cap adds to the bounding, effective and permitted sets.
    let out =
        output(&mut c.exec_cmd(&["--cap", "CAP_NET_ADMIN", &c.id, "grep", "CapBnd", "/proc/self/status"]));
    assert_code(&out, 0);
    assert!(stdout(&out).contains("0000000000001021"), "{}", stdout(&out));
    // Without no_new_privs the filter is loaded while the process still has
    // CAP_SYS_ADMIN (before it becomes uid 1000): it applies all the same.
    let process = c.write(
        "no-nnp.json",
        r#"{"args": ["sh", "-c", "id -u; grep NoNewPrivs /proc/self/status; unshare -U true || echo refused"],
            "cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 1000, "gid": 1000}, "noNewPrivileges": false}"#,
    );
    let out = output(&mut c.exec_cmd(&["--process", process.to_str().unwrap(), &c.id]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "1000\nNoNewPrivs:\t0\nrefused\n", "{}", stderr(&out));

    // A broken filter file is an error, not no filter.
    std::fs::write(c.root.join(&c.id).join("seccomp.bpf"), [0u8; 5]).unwrap();
    let out = c.sh("true");
    assert_code(&out, 125);
    assert!(stderr(&out).contains("is not a seccomp program"), "{}", stderr(&out));
}

#[test]
fn process_file_sets_user_cwd_env_and_limits() {
    require_root();
    let c = Container::start("process-file", &[]);
    let process = c.write(
        "process.json",
        r#"{"args": ["sh", "-c", "id -u; id -g; id -G; pwd; echo $GREETING; ulimit -n; umask; grep -E '^(CapEff|CapBnd)' /proc/self/status; cat /proc/self/oom_score_adj"],
            "cwd": "/tmp", "env": ["PATH=/bin:/usr/bin", "GREETING=hello"],
            "user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 63},
            "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 77, "hard": 88}],
            "oomScoreAdj": 300,
            "noNewPrivileges": true}"#,
    );
    let out = output(&mut c.exec_cmd(&["--process", process.to_str().unwrap(), &c.id]));
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "1000\n1000\n1000 10 20\n/tmp\nhello\n77\n0077\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000001\n300\n",
        "{}",
        stderr(&out)
    );

    // Ambient capabilities survive the exec of a process of another user.
    let ambient = c.write(
        "ambient.json",
        r#"{"args": ["grep", "-E", "^Cap(Eff|Amb)", "/proc/self/status"], "cwd": "/", "user": {"uid": 1000, "gid": 1000},
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
                             "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}}"#,
    );
    let out = output(&mut c.exec_cmd(&["--process", ambient.to_str().unwrap(), &c.id]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "CapEff:\t0000000000000020\nCapAmb:\t0000000000000020\n", "{}", stderr(&out));

    // The CLI flags of runc's exec: --user, --cwd, --env over config.json's process.
    let out = output(&mut c.exec_cmd(&[
        "-u",
        "1000:1000",
        "--cwd",
        "/etc",
        "-e",
        "HOME=/tmp",
        "-e",
        "X=y",
        &c.id,
        "sh",
        "-c",
        "id -u; pwd; echo $HOME $X",
    ]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "1000\n/etc\n/tmp y\n", "{}", stderr(&out));

    // Errors name the field, and nothing runs.
    let bad = c.write(
        "bad.json",
        r#"{"args": ["true"], "cwd": "/", "rlimits": [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]}"#,
    );
    let out = output(&mut c.exec_cmd(&["--process", bad.to_str().unwrap(), &c.id]));
    assert_code(&out, 125);
    assert!(stderr(&out).contains("rlimits[0].type \"RLIMIT_FOO\": unknown"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&["--process", process.to_str().unwrap(), &c.id, "true"]));
    assert_code(&out, 125);
    assert!(stderr(&out).contains("CMD also given"), "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&["--cwd", "/nowhere", &c.id, "true"]));
    assert_code(&out, 125);
    assert!(stderr(&out).contains("cwd /nowhere: No such file or directory"), "{}", stderr(&out));
}

#[test]
fn signals_are_forwarded() {
    require_root();
    let c = Container::start("signals", &[]);
    let mut exec = Running(
        c.exec_cmd(&[&c.id, "sh", "-c", "echo ready; exec sleep 100"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(exec.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(exec.id() as i32, libc::SIGTERM) };
    let status = exec.wait().unwrap();
    assert_eq!(status.code(), Some(143), "SIGTERM passed on to the process");
}

/// Accepts one connection on `listener` and receives the fd sent with
/// SCM_RIGHTS, and the name sent with it.
fn receive_fd(listener: &UnixListener) -> (OwnedFd, String) {
    use std::os::fd::AsRawFd;
    let (stream, _) = listener.accept().unwrap();
    let mut name = [0u8; 256];
    let mut control = [0u64; 8];
    let mut iov = libc::iovec { iov_base: name.as_mut_ptr().cast(), iov_len: name.len() };
    // SAFETY: an all-zero msghdr is valid; its pointers are set to live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: recvmsg fills the buffers msg points at, within their lengths.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, 0) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel filled msg_control; CMSG_FIRSTHDR/DATA stay within it.
    let fd = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        assert!(!cmsg.is_null() && (*cmsg).cmsg_type == libc::SCM_RIGHTS, "no fd sent");
        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const RawFd)
    };
    // SAFETY: the fd just received is ours alone.
    (unsafe { OwnedFd::from_raw_fd(fd) }, String::from_utf8_lossy(&name[..n as usize]).into_owned())
}

#[test]
fn tty_goes_to_the_console_socket() {
    require_root();
    let c = Container::start("tty", &[]);
    let socket = c.bundle.join("console.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let mut exec = Running(
        c.exec_cmd(&[
            "--tty",
            "--console-socket",
            socket.to_str().unwrap(),
            &c.id,
            "sh",
            "-c",
            "tty; stty size; echo tty-$((6*7))",
        ])
        .spawn()
        .unwrap(),
    );
    let (master, name) = receive_fd(&listener);
    assert!(name.starts_with("/dev/pts/"), "{name}");
    let mut text = Vec::new();
    // Reads until the terminal's last writer is gone (EIO).
    let _ = std::fs::File::from(master).read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains(&format!("{name}\r\n")), "{text}");
    assert!(text.contains("tty-42"), "{text}");
    assert_eq!(exec.wait().unwrap().code(), Some(0));

    // A size from the process file.
    let process = c.write(
        "tty.json",
        r#"{"args": ["stty", "size"], "cwd": "/", "terminal": true, "consoleSize": {"height": 33, "width": 111}}"#,
    );
    let mut exec = Running(
        c.exec_cmd(&[
            "--process",
            process.to_str().unwrap(),
            "--console-socket",
            socket.to_str().unwrap(),
            "-d",
            &c.id,
        ])
        .spawn()
        .unwrap(),
    );
    let (master, _) = receive_fd(&listener);
    let mut text = Vec::new();
    let _ = std::fs::File::from(master).read_to_end(&mut text);
    assert_eq!(String::from_utf8_lossy(&text), "33 111\r\n");
    assert_eq!(exec.wait().unwrap().code(), Some(0));

    let out = output(&mut c.exec_cmd(&["--tty", &c.id, "true"]));
    assert_code(&out, 125);
    assert!(stderr(&out).contains("--console-socket"), "{}", stderr(&out));
}

#[test]
fn stopped_or_unknown_containers_are_refused() {
    require_root();
    let mut c = Container::start("stopped", &[]);
    c.stop();
    let out = c.sh("true");
    assert_code(&out, 125);
    assert!(stderr(&out).contains("cannot exec in a stopped container"), "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&["no-such-id", "true"]));
    assert_code(&out, 125);
    assert!(stderr(&out).contains("container no-such-id does not exist"), "{}", stderr(&out));
}

#[test]
fn rootless_exec_enters_the_users_container() {
    require_root();
    let c = Container::start_rootless("rootless");
    let out = c.sh("id -u; hostname; cat /proc/self/uid_map");
    assert_code(&out, 0);
    let text = stdout(&out);
    let (uid, _) = test_user();
    assert!(text.starts_with("0\nrootless\n"), "{text}{}", stderr(&out));
    assert!(text.contains(&format!(" {uid} ")), "the container's single-id map: {text}");
    let (code, err, pid) = c.exec_detached(&[&c.id, "sleep", "32"]);
    assert_eq!(code, 0, "{err}");
    let pid = pid.expect("exec -d wrote the pid file").to_string();
    for name in ["pid", "mnt", "uts", "user"] {
        assert_eq!(ns(&pid, name), ns(&c.init.to_string(), name), "{name}");
    }
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(pid.parse().unwrap(), libc::SIGKILL) };
}

#[test]
fn preserve_fds_passes_those_and_no_others() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    require_root();
    let c = Container::start("fds", &[]);
    let three = std::fs::File::create(c.bundle.join("fd3")).unwrap();
    let four = std::fs::File::create(c.bundle.join("fd4")).unwrap();
    let run = |preserve: &str| {
        let (a, b) = (three.as_raw_fd(), four.as_raw_fd());
        let mut cmd =
            c.exec_cmd(&["--preserve-fds", preserve, &c.id, "sh", "-c", "echo three >&3; echo four >&4"]);
        // SAFETY: only fcntl and dup2 between fork and exec. Both files are
        // first copied above fd 100, since either may be fd 3 or 4 already
        // (or std's own pipe may be); dup2's copies stay open across exec.
        unsafe {
            cmd.pre_exec(move || {
                let (a, b) =
                    (libc::fcntl(a, libc::F_DUPFD_CLOEXEC, 100), libc::fcntl(b, libc::F_DUPFD_CLOEXEC, 100));
                if a < 0 || b < 0 || libc::dup2(a, 3) != 3 || libc::dup2(b, 4) != 4 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        output(&mut cmd)
    };
    let out = run("1");
    assert_code(&out, 1);
    assert_eq!(stderr(&out), "sh: 4: Bad file descriptor\n", "fd 3 passed, fd 4 closed");
    assert_eq!(std::fs::read_to_string(c.bundle.join("fd3")).unwrap(), "three\n");
    assert_eq!(std::fs::read_to_string(c.bundle.join("fd4")).unwrap(), "");
    let out = run("2");
    assert_code(&out, 0);
    assert_eq!(std::fs::read_to_string(c.bundle.join("fd4")).unwrap(), "four\n");
}
