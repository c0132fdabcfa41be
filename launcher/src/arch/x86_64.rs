//! x86_64. A 64-bit kernel also runs i386 code (`int 0x80`, AUDIT_ARCH_I386,
//! other numbers) and x32 code (x86_64's numbers with bit 30 set): the filter
//! kills the first (the arch check) and refuses the second.

use crate::caps::{self, bit};
use libc::c_long;

pub const AUDIT_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
/// Numbers from here up belong to the x32 ABI: refused with EPERM.
pub const FOREIGN_FROM: Option<u32> = Some(0x4000_0000); // __X32_SYSCALL_BIT

/// Calls that are not in every architecture's table (or that libc names only
/// for some), and calls only x86 has, each with the capabilities any of which lift the rule.
pub const DENIED: &[(c_long, u64)] = &[
    (libc::SYS_kexec_file_load, 0),
    (libc::SYS_quotactl_fd, bit(caps::SYS_ADMIN)),
    (libc::SYS_uselib, 0),
    (libc::SYS__sysctl, 0),
    (libc::SYS_iopl, bit(caps::SYS_RAWIO)),
    (libc::SYS_ioperm, bit(caps::SYS_RAWIO)),
];

/// One system call, returning what the kernel returns (-errno on failure),
/// without touching errno.
///
/// # Safety
/// The arguments must be valid for system call `nr`: pointers only to memory
/// that lives across the call.
#[inline(always)]
pub unsafe fn raw_syscall(nr: c_long, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9; the
    // kernel clobbers rcx and r11 and returns in rax. The caller vouches for
    // the arguments.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}
