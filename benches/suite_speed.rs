//! Suite speed: the wall time of `podcheck test specs/` against its floors, measured in the
//! same run from the suite's own JUnit file. The floor of a fully parallel suite is its
//! longest spec (each testcase's time is that spec's own run, not its wait for a turn); the
//! sum of every spec's time is what a suite run one spec at a time would take.
//!
//! The suite runs twice: with libtest's default of one trial per core (`--test-threads`
//! set to the core count) and with podcheck's default (several trials per core, since
//! specs mostly wait on timers), so the table shows what the default buys on this machine.
//! `PODCHECK_BENCH_CARGO_TEST=1` also times the project's own `cargo test` (debug build
//! included; minutes). `PODCHECK_BENCH_SMOKE=1` runs only `basics/`, once.

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");
const FIXTURE: &str = env!("CARGO_BIN_EXE_podcheck-fixture");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The budget for `cargo test` of the project on 2 cores.
const CARGO_TEST_BUDGET: Duration = Duration::from_secs(300);

/// One timed run of the suite.
struct SuiteRun {
    wall: Duration,
    passed: bool,
    /// (spec, its own time) for every spec that ran.
    cases: Vec<(String, Duration)>,
}

pub fn main() -> ExitCode {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("suite_speed: cannot make a scratch folder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let filter = common::smoke().then_some("basics/");
    let mut modes: Vec<(String, Option<usize>)> = Vec::new();
    if !common::smoke() {
        modes.push((format!("{cores} at once (one per core)"), Some(cores)));
    }
    modes.push(("podcheck's default".to_owned(), None));
    let mut ok = true;
    for (i, (label, threads)) in modes.iter().enumerate() {
        let junit = tmp.path().join(format!("junit-{i}.xml"));
        let run = match run_suite(&junit, *threads, filter) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("suite_speed: {e}");
                return ExitCode::FAILURE;
            }
        };
        ok &= run.passed;
        report(label, &run);
    }
    if std::env::var("PODCHECK_BENCH_CARGO_TEST").is_ok_and(|v| v == "1") && !common::smoke() {
        match cargo_test() {
            Ok((wall, passed)) => {
                ok &= passed;
                common::row(
                    "suite_speed",
                    "`cargo test` of the project (build included)",
                    &format!(
                        "{:.0} s{}",
                        wall.as_secs_f64(),
                        if passed { "" } else { " (FAILED)" }
                    ),
                    "-",
                    "-",
                    "< 300 s on 2 cores",
                    Some(wall <= CARGO_TEST_BUDGET),
                );
            }
            Err(e) => {
                eprintln!("suite_speed: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("suite_speed: a run failed (see above): its times are still printed");
        ExitCode::FAILURE
    }
}

/// Runs `podcheck test specs/` once, writing its JUnit file to `junit`.
fn run_suite(
    junit: &Path,
    threads: Option<usize>,
    filter: Option<&str>,
) -> Result<SuiteRun, String> {
    let mut cmd = Command::new(BIN);
    cmd.arg("test")
        .arg(Path::new(ROOT).join("specs"))
        .arg("--junit")
        .arg(junit)
        .arg("--")
        .env("PATH", path_with_fixture())
        .env_remove("PODCHECK_TIME_SCALE")
        .env_remove("RUST_TEST_THREADS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(n) = threads {
        cmd.arg("--test-threads").arg(n.to_string());
    }
    if let Some(f) = filter {
        cmd.arg(f);
    }
    let started = Instant::now();
    let out = cmd.output().map_err(|e| format!("cannot run {BIN}: {e}"))?;
    let wall = started.elapsed();
    let text = std::fs::read_to_string(junit)
        .map_err(|e| format!("the suite wrote no JUnit file {}: {e}", junit.display()))?;
    let cases = testcases(&text)?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(SuiteRun {
        wall,
        passed: out.status.success(),
        cases,
    })
}

/// The containers find the fixture app on PATH, as in the conformance test target.
fn path_with_fixture() -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = Path::new(FIXTURE)
        .parent()
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// (name, time) of every testcase that ran (skipped ones have no run to count).
fn testcases(xml: &str) -> Result<Vec<(String, Duration)>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<(String, Duration)> = None;
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("JUnit file: {e}"))?
        {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                if let Some(c) = current.take() {
                    out.push(c);
                }
                let mut name = String::new();
                let mut time = Duration::ZERO;
                for a in e.attributes().flatten() {
                    let v = String::from_utf8_lossy(&a.value).into_owned();
                    match a.key.as_ref() {
                        b"name" => name = v,
                        b"time" => {
                            time = v
                                .parse::<f64>()
                                .ok()
                                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                                .unwrap_or_default();
                        }
                        _ => {}
                    }
                }
                current = Some((name, time));
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"skipped" => {
                current = None;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out.extend(current);
    Ok(out)
}

fn report(label: &str, run: &SuiteRun) {
    let longest = run
        .cases
        .iter()
        .max_by_key(|(_, t)| *t)
        .cloned()
        .unwrap_or_default();
    let sum: Duration = run.cases.iter().map(|(_, t)| *t).sum();
    let secs = |d: Duration| d.as_secs_f64();
    let ratio = if longest.1.is_zero() {
        "-".to_owned()
    } else {
        format!("{:.2}x", secs(run.wall) / secs(longest.1))
    };
    println!(
        "{label}: {} specs ran in {:.1} s; longest {} ({:.1} s); sum {:.1} s{}",
        run.cases.len(),
        secs(run.wall),
        longest.0,
        secs(longest.1),
        secs(sum),
        if run.passed { "" } else { "; the suite FAILED" }
    );
    common::row(
        "suite_speed",
        &format!(
            "`podcheck test specs/`, {label}: wall time ({} specs)",
            run.cases.len()
        ),
        &format!("{:.1} s", secs(run.wall)),
        &format!(
            "{:.1} s (the longest spec, {}); {:.1} s all specs one after another",
            secs(longest.1),
            longest.0,
            secs(sum)
        ),
        &format!(
            "{ratio} the longest; {:.2}x the sum",
            if sum.is_zero() {
                0.0
            } else {
                secs(run.wall) / secs(sum)
            }
        ),
        "-",
        None,
    );
}

/// Times the project's own `cargo test` in a target folder of its own.
fn cargo_test() -> Result<(Duration, bool), String> {
    let started = Instant::now();
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .arg("test")
        .current_dir(ROOT)
        .env_remove("RUST_TEST_THREADS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    Ok((started.elapsed(), status.success()))
}
