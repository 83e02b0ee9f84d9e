//! Kubelet timings measured on real processes: the grace period before SIGKILL, the 2 s
//! minimum grace, and a handled SIGTERM. Tolerances are fractions of the spec's own periods.

use std::path::{Path, PathBuf};
use std::time::Duration;

use podcheck::events::{ContainerState, PodStatus};
use podcheck::runner::{RunGuard, RunOptions, SpecReport, run_spec};

fn fixture_dir() -> Vec<PathBuf> {
    podcheck::harness::dir_of(env!("CARGO_BIN_EXE_podcheck-fixture"))
}

fn run(src: &str) -> SpecReport {
    let loaded = podcheck::spec::parse_spec(Path::new("timing.toml"), src)
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let guard = RunGuard::new();
    let opts = RunOptions {
        extra_path: fixture_dir(),
        ..RunOptions::default()
    };
    rt.block_on(run_spec(
        &loaded,
        &opts,
        guard.run_id(),
        &mut |_, _| {},
        None,
    ))
    .expect("run")
}

/// The terminated state of `name` in the last status.
fn terminated(r: &SpecReport, name: &str) -> (i32, Duration) {
    let st: &PodStatus = r.outcome.timeline.last_status().expect("a status");
    match &st.container(name).expect("container status").state {
        ContainerState::Terminated {
            exit_code,
            finished_at,
            ..
        } => (*exit_code, *finished_at),
        other => panic!("{name} is not terminated: {other:?}"),
    }
}

/// Scheduling slack on a real-time (scale 1) deadline: about a third of the kubelet's 1 s
/// sync period, so a loaded machine still passes while a missed rule (a whole extra second,
/// or the pod's grace instead of the probe's) still fails.
const SLACK: f64 = 0.35;

/// `name` ended with `code`, no earlier than `due` seconds and at most SLACK later.
fn assert_exit(r: &SpecReport, name: &str, code: i32, due: f64, what: &str) {
    let (got_code, at) = terminated(r, name);
    assert_eq!(got_code, code, "{what}: exit code");
    assert_within(what, at, due, due + SLACK);
}

fn assert_within(what: &str, got: Duration, from: f64, to: f64) {
    let s = got.as_secs_f64();
    assert!(
        s >= from && s <= to,
        "{what}: {s:.3}s is outside {from}s..{to}s"
    );
}

const DELETE_AT: f64 = 2.0;

#[test]
fn sigkill_follows_the_grace_period_when_sigterm_is_not_handled() {
    let r = run(r#"
[run]
delete_pod_at = "2s"
[pod]
terminationGracePeriodSeconds = 3
[[pod.containers]]
name = "app"
command = ["podcheck-fixture", "--on-sigterm", "default"]
"#);
    // Deletion at 2 s + 3 s grace; 137 means SIGKILL, not the ignored SIGTERM.
    assert_exit(&r, "app", 137, DELETE_AT + 3.0, "SIGKILL time");
}

#[test]
fn a_zero_grace_period_still_gets_two_seconds() {
    let r = run(r#"
[run]
delete_pod_at = "2s"
[pod]
terminationGracePeriodSeconds = 0
[[pod.containers]]
name = "app"
command = ["sleep", "600"]
"#);
    assert_exit(&r, "app", 137, DELETE_AT + 2.0, "SIGKILL time");
}

#[test]
fn a_handled_sigterm_ends_the_container_before_the_grace_period() {
    let r = run(r#"
[run]
delete_pod_at = "2s"
[pod]
terminationGracePeriodSeconds = 10
[[pod.containers]]
name = "app"
command = ["podcheck-fixture", "--on-sigterm", "delay:1s", "--term-exit-code", "7"]
"#);
    assert_exit(&r, "app", 7, DELETE_AT + 1.0, "exit time");
    let log = r
        .outcome
        .logs
        .iter()
        .find(|l| l.container == "app")
        .expect("log");
    assert!(log.text.contains("fixture got SIGTERM"), "{}", log.text);
}

#[test]
fn time_scale_shrinks_the_grace_period_too() {
    let started = std::time::Instant::now();
    let r = run(r#"
[run]
time_scale = 0.1
delete_pod_at = "2s"
[pod]
terminationGracePeriodSeconds = 20
[[pod.containers]]
name = "app"
command = ["sleep", "600"]
"#);
    let (code, at) = terminated(&r, "app");
    assert_eq!(code, 137);
    // In spec time the kill still comes 20 s after deletion.
    assert_within(
        "SIGKILL spec time",
        at,
        DELETE_AT + 20.0,
        DELETE_AT + 20.0 + 1.5,
    );
    // ...and the whole run took about 2.2 s of real time, far less than 22 s.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn termination_messages_keep_the_file_tail_then_the_pod_share() {
    let r = run(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/specs/messages/message-size-limits.toml"
    ))
    .expect("spec"));
    let st = r.outcome.timeline.last_status().expect("status");
    match &st.container("a").expect("a").state {
        ContainerState::Terminated {
            message: Some(m), ..
        } => {
            assert_eq!(m.len(), 3072, "12288 bytes shared by 4 containers");
            assert!(
                m.bytes().all(|b| b == b'a'),
                "the tail of the file, cut from the front of the kept 4 KiB"
            );
        }
        other => panic!("unexpected state {other:?}"),
    }
}

#[test]
fn sidecars_stop_after_the_app_in_reverse_order() {
    // Each sidecar takes 0.5 s to exit after SIGTERM; the earlier one may only be signalled
    // once the later one has exited (kuberuntime_termination_order.go).
    let r = run(r#"
[pod]
restartPolicy = "Never"
terminationGracePeriodSeconds = 10
[[pod.initContainers]]
name = "first"
restartPolicy = "Always"
command = ["sh", "-c", "trap 'sleep 0.5; exit 0' TERM; while true; do sleep 0.05; done"]
[[pod.initContainers]]
name = "second"
restartPolicy = "Always"
command = ["sh", "-c", "trap 'sleep 0.5; exit 0' TERM; while true; do sleep 0.05; done"]
[[pod.containers]]
name = "app"
command = ["sh", "-c", "sleep 1.5"]
"#);
    let (_, app) = terminated(&r, "app");
    let (_, second) = terminated(&r, "second");
    let (_, first) = terminated(&r, "first");
    assert!(
        app < second && second < first,
        "app {app:?}, second {second:?}, first {first:?}"
    );
    assert!(
        first - second >= Duration::from_millis(450),
        "first was signalled only after second exited"
    );
}

#[test]
fn the_stop_signal_waits_for_pre_stop() {
    let r = run(r#"
[run]
delete_pod_at = "2s"
[pod]
terminationGracePeriodSeconds = 10
[[pod.containers]]
name = "app"
command = ["podcheck-fixture", "--on-sigterm", "exit"]
lifecycle = { preStop = { sleep = { seconds = 3 } } }
"#);
    assert_exit(&r, "app", 0, DELETE_AT + 3.0, "exit after preStop");
}

#[test]
fn a_pre_stop_that_uses_the_whole_grace_still_leaves_two_seconds() {
    // preStop takes the full 5 s budget; SIGTERM is then ignored (no handler, PID-1 rule),
    // and SIGKILL follows after the kubelet's 2 s minimum.
    let r = run(r#"
[run]
delete_pod_at = "2s"
[pod]
terminationGracePeriodSeconds = 5
[[pod.containers]]
name = "app"
command = ["sleep", "600"]
lifecycle = { preStop = { sleep = { seconds = 5 } } }
"#);
    assert_exit(&r, "app", 137, DELETE_AT + 5.0 + 2.0, "SIGKILL time");
}

#[test]
fn a_liveness_kill_uses_the_probe_grace_period() {
    // The pod allows 30 s, the probe 3 s: the kill after the liveness failure uses the
    // probe's value (setTerminationGracePeriod), and `sleep` ignores SIGTERM as PID 1.
    let r = run(r#"
[run]
duration = "8s"
[pod]
restartPolicy = "Never"
terminationGracePeriodSeconds = 30
[[pod.containers]]
name = "app"
command = ["sleep", "600"]
livenessProbe = { exec = { command = ["false"] }, periodSeconds = 1, failureThreshold = 1, terminationGracePeriodSeconds = 3 }
"#);
    let killing = r
        .outcome
        .timeline
        .events()
        .find(|e| e.reason == "Killing")
        .expect("a Killing event");
    assert_eq!(killing.message, "Container app failed liveness probe");
    let (code, at) = terminated(&r, "app");
    assert_eq!(code, 137);
    let after = at.saturating_sub(killing.at);
    assert_within("SIGKILL after the Killing event", after, 3.0, 3.0 + SLACK);
}
