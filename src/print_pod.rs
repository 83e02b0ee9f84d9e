//! The READY, STATUS and RESTARTS cells kubectl prints for a pod (printers.go `printPod`),
//! computed from one status snapshot. Expectations (`expect.statuses`) and every report
//! read the same cells, so they live here, beside the timeline, not in `report/`.
//!
//! Timestamps in the API have one-second precision, so every "how long ago" here truncates
//! both instants to whole seconds first. That equals kubectl exactly when the pod was
//! created on a second boundary, which is the assumption podcheck makes for spec time 0.

use std::time::Duration;

use crate::events::{ContainerState, ContainerStatus, PodStatus};

/// kubectl's `HumanDuration`: about two significant figures, e.g. `59s`, `2m5s`, `3h`, `1y20d`.
pub fn human_duration(d: Duration) -> String {
    // kubectl prints "<invalid>" below -1s; podcheck's clock never runs backwards, so 0 is enough.
    let secs = d.as_secs();
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", secs % 60, "s");
    }
    if minutes < 3 * 60 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_remainder(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    if hours < 24 * 365 * 8 {
        return with_remainder(days / 365, "y", days % 365, "d");
    }
    format!("{}y", days / 365)
}

/// `"2m"` rather than `"2m0s"`: kubectl drops a zero second unit.
fn with_remainder(major: u64, major_unit: &str, minor: u64, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

/// Time from `then` to `now` as kubectl computes it from second-precision API timestamps.
pub fn since(now: Duration, then: Duration) -> Duration {
    Duration::from_secs(now.as_secs().saturating_sub(then.as_secs()))
}

/// The READY, STATUS and RESTARTS cells of one `kubectl get pods` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRow {
    /// e.g. `1/2`.
    pub ready: String,
    /// e.g. `Init:0/2`, `CrashLoopBackOff`, `Terminating`.
    pub status: String,
    /// e.g. `0` or `3 (12s ago)`.
    pub restarts: String,
}

/// The row for a pod status, counting READY's denominator from the statuses present.
///
/// kubectl counts the spec's containers; before the kubelet has written any container status
/// that gives `0/0` here where kubectl shows `0/N`. Use [`pod_row_with_total`] when the spec
/// is at hand.
pub fn pod_row(status: &PodStatus, now: Duration) -> PodRow {
    let sidecars = status
        .init_container_statuses
        .iter()
        .filter(|c| c.sidecar)
        .count();
    pod_row_with_total(status, now, status.container_statuses.len() + sidecars)
}

/// The row for a pod status with READY's denominator (regular containers plus sidecars) given.
pub fn pod_row_with_total(status: &PodStatus, now: Duration, total: usize) -> PodRow {
    let mut reason = match status.reason.as_deref() {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => status.phase.as_str().to_string(),
    };
    let gated = status
        .conditions
        .iter()
        .any(|c| c.kind == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"));
    if gated {
        reason = "SchedulingGated".to_string();
    }

    let mut ready = 0usize;
    let mut restarts = 0u64;
    let mut last_crash: Option<Duration> = None;
    let mut sidecar_restarts = 0u64;
    let mut sidecar_last_crash: Option<Duration> = None;
    let mut initializing = false;

    let init_count = status.init_container_statuses.len();
    for (i, c) in status.init_container_statuses.iter().enumerate() {
        // printPod stops summing at the container that blocks initialization (sidecars after
        // it are left out too), so the accumulation sits inside the walk.
        restarts += u64::from(c.restart_count);
        newest(&mut last_crash, last_finished(c));
        if c.sidecar {
            sidecar_restarts += u64::from(c.restart_count);
            newest(&mut sidecar_last_crash, last_finished(c));
        }
        match &c.state {
            ContainerState::Terminated { exit_code: 0, .. } => continue,
            _ if c.sidecar && c.started == Some(true) => {
                if c.ready {
                    ready += 1;
                }
                continue;
            }
            ContainerState::Terminated {
                reason: r,
                signal,
                exit_code,
                ..
            } => {
                reason = if !r.is_empty() {
                    format!("Init:{r}")
                } else if let Some(sig) = signal.filter(|s| *s != 0) {
                    format!("Init:Signal:{sig}")
                } else {
                    format!("Init:ExitCode:{exit_code}")
                };
            }
            ContainerState::Waiting {
                reason: Some(r), ..
            } if !r.is_empty() && r != "PodInitializing" => {
                reason = format!("Init:{r}");
            }
            _ => reason = format!("Init:{i}/{init_count}"),
        }
        initializing = true;
        break;
    }

    if !initializing || status.condition("Initialized") == Some(true) {
        // Once initialized, run-to-completion init containers no longer count towards RESTARTS.
        restarts = sidecar_restarts;
        last_crash = sidecar_last_crash;
        let mut has_running = false;
        // Walked last to first so that the alphabetically first container's reason wins.
        for c in status.container_statuses.iter().rev() {
            restarts += u64::from(c.restart_count);
            newest(&mut last_crash, last_finished(c));
            match &c.state {
                ContainerState::Waiting {
                    reason: Some(r), ..
                } if !r.is_empty() => {
                    reason = r.clone();
                }
                ContainerState::Terminated { reason: r, .. } if !r.is_empty() => {
                    reason = r.clone();
                }
                ContainerState::Terminated {
                    signal, exit_code, ..
                } => {
                    reason = match signal.filter(|s| *s != 0) {
                        Some(sig) => format!("Signal:{sig}"),
                        None => format!("ExitCode:{exit_code}"),
                    };
                }
                ContainerState::Running { .. } if c.ready => {
                    has_running = true;
                    ready += 1;
                }
                _ => {}
            }
        }
        if reason == "Completed" && has_running {
            reason = if status.condition("Ready") == Some(true) {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if status.deleting && status.reason.as_deref() == Some("NodeLost") {
        reason = "Unknown".to_string();
    } else if status.deleting && !status.phase.is_terminal() {
        reason = "Terminating".to_string();
    }

    let restarts = match last_crash {
        Some(at) if restarts != 0 => {
            format!("{restarts} ({} ago)", human_duration(since(now, at)))
        }
        _ => restarts.to_string(),
    };
    PodRow {
        ready: format!("{ready}/{total}"),
        status: reason,
        restarts,
    }
}

/// `lastState.terminated.finishedAt`, the only previous state printPod looks at.
fn last_finished(c: &ContainerStatus) -> Option<Duration> {
    match c.last_state {
        Some(ContainerState::Terminated { finished_at, .. }) => Some(finished_at),
        _ => None,
    }
}

/// Keeps the later of two optional instants (`None` sorts first, like Go's zero time).
fn newest(acc: &mut Option<Duration>, candidate: Option<Duration>) {
    *acc = (*acc).max(candidate);
}
