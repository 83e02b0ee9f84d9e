//! The cluster DNS: kube-dns' address (`CLUSTER_DNS_IP`, port 53, UDP and TCP) inside every
//! pod's network namespace, answering from the run's Services (see `zone` for what it
//! answers). Its sockets come from each pod's sandbox, so the runner never enters a
//! namespace; it serves on the run's tokio runtime and is gone when [`ClusterDns`] is
//! dropped, on every path out of a run.

pub mod zone;

use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::addresses::{CLUSTER_DNS_IP, CLUSTER_DOMAIN, ClusterAddresses, service_namespace};
use crate::runtime::netns::PodNetwork;
use crate::spec::model::Service;
pub use zone::{ServiceRecord, Zone};

/// Why the cluster DNS could not listen in a pod's namespace.
#[derive(Debug, Error)]
pub enum DnsError {
    /// A socket step failed.
    #[error(
        "the cluster DNS could not {step} at {CLUSTER_DNS_IP}:53 in the pod's network namespace: {source}"
    )]
    Socket {
        /// The failing step.
        step: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The zone could not be built.
    #[error("the cluster DNS zone is invalid: {0}")]
    Zone(String),
}

/// How long a TCP client may stay idle between queries (CoreDNS's read timeout is 2 s;
/// kept longer here, since clients run on a loaded machine).
const TCP_IDLE: Duration = Duration::from_secs(10);

/// The zone of a run: its Services with their ClusterIPs, and the namespaces of its pods.
pub fn zone_for(
    services: &BTreeMap<String, Service>,
    addresses: &ClusterAddresses,
    pod_namespaces: &[&str],
    serial: u32,
) -> Result<Zone, DnsError> {
    let mut z = Zone::new(CLUSTER_DOMAIN, CLUSTER_DNS_IP, serial).map_err(DnsError::Zone)?;
    for ns in pod_namespaces {
        z.add_namespace(ns);
    }
    for (name, s) in services {
        let ns = service_namespace(s);
        let Some(ip) = addresses.cluster_ip(ns, name) else {
            continue;
        };
        let ports = s
            .ports
            .iter()
            .map(|p| {
                (
                    p.name.clone().unwrap_or_default(),
                    u16::try_from(p.port).unwrap_or(0),
                    p.protocol.as_deref().unwrap_or("TCP").to_lowercase(),
                )
            })
            .collect();
        z.add_service(ns, name, ServiceRecord { ip, ports });
    }
    Ok(z)
}

/// The running server: one UDP and one TCP task per pod network.
#[derive(Debug)]
pub struct ClusterDns {
    tasks: Vec<JoinHandle<()>>,
}

impl ClusterDns {
    /// Listens in every pod network and serves `zone` until dropped. Must be called on a
    /// tokio runtime.
    pub fn start(networks: &[Arc<PodNetwork>], zone: Zone) -> Result<Self, DnsError> {
        let zone = Arc::new(zone);
        let mut server = ClusterDns { tasks: Vec::new() };
        for net in networks {
            let (udp, tcp) = bind_in(net)?;
            let z = zone.clone();
            server.tasks.push(tokio::spawn(serve_udp(udp, z)));
            let z = zone.clone();
            server.tasks.push(tokio::spawn(serve_tcp(tcp, z)));
        }
        Ok(server)
    }

    /// Stops every task and waits until they (and their sockets) are gone.
    pub async fn shutdown(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl Drop for ClusterDns {
    fn drop(&mut self) {
        // Aborted tasks drop their futures, and with them the sockets.
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn bind_in(net: &PodNetwork) -> Result<(tokio::net::UdpSocket, tokio::net::TcpListener), DnsError> {
    let sock = |step| move |source| DnsError::Socket { step, source };
    let udp = net.udp_socket(false).map_err(sock("get a UDP socket"))?;
    bind_dns_addr(udp.as_raw_fd()).map_err(sock("bind UDP"))?;
    udp.set_nonblocking(true).map_err(sock("set up UDP"))?;
    let udp = tokio::net::UdpSocket::from_std(udp).map_err(sock("register UDP"))?;
    let tcp = net.socket(false).map_err(sock("get a TCP socket"))?;
    let fd = tcp.as_raw_fd();
    // SAFETY: plain setsockopt on a socket we own.
    unsafe {
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    bind_dns_addr(fd).map_err(sock("bind TCP"))?;
    // SAFETY: listen on a bound socket we own.
    if unsafe { libc::listen(fd, 128) } != 0 {
        return Err(sock("listen on TCP")(io::Error::last_os_error()));
    }
    let listener = std::net::TcpListener::from(std::os::fd::OwnedFd::from(tcp));
    listener.set_nonblocking(true).map_err(sock("set up TCP"))?;
    let tcp = tokio::net::TcpListener::from_std(listener).map_err(sock("register TCP"))?;
    Ok((udp, tcp))
}

/// Binds `fd` to CLUSTER_DNS_IP:53 (std has no bind for a socket made elsewhere).
fn bind_dns_addr(fd: std::os::fd::RawFd) -> io::Result<()> {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 53u16.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(CLUSTER_DNS_IP.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a valid sockaddr_in for a socket we own.
    let rc = unsafe {
        libc::bind(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(&sin) as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

async fn serve_udp(sock: tokio::net::UdpSocket, zone: Arc<Zone>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
            // A transient error (e.g. ICMP feedback) must not stop the server.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if let Some(reply) = zone.answer(&buf[..n], true) {
            let _ = sock.send_to(&reply, peer).await;
        }
    }
}

async fn serve_tcp(listener: tokio::net::TcpListener, zone: Arc<Zone>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let z = zone.clone();
                // Owned by this task's JoinSet: aborting the server aborts them too.
                conns.spawn(serve_conn(stream, z));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// RFC 1035 4.2.2: each message has a two-byte length prefix; a client may send several.
async fn serve_conn(mut s: tokio::net::TcpStream, zone: Arc<Zone>) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, s.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if !matches!(
            tokio::time::timeout(TCP_IDLE, s.read_exact(&mut msg)).await,
            Ok(Ok(_))
        ) {
            return;
        }
        let Some(reply) = zone.answer(&msg, false) else {
            return;
        };
        let Ok(n) = u16::try_from(reply.len()) else {
            return;
        };
        if s.write_all(&n.to_be_bytes()).await.is_err() || s.write_all(&reply).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, Query, ResponseCode};
    use hickory_proto::rr::{Name, RecordType};

    fn query(name: &str) -> Vec<u8> {
        let mut q = Message::query();
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        q.to_vec().unwrap()
    }

    fn test_zone() -> Zone {
        let mut z = Zone::new(CLUSTER_DOMAIN, CLUSTER_DNS_IP, 1).unwrap();
        z.add_service(
            "default",
            "mydb",
            ServiceRecord {
                ip: std::net::Ipv4Addr::new(127, 96, 1, 1),
                ports: vec![("pg".into(), 5432, "tcp".into())],
            },
        );
        z
    }

    /// Served over UDP and TCP inside a pod's namespace (not on the host), and gone after
    /// shutdown: the address can be bound again.
    #[tokio::test]
    async fn answers_in_the_pod_namespace_over_udp_and_tcp_and_frees_its_port() {
        let net = match PodNetwork::create() {
            Ok(n) => Arc::new(n),
            Err(e) => {
                eprintln!("skipped: network namespaces unavailable here: {e}");
                return;
            }
        };
        let dns = ClusterDns::start(std::slice::from_ref(&net), test_zone()).expect("dns starts");
        let server: std::net::SocketAddr = (CLUSTER_DNS_IP, 53).into();
        // UDP from inside the namespace.
        let c = net.udp_socket(false).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let c = tokio::task::spawn_blocking(move || {
            c.send_to(&query("mydb.default.svc.cluster.local."), server)
                .unwrap();
            let mut buf = [0u8; 512];
            let n = c.recv(&mut buf).expect("a UDP answer");
            Message::from_vec(&buf[..n]).unwrap()
        })
        .await
        .unwrap();
        assert_eq!(c.metadata.response_code, ResponseCode::NoError);
        assert_eq!(c.answers.len(), 1);
        // TCP, two queries on one connection.
        let t = net.socket(false).unwrap();
        let t = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let fd = t.as_raw_fd();
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 53u16.to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(CLUSTER_DNS_IP.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: a valid address for a socket we own.
            let rc = unsafe {
                libc::connect(
                    fd,
                    (&sin as *const libc::sockaddr_in).cast(),
                    std::mem::size_of_val(&sin) as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0, "connect to the DNS over TCP");
            let mut t = t;
            t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut codes = Vec::new();
            for name in [
                "mydb.default.svc.cluster.local.",
                "nosuch.default.svc.cluster.local.",
            ] {
                let q = query(name);
                t.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
                t.write_all(&q).unwrap();
                let mut l = [0u8; 2];
                t.read_exact(&mut l).unwrap();
                let mut b = vec![0u8; usize::from(u16::from_be_bytes(l))];
                t.read_exact(&mut b).unwrap();
                codes.push(Message::from_vec(&b).unwrap().metadata.response_code);
            }
            codes
        })
        .await
        .unwrap();
        assert_eq!(t, [ResponseCode::NoError, ResponseCode::NXDomain]);
        // Nothing answers on the host's own loopback.
        assert!(std::net::TcpStream::connect_timeout(&server, Duration::from_millis(200)).is_err());
        dns.shutdown().await;
        let again = net.udp_socket(false).unwrap();
        assert!(
            bind_dns_addr(again.as_raw_fd()).is_ok(),
            "the UDP port is free again"
        );
        let again = net.socket(false).unwrap();
        assert!(
            bind_dns_addr(again.as_raw_fd()).is_ok(),
            "the TCP port is free again"
        );
    }
}
