//! The benchmark's same-work floor (bench/floor/floor-same.c) must build the
//! container `launcher run` builds with its defaults, or comparing their start-up
//! times means nothing. Both run one command on the same rootfs that prints what
//! it sees (its mounts, capability sets, no_new_privs, seccomp mode, hostname),
//! and the two listings must match once the numbers the kernel hands out anew
//! for every container are replaced (see `normalize_mountinfo`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::*;

/// What the container's command prints. Each reader is a child of the shell,
/// with the shell's credentials and filter: a process sees its own status.
const PROBE: &str = "cat /proc/self/mountinfo && echo -- && \
    grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status && echo -- && hostname";

/// Builds both floors and the config record with bench/floor/build.sh (the
/// same script as `make bench`); returns (floor-same, its config record).
fn floor_same() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = tmp.join("floor-bin");
        let script = repo_root().join("bench/floor/build.sh");
        let built = Command::new(&script)
            .arg(&out)
            // `cargo test` holds the workspace's target directory while the
            // tests run: a nested cargo build there would wait for it forever.
            .env("FLOOR_CARGO_TARGET_DIR", tmp.join("floor-cargo"))
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
        assert!(
            built.status.success(),
            "{} failed (it needs musl-gcc: apt-get install musl-tools): {}",
            script.display(),
            stderr(&built)
        );
        (out.join("floor-same"), out.join("floor.config"))
    })
}

fn run_probe(cmd: &mut Command) -> String {
    let out: Output = cmd.stdin(Stdio::null()).output().expect("start the container");
    assert_eq!(out.status.code(), Some(0), "{cmd:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).expect("the probe prints text")
}

/// mountinfo with the numbers that differ between any two containers, even two
/// built by the same program, replaced by stable names:
/// - mount ids (field 1) are allocated system-wide, so they become the line's
///   index (`m0`, `m1`, ...); a parent id (field 2) becomes its parent's index,
///   or `outside` for the root's parent, which this mount namespace cannot see.
///   The tree's shape is kept.
/// - `major:minor` (field 3) of a filesystem made for the container (proc, the
///   tmpfs of /dev and of the masks, devpts) is a fresh anonymous device number
///   each time, so every device becomes the index of its first appearance
///   (`d0`, `d1`, ...). Which mounts share a device (the masks' one tmpfs, the
///   host's devtmpfs under the device binds) is kept.
///
/// Mount points, their order, root paths, per-mount and filesystem options,
/// propagation fields, types and sources are compared as they are.
fn normalize_mountinfo(text: &str) -> Vec<String> {
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    let ids: Vec<&str> = lines.iter().map(|f| f[0]).collect();
    let mut devices: Vec<&str> = Vec::new();
    lines
        .iter()
        .map(|f| {
            assert!(f.len() >= 10, "not a mountinfo line: {}", f.join(" "));
            let parent = match ids.iter().position(|id| *id == f[1]) {
                Some(i) => format!("m{i}"),
                None => "outside".to_string(),
            };
            let dev = match devices.iter().position(|d| *d == f[2]) {
                Some(i) => i,
                None => {
                    devices.push(f[2]);
                    devices.len() - 1
                }
            };
            let own = ids.iter().position(|id| *id == f[0]).unwrap();
            format!("m{own} {parent} d{dev} {}", f[3..].join(" "))
        })
        .collect()
}

/// (mounts normalized, status lines, hostname) from the probe's output.
fn parse(out: &str) -> (Vec<String>, Vec<String>, String) {
    let parts: Vec<&str> = out.split("--\n").collect();
    assert_eq!(parts.len(), 3, "unexpected probe output: {out}");
    let status = parts[1].lines().map(str::to_string).collect();
    (normalize_mountinfo(parts[0]), status, parts[2].trim().to_string())
}

#[test]
fn the_same_work_floor_builds_the_launchers_container() {
    require_root();
    let (floor, config) = floor_same();
    let rootfs = rootfs();
    let from_launcher = run_probe(&mut launcher(&["--", "/bin/sh", "-c", PROBE]));
    let from_floor = run_probe(Command::new(floor).arg(config).arg(rootfs).args(["/bin/sh", "-c", PROBE]));
    let (launcher_mounts, launcher_status, launcher_host) = parse(&from_launcher);
    let (floor_mounts, floor_status, floor_host) = parse(&from_floor);

    // Both really printed a hardened container, not two empty listings.
    for point in [" /proc ", " /dev/pts ", " /sys ", " /proc/sys "] {
        assert!(
            launcher_mounts.iter().any(|l| l.contains(point)),
            "the launcher's container has no{point}mount:\n{from_launcher}"
        );
    }
    assert!(
        launcher_status.iter().any(|l| l.starts_with("Seccomp:") && l.ends_with("2")),
        "{launcher_status:?}"
    );

    if launcher_mounts != floor_mounts {
        // Named without the indices, which shift after a missing line.
        let unnumbered = |l: &String| l.splitn(4, ' ').last().unwrap_or_default().to_string();
        let (ours, theirs): (Vec<String>, Vec<String>) =
            (launcher_mounts.iter().map(unnumbered).collect(), floor_mounts.iter().map(unnumbered).collect());
        let mut diff = String::new();
        for line in ours.iter().filter(|l| !theirs.contains(l)) {
            diff += &format!("  only launcher: {line}\n");
        }
        for line in theirs.iter().filter(|l| !ours.contains(l)) {
            diff += &format!("  only floor:    {line}\n");
        }
        if diff.is_empty() {
            diff = "  (the same mounts, in another order or tree, or sharing other devices)\n".into();
        }
        panic!(
            "bench/floor/floor-same.c no longer builds the launcher's mounts; make it match init's:\n{diff}\
             launcher:\n{}\nfloor:\n{}",
            launcher_mounts.join("\n"),
            floor_mounts.join("\n")
        );
    }
    assert_eq!(launcher_status, floor_status, "capability sets, no_new_privs or seccomp differ");
    assert_eq!(launcher_host, floor_host, "hostname differs");
}

#[test]
fn the_comparison_sees_a_missing_mask() {
    // The normalization must not hide a difference of one mount.
    let full = "20 10 0:5 / / rw - ext4 /dev/vda rw\n\
                21 20 0:41 / /proc rw - proc proc rw\n\
                22 21 0:44 / /proc/acpi ro - tmpfs tmpfs ro,size=0k\n\
                23 21 0:6 /null /proc/keys rw - devtmpfs devtmpfs rw\n";
    let without_one: String =
        full.lines().filter(|l| !l.contains("/proc/keys")).map(|l| format!("{l}\n")).collect();
    let renumbered = full.replace("20 ", "30 ").replace(" 20 ", " 30 ").replace("0:41", "0:50");
    assert_ne!(normalize_mountinfo(full), normalize_mountinfo(&without_one));
    assert_eq!(normalize_mountinfo(full), normalize_mountinfo(&renumbered));
}
