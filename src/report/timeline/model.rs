//! What the picture shows, read from the recorded timeline: one lane per container (and one
//! for the pod) with state spans, ready spans, probe ticks, folded event markers, process
//! marks and restarts. Geometry is the SVG writer's job; this module only collects.

use std::time::Duration;

use crate::events::{ContainerState, Entry, EventType, ExecutionKind, PodStatus, signal_name};
use crate::runner::SpecReport;
use crate::spec::duration::format_secs;

/// What a lane stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneKind {
    /// The pod itself: phase, the Ready condition, pod-level events, endpoints.
    Pod,
    /// An init container that runs to completion.
    Init,
    /// An init container with restartPolicy Always.
    Sidecar,
    /// An app container.
    Regular,
}

impl LaneKind {
    /// The word under the lane's name.
    pub fn word(self) -> &'static str {
        match self {
            LaneKind::Pod => "pod",
            LaneKind::Init => "init",
            LaneKind::Sidecar => "sidecar",
            LaneKind::Regular => "container",
        }
    }
}

/// The state a span shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanState {
    /// Waiting (ContainerCreating, CrashLoopBackOff, ErrImagePull, ...).
    Waiting,
    /// Running.
    Running,
    /// Terminated with exit code 0.
    Completed,
    /// Terminated with any other exit code.
    Failed,
    /// Pod phase Pending.
    Pending,
    /// Pod phase Running.
    PodRunning,
    /// Pod phase Succeeded.
    Succeeded,
    /// Pod phase Failed.
    PodFailed,
}

/// A stretch of time in one state.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Start (spec time).
    pub from: Duration,
    /// End (spec time).
    pub to: Duration,
    /// The state.
    pub state: SpanState,
    /// The state's reason, or the phase's name.
    pub label: String,
    /// The container's restart count during the span (0 for the pod).
    pub restarts: u32,
}

/// One probe attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// When the attempt ended.
    pub at: Duration,
    /// success, warning, failure, unknown or error.
    pub result: &'static str,
    /// The hover text.
    pub text: String,
}

/// The ticks of one probe kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRow {
    /// startup, readiness or liveness.
    pub probe: &'static str,
    /// Attempts in order.
    pub ticks: Vec<Tick>,
}

/// An event, or a run of identical events folded into one, as kubectl counts repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// The first occurrence.
    pub first: Duration,
    /// The last occurrence.
    pub last: Duration,
    /// How many were folded.
    pub count: u32,
    /// The event reason.
    pub reason: String,
    /// The event message.
    pub message: String,
    /// A Warning event.
    pub warning: bool,
}

impl Marker {
    /// The text beside the marker: `Unhealthy ×3`.
    pub fn label(&self) -> String {
        if self.count > 1 {
            format!("{} \u{d7}{}", self.reason, self.count)
        } else {
            self.reason.clone()
        }
    }
}

/// What a process mark stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    /// The main process started.
    Start,
    /// It exited.
    Exit,
    /// A signal was sent to it.
    Signal,
    /// A lifecycle hook ran and succeeded.
    HookOk,
    /// A lifecycle hook failed.
    HookFailed,
    /// The pod joined its Service's ready endpoints.
    EndpointJoined,
    /// The pod left them.
    EndpointLeft,
}

/// A process-level happening (below the API: starts, exits, signals, hooks).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// When.
    pub at: Duration,
    /// What.
    pub kind: MarkKind,
    /// The hover text.
    pub text: String,
}

/// One row of the picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Container name (or the pod's).
    pub name: String,
    /// What it is.
    pub kind: LaneKind,
    /// State spans in order.
    pub spans: Vec<Span>,
    /// Ready (or, for the pod, condition Ready=True) stretches.
    pub ready: Vec<(Duration, Duration)>,
    /// Probe attempts per kind, startup, readiness, liveness (kinds without attempts left out).
    pub probes: Vec<ProbeRow>,
    /// Events, folded.
    pub markers: Vec<Marker>,
    /// Starts, exits, signals, hooks, endpoint changes.
    pub marks: Vec<Mark>,
    /// Restarts: when instance N (N ≥ 1) started.
    pub restarts: Vec<(Duration, u32)>,
}

impl Lane {
    fn new(name: &str, kind: LaneKind) -> Lane {
        Lane {
            name: name.to_owned(),
            kind,
            spans: Vec::new(),
            ready: Vec::new(),
            probes: Vec::new(),
            markers: Vec::new(),
            marks: Vec::new(),
            restarts: Vec::new(),
        }
    }

    /// Every probe tick of the lane.
    pub fn tick_count(&self) -> usize {
        self.probes.iter().map(|p| p.ticks.len()).sum()
    }
}

/// The lanes of a report: the pod first, then init containers and sidecars in spec order,
/// then the app containers in spec order.
pub fn lanes(r: &SpecReport) -> (Lane, Vec<Lane>, Duration) {
    let end = end_of(r);
    let mut pod = Lane::new(&r.pod_name, LaneKind::Pod);
    let mut lanes: Vec<Lane> = r
        .pod
        .init_containers
        .iter()
        .map(|c| {
            let kind = if c.is_sidecar() {
                LaneKind::Sidecar
            } else {
                LaneKind::Init
            };
            Lane::new(&c.name, kind)
        })
        .chain(
            r.pod
                .containers
                .iter()
                .map(|c| Lane::new(&c.name, LaneKind::Regular)),
        )
        .collect();
    let statuses: Vec<(Duration, &PodStatus)> = r.outcome.timeline.statuses().collect();
    pod_spans(&mut pod, &statuses, end);
    for lane in &mut lanes {
        container_spans(lane, &statuses, end);
    }
    for entry in &r.outcome.timeline.entries {
        match entry {
            Entry::Event(ev) => {
                let lane = match ev.container.as_deref() {
                    Some(c) => lanes.iter_mut().find(|l| l.name == c).unwrap_or(&mut pod),
                    None => &mut pod,
                };
                fold(
                    &mut lane.markers,
                    ev.at,
                    &ev.reason,
                    &ev.message,
                    ev.event_type == EventType::Warning,
                );
            }
            Entry::Execution(x) => {
                let Some(lane) = lanes.iter_mut().find(|l| l.name == x.container) else {
                    continue;
                };
                execution(lane, x.at, x.instance, &x.what);
            }
            Entry::Endpoint { at, ready } => {
                let (kind, text) = if *ready {
                    (
                        MarkKind::EndpointJoined,
                        "the pod joined the ready endpoints (Ready: Services selecting it send it traffic)",
                    )
                } else {
                    (
                        MarkKind::EndpointLeft,
                        "the pod left the ready endpoints (not Ready: no Service sends it traffic)",
                    )
                };
                pod.marks.push(Mark {
                    at: *at,
                    kind,
                    text: format!("{}: {text}", format_secs(at.as_secs_f64())),
                });
            }
            Entry::ServiceEndpoint {
                at,
                service,
                endpoint,
            } => {
                let (kind, text) = match endpoint {
                    Some(c) if c.ready => (
                        MarkKind::EndpointJoined,
                        format!("ready endpoint of Service {service}"),
                    ),
                    Some(c) => (
                        MarkKind::EndpointLeft,
                        format!(
                            "not ready in Service {service} (serving {}, terminating {})",
                            c.serving, c.terminating
                        ),
                    ),
                    None => (
                        MarkKind::EndpointLeft,
                        format!("removed from Service {service}'s EndpointSlice"),
                    ),
                };
                pod.marks.push(Mark {
                    at: *at,
                    kind,
                    text: format!("{}: {text}", format_secs(at.as_secs_f64())),
                });
            }
            // A fact for the failure explanation, not a moment of the lifecycle.
            Entry::Status { .. } | Entry::HostListener { .. } | Entry::Request(_) => {}
        }
    }
    (pod, lanes, end)
}

/// The right edge of the picture: the run's end, or the last entry if that is later.
pub fn end_of(r: &SpecReport) -> Duration {
    let last = r
        .outcome
        .timeline
        .entries
        .iter()
        .map(|e| match e {
            Entry::Event(ev) => ev.at,
            Entry::Execution(x) => x.at,
            Entry::Endpoint { at, .. }
            | Entry::Status { at, .. }
            | Entry::HostListener { at, .. }
            | Entry::ServiceEndpoint { at, .. } => *at,
            Entry::Request(r) => r.at,
        })
        .max()
        .unwrap_or_default();
    r.outcome.ended_at.max(last).max(Duration::from_millis(100))
}

/// Folds an event into the last marker when it repeats it (same reason, message and type
/// with nothing else in this lane in between), else adds a marker.
fn fold(markers: &mut Vec<Marker>, at: Duration, reason: &str, message: &str, warning: bool) {
    if let Some(m) = markers.last_mut()
        && m.reason == reason
        && m.message == message
        && m.warning == warning
    {
        m.last = at;
        m.count = m.count.saturating_add(1);
        return;
    }
    markers.push(Marker {
        first: at,
        last: at,
        count: 1,
        reason: reason.to_owned(),
        message: message.to_owned(),
        warning,
    });
}

fn execution(lane: &mut Lane, at: Duration, instance: u32, what: &ExecutionKind) {
    let t = format_secs(at.as_secs_f64());
    let who = format!("{}#{instance}", lane.name);
    let (kind, text) = match what {
        ExecutionKind::Probe {
            probe,
            handler,
            result,
            output,
            duration,
        } => {
            let row = match lane.probes.iter_mut().find(|p| p.probe == *probe) {
                Some(row) => row,
                None => {
                    lane.probes.push(ProbeRow {
                        probe,
                        ticks: Vec::new(),
                    });
                    lane.probes.sort_by_key(|p| probe_rank(p.probe));
                    let Some(row) = lane.probes.iter_mut().find(|p| p.probe == *probe) else {
                        return;
                    };
                    row
                }
            };
            let output = output.trim();
            let output = if output.is_empty() {
                String::new()
            } else {
                format!(": {output}")
            };
            row.ticks.push(Tick {
                at,
                result,
                text: format!(
                    "{t}: {who} {probe} probe {handler} {result} after {}{output}",
                    format_secs(duration.as_secs_f64())
                ),
            });
            return;
        }
        ExecutionKind::Start => {
            if instance > 0 {
                lane.restarts.push((at, instance));
            }
            (MarkKind::Start, format!("{t}: {who} started"))
        }
        ExecutionKind::Exit {
            exit_code,
            signal,
            reason,
        } => {
            let sig = signal
                .map(|s| format!(", {}", signal_name(s)))
                .unwrap_or_default();
            (
                MarkKind::Exit,
                format!("{t}: {who} exited {exit_code} ({reason}{sig})"),
            )
        }
        ExecutionKind::Signal { signal } => (
            MarkKind::Signal,
            format!("{t}: {who} was sent {}", signal_name(*signal)),
        ),
        ExecutionKind::Hook {
            hook,
            handler,
            result,
            detail,
            duration,
        } => {
            let kind = if *result == "succeeded" {
                MarkKind::HookOk
            } else {
                MarkKind::HookFailed
            };
            let detail = detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            (
                kind,
                format!(
                    "{t}: {who} {hook} hook ({handler}) {result} after {}{detail}",
                    format_secs(duration.as_secs_f64())
                ),
            )
        }
    };
    lane.marks.push(Mark { at, kind, text });
}

fn probe_rank(p: &str) -> u8 {
    match p {
        "startup" => 0,
        "readiness" => 1,
        "liveness" => 2,
        _ => 3,
    }
}

/// Closes the open span and opens the next when the key changes; the last span ends at `end`.
fn push_span(spans: &mut Vec<Span>, at: Duration, state: SpanState, label: String, restarts: u32) {
    if let Some(last) = spans.last_mut() {
        if last.state == state && last.label == label && last.restarts == restarts {
            return;
        }
        last.to = at;
    }
    spans.push(Span {
        from: at,
        to: at,
        state,
        label,
        restarts,
    });
}

/// Turns a flag sampled at each snapshot into stretches where it was true.
fn push_flag(
    stretches: &mut Vec<(Duration, Duration)>,
    open: &mut Option<Duration>,
    at: Duration,
    on: bool,
) {
    match (*open, on) {
        (None, true) => *open = Some(at),
        (Some(from), false) => {
            stretches.push((from, at));
            *open = None;
        }
        _ => {}
    }
}

fn pod_spans(lane: &mut Lane, statuses: &[(Duration, &PodStatus)], end: Duration) {
    let mut open = None;
    for (at, st) in statuses {
        let state = match st.phase {
            crate::events::Phase::Pending => SpanState::Pending,
            crate::events::Phase::Running => SpanState::PodRunning,
            crate::events::Phase::Succeeded => SpanState::Succeeded,
            crate::events::Phase::Failed => SpanState::PodFailed,
        };
        let label = match &st.reason {
            Some(r) => format!("{} ({r})", st.phase.as_str()),
            None => st.phase.as_str().to_owned(),
        };
        push_span(&mut lane.spans, *at, state, label, 0);
        push_flag(
            &mut lane.ready,
            &mut open,
            *at,
            st.condition("Ready") == Some(true),
        );
    }
    close(lane, open, end);
}

fn container_spans(lane: &mut Lane, statuses: &[(Duration, &PodStatus)], end: Duration) {
    let mut open = None;
    for (at, st) in statuses {
        let Some(c) = st.container(&lane.name) else {
            continue;
        };
        // Running and terminated states carry their own times, which the snapshot (written
        // at the next status sync) can trail: the span starts when the process did.
        let (state, label, since) = match &c.state {
            ContainerState::Waiting { reason, .. } => (
                SpanState::Waiting,
                reason.clone().unwrap_or_else(|| "Waiting".to_owned()),
                *at,
            ),
            ContainerState::Running { started_at } => {
                (SpanState::Running, "Running".to_owned(), *started_at)
            }
            ContainerState::Terminated {
                exit_code,
                reason,
                finished_at,
                ..
            } => {
                let state = if *exit_code == 0 {
                    SpanState::Completed
                } else {
                    SpanState::Failed
                };
                (state, format!("{reason} ({exit_code})"), *finished_at)
            }
        };
        let floor = lane.spans.last().map_or(Duration::ZERO, |s| s.from);
        let since = since.min(*at).max(floor);
        push_span(&mut lane.spans, since, state, label, c.restart_count);
        push_flag(&mut lane.ready, &mut open, *at, c.ready);
    }
    close(lane, open, end);
}

fn close(lane: &mut Lane, open: Option<Duration>, end: Duration) {
    if let Some(last) = lane.spans.last_mut() {
        last.to = end.max(last.from);
    }
    if let Some(from) = open {
        lane.ready.push((from, end.max(from)));
    }
}
