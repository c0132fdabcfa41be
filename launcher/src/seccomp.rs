//! The container's seccomp filter: a classic BPF program built here, on the host, and
//! handed to init as bytes (`as_bytes`); init loads it with no_new_privs right before it
//! execs the command.
//!
//! It is a deny-list with the intent of docker's default profile (moby
//! profiles/seccomp/default.json): refuse, with EPERM, what reaches past the container into
//! the shared kernel or host: loading kernel code (modules, kexec, bpf), keyrings (not
//! namespaced), perf and userfaultfd (exploit primitives), io_uring (docker refuses it
//! since 2023 for its record of kernel bugs), the clock, swap, reboot, accounting, raw
//! I/O ports, the kernel log, quotas, handles that bypass mount boundaries
//! (open_by_handle_at), mounts in both APIs, AF_VSOCK sockets (a way to the VM's
//! host), and new namespaces (unshare, setns, and
//! clone with namespace flags). clone3 gets ENOSYS, as with docker: its flags live in
//! memory the filter cannot read, and ENOSYS makes libc fall back to clone, whose flags
//! it can. As docker does, a rule is lifted when the container holds the capability that
//! governs it (`filter(caps)`): `--cap-add SYS_ADMIN` makes mount usable again.
//!
//! Allowed as in docker on kernels >= 4.8, where ptrace can no longer slip past seccomp:
//! ptrace and process_vm_readv/writev, under the kernel's own ptrace access checks. Left
//! allowed although docker restricts them: personality with any argument (docker allows
//! five values; the others change only how the caller's own programs run) and the NUMA
//! memory policy calls (docker wants CAP_SYS_NICE; they place only the caller's memory).
//! Unlike docker's allow-list, system calls added to Linux after this list was written
//! are allowed until they are added here.
//!
//! The filter is built for the architecture the launcher was built for (`crate::arch`:
//! its AUDIT_ARCH_*, libc's numbers for it, and the calls only it has). Any other calling
//! convention the kernel offers is refused, since its numbers differ and would slip past
//! the list: a call whose audit arch is not ours (i386 on x86_64, 32-bit arm on aarch64)
//! kills the process; x86_64's x32 numbers (bit 30 set) get EPERM.

// The run path hands these to init in a later step; until then only the tests use them.
#![cfg_attr(not(test), allow(dead_code))]

use crate::caps::{self, bit};
use libc::{c_long, sock_filter};

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_LEN: usize = 4096;

use crate::arch::{AUDIT_ARCH, FOREIGN_FROM};
const AF_VSOCK: u32 = 40;

/// clone flags that make a namespace (docker's mask, 0x7e020000). CLONE_NEWTIME is left
/// out as in docker: in clone's flags that bit belongs to the exit signal.
const NAMESPACE_FLAGS: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// Denied system calls that every architecture has, each with the capabilities any of which
/// lift the rule (0: none). The rest of the list is the architecture's (`arch::DENIED`).
const DENIED_EVERYWHERE: &[(c_long, u64)] = &[
    (libc::SYS_kexec_load, 0),
    (libc::SYS_init_module, bit(caps::SYS_MODULE)),
    (libc::SYS_finit_module, bit(caps::SYS_MODULE)),
    (libc::SYS_delete_module, bit(caps::SYS_MODULE)),
    (libc::SYS_nfsservctl, 0),
    (libc::SYS_bpf, bit(caps::SYS_ADMIN) | bit(caps::BPF)),
    (libc::SYS_perf_event_open, bit(caps::SYS_ADMIN) | bit(caps::PERFMON)),
    (libc::SYS_lookup_dcookie, bit(caps::SYS_ADMIN)),
    (libc::SYS_fanotify_init, bit(caps::SYS_ADMIN)),
    (libc::SYS_userfaultfd, 0),
    (libc::SYS_keyctl, 0),
    (libc::SYS_add_key, 0),
    (libc::SYS_request_key, 0),
    (libc::SYS_io_uring_setup, 0),
    (libc::SYS_io_uring_enter, 0),
    (libc::SYS_io_uring_register, 0),
    (libc::SYS_mount, bit(caps::SYS_ADMIN)),
    (libc::SYS_umount2, bit(caps::SYS_ADMIN)),
    (libc::SYS_open_tree, bit(caps::SYS_ADMIN)),
    (libc::SYS_move_mount, bit(caps::SYS_ADMIN)),
    (libc::SYS_fsopen, bit(caps::SYS_ADMIN)),
    (libc::SYS_fsconfig, bit(caps::SYS_ADMIN)),
    (libc::SYS_fsmount, bit(caps::SYS_ADMIN)),
    (libc::SYS_fspick, bit(caps::SYS_ADMIN)),
    (libc::SYS_mount_setattr, bit(caps::SYS_ADMIN)),
    (libc::SYS_pivot_root, 0),
    (libc::SYS_unshare, bit(caps::SYS_ADMIN)),
    (libc::SYS_setns, bit(caps::SYS_ADMIN)),
    (libc::SYS_sethostname, bit(caps::SYS_ADMIN)),
    (libc::SYS_setdomainname, bit(caps::SYS_ADMIN)),
    (libc::SYS_quotactl, bit(caps::SYS_ADMIN)),
    (libc::SYS_open_by_handle_at, bit(caps::DAC_READ_SEARCH)),
    (libc::SYS_syslog, bit(caps::SYS_ADMIN) | bit(caps::SYSLOG)),
    (libc::SYS_swapon, 0),
    (libc::SYS_swapoff, 0),
    (libc::SYS_reboot, bit(caps::SYS_BOOT)),
    (libc::SYS_settimeofday, bit(caps::SYS_TIME)),
    (libc::SYS_clock_settime, bit(caps::SYS_TIME)),
    (libc::SYS_acct, bit(caps::SYS_PACCT)),
    (libc::SYS_vhangup, bit(caps::SYS_TTY_CONFIG)),
    (libc::SYS_kcmp, bit(caps::SYS_PTRACE)),
    (libc::SYS_pidfd_getfd, bit(caps::SYS_PTRACE)),
    (libc::SYS_process_madvise, bit(caps::SYS_PTRACE)),
];

/// Every denied call of this architecture, with the capabilities that lift its rule.
fn denied_calls() -> impl Iterator<Item = &'static (c_long, u64)> {
    DENIED_EVERYWHERE.iter().chain(crate::arch::DENIED)
}

/// The filter for docker's default capability set.
pub fn default_filter() -> Vec<sock_filter> {
    filter(caps::DEFAULT)
}

/// The filter for a container holding capabilities `caps` (the mask from caps.rs).
///
/// After the arch check, the syscall number goes down a balanced tree of `>=` compares
/// to its verdict, so every path is about log2(spans) long. That is what loading costs:
/// to learn which calls are always allowed, the kernel runs the filter once for every
/// syscall number as it loads it (seccomp's action cache), ~2 ns an instruction on the
/// way; a list of compares made every allowed call walk all of them (~85 us here, ~35
/// us as a tree).
pub fn filter(caps: u64) -> Vec<sock_filter> {
    use Ins::*;
    use Label::*;
    let mut prog = vec![Load(ARCH), Jump(libc::BPF_JEQ, AUDIT_ARCH, Next, Kill), Load(NR)];
    let mut nodes = 0;
    tree(&mut prog, &verdicts(caps), &mut nodes);
    prog.extend([
        // All our architectures are little-endian: the low half of an argument comes first, and it is all
        // the kernel reads of clone's flags and socket's int family.
        Here(CloneFlags),
        Load(ARG0),
        Jump(libc::BPF_JSET, NAMESPACE_FLAGS, Deny, Allow),
        Here(SocketFamily),
        Load(ARG0),
        Jump(libc::BPF_JEQ, AF_VSOCK, Deny, Allow),
        Here(Allow),
        Ret(libc::SECCOMP_RET_ALLOW),
        Here(Deny),
        Ret(libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        Here(NoSys),
        Ret(libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        Here(Kill),
        Ret(libc::SECCOMP_RET_KILL_PROCESS),
    ]);
    assemble(&prog)
}

/// Every syscall number's verdict as spans: (first number, where it goes), in order,
/// each running up to the next one's first number, the last one to u32::MAX.
fn verdicts(caps: u64) -> Vec<(u32, Label)> {
    let mut special: Vec<(u32, Label)> = denied_calls()
        .filter(|&&(_, lifted_by)| caps & lifted_by == 0)
        .map(|&(nr, _)| (nr as u32, Label::Deny))
        .collect();
    if caps & bit(caps::SYS_ADMIN) == 0 {
        special.push((libc::SYS_clone3 as u32, Label::NoSys));
        special.push((libc::SYS_clone as u32, Label::CloneFlags));
    }
    special.push((libc::SYS_socket as u32, Label::SocketFamily));
    special.sort_unstable_by_key(|&(nr, _)| nr);
    let mut spans = Vec::new();
    push_span(&mut spans, 0, Label::Allow);
    for &(nr, to) in &special {
        push_span(&mut spans, nr, to);
        push_span(&mut spans, nr + 1, Label::Allow);
    }
    // Another calling convention that shares our audit arch (x86_64's x32).
    if let Some(first) = FOREIGN_FROM {
        push_span(&mut spans, first, Label::Deny);
    }
    spans
}

/// Appends a span, replacing an empty one before it and merging with a neighbour that
/// goes to the same place.
fn push_span(spans: &mut Vec<(u32, Label)>, first: u32, to: Label) {
    if spans.last().is_some_and(|&(at, _)| at == first) {
        spans.pop();
    }
    if spans.last().map(|&(_, last)| last) != Some(to) {
        spans.push((first, to));
    }
}

/// Emits compares that take the loaded number to its span's label: the node splits the
/// spans in halves, jumps to the upper half when the number is >= the upper half's first,
/// and falls through to the lower half, which is emitted right after it.
fn tree(prog: &mut Vec<Ins>, spans: &[(u32, Label)], nodes: &mut u16) {
    let (lower, upper) = spans.split_at(spans.len() / 2);
    let upper_at = match upper {
        [(_, to)] => *to,
        _ => {
            *nodes += 1;
            Label::Node(*nodes)
        }
    };
    let lower_at = match lower {
        [(_, to)] => *to,
        _ => Label::Next,
    };
    prog.push(Ins::Jump(libc::BPF_JGE, upper[0].0, upper_at, lower_at));
    if lower.len() > 1 {
        tree(prog, lower, nodes);
    }
    if upper.len() > 1 {
        prog.push(Ins::Here(upper_at));
        tree(prog, upper, nodes);
    }
}

/// The program exactly as it lies in memory (`struct sock_filter[]`, 8 bytes an
/// instruction: u16 code, u8 jt, u8 jf, u32 k, little-endian), for init to load as is.
pub fn as_bytes(filter: &[sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(filter.len() * 8);
    for i in filter {
        out.extend(i.code.to_le_bytes());
        out.extend([i.jt, i.jf]);
        out.extend(i.k.to_le_bytes());
    }
    out
}

// Offsets in struct seccomp_data.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG0: u32 = 16;

/// Jump targets, resolved by `assemble`; `Next` is the following instruction.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Label {
    Next,
    Allow,
    Deny,
    NoSys,
    Kill,
    CloneFlags,
    SocketFamily,
    /// The start of a subtree of compares (`tree`), numbered from 1.
    Node(u16),
}

impl Label {
    /// An index per label, for `assemble`'s table.
    fn slot(self) -> usize {
        match self {
            Label::Next => 0,
            Label::Allow => 1,
            Label::Deny => 2,
            Label::NoSys => 3,
            Label::Kill => 4,
            Label::CloneFlags => 5,
            Label::SocketFamily => 6,
            Label::Node(n) => 6 + usize::from(n),
        }
    }
}

enum Ins {
    /// Load the 32-bit word at this offset of seccomp_data.
    Load(u32),
    Ret(u32),
    /// Compare the loaded word with k (BPF_JEQ, BPF_JGE, BPF_JSET): true, false targets.
    Jump(u32, u32, Label, Label),
    /// Places a label at the next instruction.
    Here(Label),
}

/// Resolves the labels back to front, so that each jump goes to the nearest
/// placement of its label ahead of it (classic BPF only jumps forward).
fn assemble(prog: &[Ins]) -> Vec<sock_filter> {
    let len = prog.iter().filter(|ins| !matches!(ins, Ins::Here(_))).count();
    let slots = prog.iter().filter_map(|ins| if let Ins::Here(l) = ins { Some(l.slot() + 1) } else { None });
    let mut ahead = vec![usize::MAX; slots.max().unwrap_or(1)];
    let mut out = vec![sock_filter { code: 0, jt: 0, jf: 0, k: 0 }; len];
    let mut at = len;
    for ins in prog.iter().rev() {
        if let Ins::Here(l) = *ins {
            ahead[l.slot()] = at;
            continue;
        }
        at -= 1;
        let offset = |to: Label| -> u8 {
            if to == Label::Next {
                return 0;
            }
            let target = ahead.get(to.slot()).copied().unwrap_or(usize::MAX);
            assert!(target < len, "label {to:?} placed ahead of instruction {at}");
            u8::try_from(target - at - 1).expect("jump within 255 instructions")
        };
        let (code, jt, jf, k) = match *ins {
            Ins::Load(word) => (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, word),
            Ins::Ret(v) => (libc::BPF_RET | libc::BPF_K, 0, 0, v),
            Ins::Jump(op, k, t, f) => (libc::BPF_JMP | op | libc::BPF_K, offset(t), offset(f), k),
            Ins::Here(_) => unreachable!(),
        };
        out[at] = sock_filter { code: code as u16, jt, jf, k };
    }
    out
}

/// The probes are x86_64's (the host's: `cargo test` runs there); the other
/// architectures' filters are tested in their qemu guests (scripts/vm/guest-tests.sh).
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    use std::io::Read;
    use std::os::fd::FromRawFd;

    #[derive(Clone)]
    enum Call {
        /// A raw system call with up to six arguments.
        Sys(&'static str, c_long, [c_long; 6]),
        /// A sequence of calls that returns 0 when it all worked, -1 with errno otherwise.
        Fn(&'static str, fn() -> c_long),
    }

    /// Runs `calls` in a child that has loaded `filter`; returns each call's
    /// (return value, errno), or the child's wait status when it did not exit 0.
    fn under_filter(filter: &[sock_filter], calls: &[Call]) -> Result<Vec<(c_long, i32)>, i32> {
        const MAX: usize = 64;
        assert!(calls.len() <= MAX);
        let prog = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_ptr().cast_mut() };
        let mut fds = [0; 2];
        // SAFETY: pipe() writes two fds into an array of two ints.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe: {}", std::io::Error::last_os_error());
        // SAFETY: the child makes only system calls (no allocation, no locks) until _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: prctl and seccomp change only this process; prog points at `filter`,
            // alive in the child's copy of memory. The probes pass null or invalid pointers
            // (refused with EFAULT/EINVAL when not filtered) or pointers to static strings.
            // A clone that should have been refused returns 0 in a new process: that one
            // leaves at once. The results go into the pipe in one write (< PIPE_BUF).
            unsafe {
                // No core file when the filter kills the child on purpose.
                let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                let nnp = libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                let set = libc::SECCOMP_SET_MODE_FILTER;
                if nnp != 0 || libc::syscall(libc::SYS_seccomp, set, 0, &prog) != 0 {
                    libc::_exit(100);
                }
                let me = libc::getpid();
                let mut results = [(0 as c_long, 0i32); MAX];
                for (call, result) in calls.iter().zip(results.iter_mut()) {
                    let ret = match call {
                        Call::Sys(_, nr, a) => libc::syscall(*nr, a[0], a[1], a[2], a[3], a[4], a[5]),
                        Call::Fn(_, f) => f(),
                    };
                    if libc::getpid() != me {
                        libc::_exit(0);
                    }
                    *result = (ret, if ret < 0 { *libc::__errno_location() } else { 0 });
                }
                let size = std::mem::size_of_val(&results);
                libc::write(fds[1], results.as_ptr().cast(), size);
                libc::_exit(0);
            }
        }
        // SAFETY: the parent owns both ends; it closes the write end it does not use and
        // hands the read end to a File.
        // SAFETY: the parent closes the write end it does not use; the read end goes to a File.
        let mut from_child = unsafe {
            libc::close(fds[1]);
            std::fs::File::from_raw_fd(fds[0])
        };
        let mut status = 0;
        // SAFETY: reaps the child forked above. Its results fit in the pipe's buffer, so
        // it never waits for this read; reading after it ended needs no EOF, which a
        // child of a test running in parallel could delay by holding a copy of the pipe.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            return Err(status);
        }
        let mut bytes = vec![0u8; std::mem::size_of::<[(c_long, i32); MAX]>()];
        from_child.read_exact(&mut bytes).expect("results from the child");
        let one = std::mem::size_of::<(c_long, i32)>();
        Ok((0..calls.len())
            .map(|i| {
                // SAFETY: the child wrote an array of (c_long, i32), same layout as here.
                unsafe { bytes.as_ptr().add(i * one).cast::<(c_long, i32)>().read_unaligned() }
            })
            .collect())
    }

    fn name(call: &Call) -> &'static str {
        match call {
            Call::Sys(n, _, _) | Call::Fn(n, _) => n,
        }
    }

    fn status_text(status: i32) -> String {
        if libc::WIFSIGNALED(status) {
            format!("killed by signal {}", libc::WTERMSIG(status))
        } else if libc::WEXITSTATUS(status) == 100 {
            "could not load the filter (PR_SET_NO_NEW_PRIVS or seccomp failed)".into()
        } else {
            format!("exit {}", libc::WEXITSTATUS(status))
        }
    }

    /// Runs `calls` under `filter` and checks each errno (0: the call must succeed).
    fn expect(filter: &[sock_filter], calls: &[(Call, i32)]) {
        let (calls, want): (Vec<Call>, Vec<i32>) = calls.iter().cloned().unzip();
        let got = under_filter(filter, &calls).unwrap_or_else(|s| panic!("child {}", status_text(s)));
        let wrong: Vec<String> = calls
            .iter()
            .zip(&want)
            .zip(&got)
            .filter(|((_, &w), &(ret, errno))| if w == 0 { ret < 0 } else { errno != w || ret != -1 })
            .map(|((c, w), (ret, errno))| {
                let got = match ret {
                    0.. => format!("success ({ret})"),
                    _ => std::io::Error::from_raw_os_error(*errno).to_string(),
                };
                let want = match w {
                    0 => "success".to_string(),
                    _ => std::io::Error::from_raw_os_error(*w).to_string(),
                };
                format!("{}: want {want}, got {got}", name(c))
            })
            .collect();
        assert!(wrong.is_empty(), "under the filter:\n{}", wrong.join("\n"));
    }

    fn sys(name: &'static str, nr: c_long, args: &[c_long]) -> Call {
        let mut a = [0; 6];
        a[..args.len()].copy_from_slice(args);
        Call::Sys(name, nr, a)
    }

    fn ptr(s: &'static std::ffi::CStr) -> c_long {
        s.as_ptr() as c_long
    }

    /// Writes a byte into a new pipe and reads it back.
    fn pipe_round_trip() -> c_long {
        let mut fds = [0; 2];
        let mut byte = [0u8; 1];
        // SAFETY: pipe, write, read and close on the pipe made here, with local buffers.
        unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0
                || libc::write(fds[1], b"x".as_ptr().cast(), 1) != 1
                || libc::read(fds[0], byte.as_mut_ptr().cast(), 1) != 1
            {
                return -1;
            }
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        if byte == *b"x" {
            0
        } else {
            -1
        }
    }

    /// A plain fork as glibc makes it (clone with SIGCHLD and the tid flags), then waits.
    fn clone_and_wait() -> c_long {
        let mut tid: libc::pid_t = 0;
        let flags = libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD;
        let mut status = 0;
        // SAFETY: without CLONE_VM the child runs on a copy of this stack and only exits;
        // the tid pointer is a local that outlives the call.
        unsafe {
            let pid = libc::syscall(libc::SYS_clone, flags, 0, 0, &mut tid as *mut _, 0);
            if pid == 0 {
                libc::_exit(7);
            }
            if pid < 0 || libc::waitpid(pid as libc::pid_t, &mut status, 0) != pid as libc::pid_t {
                return -1;
            }
        }
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7 {
            0
        } else {
            -1
        }
    }

    /// getpid through the i386 entry point; its number there is 20 (39 on x86_64).
    fn int80_getpid() -> c_long {
        let mut rax: c_long = 20;
        // SAFETY: a system call without arguments that changes nothing; int 0x80 leaves
        // every register but rax as it was.
        unsafe { std::arch::asm!("int 0x80", inout("rax") rax, options(nostack)) };
        rax
    }

    fn x32_getpid() -> c_long {
        // SAFETY: getpid has no arguments; through the x32 ABI it would be the same call.
        unsafe { libc::syscall(X32_SYSCALL_BIT as c_long | libc::SYS_getpid) }
    }

    fn allowed() -> Vec<(Call, i32)> {
        let dev_null = ptr(c"/dev/null");
        vec![
            (sys("getpid", libc::SYS_getpid, &[]), 0),
            (Call::Fn("pipe, write, read", pipe_round_trip), 0),
            (sys("openat /dev/null", libc::SYS_openat, &[libc::AT_FDCWD as c_long, dev_null]), 0),
            (Call::Fn("clone (fork) and wait", clone_and_wait), 0),
            (
                sys(
                    "socket AF_UNIX",
                    libc::SYS_socket,
                    &[libc::AF_UNIX as c_long, libc::SOCK_STREAM as c_long],
                ),
                0,
            ),
            (sys("personality query", libc::SYS_personality, &[0xffff_ffff]), 0),
            (
                sys("ptrace(PEEKDATA, -1)", libc::SYS_ptrace, &[libc::PTRACE_PEEKDATA as c_long, -1]),
                libc::ESRCH,
            ),
        ]
    }

    const EPERM: i32 = libc::EPERM;

    fn denied() -> Vec<(Call, i32)> {
        let clone = |flags: i32| (flags | libc::SIGCHLD) as c_long;
        vec![
            (sys("keyctl", libc::SYS_keyctl, &[9999]), EPERM),
            (sys("add_key", libc::SYS_add_key, &[]), EPERM),
            (sys("request_key", libc::SYS_request_key, &[]), EPERM),
            (sys("bpf", libc::SYS_bpf, &[9999]), EPERM),
            (sys("perf_event_open", libc::SYS_perf_event_open, &[0, 0, -1, -1, 0]), EPERM),
            (sys("kexec_load", libc::SYS_kexec_load, &[0, 1000, 0, 0]), EPERM),
            (sys("kexec_file_load", libc::SYS_kexec_file_load, &[-1, -1, 0, 0, 0]), EPERM),
            (sys("init_module", libc::SYS_init_module, &[0, 0, ptr(c"")]), EPERM),
            (sys("finit_module", libc::SYS_finit_module, &[-1, ptr(c""), 0]), EPERM),
            (sys("delete_module", libc::SYS_delete_module, &[ptr(c"no_such_mod"), 0]), EPERM),
            (sys("io_uring_setup", libc::SYS_io_uring_setup, &[0, 0]), EPERM),
            (sys("userfaultfd", libc::SYS_userfaultfd, &[0]), EPERM),
            (sys("mount", libc::SYS_mount, &[]), EPERM),
            (sys("umount2", libc::SYS_umount2, &[ptr(c"/no/such/dir"), 0]), EPERM),
            (sys("pivot_root", libc::SYS_pivot_root, &[]), EPERM),
            (sys("fsopen", libc::SYS_fsopen, &[ptr(c"no_such_fs"), 0]), EPERM),
            (sys("open_by_handle_at", libc::SYS_open_by_handle_at, &[-1, 0, 0]), EPERM),
            (sys("reboot (bad magic)", libc::SYS_reboot, &[]), EPERM),
            (sys("clock_settime", libc::SYS_clock_settime, &[0, 0]), EPERM),
            (sys("swapon", libc::SYS_swapon, &[]), EPERM),
            (sys("setns", libc::SYS_setns, &[-1, 0]), EPERM),
            (
                sys("socket AF_VSOCK", libc::SYS_socket, &[AF_VSOCK as c_long, libc::SOCK_STREAM as c_long]),
                EPERM,
            ),
            (Call::Fn("x32 getpid", x32_getpid), EPERM),
            (sys("clone3", libc::SYS_clone3, &[0, 88]), libc::ENOSYS),
            (sys("clone(NEWNET)", libc::SYS_clone, &[clone(libc::CLONE_NEWNET)]), EPERM),
            (sys("clone(NEWUSER)", libc::SYS_clone, &[clone(libc::CLONE_NEWUSER)]), EPERM),
            (sys("unshare(NEWUSER)", libc::SYS_unshare, &[libc::CLONE_NEWUSER as c_long]), EPERM),
        ]
    }

    fn as_root() {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        // As root every refusal above can only come from the filter, not from a missing
        // capability.
        assert_eq!(euid, 0, "the seccomp tests must run as root");
    }

    #[test]
    fn seccomp_program_is_small_and_every_path_short() {
        for caps in [caps::DEFAULT, caps::all_up_to(caps::LAST_KNOWN)] {
            let prog = filter(caps);
            assert!(
                prog.len() < 2 * denied_calls().count() + 20 && prog.len() <= MAX_LEN,
                "{} instructions",
                prog.len()
            );
            // The kernel runs the filter for every number as it loads it: each path
            // must be a tree's depth (7 compares for up to 128 spans), not the list's.
            let longest = (0..600).map(|nr| verdict(&prog, nr, AUDIT_ARCH, 0).1).max().unwrap();
            let spans = verdicts(caps).len();
            let depth = usize::BITS - (spans - 1).leading_zeros();
            assert!(longest <= depth as usize + 6, "{longest} instructions on the way, {spans} spans");
        }
    }

    /// Runs the program as the kernel would on seccomp_data (nr, arch, args): the
    /// verdict, and how many instructions it took to reach it.
    fn verdict(prog: &[sock_filter], nr: u32, arch: u32, arg0: u32) -> (u32, usize) {
        let word = |at: u32| match at {
            NR => nr,
            ARCH => arch,
            ARG0 => arg0,
            _ => 0,
        };
        let (mut pc, mut a) = (0, 0);
        for steps in 1.. {
            let i = prog[pc];
            let code = u32::from(i.code);
            pc += 1;
            match code & 0x07 {
                libc::BPF_LD => a = word(i.k),
                libc::BPF_RET => return (i.k, steps),
                libc::BPF_JMP => {
                    let taken = match code & 0xf0 {
                        libc::BPF_JEQ => a == i.k,
                        libc::BPF_JGE => a >= i.k,
                        libc::BPF_JGT => a > i.k,
                        libc::BPF_JSET => a & i.k != 0,
                        op => panic!("jump op {op:#x}"),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                class => panic!("class {class:#x}"),
            }
        }
        unreachable!()
    }

    /// Every system call number, for a few capability sets: denied exactly
    /// when the lists say so (range checks must not reach a neighbour).
    #[test]
    fn seccomp_verdict_for_every_number() {
        let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        for caps in [caps::DEFAULT, caps::DEFAULT | bit(caps::SYS_ADMIN), caps::all_up_to(caps::LAST_KNOWN)] {
            let prog = filter(caps);
            for nr in 0..600u32 {
                if [libc::SYS_clone, libc::SYS_clone3, libc::SYS_socket].contains(&(nr as c_long)) {
                    continue;
                }
                let denied = denied_calls().any(|&(d, lifted_by)| d as u32 == nr && caps & lifted_by == 0);
                let want = if denied { eperm } else { libc::SECCOMP_RET_ALLOW };
                assert_eq!(verdict(&prog, nr, AUDIT_ARCH, 0).0, want, "syscall {nr}, caps {caps:#x}");
            }
            let with_admin = caps & bit(caps::SYS_ADMIN) != 0;
            let run = |nr: c_long, arg0: i32| verdict(&prog, nr as u32, AUDIT_ARCH, arg0 as u32).0;
            let allow = libc::SECCOMP_RET_ALLOW;
            let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
            assert_eq!(run(libc::SYS_clone, libc::SIGCHLD), allow, "fork");
            assert_eq!(
                run(libc::SYS_clone, libc::CLONE_NEWNET),
                if with_admin { allow } else { eperm },
                "clone"
            );
            assert_eq!(run(libc::SYS_clone3, 0), if with_admin { allow } else { enosys }, "clone3");
            assert_eq!(run(libc::SYS_socket, libc::AF_UNIX), allow, "AF_UNIX");
            assert_eq!(run(libc::SYS_socket, AF_VSOCK as i32), eperm, "AF_VSOCK");
            assert_eq!(verdict(&prog, 0, 0x4000_0003, 0).0, libc::SECCOMP_RET_KILL_PROCESS, "i386");
            for x32 in [X32_SYSCALL_BIT, X32_SYSCALL_BIT | 1, u32::MAX] {
                assert_eq!(verdict(&prog, x32, AUDIT_ARCH, 0).0, eperm, "x32 {x32:#x}");
            }
            assert_eq!(verdict(&prog, X32_SYSCALL_BIT - 1, AUDIT_ARCH, 0).0, allow, "below x32");
        }
    }

    #[test]
    fn seccomp_bytes_are_the_memory_layout() {
        let f = default_filter();
        let bytes = as_bytes(&f);
        assert_eq!(bytes.len(), f.len() * 8);
        // SAFETY: reads the Vec's initialised elements as bytes, within its length.
        let memory = unsafe { std::slice::from_raw_parts(f.as_ptr().cast::<u8>(), f.len() * 8) };
        assert_eq!(bytes, memory);
        // ld [4]; jeq #0xc000003e, 0, <to Kill>
        assert_eq!(bytes[..8], [0x20, 0, 0, 0, 4, 0, 0, 0]);
        assert_eq!(bytes[8..12], [0x15, 0, 0, (f.len() - 3) as u8]);
        assert_eq!(bytes[12..16], 0xc000_003eu32.to_le_bytes());
        // ...; ret #SECCOMP_RET_KILL_PROCESS
        assert_eq!(bytes[bytes.len() - 8..], [6, 0, 0, 0, 0, 0, 0, 0x80]);
    }

    #[test]
    fn seccomp_denies_and_allows_on_the_kernel() {
        as_root();
        let mut calls = allowed();
        calls.extend(denied());
        expect(&default_filter(), &calls);
    }

    #[test]
    fn seccomp_probes_work_without_the_filter() {
        // The same calls with an allow-all filter must not fail with the errno expected
        // from the filter: otherwise the test above proves nothing.
        as_root();
        let allow_all = [sock_filter { code: 6, jt: 0, jf: 0, k: libc::SECCOMP_RET_ALLOW }];
        let calls = denied();
        let probes: Vec<Call> = calls.into_iter().map(|(c, _)| c).collect();
        let got = under_filter(&allow_all, &probes).unwrap_or_else(|s| panic!("child {}", status_text(s)));
        for (call, (ret, errno)) in probes.iter().zip(got) {
            let by_filter = errno == EPERM || errno == libc::ENOSYS && name(call) == "clone3";
            assert!(!(ret == -1 && by_filter), "{}: errno {errno} even without the filter", name(call));
        }
    }

    #[test]
    fn seccomp_capabilities_lift_their_rules() {
        as_root();
        let with_admin = filter(caps::DEFAULT | bit(caps::SYS_ADMIN));
        let calls = vec![
            (sys("mount", libc::SYS_mount, &[]), libc::EFAULT),
            (sys("clone3", libc::SYS_clone3, &[0, 88]), libc::EFAULT),
            (sys("setns", libc::SYS_setns, &[-1, 0]), libc::EBADF),
            (sys("keyctl", libc::SYS_keyctl, &[9999]), EPERM),
            (sys("kexec_load", libc::SYS_kexec_load, &[0, 1000, 0, 0]), EPERM),
        ];
        expect(&with_admin, &calls);
    }

    #[test]
    fn seccomp_kills_the_i386_entry_point() {
        as_root();
        let allow_all = [sock_filter { code: 6, jt: 0, jf: 0, k: libc::SECCOMP_RET_ALLOW }];
        let probe = [Call::Fn("int 0x80 getpid", int80_getpid)];
        let plain = under_filter(&allow_all, &probe).unwrap_or_else(|s| panic!("child {}", status_text(s)));
        assert!(
            plain[0].0 > 0,
            "int 0x80 getpid returned {} without a filter: this kernel lacks IA-32 emulation \
             (CONFIG_IA32_EMULATION, ia32_emulation=), so this test cannot show the filter",
            plain[0].0
        );
        let status = under_filter(&default_filter(), &probe).expect_err("i386 call survived the filter");
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
            "want SIGSYS, got {}",
            status_text(status)
        );
    }
}
