//! These tests use the real cgroup filesystem and need root. They make only
//! their own directories (named so that no sweep of another test takes them).

use super::*;
use std::process::{Child, Command};

/// Root, and one test at a time: each Cgroup::create sweeps the cgroups of
/// dead pids from its parents, such as the one stale_cgroups_are_swept plants.
fn need_root() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    assert_eq!(euid(), 0, "the cgroup tests must run as root: they create real cgroups");
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn sleeper() -> Child {
    Command::new("sleep").arg("60").spawn().expect("spawn sleep 60")
}

/// A pid that is certainly not running: a child that has been reaped.
fn dead_pid() -> libc::pid_t {
    let mut c = Command::new("true").spawn().expect("spawn true");
    let pid = c.id() as libc::pid_t;
    c.wait().unwrap();
    assert!(!pid_alive(pid));
    pid
}

/// Moves another process into every leaf, as root may.
fn join_all(cg: &Cgroup, pid: libc::pid_t) {
    for leaf in cg.paths() {
        fs::write(leaf.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

/// A `sleep 60` that joins every leaf by itself through `join_fds` before it
/// execs, as the container's init does.
fn self_joined_sleeper(cg: &Cgroup) -> Child {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let files = cg.join_fds().unwrap();
    let fds: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
    let mut cmd = Command::new("sleep");
    cmd.arg("60");
    // SAFETY: between fork and exec the closure only calls write(2), which is
    // async-signal-safe, on fds that `files` keeps open until spawn returns.
    unsafe {
        cmd.pre_exec(move || {
            for &fd in &fds {
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn sleep 60 joining the cgroup");
    drop(files);
    child
}

fn test_name(tag: &str) -> String {
    format!("launcher-test{}-{tag}", std::process::id())
}

fn content(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}/{file}: {e}", dir.display()))
        .trim()
        .to_string()
}

fn killed_by_sigkill(child: &mut Child) {
    use std::os::unix::process::ExitStatusExt;
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
}

#[test]
fn parses_mountinfo_and_proc_cgroup() {
    let mi = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";
    let m = parse_mountinfo(mi);
    assert_eq!(m.len(), 4);
    assert_eq!(m[0].options, ["rw", "cpu", "cpuacct"]);
    assert_eq!(m[1].root, "/docker/abc");
    assert!(m[3].v2);
    assert_eq!(m[3].point, Path::new("/sys/fs/cgroup/uni fied"));
    let pc =
        parse_proc_cgroup("4:memory:/docker/abc/x\n2:cpu,cpuacct:/\n1:name=systemd:/a\n0::/user.slice\n");
    let host = Host { mounts: m, member: pc, v2_controllers: vec![] };
    assert_eq!(host.layout(), Layout::Hybrid);
    let mem = host.v1_mount("memory").unwrap();
    assert_eq!(host.own_dir(mem, Some("memory")).unwrap(), Path::new("/sys/fs/cgroup/memory/x"));
    let cpu = host.v1_mount("cpu").unwrap();
    assert_eq!(host.own_dir(cpu, Some("cpu")).unwrap(), Path::new("/sys/fs/cgroup/cpu"));
    assert!(host.v1_mount("pids").is_none());
    let v2 = host.v2_mount().unwrap();
    assert_eq!(host.own_dir(v2, None).unwrap(), Path::new("/sys/fs/cgroup/uni fied/user.slice"));
    let pure = Host {
        mounts: parse_mountinfo("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
        member: parse_proc_cgroup("0::/\n"),
        v2_controllers: vec!["pids".into()],
    };
    assert_eq!(pure.layout(), Layout::V2);
    assert!(pure.on_v2(Controller::Pids) && !pure.on_v2(Controller::Memory));
}

#[test]
fn limits_rules() {
    let mut l = Limits::default();
    assert!(l.is_empty());
    l.memory_swap = Some(Swap::Total(1 << 30));
    assert!(l.validate().unwrap_err().contains("needs --memory"));
    l.memory = Some(2 << 30);
    assert!(l.validate().unwrap_err().contains("smaller than --memory 2g"));
    l.memory = Some(1 << 29);
    assert!(l.validate().is_ok());
    assert_eq!(l.controllers(), [Controller::Memory]);
    l.pids = Some(3);
    l.cpus = Some(Cpus { quota: 1000, period: 100000 });
    assert_eq!(l.controllers(), Controller::ALL);
}

/// On this kind of host (hybrid) everything is v1, each beneath our own cgroup.
#[test]
fn v1_create_attach_remove() {
    let _serial = need_root();
    let host = Host::probe().unwrap();
    let limits = Limits {
        pids: Some(17),
        memory: Some(50 << 20),
        memory_swap: None,
        cpus: Some(Cpus { quota: 50_000, period: 100_000 }),
        cpu_shares: None,
    };
    let p = plan(&host, &limits.controllers(), None, None).unwrap();
    assert!(p.v2.is_none() || !host.v2_controllers.is_empty(), "unexpected v2 plan: {p:?}");
    if p.v1.is_empty() {
        panic!("this test expects the v1 controllers pids, memory, cpu (hybrid host); plan: {p:?}");
    }
    let name = test_name("v1");
    let mut cg = Cgroup::create(&name, &limits, None, None).unwrap();
    let leaves: Vec<PathBuf> = cg.paths().iter().map(|p| p.to_path_buf()).collect();
    assert_eq!(leaves.len(), 3, "{leaves:?}");
    for ctrl in Controller::ALL {
        let mount = host.v1_mount(ctrl.name()).unwrap();
        let own = host.own_dir(mount, Some(ctrl.name())).unwrap();
        let leaf = own.join(&name);
        assert!(leaves.contains(&leaf), "{leaf:?} not in {leaves:?}");
        match ctrl {
            Controller::Pids => assert_eq!(content(&leaf, "pids.max"), "17"),
            Controller::Memory => {
                assert_eq!(content(&leaf, "memory.limit_in_bytes"), (50u64 << 20).to_string());
                if leaf.join("memory.memsw.limit_in_bytes").exists() {
                    assert_eq!(content(&leaf, "memory.memsw.limit_in_bytes"), (50u64 << 20).to_string());
                }
            }
            Controller::Cpu => {
                assert_eq!(content(&leaf, "cpu.cfs_quota_us"), "50000");
                assert_eq!(content(&leaf, "cpu.cfs_period_us"), "100000");
            }
        }
    }
    let mut child = self_joined_sleeper(&cg);
    let pid = child.id() as libc::pid_t;
    for leaf in &leaves {
        assert_eq!(procs(leaf), [pid], "{}/cgroup.procs", leaf.display());
    }
    assert!(cg.oom_message().is_none());
    cg.remove();
    killed_by_sigkill(&mut child);
    for leaf in &leaves {
        assert!(!leaf.exists(), "{} remains", leaf.display());
        let parent = leaf.parent().unwrap();
        let left: Vec<_> = fs::read_dir(parent)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(&name))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    cg.remove(); // idempotent
}

/// The kernel's OOM killer fires in a v1 memory cgroup, and we say so.
#[test]
fn v1_oom_is_reported() {
    let _serial = need_root();
    let limits = Limits { memory: Some(16 << 20), ..Limits::default() };
    let mut cg = Cgroup::create(&test_name("oom"), &limits, None, None).unwrap();
    let mut go = [0i32; 2];
    // SAFETY: pipe fills the two fds.
    assert_eq!(unsafe { libc::pipe(go.as_mut_ptr()) }, 0);
    // SAFETY: the child only calls async-signal-safe functions and mmap, then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            let mut b = 0u8;
            libc::read(go[0], &mut b as *mut u8 as *mut libc::c_void, 1);
            let len = 64 << 20;
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p != libc::MAP_FAILED {
                let p = p as *mut u8;
                let mut i = 0;
                while i < len {
                    p.add(i).write_volatile(1);
                    i += 4096;
                }
            }
            libc::_exit(0);
        }
    }
    join_all(&cg, pid);
    // SAFETY: plain fd operations and waitpid on our own child.
    let status = unsafe {
        libc::write(go[1], b"G".as_ptr() as *const libc::c_void, 1);
        libc::close(go[0]);
        libc::close(go[1]);
        let mut st = 0;
        libc::waitpid(pid, &mut st, 0);
        st
    };
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL, "status {status:#x}");
    let msg = cg.oom_message().expect("oom_message after an OOM kill");
    assert!(msg.contains("limit 16m"), "{msg}");
    cg.remove();
}

#[test]
fn stale_cgroups_are_swept() {
    let _serial = need_root();
    let host = Host::probe().unwrap();
    let mount = host.v1_mount("pids").expect("a v1 pids hierarchy (hybrid host)");
    let own = host.own_dir(mount, Some("pids")).unwrap();
    let stale = own.join(format!("{PREFIX}{}", dead_pid()));
    fs::create_dir(&stale).unwrap();
    let mut orphan = sleeper();
    fs::write(stale.join("cgroup.procs"), orphan.id().to_string()).unwrap();
    // A live owner's cgroup stays.
    let live = own.join(format!("{PREFIX}{}", std::process::id()));
    fs::create_dir(&live).unwrap();
    let n = sweep_stale(&own, false);
    assert!(n >= 1);
    assert!(!stale.exists(), "{} was not swept", stale.display());
    killed_by_sigkill(&mut orphan);
    assert!(live.exists());
    fs::remove_dir(&live).unwrap();

    // Cgroup::create sweeps its parents by itself.
    let stale = own.join(format!("{PREFIX}{}", dead_pid()));
    fs::create_dir(&stale).unwrap();
    let cg = Cgroup::create(&test_name("sweep"), &Limits { pids: Some(5), ..Limits::default() }, None, None)
        .unwrap();
    assert!(!stale.exists());
    drop(cg);
    assert!(!own.join(test_name("sweep")).exists());
}

#[test]
fn cgroup_parent_override_is_made_and_removed() {
    let _serial = need_root();
    let parent = format!("/launcher-test-parent{}", std::process::id());
    let limits = Limits { pids: Some(9), ..Limits::default() };
    let mut cg = Cgroup::create("launcher-x", &limits, Some(Path::new(&parent)), None).unwrap();
    let leaf = cg.paths()[0].to_path_buf();
    let host = Host::probe().unwrap();
    let pids_root = &host.v1_mount("pids").unwrap().point;
    assert_eq!(leaf, pids_root.join(&parent[1..]).join("launcher-x"));
    assert_eq!(content(&leaf, "pids.max"), "9");
    cg.remove();
    assert!(!leaf.exists());
    assert!(!pids_root.join(&parent[1..]).exists(), "the parent made for the run remains");
}

/// The v2 leaf mechanics (mkdir, attach, cgroup.kill, rmdir) on whatever
/// cgroup2 mount exists, with no controllers, as the hybrid host's unified
/// hierarchy has none; the limits of v2 are tested in a pure-v2 VM.
#[test]
fn v2_leaf_without_controllers() {
    let _serial = need_root();
    let host = Host::probe().unwrap();
    let mount = host.v2_mount().expect("a cgroup2 mount");
    let place = v2::place(&host, &[], None, None).unwrap();
    let name = test_name("v2");
    let mut cg = Cgroup { leaves: Vec::new(), made: Vec::new(), moved: None, memory: None, done: false };
    v2::create(&mut cg, &place, &name, &Limits::default(), None).unwrap();
    let leaf = cg.paths()[0].to_path_buf();
    assert!(leaf.starts_with(&mount.point));
    let mut child = self_joined_sleeper(&cg);
    let pid = child.id() as libc::pid_t;
    assert_eq!(procs(&leaf), [pid]);
    assert_eq!(cg.oom_message(), None);
    cg.remove();
    killed_by_sigkill(&mut child);
    assert!(!leaf.exists());
}

#[test]
fn check_sees_a_plan_here() {
    let host = Host::probe().unwrap();
    let p = plan(&host, &Controller::ALL, None, None).unwrap();
    let lines = p.describe();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l.contains("launcher-<pid>")), "{lines:?}");
}

/// The statfs shortcut finds the cgroup mounts that /proc/self/mountinfo
/// lists, and gives up (so that mountinfo is read) on anything unusual.
#[test]
fn usual_layout_matches_mountinfo() {
    let member = parse_proc_cgroup(&read(Path::new("/proc/self/cgroup")).unwrap());
    let usual = usual_mounts(&member).expect("this host mounts its cgroups where systemd does");
    assert_eq!(usual.len(), member.len(), "{usual:?}");
    let info = parse_mountinfo(&read(Path::new("/proc/self/mountinfo")).unwrap());
    for m in &usual {
        let found = info.iter().find(|i| i.point == m.point);
        let found =
            found.unwrap_or_else(|| panic!("{} is not a cgroup mount in mountinfo", m.point.display()));
        assert_eq!((found.v2, found.root.as_str()), (m.v2, "/"), "{}", m.point.display());
        for c in &m.options {
            assert!(found.options.contains(c), "{c} not in the options of {}: {found:?}", m.point.display());
        }
    }
    let mut odd = member.clone();
    odd.push(Membership { id: 99, controllers: vec!["nosuch".into()], path: "/".into() });
    assert!(usual_mounts(&odd).is_none(), "a hierarchy not under /sys/fs/cgroup must send us to mountinfo");
}
