//! Container processes: spawn in their own process group, capture output, report the exit,
//! signal with container (PID 1) semantics, and sweep anything left behind.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::oneshot;

use super::logs::{LogBuffer, SharedLog};

/// What to start.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Namespaces to join before exec: (user, net) of the pod sandbox.
    pub netns: Option<(Option<std::os::fd::RawFd>, std::os::fd::RawFd)>,
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

/// A started container process.
#[derive(Debug)]
pub struct ContainerProcess {
    /// Host pid of the main process; also its process group id.
    pub pid: i32,
    /// Captured stdout and stderr.
    pub log: SharedLog,
    /// Resolves once the main process has exited (and been reaped).
    pub exited: oneshot::Receiver<ProcessExit>,
}

/// Starts a process in a new process group with captured output.
pub fn spawn(spec: &ProcessSpec) -> Result<ContainerProcess, SpawnError> {
    let program = spec.argv.first().ok_or(SpawnError::NoCommand)?;
    if !spec.cwd.is_dir() {
        return Err(SpawnError::NoWorkingDir(spec.cwd.display().to_string()));
    }
    let mut cmd = std::process::Command::new(program);
    cmd.args(&spec.argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let ns = spec.netns;
    // SAFETY: the closure only calls prctl and setns, which are async-signal-safe and
    // allocate nothing.
    unsafe {
        cmd.pre_exec(move || {
            // A second line of defence if the runner dies without cleaning up: the kernel
            // kills the container when the spawning thread goes away.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(fds) = ns {
                super::netns::join(fds)?;
            }
            Ok(())
        });
    }
    let mut child = tokio::process::Command::from(cmd)
        .spawn()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound(program.clone()),
            io::ErrorKind::PermissionDenied => SpawnError::PermissionDenied(program.clone()),
            _ => SpawnError::Os(e),
        })?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| SpawnError::Os(io::Error::other("the child has no pid")))?;
    let log: SharedLog = Arc::new(Mutex::new(LogBuffer::default()));
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(out, log.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(err, log.clone()));
    }
    let (tx, exited) = oneshot::channel();
    tokio::spawn(async move {
        let exit = match child.wait().await {
            Ok(st) => match st.signal() {
                Some(sig) => ProcessExit {
                    exit_code: 128 + sig,
                    signal: Some(sig),
                },
                None => ProcessExit {
                    exit_code: st.code().unwrap_or(255),
                    signal: None,
                },
            },
            // Waiting can only fail if the child was reaped elsewhere; report it as killed.
            Err(_) => ProcessExit {
                exit_code: 137,
                signal: Some(libc::SIGKILL),
            },
        };
        let _ = tx.send(exit);
    });
    Ok(ContainerProcess { pid, log, exited })
}

async fn pump(mut r: impl AsyncRead + Unpin, log: SharedLog) {
    let mut buf = vec![0u8; 16 * 1024];
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

/// Sends the stop signal the way a container runtime would reach a container's PID 1.
///
/// Without a PID namespace the main process is an ordinary process, which SIGTERM kills by
/// default. In a real container it is PID 1, and the kernel drops signals PID 1 has no
/// handler for, so `sleep` or `sh -c` containers survive SIGTERM and wait for SIGKILL.
/// Returns whether the signal was delivered.
pub fn send_stop_signal(pid: i32) -> bool {
    if !catches_signal(pid, libc::SIGTERM) {
        return false;
    }
    kill(Pid::from_raw(pid), Signal::SIGTERM).is_ok()
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
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
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
        let tagged = env.split(|b| *b == 0).any(|kv| {
            kv.strip_prefix(prefix.as_bytes())
                .and_then(|v| std::str::from_utf8(v).ok())
                .is_some_and(&accept)
        });
        if !tagged {
            continue;
        }
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if !zombie {
            out.push(pid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv: &[&str]) -> ProcessSpec {
        ProcessSpec {
            netns: None,
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
        assert!(!send_stop_signal(p.pid));
        kill_group(p.pid);
        assert_eq!(p.exited.await.unwrap().signal, Some(libc::SIGKILL));
    }
}
