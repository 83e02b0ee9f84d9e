//! Whether a spec's run can end before `run.timeout`, which fails it: `lint` warns about
//! specs that can only end there (a server pod with expectations that wait for the end).

use super::model::{ContainerRestartPolicy, RestartPolicy, SpecFile};
use crate::diag::{Diagnostic, FieldPath};

/// A warning when nothing can end the run before its timeout: no `run.duration`, no
/// deletion or deadline, a pod that restarts forever, and expectations that are only
/// decided at the end (anything but ordered events and executions, `within` states, and
/// `at` or `during` states whose window closes).
pub fn only_ends_at_timeout(spec: &SpecFile) -> Option<Diagnostic> {
    let run = &spec.run;
    if run.duration.is_some()
        || run.delete_pod_at.is_some()
        || spec.pod.active_deadline_seconds.is_some()
        || run.updates.iter().any(|u| u.active_deadline_seconds.is_some())
        || spec.pod.restart_policy.unwrap_or(RestartPolicy::Always) != RestartPolicy::Always
        // A container with its own Never/OnFailure (an init container that fails the pod,
        // an app that stays down) may let the pod finish: only warn when it surely cannot.
        || spec
            .pod
            .init_containers
            .iter()
            .chain(&spec.pod.containers)
            .any(|c| c.restart_policy.is_some_and(|p| p != ContainerRestartPolicy::Always))
    {
        return None;
    }
    let e = &spec.expect;
    let eventual = !(e.events.is_empty() && e.executions.is_empty() && e.states.is_empty())
        && e.never.is_empty()
        && e.never_executions.is_empty()
        && e.counts.is_empty()
        && e.finals.is_empty()
        && e.pod_statuses.is_empty()
        && e.statuses.is_empty()
        && e.endpoints.is_empty()
        && e.logs.is_empty()
        && e.states.iter().all(|s| {
            s.within.is_some() || s.at.is_some() || s.during.is_some_and(|w| w.to.is_some())
        });
    if eventual {
        return None;
    }
    let timeout = run
        .timeout
        .map_or_else(|| "120s".to_owned(), |t| t.to_string());
    Some(
        Diagnostic::warning(
            FieldPath::root().key("run"),
            format!(
                "this run can only end at run.timeout ({timeout}), which fails it: the pod restarts forever and the expectations wait for the end of the run"
            ),
            )
        .with_help("set run.duration (the run ends there and the final state is checked), or expect only ordered events, executions and states with a closed window (`within`, `at`, `during = \"A..B\"`), which end the run as soon as they are decided"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(src: &str) -> SpecFile {
        toml::from_str(&format!(
            "[[pod.containers]]\nname = \"app\"\ncommand = [\"sleep\", \"600\"]\n{src}"
        ))
        .expect("spec")
    }

    #[test]
    fn a_server_pod_with_a_final_state_and_no_duration_only_ends_at_the_timeout() {
        assert!(only_ends_at_timeout(&spec("[expect.final]\nphase = \"Running\"\n")).is_some());
        assert!(
            only_ends_at_timeout(&spec(
                "[run]\nduration = \"5s\"\n[expect.final]\nphase = \"Running\"\n"
            ))
            .is_none()
        );
        let eventual = "[[expect.states]]\nwithin = \"0s..30s\"\nconditions.Ready = true\n";
        assert!(only_ends_at_timeout(&spec(eventual)).is_none());
        // A closed `during` window is decided when it closes; an open one waits for the end.
        let closed = "[[expect.states]]\nduring = \"1s..5s\"\nphase = \"Running\"\n";
        assert!(only_ends_at_timeout(&spec(closed)).is_none());
        let open = "[[expect.states]]\nduring = \"1s..\"\nphase = \"Running\"\n";
        assert!(only_ends_at_timeout(&spec(open)).is_some());
        let finishes = "[pod]\nrestartPolicy = \"Never\"\n[expect.final]\nphase = \"Succeeded\"\n";
        assert!(only_ends_at_timeout(&spec(finishes)).is_none());
    }
}
