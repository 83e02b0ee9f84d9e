//! Lifecycle hooks (kubelet/lifecycle/handlers.go, kuberuntime_container.go): postStart
//! right after the start, holding the pod worker until it returns; preStop at the start of a
//! kill. Handlers: exec and httpGet (no timeout), sleep; tcpSocket always fails.

use std::time::Duration;

use crate::events::{EventType, ExecutionKind};
use crate::prober::{self, ProbeContext};
use crate::spec::model::LifecycleHandler;

use super::container::StartFailure;
use super::pod_worker::{BlockReason, Cid, Msg, SyncBlock, Worker};

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// After the container started.
    PostStart,
    /// Before the stop signal.
    PreStop,
}

/// How a hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult {
    /// It succeeded; with the LifecycleHTTPFallback event text when an HTTPS hook was
    /// retried over HTTP.
    Ok {
        /// The LifecycleHTTPFallback message.
        http_fallback: Option<String>,
    },
    /// It failed, with the detail the kubelet logs (not put in the event).
    Failed(String),
}

/// Runs one handler to its end; `scale` converts spec seconds to real ones for `sleep`;
/// `container` and `pod` (`name_namespace(uid)`) go into the failure detail.
pub async fn run_handler(
    handler: &LifecycleHandler,
    ctx: &ProbeContext,
    scale: f64,
    container: &str,
    pod: &str,
) -> HookResult {
    if let Some(e) = &handler.exec {
        return match prober::exec::lifecycle_hook(e, ctx).await {
            Ok(()) => HookResult::Ok {
                http_fallback: None,
            },
            Err(detail) => HookResult::Failed(prober::exec::hook_failure_message(
                &e.command, container, pod, &detail,
            )),
        };
    }
    if let Some(h) = &handler.http_get {
        return match prober::http::lifecycle_hook(h, ctx).await {
            Ok(o) => HookResult::Ok {
                http_fallback: o.fallback_message(),
            },
            Err(err) => {
                HookResult::Failed(prober::http::hook_failure_message(h, container, pod, &err))
            }
        };
    }
    if let Some(s) = &handler.sleep {
        let secs = u64::try_from(s.seconds).unwrap_or(0);
        tokio::time::sleep(crate::clock::mul(Duration::from_secs(secs), scale)).await;
        return HookResult::Ok {
            http_fallback: None,
        };
    }
    // The API accepts tcpSocket hooks for compatibility, but the kubelet cannot run them.
    HookResult::Failed("invalid handler: tcpSocket is not supported for lifecycle hooks".into())
}

impl HookKind {
    /// The field name: postStart or preStop.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::PostStart => "postStart",
            HookKind::PreStop => "preStop",
        }
    }
}

/// The handler's field name.
fn handler_name(h: &LifecycleHandler) -> &'static str {
    if h.exec.is_some() {
        "exec"
    } else if h.http_get.is_some() {
        "httpGet"
    } else if h.sleep.is_some() {
        "sleep"
    } else {
        "tcpSocket"
    }
}

impl Worker<'_> {
    /// Puts a finished hook on the timeline.
    fn record_hook(
        &mut self,
        cid: Cid,
        started: Duration,
        instance: u32,
        kind: HookKind,
        result: &HookResult,
    ) {
        let handler = self
            .rec(cid)
            .spec
            .lifecycle
            .as_ref()
            .and_then(|l| match kind {
                HookKind::PostStart => l.post_start.as_ref(),
                HookKind::PreStop => l.pre_stop.as_ref(),
            })
            .map_or("exec", handler_name);
        let (result, detail) = match result {
            HookResult::Ok { .. } => ("succeeded", None),
            HookResult::Failed(d) => ("failed", Some(d.clone())),
        };
        let duration = self.now().saturating_sub(started);
        self.push_execution(
            cid,
            instance,
            ExecutionKind::Hook {
                hook: kind.name(),
                handler,
                result,
                detail,
                duration,
            },
        );
    }

    /// Starts a hook in the background; its end arrives as `Msg::HookDone`.
    pub(super) fn start_hook(&mut self, cid: Cid, kind: HookKind, handler: LifecycleHandler) {
        // Hooks have no timeout, so the context's timeout text is never shown.
        let (Some(ctx), Some(live)) = (
            self.probe_context(cid, Duration::ZERO),
            self.truth.get(&cid).and_then(|t| t.live.as_ref()),
        ) else {
            return;
        };
        let instance = live.restart_count;
        let scale = self.clock.scale();
        let tx = self.tx.clone();
        let container = self.rec(cid).name().to_owned();
        let pod = self.pod_ref();
        let started = self.now();
        let task = tokio::spawn(async move {
            let result =
                prober::in_pod_network(&ctx, run_handler(&handler, &ctx, scale, &container, &pod))
                    .await;
            let _ = tx.send(Msg::HookDone {
                cid,
                started,
                instance,
                kind,
                result,
            });
        });
        if let Some(l) = self.truth_mut(cid).live.as_mut() {
            l.hook_abort = Some(task.abort_handle());
        }
    }

    /// Runs postStart after a start, if the container has one; the pod worker then waits
    /// for it (later containers start only after it returns).
    pub(super) fn maybe_post_start(&mut self, cid: Cid) {
        let handler = self
            .rec(cid)
            .spec
            .lifecycle
            .as_ref()
            .and_then(|l| l.post_start.clone());
        if let Some(h) = handler {
            self.sync_block = Some(SyncBlock {
                cid,
                reason: BlockReason::PostStart,
            });
            self.start_hook(cid, HookKind::PostStart, h);
        }
    }

    /// A hook ended.
    pub(super) fn hook_done(
        &mut self,
        cid: Cid,
        started: std::time::Duration,
        instance: u32,
        kind: HookKind,
        result: HookResult,
    ) {
        self.record_hook(cid, started, instance, kind, &result);
        let current = self
            .truth
            .get(&cid)
            .and_then(|t| t.live.as_ref())
            .map(|l| l.restart_count);
        if current != Some(instance) {
            if kind == HookKind::PostStart && self.sync_block.is_some_and(|b| b.cid == cid) {
                self.sync_block = None;
                self.sync();
                self.sync_returned();
            }
            return;
        }
        if let Some(l) = self.truth_mut(cid).live.as_mut() {
            l.hook_abort = None;
        }
        if let HookResult::Ok {
            http_fallback: Some(msg),
        } = &result
        {
            let msg = msg.clone();
            self.kubelet_event(EventType::Warning, "LifecycleHTTPFallback", msg, None);
        }
        match (kind, result) {
            (HookKind::PreStop, HookResult::Failed(_)) => {
                // The detail stays out of the event so hook output cannot leak secrets.
                self.kubelet_event(
                    EventType::Warning,
                    "FailedPreStopHook",
                    "PreStopHook failed",
                    Some(cid),
                );
                self.after_pre_stop(cid);
            }
            (HookKind::PreStop, HookResult::Ok { .. }) => self.after_pre_stop(cid),
            (HookKind::PostStart, HookResult::Ok { .. }) => {
                // startContainer returns and SyncPod goes on with the next containers.
                self.sync_block = None;
                self.sync();
                self.sync_returned();
            }
            (HookKind::PostStart, HookResult::Failed(detail)) => {
                self.kubelet_event(
                    EventType::Warning,
                    "FailedPostStartHook",
                    "PostStartHook failed",
                    Some(cid),
                );
                self.kubelet_event(
                    EventType::Normal,
                    "Killing",
                    "FailedPostStartHook",
                    Some(cid),
                );
                self.rec_mut(cid).start_failure = Some(StartFailure {
                    reason: "PostStartHookError".into(),
                    message: detail,
                });
                // startContainer kills synchronously with the pod's grace period; the worker
                // stays blocked until the container is gone.
                let grace = self.pod_grace();
                self.stop_container(cid, grace);
            }
        }
    }
}
