//! What differs between the architectures the init runs on, chosen here and
//! nowhere else: the entry point, the raw `exit`, the clone that starts the
//! command's process on a stack of its own, and the few ABI values that are
//! not the same everywhere. Each file has the same items; the rest of the init
//! is the same code on every architecture.

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
mod imp;
mod mem;

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64"
)))]
compile_error!("the init supports x86_64, aarch64, arm (armv7) and riscv64: add init/src/arch/<arch>.rs");

pub use imp::*;
