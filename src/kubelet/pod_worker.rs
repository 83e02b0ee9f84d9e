//! The pod worker: one task per pod that owns its containers, timers and timeline.
//!
//! The flow mirrors the kubelet: the runtime (our processes) changes; PLEG relists on a
//! 1 s grid and copies what changed into the pod cache; every relist that saw a change, every
//! back-off requeue and every deletion triggers a pod sync; the sync writes status from the
//! pod cache and then acts. All timers live in one ordered map, so a pod costs one sleeping
//! future, not a thread or a poll loop.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::events::{Condition, EventType, Phase, PodStatus, Timeline};
use crate::runtime::logs::SharedLog;
use crate::runtime::process::{self, ProcessExit};
use crate::runtime::sandbox::PodSandbox;
use crate::spec::model::RestartPolicy;

pub use super::run_api::{EndReason, InstanceLog, Observer, PodConfig, RunError, RunOutcome};

use super::backoff::Backoff;
use super::container::{ContainerKind, ContainerRecord, InstanceRecord};

/// PLEG relist period (`genericPlegRelistPeriod`).
pub const RELIST_PERIOD: Duration = Duration::from_secs(1);
/// Smallest grace period any container stop gets (`minimumGracePeriodInSeconds`).
pub const MIN_GRACE: Duration = Duration::from_secs(2);
/// Pod grace period when the spec sets none.
pub const DEFAULT_GRACE_SECONDS: i64 = 30;
/// Pod status reason once activeDeadlineSeconds has passed.
pub(super) const DEADLINE_REASON: &str = "DeadlineExceeded";
/// Its message, in the event and in the pod status.
pub(super) const DEADLINE_MESSAGE: &str =
    "Pod was active on the node longer than the specified deadline";
/// How much of a termination-message file is kept.
pub(super) const TERMINATION_MESSAGE_MAX: usize = 4096;

/// Identifies a container: init list or app list, and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Cid {
    pub init: bool,
    pub idx: usize,
}

/// A running process and its stop state.
#[derive(Debug)]
pub(super) struct Live {
    /// The main process.
    pub handle: std::sync::Arc<process::ContainerHandle>,
    pub restart_count: u32,
    pub termination_log: std::path::PathBuf,
    pub log: SharedLog,
    /// The container's environment, for exec probes and hooks.
    pub env: Vec<(String, String)>,
    /// The container's working directory, for exec probes and hooks.
    pub cwd: std::path::PathBuf,
    /// Killed to be restarted at once (a liveness or startup failure).
    pub restart_after_kill: bool,
    /// When the stop signal must be followed by SIGKILL.
    pub kill_deadline: Option<Duration>,
    /// The stop sequence, once a kill began.
    pub stop: Option<super::termination::StopState>,
    /// The running hook, aborted (and its processes killed) when the container is gone.
    pub hook_abort: Option<tokio::task::AbortHandle>,
}

/// The runtime's truth for one container (PLEG copies it into the record on relist).
#[derive(Debug, Default)]
pub(super) struct Truth {
    pub current: Option<InstanceRecord>,
    pub previous: Option<InstanceRecord>,
    pub live: Option<Live>,
}

/// Why the pod worker is inside a sync that has not returned yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BlockReason {
    /// startContainer waits for the container's postStart hook.
    PostStart,
    /// SyncPod waits in killContainer (preStop, then the stop) for a probe-failed container.
    Kill,
}

/// The container a blocked pod worker waits for, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SyncBlock {
    pub cid: Cid,
    pub reason: BlockReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    Relist,
    Sync,
    /// SIGKILL is due for this container instance (cid, restart count).
    KillDeadline(Cid, u32),
    /// The kubelet stops waiting for this instance's preStop hook.
    PreStopDeadline(Cid, u32),
    /// A stopping sidecar instance stops waiting for its turn (its grace ran out).
    TurnDeadline(Cid, u32),
    /// A probe worker's ticker; the second field is the ticker generation (resets bump it).
    ProbeTick(usize, u64),
    Delete,
    ActiveDeadline,
    /// The n-th `run.updates` entry is applied.
    Update(usize),
    /// The observer asked to re-check whether the expectations are decided.
    Recheck,
    RunEnd,
}

pub(super) enum Msg {
    Exited {
        cid: Cid,
        restart_count: u32,
        exit: ProcessExit,
    },
    ProbeDone {
        id: usize,
        /// Spec time the attempt began.
        started: Duration,
        instance: u32,
        attempt: u8,
        outcome: Result<crate::prober::ProbeOutcome, crate::prober::ProbeError>,
    },
    HookDone {
        cid: Cid,
        /// Spec time the hook began.
        started: Duration,
        instance: u32,
        kind: super::hooks::HookKind,
        result: super::hooks::HookResult,
    },
}

pub(super) struct Worker<'a> {
    pub cfg: PodConfig,
    pub clock: Clock,
    pub sandbox: PodSandbox,
    pub init: Vec<ContainerRecord>,
    pub regular: Vec<ContainerRecord>,
    pub truth: HashMap<Cid, Truth>,
    pub backoff: Backoff,
    pub image_backoff: Backoff,
    pub image_backoff_updates: HashMap<String, Duration>,
    /// Images this pod has pulled (an `available_at` image is pulled once it exists).
    pub pulled_images: std::collections::HashSet<String>,
    pub timers: BTreeMap<(Instant, u64), Timer>,
    pub seq: u64,
    pub tx: mpsc::UnboundedSender<Msg>,
    pub timeline: Timeline,
    pub last_status: Option<PodStatus>,
    pub sandbox_created: bool,
    pub sandbox_ready_seen: bool,
    /// The volume manager: whether the pod's volumes are set up (see `volumes`).
    pub volumes: super::volumes::VolumeManager,
    pub deleting: bool,
    pub tearing_down: bool,
    pub forced: Option<(Phase, String, String)>,
    pub finished: bool,
    pub decided_now: bool,
    /// The later stop time the observer named, already scheduled as a recheck.
    pub stop_asked: Option<Duration>,
    pub rng: u64,
    pub logs: Vec<(Cid, u32, SharedLog)>,
    pub probes: Vec<super::probe_worker::ProbeWorker>,
    /// What the pod worker is waiting for inside a sync (no other sync runs meanwhile).
    pub sync_block: Option<SyncBlock>,
    /// A sync was asked for while the worker was blocked; it runs once the block ends.
    pub sync_pending: bool,
    /// The sync that killed a sidecar for a changed definition found every init container
    /// done, so (as in that SyncPod) the app containers start once the kill returns.
    pub initialized_at_kill: bool,
    /// The pod was deleted (or its deadline passed) while the worker was blocked; the
    /// teardown begins once the sync in flight returns.
    pub teardown_pending: bool,
    /// Spec time of the last sync's end (podWorkerLoop's lastSyncTime).
    pub last_sync_at: Option<Duration>,
    /// The teardown waits for the next relist: the pod cache is not newer than the last
    /// sync yet (GetNewerThan(lastSyncTime)).
    pub teardown_after_relist: bool,
    /// Pod conditions set by a controller (readiness gates), by type.
    pub gate_conditions: BTreeMap<String, bool>,
    /// The pod is among its Service's ready endpoints.
    pub endpoint_member: bool,
    pub observer: Observer<'a>,
}

/// Runs one pod to its end and returns what happened.
pub async fn run_pod(cfg: PodConfig, observer: Observer<'_>) -> Result<RunOutcome, RunError> {
    let sandbox = PodSandbox::create(&cfg.name).map_err(RunError::Sandbox)?;
    let clock = cfg.clock.unwrap_or_else(|| Clock::start(cfg.time_scale));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let kind_of = |c: &crate::spec::model::Container| {
        if c.is_sidecar() {
            ContainerKind::Sidecar
        } else {
            ContainerKind::Init
        }
    };
    let init: Vec<ContainerRecord> = cfg
        .pod
        .init_containers
        .iter()
        .map(|c| ContainerRecord::new(c.clone(), kind_of(c)))
        .collect();
    let regular: Vec<ContainerRecord> = cfg
        .pod
        .containers
        .iter()
        .map(|c| ContainerRecord::new(c.clone(), ContainerKind::Regular))
        .collect();
    let mut truth = HashMap::new();
    for idx in 0..init.len() {
        truth.insert(Cid { init: true, idx }, Truth::default());
    }
    for idx in 0..regular.len() {
        truth.insert(Cid { init: false, idx }, Truth::default());
    }
    let seed = cfg.uid.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut w = Worker {
        cfg,
        clock,
        sandbox,
        init,
        regular,
        truth,
        backoff: Backoff::containers(),
        image_backoff: Backoff::images(),
        image_backoff_updates: HashMap::new(),
        pulled_images: std::collections::HashSet::new(),
        timers: BTreeMap::new(),
        seq: 0,
        tx,
        timeline: Timeline::default(),
        last_status: None,
        sandbox_created: false,
        sandbox_ready_seen: false,
        volumes: super::volumes::VolumeManager::new(),
        deleting: false,
        tearing_down: false,
        forced: None,
        finished: false,
        decided_now: false,
        stop_asked: None,
        rng: seed | 1,
        logs: Vec::new(),
        probes: Vec::new(),
        sync_block: None,
        sync_pending: false,
        initialized_at_kill: false,
        teardown_pending: false,
        last_sync_at: None,
        teardown_after_relist: false,
        gate_conditions: BTreeMap::new(),
        endpoint_member: false,
        observer,
    };
    let end = w.run(&mut rx).await;
    Ok(w.finish(end, &mut rx).await)
}

impl Worker<'_> {
    async fn run(&mut self, rx: &mut mpsc::UnboundedReceiver<Msg>) -> EndReason {
        let hard_stop = crate::clock::deadline_in(self.cfg.timeout);
        self.admit();
        self.create_probe_workers();
        if let Some(t) = self.cfg.delete_at {
            self.schedule_at(t, Timer::Delete);
        }
        if let Some(t) = self.cfg.duration {
            self.schedule_at(t, Timer::RunEnd);
        }
        for i in 0..self.cfg.updates.len() {
            let at = self.cfg.updates[i].at.0;
            self.schedule_at(at, Timer::Update(i));
        }
        self.schedule_active_deadline();
        for t in std::mem::take(&mut self.observer.recheck_at) {
            self.schedule_at(t, Timer::Recheck);
        }
        tracing::info!("pod admitted, first sync");
        self.sync();
        let mut cancel = self.observer.cancel.clone();
        loop {
            if self.finished {
                return EndReason::PodFinished;
            }
            if self.decided_now {
                return EndReason::Decided;
            }
            let next = self
                .timers
                .keys()
                .next()
                .map(|(at, _)| *at)
                .unwrap_or(hard_stop)
                .min(hard_stop);
            let cancelled = async {
                match cancel.as_mut() {
                    Some(c) => {
                        while !*c.borrow() {
                            if c.changed().await.is_err() {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => {
                    if let Some(m) = msg { self.on_message(m); }
                }
                _ = tokio::time::sleep_until(next) => {
                    if Instant::now() >= hard_stop {
                        return EndReason::TimedOut;
                    }
                    if let Some(((_, _), timer)) = self.timers.pop_first() {
                        if timer == Timer::RunEnd {
                            return EndReason::DurationReached;
                        }
                        self.on_timer(timer);
                    }
                }
                _ = cancelled => return EndReason::Interrupted,
            }
        }
    }

    /// The API server and scheduler part: the pod exists and is bound.
    fn admit(&mut self) {
        let pending = PodStatus {
            phase: Phase::Pending,
            reason: None,
            message: None,
            conditions: vec![Condition {
                kind: "PodScheduled".into(),
                status: true,
                reason: None,
                message: None,
            }],
            init_container_statuses: Vec::new(),
            container_statuses: Vec::new(),
            deleting: false,
        };
        self.push_status(pending);
        let msg = format!(
            "Successfully assigned {}/{} to podcheck",
            self.cfg.namespace, self.cfg.name
        );
        self.push_event(
            EventType::Normal,
            "Scheduled",
            msg,
            None,
            "default-scheduler",
        );
        // The sandbox's DNS is formed once (generatePodSandboxConfig → GetPodDNS); a search
        // or nameserver list over the limits is cut, with a warning event.
        if self.cfg.network.is_some() {
            let (_, warnings) =
                super::pod_dns::pod_dns(&self.cfg.pod, &self.cfg.namespace, &self.cfg.cluster.dns);
            for w in warnings {
                self.kubelet_event(EventType::Warning, "DNSConfigForming", w, None);
            }
        }
    }

    pub(super) fn now(&self) -> Duration {
        self.clock.now()
    }

    pub(super) fn schedule_at(&mut self, t: Duration, timer: Timer) {
        self.seq += 1;
        self.timers
            .insert((self.clock.instant_at(t), self.seq), timer);
    }

    /// The first PLEG tick strictly after spec time `t`.
    pub(super) fn next_tick_after(&self, t: Duration) -> Duration {
        let period = RELIST_PERIOD.as_secs_f64();
        let k = (t.as_secs_f64() / period).floor() + 1.0;
        crate::clock::secs_f64(k * period)
    }

    /// Whether the pod cache is older than the end of the last sync: the generic PLEG
    /// stamps the cache at every relist (each tick of the 1 s grid), so it is when the last
    /// sync ran at or after the latest tick.
    pub(super) fn cache_older_than_last_sync(&self) -> bool {
        let now = self.now();
        let latest_tick = self.next_tick_after(now).saturating_sub(RELIST_PERIOD);
        self.last_sync_at.is_some_and(|s| s >= latest_tick)
    }

    /// Schedules a relist at the next tick unless one is already due by then.
    pub(super) fn request_relist(&mut self) {
        let at = self.next_tick_after(self.now());
        let instant = self.clock.instant_at(at);
        let pending = self
            .timers
            .iter()
            .any(|((i, _), t)| *t == Timer::Relist && *i <= instant);
        if !pending {
            self.schedule_at(at, Timer::Relist);
        }
    }

    /// A uniform random number in [0, 1) for the pod worker's requeue jitter.
    pub(super) fn random(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn rec(&self, cid: Cid) -> &ContainerRecord {
        if cid.init {
            &self.init[cid.idx]
        } else {
            &self.regular[cid.idx]
        }
    }

    pub(super) fn rec_mut(&mut self, cid: Cid) -> &mut ContainerRecord {
        if cid.init {
            &mut self.init[cid.idx]
        } else {
            &mut self.regular[cid.idx]
        }
    }

    pub(super) fn truth_mut(&mut self, cid: Cid) -> &mut Truth {
        self.truth.entry(cid).or_default()
    }

    pub(super) fn all_cids(&self) -> Vec<Cid> {
        (0..self.init.len())
            .map(|idx| Cid { init: true, idx })
            .chain((0..self.regular.len()).map(|idx| Cid { init: false, idx }))
            .collect()
    }

    pub(super) fn restart_policy(&self) -> RestartPolicy {
        self.cfg.pod.restart_policy.unwrap_or(RestartPolicy::Always)
    }

    pub(super) fn pod_grace(&self) -> Duration {
        let secs = self
            .cfg
            .pod
            .termination_grace_period_seconds
            .unwrap_or(DEFAULT_GRACE_SECONDS);
        Duration::from_secs(u64::try_from(secs).unwrap_or(1))
    }

    /// No container runs according to the pod cache.
    pub(super) fn pod_stopped_in_cache(&self) -> bool {
        !self
            .init
            .iter()
            .chain(&self.regular)
            .any(ContainerRecord::is_running)
    }

    fn on_message(&mut self, msg: Msg) {
        match msg {
            Msg::Exited {
                cid,
                restart_count,
                exit,
            } => self.on_exit(cid, restart_count, exit),
            Msg::ProbeDone {
                id,
                started,
                instance,
                attempt,
                outcome,
            } => self.probe_done(id, started, instance, attempt, outcome),
            Msg::HookDone {
                cid,
                started,
                instance,
                kind,
                result,
            } => self.hook_done(cid, started, instance, kind, result),
        }
    }

    fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::Relist => self.relist(),
            Timer::Recheck => self.recheck_decided(),
            Timer::Sync => self.sync(),
            Timer::KillDeadline(cid, instance) => {
                let now = self.now();
                if let Some(live) = self.truth_mut(cid).live.as_ref()
                    && live.restart_count == instance
                    && live
                        .kill_deadline
                        .is_some_and(|d| d <= now.saturating_add(Duration::from_millis(1)))
                {
                    live.handle.kill();
                    self.push_execution(
                        cid,
                        instance,
                        crate::events::ExecutionKind::Signal {
                            signal: libc::SIGKILL,
                        },
                    );
                }
            }
            Timer::Delete => {
                self.deleting = true;
                self.request_teardown();
            }
            Timer::ActiveDeadline => {
                if !self.tearing_down {
                    self.forced = Some((
                        Phase::Failed,
                        DEADLINE_REASON.to_owned(),
                        DEADLINE_MESSAGE.to_owned(),
                    ));
                    self.deadline_event();
                    self.request_teardown();
                }
            }
            Timer::ProbeTick(id, generation) => self.probe_tick(id, generation),
            Timer::Update(i) => self.apply_update(i),
            Timer::PreStopDeadline(cid, instance) => self.pre_stop_deadline(cid, instance),
            Timer::TurnDeadline(cid, instance) => self.turn_deadline(cid, instance),
            Timer::RunEnd => {}
        }
    }

    async fn finish(mut self, end: EndReason, rx: &mut mpsc::UnboundedReceiver<Msg>) -> RunOutcome {
        let ended_at = self.now();
        let live: Vec<_> = self
            .truth
            .values()
            .filter_map(|t| t.live.as_ref().map(|l| l.handle.clone()))
            .collect();
        tracing::info!(at = ?ended_at, ?end, live = live.len(), "teardown: killing what still runs");
        for h in &live {
            h.kill();
        }
        // In pod mode every container is PID 1 of its own PID namespace and its execs join
        // it, so killing the containers took everything (the kernel empties a PID namespace
        // before its PID 1's exit is reported). Only processes outside them (none mode, or
        // an exec that could not join) need the search through /proc for the pod's tag, whose
        // cost grows with every process on the machine.
        let owned = self
            .cfg
            .network
            .as_ref()
            .is_some_and(|n| !n.had_host_pid_process());
        if !owned {
            process::kill_tagged_shared("PODCHECK_POD", &self.cfg.uid).await;
        }
        // Reap what we killed so nothing is left as a zombie of ours; bounded in time.
        let reap_until = Instant::now() + Duration::from_secs(5);
        let mut remaining = live.len();
        while remaining > 0 {
            match tokio::time::timeout_at(reap_until, rx.recv()).await {
                Ok(Some(Msg::Exited { .. })) => remaining -= 1,
                // A probe result or hook outcome still in flight says nothing about the
                // processes: keep waiting for their exits.
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if remaining > 0 {
            tracing::warn!(remaining, "teardown: processes not reaped within 5 s");
        }
        let logs = self
            .logs
            .iter()
            .map(|(cid, rc, log)| {
                let (text, lines) = crate::runtime::logs::read_text_and_lines(log);
                InstanceLog {
                    container: self.rec(*cid).name().to_owned(),
                    restart_count: *rc,
                    text,
                    line_times: lines
                        .iter()
                        .map(|l| l.at.map(|at| self.clock.spec_time_of(at)))
                        .collect(),
                }
            })
            .collect();
        let outcome = RunOutcome {
            timeline: std::mem::take(&mut self.timeline),
            logs,
            end,
            ended_at,
        };
        // Removing the scratch directory blocks: on a filesystem mounted with `discard` each
        // freed block waits for the device, tens of milliseconds on a loaded machine. On the
        // runner's thread every pod end waited for the one before (1,000 pods took seconds
        // to end); on the blocking pool they overlap. The run still returns only once the
        // directory is gone.
        let sandbox = self.sandbox;
        let _ = tokio::task::spawn_blocking(move || drop(sandbox)).await;
        outcome
    }
}
