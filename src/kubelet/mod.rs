//! The kubelet: the pod worker state machine, restart and back-off rules, and status.

pub mod backoff;
pub mod container;
mod container_config;
mod downward;
pub mod env;
mod hooks;
mod images;
mod pleg;
pub mod pod_dns;
pub mod pod_worker;
mod probe_worker;
mod recorder;
mod run_api;
pub mod service_env;
pub mod status;
mod sync;
mod termination;
mod updates;
mod volumes;

pub use pod_worker::{EndReason, Observer, PodConfig, RunOutcome, run_pod};
pub use run_api::ClusterInfo;
