//! Builds the init (a `no_std`, libc-free static binary) and hands its path to
//! `include_bytes!`, so the launcher carries its PID 1 inside and is one file.
//!
//! The init needs rustc flags that must not touch the launcher (no C runtime,
//! static relocations, our linker script), so it is built by a nested cargo
//! with its own RUSTFLAGS and its own target directory (sharing ours would
//! deadlock on cargo's build lock).

use std::env;
use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-musl";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = out_dir.join("init-target");
    let script = root.join("linker/init.ld");

    // The launcher's own link drops the unwind tables (see the script's comment).
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", root.join("linker/launcher.ld").display());

    for path in ["init/src", "init/Cargo.toml", "linker/init.ld", "linker/launcher.ld", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }

    // `launcher --version` names the commit it was built from.
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(root).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LAUNCHER_COMMIT={commit}");
    for path in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={}", root.join(p).display());
        }
    }

    let rustflags = [
        "-Clink-self-contained=no",
        "-Crelocation-model=static",
        "-Ctarget-cpu=x86-64",
        "-Clink-arg=-nostartfiles",
        "-Clink-arg=-nostdlib",
        "-Clink-arg=-static",
        &format!("-Clink-arg=-Wl,-T,{}", script.display()),
        "-Clink-arg=-Wl,--build-id=none",
        "-Clink-arg=-Wl,-n",
        "-Clink-arg=-Wl,--gc-sections",
    ]
    .join("\x1f");

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "--locked", "-p", "init", "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("build.rs: cannot run cargo to build the init");
    if !status.success() {
        panic!("build.rs: building the init failed (is the {TARGET} target installed? `rustup target add {TARGET}`)");
    }
    let built = target_dir.join(TARGET).join("release/launcher-init");
    let elf = std::fs::read(&built).expect("build.rs: read the built init");
    let init = out_dir.join("launcher-init");
    std::fs::write(&init, without_section_headers(elf)).expect("build.rs: write the init");
    println!("cargo:rustc-env=LAUNCHER_INIT_PATH={}", init.display());
}

/// The init without its section headers and section names (~350 bytes, a
/// twentieth of it): exec reads only the ELF header and the program headers,
/// and the linker cannot leave the section table out. Everything past the end
/// of the last loaded segment goes, and the header stops pointing at it.
fn without_section_headers(mut elf: Vec<u8>) -> Vec<u8> {
    let u16_at = |e: &[u8], at: usize| u16::from_le_bytes([e[at], e[at + 1]]) as usize;
    let u64_at = |e: &[u8], at: usize| u64::from_le_bytes(e[at..at + 8].try_into().unwrap()) as usize;
    // ELF64, little-endian (x86_64), as the init's target.
    assert!(
        elf.len() > 64 && elf.starts_with(b"\x7fELF\x02\x01"),
        "build.rs: the init is not an ELF64 LSB file"
    );
    let (phoff, phentsize, phnum) = (u64_at(&elf, 0x20), u16_at(&elf, 0x36), u16_at(&elf, 0x38));
    let mut end = phoff + phentsize * phnum;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        const PT_LOAD: u32 = 1;
        if u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap()) == PT_LOAD {
            end = end.max(u64_at(&elf, ph + 8) + u64_at(&elf, ph + 32)); // p_offset + p_filesz
        }
    }
    assert!(end <= elf.len(), "build.rs: the init's segments run past its end");
    elf.truncate(end);
    elf[0x28..0x30].fill(0); // e_shoff
    elf[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    elf
}
