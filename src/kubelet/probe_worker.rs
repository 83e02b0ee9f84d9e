//! Probe workers (kubelet/prober/worker.go, the v1.35 default path): one per container and
//! probe kind, ticking from pod admission, skipping while the container is not running,
//! before initialDelaySeconds or while startup gating applies, counting consecutive results
//! against the thresholds, and publishing a result only when it changes.

use std::time::Duration;

use crate::events::{EventType, ExecutionKind};
use crate::prober::{self, Handler, ProbeContext, ProbeError, ProbeOutcome, ProbeResult};
use crate::spec::model::{Probe, api_seconds};

use super::container::ContainerKind;
use super::pod_worker::{BlockReason, Cid, Msg, SyncBlock, Timer, Worker};
use super::status::should_restart;

/// How often an erroring probe is tried before its result is thrown away (`maxProbeRetries`).
const MAX_PROBE_ATTEMPTS: u8 = 3;

/// Liveness, readiness or startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// Restarts the container on failure.
    Liveness,
    /// Drives `ready`.
    Readiness,
    /// Gates the other two until it succeeds.
    Startup,
}

impl ProbeKind {
    /// The field name's stem as specs write it: liveness, readiness, startup.
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Startup => "startup",
        }
    }

    /// The word used in event messages.
    pub fn label(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }

    /// The cached value a new container instance starts with.
    fn initial(self) -> Cached {
        match self {
            ProbeKind::Liveness => Cached::Success,
            ProbeKind::Readiness => Cached::Failure,
            ProbeKind::Startup => Cached::Unknown,
        }
    }
}

/// A cached probe result (kubelet/prober/results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    /// Healthy.
    Success,
    /// Unhealthy.
    Failure,
    /// Not decided yet (startup only).
    Unknown,
}

/// One probe worker.
#[derive(Debug)]
pub(super) struct ProbeWorker {
    pub cid: Cid,
    pub kind: ProbeKind,
    pub handler: Handler,
    pub period: Duration,
    pub initial_delay: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
    /// Spec time the worker (and its ticker) started.
    pub started_at: Duration,
    pub last_instance: Option<u32>,
    pub cached: Cached,
    pub last_result: Option<Cached>,
    pub result_run: u32,
    pub on_hold: bool,
    pub in_flight: bool,
    pub pending_tick: bool,
    pub stopped: bool,
    /// Bumped when the ticker is reset; ticks of older generations are ignored.
    pub tick_generation: u64,
}

/// Seconds from an API integer field, with the kubelet's "0 means default" rule.
fn count(v: Option<i64>, default: u32) -> u32 {
    match v {
        Some(n) if n > 0 => u32::try_from(n).unwrap_or(default),
        _ => default,
    }
}

impl ProbeWorker {
    /// A worker for `probe` of container `cid`, started at spec time `now`.
    pub fn new(cid: Cid, kind: ProbeKind, probe: &Probe, now: Duration) -> Option<Self> {
        let handler = Handler::of(probe)?;
        Some(ProbeWorker {
            cid,
            kind,
            handler,
            period: api_seconds(probe.period_seconds, 10),
            initial_delay: Duration::from_secs(
                probe
                    .initial_delay_seconds
                    .and_then(|d| u64::try_from(d).ok())
                    .unwrap_or(0),
            ),
            timeout: api_seconds(probe.timeout_seconds, 1),
            success_threshold: count(probe.success_threshold, 1),
            failure_threshold: count(probe.failure_threshold, 3),
            started_at: now,
            last_instance: None,
            cached: kind.initial(),
            last_result: None,
            result_run: 0,
            on_hold: false,
            in_flight: false,
            pending_tick: false,
            stopped: false,
            tick_generation: 0,
        })
    }
}

impl Worker<'_> {
    /// Creates the probe workers of every regular container and sidecar (at pod admission).
    pub(super) fn create_probe_workers(&mut self) {
        let now = self.now();
        for cid in self.all_cids() {
            let rec = self.rec(cid);
            if rec.kind == ContainerKind::Init {
                continue;
            }
            let probes = [
                (ProbeKind::Startup, rec.spec.startup_probe.clone()),
                (ProbeKind::Liveness, rec.spec.liveness_probe.clone()),
                (ProbeKind::Readiness, rec.spec.readiness_probe.clone()),
            ];
            for (kind, p) in probes {
                if let Some(w) = p.and_then(|p| ProbeWorker::new(cid, kind, &p, now)) {
                    self.probes.push(w);
                    let id = self.probes.len() - 1;
                    self.schedule_at(now, Timer::ProbeTick(id, 0));
                }
            }
        }
    }

    /// A tick of a worker's ticker.
    pub(super) fn probe_tick(&mut self, id: usize, generation: u64) {
        let now = self.now();
        let Some(w) = self.probes.get_mut(id) else {
            return;
        };
        if w.stopped || w.tick_generation != generation {
            return;
        }
        // The ticker keeps its phase from its (re)start, whatever the attempts take.
        let elapsed = now.saturating_sub(w.started_at).as_secs_f64();
        let period = w.period.as_secs_f64();
        let next = w.started_at.saturating_add(crate::clock::secs_f64(
            ((elapsed / period).floor() + 1.0) * period,
        ));
        if w.in_flight {
            w.pending_tick = true;
        }
        let in_flight = w.in_flight;
        self.schedule_at(next, Timer::ProbeTick(id, generation));
        if !in_flight {
            self.probe_attempt(id, 1);
        }
    }

    /// Restarts a worker's ticker at `now` (what the readiness trigger does), dropping any
    /// tick that was due.
    fn reset_ticker(&mut self, id: usize) {
        let now = self.now();
        let w = &mut self.probes[id];
        w.tick_generation += 1;
        w.started_at = now;
        w.pending_tick = false;
        let (next, generation) = (now.saturating_add(w.period), w.tick_generation);
        self.schedule_at(next, Timer::ProbeTick(id, generation));
    }

    /// One `doProbe`: decides whether to probe now and starts the attempt.
    pub(super) fn probe_attempt(&mut self, id: usize, attempt: u8) {
        let now = self.now();
        let Some(w) = self.probes.get(id) else { return };
        if w.stopped || w.in_flight {
            return;
        }
        let (cid, kind) = (w.cid, w.kind);
        if self
            .last_status
            .as_ref()
            .is_some_and(|s| s.phase.is_terminal())
        {
            self.probes[id].stopped = true;
            return;
        }
        let Some(current) = self.rec(cid).current.clone() else {
            return;
        };
        let instance = current.restart_count;
        if self.probes[id].last_instance != Some(instance) {
            // A new container instance: fresh cached result, no hold. lastResult and
            // resultRun are deliberately kept, as the kubelet does.
            let w = &mut self.probes[id];
            w.last_instance = Some(instance);
            w.on_hold = false;
            let initial = kind.initial();
            self.set_cached(id, initial, true);
        }
        let post_start_running = self.sync_block
            == Some(SyncBlock {
                cid,
                reason: BlockReason::PostStart,
            });
        if self.probes[id].on_hold || post_start_running {
            return;
        }
        if let Some(exit) = current.exit() {
            self.set_cached(id, Cached::Failure, false);
            let rec = self.rec(cid);
            if !should_restart(&rec.spec, rec.kind, self.restart_policy(), exit.exit_code) {
                self.probes[id].stopped = true;
            }
            return;
        }
        if self.tearing_down && kind != ProbeKind::Readiness {
            // SyncTerminatingPod stops liveness and startup workers; readiness goes on.
            self.probes[id].stopped = true;
            return;
        }
        let since_start = now.saturating_sub(current.started_at).as_secs();
        if since_start < self.probes[id].initial_delay.as_secs() {
            return;
        }
        let rec = self.rec(cid);
        let gated = match kind {
            ProbeKind::Startup => rec.startup_ok,
            _ => !rec.startup_ok,
        };
        if gated {
            return;
        }
        let Some(ctx) = self.probe_context(cid, self.probes[id].timeout) else {
            return;
        };
        let w = &mut self.probes[id];
        w.in_flight = true;
        let handler = w.handler.clone();
        let real_timeout = self.clock.to_real(w.timeout);
        let tx = self.tx.clone();
        let started = self.now();
        tokio::spawn(async move {
            let outcome = prober::probe(&handler, &ctx, real_timeout).await;
            let _ = tx.send(Msg::ProbeDone {
                id,
                started,
                instance,
                attempt,
                outcome,
            });
        });
    }

    /// What an attempt needs to know about the container, or None if it is not running.
    /// Probes and hooks run "inside" the container: its env, cwd, ports and network.
    pub(super) fn probe_context(&self, cid: Cid, timeout: Duration) -> Option<ProbeContext> {
        let live = self.truth.get(&cid)?.live.as_ref()?;
        Some(ProbeContext {
            pod_ip: "127.0.0.1".into(),
            ports: self.rec(cid).spec.ports.clone(),
            env: live.env.clone(),
            spec_env: exec_probe_vars(&self.rec(cid).spec.env),
            cwd: live.cwd.clone(),
            timeout_display: crate::kubelet::backoff::go_duration(timeout),
            network: self.cfg.network.clone(),
            container: Some(live.handle.clone()),
        })
    }

    /// An attempt finished: events, threshold counting, publication.
    pub(super) fn probe_done(
        &mut self,
        id: usize,
        started: Duration,
        instance: u32,
        attempt: u8,
        outcome: Result<ProbeOutcome, ProbeError>,
    ) {
        let Some(w) = self.probes.get_mut(id) else {
            return;
        };
        w.in_flight = false;
        let (cid, kind, handler) = (w.cid, w.kind, w.handler.name());
        let (result, output) = match &outcome {
            Ok(o) => (
                match o.result {
                    ProbeResult::Success => "success",
                    ProbeResult::Warning => "warning",
                    ProbeResult::Failure => "failure",
                    ProbeResult::Unknown => "unknown",
                },
                o.output.clone(),
            ),
            Err(e) => ("error", e.to_string()),
        };
        let duration = self.now().saturating_sub(started);
        self.push_execution(
            cid,
            instance,
            ExecutionKind::Probe {
                probe: kind.name(),
                handler,
                result,
                output,
                duration,
            },
        );
        let w = &mut self.probes[id];
        if w.last_instance != Some(instance) || w.stopped {
            return;
        }
        let label = kind.label();
        let result = match outcome {
            Err(_) if attempt < MAX_PROBE_ATTEMPTS => {
                self.probe_attempt(id, attempt + 1);
                return;
            }
            Err(e) => {
                let msg = format!(
                    "{label} probe errored and resulted in {} state: {e}",
                    e.state()
                );
                self.kubelet_event(EventType::Warning, "Unhealthy", msg, Some(cid));
                // The kubelet throws an errored result away.
                self.after_probe(id);
                return;
            }
            Ok(o) => match o.result {
                ProbeResult::Success => Cached::Success,
                ProbeResult::Warning => {
                    let msg = format!("{label} probe warning: {}", o.output);
                    self.kubelet_event(EventType::Warning, "ProbeWarning", msg, Some(cid));
                    Cached::Success
                }
                ProbeResult::Failure => {
                    let msg = format!("{label} probe failed: {}", o.output);
                    self.kubelet_event(EventType::Warning, "Unhealthy", msg, Some(cid));
                    Cached::Failure
                }
                ProbeResult::Unknown => Cached::Failure,
            },
        };
        let w = &mut self.probes[id];
        if w.last_result == Some(result) {
            w.result_run += 1;
        } else {
            w.last_result = Some(result);
            w.result_run = 1;
        }
        let reached = match result {
            Cached::Failure => w.result_run >= w.failure_threshold,
            _ => w.result_run >= w.success_threshold,
        };
        if reached {
            if (kind == ProbeKind::Liveness && result == Cached::Failure)
                || kind == ProbeKind::Startup
            {
                let w = &mut self.probes[id];
                w.on_hold = true;
                w.result_run = 0;
            }
            self.set_cached(id, result, false);
        }
        self.after_probe(id);
    }

    fn after_probe(&mut self, id: usize) {
        if let Some(w) = self.probes.get_mut(id)
            && w.pending_tick
        {
            w.pending_tick = false;
            self.probe_attempt(id, 1);
        }
    }

    /// Stores a result; a change reaches the container's flags and the pod at once.
    fn set_cached(&mut self, id: usize, value: Cached, quiet: bool) {
        let w = &mut self.probes[id];
        if w.cached == value {
            return;
        }
        w.cached = value;
        let (cid, kind) = (w.cid, w.kind);
        let rec = self.rec_mut(cid);
        match kind {
            ProbeKind::Readiness => rec.readiness_ok = value == Cached::Success,
            ProbeKind::Startup => {
                rec.startup_ok = value == Cached::Success;
                rec.startup_failed = value == Cached::Failure;
            }
            ProbeKind::Liveness => rec.liveness_failed = value == Cached::Failure,
        }
        if !quiet {
            // The status manager writes readiness and startup changes at once; then the pod
            // worker syncs (which kills on a liveness or startup failure).
            self.publish_status();
            self.sync();
        }
    }

    /// The readiness "manual trigger": a started, running container whose readiness is not
    /// yet Success is probed as soon as the kubelet regenerates the status.
    pub(super) fn poke_readiness(&mut self) {
        for id in 0..self.probes.len() {
            let w = &self.probes[id];
            if w.kind != ProbeKind::Readiness
                || w.cached == Cached::Success
                || w.in_flight
                || w.stopped
            {
                continue;
            }
            if self.rec(w.cid).started() {
                self.probe_attempt(id, 1);
                if self.probes[id].in_flight {
                    // The trigger restarts the ticker: the next periodic probe is a full
                    // period later (worker.go).
                    self.reset_ticker(id);
                }
            }
        }
    }
}

/// The variables an exec probe's command may name (prober.go runProbe:
/// ExpandContainerCommandOnlyStatic over `container.Env`): each `env` entry's own `value` as
/// written, unexpanded, and "" for one taken from elsewhere (valueFrom); envFrom's variables
/// are not among them.
fn exec_probe_vars(env: &[crate::spec::model::EnvVar]) -> Vec<(String, String)> {
    env.iter()
        // envFrom entries are the ones read from an object with no place in `env`.
        .filter(|e| !(e.from_object && e.manifest_index.is_none()))
        .map(|e| {
            let literal = e.field_ref.is_none() && !e.from_object;
            let value = if literal {
                e.value.clone()
            } else {
                String::new()
            };
            (e.name.clone(), value)
        })
        .collect()
}
