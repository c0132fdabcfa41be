//! The OCI verbs driven directly (no engine), with bundles written here:
//! the runtime-spec's lifecycle rules, what config.json fields do inside a
//! real container, and the errors that name a field. The engines (podman,
//! containerd, docker) are tested by tests/engines (make test-engines).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// A bundle directory with config.json over a copy-free link to the test rootfs.
struct Bundle {
    dir: PathBuf,
    root: PathBuf,
}

impl Bundle {
    fn new(name: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oci-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(launcher_bin()).args(["spec", "--bundle"]).arg(&dir).output().unwrap();
        assert_code(&out, 0);
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        config["root"]["path"] = json!(rootfs());
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        edit(&mut config);
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
        let root = dir.join("state");
        Bundle { dir, root }
    }

    fn verb(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(launcher_bin());
        cmd.arg("--root").arg(&self.root).args(args);
        cmd.output().unwrap()
    }

    /// `create`, its output (and so the container's) in files: init keeps
    /// create's stdout and stderr, so pipes would stay open while it lives.
    fn create(&self, id: &str) -> Output {
        let out_path = self.dir.join(format!("{id}.out"));
        let err_path = self.dir.join(format!("{id}.err"));
        let status = Command::new(launcher_bin())
            .arg("--root")
            .arg(&self.root)
            .args(["create", "--bundle", self.dir.to_str().unwrap(), id])
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .status()
            .unwrap();
        Output { status, stdout: std::fs::read(out_path).unwrap(), stderr: std::fs::read(err_path).unwrap() }
    }

    fn status(&self, id: &str) -> String {
        let out = self.verb(&["state", id]);
        assert_code(&out, 0);
        let state: Value = serde_json::from_slice(&out.stdout).expect("state prints JSON");
        state["status"].as_str().unwrap().to_string()
    }

    fn wait_stopped(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.status(id) != "stopped" {
            assert!(Instant::now() < deadline, "{id} did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn lifecycle_follows_the_runtime_spec() {
    require_root();
    let marker = rootfs().join("tmp/oci-lifecycle-ran");
    let _ = std::fs::remove_file(&marker);
    let b = Bundle::new("lifecycle", &["sh", "-c", "touch /tmp/oci-lifecycle-ran; sleep 30"], |_| {});
    assert_code(&b.create("c1"), 0);
    assert_eq!(b.status("c1"), "created");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!marker.exists(), "the command ran before start");
    let again = b.create("c1");
    assert_ne!(again.status.code(), Some(0), "a second create with the same id succeeded");
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));

    assert_code(&b.verb(&["start", "c1"]), 0);
    assert_eq!(b.status("c1"), "running");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the command did not run after start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let refused = b.verb(&["delete", "c1"]);
    assert_ne!(refused.status.code(), Some(0), "delete of a running container without --force");
    assert!(stderr(&refused).contains("running"), "{}", stderr(&refused));
    assert_code(&b.verb(&["kill", "c1", "KILL"]), 0);
    b.wait_stopped("c1");
    assert_code(&b.verb(&["delete", "c1"]), 0);
    let gone = b.verb(&["state", "c1"]);
    assert_ne!(gone.status.code(), Some(0), "state of a deleted container");
    assert!(stderr(&gone).contains("does not exist"), "{}", stderr(&gone));
    assert!(!b.root.join("c1").exists());
    let _ = std::fs::remove_file(&marker);
}

#[test]
fn a_created_container_is_deleted_without_force_and_leaves_nothing() {
    require_root();
    let b = Bundle::new("created-delete", &["true"], |c| {
        c["linux"]["resources"]["pids"] = json!({"limit": 20});
        c["linux"]["resources"]["cpu"] = json!({"shares": 512});
    });
    assert_code(&b.create("c2"), 0);
    let state: Value = serde_json::from_slice(&b.verb(&["state", "c2"]).stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cgroup.lines().any(|l| l.ends_with("/launcher/c2")), "init is not in its cgroup: {cgroup}");
    let weight =
        ["cpu,cpuacct/launcher/c2/cpu.shares", "cpu/launcher/c2/cpu.shares", "launcher/c2/cpu.weight"]
            .iter()
            .find_map(|f| std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(f)).ok())
            .expect("the container's cpu cgroup");
    assert!(["512", "50"].contains(&weight.trim()), "cpu.shares 512 gave {weight}");
    assert_code(&b.verb(&["delete", "c2"]), 0);
    assert!(!Path::new(&format!("/proc/{pid}")).exists() || b.status_gone(pid));
    assert!(!b.root.join("c2").exists(), "state left behind");
    let leftovers = Command::new("sh")
        .args(["-c", "find /sys/fs/cgroup -maxdepth 4 -type d -path '*/launcher/c2'"])
        .output()
        .unwrap();
    assert_eq!(stdout(&leftovers), "", "cgroup left behind");
}

impl Bundle {
    /// A pid that still exists must at least not be our init any more.
    fn status_gone(&self, pid: i64) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty() || stat.contains(") Z")
    }
}

#[test]
fn run_passes_the_exit_status_and_create_reports_a_missing_command() {
    require_root();
    let b = Bundle::new("run", &["sh", "-c", "exit 7"], |_| {});
    let out = b.verb(&["run", "--bundle", b.dir.to_str().unwrap(), "r1"]);
    assert_code(&out, 7);
    assert!(!b.root.join("r1").exists(), "run left its state behind");

    // As runc: a missing or non-executable command fails create, in the
    // words podman and docker map to 127 and 126.
    let b = Bundle::new("missing", &["/no/such/cmd"], |_| {});
    let out = b.create("m1");
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("executable file not found"), "{}", stderr(&out));
    assert!(!b.root.join("m1").exists(), "a failed create left state");
    let b = Bundle::new("not-executable", &["/etc/passwd"], |_| {});
    let out = b.create("m2");
    assert!(stderr(&out).contains("permission denied"), "{}", stderr(&out));
    let b = Bundle::new("in-path", &["true"], |_| {});
    assert_code(&b.create("m3"), 0);
    assert_code(&b.verb(&["delete", "m3"]), 0);
}

#[test]
fn config_fields_reach_the_container() {
    require_root();
    let hook_log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("oci-hooks.log");
    let _ = std::fs::remove_file(&hook_log);
    let hook = |point: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat >> {}; echo ' {point}' >> {}", hook_log.display(), hook_log.display())]});
    let script = "cat /proc/sys/net/ipv4/ip_unprivileged_port_start; ulimit -n; \
                  grep -c ' /run .* - tmpfs ' /proc/self/mountinfo; grep -c ' /dev/mqueue .* - mqueue ' /proc/self/mountinfo; \
                  mkdir /x 2>&1; hostname; echo $FOO; cat /proc/sys/kernel/domainname";
    let b = Bundle::new("fields", &["sh", "-c", script], |c| {
        c["hostname"] = json!("oci-test");
        c["domainname"] = json!("example.org");
        c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "FOO=bar"]);
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 64, "hard": 64}]);
        c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "network"}));
        c["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": "0"});
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}));
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"}));
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
        c["hooks"] = json!({"prestart": [hook("prestart")], "poststart": [hook("poststart")], "poststop": [hook("poststop")]});
    });
    assert_code(&b.create("f1"), 0);
    assert_code(&b.verb(&["start", "f1"]), 0);
    b.wait_stopped("f1");
    assert_code(&b.verb(&["delete", "f1"]), 0);
    let log = std::fs::read_to_string(&hook_log).unwrap();
    for point in ["prestart", "poststart", "poststop"] {
        assert!(log.contains(&format!(" {point}")), "hook {point} did not run: {log}");
    }
    assert!(log.contains("\"id\":\"f1\""), "hooks did not get the state on stdin: {log}");

    // The command's output went to create's stdout: run it attached instead.
    let out = b.verb(&["run", "--bundle", b.dir.to_str().unwrap(), "f2"]);
    assert_code(&out, 0);
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(lines[0], "0", "sysctl: {lines:?}");
    assert_eq!(lines[1], "64", "rlimit: {lines:?}");
    assert_eq!(lines[2], "1", "tmpfs /run: {lines:?}");
    assert_eq!(lines[3], "1", "mqueue: {lines:?}");
    assert!(lines[4].contains("Operation not permitted"), "seccomp: {lines:?}");
    assert_eq!(lines[5], "oci-test");
    assert_eq!(lines[6], "bar");
    assert_eq!(lines[7], "example.org", "domainname: {lines:?}");
}

#[test]
fn unsupported_fields_are_named() {
    require_root();
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 5] = [
        ("linux.resources.cpu.cpus", |c| c["linux"]["resources"]["cpu"] = json!({"cpus": "0-1"})),
        ("linux.sysctl.kernel.panic", |c| c["linux"]["sysctl"] = json!({"kernel.panic": "1"})),
        ("mounts[5]: a nfs mount", |c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/n", "type": "nfs", "source": "x"}))
        }),
        ("process.scheduler", |c| c["process"]["scheduler"] = json!({"policy": "SCHED_OTHER"})),
        ("linux.rootfsPropagation \"shared\"", |c| c["linux"]["rootfsPropagation"] = json!("shared")),
    ];
    for (i, (field, edit)) in cases.into_iter().enumerate() {
        let b = Bundle::new(&format!("bad{i}"), &["true"], edit);
        let out = b.create("bad");
        assert_ne!(out.status.code(), Some(0), "{field} accepted");
        assert!(stderr(&out).contains(field), "{field}: {}", stderr(&out));
        assert!(!b.root.join("bad").exists(), "a failed create left state");
    }
}

#[test]
fn rootless_create_and_start() {
    require_root();
    let (uid, gid) = test_user();
    let b = Bundle::new("rootless", &["sh", "-c", "cat /proc/self/uid_map > /tmp/oci-rootless-map"], |c| {
        c["root"]["path"] = json!(user_rootfs());
        c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    });
    let chown = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(&b.dir).status().unwrap();
    assert!(chown.success());
    let verb = |args: &[&str]| {
        let mut cmd = Command::new(launcher_bin());
        cmd.arg("--root").arg(&b.root).args(args);
        as_user(&mut cmd, uid, gid);
        cmd.output().unwrap()
    };
    let mut create = Command::new(launcher_bin());
    create.arg("--root").arg(&b.root).args(["create", "--bundle", b.dir.to_str().unwrap(), "u1"]);
    create.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
    create.stderr(std::process::Stdio::null());
    as_user(&mut create, uid, gid);
    assert!(create.status().unwrap().success(), "rootless create failed");
    assert_code(&verb(&["start", "u1"]), 0);
    let map = user_rootfs().join("tmp/oci-rootless-map");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !map.exists() {
        assert!(Instant::now() < deadline, "the rootless command did not run");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    let text = std::fs::read_to_string(&map).unwrap();
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["0", &uid.to_string(), "1"]);
    let _ = std::fs::remove_file(&map);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = verb(&["delete", "u1"]);
        if out.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "delete: {}", stderr(&out));
        std::thread::sleep(Duration::from_millis(20));
    }
}
