//! Cases of the Job and CronJob rules, after pkg/apis/batch/validation/validation_test.go.

use super::super::workload_test_util::{clean, has};

/// A Job with `spec` lines (indented by 2) and `pod` lines in its pod spec (by 6).
fn job(spec: &str, pod: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: pi}}\nspec:\n{spec}  template:\n    metadata:\n      labels: {{app: pi}}\n    spec:\n{pod}      containers:\n      - {{name: pi, image: perl}}\n"
    )
}

const NEVER: &str = "      restartPolicy: Never\n";

/// A CronJob with `spec` lines (by 2) and `job` lines in its jobTemplate's spec (by 6).
fn cron(spec: &str, job: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: hello}}\nspec:\n{spec}  jobTemplate:\n    spec:\n{job}      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - {{name: hello, image: busybox}}\n"
    )
}

#[test]
fn valid_jobs_pass() {
    clean(&job("", NEVER));
    clean(&job("", "      restartPolicy: OnFailure\n"));
    clean(&job(
        "  completions: 5\n  parallelism: 2\n  completionMode: Indexed\n  backoffLimitPerIndex: 1\n  maxFailedIndexes: 2\n  ttlSecondsAfterFinished: 0\n  activeDeadlineSeconds: 100\n  podReplacementPolicy: Failed\n",
        NEVER,
    ));
    clean(&job(
        "  podFailurePolicy:\n    rules:\n    - {action: FailJob, onExitCodes: {containerName: pi, operator: In, values: [1, 42]}}\n    - {action: Ignore, onPodConditions: [{type: DisruptionTarget}]}\n",
        NEVER,
    ));
    clean(&job(
        "  manualSelector: true\n  selector: {matchLabels: {app: pi}}\n",
        NEVER,
    ));
    clean(&job("  selector: {matchLabels: {job-name: pi}}\n", NEVER));
}

#[test]
fn job_restart_policy() {
    // "" is unset: defaulted to Always, which a Job refuses.
    for pod in [
        "",
        "      restartPolicy: Always\n",
        "      restartPolicy: ''\n",
    ] {
        has(
            &job("", pod),
            "spec.template.spec.restartPolicy",
            "Required value: valid values: \"OnFailure\", \"Never\"",
        );
    }
    has(
        &job(
            "  podFailurePolicy:\n    rules:\n    - {action: Ignore, onExitCodes: {operator: In, values: [1]}}\n",
            "      restartPolicy: OnFailure\n",
        ),
        "spec.template.spec.restartPolicy",
        "Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified",
    );
}

#[test]
fn job_counts_and_modes() {
    let neg = |f: &str| format!("Invalid value: -1: must be greater than or equal to 0{f}");
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        has(
            &job(&format!("  {key}: -1\n"), NEVER),
            &format!("spec.{key}"),
            &neg(""),
        );
    }
    has(
        &job("  completionMode: Random\n", NEVER),
        "spec.completionMode",
        "Unsupported value: \"Random\": supported values: \"NonIndexed\", \"Indexed\"",
    );
    has(
        &job("  completionMode: Indexed\n  parallelism: 2\n", NEVER),
        "spec.completions",
        "Required value: when completion mode is Indexed",
    );
    has(
        &job("  backoffLimitPerIndex: 1\n", NEVER),
        "spec.backoffLimitPerIndex",
        "Invalid value: 1: requires indexed completion mode",
    );
    let e = job(
        "  completionMode: Indexed\n  completions: 2\n  maxFailedIndexes: 3\n",
        NEVER,
    );
    has(
        &e,
        "spec.backoffLimitPerIndex",
        "Required value: when maxFailedIndexes is specified",
    );
    has(
        &e,
        "spec.maxFailedIndexes",
        "Invalid value: 3: must be less than or equal to completions",
    );
    has(
        &job("  podReplacementPolicy: Always\n", NEVER),
        "spec.podReplacementPolicy",
        "Unsupported value: \"Always\": supported values: \"Failed\", \"TerminatingOrFailed\"",
    );
    let long = "a".repeat(62);
    has(
        &job("  completionMode: Indexed\n  completions: 10\n", NEVER)
            .replace("name: pi}", &format!("name: {long}}}")),
        "metadata.name",
        &format!(
            "Invalid value: \"{long}\": will not able to create pod with invalid DNS label: {long}-9"
        ),
    );
}

#[test]
fn job_selectors() {
    has(
        &job("  selector: {matchLabels: {app: pi}}\n", NEVER),
        "spec.selector",
        "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"pi\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated",
    );
    has(
        &job("  manualSelector: true\n", NEVER),
        "spec.selector",
        "Required value",
    );
    has(
        &job(
            "  manualSelector: true\n  selector: {matchLabels: {app: other}}\n",
            NEVER,
        ),
        "spec.template.metadata.labels",
        "Invalid value: map[string]string{\"app\":\"pi\"}: `selector` does not match template `labels`",
    );
}

#[test]
fn pod_failure_policy_rules() {
    let pfp = |rule: &str| {
        job(
            &format!("  podFailurePolicy:\n    rules:\n    - {rule}\n"),
            NEVER,
        )
    };
    let p = "spec.podFailurePolicy.rules[0]";
    has(
        &pfp("{action: '', onExitCodes: {operator: In, values: [1]}}"),
        &format!("{p}.action"),
        "Required value: valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]",
    );
    has(
        &pfp("{action: Retry, onExitCodes: {operator: In, values: [1]}}"),
        &format!("{p}.action"),
        "Unsupported value: \"Retry\": supported values: \"Count\", \"FailIndex\", \"FailJob\", \"Ignore\"",
    );
    has(
        &pfp("{action: FailIndex, onExitCodes: {operator: In, values: [1]}}"),
        &format!("{p}.action"),
        "Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set",
    );
    let e = pfp(
        "{action: FailJob, onExitCodes: {containerName: web, operator: In, values: [3, 0, 3]}}",
    );
    has(
        &e,
        &format!("{p}.onExitCodes.values[1]"),
        "Invalid value: 0: must not be 0 for the In operator",
    );
    has(
        &e,
        &format!("{p}.onExitCodes.values[2]"),
        "Duplicate value: 3",
    );
    has(
        &e,
        &format!("{p}.onExitCodes.values"),
        "Invalid value: []int32{3, 0, 3}: must be ordered",
    );
    has(
        &e,
        &format!("{p}.onExitCodes.containerName"),
        "Invalid value: \"web\": must be one of the container or initContainer names in the pod template",
    );
    has(
        &pfp("{action: FailJob, onExitCodes: {operator: Equals, values: []}}"),
        &format!("{p}.onExitCodes.values"),
        "Invalid value: []int32{}: at least one value is required",
    );
    has(
        &pfp("{action: FailJob}"),
        p,
        "Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
    );
    has(
        &pfp(
            "{action: Ignore, onExitCodes: {operator: In, values: [1]}, onPodConditions: [{type: DisruptionTarget, status: Maybe}]}",
        ),
        &format!("{p}.onPodConditions[0].status"),
        "Unsupported value: \"Maybe\": supported values: \"False\", \"True\", \"Unknown\"",
    );
}

#[test]
fn valid_cronjobs_pass() {
    for schedule in [
        "'*/5 * * * *'",
        "'@hourly'",
        "'0 9 * * MON-FRI'",
        "'@every 90m'",
    ] {
        clean(&cron(&format!("  schedule: {schedule}\n"), ""));
    }
    clean(&cron(
        "  schedule: '0 0 * * *'\n  timeZone: America/New_York\n  concurrencyPolicy: Forbid\n  startingDeadlineSeconds: 0\n  successfulJobsHistoryLimit: 0\n  failedJobsHistoryLimit: 1\n",
        "",
    ));
}

#[test]
fn cronjob_rules() {
    has(
        &cron("  schedule: ''\n", ""),
        "spec.schedule",
        "Required value",
    );
    has(
        &cron("  schedule: error\n", ""),
        "spec.schedule",
        "Invalid value: \"error\": expected exactly 5 fields, found 1: [error]",
    );
    has(
        &cron("  schedule: 'TZ=UTC 0 * * * *'\n  timeZone: UTC\n", ""),
        "spec.schedule",
        "Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
    );
    has(
        &cron("  schedule: '0 * * * *'\n  timeZone: ''\n", ""),
        "spec.timeZone",
        "Invalid value: \"\": timeZone must be nil or non-empty string",
    );
    has(
        &cron("  schedule: '0 * * * *'\n  timeZone: Local\n", ""),
        "spec.timeZone",
        "Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
    );
    has(
        &cron("  schedule: '0 * * * *'\n  timeZone: Continent/Zone\n", ""),
        "spec.timeZone",
        "Invalid value: \"Continent/Zone\": unknown time zone Continent/Zone",
    );
    has(
        &cron(
            "  schedule: '0 * * * *'\n  concurrencyPolicy: Sometimes\n",
            "",
        ),
        "spec.concurrencyPolicy",
        "Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
    );
    for key in [
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
    ] {
        has(
            &cron(&format!("  schedule: '0 * * * *'\n  {key}: -1\n"), ""),
            &format!("spec.{key}"),
            "Invalid value: -1: must be greater than or equal to 0",
        );
    }
    has(
        &cron(
            "  schedule: '0 * * * *'\n",
            "      selector: {matchLabels: {a: b}}\n",
        ),
        "spec.jobTemplate.spec.selector",
        "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated",
    );
    has(
        &cron("  schedule: '0 * * * *'\n", "      manualSelector: true\n"),
        "spec.jobTemplate.spec.manualSelector",
        "Unsupported value: true: supported values: \"nil\", \"false\"",
    );
    has(
        &cron("  schedule: '0 * * * *'\n", "      backoffLimit: -1\n"),
        "spec.jobTemplate.spec.backoffLimit",
        "Invalid value: -1: must be greater than or equal to 0",
    );
    let long = "c".repeat(53);
    has(
        &cron("  schedule: '0 * * * *'\n", "").replace("name: hello}", &format!("name: {long}}}")),
        "metadata.name",
        &format!("Invalid value: \"{long}\": must be no more than 52 characters"),
    );
}

#[test]
fn an_empty_concurrency_policy_is_the_default() {
    // A plain string in Go: "" is defaulted to Allow before validation.
    clean(&cron(
        "  schedule: '*/5 * * * *'\n  concurrencyPolicy: \"\"\n",
        "",
    ));
}
