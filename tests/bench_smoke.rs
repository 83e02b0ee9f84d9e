//! The benchmarks in smoke mode (`PODCHECK_BENCH_SMOKE=1`: a few pods, a few seconds), so
//! they cannot rot: each runs in its own process (this binary, re-executed with
//! `PODCHECK_BENCH_RUN=NAME`) and must finish and print its result rows. The numbers are
//! not judged; `ci/bench.sh` measures them for real.

// Each benchmark is its own crate with its own copy of benches/common; here they are
// modules side by side, so that file is loaded once per benchmark.
#![allow(clippy::duplicate_mod)]

#[path = "../benches/container_start.rs"]
mod container_start;
#[path = "../benches/event_timing.rs"]
mod event_timing;
#[path = "../benches/pod_density.rs"]
mod pod_density;
#[path = "../benches/probe_load.rs"]
mod probe_load;
#[path = "../benches/services_scale.rs"]
mod services_scale;
#[path = "../benches/suite_speed.rs"]
mod suite_speed;
#[path = "../benches/teardown.rs"]
mod teardown;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

const RUN_VAR: &str = "PODCHECK_BENCH_RUN";
/// probe_load re-executes its own binary as its HTTP server, with this variable set.
const PROBE_LOAD_SERVER_VAR: &str = "PODCHECK_BENCH_SERVER_OUT";

/// (benchmark, a text its output must contain besides the result rows).
const BENCHES: &[(&str, &str)] = &[
    ("container_start", "floor (fork/exec of true)"),
    ("event_timing", "event_timing"),
    ("pod_density", "pod_density"),
    ("probe_load", "HTTP probes in a"),
    ("suite_speed", "specs ran in"),
    ("services_scale", "1 pod behind 1 Service, twice"),
    ("teardown", "pods ("),
];

fn smoke(name: &'static str, marker: &'static str) -> Result<(), Failed> {
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .env(RUN_VAR, name)
        .env("PODCHECK_BENCH_SMOKE", "1")
        .env_remove("PODCHECK_BENCH_PODS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    // Bounded: a smoke run that takes over a minute is a hang.
    let limit = Duration::from_secs(60);
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{name} did not finish within {limit:?} in smoke mode").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("{name} failed in smoke mode ({}):\n{text}", out.status).into());
    }
    // A benchmark that cannot run here says why and prints no rows (pod isolation missing).
    let skipped = stdout.contains(": skipped:");
    let rows = stdout.lines().filter(|l| l.starts_with("| ")).count();
    if !stdout.contains(marker) || (rows == 0 && !skipped) {
        return Err(format!("{name} printed no figures in smoke mode:\n{text}").into());
    }
    if skipped {
        println!("{name}: {}", stdout.trim());
    }
    Ok(())
}

fn main() -> ExitCode {
    if std::env::var_os(PROBE_LOAD_SERVER_VAR).is_some() {
        probe_load::main();
        return ExitCode::SUCCESS;
    }
    if let Ok(name) = std::env::var(RUN_VAR) {
        match name.as_str() {
            "container_start" => container_start::main(),
            "event_timing" => event_timing::main(),
            "pod_density" => pod_density::main(),
            "probe_load" => probe_load::main(),
            "suite_speed" => return suite_speed::main(),
            "services_scale" => services_scale::main(),
            "teardown" => teardown::main(),
            other => {
                eprintln!("unknown benchmark {other}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    let trials = BENCHES
        .iter()
        .map(|&(name, marker)| Trial::test(name, move || smoke(name, marker)))
        .collect();
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}
