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
    let init = target_dir.join(TARGET).join("release/launcher-init");
    println!("cargo:rustc-env=LAUNCHER_INIT_PATH={}", init.display());
}
