//! riscv64: `ecall` with the number in a7 and arguments in a0-a5, answer in a0,
//! every other register preserved; clone(flags, stack, parent_tid, tls,
//! child_tid). The generic system call table: no dup2.

use syscalls::Sysno;

#[path = "generic.rs"]
mod generic;
pub use generic::dup2;

pub const O_DIRECTORY: usize = 0o200000;
/// clock_gettime with a 64-bit struct timespec.
pub const CLOCK_GETTIME: Sysno = Sysno::clock_gettime;
/// setgroups, setresgid, setresuid, fchown: these take 32-bit ids.
pub const ID_CALLS: [Sysno; 4] = [Sysno::setgroups, Sysno::setresgid, Sysno::setresuid, Sysno::fchown];

// The kernel starts us with argc at sp and no frame; clear the frame pointer
// and return address so nothing unwinds past us. No global pointer is set up:
// the linker script defines no __global_pointer$, so nothing is relaxed to it.
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "li s0, 0",
    "li ra, 0",
    "mv a0, sp",
    "andi sp, sp, -16",
    "call {entry}",
    "unimp",
    entry = sym crate::entry,
);

#[inline(never)]
pub fn exit(code: usize) -> ! {
    // SAFETY: exit_group reads only its argument register and ends the process.
    unsafe {
        core::arch::asm!(
            "ecall",
            in("a7") Sysno::exit_group as usize,
            in("a0") code,
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
    // SAFETY: clone returns twice: here with the child's pid (or -errno) in
    // a0, and in the child with 0 and sp at `top`. The kernel preserves every
    // register but a0, so the child finds f and arg in t0 and t1; it never
    // returns from f.
    unsafe {
        core::arch::asm!(
            "ecall",
            "bnez a0, 2f",
            "mv a0, t1",
            "jalr t0",
            "unimp",
            "2:",
            in("a7") Sysno::clone as usize,
            inlateout("a0") flags => ret,
            in("a1") top,
            in("a2") 0,
            in("a3") 0,
            in("a4") 0,
            in("t0") f,
            in("t1") arg,
            options(nostack),
        );
    }
    ret
}
