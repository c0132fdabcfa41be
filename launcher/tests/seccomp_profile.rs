//! `launcher run --security-opt seccomp=FILE`: OCI seccomp profiles (and docker's and
//! podman's profile files) compiled by launcher/src/oci/seccomp.rs and loaded by init,
//! in real containers. The expected results of podman's profile are the ones runc
//! 1.1.5 (libseccomp 2.5.4) gave for the same calls here.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

/// tests/fixtures/sysprobe.c, built static and put in the test rootfs as /bin/sysprobe:
/// `sysprobe NR ARGS...` makes one raw call and prints "RET ERRNO".
fn sysprobe() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysprobe.c");
        let target = rootfs().join("bin/sysprobe");
        let out = Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(&target)
            .arg(&source)
            .output()
            .expect("cc is needed to build the test probe (apt-get install gcc libc6-dev)");
        assert!(out.status.success(), "cc -static sysprobe.c: {}", stderr(&out));
    });
}

/// Writes `json` to a profile file named after `name`.
fn profile(name: &str, json: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("seccomp_profile-{name}.json"));
    std::fs::write(&path, json).unwrap();
    path
}

fn opt(path: &Path) -> String {
    format!("seccomp={}", path.display())
}

/// Runs `sh -c script` under the profile; its output (stderr too, in order), after
/// asserting exit code `code`.
fn sh_under(path: &Path, extra: &[&str], script: &str, code: i32) -> String {
    sysprobe();
    let opt = opt(path);
    let script = format!("exec 2>&1; {script}");
    let mut args = vec!["--security-opt", &opt];
    args.extend(extra);
    args.extend(["--", "/bin/sh", "-c", &script]);
    let out = output(&mut launcher(&args));
    assert_code(&out, code);
    assert_eq!(stderr(&out), "", "the launcher said something");
    stdout(&out)
}

// Rules on the arguments are put on calls that busybox does not make: a call made
// without arguments (getuid) has whatever its registers held as arguments, and a rule
// on them would answer at random (busybox then even setuid()s to the "uid" -98).
// x86_64's numbers, for sysprobe (the cargo tests run on the x86_64 host; the other
// architectures are checked in their qemu guests by scripts/vm/guest-tests.sh).
const SOCKET: u32 = 41;
const CLONE: u32 = 56;
const GETPPID: u32 = 110;
const SCHED_YIELD: u32 = 24;
const SYNC: u32 = 162;
const PERSONALITY: u32 = 135;
const KEXEC_LOAD: u32 = 246;
const PERF_EVENT_OPEN: u32 = 298;
const IO_URING_SETUP: u32 = 425;

#[test]
fn errno_rules_refuse_mkdir_with_eperm_or_the_errno_given() {
    require_root();
    let script = "mkdir /tmp/a; echo mkdir=$?; touch /tmp/b && echo touched";
    let eperm = profile(
        "mkdir-eperm",
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    let out = sh_under(&eperm, &[], script, 0);
    assert!(
        out.contains("mkdir=1") && out.contains("Operation not permitted") && out.contains("touched"),
        "{out}"
    );
    let enospc = profile(
        "mkdir-enospc",
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]}"#,
    );
    let out = sh_under(&enospc, &[], script, 0);
    assert!(out.contains("mkdir=1") && out.contains("No space left on device"), "{out}");
    // Without a profile (the default filter) the same script makes the directory.
    let out = output(&mut launcher(&["--", "/bin/sh", "-c", script]));
    assert_code(&out, 0);
    assert!(stdout(&out).contains("mkdir=0"), "{}", stdout(&out));
}

#[test]
fn argument_conditions_on_the_whole_64_bit_argument() {
    require_root();
    let path = profile(
        "args",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
             "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
            {"names": ["sync"], "action": "SCMP_ACT_ERRNO", "errnoRet": 98,
             "args": [{"index": 0, "value": 4294967296, "op": "SCMP_CMP_GT"}]},
            {"names": ["sched_yield"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 1, "value": 1095216660480, "valueTwo": 77309411328, "op": "SCMP_CMP_MASKED_EQ"}]}
        ]}"#,
    );
    // busybox's nc: AF_INET is refused with EACCES, before any connect.
    let out = sh_under(&path, &["--net", "none"], "nc 127.0.0.1 9 </dev/null; echo nc=$?", 0);
    assert!(out.contains("nc: socket: Permission denied"), "{out}");
    let calls = [
        // (call, what the profile makes of it)
        (format!("{SOCKET} 2 1 0"), "-1 13"),
        (format!("{SOCKET} 1 1 0"), "3 0"),
        // The kernel reads an int (AF_INET); the filter, as libseccomp's, the whole register.
        (format!("{SOCKET} 0x100000002 1 0"), "3 0"),
        (format!("{PERSONALITY} 0xffffffff"), "-1 99"),
        (format!("{PERSONALITY} 0x1ffffffff"), "0 0"),
        (format!("{SYNC} 0x100000001"), "-1 98"),
        (format!("{SYNC} 0x100000000"), "0 0"),
        (format!("{SYNC} 0xffffffff"), "0 0"),
        // (arg1 & 0xff00000000) == 0x1200000000
        (format!("{SCHED_YIELD} 0 0x1234567890"), "-1 97"),
        (format!("{SCHED_YIELD} 0 0x1334567890"), "0 0"),
    ];
    let script: Vec<String> = calls.iter().map(|(c, _)| format!("sysprobe {c}")).collect();
    let out = sh_under(&path, &["--net", "none"], &script.join("; "), 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), calls.len(), "{out}");
    for ((call, want), got) in calls.iter().zip(lines) {
        assert_eq!(got, *want, "sysprobe {call}");
    }
}

/// What init still does after it loads the filter (capset, prctl, execve), and what a
/// static busybox and sysprobe need to start and print.
const STARTUP: &str = r#""capset", "prctl", "execve", "arch_prctl", "brk", "mmap", "munmap", "mprotect",
    "set_tid_address", "set_robust_list", "rseq", "prlimit64", "getrandom", "readlink", "readlinkat",
    "newfstatat", "fstat", "uname", "rt_sigaction", "rt_sigprocmask", "getuid", "getpid", "write",
    "exit", "exit_group""#;

#[test]
fn a_kill_default_kills_with_sigsys() {
    require_root();
    sysprobe();
    for (default, code_of_unlisted) in
        [("SCMP_ACT_KILL_PROCESS", 159), ("SCMP_ACT_KILL", 159), ("SCMP_ACT_TRAP", 159)]
    {
        let path = profile(
            "kill",
            &format!(
                r#"{{"defaultAction": "{default}", "syscalls": [{{"names": [{STARTUP}], "action": "SCMP_ACT_ALLOW"}}]}}"#
            ),
        );
        let opt = opt(&path);
        let listed = output(&mut launcher(&["--security-opt", &opt, "--", "/bin/sysprobe", "39"]));
        assert_code(&listed, 0);
        let unlisted =
            output(&mut launcher(&["--security-opt", &opt, "--", "/bin/sysprobe", &GETPPID.to_string()]));
        assert_code(&unlisted, code_of_unlisted);
        assert_eq!(stdout(&unlisted), "", "{default}: getppid returned");
    }
}

const PODMAN_PROFILE: &str = "/usr/share/containers/seccomp.json";

fn podman_profile() -> &'static Path {
    let path = Path::new(PODMAN_PROFILE);
    assert!(
        path.exists(),
        "{PODMAN_PROFILE} is missing: apt-get install golang-github-containers-common (podman's profile)"
    );
    path
}

/// Each call with what runc 1.1.5 answered under the same profile here (docker's
/// default capabilities).
const PODMAN_VERDICTS: &[(&str, &str)] = &[
    ("83 0", "-1 14"),            // mkdir(NULL): allowed, EFAULT
    ("135 0", "0 0"),             // personality(PER_LINUX)
    ("135 0xffffffff", "0 0"),    // personality query
    ("135 1", "-1 38"),           // other personalities: the default, ENOSYS
    ("135 0x100000000", "-1 38"), // the upper half counts
    ("246 0 0 0 0", "-1 1"),      // kexec_load: EPERM
    ("425 0 0", "-1 38"),         // io_uring_setup: not listed
    ("1000", "-1 38"),            // a number past the profile
    ("308 -1 0", "-1 9"),         // setns: allowed (its unconditional rule comes first)
    ("298 0 0 -1 -1 0", "-1 1"),  // perf_event_open: only with CAP_SYS_ADMIN
    ("41 16 3 9", "3 0"),         // netlink audit socket: allowed with CAP_AUDIT_WRITE
    ("435 0 0", "-1 22"),         // clone3: allowed, EINVAL
    ("272 0", "0 0"),             // unshare(0)
    ("101 -1 -1", "-1 3"),        // ptrace: allowed, ESRCH
    ("304 -1 0 0", "-1 1"),       // open_by_handle_at: only with CAP_DAC_READ_SEARCH
];

#[test]
fn podmans_default_profile_runs_busybox_and_denies_as_runc() {
    require_root();
    let path = podman_profile();
    let out = sh_under(
        path,
        &[],
        "echo hello; mkdir -p /tmp/d/e && ls /tmp/d; wc -l < /etc/passwd >/dev/null; id -u; \
         grep -E '^Seccomp(_filters)?:' /proc/self/status; sleep 0; true & wait $!; echo done",
        0,
    );
    for want in ["hello", "\ne\n", "\n0\n", "Seccomp:\t2", "Seccomp_filters:\t1", "done"] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    let script: Vec<String> = PODMAN_VERDICTS.iter().map(|(c, _)| format!("sysprobe {c}")).collect();
    let out = sh_under(path, &[], &script.join("; "), 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), PODMAN_VERDICTS.len(), "{out}");
    for ((call, want), got) in PODMAN_VERDICTS.iter().zip(lines) {
        assert_eq!(got, *want, "sysprobe {call}");
    }
}

#[test]
fn podmans_profile_follows_the_containers_capabilities() {
    require_root();
    let path = podman_profile();
    // Its rules that include or exclude a capability: perf_event_open with SYS_ADMIN
    // reaches the kernel (EFAULT for the null attr); without AUDIT_WRITE, the netlink
    // audit socket gets EINVAL.
    let probe = format!("sysprobe {PERF_EVENT_OPEN} 0 0 -1 -1 0; sysprobe {SOCKET} 16 3 9");
    let out = sh_under(path, &["--cap-add", "SYS_ADMIN", "--cap-drop", "AUDIT_WRITE"], &probe, 0);
    assert_eq!(out, "-1 14\n-1 22\n");
    let out = sh_under(path, &[], &probe, 0);
    assert_eq!(out, "-1 1\n3 0\n");
}

#[test]
fn a_docker_format_profile_of_our_own() {
    require_root();
    // docker's format: archMap, rules with includes/excludes, and docker's clone rule
    // (no namespace flags without CAP_SYS_ADMIN) as a MASKED_EQ.
    let path = profile(
        "docker-format",
        &format!(
            r#"{{
            "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "archMap": [{{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}}],
            "syscalls": [
                {{"names": [{STARTUP}, "getppid", "read", "close", "openat", "open", "wait4", "fork", "vfork",
                    "getcwd", "chdir", "fcntl", "dup2", "pipe", "pipe2", "getdents64", "ioctl", "lseek",
                    "setpgid", "getpgrp", "kill", "rt_sigreturn", "faccessat", "faccessat2", "access",
                    "statx", "stat", "lstat", "geteuid", "getgid", "getegid", "sysinfo", "clone3", "rt_sigsuspend",
                    "getppid", "sigaltstack", "nanosleep", "clock_nanosleep", "gettid", "tgkill", "getpgid"],
                 "action": "SCMP_ACT_ALLOW"}},
                {{"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "includes": {{"caps": ["CAP_SYS_ADMIN"]}}}},
                {{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}}],
                  "excludes": {{"caps": ["CAP_SYS_ADMIN"]}}}},
                {{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "includes": {{"caps": ["CAP_SYS_ADMIN"]}}}},
                {{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "includes": {{"arches": ["s390x"]}}}},
                {{"names": ["sync"], "action": "SCMP_ACT_ALLOW", "includes": {{"minKernel": "4.8"}}}},
                {{"names": ["syncfs"], "action": "SCMP_ACT_ALLOW", "includes": {{"minKernel": "99.0"}}}}
            ]}}"#
        ),
    );
    let script = format!(
        "true & wait $!; echo fork=$?; sysprobe {CLONE} 0x10000011; unshare -U true; echo unshare=$?; \
         sync; echo sync=$?; sysprobe 306 -1; sysprobe {PERSONALITY} 0xffffffff"
    );
    let out = sh_under(&path, &[], &script, 0);
    assert!(out.contains("fork=0"), "{out}");
    assert!(out.contains("-1 1\n"), "clone(CLONE_NEWUSER) not refused: {out}");
    assert!(out.contains("unshare=1") && out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("sync=0"), "{out}");
    // syncfs needs Linux 99.0 and personality is s390x's: both left to the default.
    assert!(out.ends_with("-1 1\n-1 1\n"), "{out}");
    // With CAP_SYS_ADMIN the rules for it apply: unshare and clone with namespace flags.
    let out = sh_under(&path, &["--cap-add", "SYS_ADMIN"], "unshare -U true; echo unshare=$?", 0);
    assert!(out.contains("unshare=0"), "{out}");
}

#[test]
fn profiles_the_launcher_cannot_honour_are_refused_in_one_line() {
    require_root();
    let cases = [
        ("missing", None, "No such file or directory"),
        ("not-json", Some("{ defaultAction"), "not a JSON seccomp profile"),
        (
            "bad-op",
            Some(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]}"#,
            ),
            r#"syscalls[0].args[0].op "SCMP_CMP_FOO": unknown; use one of SCMP_CMP_NE"#,
        ),
        (
            "notify",
            Some(
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}"#,
            ),
            r#"syscalls[0].action "SCMP_ACT_NOTIFY": seccomp user notification"#,
        ),
        (
            "flag",
            Some(r#"{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}"#),
            r#"flags[0] "SECCOMP_FILTER_FLAG_NEW_LISTENER": not supported by launcher"#,
        ),
        (
            "arch",
            Some(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_AARCH64"]}"#),
            "this machine's SCMP_ARCH_X86_64 is not listed",
        ),
    ];
    for (name, json, want) in cases {
        let path = match json {
            Some(json) => profile(name, json),
            None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("seccomp_profile-no-such-file.json"),
        };
        let opt = opt(&path);
        let out = output(&mut launcher(&["--security-opt", &opt, "--", "/bin/true"]));
        assert_code(&out, 125);
        let err = stderr(&out);
        let prefix = format!("launcher: --security-opt {opt}: ");
        assert!(err.starts_with(&prefix) && err.contains(want), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
    }
}

#[test]
fn rootless_and_without_no_new_privileges() {
    require_root();
    let path = podman_profile();
    let opt = opt(path);
    let out = output(&mut launcher_rootless(&[
        "--security-opt",
        &opt,
        "--",
        "/bin/sh",
        "-c",
        "mkdir /tmp/x && echo ok",
    ]));
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "ok\n");
    // Without no_new_privs init loads the filter with CAP_SYS_ADMIN in its namespace.
    let out = sh_under(
        path,
        &["--security-opt", "no-new-privileges=false"],
        &format!("grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; sysprobe {KEXEC_LOAD} 0 0 0 0; sysprobe {IO_URING_SETUP} 0 0"),
        0,
    );
    assert_eq!(out, "NoNewPrivs:\t0\nSeccomp:\t2\n-1 1\n-1 38\n");
}
