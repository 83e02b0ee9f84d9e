//! The work behind the command line: runs and lint, with the exit codes users script on.
//!
//! Exit codes: 0 every spec passed; 1 an expectation failed; 2 a spec is invalid;
//! 3 the environment could not run the spec; 130 / 143 the run was interrupted by SIGINT
//! (Ctrl-C) / SIGTERM, as a shell reports a process killed by that signal.
//!
//! Diagnostics (spec errors and warnings, environment errors) go to stderr for every
//! command; stdout carries the results: watch lines, events, verdicts, `ok: FILE`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::events::Entry;
use crate::report::{color, describe, json, junit, kubectl, progress, timeline, verdict, watch};
use crate::runner::{RunGuard, RunOptions, run_spec};
use crate::spec::{LoadOptions, load_spec};

/// Prints to stdout, ignoring a closed pipe (`podcheck run | head` must not panic).
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints a line to stdout, ignoring a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints a line to stderr, ignoring a closed pipe.
macro_rules! eoutln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod bless;
mod export;
mod inputs;
mod lint;
use inputs::{folder_exists, load_inputs};

pub use bless::{BlessArgs, bless};
pub use export::{ExportArgs, export, schema};
pub use lint::{FailOn, LintArgs, LintFormat, lint};

/// Exit code: every spec passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: an expectation failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: a spec is invalid.
pub const EXIT_INVALID: u8 = 2;
/// Exit code: the environment could not run a spec.
pub const EXIT_ENV: u8 = 3;
/// Exit code: the run was interrupted by SIGINT (128 + 2).
pub const EXIT_SIGINT: u8 = 130;
/// Exit code: the run was interrupted by SIGTERM (128 + 15).
pub const EXIT_SIGTERM: u8 = 143;

/// Arguments of `podcheck run` (also its command-line definition).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Spec files (TOML), or Kubernetes manifests (YAML files or folders) whose pods run
    /// as they are, images mapped with --image.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Run every kubelet timer this many times its real length (0.1 = ten times faster), or
    /// `auto`: the fastest scale at which the spec's timers stay well above this machine's
    /// measured process start latency.
    #[arg(
        long,
        env = "PODCHECK_TIME_SCALE",
        value_name = "SCALE",
        allow_negative_numbers = true
    )]
    pub time_scale: Option<crate::clock::TimeScale>,
    /// Map an image to a local command, e.g. `--image nginx:1.27='python3 -m http.server 80'`
    /// (split like a shell command line: quotes and backslashes work).
    #[arg(long = "image", value_name = "NAME=CMD")]
    pub images: Vec<String>,
    /// Write every event and status change as JSON lines to this file, with a verdict
    /// record per spec.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report to this file: one testcase per spec.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Draw each spec's timeline (lanes per container, probe ticks, events, expectation
    /// windows) as a self-contained picture: FILE.svg or FILE.html, by the extension. With
    /// several specs each gets its own file, the spec's stem inserted: out.svg ->
    /// out-<stem>.svg. A failing spec still gets its picture.
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Print only the verdicts, not the live watch lines and describe output.
    #[arg(long, short)]
    pub quiet: bool,
    /// `-v` adds a line per probe attempt to the watch lines (and keeps them with several
    /// specs on a terminal, instead of the progress line); `-vv` also logs what the runner
    /// does to stderr (as `RUST_LOG=podcheck=debug`).
    #[arg(long, short, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Pod isolation: auto (a network namespace per pod where possible), pod, or none.
    #[arg(long, env = "PODCHECK_ISOLATION", value_name = "MODE")]
    pub isolation: Option<crate::runtime::isolation::Isolation>,
    /// Colour the watch lines' STATUS: auto (on a terminal, unless NO_COLOR is set),
    /// always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: color::ColorWhen,
}

/// Arguments of `podcheck test`.
#[derive(Debug, Clone, clap::Args)]
pub struct TestArgs {
    /// The directory of specs (searched recursively for *.toml).
    pub dir: PathBuf,
    /// Pod isolation for every spec: auto, pod, or none.
    #[arg(long, env = "PODCHECK_ISOLATION", value_name = "MODE")]
    pub isolation: Option<crate::runtime::isolation::Isolation>,
    /// Real seconds per spec second for every spec, overriding their run.time_scale
    /// (0.1 runs every kubelet timer 10x faster), or `auto`.
    #[arg(
        long,
        env = "PODCHECK_TIME_SCALE",
        value_name = "SCALE",
        allow_negative_numbers = true
    )]
    pub time_scale: Option<crate::clock::TimeScale>,
    /// Write a JUnit XML report to this file: one testcase per spec.
    #[arg(long, env = "PODCHECK_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write each spec's timeline picture into this directory (created if missing), one SVG
    /// per spec named after its path below DIR: probes/liveness.toml ->
    /// probes-liveness.svg. Failing specs get theirs too.
    #[arg(long, env = "PODCHECK_TIMELINE_DIR", value_name = "DIR")]
    pub timeline_dir: Option<PathBuf>,
    /// Map an image to a local command for every spec, as for `podcheck run --image`.
    #[arg(long = "image", value_name = "NAME=CMD")]
    pub images: Vec<String>,
    /// Run one bucket of the suite, as cargo nextest's `--partition`: `count:K/N` (the
    /// i-th spec by name goes to bucket i mod N + 1) or `hash:K/N` (by a hash of its name).
    #[arg(long, env = "PODCHECK_PARTITION", value_name = "count:K/N|hash:K/N")]
    pub partition: Option<crate::harness::Partition>,
    /// Do not rerun at time scale 1 a spec that failed at a compressed scale (by default
    /// its real-time run decides, and both verdicts are printed); also PODCHECK_RECHECK=0.
    #[arg(long)]
    pub no_recheck: bool,
    /// Arguments for the test runner after `--`: a name filter, `--test-threads N`,
    /// `--list`, `--format terse`, ... (as for `cargo test -- ...`).
    #[arg(last = true, value_name = "LIBTEST_ARGS")]
    pub libtest_args: Vec<String>,
}

/// `podcheck test`: exit 0 when every spec passed, 1 otherwise, 2 when the directory is
/// unusable.
pub fn test(args: TestArgs) -> u8 {
    if !args.dir.is_dir() {
        eoutln!(
            "error: {}: not a directory (podcheck test takes a folder of specs; use podcheck run for single files)",
            args.dir.display()
        );
        return EXIT_INVALID;
    }
    let libtest = libtest_mimic::Arguments::from_iter(
        std::iter::once("podcheck test".to_owned()).chain(args.libtest_args),
    );
    if let Some(p) = args.junit {
        crate::harness::junit_to(p);
    }
    if let Some(d) = args.timeline_dir {
        if let Err(e) = std::fs::create_dir_all(&d) {
            eoutln!(
                "error: --timeline-dir {}: cannot create it: {e}",
                d.display()
            );
            return EXIT_ENV;
        }
        crate::harness::timelines_to(d);
    }
    if let Some(p) = args.partition {
        crate::harness::partition_to(p);
    }
    if args.no_recheck {
        crate::harness::recheck::disable();
    }
    let images = match parse_image_args(&args.images) {
        Ok(i) => i,
        Err(e) => {
            eoutln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let passed = crate::harness::run_suite(
        &args.dir,
        &own_dir(),
        args.isolation,
        args.time_scale,
        images,
        libtest,
    );
    if passed { EXIT_OK } else { EXIT_FAILED }
}

/// The directory of this executable, put in front of containers' PATH so specs find the
/// binaries shipped beside podcheck (`podcheck-fixture`).
fn own_dir() -> Vec<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .into_iter()
        .collect()
}

pub use crate::spec::image_arg::parse_image_arg;

/// Every `--image NAME=CMD` of a command line, or the first one that does not parse.
fn parse_image_args(args: &[String]) -> Result<Vec<(String, Vec<String>)>, String> {
    args.iter().map(|a| parse_image_arg(a)).collect()
}

/// `podcheck run`.
pub fn run(args: RunArgs) -> u8 {
    let images = match parse_image_args(&args.images) {
        Ok(i) => i,
        Err(e) => {
            eoutln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    if let Some(p) = &args.timeline
        && let Err(e) = timeline::Format::of(p)
    {
        eoutln!("error: {e}");
        return EXIT_INVALID;
    }
    // A report that cannot be written is found out now, not after every spec has run.
    for (what, p) in [
        ("the JUnit report", &args.junit),
        ("the timeline picture", &args.timeline),
    ] {
        if let Some(p) = p
            && let Err(e) = folder_exists(p)
        {
            eoutln!("error: cannot write {what} {}: {e}", p.display());
            return EXIT_ENV;
        }
    }
    let load_opts = LoadOptions {
        images: images.clone(),
    };
    let (loaded, failures) = load_inputs(&args.specs, &load_opts);
    let stems: Vec<String> = loaded.iter().map(|(_, l)| l.stem.clone()).collect();
    let pictures = args
        .timeline
        .as_deref()
        .map(|p| timeline::paths_for(p, &stems))
        .unwrap_or_default();
    let started = (std::time::SystemTime::now(), std::time::Instant::now());
    if !failures.is_empty() {
        // CI still gets files that say which inputs did not load.
        if let Some(p) = &args.json {
            let written = std::fs::File::create(p).and_then(|f| {
                let mut out = json::JsonLines::new(std::io::BufWriter::new(f));
                for (name, message) in &failures {
                    out.error(name, message);
                }
                out.finish()
            });
            if let Err(e) = written {
                eoutln!("error: cannot write the JSON output {}: {e}", p.display());
            }
        }
        let invalid: Vec<junit::Case> = failures
            .into_iter()
            .map(|(name, message)| junit::Case {
                name,
                outcome: junit::CaseOutcome::Error { message },
                time: Duration::ZERO,
                system_out: String::new(),
            })
            .collect();
        if let Some(p) = &args.junit
            && let Err(e) = junit::write(p, "podcheck run", &invalid, started.0, Duration::ZERO)
        {
            eoutln!("error: {e}");
        }
        return EXIT_INVALID;
    }
    let Some(runtime) = async_runtime() else {
        return EXIT_ENV;
    };
    let opts = RunOptions {
        isolation: args.isolation,
        time_scale: args.time_scale,
        images,
        extra_path: own_dir(),
    };
    let mut json_out = match &args.json {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Some(json::JsonLines::new(std::io::BufWriter::new(f))),
            Err(e) => {
                eoutln!("error: cannot write the JSON output {}: {e}", p.display());
                return EXIT_ENV;
            }
        },
        None => None,
    };
    let guard = RunGuard::new();
    // The exit code an interruption ends the run with; 0 while there was none.
    let interrupt = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let code = runtime.block_on(async {
        let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
        let seen = interrupt.clone();
        tokio::spawn(async move {
            let code = interrupted().await;
            seen.store(code, std::sync::atomic::Ordering::SeqCst);
            let _ = cancel_tx.send(true);
        });
        let coloured = color::enabled(args.color);
        let mut worst = EXIT_OK;
        let mut cases = Vec::new();
        // Several specs on a terminal: one progress line instead of every spec's watch lines.
        let mut progress = (loaded.len() > 1 && args.verbose == 0)
            .then(|| progress::Progress::new(loaded.len()))
            .filter(progress::Progress::visible);
        let verbose = args.verbose > 0;
        for (i, (path, spec)) in loaded.iter().enumerate() {
            let quiet = args.quiet || progress.is_some();
            let label = path.display().to_string();
            if let Some(p) = &progress {
                p.running(&label);
            }
            // READY's total and AGE's start, per pod (one pod: its name and start 0).
            let pods: std::collections::HashMap<String, (usize, Duration)> = spec
                .spec
                .pod_instances(&crate::runner::sanitize(&spec.stem))
                .into_iter()
                .map(|p| {
                    let total = p.pod.containers.len()
                        + p.pod
                            .init_containers
                            .iter()
                            .filter(|c| c.is_sidecar())
                            .count();
                    (p.name, (total, p.start_at))
                })
                .collect();
            let mut table = kubectl::WatchTable::new();
            let mut on_entry = |pod: &str, e: &Entry| {
                if let Some(out) = json_out.as_mut() {
                    out.entry(&label, pod, e);
                }
                if !quiet && let Entry::Status { at, status } = e {
                    let (total, start) = pods.get(pod).copied().unwrap_or_default();
                    let row = kubectl::pod_row_with_total(status, *at, total);
                    let line = table.row(pod, &row, crate::node::age(*at, start));
                    if coloured {
                        outln!("{}", color::paint_status(&line, &row.status));
                    } else {
                        outln!("{line}");
                    }
                }
                if verbose
                    && let Entry::Execution(x) = e
                    && let Some(line) = watch::probe_line(x)
                {
                    outln!("{line}");
                }
            };
            if !quiet {
                outln!("==> {}", path.display());
            }
            let spec_started = std::time::Instant::now();
            match run_spec(
                spec,
                &opts,
                guard.run_id(),
                &mut on_entry,
                Some(cancel_rx.clone()),
            )
            .await
            {
                Err(e) => {
                    match &mut progress {
                        Some(p) => {
                            p.suspend(|| eoutln!("error: {}: {e}", path.display()));
                            p.done(true);
                        }
                        None => eoutln!("error: {}: {e}", path.display()),
                    }
                    if let Some(out) = json_out.as_mut() {
                        out.error(&label, &e.to_string());
                    }
                    cases.push(junit::Case {
                        name: label.clone(),
                        outcome: junit::CaseOutcome::Error {
                            message: e.to_string(),
                        },
                        time: spec_started.elapsed(),
                        system_out: String::new(),
                    });
                    worst = worst.max(EXIT_ENV);
                }
                Ok(report) => {
                    if !quiet {
                        for n in &report.notes {
                            outln!("{n}");
                        }
                        out!("{}", describe::describe_report(&report));
                    }
                    if let Some(out) = json_out.as_mut() {
                        out.verdict(&label, &report);
                    }
                    let text = verdict::render(&label, &report);
                    match &mut progress {
                        Some(p) => {
                            p.suspend(|| out!("{text}"));
                            p.done(!report.passed());
                        }
                        None => out!("{text}"),
                    }
                    if let Some(p) = pictures.get(i)
                        && let Err(e) = timeline::write(p, &label, &report)
                    {
                        eoutln!("error: {e}");
                        worst = worst.max(EXIT_ENV);
                    }
                    cases.push(junit::Case::from_report(
                        &label,
                        &report,
                        spec_started.elapsed(),
                    ));
                    if !report.passed() {
                        worst = worst.max(EXIT_FAILED);
                    }
                }
            }
            if *cancel_rx.borrow() {
                break;
            }
        }
        if let Some(p) = &progress {
            p.finish();
        }
        (worst, cases)
    });
    let (code, cases) = code;
    let mut code = code;
    if let Some(p) = &args.junit
        && let Err(e) = junit::write(p, "podcheck run", &cases, started.0, started.1.elapsed())
    {
        eoutln!("error: {e}");
        code = code.max(EXIT_ENV);
    }
    if let (Some(out), Some(p)) = (json_out, &args.json)
        && let Err(e) = out.finish()
    {
        eoutln!("error: cannot write the JSON output {}: {e}", p.display());
        code = code.max(EXIT_ENV);
    }
    drop(guard);
    runtime.shutdown_timeout(Duration::from_secs(1));
    // An interruption wins over the verdicts, so scripts can tell it from a failure.
    match interrupt.load(std::sync::atomic::Ordering::SeqCst) {
        0 => code,
        signalled => signalled,
    }
}

/// The runtime the pods run on (two workers, as the machines podcheck targets have), or
/// None after saying why it could not start.
fn async_runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(crate::runtime::priority::raise_this_thread)
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eoutln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, with the exit code for that signal.
async fn interrupted() -> u8 {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => EXIT_SIGINT,
        _ = term => EXIT_SIGTERM,
    }
}

/// Logs what the runner does to stderr: as `RUST_LOG` says (`RUST_LOG=podcheck=debug`), or
/// at debug level for `-vv`; nothing otherwise.
pub fn init_tracing(debug: bool) {
    use std::io::IsTerminal;
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => tracing_subscriber::EnvFilter::new(v),
        _ if debug => tracing_subscriber::EnvFilter::new("podcheck=debug"),
        _ => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
