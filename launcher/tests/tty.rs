//! `-t`: a pty inside the container, relayed to a real terminal on our side
//! (a pty pair of the test's, the launcher's controlling terminal), and stdio
//! passed through untouched without it.
//!
//! Commands are followed by `echo NAME-$((A*B))`: the shell prints the result,
//! never the expression, so a match is output and not the echo of our typing.

mod common;
#[path = "common/pty.rs"]
mod pty;

use std::io::{Read, Write};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;
use pty::Session;

const EXIT_PATIENCE: Duration = Duration::from_secs(10);

fn shell(extra: &[&str], rows: u16, cols: u16) -> Session {
    let mut args = vec!["-it"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "/bin/sh"]);
    let mut s = Session::spawn(&mut launcher(&args), rows, cols);
    s.line("echo ready-$((6*7))");
    s.expect("ready-42");
    s
}

#[track_caller]
fn assert_exit(s: &mut Session, status: ExitStatus, code: i32) {
    assert_eq!(
        status.code(),
        Some(code),
        "launcher {status:?}, wanted exit code {code}; terminal:\n{}",
        s.text()
    );
}

/// Starts a foreground `sleep 100` and returns once it runs as the
/// terminal's foreground job, so a key typed now is for it, not for the shell
/// (which ignores SIGQUIT, even in a `sh -c` about to exec).
fn start_foreground_sleep(s: &mut Session) {
    s.line("sleep 100");
    let deadline = Instant::now() + pty::PATIENCE;
    while !foreground_sleep_runs(s.pid()) {
        assert!(Instant::now() < deadline, "no foreground sleep started:\n{}", s.text());
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// (comm, ppid, pgrp, tpgid) of a host pid, from /proc/PID/stat.
fn stat(pid: &str) -> Option<(String, i32, i32, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, tail) = text.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    // After the comm: state ppid pgrp session tty_nr tpgid ...
    let f: Vec<i32> = tail.split_whitespace().skip(1).take(5).map(|f| f.parse().unwrap_or(-1)).collect();
    Some((comm, *f.first()?, *f.get(1)?, *f.get(4)?))
}

/// Whether, under `launcher`, a process named sleep has exec'd and is the
/// foreground process group of its terminal.
fn foreground_sleep_runs(launcher: libc::pid_t) -> bool {
    let descends = |mut pid: i32| {
        while pid > 1 {
            if pid == launcher {
                return true;
            }
            pid = stat(&pid.to_string()).map_or(0, |s| s.1);
        }
        false
    };
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        matches!(stat(&name), Some((comm, ppid, pgrp, tpgid)) if comm == "sleep" && pgrp == tpgid && descends(ppid))
    })
}

#[test]
fn shell_has_job_control_and_the_keys_act_on_the_foreground_job() {
    let mut s = shell(&[], 31, 97);

    s.line("tty; echo tty-$((1+1))");
    let out = s.expect("tty-2");
    let tty = out.lines().find(|l| l.starts_with("/dev/")).unwrap_or("");
    let n = tty.strip_prefix("/dev/pts/").unwrap_or("");
    assert!(!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()), "tty printed {tty:?}:\n{out}");
    assert!(!s.text().contains("job control"), "the shell has no job control:\n{}", s.text());

    s.line("sleep 100 & jobs; echo jobs-$((2*2))");
    let out = s.expect("jobs-4");
    assert!(
        out.contains("Running") && out.contains("sleep 100"),
        "jobs does not show the background sleep:\n{out}"
    );

    start_foreground_sleep(&mut s);
    s.send(b"\x03");
    s.line("echo status-$?-$((3*3))");
    s.expect("status-130-9");

    start_foreground_sleep(&mut s);
    s.send(b"\x1c");
    s.line("echo status-$?-$((3*4))");
    s.expect("status-131-12");

    start_foreground_sleep(&mut s);
    s.send(b"\x1a");
    s.expect("Stopped");
    s.line("jobs; echo jobs-$((4*4))");
    let out = s.expect("jobs-16");
    assert!(
        out.lines().any(|l| l.contains("Stopped") && l.contains("sleep 100")),
        "Ctrl-Z did not stop the foreground job:\n{out}"
    );

    // Stopped jobs would keep a shell from leaving on EOF (bash does that).
    // ash's `wait` does not wait for a stopped job, so the killed one may
    // still be listed as stopped: ask `jobs` (which reaps) until none is left.
    s.line("kill -9 %1 %2; wait; echo killed-$((5*5))");
    s.expect("killed-25");
    let deadline = Instant::now() + pty::PATIENCE;
    for round in 0.. {
        s.line(&format!("jobs; echo left-$(({round}*11))"));
        let out = s.expect(&format!("left-{}", round * 11));
        if !out.lines().any(|l| l.contains("Running") || l.contains("Stopped")) {
            break;
        }
        assert!(Instant::now() < deadline, "the killed jobs stay listed:\n{out}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ctrl-D is EOF for the line editor only once it reads the next line: typed
    // earlier, the terminal's canonical mode would swallow it.
    s.expect("/ # ");
    s.send(b"\x04");
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 0);
    s.assert_restored();
}

#[test]
fn window_size_starts_as_the_terminals_and_follows_it() {
    let mut s = shell(&[], 31, 97);
    s.line("stty size; echo size-$((7*7))");
    let out = s.expect("size-49");
    assert!(out.lines().any(|l| l.trim() == "31 97"), "initial size is not the terminal's 31x97:\n{out}");

    // The kernel signals the terminal's foreground process group, the launcher.
    s.resize(33, 101);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut i = 0;
    loop {
        i += 1;
        s.line(&format!("stty size; echo size-$((1000+{i}))"));
        let out = s.expect(&format!("size-{}", 1000 + i));
        if out.lines().any(|l| l.trim() == "33 101") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the container's terminal did not follow the resize to 33x101:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s.line("exit 7");
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 7);
    s.assert_restored();
}

#[test]
fn a_large_paste_arrives_complete_and_in_order() {
    // Lines well under the 4096-byte canonical-mode limit, all different, so
    // a lost or reordered chunk changes the hash.
    let mut paste = Vec::new();
    let mut i = 0u32;
    while paste.len() < 160 * 1024 {
        let line = format!("{i:06} {}\n", "abcdefghijklmnopqrstuvwxyz0123456789".repeat(1 + i as usize % 4));
        paste.extend_from_slice(line.as_bytes());
        i += 1;
    }
    let expected = host_sha256(&paste);

    let mut s = shell(&[], 24, 80);
    s.line(&format!("echo go-$((8*8)); head -c {} > /tmp/paste; echo done-$((9*9))", paste.len()));
    s.expect("go-64");
    s.send(&paste);
    s.expect_within("done-81", Duration::from_secs(20));
    s.line("wc -c < /tmp/paste; sha256sum /tmp/paste; echo sum-$((10*10))");
    let out = s.expect("sum-100");
    assert!(out.contains(&format!("{}\n", paste.len())), "wrong size inside, wanted {}:\n{out}", paste.len());
    assert!(out.contains(&expected), "the paste arrived altered (sha256 {expected} wanted):\n{out}");
    s.line("exit");
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 0);
    s.assert_restored();
}

fn host_sha256(data: &[u8]) -> String {
    let mut child = std::process::Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sha256sum (coreutils) on the host");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

#[test]
fn terminal_is_restored_when_the_launcher_gets_sigterm_or_sigint() {
    // An interactive sh ignores SIGTERM and catches SIGINT, so only the stop
    // timeout ends it: killed, 128+9 as docker reports a killed container.
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let mut s = shell(&["--stop-timeout", "1"], 24, 80);
        let start = Instant::now();
        s.signal(sig);
        let status = s.wait(EXIT_PATIENCE);
        assert_exit(&mut s, status, 137);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "signal {sig}: the stop timeout took {:?}",
            start.elapsed()
        );
        s.assert_restored();
    }
}

#[test]
fn terminal_is_restored_when_the_launcher_gets_sighup() {
    let mut s = shell(&[], 24, 80);
    s.signal(libc::SIGHUP);
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 128 + libc::SIGHUP);
    s.assert_restored();
}

#[test]
fn terminal_is_restored_when_the_command_is_killed() {
    let mut s = shell(&[], 24, 80);
    s.line("kill -9 $$");
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 137);
    s.assert_restored();
}

#[test]
fn terminal_is_restored_when_the_command_cannot_start() {
    let mut s = Session::spawn(&mut launcher(&["-it", "--", "/bin/nope"]), 24, 80);
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 127);
    s.expect("exec /bin/nope");
    s.assert_restored();
}

#[test]
fn without_t_the_terminal_is_passed_through_untouched() {
    let mut s = Session::spawn(
        &mut launcher(&["--", "/bin/sh", "-c", "[ -t 0 ] && echo on-a-tty; read x; echo got-$x"]),
        24,
        80,
    );
    s.expect("on-a-tty");
    // Still in the terminal's own (canonical, echoing) mode while it runs.
    assert!(pty::same_termios(&s.before, &s.termios()), "the launcher changed the terminal without -t");
    s.line("hello");
    s.expect("got-hello");
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 0);
    s.assert_restored();
}

#[test]
fn a_hundred_megabytes_pass_through_stdin_and_stdout_unchanged() {
    let dir = std::env::temp_dir().join(format!("launcher-tty-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (big, copy) = (dir.join("big"), dir.join("copy"));
    // Incompressible, position-dependent bytes (xorshift): any loss or reorder shows.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut data = Vec::with_capacity(100 << 20);
    while data.len() < 100 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&big, &data).unwrap();

    let out = launcher(&["--", "/bin/cat"])
        .stdin(std::fs::File::open(&big).unwrap())
        .stdout(std::fs::File::create(&copy).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_code(&out, 0);
    let copied = std::fs::read(&copy).unwrap();
    let same = copied == data;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(same, "file -> cat -> file: {} bytes out of {} in, or different bytes", copied.len(), data.len());

    // And through pipes, which fill and block both ways.
    let mut child =
        launcher(&["--", "/bin/cat"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = {
        let data = data.clone();
        std::thread::spawn(move || stdin.write_all(&data))
    };
    let mut piped = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut piped).unwrap();
    writer.join().unwrap().expect("write to the launcher's stdin");
    assert!(child.wait().unwrap().success());
    assert!(
        piped == data,
        "pipe -> cat -> pipe: {} bytes out of {} in, or different bytes",
        piped.len(),
        data.len()
    );
}

#[test]
fn with_t_the_end_of_piped_input_is_the_containers_end_of_file() {
    // Not a terminal on our side: no raw mode, but the pty inside still needs
    // to hear that input ended, or a reader waits forever.
    let mut child = launcher(&["-it", "--", "/bin/cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"one\ntwo\n").unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("cat in the container never saw the end of the piped input");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 0);
    // The pty echoes the input, then cat prints it: both with the tty's \r\n.
    assert_eq!(pty::clean(&out.stdout), "one\ntwo\none\ntwo\n");
}

#[test]
fn with_t_all_output_arrives_before_the_launcher_exits() {
    // The command's last writes are still in the pty when it exits.
    let script = "seq 1 50000; printf last-line; exit 4";
    let mut s = Session::spawn(&mut launcher(&["-it", "--", "/bin/sh", "-c", script]), 24, 80);
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 4);
    s.expect("\n49999\n50000\nlast-line");
    s.assert_restored();

    // And with no terminal on our side at all.
    let out = output(launcher(&["-t", "--", "/bin/sh", "-c", script]).stderr(Stdio::piped()));
    assert_code(&out, 4);
    let text = pty::clean(&out.stdout);
    let numbers: Vec<&str> = text.lines().collect();
    assert_eq!(numbers.len(), 50001, "lines lost: {} of 50001", numbers.len());
    assert!(
        numbers.iter().take(50000).enumerate().all(|(i, l)| *l == (i + 1).to_string()),
        "lines out of order"
    );
    assert_eq!(numbers[50000], "last-line");
}

#[test]
fn with_t_a_closed_stdout_hangs_up_the_containers_terminal() {
    // `launcher run -t ... | head -1`: as when a terminal window closes, the
    // container's session gets SIGHUP; no error of the launcher's own.
    let mut child = launcher(&["-t", "--", "/bin/sh", "-c", "while :; do echo y; done"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut some = [0u8; 4096];
    stdout.read_exact(&mut some).unwrap();
    drop(stdout);
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("the launcher kept running after its stdout was closed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert_code(&out, 128 + libc::SIGHUP);
    assert_eq!(stderr(&out), "", "the launcher complained about a closed stdout");
}

#[test]
fn rootless_shell_has_a_working_terminal() {
    let mut s = Session::spawn(&mut launcher_rootless(&["-it", "--", "/bin/sh"]), 27, 91);
    s.line("echo ready-$((6*7))");
    s.expect("ready-42");
    s.line("tty; stty size; id -u; echo info-$((2*3))");
    let out = s.expect("info-6");
    assert!(out.contains("/dev/pts/") && out.contains("27 91\n0\n"), "tty, size or uid wrong:\n{out}");
    assert!(!s.text().contains("job control"), "no job control:\n{}", s.text());
    start_foreground_sleep(&mut s);
    s.send(b"\x03");
    s.line("echo status-$?-$((3*3))");
    s.expect("status-130-9");
    s.line("exit 3");
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 3);
    s.assert_restored();
}

#[test]
fn terminal_is_restored_even_when_the_launcher_aborts() {
    // A stderr whose reader is gone: the launcher's stop-timeout notice then
    // fails (EPIPE), and Rust's eprintln! panics; panics abort, so only a
    // panic hook can put the terminal back.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut s = Session::spawn_with_stderr(
        &mut launcher(&["-it", "--stop-timeout", "1", "--", "/bin/sh"]),
        24,
        80,
        Some(Stdio::from(writer)),
    );
    s.line("echo ready-$((6*7))");
    s.expect("ready-42");
    s.signal(libc::SIGTERM);
    let status = s.wait(EXIT_PATIENCE);
    s.assert_restored();
    assert_eq!(
        status.code(),
        Some(137),
        "KNOWN BUG (launcher/src/run.rs, EventLoop::run and report(): eprintln! panics when \
         stderr is a broken pipe, and panics abort): the launcher died with {status:?} instead \
         of killing the container after the stop timeout; write notices with \
         `let _ = writeln!(std::io::stderr(), ...)`"
    );
}

#[test]
fn the_launchers_own_notices_end_their_line_on_a_raw_terminal() {
    // In raw mode "\n" only moves down: without "\r" the next line (the
    // host shell's prompt) starts mid-screen.
    let mut s = shell(&["--stop-timeout", "1"], 24, 80);
    s.signal(libc::SIGTERM);
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 137);
    let raw = String::from_utf8_lossy(&s.raw()).into_owned();
    let notice = "(--stop-timeout): killing it";
    let Some(at) = raw.find(notice) else { panic!("no stop-timeout notice on the terminal:\n{raw:?}") };
    assert!(
        raw[at + notice.len()..].starts_with("\r\n"),
        "KNOWN BUG (launcher/src/run.rs, EventLoop::run, the stop-timeout eprintln!): printed \
         while the terminal is raw, the notice ends with a bare \\n; print it after the relay is \
         dropped (terminal restored) or end it with \\r\\n while a relay exists: {:?}",
        &raw[at..]
    );
}

#[test]
fn a_user_shell_has_the_terminal_and_job_control() {
    let mut s = Session::spawn(&mut launcher(&["-it", "--user", "1000:1000", "--", "/bin/sh"]), 25, 80);
    s.line("echo ready-$((6*7))");
    s.expect("ready-42");
    // The terminal is the user's, as runc makes it: reopening it by name works.
    s.line("id -u; tty; stat -c %u $(tty); echo reopened > $(tty); echo info-$((2*3))");
    let out = s.expect("info-6");
    assert!(out.contains("1000\n/dev/pts/0\n1000\nreopened\n"), "uid, tty or its owner wrong:\n{out}");
    assert!(!s.text().contains("job control"), "no job control:\n{}", s.text());
    start_foreground_sleep(&mut s);
    s.send(b"\x03");
    s.line("echo status-$?-$((3*3))");
    s.expect("status-130-9");
    s.line("exit 4");
    let status = s.wait(EXIT_PATIENCE);
    assert_exit(&mut s, status, 4);
    s.assert_restored();
}

/// The launcher's init, driven by hand: `create` of an OCI runtime must hand
/// the pty master on before the container may start, so init sends it as
/// soon as /dev is built, before it waits for the `J` record (its cgroup),
/// which the test sends only once the master is here.
#[test]
fn init_sends_the_pty_master_before_it_waits_for_its_cgroup() {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;

    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array.
    let ret = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    };
    assert_eq!(ret, 0, "socketpair: {}", std::io::Error::last_os_error());
    // SAFETY: two fresh fds, owned by nothing else.
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };

    // The record as the launcher writes it (README, "The config record"): a
    // pty of 30x100, a J record to come, nothing else asked for.
    const TTY: u32 = 16;
    const JOIN_CGROUP: u32 = 64;
    let mut config = vec![b'C', 0, 0, 0];
    config.extend_from_slice(&(TTY | JOIN_CGROUP).to_le_bytes());
    config.extend_from_slice(&0u64.to_le_bytes()); // caps
    config.extend_from_slice(&[0; 8]); // uid, gid
    for n in [30u16, 100, 0, 0] {
        config.extend_from_slice(&n.to_le_bytes());
    }
    for text in [rootfs().as_os_str().as_encoded_bytes(), b"container", b"/"] {
        config.extend_from_slice(text);
        config.push(0);
    }
    config.extend_from_slice(&[0, 0, 0, 0]); // no filter, no ops
    send(&ours, &config);

    // Namespaces as the launcher makes them, by unshare(1); init is PID 1.
    // The build leaves the init unexecutable (the launcher runs it from a
    // memfd): an executable copy.
    let init = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tty-launcher-init");
    std::fs::write(&init, std::fs::read(env!("LAUNCHER_INIT_PATH")).unwrap()).unwrap();
    std::fs::set_permissions(&init, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = "stty size; tty; echo done-$((6*7))";
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "--pid", "--uts", "--ipc", "--fork"]).arg(&init);
    cmd.args(["--", "/bin/sh", "-c", script]);
    let channel = theirs.as_raw_fd();
    // SAFETY: dup2 is async-signal-safe; fd 3 is the channel init expects.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(channel, 3) != 3 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = Running(cmd.stdin(Stdio::null()).spawn().expect("run unshare (util-linux)"));
    drop(theirs);

    // The first record is the master, with no J record sent yet.
    let (tag, master) = recv(&ours, Duration::from_secs(10));
    assert_eq!(tag, Some(b'P'), "init sent {tag:?} first, not the pty master (P)");
    let master = master.expect("the P record carries the master");

    // The J record: no cgroup to join, no view to mount.
    send(&ours, &[b'J', 0, 0]);
    let mut text = Vec::new();
    let mut file = std::fs::File::from(master);
    let deadline = Instant::now() + pty::PATIENCE;
    while !String::from_utf8_lossy(&text).contains("done-42") {
        assert!(Instant::now() < deadline, "no output from the command:\n{}", String::from_utf8_lossy(&text));
        let mut buf = [0u8; 256];
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&text).replace('\r', "");
    assert!(text.contains("30 100\n/dev/pts/0\ndone-42"), "size, tty or output wrong:\n{text}");
    let status = child.wait().unwrap();
    assert!(status.success(), "init ended with {status:?}");

    fn send(fd: &OwnedFd, record: &[u8]) {
        // SAFETY: writes record.len() bytes of a live slice.
        let n = unsafe { libc::write(fd.as_raw_fd(), record.as_ptr().cast(), record.len()) };
        assert_eq!(n, record.len() as isize, "send a record to init: {}", std::io::Error::last_os_error());
    }

    /// The next record's tag and the fd it carries, within `patience`.
    fn recv(fd: &OwnedFd, patience: Duration) -> (Option<u8>, Option<OwnedFd>) {
        let mut poll = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: polls one pollfd we own.
        let ready = unsafe { libc::poll(&mut poll, 1, patience.as_millis() as i32) };
        assert_eq!(ready, 1, "init sent nothing within {patience:?}: it waits for the J record first?");
        let mut data = [0u8; 512];
        let mut control = [0u64; 4];
        let mut iov = libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() };
        // SAFETY: an all-zero msghdr is valid; its pointers are set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: msg points at live buffers of the sizes given.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
        if n > 5 && data[0] == b'E' {
            panic!("init failed: {}", String::from_utf8_lossy(&data[5..n as usize]));
        }
        // SAFETY: the control buffer was filled by recvmsg, within msg_controllen.
        let fd = unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (!cmsg.is_null() && (*cmsg).cmsg_type == libc::SCM_RIGHTS)
                .then(|| OwnedFd::from_raw_fd(std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast())))
        };
        ((n > 0).then_some(data[0]), fd)
    }
}
