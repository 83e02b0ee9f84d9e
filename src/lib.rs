//! podcheck: runs a Kubernetes pod as local processes, the way the kubelet would, and checks
//! the observed lifecycle (events, phases, readiness, restarts) against a spec.

pub mod diag;
pub mod events;
pub mod expect;
pub mod spec;
pub mod clock;
pub mod runtime;
pub mod kubelet;
pub mod report;
pub mod runner;
pub mod cli;
