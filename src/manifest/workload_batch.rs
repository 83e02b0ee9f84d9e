//! The API server's validation of Jobs and CronJobs (v1.35 `pkg/apis/batch/validation`),
//! after v1 defaulting (completions and parallelism 1 when both are unset, concurrencyPolicy
//! Allow, completionMode NonIndexed). successPolicy is not checked.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::workload_cron::{parse_standard, time_zone_errors};
use super::workload_selector::{self as sel, go_quote, go_selector};
use super::workload_validate::{OTHER, RANGE, RESTART, STRATEGY, Sink, Template, nonneg};
use super::yaml::Node;
use crate::diag::{Diagnostic, FieldPath};

/// completionMode, podFailurePolicy and the per-index backoff fields.
pub const JOB: &str = "job-spec";
/// A CronJob's schedule.
pub const SCHEDULE: &str = "cronjob-schedule";
/// A CronJob's timeZone.
pub const TIME_ZONE: &str = "cronjob-time-zone";

const MAX_PARALLELISM_INDEXED: i32 = 100_000;
const MAX_FAILED_INDEXES: i32 = 100_000;

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_list(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", q.join(" "))
}

/// `field.NotSupported`'s detail.
fn supported(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("supported values: {}", q.join(", "))
}

/// Go's `%#v` of a `[]int32`.
fn go_ints(v: &[i32]) -> String {
    let items: Vec<String> = v.iter().map(i32::to_string).collect();
    format!("[]int32{{{}}}", items.join(", "))
}

/// `validatePodFailurePolicy` (the rule count, actions, exit codes and pod conditions).
fn pod_failure_policy(
    out: &mut Sink,
    s: &batch::JobSpec,
    pfp: &batch::PodFailurePolicy,
    path: &FieldPath,
) {
    let rules = path.key("rules");
    if pfp.rules.len() > 20 {
        out.push(
            &rules,
            format!("Too many: {}: must have at most 20 items", pfp.rules.len()),
            "keep at most 20 rules",
            JOB,
        );
    }
    let template = s.template.spec.as_ref();
    let names: Vec<&str> = template
        .iter()
        .flat_map(|p| {
            p.containers
                .iter()
                .chain(p.init_containers.iter().flatten())
        })
        .map(|c| c.name.as_str())
        .collect();
    let actions = ["Count", "FailIndex", "FailJob", "Ignore"];
    for (i, rule) in pfp.rules.iter().enumerate() {
        let rpath = rules.index(i);
        let apath = rpath.key("action");
        match rule.action.as_str() {
            "" => out.push(
                &apath,
                format!("Required value: valid values: {}", go_list(&actions)),
                "set action to FailJob, Ignore, Count or FailIndex",
                JOB,
            ),
            "FailIndex" if s.backoff_limit_per_index.is_none() => out.push(
                &apath,
                "Invalid value: \"FailIndex\": requires the backoffLimitPerIndex to be set",
                "set spec.backoffLimitPerIndex (with completionMode Indexed), or use FailJob",
                JOB,
            ),
            a if !actions.contains(&a) => out.push(
                &apath,
                format!(
                    "Unsupported value: {}: {}",
                    go_quote(a),
                    supported(&actions)
                ),
                "use FailJob, Ignore, Count or FailIndex (case matters)",
                JOB,
            ),
            _ => {}
        }
        if let Some(ec) = &rule.on_exit_codes {
            let epath = rpath.key("onExitCodes");
            match ec.operator.as_str() {
                "" => out.push(
                    &epath.key("operator"),
                    format!(
                        "Required value: valid values: {}",
                        go_list(&["In", "NotIn"])
                    ),
                    "set operator to In or NotIn",
                    JOB,
                ),
                "In" | "NotIn" => {}
                op => out.push(
                    &epath.key("operator"),
                    format!(
                        "Unsupported value: {}: {}",
                        go_quote(op),
                        supported(&["In", "NotIn"])
                    ),
                    "use In or NotIn",
                    JOB,
                ),
            }
            if let Some(c) = &ec.container_name
                && !names.contains(&c.as_str())
            {
                out.push(
                    &epath.key("containerName"),
                    format!("Invalid value: {}: must be one of the container or initContainer names in the pod template", go_quote(c)),
                    format!("name one of the pod's containers: {}", names.join(", ")),
                    JOB,
                );
            }
            let vpath = epath.key("values");
            if ec.values.is_empty() {
                out.push(
                    &vpath,
                    format!(
                        "Invalid value: {}: at least one value is required",
                        go_ints(&ec.values)
                    ),
                    "list the exit codes, e.g. [42]",
                    JOB,
                );
            } else if ec.values.len() > 255 {
                out.push(
                    &vpath,
                    format!("Too many: {}: must have at most 255 items", ec.values.len()),
                    "list at most 255 exit codes",
                    JOB,
                );
            }
            let mut seen = Vec::new();
            for (j, v) in ec.values.iter().enumerate() {
                if ec.operator == "In" && *v == 0 {
                    out.push(
                        &vpath.index(j),
                        "Invalid value: 0: must not be 0 for the In operator",
                        "0 is success: list failing exit codes only",
                        JOB,
                    );
                }
                if seen.contains(v) {
                    out.push(
                        &vpath.index(j),
                        format!("Duplicate value: {v}"),
                        "list each exit code once",
                        JOB,
                    );
                } else {
                    seen.push(*v);
                }
            }
            if ec.values.windows(2).any(|w| w[0] > w[1]) {
                out.push(
                    &vpath,
                    format!("Invalid value: {}: must be ordered", go_ints(&ec.values)),
                    "list the exit codes in increasing order",
                    JOB,
                );
            }
        }
        let conditions = rule.on_pod_conditions.as_deref().unwrap_or_default();
        for (j, c) in conditions.iter().enumerate() {
            let cpath = rpath.key("onPodConditions").index(j);
            for m in sel::qualified_name_errors(&c.type_) {
                out.push(
                    &cpath.key("type"),
                    format!("Invalid value: {}: {m}", go_quote(&c.type_)),
                    "name a pod condition type, e.g. DisruptionTarget",
                    JOB,
                );
            }
            // An unset status is defaulted to True.
            if let Some(st) = c.status.as_deref().filter(|s| !s.is_empty())
                && !matches!(st, "True" | "False" | "Unknown")
            {
                out.push(
                    &cpath.key("status"),
                    format!(
                        "Unsupported value: {}: {}",
                        go_quote(st),
                        supported(&["False", "True", "Unknown"])
                    ),
                    "use True, False or Unknown",
                    JOB,
                );
            }
        }
        if rule.on_exit_codes.is_some() && !conditions.is_empty() {
            out.push(
                &rpath,
                "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
                "split it into two rules",
                JOB,
            );
        }
        if rule.on_exit_codes.is_none() && conditions.is_empty() {
            out.push(
                &rpath,
                "Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
                "add onExitCodes or onPodConditions",
                JOB,
            );
        }
    }
}

/// `validateJobSpec`: the rules a Job and a CronJob's jobTemplate share. `path` is the
/// JobSpec's (below the object).
fn job_spec(out: &mut Sink, s: &batch::JobSpec, path: &FieldPath) {
    // Both unset: both 1; parallelism unset: 1.
    let completions = match (s.completions, s.parallelism) {
        (None, None) => Some(1),
        (c, _) => c,
    };
    let parallelism = s.parallelism.unwrap_or(1);
    for (key, v) in [
        ("parallelism", s.parallelism.map(i64::from)),
        ("completions", s.completions.map(i64::from)),
        ("activeDeadlineSeconds", s.active_deadline_seconds),
        ("backoffLimit", s.backoff_limit.map(i64::from)),
        (
            "ttlSecondsAfterFinished",
            s.ttl_seconds_after_finished.map(i64::from),
        ),
        (
            "backoffLimitPerIndex",
            s.backoff_limit_per_index.map(i64::from),
        ),
        ("maxFailedIndexes", s.max_failed_indexes.map(i64::from)),
    ] {
        nonneg(out, &path.key(key), v);
    }
    if s.max_failed_indexes.is_some() && s.backoff_limit_per_index.is_none() {
        out.push(
            &path.key("backoffLimitPerIndex"),
            "Required value: when maxFailedIndexes is specified",
            "set backoffLimitPerIndex too, or remove maxFailedIndexes",
            JOB,
        );
    }
    let mode = s.completion_mode.as_deref().unwrap_or("NonIndexed");
    match mode {
        "Indexed" => {
            if completions.is_none() {
                out.push(
                    &path.key("completions"),
                    "Required value: when completion mode is Indexed",
                    "set completions: the number of indexes",
                    JOB,
                );
            }
            if parallelism > MAX_PARALLELISM_INDEXED {
                out.push(
                    &path.key("parallelism"),
                    format!("Invalid value: {parallelism}: must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed"),
                    format!("use at most {MAX_PARALLELISM_INDEXED}"),
                    RANGE,
                );
            }
            if let (Some(c), Some(m)) = (completions, s.max_failed_indexes)
                && m > c
            {
                out.push(
                    &path.key("maxFailedIndexes"),
                    format!("Invalid value: {m}: must be less than or equal to completions"),
                    format!("use at most completions ({c})"),
                    RANGE,
                );
            }
            if let Some(m) = s.max_failed_indexes.filter(|m| *m > MAX_FAILED_INDEXES) {
                out.push(
                    &path.key("maxFailedIndexes"),
                    format!(
                        "Invalid value: {m}: must be less than or equal to {MAX_FAILED_INDEXES}"
                    ),
                    format!("use at most {MAX_FAILED_INDEXES}"),
                    RANGE,
                );
            }
        }
        "NonIndexed" => {
            for (key, v) in [
                ("backoffLimitPerIndex", s.backoff_limit_per_index),
                ("maxFailedIndexes", s.max_failed_indexes),
            ] {
                if let Some(v) = v {
                    out.push(
                        &path.key(key),
                        format!("Invalid value: {v}: requires indexed completion mode"),
                        "set completionMode: Indexed, or remove it",
                        JOB,
                    );
                }
            }
        }
        other => out.push(
            &path.key("completionMode"),
            format!(
                "Unsupported value: {}: {}",
                go_quote(other),
                supported(&["NonIndexed", "Indexed"])
            ),
            "use NonIndexed (the default) or Indexed",
            JOB,
        ),
    }
    if let Some(pfp) = &s.pod_failure_policy {
        pod_failure_policy(out, s, pfp, &path.key("podFailurePolicy"));
    }
    if let Some(r) = s.pod_replacement_policy.as_deref() {
        let allowed: &[&str] = if s.pod_failure_policy.is_some() {
            &["Failed"]
        } else {
            &["Failed", "TerminatingOrFailed"]
        };
        if !allowed.contains(&r) {
            out.push(
                &path.key("podReplacementPolicy"),
                format!("Unsupported value: {}: {}", go_quote(r), supported(allowed)),
                if s.pod_failure_policy.is_some() {
                    "with a podFailurePolicy only Failed is allowed"
                } else {
                    "use TerminatingOrFailed (the default) or Failed"
                },
                STRATEGY,
            );
        }
    }
    let t = Template::new(&s.template, path.key("template"));
    t.check_labels(out);
    let rp_path = path.key("template").key("spec").key("restartPolicy");
    match t.restart_policy() {
        Some("Always") => out.push(
            &rp_path,
            "Required value: valid values: \"OnFailure\", \"Never\"",
            "a Job's pods run to completion: set restartPolicy: Never (or OnFailure); unset it defaults to Always, which a Job refuses",
            RESTART,
        ),
        Some("OnFailure") if s.pod_failure_policy.is_some() => out.push(
            &rp_path,
            "Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified",
            "set restartPolicy: Never, so that failed pods reach the podFailurePolicy",
            RESTART,
        ),
        _ => {}
    }
}

/// The labels the Job controller puts on its pods and selects them by, so a selector the
/// user wrote without manualSelector must only ask for those.
fn generated_labels(name: &str) -> BTreeMap<String, String> {
    [("job-name", name), ("batch.kubernetes.io/job-name", name)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `ValidateJob`: the JobSpec rules plus the selector, generated unless manualSelector.
pub fn job(doc: &Node, base: &FieldPath, name: &str, s: &batch::JobSpec) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = FieldPath::root().key("spec");
    job_spec(&mut out, s, &p);
    let spath = p.key("selector");
    let template = Template::new(&s.template, p.key("template"));
    if s.manual_selector == Some(true) {
        match &s.selector {
            None => out.push(
                &spath,
                "Required value",
                "with manualSelector: true, give spec.selector matching the pod template's labels",
                sel::RULE,
            ),
            Some(selector) => {
                if sel::validate_selector(selector, &spath, &mut out) {
                    template.must_match(&mut out, Some(selector));
                }
            }
        }
    } else if let Some(selector) = &s.selector {
        // The API server adds controller-uid to it; anything else it asks for is not a
        // label the controller sets.
        if sel::validate_selector(selector, &spath, &mut out)
            && !sel::matches(&without_uid(selector), Some(&generated_labels(name)))
        {
            out.push(
                &spath,
                format!("Invalid value: {}: `selector` not auto-generated", go_selector(selector)),
                "remove spec.selector (the Job controller generates it), or set manualSelector: true",
                sel::RULE,
            );
        }
    }
    if s.completion_mode.as_deref() == Some("Indexed")
        && let Some(c) = s.completions.filter(|c| *c > 0)
    {
        let host = format!("{name}-{}", c.saturating_sub(1));
        if !sel::dns1123_label_errors(&host).is_empty() {
            out.push(
                &FieldPath::root().key("metadata").key("name"),
                format!(
                    "Invalid value: {}: will not able to create pod with invalid DNS label: {host}",
                    go_quote(name)
                ),
                "shorten the Job's name: its pods' hostnames are NAME-INDEX, at most 63 characters",
                OTHER,
            );
        }
    }
    out.finish()
}

/// The selector without its controller-uid requirements, whose value (the Job's UID) is
/// only known to the API server.
fn without_uid(s: &LabelSelector) -> LabelSelector {
    let uid = |k: &String| k == "controller-uid" || k == "batch.kubernetes.io/controller-uid";
    LabelSelector {
        match_labels: s.match_labels.as_ref().map(|m| {
            m.iter()
                .filter(|(k, _)| !uid(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }),
        match_expressions: s
            .match_expressions
            .as_ref()
            .map(|e| e.iter().filter(|r| !uid(&r.key)).cloned().collect()),
    }
}

/// `ValidateCronJobCreate`.
pub fn cron_job(
    doc: &Node,
    base: &FieldPath,
    name: &str,
    s: &batch::CronJobSpec,
) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = FieldPath::root().key("spec");
    let schedule = p.key("schedule");
    if s.schedule.is_empty() {
        out.push(
            &schedule,
            "Required value",
            "give a cron schedule, e.g. \"*/5 * * * *\" or \"@hourly\"",
            SCHEDULE,
        );
    } else {
        if let Err(e) = parse_standard(&s.schedule) {
            out.push(
                &schedule,
                format!("Invalid value: {}: {e}", go_quote(&s.schedule)),
                "five fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT), or @yearly, @monthly, @weekly, @daily, @hourly, @every DURATION",
                SCHEDULE,
            );
        }
        if s.schedule.contains("TZ") {
            out.push(
                &schedule,
                format!("Invalid value: {}: cannot use TZ or CRON_TZ in schedule, use timeZone field instead", go_quote(&s.schedule)),
                "remove TZ=/CRON_TZ= from the schedule and set spec.timeZone, e.g. timeZone: Europe/Berlin",
                SCHEDULE,
            );
        }
    }
    nonneg(
        &mut out,
        &p.key("startingDeadlineSeconds"),
        s.starting_deadline_seconds,
    );
    if let Some(tz) = &s.time_zone {
        for m in time_zone_errors(tz) {
            out.push(
                &p.key("timeZone"),
                format!("Invalid value: {}: {m}", go_quote(tz)),
                "give an IANA time zone name, e.g. Etc/UTC or America/New_York (case matters)",
                TIME_ZONE,
            );
        }
    }
    let policy = s
        .concurrency_policy
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("Allow");
    if !matches!(policy, "Allow" | "Forbid" | "Replace") {
        out.push(
            &p.key("concurrencyPolicy"),
            format!(
                "Unsupported value: {}: {}",
                go_quote(policy),
                supported(&["Allow", "Forbid", "Replace"])
            ),
            "use Allow (the default), Forbid or Replace",
            STRATEGY,
        );
    }
    let jpath = p.key("jobTemplate").key("spec");
    let job = s.job_template.spec.clone().unwrap_or_default();
    job_spec(&mut out, &job, &jpath);
    if let Some(selector) = &job.selector {
        out.push(
            &jpath.key("selector"),
            format!(
                "Invalid value: {}: `selector` will be auto-generated",
                go_selector(selector)
            ),
            "remove the jobTemplate's selector: each Job's is generated",
            sel::RULE,
        );
    }
    if job.manual_selector == Some(true) {
        out.push(
            &jpath.key("manualSelector"),
            "Unsupported value: true: supported values: \"nil\", \"false\"",
            "remove manualSelector from the jobTemplate",
            sel::RULE,
        );
    }
    for (key, v) in [
        (
            "successfulJobsHistoryLimit",
            s.successful_jobs_history_limit,
        ),
        ("failedJobsHistoryLimit", s.failed_jobs_history_limit),
    ] {
        nonneg(&mut out, &p.key(key), v.map(i64::from));
    }
    if name.len() > 52 {
        out.push(
            &FieldPath::root().key("metadata").key("name"),
            format!(
                "Invalid value: {}: must be no more than 52 characters",
                go_quote(name)
            ),
            "shorten the name: the controller appends an 11-character suffix to each Job's name",
            OTHER,
        );
    }
    out.finish()
}

#[cfg(test)]
#[path = "workload_batch_tests.rs"]
mod tests;
