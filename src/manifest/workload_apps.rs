//! The API server's validation of the apps/v1 workloads (v1.35
//! `pkg/apis/apps/validation`: Deployment, StatefulSet, DaemonSet, ReplicaSet) and of a
//! ReplicationController (`ValidateReplicationControllerSpec` of `pkg/apis/core/validation`),
//! after v1 defaulting.

use k8s_openapi::api::{apps::v1 as apps, core::v1 as core};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::workload_selector::{self as sel, go_quote, go_selector};
use super::workload_validate::{
    OTHER, RANGE, STRATEGY, Sink, Template, at_most_100, check_intstr, go_intstr, int_or_percent,
    nonneg, present, spec,
};
use super::yaml::Node;
use crate::diag::{Diagnostic, FieldPath};

/// The selector rules of Deployment, ReplicaSet and StatefulSet: required, valid,
/// non-empty; returns the selector when `LabelSelectorAsSelector` would accept it.
fn required_selector<'s>(
    out: &mut Sink,
    raw: &Node,
    selector: &'s LabelSelector,
    kind: &str,
) -> Result<Option<&'s LabelSelector>, &'s LabelSelector> {
    let path = spec().key("selector");
    if !present(raw, &["spec", "selector"]) {
        out.push(
            &path,
            "Required value",
            "add spec.selector.matchLabels with the pod template's labels (e.g. app: web): apps/v1 does not default it",
            sel::RULE,
        );
        return Ok(None);
    }
    let valid = sel::validate_selector(selector, &path, out);
    if sel::is_empty(selector) {
        out.push(
            &path,
            format!(
                "Invalid value: {}: empty selector is invalid for {kind}",
                go_selector(selector)
            ),
            "select the pods by label, e.g. matchLabels: {app: web}",
            sel::RULE,
        );
    }
    if valid {
        Ok(Some(selector))
    } else {
        Err(selector)
    }
}

/// `ValidateDeploymentStrategy`, after defaulting (RollingUpdate, 25%/25%).
fn deployment_strategy(out: &mut Sink, s: Option<&apps::DeploymentStrategy>) {
    let path = spec().key("strategy");
    let ty = s
        .and_then(|s| s.type_.as_deref())
        .filter(|t| !t.is_empty())
        .unwrap_or("RollingUpdate");
    let ru = s.and_then(|s| s.rolling_update.as_ref());
    match ty {
        "Recreate" => {
            if ru.is_some() {
                out.push(
                    &path.key("rollingUpdate"),
                    "Forbidden: may not be specified when strategy `type` is 'Recreate'",
                    "remove rollingUpdate, or use type RollingUpdate",
                    STRATEGY,
                );
            }
        }
        "RollingUpdate" => {
            let quarter = IntOrString::String("25%".into());
            let unavailable = ru
                .and_then(|r| r.max_unavailable.clone())
                .unwrap_or_else(|| quarter.clone());
            let surge = ru.and_then(|r| r.max_surge.clone()).unwrap_or(quarter);
            let rpath = path.key("rollingUpdate");
            check_intstr(out, &rpath.key("maxUnavailable"), &unavailable);
            check_intstr(out, &rpath.key("maxSurge"), &surge);
            if int_or_percent(&unavailable) == 0 && int_or_percent(&surge) == 0 {
                out.push(
                    &rpath.key("maxUnavailable"),
                    format!(
                        "Invalid value: {}: may not be 0 when `maxSurge` is 0",
                        go_intstr(&unavailable)
                    ),
                    "allow one of them to be above 0 (e.g. maxSurge: 1), or the rollout cannot make progress",
                    STRATEGY,
                );
            }
            at_most_100(out, &rpath.key("maxUnavailable"), &unavailable);
        }
        other => out.push(
            &path,
            format!(
                "Unsupported value: apps.DeploymentStrategy{{Type:{}, RollingUpdate:{}}}: supported values: \"Recreate\", \"RollingUpdate\"",
                go_quote(other),
                if ru.is_some() { "(*apps.RollingUpdateDeployment)(0xc000…)" } else { "(*apps.RollingUpdateDeployment)(nil)" }
            ),
            "set strategy.type to RollingUpdate or Recreate",
            STRATEGY,
        ),
    }
}

/// `ValidateDeploymentSpec`.
pub fn deployment(
    doc: &Node,
    raw: &Node,
    base: &FieldPath,
    s: &apps::DeploymentSpec,
) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = spec();
    nonneg(
        &mut out,
        &p.key("replicas"),
        Some(i64::from(s.replicas.unwrap_or(1))),
    );
    let selector = required_selector(&mut out, raw, &s.selector, "deployment");
    replica_set_template(&mut out, selector, &s.template, "deployment");
    deployment_strategy(&mut out, s.strategy.as_ref());
    let min_ready = s.min_ready_seconds.unwrap_or(0);
    nonneg(
        &mut out,
        &p.key("minReadySeconds"),
        Some(i64::from(min_ready)),
    );
    nonneg(
        &mut out,
        &p.key("revisionHistoryLimit"),
        Some(i64::from(s.revision_history_limit.unwrap_or(10))),
    );
    let deadline = s.progress_deadline_seconds.unwrap_or(600);
    nonneg(
        &mut out,
        &p.key("progressDeadlineSeconds"),
        Some(i64::from(deadline)),
    );
    if deadline <= min_ready {
        // Unset, the deadline is the default 600: point at the minReadySeconds above it.
        let written = present(raw, &["spec", "progressDeadlineSeconds"]);
        let key = if written {
            "progressDeadlineSeconds"
        } else {
            "minReadySeconds"
        };
        out.push_at(
            &p.key("progressDeadlineSeconds"),
            &p.key(key),
            format!("Invalid value: {deadline}: must be greater than minReadySeconds"),
            format!("give progressDeadlineSeconds more than minReadySeconds ({min_ready}); unset it is 600"),
            RANGE,
        );
    }
    out.finish()
}

/// `ValidatePodTemplateSpecForReplicaSet` after the selector step (`Err` is an invalid
/// selector, reported as the API server does).
fn replica_set_template(
    out: &mut Sink,
    selector: Result<Option<&LabelSelector>, &LabelSelector>,
    t: &core::PodTemplateSpec,
    kind: &str,
) {
    let t = Template::new(t, spec().key("template"));
    match selector {
        Err(bad) => out.push(
            &spec().key("selector"),
            format!(
                "Invalid value: {}: invalid label selector",
                go_selector(bad)
            ),
            format!("fix the {kind}'s selector as the errors above say"),
            sel::RULE,
        ),
        Ok(s) => t.must_match(out, s),
    }
    t.check_labels(out);
    t.forever(
        out,
        if kind == "deployment" {
            "Deployment"
        } else {
            "ReplicaSet"
        },
        "ReplicaSet",
    );
}

/// `ValidateReplicaSetSpec`.
pub fn replica_set(
    doc: &Node,
    raw: &Node,
    base: &FieldPath,
    s: &apps::ReplicaSetSpec,
) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = spec();
    nonneg(
        &mut out,
        &p.key("replicas"),
        Some(i64::from(s.replicas.unwrap_or(1))),
    );
    nonneg(
        &mut out,
        &p.key("minReadySeconds"),
        s.min_ready_seconds.map(i64::from),
    );
    // The message says "deployment" for ReplicaSets too, as the API server's does.
    let selector = required_selector(&mut out, raw, &s.selector, "deployment");
    if let Some(t) = &s.template {
        replica_set_template(&mut out, selector, t, "replicaset");
    }
    out.finish()
}

/// `ValidateStatefulSetSpec`.
pub fn stateful_set(
    doc: &Node,
    raw: &Node,
    base: &FieldPath,
    name: &str,
    s: &apps::StatefulSetSpec,
) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = spec();
    // `ValidateStatefulSetName` wants an RFC 1123 label (its pods' hostnames are NAME-N);
    // a name that is not even a subdomain is the pod name check's to report.
    if sel::is_dns_subdomain(name) {
        for m in sel::dns1123_label_errors(name) {
            out.push(
                &FieldPath::root().key("metadata").key("name"),
                format!("Invalid value: {}: {m}", go_quote(name)),
                "name a StatefulSet with a lowercase RFC 1123 label (no dots, at most 63 characters), e.g. web",
                OTHER,
            );
        }
    }
    // Go cannot tell "" from unset: its defaulting makes both the default.
    let policy = s
        .pod_management_policy
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("OrderedReady");
    if !matches!(policy, "OrderedReady" | "Parallel") {
        out.push(
            &p.key("podManagementPolicy"),
            format!(
                "Invalid value: {}: must be 'OrderedReady' or 'Parallel'",
                go_quote(policy)
            ),
            "use OrderedReady (the default) or Parallel",
            STRATEGY,
        );
    }
    let us = s.update_strategy.as_ref();
    let ru = us.and_then(|u| u.rolling_update.as_ref());
    let upath = p.key("updateStrategy");
    match us
        .and_then(|u| u.type_.as_deref())
        .filter(|t| !t.is_empty())
        .unwrap_or("RollingUpdate")
    {
        "OnDelete" => {
            if let Some(r) = ru {
                out.push(
                    &upath.key("rollingUpdate"),
                    format!(
                        "Invalid value: apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{}}}: only allowed for updateStrategy 'RollingUpdate'",
                        r.partition.unwrap_or(0),
                        if r.max_unavailable.is_some() { "(*intstr.IntOrString)(0xc000…)" } else { "(*intstr.IntOrString)(nil)" }
                    ),
                    "remove rollingUpdate, or use type RollingUpdate",
                    STRATEGY,
                );
            }
        }
        "RollingUpdate" => {
            if let Some(r) = ru {
                let rpath = upath.key("rollingUpdate");
                nonneg(&mut out, &rpath.key("partition"), r.partition.map(i64::from));
                if let Some(mu) = &r.max_unavailable {
                    let mpath = rpath.key("maxUnavailable");
                    check_intstr(&mut out, &mpath, mu);
                    if int_or_percent(mu) == 0 {
                        out.push(
                            &mpath,
                            format!("Invalid value: {}: cannot be 0", go_intstr(mu)),
                            "give 1 or more (or a percentage above 0%)",
                            STRATEGY,
                        );
                    }
                    at_most_100(&mut out, &mpath, mu);
                }
            }
        }
        other => out.push(
            &upath,
            format!(
                "Invalid value: apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}: must be 'RollingUpdate' or 'OnDelete'",
                go_quote(other),
                if ru.is_some() { "(*apps.RollingUpdateStatefulSetStrategy)(0xc000…)" } else { "(*apps.RollingUpdateStatefulSetStrategy)(nil)" }
            ),
            "set updateStrategy.type to RollingUpdate or OnDelete",
            STRATEGY,
        ),
    }
    if let Some(r) = &s.persistent_volume_claim_retention_policy {
        let rpath = p.key("persistentVolumeClaimRetentionPolicy");
        for (key, v) in [
            ("whenDeleted", &r.when_deleted),
            ("whenScaled", &r.when_scaled),
        ] {
            if let Some(v) = v
                .as_deref()
                .filter(|v| !v.is_empty() && !matches!(*v, "Retain" | "Delete"))
            {
                out.push(
                    &rpath.key(key),
                    format!(
                        "Unsupported value: {}: supported values: \"Retain\", \"Delete\"",
                        go_quote(v)
                    ),
                    "use Retain (the default) or Delete",
                    STRATEGY,
                );
            }
        }
    }
    nonneg(
        &mut out,
        &p.key("replicas"),
        Some(i64::from(s.replicas.unwrap_or(1))),
    );
    nonneg(
        &mut out,
        &p.key("minReadySeconds"),
        s.min_ready_seconds.map(i64::from),
    );
    if let Some(o) = &s.ordinals {
        nonneg(
            &mut out,
            &p.key("ordinals").key("start"),
            o.start.map(i64::from),
        );
    }
    if let Some(name) = s.service_name.as_deref().filter(|n| !n.is_empty()) {
        for m in sel::dns1123_label_errors(name) {
            out.push(
                &p.key("serviceName"),
                format!("Invalid value: {}: {m}", go_quote(name)),
                "name the headless Service that governs the pods (a lowercase RFC 1123 label, e.g. web)",
                OTHER,
            );
        }
    }
    let selector = required_selector(&mut out, raw, &s.selector, "statefulset");
    let t = Template::new(&s.template, p.key("template"));
    match selector {
        Err(bad) => out.push(
            &p.key("selector"),
            format!("Invalid value: {}", go_selector(bad)),
            "fix the StatefulSet's selector as the errors above say",
            sel::RULE,
        ),
        Ok(sel) => t.must_match(&mut out, sel),
    }
    t.check_labels(&mut out);
    t.forever(&mut out, "StatefulSet", "StatefulSet");
    out.finish()
}

/// `ValidateDaemonSetUpdateStrategy`, after defaulting (RollingUpdate, maxUnavailable 1,
/// maxSurge 0).
fn daemon_set_strategy(out: &mut Sink, s: Option<&apps::DaemonSetUpdateStrategy>) {
    let path = spec().key("updateStrategy");
    let ru = s.and_then(|s| s.rolling_update.as_ref());
    match s
        .and_then(|s| s.type_.as_deref())
        .filter(|t| !t.is_empty())
        .unwrap_or("RollingUpdate")
    {
        "OnDelete" => {}
        "RollingUpdate" => {
            let rpath = path.key("rollingUpdate");
            let unavailable = ru
                .and_then(|r| r.max_unavailable.clone())
                .unwrap_or(IntOrString::Int(1));
            let surge = ru
                .and_then(|r| r.max_surge.clone())
                .unwrap_or(IntOrString::Int(0));
            let (mu, ms) = (rpath.key("maxUnavailable"), rpath.key("maxSurge"));
            check_intstr(out, &mu, &unavailable);
            check_intstr(out, &ms, &surge);
            at_most_100(out, &mu, &unavailable);
            at_most_100(out, &ms, &surge);
            let has_unavailable = int_or_percent(&unavailable) != 0;
            let has_surge = int_or_percent(&surge) != 0;
            if has_unavailable && has_surge {
                out.push(
                    &rpath.key("maxSurge"),
                    format!("Invalid value: {}: may not be set when maxUnavailable is non-zero", go_intstr(&surge)),
                    "set maxUnavailable: 0 to surge, or remove maxSurge",
                    STRATEGY,
                );
            } else if !has_unavailable && !has_surge {
                out.push(
                    &rpath.key("maxUnavailable"),
                    "Required value: cannot be 0 when maxSurge is 0",
                    "let one of them be above 0 (maxUnavailable 1 is the default)",
                    STRATEGY,
                );
            }
        }
        other => out.push(
            &path,
            format!(
                "Unsupported value: apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}: supported values: \"RollingUpdate\", \"OnDelete\"",
                go_quote(other),
                if ru.is_some() { "(*apps.RollingUpdateDaemonSet)(0xc000…)" } else { "(*apps.RollingUpdateDaemonSet)(nil)" }
            ),
            "set updateStrategy.type to RollingUpdate or OnDelete",
            STRATEGY,
        ),
    }
}

/// `ValidateDaemonSetSpec`: unlike the others, a missing selector is not "Required", but
/// selects nothing, so the template does not match it.
pub fn daemon_set(
    doc: &Node,
    raw: &Node,
    base: &FieldPath,
    s: &apps::DaemonSetSpec,
) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = spec();
    let given = present(raw, &["spec", "selector"]);
    let valid = !given || sel::validate_selector(&s.selector, &p.key("selector"), &mut out);
    let t = Template::new(&s.template, p.key("template"));
    if valid {
        t.must_match(&mut out, given.then_some(&s.selector));
    }
    if given && sel::is_empty(&s.selector) {
        out.push(
            &p.key("selector"),
            format!(
                "Invalid value: {}: empty selector is invalid for daemonset",
                go_selector(&s.selector)
            ),
            "select the pods by label, e.g. matchLabels: {app: agent}",
            sel::RULE,
        );
    }
    t.check_labels(&mut out);
    t.forever(&mut out, "DaemonSet", "DaemonSet");
    nonneg(
        &mut out,
        &p.key("minReadySeconds"),
        s.min_ready_seconds.map(i64::from),
    );
    daemon_set_strategy(&mut out, s.update_strategy.as_ref());
    nonneg(
        &mut out,
        &p.key("revisionHistoryLimit"),
        s.revision_history_limit.map(i64::from),
    );
    out.finish()
}

/// `ValidateReplicationControllerSpec`, after defaulting: an empty selector is the
/// template's labels.
pub fn replication_controller(
    doc: &Node,
    base: &FieldPath,
    s: &core::ReplicationControllerSpec,
) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = spec();
    nonneg(
        &mut out,
        &p.key("minReadySeconds"),
        s.min_ready_seconds.map(i64::from),
    );
    let template_labels = s
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let selector = s
        .selector
        .as_ref()
        .filter(|m| !m.is_empty())
        .or(template_labels.filter(|m| !m.is_empty()));
    if selector.is_none() {
        out.push(
            &p.key("selector"),
            "Required value",
            "add spec.selector (e.g. app: web) or labels on the pod template, which it defaults to",
            sel::RULE,
        );
    }
    nonneg(
        &mut out,
        &p.key("replicas"),
        Some(i64::from(s.replicas.unwrap_or(1))),
    );
    if let Some(t) = &s.template {
        let t = Template::new(t, p.key("template"));
        if let Some(m) = selector {
            let as_selector = LabelSelector {
                match_labels: Some(m.clone()),
                match_expressions: None,
            };
            t.must_match(&mut out, Some(&as_selector));
        }
        t.check_labels(&mut out);
        t.forever(&mut out, "ReplicationController", "ReplicationController");
    }
    out.finish()
}

#[cfg(test)]
#[path = "workload_apps_tests.rs"]
mod tests;
