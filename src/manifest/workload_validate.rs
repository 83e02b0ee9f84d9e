//! What the workload validation shares: the lint ids, the sink that locates findings in
//! the manifest, the API server's small rules (non-negative fields, int-or-percent) and the
//! pod template's own rules (selector match, labels, restartPolicy). The kinds are in
//! [`super::workload_apps`] (apps/v1 and ReplicationController) and
//! [`super::workload_batch`] (Job, CronJob). The pod template's spec is validated like any
//! pod (`crate::spec::validate`); this is everything around it.
//!
//! The API server validates after defaulting (replicas 1, maxSurge/maxUnavailable 25%,
//! progressDeadlineSeconds 600, …), so the defaults are applied first, as it would.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::workload_selector::{self as sel, go_map, go_quote};
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

/// The API server's limit on the size of an object's annotations, keys and values together
/// (`TotalAnnotationSizeLimitB`).
pub const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// `ValidateObjectMeta`'s label and annotation rules for metadata at `meta_path` (below the
/// object): `ValidateLabels` when `labels` (a bare Pod's are checked with its spec), and
/// `ValidateAnnotations` (each key a qualified name, case aside; 256 KiB in all).
pub fn object_meta(
    out: &mut Sink,
    meta_path: &FieldPath,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    labels: bool,
) {
    if labels {
        sel::validate_labels(meta.labels.as_ref(), &meta_path.key("labels"), OTHER, out);
    }
    let Some(annotations) = &meta.annotations else {
        return;
    };
    let path = meta_path.key("annotations");
    for k in annotations.keys() {
        for m in crate::spec::api_names::qualified_name_errors(&k.to_lowercase()) {
            out.push_at(
                &path,
                &path.key(k),
                format!("Invalid value: {}: {m}", go_quote(k)),
                "an annotation key is a name of at most 63 letters, digits, '-', '_' or '.', with an optional DNS prefix (e.g. example.com/owner)",
                OTHER,
            );
        }
    }
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > ANNOTATIONS_MAX_BYTES {
        out.push(
            &path,
            format!("Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes"),
            "keep large data out of annotations (a ConfigMap holds up to 1 MiB)",
            OTHER,
        );
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

/// `spec`, where every workload rule starts.
pub(super) fn spec() -> FieldPath {
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
pub(super) fn go_intstr(v: &IntOrString) -> String {
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
pub(super) fn percent(v: &IntOrString) -> Option<i64> {
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
pub(super) fn int_or_percent(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => percent(v).unwrap_or_else(|| s.parse().unwrap_or(0)),
    }
}

/// `ValidatePositiveIntOrPercent`.
pub(super) fn check_intstr(out: &mut Sink, path: &FieldPath, v: &IntOrString) {
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
pub(super) fn at_most_100(out: &mut Sink, path: &FieldPath, v: &IntOrString) {
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
            .and_then(|s| super::set(&s.restart_policy))
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
