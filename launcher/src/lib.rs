//! launcher: run a command in a new container. See README.md, "How it works".
//!
//! The program is this library and a two-line `main.rs`: unit tests build
//! against the library, with the unwind tables that their panics need, while
//! the shipped binary drops them (see build.rs).

mod arch;
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
mod oci;
mod remount;
mod run;
mod seccomp;
mod signals;
mod size;
mod spec;
mod status;
#[cfg(test)]
mod testrng;
mod trace;
mod tty;
mod user;

use std::ffi::OsString;
use std::io::Write;
use std::time::Instant;

/// `launcher ARGS...` (the arguments after the program's name): parse, run
/// or check, and exit with the right code.
pub fn main(args: Vec<OsString>) -> ! {
    let start = Instant::now();
    standard_fds_and_sigpipe();
    let args: Vec<String> = match args.into_iter().map(|a| a.into_string()).collect() {
        Ok(args) => args,
        Err(bad) => {
            status::say(&format!("argument {bad:?} is not valid UTF-8"));
            std::process::exit(status::RUNTIME_ERROR);
        }
    };
    if oci::is_oci(&args) {
        std::process::exit(oci::main(&args));
    }
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

/// The config record that `launcher run ARGS...` would send init (README, "The
/// config record": capabilities, flags, the seccomp filter, the mount ops), for
/// the benchmark's same-work floor (bench/floor), which loads the very same
/// filter; see `examples/floor-config.rs`. Behind the `floor-config` feature, so
/// that the launcher binary is built from exactly the code it runs.
#[cfg(feature = "floor-config")]
pub fn config_record_for(args: &[String]) -> Result<Vec<u8>, String> {
    let spec = match cli::parse(args) {
        cli::Parsed::Run(spec) => spec,
        cli::Parsed::Exit { text, .. } => return Err(text),
        cli::Parsed::Check => return Err("`launcher check` has no config record".into()),
    };
    let has_setattr = remount::kernel_has_mount_setattr();
    let trace = trace::Trace::new(false, std::time::Instant::now());
    let user = idmap::IdMap::for_caller().command_user(spec.user.as_ref())?;
    run::config_record(&spec, user.as_ref(), has_setattr, false, &trace)
}

/// What std's start-up would do and the launcher needs (main.rs skips it):
/// fds 0-2 open, so that no file of ours takes their numbers and gets a
/// stray print or the container's stdio, and SIGPIPE ignored, so that a
/// closed stdout is an error to report rather than death before cleanup.
fn standard_fds_and_sigpipe() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    // SAFETY: polls three pollfds we own, without waiting.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } > 0 {
        for fd in fds.iter().filter(|f| f.revents & libc::POLLNVAL != 0) {
            // SAFETY: opens a constant path; the lowest free fd is the closed one.
            let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if null != fd.fd {
                let err = std::io::Error::last_os_error();
                status::say(&format!("fd {} is closed and /dev/null cannot take its place: {err}", fd.fd));
                std::process::exit(status::RUNTIME_ERROR);
            }
        }
    }
    // SAFETY: sets the disposition of SIGPIPE to ignore; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}
