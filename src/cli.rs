//! The work behind the command line: runs and lint, with the exit codes users script on.
//!
//! Exit codes: 0 every spec passed; 1 an expectation failed; 2 a spec is invalid;
//! 3 the environment could not run the spec.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::events::Entry;
use crate::report::{describe, kubectl, verdict};
use crate::runner::{RunGuard, RunOptions, run_spec};
use crate::spec::{LoadOptions, LoadedSpec, load_spec, load_spec_with};

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

/// Exit code: every spec passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: an expectation failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: a spec is invalid.
pub const EXIT_INVALID: u8 = 2;
/// Exit code: the environment could not run a spec.
pub const EXIT_ENV: u8 = 3;

/// Arguments of `podcheck run` (also its command-line definition).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Spec files (TOML), or Kubernetes manifests (YAML files or folders) whose pods run
    /// as they are, images mapped with --image.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Run every kubelet timer this many times its real length (0.1 = ten times faster).
    #[arg(long, env = "PODCHECK_TIME_SCALE")]
    pub time_scale: Option<f64>,
    /// Map an image to a local command, e.g. `--image nginx:1.27='python3 -m http.server 80'`
    /// (split like a shell command line: quotes and backslashes work).
    #[arg(long = "image", value_name = "NAME=CMD")]
    pub images: Vec<String>,
    /// Write every event and status change as JSON lines to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Print only the verdicts, not the live watch lines and describe output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Pod isolation: auto (a network namespace per pod where possible), pod, or none.
    #[arg(long, env = "PODCHECK_ISOLATION", value_name = "MODE")]
    pub isolation: Option<crate::runtime::isolation::Isolation>,
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
    /// (0.1 runs every kubelet timer 10x faster).
    #[arg(long, env = "PODCHECK_TIME_SCALE", value_name = "SCALE")]
    pub time_scale: Option<f64>,
    /// Map an image to a local command for every spec, as for `podcheck run --image`.
    #[arg(long = "image", value_name = "NAME=CMD")]
    pub images: Vec<String>,
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
    if let Some(ts) = args.time_scale
        && !(ts.is_finite() && ts > 0.0)
    {
        eoutln!("error: --time-scale {ts}: must be a number greater than 0, e.g. 0.1");
        return EXIT_INVALID;
    }
    let mut images = Vec::new();
    for i in &args.images {
        match parse_image_arg(i) {
            Ok(p) => images.push(p),
            Err(e) => {
                eoutln!("error: {e}");
                return EXIT_INVALID;
            }
        }
    }
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

/// Parses `NAME=CMD`, CMD split like a POSIX shell line (quotes, backslashes); a relative
/// program path (`./target/release/app`) is made absolute here, because containers start
/// in their own working directories.
pub fn parse_image_arg(s: &str) -> Result<(String, Vec<String>), String> {
    let (name, cmd) = s.split_once('=').ok_or_else(|| {
        format!(
            "--image {s:?}: expected NAME=CMD, e.g. --image app:1=\"python3 -m http.server 8080\""
        )
    })?;
    let mut argv = shell_words::split(cmd).map_err(|e| {
        format!("--image {s:?}: the command does not split into words ({e}): close the quote")
    })?;
    if name.is_empty() || argv.is_empty() {
        return Err(format!(
            "--image {s:?}: both the image name and the command must be non-empty"
        ));
    }
    if let Some(prog) = argv.first_mut()
        && prog.contains('/')
        && std::path::Path::new(prog.as_str()).is_relative()
        && let Ok(cwd) = std::env::current_dir()
    {
        *prog = cwd.join(&*prog).display().to_string();
    }
    Ok((name.to_owned(), argv))
}

/// Loads the inputs of `podcheck run`: TOML specs, or every pod of YAML manifests (files or
/// folders). Diagnostics go to stderr; None when any input is invalid.
fn load_inputs(paths: &[PathBuf], opts: &LoadOptions) -> Option<Vec<(PathBuf, LoadedSpec)>> {
    let mut loaded = Vec::new();
    let mut invalid = false;
    let mut table = std::collections::BTreeMap::new();
    opts.apply(&mut table);
    for path in paths {
        if !crate::manifest::is_manifest_path(path) {
            match load_spec_with(path, opts) {
                Ok(l) => {
                    for d in std::iter::once(&l.warnings).chain(&l.related) {
                        if !d.diagnostics.is_empty() {
                            eoutln!("{}", d.render());
                        }
                    }
                    loaded.push((path.clone(), l));
                }
                Err(d) => {
                    eoutln!("{}", d.render());
                    invalid = true;
                }
            }
            continue;
        }
        let files = match crate::manifest::read_path(path) {
            Ok(f) => f,
            Err(e) => {
                eoutln!("error: {e}");
                invalid = true;
                continue;
            }
        };
        for file in &files {
            // Every problem of a file at once: reading, conversion and each pod's validation.
            let mut all = file.file_diagnostics();
            invalid |= file.has_errors();
            for pod in &file.pods {
                match crate::manifest::spec_for(file, pod, &table) {
                    Ok(mut l) => {
                        all.diagnostics.append(&mut l.warnings.diagnostics);
                        loaded.push((file.path.clone(), l));
                    }
                    Err(mut d) => {
                        all.diagnostics.append(&mut d.diagnostics);
                        invalid = true;
                    }
                }
            }
            all.diagnostics
                .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            if !all.diagnostics.is_empty() {
                eoutln!("{}", all.render());
            }
        }
    }
    // An --image no container uses is a typo in the image name, not a harmless extra.
    let used = crate::manifest::images_used(loaded.iter().map(|(_, l)| l));
    for (name, _) in &opts.images {
        if !used.contains(name) {
            eoutln!(
                "error: --image {name}: no container uses this image; the images are: {}",
                if used.is_empty() {
                    "none".to_owned()
                } else {
                    used.join(", ")
                }
            );
            invalid = true;
        }
    }
    if !invalid && loaded.is_empty() {
        eoutln!("error: no pod to run: the manifests have no Pod or workload with a pod template");
        invalid = true;
    }
    (!invalid).then_some(loaded)
}

/// `podcheck run`.
pub fn run(args: RunArgs) -> u8 {
    let mut images = Vec::new();
    for i in &args.images {
        match parse_image_arg(i) {
            Ok(p) => images.push(p),
            Err(e) => {
                eoutln!("error: {e}");
                return EXIT_INVALID;
            }
        }
    }
    if let Some(ts) = args.time_scale
        && !(ts.is_finite() && ts > 0.0)
    {
        eoutln!("error: --time-scale {ts}: must be a number greater than 0, e.g. 0.1");
        return EXIT_INVALID;
    }
    let load_opts = LoadOptions {
        images: images.clone(),
    };
    let Some(loaded) = load_inputs(&args.specs, &load_opts) else {
        return EXIT_INVALID;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eoutln!("error: cannot start the async runtime: {e}");
            return EXIT_ENV;
        }
    };
    let opts = RunOptions {
        isolation: args.isolation,
        time_scale: args.time_scale,
        images,
        extra_path: own_dir(),
    };
    let mut json_out = match &args.json {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Some(std::io::BufWriter::new(f)),
            Err(e) => {
                eoutln!("error: cannot write the JSON output {}: {e}", p.display());
                return EXIT_ENV;
            }
        },
        None => None,
    };
    let guard = RunGuard::new();
    let code = runtime.block_on(async {
        let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            interrupted().await;
            let _ = cancel_tx.send(true);
        });
        let mut worst = EXIT_OK;
        for (path, spec) in &loaded {
            let quiet = args.quiet;
            let pod_name = spec
                .spec
                .pod
                .name
                .clone()
                .unwrap_or_else(|| spec.stem.clone());
            let total = spec.spec.pod.containers.len()
                + spec
                    .spec
                    .pod
                    .init_containers
                    .iter()
                    .filter(|c| c.restart_policy.is_some())
                    .count();
            let mut table = kubectl::WatchTable::new();
            let mut on_entry = |e: &Entry| {
                if let Some(out) = json_out.as_mut()
                    && let Ok(line) = serde_json::to_string(e)
                {
                    let _ = writeln!(out, "{line}");
                }
                if !quiet && let Entry::Status { at, status } = e {
                    let row = kubectl::pod_row_with_total(status, *at, total);
                    outln!("{}", table.row(&pod_name, &row, *at));
                }
            };
            if !quiet {
                outln!("==> {}", path.display());
            }
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
                    eoutln!("error: {}: {e}", path.display());
                    worst = worst.max(EXIT_ENV);
                }
                Ok(report) => {
                    if !quiet {
                        for n in &report.notes {
                            outln!("{n}");
                        }
                        let events: Vec<_> = report.outcome.timeline.events().cloned().collect();
                        outln!();
                        out!(
                            "{}",
                            describe::describe_events(&events, report.outcome.ended_at)
                        );
                        if let Some(st) = report.outcome.timeline.last_status() {
                            out!("{}", describe::describe_containers(st));
                        }
                    }
                    out!("{}", verdict::render(&path.display().to_string(), &report));
                    if !report.passed() {
                        worst = worst.max(EXIT_FAILED);
                    }
                }
            }
            if *cancel_rx.borrow() {
                break;
            }
        }
        worst
    });
    if let Some(mut out) = json_out {
        let _ = out.flush();
    }
    drop(guard);
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// `podcheck lint`.
pub fn lint(specs: &[PathBuf]) -> u8 {
    let mut code = EXIT_OK;
    for path in specs {
        match load_spec(path) {
            Ok(mut l) => {
                let mut ext = crate::spec::extensions::extensions(&l.spec);
                crate::spec::load::locate(&l.warnings.source, &mut ext);
                l.warnings.diagnostics.extend(ext);
                if l.warnings.diagnostics.is_empty() {
                    outln!("ok: {}", path.display());
                } else {
                    outln!("{}", l.warnings.render());
                }
            }
            Err(d) => {
                outln!("{}", d.render());
                code = EXIT_INVALID;
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_commands_split_like_a_shell_line() {
        let (name, argv) =
            parse_image_arg("registry/app:1.2=./target/release/app --name 'two words' a\\ b")
                .expect("parses");
        assert_eq!(name, "registry/app:1.2");
        assert!(
            argv[0].ends_with("/target/release/app") && argv[0].starts_with('/'),
            "{argv:?}"
        );
        assert_eq!(&argv[1..], ["--name", "two words", "a b"]);
        let (_, argv) = parse_image_arg("x=sleep 1").expect("parses");
        assert_eq!(
            argv,
            ["sleep", "1"],
            "a bare program name stays for PATH lookup"
        );
        assert!(parse_image_arg("x=sh -c 'echo").is_err_and(|e| e.contains("close the quote")));
        assert!(parse_image_arg("x=").is_err());
        assert!(parse_image_arg("no-equals").is_err());
    }
}
