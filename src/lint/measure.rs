//! `podcheck lint --measure N`: start each pod of a manifest N times through the runner,
//! measure when every container is started (startup probe passed) and ready (readiness
//! passed), and check the probe budgets against the measured p95. The values that would
//! hold come back as a patch (rendered by `crate::report::lint_measure`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::checks::Timing;
use crate::manifest::{ManifestFile, ManifestPod};
use crate::runner::{RunGuard, RunOptions, run_spec};
use crate::spec::duration::SpecDuration;

/// How much slower than the measured p95 a start may be before a budget runs out: twice,
/// since CI machines and cold nodes are slower than one local run.
pub const MARGIN: f64 = 2.0;

/// The longest one measured run may take, in pod time.
pub const MAX_RUN: Duration = Duration::from_secs(300);

/// What was measured for one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerMeasure {
    /// The container.
    pub name: String,
    /// Pod time until `started` was true, per run (runs where it never was are left out).
    pub started: Vec<Duration>,
    /// Pod time until `ready` was true, per run.
    pub ready: Vec<Duration>,
    /// Runs in all.
    pub runs: usize,
    /// The probe fields that would hold the measured p95 with [`MARGIN`]
    /// (probe → field → value), empty when the budgets already hold.
    pub patch: BTreeMap<&'static str, BTreeMap<&'static str, i64>>,
    /// Why each patch entry is needed, one line each.
    pub reasons: Vec<String>,
}

/// The measurements of one pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodMeasure {
    /// `Kind/name`.
    pub object: String,
    /// Where the pod spec is in the manifest (for the patch's shape).
    pub spec_path: crate::diag::FieldPath,
    /// Every regular container.
    pub containers: Vec<ContainerMeasure>,
}

/// The p95 of some durations (nearest rank), None when empty.
pub fn p95(values: &[Duration]) -> Option<Duration> {
    let mut v = values.to_vec();
    v.sort();
    let rank = (v.len() as f64 * 0.95).ceil() as usize;
    v.get(rank.saturating_sub(1)).copied()
}

/// Measures every pod of the manifests among `paths` (TOML specs are skipped), each `n`
/// times, on a runtime of its own; `extra_path` goes in front of the containers' PATH.
pub fn measure_paths(
    paths: &[std::path::PathBuf],
    images: &[(String, Vec<String>)],
    n: usize,
    extra_path: Vec<std::path::PathBuf>,
) -> Result<Vec<PodMeasure>, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let opts = RunOptions {
        isolation: None,
        time_scale: None,
        images: images.to_vec(),
        extra_path,
    };
    let mut measured = Vec::new();
    let mut result = Ok(());
    'all: for path in paths
        .iter()
        .filter(|p| crate::manifest::is_manifest_path(p))
    {
        let files = crate::manifest::read_path(path).map_err(|e| e.to_string())?;
        for file in &files {
            for pod in &file.pods {
                match runtime.block_on(measure_pod(file, pod, images, n, &opts)) {
                    Ok(m) => measured.push(m),
                    Err(e) => {
                        result = Err(format!("{}: {e}", pod.object));
                        break 'all;
                    }
                }
            }
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    result.map(|()| measured)
}

/// Runs the pod `n` times and measures it. `images` maps images to local commands.
pub async fn measure_pod(
    file: &ManifestFile,
    pod: &ManifestPod,
    images: &[(String, Vec<String>)],
    n: usize,
    opts: &RunOptions,
) -> Result<PodMeasure, String> {
    // An unmapped image never starts, so the run would only end at MAX_RUN.
    for c in pod.pod.init_containers.iter().chain(&pod.pod.containers) {
        if let Some(image) = &c.image
            && !images.iter().any(|(name, _)| name == image)
        {
            return Err(format!(
                "container {:?}: image {image:?} is not mapped to a local command; add --image {image}='./app --port 8080'",
                c.name
            ));
        }
    }
    let mut table = BTreeMap::new();
    crate::spec::LoadOptions {
        images: images.to_vec(),
    }
    .apply(&mut table);
    let mut loaded = crate::manifest::spec_for(file, pod, &table).map_err(|d| d.render())?;
    // The run ends as soon as the pod is Ready; a pod that never is stops at MAX_RUN.
    loaded.spec.run.duration = Some(SpecDuration(MAX_RUN));
    loaded.spec.expect = toml::from_str(&format!(
        "[[states]]\nwithin = \"0s..{}s\"\nconditions.Ready = true\n",
        MAX_RUN.as_secs()
    ))
    .map_err(|e| format!("internal: the measuring expectation does not parse: {e}"))?;
    let mut containers: Vec<ContainerMeasure> = pod
        .pod
        .containers
        .iter()
        .map(|c| ContainerMeasure {
            name: c.name.clone(),
            started: Vec::new(),
            ready: Vec::new(),
            runs: n,
            patch: BTreeMap::new(),
            reasons: Vec::new(),
        })
        .collect();
    for _ in 0..n {
        let guard = RunGuard::new();
        let report = run_spec(&loaded, opts, guard.run_id(), &mut |_, _| {}, None)
            .await
            .map_err(|e| format!("{}: {e}", pod.object))?;
        drop(guard);
        for m in &mut containers {
            let first = |pred: &dyn Fn(&crate::events::ContainerStatus) -> bool| {
                report
                    .outcome
                    .timeline
                    .statuses()
                    .find(|(_, st)| st.container(&m.name).is_some_and(pred))
                    .map(|(t, _)| t)
            };
            if let Some(t) = first(&|c| c.started == Some(true)) {
                m.started.push(t);
            }
            if let Some(t) = first(&|c| c.ready) {
                m.ready.push(t);
            }
        }
    }
    for (m, c) in containers.iter_mut().zip(&pod.pod.containers) {
        budgets(m, c);
    }
    Ok(PodMeasure {
        object: pod.object.clone(),
        spec_path: pod.spec_path.clone(),
        containers,
    })
}

/// Seconds, rounded up, of `d` × [`MARGIN`].
fn with_margin(d: Duration) -> i64 {
    (d.as_secs_f64() * MARGIN).ceil() as i64
}

/// Compares the probe budgets with the measured p95 and fills in the patch.
fn budgets(m: &mut ContainerMeasure, c: &crate::spec::model::Container) {
    let started = p95(&m.started);
    let ready = p95(&m.ready);
    if let (Some(p), Some(s)) = (&c.startup_probe, started) {
        let t = Timing::of(p);
        let window = t.initial_delay.saturating_add(t.failure_budget());
        let need = with_margin(s);
        if window < need {
            let failures = (need.saturating_sub(t.initial_delay) + t.period - 1) / t.period;
            m.patch
                .entry("startupProbe")
                .or_default()
                .insert("failureThreshold", failures.max(1));
            m.reasons.push(format!(
                "startupProbe window {} + {} × {} = {window} s is below {MARGIN} × the measured p95 start ({:.1} s)",
                t.initial_delay,
                t.failure,
                t.period,
                s.as_secs_f64()
            ));
        }
    }
    if c.startup_probe.is_none()
        && let (Some(l), Some(r)) = (&c.liveness_probe, ready.or(started))
    {
        let t = Timing::of(l);
        let need = with_margin(r);
        if t.earliest_failure() < need {
            let delay = need.saturating_sub(t.failure.saturating_sub(1).saturating_mul(t.period));
            m.patch
                .entry("livenessProbe")
                .or_default()
                .insert("initialDelaySeconds", delay.max(0));
            m.reasons.push(format!(
                "liveness can restart the container at {} + ({} - 1) × {} = {} s, below {MARGIN} × the measured p95 time to ready ({:.1} s)",
                t.initial_delay,
                t.failure,
                t.period,
                t.earliest_failure(),
                r.as_secs_f64()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_is_the_nearest_rank() {
        let d: Vec<Duration> = (1..=20).map(Duration::from_secs).collect();
        assert_eq!(p95(&d), Some(Duration::from_secs(19)));
        assert_eq!(p95(&d[..1]), Some(Duration::from_secs(1)));
        assert_eq!(p95(&[]), None);
    }

    #[test]
    fn a_short_startup_window_gets_a_patch() {
        let probe = crate::spec::model::Probe {
            period_seconds: Some(1),
            failure_threshold: Some(2),
            ..Default::default()
        };
        let c: crate::spec::model::Container =
            toml::from_str("name = \"app\"\ncommand = [\"x\"]\n").expect("container");
        let c = crate::spec::model::Container {
            startup_probe: Some(probe),
            ..c
        };
        let mut m = ContainerMeasure {
            name: "app".into(),
            started: vec![Duration::from_secs(3), Duration::from_millis(3500)],
            ready: vec![],
            runs: 2,
            patch: BTreeMap::new(),
            reasons: vec![],
        };
        budgets(&mut m, &c);
        assert_eq!(
            m.patch["startupProbe"]["failureThreshold"], 7,
            "2 × 3.5 s at 1 s a probe"
        );
        assert!(m.reasons[0].contains("0 + 2 × 1 = 2 s"), "{:?}", m.reasons);
    }
}
