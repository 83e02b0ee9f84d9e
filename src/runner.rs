//! Running a loaded spec: build the pod config, run the pod worker, check expectations,
//! and sweep every process of the run on every path.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;

use crate::events::Entry;
use crate::expect::{self, Verdict};
use crate::kubelet::pod_worker::RunError;
use crate::kubelet::{EndReason, Observer, PodConfig, RunOutcome, run_pod};
use crate::runtime::process;
use crate::spec::LoadedSpec;
use crate::spec::model::Pod;

mod judge;
mod notes;

pub use notes::identity_unavailable;
use notes::{
    empty_dir_note, made_host_paths_note, memory_note, read_only_root_note, volume_note,
    working_dir_note,
};

/// Default real-time bound on a run when the spec sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Options that come from outside the spec (CLI flags, harness).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the spec's time scale.
    pub time_scale: Option<crate::clock::TimeScale>,
    /// Extra image table entries (`--image NAME=CMD`), taking precedence over the spec's.
    pub images: Vec<(String, Vec<String>)>,
    /// Directories put in front of the containers' PATH.
    pub extra_path: Vec<PathBuf>,
    /// Overrides the spec's isolation mode.
    pub isolation: Option<crate::runtime::isolation::Isolation>,
}

/// Everything a finished run produced.
#[derive(Debug, Clone)]
pub struct SpecReport {
    /// The spec's title.
    pub title: String,
    /// The pod name.
    pub pod_name: String,
    /// What happened.
    pub outcome: RunOutcome,
    /// Whether the expectations held.
    pub verdict: Verdict,
    /// How the run was set up: the isolation mode and why, then anything the machine could
    /// not enforce.
    pub notes: Vec<String>,
    /// The pod as the spec declared it (reports read probe thresholds from it).
    pub pod: crate::spec::model::Pod,
    /// The spec's expectations (reports list which were met).
    pub expect: expect::model::Expectations,
    /// Wall-clock time and time scale of the run, to turn spec times into dates.
    pub wall: crate::clock::WallClock,
    /// With `[pods.NAME]`: every pod after the first (`pod_name`, `pod` and `outcome`), in
    /// name order.
    pub other_pods: Vec<PodRun>,
    /// With several pods: each pod's own verdict, in the order of [`SpecReport::pods`],
    /// its failures without the `pod NAME: ` prefix `verdict` gives them. Empty with one.
    pub pod_verdicts: Vec<Verdict>,
    /// Why the run ended (with several pods: the weightiest of their ends).
    pub end: EndReason,
    /// Spec time at the end of the run.
    pub ended_at: Duration,
    /// The `[[traffic]]` requests (`Entry::Request`) in send order; empty without traffic.
    pub traffic: crate::events::Timeline,
}

/// One pod of a report with what the spec expects of it alone, for the reports that
/// explain a run pod by pod.
#[derive(Debug)]
pub struct PodView<'a> {
    /// metadata.name.
    pub name: &'a str,
    /// The pod as the spec declared it.
    pub pod: &'a Pod,
    /// What happened to it.
    pub outcome: &'a RunOutcome,
    /// The expectations about this pod (all of them with one pod).
    pub expect: std::borrow::Cow<'a, expect::model::Expectations>,
    /// Its verdict, failures unprefixed.
    pub verdict: &'a Verdict,
    /// `pod NAME: ` with several pods, else empty: what its lines start with.
    pub prefix: String,
}

/// One pod of a run with several pods, and what happened to it.
#[derive(Debug, Clone)]
pub struct PodRun {
    /// metadata.name.
    pub name: String,
    /// The pod as the spec declared it.
    pub pod: Pod,
    /// When it was created (spec time since the run began).
    pub start_at: Duration,
    /// What happened.
    pub outcome: RunOutcome,
}

impl SpecReport {
    /// Every pod of the run with its outcome: the first, then `other_pods`.
    pub fn pods(&self) -> Vec<(&str, &Pod, &RunOutcome)> {
        std::iter::once((self.pod_name.as_str(), &self.pod, &self.outcome))
            .chain(
                self.other_pods
                    .iter()
                    .map(|p| (p.name.as_str(), &p.pod, &p.outcome)),
            )
            .collect()
    }

    /// Every pod of the run as the reports look at it: its own expectations and verdict.
    pub fn views(&self) -> Vec<PodView<'_>> {
        let several = !self.other_pods.is_empty();
        self.pods()
            .into_iter()
            .enumerate()
            .map(|(i, (name, pod, outcome))| PodView {
                name,
                pod,
                outcome,
                expect: if several {
                    std::borrow::Cow::Owned(self.expect.for_pod(name, false))
                } else {
                    std::borrow::Cow::Borrowed(&self.expect)
                },
                verdict: if several {
                    self.pod_verdicts.get(i).unwrap_or(&self.verdict)
                } else {
                    &self.verdict
                },
                prefix: if several {
                    format!("pod {name}: ")
                } else {
                    String::new()
                },
            })
            .collect()
    }

    /// Passed: expectations held and the run did not time out or get interrupted.
    pub fn passed(&self) -> bool {
        self.verdict.passed()
    }
}

/// A guard that kills every process tagged with the run id when dropped, so a panic or an
/// early return cannot leak containers.
pub struct RunGuard {
    run_id: String,
}

impl RunGuard {
    /// A fresh run id and its guard.
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        RunGuard {
            run_id: format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff),
        }
    }

    /// A guard for a run id chosen by the caller (e.g. a harness session prefix plus a number).
    pub fn with_id(run_id: String) -> Self {
        RunGuard { run_id }
    }

    /// The id every process of the run carries as `PODCHECK_RUN`.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
}

impl Default for RunGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        process::kill_tagged("PODCHECK_RUN", &self.run_id);
    }
}

/// Runs one spec and checks it. `on_entry` sees every timeline entry, with its pod's name,
/// as it happens.
pub async fn run_spec(
    loaded: &LoadedSpec,
    opts: &RunOptions,
    run_id: &str,
    on_entry: &mut dyn FnMut(&str, &Entry),
    cancel: Option<watch::Receiver<bool>>,
) -> Result<SpecReport, RunError> {
    crate::runtime::limits::raise_open_files();
    crate::runtime::priority::raise_this_thread();
    let spec = &loaded.spec;
    let instances = spec.pod_instances(&sanitize(&loaded.stem));
    let several = instances.len() > 1;
    let mut images = spec.images.clone();
    for (name, argv) in &opts.images {
        images.insert(
            name.clone(),
            crate::spec::model::ImageEntry::command(argv.clone()),
        );
    }
    let requested_scale = opts
        .time_scale
        .or(spec.run.time_scale)
        .unwrap_or(crate::clock::TimeScale::Fixed(1.0));
    let all_pods: Vec<&Pod> = instances.iter().map(|p| &p.pod).collect();
    let (time_scale, scale_note) = resolve_scale(requested_scale, &all_pods);
    let timeout = scaled_timeout(
        spec.run.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0),
        spec.run.time_scale,
        opts.time_scale.map(|_| time_scale),
    );
    let requested = opts.isolation.or(spec.run.isolation).unwrap_or_default();
    let (pod_mode, isolation) =
        crate::runtime::isolation::decide(requested).map_err(RunError::Isolation)?;
    let mut notes = vec![isolation];
    notes.extend(scale_note);
    for p in &all_pods {
        for n in volume_note(p, pod_mode)
            .into_iter()
            .chain(memory_note(p))
            .chain(made_host_paths_note(p))
            .chain(empty_dir_note(p))
            .chain(working_dir_note(p, pod_mode))
            .chain(read_only_root_note(p, pod_mode))
        {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
    }
    for f in &spec.run.requires {
        f.check(pod_mode).map_err(|e| {
            RunError::Isolation(format!(
                "this spec requires {f} (run.requires), which is unavailable here: {e}"
            ))
        })?;
    }
    if !spec.traffic.is_empty() && !pod_mode {
        return Err(RunError::Isolation(
            "[[traffic]] reaches pods through their own network namespaces, which isolation none does not have: run with isolation pod (and put requires = [\"namespaces\"] in [run])".into(),
        ));
    }
    for p in &all_pods {
        if let Some(why) = identity_unavailable(p, &images) {
            return Err(RunError::Isolation(why));
        }
    }
    let wall = crate::clock::WallClock {
        created: std::time::SystemTime::now(),
        scale: time_scale,
    };
    let cluster = std::sync::Arc::new(crate::node::cluster_info(&spec.services, pod_mode));
    if pod_mode && let Err(why) = crate::runtime::isolation::mounts_in_pod_mode() {
        notes.push(format!("/etc/hosts, /etc/hostname and /etc/resolv.conf are the machine's ({why}): containers resolve no Service name, though the cluster DNS answers at 127.96.0.10 and the Service variables are set"));
    }
    if !pod_mode && !spec.services.is_empty() {
        notes.push("isolation is none: Services have no ClusterIP, no DNS name and no environment variables here; Service names and ClusterIPs need pod isolation (run.requires = [\"namespaces\"])".into());
    }
    let node_fs = std::sync::Arc::new(crate::runtime::node_fs::NodeFs::new());
    let mut cfgs = Vec::new();
    for inst in &instances {
        let network = if pod_mode {
            // The pod's UTS namespace carries its hostname, as the sandbox's does.
            let namespace = inst.pod.namespace.as_deref().unwrap_or("default");
            let (hostname, _) = crate::kubelet::pod_dns::hostname_and_domain(
                &inst.pod,
                &inst.name,
                namespace,
                &cluster.dns.cluster_domain,
            );
            Some(std::sync::Arc::new(
                crate::runtime::netns::PodNetwork::for_pod(&hostname)
                    .map_err(|e| RunError::Isolation(e.to_string()))?,
            ))
        } else {
            None
        };
        cfgs.push(PodConfig {
            pod: inst.pod.clone(),
            name: inst.name.clone(),
            namespace: inst
                .pod
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            uid: pod_uid(run_id, &inst.name),
            images: images.clone(),
            time_scale,
            delete_at: inst.delete_at,
            delete_grace: inst.delete_grace,
            updates: spec
                .run
                .updates
                .iter()
                .filter(|u| u.applies_to(&inst.name, inst.table.as_deref()))
                .cloned()
                .collect(),
            feature_gates: crate::spec::features::FeatureGates::from_spec(&spec.run.feature_gates),
            duration: spec.run.duration.map(|d| d.0),
            timeout,
            run_id: run_id.to_owned(),
            extra_path: opts.extra_path.clone(),
            network,
            clock: None,
            start_at: inst.start_at,
            cluster: cluster.clone(),
            node_fs: node_fs.clone(),
        });
    }
    // The cluster DNS answers in every pod's namespace for the whole run; dropping it (on
    // any path out of here) ends it.
    // A machine where it cannot bind (a kernel without ip_unprivileged_port_start, for an
    // ordinary user) still runs the pods; the notes say names do not resolve.
    let dns = if pod_mode {
        match crate::node::start_cluster_dns(&cfgs, &spec.services) {
            Ok(d) => Some(d),
            Err(e) => {
                notes.push(format!("{e}: Service names do not resolve in this run"));
                None
            }
        }
    } else {
        None
    };
    let mut traffic = crate::events::Timeline::default();
    // Each pod's first expectation to fail for good, with when, as its stop condition saw it.
    let first_failures;
    let mut outcomes = if several
        || !instances[0].start_at.is_zero()
        || !spec.services.is_empty()
        || !spec.traffic.is_empty()
    {
        let pods = cfgs
            .into_iter()
            .map(|cfg| crate::node::NodePod {
                expect: spec.expect.for_pod(&cfg.name, !several),
                cfg,
            })
            .collect();
        let cluster = crate::node::NodeCluster {
            services: &spec.services,
            settings: &spec.cluster,
            traffic: &spec.traffic,
        };
        let run = crate::node::run_pods(pods, cluster, time_scale, on_entry, cancel).await?;
        traffic = run.traffic;
        first_failures = run.first_failures;
        run.outcomes
    } else {
        // One pod: its own worker and clock, as before there were several.
        let Some(cfg) = cfgs.pop() else {
            return Err(RunError::Isolation("the spec has no pod".into()));
        };
        let name = cfg.name.clone();
        let exp = spec.expect.clone();
        let recheck_at = expect::recheck_times(&exp);
        let mut settle = expect::settle::Settle::new(&exp);
        let mut decided = |t: &crate::events::Timeline, now: Duration| settle.stop_at(t, now);
        let mut forward = |e: &Entry| on_entry(&name, e);
        let observer = Observer {
            on_entry: &mut forward,
            decided: &mut decided,
            recheck_at,
            cancel,
        };
        let span = tracing::info_span!("spec", pod = %name);
        let outcome = {
            use tracing::Instrument;
            run_pod(cfg, observer).instrument(span).await?
        };
        tracing::info!(pod = %name, end = ?outcome.end, at = ?outcome.ended_at, "run ended");
        first_failures = vec![settle.first_failure()];
        vec![outcome]
    };
    if let Some(dns) = dns {
        dns.shutdown().await;
    }
    if pod_mode {
        for outcome in &mut outcomes {
            record_host_listeners(outcome);
        }
    }
    let ran = judge::Ran {
        instances: &instances,
        outcomes: &outcomes,
        first_failures: &first_failures,
        traffic: &traffic,
    };
    let judged = judge::judge(&spec.expect, &ran, time_scale, timeout, &mut notes);
    let judge::Judged {
        verdict,
        pod_verdicts,
        end,
        ended_at,
    } = judged;
    let mut runs = instances
        .into_iter()
        .zip(outcomes.drain(..))
        .map(|(inst, outcome)| PodRun {
            name: inst.name,
            pod: inst.pod,
            start_at: inst.start_at,
            outcome,
        });
    let Some(first) = runs.next() else {
        return Err(RunError::Isolation("the spec has no pod".into()));
    };
    Ok(SpecReport {
        title: spec.name.clone().unwrap_or_else(|| loaded.stem.clone()),
        pod_name: first.name,
        outcome: first.outcome,
        verdict,
        notes,
        pod: first.pod,
        expect: spec.expect.clone(),
        wall,
        other_pods: runs.collect(),
        pod_verdicts,
        end,
        ended_at,
        traffic,
    })
}

/// `run.timeout` is real time chosen for the spec's own time scale: when a caller runs the
/// spec slower (`--time-scale`, `PODCHECK_TIME_SCALE`), the same spec time takes longer, so
/// the timeout grows in proportion (never shrinks), and the spec still ends at its own end.
fn scaled_timeout(
    timeout: Duration,
    own: Option<crate::clock::TimeScale>,
    overridden: Option<f64>,
) -> Duration {
    let own = match own {
        None => 1.0,
        Some(crate::clock::TimeScale::Fixed(s)) => s,
        // An auto scale is measured per run; there is no fixed ratio to keep.
        Some(crate::clock::TimeScale::Auto) => return timeout,
    };
    match overridden {
        Some(new) if own > 0.0 && new > own => crate::clock::mul(timeout, new / own),
        _ => timeout,
    }
}

/// The scale to run at, and for `auto` a note saying what was measured and chosen.
fn resolve_scale(requested: crate::clock::TimeScale, pods: &[&Pod]) -> (f64, Option<String>) {
    match requested {
        crate::clock::TimeScale::Fixed(s) => (s, None),
        crate::clock::TimeScale::Auto => {
            let latency = crate::runtime::latency::process_start();
            let shortest = pods
                .iter()
                .map(|p| expect::reliability::shortest_timer(p))
                .min()
                .unwrap_or(Duration::from_secs(1));
            let scale = crate::clock::auto_scale(latency, shortest);
            let real_ms = shortest.as_secs_f64() * scale * 1000.0;
            let note = format!(
                "time scale auto: {scale:.3} (a process start took {:.1} ms here; the shortest timer, {}, is {real_ms:.0} ms of real time at this scale)",
                latency.as_secs_f64() * 1000.0,
                crate::spec::duration::format_secs(shortest.as_secs_f64()),
            );
            (scale, Some(note))
        }
    }
}

/// In `pod` isolation, a probe's "connection refused" on a loopback port where the host
/// has a listener usually means the server runs on the host, not in the pod: the fact goes
/// on the timeline for the report's hint. One bounded connect per distinct port.
fn record_host_listeners(outcome: &mut RunOutcome) {
    static PORT: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?:127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})\b").ok()
    });
    let Some(re) = PORT.as_ref() else { return };
    let mut ports = std::collections::BTreeSet::new();
    for x in outcome.timeline.executions() {
        if let crate::events::ExecutionKind::Probe { output, .. } = &x.what
            && output.contains("connection refused")
            && let Some(p) = re.captures(output).and_then(|c| c[1].parse::<u16>().ok())
        {
            ports.insert(p);
        }
    }
    for port in ports.into_iter().take(8) {
        if crate::runtime::host_port::host_loopback_listens(port) {
            tracing::info!(
                port,
                "a host loopback listener on a port the pod's probes found closed"
            );
            outcome.timeline.entries.push(Entry::HostListener {
                at: outcome.ended_at,
                port,
            });
        }
    }
}

/// A UUID-shaped pod uid, unique per run and pod name.
fn pod_uid(run_id: &str, pod_name: &str) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in run_id.bytes().chain([0]).chain(pod_name.bytes()) {
        h = (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let x = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// A DNS-1123 label made from a file stem.
pub fn sanitize(stem: &str) -> String {
    let s: String = stem
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s.trim_matches('-');
    let s = if s.is_empty() { "pod" } else { s };
    s.chars().take(63).collect()
}

#[cfg(test)]
mod timeout_tests {
    use super::*;
    use crate::clock::TimeScale;

    #[test]
    fn a_slower_override_stretches_the_timeout_and_a_faster_one_keeps_it() {
        let t = Duration::from_secs(30);
        assert_eq!(
            scaled_timeout(t, Some(TimeScale::Fixed(0.1)), Some(1.0)),
            Duration::from_secs(300)
        );
        assert_eq!(scaled_timeout(t, None, Some(0.1)), t);
        assert_eq!(scaled_timeout(t, Some(TimeScale::Fixed(0.1)), None), t);
        assert_eq!(scaled_timeout(t, Some(TimeScale::Auto), Some(1.0)), t);
        assert_eq!(scaled_timeout(t, None, Some(2.0)), Duration::from_secs(60));
    }
}
