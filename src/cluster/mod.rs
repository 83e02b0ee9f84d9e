//! The cluster around the pods: what controllers outside the kubelet do with them.

pub mod endpoints;
