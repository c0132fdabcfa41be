//! aarch64. A 64-bit kernel with CONFIG_COMPAT (Debian's) also runs 32-bit arm
//! code, whose calls carry AUDIT_ARCH_ARM and arm's numbers: the filter's
//! arch check kills it.

use crate::caps::{self, bit};
use libc::c_long;

pub const AUDIT_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64
pub const FOREIGN_FROM: Option<u32> = None;

/// Calls that are not in every architecture's table, or that libc names only
/// for some, each with the capabilities any of which lift the rule.
pub const DENIED: &[(c_long, u64)] = &[(KEXEC_FILE_LOAD, 0), (libc::SYS_quotactl_fd, bit(caps::SYS_ADMIN))];

/// The kernel's number (include/uapi/asm-generic/unistd.h); libc does not name it here.
const KEXEC_FILE_LOAD: c_long = 294;

/// One system call, returning what the kernel returns (-errno on failure),
/// without touching errno.
///
/// # Safety
/// The arguments must be valid for system call `nr`: pointers only to memory
/// that lives across the call.
#[inline(always)]
pub unsafe fn raw_syscall(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: number in x8, arguments in x0-x5, the answer in x0; the kernel
    // preserves every other register. The caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") args[0] => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack),
        );
    }
    ret
}
