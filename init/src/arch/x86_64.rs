//! x86_64: `syscall` with the number in rax and arguments in rdi, rsi, rdx,
//! r10, r8, r9; clone(flags, stack, parent_tid, child_tid, tls).

use crate::sys::syscall;
use crate::sys::Res;
use syscalls::Sysno;

pub const O_DIRECTORY: usize = 0o200000;
/// clock_gettime with a 64-bit struct timespec.
pub const CLOCK_GETTIME: Sysno = Sysno::clock_gettime;
/// setgroups, setresgid, setresuid, fchown: these take 32-bit ids.
pub const ID_CALLS: [Sysno; 4] = [Sysno::setgroups, Sysno::setresgid, Sysno::setresuid, Sysno::fchown];

// The kernel starts us with argc at the stack pointer, not with a call frame;
// hand that pointer to Rust with the stack aligned as the ABI wants.
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym crate::entry,
);

#[inline(never)]
pub fn exit(code: usize) -> ! {
    // Raw asm rather than `syscall!`, so that the compiler knows it never returns.
    // SAFETY: exit_group reads only its argument register and ends the process.
    unsafe {
        core::arch::asm!(
            "syscall",
            in("rax") Sysno::exit_group as usize,
            in("rdi") code,
            options(noreturn, nostack)
        )
    }
}

/// clone(`flags`) onto the stack whose end is `top`; the child calls `f(arg)`,
/// which never returns. Returns the raw result (pid or -errno) in the parent.
///
/// # Safety
/// `top` must be the 16-byte aligned end of a stack nobody else uses while the
/// child runs on it, and `flags` must make the parent wait for the child's
/// exec or exit if they share memory (see `sys::spawn`).
#[inline(always)]
pub unsafe fn clone_on(flags: usize, top: *mut u8, f: extern "C" fn(usize) -> !, arg: usize) -> usize {
    let ret: usize;
    // SAFETY: clone returns twice: here with the child's pid (or -errno), and
    // in the child with 0 and rsp at `top`. The child finds f and arg in r12
    // and r13, which the syscall preserves, and never returns from f. The
    // syscall clobbers rcx and r11 and answers in rax.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rdi, r13",
            "call r12",
            "ud2",
            "2:",
            inlateout("rax") Sysno::clone as usize => ret,
            in("rdi") flags,
            in("rsi") top,
            in("rdx") 0,
            in("r10") 0,
            in("r8") 0,
            in("r12") f,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

pub fn dup2(old: usize, new: usize) -> Res {
    // SAFETY: descriptor numbers only.
    unsafe { syscall!(Sysno::dup2, old, new) }
}
