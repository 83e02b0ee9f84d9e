//! Every check `podcheck lint` runs: its stable id, severity and one line of what it means.
//! Ids are part of the interface (annotations, `--ignore`, SARIF rules): never rename one.

use super::Severity;

/// The annotation that silences checks for an object (comma-separated ids).
pub const IGNORE_ANNOTATION: &str = "podcheck.dev/ignore";

/// One check of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable, kebab-case id.
    pub id: &'static str,
    /// The severity its findings have (API validation keeps the API server's own).
    pub severity: Severity,
    /// One line: what it finds.
    pub summary: &'static str,
}

const fn check(id: &'static str, severity: Severity, summary: &'static str) -> Check {
    Check {
        id,
        severity,
        summary,
    }
}

use Severity::{Error, Note, Warning};

/// All checks, in the order the README lists them.
pub const CHECKS: &[Check] = &[
    // Input.
    check(
        "invalid-input",
        Error,
        "the file cannot be read or parsed (YAML/TOML syntax, a value of the wrong type, no pod template)",
    ),
    check(
        "unknown-field",
        Warning,
        "a key Kubernetes does not know: the API server drops it, so the setting has no effect",
    ),
    check(
        "yaml11-boolean",
        Error,
        "an unquoted yes/no/on/off (YAML 1.1 boolean) where Kubernetes wants a string: kubectl rejects it",
    ),
    // The API server's validation.
    check(
        "handler-count",
        Error,
        "a probe or lifecycle hook must specify exactly one handler (exec, httpGet, tcpSocket, grpc, sleep)",
    ),
    check(
        "probe-success-threshold",
        Error,
        "successThreshold must be 1 for liveness and startup probes",
    ),
    check(
        "probe-termination-grace",
        Error,
        "probe-level terminationGracePeriodSeconds is not allowed on readiness probes and must be positive",
    ),
    check(
        "probe-field-range",
        Error,
        "a probe's timing field is out of range",
    ),
    check(
        "port-invalid",
        Error,
        "a port number outside 1-65535 or a malformed port name",
    ),
    check(
        "named-port-missing",
        Error,
        "a probe or hook names a port the container does not declare: every attempt fails",
    ),
    check(
        "sleep-hook-limit",
        Error,
        "a sleep hook is negative or longer than terminationGracePeriodSeconds",
    ),
    check(
        "restart-policy",
        Error,
        "an invalid restartPolicy, container restartPolicy or restartPolicyRules",
    ),
    check(
        "init-container-rule",
        Error,
        "probes and lifecycle hooks are only allowed on sidecar init containers (restartPolicy Always)",
    ),
    check(
        "termination-grace",
        Warning,
        "a negative terminationGracePeriodSeconds, treated as 1 s",
    ),
    check(
        "tcp-socket-hook",
        Warning,
        "a tcpSocket lifecycle hook passes validation, but the kubelet cannot run it",
    ),
    check(
        "api-validation",
        Error,
        "any other rule of the API server's pod validation",
    ),
    // The API server's validation of the workload around the pod template.
    check(
        "workload-selector",
        Error,
        "a workload's spec.selector is missing, empty or invalid, or does not match its pod template's labels",
    ),
    check(
        "workload-restart-policy",
        Error,
        "the pod template's restartPolicy is one its controller refuses (Always only for Deployments and the like; OnFailure or Never for Jobs)",
    ),
    check(
        "workload-field-range",
        Error,
        "a workload count or duration is out of range (negative replicas, progressDeadlineSeconds <= minReadySeconds, ...)",
    ),
    check(
        "workload-strategy",
        Error,
        "an invalid rollout or run policy: strategy, updateStrategy, rollingUpdate, podManagementPolicy, concurrencyPolicy, podReplacementPolicy",
    ),
    check(
        "job-spec",
        Error,
        "an invalid completionMode, podFailurePolicy or per-index backoff setting of a Job",
    ),
    check(
        "cronjob-schedule",
        Error,
        "a CronJob's schedule the API server's cron parser rejects, or TZ=/CRON_TZ= in it",
    ),
    check(
        "cronjob-time-zone",
        Error,
        "a CronJob's timeZone is not an IANA time zone name",
    ),
    check(
        "workload-api-validation",
        Error,
        "any other rule of the API server's workload validation (serviceName, template labels, activeDeadlineSeconds, name length)",
    ),
    // What kube-linter, kube-score and Polaris check, without their false positives.
    check(
        "duplicate-object",
        Warning,
        "a workload or Service is named twice in one file: kubectl apply applies the second over the first",
    ),
    check(
        "readiness-probe-missing",
        Warning,
        "a long-running container that serves ports has no readinessProbe",
    ),
    check(
        "liveness-probe-missing",
        Note,
        "a long-running container has no livenessProbe (optional: only for hangs a restart cures)",
    ),
    check(
        "probe-port-undeclared",
        Warning,
        "a probe's numeric port is not among the pod's declared container ports",
    ),
    check(
        "probe-identical",
        Warning,
        "liveness and readiness probes are identical and liveness has no larger failure budget",
    ),
    // Timing budgets.
    check(
        "probe-timeout-exceeds-period",
        Warning,
        "timeoutSeconds >= periodSeconds: a slow probe is still running when the next is due",
    ),
    check(
        "liveness-before-readiness",
        Warning,
        "without a startupProbe, liveness can restart the container before readiness can first succeed",
    ),
    check(
        "prestop-exceeds-grace",
        Warning,
        "the preStop delay uses the whole terminationGracePeriodSeconds: no time is left for a graceful stop",
    ),
    check(
        "prestop-drop-window",
        Note,
        "a Service-backed container with readiness but no preStop delay: requests in flight while endpoints update are dropped",
    ),
    // Services and their pods, across the files of one run.
    check(
        "service-selects-nothing",
        Warning,
        "a Service's selector matches no pod linted with it (in its namespace): it has no endpoints",
    ),
    check(
        "service-target-port-missing",
        Warning,
        "a Service's named targetPort is not a port name of the pods it selects: connections through it fail",
    ),
    check(
        "exec-probe-period-1s",
        Warning,
        "an exec probe with periodSeconds 1 starts a process every second",
    ),
    check(
        "slow-start-without-startup-probe",
        Note,
        "liveness waits a long initialDelaySeconds instead of a startupProbe",
    ),
    // Spec files.
    check(
        "spec-validation",
        Error,
        "a podcheck spec's own settings ([run], [images], [expect]) are invalid",
    ),
    check(
        "podcheck-extension",
        Warning,
        "a spec relies on a podcheck extension that a real cluster rejects or treats differently",
    ),
    check(
        "run-ends-only-at-timeout",
        Warning,
        "a spec can only end at run.timeout, which fails it",
    ),
    // Silencing.
    check(
        "unknown-ignore-id",
        Warning,
        "an ignore annotation or [lint] ignore names an id no check has",
    ),
];

/// The check with this id.
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        for (i, c) in CHECKS.iter().enumerate() {
            assert!(
                c.id.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
                "{}",
                c.id
            );
            assert!(CHECKS[..i].iter().all(|o| o.id != c.id), "{} twice", c.id);
        }
    }
}
