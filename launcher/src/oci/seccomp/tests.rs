//! The compiler's programs run by an interpreter of classic BPF as the kernel runs it
//! (the kernel's own verdicts are in tests/seccomp_profile.rs, in real containers).

use super::*;
use crate::testrng::Rng;
use serde_json::json;

/// What the filter sees of a call.
#[derive(Clone, Copy)]
struct Call {
    nr: u32,
    arch: u32,
    args: [u64; 6],
}

fn call(nr: u32, args: &[u64]) -> Call {
    let mut all = [0; 6];
    all[..args.len()].copy_from_slice(args);
    Call { nr, arch: AUDIT_ARCH, args: all }
}

fn nr(name: &str) -> u32 {
    number(name).unwrap_or_else(|| panic!("{name} is not a system call here"))
}

/// The program's instructions from its bytes.
fn decode(bytes: &[u8]) -> Vec<sock_filter> {
    assert_eq!(bytes.len() % 8, 0);
    bytes
        .chunks(8)
        .map(|i| sock_filter {
            code: u16::from_le_bytes([i[0], i[1]]),
            jt: i[2],
            jf: i[3],
            k: u32::from_le_bytes([i[4], i[5], i[6], i[7]]),
        })
        .collect()
}

/// Runs the program on `c`: its verdict, and how many instructions it took.
fn run(prog: &[sock_filter], c: Call) -> (u32, usize) {
    let word = |offset: u32| -> u32 {
        match offset {
            NR => c.nr,
            ARCH => c.arch,
            16..=60 if offset.is_multiple_of(4) => {
                let arg = c.args[(offset as usize - 16) / 8];
                if offset == arg_low((offset - 16) / 8) {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
            _ => panic!("load of offset {offset}"),
        }
    };
    let (mut pc, mut a) = (0usize, 0u32);
    for steps in 1..=prog.len() {
        let i = prog[pc];
        let code = u32::from(i.code);
        pc += 1;
        match code {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => a = word(i.k),
            c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => a &= i.k,
            c if c == libc::BPF_RET | libc::BPF_K => return (i.k, steps),
            c if c == libc::BPF_JMP | libc::BPF_JA => pc += i.k as usize,
            c if c & 0x07 == libc::BPF_JMP => {
                let taken = match c & 0xf0 {
                    libc::BPF_JEQ => a == i.k,
                    libc::BPF_JGT => a > i.k,
                    libc::BPF_JGE => a >= i.k,
                    op => panic!("jump op {op:#x}"),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            other => panic!("instruction {other:#x}"),
        }
        assert!(pc < prog.len(), "ran off the end");
    }
    panic!("no verdict: a loop?")
}

/// A profile in docker's format, for a container with `caps` on a kernel `kernel`.
fn docker(profile: &Value, caps: u64, kernel: (u32, u32)) -> Result<Vec<sock_filter>, String> {
    compile_at(profile, "", Some(Container { caps, kernel })).map(|bytes| decode(&bytes))
}

fn compiled(profile: &Value) -> Vec<sock_filter> {
    decode(&compile(profile).unwrap_or_else(|e| panic!("{e}")))
}

fn verdict(profile: &Value, c: Call) -> u32 {
    run(&compiled(profile), c).0
}

const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
fn errno(n: u32) -> u32 {
    RET_ERRNO | n
}

#[test]
fn actions_and_their_errnos() {
    let cases = [
        (json!({"action": "SCMP_ACT_ALLOW"}), RET_ALLOW),
        (json!({"action": "SCMP_ACT_ERRNO"}), EPERM),
        (json!({"action": "SCMP_ACT_ERRNO", "errnoRet": 28}), errno(28)),
        (json!({"action": "SCMP_ACT_ERRNO", "errnoRet": 0}), errno(0)),
        (json!({"action": "SCMP_ACT_TRACE"}), RET_TRACE | libc::EPERM as u32),
        (json!({"action": "SCMP_ACT_TRACE", "errnoRet": 38}), RET_TRACE | 38),
        (json!({"action": "SCMP_ACT_KILL"}), RET_KILL_THREAD),
        (json!({"action": "SCMP_ACT_KILL_THREAD"}), RET_KILL_THREAD),
        (json!({"action": "SCMP_ACT_KILL_PROCESS"}), RET_KILL_PROCESS),
        (json!({"action": "SCMP_ACT_TRAP"}), RET_TRAP),
        (json!({"action": "SCMP_ACT_LOG"}), RET_LOG),
    ];
    for (mut rule, want) in cases {
        rule["names"] = json!(["getppid"]);
        let profile = json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 99, "syscalls": [rule]});
        assert_eq!(verdict(&profile, call(nr("getppid"), &[])), want, "{rule}");
        assert_eq!(verdict(&profile, call(nr("getpid"), &[])), errno(99), "the default, {rule}");
    }
    let kill = json!({"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]});
    assert_eq!(verdict(&kill, call(nr("read"), &[])), RET_KILL_PROCESS);
    assert_eq!(verdict(&kill, call(nr("getpid"), &[])), RET_ALLOW);
}

/// The comparison as libseccomp defines it, on an argument as the filter sees it.
fn holds(op: Op, arg: u64, value: u64, two: u64) -> bool {
    let (arg, value, two) = if cfg!(target_pointer_width = "32") {
        (arg & 0xffff_ffff, value & 0xffff_ffff, two & 0xffff_ffff)
    } else {
        (arg, value, two)
    };
    match op {
        Op::Ne => arg != value,
        Op::Lt => arg < value,
        Op::Le => arg <= value,
        Op::Eq => arg == value,
        Op::Ge => arg >= value,
        Op::Gt => arg > value,
        Op::MaskedEq => arg & value == two,
    }
}

/// Values around the edges of both 32-bit halves.
const EDGES: &[u64] = &[
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x1_ffff_ffff,
    0x2_0000_0000,
    0x2_0000_0002,
    0x8000_0000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

#[test]
fn every_comparison_on_both_halves() {
    let getppid = nr("getppid");
    for &(name, op) in OPS {
        for &value in EDGES {
            // MASKED_EQ: value is the mask, valueTwo what the masked argument must be.
            let twos: &[u64] = if op == Op::MaskedEq { &[0, 2, 0x1_0000_0000, value] } else { &[0] };
            for &two in twos {
                let rule = json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                    "args": [{"index": 3, "value": value, "valueTwo": two, "op": name}]});
                let prog = compiled(&json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}));
                for &arg in EDGES {
                    let mut args = [0; 6];
                    // The other arguments must not matter.
                    args.iter_mut().enumerate().for_each(|(i, a)| *a = if i == 3 { arg } else { !arg });
                    let want = if holds(op, arg, value, two) { errno(5) } else { RET_ALLOW };
                    let got = run(&prog, Call { nr: getppid, arch: AUDIT_ARCH, args }).0;
                    assert_eq!(got, want, "{name} arg {arg:#x} value {value:#x} valueTwo {two:#x}");
                }
            }
        }
    }
}

#[test]
fn conditions_and_rules_combine_as_and_then_or() {
    let socket = nr("socket");
    let profile = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        // AF_NETLINK with NETLINK_AUDIT: EINVAL (podman's rule); else AF_UNIX or protocol 0.
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]},
    ]});
    let prog = compiled(&profile);
    let at = |args: &[u64]| run(&prog, call(socket, args)).0;
    assert_eq!(at(&[16, 3, 9]), errno(22));
    assert_eq!(at(&[16, 3, 0]), RET_ALLOW);
    assert_eq!(at(&[16, 3, 8]), EPERM);
    assert_eq!(at(&[1, 1, 5]), RET_ALLOW);
    assert_eq!(at(&[2, 1, 6]), EPERM);
    assert_eq!(at(&[2, 1, 0]), RET_ALLOW);
}

/// What runc 1.1.5 with libseccomp 2.5.4 did with the same rules here (default
/// SCMP_ACT_ERRNO, errnoRet 38), one call each.
#[test]
fn several_rules_for_one_call_as_runc() {
    let allow = json!({"action": "SCMP_ACT_ALLOW"});
    let e = |n: u32| json!({"action": "SCMP_ACT_ERRNO", "errnoRet": n});
    let trap = json!({"action": "SCMP_ACT_TRAP"});
    let cases = [
        (vec![allow.clone(), e(9)], RET_ALLOW),
        (vec![e(9), allow.clone()], errno(9)),
        (vec![e(5), e(7)], errno(5)),
        (vec![e(7), e(5)], errno(7)),
        (vec![trap.clone(), e(5)], RET_TRAP),
        (vec![e(5), trap], errno(5)),
        (vec![e(5), allow.clone(), e(7)], errno(5)),
        (vec![e(7), allow, e(5)], errno(7)),
    ];
    for (rules, want) in cases {
        let syscalls: Vec<Value> = rules
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r["names"] = json!(["sync"]);
                r
            })
            .collect();
        let profile = json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": syscalls});
        assert_eq!(verdict(&profile, call(nr("sync"), &[])), want, "{syscalls:?}");
    }
    // An unconditional rule beats rules with arguments, before or after it.
    let cond = |n: u32| {
        json!({"action": "SCMP_ACT_ERRNO", "errnoRet": n, "names": ["getgid"],
        "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]})
    };
    let plain = json!({"action": "SCMP_ACT_ERRNO", "errnoRet": 7, "names": ["getgid"]});
    for syscalls in [json!([cond(5), plain]), json!([plain, cond(5)])] {
        let profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls});
        for arg in [0, 1] {
            assert_eq!(verdict(&profile, call(nr("getgid"), &[arg])), errno(7), "{syscalls} arg {arg}");
        }
    }
    // A rule with the default action is dropped, so it does not beat the others.
    let profile = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["getgid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["getgid"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
    ]});
    assert_eq!(verdict(&profile, call(nr("getgid"), &[1])), RET_ALLOW);
    assert_eq!(verdict(&profile, call(nr("getgid"), &[0])), EPERM);
}

#[test]
fn unknown_names_are_skipped_and_newer_calls_get_enosys() {
    let highest = nr("getppid").max(nr("getpid"));
    let profile = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["no_such_call", "getppid", "getpid"], "action": "SCMP_ACT_ALLOW"}]});
    let prog = compiled(&profile);
    assert_eq!(run(&prog, call(nr("getppid"), &[])).0, RET_ALLOW);
    assert_eq!(run(&prog, call(highest - 1, &[])).0, EPERM);
    for above in [highest + 1, highest + 1000, 0x3fff_ffff] {
        assert_eq!(run(&prog, call(above, &[])).0, ENOSYS, "number {above}");
    }
    // Unless the default lets calls through: then they go by it.
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"] {
        let profile = json!({"defaultAction": default, "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL"}]});
        let prog = compiled(&profile);
        let default_ret = run(&prog, call(0, &[])).0;
        assert_ne!(default_ret, ENOSYS);
        assert_eq!(run(&prog, call(nr("getppid") + 1000, &[])).0, default_ret, "{default}");
    }
    // No names known here: nothing is newer, everything has the default.
    let profile = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["no_such_call"], "action": "SCMP_ACT_ALLOW"}]});
    assert_eq!(verdict(&profile, call(1000, &[])), EPERM);
}

#[test]
fn other_calling_conventions() {
    let getpid = nr("getpid");
    let allow_list = |arches: Value, default: &str| json!({"defaultAction": default, "architectures": arches, "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]});
    let native_only = compiled(&allow_list(json!([native::NAME, "SCMP_ARCH_S390X"]), "SCMP_ACT_ERRNO"));
    assert_eq!(run(&native_only, call(getpid, &[])).0, RET_ALLOW);
    assert_eq!(run(&native_only, Call { arch: 0x1234, ..call(getpid, &[]) }).0, RET_KILL_PROCESS);
    let Some((compat_name, compat_arch)) = native::COMPAT else { return };
    let on_compat = Call { arch: compat_arch, ..call(getpid, &[]) };
    assert_eq!(run(&native_only, on_compat).0, RET_KILL_PROCESS, "unlisted");
    let listed = compiled(&allow_list(json!([native::NAME, compat_name]), "SCMP_ACT_ERRNO"));
    assert_eq!(run(&listed, on_compat).0, EPERM, "listed: the default action");
    let deny_list = compiled(&allow_list(json!([native::NAME, compat_name]), "SCMP_ACT_ALLOW"));
    assert_eq!(run(&deny_list, on_compat).0, RET_KILL_PROCESS, "listed under an allowing default: killed");
    if let Some((shared_name, first)) = native::SHARED_COMPAT {
        let x32 = call(first | getpid, &[]);
        assert_eq!(run(&native_only, x32).0, RET_KILL_PROCESS);
        assert_eq!(run(&native_only, call(u32::MAX, &[])).0, RET_KILL_PROCESS);
        let listed = compiled(&allow_list(json!([native::NAME, shared_name]), "SCMP_ACT_ERRNO"));
        assert_eq!(run(&listed, x32).0, EPERM);
        assert_eq!(run(&listed, call(first - 1, &[])).0, ENOSYS);
    }
}

#[test]
fn errors_name_the_field_in_one_line() {
    let rule = |extra: Value| {
        let mut r = json!({"names": ["getpid"], "action": "SCMP_ACT_ALLOW"});
        r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, r]})
    };
    let arg = |a: Value| rule(json!({"args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, a]}));
    let cases = [
        (json!([]), "linux.seccomp: must be a JSON object"),
        (json!({"syscalls": []}), "linux.seccomp.defaultAction is missing"),
        (
            json!({"defaultAction": "SCMP_ACT_FOO"}),
            "linux.seccomp.defaultAction \"SCMP_ACT_FOO\": unknown; use one of",
        ),
        (json!({"defaultAction": 1}), "linux.seccomp.defaultAction 1: must be a string"),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}),
            "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}),
            "linux.seccomp.defaultErrnoRet 5000: must be an errno",
        ),
        (json!({"defaultAction": "SCMP_ACT_ERRNO", "bogus": 1}), "linux.seccomp.bogus: unknown field"),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
            "linux.seccomp.defaultAction \"SCMP_ACT_NOTIFY\": seccomp user notification",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/x.sock"}),
            "linux.seccomp.listenerPath \"/run/x.sock\": seccomp user notification",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
            "linux.seccomp.flags[0] \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\": not supported",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_FOO"]}),
            "linux.seccomp.architectures[0] \"SCMP_ARCH_FOO\": unknown",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}}),
            "linux.seccomp.syscalls (an object): must be an array",
        ),
        (rule(json!({"action": "SCMP_ACT_NOTIFY"})), "linux.seccomp.syscalls[1].action \"SCMP_ACT_NOTIFY\""),
        (
            rule(json!({"action": "SCMP_ACT_ALLOW", "errnoRet": 1})),
            "linux.seccomp.syscalls[1].errnoRet: only SCMP_ACT_ERRNO",
        ),
        (rule(json!({"names": []})), "linux.seccomp.syscalls[1].names: no system call named"),
        (rule(json!({"names": [3]})), "linux.seccomp.syscalls[1].names[0] 3: must be a string"),
        (rule(json!({"includes": {}})), "linux.seccomp.syscalls[1].includes: unknown field"),
        (
            arg(json!({"index": 6, "value": 1, "op": "SCMP_CMP_EQ"})),
            "linux.seccomp.syscalls[1].args[1].index 6: a system call has arguments 0 to 5",
        ),
        (
            arg(json!({"index": 0, "value": 1, "op": "SCMP_CMP_FOO"})),
            "linux.seccomp.syscalls[1].args[1].op \"SCMP_CMP_FOO\": unknown; use one of SCMP_CMP_NE",
        ),
        (arg(json!({"index": 0, "value": 1})), "linux.seccomp.syscalls[1].args[1].op is missing"),
        (
            arg(json!({"index": 0, "value": -1, "op": "SCMP_CMP_EQ"})),
            "linux.seccomp.syscalls[1].args[1].value -1: must be an unsigned 64-bit integer",
        ),
        (arg(json!({"index": 0, "op": "SCMP_CMP_EQ"})), "linux.seccomp.syscalls[1].args[1].value is missing"),
    ];
    for (profile, want) in cases {
        let err = compile(&profile).expect_err(&format!("{profile} compiled"));
        assert!(err.starts_with(want), "{profile}:\n got: {err}\nwant: {want}...");
        assert!(!err.contains('\n'), "{err}");
    }
    let other = if native::NAME == "SCMP_ARCH_S390X" { "SCMP_ARCH_PPC64" } else { "SCMP_ARCH_S390X" };
    let err = compile(&json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": [other]})).unwrap_err();
    assert!(err.contains(&format!("this machine's {} is not listed", native::NAME)), "{err}");
    // The flags that change nothing here are accepted.
    let flags = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": FLAGS});
    compile(&flags).unwrap();
}

/// Every call with rules on its arguments: a program of thousands of instructions,
/// whose tree must reach its far halves through trampolines.
#[test]
fn far_jumps_in_a_large_program() {
    let names: Vec<&str> = NAMES.split(' ').collect();
    let syscalls: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": i % 4000 + 1,
                "args": [{"index": i % 6, "value": i, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls});
    let prog = compiled(&profile);
    assert!(prog.len() > 2000, "{} instructions: not large enough to need far jumps", prog.len());
    assert!(prog.iter().any(|i| u32::from(i.code) == libc::BPF_JMP | libc::BPF_JA), "no trampoline");
    for (i, name) in names.iter().enumerate() {
        let mut args = [0u64; 6];
        args[i % 6] = i as u64;
        let number = number(name).unwrap();
        // A name that shares its number with an earlier one (an alias) has lost to it.
        let first = names.iter().position(|n| super::number(n) == Some(number)).unwrap();
        let want = if first == i { errno(i as u32 % 4000 + 1) } else { RET_ALLOW };
        assert_eq!(run(&prog, call(number, &args)).0, want, "{name} ({number})");
        args[i % 6] += 1;
        assert_eq!(run(&prog, call(number, &args)).0, RET_ALLOW, "{name} other argument");
    }
}

/// The profile file podman's package installs (Debian: golang-github-containers-common).
fn podman_profile() -> Value {
    const PATH: &str = "/usr/share/containers/seccomp.json";
    let text = std::fs::read(PATH)
        .unwrap_or_else(|e| panic!("{PATH}: {e}: apt-get install golang-github-containers-common"));
    serde_json::from_slice(&text).unwrap()
}

#[test]
fn the_name_table_is_sorted_and_whole() {
    let names: Vec<&str> = NAMES.split(' ').collect();
    assert_eq!(names.len(), ENDS.len());
    assert_eq!(names.len(), NUMBERS.len());
    assert!(names.windows(2).all(|w| w[0] < w[1]), "not sorted");
    for (i, name) in names.iter().enumerate() {
        assert_eq!(number(name), Some(NUMBERS[i].into()), "{name}");
    }
    for missing in ["", "a", "zzz", "read_", "_"] {
        assert_eq!(number(missing), None, "{missing}");
    }
    // libc's numbers for a few, as a check of the generator.
    assert_eq!(number("openat"), Some(libc::SYS_openat as u32));
    assert_eq!(number("clone3"), Some(libc::SYS_clone3 as u32));
    assert_eq!(number("exit_group"), Some(libc::SYS_exit_group as u32));
}

#[test]
fn podmans_profile_is_small_and_every_path_short() {
    let prog = docker(&podman_profile(), caps::DEFAULT, (6, 1)).unwrap();
    let longest = (0..1000).map(|n| run(&prog, call(n, &[])).1).max().unwrap();
    // A list of compares would be hundreds long; the tree is about log2(spans) deep.
    assert!(prog.len() < 400 && longest <= 20, "{} instructions, {longest} on the longest path", prog.len());
    eprintln!("podman: {} instructions, {longest} on the longest path", prog.len());
    let at = |name: &str, args: &[u64]| run(&prog, call(nr(name), args)).0;
    assert_eq!(at("mkdirat", &[]), RET_ALLOW);
    assert_eq!(at("kexec_load", &[]), EPERM);
    assert_eq!(at("personality", &[0]), RET_ALLOW);
    assert_eq!(at("personality", &[0xffff_ffff]), RET_ALLOW);
    assert_eq!(at("personality", &[1]), ENOSYS);
    assert_eq!(at("personality", &[0x1_0000_0000]), ENOSYS, "the upper half counts");
    assert_eq!(at("io_uring_setup", &[]), ENOSYS);
    assert_eq!(run(&prog, call(5000, &[])).0, ENOSYS);
    // docker's default capabilities hold AUDIT_WRITE: any socket.
    assert_eq!(at("socket", &[16, 3, 9]), RET_ALLOW);
    // Without it, netlink's audit protocol is refused with EINVAL.
    let no_audit = caps::DEFAULT & !caps::bit(caps::AUDIT_WRITE);
    let prog = docker(&podman_profile(), no_audit, (6, 1)).unwrap();
    assert_eq!(run(&prog, call(nr("socket"), &[16, 3, 9])).0, errno(22));
    assert_eq!(run(&prog, call(nr("socket"), &[16, 3, 0])).0, RET_ALLOW);
    assert_eq!(run(&prog, call(nr("socket"), &[2, 1, 9])).0, RET_ALLOW);
}

#[test]
fn docker_format_rules_resolve_for_the_container() {
    let other_arch = if native::GO_NAME == "s390x" { "ppc64le" } else { "s390x" };
    let profile = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrno": "EPERM",
        "archMap": [
            {"architecture": "SCMP_ARCH_S390X", "subArchitectures": ["SCMP_ARCH_S390"]},
            {"architecture": native::NAME, "subArchitectures": []},
        ],
        "syscalls": [
            {"name": "getpid", "action": "SCMP_ACT_ALLOW", "comment": "singular name"},
            {"names": ["getuid"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["getgid"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["geteuid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": [native::GO_NAME]}},
            {"names": ["getegid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": [other_arch]}},
            {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": [native::GO_NAME]}},
            {"names": ["getpgrp"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.10"}},
            {"names": ["getsid"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}},
            {"names": ["gettid"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_NO_SUCH_THING"]}},
            {"names": ["sync"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "errno": "ENOSYS"},
        ],
    });
    let allowed = |caps: u64, kernel: (u32, u32)| -> Vec<&'static str> {
        let prog = docker(&profile, caps, kernel).unwrap();
        let names =
            ["getpid", "getuid", "getgid", "geteuid", "getegid", "getppid", "getpgrp", "getsid", "gettid"];
        names.into_iter().filter(|n| run(&prog, call(nr(n), &[])).0 == RET_ALLOW).collect()
    };
    let admin = caps::DEFAULT | caps::bit(caps::SYS_ADMIN);
    assert_eq!(allowed(caps::DEFAULT, (5, 10)), ["getpid", "getgid", "geteuid", "getpgrp"]);
    assert_eq!(allowed(admin, (4, 19)), ["getpid", "getuid", "geteuid", "getsid"]);
    // The archMap lists this architecture only: the others' calls are killed.
    if let Some((_, compat_arch)) = native::COMPAT {
        let prog = docker(&profile, caps::DEFAULT, (6, 1)).unwrap();
        assert_eq!(run(&prog, Call { arch: compat_arch, ..call(nr("getpid"), &[]) }).0, RET_KILL_PROCESS);
    }
    // The OCI form compiles the same either way; docker's fields only in docker's format.
    let oci = json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": [native::NAME],
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}]});
    let bytes = |prog: &[sock_filter]| as_bytes(prog);
    assert_eq!(bytes(&docker(&oci, 0, (6, 1)).unwrap()), bytes(&compiled(&oci)));
    let err = compile(&profile).unwrap_err();
    assert!(err.starts_with("linux.seccomp.archMap: unknown field"), "{err}");
    let errors = [
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": []}),
            "architectures and archMap",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}),
            "syscalls[0]: name and names",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"kernel": "5"}}]}),
            "syscalls[0].includes.kernel: unknown field",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "five"}}]}),
            "syscalls[0].includes.minKernel \"five\": expected a kernel version",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": [1]}}]}),
            "syscalls[0].excludes.caps[0] 1: must be a string",
        ),
    ];
    for (profile, want) in errors {
        let err = docker(&profile, 0, (6, 1)).expect_err(&profile.to_string());
        assert!(err.starts_with(want), "got: {err}\nwant: {want}...");
    }
    assert_eq!(parse_version("6.1.0-13-amd64"), Some((6, 1)));
    assert_eq!(parse_version("4.8"), Some((4, 8)));
    assert!(kernel_version() >= (4, 8), "uname: {:?}", kernel_version());
}

/// The profile's meaning computed the plain way, one call at a time, for comparison with
/// what the compiled program answers.
fn reference(profile: &Value, c: Call) -> u32 {
    let ret = |rule: &Value, action: &str, errno: &str| {
        super::action(rule.get(action), Path::Root(""), rule.get(errno), Path::Root("")).unwrap()
    };
    let default = ret(profile, "defaultAction", "defaultErrnoRet");
    if c.arch != AUDIT_ARCH {
        return RET_KILL_PROCESS;
    }
    if let Some((_, first)) = native::SHARED_COMPAT {
        if c.nr >= first {
            return RET_KILL_PROCESS;
        }
    }
    let rules = profile["syscalls"].as_array().unwrap();
    let named = |rule: &Value| -> Vec<u32> {
        rule["names"].as_array().unwrap().iter().filter_map(|n| number(n.as_str().unwrap())).collect()
    };
    let highest = rules.iter().flat_map(named).max();
    let mine: Vec<(&Value, u32)> = rules
        .iter()
        .filter(|r| named(r).contains(&c.nr))
        .map(|r| (r, ret(r, "action", "errnoRet")))
        .filter(|&(_, action)| action != default)
        .collect();
    let args = |r: &Value| r.get("args").and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(&(_, action)) = mine.iter().find(|(r, _)| args(r).is_empty()) {
        return action;
    }
    for (r, action) in &mine {
        let all = args(r).iter().all(|a| {
            let op = OPS.iter().find(|(n, _)| *n == a["op"].as_str().unwrap()).unwrap().1;
            let two = a.get("valueTwo").and_then(Value::as_u64).unwrap_or(0);
            holds(op, c.args[a["index"].as_u64().unwrap() as usize], a["value"].as_u64().unwrap(), two)
        });
        if all {
            return *action;
        }
    }
    match highest {
        Some(h) if c.nr > h && !lets_through(default) => ENOSYS,
        _ => default,
    }
}

/// Random profiles (actions, errnos, names, conditions with every operator on values
/// around the edges of both halves) and random calls: the program answers every call
/// as the plain reading of the profile does, and never panics.
#[test]
fn random_profiles_compile_to_what_they_mean() {
    let names: Vec<&str> = NAMES.split(' ').collect();
    let actions = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
    ];
    let mut rng = Rng(0x5ecc_0a11_1234_5678);
    for round in 0..300 {
        // A few names per profile, so that calls land on them often.
        let pool: Vec<&str> = (0..1 + rng.below(12)).map(|_| *rng.pick(&names)).collect();
        let action = |rng: &mut Rng| {
            let mut a = json!({"action": rng.pick(&actions)});
            if a["action"] == "SCMP_ACT_ERRNO" && rng.below(2) == 0 {
                a["errnoRet"] = json!(1 + rng.below(3));
            }
            a
        };
        let mut profile = action(&mut rng);
        profile["defaultAction"] = profile.as_object_mut().unwrap().remove("action").unwrap();
        if let Some(errno) = profile.as_object_mut().unwrap().remove("errnoRet") {
            profile["defaultErrnoRet"] = errno;
        }
        let rules: Vec<Value> = (0..rng.below(10))
            .map(|_| {
                let mut rule = action(&mut rng);
                rule["names"] = json!((0..1 + rng.below(3)).map(|_| *rng.pick(&pool)).collect::<Vec<_>>());
                let args: Vec<Value> = (0..rng.below(3))
                    .map(|_| {
                        json!({"index": rng.below(6), "op": rng.pick(OPS).0,
                            "value": *rng.pick(EDGES), "valueTwo": *rng.pick(EDGES)})
                    })
                    .collect();
                if !args.is_empty() {
                    rule["args"] = json!(args);
                }
                rule
            })
            .collect();
        profile["syscalls"] = json!(rules);
        let prog = compiled(&profile);
        assert!(prog.len() <= MAX_LEN);
        for _ in 0..200 {
            let nr = match rng.below(4) {
                0 => rng.next() as u32,
                1 => rng.below(1000) as u32,
                _ => number(rng.pick::<&str>(&pool)).unwrap(),
            };
            let mut args = [0; 6];
            args.iter_mut().for_each(|a| *a = if rng.below(2) == 0 { *rng.pick(EDGES) } else { rng.next() });
            let c = Call { nr, arch: AUDIT_ARCH, args };
            assert_eq!(
                run(&prog, c).0,
                reference(&profile, c),
                "round {round}: {profile}\ncall {nr} {args:x?}"
            );
        }
    }
}

/// podman's profile with one value replaced by something of another kind, many times
/// over: an answer (a program or a one-line error) every time, never a panic.
#[test]
fn mangled_profiles_are_answered_without_panics() {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    /// Replaces the `n`th value (depth first, counting from 0).
    fn replace(v: &mut Value, n: &mut usize, with: &Value) -> bool {
        if *n == 0 {
            *v = with.clone();
            return true;
        }
        *n -= 1;
        match v {
            Value::Array(a) => a.iter_mut().any(|x| replace(x, n, with)),
            Value::Object(o) => o.values_mut().any(|x| replace(x, n, with)),
            _ => false,
        }
    }
    let junk = [
        json!(null),
        json!(-1),
        json!(1.5),
        json!(u64::MAX),
        json!(7),
        json!("SCMP_CMP_MASKED_EQ"),
        json!("SCMP_ACT_KILL"),
        json!("SCMP_ARCH_X32"),
        json!("personality"),
        json!(""),
        json!([]),
        json!({}),
        json!([{"index": 9}]),
        json!({"caps": ["CAP_SYS_ADMIN"], "minKernel": "x"}),
    ];
    let original = podman_profile();
    let mut rng = Rng(0xbad_c0de_f00d);
    for _ in 0..2000 {
        let mut profile = original.clone();
        for _ in 0..1 + rng.below(3) {
            let mut at = rng.below(count(&profile));
            let with = rng.pick(&junk).clone();
            replace(&mut profile, &mut at, &with);
        }
        for result in [compile(&profile).map(|_| ()), docker(&profile, caps::DEFAULT, (6, 1)).map(|_| ())] {
            if let Err(e) = result {
                assert!(!e.is_empty() && !e.contains('\n'), "{e}");
            }
        }
    }
}
