//! Running the command the way execvp(3) would, without an allocator: PATH
//! candidates are built in a static buffer.

use crate::sys::{self, Errno};
use core::ffi::CStr;

const PATH_MAX: usize = 4096;

/// Room for one path: in .bss, as a stack array would be probed page by page
/// and zeroed. Used by `mkdir_p` in PID 1 (while it is still all zeros), then
/// by `execvp` in the command's process, which writes every byte it uses.
pub static mut PATH_BUF: [u8; PATH_MAX] = [0; PATH_MAX];
const NAME_MAX: usize = 255;

/// Execs `cmd`, searching PATH (from `envp`) when it has no '/'. Returns only
/// when every attempt failed, with the errno that should decide the exit
/// status: EACCES wins over "not found", as in execvp.
///
/// # Safety
/// `argv` and `envp` must be NULL-terminated arrays of NUL-terminated strings
/// that live for the rest of the process (the kernel-provided ones).
pub unsafe fn execvp(cmd: &CStr, argv: *const *const u8, envp: *const *const u8) -> Errno {
    let name = cmd.to_bytes();
    if name.is_empty() {
        return Errno::ENOENT;
    }
    if crate::has(name, b'/') {
        // SAFETY: forwarded from our caller.
        return unsafe { sys::execve(cmd, argv, envp) };
    }
    if name.len() > NAME_MAX {
        return Errno::ENAMETOOLONG;
    }
    // SAFETY: forwarded from our caller.
    // The launcher always sets PATH (docker's default unless -e changes it).
    let path = unsafe { env_path(envp) }.unwrap_or_default();
    // SAFETY: PID 1, PATH_BUF's other user, is done with it and waits for
    // this process to exec; nothing else runs in this memory.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(PATH_BUF) };
    let mut err = Errno::ENOENT;
    let mut eacces = false;
    let mut rest = Some(path);
    while let Some(cur) = rest {
        let end = cur.iter().position(|&c| c == b':');
        let dir = cur.get(..end.unwrap_or(cur.len())).unwrap_or(cur);
        rest = end.and_then(|e| cur.get(e + 1..));
        // An empty PATH entry means the current directory: "name", not "/name".
        let slash: &[u8] = if dir.is_empty() { b"" } else { b"/" };
        let len = dir.len() + slash.len() + name.len();
        if len >= PATH_MAX {
            err = Errno::ENAMETOOLONG;
            continue;
        }
        let rest = copy(buf, dir);
        let rest = copy(rest, slash);
        let rest = copy(rest, name);
        copy(rest, b"\0");
        let Some(bytes) = buf.get(..=len) else {
            continue;
        };
        // SAFETY: `dir` and `name` come from C strings, so the only NUL is the
        // one just written at `len`.
        let candidate = unsafe { CStr::from_bytes_with_nul_unchecked(bytes) };
        // SAFETY: forwarded from our caller.
        match unsafe { sys::execve(candidate, argv, envp) } {
            Errno::EACCES => eacces = true,
            e @ (Errno::ENOENT | Errno::ENOTDIR) => err = e,
            e => return e,
        }
    }
    if eacces {
        Errno::EACCES
    } else {
        err
    }
}

/// The value of PATH in `envp`, if set.
///
/// # Safety
/// As for [`execvp`].
unsafe fn env_path(mut envp: *const *const u8) -> Option<&'static [u8]> {
    loop {
        // SAFETY: envp is NULL-terminated, and we stop at the NULL.
        let var = unsafe { *envp };
        if var.is_null() {
            return None;
        }
        // SAFETY: `var` is a NUL-terminated string that lives forever.
        let var = unsafe { crate::cstr(var) }.to_bytes();
        // A byte loop: slice equality would call memcmp, which we lack.
        let prefix = b"PATH=";
        if var.len() >= prefix.len() && var.iter().zip(prefix).all(|(a, b)| a == b) {
            return var.get(prefix.len()..);
        }
        // SAFETY: not past the terminating NULL yet.
        envp = unsafe { envp.add(1) };
    }
}

/// Copies `src` to the start of `dst` (as far as it fits); returns the rest of `dst`.
fn copy<'a>(dst: &'a mut [u8], src: &[u8]) -> &'a mut [u8] {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
    dst.get_mut(src.len()..).unwrap_or_default()
}
