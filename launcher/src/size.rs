//! Parsing of docker-style limit values: sizes (`--memory 50m`), the
//! `--memory-swap` total, CPU counts (`--cpus 0.5`) and `--pids-limit`.
//! Every error says which value was wrong and what a good one looks like.

/// A CPU limit as the kernel's CFS bandwidth control takes it: `quota` µs of
/// CPU time per `period` µs (v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`, v2 `cpu.max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpus {
    pub quota: u64,
    pub period: u64,
}

/// `--memory-swap`: docker's total of memory plus swap, or -1 for unlimited swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Swap {
    Unlimited,
    Total(u64),
}

/// docker's CFS period (100 ms); a quota below 1 ms is refused by the kernel.
const PERIOD_US: u64 = 100_000;
const MIN_QUOTA_US: u64 = 1_000;

/// Split "12.5" into (12, 5, 1): integer part, fraction digits as an integer, and
/// their count. No floats: "0.1" must stay exact.
fn decimal(s: &str) -> Option<(u64, u64, u32)> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 18 {
        return None;
    }
    let i = int.parse::<u64>().ok()?;
    let f = if frac.is_empty() { 0 } else { frac.parse::<u64>().ok()? };
    Some((i, f, frac.len() as u32))
}

/// A docker size: plain bytes or a number with b, k/kb, m/mb, g/gb, t/tb
/// (binary multiples, case-insensitive, "1.5g" allowed). Zero is refused:
/// a zero limit is never what was meant.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = |why: &str| {
        format!("invalid size {s:?}: {why} (use a positive number of bytes, optionally with a unit b, k, m, g or t, e.g. 512m or 1.5g)")
    };
    let t = s.trim();
    if t.starts_with('-') {
        return Err(bad("negative"));
    }
    let lower = t.to_ascii_lowercase();
    let split = lower.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let shift = match unit {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(bad(&format!("unknown unit {unit:?}"))),
    };
    let (int, frac, digits) = decimal(num).ok_or_else(|| bad("not a number"))?;
    let mult = 1u128 << shift;
    let total = (int as u128) * mult + (frac as u128) * mult / 10u128.pow(digits);
    let bytes = u64::try_from(total).map_err(|_| bad("too large"))?;
    if bytes > i64::MAX as u64 {
        return Err(bad("too large"));
    }
    if bytes == 0 {
        return Err(bad("zero"));
    }
    Ok(bytes)
}

/// `--memory-swap`: a size (memory plus swap), or "-1" for unlimited swap.
pub fn parse_swap(s: &str) -> Result<Swap, String> {
    if s.trim() == "-1" {
        return Ok(Swap::Unlimited);
    }
    parse_size(s).map(Swap::Total).map_err(|e| format!("--memory-swap: {e}, or -1 for unlimited swap"))
}

/// `--pids-limit`: a positive count of processes (threads count too).
pub fn parse_pids_limit(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err(format!("invalid --pids-limit {s:?}: must be at least 1 (leave it out for no limit)")),
        Ok(n) if n <= i64::MAX as u64 => Ok(n),
        _ => Err(format!("invalid --pids-limit {s:?}: expected a positive whole number of processes")),
    }
}

/// Number of CPUs this process may run on, which is what docker compares `--cpus` with.
pub fn available_cpus() -> u64 {
    // SAFETY: cpu_set_t is plain bits; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set);
            if n > 0 {
                return n as u64;
            }
        }
        let n = libc::sysconf(libc::_SC_NPROCESSORS_ONLN);
        if n > 0 {
            n as u64
        } else {
            1
        }
    }
}

/// `--cpus`: a decimal number of CPUs, 0.01 up to the CPUs available (as docker).
pub fn parse_cpus(s: &str) -> Result<Cpus, String> {
    parse_cpus_on(s, available_cpus())
}

pub fn parse_cpus_on(s: &str, host_cpus: u64) -> Result<Cpus, String> {
    let range = format!("the range is 0.01 to {host_cpus}, as this host has {host_cpus} CPUs");
    let t = s.trim();
    let (int, frac, digits) = match decimal(t) {
        Some(d) if !t.starts_with('-') => d,
        _ => {
            return Err(format!(
                "invalid --cpus {s:?}: expected a decimal number of CPUs such as 0.5 or 2 ({range})"
            ))
        }
    };
    // quota µs per 100 ms period: cpus * 100000, kept exact in integers.
    let quota = (int as u128) * PERIOD_US as u128 + (frac as u128) * PERIOD_US as u128 / 10u128.pow(digits);
    if quota < MIN_QUOTA_US as u128 {
        return Err(format!("invalid --cpus {s:?}: too small ({range})"));
    }
    if quota > (host_cpus as u128) * PERIOD_US as u128 {
        return Err(format!("invalid --cpus {s:?}: more than available ({range})"));
    }
    Ok(Cpus { quota: quota as u64, period: PERIOD_US })
}

/// Bytes back in the unit a person would have typed, for messages ("limit 50m").
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "t"), (30, "g"), (20, "m"), (10, "k")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    if bytes >= 1 << 20 {
        // One decimal, rounded, in integers (float formatting costs 13 KiB of binary).
        let tenths = (bytes as u128 * 10 + (1 << 19)) >> 20;
        return format!("{}.{}m", tenths / 10, tenths % 10);
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("10b"), Ok(10));
        assert_eq!(parse_size("10B"), Ok(10));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert_eq!(parse_size("2KB"), Ok(2048));
        assert_eq!(parse_size("50m"), Ok(50 << 20));
        assert_eq!(parse_size("50Mb"), Ok(50 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("0.5k"), Ok(512));
        assert_eq!(parse_size("2t"), Ok(2 << 40));
    }

    #[test]
    fn bad_sizes() {
        for s in [
            "",
            "0",
            "0m",
            "0.0g",
            "-1",
            "-5m",
            "m",
            "abc",
            "5x",
            "5 m",
            "1.",
            ".5m",
            "1..2m",
            "5mm",
            "99999999999999999999",
            "9999999999t",
            "8388608t",
        ] {
            let e = parse_size(s).expect_err(s);
            assert!(e.contains(&format!("{s:?}")), "{e}");
        }
        assert!(parse_size("-5m").unwrap_err().contains("negative"));
        assert!(parse_size("0").unwrap_err().contains("zero"));
        assert!(parse_size("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_size("9999999999t").unwrap_err().contains("too large"));
    }

    #[test]
    fn swap_and_pids() {
        assert_eq!(parse_swap("-1"), Ok(Swap::Unlimited));
        assert_eq!(parse_swap("100m"), Ok(Swap::Total(100 << 20)));
        assert!(parse_swap("-2").is_err());
        assert_eq!(parse_pids_limit("64"), Ok(64));
        assert!(parse_pids_limit("0").unwrap_err().contains("at least 1"));
        assert!(parse_pids_limit("-1").is_err());
        assert!(parse_pids_limit("ten").is_err());
    }

    #[test]
    fn cpus() {
        let c = |s| parse_cpus_on(s, 2);
        assert_eq!(c("0.5"), Ok(Cpus { quota: 50_000, period: 100_000 }));
        assert_eq!(c("1"), Ok(Cpus { quota: 100_000, period: 100_000 }));
        assert_eq!(c("2"), Ok(Cpus { quota: 200_000, period: 100_000 }));
        assert_eq!(c("1.25"), Ok(Cpus { quota: 125_000, period: 100_000 }));
        assert_eq!(c("0.01"), Ok(Cpus { quota: 1_000, period: 100_000 }));
        assert!(c("2.5").unwrap_err().contains("more than available"));
        assert!(c("0").unwrap_err().contains("too small"));
        assert!(c("0.001").unwrap_err().contains("too small"));
        for s in ["-1", "", "x", "1,5", "1e3", "0.5.1"] {
            assert!(c(s).unwrap_err().contains("0.01 to 2"), "{s}");
        }
        assert!(available_cpus() >= 1);
    }

    #[test]
    fn formats() {
        assert_eq!(format_size(50 << 20), "50m");
        assert_eq!(format_size(1 << 30), "1g");
        assert_eq!(format_size(3 << 29), "1536m");
        assert_eq!(format_size(512), "512 bytes");
        assert_eq!(format_size(2048), "2k");
    }
}
