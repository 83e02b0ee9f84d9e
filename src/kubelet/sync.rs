//! One pod sync (`SyncPod` / `computePodActions`): write status, then start what should run,
//! honouring init order, sidecars, restart policy and the back-off tables.

use std::time::Duration;

use crate::events::EventType;
use crate::runtime::process;

use super::backoff::go_duration;
use super::container::{ContainerKind, ExitInfo, InstanceRecord, InstanceState, StartFailure};
use super::container_config::ConfigFailure;
use super::downward::PodFields;
use super::images::Image;
use super::pod_worker::{BlockReason, Cid, Live, Msg, SyncBlock, Timer, Worker};
use super::status::{restarts_after_probe_kill, should_restart};
use super::volumes::VolumesState;

/// The pod worker's retry period after a generic sync error (`backOffPeriod`).
pub(super) const SYNC_ERROR_RETRY: Duration = Duration::from_secs(10);
/// The longest requeue after a sync error: the pod worker clamps a back-off's remaining
/// time to its resync interval (`SyncFrequency`, 1 min by default).
const RESYNC_INTERVAL: Duration = Duration::from_secs(60);

impl Worker<'_> {
    /// A pod sync.
    pub(super) fn sync(&mut self) {
        tracing::trace!(at = ?self.now(), "sync");
        if self.sync_block.is_some() {
            // The pod worker is still inside an earlier sync (waiting for a postStart hook
            // or a kill); this one runs when that sync returns.
            self.sync_pending = true;
            return;
        }
        self.sync_pending = false;
        self.last_sync_at = Some(self.now());
        self.publish_status();
        if self.finished {
            return;
        }
        if self.tearing_down {
            self.deadline_event();
            self.check_finished();
            return;
        }
        // WaitForAttachAndMount comes before the sandbox: a volume that cannot be set up
        // keeps the pod in ContainerCreating.
        let now = self.now();
        let fields = PodFields::of(&self.cfg);
        match self
            .volumes
            .set_up(&fields, &self.cfg.node_fs, &self.sandbox, now)
        {
            VolumesState::Ready => {}
            VolumesState::Waiting => return,
            VolumesState::Failed { messages, retry_at } => {
                for message in messages {
                    self.kubelet_event(EventType::Warning, "FailedMount", message, None);
                }
                self.schedule_at(retry_at, Timer::Sync);
                return;
            }
        }
        if !self.sandbox_created {
            // The first sync creates the sandbox; PLEG reports it ready on the next relist.
            self.sandbox_created = true;
            self.request_relist();
        }
        if self.kill_unhealthy() {
            return;
        }
        let initialized = self.regular.iter().any(|c| c.current.is_some())
            || std::mem::take(&mut self.initialized_at_kill);
        if !initialized {
            if !self.sync_init_containers() {
                return;
            }
        } else {
            self.restart_exited_sidecars();
        }
        let mut to_start = Vec::new();
        let mut keep = 0;
        for idx in 0..self.regular.len() {
            let cid = Cid { init: false, idx };
            if self.started_since_relist(cid) {
                // Started by an earlier sync; PLEG has not reported it yet.
                keep += 1;
                continue;
            }
            let rec = self.rec(cid);
            match &rec.current {
                None => to_start.push(cid),
                Some(r) if r.is_running() => keep += 1,
                Some(r) => {
                    let code = r.exit().map_or(0, |e| e.exit_code);
                    if should_restart(
                        &rec.spec,
                        ContainerKind::Regular,
                        self.restart_policy(),
                        code,
                    ) {
                        to_start.push(cid);
                    }
                }
            }
        }
        if keep == 0 && to_start.is_empty() && !self.any_live_regular() {
            // Nothing runs and nothing will: the kubelet kills the pod, sidecars included.
            self.begin_teardown();
            return;
        }
        for cid in to_start {
            self.start_container(cid);
            if self.sync_block.is_some() {
                // Containers start one after another; a postStart hook holds the rest.
                break;
            }
        }
    }

    /// Kills a running container whose liveness or startup probe failed (computePodActions);
    /// returns true when it did: SyncPod waits in killContainer until the container is gone,
    /// so the pod worker is blocked (no sidecar restarts, no other kills) until then.
    fn kill_unhealthy(&mut self) -> bool {
        for cid in self.all_cids() {
            let rec = self.rec(cid);
            let sidecar = rec.kind == ContainerKind::Sidecar;
            // computeInitContainerActions looks at a sidecar's startup probe first: a failed
            // one kills it as such, and a changed definition waits until it has started.
            let changed =
                rec.definition_changed && !(sidecar && (rec.startup_failed || !rec.started()));
            if !rec.is_running() || !(changed || rec.liveness_failed || rec.startup_failed) {
                continue;
            }
            let Some(live) = self.truth.get(&cid).and_then(|t| t.live.as_ref()) else {
                continue;
            };
            if live.stop.is_some() {
                continue;
            }
            let (which, probe) = if rec.liveness_failed {
                ("liveness", rec.spec.liveness_probe.as_ref())
            } else {
                ("startup", rec.spec.startup_probe.as_ref())
            };
            let name = rec.name().to_owned();
            // A changed spec restarts whatever the restart policy; checked first.
            let restart =
                changed || restarts_after_probe_kill(&rec.spec, rec.kind, self.restart_policy());
            let message = if changed && sidecar {
                format!("Init container {name} definition changed")
            } else if changed {
                format!("Container {name} definition changed, will be restarted")
            } else if sidecar {
                format!("Init container {name} failed {which} probe")
            } else if restart {
                format!("Container {name} failed {which} probe, will be restarted")
            } else {
                format!("Container {name} failed {which} probe")
            };
            // The probe's own grace period wins over the pod's (setTerminationGracePeriod).
            let grace = probe
                .filter(|_| !changed)
                .and_then(|p| p.termination_grace_period_seconds)
                .and_then(|g| u64::try_from(g).ok())
                .map_or_else(|| self.pod_grace(), Duration::from_secs);
            if changed && sidecar && !self.regular.iter().any(|c| c.current.is_some()) {
                self.initialized_at_kill = self.init_containers_done();
            }
            self.kubelet_event(EventType::Normal, "Killing", message, Some(cid));
            self.rec_mut(cid).definition_changed = false;
            if let Some(l) = self.truth_mut(cid).live.as_mut() {
                l.restart_after_kill = restart;
            }
            self.stop_container(cid, grace);
            if self.truth.get(&cid).is_some_and(|t| t.live.is_some()) {
                self.sync_block = Some(SyncBlock {
                    cid,
                    reason: BlockReason::Kill,
                });
                return true;
            }
        }
        false
    }

    fn any_live_regular(&self) -> bool {
        (0..self.regular.len()).any(|idx| {
            self.truth
                .get(&Cid { init: false, idx })
                .is_some_and(|t| t.live.is_some())
        })
    }

    /// The runtime has a newer instance than the pod cache (a start not relisted yet).
    fn started_since_relist(&self, cid: Cid) -> bool {
        let cached = self.rec(cid).current.as_ref().map(|r| r.restart_count);
        let truth = self
            .truth
            .get(&cid)
            .and_then(|t| t.current.as_ref())
            .map(|r| r.restart_count);
        truth != cached
    }

    /// Init containers one at a time; returns true when all are done and apps may start.
    fn sync_init_containers(&mut self) -> bool {
        for idx in 0..self.init.len() {
            let cid = Cid { init: true, idx };
            if self.started_since_relist(cid) {
                return false;
            }
            let rec = self.rec(cid);
            match (rec.kind, &rec.current) {
                (_, None) => {
                    self.start_container(cid);
                    return false;
                }
                (ContainerKind::Sidecar, Some(r)) if r.is_running() => {
                    if !rec.started() {
                        return false;
                    }
                }
                (ContainerKind::Sidecar, Some(_)) => {
                    self.start_container(cid);
                    return false;
                }
                (_, Some(r)) => match r.exit() {
                    None => return false,
                    Some(e) if e.exit_code == 0 && e.reason != "OOMKilled" => {}
                    Some(e) => {
                        let code = e.exit_code;
                        if !should_restart(&rec.spec, rec.kind, self.restart_policy(), code) {
                            self.begin_teardown();
                        } else {
                            self.start_container(cid);
                        }
                        return false;
                    }
                },
            }
        }
        true
    }

    /// Whether every init container has done its part: run-to-completion ones succeeded,
    /// sidecars running and started (computeInitContainerActions' podHasInitialized).
    fn init_containers_done(&self) -> bool {
        self.init.iter().all(|rec| match (rec.kind, &rec.current) {
            (ContainerKind::Sidecar, Some(r)) => r.is_running() && rec.started(),
            (_, Some(r)) => r
                .exit()
                .is_some_and(|e| e.exit_code == 0 && e.reason != "OOMKilled"),
            (_, None) => false,
        })
    }

    fn restart_exited_sidecars(&mut self) {
        for idx in 0..self.init.len() {
            let cid = Cid { init: true, idx };
            let rec = self.rec(cid);
            if rec.kind == ContainerKind::Sidecar
                && !rec.is_running()
                && !self.started_since_relist(cid)
            {
                self.start_container(cid);
            }
        }
    }

    pub(super) fn pod_ref(&self) -> String {
        format!("{}_{}({})", self.cfg.name, self.cfg.namespace, self.cfg.uid)
    }

    /// Schedules a pod-worker requeue after `wait`, with the worker's 0-50 % jitter. The
    /// work queue holds one entry per pod, so this replaces an earlier requeue.
    pub(super) fn requeue_after(&mut self, wait: Duration) {
        let jittered = crate::clock::mul(wait, 1.0 + 0.5 * self.random());
        let at = self.now().saturating_add(jittered);
        self.timers.retain(|_, t| *t != Timer::Sync);
        self.schedule_at(at, Timer::Sync);
    }

    /// Starts (or tries to start) one container: back-off, image, create, start. The
    /// back-off is measured from the newest exited instance the pod cache shows.
    pub(super) fn start_container(&mut self, cid: Cid) {
        let since = self.rec(cid).last_exit().map(|e| e.finished_at);
        self.start_container_since(cid, since);
    }

    /// `getStableKey`: pod, container and the container's spec hash, so a changed spec
    /// (a new image) starts with a fresh back-off.
    fn backoff_key(&self, cid: Cid) -> String {
        let rec = self.rec(cid);
        format!(
            "{}_{}_{}_{}_{}",
            self.cfg.name,
            self.cfg.namespace,
            self.cfg.uid,
            rec.name(),
            rec.spec_generation
        )
    }

    /// Whether `doBackOff` refuses a start whose newest exited instance finished at `since`.
    pub(super) fn in_crash_backoff(&self, cid: Cid, since: Option<Duration>) -> bool {
        since.is_some_and(|t| {
            self.backoff
                .in_backoff_since(&self.backoff_key(cid), t, self.now())
        })
    }

    /// A start whose `doBackOff` looks at an instance that finished at `since` (None: no
    /// exited instance, so no back-off and no back-off entry).
    pub(super) fn start_container_since(&mut self, cid: Cid, since: Option<Duration>) {
        let now = self.now();
        let name = self.rec(cid).name().to_owned();
        let key = self.backoff_key(cid);
        if let Some(finished_at) = since {
            if self.backoff.in_backoff_since(&key, finished_at, now) {
                let delay = self.backoff.delay(&key).unwrap_or_default();
                let pod = self.pod_ref();
                self.kubelet_event(
                    EventType::Warning,
                    "BackOff",
                    format!("Back-off restarting failed container {name} in pod {pod}"),
                    Some(cid),
                );
                self.rec_mut(cid).start_failure = Some(StartFailure {
                    reason: "CrashLoopBackOff".into(),
                    message: format!(
                        "back-off {} restarting failed container={name} pod={pod}",
                        go_duration(delay)
                    ),
                });
                // doBackOff's error carries the back-off's expiry; completeWork requeues at
                // the time left, at most the resync interval, with its jitter.
                let expiry = self.backoff.expiry(&key, finished_at).unwrap_or(now);
                self.requeue_after(expiry.saturating_sub(now).min(RESYNC_INTERVAL));
                return;
            }
            self.backoff.next(&key, now);
        }
        let image = match self.resolve_image(cid) {
            Image::Unpullable(img) => {
                self.pull_failed(cid, &img);
                return;
            }
            Image::Present(img) => Some(img),
            Image::None => None,
        };
        if let Some(img) = &image {
            self.pull_events(cid, img);
        }
        // generateContainerConfig: the environment (makeEnvironmentVariables) first, then
        // the image user against runAsNonRoot.
        if let Some(msg) = self.rec(cid).spec.config_error.clone() {
            self.config_error(cid, msg);
            return;
        }
        let resource_values = match self.resource_env(cid) {
            Ok(v) => v,
            Err(msg) => {
                self.config_error(cid, msg);
                return;
            }
        };
        if let Err(msg) = self.verify_run_as_non_root(cid, image.as_deref()) {
            self.config_error(cid, msg);
            return;
        }
        let restart_count = self
            .truth
            .get(&cid)
            .and_then(|t| t.current.as_ref())
            .map_or(0, |r| r.restart_count + 1);
        let spec = match self.process_spec(cid, restart_count, image.as_deref(), &resource_values) {
            Ok(s) => s,
            Err(ConfigFailure::Config(msg)) => {
                self.config_error(cid, msg);
                return;
            }
            Err(ConfigFailure::Start(msg)) => {
                self.start_error(cid, restart_count, msg);
                return;
            }
        };
        self.kubelet_event(EventType::Normal, "Created", "Container created", Some(cid));
        match process::spawn(&spec.0) {
            Err(e) => {
                let msg = format!(
                    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: {e}: unknown"
                );
                self.start_error(cid, restart_count, msg);
            }
            Ok(p) => {
                self.kubelet_event(EventType::Normal, "Started", "Container started", Some(cid));
                self.push_execution(cid, restart_count, crate::events::ExecutionKind::Start);
                let tx = self.tx.clone();
                let exited = p.exited;
                tokio::spawn(async move {
                    if let Ok(exit) = exited.await {
                        let _ = tx.send(Msg::Exited {
                            cid,
                            restart_count,
                            exit,
                        });
                    }
                });
                self.logs.push((cid, restart_count, p.log.clone()));
                let started_at = self.now();
                let t = self.truth_mut(cid);
                t.previous = t.current.take();
                t.current = Some(InstanceRecord {
                    restart_count,
                    started_at,
                    state: InstanceState::Running,
                });
                t.live = Some(Live {
                    handle: p.handle,
                    restart_count,
                    termination_log: spec.1,
                    log: p.log,
                    env: spec.0.env,
                    cwd: spec.0.cwd,
                    restart_after_kill: false,
                    kill_deadline: None,
                    stop: None,
                    hook_abort: None,
                });
                self.rec_mut(cid).start_failure = None;
                self.request_relist();
                self.maybe_post_start(cid);
            }
        }
    }

    /// A start that failed in the runtime: StartError record, Failed event, reason cache.
    fn start_error(&mut self, cid: Cid, restart_count: u32, message: String) {
        self.kubelet_event(
            EventType::Warning,
            "Failed",
            format!("Error: {message}"),
            Some(cid),
        );
        let now = self.now();
        let t = self.truth_mut(cid);
        t.previous = t.current.take();
        t.current = Some(InstanceRecord {
            restart_count,
            started_at: now,
            state: InstanceState::Exited(ExitInfo {
                exit_code: 128,
                signal: None,
                reason: "StartError".into(),
                message: Some(message.clone()),
                finished_at: now,
            }),
        });
        self.rec_mut(cid).start_failure = Some(StartFailure {
            reason: "RunContainerError".into(),
            message,
        });
        self.request_relist();
    }

    /// A container config that cannot be generated (startContainer's
    /// ErrCreateContainerConfig): no instance is created; the container waits with
    /// CreateContainerConfigError and the sync is retried after the worker's error back-off.
    fn config_error(&mut self, cid: Cid, message: String) {
        self.kubelet_event(
            EventType::Warning,
            "Failed",
            format!("Error: {message}"),
            Some(cid),
        );
        self.rec_mut(cid).start_failure = Some(StartFailure {
            reason: "CreateContainerConfigError".into(),
            message,
        });
        self.publish_status();
        self.requeue_after(SYNC_ERROR_RETRY);
    }
}
