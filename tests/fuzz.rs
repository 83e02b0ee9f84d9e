//! The spec fuzzer: mutated copies of the shipped specs go through everything a user's file
//! goes through (load, validation, `podcheck lint` and its four output formats, error
//! rendering) and, for the ones that load, a short real run; mutated copies of the
//! manifests in fixtures/ go through lint. No input may panic or hang.
//!
//! Mutations: byte flips, insertions and deletions; numbers swapped for extremes
//! (9223372036854775807, -1, 1e-300, nan, ...); duration strings swapped for huge or odd
//! ones ("292277024626y", "3651d", ...); and time fields added to `[pod]` and `[run]`.
//!
//! Bounded: by default 600 load cases and 4 runs, each run with `run.timeout` clamped to
//! 1 s, a few seconds in all, as part of `cargo test`. `PODCHECK_FUZZ_CASES=10000` runs more
//! (and a run per 150 cases); `PODCHECK_FUZZ_SEED` replays a seed, which every failure prints.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use podcheck::spec::duration::SpecDuration;

const FIXTURE: &str = env!("CARGO_BIN_EXE_podcheck-fixture");
/// Load cases in the quick mode that `cargo test` runs.
const QUICK_CASES: usize = 600;
/// Short runs in the quick mode.
const QUICK_RUNS: usize = 4;
/// The real-time bound of each run: long enough to start containers and probes, short
/// enough that the fuzzer stays quick.
const RUN_TIMEOUT: Duration = Duration::from_secs(1);
/// When each run deletes its pod at the latest, in real time.
const DELETE_AFTER: Duration = Duration::from_millis(300);
/// A run that takes longer than this, although its timeout is 1 s, hangs.
const HANG: Duration = Duration::from_secs(30);

const EXTREME_NUMBERS: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "2147483647",
    "2147483648",
    "4294967296",
    "-1",
    "0",
    "1e-300",
    "1e300",
    "0.0000001",
    "nan",
    "-inf",
];

const EXTREME_DURATIONS: &[&str] = &[
    "292277024626y",
    "18446744073709551615s",
    "99999999999999999999s",
    "3650d",
    "3651d",
    "1ns",
    "0s",
    "0",
    "-1s",
    "1e300s",
];

/// Time fields a user can add to `[pod]` (API integers) and `[run]` (podcheck's own).
const POD_FIELDS: &[&str] = &["terminationGracePeriodSeconds", "activeDeadlineSeconds"];
const RUN_FIELDS: &[&str] = &["time_scale", "timeout", "duration", "delete_pod_at"];

/// Panics seen by the hook, from any thread (a tokio task's panic never reaches us).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Every `*.toml` under `dir`, sorted, so a seed always means the same cases.
fn specs(dir: &Path) -> Vec<(PathBuf, String)> {
    files_ending(dir, "toml")
}

/// Every file with extension `ext` under `dir`, sorted.
fn files_ending(dir: &Path, ext: &str) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    // Bounded by the tree: each directory is visited once.
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == ext)
                && let Ok(text) = std::fs::read_to_string(&p)
            {
                out.push((p, text));
            }
        }
    }
    out.sort();
    out
}

/// One mutation. `structural` ones (byte edits) are never run: a flipped byte in a
/// command could start anything, while value swaps keep the spec's own commands.
fn mutate(rng: &mut fastrand::Rng, text: &str, structural: bool) -> String {
    static NUMBERS: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"-?\b\d+(?:\.\d+)?\b").expect("regex"));
    static DURATIONS: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#""(?:\d+(?:\.\d+)?(?:ns|us|ms|s|m|h|d))+""#).expect("regex")
    });
    let kinds = if structural { 6 } else { 4 };
    match rng.usize(..kinds) {
        0 => swap(rng, text, &NUMBERS, |rng| {
            rng.choice(EXTREME_NUMBERS)
                .copied()
                .unwrap_or("0")
                .to_owned()
        }),
        1 => swap(rng, text, &DURATIONS, |rng| {
            format!(
                "\"{}\"",
                rng.choice(EXTREME_DURATIONS).copied().unwrap_or("0s")
            )
        }),
        2 => {
            let field = rng
                .choice(POD_FIELDS)
                .copied()
                .unwrap_or("activeDeadlineSeconds");
            let value = rng.choice(EXTREME_NUMBERS).copied().unwrap_or("0");
            match text.find("[pod]\n") {
                Some(at) => {
                    let at = at + "[pod]\n".len();
                    format!("{}{field} = {value}\n{}", &text[..at], &text[at..])
                }
                None => text.to_owned(),
            }
        }
        3 => {
            let field = rng.choice(RUN_FIELDS).copied().unwrap_or("timeout");
            let value = if field == "time_scale" && rng.u8(..8) == 0 {
                "\"auto\"".to_owned()
            } else if field == "time_scale" {
                rng.choice(EXTREME_NUMBERS)
                    .copied()
                    .unwrap_or("0")
                    .to_owned()
            } else {
                format!(
                    "\"{}\"",
                    rng.choice(EXTREME_DURATIONS).copied().unwrap_or("0s")
                )
            };
            match text.find("[run]\n") {
                Some(at) => {
                    let at = at + "[run]\n".len();
                    format!("{}{field} = {value}\n{}", &text[..at], &text[at..])
                }
                None => format!("{text}\n[run]\n{field} = {value}\n"),
            }
        }
        kind => {
            let mut bytes = text.as_bytes().to_vec();
            // A few edits, each at a random position: flip, insert or delete a byte.
            for _ in 0..rng.usize(1..=4) {
                if bytes.is_empty() {
                    break;
                }
                let i = rng.usize(..bytes.len());
                match (kind, rng.u8(..3)) {
                    (4, _) | (_, 0) => bytes[i] ^= 1 << rng.u8(..8),
                    (_, 1) => bytes.insert(i, rng.u8(..)),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

/// Replaces one random match of `re` with `with(rng)`.
fn swap(
    rng: &mut fastrand::Rng,
    text: &str,
    re: &regex::Regex,
    with: impl Fn(&mut fastrand::Rng) -> String,
) -> String {
    let found: Vec<_> = re.find_iter(text).collect();
    let Some(m) = rng.choice(&found) else {
        return text.to_owned();
    };
    format!("{}{}{}", &text[..m.start()], with(rng), &text[m.end()..])
}

/// Every output format of a lint report, rendered (the human text, JSON, SARIF, JUnit).
fn render_lint(files: Vec<podcheck::lint::FileReport>) {
    let report = podcheck::lint::LintReport {
        files,
        unreadable: Vec::new(),
    };
    let _ = podcheck::report::lint_human::render(&report);
    let _ = podcheck::report::lint_json::render(&report);
    let _ = podcheck::report::lint_sarif::render(&report);
    let _ = podcheck::report::lint_junit::render(&report, Some(podcheck::lint::Severity::Note));
}

/// Load, validate, lint and render one mutated spec; the loaded spec if it is valid.
fn check_load(path: &Path, text: &str) -> Option<podcheck::spec::LoadedSpec> {
    let opts = podcheck::lint::LintOptions::default();
    render_lint(podcheck::lint::lint_spec_source(path, text, &opts));
    match podcheck::spec::parse_spec(path, text) {
        Ok(mut l) => {
            let mut ext = podcheck::spec::extensions::extensions(&l.spec);
            podcheck::spec::load::locate(&l.warnings.source, &mut ext);
            l.warnings.diagnostics.extend(ext);
            let _ = l.warnings.render();
            Some(l)
        }
        Err(d) => {
            let _ = d.render();
            None
        }
    }
}

/// A short real run of a loaded spec, bounded by RUN_TIMEOUT (and HANG around it).
fn check_run(rt: &tokio::runtime::Runtime, mut loaded: podcheck::spec::LoadedSpec) -> String {
    let timeout = loaded
        .spec
        .run
        .timeout
        .map_or(RUN_TIMEOUT, |t| t.0.min(RUN_TIMEOUT));
    loaded.spec.run.timeout = Some(SpecDuration(timeout));
    // Every run deletes its pod within the timeout, so the stop path (grace periods,
    // preStop hooks, kill deadlines) runs with the mutated values too.
    // auto picks at least AUTO_FASTEST, so dividing by it bounds the delete in real time.
    let scale = match loaded.spec.run.time_scale {
        Some(podcheck::clock::TimeScale::Fixed(s)) => s,
        Some(podcheck::clock::TimeScale::Auto) => podcheck::clock::AUTO_FASTEST,
        None => 1.0,
    };
    let delete = podcheck::clock::secs_f64(DELETE_AFTER.as_secs_f64() / scale);
    loaded.spec.run.delete_pod_at = Some(SpecDuration(
        loaded
            .spec
            .run
            .delete_pod_at
            .map_or(delete, |d| d.0.min(delete)),
    ));
    let guard = podcheck::runner::RunGuard::new();
    let opts = podcheck::runner::RunOptions {
        extra_path: Path::new(FIXTURE)
            .parent()
            .map(Path::to_owned)
            .into_iter()
            .collect(),
        ..Default::default()
    };
    rt.block_on(async {
        let mut ignore = |_: &str, _: &podcheck::events::Entry| {};
        let run = podcheck::runner::run_spec(&loaded, &opts, guard.run_id(), &mut ignore, None);
        match tokio::time::timeout(HANG, run).await {
            Err(_) => {
                panic!("the run hung: still going after {HANG:?} with run.timeout {timeout:?}")
            }
            Ok(Err(e)) => format!("not run: {e}"),
            Ok(Ok(report)) => {
                let _ = podcheck::report::verdict::render("fuzz", &report);
                let events: Vec<_> = report.outcome.timeline.events().cloned().collect();
                let _ =
                    podcheck::report::describe::describe_events(&events, report.outcome.ended_at);
                format!("ran: passed={}", report.passed())
            }
        }
    })
}

#[test]
fn mutated_specs_never_panic_or_hang() {
    let cases = env_usize("PODCHECK_FUZZ_CASES").unwrap_or(QUICK_CASES);
    let runs = if cases > QUICK_CASES {
        cases / 150
    } else {
        QUICK_RUNS
    };
    let seed = env_usize("PODCHECK_FUZZ_SEED").map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        },
        |s| s as u64,
    );
    eprintln!(
        "fuzz: seed {seed} (PODCHECK_FUZZ_SEED={seed} replays it), {cases} cases, {runs} runs"
    );
    let corpus = specs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("specs"));
    assert!(!corpus.is_empty(), "no specs to mutate");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut p) = PANICS.lock() {
            p.push(info.to_string());
        }
        default_hook(info);
    }));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut runnable = Vec::new();
    for case in 0..cases {
        let Some((path, text)) = rng.choice(&corpus) else {
            break;
        };
        // Half the cases stack two mutations, to reach combinations.
        let structural = rng.bool();
        let mut mutated = mutate(&mut rng, text, structural);
        if rng.bool() {
            mutated = mutate(&mut rng, &mutated, structural);
        }
        let loaded = std::panic::catch_unwind(AssertUnwindSafe(|| check_load(path, &mutated)));
        match loaded {
            Err(_) => panic!(
                "case {case} (seed {seed}) panicked loading a mutation of {}:\n{mutated}",
                path.display()
            ),
            // hostPath specs touch the host's files, so only their loading is fuzzed.
            Ok(Some(l)) if !structural && !mutated.contains("hostPath") => {
                runnable.push((case, path.clone(), mutated, l));
            }
            Ok(_) => {}
        }
    }
    // The runs: spread over the valid value-mutated cases, the most interesting first
    // (those whose mutation the text shows as extreme).
    let extreme = |text: &str| {
        EXTREME_NUMBERS[..3]
            .iter()
            .chain(&EXTREME_DURATIONS[..3])
            .any(|x| text.contains(x))
    };
    runnable.sort_by_key(|(_, _, text, _)| !extreme(text));
    for (case, path, text, loaded) in runnable.into_iter().take(runs) {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| check_run(&rt, loaded)));
        let panics = PANICS
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        assert!(
            outcome.is_ok() && panics.is_empty(),
            "case {case} (seed {seed}) panicked running a mutation of {}: {panics:?}\n{text}",
            path.display()
        );
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    let _ = std::panic::take_hook();
}

#[test]
fn mutated_manifests_never_panic_in_lint() {
    let cases = env_usize("PODCHECK_FUZZ_CASES").unwrap_or(QUICK_CASES);
    let seed = env_usize("PODCHECK_FUZZ_SEED").map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        },
        |s| s as u64,
    );
    eprintln!("fuzz manifests: seed {seed} (PODCHECK_FUZZ_SEED={seed} replays it), {cases} cases");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut corpus = files_ending(&fixtures.join("manifests"), "yaml");
    corpus.extend(files_ending(&fixtures.join("lint"), "yaml"));
    assert!(!corpus.is_empty(), "no manifests to mutate");
    let mut rng = fastrand::Rng::with_seed(seed);
    let opts = podcheck::lint::LintOptions::default();
    for case in 0..cases {
        let Some((path, text)) = rng.choice(&corpus) else {
            break;
        };
        let structural = rng.bool();
        let mut mutated = mutate(&mut rng, text, structural);
        if rng.bool() {
            mutated = mutate(&mut rng, &mutated, structural);
        }
        // Words YAML 1.1 reads as booleans, so the quoting path is exercised too.
        if rng.u8(..4) == 0 {
            mutated = mutated.replacen("\"", if rng.bool() { "yes " } else { "on\n" }, 1);
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let file = podcheck::lint::lint_manifest_source(path, mutated.clone(), &opts);
            render_lint(vec![file]);
        }));
        assert!(
            outcome.is_ok(),
            "case {case} (seed {seed}) panicked linting a mutation of {}:\n{mutated}",
            path.display()
        );
    }
}
