//! The per-process shim (containerd-shim's job, in miniature): every container process and
//! every exec runs as the child of a small shim forked inside `pre_exec`.
//!
//! The shim is what lets a container be PID 1 of its own PID namespace (`unshare` only
//! affects children, so someone must fork after it), and what keeps the no-leak promise:
//! - it watches a *lifeline* pipe whose write end only the runner holds, so when the runner
//!   dies in any way (SIGKILL included) the shim kills what it guards;
//! - without a PID namespace it is a child subreaper: double-forked daemons are reparented to
//!   it, and it SIGKILLs every descendant once the container's main process has ended, as the
//!   end of a PID namespace would;
//! - it mirrors the main process's exit (same code, or the same signal) so the runner's wait
//!   sees the container's status.
//!
//! Everything after the fork runs in a child of a multi-threaded process: raw system calls
//! on memory prepared before the fork, no allocation.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::sync::OnceLock;

mod vfork;

pub use vfork::Exec;
use vfork::vfork_main;

/// How long a shim runs before it gives back the runner's memory it inherited.
const RELEASE_AFTER_MS: libc::c_int = 50;

/// Which PID namespace the process runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidNs {
    /// The runner's own (no PID namespace).
    Host,
    /// A new one, with the process as its PID 1 (a container).
    New,
    /// An existing container's (an exec into it), by namespace fd.
    Join(RawFd),
}

/// What the shim does besides waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A container's main process: own process group, descendants killed when it ends.
    Container,
    /// An exec in a container: stays in the shim's process group (the caller kills the group);
    /// children it leaves behind live on, as they would inside the container.
    Exec,
}

/// Where and how the process is placed before exec.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// The pod's user namespace to join first (unprivileged pod mode).
    pub userns: Option<RawFd>,
    /// The pod's network namespace to join.
    pub netns: Option<RawFd>,
    /// The pod's UTS namespace (its hostname) to join.
    pub uts: Option<RawFd>,
    /// The PID namespace.
    pub pid: PidNs,
    /// Container or exec.
    pub role: Role,
}

/// Reads the main process's host pid once `spawn` has returned.
#[derive(Debug)]
pub struct MainPid {
    read: OwnedFd,
}

impl MainPid {
    /// The host pid of the process the shim forked (the container's PID 1).
    pub fn read(self) -> io::Result<i32> {
        let mut f = std::fs::File::from(self.read);
        let mut b = [0u8; 4];
        // The shim wrote it before closing its descriptors, and spawn() returned only after
        // that, so this does not block.
        f.read_exact(&mut b)?;
        Ok(i32::from_le_bytes(b))
    }
}

/// The read end of the runner's lifeline (the write end is held, unused, until the process
/// exits; it is close-on-exec, so no container inherits it).
fn lifeline() -> io::Result<RawFd> {
    static LIFELINE: OnceLock<Result<(OwnedFd, OwnedFd), i32>> = OnceLock::new();
    match LIFELINE.get_or_init(|| pipe().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))) {
        Ok((r, _w)) => Ok(r.as_raw_fd()),
        Err(code) => Err(io::Error::from_raw_os_error(*code)),
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 just returned these two fresh descriptors.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes `cmd` run behind a shim with `placement`; `extra` runs in the final child just
/// before exec (after the namespaces are joined), for cgroup and mount set-up.
///
/// # Safety
/// `extra` must be async-signal-safe: no allocation, raw system calls only. The fds in
/// `placement` must stay open until `spawn` returns.
pub unsafe fn install<F>(
    cmd: &mut std::process::Command,
    placement: Placement,
    extra: F,
) -> io::Result<MainPid>
where
    F: FnMut() -> io::Result<()> + Send + Sync + 'static,
{
    // SAFETY: forwarded from our caller.
    unsafe { install_inner(cmd, placement, None, extra) }
}

/// As [`install`], but the shim starts the main process with a vfork (`CLONE_VM |
/// CLONE_VFORK`) and the main process execs `exec` itself: no second copy of the runner's
/// page tables and no copy-on-write faults before the exec. `exec` must be what `cmd`
/// would run (its program, arguments and, after `env_clear`, its whole environment).
///
/// # Safety
/// As for [`install`].
pub unsafe fn install_exec<F>(
    cmd: &mut std::process::Command,
    placement: Placement,
    exec: Exec,
    extra: F,
) -> io::Result<MainPid>
where
    F: FnMut() -> io::Result<()> + Send + Sync + 'static,
{
    // SAFETY: forwarded from our caller.
    unsafe { install_inner(cmd, placement, Some(exec), extra) }
}

unsafe fn install_inner<F>(
    cmd: &mut std::process::Command,
    placement: Placement,
    exec: Option<Exec>,
    mut extra: F,
) -> io::Result<MainPid>
where
    F: FnMut() -> io::Result<()> + Send + Sync + 'static,
{
    let life = lifeline()?;
    let (report_r, report_w) = pipe()?;
    let report = report_w.as_raw_fd();
    // The write end must live in the parent until spawn() has forked; the closure holds it.
    let report_w = std::sync::Arc::new(report_w);
    let hold = report_w.clone();
    let nice = super::priority::container_nice();
    // SAFETY: the closure calls only async-signal-safe functions (see shim_main), and the
    // caller promises the same for `extra`.
    unsafe {
        cmd.pre_exec(move || {
            let _ = &hold;
            if let Some(n) = nice {
                // The runner's threads run raised (priority.rs); what it starts does not.
                libc::setpriority(libc::PRIO_PROCESS, 0, n);
            }
            enter(placement)?;
            let shim = libc::getpid();
            if placement.role == Role::Container {
                // Orphans of the container come to the shim rather than to the host's init.
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong);
            }
            let main = match &exec {
                Some(exec) => vfork_main(shim, placement.role, exec, &mut extra)?,
                None => {
                    let main = libc::fork();
                    if main < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    if main == 0 {
                        return become_main(shim, placement.role, &mut extra);
                    }
                    main
                }
            };
            // A caller that stopped listening must not kill the shim with SIGPIPE.
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            let b = main.to_le_bytes();
            libc::write(report, b.as_ptr().cast(), b.len());
            shim_main(main, life, placement.role)
        });
    }
    drop(report_w);
    Ok(MainPid { read: report_r })
}

/// The main process's own set-up, in the shim's child, before `extra` and the exec.
///
/// # Safety
/// Only in the shim's freshly created child.
unsafe fn become_main<F>(shim: libc::pid_t, role: Role, extra: &mut F) -> io::Result<()>
where
    F: FnMut() -> io::Result<()>,
{
    // SAFETY: raw system calls; `extra` is async-signal-safe by install's contract.
    unsafe {
        // The main process dies with its shim (the shim is single-threaded, so the
        // parent-thread caveat of PDEATHSIG does not apply).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        // (A parent in another PID namespace shows as 0.)
        let parent = libc::getppid();
        if parent != shim && parent != 0 {
            libc::_exit(137);
        }
        if role == Role::Container {
            // Its own group, so a container's `kill 0` cannot reach the shim.
            libc::setpgid(0, 0);
        }
    }
    extra()
}

/// A system call's 0 as Ok, anything else as the errno (allocation-free, for pre_exec).
pub(crate) fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Joins or creates the namespaces, in the order the kernel requires (user first).
///
/// # Safety
/// Only in a freshly forked, single-threaded child.
unsafe fn enter(p: Placement) -> io::Result<()> {
    // SAFETY: setns/unshare on fds the caller keeps open.
    unsafe {
        if let Some(fd) = p.userns {
            check(libc::setns(fd, libc::CLONE_NEWUSER))?;
        }
        if let Some(fd) = p.netns {
            check(libc::setns(fd, libc::CLONE_NEWNET))?;
        }
        if let Some(fd) = p.uts {
            check(libc::setns(fd, libc::CLONE_NEWUTS))?;
        }
        match p.pid {
            PidNs::Host => {}
            PidNs::New => check(libc::unshare(libc::CLONE_NEWPID))?,
            PidNs::Join(fd) => check(libc::setns(fd, libc::CLONE_NEWPID))?,
        }
    }
    Ok(())
}

/// The shim's life: wait for the main process (reaping adopted orphans as they die), clean
/// up, and leave with the main process's status. Never returns.
///
/// # Safety
/// Runs in a forked child of a multi-threaded process: async-signal-safe calls only.
#[inline(never)]
unsafe fn shim_main(main: libc::pid_t, lifeline: RawFd, role: Role) -> ! {
    let top = 0u8;
    // SAFETY: raw system calls on stack memory only.
    unsafe {
        // Keep only the lifeline: holding the container's pipes or std's exec-error pipe
        // would keep them from reaching EOF.
        let life = if libc::dup2(lifeline, 0) == 0 { 0 } else { -1 };
        close_from(1);
        // SIGCHLD becomes readable on a signalfd, so one poll waits for both the children
        // and the lifeline, with no timer.
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut mask);
        libc::sigaddset(&mut mask, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_BLOCK, &mask, std::ptr::null_mut());
        let sfd = libc::signalfd(-1, &mask, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        let mut status = None;
        // A shim that outlives RELEASE_AFTER_MS drops the runner's memory: without that it
        // would keep every page the runner writes after the fork (see `inherited`). A
        // short exec or container ends first and pays nothing for it.
        let mut released = false;
        loop {
            // A SIGCHLD that arrived before the mask was set is gone, but its zombie is not.
            status = status.or(reap(main));
            if status.is_some() {
                break;
            }
            let mut fds = [
                libc::pollfd {
                    fd: sfd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: life,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let wait_ms = if !released {
                RELEASE_AFTER_MS
            } else if sfd < 0 {
                100
            } else {
                -1
            };
            let n = libc::poll(fds.as_mut_ptr(), 2, wait_ms);
            if n == 0 && !released {
                super::inherited::release(std::ptr::addr_of!(top) as usize);
                released = true;
            }
            if n < 0 && *libc::__errno_location() != libc::EINTR {
                // Cannot wait: fall back to a slow poll rather than spin or leave.
                libc::usleep(100_000);
            }
            if fds[1].revents != 0 {
                // The runner is gone: nobody will ever collect this container.
                libc::kill(main, libc::SIGKILL);
                kill_descendants();
                libc::killpg(libc::getpgrp(), libc::SIGKILL);
                libc::_exit(137);
            }
            if fds[0].revents != 0 {
                let mut info = [0u8; 128];
                while libc::read(sfd, info.as_mut_ptr().cast(), info.len()) > 0 {}
            }
        }
        if role == Role::Container {
            kill_descendants();
        }
        mirror(status.unwrap_or(libc::SIGKILL))
    }
}

/// Closes every descriptor from `first` up: one close_range (Linux 5.9+), else one close per
/// possible descriptor up to the soft limit (capped), so older kernels are slow, not stuck.
///
/// # Safety
/// Only in a forked child that owns its descriptor table.
pub(crate) unsafe fn close_from(first: libc::c_uint) {
    // SAFETY: closing descriptors has no memory effects.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) == 0 {
            return;
        }
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(1 << 20) as libc::c_int
        } else {
            65_536
        };
        for fd in first as libc::c_int..max {
            libc::close(fd);
        }
    }
}

/// Reaps every child that has ended; returns the main process's wait status if it was one.
unsafe fn reap(main: libc::pid_t) -> Option<libc::c_int> {
    let mut found = None;
    // Bounded: each iteration reaps one zombie, and a process has finitely many children.
    for _ in 0..100_000 {
        let mut st = 0;
        // SAFETY: plain waitpid.
        let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
        if pid == main {
            found = Some(st);
        }
    }
    found
}

/// SIGKILLs every descendant: each round kills the shim's children, whose own children are
/// then reparented to the shim (a subreaper) for the next round. Not inlined, so its buffer
/// is below the frame `inherited::release` keeps.
#[inline(never)]
unsafe fn kill_descendants() {
    // SAFETY: raw system calls on stack buffers.
    unsafe {
        let me = libc::getpid();
        let mut path = [0u8; 64];
        children_path(me, &mut path);
        for _ in 0..64 {
            let _ = reap(0);
            let mut buf = [0u8; 4096];
            let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return;
            }
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            libc::close(fd);
            if n <= 0 {
                return;
            }
            let mut pid: libc::pid_t = 0;
            for &c in &buf[..n as usize] {
                if c.is_ascii_digit() {
                    pid = pid * 10 + libc::pid_t::from(c - b'0');
                } else if pid > 0 {
                    libc::kill(pid, libc::SIGKILL);
                    pid = 0;
                }
            }
            if pid > 0 {
                libc::kill(pid, libc::SIGKILL);
            }
            // Give the killed a moment to die so their children are reparented to us.
            libc::usleep(2_000);
        }
    }
}

/// Writes `/proc/<pid>/task/<pid>/children\0` into `out` without allocating.
fn children_path(pid: libc::pid_t, out: &mut [u8; 64]) -> usize {
    let mut digits = [0u8; 12];
    let mut n = 0;
    let mut v = pid.max(0) as u32;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut len = 0;
    let mut put = |s: &[u8], out: &mut [u8; 64]| {
        for &c in s {
            out[len] = c;
            len += 1;
        }
    };
    put(b"/proc/", out);
    for i in (0..n).rev() {
        put(&[digits[i]], out);
    }
    put(b"/task/", out);
    for i in (0..n).rev() {
        put(&[digits[i]], out);
    }
    put(b"/children\0", out);
    len
}

/// Leaves the way the main process did: the same exit code, or death by the same signal.
unsafe fn mirror(status: libc::c_int) -> ! {
    // SAFETY: raw system calls only.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            // No core file from the shim for a container that dumped core.
            let zero = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
            libc::signal(sig, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_path_is_built_without_allocation() {
        let mut out = [0u8; 64];
        let len = children_path(4321, &mut out);
        assert_eq!(&out[..len], b"/proc/4321/task/4321/children\0");
    }
}
