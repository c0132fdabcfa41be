//! `launcher --root R exec ID ...`: a new process in a running container.
//!
//! The containers are real: `launcher spec`'s config.json with a busybox
//! rootfs, made with `create` and `start`; each test execs into its own.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const PATIENCE: Duration = Duration::from_secs(20);

/// A started container under its own state root, deleted when dropped.
struct Container {
    root: PathBuf,
    bundle: PathBuf,
    id: String,
    /// init's pid on the host.
    init: i32,
    /// (uid, gid) to run the launcher as; None: root.
    user: Option<(u32, u32)>,
}

impl Container {
    /// A container running `sleep`, as root, from `launcher spec`'s config
    /// with the process's capabilities cut to CHOWN and KILL; `tweak` changes
    /// the config further.
    fn start(name: &str, tweak: impl FnOnce(&mut Value)) -> Container {
        Container::make(name, None, true, tweak)
    }

    /// Created, not started: init waits for `start`.
    fn created(name: &str) -> Container {
        Container::make(name, None, false, |_| {})
    }

    /// The same, rootless (`spec --rootless`), as the test user.
    fn start_rootless(name: &str) -> Container {
        Container::make(name, Some(test_user()), true, |_| {})
    }

    fn make(name: &str, user: Option<(u32, u32)>, start: bool, tweak: impl FnOnce(&mut Value)) -> Container {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oci_exec-{name}"));
        if dir.join("root").join(name).exists() {
            // Left by an earlier run that was killed.
            let _ = launcher_as(user, &dir.join("root"), &["delete", "--force", name]).status();
        }
        let _ = std::fs::remove_dir_all(&dir);
        let (root, bundle) = (dir.join("root"), dir.join("bundle"));
        std::fs::create_dir_all(&bundle).unwrap();
        if let Some((uid, gid)) = user {
            chown(&dir, uid, gid);
        }
        let spec_args: &[&str] = if user.is_some() { &["spec", "--rootless"] } else { &["spec"] };
        let out = output(launcher_as(user, &root, spec_args).current_dir(&bundle));
        assert_code(&out, 0);
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        let rootfs = if user.is_some() { user_rootfs() } else { rootfs() };
        config["root"] = json!({"path": rootfs, "readonly": false});
        config["hostname"] = json!(name);
        let process = &mut config["process"];
        process["terminal"] = json!(false);
        process["args"] = json!(["sleep", long_sleep()]);
        process["env"] = json!(["PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root"]);
        for set in ["bounding", "effective", "permitted"] {
            process["capabilities"][set] = json!(["CAP_CHOWN", "CAP_KILL"]);
        }
        tweak(&mut config);
        std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();

        // create's stdio become the container's: nothing a test waits on.
        let quiet = |cmd: &mut Command| {
            let err = std::fs::File::create(dir.join("create.err")).unwrap();
            let status = cmd.stdout(Stdio::null()).stderr(err).status().unwrap();
            let err = std::fs::read_to_string(dir.join("create.err")).unwrap();
            assert!(status.success(), "{cmd:?}: {status}: {err}");
        };
        quiet(&mut launcher_as(user, &root, &["create", "--bundle", bundle.to_str().unwrap(), name]));
        let mut c = Container { root, bundle, id: name.to_string(), init: 0, user };
        let state: Value = serde_json::from_str(&stdout(&output(&mut c.launcher(&["state", name])))).unwrap();
        c.init = state["pid"].as_i64().expect("state has init's pid") as i32;
        if start {
            quiet(&mut c.launcher(&["start", name]));
        }
        c
    }

    /// `launcher --root R ARGS...`, as the container's user.
    fn launcher(&self, args: &[&str]) -> Command {
        let mut cmd = launcher_as(self.user, &self.root, args);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `launcher --root R exec ARGS...` (ARGS hold the id where wanted).
    fn exec_cmd(&self, args: &[&str]) -> Command {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        self.launcher(&all)
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

    /// A file in the bundle (owned by the container's user), for --process.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.bundle.join(name);
        std::fs::write(&path, text).unwrap();
        if let Some((uid, gid)) = self.user {
            chown(&path, uid, gid);
        }
        path
    }

    /// Kills the container and waits until its init is gone.
    fn stop(&self) {
        assert_code(&output(&mut self.launcher(&["kill", &self.id, "KILL"])), 0);
        let deadline = Instant::now() + PATIENCE;
        while std::fs::read_to_string(format!("/proc/{}/stat", self.init)).is_ok_and(|s| !s.contains(") Z "))
        {
            assert!(Instant::now() < deadline, "init {} outlived SIGKILL", self.init);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self
            .launcher(&["delete", "--force", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `launcher --root ROOT ARGS...`, as `user` (None: root).
fn launcher_as(user: Option<(u32, u32)>, root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(launcher_bin());
    cmd.arg("--root").arg(root).args(args);
    if let Some((uid, gid)) = user {
        as_user(&mut cmd, uid, gid);
    }
    cmd
}

fn chown(path: &Path, uid: u32, gid: u32) {
    let status = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(path).status().unwrap();
    assert!(status.success(), "chown {}", path.display());
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim_end().to_string()
}

/// The cgroup directories `pid` is in that the test itself is not (the
/// container's own).
fn own_cgroups(pid: i32) -> Vec<String> {
    let theirs = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let ours = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    theirs.lines().filter(|l| !ours.lines().any(|o| o == *l)).map(str::to_string).collect()
}

fn ns(pid: &str, name: &str) -> (u64, u64) {
    let m = std::fs::metadata(format!("/proc/{pid}/ns/{name}")).unwrap();
    (m.dev(), m.ino())
}

#[test]
fn exit_status_passes_through() {
    require_root();
    let c = Container::start("exit-codes", |_| {});
    let out = c.sh("echo out; echo err >&2; exit 3");
    assert_code(&out, 3);
    assert_eq!((stdout(&out), stderr(&out)), ("out\n".to_string(), "err\n".to_string()));
    assert_code(&c.sh("true"), 0);

    let out = output(&mut c.exec_cmd(&[&c.id, "no-such-command"]));
    assert_code(&out, 127);
    let err = stderr(&out);
    assert!(err.contains("exec no-such-command: executable file not found in $PATH"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = output(&mut c.exec_cmd(&[&c.id, "/etc/passwd"]));
    assert_code(&out, 126);
    assert!(stderr(&out).contains("exec /etc/passwd: permission denied"), "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&[&c.id, "/no/such/file"]));
    assert_code(&out, 127);
    assert!(stderr(&out).contains("exec /no/such/file: no such file or directory"), "{}", stderr(&out));
    let out = c.sh("kill -KILL $$");
    assert_code(&out, 137);
}

#[test]
fn runs_in_the_containers_namespaces_and_cgroup() {
    require_root();
    let c = Container::start("inside", |c| c["linux"]["resources"]["pids"] = json!({"limit": 20}));
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
    assert!(!own_cgroups(c.init).is_empty(), "the container has a cgroup of its own (a pids limit)");
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
    let c = Container::start("detach", |_| {});
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
    assert!(err.contains("exec nope: executable file not found in $PATH"), "{err}");
    assert_eq!(pid, None, "the pid file of a process that never ran is removed");
}

#[test]
fn capabilities_and_seccomp_of_the_container_apply() {
    require_root();
    // An OCI seccomp profile that refuses unshare alone, compiled by create.
    let c = Container::start("restricted", |c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]});
    });
    // config.json's process: bounding = effective = permitted = CHOWN|KILL.
    let out = c.sh(
        "grep -E '^(CapBnd|CapEff|CapAmb|NoNewPrivs)' /proc/self/status; unshare -U true || echo refused",
    );
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "CapEff:\t0000000000000021\nCapBnd:\t0000000000000021\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nrefused\n",
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Operation not permitted"), "{}", stderr(&out));

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

    // --cap adds to the bounding, effective and permitted sets.
    let out =
        output(&mut c.exec_cmd(&["--cap", "CAP_NET_ADMIN", &c.id, "grep", "CapBnd", "/proc/self/status"]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "CapBnd:\t0000000000001021\n", "{}", stderr(&out));

    // The filter is what refused: without the stored program unshare works.
    let stored = c.root.join(&c.id).join("seccomp.bpf");
    let program = std::fs::read(&stored).expect("create stored the container's filter");
    std::fs::remove_file(&stored).unwrap();
    let out = c.sh("unshare -U true && echo unshared");
    assert_eq!(stdout(&out), "unshared\n", "{}", stderr(&out));
    // A broken filter file is an error, not no filter.
    std::fs::write(&stored, &program[..program.len() - 3]).unwrap();
    let out = c.sh("true");
    assert_code(&out, 1);
    assert!(stderr(&out).contains("not a seccomp program"), "{}", stderr(&out));
}

#[test]
fn process_file_sets_user_cwd_env_and_limits() {
    require_root();
    let c = Container::start("process-file", |_| {});
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
    assert_code(&out, 1);
    assert!(stderr(&out).contains("rlimits[0].type \"RLIMIT_FOO\": unknown"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&["--process", process.to_str().unwrap(), &c.id, "true"]));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("go in the file instead"), "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&["--cwd", "/nowhere", &c.id, "true"]));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("cwd /nowhere: No such file or directory"), "{}", stderr(&out));
}

#[test]
fn signals_are_forwarded() {
    require_root();
    let c = Container::start("signals", |_| {});
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
    let c = Container::start("tty", |_| {});
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
    assert_eq!(name, "/dev/ptmx", "the name runc sends with the fd");
    let mut text = Vec::new();
    // Reads until the terminal's last writer is gone (EIO).
    let _ = std::fs::File::from(master).read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    assert!(text.starts_with("/dev/pts/") && text.contains("\r\ntty-42"), "the shell has a pty: {text}");
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
    assert_code(&out, 1);
    assert!(stderr(&out).contains("--console-socket"), "{}", stderr(&out));
}

#[test]
fn stopped_created_or_unknown_containers_are_refused() {
    require_root();
    let c = Container::start("stopped", |_| {});
    c.stop();
    let out = c.sh("true");
    assert_code(&out, 1);
    assert!(stderr(&out).contains("cannot exec in a stopped container"), "{}", stderr(&out));
    let out = output(&mut c.exec_cmd(&["no-such-id", "true"]));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("container no-such-id does not exist"), "{}", stderr(&out));

    // Before start, init has not made the container's root: refused, not
    // run in the host's.
    let c = Container::created("created");
    let out = c.sh("true");
    assert_code(&out, 1);
    assert!(stderr(&out).contains("container created is created but not started"), "{}", stderr(&out));
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
    let c = Container::start("fds", |_| {});
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
