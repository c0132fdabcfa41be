//! Capability sets for the container, with docker's defaults and `--cap-add`/`--cap-drop`
//! rules. The result is a plain u64 in the kernel's own layout (bit N = capability N, as
//! in `CapEff` of /proc/PID/status); init applies it to the bounding, permitted,
//! effective and inheritable sets right before it execs the command.

// The run path hands these to init in a later step; until then only the tests use them.
#![cfg_attr(not(test), allow(dead_code))]

/// Defines one constant per capability and the name table, so the two cannot disagree.
macro_rules! capabilities {
    ($($name:ident = $bit:literal,)*) => {
        // The whole table, whether the code names a capability or not.
        $(#[allow(dead_code)] pub const $name: u32 = $bit;)*
        /// Names without the `CAP_` prefix; index = capability number.
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

capabilities! {
    CHOWN = 0,
    DAC_OVERRIDE = 1,
    DAC_READ_SEARCH = 2,
    FOWNER = 3,
    FSETID = 4,
    KILL = 5,
    SETGID = 6,
    SETUID = 7,
    SETPCAP = 8,
    LINUX_IMMUTABLE = 9,
    NET_BIND_SERVICE = 10,
    NET_BROADCAST = 11,
    NET_ADMIN = 12,
    NET_RAW = 13,
    IPC_LOCK = 14,
    IPC_OWNER = 15,
    SYS_MODULE = 16,
    SYS_RAWIO = 17,
    SYS_CHROOT = 18,
    SYS_PTRACE = 19,
    SYS_PACCT = 20,
    SYS_ADMIN = 21,
    SYS_BOOT = 22,
    SYS_NICE = 23,
    SYS_RESOURCE = 24,
    SYS_TIME = 25,
    SYS_TTY_CONFIG = 26,
    MKNOD = 27,
    LEASE = 28,
    AUDIT_WRITE = 29,
    AUDIT_CONTROL = 30,
    SETFCAP = 31,
    MAC_OVERRIDE = 32,
    MAC_ADMIN = 33,
    SYSLOG = 34,
    WAKE_ALARM = 35,
    BLOCK_SUSPEND = 36,
    AUDIT_READ = 37,
    PERFMON = 38,
    BPF = 39,
    CHECKPOINT_RESTORE = 40,
}

/// The highest capability this table knows (CAP_LAST_CAP of Linux 5.9 to 6.x).
pub const LAST_KNOWN: u32 = NAMES.len() as u32 - 1;

/// The mask with capability `cap` alone.
pub const fn bit(cap: u32) -> u64 {
    1 << cap
}

/// Docker's default set (moby oci/caps/defaults.go): enough for package managers and
/// servers that start as root and drop privileges, nothing that reaches the host kernel.
pub const DEFAULT: u64 = bit(CHOWN)
    | bit(DAC_OVERRIDE)
    | bit(FSETID)
    | bit(FOWNER)
    | bit(MKNOD)
    | bit(NET_RAW)
    | bit(SETGID)
    | bit(SETUID)
    | bit(SETFCAP)
    | bit(SETPCAP)
    | bit(NET_BIND_SERVICE)
    | bit(SYS_CHROOT)
    | bit(KILL)
    | bit(AUDIT_WRITE);

/// Every capability numbered 0..=last.
pub const fn all_up_to(last: u32) -> u64 {
    if last >= 63 {
        u64::MAX
    } else {
        (1 << (last + 1)) - 1
    }
}

/// The kernel's highest capability number (/proc/sys/kernel/cap_last_cap, present since
/// Linux 3.2); 40 when it cannot be read.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(LAST_KNOWN)
}

/// `NET_ADMIN`, `cap_net_admin` or `ALL` -> its mask (ALL = every capability known here).
pub fn parse(name: &str) -> Result<u64, String> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(all_up_to(LAST_KNOWN));
    }
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    match NAMES.iter().position(|n| *n == bare) {
        Some(i) => Ok(bit(i as u32)),
        None => Err(format!(
            "unknown capability {name:?}: use a name from capabilities(7), with or without \
             CAP_, in any case, or ALL; known: {}",
            NAMES.join(" ")
        )),
    }
}

/// The names in `mask`, `CAP_` prefixed, lowest first (for messages and `launcher check`).
pub fn names(mask: u64) -> Vec<String> {
    (0..=LAST_KNOWN).filter(|&i| mask & bit(i) != 0).map(|i| format!("CAP_{}", NAMES[i as usize])).collect()
}

/// The container's set from `--cap-add` and `--cap-drop`, with docker's rules
/// (moby oci/caps TweakCapabilities): `--cap-add ALL` gives everything except the named
/// drops; otherwise `--cap-drop ALL` gives only the adds; otherwise the default set minus
/// the drops plus the adds (adds win over drops of the same name). Adding a capability
/// this kernel does not have is an error; dropping one is not.
pub fn effective_set(add: &[String], drop: &[String]) -> Result<u64, String> {
    // Only adds need the kernel's list; docker's defaults exist on every kernel
    // we run on (one /proc read fewer on the start path).
    let last = if add.is_empty() { LAST_KNOWN } else { last_cap() };
    effective_set_for(add, drop, last)
}

fn effective_set_for(add: &[String], drop: &[String], last: u32) -> Result<u64, String> {
    let supported = all_up_to(last.min(LAST_KNOWN));
    let (add_all, adds) = fold(add, "--cap-add")?;
    let (drop_all, drops) = fold(drop, "--cap-drop")?;
    if adds & !supported != 0 {
        return Err(format!(
            "--cap-add {}: not supported by this kernel (its last capability is {last}, \
             /proc/sys/kernel/cap_last_cap): remove it",
            names(adds & !supported).join(" ")
        ));
    }
    let set = if add_all {
        supported & !drops
    } else if drop_all {
        adds
    } else {
        (DEFAULT & !drops) | adds
    };
    Ok(set & supported)
}

/// Whether ALL is among `list`, and the union of the other names in it.
fn fold(list: &[String], option: &str) -> Result<(bool, u64), String> {
    let mut all = false;
    let mut mask = 0;
    for name in list {
        if name.trim().eq_ignore_ascii_case("ALL") {
            all = true;
        } else {
            mask |= parse(name).map_err(|e| format!("{option} {e}"))?;
        }
    }
    Ok((all, mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::FromRawFd;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn caps_table_matches_kernel_numbers() {
        assert_eq!(NAMES.len(), 41);
        assert_eq!(NAMES[SYS_ADMIN as usize], "SYS_ADMIN");
        assert_eq!(NAMES[CHECKPOINT_RESTORE as usize], "CHECKPOINT_RESTORE");
        // Every name once: a duplicate would make parse() pick the wrong bit.
        for (i, n) in NAMES.iter().enumerate() {
            assert_eq!(NAMES.iter().position(|m| m == n), Some(i), "{n} twice");
        }
        let last = last_cap();
        assert!((36..=63).contains(&last), "cap_last_cap {last}");
    }

    #[test]
    fn caps_parse_names() {
        assert_eq!(parse("NET_ADMIN"), Ok(1 << 12));
        assert_eq!(parse("CAP_NET_ADMIN"), Ok(1 << 12));
        assert_eq!(parse("cap_net_admin"), Ok(1 << 12));
        assert_eq!(parse("Sys_Admin"), Ok(1 << 21));
        assert_eq!(parse("chown"), Ok(1));
        assert_eq!(parse("checkpoint_restore"), Ok(1 << 40));
        assert_eq!(parse("all"), Ok((1 << 41) - 1));
        let e = parse("NET_ADMINN").unwrap_err();
        assert!(e.contains("unknown capability \"NET_ADMINN\""), "{e}");
        assert!(e.contains("capabilities(7)") && e.contains("NET_ADMIN"), "{e}");
        assert!(parse("").is_err());
        assert!(parse("CAP_").is_err());
        assert!(parse("41").is_err());
    }

    #[test]
    fn caps_default_is_dockers() {
        assert_eq!(DEFAULT, 0x00000000_a80425fb);
        assert_eq!(
            names(DEFAULT),
            [
                "CAP_CHOWN",
                "CAP_DAC_OVERRIDE",
                "CAP_FOWNER",
                "CAP_FSETID",
                "CAP_KILL",
                "CAP_SETGID",
                "CAP_SETUID",
                "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE",
                "CAP_NET_RAW",
                "CAP_SYS_CHROOT",
                "CAP_MKNOD",
                "CAP_AUDIT_WRITE",
                "CAP_SETFCAP"
            ]
        );
    }

    #[test]
    fn caps_effective_set_follows_docker() {
        let set = |a: &[&str], d: &[&str]| effective_set_for(&strings(a), &strings(d), 40);
        let all = (1u64 << 41) - 1;
        assert_eq!(set(&[], &[]), Ok(DEFAULT));
        assert_eq!(set(&["NET_ADMIN"], &[]), Ok(DEFAULT | bit(NET_ADMIN)));
        assert_eq!(set(&[], &["chown", "CAP_KILL"]), Ok(DEFAULT & !1 & !bit(KILL)));
        assert_eq!(set(&[], &["ALL"]), Ok(0));
        assert_eq!(set(&["CHOWN"], &["ALL"]), Ok(1));
        assert_eq!(set(&["ALL"], &[]), Ok(all));
        assert_eq!(set(&["ALL"], &["SYS_ADMIN"]), Ok(all & !bit(SYS_ADMIN)));
        // As docker: ALL in --cap-add wins over ALL in --cap-drop, and an add wins over
        // the drop of the same name.
        assert_eq!(set(&["ALL"], &["ALL"]), Ok(all));
        assert_eq!(set(&["KILL"], &["KILL"]), Ok(DEFAULT));
        // An older kernel: ALL means what it has; adding what it lacks is refused.
        assert_eq!(effective_set_for(&strings(&["ALL"]), &[], 37), Ok((1 << 38) - 1));
        let e = effective_set_for(&strings(&["BPF"]), &[], 37).unwrap_err();
        assert!(e.contains("CAP_BPF") && e.contains("cap_last_cap"), "{e}");
        assert_eq!(effective_set_for(&[], &strings(&["BPF"]), 37), Ok(DEFAULT));
        let e = set(&[], &["NOPE"]).unwrap_err();
        assert!(e.starts_with("--cap-drop unknown capability \"NOPE\""), "{e}");
        assert_eq!(effective_set(&[], &[]), Ok(DEFAULT));
    }

    /// Header of capget/capset, version 3 (64-bit sets, two data words).
    #[repr(C)]
    struct CapHeader {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct CapData {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

    /// In a child: drop the bounding set to `mask` and capset() it, as init will. Returns
    /// the child's /proc/PID/status as the kernel reports it after the change.
    fn status_after_applying(mask: u64) -> String {
        let last = last_cap();
        let mut fds = [0i32; 2];
        // SAFETY: pipe() writes two fds into an array of two ints.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe: {}", std::io::Error::last_os_error());
        // SAFETY: the child makes only raw syscalls (no allocation, no locks) and never
        // returns: it reports, then waits for the SIGKILL below.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let mut failed_at: i32 = 0;
            for cap in 0..=last {
                // SAFETY: PR_CAPBSET_DROP takes a capability number and changes only this process.
                if mask & bit(cap) == 0 && unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0 {
                    failed_at = 1000 + cap as i32;
                    break;
                }
            }
            let header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
            let word = |shift: u32| (mask >> shift) as u32;
            let one =
                |shift| CapData { effective: word(shift), permitted: word(shift), inheritable: word(shift) };
            let data = [one(0), one(32)];
            // SAFETY: capset reads a v3 header and two data structs, both alive here.
            if failed_at == 0 && unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) } != 0 {
                failed_at = 2000;
            }
            // SAFETY: a write of a local to the pipe; pause() only waits for a signal.
            unsafe {
                libc::write(fds[1], (&failed_at as *const i32).cast(), 4);
                loop {
                    libc::pause();
                }
            }
        }
        // SAFETY: the parent closes the write end it does not use; the read end goes to a File.
        let mut from_child = unsafe {
            libc::close(fds[1]);
            std::fs::File::from_raw_fd(fds[0])
        };
        let mut failed_at = [0u8; 4];
        let read = from_child.read_exact(&mut failed_at);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
        // SAFETY: ends and reaps the child forked above.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        read.expect("the child died before reporting");
        let failed_at = i32::from_ne_bytes(failed_at);
        assert_eq!(failed_at, 0, "in the child: 1000+N: PR_CAPBSET_DROP of N failed, 2000: capset failed");
        status.expect("reading the child's /proc/PID/status")
    }

    fn field<'a>(status: &'a str, name: &str) -> &'a str {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in /proc/PID/status"))
            .trim()
    }

    #[test]
    fn caps_mask_is_the_kernels_format() {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "this test changes capabilities: run it as root");
        let own = std::fs::read_to_string("/proc/self/status").unwrap();
        let bounding = u64::from_str_radix(field(&own, "CapBnd:"), 16).unwrap();
        let adds = strings(&["NET_ADMIN", "sys_ptrace"]);
        for mask in [DEFAULT, effective_set(&adds, &strings(&["CHOWN"])).unwrap(), 0] {
            assert_eq!(
                mask & !bounding,
                0,
                "the test needs {:?}, which this host's bounding set lacks",
                names(mask & !bounding)
            );
            let status = status_after_applying(mask);
            let want = format!("{mask:016x}");
            for f in ["CapBnd:", "CapPrm:", "CapEff:", "CapInh:"] {
                assert_eq!(field(&status, f), want, "{f} after applying {:?}", names(mask));
            }
        }
    }
}
