//! Container processes: spawn behind a shim (in a PID namespace of their own in pod mode),
//! capture output, report the exit, signal with container (PID 1) semantics, and sweep
//! anything left behind.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::oneshot;

use super::cgroup::ContainerCgroup;
use super::identity::Identity;
use super::logs::{LogBuffer, SharedLog};
use super::mounts::{MountError, MountPlan};
use super::shim::{self, PidNs, Placement, Role};

/// What to start.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The pod's namespaces to join before exec (pod mode).
    pub netns: Option<super::netns::PodNamespaces>,
    /// Run as PID 1 of a new PID namespace (pod mode); otherwise PID-1 signal semantics are
    /// emulated.
    pub pid_namespace: bool,
    /// The memory cgroup enforcing `resources.limits.memory`, where there is one.
    pub cgroup: Option<Arc<ContainerCgroup>>,
    /// Volumes and the termination log at their paths, in a private mount namespace.
    pub mounts: Option<Arc<MountPlan>>,
    /// The user and groups to run as (securityContext), when not podcheck's own.
    pub identity: Option<Arc<Identity>>,
}

/// Why a process could not be started; messages follow the container runtime's wording.
#[derive(Debug, Error)]
pub enum SpawnError {
    /// The executable does not exist.
    #[error("exec: \"{0}\": executable file not found in $PATH")]
    NotFound(String),
    /// The executable exists but cannot be run.
    #[error("exec: \"{0}\": permission denied")]
    PermissionDenied(String),
    /// The working directory is missing.
    #[error("chdir to cwd (\"{0}\") set in config.json failed: no such file or directory")]
    NoWorkingDir(String),
    /// No command at all.
    #[error("no command specified")]
    NoCommand,
    /// Setting up the container's mounts failed (the step is named).
    #[error("{0}")]
    Mount(#[source] MountError),
    /// Anything else the OS refused.
    #[error("failed to start the process: {0}")]
    Os(#[source] io::Error),
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessExit {
    /// Exit code; 128+N when killed by signal N (the container runtime's convention).
    pub exit_code: i32,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
}

/// A running container's main process, for signalling it and entering its namespaces.
#[derive(Debug)]
pub struct ContainerHandle {
    /// Host pid of the main process (PID 1 inside its PID namespace, if it has one).
    pub pid: i32,
    /// A pidfd, so a signal can never reach a recycled pid.
    pidfd: Option<OwnedFd>,
    /// The container's PID namespace, for execs to join.
    pidns: Option<OwnedFd>,
    /// The container's memory cgroup, which execs join too.
    cgroup: Option<Arc<ContainerCgroup>>,
    /// The container's mount namespace and root, when it has its own, for execs to enter.
    mnt: Option<(OwnedFd, OwnedFd)>,
    /// The identity the container runs as, which its execs take too.
    identity: Option<Arc<Identity>>,
}

impl ContainerHandle {
    fn new(
        pid: i32,
        pid_namespace: bool,
        cgroup: Option<Arc<ContainerCgroup>>,
        own_mounts: bool,
        identity: Option<Arc<Identity>>,
    ) -> Self {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = i32::try_from(raw)
            .ok()
            .filter(|fd| *fd >= 0)
            // SAFETY: a fresh descriptor from pidfd_open.
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
        let pidns = pid_namespace
            .then(|| std::fs::File::open(format!("/proc/{pid}/ns/pid")).ok())
            .flatten()
            .map(OwnedFd::from);
        let open = |what: &str| {
            std::fs::File::open(format!("/proc/{pid}/{what}"))
                .ok()
                .map(OwnedFd::from)
        };
        let mnt = if own_mounts {
            open("ns/mnt").zip(open("root"))
        } else {
            None
        };
        ContainerHandle {
            pid,
            pidfd,
            pidns,
            cgroup,
            mnt,
            identity,
        }
    }

    /// The identity the container runs as, when not podcheck's own.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_deref()
    }

    /// The container's mount namespace and root directory fds, when it has its own.
    pub fn mount_ns(&self) -> Option<(RawFd, RawFd)> {
        self.mnt
            .as_ref()
            .map(|(ns, root)| (ns.as_raw_fd(), root.as_raw_fd()))
    }

    /// The container's memory cgroup, if its memory limit is enforced.
    pub fn cgroup(&self) -> Option<&Arc<ContainerCgroup>> {
        self.cgroup.as_ref()
    }

    /// Whether the kernel's OOM killer fired in the container (the runtime's OOMKilled).
    pub fn oom_killed(&self) -> bool {
        self.cgroup.as_ref().is_some_and(|c| c.oom_kills() > 0)
    }

    /// The container's PID namespace fd, when it has its own.
    pub fn pidns(&self) -> Option<RawFd> {
        self.pidns.as_ref().map(AsRawFd::as_raw_fd)
    }

    fn signal(&self, sig: libc::c_int) -> bool {
        if let Some(fd) = &self.pidfd {
            // SAFETY: a valid pidfd, no siginfo, no flags.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    sig,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            return rc == 0;
        }
        // Real-time signals have no nix `Signal`; the raw call takes any number.
        // SAFETY: kill(2) with a pid and a signal number has no memory effects.
        unsafe { libc::kill(self.pid, sig) == 0 }
    }

    /// Sends the stop signal the way a container runtime reaches a container's PID 1.
    ///
    /// In a PID namespace the kernel itself drops a signal PID 1 has no handler for. Without
    /// one the main process is an ordinary process, which SIGTERM kills by default, so the
    /// kernel's rule is emulated: `sleep` or `sh -c` containers survive SIGTERM and wait
    /// for SIGKILL, as in a real pod. `sig` is SIGTERM unless the container has its own
    /// stopSignal. Returns whether the signal was sent.
    pub fn stop_signal(&self, sig: libc::c_int) -> bool {
        if self.pidns.is_none() && sig != libc::SIGKILL && !catches_signal(self.pid, sig) {
            return false;
        }
        self.signal(sig)
    }

    /// SIGKILLs the main process; its PID namespace (or its shim) takes everything else.
    pub fn kill(&self) {
        self.signal(libc::SIGKILL);
    }
}

impl Drop for ContainerHandle {
    fn drop(&mut self) {
        // Closing the last reference to a mount namespace unmounts its tree and waits for an
        // RCU grace period: milliseconds, far more on a loaded machine. On the runner's
        // thread that made every pod end wait for the previous one (ending 1,000 pods took
        // tens of seconds); closed on short-lived threads, pods ending together share the
        // kernel's grace periods. If no thread can be started they are closed here.
        let fds = (self.mnt.take(), self.pidns.take());
        if fds.0.is_none() && fds.1.is_none() {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("podcheck-close".into())
            .spawn(move || drop(fds));
    }
}

/// A started container process.
#[derive(Debug)]
pub struct ContainerProcess {
    /// The main process.
    pub handle: Arc<ContainerHandle>,
    /// Captured stdout and stderr.
    pub log: SharedLog,
    /// Resolves once the main process has exited and its shim has cleaned up.
    pub exited: oneshot::Receiver<ProcessExit>,
}

/// Where a process of a container starts before its mounts: its working directory when this
/// machine has it; `/` when the container has its own mount namespace, whose working
/// directory is entered there (a bind may be what makes it); None when it cannot start.
pub fn host_start_dir(cwd: &std::path::Path, own_mounts: bool) -> Option<&std::path::Path> {
    if cwd.is_dir() {
        Some(cwd)
    } else if own_mounts {
        Some(std::path::Path::new("/"))
    } else {
        None
    }
}

/// Starts a container process behind its shim, with captured output.
pub fn spawn(spec: &ProcessSpec) -> Result<ContainerProcess, SpawnError> {
    let program = spec.argv.first().ok_or(SpawnError::NoCommand)?;
    let host_cwd = host_start_dir(&spec.cwd, spec.mounts.is_some())
        .ok_or_else(|| SpawnError::NoWorkingDir(spec.cwd.display().to_string()))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(&spec.argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(host_cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let placement = Placement {
        userns: spec.netns.and_then(|n| n.user),
        netns: spec.netns.map(|n| n.net),
        uts: spec.netns.and_then(|n| n.uts),
        pid: if spec.pid_namespace {
            PidNs::New
        } else {
            PidNs::Host
        },
        role: Role::Container,
    };
    let (cgroup, mounts) = (spec.cgroup.clone(), spec.mounts.clone());
    let identity = spec.identity.clone();
    let setup = move || {
        // SAFETY: all run in the forked child before exec, as they require; the identity
        // comes last, as the others need root.
        unsafe {
            if let Some(cg) = &cgroup {
                cg.join_in_child()?;
            }
            if let Some(plan) = &mounts {
                plan.apply()?;
            }
            if let Some(id) = &identity {
                id.apply_in_child()?;
            }
        }
        Ok(())
    };
    // SAFETY: joining a cgroup and applying a mount plan use only raw system calls on memory
    // prepared before the fork; the placement fds are owned by the pod network, which
    // outlives this call.
    let main_pid = match shim::Exec::new(&spec.argv, &spec.env) {
        // SAFETY: as above; `exec` is exactly what `cmd` runs (the environment was cleared).
        Some(exec) => unsafe { shim::install_exec(&mut cmd, placement, exec, setup) },
        // A NUL byte: std's spawn refuses the command with its own error.
        None => unsafe { shim::install(&mut cmd, placement, setup) },
    }
    .map_err(SpawnError::Os)?;
    let mut child = tokio::process::Command::from(cmd).spawn().map_err(|e| {
        if let Some(m) = spec.mounts.as_ref().and_then(|p| p.explain(&e)) {
            return SpawnError::Mount(m);
        }
        match e.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound(program.clone()),
            io::ErrorKind::PermissionDenied => SpawnError::PermissionDenied(program.clone()),
            _ => SpawnError::Os(e),
        }
    })?;
    let pid = main_pid.read().map_err(SpawnError::Os)?;
    let handle = Arc::new(ContainerHandle::new(
        pid,
        spec.pid_namespace,
        spec.cgroup.clone(),
        spec.mounts.is_some(),
        spec.identity.clone(),
    ));
    let log: SharedLog = Arc::new(Mutex::new(LogBuffer::default()));
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(out, log.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(err, log.clone()));
    }
    let (tx, exited) = oneshot::channel();
    tokio::spawn(async move {
        // The shim leaves with the main process's status.
        let exit = match child.wait().await {
            Ok(st) => exit_of(st),
            // Waiting can only fail if the child was reaped elsewhere; report it as killed.
            Err(_) => ProcessExit {
                exit_code: 137,
                signal: Some(libc::SIGKILL),
            },
        };
        let _ = tx.send(exit);
    });
    Ok(ContainerProcess {
        handle,
        log,
        exited,
    })
}

/// A wait status as a container runtime reports it.
pub fn exit_of(st: std::process::ExitStatus) -> ProcessExit {
    match st.signal() {
        Some(sig) => ProcessExit {
            exit_code: 128 + sig,
            signal: Some(sig),
        },
        None => ProcessExit {
            exit_code: st.code().unwrap_or(255),
            signal: None,
        },
    }
}

async fn pump(mut r: impl AsyncRead + Unpin, log: SharedLog) {
    // Small: two of these live as long as each container, and a busy log just reads more often.
    let mut buf = vec![0u8; 2 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => match log.lock() {
                Ok(mut l) => l.push(&buf[..n]),
                Err(p) => p.into_inner().push(&buf[..n]),
            },
        }
    }
}

/// Kills the whole process group: what the end of a container's PID namespace does.
pub fn kill_group(pgid: i32) {
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
}

/// Whether `pid` has a handler installed for `sig` (from /proc/PID/status SigCgt).
pub fn catches_signal(pid: i32, sig: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|mask| mask & (1u64 << (sig - 1)) != 0)
}

/// SIGKILLs every live process whose environment has `key=value`; returns how many.
///
/// Processes that left their group (double-forked daemons) keep their environment, so this
/// catches what a process-group kill misses. Zombies are skipped: they are already dead.
pub fn kill_tagged(key: &str, value: &str) -> usize {
    let me = std::process::id();
    let mut killed = 0;
    for pid in tagged_pids(key, |v| v == value) {
        if pid as u32 != me && kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
            killed += 1;
        }
    }
    killed
}

/// One pod's request to the shared sweep: kill everything tagged `key=value`, then say how
/// many were killed.
struct SweepRequest {
    key: String,
    value: String,
    done: oneshot::Sender<usize>,
}

/// Requests waiting for the next /proc scan, and whether a sweeper thread is serving them.
static SWEEP: Mutex<(Vec<SweepRequest>, bool)> = Mutex::new((Vec::new(), false));

/// As [`kill_tagged`], but pods that end together share one /proc scan: a scan reads every
/// process's environment, so one per pod end made ending N pods O(N x processes). Every
/// request is served by a scan that starts after it was made, so when this returns each
/// process that carried the tag before the call has been sent SIGKILL, as with
/// [`kill_tagged`].
pub async fn kill_tagged_shared(key: &str, value: &str) -> usize {
    let (tx, rx) = oneshot::channel();
    let start_sweeper = {
        let mut q = SWEEP.lock().unwrap_or_else(|p| p.into_inner());
        q.0.push(SweepRequest {
            key: key.to_owned(),
            value: value.to_owned(),
            done: tx,
        });
        !std::mem::replace(&mut q.1, true)
    };
    if start_sweeper {
        let spawned = std::thread::Builder::new()
            .name("podcheck-sweep".into())
            .spawn(sweeper);
        if spawned.is_err() {
            // No thread: serve the queue here, synchronously, as kill_tagged would.
            sweeper();
        }
    }
    rx.await.unwrap_or(0)
}

/// Serves sweep requests until none is waiting: each round takes every waiting request and
/// serves them all with one scan.
fn sweeper() {
    loop {
        let batch = {
            let mut q = SWEEP.lock().unwrap_or_else(|p| p.into_inner());
            if q.0.is_empty() {
                q.1 = false;
                return;
            }
            std::mem::take(&mut q.0)
        };
        let me = std::process::id();
        let mut killed = vec![0usize; batch.len()];
        for_each_tagged(
            |kv| {
                batch.iter().position(|r| {
                    kv.strip_prefix(r.key.as_bytes())
                        .and_then(|rest| rest.strip_prefix(b"="))
                        .is_some_and(|v| v == r.value.as_bytes())
                })
            },
            |pid, i| {
                if pid as u32 != me && kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                    killed[i] += 1;
                }
            },
        );
        for (r, n) in batch.into_iter().zip(killed) {
            let _ = r.done.send(n);
        }
    }
}

/// SIGKILLs every live process whose `key` value starts with `prefix`.
pub fn kill_tagged_prefix(key: &str, prefix: &str) -> usize {
    let me = std::process::id();
    tagged_pids(key, |v| v.starts_with(prefix))
        .into_iter()
        .filter(|pid| *pid as u32 != me && kill(Pid::from_raw(*pid), Signal::SIGKILL).is_ok())
        .count()
}

/// Pids of live (non-zombie) processes with an environment variable `key` whose value
/// satisfies `accept`.
pub fn tagged_pids(key: &str, accept: impl Fn(&str) -> bool) -> Vec<i32> {
    let prefix = format!("{key}=");
    let mut out = Vec::new();
    for_each_tagged(
        |kv| {
            kv.strip_prefix(prefix.as_bytes())
                .and_then(|v| std::str::from_utf8(v).ok())
                .is_some_and(&accept)
                .then_some(())
        },
        |pid, ()| out.push(pid),
    );
    out
}

/// One /proc scan: for every live (non-zombie) process with an environment entry for which
/// `matches` gives `Some(m)` (the first such entry), calls `found(pid, m)`.
fn for_each_tagged<M>(matches: impl Fn(&[u8]) -> Option<M>, mut found: impl FnMut(i32, M)) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let Some(m) = env.split(|b| *b == 0).find_map(&matches) else {
            continue;
        };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if !zombie {
            found(pid, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv: &[&str]) -> ProcessSpec {
        ProcessSpec {
            netns: None,
            pid_namespace: false,
            cgroup: None,
            mounts: None,
            identity: None,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
            cwd: std::env::temp_dir(),
        }
    }

    #[tokio::test]
    async fn exit_codes_and_signals_map_like_a_container_runtime() {
        let p = spawn(&spec(&["sh", "-c", "echo hello; exit 3"])).unwrap();
        let exit = p.exited.await.unwrap();
        assert_eq!(
            exit,
            ProcessExit {
                exit_code: 3,
                signal: None
            }
        );
        let p = spawn(&spec(&["sh", "-c", "kill -KILL $$"])).unwrap();
        assert_eq!(p.exited.await.unwrap().exit_code, 137);
    }

    #[tokio::test]
    async fn missing_executable_is_not_found() {
        let err = spawn(&spec(&["/nonexistent/podcheck-x"])).unwrap_err();
        assert!(matches!(err, SpawnError::NotFound(_)), "{err}");
    }

    #[tokio::test]
    async fn sigterm_is_withheld_from_a_main_process_without_handler() {
        let p = spawn(&spec(&["sleep", "30"])).unwrap();
        // sleep installs no SIGTERM handler: as PID 1 it would not die of SIGTERM.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!p.handle.stop_signal(libc::SIGTERM));
        p.handle.kill();
        assert_eq!(p.exited.await.unwrap().signal, Some(libc::SIGKILL));
    }

    #[tokio::test]
    async fn the_shim_kills_a_double_forked_daemon_when_the_main_process_ends() {
        let mark = format!("shim-daemon-{}", std::process::id());
        let mut s = spec(&["sh", "-c", "(setsid sleep 300 &) ; sleep 0.2; exit 4"]);
        s.env.push(("LEAK_MARK".into(), mark.clone()));
        let p = spawn(&s).unwrap();
        let exit = p.exited.await.unwrap();
        assert_eq!(exit.exit_code, 4, "the shim mirrors the exit code");
        // The shim reports the exit only after its sweep, so nothing may be left.
        assert_eq!(tagged_pids("LEAK_MARK", |v| v == mark), Vec::<i32>::new());
    }

    #[tokio::test]
    async fn pods_ending_together_share_sweeps_and_each_gets_its_own_kills() {
        let base = format!("shared-sweep-{}", std::process::id());
        let tag = |i: usize| format!("{base}-{i}");
        let mut children = Vec::new();
        for i in 0..6 {
            // Plain children (no shim), so only the sweep can kill them.
            let c = std::process::Command::new("sleep")
                .arg("300")
                .env("LEAK_MARK", tag(i))
                .spawn()
                .unwrap();
            children.push(c);
        }
        // Five pods end at once; the sixth's process must survive their sweeps.
        let counts = futures_join(
            (0..5)
                .map(|i| {
                    let t = tag(i);
                    async move { kill_tagged_shared("LEAK_MARK", &t).await }
                })
                .collect(),
        )
        .await;
        assert_eq!(counts, vec![1; 5], "each request counts its own kill");
        for (i, child) in children.iter_mut().take(5).enumerate() {
            let st = child.wait().unwrap();
            assert_eq!(
                st.signal(),
                Some(libc::SIGKILL),
                "pod {i}'s process was killed"
            );
        }
        assert_eq!(
            tagged_pids("LEAK_MARK", |v| v == tag(5)).len(),
            1,
            "another pod's process is left alone"
        );
        assert_eq!(kill_tagged_shared("LEAK_MARK", &tag(5)).await, 1);
        assert_eq!(children[5].wait().unwrap().signal(), Some(libc::SIGKILL));
    }

    /// Awaits all futures concurrently on this task (no extra dependency).
    async fn futures_join<F: std::future::Future<Output = usize> + 'static>(
        fs: Vec<F>,
    ) -> Vec<usize> {
        let local = tokio::task::LocalSet::new();
        let mut handles = Vec::new();
        for f in fs {
            handles.push(local.spawn_local(f));
        }
        local
            .run_until(async {
                let mut out = Vec::new();
                for h in handles {
                    out.push(h.await.unwrap_or(usize::MAX));
                }
                out
            })
            .await
    }

    #[tokio::test]
    async fn the_main_pid_is_the_container_not_the_shim() {
        let p = spawn(&spec(&["sleep", "30"])).unwrap();
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", p.handle.pid)).unwrap();
        assert_eq!(comm.trim(), "sleep");
        p.handle.kill();
        assert_eq!(p.exited.await.unwrap().exit_code, 137);
    }

    fn nspid(pid: i32) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:").map(|v| v.trim().to_owned()))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn in_pod_mode_the_container_is_pid_1_and_the_kernel_withholds_sigterm() {
        let net = match super::super::netns::PodNetwork::create() {
            Ok(n) => n,
            Err(e) => {
                eprintln!("skipped: pod mode unavailable here: {e}");
                return;
            }
        };
        let mark = format!("pidns-daemon-{}", std::process::id());
        let mut s = spec(&["sh", "-c", "(setsid sleep 300 &); exec sleep 300"]);
        s.env.push(("LEAK_MARK".into(), mark.clone()));
        s.netns = Some(net.ns_fds());
        s.pid_namespace = true;
        let p = spawn(&s).unwrap();
        let ns = nspid(p.handle.pid);
        assert!(ns.ends_with("\t1"), "NSpid of the main process: {ns:?}");
        // sleep has no SIGTERM handler: the signal is sent, and the kernel drops it.
        assert!(p.handle.stop_signal(libc::SIGTERM));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            std::path::Path::new(&format!("/proc/{}", p.handle.pid)).exists(),
            "PID 1 without a handler survives SIGTERM"
        );
        p.handle.kill();
        assert_eq!(p.exited.await.unwrap().signal, Some(libc::SIGKILL));
        // The end of PID 1 ends its namespace, the double-forked daemon included.
        assert_eq!(tagged_pids("LEAK_MARK", |v| v == mark), Vec::<i32>::new());
    }
}
