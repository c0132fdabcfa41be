//! OCI seccomp profiles compiled to the classic BPF program init loads (the bytes of
//! `seccomp::as_bytes`): config.json's `linux.seccomp` (runtime-spec config-linux.md,
//! "Seccomp"), and for `launcher run --security-opt seccomp=FILE` the profile files of
//! docker and podman, whose `archMap` and per-rule `includes`/`excludes` are resolved
//! first, as those engines resolve them before they write config.json
//! (`from_docker_format`).
//!
//! Meaning, as runc (libseccomp 2.5) gives it, checked side by side with runc here:
//! - A rule whose action (and errno) is the default action is dropped, as runc drops it.
//! - A call's unconditional rule wins over its rules with arguments; of two
//!   unconditional rules the first wins. Rules with arguments are tried in the
//!   profile's order and the first whose comparisons all hold decides; if none holds,
//!   the default action. (Where rules with arguments overlap with different actions,
//!   libseccomp's order is its tree's, not the profile's; docker's and podman's
//!   profiles have no such overlap.)
//! - Comparisons are on the whole 64-bit argument, as libseccomp makes them on 64-bit
//!   architectures: a garbage upper half from a caller that passed an int makes an
//!   `SCMP_CMP_EQ` fail there too. On 32-bit arm an argument is one word: only the low
//!   32 bits of the value are compared.
//! - Names this architecture does not have are skipped, as libseccomp skips them.
//! - Numbers above the highest one the profile names get ENOSYS unless the default
//!   action allows, logs or traces, as runc's filter gives them: a C library then falls
//!   back from a call newer than the profile (clone3, fchmodat2) to the old one.
//! - `SCMP_ACT_KILL` is `SCMP_ACT_KILL_THREAD`, as in libseccomp. `SCMP_ACT_TRACE`
//!   hands the errno (default EPERM) to the tracer as its message, as runc does;
//!   with no tracer attached the call fails with ENOSYS (the kernel's rule).
//!
//! The architecture is the one the launcher was built for. Its other calling
//! conventions (i386 and x32 on x86_64, 32-bit arm on aarch64) are not translated:
//! when the profile lists them they get the default action if that denies, or are
//! killed if it allows; when it does not list them they are killed, as libseccomp's
//! bad-architecture action does. That is stricter than runc, which translates the rules.
//!
//! After the architecture check, the call's number goes down a balanced tree of
//! compares to its verdict (as the default filter in `seccomp.rs` does): about
//! log2(spans) compares on every call, instead of a list of ~350 compares for an
//! allowed call at its end.

use std::collections::BTreeMap;

use libc::sock_filter;
use serde_json::{Map, Value};

use crate::arch::{syscall_names::RUNS, AUDIT_ARCH};
use crate::caps;
use crate::seccomp::{as_bytes, MAX_LEN};

/// config.json's `linux.seccomp` -> the program's bytes; errors name the field under
/// `linux.seccomp`.
// The OCI verbs (issue 12) call it; until they land, only the tests do.
#[cfg_attr(not(test), allow(dead_code))]
pub fn compile(profile: &Value) -> Result<Vec<u8>, String> {
    compile_at(profile, "linux.seccomp")
}

/// `--security-opt seccomp=FILE`: docker's or podman's profile file (or the OCI form),
/// resolved for a container holding `caps`, then compiled.
pub fn load(path: &str, caps: u64) -> Result<Vec<u8>, String> {
    let opt = format!("--security-opt seccomp={path}");
    let text = std::fs::read(path).map_err(|e| format!("{opt}: {e}: name a seccomp profile (JSON) file"))?;
    let profile: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{opt}: not a JSON seccomp profile: {e}"))?;
    let oci = from_docker_format(&profile, caps, kernel_version()).map_err(|e| format!("{opt}: {e}"))?;
    compile_at(&oci, "").map_err(|e| format!("{opt}: {e}"))
}

// ---------------------------------------------------------------------------------------
// docker's and podman's profile files.

/// docker's and podman's profile format -> the OCI form, for a container holding `caps`
/// on this architecture and a kernel of version `kernel` (major, minor), resolved the way
/// those engines resolve it before they write config.json: `archMap` gives this
/// architecture's entry and its sub-architectures; a rule applies only if this
/// architecture is among its `includes.arches`, every capability of `includes.caps` is
/// held and the kernel is at least `includes.minKernel`, and none of its `excludes`
/// holds. A profile already in the OCI form comes out as it went in.
pub fn from_docker_format(profile: &Value, caps: u64, kernel: (u32, u32)) -> Result<Value, String> {
    let obj = object(profile, "the profile")?;
    let mut out = obj.clone();
    // Names of errnos beside the numbers that count (podman's files): for readers.
    out.remove("defaultErrno");
    if let Some(map) = out.remove("archMap") {
        if !array(obj.get("architectures"), "architectures")?.is_empty() {
            return Err("architectures and archMap: give only one of them (as docker requires)".into());
        }
        let mut arches = Vec::new();
        for (i, entry) in array(Some(&map), "archMap")?.iter().enumerate() {
            let field = format!("archMap[{i}]");
            let entry = object(entry, &field)?;
            only_known(entry, &["architecture", "subArchitectures"], &field)?;
            let arch_field = at(&field, "architecture");
            let arch = string(entry.get("architecture").unwrap_or(&Value::Null), &arch_field)?;
            if arch == native::NAME {
                arches.push(Value::from(arch));
                arches.extend(
                    array(entry.get("subArchitectures"), &at(&field, "subArchitectures"))?.iter().cloned(),
                );
            }
        }
        if !arches.is_empty() {
            out.insert("architectures".into(), Value::Array(arches));
        }
    }
    let mut syscalls = Vec::new();
    for (i, entry) in array(obj.get("syscalls"), "syscalls")?.iter().enumerate() {
        let field = format!("syscalls[{i}]");
        let mut entry = object(entry, &field)?.clone();
        if let Some(name) = entry.remove("name") {
            if entry.contains_key("names") {
                return Err(format!("{field}: name and names: give only one of them (as docker requires)"));
            }
            entry.insert("names".into(), Value::Array(vec![name]));
        }
        if !applies(&entry, caps, kernel, &field)? {
            continue;
        }
        for informative in ["includes", "excludes", "errno", "comment"] {
            entry.remove(informative);
        }
        syscalls.push(Value::Object(entry));
    }
    if obj.contains_key("syscalls") {
        out.insert("syscalls".into(), Value::Array(syscalls));
    }
    Ok(Value::Object(out))
}

/// Whether a rule of docker's format applies here (its `includes` and `excludes`).
fn applies(entry: &Map<String, Value>, caps: u64, kernel: (u32, u32), field: &str) -> Result<bool, String> {
    for (key, include) in [("includes", true), ("excludes", false)] {
        let Some(conditions) = entry.get(key).filter(|v| !v.is_null()) else { continue };
        let field = at(field, key);
        let conditions = object(conditions, &field)?;
        only_known(conditions, &["caps", "arches", "minKernel"], &field)?;
        let strings = |key: &str| -> Result<Vec<&str>, String> {
            let list_field = at(&field, key);
            array(conditions.get(key), &list_field)?
                .iter()
                .enumerate()
                .map(|(i, v)| string(v, &format!("{list_field}[{i}]")))
                .collect()
        };
        let arches = strings("arches")?;
        if !arches.is_empty() && arches.contains(&native::GO_NAME) != include {
            return Ok(false);
        }
        // A name this launcher does not know is a capability the container does not hold.
        let held = |name: &&str| caps::parse(name).is_ok_and(|bit| bit.count_ones() == 1 && caps & bit != 0);
        let named = strings("caps")?;
        if include && !named.iter().all(held) || !include && named.iter().any(held) {
            return Ok(false);
        }
        if let Some(min) = conditions.get("minKernel").filter(|v| !v.is_null()) {
            let min_field = at(&field, "minKernel");
            let text = string(min, &min_field)?;
            let min = parse_version(text)
                .ok_or_else(|| format!("{min_field} {text:?}: expected a kernel version such as \"4.8\""))?;
            if (kernel >= min) != include {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// "5.10" or "6.1.0-13-amd64" -> (major, minor).
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

/// The running kernel's (major, minor); (0, 0) if uname says something else, which
/// leaves out the rules that need a minimum kernel.
fn kernel_version() -> (u32, u32) {
    // SAFETY: uname fills the struct it is given; all-zero is a valid utsname.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return (0, 0);
    }
    // SAFETY: the kernel NUL-terminates release within the array.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
    release.to_str().ok().and_then(parse_version).unwrap_or((0, 0))
}

// ---------------------------------------------------------------------------------------
// This machine's architecture.

#[cfg(target_arch = "x86_64")]
mod native {
    pub const NAME: &str = "SCMP_ARCH_X86_64";
    /// Go's name for it: docker's `includes.arches` use it.
    pub const GO_NAME: &str = "amd64";
    /// Another calling convention with an audit arch of its own: (its name, AUDIT_ARCH_*).
    pub const COMPAT: Option<(&str, u32)> = Some(("SCMP_ARCH_X86", 0x4000_0003));
    /// One that shares ours, its numbers from here up (x32: bit 30).
    pub const SHARED_COMPAT: Option<(&str, u32)> = Some(("SCMP_ARCH_X32", 0x4000_0000));
}
#[cfg(target_arch = "aarch64")]
mod native {
    pub const NAME: &str = "SCMP_ARCH_AARCH64";
    pub const GO_NAME: &str = "arm64";
    pub const COMPAT: Option<(&str, u32)> = Some(("SCMP_ARCH_ARM", 0x4000_0028));
    pub const SHARED_COMPAT: Option<(&str, u32)> = None;
}
#[cfg(target_arch = "arm")]
mod native {
    pub const NAME: &str = "SCMP_ARCH_ARM";
    pub const GO_NAME: &str = "arm";
    pub const COMPAT: Option<(&str, u32)> = None;
    pub const SHARED_COMPAT: Option<(&str, u32)> = None;
}
#[cfg(target_arch = "riscv64")]
mod native {
    pub const NAME: &str = "SCMP_ARCH_RISCV64";
    pub const GO_NAME: &str = "riscv64";
    pub const COMPAT: Option<(&str, u32)> = None;
    pub const SHARED_COMPAT: Option<(&str, u32)> = None;
}

/// libseccomp's architecture names; those that are not ours or our compat ones cannot
/// make calls on this machine and are ignored.
const ARCHES: &[&str] = &[
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// The system call's number on this architecture, by its kernel (and libseccomp) name.
struct Numbers(Vec<(&'static str, u32)>);

impl Numbers {
    fn new() -> Self {
        let mut all: Vec<(&'static str, u32)> =
            RUNS.iter().flat_map(|&(first, names)| names.split_ascii_whitespace().zip(first..)).collect();
        all.sort_unstable();
        Numbers(all)
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.0.binary_search_by(|&(n, _)| n.cmp(name)).ok().map(|i| self.0[i].1)
    }
}

// ---------------------------------------------------------------------------------------
// Actions and rules.

const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
/// The kernel clamps a larger errno to this (MAX_ERRNO).
const MAX_ERRNO: u64 = 4095;

const ACTIONS: &str = "SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_THREAD, \
     SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_TRACE, SCMP_ACT_LOG";

/// The action named by `action` (the field `field`) with `errno` (the field `errno_field`)
/// as the kernel's return value.
fn action(
    action: Option<&Value>,
    field: &str,
    errno: Option<&Value>,
    errno_field: &str,
) -> Result<u32, String> {
    let name = match action {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("{field} {other}: must be a string, one of {ACTIONS}")),
        None => return Err(format!("{field} is missing: use one of {ACTIONS}")),
    };
    let errno = match errno {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n <= MAX_ERRNO => Some(n as u32),
            _ => return Err(format!("{errno_field} {v}: must be an errno number from 0 to {MAX_ERRNO}")),
        },
    };
    let with_errno = |ret: u32| ret | errno.unwrap_or(libc::EPERM as u32);
    let ret = match name {
        "SCMP_ACT_ERRNO" => return Ok(with_errno(RET_ERRNO)),
        "SCMP_ACT_TRACE" => return Ok(with_errno(RET_TRACE)),
        "SCMP_ACT_ALLOW" => RET_ALLOW,
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => RET_KILL_PROCESS,
        "SCMP_ACT_TRAP" => RET_TRAP,
        "SCMP_ACT_LOG" => RET_LOG,
        "SCMP_ACT_NOTIFY" => {
            return Err(format!(
                "{field} \"SCMP_ACT_NOTIFY\": seccomp user notification (a listener process) is not \
                 supported by launcher: use another action, or run this container with runc or crun"
            ))
        }
        other => return Err(format!("{field} {other:?}: unknown; use one of {ACTIONS}")),
    };
    match errno {
        Some(_) => {
            Err(format!("{errno_field}: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, not {name}"))
        }
        None => Ok(ret),
    }
}

/// Whether a default action lets calls through (or leaves them to a tracer): then
/// calls newer than the profile are not answered with ENOSYS.
fn lets_through(ret: u32) -> bool {
    ret == RET_ALLOW || ret == RET_LOG || ret & 0xffff_0000 == RET_TRACE
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// (argument & value) == valueTwo
    MaskedEq,
}

const OPS: &[(&str, Op)] = &[
    ("SCMP_CMP_NE", Op::Ne),
    ("SCMP_CMP_LT", Op::Lt),
    ("SCMP_CMP_LE", Op::Le),
    ("SCMP_CMP_EQ", Op::Eq),
    ("SCMP_CMP_GE", Op::Ge),
    ("SCMP_CMP_GT", Op::Gt),
    ("SCMP_CMP_MASKED_EQ", Op::MaskedEq),
];

#[derive(Clone, Debug, PartialEq)]
struct Cond {
    index: u32,
    op: Op,
    value: u64,
    value_two: u64,
}

#[derive(Clone, Debug, PartialEq)]
struct Rule {
    /// All must hold (none: the rule always applies).
    conds: Vec<Cond>,
    ret: u32,
}

/// `base.field` (`field` alone at the top of a file).
fn at(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// Refuses a key that is not in `known`: a field this compiler does not know could be
/// a restriction that would be lost.
fn only_known(obj: &Map<String, Value>, known: &[&str], base: &str) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str()) && *k != "comment") {
        None => Ok(()),
        Some(k) => Err(format!(
            "{}: unknown field; a seccomp profile here has only {}",
            at(base, k),
            known.join(", ")
        )),
    }
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| format!("{field}: must be a JSON object"))
}

/// An optional array (null or missing: empty).
fn array<'a>(v: Option<&'a Value>, field: &str) -> Result<&'a [Value], String> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!("{field} {other}: must be an array")),
    }
}

fn string<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| format!("{field} {v}: must be a string"))
}

fn cond(v: &Value, field: &str) -> Result<Cond, String> {
    let obj = object(v, field)?;
    only_known(obj, &["index", "value", "valueTwo", "op"], field)?;
    let number = |key: &str, required: bool| -> Result<u64, String> {
        match obj.get(key) {
            None | Some(Value::Null) if !required => Ok(0),
            None => Err(format!("{} is missing", at(field, key))),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| format!("{} {v}: must be an unsigned 64-bit integer", at(field, key))),
        }
    };
    let index = number("index", true)?;
    if index > 5 {
        return Err(format!("{} {index}: a system call has arguments 0 to 5", at(field, "index")));
    }
    let op_field = at(field, "op");
    let names = || OPS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    let op = match obj.get("op") {
        None => return Err(format!("{op_field} is missing: use one of {}", names())),
        Some(v) => {
            let name = string(v, &op_field)?;
            let found = OPS.iter().find(|(n, _)| *n == name).map(|&(_, op)| op);
            found.ok_or_else(|| format!("{op_field} {name:?}: unknown; use one of {}", names()))?
        }
    };
    Ok(Cond { index: index as u32, op, value: number("value", true)?, value_two: number("valueTwo", false)? })
}

/// Where each call number goes, as `compile_at` reads the profile.
struct Plan {
    default: u32,
    /// Each named call's rules, in the profile's order; an unconditional rule alone.
    calls: BTreeMap<u32, Vec<Rule>>,
    /// The highest number the profile names (runc's "last syscall").
    highest: Option<u32>,
    /// The verdict for the other calling conventions' calls, and for x32's.
    compat: u32,
    shared_compat: u32,
}

fn plan(profile: &Value, base: &str) -> Result<Plan, String> {
    let top = if base.is_empty() { "the profile" } else { base };
    let obj = object(profile, top)?;
    only_known(
        obj,
        &[
            "defaultAction",
            "defaultErrnoRet",
            "architectures",
            "flags",
            "listenerPath",
            "listenerMetadata",
            "syscalls",
        ],
        base,
    )?;
    let default = action(
        obj.get("defaultAction"),
        &at(base, "defaultAction"),
        obj.get("defaultErrnoRet"),
        &at(base, "defaultErrnoRet"),
    )?;
    if let Some(Value::String(path)) = obj.get("listenerPath") {
        if !path.is_empty() {
            return Err(format!(
                "{} {path:?}: seccomp user notification is not supported by launcher: remove it, \
                 or run this container with runc or crun",
                at(base, "listenerPath")
            ));
        }
    }
    flags(obj.get("flags"), &at(base, "flags"))?;
    let (compat, shared_compat) =
        architectures(obj.get("architectures"), &at(base, "architectures"), default)?;

    let numbers = Numbers::new();
    let mut calls: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    let mut highest = None;
    let syscalls_field = at(base, "syscalls");
    for (i, entry) in array(obj.get("syscalls"), &syscalls_field)?.iter().enumerate() {
        let field = format!("{syscalls_field}[{i}]");
        let entry = object(entry, &field)?;
        only_known(entry, &["names", "action", "errnoRet", "args"], &field)?;
        let ret = action(
            entry.get("action"),
            &at(&field, "action"),
            entry.get("errnoRet"),
            &at(&field, "errnoRet"),
        )?;
        let args_field = at(&field, "args");
        let conds = array(entry.get("args"), &args_field)?
            .iter()
            .enumerate()
            .map(|(j, c)| cond(c, &format!("{args_field}[{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let names_field = at(&field, "names");
        let names = array(entry.get("names"), &names_field)?;
        if names.is_empty() {
            return Err(format!("{names_field}: no system call named: list at least one"));
        }
        for (j, name) in names.iter().enumerate() {
            let name = string(name, &format!("{names_field}[{j}]"))?;
            let Some(nr) = numbers.get(name) else { continue };
            highest = highest.max(Some(nr));
            // runc drops these (libseccomp refuses them): the default applies anyway,
            // and kept, an unconditional one would beat the call's other rules.
            if ret == default {
                continue;
            }
            let rules = calls.entry(nr).or_default();
            if rules.first().is_some_and(|r| r.conds.is_empty()) {
                continue;
            }
            if conds.is_empty() {
                rules.clear();
            }
            rules.push(Rule { conds: conds.clone(), ret });
        }
    }
    Ok(Plan { default, calls, highest, compat, shared_compat })
}

const FLAGS: &[&str] = &[
    // The process that loads the filter is single-threaded: there is no other thread to
    // synchronise (runc ignores it for the same reason).
    "SECCOMP_FILTER_FLAG_TSYNC",
    // Only what the audit log records of the actions taken: no effect on what is allowed.
    "SECCOMP_FILTER_FLAG_LOG",
    // init loads every filter with it (see init's sys::seccomp_filter).
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
];

fn flags(v: Option<&Value>, field: &str) -> Result<(), String> {
    for (i, flag) in array(v, field)?.iter().enumerate() {
        let name = string(flag, &format!("{field}[{i}]"))?;
        if !FLAGS.contains(&name) {
            return Err(format!(
                "{field}[{i}] {name:?}: not supported by launcher; supported are {}",
                FLAGS.join(", ")
            ));
        }
    }
    Ok(())
}

/// The verdicts for our other calling conventions: (the one with its own audit arch,
/// the one that shares ours).
fn architectures(v: Option<&Value>, field: &str, default: u32) -> Result<(u32, u32), String> {
    let listed = array(v, field)?
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let name = string(a, &format!("{field}[{i}]"))?;
            match ARCHES.contains(&name) {
                true => Ok(name),
                false => Err(format!(
                    "{field}[{i}] {name:?}: unknown; use libseccomp's names, e.g. {}",
                    native::NAME
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !listed.is_empty() && !listed.contains(&native::NAME) {
        return Err(format!(
            "{field} {listed:?}: this machine's {} is not listed: add it (launcher runs only on the \
             architecture it was built for)",
            native::NAME
        ));
    }
    // Not translated: the default action if it denies, else killed.
    let denied = if lets_through(default) { RET_KILL_PROCESS } else { default };
    let verdict = |compat: Option<(&str, u32)>| match compat {
        Some((name, _)) if listed.contains(&name) => denied,
        _ => RET_KILL_PROCESS,
    };
    Ok((verdict(native::COMPAT), verdict(native::SHARED_COMPAT)))
}

fn compile_at(profile: &Value, base: &str) -> Result<Vec<u8>, String> {
    let prog = program(&plan(profile, base)?);
    if prog.len() > MAX_LEN {
        return Err(format!(
            "{}: compiles to {} BPF instructions, over the kernel's {MAX_LEN}: use fewer argument rules",
            if base.is_empty() { "the profile" } else { base },
            prog.len()
        ));
    }
    Ok(as_bytes(&prog))
}

// ---------------------------------------------------------------------------------------
// The program.

/// What a span of call numbers leads to.
#[derive(Clone, Debug, PartialEq)]
enum Leaf {
    Ret(u32),
    /// One call's rules with arguments, then the default.
    Rules(Vec<Rule>),
}

/// The spans of numbers, in order: (first number, its leaf), each up to the next one.
fn spans(plan: &Plan) -> Vec<(u32, Leaf)> {
    let mut spans: Vec<(u32, Leaf)> = Vec::new();
    let mut push = |first: u32, leaf: Leaf| {
        if spans.last().is_some_and(|(at, _)| *at == first) {
            spans.pop();
        }
        if spans.last().map(|(_, l)| l) != Some(&leaf) {
            spans.push((first, leaf));
        }
    };
    push(0, Leaf::Ret(plan.default));
    for (&nr, rules) in &plan.calls {
        match rules.as_slice() {
            [] => continue,
            [only] if only.conds.is_empty() => push(nr, Leaf::Ret(only.ret)),
            _ => push(nr, Leaf::Rules(rules.clone())),
        }
        push(nr + 1, Leaf::Ret(plan.default));
    }
    let enosys = RET_ERRNO | libc::ENOSYS as u32;
    if let Some(highest) = plan.highest {
        if !lets_through(plan.default) {
            push(highest + 1, Leaf::Ret(enosys));
        }
    }
    if let Some((_, first)) = native::SHARED_COMPAT {
        push(first, Leaf::Ret(plan.shared_compat));
    }
    spans
}

fn program(plan: &Plan) -> Vec<sock_filter> {
    let mut asm = Asm::default();
    let other_arch = asm.label();
    asm.push(Ins::Ld(ARCH));
    asm.push(Ins::Jmp(libc::BPF_JEQ, AUDIT_ARCH, NEXT, other_arch));
    asm.push(Ins::Ld(NR));
    asm.tree(&spans(plan), plan.default);
    asm.push(Ins::At(other_arch));
    if let Some((_, compat_arch)) = native::COMPAT {
        if plan.compat != RET_KILL_PROCESS {
            let compat = asm.label();
            asm.push(Ins::Jmp(libc::BPF_JEQ, compat_arch, compat, NEXT));
            asm.push(Ins::Ret(RET_KILL_PROCESS));
            asm.push(Ins::At(compat));
            asm.push(Ins::Ret(plan.compat));
        }
    }
    asm.push(Ins::Ret(RET_KILL_PROCESS));
    asm.assemble()
}

// Offsets in struct seccomp_data: nr, arch, then instruction_pointer and args[6], u64 each.
const NR: u32 = 0;
const ARCH: u32 = 4;
fn arg_low(index: u32) -> u32 {
    16 + 8 * index + if cfg!(target_endian = "big") { 4 } else { 0 }
}
fn arg_high(index: u32) -> u32 {
    16 + 8 * index + if cfg!(target_endian = "big") { 0 } else { 4 }
}

type Label = usize;
/// The next instruction.
const NEXT: Label = 0;

enum Ins {
    /// Load the 32-bit word at this offset of seccomp_data.
    Ld(u32),
    /// A &= k.
    And(u32),
    Ret(u32),
    /// A compare with k (BPF_JEQ, BPF_JGT, BPF_JGE): where to go if true, if false.
    Jmp(u32, u32, Label, Label),
    /// Places a label at the next instruction.
    At(Label),
}

#[derive(Default)]
struct Asm {
    prog: Vec<Ins>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels += 1;
        self.labels
    }

    fn push(&mut self, ins: Ins) {
        self.prog.push(ins);
    }

    /// Compares that take the loaded number to its span's leaf: each node splits the
    /// spans in halves, jumps to the upper half when the number is >= its first, and
    /// falls through to the lower half, emitted right after it.
    fn tree(&mut self, spans: &[(u32, Leaf)], default: u32) {
        if let [(_, leaf)] = spans {
            return self.leaf(leaf, default);
        }
        let (lower, upper) = spans.split_at(spans.len() / 2);
        let upper_at = self.label();
        self.push(Ins::Jmp(libc::BPF_JGE, upper[0].0, upper_at, NEXT));
        self.tree(lower, default);
        self.push(Ins::At(upper_at));
        self.tree(upper, default);
    }

    fn leaf(&mut self, leaf: &Leaf, default: u32) {
        match leaf {
            Leaf::Ret(ret) => self.push(Ins::Ret(*ret)),
            Leaf::Rules(rules) => {
                for rule in rules {
                    let next_rule = self.label();
                    for cond in &rule.conds {
                        self.cond(cond, next_rule);
                    }
                    self.push(Ins::Ret(rule.ret));
                    self.push(Ins::At(next_rule));
                }
                self.push(Ins::Ret(default));
            }
        }
    }

    /// Falls through when `cond` holds, goes to `fail` when not. On 64-bit
    /// architectures the high words are compared first: an ordering is decided by them
    /// unless they are equal.
    fn cond(&mut self, cond: &Cond, fail: Label) {
        use libc::{BPF_JEQ, BPF_JGE, BPF_JGT};
        let holds = self.label();
        let split = |v: u64| [((v >> 32) as u32, arg_high(cond.index)), (v as u32, arg_low(cond.index))];
        let words: &[_] = &split(cond.value);
        let twos = split(cond.value_two);
        let (words, twos) =
            if cfg!(target_pointer_width = "32") { (&words[1..], &twos[1..]) } else { (words, &twos[..]) };
        for (w, (&(value, offset), &(two, _))) in words.iter().zip(twos.iter()).enumerate() {
            let last = w + 1 == words.len();
            // Where the word sends the check when it decides it, and when it does not.
            let (yes, no) = (holds, fail);
            let undecided = NEXT;
            self.push(Ins::Ld(offset));
            match cond.op {
                Op::Eq => self.push(Ins::Jmp(BPF_JEQ, value, if last { yes } else { undecided }, no)),
                Op::Ne => self.push(Ins::Jmp(BPF_JEQ, value, if last { no } else { undecided }, yes)),
                Op::MaskedEq => {
                    self.push(Ins::And(value));
                    self.push(Ins::Jmp(BPF_JEQ, two, if last { yes } else { undecided }, no));
                }
                Op::Gt | Op::Ge | Op::Lt | Op::Le => {
                    let greater_holds = matches!(cond.op, Op::Gt | Op::Ge);
                    let (if_greater, if_less) = if greater_holds { (yes, no) } else { (no, yes) };
                    if last {
                        // On the low word (or the only one): the comparison itself.
                        match cond.op {
                            Op::Gt => self.push(Ins::Jmp(BPF_JGT, value, yes, no)),
                            Op::Ge => self.push(Ins::Jmp(BPF_JGE, value, yes, no)),
                            Op::Lt => self.push(Ins::Jmp(BPF_JGE, value, no, yes)),
                            _ => self.push(Ins::Jmp(BPF_JGT, value, no, yes)),
                        }
                    } else {
                        self.push(Ins::Jmp(BPF_JGT, value, if_greater, undecided));
                        self.push(Ins::Jmp(BPF_JEQ, value, undecided, if_less));
                    }
                }
            }
        }
        self.push(Ins::At(holds));
    }

    /// Resolves the labels. A conditional jump reaches at most 255 instructions ahead;
    /// one that must go farther goes through an unconditional jump (32-bit offset)
    /// placed right after it, a trampoline. Adding trampolines moves code, so the
    /// layout is redone until no jump needs a new one.
    fn assemble(&self) -> Vec<sock_filter> {
        // Per instruction (labels take no room): (true, false) go through a trampoline.
        let mut far = vec![(false, false); self.prog.len()];
        loop {
            let (pos, label_at) = self.layout(&far);
            let mut changed = false;
            for (i, ins) in self.prog.iter().enumerate() {
                if let Ins::Jmp(_, _, t, f) = *ins {
                    let after = pos[i] + 1;
                    let size = 1 + usize::from(far[i].0) + usize::from(far[i].1);
                    let target = |l: Label| if l == NEXT { pos[i] + size } else { label_at[l] };
                    if !far[i].0 && target(t) - after > 255 {
                        far[i].0 = true;
                        changed = true;
                    }
                    if !far[i].1 && target(f) - after > 255 {
                        far[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return self.emit(&far, &pos, &label_at);
            }
        }
    }

    /// Each instruction's position, and each label's.
    fn layout(&self, far: &[(bool, bool)]) -> (Vec<usize>, Vec<usize>) {
        let mut pos = Vec::with_capacity(self.prog.len());
        let mut label_at = vec![usize::MAX; self.labels + 1];
        let mut at = 0;
        for (i, ins) in self.prog.iter().enumerate() {
            pos.push(at);
            match ins {
                Ins::At(l) => label_at[*l] = at,
                Ins::Jmp(..) => at += 1 + usize::from(far[i].0) + usize::from(far[i].1),
                _ => at += 1,
            }
        }
        (pos, label_at)
    }

    fn emit(&self, far: &[(bool, bool)], pos: &[usize], label_at: &[usize]) -> Vec<sock_filter> {
        let stmt = |code: u32, k: u32| sock_filter { code: code as u16, jt: 0, jf: 0, k };
        let mut out = Vec::new();
        for (i, ins) in self.prog.iter().enumerate() {
            debug_assert_eq!(out.len(), pos[i], "layout and emission disagree");
            match *ins {
                Ins::At(_) => {}
                Ins::Ld(offset) => out.push(stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, offset)),
                Ins::And(k) => out.push(stmt(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, k)),
                Ins::Ret(k) => out.push(stmt(libc::BPF_RET | libc::BPF_K, k)),
                Ins::Jmp(op, k, t, f) => {
                    let (far_t, far_f) = far[i];
                    let size = 1 + usize::from(far_t) + usize::from(far_f);
                    let target = |l: Label| if l == NEXT { pos[i] + size } else { label_at[l] };
                    let after = pos[i] + 1;
                    assert!(target(t) >= after && target(f) >= after, "a BPF jump must go forward");
                    // A far side goes to its trampoline: the true one first, then the false one.
                    let jt = if far_t { 0 } else { target(t) - after };
                    let jf = if far_f { usize::from(far_t) } else { target(f) - after };
                    out.push(sock_filter {
                        code: (libc::BPF_JMP | op | libc::BPF_K) as u16,
                        jt: jt as u8,
                        jf: jf as u8,
                        k,
                    });
                    for (is_far, l) in [(far_t, t), (far_f, f)] {
                        if is_far {
                            let after_ja = out.len() + 1;
                            out.push(stmt(libc::BPF_JMP | libc::BPF_JA, (target(l) - after_ja) as u32));
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
