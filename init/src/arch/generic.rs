//! dup2 for the architectures that have only the generic system call table
//! (aarch64, riscv64): it has no dup2, only dup3.

use crate::sys::syscall;
use crate::sys::Res;
use syscalls::Sysno;

/// dup3 refuses equal descriptors, where dup2 checks `old` and returns it.
pub fn dup2(old: usize, new: usize) -> Res {
    const F_GETFD: usize = 1;
    if old == new {
        // SAFETY: descriptor numbers only.
        return unsafe { syscall!(Sysno::fcntl, old, F_GETFD) }.map(|_| new);
    }
    // SAFETY: descriptor numbers only.
    unsafe { syscall!(Sysno::dup3, old, new, 0) }
}
