//! What the many-pod benchmarks share: their settings (pod counts, smoke mode), the CPU and
//! memory of podcheck's own processes read from /proc, percentiles, and the result rows
//! `ci/bench.sh` collects into BENCHMARKS.md.
#![allow(dead_code)]

use std::time::Duration;

/// Set (to anything but `0`) for the quick mode CI runs so the benchmarks cannot rot:
/// tiny pod counts and short windows; the figures are printed, never judged.
pub const SMOKE_VAR: &str = "PODCHECK_BENCH_SMOKE";
/// A comma-separated list of pod counts, e.g. `10,100,1000`.
pub const PODS_VAR: &str = "PODCHECK_BENCH_PODS";

/// Whether this is a smoke run.
pub fn smoke() -> bool {
    std::env::var(SMOKE_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The pod counts to measure: `PODCHECK_BENCH_PODS`, the first argument that is such a list,
/// else `default` (or 2 in smoke mode).
pub fn pod_counts(default: &[usize]) -> Vec<usize> {
    let parse = |s: &str| -> Option<Vec<usize>> {
        let v: Option<Vec<usize>> = s.split(',').map(|p| p.trim().parse().ok()).collect();
        v.filter(|v| !v.is_empty() && v.iter().all(|&n| n > 0))
    };
    if let Some(v) = std::env::var(PODS_VAR).ok().and_then(|s| parse(&s)) {
        return v;
    }
    if let Some(v) = std::env::args().skip(1).find_map(|a| parse(&a)) {
        return v;
    }
    if smoke() { vec![2] } else { default.to_vec() }
}

/// Raises the open-file limit to its hard limit (each pod holds a few descriptors).
pub fn raise_fd_limit() {
    podcheck::runtime::limits::raise_open_files();
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// This process's CPU (user + system, all threads).
pub fn self_cpu() -> Duration {
    cpu_of(libc::RUSAGE_SELF)
}

/// CPU time (user + system) of the calling thread alone: a floor measured on one thread
/// must not count other threads' work (a run's teardown still ending in the background).
pub fn thread_cpu() -> Duration {
    cpu_of(libc::RUSAGE_THREAD)
}

/// User + system CPU of `who` (a getrusage target).
fn cpu_of(who: libc::c_int) -> Duration {
    // SAFETY: rusage is plain data; getrusage fills it through a valid pointer.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn clock_tick() -> f64 {
    // SAFETY: a plain getter.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// (ppid, utime + stime in seconds) of a process, from /proc/PID/stat.
fn stat(pid: i32) -> Option<(i32, f64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(0) ppid(1) ... utime(11) stime(12).
    let ppid = f.get(1)?.parse().ok()?;
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    Some((ppid, (ut + st) / clock_tick()))
}

/// The processes podcheck forked for itself (pod sandboxes, shims): descendants of this
/// process that run this program's own image (they never exec), by pid with their CPU in
/// seconds. Containers, which exec their image, are not among them.
pub fn helpers() -> Vec<(i32, f64)> {
    let me = std::process::id() as i32;
    let own_exe = std::fs::read_link("/proc/self/exe").ok();
    let mut procs = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
                && let Some((ppid, cpu)) = stat(pid)
            {
                procs.push((pid, ppid, cpu));
            }
        }
    }
    let parent: std::collections::HashMap<i32, i32> =
        procs.iter().map(|&(p, pp, _)| (p, pp)).collect();
    let descends = |mut p: i32| {
        // Bounded: a parent chain is at most as long as the process table.
        for _ in 0..parent.len() {
            match parent.get(&p) {
                Some(&pp) if pp == me => return true,
                Some(&pp) if pp > 1 => p = pp,
                _ => return false,
            }
        }
        false
    };
    procs
        .into_iter()
        .filter(|&(pid, _, _)| pid != me && descends(pid))
        .filter(|&(pid, _, _)| std::fs::read_link(format!("/proc/{pid}/exe")).ok() == own_exe)
        .map(|(pid, _, cpu)| (pid, cpu))
        .collect()
}

/// CPU the helpers in `after` used since `before` (pids present in both; a helper that
/// started in between counts from zero).
pub fn helpers_cpu(before: &[(i32, f64)], after: &[(i32, f64)]) -> Duration {
    let b: std::collections::HashMap<i32, f64> = before.iter().copied().collect();
    let secs: f64 = after
        .iter()
        .map(|(pid, cpu)| cpu - b.get(pid).copied().unwrap_or(0.0))
        .filter(|d| *d > 0.0)
        .sum();
    Duration::from_secs_f64(secs)
}

/// A field of /proc/PID/smaps_rollup or status, in MiB (`Pss:`, `Rss:`, `VmRSS:`).
fn kib_field(path: &str, field: &str) -> f64 {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The memory of this process and `helpers`: (proportional set size, resident set size),
/// in MiB. Helpers are forks that share most pages with the runner, so the sum of RSS
/// counts those pages once per process; PSS divides each shared page among its sharers
/// and so adds up to what the processes really occupy.
pub fn memory_mib(helpers: &[(i32, f64)]) -> (f64, f64) {
    let mut pss = kib_field("/proc/self/smaps_rollup", "Pss:");
    let mut rss = kib_field("/proc/self/status", "VmRSS:");
    for (pid, _) in helpers {
        pss += kib_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:");
        rss += kib_field(&format!("/proc/{pid}/status"), "VmRSS:");
    }
    (pss, rss)
}

/// The q-quantile of sorted values (0 when empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// One figure: printed as a Markdown table row (`| bench | figure | value | floor | ratio |
/// budget | verdict |`) that ci/bench.sh copies into BENCHMARKS.md.
pub fn row(
    bench: &str,
    figure: &str,
    value: &str,
    floor: &str,
    ratio: &str,
    budget: &str,
    ok: Option<bool>,
) {
    let verdict = match ok {
        None => "-",
        Some(true) => "within",
        Some(false) => "**over**",
    };
    println!("| {bench} | {figure} | {value} | {floor} | {ratio} | {budget} | {verdict} |");
}

/// The `probe timing error p50 / p99 / max` row of sorted errors in ms; `ok` judges the p99.
pub fn timing_error_row(bench: &str, errors_ms: &[f64], budget: &str, ok: Option<fn(f64) -> bool>) {
    let p99 = percentile(errors_ms, 0.99);
    row(
        bench,
        "probe timing error p50 / p99 / max",
        &format!(
            "{:.2} / {p99:.2} / {:.2} ms",
            percentile(errors_ms, 0.5),
            errors_ms.last().copied().unwrap_or(0.0)
        ),
        "0 (the kubelet's schedule)",
        "-",
        budget,
        ok.map(|f| !errors_ms.is_empty() && f(p99)),
    );
}

/// Run options for pods in pod isolation, with the fixture app's folder on PATH.
pub fn pod_mode_options(fixture: &str) -> podcheck::runner::RunOptions {
    podcheck::runner::RunOptions {
        isolation: Some(podcheck::runtime::isolation::Isolation::Pod),
        extra_path: std::path::Path::new(fixture)
            .parent()
            .map(std::path::PathBuf::from)
            .into_iter()
            .collect(),
        ..podcheck::runner::RunOptions::default()
    }
}

/// Whether pod isolation can run here; otherwise the reason, printed by the caller.
pub fn pod_mode_available() -> Result<(), String> {
    match podcheck::runtime::isolation::decide(podcheck::runtime::isolation::Isolation::Pod) {
        Ok((true, _)) => Ok(()),
        Ok((false, note)) => Err(note),
        Err(e) => Err(e),
    }
}
