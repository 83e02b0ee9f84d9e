//! What `podcheck run MANIFEST` expects when the manifest is all there is: what a controller
//! calls success. A pod that is restarted when it exits (restartPolicy Always: Deployments,
//! StatefulSets, DaemonSets) must be Ready when the watch ends with no container restarted
//! (a rollout waits for Ready pods; a restart is a crash or a liveness kill); a pod that
//! runs to completion (Never, OnFailure: Jobs) must have Succeeded. Without these a
//! manifest whose probes never pass would be reported as passing. A spec with
//! `manifest = …` states its own expectations instead.

use std::time::Duration;

use crate::expect::model::{ContainerFinal, FinalState, NeverExpectation};
use crate::expect::values::{ConditionMatch, IntMatch, TextMatch};
use crate::spec::model::{Pod, Probe, RestartPolicy};

/// The longest a manifest's pod is watched when its probes need more than the default.
const LONGEST_WATCH: Duration = Duration::from_secs(600);
/// Time left after the last probe could first pass, for its round trip and the status.
const SLACK: Duration = Duration::from_secs(10);

/// The expected end state of `pod` (named `name` when the spec has several pods).
pub fn final_state(pod: &Pod, name: Option<&str>) -> FinalState {
    let mut out = FinalState {
        pod: name.map(str::to_owned),
        ..FinalState::default()
    };
    if runs_to_completion(pod) {
        out.phase = Some("Succeeded".into());
        return out;
    }
    out.conditions.insert(
        "Ready".into(),
        ConditionMatch {
            status: Some(true),
            ..ConditionMatch::default()
        },
    );
    let restarted = pod
        .init_containers
        .iter()
        .filter(|c| c.is_sidecar())
        .chain(&pod.containers);
    for c in restarted {
        out.containers.insert(
            c.name.clone(),
            ContainerFinal {
                restart_count: Some(IntMatch {
                    exactly: Some(0),
                    ..IntMatch::default()
                }),
                ..ContainerFinal::default()
            },
        );
    }
    out
}

/// For a pod that is restarted when it exits: no container may be killed by a failed
/// liveness or startup probe (`Killing`, "… will be restarted"). A kill still in its grace
/// period when the watch ends has not restarted the container yet, so the restart count
/// alone would pass it. None for a pod that runs to completion.
pub fn never_killed(pod: &Pod, name: Option<&str>) -> Option<NeverExpectation> {
    (!runs_to_completion(pod)).then(|| NeverExpectation {
        pod: name.map(str::to_owned),
        reason: Some("Killing".into()),
        event_type: None,
        container: None,
        message: Some(TextMatch::Contains("probe, will be restarted".into())),
        within: None,
    })
}

/// Whether the pod is one that runs to completion (restartPolicy Never or OnFailure).
pub fn runs_to_completion(pod: &Pod) -> bool {
    matches!(
        pod.restart_policy,
        Some(RestartPolicy::Never | RestartPolicy::OnFailure)
    )
}

/// How long to watch `pod`: `default`, or longer when its startup and readiness probes
/// cannot pass before then (their initial delays and periods, as the prober schedules
/// them), at most ten minutes.
pub fn watch_for(pod: &Pod, default: Duration) -> Duration {
    let first_pass = |p: Option<&Probe>, passes: i64| {
        p.map_or(Duration::ZERO, |p| {
            let delay = p.initial_delay_seconds.unwrap_or(0).max(0);
            let period = p.period_seconds.unwrap_or(10).max(1);
            let need = delay.saturating_add(period.saturating_mul(passes.max(1)));
            Duration::from_secs(u64::try_from(need).unwrap_or(u64::MAX))
        })
    };
    let longest = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .map(|c| {
            let ready = c.readiness_probe.as_ref();
            first_pass(c.startup_probe.as_ref(), 1).saturating_add(first_pass(
                ready,
                ready.and_then(|p| p.success_threshold).unwrap_or(1),
            ))
        })
        .max()
        .unwrap_or(Duration::ZERO)
        .saturating_add(SLACK);
    longest.clamp(default, LONGEST_WATCH.max(default))
}

/// The note that says what a manifest's run expects of a pod of a `kind` object.
pub fn note_text(pod: &Pod, kind: &str, watch: Duration) -> String {
    let secs = watch.as_secs();
    let what = if kind == "Pod" {
        "this Pod".to_owned()
    } else {
        format!("this {kind}'s pod")
    };
    if runs_to_completion(pod) {
        format!(
            "podcheck runs {what} for up to {secs} s and expects it to succeed (phase Succeeded); a spec with `manifest = \"…\"` can expect something else"
        )
    } else {
        format!(
            "podcheck runs {what} for {secs} s and expects it Ready at the end with no container restarted or killed by a failed probe (what a rollout waits for); a spec with `manifest = \"…\"` can expect something else"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(toml_pod: &str) -> Pod {
        toml::from_str(toml_pod).unwrap()
    }

    #[test]
    fn a_long_running_pod_must_be_ready_without_restarts_and_a_job_pod_must_succeed() {
        let web = pod(r#"
[[containers]]
name = "app"
command = ["true"]
[[initContainers]]
name = "proxy"
restartPolicy = "Always"
command = ["true"]
[[initContainers]]
name = "migrate"
command = ["true"]
"#);
        let f = final_state(&web, Some("web-0"));
        assert_eq!(f.pod.as_deref(), Some("web-0"));
        assert_eq!(f.phase, None);
        assert_eq!(f.conditions["Ready"].status, Some(true));
        let names: Vec<&str> = f.containers.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["app", "proxy"],
            "an init container that ends is not a restart"
        );
        let job = pod(
            "restartPolicy = \"OnFailure\"\n[[containers]]\nname = \"c\"\ncommand = [\"true\"]\n",
        );
        let f = final_state(&job, None);
        assert_eq!(f.phase.as_deref(), Some("Succeeded"));
        assert!(f.conditions.is_empty() && f.containers.is_empty());
    }

    #[test]
    fn a_long_running_pod_must_not_be_killed_by_a_probe_and_a_job_pod_may() {
        let web = pod("[[containers]]\nname = \"web\"\ncommand = [\"x\"]\n");
        let never = never_killed(&web, Some("web-0")).expect("a long-running pod");
        assert_eq!(never.reason.as_deref(), Some("Killing"));
        assert_eq!(never.pod.as_deref(), Some("web-0"));
        let message = never.message.expect("a message match");
        assert!(message.matches("Container web failed liveness probe, will be restarted"));
        assert!(message.matches("Container web failed startup probe, will be restarted"));
        assert!(
            !message.matches("Stopping container web"),
            "the run's own end is no failure"
        );
        let job =
            pod("restartPolicy = \"Never\"\n[[containers]]\nname = \"j\"\ncommand = [\"x\"]\n");
        assert!(never_killed(&job, None).is_none());
    }

    #[test]
    fn the_watch_lasts_until_slow_probes_could_pass_within_bounds() {
        let default = Duration::from_secs(60);
        let quick = pod(
            "[[containers]]\nname = \"c\"\ncommand = [\"true\"]\nreadinessProbe = { exec = { command = [\"true\"] }, periodSeconds = 5 }\n",
        );
        assert_eq!(watch_for(&quick, default), default);
        let slow = pod(
            "[[containers]]\nname = \"c\"\ncommand = [\"true\"]\nreadinessProbe = { exec = { command = [\"true\"] }, initialDelaySeconds = 90, periodSeconds = 10, successThreshold = 3 }\nstartupProbe = { exec = { command = [\"true\"] }, initialDelaySeconds = 20, periodSeconds = 5 }\n",
        );
        assert_eq!(
            watch_for(&slow, default),
            Duration::from_secs(25 + 120 + 10)
        );
        let huge = pod(
            "[[containers]]\nname = \"c\"\ncommand = [\"true\"]\nreadinessProbe = { exec = { command = [\"true\"] }, initialDelaySeconds = 9223372036854775807 }\n",
        );
        assert_eq!(watch_for(&huge, default), LONGEST_WATCH);
    }
}
