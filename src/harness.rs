//! The spec harness: one libtest-mimic trial per spec file, so `cargo test` (and nextest)
//! run a folder of specs with the usual filters, `--list`, `--ignored` and `--test-threads`.
//!
//! A user's crate needs three lines in a `harness = false` test:
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     podcheck::harness::main("specs", &[])
//! }
//! ```
//! Images can be mapped to local commands for every spec, as `podcheck run --image` does:
//! with [`main_with_images`], or from the environment as
//! `PODCHECK_IMAGES='registry/app:1.2=./target/release/app --port 8080'` (one `NAME=CMD` per
//! line; CMD split like a shell command line). The function's entries win over the
//! variable's for the same image.
//!
//! Specs under a `must-fail/` folder are checked the other way round: the trial passes when
//! the spec fails and its report contains every line of the sibling `.expected-failure` file
//! (a line starting `why: ` must be in the report's cause section, before the expectations).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};

use libtest_mimic::Arguments;

use crate::report::{junit, verdict};
use crate::runner::RunGuard;
use crate::runtime::isolation::Isolation;
use crate::runtime::process;
use crate::spec::{LoadOptions, parse_spec_with, read_spec_source};

pub mod partition;
pub use partition::Partition;
mod discover;
mod judge;
mod order;
pub mod recheck;
mod suite;
pub mod threads;
mod trial;
mod turns;
/// The trial type of [`Suite::with_trial`] and its failure, from libtest-mimic.
pub use libtest_mimic::{Failed, Trial};
pub use suite::Suite;

static TRIAL_SEQ: AtomicUsize = AtomicUsize::new(0);

/// The directory of a binary, as a one-element PATH list (for `CARGO_BIN_EXE_*` fixtures).
pub fn dir_of(binary: &str) -> Vec<PathBuf> {
    Path::new(binary)
        .parent()
        .map(PathBuf::from)
        .into_iter()
        .collect()
}

/// Isolation forced by the test target (see [`main_with_isolation`]).
static FORCED: OnceLock<Isolation> = OnceLock::new();
/// Time scale given to `podcheck test --time-scale`; otherwise `PODCHECK_TIME_SCALE`.
static FORCED_SCALE: OnceLock<crate::clock::TimeScale> = OnceLock::new();
/// JUnit file given to `podcheck test --junit`; otherwise `PODCHECK_JUNIT`.
static FORCED_JUNIT: OnceLock<PathBuf> = OnceLock::new();
/// Directory given to `podcheck test --timeline-dir`; otherwise `PODCHECK_TIMELINE_DIR`.
static TIMELINE_DIR: OnceLock<PathBuf> = OnceLock::new();
/// Partition given to `podcheck test --partition`; otherwise `PODCHECK_PARTITION`.
static FORCED_PARTITION: OnceLock<Partition> = OnceLock::new();
/// The testcases of this suite, when a JUnit file is to be written.
static CASES: junit::Collector = junit::Collector::new();

/// Writes the suite's JUnit XML to `path` (what `podcheck test --junit` does; otherwise
/// the `PODCHECK_JUNIT` environment variable names the file).
pub fn junit_to(path: PathBuf) {
    let _ = FORCED_JUNIT.set(path);
}

/// Writes each spec's timeline picture into `dir` (what `podcheck test --timeline-dir`
/// does; otherwise the `PODCHECK_TIMELINE_DIR` environment variable names the folder), as
/// `<spec path below the suite folder, / as ->.svg`.
pub fn timelines_to(dir: PathBuf) {
    let _ = TIMELINE_DIR.set(dir);
}

/// The folder of this suite's timeline pictures, if any.
fn timeline_dir() -> Option<PathBuf> {
    TIMELINE_DIR.get().cloned().or_else(|| {
        std::env::var_os("PODCHECK_TIMELINE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Runs only one bucket of the suite (what `podcheck test --partition` does; otherwise the
/// `PODCHECK_PARTITION` environment variable, e.g. `hash:2/4`, says which).
pub fn partition_to(p: Partition) {
    let _ = FORCED_PARTITION.set(p);
}

/// This suite's partition, if any; an unusable `PODCHECK_PARTITION` is an error.
fn suite_partition() -> Result<Option<Partition>, String> {
    if let Some(p) = FORCED_PARTITION.get() {
        return Ok(Some(*p));
    }
    match std::env::var("PODCHECK_PARTITION") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| format!("PODCHECK_PARTITION: {e}")),
        _ => Ok(None),
    }
}

/// The JUnit file of this suite, if any.
fn junit_path() -> Option<PathBuf> {
    FORCED_JUNIT.get().cloned().or_else(|| {
        std::env::var_os("PODCHECK_JUNIT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Records a finished trial as a JUnit testcase when a file is to be written.
fn record_case(
    name: &str,
    result: &Result<(), Failed>,
    loaded: bool,
    time: std::time::Duration,
    logs: String,
) {
    if junit_path().is_none() {
        return;
    }
    let outcome = match result {
        Ok(()) => junit::CaseOutcome::Passed,
        Err(f) => {
            let text = f.message().unwrap_or("the trial failed").to_owned();
            if loaded {
                // The first cause line is the message a CI page shows next to the name.
                let message = verdict::first_cause(&text).to_owned();
                junit::CaseOutcome::Failed { message, text }
            } else {
                junit::CaseOutcome::Error { message: text }
            }
        }
    };
    CASES.push(junit::Case {
        name: name.to_owned(),
        outcome,
        time,
        system_out: logs,
    });
}

/// Image entries given to [`main_with_images`] or `podcheck test --image`.
static FORCED_IMAGES: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();

/// Runs every spec under `dir` as a trial; `extra_path` is put in front of containers' PATH.
pub fn main(dir: impl AsRef<Path>, extra_path: &[PathBuf]) -> ExitCode {
    Suite::new(dir, extra_path).main()
}

/// Like [`main`], with images mapped to local commands for every spec, e.g.
/// `&[("registry/app:1.2", "./target/release/app --port 8080")]` (the command split like a
/// shell command line). A command that does not split is a failed suite, said on stderr.
pub fn main_with_images(
    dir: impl AsRef<Path>,
    extra_path: &[PathBuf],
    images: &[(&str, &str)],
) -> ExitCode {
    let mut parsed = Vec::new();
    for (name, cmd) in images {
        match crate::spec::image_arg::parse_image_arg(&format!("{name}={cmd}")) {
            Ok(p) => parsed.push(p),
            Err(e) => {
                eprintln!("error: {e}");
                return exit_code(false);
            }
        }
    }
    let _ = FORCED_IMAGES.set(parsed);
    Suite::new(dir, extra_path).main()
}

/// The suite's image entries: `PODCHECK_IMAGES` (one `NAME=CMD` per line), then the ones
/// given in code or on the command line, which win.
fn suite_images() -> Result<Vec<(String, Vec<String>)>, String> {
    let mut out = Vec::new();
    if let Ok(v) = std::env::var("PODCHECK_IMAGES") {
        for line in v.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.push(
                crate::spec::image_arg::parse_image_arg(line)
                    .map_err(|e| format!("PODCHECK_IMAGES: {e}"))?,
            );
        }
    }
    out.extend(FORCED_IMAGES.get().into_iter().flatten().cloned());
    Ok(out)
}

/// Like [`main`], but every spec runs with `isolation`, whatever the spec or the
/// environment say (a suite that checks one mode on purpose).
pub fn main_with_isolation(
    dir: impl AsRef<Path>,
    extra_path: &[PathBuf],
    isolation: Isolation,
) -> ExitCode {
    let _ = FORCED.set(isolation);
    Suite::new(dir, extra_path).main()
}

/// Runs every spec under `dir` as a trial, with libtest's command-line `args` (what
/// `podcheck test` does); `isolation`, `time_scale` and `images` override the specs'
/// settings.
/// Returns whether the suite passed.
pub fn run_suite(
    dir: &Path,
    extra_path: &[PathBuf],
    isolation: Option<Isolation>,
    time_scale: Option<crate::clock::TimeScale>,
    images: Vec<(String, Vec<String>)>,
    args: Arguments,
) -> bool {
    if let Some(i) = isolation {
        let _ = FORCED.set(i);
    }
    if !images.is_empty() {
        let _ = FORCED_IMAGES.set(images);
    }
    if let Some(s) = time_scale {
        let _ = FORCED_SCALE.set(s);
    }
    run_all(dir, extra_path, &[None], Vec::new(), args)
}

/// The suite-wide time scale: `podcheck test --time-scale`, else `PODCHECK_TIME_SCALE`
/// (as `podcheck run` reads it). An unusable value is an error for the whole suite.
fn suite_time_scale() -> Result<Option<crate::clock::TimeScale>, String> {
    if let Some(s) = FORCED_SCALE.get() {
        return Ok(Some(*s));
    }
    let Ok(v) = std::env::var("PODCHECK_TIME_SCALE") else {
        return Ok(None);
    };
    v.parse()
        .map(Some)
        .map_err(|e| format!("PODCHECK_TIME_SCALE: {e}"))
}

/// libtest's convention: 101 when a test failed.
fn exit_code(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}

/// Runs every spec under `dir` once per pass (`None`: the default pass) plus the `extra`
/// trials, all in one pool of trial threads.
fn run_all(
    dir: &Path,
    extra_path: &[PathBuf],
    passes: &[Option<Isolation>],
    extra: Vec<Trial>,
    mut args: Arguments,
) -> bool {
    let dir = dir.to_owned();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let env_threads = std::env::var("RUST_TEST_THREADS").ok();
    match threads::trial_threads(args.test_threads, env_threads.as_deref(), cores) {
        Ok((n, source)) => {
            args.test_threads = Some(n);
            if source == threads::Source::Default && n > 1 {
                eprintln!(
                    "podcheck: {n} specs at once ({} per core: trials mostly wait on timers; --test-threads N or RUST_TEST_THREADS=N to change)",
                    threads::TRIALS_PER_CORE
                );
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    }
    let mut files = match discover::spec_files(&dir) {
        Ok(f) => f,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            eprintln!("help: check the folder's permissions; its specs would otherwise not run");
            return false;
        }
    };
    files.sort();
    if files.is_empty() {
        eprintln!(
            "error: no spec files (*.toml) found under {}",
            dir.display()
        );
        return false;
    }
    let partition = match suite_partition() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    if let Some(p) = partition {
        let total = files.len();
        let mut index = 0;
        files.retain(|path| {
            let name = trial_name(&dir, path);
            if !partition::kept_by_filters(&args, &name) {
                // Filtered out anyway; libtest-mimic reports it as such.
                return true;
            }
            let keep = p.contains(&name, index);
            index += 1;
            keep
        });
        eprintln!(
            "podcheck: partition {p}: {} of {total} specs (the others run in the other partitions)",
            files.len()
        );
    }
    let time_scale = match suite_time_scale() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    if let Some(s) = time_scale {
        eprintln!("podcheck: every spec runs at time scale {s} (overriding run.time_scale)");
    }
    let images = match suite_images() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    let load_opts = LoadOptions {
        images: images.clone(),
    };
    // One line saying which isolation the suite runs with (the per-spec setting may differ).
    let requested = env_isolation();
    match crate::runtime::isolation::decide(requested.unwrap_or_default()) {
        Ok((_, note)) => eprintln!("podcheck: {note}"),
        Err(e) => eprintln!("podcheck: {e}"),
    }
    let started = (std::time::SystemTime::now(), std::time::Instant::now());
    let session = RunGuard::new();
    let run = Arc::new(trial::SuiteRun {
        extra_path: extra_path.to_vec(),
        session_id: session.run_id().to_owned(),
        time_scale,
        images,
    });
    let filtered = args.filter.is_some();
    // Read and loaded once, here: every pass's skip decision and trial share it, and its
    // text gives its place in the trial order.
    let (lengths, specs): (Vec<f64>, Vec<Arc<trial::SuiteSpec>>) = files
        .into_iter()
        .map(|path| {
            let mut length = 0.0;
            let loaded = read_spec_source(&path).and_then(|text| {
                let loaded = parse_spec_with(&path, &text, &load_opts);
                let scale = time_scale.or_else(|| loaded.as_ref().ok()?.spec.run.time_scale);
                length = order::expected_secs(&text, scale);
                loaded
            });
            let spec = trial::SuiteSpec {
                name: trial_name(&dir, &path),
                loaded,
                path,
            };
            (length, Arc::new(spec))
        })
        .unzip();
    let mut spec_trials = Vec::new();
    for forced in passes {
        if let Some(i) = forced {
            match crate::runtime::isolation::decide(*i) {
                Ok((_, note)) => eprintln!("podcheck: pass with isolation {i}: {note}"),
                Err(e) => eprintln!("podcheck: pass with isolation {i}: {e}"),
            }
        }
        spec_trials.extend(specs.iter().zip(&lengths).map(|(spec, len)| {
            (
                *len,
                trial::spec_trial(run.clone(), spec.clone(), *forced, filtered),
            )
        }));
    }
    // Longest first (see `order`); a stable sort keeps name order among equals. The
    // caller's own trials go before all: they are the long ones (a whole suite as another
    // user), and the spec trials fill the other threads around them.
    spec_trials.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut trials = extra;
    trials.extend(spec_trials.into_iter().map(|(_, t)| t));
    let conclusion = libtest_mimic::run(&args, trials);
    drop(session);
    let mut junit_ok = true;
    if let Some(path) = junit_path() {
        let suite = dir.display().to_string();
        let cases = CASES.take();
        if let Err(e) = junit::write(&path, &suite, &cases, started.0, started.1.elapsed()) {
            eprintln!("error: {e}");
            junit_ok = false;
        }
    }
    // Every process any trial started carries the session prefix in PODCHECK_RUN.
    let session_id = &run.session_id;
    let leaked = process::tagged_pids("PODCHECK_RUN", |v| v.starts_with(session_id.as_str()));
    if !leaked.is_empty() {
        eprintln!("error: processes of this test run are still alive after it: {leaked:?}");
        process::kill_tagged_prefix("PODCHECK_RUN", session_id);
        return false;
    }
    junit_ok && !conclusion.has_failed()
}

/// The forced mode, else `PODCHECK_ISOLATION` when set to a valid mode (an invalid one is
/// reported once).
fn env_isolation() -> Option<Isolation> {
    if let Some(f) = FORCED.get() {
        return Some(*f);
    }
    let v = std::env::var("PODCHECK_ISOLATION").ok()?;
    match v.parse() {
        Ok(i) => Some(i),
        Err(e) => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| eprintln!("podcheck: PODCHECK_ISOLATION: {e}; using auto"));
            None
        }
    }
}

/// A spec's trial name: its path under the suite's folder, with `/` separators.
fn trial_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
