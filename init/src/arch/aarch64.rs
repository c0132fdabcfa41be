//! aarch64: `svc 0` with the number in x8 and arguments in x0-x5, answer in x0,
//! every other register preserved; clone(flags, stack, parent_tid, tls,
//! child_tid). The generic system call table: no dup2.

use syscalls::Sysno;

#[path = "generic.rs"]
mod generic;
pub use generic::dup2;

/// arm64 keeps arm's open flags, where O_DIRECTORY differs from x86's.
pub const O_DIRECTORY: usize = 0o40000;
/// clock_gettime with a 64-bit struct timespec.
pub const CLOCK_GETTIME: Sysno = Sysno::clock_gettime;
/// setgroups, setresgid, setresuid, fchown: these take 32-bit ids.
pub const ID_CALLS: [Sysno; 4] = [Sysno::setgroups, Sysno::setresgid, Sysno::setresuid, Sysno::fchown];

// The kernel starts us with argc at sp (16-byte aligned) and no frame; clear
// the frame pointer and link register so nothing unwinds past us.
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "and sp, x0, #-16",
    "bl {entry}",
    "udf #0",
    entry = sym crate::entry,
);

#[inline(never)]
pub fn exit(code: usize) -> ! {
    // SAFETY: exit_group reads only its argument register and ends the process.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") Sysno::exit_group as usize,
            in("x0") code,
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
    // x0, and in the child with 0 and sp at `top`. The kernel preserves every
    // register but x0, so the child finds f and arg in x9 and x10; it never
    // returns from f.
    unsafe {
        core::arch::asm!(
            "svc 0",
            "cbnz x0, 2f",
            "mov x0, x10",
            "blr x9",
            "udf #0",
            "2:",
            in("x8") Sysno::clone as usize,
            inlateout("x0") flags => ret,
            in("x1") top,
            in("x2") 0,
            in("x3") 0,
            in("x4") 0,
            in("x9") f,
            in("x10") arg,
            options(nostack),
        );
    }
    ret
}
