//! Gives the spec validation's diagnostics (the API server's rules) their check ids.
//!
//! Validation is shared with `podcheck run`, which needs no ids, so they are derived here
//! from the field and the API server's wording; a test pins each rule to its id.

use crate::diag::{Diagnostic, PathSeg};

/// The check id of a validation diagnostic about the pod.
pub fn pod_rule(d: &Diagnostic) -> &'static str {
    let m = d.message.as_str();
    let keys: Vec<&str> = d
        .path
        .0
        .iter()
        .filter_map(|s| match s {
            PathSeg::Key(k) => Some(k.as_str()),
            PathSeg::Index(_) | PathSeg::MapKey(_) => None,
        })
        .collect();
    let last = keys.last().copied().unwrap_or("");
    let in_probe = keys.iter().any(|k| k.ends_with("Probe"));
    if m.contains("handler type") {
        "handler-count"
    } else if last == "successThreshold" && m.contains("must be 1") {
        "probe-success-threshold"
    } else if in_probe && last == "terminationGracePeriodSeconds" {
        "probe-termination-grace"
    } else if m.contains("is not a named port of container") {
        "named-port-missing"
    } else if keys.ends_with(&["sleep", "seconds"]) {
        "sleep-hook-limit"
    } else if m.contains("port number")
        || m.contains("port name")
        || matches!(last, "containerPort" | "hostPort")
        || (keys.contains(&"ports") && matches!(last, "name" | "protocol"))
    {
        "port-invalid"
    } else if m.contains("for init containers") {
        "init-container-rule"
    } else if keys
        .iter()
        .any(|k| *k == "restartPolicy" || *k == "restartPolicyRules")
    {
        "restart-policy"
    } else if in_probe
        && (m.contains("must be greater than or equal to 0") || m.contains("must be no more than"))
    {
        "probe-field-range"
    } else if m.contains("the kubelet cannot run it") {
        "tcp-socket-hook"
    } else if last == "terminationGracePeriodSeconds" {
        "termination-grace"
    } else {
        "api-validation"
    }
}

/// Whether a validation diagnostic only concerns running the pod with podcheck (the image
/// map), not the manifest a cluster gets.
pub fn only_for_running(d: &Diagnostic) -> bool {
    d.message.contains("[images] table") || d.message.contains("has neither an image nor a command")
}
