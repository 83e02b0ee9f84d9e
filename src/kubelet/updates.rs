//! Changes to a running pod (`run.updates`): what the API server accepts and the kubelet
//! does with it. A new image changes the container's spec hash, so the next sync kills and
//! restarts an app container ("definition changed", whatever the restart policy) or a
//! started sidecar ("Init container X definition changed") under a fresh back-off key, while
//! a running init container is left to finish; a condition written by a controller feeds the readiness gates; a lowered
//! activeDeadlineSeconds moves the deadline (kuberuntime_manager.go computePodActions,
//! getStableKey; status/generate.go GeneratePodReadyCondition; active_deadline.go).

use std::time::Duration;

use super::container::ContainerKind;
use super::pod_worker::{Timer, Worker};

impl Worker<'_> {
    /// Arms the activeDeadlineSeconds check for the pod's current deadline, replacing any
    /// earlier one. The kubelet checks it from its 1 s sync loop, so it fires on the next
    /// tick after the deadline.
    pub(super) fn schedule_active_deadline(&mut self) {
        self.timers.retain(|_, t| *t != Timer::ActiveDeadline);
        if let Some(secs) = self.cfg.pod.active_deadline_seconds {
            let deadline = Duration::from_secs(u64::try_from(secs).unwrap_or(0))
                .saturating_add(self.cfg.start_at);
            let at = self
                .next_tick_after(deadline.saturating_sub(Duration::from_millis(1)))
                .max(self.next_tick_after(self.now()));
            self.schedule_at(at, Timer::ActiveDeadline);
        }
    }

    /// Applies the `i`-th update; the pod worker then syncs, as for any pod update.
    pub(super) fn apply_update(&mut self, i: usize) {
        let Some(update) = self.cfg.updates.get(i).cloned() else {
            return;
        };
        self.gate_conditions.extend(update.conditions);
        for (name, image) in update.images {
            let Some(cid) = self
                .all_cids()
                .into_iter()
                .find(|c| self.rec(*c).name() == name)
            else {
                continue;
            };
            let rec = self.rec_mut(cid);
            if rec.spec.image.as_deref() == Some(image.as_str()) {
                continue;
            }
            rec.spec.image = Some(image);
            rec.spec_generation += 1;
            // A running init container is left to finish (computeInitContainerActions only
            // restarts sidecars for a new definition); its next start, if any, takes the
            // new image with a fresh back-off.
            rec.definition_changed = rec.is_running() && rec.kind != ContainerKind::Init;
        }
        if let Some(d) = update.active_deadline_seconds {
            self.cfg.pod.active_deadline_seconds = Some(d);
            self.schedule_active_deadline();
        }
        self.sync();
    }
}
