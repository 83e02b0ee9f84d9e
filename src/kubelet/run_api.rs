//! What a caller gives the pod worker and gets back: the pod's configuration, the caller's
//! hooks, and the outcome of the run.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::watch;

use crate::events::{Entry, Timeline};
use crate::spec::model::{ImageEntry, Pod};

/// Everything needed to run one pod.
#[derive(Debug, Clone)]
pub struct PodConfig {
    /// The pod spec.
    pub pod: Pod,
    /// metadata.name.
    pub name: String,
    /// metadata.namespace.
    pub namespace: String,
    /// metadata.uid.
    pub uid: String,
    /// The image table.
    pub images: BTreeMap<String, ImageEntry>,
    /// Real seconds per spec second.
    pub time_scale: f64,
    /// Spec time at which the pod is deleted.
    pub delete_at: Option<Duration>,
    /// Feature gates that differ from v1.35's defaults.
    pub feature_gates: crate::spec::features::FeatureGates,
    /// Changes to the running pod (images, conditions, activeDeadlineSeconds).
    pub updates: Vec<crate::spec::model::PodUpdate>,
    /// The delete's grace period in seconds (`kubectl delete --grace-period`); None or -1:
    /// the pod's own.
    pub delete_grace: Option<i64>,
    /// Spec time at which the run stops.
    pub duration: Option<Duration>,
    /// Real-time bound on the whole run.
    pub timeout: Duration,
    /// Tag on every process of this run (`PODCHECK_RUN`).
    pub run_id: String,
    /// Directories put in front of PATH (where the fixture app lives).
    pub extra_path: Vec<std::path::PathBuf>,
    /// The pod's own network namespace (isolation mode `pod`), or None for the host's.
    pub network: Option<std::sync::Arc<crate::runtime::netns::PodNetwork>>,
    /// The run's clock, shared by every pod of a spec (None: a clock of its own that starts
    /// now). All of the pod's times are on it.
    pub clock: Option<crate::clock::Clock>,
    /// Spec time on that clock at which the pod was created (activeDeadlineSeconds counts
    /// from here).
    pub start_at: Duration,
    /// The cluster around the pod, as the kubelet sees it.
    pub cluster: std::sync::Arc<ClusterInfo>,
    /// The node's filesystem as hostPath volumes see it, shared by every pod of the run.
    pub node_fs: std::sync::Arc<crate::runtime::node_fs::NodeFs>,
}

/// What the kubelet knows of the cluster: the Services its service lister shows (for their
/// environment variables) and its DNS flags.
#[derive(Debug, Clone, Default)]
pub struct ClusterInfo {
    /// Every Service with a ClusterIP; empty where Services have no addresses (isolation
    /// `none`).
    pub services: Vec<super::service_env::ServiceLink>,
    /// `--cluster-dns`, `--cluster-domain` and the node's resolv.conf.
    pub dns: super::pod_dns::DnsSettings,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The pod reached a terminal phase and every container stopped.
    PodFinished,
    /// `run.duration` elapsed.
    DurationReached,
    /// The caller's stop condition held (all expectations decided).
    Decided,
    /// The real-time timeout hit.
    TimedOut,
    /// Interrupted (Ctrl-C or the caller's cancel signal).
    Interrupted,
}

/// The logs of one container instance.
#[derive(Debug, Clone)]
pub struct InstanceLog {
    /// Container name.
    pub container: String,
    /// Restart count of the instance.
    pub restart_count: u32,
    /// The captured output (bounded tail).
    pub text: String,
    /// The spec time at which each line of `text` (as `str::lines` splits it) was read;
    /// None for a line older than the kept read times.
    pub line_times: Vec<Option<std::time::Duration>>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Events and status changes.
    pub timeline: Timeline,
    /// Output of every container instance, in start order.
    pub logs: Vec<InstanceLog>,
    /// Why it ended.
    pub end: EndReason,
    /// Spec time at the end.
    pub ended_at: Duration,
}

/// Errors that stop a pod before it runs.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The sandbox directory could not be made.
    #[error("failed to create the pod sandbox directory: {0}")]
    Sandbox(#[source] std::io::Error),
    /// The requested isolation is unavailable.
    #[error("{0}")]
    Isolation(String),
}

/// Caller hooks: live output, the stop condition and the cancel signal.
pub struct Observer<'a> {
    /// Called for every new timeline entry.
    pub on_entry: &'a mut dyn FnMut(&Entry),
    /// The pod time at which the run may stop, once that is known, given the timeline and
    /// the pod time now (asked after every entry and at each `recheck_at`): now or earlier
    /// stops the run at once; a later time is asked again then.
    pub decided: &'a mut dyn FnMut(&Timeline, std::time::Duration) -> Option<std::time::Duration>,
    /// Pod times at which to ask `decided` again even if nothing was recorded (when a
    /// state's window closes in a quiet pod).
    pub recheck_at: Vec<std::time::Duration>,
    /// Becomes true when the run must stop at once.
    pub cancel: Option<watch::Receiver<bool>>,
}
