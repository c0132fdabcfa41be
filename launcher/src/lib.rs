//! launcher: run a command in a new container. See README.md, "How it works".
//!
//! The program is this library and a two-line `main.rs`: unit tests build
//! against the library, with the unwind tables that their panics need, while
//! the shipped binary drops them (see build.rs).

mod arena;
mod caps;
mod cgroup;
mod channel;
mod check;
mod child;
mod cli;
mod idmap;
mod initexe;
mod mounts;
mod namespaces;
mod run;
mod seccomp;
mod signals;
mod size;
mod spec;
mod status;
mod trace;
mod tty;

use std::io::Write;
use std::time::Instant;

/// `launcher ARGS...`: parse, run or check, and exit with the right code.
pub fn main() -> ! {
    let start = Instant::now();
    let args: Vec<String> = match std::env::args_os().skip(1).map(|a| a.into_string()).collect() {
        Ok(args) => args,
        Err(bad) => {
            status::say(&format!("argument {bad:?} is not valid UTF-8"));
            std::process::exit(status::RUNTIME_ERROR);
        }
    };
    let code = match cli::parse(&args) {
        cli::Parsed::Exit { text, code: 0 } => {
            let _ = writeln!(std::io::stdout(), "{text}");
            0
        }
        cli::Parsed::Exit { text, code } => {
            let _ = writeln!(std::io::stderr(), "{text}");
            code
        }
        cli::Parsed::Check => check::run(),
        cli::Parsed::Run(spec) => {
            let trace = trace::Trace::new(spec.trace, start);
            trace.mark("command line parsed");
            match run::run(&spec, &trace) {
                Ok(code) => code,
                Err(message) => {
                    status::say(&message);
                    status::RUNTIME_ERROR
                }
            }
        }
    };
    std::process::exit(code);
}
