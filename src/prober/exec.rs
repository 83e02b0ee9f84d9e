//! The exec probe and the exec lifecycle hook: what CRI `ExecSync` does inside the container
//! (kubelet/prober/prober.go, pkg/probe/exec/exec.go, cri-client `ExecSync`,
//! kubelet/lifecycle/handlers.go), done with a local process that gets the container's
//! environment and working directory.
//!
//! The command is run without a shell, in its own process group, stdin closed. Output is
//! stdout followed by stderr (not interleaved); the attempt ends when the command has exited
//! *and* both pipes are closed, as with containerd, so a background child that keeps a pipe
//! open holds the exec until its timeout. A guard SIGKILLs the whole process group when an
//! attempt times out or its future is dropped, so no probe process outlives its attempt.

use std::collections::HashMap;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use super::quote::{go_quote, go_quote_bytes};
use super::{ProbeContext, ProbeError, ProbeOutcome};
use crate::runtime::process::kill_group;
use crate::runtime::shim::{self, PidNs, Placement, Role};
use crate::spec::expansion::expand;
use crate::spec::model::ExecAction;

/// The exec prober keeps at most this much output (probe/exec/exec.go `maxReadLength`).
const MAX_PROBE_OUTPUT: usize = 10 * 1024;
/// A memory bound for hook output, which the kubelet does not truncate; container runtimes
/// cap ExecSync output at 16 MiB.
const MAX_HOOK_OUTPUT: usize = 16 * 1024 * 1024;
/// How long to wait for a SIGKILLed command to be reaped before leaving it to tokio.
const REAP_WAIT: Duration = Duration::from_secs(2);

/// Runs one exec probe attempt within `timeout`.
///
/// Exit 0 → success, anything else → failure; the output is the event text. A timeout is a
/// failure whose output is the current cri-client error (`command timed out: "<cmd>" timed
/// out after <t>`), as exec.go maps `ErrCommandTimedOut` since ExecProbeTimeout went GA.
///
/// A command that cannot be started is a [`ProbeError`] (errored → unknown, retried), not a
/// failure: under containerd, runc's start failure comes back from `ExecSync` as a gRPC
/// `Unknown` error rather than an exit code, and exec.go returns `probe.Unknown` with the
/// error for anything that is not an exit error or a timeout. (The 126/127 exit codes with
/// the message as output were dockershim's behaviour.)
pub async fn probe(
    a: &ExecAction,
    ctx: &ProbeContext,
    timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    // prober.go expands `$(VAR)` from the container spec's literal env only
    // (ExpandContainerCommandOnlyStatic): not from PATH, HOME or other runtime variables.
    let vars: HashMap<String, String> = ctx.spec_env.iter().cloned().collect();
    let argv: Vec<String> = a.command.iter().map(|c| expand(c, &vars)).collect();
    let mut run = Exec::start(&argv, ctx).map_err(ProbeError::unknown)?;
    let finished = tokio::time::timeout(timeout, run.collect(MAX_PROBE_OUTPUT)).await;
    match finished {
        Ok(Ok(done)) => {
            let mut output = done.stdout;
            output.extend_from_slice(&done.stderr);
            output.truncate(MAX_PROBE_OUTPUT);
            let text = String::from_utf8_lossy(&output).into_owned();
            Ok(if done.exit_code == 0 {
                ProbeOutcome::success(text)
            } else {
                ProbeOutcome::failure(text)
            })
        }
        Ok(Err(e)) => Err(ProbeError::unknown(format!(
            "rpc error: code = Unknown desc = failed to exec in container: {e}"
        ))),
        Err(_) => {
            run.kill().await;
            Ok(ProbeOutcome::failure(format!(
                "command timed out: {} timed out after {}",
                go_quote(&argv.join(" ")),
                ctx.timeout_display
            )))
        }
    }
}

/// Runs an exec lifecycle hook to completion: no timeout, the command verbatim (hooks get no
/// `$(VAR)` expansion). Dropping the future kills the command's process group.
///
/// On failure the error is the tail of the kubelet's detail message,
/// `<error>, message: "<output>"`; [`hook_failure_message`] adds the head. Background
/// processes a successful hook leaves running belong to the container (as in a real one).
pub async fn lifecycle_hook(a: &ExecAction, ctx: &ProbeContext) -> Result<(), String> {
    let argv = &a.command;
    let mut run = Exec::start(argv, ctx).map_err(|e| format!("{e}, message: \"\""))?;
    let done = run.collect(MAX_HOOK_OUTPUT).await.map_err(|e| {
        format!("rpc error: code = Unknown desc = failed to exec in container: {e}, message: \"\"")
    })?;
    run.guard.disarm();
    if done.exit_code == 0 {
        return Ok(());
    }
    // cri-client ExecSync: the error names the command, the exit code and stderr.
    let err = format!(
        "command '{}' exited with {}: {}",
        argv.join(" "),
        done.exit_code,
        String::from_utf8_lossy(&done.stderr)
    );
    let mut output = done.stdout;
    output.extend_from_slice(&done.stderr);
    Err(format!("{err}, message: {}", go_quote_bytes(&output)))
}

/// The kubelet's full exec-hook failure detail (handlers.go `Run`): `pod` is the kubelet's
/// pod format, `<name>_<namespace>(<uid>)`; `detail` is [`lifecycle_hook`]'s error.
pub fn hook_failure_message(
    command: &[String],
    container: &str,
    pod: &str,
    detail: &str,
) -> String {
    format!(
        "Exec lifecycle hook ([{}]) for Container {} in Pod {} failed - error: {detail}",
        command.join(" "),
        go_quote(container),
        go_quote(pod)
    )
}

/// How a command ended and what it printed.
struct Finished {
    exit_code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// SIGKILLs a process group when dropped, unless disarmed.
struct GroupGuard {
    pgid: Option<i32>,
}

impl GroupGuard {
    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        // After a normal exit the leader is already reaped; its number cannot be handed out
        // again while group members remain, and an empty group makes this a no-op (ESRCH).
        // Only a full pid wrap-around between the reap and this call could hit a stranger.
        if let Some(pgid) = self.pgid.take() {
            kill_group(pgid);
        }
    }
}

/// A started command. The guard is declared first so the group dies before the child
/// handle is dropped (tokio then reaps the leader in the background).
struct Exec {
    guard: GroupGuard,
    child: Child,
}

impl Exec {
    /// Spawns `argv` with the container's env and cwd; errors are the runtime's start-failure text.
    fn start(argv: &[String], ctx: &ProbeContext) -> Result<Exec, String> {
        let program = argv.first().map(String::as_str).unwrap_or("");
        let in_container_ns = ctx
            .container
            .as_ref()
            .is_some_and(|c| c.mount_ns().is_some());
        let host_cwd = crate::runtime::process::host_start_dir(&ctx.cwd, in_container_ns)
            .ok_or_else(|| {
                start_failure(&format!(
                    "chdir to cwd ({}) set in config.json failed: no such file or directory",
                    go_quote(&ctx.cwd.display().to_string())
                ))
            })?;
        let mut cmd = std::process::Command::new(program);
        cmd.args(argv.iter().skip(1))
            .env_clear()
            .envs(ctx.env.iter().map(|(k, v)| (k, v)))
            .current_dir(host_cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // An exec runs inside the container: the pod's network and the container's PID
        // namespace. Its shim guards it if podcheck dies.
        let ns = ctx.network.as_ref().map(|n| n.ns_fds());
        let placement = Placement {
            userns: ns.and_then(|n| n.user),
            netns: ns.map(|n| n.net),
            uts: ns.and_then(|n| n.uts),
            pid: match ctx.container.as_ref().and_then(|c| c.pidns()) {
                Some(fd) => PidNs::Join(fd),
                None => {
                    // Outside the container's PID namespace, nothing ends this exec's
                    // leftovers with the container: the pod's end must search for them.
                    if let Some(n) = &ctx.network {
                        n.note_host_pid_process();
                    }
                    PidNs::Host
                }
            },
            role: Role::Exec,
        };
        // An exec is charged to the container's memory cgroup and sees its mounts, as in a
        // real container.
        let container = ctx.container.clone();
        let cwd = std::ffi::CString::new(ctx.cwd.as_os_str().as_encoded_bytes())
            .map_err(|_| start_failure("the working directory contains a NUL byte"))?;
        let join = move || {
            let Some(c) = &container else {
                return Ok(());
            };
            // SAFETY: both run in the forked child before exec, as they require.
            unsafe {
                if let Some(cg) = c.cgroup() {
                    cg.join_in_child()?;
                }
                if let Some((ns, root)) = c.mount_ns() {
                    crate::runtime::mounts::enter(ns, root, &cwd)?;
                }
                // An exec runs as the container's user (the OCI process user of ExecSync).
                if let Some(id) = c.identity() {
                    id.apply_in_child()?;
                }
            }
            Ok(())
        };
        // SAFETY: joining a cgroup and a mount namespace are raw system calls on memory
        // prepared before the fork; the fds belong to the pod network and the container
        // handle in `ctx`, which outlive the spawn below.
        let main_pid = unsafe { shim::install(&mut cmd, placement, join) }
            .map_err(|e| start_failure(&e.to_string()))?;
        let mut cmd = Command::from(cmd);
        cmd.kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| start_failure(&exec_error(program, &e)))?;
        // Only the group matters to an exec; the pid report is just drained.
        drop(main_pid);
        // The pid is absent only once the child was reaped, which cannot have happened yet.
        let pgid = child.id().and_then(|p| i32::try_from(p).ok());
        Ok(Exec {
            guard: GroupGuard { pgid },
            child,
        })
    }

    /// Waits for the exit and for both pipes to close, keeping `cap` bytes of each stream.
    async fn collect(&mut self, cap: usize) -> io::Result<Finished> {
        let out = read_capped(self.child.stdout.take(), cap);
        let err = read_capped(self.child.stderr.take(), cap);
        let (status, stdout, stderr) = tokio::join!(self.child.wait(), out, err);
        let status = status?;
        // Killed by signal N → 128+N, as container runtimes report it.
        let exit_code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Ok(Finished {
            exit_code,
            stdout,
            stderr,
        })
    }

    /// SIGKILLs the group and reaps the leader (bounded), so nothing is left running.
    async fn kill(&mut self) {
        if let Some(pgid) = self.guard.pgid.take() {
            kill_group(pgid);
        }
        let _ = tokio::time::timeout(REAP_WAIT, self.child.wait()).await;
    }
}

/// Reads a pipe to its end, keeping the first `cap` bytes; a read error ends the stream.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return kept;
    };
    let mut buf = vec![0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    kept
}

/// Why runc could not start the command, in its words (Go's `exec.LookPath` errors).
fn exec_error(program: &str, e: &io::Error) -> String {
    let q = go_quote(program);
    let has_slash = program.contains('/');
    match e.kind() {
        io::ErrorKind::NotFound if has_slash => {
            format!("exec: {q}: stat {program}: no such file or directory")
        }
        io::ErrorKind::PermissionDenied if has_slash => format!("exec: {q}: permission denied"),
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
            format!("exec: {q}: executable file not found in $PATH")
        }
        _ => format!("exec: {q}: {}", super::tcp::errno_text(e)),
    }
}

/// The error containerd returns from ExecSync when runc cannot start the exec process.
fn start_failure(inner: &str) -> String {
    format!(
        "rpc error: code = Unknown desc = failed to exec in container: failed to start exec {}: \
         OCI runtime exec failed: exec failed: unable to start container process: {inner}: unknown",
        go_quote(&exec_id())
    )
}

/// A random 64-hex-digit id like containerd's exec ids.
fn exec_id() -> String {
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new();
    (0u8..4)
        .map(|i| format!("{:016x}", state.hash_one(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prober::ProbeResult;
    use crate::runtime::process::tagged_pids;

    fn ctx_with(extra: &[(&str, &str)]) -> ProbeContext {
        let mut env = vec![(
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        )];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ProbeContext {
            env,
            spec_env: extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..ProbeContext::for_test(Vec::new())
        }
    }

    fn sh(script: &str) -> ExecAction {
        ExecAction {
            command: vec!["sh".into(), "-c".into(), script.into()],
        }
    }

    fn unique_tag(name: &str) -> String {
        format!("{name}-{}-{}", std::process::id(), exec_id())
    }

    /// Waits (bounded) until no process carries the tag; returns the survivors.
    async fn survivors(tag: &str) -> Vec<i32> {
        for _ in 0..100 {
            let left = tagged_pids("PODCHECK_EXEC_TEST", |v| v == tag);
            if left.is_empty() {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tagged_pids("PODCHECK_EXEC_TEST", |v| v == tag)
    }

    #[tokio::test]
    async fn exit_code_decides_and_output_is_stdout_then_stderr() {
        let ctx = ctx_with(&[]);
        let ok = probe(&sh("echo ok"), &ctx, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(ok, ProbeOutcome::success("ok\n"));
        let script = "echo err >&2; sleep 0.05; echo out; exit 3";
        let bad = probe(&sh(script), &ctx, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(bad, ProbeOutcome::failure("out\nerr\n"));
        let silent = probe(&sh("exit 1"), &ctx, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(silent, ProbeOutcome::failure(""));
    }

    #[tokio::test]
    async fn env_expansion_cwd_and_no_inherited_env() {
        let ctx = ctx_with(&[("GREETING", "hi")]);
        let a = ExecAction {
            command: vec![
                "sh".into(),
                "-c".into(),
                "echo $(GREETING) \"${HOME:-nohome}\"; pwd".into(),
            ],
        };
        let out = probe(&a, &ctx, Duration::from_secs(5)).await.unwrap();
        let cwd = std::env::temp_dir().canonicalize().unwrap();
        assert_eq!(out.output, format!("hi nohome\n{}\n", cwd.display()));
        // PATH is in the container's environment but not in its spec: left as written.
        let a = ExecAction {
            command: vec!["echo".into(), "$(GREETING)".into(), "$(PATH)".into()],
        };
        let out = probe(&a, &ctx, Duration::from_secs(5)).await.unwrap();
        assert_eq!(out.output, "hi $(PATH)\n");
    }

    #[tokio::test]
    async fn output_is_capped_at_10_kib() {
        let ctx = ctx_with(&[]);
        let big = "head -c 20000 /dev/zero | tr '\\0' a";
        let out = probe(&sh(big), &ctx, Duration::from_secs(5)).await.unwrap();
        assert_eq!(out.output.len(), MAX_PROBE_OUTPUT);
        // 8000 bytes on each stream: all of stdout, then the first 2240 bytes of stderr.
        let split = "head -c 8000 /dev/zero | tr '\\0' o; head -c 8000 /dev/zero | tr '\\0' e >&2";
        let out = probe(&sh(split), &ctx, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(out.output.len(), MAX_PROBE_OUTPUT);
        assert_eq!(out.output.matches('o').count(), 8000);
        assert_eq!(out.output.matches('e').count(), 2240);
    }

    #[tokio::test]
    async fn timeout_is_a_failure_and_kills_the_group() {
        let tag = unique_tag("timeout");
        let ctx = ctx_with(&[("PODCHECK_EXEC_TEST", &tag)]);
        let a = sh("sleep 30 & sleep 30");
        let started = std::time::Instant::now();
        let out = probe(&a, &ctx, Duration::from_millis(300)).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            out,
            ProbeOutcome::failure(
                "command timed out: \"sh -c sleep 30 & sleep 30\" timed out after 1s"
            )
        );
        assert_eq!(survivors(&tag).await, Vec::<i32>::new());
    }

    #[tokio::test]
    async fn dropping_the_attempt_kills_the_group() {
        let tag = unique_tag("drop");
        let ctx = ctx_with(&[("PODCHECK_EXEC_TEST", &tag)]);
        let hook = ExecAction {
            command: vec!["sleep".into(), "30".into()],
        };
        tokio::select! {
            _ = lifecycle_hook(&hook, &ctx) => panic!("the hook cannot finish"),
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        assert_eq!(survivors(&tag).await, Vec::<i32>::new());
    }

    #[tokio::test]
    async fn missing_executable_is_a_runtime_error() {
        let ctx = ctx_with(&[]);
        let a = ExecAction {
            command: vec!["podcheck-no-such-binary".into()],
        };
        let err = probe(&a, &ctx, Duration::from_secs(1)).await.unwrap_err();
        // exec.go: an error that is neither an exit nor a timeout is `probe.Unknown`.
        assert_eq!(err.state(), "unknown");
        assert!(
            err.message.starts_with(
                "rpc error: code = Unknown desc = failed to exec in container: failed to start exec \""
            ),
            "{err}"
        );
        assert!(
            err.message.ends_with(
                "OCI runtime exec failed: exec failed: unable to start container process: \
                 exec: \"podcheck-no-such-binary\": executable file not found in $PATH: unknown"
            ),
            "{err}"
        );
        let a = ExecAction {
            command: vec!["/nonexistent/x".into()],
        };
        let err = probe(&a, &ctx, Duration::from_secs(1)).await.unwrap_err();
        assert!(
            err.message.contains(
                "exec: \"/nonexistent/x\": stat /nonexistent/x: no such file or directory"
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn hooks_succeed_or_report_the_kubelet_detail() {
        let ctx = ctx_with(&[]);
        assert_eq!(lifecycle_hook(&sh("true"), &ctx).await, Ok(()));
        let a = sh("echo out; echo bad >&2; exit 3");
        let err = lifecycle_hook(&a, &ctx).await.unwrap_err();
        assert_eq!(
            err,
            "command 'sh -c echo out; echo bad >&2; exit 3' exited with 3: bad\n, \
             message: \"out\\nbad\\n\""
        );
        assert_eq!(
            hook_failure_message(&a.command, "app", "web_default(uid-1)", &err),
            format!(
                "Exec lifecycle hook ([sh -c echo out; echo bad >&2; exit 3]) for Container \
                 \"app\" in Pod \"web_default(uid-1)\" failed - error: {err}"
            )
        );
        // No expansion in hooks: the literal text reaches the command.
        let lit = lifecycle_hook(
            &sh("test '$(X)' = '$''(X)' || exit 9"),
            &ctx_with(&[("X", "1")]),
        )
        .await;
        assert_eq!(lit, Ok(()));
    }

    #[tokio::test]
    async fn killed_by_signal_reports_128_plus_n() {
        let ctx = ctx_with(&[]);
        let err = lifecycle_hook(&sh("kill -KILL $$"), &ctx)
            .await
            .unwrap_err();
        assert!(
            err.starts_with("command 'sh -c kill -KILL $$' exited with 137: "),
            "{err}"
        );
        let out = probe(&sh("kill -TERM $$"), &ctx, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(out.result, ProbeResult::Failure);
    }
}
