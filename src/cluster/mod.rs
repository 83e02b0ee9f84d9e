//! The cluster around the pods: what controllers outside the kubelet do with them.

pub mod addresses;
pub mod dns;
pub mod endpoints;
pub mod proxy;
pub mod traffic;
