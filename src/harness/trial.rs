//! One spec trial: waiting its turn, running the spec (and its real-time recheck), judging
//! the report, and writing its timeline picture.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use libtest_mimic::{Failed, Trial};

use super::turns::{PortClaim, SERIAL};
use super::{
    CASES, TRIAL_SEQ, env_isolation, judge, junit_path, recheck, record_case, timeline_dir,
};
use crate::diag::FileDiagnostics;
use crate::report::{junit, timeline, verdict};
use crate::runner::{RunGuard, RunOptions, run_spec};
use crate::runtime::isolation::Isolation;
use crate::spec::LoadedSpec;

/// What every spec trial of one suite run shares.
pub(super) struct SuiteRun {
    /// Put in front of containers' PATH.
    pub extra_path: Vec<PathBuf>,
    /// The suite's run tag; each trial's runs carry it as a prefix.
    pub session_id: String,
    /// The suite-wide time scale, if one was given.
    pub time_scale: Option<crate::clock::TimeScale>,
    /// The suite's image entries.
    pub images: Vec<(String, Vec<String>)>,
}

/// A spec file as loaded once for every pass of the suite.
pub(super) struct SuiteSpec {
    /// The file.
    pub path: PathBuf,
    /// Its path below the suite folder.
    pub name: String,
    /// The spec, or why it does not load.
    pub loaded: Result<LoadedSpec, FileDiagnostics>,
}

/// The trial of `spec` in one pass of the suite: `forced` is the pass's isolation mode
/// (None for the default pass, which takes the mode from the suite, the environment or the
/// spec). `filtered` says whether the command line has a name filter (a skipped spec is then
/// not written to the JUnit file, as libtest leaves out what it filtered).
pub(super) fn spec_trial(
    run: Arc<SuiteRun>,
    spec: Arc<SuiteSpec>,
    forced: Option<Isolation>,
    filtered: bool,
) -> Trial {
    let name = pass_name(&spec.name, forced);
    // The mode every run of this trial is held to, if any: the pass's, else the suite's.
    let mode = forced.or_else(env_isolation);
    let skip = spec
        .loaded
        .as_ref()
        .ok()
        .and_then(|l| unmet_requirement(l, mode));
    if let Some(reason) = &skip {
        eprintln!("podcheck: skipping {name}: {reason}");
    }
    if let (Some(reason), Some(_)) = (&skip, junit_path())
        && !filtered
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
        let ok = spec.loaded.is_ok();
        let result = match &spec.loaded {
            Err(d) => Err(Failed::from(d.render())),
            Ok(l) => run_trial(
                SpecFile {
                    path: &spec.path,
                    name: &case_name,
                },
                l,
                &run,
                mode,
                &mut out,
            ),
        };
        // A JUnit time is the spec's own run, not the time it queued behind a serial spec
        // or a port; a spec that never ran counts from the trial's start.
        let time = out.ran.unwrap_or_else(|| started.elapsed());
        record_case(&case_name, &result, ok, time, out.logs);
        result
    });
    match (skip, forced) {
        (Some(_), _) => trial
            .with_kind("skipped, see above")
            .with_ignored_flag(true),
        (None, None) => trial.with_kind("spec"),
        (None, Some(_)) => trial.with_kind("spec, another mode"),
    }
}

/// A trial's name: the spec's path below the suite folder, and for a pass forced to a mode,
/// that mode after it, so filters on the path select the spec in every pass.
fn pass_name(spec: &str, forced: Option<Isolation>) -> String {
    match forced {
        None => spec.to_owned(),
        Some(i) => format!("{spec} (isolation {i})"),
    }
}

/// Why this machine cannot check the spec (a `run.requires` feature it lacks) in `mode`
/// (else the spec's own), if so. A spec that does not load is not skipped: its trial
/// reports the error.
fn unmet_requirement(loaded: &LoadedSpec, mode: Option<Isolation>) -> Option<String> {
    if let Some(why) = crate::runner::identity_unavailable(&loaded.spec.pod, &loaded.spec.images) {
        return Some(why);
    }
    let run = &loaded.spec.run;
    if run.requires.is_empty() {
        return None;
    }
    let isolation = mode.or(run.isolation).unwrap_or_default();
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
    run: &SuiteRun,
    mode: Option<Isolation>,
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
    let isolation = mode.or(loaded.spec.run.isolation).unwrap_or_default();
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
        isolation: mode,
        time_scale: run.time_scale,
        images: run.images.clone(),
        extra_path: run.extra_path.clone(),
    };
    let run_once = |opts: &RunOptions| {
        let seq = TRIAL_SEQ.fetch_add(1, Ordering::Relaxed);
        let guard = RunGuard::with_id(format!("{}-{seq}", run.session_id));
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
