//! The proxy's sockets in a pod's namespace: bound once to ClusterIP:port, listening only
//! while the port has endpoints, and closing a connection with a reset.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};

use tokio::net::{TcpListener, TcpStream};

use crate::runtime::netns::PodNetwork;

/// A listener on `ip:port` inside `net`'s namespace.
#[cfg(test)]
pub(super) fn listen(net: &PodNetwork, ip: Ipv4Addr, port: u16) -> io::Result<TcpListener> {
    start_listening(&bind_in(net, ip, port)?)
}

/// A socket inside `net`'s namespace bound to `ip:port`, not listening yet.
pub(super) fn bind_in(net: &PodNetwork, ip: Ipv4Addr, port: u16) -> io::Result<OwnedFd> {
    let s = OwnedFd::from(net.socket(false)?);
    let fd = s.as_raw_fd();
    let one: libc::c_int = 1;
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: valid fd, option and address buffers that outlive the calls.
    unsafe {
        // A listener closed and reopened as endpoints come and go must not wait out
        // TIME_WAIT connections on its port.
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of_val(&one) as libc::socklen_t,
        );
        if libc::bind(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(&sin) as libc::socklen_t,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(s)
}

/// Starts listening on a bound socket (again, after [`unlisten`]); the listener holds its
/// own descriptor of the socket, so dropping it leaves `sock` open.
pub(super) fn start_listening(sock: &OwnedFd) -> io::Result<TcpListener> {
    // SAFETY: a valid fd.
    if unsafe { libc::listen(sock.as_raw_fd(), 1024) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let l = std::net::TcpListener::from(sock.try_clone()?);
    l.set_nonblocking(true)?;
    TcpListener::from_std(l)
}

/// Stops a listening socket and keeps it bound: connect(AF_UNSPEC) disconnects it
/// (tcp_disconnect resets what waits in its accept queue), and a port bound explicitly
/// stays bound, so a new SYN is answered with a RST (ECONNREFUSED) until it listens again.
pub(super) fn unlisten(sock: &OwnedFd) -> io::Result<()> {
    // SAFETY: a zeroed sockaddr is a valid AF_UNSPEC address; the buffer outlives the call.
    unsafe {
        let mut sa: libc::sockaddr = std::mem::zeroed();
        sa.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        if libc::connect(
            sock.as_raw_fd(),
            &sa,
            std::mem::size_of_val(&sa) as libc::socklen_t,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Closes `s` with a RST (SO_LINGER 0) rather than a FIN, so the peer sees a reset.
pub fn reset(s: TcpStream) {
    let off = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd and a linger struct that outlives the call.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&off as *const libc::linger).cast(),
            std::mem::size_of_val(&off) as libc::socklen_t,
        );
    }
    drop(s);
}
