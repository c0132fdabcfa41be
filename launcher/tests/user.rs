//! `--user` and `--group-add`: the command's ids, groups, capabilities and
//! HOME, rootful and rootless, names from the rootfs's own /etc/passwd and
//! /etc/group, and the ids a user namespace does not hold, refused before the
//! container starts.

mod common;

use std::process::Command;

use common::*;

/// docker's default capability set, the bounding set a user keeps.
const DEFAULT_CAPS: &str = "00000000a80425fb";

/// What the command prints about itself: ids, groups, capabilities, HOME, and
/// whether it may write a file of root's, mode 644 (the rootfs's /etc/passwd:
/// touch changes nothing but its times, which needs write access).
const SELF_REPORT: &str = "id -u; id -g; id -G; grep ^Cap /proc/self/status; echo HOME=$HOME; \
     if touch /etc/passwd 2>/dev/null; then echo wrote-roots-file; else echo no-write; fi";

/// `key: value` lines and plain ones, as the command printed them.
fn report(out: &std::process::Output) -> Vec<String> {
    assert_code(out, 0);
    stdout(out).lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

fn run_as(args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(["--", "/bin/sh", "-c", SELF_REPORT]);
    report(&output(&mut launcher(&all)))
}

#[test]
fn a_numeric_user_has_its_ids_no_capabilities_and_cannot_write_roots_files() {
    let lines = run_as(&["--user", "1000:1000"]);
    let bounding = format!("CapBnd: {DEFAULT_CAPS}");
    let zero = "0000000000000000";
    let want = [
        "1000",
        "1000",
        "1000",
        &format!("CapInh: {zero}"),
        &format!("CapPrm: {zero}"),
        &format!("CapEff: {zero}"),
        &bounding,
        &format!("CapAmb: {zero}"),
        "HOME=/",
        "no-write",
    ];
    assert_eq!(lines, want);
}

#[test]
fn group_add_gives_supplementary_groups() {
    let lines = run_as(&["--user", "1000:1000", "--group-add", "10", "--group-add", "20"]);
    assert_eq!(lines[2], "1000 10 20", "{lines:#?}");
    // --group-add alone: root, with its groups (the rootfs lists root in
    // group 0) and the added one, and root's capabilities.
    let lines = run_as(&["--group-add", "20"]);
    assert_eq!(lines[..3], ["0", "0", "0 20"], "{lines:#?}");
    assert!(lines.contains(&format!("CapEff: {DEFAULT_CAPS}")), "{lines:#?}");
    assert!(lines.contains(&"HOME=/root".to_string()) && lines.contains(&"wrote-roots-file".to_string()));
}

#[test]
fn root_with_another_group_keeps_its_capabilities() {
    let lines = run_as(&["--user", "0:5"]);
    assert_eq!(lines[..3], ["0", "5", "5"], "{lines:#?}");
    assert!(lines.contains(&format!("CapEff: {DEFAULT_CAPS}")), "{lines:#?}");
}

#[test]
fn names_groups_and_home_come_from_the_rootfs() {
    let dir = rootfs_copy("names");
    let append = |file: &str, text: &str| {
        let path = dir.join(file);
        let old = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, old + text).unwrap();
    };
    append("etc/passwd", "app:x:1234:2345:App:/home/app:/bin/sh\n");
    append("etc/group", "wheel:x:10:root,app\napp:x:2345:\nstaff:x:50:\n");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(launcher_bin());
        cmd.arg("run").arg("--rootfs").arg(&dir).args(args);
        cmd.args(["--", "/bin/sh", "-c", "id -u; id -g; id -G; echo HOME=$HOME"]);
        report(&output(&mut cmd))
    };
    // The user's group, and the groups that list it, as runc gives them.
    assert_eq!(run(&["--user", "app"]), ["1234", "2345", "2345 10", "HOME=/home/app"]);
    assert_eq!(
        run(&["--user", "1234", "--group-add", "staff"]),
        ["1234", "2345", "2345 10 50", "HOME=/home/app"]
    );
    // A named group replaces both.
    assert_eq!(run(&["--user", "app:staff"]), ["1234", "50", "50", "HOME=/home/app"]);
    assert_eq!(run(&["--user", "app", "-e", "HOME=/data"]), ["1234", "2345", "2345 10", "HOME=/data"]);

    for (user, message) in [
        ("bob", "--user \"bob\": no user \"bob\" in the rootfs's /etc/passwd"),
        ("app:nogroup", "no group \"nogroup\" in the rootfs's /etc/group"),
        ("4294967295", "4294967295 is not an id"),
    ] {
        let mut cmd = Command::new(launcher_bin());
        cmd.arg("run").arg("--rootfs").arg(&dir).args(["--user", user, "--", "/bin/true"]);
        let out = output(&mut cmd);
        assert_code(&out, 125);
        let err = stderr(&out);
        assert!(err.contains(message) && err.lines().count() == 1, "{user}: {err}");
    }
}

#[test]
fn a_passwd_that_leads_out_of_the_rootfs_is_read_inside_it() {
    // An absolute link is resolved inside the rootfs: it names the rootfs's
    // own file, never the host's /etc/passwd (whose root would be found).
    let dir = rootfs_copy("passwd-link");
    std::fs::write(dir.join("etc/users"), "inside:x:4321:4321::/in:/bin/sh\n").unwrap();
    std::fs::remove_file(dir.join("etc/passwd")).unwrap();
    std::os::unix::fs::symlink("/etc/users", dir.join("etc/passwd")).unwrap();
    let mut cmd = Command::new(launcher_bin());
    cmd.arg("run").arg("--rootfs").arg(&dir).args([
        "--user",
        "inside",
        "--",
        "/bin/sh",
        "-c",
        "id -u; echo $HOME",
    ]);
    assert_eq!(report(&output(&mut cmd)), ["4321", "/in"]);
    let mut cmd = Command::new(launcher_bin());
    cmd.arg("run").arg("--rootfs").arg(&dir).args(["--user", "root", "--", "/bin/true"]);
    let out = output(&mut cmd);
    assert_code(&out, 125);
    assert!(stderr(&out).contains("no user \"root\""), "{}", stderr(&out));

    // A FIFO there must not stall the launcher (nobody writes it): refused.
    std::fs::remove_file(dir.join("etc/group")).unwrap();
    let fifo = Command::new("mkfifo").arg(dir.join("etc/group")).status().unwrap();
    assert!(fifo.success(), "mkfifo");
    let mut cmd = Command::new(launcher_bin());
    cmd.arg("run").arg("--rootfs").arg(&dir).args(["--user", "inside", "--", "/bin/true"]);
    let out = output(&mut cmd);
    assert_code(&out, 125);
    let err = stderr(&out);
    assert!(
        err.contains("the rootfs's /etc/group is not a regular file") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn the_filter_loads_for_a_user_without_no_new_privs_too() {
    let out = output(&mut launcher(&[
        "--user",
        "1000",
        "--security-opt",
        "no-new-privileges=false",
        "--",
        "/bin/sh",
        "-c",
        "id -u; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status",
    ]));
    assert_eq!(report(&out), ["1000", "NoNewPrivs: 0", "Seccomp: 2"]);
}

#[test]
fn rootless_with_ranges_runs_mapped_users_and_refuses_others() {
    let (uid, gid, dir) = ranged_user();
    let rootless = |args: &[&str]| {
        let mut cmd = Command::new(launcher_bin());
        cmd.arg("run").arg("--rootfs").arg(&dir).args(args);
        as_user(&mut cmd, uid, gid);
        output(&mut cmd)
    };
    let mut args = vec!["--user", "1000:1000", "--group-add", "7", "--", "/bin/sh", "-c", SELF_REPORT];
    let lines = report(&rootless(&args));
    assert_eq!(lines[..3], ["1000", "1000", "1000 7"], "{lines:#?}");
    assert!(lines.contains(&"CapEff: 0000000000000000".to_string()), "{lines:#?}");
    // The rootfs belongs to the caller, root inside: not to uid 1000.
    assert_eq!(lines.last().unwrap(), "no-write");

    // 0 and 1..=N are mapped, N the size of the user's range.
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap();
    let line = subuid.lines().find(|l| l.starts_with("launcher-subid:")).unwrap();
    let count: u32 = line.rsplit(':').next().unwrap().parse().unwrap();
    let unmapped = (count + 1).to_string();
    args[1] = &unmapped;
    let out = rootless(&args);
    assert_code(&out, 125);
    let err = stderr(&out);
    let want =
        format!("uid {unmapped} is not mapped in the container's user namespace, which has ids 0..={count}");
    assert!(err.contains(&want) && err.contains("/etc/subuid") && err.lines().count() == 1, "{err}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn rootless_with_a_single_id_map_refuses_any_other_id_before_starting() {
    for (args, message) in [
        (
            &["--user", "1000"][..],
            "uid 1000 is not mapped in the container's user namespace, which has ids 0..=0",
        ),
        (&["--user", "0:1000"][..], "gid 1000 is not mapped"),
        (&["--group-add", "0"][..], "supplementary groups cannot be set"),
    ] {
        let mut all = args.to_vec();
        // The command would say it ran: it must not.
        all.extend(["--", "/bin/echo", "ran"]);
        let out = output(&mut launcher_rootless(&all));
        assert_code(&out, 125);
        let err = stderr(&out);
        assert!(
            err.contains(message) && err.contains("/etc/subuid") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
    // Root is the one id there: nothing to switch, and no groups to set.
    let out = output(&mut launcher_rootless(&["--user", "root", "--", "/bin/sh", "-c", "id -u; echo $HOME"]));
    assert_eq!(report(&out), ["0", "/root"]);
}
