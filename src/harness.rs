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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use libtest_mimic::{Arguments, Failed, Trial};

use crate::report::{junit, timeline, verdict};
use crate::runner::{RunGuard, RunOptions, run_spec};
use crate::runtime::isolation::Isolation;
use crate::runtime::process;
use crate::spec::{LoadOptions, LoadedSpec, load_spec_with};

pub mod partition;
pub use partition::Partition;
mod discover;
mod judge;
pub mod recheck;
pub mod threads;
mod turns;
use turns::{PortClaim, SERIAL};

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
    exit_code(run_all(dir.as_ref(), extra_path, Arguments::from_args()))
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
    exit_code(run_all(dir.as_ref(), extra_path, Arguments::from_args()))
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
    exit_code(run_all(dir.as_ref(), extra_path, Arguments::from_args()))
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
    run_all(dir, extra_path, args)
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

fn run_all(dir: &Path, extra_path: &[PathBuf], mut args: Arguments) -> bool {
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
    let session_id = session.run_id().to_owned();
    let trials: Vec<Trial> = files
        .into_iter()
        .map(|path| {
            let name = trial_name(&dir, &path);
            let extra = extra_path.to_vec();
            let session_id = session_id.clone();
            // Loaded once, here: the skip decision and the trial share it.
            let loaded = load_spec_with(&path, &load_opts);
            let images = images.clone();
            let skip = loaded.as_ref().ok().and_then(unmet_requirement);
            if let Some(reason) = &skip {
                eprintln!("podcheck: skipping {name}: {reason}");
            }
            if let (Some(reason), Some(_)) = (&skip, junit_path())
                && args.filter.is_none()
            {
                CASES.push(junit::Case {
                    name: name.clone(),
                    outcome: junit::CaseOutcome::Skipped {
                        reason: reason.clone(),
                    },
                    time: std::time::Duration::ZERO,
                    system_out: String::new(),
                });
            }
            let case_name = name.clone();
            let trial = Trial::test(name, move || {
                let started = std::time::Instant::now();
                let mut out = TrialOut::default();
                let ok = loaded.is_ok();
                let result = match &loaded {
                    Err(d) => Err(Failed::from(d.render())),
                    Ok(l) => run_trial(
                        SpecFile {
                            path: &path,
                            name: &case_name,
                        },
                        l,
                        &extra,
                        &session_id,
                        time_scale,
                        images.clone(),
                        &mut out,
                    ),
                };
                // A JUnit time is the spec's own run, not the time it queued behind a serial
                // spec or a port; a spec that never ran counts from the trial's start.
                let time = out.ran.unwrap_or_else(|| started.elapsed());
                record_case(&case_name, &result, ok, time, out.logs);
                result
            });
            match skip {
                Some(_) => trial
                    .with_kind("skipped, see above")
                    .with_ignored_flag(true),
                None => trial.with_kind("spec"),
            }
        })
        .collect();
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
    let leaked = process::tagged_pids("PODCHECK_RUN", |v| v.starts_with(&session_id));
    if !leaked.is_empty() {
        eprintln!("error: processes of this test run are still alive after it: {leaked:?}");
        process::kill_tagged_prefix("PODCHECK_RUN", &session_id);
        return false;
    }
    junit_ok && !conclusion.has_failed()
}

/// Why this machine cannot check the spec (a `run.requires` feature it lacks), if so. A spec
/// that does not load is not skipped: its trial reports the error.
fn unmet_requirement(loaded: &LoadedSpec) -> Option<String> {
    if let Some(why) = crate::runner::identity_unavailable(&loaded.spec.pod) {
        return Some(why);
    }
    let run = &loaded.spec.run;
    if run.requires.is_empty() {
        return None;
    }
    let isolation = env_isolation().or(run.isolation).unwrap_or_default();
    let pod_mode = match crate::runtime::isolation::decide(isolation) {
        Ok((pod, _)) => pod,
        Err(e) => return Some(e),
    };
    run.requires.iter().find_map(|f| {
        f.check(pod_mode)
            .err()
            .map(|e| format!("requires {f}, unavailable: {e}"))
    })
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

/// What a trial hands back besides its result, for its JUnit testcase.
#[derive(Default)]
struct TrialOut {
    /// The containers' output.
    logs: String,
    /// How long the spec itself ran, from the moment it held its locks to its report.
    ran: Option<std::time::Duration>,
}

/// A spec of the suite: its file, and its name (the path below the suite folder).
struct SpecFile<'a> {
    path: &'a Path,
    name: &'a str,
}

fn run_trial(
    spec: SpecFile<'_>,
    loaded: &LoadedSpec,
    extra_path: &[PathBuf],
    session_id: &str,
    time_scale: Option<crate::clock::TimeScale>,
    images: Vec<(String, Vec<String>)>,
    out: &mut TrialOut,
) -> Result<(), Failed> {
    let path = spec.path;
    let _lock = if loaded.spec.run.serial {
        (
            None,
            Some(SERIAL.write().unwrap_or_else(|p| p.into_inner())),
        )
    } else {
        (Some(SERIAL.read().unwrap_or_else(|p| p.into_inner())), None)
    };
    let isolation = env_isolation()
        .or(loaded.spec.run.isolation)
        .unwrap_or_default();
    let own_network = crate::runtime::isolation::decide(isolation).is_ok_and(|(pod, _)| pod);
    // Without their own network namespaces pods share the host's loopback, so trials whose
    // ports overlap take turns.
    let ports = if own_network {
        BTreeSet::new()
    } else {
        let stem = crate::runner::sanitize(&loaded.stem);
        loaded
            .spec
            .pod_instances(&stem)
            .iter()
            .flat_map(|p| crate::spec::ports::pod_ports(&p.pod))
            .collect()
    };
    let _ports = PortClaim::acquire(ports);
    let ran_from = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot start the async runtime: {e}")))?;
    let mut opts = RunOptions {
        isolation: env_isolation(),
        time_scale,
        images,
        extra_path: extra_path.to_vec(),
    };
    let run_once = |opts: &RunOptions| {
        let seq = TRIAL_SEQ.fetch_add(1, Ordering::Relaxed);
        let guard = RunGuard::with_id(format!("{session_id}-{seq}"));
        rt.block_on(run_spec(loaded, opts, guard.run_id(), &mut |_, _| {}, None))
            .map_err(|e| Failed::from(e.to_string()))
    };
    let mut report = run_once(&opts)?;
    let mut result = judge::judge(path, &report);
    let env = std::env::var("PODCHECK_RECHECK").ok();
    let mut recheck_note = None;
    if let Err(first) = &result
        && recheck::wanted(report.wall.scale, env.as_deref())
    {
        let first = first.clone();
        let scale = report.wall.scale;
        opts.time_scale = Some(crate::clock::TimeScale::Fixed(1.0));
        report = run_once(&opts)?;
        result = judge::judge(path, &report);
        let line = recheck::note(
            spec.name,
            scale,
            verdict::first_cause(&first),
            result.is_ok(),
        );
        eprintln!("{line}");
        recheck_note = Some((line, first));
    }
    out.ran = Some(ran_from.elapsed());
    out.logs = verdict::logs_text(&report);
    if let Some((line, _)) = &recheck_note {
        out.logs = format!("{line}\n{}", out.logs);
    }
    if let Some(dir) = timeline_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| {
            Failed::from(format!(
                "cannot create the timeline folder {}: {e}",
                dir.display()
            ))
        })?;
        let file = dir.join(timeline::file_name(spec.name, timeline::Format::Svg));
        timeline::write(&file, &path.display().to_string(), &report)
            .map_err(|e| Failed::from(e.to_string()))?;
    }
    match (result, recheck_note) {
        (Ok(()), _) => Ok(()),
        (Err(text), Some((line, first))) => Err(Failed::from(format!(
            "{text}\n{line}; the compressed run's report was:\n{first}"
        ))),
        (Err(text), None) => Err(Failed::from(text)),
    }
}
