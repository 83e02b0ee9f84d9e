//! Tests of the state, condition and log checks on hand-made timelines.

use std::time::Duration;

use crate::events::{
    Condition, ContainerState, ContainerStatus, Entry, Event, EventType, Phase, PodStatus, Timeline,
};
use crate::kubelet::pod_worker::InstanceLog;

use super::check::check;
use super::model::Expectations;

pub(super) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

pub(super) fn running(started: f64) -> ContainerState {
    ContainerState::Running {
        started_at: secs(started),
    }
}

pub(super) fn exited(code: i32, started: f64, finished: f64) -> ContainerState {
    ContainerState::Terminated {
        exit_code: code,
        signal: None,
        reason: if code == 0 { "Completed" } else { "Error" }.into(),
        message: None,
        started_at: secs(started),
        finished_at: secs(finished),
    }
}

pub(super) fn app(state: ContainerState, last: Option<ContainerState>, restarts: u32) -> PodStatus {
    let ready = matches!(state, ContainerState::Running { .. });
    let ready_cond = if ready {
        Condition {
            kind: "Ready".into(),
            status: true,
            reason: None,
            message: None,
        }
    } else {
        Condition {
            kind: "Ready".into(),
            status: false,
            reason: Some("ContainersNotReady".into()),
            message: Some("containers with unready status: [app]".into()),
        }
    };
    PodStatus {
        phase: Phase::Running,
        reason: None,
        message: None,
        conditions: vec![ready_cond],
        init_container_statuses: Vec::new(),
        container_statuses: vec![ContainerStatus {
            name: "app".into(),
            state,
            last_state: last,
            ready,
            started: Some(ready),
            restart_count: restarts,
            sidecar: false,
        }],
        deleting: false,
    }
}

pub(super) fn killing(at: f64) -> Entry {
    Entry::Event(Event {
        at: secs(at),
        event_type: EventType::Normal,
        reason: "Killing".into(),
        message: "Stopping container app".into(),
        container: Some("app".into()),
        field_path: Some("spec.containers{app}".into()),
        source: "kubelet",
    })
}

pub(super) fn status(at: f64, s: PodStatus) -> Entry {
    Entry::Status {
        at: secs(at),
        status: Box::new(s),
    }
}

/// Started at 1 s, crashed at 3 s (exit 2), Killing event at 4 s, restarted at 5 s.
pub(super) fn crash_and_restart() -> Timeline {
    Timeline {
        entries: vec![
            status(1.0, app(running(1.0), None, 0)),
            status(3.0, app(exited(2, 1.0, 3.0), None, 0)),
            killing(4.0),
            status(5.0, app(running(5.0), Some(exited(2, 1.0, 3.0)), 1)),
        ],
    }
}

pub(super) fn exp(toml_text: &str) -> Result<Expectations, String> {
    toml::from_str(toml_text).map_err(|e| e.to_string())
}

/// Whether the run may stop now because everything held for good.
fn passes(e: &Expectations, t: &Timeline, now: Duration) -> bool {
    super::decide(e, t, now) == super::Decision::Passed
}

fn failures(e: &Expectations, t: &Timeline, logs: &[InstanceLog]) -> Vec<String> {
    check(e, t, logs, &|_| String::new()).failures
}

#[test]
fn ranges_on_numeric_fields_say_expected_and_observed() -> Result<(), String> {
    let t = crash_and_restart();
    let ok = exp(
        "[final]\ncontainers.app = { restartCount = { at_least = 1 }, lastExitCode = { at_least = 1, at_most = 2 } }",
    )?;
    assert_eq!(failures(&ok, &t, &[]), Vec::<String>::new());
    let bad =
        exp("[final]\ncontainers.app = { restartCount = { at_least = 2 }, lastExitCode = 1 }")?;
    assert_eq!(
        failures(&bad, &t, &[]),
        [
            "final.containers.app.restartCount: expected at least 2, observed 1",
            "final.containers.app.lastExitCode: expected 1, observed 2",
        ]
    );
    let at = exp("[[states]]\nat = \"3.5s\"\ncontainers.app = { exitCode = { at_most = 1 } }")?;
    assert_eq!(
        failures(&at, &t, &[]),
        ["states[0] at 3.5s: containers.app.exitCode: expected at most 1, observed 2"]
    );
    Ok(())
}

#[test]
fn conditions_check_status_reason_and_message() -> Result<(), String> {
    let t = crash_and_restart();
    let ok = exp(r#"[[states]]
at = "3s"
conditions.Ready = { status = "False", reason = "ContainersNotReady", message = "containers with unready status: [app]" }
[[states]]
at = "3s"
conditions.Ready = { message = { regex = '^containers with unready status: \[app\]$' } }
[final]
conditions.Ready = "True"
"#)?;
    assert_eq!(failures(&ok, &t, &[]), Vec::<String>::new());
    let bad = exp(r#"[final]
conditions.Ready = { status = true, reason = "PodCompleted", message = { contains = "[web]" } }
conditions.Initialized = false
"#)?;
    assert_eq!(
        failures(&bad, &t, &[]),
        // Initialized is absent, which counts as false, so it holds.
        [
            "final.conditions.Ready.reason: expected PodCompleted, observed <none>",
            "final.conditions.Ready.message: expected contains \"[web]\", observed \"\"",
        ]
    );
    Ok(())
}

#[test]
fn started_and_finished_at_are_windows_since_pod_creation() -> Result<(), String> {
    let t = crash_and_restart();
    let ok = exp(r#"[[states]]
at = "4s"
containers.app = { startedAt = "0.5s..1.5s", finishedAt = "2s..3s" }
[final]
containers.app = { startedAt = "4s..6s" }
"#)?;
    assert_eq!(failures(&ok, &t, &[]), Vec::<String>::new());
    let bad = exp("[final]\ncontainers.app = { startedAt = \"..2s\", finishedAt = \"5s..\" }")?;
    assert_eq!(
        failures(&bad, &t, &[]),
        [
            "final.containers.app.startedAt: expected within ..2s, observed 5s",
            "final.containers.app.finishedAt: expected within 5s.., observed <none>",
        ]
    );
    Ok(())
}

#[test]
fn windows_after_an_event_count_from_its_time() -> Result<(), String> {
    let t = crash_and_restart();
    // Killing at 4 s: running again within 0..2 s of it, and throughout 1 s.. of it.
    let ok = exp(r#"[[states]]
after_event = { reason = "Killing", container = "app" }
within = "0s..2s"
containers.app = { state = "running" }
[[states]]
after_event = { reason = "Killing" }
during = "1s.."
containers.app = { state = "running", restartCount = 1 }
[[states]]
after_event = { reason = "Killing" }
at = "0s"
containers.app = { state = "terminated" }
"#)?;
    assert_eq!(failures(&ok, &t, &[]), Vec::<String>::new());
    let bad = exp(r#"[[states]]
after_event = { reason = "Killing", container = "app" }
within = "0s..0.5s"
containers.app = { state = "running" }
[[states]]
after_event = { reason = "Killing", nth = 2 }
at = "0s"
phase = "Running"
[[states]]
after_event = { reason = "Killing" }
at = "1s"
containers.app = { state = "terminated" }
"#)?;
    assert_eq!(
        failures(&bad, &t, &[]),
        [
            "states[0] within 0s..500ms after Killing container=app (at 4s): never held; closest at 4s: containers.app.state: expected running, observed terminated",
            "states[1]: after_event: Killing was seen 1 time(s) (at 4s), but nth = 2 was asked for",
            "states[2] at 1s after Killing (at 4s), that is at 5s: containers.app.state: expected terminated, observed running",
        ]
    );
    Ok(())
}

fn log(restart: u32, text: &str) -> InstanceLog {
    InstanceLog {
        container: "app".into(),
        restart_count: restart,
        text: text.into(),
        line_times: Vec::new(),
    }
}

#[test]
fn log_lines_by_instance_window_and_absence() -> Result<(), String> {
    let t = crash_and_restart();
    let logs = [
        log(0, "booting\nready on 8080\nboom\n"),
        log(1, "booting\n"),
    ];
    let ok = exp(r#"[[logs]]
container = "app"
contains = "ready on"
[[logs]]
container = "app"
regex = '^ready on \d+$'
restart = 0
within = "0s..2s"
[[logs]]
container = "app"
contains = "boom"
restart = 1
absent = true
[[logs]]
container = "app"
contains = "ready"
within = "4s.."
absent = true
"#)?;
    assert_eq!(failures(&ok, &t, &logs), Vec::<String>::new());
    let bad = exp(r#"[[logs]]
container = "app"
contains = "ready"
within = "4s.."
[[logs]]
container = "app"
contains = "boom"
absent = true
"#)?;
    assert_eq!(
        failures(&bad, &t, &logs),
        [
            "logs[0]: expected a line of app containing \"ready\" (written within 4s..): not found in 1 instance(s) searched; instances of app: [restart 0 ran 1s..3s, restart 1 ran 5s..]; log tail of restart 1: \"booting\"",
            "logs[1]: expected no line of app containing \"boom\"; found in restart 0 (line 3): \"boom\"",
        ]
    );
    Ok(())
}

#[test]
fn a_run_with_at_and_during_states_is_decided_once_their_windows_close() -> Result<(), String> {
    let e = exp(
        "[[states]]\nduring = \"1s..2s\"\nphase = \"Running\"\n[[states]]\nat = \"4s\"\ncontainers.app = { restartCount = 0 }\n[[states]]\nwithin = \"4.5s..6s\"\ncontainers.app = { restartCount = 1 }\n",
    )?;
    let full = crash_and_restart();
    let upto = |n: usize| Timeline {
        entries: full.entries[..n].to_vec(),
    };
    // At 3 s the `at = 4s` window is still ahead: a later status could change its verdict.
    assert!(!passes(&e, &upto(2), secs(3.0)));
    // At 4 s the instant itself has just been reached: still open (a status at 4 s may follow).
    assert!(!passes(&e, &upto(3), secs(4.0)));
    // At 5 s every window has closed and the `within` state has held.
    assert!(passes(&e, &upto(4), secs(5.0)));
    // A quiet pod records nothing after its last status: the clock alone closes a window.
    let quiet = exp("[[states]]\nat = \"4s\"\nphase = \"Running\"\n")?;
    assert!(!passes(&quiet, &upto(1), secs(3.9)));
    assert!(passes(&quiet, &upto(1), secs(4.1)));
    assert_eq!(super::recheck_times(&quiet), [secs(4.001)]);
    // A window with no end stays open for the whole run.
    let open = exp("[[states]]\nduring = \"1s..\"\nphase = \"Running\"\n")?;
    assert!(!passes(&open, &full, secs(60.0)));
    // One measured from an event not seen yet stays open too.
    let after = exp(
        "[[states]]\nduring = \"0s..1s\"\nafter_event = { reason = \"BackOff\" }\nphase = \"Running\"\n",
    )?;
    assert!(!passes(&after, &full, secs(60.0)));
    Ok(())
}

#[test]
fn the_previous_instances_termination_message_is_last_message() -> Result<(), String> {
    let mut t = crash_and_restart();
    if let Some(Entry::Status { status, .. }) = t.entries.last_mut()
        && let Some(ContainerState::Terminated { message, .. }) =
            &mut status.container_statuses[0].last_state
    {
        *message = Some("disk full".into());
    }
    let ok = exp("[final]\ncontainers.app = { lastMessage = { contains = \"disk\" } }")?;
    assert_eq!(failures(&ok, &t, &[]), Vec::<String>::new());
    let bad = exp("[final]\ncontainers.app = { lastMessage = \"disk ok\" }")?;
    assert_eq!(
        failures(&bad, &t, &[]),
        ["final.containers.app.lastMessage: expected = \"disk ok\", observed \"disk full\""]
    );
    Ok(())
}

#[test]
fn a_conditions_last_transition_time_is_when_its_status_last_changed() -> Result<(), String> {
    // Ready: true at 1 s, false at 3 s, true again at 5 s.
    let t = crash_and_restart();
    let ok = exp(concat!(
        "[final]\nconditions.Ready = { status = true, lastTransitionTime = \"4.9s..5.1s\" }\n",
        "[[states]]\nat = \"4s\"\nconditions.Ready = { status = false, lastTransitionTime = \"3s..3s\" }\n",
    ))?;
    assert_eq!(failures(&ok, &t, &[]), Vec::<String>::new());
    let bad = exp("[final]\nconditions.Ready = { lastTransitionTime = \"0s..2s\" }\n")?;
    assert_eq!(
        failures(&bad, &t, &[]),
        ["final.conditions.Ready.lastTransitionTime: expected within 0s..2s, observed 5s"]
    );
    let missing = exp("[final]\nconditions.Initialized = { lastTransitionTime = \"0s..\" }\n")?;
    assert_eq!(
        failures(&missing, &t, &[]),
        [
            "final.conditions.Initialized.lastTransitionTime: expected within 0s.., observed <no such condition>"
        ]
    );
    Ok(())
}
