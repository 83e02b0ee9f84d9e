//! Pod status generation: container statuses, phase and conditions from the kubelet's pod
//! cache, by the rules of `generateAPIPodStatus` / `getPhase` / the status generators.

use crate::events::{Condition, ContainerState, ContainerStatus, Phase, PodStatus};
use std::collections::BTreeMap;

use crate::spec::model::{Container, ContainerRestartPolicy, PodReadinessGate, RestartPolicy};

use super::container::{ContainerKind, ContainerRecord, InstanceRecord};

/// What the status generator needs besides the containers.
#[derive(Debug, Clone, Copy)]
pub struct PodFlags<'a> {
    /// Pod restart policy.
    pub restart_policy: RestartPolicy,
    /// The sandbox exists and is ready.
    pub sandbox_ready: bool,
    /// The pod has a deletionTimestamp.
    pub deleting: bool,
    /// The pod is being torn down or has been (podIsTerminal).
    pub terminal: bool,
    /// A phase forced by a handler (active deadline): phase, reason, message.
    pub forced: Option<(Phase, &'a str, &'a str)>,
    /// The previously written phase (terminal phases are sticky).
    pub previous_phase: Option<Phase>,
    /// The pod's readiness gates.
    pub readiness_gates: &'a [PodReadinessGate],
    /// Conditions written by controllers, by type.
    pub gate_conditions: &'a BTreeMap<String, bool>,
}

/// Whether the kubelet would restart a container that exited with `exit_code`
/// (`ContainerShouldRestart`, ContainerRestartRules as in v1.35, for a pod that is not being
/// deleted): a sidecar always; a container with its own restartPolicy by the first of its
/// restartPolicyRules that matches the exit code, else by that policy; any other container
/// by the pod's restartPolicy.
pub fn should_restart(
    spec: &Container,
    kind: ContainerKind,
    pod: RestartPolicy,
    exit_code: i32,
) -> bool {
    if kind == ContainerKind::Sidecar {
        return true;
    }
    let policy = match spec.restart_policy {
        Some(own) => {
            if let Some(rule) = spec
                .restart_policy_rules
                .iter()
                .find(|r| r.matches(exit_code))
            {
                return rule.action == "Restart";
            }
            match own {
                ContainerRestartPolicy::Always => RestartPolicy::Always,
                ContainerRestartPolicy::OnFailure => RestartPolicy::OnFailure,
                ContainerRestartPolicy::Never => RestartPolicy::Never,
            }
        }
        None => pod,
    };
    match policy {
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => exit_code != 0,
        RestartPolicy::Never => false,
    }
}

/// Whether a container killed by its liveness or startup probe is started again in the
/// same sync ("…, will be restarted"): not when its policy (its own, else the pod's) is
/// Never; its rules then decide on the exit like any other.
pub fn restarts_after_probe_kill(
    spec: &Container,
    kind: ContainerKind,
    pod: RestartPolicy,
) -> bool {
    match (kind, spec.restart_policy) {
        (ContainerKind::Sidecar, _) => true,
        (_, Some(own)) => own != ContainerRestartPolicy::Never,
        (_, None) => pod != RestartPolicy::Never,
    }
}

fn terminated_state(r: &InstanceRecord) -> Option<ContainerState> {
    r.exit().map(|e| ContainerState::Terminated {
        exit_code: e.exit_code,
        signal: e.signal,
        reason: e.reason.clone(),
        message: e.message.clone(),
        started_at: r.started_at,
        finished_at: e.finished_at,
    })
}

/// One container's API status (`convertToAPIContainerStatuses`).
pub fn container_status(
    c: &ContainerRecord,
    pod_has_init: bool,
    flags: &PodFlags,
) -> ContainerStatus {
    let waiting_default = if pod_has_init {
        "PodInitializing"
    } else {
        "ContainerCreating"
    };
    let cached = c.start_failure.as_ref().map(|f| ContainerState::Waiting {
        reason: Some(f.reason.clone()),
        message: Some(f.message.clone()).filter(|m| !m.is_empty()),
    });
    let previous_exit = c.previous.as_ref().and_then(terminated_state);
    let (state, last_state) = match &c.current {
        None => (
            cached.unwrap_or(ContainerState::Waiting {
                reason: Some(waiting_default.to_owned()),
                message: None,
            }),
            None,
        ),
        Some(r) if r.is_running() => (
            ContainerState::Running {
                started_at: r.started_at,
            },
            previous_exit,
        ),
        Some(r) => {
            let exit_code = r.exit().map_or(0, |e| e.exit_code);
            let restart = !flags.deleting
                && !flags.terminal
                && should_restart(&c.spec, c.kind, flags.restart_policy, exit_code);
            match (restart, cached) {
                (true, Some(waiting)) => (waiting, terminated_state(r)),
                _ => (
                    terminated_state(r).unwrap_or(ContainerState::Waiting {
                        reason: None,
                        message: None,
                    }),
                    previous_exit,
                ),
            }
        }
    };
    ContainerStatus {
        name: c.name().to_owned(),
        state,
        last_state,
        ready: c.ready(),
        started: Some(c.started()),
        restart_count: c.current.as_ref().map_or(0, |r| r.restart_count),
        sidecar: c.kind == ContainerKind::Sidecar,
    }
}

/// Whether any regular container has been created (`HasAnyActiveRegularContainerStarted`).
pub fn any_regular_started(regular: &[ContainerRecord]) -> bool {
    regular.iter().any(|c| c.current.is_some())
}

/// The pod phase (`getPhase`, with ContainerRestartRules as in v1.35).
pub fn phase(init: &[ContainerRecord], regular: &[ContainerRecord], flags: &PodFlags) -> Phase {
    let initialized = any_regular_started(regular);
    let (mut init_pending, mut init_failed_final, mut sidecar_pending) = (0, 0, 0);
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    let mut may_restart = false;
    for c in init {
        match (c.kind, &c.current) {
            (ContainerKind::Sidecar, Some(r)) if r.is_running() => {
                running += 1;
                if !c.started() {
                    sidecar_pending += 1;
                }
            }
            (ContainerKind::Sidecar, None) => {
                sidecar_pending += 1;
                waiting += 1;
            }
            // A terminated sidecar (or one waiting after a termination) is ignored.
            (ContainerKind::Sidecar, Some(_)) => {}
            (_, None) => init_pending += 1,
            (_, Some(r)) => match r.exit() {
                None => init_pending += 1,
                Some(e) if e.exit_code == 0 && e.reason != "OOMKilled" => {}
                Some(e) => {
                    if !should_restart(&c.spec, c.kind, flags.restart_policy, e.exit_code) {
                        init_failed_final += 1;
                    } else {
                        // A failed init container that will be retried keeps the pod pending.
                        init_pending += 1;
                    }
                }
            },
        }
    }
    for c in regular {
        match &c.current {
            None => waiting += 1,
            Some(r) if r.is_running() => running += 1,
            Some(r) => {
                let code = r.exit().map_or(0, |e| e.exit_code);
                stopped += 1;
                if code == 0 {
                    succeeded += 1;
                }
                if should_restart(&c.spec, ContainerKind::Regular, flags.restart_policy, code) {
                    may_restart = true;
                }
            }
        }
    }
    if init_failed_final > 0 {
        return Phase::Failed;
    }
    if init_pending > 0 || (sidecar_pending > 0 && !initialized) || waiting > 0 {
        return Phase::Pending;
    }
    if running > 0 {
        return Phase::Running;
    }
    if stopped > 0 {
        if !flags.terminal && may_restart {
            return Phase::Running;
        }
        return if stopped == succeeded {
            Phase::Succeeded
        } else {
            Phase::Failed
        };
    }
    Phase::Pending
}

/// `GeneratePodReadyCondition`: with the containers ready, Ready also needs every readiness
/// gate's condition to be True; otherwise it is False with ReadinessGatesNotReady and one
/// message per unmet gate.
fn readiness_gated(ready: Condition, flags: &PodFlags) -> Condition {
    if !ready.status {
        return ready;
    }
    let unmet: Vec<String> = flags
        .readiness_gates
        .iter()
        .filter_map(|g| match flags.gate_conditions.get(&g.condition_type) {
            None => Some(format!(
                "corresponding condition of pod readiness gate {:?} does not exist.",
                g.condition_type
            )),
            Some(false) => Some(format!(
                "the status of pod readiness gate {:?} is not \"True\", but False",
                g.condition_type
            )),
            Some(true) => None,
        })
        .collect();
    if unmet.is_empty() {
        return ready;
    }
    Condition {
        reason: Some("ReadinessGatesNotReady".into()),
        message: Some(unmet.join(", ")),
        status: false,
        ..ready
    }
}

fn names_where<'a>(
    cs: impl Iterator<Item = &'a ContainerRecord>,
    pred: impl Fn(&ContainerRecord) -> bool,
) -> Vec<String> {
    cs.filter(|c| pred(c))
        .map(|c| c.name().to_owned())
        .collect()
}

fn cond(kind: &'static str, ok: bool, reason: Option<&str>, message: Option<String>) -> Condition {
    Condition {
        kind: kind.into(),
        status: ok,
        reason: reason.map(str::to_owned),
        message,
    }
}

/// Generates the full pod status.
pub fn pod_status(
    init: &[ContainerRecord],
    regular: &[ContainerRecord],
    flags: &PodFlags,
) -> PodStatus {
    let pod_has_init = !init.is_empty();
    let mut phase_now = phase(init, regular, flags);
    let (mut reason, mut message) = (None, None);
    if let Some((p, r, m)) = flags.forced {
        phase_now = p;
        reason = Some(r.to_owned());
        message = Some(m.to_owned());
    }
    if flags.terminal && !phase_now.is_terminal() {
        // TerminatePod: a pod whose containers are all stopped for good is moved to a
        // terminal phase; one that never got that far (still Pending) has failed.
        phase_now = Phase::Failed;
    }
    if let Some(prev) = flags.previous_phase.filter(|p| p.is_terminal()) {
        phase_now = prev;
    }
    let mut container_statuses: Vec<ContainerStatus> = regular
        .iter()
        .map(|c| container_status(c, pod_has_init, flags))
        .collect();
    // GeneratePodInitializedCondition asks HasAnyRegularContainerStarted of the API
    // statuses: a regular container counts once it shows running or terminated, so one
    // waiting in CrashLoopBackOff does not, and the init containers decide again.
    let regular_started = container_statuses
        .iter()
        .any(|cs| !matches!(cs.state, ContainerState::Waiting { .. }));
    let initialized = regular_started
        || phase_now == Phase::Succeeded
        || init.iter().all(|c| match c.kind {
            ContainerKind::Sidecar => c.started(),
            _ => c.ready(),
        });
    let incomplete = names_where(init.iter(), |c| match c.kind {
        ContainerKind::Sidecar => !c.started(),
        _ => !c.ready(),
    });
    let initialized_cond = if phase_now == Phase::Succeeded {
        cond("Initialized", true, Some("PodCompleted"), None)
    } else if initialized {
        cond("Initialized", true, None, None)
    } else {
        cond(
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            )),
        )
    };
    let unready = names_where(
        init.iter()
            .filter(|c| c.kind == ContainerKind::Sidecar)
            .chain(regular),
        |c| !c.ready(),
    );
    let ready_pair = |kind: &'static str| match phase_now {
        Phase::Succeeded => cond(kind, false, Some("PodCompleted"), None),
        Phase::Failed => cond(kind, false, Some("PodFailed"), None),
        _ if unready.is_empty() => cond(kind, true, None, None),
        _ => cond(
            kind,
            false,
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        ),
    };
    // Conditions the kubelet does not own come first, as generateAPIPodStatus copies them.
    let mut conditions: Vec<Condition> = flags
        .gate_conditions
        .iter()
        .map(|(k, v)| Condition {
            kind: k.clone().into(),
            status: *v,
            reason: None,
            message: None,
        })
        .collect();
    let containers_ready = ready_pair("ContainersReady");
    let ready = readiness_gated(ready_pair("Ready"), flags);
    conditions.extend([
        cond("PodReadyToStartContainers", flags.sandbox_ready, None, None),
        initialized_cond,
        ready,
        containers_ready,
        cond("PodScheduled", true, None, None),
    ]);
    container_statuses.sort_by(|a, b| a.name.cmp(&b.name));
    let mut init_container_statuses: Vec<ContainerStatus> = init
        .iter()
        .map(|c| container_status(c, pod_has_init, flags))
        .collect();
    // The status manager shares 12 KiB of termination messages among all containers.
    let cap = POD_MESSAGE_BUDGET / (init.len() + regular.len()).max(1);
    for cs in init_container_statuses
        .iter_mut()
        .chain(container_statuses.iter_mut())
    {
        for state in std::iter::once(&mut cs.state).chain(cs.last_state.as_mut()) {
            if let ContainerState::Terminated {
                message: Some(m), ..
            } = state
            {
                truncate_bytes(m, cap);
            }
        }
    }
    PodStatus {
        phase: phase_now,
        reason,
        message,
        conditions,
        init_container_statuses,
        container_statuses,
        deleting: flags.deleting,
    }
}

/// Bytes of termination messages a pod status may carry (`normalizeStatus`).
pub const POD_MESSAGE_BUDGET: usize = 12 * 1024;

/// Keeps the first `max` bytes of `s`, on a character boundary.
fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
