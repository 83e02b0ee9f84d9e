//! Tests of the status generator: condition reasons and messages, restart decisions.

use super::*;

mod conditions {
    use std::time::Duration;

    use super::*;
    use crate::kubelet::container::{ExitInfo, InstanceState, StartFailure};

    fn record(name: &str, kind: ContainerKind, state: Option<InstanceState>) -> ContainerRecord {
        let spec = toml::from_str(&format!("name = {name:?}\ncommand = [\"true\"]"));
        let mut c = ContainerRecord::new(spec.expect("a valid container"), kind);
        c.current = state.map(|state| InstanceRecord {
            restart_count: 0,
            started_at: Duration::from_secs(1),
            state,
        });
        c
    }

    fn exited(code: i32) -> Option<InstanceState> {
        Some(InstanceState::Exited(ExitInfo {
            exit_code: code,
            signal: None,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            message: None,
            finished_at: Duration::from_secs(2),
        }))
    }

    static NO_CONDITIONS: BTreeMap<String, bool> = BTreeMap::new();

    fn flags() -> PodFlags<'static> {
        PodFlags {
            restart_policy: RestartPolicy::Always,
            sandbox_ready: true,
            deleting: false,
            terminal: false,
            forced: None,
            previous_phase: None,
            readiness_gates: &[],
            gate_conditions: &NO_CONDITIONS,
        }
    }

    fn cond<'a>(st: &'a PodStatus, kind: &str) -> (bool, Option<&'a str>, Option<&'a str>) {
        let c = st.conditions.iter().find(|c| c.kind == kind);
        c.map_or((false, None, None), |c| {
            (c.status, c.reason.as_deref(), c.message.as_deref())
        })
    }

    #[test]
    fn reasons_and_messages_follow_the_kubelets_generators() {
        let init = [
            record("init1", ContainerKind::Init, exited(0)),
            record("init2", ContainerKind::Init, Some(InstanceState::Running)),
            record("init3", ContainerKind::Init, None),
        ];
        let regular = [
            record("b", ContainerKind::Regular, None),
            record("a", ContainerKind::Regular, None),
        ];
        let st = pod_status(&init, &regular, &flags());
        let incomplete = "containers with incomplete status: [init2 init3]";
        assert_eq!(
            cond(&st, "Initialized"),
            (false, Some("ContainersNotInitialized"), Some(incomplete))
        );
        // Spec order, not the name order of containerStatuses.
        let unready = Some("containers with unready status: [b a]");
        for kind in ["Ready", "ContainersReady"] {
            assert_eq!(
                cond(&st, kind),
                (false, Some("ContainersNotReady"), unready)
            );
        }
        assert_eq!(cond(&st, "PodReadyToStartContainers"), (true, None, None));

        let done = [record("app", ContainerKind::Regular, exited(0))];
        let mut f = flags();
        f.restart_policy = RestartPolicy::Never;
        f.sandbox_ready = false;
        let st = pod_status(&[], &done, &f);
        assert_eq!(st.phase, Phase::Succeeded);
        assert_eq!(cond(&st, "Initialized"), (true, Some("PodCompleted"), None));
        assert_eq!(cond(&st, "Ready"), (false, Some("PodCompleted"), None));
        assert_eq!(cond(&st, "PodReadyToStartContainers"), (false, None, None));
    }

    #[test]
    fn a_regular_container_waiting_to_restart_does_not_keep_the_pod_initialized() {
        // The sidecar and the app both crashed and wait in CrashLoopBackOff: neither shows
        // running or terminated, so Initialized goes back to the sidecar, which has not
        // started (HasAnyRegularContainerStarted reads the API statuses).
        let backoff = || {
            Some(StartFailure {
                reason: "CrashLoopBackOff".into(),
                message: "back-off 10s".into(),
            })
        };
        let mut side = record("side", ContainerKind::Sidecar, exited(1));
        side.start_failure = backoff();
        let mut app = record("app", ContainerKind::Regular, exited(1));
        app.start_failure = backoff();
        let st = pod_status(&[side], &[app], &flags());
        assert_eq!(
            cond(&st, "Initialized"),
            (
                false,
                Some("ContainersNotInitialized"),
                Some("containers with incomplete status: [side]")
            )
        );
    }
}

mod restart {
    use super::*;

    fn container(src: &str) -> Container {
        toml::from_str(&format!("name = \"c\"\n{src}")).expect("container")
    }

    #[test]
    fn the_first_matching_rule_decides_then_the_containers_own_policy() {
        let c = container(
            "restartPolicy = \"Never\"\nrestartPolicyRules = [{ action = \"Restart\", exitCodes = { operator = \"In\", values = [42] } }, { action = \"Restart\", exitCodes = { operator = \"NotIn\", values = [] } }]",
        );
        let pod = RestartPolicy::Never;
        assert!(should_restart(&c, ContainerKind::Regular, pod, 42));
        // An empty NotIn matches every code, so the second rule restarts the rest.
        assert!(should_restart(&c, ContainerKind::Regular, pod, 1));
        let only_in = container(
            "restartPolicy = \"OnFailure\"\nrestartPolicyRules = [{ action = \"Restart\", exitCodes = { operator = \"In\", values = [] } }]",
        );
        // An empty In matches nothing: OnFailure decides.
        assert!(!should_restart(
            &only_in,
            ContainerKind::Regular,
            RestartPolicy::Always,
            0
        ));
        assert!(should_restart(
            &only_in,
            ContainerKind::Regular,
            RestartPolicy::Never,
            3
        ));
    }

    #[test]
    fn without_its_own_policy_the_pods_decides_and_sidecars_always_restart() {
        let c = container("");
        assert!(!should_restart(
            &c,
            ContainerKind::Regular,
            RestartPolicy::Never,
            1
        ));
        assert!(should_restart(
            &c,
            ContainerKind::Init,
            RestartPolicy::OnFailure,
            1
        ));
        assert!(should_restart(
            &c,
            ContainerKind::Sidecar,
            RestartPolicy::Never,
            0
        ));
        let never = container("restartPolicy = \"Never\"");
        assert!(!restarts_after_probe_kill(
            &never,
            ContainerKind::Regular,
            RestartPolicy::Always
        ));
        assert!(restarts_after_probe_kill(
            &c,
            ContainerKind::Regular,
            RestartPolicy::OnFailure
        ));
    }
}
