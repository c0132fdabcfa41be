//! Least privilege inside, and escapes that must fail: capabilities,
//! no_new_privs, seccomp, masked and read-only paths, --read-only, --net none,
//! volumes, and bad input.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::*;

/// docker's default capability set, as /proc/PID/status prints it.
const DOCKER_DEFAULT_CAPS: &str = "00000000a80425fb";

fn sh(script: &str) -> Vec<&str> {
    vec!["--", "/bin/sh", "-c", script]
}

/// tests/fixtures/probe.c, built static and put in the test rootfs as /bin/probe.
fn probe() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/probe.c");
        let target = rootfs().join("bin/probe");
        let out = Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(&target)
            .arg(&source)
            .output()
            .expect("cc is needed to build the test probe (apt-get install gcc libc6-dev)");
        assert!(out.status.success(), "cc -static probe.c: {}", stderr(&out));
    });
}

fn probe_results(args: &[&str]) -> HashMap<String, i32> {
    probe();
    let mut all = args.to_vec();
    all.extend(["--", "/bin/probe"]);
    let out = output(&mut launcher(&all));
    assert_code(&out, 0);
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_string(), v.parse().unwrap())))
        .collect()
}

fn status_fields(args: &[&str]) -> HashMap<String, String> {
    let mut all = args.to_vec();
    all.extend(["--", "/bin/cat", "/proc/self/status"]);
    let out = output(&mut launcher(&all));
    assert_code(&out, 0);
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.to_string(), v.trim().to_string())))
        .collect()
}

#[test]
fn capabilities_are_dockers_default_set() {
    let status = status_fields(&[]);
    for field in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(status[field], DOCKER_DEFAULT_CAPS, "{field}");
    }
    assert_eq!(status["CapAmb"], "0000000000000000");
    // The same rootless: root inside holds no more than docker's set.
    let out = output(&mut launcher_rootless(&["--", "/bin/grep", "CapBnd", "/proc/self/status"]));
    assert_code(&out, 0);
    assert!(stdout(&out).contains(DOCKER_DEFAULT_CAPS), "{}", stdout(&out));
}

#[test]
fn cap_add_and_cap_drop_adjust_the_set() {
    let status = status_fields(&["--cap-drop", "ALL", "--cap-add", "CHOWN"]);
    assert_eq!(status["CapEff"], "0000000000000001");
    let status = status_fields(&["--cap-add", "NET_ADMIN", "--cap-drop", "cap_kill"]);
    let eff = u64::from_str_radix(&status["CapEff"], 16).unwrap();
    assert!(eff & (1 << 12) != 0 && eff & (1 << 5) == 0, "CapEff {eff:x}");
    let out = output(&mut launcher(&["--cap-add", "SUPERPOWER", "/bin/true"]));
    assert_code(&out, 125);
    assert!(stderr(&out).contains("SUPERPOWER"), "{}", stderr(&out));
}

#[test]
fn no_new_privs_is_on_unless_turned_off() {
    assert_eq!(status_fields(&[])["NoNewPrivs"], "1");
    assert_eq!(status_fields(&["--security-opt", "no-new-privileges=false"])["NoNewPrivs"], "0");
}

#[test]
fn seccomp_denies_what_reaches_past_the_container() {
    let results = probe_results(&[]);
    for call in [
        "keyctl",
        "add_key",
        "bpf",
        "perf_event_open",
        "kexec_load",
        "init_module",
        "unshare_user",
        "io_uring_setup",
        "mount",
    ] {
        assert_eq!(results.get(call), Some(&libc::EPERM), "{call} was not refused with EPERM: {results:?}");
    }
    assert_eq!(
        results.get("clone3"),
        Some(&libc::ENOSYS),
        "clone3 must look absent (libcs fall back to clone)"
    );
    assert_eq!(results.get("getpid"), Some(&0));
    assert_eq!(status_fields(&[])["Seccomp"], "2");
    // Unconfined: the kernel answers for itself (add_key works in a new keyring namespace).
    let results = probe_results(&["--security-opt", "seccomp=unconfined"]);
    assert_ne!(results.get("bpf"), None);
    assert_ne!(results.get("add_key"), Some(&libc::EPERM), "{results:?}");
    assert_eq!(status_fields(&["--security-opt", "seccomp=unconfined"])["Seccomp"], "0");
}

#[test]
fn masked_paths_show_nothing() {
    let out = output(&mut launcher(&sh(
        "wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /proc/acpi | wc -l; ls -A /sys/firmware | wc -l; \
         touch /proc/acpi/x /sys/firmware/x 2>/dev/null; echo rc=$?; (ls -A /proc/acpi; ls -A /sys/firmware) | wc -w",
    )));
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "0", "0", "rc=1", "0"],
        "a masked path shows something or takes a file"
    );
}

#[test]
fn kernel_knobs_are_read_only() {
    let out = output(&mut launcher(&sh(
        "echo 1 > /proc/sys/vm/drop_caches; echo rc=$?; echo h > /proc/sysrq-trigger; echo rc=$?; \
         mount -o remount,rw /proc/sys; echo rc=$?",
    )));
    let text = stdout(&out);
    assert!(!text.contains("rc=0"), "a kernel knob was writable:\n{text}\n{}", stderr(&out));
}

#[test]
fn read_only_root_still_has_tmp_and_shm() {
    let out = output(&mut launcher(&[
        "--read-only",
        "--",
        "/bin/sh",
        "-c",
        "touch /newfile; echo rc=$?; echo x > /tmp/f && echo x > /dev/shm/f && echo writable; mount -o remount,rw /; echo rc=$?",
    ]));
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("rc=1\nwritable\nrc="), "{text}");
    assert!(!text.ends_with("rc=0\n"), "/ was remounted read-write:\n{text}");
    assert!(stderr(&out).contains("Read-only file system"), "{}", stderr(&out));
    assert!(!rootfs().join("newfile").exists());
}

#[test]
fn net_none_has_only_loopback_up() {
    let out = output(&mut launcher(&["--net", "none", "--", "/bin/cat", "/proc/net/dev"]));
    assert_code(&out, 0);
    let text = stdout(&out);
    let interfaces: Vec<&str> = text.lines().skip(2).map(|l| l.split(':').next().unwrap().trim()).collect();
    assert_eq!(interfaces, ["lo"], "{text}");
    let out = output(&mut launcher(&["--net", "none", "--", "ip", "link", "show", "lo"]));
    assert!(stdout(&out).contains(",UP"), "lo is not up:\n{}", stdout(&out));
    let out = output(&mut launcher(&["--net", "bogus", "/bin/true"]));
    assert_code(&out, 125);
}

#[test]
fn volumes_bind_read_write_and_read_only() {
    let dir = std::env::temp_dir().join(format!("launcher-volume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in"), "from host\n").unwrap();
    let rw = format!("{}:/data", dir.display());
    let ro = format!("{}:/ro:ro", dir.display());
    let out = output(&mut launcher(&[
        "-v",
        &rw,
        "-v",
        &ro,
        "--",
        "/bin/sh",
        "-c",
        "cat /data/in; echo out > /data/out; echo x > /ro/x; echo rc=$?",
    ]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "from host\nrc=1\n");
    assert_eq!(std::fs::read_to_string(dir.join("out")).unwrap(), "out\n");
    assert!(!dir.join("x").exists(), "wrote through a :ro volume");
    std::fs::remove_dir_all(&dir).unwrap();
    let _ = std::fs::remove_dir(rootfs().join("data"));
    let _ = std::fs::remove_dir(rootfs().join("ro"));
}

#[test]
fn a_volume_target_cannot_escape_through_a_symlink() {
    // A rootfs symlink to an absolute path must resolve inside the rootfs, not on the host.
    let link = rootfs().join("escape");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/etc", &link).unwrap();
    let dir = std::env::temp_dir().join(format!("launcher-volume-esc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vol = format!("{}:/escape/launcher-esc", dir.display());
    let out = output(&mut launcher(&["-v", &vol, "--", "/bin/ls", "-d", "/etc/launcher-esc"]));
    assert_code(&out, 0);
    assert!(!Path::new("/etc/launcher-esc").exists(), "the volume escaped onto the host's /etc");
    assert!(rootfs().join("etc/launcher-esc").is_dir());
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_dir(rootfs().join("etc/launcher-esc")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// init reaches the masked and read-only entries of its /proc and /sys by
/// path, trusting that "proc" and "sys" lead to the filesystems it mounted
/// there: a rootfs whose /proc is a symlink must still never show a procfs
/// with them unmasked, nor touch the host's mounts.
#[test]
fn a_rootfs_whose_proc_is_a_symlink_shows_no_unmasked_procfs() {
    let copy = rootfs_copy("proc-link");
    let mounts = host_mounts();
    for target in ["/etc", "../../../../proc", "sys"] {
        std::fs::remove_dir(copy.join("proc")).or_else(|_| std::fs::remove_file(copy.join("proc"))).unwrap();
        std::os::unix::fs::symlink(target, copy.join("proc")).unwrap();
        let out = Command::new(launcher_bin())
            .args(["run", "--rootfs"])
            .arg(&copy)
            .args(["--", "/bin/sh", "-c", "cat /proc/keys /proc/timer_list 2>/dev/null | wc -c"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // Running (with /proc then not a procfs) or refusing are both fine.
        if out.status.success() {
            assert_eq!(stdout(&out).trim(), "0", "proc -> {target}: masked files readable");
        } else {
            assert_code(&out, 125);
        }
        assert_eq!(host_mounts(), mounts, "proc -> {target}: the host's mounts changed");
    }
    std::fs::remove_dir_all(&copy).unwrap();
}

#[test]
fn escapes_fail() {
    probe();
    // A second chroot and '..' lead back to the container's root, never the host's.
    let out = output(&mut launcher(&["--", "/bin/probe", "chroot"]));
    assert_code(&out, 0);
    assert!(stdout(&out).contains("host_file_visible 2"), "host file reachable:\n{}", stdout(&out));
    // Host processes cannot be seen or signalled; the host's hostname is not changed.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let script = format!("kill -0 {} ; echo rc=$?; hostname evil; hostname", std::process::id());
    let out = output(&mut launcher(&sh(&script)));
    assert!(stdout(&out).starts_with("rc=1\n"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(), hostname);
    // No block devices, and none can be made.
    let out = output(&mut launcher(&sh(
        "ls /dev | grep -c -e sd -e vd -e nvme; mknod /tmp/disk b 8 0; echo rc=$?",
    )));
    assert_eq!(stdout(&out), "0\nrc=1\n", "{}", stderr(&out));
}

#[test]
fn bad_hardening_input_is_refused() {
    for (args, message) in [
        (&["-v", "/tmp:data"][..], "container path must be absolute"),
        (&["-v", "/tmp:/a/../../b"], "'..'"),
        (&["-v", "relative:/data"], "host path must be absolute"),
        (&["-v", "/no/such/dir:/data"], "/no/such/dir"),
        (&["--cap-drop", "NOPE"], "NOPE"),
        (&["--security-opt", "apparmor=x"], "--security-opt"),
    ] {
        let mut cmd = launcher(args);
        if !args.contains(&"--") {
            cmd.arg("/bin/true");
        }
        let out = output(&mut cmd);
        assert_code(&out, 125);
        let err = stderr(&out);
        assert!(err.contains(message) && err.lines().count() == 1, "{args:.60?}: {err}");
    }
}

#[test]
fn a_megabyte_of_arguments_is_passed_whole() {
    // The kernel takes at most 128 KiB per argument and 2 MiB in all: 8 just
    // under the first make 1 MiB, which must arrive intact.
    let arg = "x".repeat(128 * 1024 - 1);
    let mut args = vec!["--", "/bin/sh", "-c", "echo \"$@\" | wc -c", "sh"];
    args.extend(std::iter::repeat_n(arg.as_str(), 8));
    let out = output(&mut launcher(&args));
    assert_code(&out, 0);
    assert_eq!(stdout(&out).trim(), (8 * 128 * 1024).to_string());
}

#[test]
fn rootless_with_subordinate_ranges_maps_them_so_chown_works() {
    assert!(
        Path::new("/usr/bin/newuidmap").exists(),
        "newuidmap is needed for this test: apt-get install uidmap"
    );
    let (uid, gid, dir) = ranged_user();
    let mut cmd = Command::new(launcher_bin());
    cmd.args(["run", "--rootfs"]).arg(&dir);
    cmd.args([
        "--",
        "/bin/sh",
        "-c",
        "cat /proc/self/uid_map; touch /tmp/f; chown 1000:1000 /tmp/f; stat -c '%u %g' /tmp/f",
    ]);
    as_user(&mut cmd, uid, gid);
    let out = output(&mut cmd);
    assert_code(&out, 0);
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["0", &uid.to_string(), "1"], "{text}");
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap();
    let start =
        subuid.lines().find_map(|l| l.strip_prefix("launcher-subid:")).unwrap().split(':').next().unwrap();
    assert_eq!(&lines[1][..2], ["1", start], "the range is mapped from 1:\n{text}");
    assert_eq!(lines.last().unwrap(), &["1000", "1000"], "chown inside did not work:\n{text}");
}

#[test]
fn a_rootfs_on_a_read_only_filesystem_runs() {
    // A read-only bind of the rootfs, in a private mount namespace, stands in
    // for a rootfs on read-only media: the launcher writes nothing to it.
    let script = format!(
        "mkdir -p /tmp/launcher-ro-$$ && mount --bind -o ro {rootfs} /tmp/launcher-ro-$$ && \
         {bin} run --rootfs /tmp/launcher-ro-$$ --read-only -- /bin/sh -c 'touch /x 2>/dev/null; echo rc=$?; echo ok > /tmp/y && cat /tmp/y'; \
         rc=$?; umount /tmp/launcher-ro-$$; rmdir /tmp/launcher-ro-$$; exit $rc",
        rootfs = rootfs().display(),
        bin = launcher_bin()
    );
    let out = Command::new("unshare").args(["--mount", "sh", "-c", &script]).output().unwrap();
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "rc=1\nok\n");
}
