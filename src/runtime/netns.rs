//! A network namespace per pod (the pause container's job): one forked sandbox process
//! holds the namespace (inside a user namespace when not root), so the pod's containers
//! share a private localhost and two pods can both listen on the same port. Containers
//! and exec probes join it with `setns` before exec (see `shim`); TCP probes get their
//! sockets from the sandbox over a socket pair (SCM_RIGHTS), and so does the cluster DNS
//! for its UDP and TCP sockets, so the runner itself never changes namespace — that path
//! works for root and for ordinary users alike.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use thiserror::Error;

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

/// Steps the sandbox reports by number when one fails (no allocation after fork).
const STEPS: [(&str, &str); 6] = [
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
];

/// How many TCP sockets one request to the sandbox brings back. A probe takes one and the
/// rest wait for the next probes. (An unconnected socket keeps nothing but its namespace;
/// a few per pod are cheap.)
const TCP_BATCH: u8 = 4;
/// When a pod has this many spare sockets of a family left, the next batch is asked for
/// at once, and its reply is collected later without waiting. A blocking round trip to the
/// sandbox holds the runner's thread until the sandbox has been scheduled, which was most of
/// a probe's timing error at many pods; with the batch asked for ahead, a probe waits for
/// the sandbox only when a pod takes sockets faster than it answers (its first probe, or a
/// burst).
const PREFETCH_AT: usize = 1;
/// The most sockets the sandbox sends in one message.
const MAX_BATCH: usize = 8;

/// A pod's network namespace, held by a sandbox process.
#[derive(Debug)]
pub struct PodNetwork {
    pid: libc::pid_t,
    ctl: Mutex<Ctl>,
    netns: OwnedFd,
    userns: Option<OwnedFd>,
    /// Some process of the pod ran outside every container PID namespace (see
    /// [`PodNetwork::note_host_pid_process`]).
    host_pid: AtomicBool,
}

/// The control socket to the sandbox, the TCP sockets it sent ahead (IPv4, IPv6), and the
/// requests it has not answered yet.
#[derive(Debug)]
struct Ctl {
    sock: UnixStream,
    spare: [Vec<OwnedFd>; 2],
    /// The kind byte of each request sent whose reply is unread, oldest first: the sandbox
    /// reads one two-byte request at a time and answers each with one message, in order.
    pending: VecDeque<u8>,
}

/// The request byte for TCP sockets of a family, and the index of its spares.
fn tcp_kind(v6: bool) -> (u8, usize) {
    if v6 { (b'6', 1) } else { (b'4', 0) }
}

impl Ctl {
    /// Sends a request for `count` sockets of `kind` without waiting for the reply.
    fn ask(&mut self, kind: u8, count: u8) -> io::Result<()> {
        let msg = [kind, count];
        let fd = self.sock.as_raw_fd();
        // SAFETY: the buffer outlives the call.
        retry_eintr(|| unsafe {
            match libc::write(fd, msg.as_ptr().cast(), msg.len()) {
                n if n == msg.len() as isize => Ok(()),
                _ => Err(io::Error::last_os_error()),
            }
        })?;
        self.pending.push_back(kind);
        Ok(())
    }

    /// Reads the oldest pending reply, waiting for it when `wait`. Its TCP sockets go to
    /// the spares, UDP ones into `udp`. `Ok(None)`: nothing pending, or (not waiting)
    /// nothing arrived yet; `Ok(Some((kind, answer)))`: the reply was read, and `answer` is
    /// the sandbox's error if it sent no sockets. `Err`: the control socket itself failed.
    fn take_reply(
        &mut self,
        wait: bool,
        udp: &mut Vec<OwnedFd>,
    ) -> io::Result<Option<(u8, io::Result<()>)>> {
        let Some(&kind) = self.pending.front() else {
            return Ok(None);
        };
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        let mut got = Vec::new();
        let fd = self.sock.as_raw_fd();
        // SAFETY: a socket of ours, and recv_fds writes only into its own buffers.
        let answer = match retry_eintr(|| unsafe { recv_fds(fd, flags, &mut got) }) {
            Err(e) if !wait && e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            other => other?,
        };
        self.pending.pop_front();
        match kind {
            b'4' | b'6' => self.spare[tcp_kind(kind == b'6').1].extend(got),
            _ => udp.extend(got),
        }
        Ok(Some((kind, answer)))
    }

    /// Reads every pending reply that has arrived, without waiting. Failed answers are
    /// dropped: they were asked for ahead, and the next request for that kind meets its
    /// own answer.
    fn collect(&mut self) -> io::Result<()> {
        let mut udp = Vec::new();
        // Bounded: each pass takes one of the pending replies off the queue.
        while self.take_reply(false, &mut udp)?.is_some() {}
        Ok(())
    }

    /// Waits for replies until the one to a request of `kind` is read, and returns the
    /// sandbox's answer to it.
    fn wait_for(&mut self, kind: u8, udp: &mut Vec<OwnedFd>) -> io::Result<()> {
        // Bounded: each pass takes one of the pending replies off the queue, and one of
        // them is a request of `kind` (the caller made sure).
        loop {
            match self.take_reply(true, udp)? {
                None => return Err(io::Error::from_raw_os_error(libc::EIO)),
                Some((k, answer)) if k == kind => return answer,
                Some(_) => {}
            }
        }
    }
}

impl PodNetwork {
    /// Creates the namespace (and a user namespace when not root).
    pub fn create() -> Result<Self, NetnsError> {
        let spawn = |step| move |source| NetnsError::Spawn { step, source };
        let (ours, theirs) = UnixStream::pair().map_err(spawn("socketpair"))?;
        // SAFETY: plain getters.
        let (uid, gid, root) = unsafe { (libc::getuid(), libc::getgid(), libc::geteuid() == 0) };
        // Everything the child writes is prepared before fork: it may not allocate.
        let uid_map = format!("{uid} {uid} 1\n").into_bytes();
        let gid_map = format!("{gid} {gid} 1\n").into_bytes();
        let theirs_fd = theirs.as_raw_fd();
        // SAFETY: the child runs only async-signal-safe system calls on memory prepared
        // before the fork and leaves with _exit; it never returns into Rust code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(spawn("fork")(io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: see above.
            unsafe { sandbox_main(theirs_fd, !root, &uid_map, &gid_map) }
        }
        drop(theirs);
        let reap = |e: NetnsError| {
            // SAFETY: our own child, not reaped anywhere else.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            e
        };
        let mut ours = ours;
        wait_ready(&mut ours).map_err(reap)?;
        // Only now do the namespace files name the sandbox's own namespaces.
        let open = |kind: &str| -> Result<OwnedFd, NetnsError> {
            std::fs::File::open(format!("/proc/{pid}/ns/{kind}"))
                .map(OwnedFd::from)
                .map_err(|source| NetnsError::Spawn {
                    step: "open the sandbox's namespace",
                    source,
                })
        };
        let netns = open("net").map_err(reap)?;
        let userns = if root {
            None
        } else {
            Some(open("user").map_err(reap)?)
        };
        Ok(PodNetwork {
            pid,
            ctl: Mutex::new(Ctl {
                sock: ours,
                spare: [Vec::new(), Vec::new()],
                pending: VecDeque::new(),
            }),
            netns,
            userns,
            host_pid: AtomicBool::new(false),
        })
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

    /// The namespace fds a process must `setns` into: (user, net).
    pub fn ns_fds(&self) -> (Option<RawFd>, RawFd) {
        (
            self.userns.as_ref().map(AsRawFd::as_raw_fd),
            self.netns.as_raw_fd(),
        )
    }

    /// An unconnected TCP socket inside the pod's network namespace.
    pub fn socket(&self, v6: bool) -> io::Result<std::net::TcpStream> {
        let mut ctl = self.ctl.lock().unwrap_or_else(|p| p.into_inner());
        let (kind, k) = tcp_kind(v6);
        ctl.collect()?;
        if ctl.spare[k].is_empty() {
            if !ctl.pending.contains(&kind) {
                ctl.ask(kind, TCP_BATCH)?;
            }
            // Bounded: ends at the first reply to a request of this kind.
            while ctl.spare[k].is_empty() {
                ctl.wait_for(kind, &mut Vec::new())?;
            }
        }
        let sock = ctl.spare[k]
            .pop()
            .map(std::net::TcpStream::from)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EIO))?;
        if ctl.spare[k].len() <= PREFETCH_AT && !ctl.pending.contains(&kind) {
            // Asked ahead: a failure here is met again, and reported, by the request that
            // needs those sockets.
            let _ = ctl.ask(kind, TCP_BATCH);
        }
        Ok(sock)
    }

    /// An unbound UDP socket inside the pod's network namespace (the cluster DNS binds
    /// its port 53 on one: the sandbox lifted the privileged-port limit there, so that
    /// works for an ordinary user too).
    pub fn udp_socket(&self, v6: bool) -> io::Result<std::net::UdpSocket> {
        let mut ctl = self.ctl.lock().unwrap_or_else(|p| p.into_inner());
        let kind = if v6 { b'U' } else { b'u' };
        let mut got = Vec::with_capacity(1);
        ctl.ask(kind, 1)?;
        ctl.wait_for(kind, &mut got)?;
        drop(ctl);
        got.pop()
            .map(std::net::UdpSocket::from)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EIO))
    }
}

/// Most interrupted calls in a row [`retry_eintr`] retries before it gives up.
const EINTR_RETRIES: usize = 1000;

/// Runs `call` again while a signal interrupts it before it did anything. The control
/// socket has a receive timeout (SO_RCVTIMEO), and a call on a socket with a timeout is
/// never restarted after a signal handler, SA_RESTART or not (signal(7)), so every SIGCHLD
/// of a container ending would otherwise fail a probe's socket request with EINTR.
fn retry_eintr<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut left = EINTR_RETRIES;
    loop {
        match call() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted && left > 0 => left -= 1,
            other => return other,
        }
    }
}

impl Drop for PodNetwork {
    fn drop(&mut self) {
        let pid = self.pid;
        // SAFETY: the pid is our own child, reaped (below) and nowhere else.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        // The reap waits until the sandbox has been scheduled to die, milliseconds on a
        // loaded machine; on the runner's thread every pod end waited for the one before.
        // A short-lived thread reaps it instead (here, if none can be started).
        let spawned = std::thread::Builder::new()
            .name("podcheck-reap".into())
            .spawn(move || reap(pid));
        if spawned.is_err() {
            reap(pid);
        }
    }
}

/// Waits for the (killed) sandbox `pid` to end.
fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: our own child, reaped only here.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

/// Waits for the sandbox's "ready" byte, or decodes the step and errno it failed at.
fn wait_ready(ctl: &mut UnixStream) -> Result<(), NetnsError> {
    let _ = ctl.set_read_timeout(Some(Duration::from_secs(10)));
    let mut msg = [0u8; 6];
    let mut got = 0;
    // Bounded: at most 6 bytes, each read has the timeout above, and interrupted reads are
    // retried a bounded number of times (retry_eintr).
    while got < msg.len() {
        match retry_eintr(|| ctl.read(&mut msg[got..])) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(source) => {
                return Err(NetnsError::Spawn {
                    step: "wait for the sandbox",
                    source,
                });
            }
        }
        if msg[0] == b'R' {
            return Ok(());
        }
    }
    if got == 6 && msg[0] == b'E' {
        let (step, hint) = STEPS
            .get(usize::from(msg[1].saturating_sub(b'0')))
            .copied()
            .unwrap_or(("set up the namespaces", ""));
        let code = i32::from_le_bytes([msg[2], msg[3], msg[4], msg[5]]);
        return Err(NetnsError::Sandbox {
            step,
            errno: io::Error::from_raw_os_error(code).to_string(),
            hint,
        });
    }
    Err(NetnsError::Sandbox {
        step: "start",
        errno: "the sandbox exited without a word".into(),
        hint: "",
    })
}

/// Receives the fds of one SCM_RIGHTS message into `out`; `flags` are recvmsg's
/// (`MSG_DONTWAIT` to not wait). The outer error is the socket's, the inner one the
/// sandbox's answer when it sent its errno instead of sockets.
unsafe fn recv_fds(
    sock: RawFd,
    flags: libc::c_int,
    out: &mut Vec<OwnedFd>,
) -> io::Result<io::Result<()>> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Room for MAX_BATCH descriptors after the header.
    let mut cbuf = [0u64; 2 + MAX_BATCH / 2];
    // SAFETY: msghdr points at live stack buffers.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
        match libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC | flags) {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n if n < 0 => return Err(io::Error::last_os_error()),
            _ => {}
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            let code = i32::from(byte[0]);
            return Ok(Err(io::Error::from_raw_os_error(if code == 0 {
                libc::EIO
            } else {
                code
            })));
        }
        let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
        let header = libc::CMSG_LEN(0) as usize;
        let n = ((*cmsg).cmsg_len as usize).saturating_sub(header) / std::mem::size_of::<RawFd>();
        for i in 0..n.min(MAX_BATCH) {
            let fd = std::ptr::read_unaligned(data.add(i));
            out.push(OwnedFd::from_raw_fd(fd));
        }
        Ok(Ok(()))
    }
}

/// The sandbox: enter the namespaces, bring lo up, then hand out sockets until the runner
/// goes away.
///
/// # Safety
/// Runs in a forked child of a multi-threaded process: async-signal-safe calls only.
#[inline(never)]
unsafe fn sandbox_main(ctl: RawFd, userns: bool, uid_map: &[u8], gid_map: &[u8]) -> ! {
    let top = 0u8;
    // SAFETY: raw system calls on valid buffers; we never return.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        // Keep only the control socket: inherited pipes of other containers must not be
        // held open by the sandbox.
        if libc::dup2(ctl, 3) < 0 {
            libc::_exit(1);
        }
        super::shim::close_from(4);
        let ctl = 3;
        let fail = |step: u8| -> ! {
            let c = (*libc::__errno_location()).to_le_bytes();
            let msg = [b'E', b'0' + step, c[0], c[1], c[2], c[3]];
            libc::write(ctl, msg.as_ptr().cast(), msg.len());
            libc::_exit(1)
        };
        if userns {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                fail(0);
            }
            if !write_file(c"/proc/self/setgroups", b"deny") {
                fail(2);
            }
            if !write_file(c"/proc/self/uid_map", uid_map) {
                fail(3);
            }
            if !write_file(c"/proc/self/gid_map", gid_map) {
                fail(4);
            }
        } else if libc::unshare(libc::CLONE_NEWNET) != 0 {
            fail(1);
        }
        if !lo_up() {
            fail(5);
        }
        // Best effort: without it the pod still works, only AI_ADDRCONFIG lookups fail.
        lo_alias(ADDRCONFIG_ADDRESS);
        // In a real pod any container may bind ports below 1024 (they usually run as root);
        // here an ordinary user's containers keep their uid, so lift the limit in this
        // namespace only. Best effort: kernels before 4.11 have no such setting.
        write_file(c"/proc/sys/net/ipv4/ip_unprivileged_port_start", b"0");
        libc::write(ctl, b"R".as_ptr().cast(), 1);
        // The sandbox lives as long as the pod: drop the runner's pages it would otherwise
        // keep (see `inherited`), after the ready byte so the pod's start does not wait.
        // The maps above were the last heap data it read.
        super::inherited::release(std::ptr::addr_of!(top) as usize);
        let mut req = [0u8; 2];
        loop {
            // A request is two bytes, written at once: the kind and how many.
            let mut got = 0;
            while got < 2 {
                let n = libc::read(ctl, req[got..].as_mut_ptr().cast(), 2 - got);
                if n <= 0 {
                    libc::_exit(0);
                }
                got += n as usize;
            }
            // '4'/'6': TCP, 'u'/'U': UDP, over IPv4/IPv6.
            let (family, kind) = match req[0] {
                b'6' => (libc::AF_INET6, libc::SOCK_STREAM),
                b'u' => (libc::AF_INET, libc::SOCK_DGRAM),
                b'U' => (libc::AF_INET6, libc::SOCK_DGRAM),
                _ => (libc::AF_INET, libc::SOCK_STREAM),
            };
            let mut fds = [-1; MAX_BATCH];
            let mut n = 0;
            while n < usize::from(req[1]).clamp(1, MAX_BATCH) {
                let fd = libc::socket(family, kind | libc::SOCK_CLOEXEC, 0);
                if fd < 0 {
                    break;
                }
                fds[n] = fd;
                n += 1;
            }
            send_fds(ctl, &fds[..n]);
            for &fd in &fds[..n] {
                libc::close(fd);
            }
        }
    }
}

unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> bool {
    // SAFETY: valid path and buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let ok = libc::write(fd, data.as_ptr().cast(), data.len()) == data.len() as isize;
        libc::close(fd);
        ok
    }
}

/// An address the sandbox adds to `lo` (as `lo:1`, /32) besides 127.0.0.1. A pod in a
/// cluster has an `eth0` with its pod IP; here it has only loopback, and glibc's
/// `getaddrinfo` with `AI_ADDRCONFIG` (check_pf.c counts every IPv4 address but 127.0.0.1)
/// would then find no configured IPv4 address and resolve nothing, Service names included.
/// It is the cluster DNS's address (`cluster::addresses::CLUSTER_DNS_IP`), which every pod
/// namespace reaches on loopback anyway.
pub const ADDRCONFIG_ADDRESS: [u8; 4] = [127, 96, 0, 10];

/// Adds `addr`/32 to `lo` as the alias `lo:1` (SIOCSIFADDR, SIOCSIFNETMASK).
unsafe fn lo_alias(addr: [u8; 4]) -> bool {
    // SAFETY: ifreq and sockaddr_in are plain C structs on the stack.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return false;
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo:1".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        let set = |ifr: &mut libc::ifreq, a: [u8; 4]| {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a),
                },
                sin_zero: [0; 8],
            };
            std::ptr::write_unaligned(
                (&mut ifr.ifr_ifru as *mut libc::__c_anonymous_ifr_ifru)
                    .cast::<libc::sockaddr_in>(),
                sin,
            );
        };
        set(&mut ifr, addr);
        let mut ok = libc::ioctl(s, libc::SIOCSIFADDR, &ifr) == 0;
        if ok {
            set(&mut ifr, [255, 255, 255, 255]);
            ok = libc::ioctl(s, libc::SIOCSIFNETMASK, &ifr) == 0;
        }
        libc::close(s);
        ok
    }
}

/// Sets IFF_UP on `lo` through an AF_INET datagram socket (no `ip` binary needed).
unsafe fn lo_up() -> bool {
    // SAFETY: ifreq is a plain C struct on the stack.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return false;
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        ifr.ifr_name[0] = b'l' as libc::c_char;
        ifr.ifr_name[1] = b'o' as libc::c_char;
        let ok = libc::ioctl(s, libc::SIOCGIFFLAGS, &mut ifr) == 0 && {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(s, libc::SIOCSIFFLAGS, &ifr) == 0
        };
        libc::close(s);
        ok
    }
}

/// Sends `fds` in one message (or, if there are none, the errno as the data byte) over
/// `sock`.
unsafe fn send_fds(sock: RawFd, fds: &[RawFd]) {
    // SAFETY: stack buffers only.
    unsafe {
        // Without an fd the data byte carries the errno of the failed socket().
        let mut byte = [if !fds.is_empty() {
            0
        } else {
            (*libc::__errno_location()).clamp(1, 255) as u8
        }];
        let mut cbuf = [0u64; 2 + MAX_BATCH / 2];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            let n = fds.len().min(MAX_BATCH);
            let bytes = (n * std::mem::size_of::<RawFd>()) as u32;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(bytes) as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(bytes) as _;
            let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
            for (i, &fd) in fds[..n].iter().enumerate() {
                std::ptr::write_unaligned(data.add(i), fd);
            }
        }
        libc::sendmsg(sock, &msg, 0);
    }
}

#[cfg(test)]
mod tests;
