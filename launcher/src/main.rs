//! launcher: run a command in a new container. The program is the library
//! (lib.rs); see README.md, "How it works".
//!
//! The C entry point, not std's: std's start-up (a check of fds 0-2, a
//! stack-overflow handler on its own stack, SIGPIPE ignored) costs ~14 us a
//! run here, and `launcher::main` does the two parts it needs itself.

#![no_main]

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStringExt;

#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let args = (1..argc.max(1) as usize)
        .map(|i| {
            // SAFETY: the C runtime passes argc valid, NUL-terminated strings in argv.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect();
    launcher::main(args)
}
