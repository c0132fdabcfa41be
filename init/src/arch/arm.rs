//! arm (armv7, EABI, hard-float), built as Thumb-2 (launcher/build.rs): a
//! third smaller than ARM code (6.5 KiB against 9 KiB), which keeps the init
//! within its budget. `svc 0`
//! with the number in r7 and arguments in r0-r5, answer in r0, every other
//! register preserved; clone(flags, stack, parent_tid, tls, child_tid). In
//! Thumb code r7 is also the frame pointer, which inline asm may not name as an
//! operand: it is saved and restored around each call (the syscalls crate does
//! the same with its `thumb-mode` code). 32-bit: time calls need their *64
//! variants for a 64-bit struct timespec.

use crate::sys::syscall;
use crate::sys::Res;
use syscalls::Sysno;

/// arm's open flags, where O_DIRECTORY differs from x86's.
pub const O_DIRECTORY: usize = 0o40000;
/// clock_gettime64 (Linux 5.1): plain clock_gettime fills a 32-bit timespec.
pub const CLOCK_GETTIME: Sysno = Sysno::clock_gettime64;
/// The calls that take 32-bit ids: arm's plain setgroups, setresgid,
/// setresuid and fchown take 16-bit ones.
pub const ID_CALLS: [Sysno; 4] =
    [Sysno::setgroups32, Sysno::setresgid32, Sysno::setresuid32, Sysno::fchown32];

// The kernel starts us with argc at sp and no frame (a Thumb entry point has
// bit 0 set in the ELF header, which .thumb_func arranges); clear the frame
// pointer and link register so nothing unwinds past us, and align sp to 16
// bytes (the EABI wants 8 at a call).
core::arch::global_asm!(
    ".thumb",
    ".globl _start",
    ".type _start, %function",
    ".thumb_func",
    "_start:",
    "movs r7, #0",
    "mov lr, r7",
    "mov r0, sp",
    "bic r1, r0, #15",
    "mov sp, r1",
    "bl {entry}",
    "udf #0",
    entry = sym crate::entry,
);

#[inline(never)]
pub fn exit(code: usize) -> ! {
    // SAFETY: exit_group reads only its argument register and ends the process;
    // r7 needs no restoring, as nothing runs after it.
    unsafe {
        core::arch::asm!(
            "mov r7, {nr}",
            "svc 0",
            nr = in(reg) Sysno::exit_group as usize,
            in("r0") code,
            options(noreturn, nostack)
        )
    }
}

/// clone(`flags`) onto the stack whose end is `top`; the child calls `f(arg)`,
/// which never returns. Returns the raw result (pid or -errno) in the parent.
///
/// # Safety
/// `top` must be the 8-byte aligned end of a stack nobody else uses while the
/// child runs on it, and `flags` must make the parent wait for the child's
/// exec or exit if they share memory (see `sys::spawn`).
#[inline(always)]
pub unsafe fn clone_on(flags: usize, top: *mut u8, f: extern "C" fn(usize) -> !, arg: usize) -> usize {
    let ret: usize;
    // SAFETY: clone returns twice: here with the child's pid (or -errno) in
    // r0, and in the child with 0 and sp at `top`. The kernel preserves every
    // register but r0, so both get r7 back from `saved`, and the child finds f
    // and arg in r8 and r10; it never returns from f.
    unsafe {
        core::arch::asm!(
            "mov {saved}, r7",
            "mov r7, {nr}",
            "svc 0",
            "mov r7, {saved}",
            "cmp r0, #0",
            "bne 2f",
            "mov r0, r10",
            "blx r8",
            "udf #0",
            "2:",
            nr = in(reg) Sysno::clone as usize,
            saved = out(reg) _,
            inlateout("r0") flags => ret,
            in("r1") top,
            in("r2") 0,
            in("r3") 0,
            in("r4") 0,
            in("r8") f,
            in("r10") arg,
            options(nostack),
        );
    }
    ret
}

pub fn dup2(old: usize, new: usize) -> Res {
    // SAFETY: descriptor numbers only.
    unsafe { syscall!(Sysno::dup2, old, new) }
}
