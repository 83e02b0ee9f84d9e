//! PLEG and container exits: the runtime's truth (a process started or ended) and how the
//! kubelet's pod cache catches up with it on the 1 s relist grid (pkg/kubelet/pleg).

use crate::runtime::logs::tail_log;
use crate::runtime::process::ProcessExit;

use super::container::{ExitInfo, InstanceRecord, InstanceState};
use super::pod_worker::{Cid, Live, TERMINATION_MESSAGE_MAX, Worker};

impl Worker<'_> {
    /// A container's main process ended: record it as the runtime's truth; PLEG reports it on
    /// the next relist (or at once after a kill the kubelet restarts in the same sync).
    pub(super) fn on_exit(&mut self, cid: Cid, restart_count: u32, exit: ProcessExit) {
        let now = self.now();
        let Some(live) = self
            .truth_mut(cid)
            .live
            .take_if(|l| l.restart_count == restart_count)
        else {
            return;
        };
        if let Some(h) = &live.hook_abort {
            h.abort();
        }
        // The sync that waited for this container (a postStart or a kill) returns now.
        let unblocked = self.sync_block.is_some_and(|b| b.cid == cid);
        if unblocked {
            self.sync_block = None;
        }
        let message = self.termination_message(cid, &live, exit.exit_code);
        let reason = exit_reason(exit, live.handle.oom_killed()).to_owned();
        self.push_execution(
            cid,
            restart_count,
            crate::events::ExecutionKind::Exit {
                exit_code: exit.exit_code,
                signal: exit.signal,
                reason: reason.clone(),
            },
        );
        let t = self.truth_mut(cid);
        if let Some(cur) = t
            .current
            .as_mut()
            .filter(|c| c.restart_count == restart_count)
        {
            cur.state = InstanceState::Exited(ExitInfo {
                exit_code: exit.exit_code,
                signal: exit.signal,
                reason,
                message,
                finished_at: now,
            });
        }
        if live.restart_after_kill && !self.tearing_down {
            // The kubelet killed it synchronously inside a sync and starts the replacement in
            // the same sync. doBackOff reads the pod status fetched when that sync began,
            // where the killed instance still runs: the back-off is measured from the
            // instance before it (the first kill or two restart at once, later ones wait).
            let since = self
                .rec(cid)
                .previous
                .as_ref()
                .and_then(InstanceRecord::exit)
                .map(|e| e.finished_at);
            if self.in_crash_backoff(cid, since) {
                // The start fails with CrashLoopBackOff; PLEG reports the exit on its next
                // relist, and that sync writes the status and backs off again.
                self.start_container_since(cid, since);
                self.request_relist();
            } else {
                self.refresh_cache(cid);
                self.start_container_since(cid, since);
            }
            if self.initialized_at_kill {
                // The same SyncPod goes on to start the app containers.
                self.sync_pending = true;
            }
            self.sync_returned();
            return;
        }
        self.request_relist();
        if unblocked {
            if self.teardown_pending {
                self.sync_returned();
            } else {
                // The sync that waited returns now, and the pod worker's next sync reads a
                // status newer than its end (podWorkerLoop: GetNewerThan(lastSyncTime)):
                // the relist just requested, which sees this exit. Syncing at once would
                // act on a cache where the container still runs.
                self.sync_pending = true;
            }
        }
        if self.tearing_down {
            self.signal_deferred_sidecars();
            // killPod returns as soon as the last container is gone.
            self.check_finished();
        }
    }

    /// The termination message: the file's last 4 KiB, or the log tail on error with
    /// FallbackToLogsOnError.
    fn termination_message(&self, cid: Cid, live: &Live, exit_code: i32) -> Option<String> {
        let file = std::fs::read(&live.termination_log).unwrap_or_default();
        let kept = &file[file.len().saturating_sub(TERMINATION_MESSAGE_MAX)..];
        let text = String::from_utf8_lossy(kept).into_owned();
        if !text.is_empty() {
            return Some(text);
        }
        let fallback = self.rec(cid).spec.termination_message_policy
            == Some(crate::spec::model::TerminationMessagePolicy::FallbackToLogsOnError);
        if fallback && exit_code != 0 {
            let tail = tail_log(&live.log, 80, 2048);
            return Some(tail).filter(|t| !t.is_empty());
        }
        None
    }

    /// Copies one container's runtime truth into the pod cache; returns whether it changed.
    pub(super) fn refresh_cache(&mut self, cid: Cid) -> bool {
        let (cur, prev) = {
            let t = self.truth_mut(cid);
            (t.current.clone(), t.previous.clone())
        };
        let rec = self.rec_mut(cid);
        if rec.current == cur && rec.previous == prev {
            return false;
        }
        if cur.as_ref().map(|c| c.restart_count) != rec.current.as_ref().map(|c| c.restart_count) {
            // A new instance starts with fresh probe results.
            rec.startup_ok = rec.spec.startup_probe.is_none();
            rec.readiness_ok = rec.spec.readiness_probe.is_none();
            rec.liveness_failed = false;
            rec.startup_failed = false;
        }
        rec.current = cur;
        rec.previous = prev;
        true
    }

    /// PLEG: copy the runtime's truth into the pod cache; sync if anything changed.
    pub(super) fn relist(&mut self) {
        let mut changed = false;
        if self.sandbox_created && !self.sandbox_ready_seen {
            self.sandbox_ready_seen = true;
            changed = true;
        }
        for cid in self.all_cids() {
            changed |= self.refresh_cache(cid);
        }
        if std::mem::take(&mut self.teardown_after_relist) {
            // The terminating sync that waited for this cache runs in place of a sync.
            self.begin_teardown();
            return;
        }
        if changed || self.sync_pending {
            self.sync();
        }
    }
}

/// The container runtime's reason for an exit: OOMKilled when the kernel's OOM killer fired in
/// the container's memory cgroup and the main process died of SIGKILL (as CRI runtimes
/// decide it), else Completed or Error by exit code.
fn exit_reason(exit: ProcessExit, oom_killed: bool) -> &'static str {
    if oom_killed && exit.signal == Some(libc::SIGKILL) {
        "OOMKilled"
    } else if exit.exit_code == 0 {
        "Completed"
    } else {
        "Error"
    }
}
