//! podcheck: runs a Kubernetes pod as local processes, the way the kubelet would, and checks
//! the observed lifecycle (events, phases, readiness, restarts) against a spec.

pub mod cli;
pub mod clock;
pub mod cluster;
pub mod diag;
pub mod events;
pub mod expect;
pub mod harness;
pub mod kubelet;
pub mod lint;
pub mod manifest;
pub mod node;
pub mod print_pod;
pub mod prober;
pub mod report;
pub mod runner;
pub mod runtime;
pub mod spec;
