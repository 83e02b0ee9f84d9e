//! The recorded timeline: kubelet events and pod status snapshots, in the order they happened.

use std::time::Duration;

use serde::Serialize;

/// Normal or Warning, as in the Event API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    /// Routine.
    Normal,
    /// Something went wrong.
    Warning,
}

impl EventType {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One Kubernetes Event as the kubelet (or scheduler) would record it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Spec time since pod creation.
    #[serde(serialize_with = "secs")]
    pub at: Duration,
    /// Normal or Warning.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Machine-readable reason, e.g. `BackOff`.
    pub reason: String,
    /// Human message, byte-for-byte the kubelet's where known.
    pub message: String,
    /// Involved container, if any.
    pub container: Option<String>,
    /// involvedObject.fieldPath, e.g. `spec.containers{app}`.
    pub field_path: Option<String>,
    /// source.component: `kubelet` or `default-scheduler`.
    pub source: &'static str,
}

/// Pod phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Not all containers have started.
    Pending,
    /// Bound and at least one container running or restarting.
    Running,
    /// All containers exited 0 and will not restart.
    Succeeded,
    /// A container failed and will not restart, or the pod was failed.
    Failed,
}

impl Phase {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }

    /// Succeeded or Failed.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

/// A pod condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// PodScheduled, PodReadyToStartContainers, Initialized, ContainersReady, Ready, or a
    /// condition a controller sets for a readiness gate.
    #[serde(rename = "type")]
    pub kind: std::borrow::Cow<'static, str>,
    /// True or False.
    pub status: bool,
    /// Reason when False (or PodCompleted).
    pub reason: Option<String>,
    /// Message when False.
    pub message: Option<String>,
}

/// A container's state, as in `ContainerStatus.state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ContainerState {
    /// Not running yet or between restarts.
    Waiting {
        /// e.g. ContainerCreating, CrashLoopBackOff.
        reason: Option<String>,
        /// Detail.
        message: Option<String>,
    },
    /// Running since `started_at` (spec time).
    Running {
        /// Spec time of the start.
        #[serde(serialize_with = "secs")]
        started_at: Duration,
    },
    /// Exited.
    Terminated {
        /// Exit code, 128+N for signal N.
        exit_code: i32,
        /// Signal that killed it, if any.
        signal: Option<i32>,
        /// Completed, Error, StartError, OOMKilled, ...
        reason: String,
        /// Termination message.
        message: Option<String>,
        /// Spec time of the start.
        #[serde(serialize_with = "secs")]
        started_at: Duration,
        /// Spec time of the exit.
        #[serde(serialize_with = "secs")]
        finished_at: Duration,
    },
}

impl ContainerState {
    /// `waiting`, `running` or `terminated`.
    pub fn kind(&self) -> &'static str {
        match self {
            ContainerState::Waiting { .. } => "waiting",
            ContainerState::Running { .. } => "running",
            ContainerState::Terminated { .. } => "terminated",
        }
    }

    /// The waiting or terminated reason.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ContainerState::Waiting { reason, .. } => reason.as_deref(),
            ContainerState::Running { .. } => None,
            ContainerState::Terminated { reason, .. } => Some(reason),
        }
    }
}

/// One entry of `containerStatuses` / `initContainerStatuses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    /// Container name.
    pub name: String,
    /// Current state.
    pub state: ContainerState,
    /// The previous instance's final state.
    pub last_state: Option<ContainerState>,
    /// Ready flag.
    pub ready: bool,
    /// Started flag (None before the kubelet has a record).
    pub started: Option<bool>,
    /// Number of restarts.
    pub restart_count: u32,
    /// An init container with restartPolicy Always.
    pub sidecar: bool,
}

/// A pod status snapshot, as the kubelet would write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    /// Phase.
    pub phase: Phase,
    /// Pod-level reason, e.g. DeadlineExceeded.
    pub reason: Option<String>,
    /// Pod-level message.
    pub message: Option<String>,
    /// Conditions in the kubelet's order.
    pub conditions: Vec<Condition>,
    /// Init containers in spec order.
    pub init_container_statuses: Vec<ContainerStatus>,
    /// App containers sorted by name.
    pub container_statuses: Vec<ContainerStatus>,
    /// The pod has a deletionTimestamp.
    pub deleting: bool,
}

impl PodStatus {
    /// The value of a condition, if present.
    pub fn condition(&self, kind: &str) -> Option<bool> {
        self.conditions
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.status)
    }

    /// A container status by name, init or app.
    pub fn container(&self, name: &str) -> Option<&ContainerStatus> {
        self.init_container_statuses
            .iter()
            .chain(&self.container_statuses)
            .find(|c| c.name == name)
    }
}

/// What the runtime did for one container instance: podcheck's own record, below the
/// Kubernetes API (a real cluster keeps these only in the kubelet's and runtime's logs).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Spec time since pod creation (for hooks and probes: when the run ended).
    #[serde(serialize_with = "secs")]
    pub at: Duration,
    /// Container name.
    pub container: String,
    /// The container instance: its restart count.
    pub instance: u32,
    /// What happened.
    #[serde(flatten)]
    pub what: ExecutionKind,
}

/// The kinds of executions on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "execution", rename_all = "camelCase")]
pub enum ExecutionKind {
    /// The container's main process started.
    Start,
    /// The main process ended.
    #[serde(rename_all = "camelCase")]
    Exit {
        /// Exit code (128+N for signal N).
        exit_code: i32,
        /// The signal that ended it, if any.
        signal: Option<i32>,
        /// Completed, Error, OOMKilled.
        reason: String,
    },
    /// The runtime sent a signal to the main process: the stop signal, or SIGKILL when
    /// the grace period ran out.
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// A lifecycle hook ran.
    #[serde(rename_all = "camelCase")]
    Hook {
        /// `postStart` or `preStop`.
        hook: &'static str,
        /// `exec`, `httpGet`, `sleep` or `tcpSocket`.
        handler: &'static str,
        /// `succeeded` or `failed`.
        result: &'static str,
        /// The failure detail the kubelet logs (not in any event).
        detail: Option<String>,
        /// How long it ran, in spec time.
        #[serde(serialize_with = "secs")]
        duration: Duration,
    },
    /// One probe attempt.
    #[serde(rename_all = "camelCase")]
    Probe {
        /// `liveness`, `readiness` or `startup`.
        probe: &'static str,
        /// `exec`, `httpGet`, `tcpSocket` or `grpc`.
        handler: &'static str,
        /// `success`, `warning`, `failure`, `unknown` or `error`.
        result: &'static str,
        /// The prober's output (or error) text.
        output: String,
        /// How long the attempt took, in spec time.
        #[serde(serialize_with = "secs")]
        duration: Duration,
    },
}

/// A signal's name (`SIGTERM`), or its number when it has none.
pub fn signal_name(n: i32) -> String {
    nix::sys::signal::Signal::try_from(n)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|_| n.to_string())
}

/// A signal number from `SIGTERM`, `TERM` or `15`.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return Some(n).filter(|n| (1..=64).contains(n));
    }
    let upper = s.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

impl ExecutionKind {
    /// The kind's name as specs write it: start, exit, signal, hook, probe.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutionKind::Start => "start",
            ExecutionKind::Exit { .. } => "exit",
            ExecutionKind::Signal { .. } => "signal",
            ExecutionKind::Hook { .. } => "hook",
            ExecutionKind::Probe { .. } => "probe",
        }
    }
}

/// One entry of the recorded timeline.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Entry {
    /// An Event was recorded.
    Event(Event),
    /// A process started or ended, a signal was sent, a hook or probe ran.
    Execution(Execution),
    /// The pod joined (`ready: true`) or left the ready endpoints of its Service: what the
    /// endpoints controller does when the pod's Ready condition flips or deletion starts.
    Endpoint {
        /// Spec time since pod creation.
        #[serde(serialize_with = "secs")]
        at: Duration,
        /// Whether traffic would now reach the pod.
        ready: bool,
    },
    /// Found by the runner after the run: a probe in the pod's own network namespace got
    /// "connection refused" on this loopback port while something listens on it on the
    /// host's loopback (`pod` isolation only).
    HostListener {
        /// Spec time of the check (the end of the run).
        #[serde(serialize_with = "secs")]
        at: Duration,
        /// The port.
        port: u16,
    },
    /// The pod's endpoint in a Service's EndpointSlice changed (the endpoints controller
    /// following its Ready condition and deletion); `endpoint: None` is its removal.
    ServiceEndpoint {
        /// Spec time.
        #[serde(serialize_with = "secs")]
        at: Duration,
        /// The Service's name.
        service: String,
        /// The endpoint's conditions, or None once the pod is no longer in the slice.
        endpoint: Option<EndpointConditions>,
    },
    /// One request of a `[[traffic]]` load generator through a Service, sent at `at`: which
    /// endpoint pod the proxy chose (None when it had none) and how the request ended.
    Request(Box<Request>),
    /// The pod status changed.
    Status {
        /// Spec time since pod creation.
        #[serde(serialize_with = "secs")]
        at: Duration,
        /// The new status.
        status: Box<PodStatus>,
    },
}

/// One request of a load generator (`[[traffic]]`) and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// Spec time since the run began at which the request was sent.
    #[serde(serialize_with = "secs")]
    pub at: Duration,
    /// The traffic item's name.
    pub traffic: String,
    /// Its number within the traffic item (0, 1, ...), also sent as `x-podcheck-request`.
    pub seq: u64,
    /// The Service's name.
    pub service: String,
    /// The Service port.
    pub port: u16,
    /// The endpoint pod the proxy sent it to, or None when it had no ready endpoint.
    pub pod: Option<String>,
    /// How it ended.
    pub outcome: RequestOutcome,
    /// From sending to the outcome, in spec time.
    #[serde(serialize_with = "secs")]
    pub latency: Duration,
}

/// How one generated request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum RequestOutcome {
    /// A TCP connect that completed, or an HTTP response below 400.
    Ok {
        /// The HTTP status (None for a TCP connect).
        status: Option<u16>,
    },
    /// An HTTP response of 400 or more.
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The connection was refused: no ready endpoint in the proxy's view (kube-proxy's
    /// REJECT), or nothing listening on the endpoint's port.
    Refused,
    /// The connection was reset or closed before a whole response came.
    Reset {
        /// What the client saw.
        detail: String,
    },
    /// No outcome within the traffic item's timeout.
    Timeout,
}

impl RequestOutcome {
    /// Whether the request counts as failed.
    pub fn failed(&self) -> bool {
        !matches!(self, RequestOutcome::Ok { .. })
    }
}

impl std::fmt::Display for RequestOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestOutcome::Ok { status: Some(s) } => write!(f, "ok (HTTP {s})"),
            RequestOutcome::Ok { status: None } => f.write_str("ok (connected)"),
            RequestOutcome::Status { status } => write!(f, "HTTP {status}"),
            RequestOutcome::Refused => f.write_str("connection refused"),
            RequestOutcome::Reset { detail } => write!(f, "reset ({detail})"),
            RequestOutcome::Timeout => f.write_str("timed out"),
        }
    }
}

/// An EndpointSlice endpoint's conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EndpointConditions {
    /// Traffic may be sent to it.
    pub ready: bool,
    /// It is Ready (also while terminating).
    pub serving: bool,
    /// The pod is being deleted.
    pub terminating: bool,
}

/// The full record of one pod's run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Entries in order.
    pub entries: Vec<Entry>,
}

impl Entry {
    /// When it happened (spec time since pod creation).
    pub fn at(&self) -> Duration {
        match self {
            Entry::Event(e) => e.at,
            Entry::Execution(x) => x.at,
            Entry::Request(r) => r.at,
            Entry::Endpoint { at, .. }
            | Entry::HostListener { at, .. }
            | Entry::ServiceEndpoint { at, .. }
            | Entry::Status { at, .. } => *at,
        }
    }
}

impl Timeline {
    /// The latest time anything was recorded: nothing recorded later can be earlier.
    pub fn latest(&self) -> Duration {
        self.entries.iter().map(Entry::at).max().unwrap_or_default()
    }

    /// All events in order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Event(ev) => Some(ev),
            _ => None,
        })
    }

    /// All executions in order.
    pub fn executions(&self) -> impl Iterator<Item = &Execution> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Execution(x) => Some(x),
            _ => None,
        })
    }

    /// Endpoint membership changes in order: (time, ready).
    pub fn endpoint_changes(&self) -> impl Iterator<Item = (Duration, bool)> + '_ {
        self.entries.iter().filter_map(|e| match e {
            Entry::Endpoint { at, ready } => Some((*at, *ready)),
            _ => None,
        })
    }

    /// The pod's endpoint changes in Service `service`, in order.
    pub fn service_endpoints<'a>(
        &'a self,
        service: &'a str,
    ) -> impl Iterator<Item = (Duration, Option<EndpointConditions>)> + 'a {
        self.entries.iter().filter_map(move |e| match e {
            Entry::ServiceEndpoint {
                at,
                service: s,
                endpoint,
            } if s == service => Some((*at, *endpoint)),
            _ => None,
        })
    }

    /// Every generated request in order.
    pub fn requests(&self) -> impl Iterator<Item = &Request> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Request(r) => Some(r.as_ref()),
            _ => None,
        })
    }

    /// All status snapshots in order, with their times.
    pub fn statuses(&self) -> impl Iterator<Item = (Duration, &PodStatus)> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Status { at, status } => Some((*at, status.as_ref())),
            _ => None,
        })
    }

    /// The last status snapshot.
    pub fn last_status(&self) -> Option<&PodStatus> {
        self.statuses().last().map(|(_, s)| s)
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}
