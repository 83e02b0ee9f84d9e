//! Isolation modes: `pod` gives every pod its own network namespace (a private localhost,
//! no port clashes between pods); `none` runs containers on the host's loopback; `auto`
//! (the default) uses `pod` when a quick check shows this machine allows it.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Deserialize;

use std::process::Stdio;

use super::netns::PodNetwork;
use super::shim::{self, PidNs, Placement, Role};

/// The requested isolation mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// `pod` where available, otherwise `none` (with a notice).
    #[default]
    Auto,
    /// A network namespace per pod; an error where unavailable.
    Pod,
    /// The host's loopback, shared by all pods.
    None,
}

impl FromStr for Isolation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Isolation::Auto),
            "pod" => Ok(Isolation::Pod),
            "none" => Ok(Isolation::None),
            other => Err(format!(
                "unknown isolation mode {other:?}: use auto, pod or none"
            )),
        }
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isolation::Auto => "auto",
            Isolation::Pod => "pod",
            Isolation::None => "none",
        })
    }
}

/// A runtime feature a spec can require (`run.requires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// Pod mode: a network namespace per pod and a PID namespace per container.
    Namespaces,
    /// Volumes and the termination-message file at their paths (private mount namespaces).
    MountNamespaces,
    /// `resources.limits.memory` enforced by a memory cgroup, with OOMKilled reported.
    MemoryLimits,
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Feature::Namespaces => "namespaces",
            Feature::MountNamespaces => "mount-namespaces",
            Feature::MemoryLimits => "memory-limits",
        })
    }
}

impl Feature {
    /// Whether a run in the given mode has this feature; the error says why not.
    pub fn check(self, pod_mode: bool) -> Result<(), String> {
        let needs_pod = || {
            if pod_mode {
                Ok(())
            } else {
                Err("isolation is none".to_owned())
            }
        };
        match self {
            Feature::Namespaces => needs_pod(),
            Feature::MountNamespaces => needs_pod().and_then(|()| mounts_in_pod_mode()),
            Feature::MemoryLimits => super::cgroup::memory_support().map(drop),
        }
    }
}

/// Whether containers in pod mode get private mount namespaces (checked once, inside a pod
/// network's user namespace when not root).
pub fn mounts_in_pod_mode() -> Result<(), String> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            let net = PodNetwork::create().map_err(|e| e.to_string())?;
            super::mounts::mount_namespaces_available(net.ns_fds().user)
        })
        .clone()
}

/// Whether pod mode works here (checked once per process by creating and dropping a pod
/// network); the error says which step failed and why.
pub fn pod_mode_available() -> Result<(), String> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    CHECK.get_or_init(check_pod_mode).clone()
}

/// Creates a pod network and starts `true` in it as PID 1 of a new PID namespace: the
/// whole sequence a container start goes through, so a partial permission (AppArmor
/// allowing `unshare` but not the uid map, say) is caught here.
fn check_pod_mode() -> Result<(), String> {
    // With a hostname, as a pod's network is made: its UTS namespace is part of the check.
    let net = PodNetwork::for_pod("podcheck-check").map_err(|e| e.to_string())?;
    let ns = net.ns_fds();
    let mut cmd = std::process::Command::new("true");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let placement = Placement {
        userns: ns.user,
        netns: Some(ns.net),
        uts: ns.uts,
        pid: PidNs::New,
        role: Role::Container,
    };
    let pid_ns = |e: std::io::Error| {
        format!(
            "could not start a process in a new PID namespace (unshare CLONE_NEWPID, then fork): {e} — a container's seccomp profile or a missing CAP_SYS_ADMIN can forbid it; run podcheck as root or on the host, or use --isolation none"
        )
    };
    // SAFETY: no extra step; the fds belong to `net`, alive until the end of this function.
    let main_pid = unsafe { shim::install(&mut cmd, placement, || Ok(())) }.map_err(pid_ns)?;
    let status = cmd.status().map_err(pid_ns)?;
    drop(main_pid);
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "a process in a new PID namespace did not run ({status})"
        ))
    }
}

/// Whether `requested` will run pods in their own network namespace, and a one-line note
/// saying which mode is used and why.
pub fn decide(requested: Isolation) -> Result<(bool, String), String> {
    match requested {
        Isolation::None => Ok((
            false,
            "isolation: none (requested): pods share the host's loopback".into(),
        )),
        Isolation::Pod => pod_mode_available()
            .map(|()| {
                (
                    true,
                    "isolation: pod (requested): a network namespace per pod, a PID namespace per container".into(),
                )
            })
            .map_err(|e| format!("isolation mode pod was requested but is unavailable: {e}")),
        Isolation::Auto => Ok(match pod_mode_available() {
            Ok(()) => (
                true,
                "isolation: pod (auto): a network namespace per pod, a PID namespace per container".into(),
            ),
            Err(e) => (
                false,
                format!(
                    "isolation: none (auto, pod mode unavailable: {e}): pods share the host's loopback"
                ),
            ),
        }),
    }
}
