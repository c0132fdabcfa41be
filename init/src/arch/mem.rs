//! The C memory functions LLVM may call for copies and fills it does not
//! inline (on aarch64, arm and riscv64 it calls memset to clear an array; on
//! x86_64 it inlines them). No libc provides them here; the crate is
//! `no_builtins`, so these loops stay loops. Unused ones are dropped by the
//! linker's --gc-sections.

/// # Safety
/// `dst` must be valid for `n` bytes of writes.
#[no_mangle]
unsafe extern "C" fn memset(dst: *mut u8, byte: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: i < n, within the caller's buffer.
        unsafe { dst.add(i).write(byte as u8) };
    }
    dst
}

/// # Safety
/// `src` and `dst` must be valid for `n` bytes and must not overlap.
#[no_mangle]
unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        // SAFETY: i < n, within both buffers.
        unsafe { dst.add(i).write(src.add(i).read()) };
    }
    dst
}
