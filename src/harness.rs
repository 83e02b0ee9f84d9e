//! The spec harness: one libtest-mimic trial per spec file, so `cargo test` (and nextest)
//! run a folder of specs with the usual filters, `--list`, `--ignored` and `--test-threads`.
//!
//! A user's crate needs three lines in a `harness = false` test:
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     podcheck::harness::main("specs", &[])
//! }
//! ```
//! Specs under a `must-fail/` folder are checked the other way round: the trial passes when
//! the spec fails and its report contains every line of the sibling `.expected-failure` file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, RwLock};

use libtest_mimic::{Arguments, Failed, Trial};

use crate::report::verdict;
use crate::runner::{RunGuard, RunOptions, run_spec};
use crate::runtime::process;
use crate::spec::load_spec;

/// Serial specs take this for writing; all others for reading.
static SERIAL: RwLock<()> = RwLock::new(());
/// Loopback ports held by running trials; pods whose ports overlap run one after another.
static PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
static PORTS_FREED: Condvar = Condvar::new();

/// Holds a trial's ports until it ends.
struct PortClaim(BTreeSet<u16>);

impl PortClaim {
    /// Waits until none of `ports` is held by another trial, then holds them all at once
    /// (all-or-nothing, so two trials can never wait for each other).
    fn acquire(ports: BTreeSet<u16>) -> Self {
        let mut held = PORTS.lock().unwrap_or_else(|p| p.into_inner());
        while ports.iter().any(|p| held.contains(p)) {
            held = PORTS_FREED.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        held.extend(ports.iter().copied());
        PortClaim(ports)
    }
}

impl Drop for PortClaim {
    fn drop(&mut self) {
        let mut held = PORTS.lock().unwrap_or_else(|p| p.into_inner());
        for p in &self.0 {
            held.remove(p);
        }
        PORTS_FREED.notify_all();
    }
}
static TRIAL_SEQ: AtomicUsize = AtomicUsize::new(0);

/// Runs every spec under `dir` as a trial; `extra_path` is put in front of containers' PATH.
pub fn main(dir: impl AsRef<Path>, extra_path: &[PathBuf]) -> ExitCode {
    let args = Arguments::from_args();
    let dir = dir.as_ref().to_owned();
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    if files.is_empty() {
        eprintln!(
            "error: no spec files (*.toml) found under {}",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let session = RunGuard::new();
    let session_id = session.run_id().to_owned();
    let trials: Vec<Trial> = files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let extra = extra_path.to_vec();
            let session_id = session_id.clone();
            Trial::test(name, move || run_trial(&path, &extra, &session_id)).with_kind("spec")
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(session);
    // Every process any trial started carries the session prefix in PODCHECK_RUN.
    let leaked = process::tagged_pids("PODCHECK_RUN", |v| v.starts_with(&session_id));
    if !leaked.is_empty() {
        eprintln!("error: processes of this test run are still alive after it: {leaked:?}");
        process::kill_tagged_prefix("PODCHECK_RUN", &session_id);
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

fn run_trial(path: &Path, extra_path: &[PathBuf], session_id: &str) -> Result<(), Failed> {
    let loaded = load_spec(path).map_err(|d| Failed::from(d.render()))?;
    let _lock = if loaded.spec.run.serial {
        (
            None,
            Some(SERIAL.write().unwrap_or_else(|p| p.into_inner())),
        )
    } else {
        (Some(SERIAL.read().unwrap_or_else(|p| p.into_inner())), None)
    };
    // Pods share the host's loopback, so trials whose ports overlap take turns.
    let _ports = PortClaim::acquire(crate::spec::ports::pod_ports(&loaded.spec.pod));
    let seq = TRIAL_SEQ.fetch_add(1, Ordering::Relaxed);
    let guard = RunGuard::with_id(format!("{session_id}-{seq}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot start the async runtime: {e}")))?;
    let opts = RunOptions {
        extra_path: extra_path.to_vec(),
        ..RunOptions::default()
    };
    let report = rt
        .block_on(run_spec(&loaded, &opts, guard.run_id(), &mut |_| {}, None))
        .map_err(|e| Failed::from(e.to_string()))?;
    drop(guard);
    let text = verdict::render(&path.display().to_string(), &report);
    let must_fail = path.components().any(|c| c.as_os_str() == "must-fail");
    if !must_fail {
        return if report.passed() {
            Ok(())
        } else {
            Err(Failed::from(text))
        };
    }
    if report.passed() {
        return Err(Failed::from(format!(
            "this spec is in must-fail/ but it passed:\n{text}"
        )));
    }
    let expected_path = path.with_extension("expected-failure");
    let expected = std::fs::read_to_string(&expected_path).map_err(|e| {
        Failed::from(format!(
            "cannot read {}: {e} (each must-fail spec needs one)",
            expected_path.display()
        ))
    })?;
    let missing: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !text.contains(l))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failed::from(format!(
            "the failure report lacks the expected explanation {missing:?}:\n{text}"
        )))
    }
}
