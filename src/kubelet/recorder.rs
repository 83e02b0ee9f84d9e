//! What the pod worker tells the world: events (the kubelet's event recorder) and pod status
//! (the status manager), with the Service endpoint change a status implies.

use crate::events::{Entry, Event, EventType, Execution, ExecutionKind, PodStatus};

use super::pod_worker::{BlockReason, Cid, DEADLINE_MESSAGE, DEADLINE_REASON, Worker};
use super::status::{self, PodFlags};

impl Worker<'_> {
    /// Records an event from `source` about the pod or one of its containers.
    pub(super) fn push_event(
        &mut self,
        event_type: EventType,
        reason: &str,
        message: String,
        cid: Option<Cid>,
        source: &'static str,
    ) {
        let (container, field_path) = match cid {
            Some(c) => (
                Some(self.rec(c).name().to_owned()),
                Some(self.rec(c).field_path.clone()),
            ),
            None => (None, None),
        };
        let ev = Event {
            at: self.now(),
            event_type,
            reason: reason.to_owned(),
            message,
            container,
            field_path,
            source,
        };
        tracing::debug!(at = ?ev.at, reason = %ev.reason, container = ev.container.as_deref(), message = %ev.message, "event");
        self.push_entry(Entry::Event(ev));
    }

    /// Records what the runtime did for one container instance.
    pub(super) fn push_execution(&mut self, cid: Cid, instance: u32, what: ExecutionKind) {
        let x = Execution {
            at: self.now(),
            container: self.rec(cid).name().to_owned(),
            instance,
            what,
        };
        match &x.what {
            // One per attempt: debug, so `info` stays about what the runtime did.
            ExecutionKind::Probe {
                probe,
                result,
                output,
                ..
            } => {
                tracing::debug!(at = ?x.at, container = %x.container, instance, probe, result, output = %output, "probe result")
            }
            what => {
                tracing::info!(at = ?x.at, container = %x.container, instance, execution = what.name(), detail = ?what, "runtime")
            }
        }
        self.push_entry(Entry::Execution(x));
    }

    /// The active-deadline handler records its event on every status computation once the
    /// deadline has passed (active_deadline.go), so the event's count grows while the pod
    /// shuts down.
    pub(super) fn deadline_event(&mut self) {
        if self
            .forced
            .as_ref()
            .is_some_and(|(_, r, _)| r == DEADLINE_REASON)
        {
            self.kubelet_event(EventType::Normal, DEADLINE_REASON, DEADLINE_MESSAGE, None);
        }
    }

    /// Records an event from the kubelet.
    pub(super) fn kubelet_event(
        &mut self,
        event_type: EventType,
        reason: &str,
        message: impl Into<String>,
        cid: Option<Cid>,
    ) {
        self.push_event(event_type, reason, message.into(), cid, "kubelet");
    }

    /// Appends a status and, when Ready membership changed, the endpoint change.
    pub(super) fn push_status(&mut self, status: PodStatus) {
        let was_member = self.endpoint_member;
        // A pod is a ready endpoint while its Ready condition is True and it is not being
        // deleted (EndpointSlice `ready`).
        let member = status.condition("Ready") == Some(true) && !status.deleting;
        self.last_status = Some(status.clone());
        self.push_entry(Entry::Status {
            at: self.now(),
            status: Box::new(status),
        });
        if member != was_member {
            self.endpoint_member = member;
            self.push_entry(Entry::Endpoint {
                at: self.now(),
                ready: member,
            });
        }
    }

    /// Shows an entry to the observer and keeps it; notes when the expectations decided.
    fn push_entry(&mut self, entry: Entry) {
        (self.observer.on_entry)(&entry);
        self.timeline.entries.push(entry);
        self.recheck_decided();
    }

    /// Asks the observer whether the expectations are decided at this instant.
    pub(super) fn recheck_decided(&mut self) {
        let now = self.now();
        match (self.observer.decided)(&self.timeline, now) {
            Some(at) if at <= now => self.decided_now = true,
            Some(at) if self.stop_asked != Some(at) => {
                self.stop_asked = Some(at);
                self.schedule_at(at, super::pod_worker::Timer::Recheck);
            }
            _ => {}
        }
    }

    /// Writes the status generated from the pod cache, if it changed.
    pub(super) fn publish_status(&mut self) {
        if self
            .sync_block
            .is_some_and(|b| b.reason == BlockReason::PostStart)
        {
            // No status is generated while the pod worker waits inside a postStart hook.
            return;
        }
        let forced = self
            .forced
            .as_ref()
            .map(|(p, r, m)| (*p, r.as_str(), m.as_str()));
        let flags = PodFlags {
            restart_policy: self.restart_policy(),
            sandbox_ready: self.sandbox_ready_seen
                && !(self.tearing_down && self.pod_stopped_in_cache()),
            deleting: self.deleting,
            terminal: self.tearing_down && self.pod_stopped_in_cache(),
            forced,
            previous_phase: self.last_status.as_ref().map(|s| s.phase),
            readiness_gates: &self.cfg.pod.readiness_gates,
            gate_conditions: &self.gate_conditions,
        };
        let st = status::pod_status(&self.init, &self.regular, &flags);
        if self.last_status.as_ref() != Some(&st) {
            self.push_status(st);
            self.poke_readiness();
        }
    }
}
