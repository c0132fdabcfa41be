//! riscv64. A kernel with CONFIG_COMPAT may also run riscv32 code, whose calls
//! carry AUDIT_ARCH_RISCV32: the filter's arch check kills it.

use crate::caps::{self, bit};
use libc::c_long;

pub const AUDIT_ARCH: u32 = 0xc000_00f3; // AUDIT_ARCH_RISCV64
pub const FOREIGN_FROM: Option<u32> = None;

/// Calls that are not in every architecture's table, or that libc names only
/// for some, each with the capabilities any of which lift the rule.
pub const DENIED: &[(c_long, u64)] = &[(KEXEC_FILE_LOAD, 0), (QUOTACTL_FD, bit(caps::SYS_ADMIN))];

// The kernel's numbers (include/uapi/asm-generic/unistd.h); libc does not name them here.
const KEXEC_FILE_LOAD: c_long = 294;
const QUOTACTL_FD: c_long = 443;

/// One system call, returning what the kernel returns (-errno on failure),
/// without touching errno.
///
/// # Safety
/// The arguments must be valid for system call `nr`: pointers only to memory
/// that lives across the call.
#[inline(always)]
pub unsafe fn raw_syscall(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: number in a7, arguments in a0-a5, the answer in a0; the kernel
    // preserves every other register. The caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "ecall",
            in("a7") nr,
            inlateout("a0") args[0] => ret,
            in("a1") args[1],
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a5") args[5],
            options(nostack),
        );
    }
    ret
}
