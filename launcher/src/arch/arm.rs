//! arm (armv7, EABI). Seccomp filters exist on arm only without the old ABI
//! (OABI_COMPAT), so EABI is the one calling convention. A 32-bit system also
//! has 64-bit time calls beside the old ones: both are denied.

use crate::caps::{self, bit};
use libc::c_long;

pub const AUDIT_ARCH: u32 = 0x4000_0028; // AUDIT_ARCH_ARM
pub const FOREIGN_FROM: Option<u32> = None;

/// Calls that are not in every architecture's table (or that libc names only
/// for some), and calls only arm has, each with the capabilities any of which
/// lift the rule.
pub const DENIED: &[(c_long, u64)] = &[
    (KEXEC_FILE_LOAD, 0),
    (libc::SYS_quotactl_fd, bit(caps::SYS_ADMIN)),
    (libc::SYS_uselib, 0),
    (libc::SYS__sysctl, 0),
    (CLOCK_SETTIME64, bit(caps::SYS_TIME)),
];

// The kernel's numbers (arch/arm/tools/syscall.tbl); libc does not name them here.
const KEXEC_FILE_LOAD: c_long = 401;
const CLOCK_SETTIME64: c_long = 404;

/// One system call, returning what the kernel returns (-errno on failure),
/// without touching errno.
///
/// # Safety
/// The arguments must be valid for system call `nr`: pointers only to memory
/// that lives across the call.
#[inline(always)]
pub unsafe fn raw_syscall(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: number in r7, arguments in r0-r5, the answer in r0; the kernel
    // preserves every other register. The caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("r7") nr,
            inlateout("r0") args[0] => ret,
            in("r1") args[1],
            in("r2") args[2],
            in("r3") args[3],
            in("r4") args[4],
            in("r5") args[5],
            options(nostack),
        );
    }
    ret
}
