//! Pod networks against the kernel: isolation between pods, sockets, joining.

use super::*;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};

fn listen_in(net: &PodNetwork, port: u16) -> TcpListener {
    let s = net.socket(false).expect("socket from the sandbox");
    socket2_free_bind(s, port)
}

/// Binds and listens on an unconnected socket we were handed.
fn socket2_free_bind(s: std::net::TcpStream, port: u16) -> TcpListener {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let fd = s.as_raw_fd();
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a valid sockaddr_in for a valid fd.
    unsafe {
        assert_eq!(
            libc::bind(
                fd,
                (&sin as *const libc::sockaddr_in).cast(),
                std::mem::size_of_val(&sin) as u32
            ),
            0,
            "bind {addr}"
        );
        assert_eq!(libc::listen(fd, 8), 0);
    }
    TcpListener::from(OwnedFd::from(s))
}

#[test]
fn two_pods_listen_on_the_same_port_and_only_see_their_own() {
    let (a, b) = match (PodNetwork::create(), PodNetwork::create()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("skipped: network namespaces unavailable here: {e}");
            return;
        }
    };
    let _la = listen_in(&a, 18201);
    let _lb = listen_in(&b, 18201);
    // A socket from pod a reaches a's listener; the host's loopback has no listener.
    let c = a.socket(false).expect("socket");
    let addr: SocketAddr = ([127, 0, 0, 1], 18201).into();
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 18201u16.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: valid fd and address.
    let rc = unsafe {
        libc::connect(
            c.as_raw_fd(),
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(&sin) as u32,
        )
    };
    assert_eq!(rc, 0, "connect inside pod a to {addr}");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the host loopback must not see the pod's listener"
    );
}

#[test]
fn sockets_come_in_batches_and_each_is_fresh() {
    let Ok(net) = PodNetwork::create() else {
        eprintln!("skipped: network namespaces unavailable here");
        return;
    };
    // More than two batches: each socket is a distinct descriptor, usable on its own.
    let socks: Vec<_> = (0..2 * usize::from(TCP_BATCH) + 1)
        .map(|_| net.socket(false).expect("socket from the sandbox"))
        .collect();
    let mut fds: Vec<_> = socks.iter().map(|s| s.as_raw_fd()).collect();
    fds.sort_unstable();
    fds.dedup();
    assert_eq!(fds.len(), socks.len());
    let _l = listen_in(&net, 18202);
    assert!(net.udp_socket(false).is_ok());
    assert!(net.socket(true).is_ok(), "an IPv6 socket too");
}

/// A socket option of `fd` as an int (SO_TYPE, SO_DOMAIN).
fn sockopt(fd: RawFd, opt: libc::c_int) -> libc::c_int {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a valid int buffer and its length.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt {opt}");
    v
}

#[test]
fn the_next_batch_is_asked_for_ahead_and_replies_stay_in_order() {
    let Ok(net) = PodNetwork::create() else {
        eprintln!("skipped: network namespaces unavailable here");
        return;
    };
    let state = |net: &PodNetwork| {
        let ctl = net.ctl.lock().expect("lock");
        (
            ctl.spare[0].len(),
            ctl.pending.iter().copied().collect::<Vec<u8>>(),
        )
    };
    let take = usize::from(TCP_BATCH) - PREFETCH_AT;
    let mut held: Vec<_> = (0..take)
        .map(|_| net.socket(false).expect("socket"))
        .collect();
    assert_eq!(
        state(&net),
        (PREFETCH_AT, vec![b'4']),
        "down to {PREFETCH_AT} spare, the next batch is already asked for"
    );
    // A UDP request behind the pending TCP batch: each reply goes where it belongs.
    let udp = net
        .udp_socket(false)
        .expect("a UDP socket behind a pending TCP batch");
    assert_eq!(sockopt(udp.as_raw_fd(), libc::SO_TYPE), libc::SOCK_DGRAM);
    assert_eq!(state(&net), (PREFETCH_AT + usize::from(TCP_BATCH), vec![]));
    // IPv6 next to IPv4, both asked ahead, each family in its own spares.
    let v6 = net.socket(true).expect("an IPv6 socket");
    assert_eq!(sockopt(v6.as_raw_fd(), libc::SO_DOMAIN), libc::AF_INET6);
    for _ in 0..3 * usize::from(TCP_BATCH) {
        let s = net.socket(false).expect("socket");
        assert_eq!(sockopt(s.as_raw_fd(), libc::SO_DOMAIN), libc::AF_INET);
        assert_eq!(sockopt(s.as_raw_fd(), libc::SO_TYPE), libc::SOCK_STREAM);
        held.push(s);
        let v6 = net.socket(true).expect("an IPv6 socket");
        assert_eq!(sockopt(v6.as_raw_fd(), libc::SO_DOMAIN), libc::AF_INET6);
    }
    let mut fds: Vec<_> = held.iter().map(|s| s.as_raw_fd()).collect();
    fds.sort_unstable();
    fds.dedup();
    assert_eq!(fds.len(), held.len(), "every socket is its own");
}

#[test]
fn a_process_that_joins_runs_in_the_pod_namespace() {
    let net = match PodNetwork::create() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("skipped: network namespaces unavailable here: {e}");
            return;
        }
    };
    let want = std::fs::read_link(format!("/proc/{}/ns/net", net.pid)).expect("ns link");
    let fds = net.ns_fds();
    let mut cmd = std::process::Command::new("readlink");
    cmd.arg("/proc/self/ns/net");
    let placement = crate::runtime::shim::Placement {
        userns: fds.0,
        netns: Some(fds.1),
        pid: crate::runtime::shim::PidNs::Host,
        role: crate::runtime::shim::Role::Exec,
    };
    // SAFETY: no extra step; the fds belong to `net`, alive until the end of the test.
    let main =
        unsafe { crate::runtime::shim::install(&mut cmd, placement, || Ok(())) }.expect("shim");
    let out = cmd.output().expect("readlink runs");
    drop(main);
    let got = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(got, want.to_string_lossy());
    let _ = std::io::stderr().flush();
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Interrupts `thread` with SIGURG every 5 ms until `done`, then (after 150 ms, still
/// signalling) writes one byte to `peer`. Bounded: at most 400 signals.
fn interrupt_then_write(
    thread: libc::pthread_t,
    mut peer: UnixStream,
    done: std::sync::Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for i in 0..400 {
            if done.load(Ordering::SeqCst) {
                return;
            }
            // SAFETY: the reading thread is alive until it sets `done`, which we check.
            unsafe { libc::pthread_kill(thread, libc::SIGURG) };
            if i == 30 {
                let _ = peer.write_all(b"R");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

#[test]
fn a_read_on_the_control_socket_survives_signals() {
    // A socket with a receive timeout, as the control socket has: signals interrupt its
    // reads even under SA_RESTART, as SIGCHLD does whenever a container ends.
    // SAFETY: a no-op handler for a signal nothing else here uses.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut());
    }
    // SAFETY: pthread_self cannot fail.
    let me = unsafe { libc::pthread_self() };
    let read_with = |retry: bool| {
        let (mut ours, peer) = UnixStream::pair().expect("socket pair");
        ours.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let signaller = interrupt_then_write(me, peer, done.clone());
        let mut byte = [0u8; 1];
        let got = if retry {
            retry_eintr(|| ours.read(&mut byte))
        } else {
            ours.read(&mut byte)
        };
        done.store(true, Ordering::SeqCst);
        let _ = signaller.join();
        got.map(|n| (n, byte[0]))
    };
    let plain = read_with(false);
    assert_eq!(
        plain.as_ref().map_err(io::Error::kind).err(),
        Some(io::ErrorKind::Interrupted),
        "a plain read is interrupted: {plain:?}"
    );
    assert_eq!(read_with(true).expect("retried read"), (1, b'R'));
}
