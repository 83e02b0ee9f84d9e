//! Termination: pod teardown (deletion, deadline, a finished pod) and the stop sequence of
//! one container as `killContainer` runs it: Killing event, preStop (bounded by the grace
//! period), the stop signal once preStop is done (for sidecars, once the app containers and
//! later sidecars are gone), then SIGKILL when the remaining grace (at least 2 s) runs out.

use std::time::Duration;

use crate::events::EventType;

use super::container::ContainerKind;
use super::hooks::HookKind;
use super::pod_worker::{Cid, MIN_GRACE, Timer, Worker};

/// Where one container is in its stop sequence.
#[derive(Debug, Clone, Copy)]
pub(super) struct StopState {
    /// Spec time the kill began.
    pub started: Duration,
    /// The grace period the kill was given.
    pub grace: Duration,
    /// The preStop hook is still running (and within the grace period).
    pub prestop_running: bool,
    /// The stop signal has been sent.
    pub signalled: bool,
}

impl StopState {
    /// The grace period minus the whole seconds spent since the kill began (the kubelet
    /// subtracts elapsed seconds, truncated).
    fn grace_left(&self, now: Duration) -> Duration {
        let spent = Duration::from_secs(now.saturating_sub(self.started).as_secs());
        self.grace.saturating_sub(spent)
    }
}

impl Worker<'_> {
    /// A teardown (deletion, deadline) asked for while the pod worker is inside a sync —
    /// waiting for a postStart hook or a kill — begins once that sync returns:
    /// SyncTerminatingPod runs after the pod's SyncPod, never beside it, and SyncPod's
    /// context is not cancellable (pod_workers.go, kuberuntime_manager.go).
    ///
    /// Like every transition from syncing to terminating, SyncTerminatingPod first waits for
    /// a pod cache newer than the end of the last sync (podWorkerLoop's
    /// GetNewerThan(lastSyncTime), "adds ~1s of latency on all transitions from sync to
    /// terminating"): after a sync since the latest relist, the teardown begins at the next
    /// relist.
    pub(super) fn request_teardown(&mut self) {
        if self.sync_block.is_some() {
            self.teardown_pending = true;
        } else if self.cache_older_than_last_sync() {
            // The API object shows the deletion (or the status the deadline's sync wrote)
            // at once; the kubelet's kill waits.
            self.publish_status();
            self.teardown_after_relist = true;
            self.request_relist();
        } else {
            self.begin_teardown();
        }
    }

    /// A sync that held the pod worker has returned: what was asked for meanwhile runs now.
    pub(super) fn sync_returned(&mut self) {
        if self.sync_block.is_some() {
            return;
        }
        if self.teardown_pending {
            self.teardown_pending = false;
            // The sync in flight ends now.
            self.last_sync_at = Some(self.now());
            self.request_teardown();
        } else if self.sync_pending {
            self.sync();
        }
    }

    /// Starts graceful termination of every running container (pod deletion, deadline, or
    /// a pod whose containers are all done).
    pub(super) fn begin_teardown(&mut self) {
        if self.tearing_down {
            return;
        }
        self.tearing_down = true;
        self.publish_status();
        // Pod deletion never gives less than 1 s (calculateEffectiveGracePeriod); a delete
        // with its own grace period (deletionGracePeriodSeconds) replaces the pod's.
        let grace = self.deletion_grace().max(Duration::from_secs(1));
        let running: Vec<Cid> = self
            .all_cids()
            .into_iter()
            .filter(|c| {
                self.truth
                    .get(c)
                    .is_some_and(|t| t.live.as_ref().is_some_and(|l| l.stop.is_none()))
            })
            .collect();
        // Every container gets its Killing event and starts its preStop at the same time.
        for cid in &running {
            let name = self.rec(*cid).name().to_owned();
            self.kubelet_event(
                EventType::Normal,
                "Killing",
                format!("Stopping container {name}"),
                Some(*cid),
            );
        }
        for cid in running {
            self.stop_container(cid, grace);
        }
        self.check_finished();
    }

    /// The grace period of a pod teardown: the delete's own when it has one, as the API
    /// server and kubectl turn `--grace-period` into deletionGracePeriodSeconds.
    fn deletion_grace(&self) -> Duration {
        match self.cfg.delete_grace {
            Some(g) if self.deleting && g >= 0 => {
                Duration::from_secs(u64::try_from(g.max(1)).unwrap_or(1))
            }
            _ => self.pod_grace(),
        }
    }

    /// Begins one container's stop sequence with `grace`: preStop first when it has one.
    pub(super) fn stop_container(&mut self, cid: Cid, grace: Duration) {
        let now = self.now();
        let pre_stop = self
            .rec(cid)
            .spec
            .lifecycle
            .as_ref()
            .and_then(|l| l.pre_stop.clone());
        let Some(live) = self.truth_mut(cid).live.as_mut() else {
            return;
        };
        if live.stop.is_some() {
            return;
        }
        let instance = live.restart_count;
        let run_hook = pre_stop.is_some() && !grace.is_zero();
        live.stop = Some(StopState {
            started: now,
            grace,
            prestop_running: run_hook,
            signalled: false,
        });
        match pre_stop.filter(|_| run_hook) {
            Some(handler) => {
                self.start_hook(cid, HookKind::PreStop, handler);
                self.schedule_at(
                    now.saturating_add(grace),
                    Timer::PreStopDeadline(cid, instance),
                );
            }
            None => self.after_pre_stop(cid),
        }
    }

    /// preStop finished (or its time ran out): send the stop signal unless this sidecar must
    /// wait for the app containers and later sidecars.
    pub(super) fn after_pre_stop(&mut self, cid: Cid) {
        let Some(stop) = self
            .truth
            .get(&cid)
            .and_then(|t| t.live.as_ref())
            .and_then(|l| l.stop)
        else {
            return;
        };
        if stop.signalled {
            return;
        }
        if let Some(l) = self
            .truth_mut(cid)
            .live
            .as_mut()
            .and_then(|l| l.stop.as_mut())
        {
            l.prestop_running = false;
        }
        if self.tearing_down
            && self.rec(cid).kind == ContainerKind::Sidecar
            && self.sidecar_must_wait(cid)
        {
            // waitForTurn is bounded by what is left of this container's grace; with
            // nothing left the turn is skipped (kuberuntime_container.go killContainer).
            let left = stop.grace_left(self.now());
            if !left.is_zero() {
                let instance = self
                    .truth
                    .get(&cid)
                    .and_then(|t| t.live.as_ref())
                    .map_or(0, |l| l.restart_count);
                let at = self.now().saturating_add(left);
                self.schedule_at(at, Timer::TurnDeadline(cid, instance));
                return;
            }
        }
        self.signal_container(cid);
    }

    /// A sidecar's wait for its turn ran out: it gets its stop signal now, however many
    /// sidecars after it still run.
    pub(super) fn turn_deadline(&mut self, cid: Cid, instance: u32) {
        let waiting = self
            .stop_of(cid, instance)
            .is_some_and(|s| !s.signalled && !s.prestop_running);
        if waiting {
            self.signal_container(cid);
        }
    }

    /// The kubelet's preStop wait for this instance ended at the grace deadline.
    pub(super) fn pre_stop_deadline(&mut self, cid: Cid, instance: u32) {
        if self
            .stop_of(cid, instance)
            .is_some_and(|s| s.prestop_running)
        {
            self.after_pre_stop(cid);
        }
    }

    /// The stop sequence of this instance of the container, if it is the live one and
    /// stopping (a deadline armed for an earlier instance finds nothing).
    fn stop_of(&self, cid: Cid, instance: u32) -> Option<StopState> {
        self.truth
            .get(&cid)
            .and_then(|t| t.live.as_ref())
            .filter(|l| l.restart_count == instance)
            .and_then(|l| l.stop)
    }

    /// Sends the stop signal and arms SIGKILL after the remaining grace (at least 2 s).
    fn signal_container(&mut self, cid: Cid) {
        let now = self.now();
        let stop_signal = self.stop_signal_of(cid);
        let Some(live) = self.truth_mut(cid).live.as_mut() else {
            return;
        };
        let Some(stop) = live.stop.as_mut() else {
            return;
        };
        // Whole seconds spent in preStop and waiting count against the grace period.
        let remaining = stop.grace_left(now).max(MIN_GRACE);
        stop.signalled = true;
        let deadline = now.saturating_add(remaining);
        live.kill_deadline = Some(deadline);
        let signal = stop_signal;
        live.handle.stop_signal(signal);
        let instance = live.restart_count;
        // Recorded as the runtime's act even when PID-1 emulation keeps it from a process
        // without a handler: the effect (nothing happens) is the same.
        self.push_execution(
            cid,
            instance,
            crate::events::ExecutionKind::Signal { signal },
        );
        self.schedule_at(deadline, Timer::KillDeadline(cid, instance));
    }

    /// The signal that stops a container: its lifecycle.stopSignal when the
    /// ContainerStopSignals gate keeps it (the API server drops it otherwise), else SIGTERM.
    fn stop_signal_of(&self, cid: Cid) -> i32 {
        if !self.cfg.feature_gates.container_stop_signals {
            return libc::SIGTERM;
        }
        let os = self
            .cfg
            .pod
            .os
            .as_ref()
            .map_or("linux", |o| o.name.as_str());
        self.rec(cid)
            .spec
            .lifecycle
            .as_ref()
            .and_then(|l| l.stop_signal.as_deref())
            .and_then(|name| crate::spec::features::stop_signal_number(name, os))
            .unwrap_or(libc::SIGTERM)
    }

    /// A sidecar stops only after every app container and every later sidecar has exited.
    fn sidecar_must_wait(&self, cid: Cid) -> bool {
        let alive = |c: &Cid| self.truth.get(c).is_some_and(|t| t.live.is_some());
        let apps = (0..self.regular.len()).any(|idx| alive(&Cid { init: false, idx }));
        let later_sidecars = (cid.idx + 1..self.init.len())
            .map(|idx| Cid { init: true, idx })
            .any(|c| self.rec(c).kind == ContainerKind::Sidecar && alive(&c));
        apps || later_sidecars
    }

    /// After an exit during teardown: signal sidecars whose turn has come.
    pub(super) fn signal_deferred_sidecars(&mut self) {
        for idx in (0..self.init.len()).rev() {
            let cid = Cid { init: true, idx };
            let waiting = self
                .truth
                .get(&cid)
                .and_then(|t| t.live.as_ref())
                .and_then(|l| l.stop)
                .is_some_and(|s| !s.signalled && !s.prestop_running);
            if waiting && !self.sidecar_must_wait(cid) {
                self.signal_container(cid);
            }
        }
    }

    /// The pod is done once teardown began and nothing runs any more. SyncTerminatingPod
    /// then reads the runtime afresh (GetPodStatus) instead of waiting for PLEG, so exits
    /// that no relist has reported yet are in the final status.
    pub(super) fn check_finished(&mut self) {
        let nothing_live = self.truth.values().all(|t| t.live.is_none());
        if self.tearing_down && nothing_live {
            for cid in self.all_cids() {
                self.refresh_cache(cid);
            }
            self.publish_status();
            self.finished = true;
        }
    }
}
