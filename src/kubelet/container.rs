//! What the kubelet knows about one container: its kind, its runtime records (instances)
//! and the cached reason of its last failed start.

use std::time::Duration;

use crate::spec::model::Container;

/// Where a container sits in the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// A regular init container: runs once, to completion, in order.
    Init,
    /// An init container with restartPolicy Always: keeps running beside the app.
    Sidecar,
    /// An app container.
    Regular,
}

/// How an instance ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code (128+N for signal N; 128 for StartError).
    pub exit_code: i32,
    /// Killing signal, if any.
    pub signal: Option<i32>,
    /// Completed, Error, StartError, OOMKilled.
    pub reason: String,
    /// Termination message.
    pub message: Option<String>,
    /// Spec time of the exit.
    pub finished_at: Duration,
}

/// A runtime record's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceState {
    /// The process runs.
    Running,
    /// The process is gone (or never started: StartError).
    Exited(ExitInfo),
}

/// One runtime record of a container: one start attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    /// The restart count this instance carries (0 for the first).
    pub restart_count: u32,
    /// Spec time of the start.
    pub started_at: Duration,
    /// Running or exited.
    pub state: InstanceState,
}

impl InstanceRecord {
    /// The exit, if the instance has exited.
    pub fn exit(&self) -> Option<&ExitInfo> {
        match &self.state {
            InstanceState::Exited(e) => Some(e),
            InstanceState::Running => None,
        }
    }

    /// Whether the instance runs.
    pub fn is_running(&self) -> bool {
        matches!(self.state, InstanceState::Running)
    }
}

/// A reason-cache entry: why the last start attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFailure {
    /// e.g. CrashLoopBackOff, ErrImagePull, RunContainerError.
    pub reason: String,
    /// Detail.
    pub message: String,
}

/// The kubelet's record of a container, as the pod cache (after PLEG) shows it.
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    /// The spec.
    pub spec: Container,
    /// Init, sidecar or regular.
    pub kind: ContainerKind,
    /// `spec.containers{name}` or `spec.initContainers{name}`.
    pub field_path: String,
    /// The newest runtime record and the one before it, as last relisted.
    pub current: Option<InstanceRecord>,
    /// The second-newest record (source of lastState).
    pub previous: Option<InstanceRecord>,
    /// The reason cache entry.
    pub start_failure: Option<StartFailure>,
    /// Startup probe has succeeded for the current instance (or there is none).
    pub startup_ok: bool,
    /// Readiness probe's cached result for the current instance (or there is none).
    pub readiness_ok: bool,
    /// The liveness probe's cached result is Failure for the current instance.
    pub liveness_failed: bool,
    /// The startup probe's cached result is Failure for the current instance.
    pub startup_failed: bool,
    /// Bumped by every change of the container's spec (a new image): part of its back-off
    /// key, as the spec hash is in the kubelet's.
    pub spec_generation: u32,
    /// The running instance was started from an older spec; the next sync replaces it.
    pub definition_changed: bool,
}

impl ContainerRecord {
    /// A record for a container that has not been created.
    pub fn new(spec: Container, kind: ContainerKind) -> Self {
        let field_path = match kind {
            ContainerKind::Regular => format!("spec.containers{{{}}}", spec.name),
            _ => format!("spec.initContainers{{{}}}", spec.name),
        };
        let has_startup = spec.startup_probe.is_some();
        let has_readiness = spec.readiness_probe.is_some();
        ContainerRecord {
            spec,
            kind,
            field_path,
            current: None,
            previous: None,
            start_failure: None,
            startup_ok: !has_startup,
            readiness_ok: !has_readiness,
            liveness_failed: false,
            startup_failed: false,
            spec_generation: 0,
            definition_changed: false,
        }
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether the newest record runs.
    pub fn is_running(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(InstanceRecord::is_running)
    }

    /// The newest record's exit, if it exited.
    pub fn last_exit(&self) -> Option<&ExitInfo> {
        self.current.as_ref().and_then(InstanceRecord::exit)
    }

    /// `started`: running and the startup probe (if any) has succeeded.
    pub fn started(&self) -> bool {
        self.is_running() && self.startup_ok
    }

    /// `ready` as the prober manager computes it.
    pub fn ready(&self) -> bool {
        match self.kind {
            ContainerKind::Init => self.last_exit().is_some_and(|e| e.exit_code == 0),
            _ => self.started() && self.readiness_ok,
        }
    }
}
