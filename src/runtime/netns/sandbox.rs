//! The holder of a pod's network namespace for an ordinary user: a forked sandbox process
//! that made a user namespace and the network namespace inside it, and hands the runner
//! sockets created there over a socket pair (SCM_RIGHTS, several at a time). A thread of a
//! multi-threaded process cannot enter a user namespace, so the runner cannot make those
//! sockets itself.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::time::Duration;

use super::NetnsError;
use super::setup::{bring_up, write_file};

/// How many TCP sockets one request to the sandbox brings back. A probe takes one and the
/// rest wait for the next probes. (An unconnected socket keeps nothing but its namespace;
/// a few per pod are cheap.)
pub(super) const TCP_BATCH: u8 = 4;
/// When a pod has this many spare sockets of a family left, the next batch is asked for
/// at once, and its reply is collected later without waiting. A blocking round trip to the
/// sandbox holds the runner's thread until the sandbox has been scheduled, which was most of
/// a probe's timing error at many pods; with the batch asked for ahead, a probe waits for
/// the sandbox only when a pod takes sockets faster than it answers (its first probe, or a
/// burst).
pub(super) const PREFETCH_AT: usize = 1;
/// The most sockets the sandbox sends in one message.
const MAX_BATCH: usize = 8;

/// A running sandbox and its control socket.
#[derive(Debug)]
pub(super) struct Sandbox {
    pub(super) pid: libc::pid_t,
    pub(super) ctl: Mutex<Ctl>,
}

/// The control socket to the sandbox, the TCP sockets it sent ahead (IPv4, IPv6), and the
/// requests it has not answered yet.
#[derive(Debug)]
pub(super) struct Ctl {
    sock: UnixStream,
    pub(super) spare: [Vec<OwnedFd>; 2],
    /// The kind byte of each request sent whose reply is unread, oldest first: the sandbox
    /// reads one two-byte request at a time and answers each with one message, in order.
    pub(super) pending: VecDeque<u8>,
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

/// A started sandbox and the fds of the namespaces it made.
pub(super) struct Started {
    pub(super) sandbox: Sandbox,
    pub(super) net: OwnedFd,
    pub(super) user: Option<OwnedFd>,
    pub(super) uts: Option<OwnedFd>,
}

impl Sandbox {
    /// Forks the sandbox; it makes a user namespace first when `userns` (an ordinary user),
    /// and a UTS namespace named `hostname` when one is given.
    pub(super) fn start(userns: bool, hostname: Option<&str>) -> Result<Started, NetnsError> {
        let spawn = |step| move |source| NetnsError::Spawn { step, source };
        let (ours, theirs) = UnixStream::pair().map_err(spawn("socketpair"))?;
        // SAFETY: plain getters.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
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
            unsafe {
                sandbox_main(
                    theirs_fd,
                    userns,
                    hostname.map(str::as_bytes),
                    &uid_map,
                    &gid_map,
                )
            }
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
        let user = if userns {
            Some(open("user").map_err(reap)?)
        } else {
            None
        };
        let uts = match hostname {
            Some(_) => Some(open("uts").map_err(reap)?),
            None => None,
        };
        let sandbox = Sandbox {
            pid,
            ctl: Mutex::new(Ctl {
                sock: ours,
                spare: [Vec::new(), Vec::new()],
                pending: VecDeque::new(),
            }),
        };
        Ok(Started {
            sandbox,
            net: netns,
            user,
            uts,
        })
    }

    /// An unconnected TCP socket from the sandbox.
    pub(super) fn socket(&self, v6: bool) -> io::Result<OwnedFd> {
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
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EIO))?;
        if ctl.spare[k].len() <= PREFETCH_AT && !ctl.pending.contains(&kind) {
            // Asked ahead: a failure here is met again, and reported, by the request that
            // needs those sockets.
            let _ = ctl.ask(kind, TCP_BATCH);
        }
        Ok(sock)
    }

    /// An unbound UDP socket from the sandbox.
    pub(super) fn udp_socket(&self, v6: bool) -> io::Result<OwnedFd> {
        let mut ctl = self.ctl.lock().unwrap_or_else(|p| p.into_inner());
        let kind = if v6 { b'U' } else { b'u' };
        let mut got = Vec::with_capacity(1);
        ctl.ask(kind, 1)?;
        ctl.wait_for(kind, &mut got)?;
        drop(ctl);
        got.pop()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EIO))
    }
}

impl Drop for Sandbox {
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

/// Most interrupted calls in a row [`retry_eintr`] retries before it gives up.
const EINTR_RETRIES: usize = 1000;

/// Runs `call` again while a signal interrupts it before it did anything. The control
/// socket has a receive timeout (SO_RCVTIMEO), and a call on a socket with a timeout is
/// never restarted after a signal handler, SA_RESTART or not (signal(7)), so every SIGCHLD
/// of a container ending would otherwise fail a probe's socket request with EINTR.
pub(super) fn retry_eintr<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut left = EINTR_RETRIES;
    loop {
        match call() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted && left > 0 => left -= 1,
            other => return other,
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
        let code = i32::from_le_bytes([msg[2], msg[3], msg[4], msg[5]]);
        return Err(NetnsError::at_step(
            usize::from(msg[1].saturating_sub(b'0')),
            io::Error::from_raw_os_error(code),
        ));
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
pub(super) unsafe fn recv_fds(
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
unsafe fn sandbox_main(
    ctl: RawFd,
    userns: bool,
    hostname: Option<&[u8]>,
    uid_map: &[u8],
    gid_map: &[u8],
) -> ! {
    let top = 0u8;
    // SAFETY: raw system calls on valid buffers; we never return.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        // Keep only the control socket: inherited pipes of other containers must not be
        // held open by the sandbox.
        if libc::dup2(ctl, 3) < 0 {
            libc::_exit(1);
        }
        crate::runtime::shim::close_from(4);
        let ctl = 3;
        let fail = |step: u8| -> ! {
            let c = (*libc::__errno_location()).to_le_bytes();
            let msg = [b'E', b'0' + step, c[0], c[1], c[2], c[3]];
            libc::write(ctl, msg.as_ptr().cast(), msg.len());
            libc::_exit(1)
        };
        // The UTS namespace comes with the others, owned by the same user namespace.
        let uts = if hostname.is_some() {
            libc::CLONE_NEWUTS
        } else {
            0
        };
        if userns {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET | uts) != 0 {
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
        } else if libc::unshare(libc::CLONE_NEWNET | uts) != 0 {
            fail(1);
        }
        if let Some(name) = hostname
            && libc::sethostname(name.as_ptr().cast(), name.len()) != 0
        {
            fail(7);
        }
        if !bring_up() {
            fail(5);
        }
        libc::write(ctl, b"R".as_ptr().cast(), 1);
        // The sandbox lives as long as the pod: drop the runner's pages it would otherwise
        // keep (see `inherited`), after the ready byte so the pod's start does not wait.
        // The maps above were the last heap data it read.
        crate::runtime::inherited::release(std::ptr::addr_of!(top) as usize);
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
