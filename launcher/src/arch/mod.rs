//! What differs between the architectures the launcher runs on, chosen here
//! and nowhere else: the raw system call the cloned child makes (it must not
//! touch libc's errno), and the seccomp filter's audit architecture, the
//! calling conventions it refuses and the calls only this architecture has.
//! Each file has the same items.

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
mod imp;

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64"
)))]
compile_error!(
    "the launcher supports x86_64, aarch64, arm (armv7) and riscv64: add launcher/src/arch/<arch>.rs"
);

pub use imp::*;

/// The kernel's system call names and numbers (generated: scripts/syscall-names.sh).
#[cfg_attr(target_arch = "x86_64", path = "syscall_names/x86_64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "syscall_names/aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "syscall_names/arm.rs")]
#[cfg_attr(target_arch = "riscv64", path = "syscall_names/riscv64.rs")]
pub mod syscall_names;
