//! A network namespace per pod (the pause container's job), so the pod's containers share a
//! private localhost and two pods can both listen on the same port. Containers and exec
//! probes join it with `setns` before exec (see `shim`); TCP probes, the proxy and the
//! cluster DNS need sockets made inside it. Who holds the namespace depends on the user:
//! root holds it by a file descriptor and makes sockets by moving the asking thread into
//! it for one call (`held`); an ordinary user needs a user namespace, which a thread of the
//! runner cannot enter, so a forked sandbox process holds both and hands sockets over a
//! socket pair (`sandbox`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;

mod held;
mod sandbox;
mod setup;

use sandbox::Sandbox;

/// Why a pod network could not be set up; each names the step and errno.
#[derive(Debug, Error)]
pub enum NetnsError {
    /// socketpair/fork failed in the runner.
    #[error("failed to start the pod sandbox ({step}): {source}")]
    Spawn {
        /// The failing call.
        step: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A namespace step failed inside the sandbox.
    #[error("the pod sandbox could not {step}: {errno}{hint}")]
    Sandbox {
        /// The failing step.
        step: &'static str,
        /// The errno text.
        errno: String,
        /// The likely cause and fix.
        hint: &'static str,
    },
}

/// The namespace set-up steps, numbered as the sandbox reports a failed one (no allocation
/// after fork), with the likely cause.
const STEPS: [(&str, &str); 8] = [
    (
        "create a user namespace (unshare CLONE_NEWUSER|CLONE_NEWNET)",
        " — unprivileged user namespaces may be disabled (kernel.unprivileged_userns_clone, AppArmor, or a container seccomp profile); run as root or allow them",
    ),
    (
        "create a network namespace (unshare CLONE_NEWNET)",
        " — this needs root or a user namespace",
    ),
    ("write /proc/self/setgroups", ""),
    ("write /proc/self/uid_map", ""),
    ("write /proc/self/gid_map", ""),
    ("bring up the loopback interface (SIOCSIFFLAGS)", ""),
    (
        "create a UTS namespace for the pod's hostname (unshare CLONE_NEWUTS)",
        " — this needs root or a user namespace",
    ),
    (
        "set the pod's hostname (sethostname)",
        " — a hostname is at most 64 bytes",
    ),
];

impl NetnsError {
    /// The failure of set-up step `step` (its number in STEPS) with `e`.
    fn at_step(step: usize, e: io::Error) -> Self {
        let (step, hint) = STEPS
            .get(step)
            .copied()
            .unwrap_or(("set up the namespaces", ""));
        NetnsError::Sandbox {
            step,
            errno: e.to_string(),
            hint,
        }
    }
}

/// An address every pod namespace has on `lo` (as `lo:1`, /32) besides 127.0.0.1. A pod in a
/// cluster has an `eth0` with its pod IP; here it has only loopback, and glibc's
/// `getaddrinfo` with `AI_ADDRCONFIG` (check_pf.c counts every IPv4 address but 127.0.0.1)
/// would then find no configured IPv4 address and resolve nothing, Service names included.
/// It is the cluster DNS's address (`cluster::addresses::CLUSTER_DNS_IP`), which every pod
/// namespace reaches on loopback anyway.
pub const ADDRCONFIG_ADDRESS: [u8; 4] = [127, 96, 0, 10];

/// The namespaces a process joins to run in a pod, as fds the pod network holds.
#[derive(Debug, Clone, Copy)]
pub struct PodNamespaces {
    /// The user namespace (an ordinary user's pods), joined first.
    pub user: Option<RawFd>,
    /// The network namespace.
    pub net: RawFd,
    /// The UTS namespace, whose hostname is the pod's (when the pod network was made for
    /// a pod: [`PodNetwork::for_pod`]).
    pub uts: Option<RawFd>,
}

/// A pod's network namespace (and UTS namespace) and whatever keeps them alive.
#[derive(Debug)]
pub struct PodNetwork {
    holder: Holder,
    netns: OwnedFd,
    userns: Option<OwnedFd>,
    uts: Option<OwnedFd>,
    /// Some process of the pod ran outside every container PID namespace (see
    /// [`PodNetwork::note_host_pid_process`]).
    host_pid: AtomicBool,
}

/// What holds the namespace and makes its sockets.
#[derive(Debug)]
enum Holder {
    /// The fd alone (root): sockets are made by the asking thread, moved in for the call.
    Fd,
    /// A sandbox process (an ordinary user, or asked for).
    Sandbox(Sandbox),
}

impl PodNetwork {
    /// Creates the namespace: held by an fd when root, by a sandbox process in a user
    /// namespace otherwise. Processes that join keep the machine's hostname.
    pub fn create() -> Result<Self, NetnsError> {
        Self::made(None)
    }

    /// Creates the namespace for a pod whose hostname is `hostname`: its processes also
    /// share a UTS namespace with that hostname, as a pod's containers share the sandbox's
    /// (the runtime sets it from the pod's hostname, cut to 63 characters).
    pub fn for_pod(hostname: &str) -> Result<Self, NetnsError> {
        Self::made(Some(hostname))
    }

    fn made(hostname: Option<&str>) -> Result<Self, NetnsError> {
        // SAFETY: a plain getter.
        if unsafe { libc::geteuid() } == 0 {
            let netns = held::create()?;
            let uts = hostname.map(held::create_uts).transpose()?;
            Ok(Self::with(Holder::Fd, netns, None, uts))
        } else {
            Self::with_sandbox(true, hostname)
        }
    }

    /// Creates the namespace in a sandbox process, inside a user namespace when `userns`.
    fn with_sandbox(userns: bool, hostname: Option<&str>) -> Result<Self, NetnsError> {
        let started = Sandbox::start(userns, hostname)?;
        Ok(Self::with(
            Holder::Sandbox(started.sandbox),
            started.net,
            started.user,
            started.uts,
        ))
    }

    fn with(holder: Holder, netns: OwnedFd, userns: Option<OwnedFd>, uts: Option<OwnedFd>) -> Self {
        PodNetwork {
            holder,
            netns,
            userns,
            uts,
            host_pid: AtomicBool::new(false),
        }
    }

    /// Records that a process of this pod runs in the host's PID namespace (an exec whose
    /// container's PID namespace could not be joined). Until then every process of the pod
    /// lives in a container's PID namespace, which the kernel empties when the container's
    /// PID 1 ends, so the pod's end needs no search for leftovers.
    pub fn note_host_pid_process(&self) {
        self.host_pid.store(true, Ordering::Relaxed);
    }

    /// Whether [`PodNetwork::note_host_pid_process`] was ever called.
    pub fn had_host_pid_process(&self) -> bool {
        self.host_pid.load(Ordering::Relaxed)
    }

    /// The namespace fds a process must `setns` into.
    pub fn ns_fds(&self) -> PodNamespaces {
        PodNamespaces {
            user: self.userns.as_ref().map(AsRawFd::as_raw_fd),
            net: self.netns.as_raw_fd(),
            uts: self.uts.as_ref().map(AsRawFd::as_raw_fd),
        }
    }

    /// An unconnected TCP socket inside the pod's network namespace.
    pub fn socket(&self, v6: bool) -> io::Result<std::net::TcpStream> {
        let fd = match &self.holder {
            Holder::Fd => held::socket(self.netns.as_raw_fd(), family(v6), libc::SOCK_STREAM)?,
            Holder::Sandbox(s) => s.socket(v6)?,
        };
        Ok(std::net::TcpStream::from(fd))
    }

    /// An unbound UDP socket inside the pod's network namespace (the cluster DNS binds
    /// its port 53 on one: the namespace's privileged-port limit is lifted, so that works
    /// for an ordinary user too).
    pub fn udp_socket(&self, v6: bool) -> io::Result<std::net::UdpSocket> {
        let fd = match &self.holder {
            Holder::Fd => held::socket(self.netns.as_raw_fd(), family(v6), libc::SOCK_DGRAM)?,
            Holder::Sandbox(s) => s.udp_socket(v6)?,
        };
        Ok(std::net::UdpSocket::from(fd))
    }
}

fn family(v6: bool) -> libc::c_int {
    if v6 { libc::AF_INET6 } else { libc::AF_INET }
}

#[cfg(test)]
mod tests;
