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

/// The init's size budget on every architecture (launcher/src/initexe.rs tests it too).
const INIT_BUDGET: usize = 8 * 1024;

fn main() {
    // The init is built for the launcher's own target: cargo tells us which.
    let target = env::var("TARGET").unwrap();
    let target = target.as_str();
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

    // The baseline CPU of each target, spelled out for x86_64 so that a host's
    // RUSTFLAGS cannot make the init need a newer one.
    let cpu = if target.starts_with("x86_64") { "-Ctarget-cpu=x86-64" } else { "" };
    // Per-architecture code size: 32-bit arm as Thumb-2, a third smaller than
    // ARM code (init/src/arch/arm.rs); aarch64 with the tiny code model, whose
    // one-instruction ADR reaches all of the init's 90 KiB where the default
    // model pairs ADRP and ADD (-4%). Each keeps the init within its budget.
    let size = match target.split('-').next() {
        Some("armv7") => "-Ctarget-feature=+thumb-mode",
        Some("aarch64") => "-Ccode-model=tiny",
        _ => "",
    };
    let rustflags = [
        "-Clink-self-contained=no",
        "-Crelocation-model=static",
        cpu,
        size,
        "-Clink-arg=-nostartfiles",
        "-Clink-arg=-nostdlib",
        "-Clink-arg=-static",
        &format!("-Clink-arg=-Wl,-T,{}", script.display()),
        "-Clink-arg=-Wl,--build-id=none",
        "-Clink-arg=-Wl,-n",
        "-Clink-arg=-Wl,--gc-sections",
    ]
    .iter()
    .filter(|flag| !flag.is_empty())
    .map(|flag| flag.to_string())
    .collect::<Vec<_>>()
    .join("\x1f");

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "--locked", "-p", "init", "--target", target])
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
        panic!("build.rs: building the init for {target} failed: run `make toolchain ARCH=...` for its Rust target and linker");
    }
    let built = target_dir.join(target).join("release/launcher-init");
    let elf = std::fs::read(&built).expect("build.rs: read the built init");
    let init = out_dir.join("launcher-init");
    let elf = without_section_headers(elf);
    assert!(
        elf.len() <= INIT_BUDGET,
        "build.rs: the init for {target} is {} bytes, over its {INIT_BUDGET}-byte budget",
        elf.len()
    );
    std::fs::write(&init, elf).expect("build.rs: write the init");
    println!("cargo:rustc-env=LAUNCHER_INIT_PATH={}", init.display());
}

/// The init without its section headers and section names (~350 bytes, a
/// twentieth of it): exec reads only the ELF header and the program headers,
/// and the linker cannot leave the section table out. Everything past the end
/// of the last loaded segment goes, and the header stops pointing at it.
fn without_section_headers(mut elf: Vec<u8>) -> Vec<u8> {
    // Little-endian (all four targets), ELF64 or ELF32 (armv7).
    assert!(
        elf.len() > 52 && elf.starts_with(b"\x7fELF") && elf[5] == 1,
        "build.rs: the init is not a little-endian ELF file"
    );
    let wide = elf[4] == 2;
    let u16_at = |e: &[u8], at: usize| u16::from_le_bytes([e[at], e[at + 1]]) as usize;
    let word_at = |e: &[u8], at: usize| match wide {
        true => u64::from_le_bytes(e[at..at + 8].try_into().unwrap()) as usize,
        false => u32::from_le_bytes(e[at..at + 4].try_into().unwrap()) as usize,
    };
    // Offsets of the ELF header's and a program header's fields in each class.
    let (e_phoff, e_shoff, e_phentsize, e_shentsize) =
        if wide { (0x20, 0x28, 0x36, 0x3a) } else { (0x1c, 0x20, 0x2a, 0x2e) };
    let (p_offset, p_filesz) = if wide { (8, 32) } else { (4, 16) };
    let (phoff, phentsize, phnum) =
        (word_at(&elf, e_phoff), u16_at(&elf, e_phentsize), u16_at(&elf, e_phentsize + 2));
    let mut end = phoff + phentsize * phnum;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        const PT_LOAD: u32 = 1;
        if u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap()) == PT_LOAD {
            end = end.max(word_at(&elf, ph + p_offset) + word_at(&elf, ph + p_filesz));
        }
    }
    assert!(end <= elf.len(), "build.rs: the init's segments run past its end");
    elf.truncate(end);
    let shoff_len = if wide { 8 } else { 4 };
    elf[e_shoff..e_shoff + shoff_len].fill(0); // e_shoff
    elf[e_shentsize + 2..e_shentsize + 6].fill(0); // e_shnum, e_shstrndx
    elf
}
