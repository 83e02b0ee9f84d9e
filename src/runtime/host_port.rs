//! Whether something listens on a port of the host's loopback, seen from the runner's own
//! network namespace (the host's): the fact behind the report's hint that a pod in `pod`
//! isolation has a loopback of its own.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long one check may take: a listener on loopback accepts in microseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// True when a TCP connect to 127.0.0.1:`port` succeeds within 200 ms (the connection is
/// closed again at once).
pub fn host_loopback_listens(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_seen_and_a_closed_port_is_not() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = l.local_addr().expect("addr").port();
        assert!(host_loopback_listens(port));
        drop(l);
        assert!(!host_loopback_listens(port));
    }
}
