//! Pod networks against the kernel: isolation between pods, sockets, joining.

use super::sandbox::{PREFETCH_AT, TCP_BATCH, retry_eintr};
use super::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Whether this test runs as root (the runner holds namespaces by fd).
fn root() -> bool {
    // SAFETY: a plain getter.
    unsafe { libc::geteuid() == 0 }
}

/// Every kind of pod network this user can make, named: the default and, for root, also
/// a sandbox process (the path ordinary users take, without its user namespace).
fn every_kind() -> Vec<(&'static str, PodNetwork)> {
    let mut kinds = Vec::new();
    match PodNetwork::create() {
        Ok(n) => kinds.push(("the default holder", n)),
        Err(e) => eprintln!("skipped: network namespaces unavailable here: {e}"),
    }
    if root() {
        match PodNetwork::with_sandbox(false, None) {
            Ok(n) => kinds.push(("a sandbox process", n)),
            Err(e) => eprintln!("skipped the sandbox holder: {e}"),
        }
    }
    kinds
}

/// Runs `argv` joined to `net`'s namespaces (as an exec probe would be) and returns its
/// trimmed standard output.
fn run_in(net: &PodNetwork, argv: &[&str]) -> String {
    let fds = net.ns_fds();
    let mut cmd = std::process::Command::new(argv[0]);
    cmd.args(&argv[1..]);
    let placement = crate::runtime::shim::Placement {
        userns: fds.user,
        netns: Some(fds.net),
        uts: fds.uts,
        pid: crate::runtime::shim::PidNs::Host,
        role: crate::runtime::shim::Role::Exec,
    };
    // SAFETY: no extra step; the fds belong to `net`, alive until the end of the call.
    let main =
        unsafe { crate::runtime::shim::install(&mut cmd, placement, || Ok(())) }.expect("shim");
    let out = cmd.output().expect("the command runs");
    drop(main);
    let _ = std::io::stderr().flush();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn listen_in(net: &PodNetwork, port: u16) -> TcpListener {
    let s = net.socket(false).expect("socket from the sandbox");
    socket2_free_bind(s, port)
}

/// Binds `fd` to `ip`:`port`.
fn bind_v4(fd: RawFd, ip: [u8; 4], port: u16) -> io::Result<()> {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a valid sockaddr_in for a valid fd.
    let rc = unsafe {
        libc::bind(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(&sin) as u32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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
    // Pods of both kinds side by side: a fd-held pod and a sandboxed one are as separate.
    let mut kinds = every_kind().into_iter().map(|(_, n)| n);
    let (Some(a), Some(b)) = (
        kinds.next(),
        kinds.next().or_else(|| PodNetwork::create().ok()),
    ) else {
        return;
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
    for (kind, net) in every_kind() {
        // More than two batches: each socket is a distinct descriptor, usable on its own.
        let socks: Vec<_> = (0..2 * usize::from(TCP_BATCH) + 1)
            .map(|_| net.socket(false).expect("socket from the pod"))
            .collect();
        let mut fds: Vec<_> = socks.iter().map(|s| s.as_raw_fd()).collect();
        fds.sort_unstable();
        fds.dedup();
        assert_eq!(fds.len(), socks.len(), "{kind}");
        let _l = listen_in(&net, 18202);
        let udp = net.udp_socket(false).expect("a UDP socket");
        assert_eq!(
            sockopt(udp.as_raw_fd(), libc::SO_TYPE),
            libc::SOCK_DGRAM,
            "{kind}"
        );
        let v6 = net.socket(true).expect("an IPv6 socket too");
        assert_eq!(
            sockopt(v6.as_raw_fd(), libc::SO_DOMAIN),
            libc::AF_INET6,
            "{kind}"
        );
        assert_eq!(
            sockopt(v6.as_raw_fd(), libc::SO_TYPE),
            libc::SOCK_STREAM,
            "{kind}"
        );
    }
}

#[test]
fn root_holds_the_namespace_without_a_process_and_its_threads_come_back() {
    if !root() {
        eprintln!("skipped: only root holds a pod network by fd alone");
        return;
    }
    let own = || std::fs::read_link("/proc/thread-self/ns/net").expect("own netns");
    let before = own();
    let Ok(net) = PodNetwork::create() else {
        eprintln!("skipped: network namespaces unavailable here");
        return;
    };
    assert!(matches!(net.holder, Holder::Fd), "{:?}", net.holder);
    assert_eq!(
        own(),
        before,
        "creating the pod's namespace left this thread in it"
    );
    let s = net.socket(false).expect("socket");
    let u = net.udp_socket(true).expect("udp socket");
    assert_eq!(
        own(),
        before,
        "making a socket left this thread in the pod's namespace"
    );
    // The sockets are the pod's: bound to the same port as a host socket, no conflict.
    let host = std::net::UdpSocket::bind("[::1]:0").expect("host udp");
    let port = host.local_addr().expect("addr").port();
    let sin6 = libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: port.to_be(),
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: std::net::Ipv6Addr::LOCALHOST.octets(),
        },
        sin6_scope_id: 0,
    };
    // SAFETY: a valid sockaddr_in6 for a valid fd.
    let rc = unsafe {
        libc::bind(
            u.as_raw_fd(),
            (&sin6 as *const libc::sockaddr_in6).cast(),
            std::mem::size_of_val(&sin6) as u32,
        )
    };
    assert_eq!(
        rc,
        0,
        "the pod's [::1]:{port} is free: {}",
        io::Error::last_os_error()
    );
    drop(s);
}

#[test]
fn a_pod_namespace_has_lo_up_its_alias_and_no_privileged_ports() {
    for (kind, net) in every_kind() {
        let limit = run_in(
            &net,
            &["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"],
        );
        assert_eq!(limit, "0", "{kind}");
        // lo is up (127.0.0.1 can be bound) and carries the alias getaddrinfo needs.
        let s = net.udp_socket(false).expect("udp socket");
        let bound = bind_v4(s.as_raw_fd(), [127, 0, 0, 1], 0);
        assert!(bound.is_ok(), "{kind}: bind 127.0.0.1: {bound:?}");
        // SAFETY: ifreq is a plain C struct; SIOCGIFADDR fills its address.
        let alias = unsafe {
            let mut ifr: libc::ifreq = std::mem::zeroed();
            for (i, b) in b"lo:1".iter().enumerate() {
                ifr.ifr_name[i] = *b as libc::c_char;
            }
            assert_eq!(
                libc::ioctl(s.as_raw_fd(), libc::SIOCGIFADDR, &mut ifr),
                0,
                "{kind}: lo:1"
            );
            let sin: libc::sockaddr_in = std::ptr::read_unaligned(
                (&ifr.ifr_ifru as *const libc::__c_anonymous_ifr_ifru).cast(),
            );
            sin.sin_addr.s_addr.to_ne_bytes()
        };
        assert_eq!(alias, ADDRCONFIG_ADDRESS, "{kind}");
    }
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
    let Ok(net) = PodNetwork::with_sandbox(!root(), None) else {
        eprintln!("skipped: a sandbox cannot be made here");
        return;
    };
    let state = |net: &PodNetwork| {
        let Holder::Sandbox(sandbox) = &net.holder else {
            panic!("asked for a sandbox, got {:?}", net.holder);
        };
        let ctl = sandbox.ctl.lock().expect("lock");
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
fn a_pod_has_its_own_hostname_and_the_runner_keeps_its_own() {
    let own = || std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let before = own();
    let mut kinds = Vec::new();
    match PodNetwork::for_pod("web-0") {
        Ok(n) => kinds.push(("the default holder", n)),
        Err(e) => {
            eprintln!("skipped: namespaces unavailable here: {e}");
            return;
        }
    }
    if root() {
        kinds.push((
            "a sandbox process",
            PodNetwork::with_sandbox(false, Some("web-1")).expect("sandbox"),
        ));
    }
    for (i, (kind, net)) in kinds.iter().enumerate() {
        assert_eq!(run_in(net, &["hostname"]), format!("web-{i}"), "{kind}");
        assert_eq!(own(), before, "{kind}: the runner's hostname changed");
    }
    // Without a pod's hostname, a process keeps the machine's.
    if let Ok(net) = PodNetwork::create() {
        assert_eq!(run_in(&net, &["hostname"]), before.trim());
    }
}

#[test]
fn a_process_that_joins_runs_in_the_pod_namespace() {
    for (kind, net) in every_kind() {
        let want =
            std::fs::read_link(format!("/proc/self/fd/{}", net.ns_fds().net)).expect("ns link");
        let got = run_in(&net, &["readlink", "/proc/self/ns/net"]);
        assert_eq!(got, want.to_string_lossy(), "{kind}");
    }
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
