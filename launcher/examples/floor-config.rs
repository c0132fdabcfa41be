//! Writes the config record a `launcher run` with the given options would send
//! its init (capabilities, flags, seccomp filter, mount ops) to a file, for the
//! benchmark's same-work floor (bench/floor/floor-same.c), so that the floor
//! loads the launcher's own filter bytes rather than a copy that could drift.
//!
//! `floor-config OUT [RUN OPTIONS...]`, e.g. `floor-config f.bin --rootfs DIR`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: floor-config OUT [launcher run OPTIONS...]");
        return ExitCode::from(2);
    };
    let mut run: Vec<String> = vec!["run".into()];
    let args: Vec<String> = args.collect();
    // Without volumes, the record does not depend on the rootfs; `run` wants
    // an existing directory.
    if !args.iter().any(|a| a == "--rootfs") {
        run.extend(["--rootfs".into(), std::env::temp_dir().to_string_lossy().into_owned()]);
    }
    run.extend(args);
    // The record does not depend on the command; `run` wants one.
    run.extend(["--".into(), "/bin/true".into()]);
    let record = match launcher::config_record_for(&run) {
        Ok(record) => record,
        Err(e) => {
            eprintln!("floor-config: {e}");
            return ExitCode::from(125);
        }
    };
    if let Err(e) = std::fs::write(&out, record) {
        eprintln!("floor-config: write {out}: {e}");
        return ExitCode::from(125);
    }
    ExitCode::SUCCESS
}
