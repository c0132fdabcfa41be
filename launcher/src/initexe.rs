//! The init binary, carried inside the launcher and exec'd from a sealed memfd.
//!
//! Why not a file in the rootfs: the child execs init before pivot_root, with
//! the host's mounts in view. A file the container can write (its own rootfs)
//! could be swapped for another program between our check and our exec (the
//! class of runc's CVE-2019-5736). A sealed memfd cannot change, leaves nothing
//! behind in the rootfs, and works on read-only root filesystems too.

use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};

pub static INIT: &[u8] = include_bytes!(env!("LAUNCHER_INIT_PATH"));

pub fn memfd() -> Result<OwnedFd, String> {
    let fail = |what: &str| format!("{what} for the init: {}", std::io::Error::last_os_error());
    // SAFETY: the name is a NUL-terminated literal; the kernel copies it.
    let fd = unsafe { libc::memfd_create(c"init".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd == -1 {
        return Err(fail("memfd_create"));
    }
    // SAFETY: a fresh fd that nothing else owns.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(INIT).map_err(|e| format!("write the init to its memfd: {e}"))?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on an fd we own, with an integer argument.
    if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } == -1 {
        return Err(fail("seal the memfd"));
    }
    Ok(file.into())
}

#[cfg(test)]
mod tests {
    /// Size budget of the init, in bytes (stripped: build.rs builds it so).
    const INIT_BUDGET: usize = 8 * 1024;

    #[test]
    fn init_fits_its_budget() {
        assert!(super::INIT.starts_with(b"\x7fELF"), "the embedded init is not an ELF file");
        assert!(
            super::INIT.len() <= INIT_BUDGET,
            "the init is {} bytes, over its {INIT_BUDGET}-byte budget",
            super::INIT.len()
        );
    }
}
