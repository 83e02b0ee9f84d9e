//! The failure text as a reader sees it, on hand-made timelines (exact snapshots: every
//! time in them is fixed, so nothing needs normalising).

use std::time::Duration;

use crate::events::{
    Condition, ContainerState, ContainerStatus, Entry, Event, EventType, Execution, ExecutionKind,
    Phase, PodStatus, Timeline,
};
use crate::expect::Verdict;
use crate::kubelet::{EndReason, RunOutcome, pod_worker::InstanceLog};
use crate::report::probes::tests::attempt;
use crate::runner::SpecReport;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

pub(crate) fn event(at: f64, kind: EventType, reason: &str, message: &str) -> Entry {
    Entry::Event(Event {
        at: secs(at),
        event_type: kind,
        reason: reason.into(),
        message: message.into(),
        container: Some("app".into()),
        field_path: Some("spec.containers{app}".into()),
        source: "kubelet",
    })
}

pub(crate) fn exec(at: f64, instance: u32, what: ExecutionKind) -> Entry {
    Entry::Execution(Execution {
        at: secs(at),
        container: "app".into(),
        instance,
        what,
    })
}

pub(crate) fn status(at: f64, ready: bool, restart_count: u32) -> Entry {
    Entry::Status {
        at: secs(at),
        status: Box::new(PodStatus {
            phase: Phase::Running,
            reason: None,
            message: None,
            conditions: vec![Condition {
                kind: "Ready".into(),
                status: ready,
                reason: None,
                message: None,
            }],
            init_container_statuses: vec![],
            container_statuses: vec![ContainerStatus {
                name: "app".into(),
                state: ContainerState::Running {
                    started_at: secs(0.01),
                },
                last_state: None,
                ready,
                started: Some(false),
                restart_count,
                sidecar: false,
            }],
            deleting: false,
        }),
    }
}

/// A report of a pod whose startup probe got 404 three times and killed the container.
pub(crate) fn startup_404_report() -> SpecReport {
    let pod = "[[containers]]\nname = \"app\"\ncommand = [\"app\"]\nstartupProbe = { httpGet = { path = \"/healthz\", port = 8080 }, periodSeconds = 1, failureThreshold = 3 }\n";
    let expect = "[[events]]\nreason = \"Started\"\n\n[final]\nconditions.Ready = true\n";
    let mut entries = vec![
        event(0.0, EventType::Normal, "Started", "Container started"),
        exec(0.01, 0, ExecutionKind::Start),
        status(1.0, false, 0),
    ];
    for at in [1.0, 2.0, 3.0] {
        entries.push(attempt(at, 0, "startup", "failure"));
        entries.push(event(
            at,
            EventType::Warning,
            "Unhealthy",
            "Startup probe failed: HTTP probe failed with statuscode: 404",
        ));
    }
    entries.extend([
        event(
            3.0,
            EventType::Normal,
            "Killing",
            "Container app failed startup probe, will be restarted",
        ),
        exec(3.0, 0, ExecutionKind::Signal { signal: 15 }),
        exec(
            3.01,
            0,
            ExecutionKind::Exit {
                exit_code: 0,
                signal: None,
                reason: "Completed".into(),
            },
        ),
        event(3.02, EventType::Normal, "Started", "Container started"),
        exec(3.02, 1, ExecutionKind::Start),
        attempt(4.0, 1, "startup", "failure"),
        status(4.0, false, 1),
    ]);
    SpecReport {
        title: "the pod becomes Ready".into(),
        pod_name: "web".into(),
        outcome: RunOutcome {
            timeline: Timeline { entries },
            logs: vec![InstanceLog {
                container: "app".into(),
                restart_count: 0,
                text: "listening on :8081\nGET /healthz 404\nGET /healthz 404\nGET /healthz 404\n"
                    .into(),
                line_times: Vec::new(),
            }],
            end: EndReason::DurationReached,
            ended_at: secs(5.0),
        },
        wall: crate::report::describe::WallClock::default(),
        verdict: Verdict {
            sequence: vec![crate::expect::check::ItemResult {
                label: "Started".into(),
                matched_at: Some(Duration::ZERO),
            }],
            failures: vec!["final.conditions.Ready: expected true, observed false".into()],
            stopped_early: None,
        },
        notes: vec!["isolation: none (requested)".into()],
        traffic: Timeline::default(),
        pod: toml::from_str(pod).expect("pod"),
        expect: toml::from_str(expect).expect("expectations"),
        other_pods: Vec::new(),
        pod_verdicts: Vec::new(),
        end: crate::kubelet::EndReason::DurationReached,
        ended_at: Duration::from_secs(5),
    }
}

/// The same failing pod `web` next to a healthy pod `db` that ran alongside it.
fn two_pod_report() -> SpecReport {
    let mut r = startup_404_report();
    for f in &mut r.expect.finals {
        f.pod = Some("web".into());
    }
    let mut db_final = crate::expect::model::FinalState {
        phase: Some("Running".into()),
        ..Default::default()
    };
    db_final.pod = Some("db".into());
    r.expect.finals.push(db_final);
    let web = r.verdict.clone();
    r.verdict.failures = web
        .failures
        .iter()
        .map(|f| format!("pod web: {f}"))
        .collect();
    let db_timeline = Timeline {
        entries: vec![status(0.5, true, 0)],
    };
    r.other_pods.push(crate::runner::PodRun {
        name: "db".into(),
        pod: r.pod.clone(),
        start_at: Duration::ZERO,
        outcome: RunOutcome {
            timeline: db_timeline,
            logs: Vec::new(),
            end: EndReason::DurationReached,
            ended_at: secs(5.0),
        },
    });
    r.pod_verdicts = vec![web, Verdict::default()];
    r
}

#[test]
fn with_several_pods_every_cause_and_item_names_its_pod() {
    let r = two_pod_report();
    let (items, unclaimed) = crate::report::checklist::checklist(&r);
    assert!(unclaimed.is_empty(), "{unclaimed:?}");
    let keys: Vec<(&str, bool)> = items
        .iter()
        .map(|c| {
            (
                c.key.as_str(),
                matches!(c.outcome, crate::report::checklist::Outcome::Failed(_)),
            )
        })
        .collect();
    // web's final failed and says so under its own key; db's final held.
    assert!(keys.contains(&("pod web: final", true)), "{keys:?}");
    assert!(keys.contains(&("pod db: final", false)), "{keys:?}");
    let causes = crate::report::explain::causes(&r);
    let probe = causes
        .iter()
        .find(|l| l.contains("startupProbe httpGet failed 3/3"))
        .expect("the probe cause");
    assert!(probe.starts_with("pod web: app: "), "{probe}");
    // Quoted log lines keep their indentation, unprefixed.
    assert!(causes.iter().any(|l| l.starts_with("  | ")), "{causes:?}");
    assert!(
        causes.iter().all(|l| l.starts_with("pod web: ")
            || l.starts_with("pod db: ")
            || l.starts_with("  ")),
        "{causes:?}"
    );
}

#[test]
fn the_cause_comes_before_the_symptom() {
    let text = crate::report::verdict::render("web.toml", &startup_404_report());
    let want = "\
FAIL web.toml: the pod becomes Ready (run.duration reached at 5s)
  why:
    app: startupProbe httpGet failed 3/3 times in a row (HTTP probe failed with statuscode: 404) → killed at 3s
    app: startupProbe httpGet failed 1 time in a row since 4s, last with HTTP probe failed with statuscode: 404 (4 attempts in all, never succeeded); the container had not started at the end
    app#0 exited 0 (Completed) at 3.0s after running 3s, after it was sent SIGTERM
      its log ends (3 of 4 lines):
      | GET /healthz 404
      | GET /healthz 404
      | GET /healthz 404
    pod phase: Running at 1s
    kubectl STATUS: Running at 1s
    the pod was never Ready (no Service would have sent it traffic)
  expectations: 1 failed, 1 met
  - final.conditions.Ready: expected true, observed false
    met          events[0]: Started (at 0s)
  isolation: none (requested)
  observed events:
         0s  Normal  Started              app          Container started
       10ms  (app#0 started)
         1s  Warning Unhealthy            app          Startup probe failed: HTTP probe failed with statuscode: 404 (x3, last at 3s)
         3s  Normal  Killing              app          Container app failed startup probe, will be restarted
         3s  (app#0 was sent SIGTERM)
       3.0s  (app#0 exited 0 (Completed))
       3.0s  Normal  Started              app          Container started
       3.0s  (app#1 started)
  log of app (restart 0), last 4 line(s):
    | listening on :8081
    | GET /healthz 404
    | GET /healthz 404
    | GET /healthz 404
";
    assert_eq!(text, want, "\n{text}");
}

#[test]
fn a_timeout_names_what_it_still_waited_for() {
    let mut r = startup_404_report();
    r.end = EndReason::TimedOut;
    r.expect = toml::from_str("[[events]]\nreason = \"Started\"\n\n[[events]]\nreason = \"Killing\"\nmessage = { contains = \"liveness\" }\n")
        .expect("expectations");
    r.verdict.sequence.push(crate::expect::check::ItemResult {
        label: "Killing message contains \"liveness\"".into(),
        matched_at: None,
    });
    r.verdict.failures = vec![
        "the run timed out after 5.0s of real time".into(),
        "events[1]: expected Killing message contains \"liveness\": seen at 3.0s".into(),
    ];
    let why = crate::report::verdict::explanation(&r);
    assert!(
        why.contains("the run timed out at 5s while still waiting for events[1] (Killing message contains \"liveness\")"),
        "{why}"
    );
    assert!(why.contains("events[1]: the Killing events seen were \"Container app failed startup probe, will be restarted\" at 3s (app)"), "{why}");
    assert!(
        why.contains("  - the run timed out after 5.0s of real time\n"),
        "{why}"
    );
    assert!(
        why.contains("    met          events[0]: Started (at 0s)\n"),
        "{why}"
    );
}

/// A report whose container never started: the events `entries` and one status with the
/// container waiting for `reason`.
fn never_started(entries: Vec<Entry>, reason: &str) -> SpecReport {
    let mut r = startup_404_report();
    let mut waiting = status(0.0, false, 0);
    if let Entry::Status { status, .. } = &mut waiting {
        status.container_statuses[0].state = ContainerState::Waiting {
            reason: Some(reason.into()),
            message: None,
        };
    }
    r.outcome.timeline = Timeline {
        entries: std::iter::once(waiting).chain(entries).collect(),
    };
    r
}

#[test]
fn a_start_that_fails_before_any_process_says_which_kubelet_step_failed() {
    let never = format!(
        "Container image {:?} is not present with pull policy of Never",
        "example/absent:1"
    );
    let r = never_started(
        vec![
            event(0.0, EventType::Warning, "ErrImageNeverPull", &never),
            event(
                0.0,
                EventType::Warning,
                "Failed",
                "Error: ErrImageNeverPull",
            ),
            event(10.0, EventType::Warning, "ErrImageNeverPull", &never),
            event(
                10.0,
                EventType::Warning,
                "Failed",
                "Error: ErrImageNeverPull",
            ),
        ],
        "ErrImageNeverPull",
    );
    let causes = super::causes(&r);
    let want = format!(
        "app: ErrImageNeverPull (x2, first at 0s, last at 10s): {never}; the container never started"
    );
    assert!(causes.contains(&want), "{causes:#?}");
    assert!(
        !causes.iter().any(|c| c.contains("StartError")),
        "{causes:#?}"
    );

    let missing = "Error: couldn't find key absent in ConfigMap default/app-config";
    let r = never_started(
        vec![event(0.0, EventType::Warning, "Failed", missing)],
        "CreateContainerConfigError",
    );
    let causes = super::causes(&r);
    let want = "app: could not start, CreateContainerConfigError (at 0s): couldn't find key absent in ConfigMap default/app-config";
    assert!(causes.iter().any(|c| c == want), "{causes:#?}");
}
