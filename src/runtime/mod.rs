//! The container runtime: local processes standing in for containers, and the pod sandbox
//! (scratch directories and volumes) they share.

pub mod atomic_writer;
pub mod cgroup;
pub mod host_port;
pub mod identity;
mod inherited;
pub mod isolation;
pub mod latency;
pub mod limits;
pub mod logs;
pub mod mounts;
pub mod netns;
pub mod node_fs;
pub mod node_resources;
pub mod priority;
pub mod process;
pub mod sandbox;
pub mod shim;
