//! The API server's validation of the workload objects around a pod template (v1.35):
//! `pkg/apis/apps/validation` for Deployment, StatefulSet, DaemonSet and ReplicaSet,
//! `ValidateReplicationControllerSpec` of `pkg/apis/core/validation`; Jobs and CronJobs are
//! in [`super::workload_batch`]. The pod template's own spec is validated like any pod
//! (`crate::spec::validate`); this is everything around it.
//!
//! The API server validates after defaulting (replicas 1, maxSurge/maxUnavailable 25%,
//! progressDeadlineSeconds 600, …), so the defaults are applied first, as it would.

use std::collections::BTreeMap;

use k8s_openapi::api::{apps::v1 as apps, core::v1 as core};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::workload_selector::{self as sel, go_map, go_quote, go_selector};
use super::yaml::{Node, Value};
use crate::diag::{Diagnostic, FieldPath};

/// Negative counts, limits and durations (and progressDeadlineSeconds <= minReadySeconds).
pub const RANGE: &str = "workload-field-range";
/// Pod template restartPolicy the controller does not allow.
pub const RESTART: &str = "workload-restart-policy";
/// Rollout and run policies: strategy, updateStrategy, podManagementPolicy, …
pub const STRATEGY: &str = "workload-strategy";
/// Any other rule of the workload's validation.
pub const OTHER: &str = "workload-api-validation";

/// Collects the workload's diagnostics, located in its document.
pub struct Sink<'a> {
    doc: &'a Node,
    base: FieldPath,
    out: Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    /// A sink for the object at `base` of `doc`.
    pub fn new(doc: &'a Node, base: &FieldPath) -> Self {
        Sink {
            doc,
            base: base.clone(),
            out: Vec::new(),
        }
    }

    /// How many diagnostics so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether none so far.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// An error at `rel` (below the object), located there.
    pub fn push(
        &mut self,
        rel: &FieldPath,
        message: impl Into<String>,
        help: impl Into<String>,
        rule: &'static str,
    ) {
        self.push_at(rel, rel, message, help, rule);
    }

    /// An error the API server reports at `rel`, located at `at` (a key inside it).
    pub fn push_at(
        &mut self,
        rel: &FieldPath,
        at: &FieldPath,
        message: impl Into<String>,
        help: impl Into<String>,
        rule: &'static str,
    ) {
        let join = |p: &FieldPath| {
            let mut full = self.base.clone();
            full.0.extend(p.0.iter().cloned());
            full
        };
        let mut d = Diagnostic::error(join(rel), message)
            .with_help(help)
            .with_rule(rule);
        d.span = Some(self.doc.span_of(&join(at)));
        self.out.push(d);
    }

    /// The diagnostics collected.
    pub fn finish(self) -> Vec<Diagnostic> {
        self.out
    }
}

/// Whether `keys` lead to a non-null value below `node` (the API server's nil check on
/// fields k8s-openapi types as required).
pub fn present(node: &Node, keys: &[&str]) -> bool {
    let mut n = node;
    for k in keys {
        match n.get(k) {
            Some(next) => n = next,
            None => return false,
        }
    }
    !matches!(n.value, Value::Null)
}

fn spec() -> FieldPath {
    FieldPath::root().key("spec")
}

/// `ValidateNonnegativeField`.
pub fn nonneg(out: &mut Sink, path: &FieldPath, value: Option<i64>) {
    if let Some(v) = value.filter(|v| *v < 0) {
        out.push(
            path,
            format!("Invalid value: {v}: must be greater than or equal to 0"),
            "use 0 or a positive number",
            RANGE,
        );
    }
}

/// Go's `%#v` of an `intstr.IntOrString`.
fn go_intstr(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => format!("intstr.IntOrString{{Type:0, IntVal:{i}, StrVal:\"\"}}"),
        IntOrString::String(s) => {
            format!(
                "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                go_quote(s)
            )
        }
    }
}

/// `getPercentValue`: the number of a valid `N%`.
fn percent(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(s) => {
            let digits = s.strip_suffix('%')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(digits.parse().unwrap_or(i64::MAX))
        }
        IntOrString::Int(_) => None,
    }
}

/// `getIntOrPercentValue` (`IntValue` reads a non-percent string as a number, else 0).
fn int_or_percent(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => percent(v).unwrap_or_else(|| s.parse().unwrap_or(0)),
    }
}

/// `ValidatePositiveIntOrPercent`.
fn check_intstr(out: &mut Sink, path: &FieldPath, v: &IntOrString) {
    match v {
        IntOrString::String(_) if percent(v).is_none() => out.push(
            path,
            format!("Invalid value: {}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')", go_intstr(v)),
            "give a whole number (e.g. 1) or a percentage (e.g. 25%)",
            STRATEGY,
        ),
        IntOrString::Int(i) if *i < 0 => out.push(
            path,
            format!("Invalid value: {i}: must be greater than or equal to 0"),
            "give 0 or more",
            STRATEGY,
        ),
        _ => {}
    }
}

/// `IsNotMoreThan100Percent`.
fn at_most_100(out: &mut Sink, path: &FieldPath, v: &IntOrString) {
    if percent(v).is_some_and(|p| p > 100) {
        out.push(
            path,
            format!(
                "Invalid value: {}: must not be greater than 100%",
                go_intstr(v)
            ),
            "give at most 100%",
            STRATEGY,
        );
    }
}

/// The parts of a pod template the workload rules look at.
pub struct Template<'t> {
    /// Where it is (below the object): `spec.template`.
    pub path: FieldPath,
    /// Its labels.
    pub labels: Option<&'t BTreeMap<String, String>>,
    /// Its spec.
    pub spec: Option<&'t core::PodSpec>,
}

impl<'t> Template<'t> {
    /// The template at `path`.
    pub fn new(t: &'t core::PodTemplateSpec, path: FieldPath) -> Self {
        Template {
            path,
            labels: t.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            spec: t.spec.as_ref(),
        }
    }

    /// Its restartPolicy after defaulting (Always), when it is one the pod validation
    /// accepts: an unknown value is reported there already.
    pub fn restart_policy(&self) -> Option<&'t str> {
        let rp = self
            .spec
            .and_then(|s| s.restart_policy.as_deref())
            .unwrap_or("Always");
        matches!(rp, "Always" | "OnFailure" | "Never").then_some(rp)
    }

    fn labels_path(&self) -> FieldPath {
        self.path.key("metadata").key("labels")
    }

    /// The selector-matches-labels rule; `selector` None is a nil selector, which selects
    /// nothing (`labels.Nothing()`), so no template matches it.
    pub fn must_match(&self, out: &mut Sink, selector: Option<&LabelSelector>) {
        let ok = match selector {
            None => false,
            Some(s) => sel::is_empty(s) || sel::matches(s, self.labels),
        };
        if !ok {
            out.push(
                &self.labels_path(),
                format!(
                    "Invalid value: {}: `selector` does not match template `labels`",
                    go_map(self.labels)
                ),
                "give the pod template every label spec.selector requires (e.g. app: web under spec.template.metadata.labels), or change the selector",
                sel::RULE,
            );
        }
    }

    /// `ValidateLabels` of the template's labels (part of `ValidatePodTemplateSpec`).
    pub fn check_labels(&self, out: &mut Sink) {
        sel::validate_labels(self.labels, &self.labels_path(), OTHER, out);
    }

    /// The restartPolicy Always rule and the activeDeadlineSeconds ban of controllers
    /// whose pods run forever; `kind` names the controller as the message does.
    pub fn forever(&self, out: &mut Sink, kind: &str, rule_kind: &str) {
        if let Some(rp) = self.restart_policy().filter(|rp| *rp != "Always") {
            out.push(
                &self.path.key("spec").key("restartPolicy"),
                format!("Unsupported value: {}: supported values: \"Always\"", go_quote(rp)),
                format!("a {kind} keeps its pods running: remove restartPolicy or set it to Always (run-to-completion pods belong in a Job)"),
                RESTART,
            );
        }
        if self.spec.and_then(|s| s.active_deadline_seconds).is_some() {
            out.push(
                &self.path.key("spec").key("activeDeadlineSeconds"),
                format!("Forbidden: activeDeadlineSeconds in {rule_kind} is not Supported"),
                format!("remove activeDeadlineSeconds: a {kind}'s pods are not meant to end"),
                OTHER,
            );
        }
    }
}

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
    s: &apps::StatefulSetSpec,
) -> Vec<Diagnostic> {
    let mut out = Sink::new(doc, base);
    let p = spec();
    let policy = s.pod_management_policy.as_deref().unwrap_or("OrderedReady");
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
    match us.and_then(|u| u.type_.as_deref()).unwrap_or("RollingUpdate") {
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
    match s.and_then(|s| s.type_.as_deref()).unwrap_or("RollingUpdate") {
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
#[path = "workload_validate_tests.rs"]
mod tests;
