//! The objects of a manifest: which kinds have a pod template, where it is, and the one pod
//! podcheck runs for each workload.

use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::convert::Converter;
use super::de::{DeError, Keys, from_node};
use super::fields::key_diagnostics;
use super::workload_apps as wa;
use super::yaml::{Node, Value};
use crate::diag::{Diagnostic, FieldPath};
use crate::spec::model;

/// The kinds whose pod podcheck can run.
pub const KINDS: [&str; 8] = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// One runnable pod found in a manifest.
#[derive(Debug, Clone)]
pub struct ManifestPod {
    /// `Kind/name`, e.g. `Deployment/web`.
    pub object: String,
    /// The 1-based document of the file it is in.
    pub document: usize,
    /// The pod, in podcheck's model (name and namespace filled in).
    pub pod: model::Pod,
    /// Where the PodSpec is in its document, to map validation paths back.
    pub spec_path: FieldPath,
    /// Where the object's `metadata.name` is.
    pub name_path: FieldPath,
    /// The object's kind (`Deployment`).
    pub kind: String,
    /// The name its pods are named after (the object's name, or its generateName).
    pub base_name: String,
    /// `spec.replicas` where the kind has it (unset means 1).
    pub replicas: Option<i32>,
    /// Where the object is in its document.
    pub object_path: FieldPath,
}

/// Everything runnable found in a manifest file's documents.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The workloads' pods.
    pub pods: Vec<ManifestPod>,
    /// The Services.
    pub services: Vec<super::services::ManifestService>,
    /// The file's ConfigMaps and Secrets, read before its workloads so their variables
    /// resolve whatever the documents' order.
    pub config: super::config_refs::ConfigObjects,
}

/// Whether an object of `kind` is a list of objects in `items` (`List`, or a typed
/// `PodList`, `ConfigMapList`, … that has items).
pub(super) fn is_list(kind: &str, node: &Node) -> bool {
    kind == "List" || (kind.ends_with("List") && node.get("items").is_some())
}

/// Reads every object of one document (a `List` contributes its items).
pub fn read_document(doc: &Node, document: usize, found: &mut Found, out: &mut Vec<Diagnostic>) {
    read_object(doc, doc, &FieldPath::root(), document, found, out);
}

fn read_object(
    doc: &Node,
    node: &Node,
    path: &FieldPath,
    document: usize,
    found: &mut Found,
    out: &mut Vec<Diagnostic>,
) {
    let located = |mut d: Diagnostic| {
        d.span = Some(doc.span_of(&d.path));
        d
    };
    if !matches!(node.value, Value::Map(_)) {
        out.push(located(
            Diagnostic::error(
                path.clone(),
                format!("a Kubernetes object must be a mapping, but this is {}", node.type_name()),
            )
            .with_help("each YAML document (or List item) is one object with apiVersion, kind, metadata and spec"),
        ));
        return;
    }
    let kind = node.get("kind").and_then(Node::as_str);
    // A List's item is named by its path already; a document by its number.
    let what = if path.0.is_empty() {
        format!("document {document}")
    } else {
        "this List item".to_owned()
    };
    let Some(kind) = kind else {
        if node.get("apiVersion").is_some() {
            // Meant as an object: kubectl refuses it before the API server sees it.
            out.push(located(
                Diagnostic::error(
                    path.key("kind"),
                    format!("{what} has an apiVersion but no kind: kind not set (as kubectl says)"),
                )
                .with_help("add the object's kind, e.g. `kind: Pod` or `kind: Deployment`"),
            ));
            return;
        }
        out.push(located(
            Diagnostic::note(
                path.clone(),
                format!("{what} is not a Kubernetes object (no `kind`): skipped"),
            )
            .with_help("podcheck reads objects with apiVersion and kind, e.g. `kind: Deployment`"),
        ));
        return;
    };
    if is_list(kind, node) {
        match node.get("items").map(|n| &n.value) {
            Some(Value::Seq(items)) => {
                for (i, item) in items.iter().enumerate() {
                    read_object(doc, item, &path.key("items").index(i), document, found, out);
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => out.push(located(Diagnostic::error(
                path.key("items"),
                "`items` of a List must be a list of objects",
            ))),
        }
        return;
    }
    if node.get("apiVersion").is_none() {
        out.push(located(
            Diagnostic::error(
                path.key("apiVersion"),
                format!("{what} has a kind but no apiVersion: apiVersion not set (as kubectl says)"),
            )
            .with_help("add the object's apiVersion, e.g. `apiVersion: v1` for a Pod or `apiVersion: apps/v1` for a Deployment"),
        ));
        return;
    }
    // ValidateObjectMeta: every object is named (generateName lets the server make it).
    let meta = node.get("metadata");
    let named = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Node::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    let read =
        kind == "Service" || kind == "ConfigMap" || kind == "Secret" || KINDS.contains(&kind);
    if read && !named("name") && !named("generateName") {
        out.push(located(
            Diagnostic::error(
                path.key("metadata").key("name"),
                "Required value: name or generateName is required".to_owned(),
            )
            .with_help("give the object a `metadata: {name: ...}`"),
        ));
    }
    if kind == "Service" {
        found.services.extend(super::services::read_service(
            doc, node, path, document, out,
        ));
        return;
    }
    if kind == "ConfigMap" || kind == "Secret" {
        super::config_validate::check(doc, node, kind, path, out);
    }
    if !KINDS.contains(&kind) {
        out.push(located(match miscased_kind(kind) {
            Some(meant) => miscased(node, kind, meant, path),
            None => skipped_kind(node, kind, path),
        }));
        return;
    }
    if let Some(d) = super::versions::unserved_version(node, kind, path) {
        out.push(located(d));
        return;
    }
    let keys = Keys::default();
    let workload = typed(kind, doc, node, path, &keys);
    out.extend(key_diagnostics(&keys.0.into_inner()));
    match workload {
        Ok(Some(mut w)) => {
            out.append(&mut w.checks);
            found
                .pods
                .push(w.into_pod(doc, kind, document, path, &found.config, out));
        }
        Ok(None) => out.push(located(
            Diagnostic::error(path.key("spec"), format!("this {kind} has no pod template"))
                .with_help("add spec.template with the pod's metadata and spec"),
        )),
        Err(e) => {
            for e in more_type_errors(kind, doc, node, path, e) {
                let mut d =
                    Diagnostic::error(e.path.clone(), e.message.clone()).with_help(type_help(&e));
                d.span = e.span.clone().or_else(|| Some(doc.span_of(&e.path)));
                out.push(d);
            }
        }
    }
}

/// The most type errors reported for one object.
const MAX_TYPE_ERRORS: usize = 20;

/// `first` and the object's further type errors. serde stops at the first, so the value at
/// fault is replaced by a stand-in and the object read again, until it reads or an error
/// repeats: every wrong value is reported at once. Null (an unset optional field) fits most
/// fields; an element of a list does not take null, so an empty string (a list of strings)
/// or an empty mapping (a list of objects) stands in there.
fn more_type_errors(
    kind: &str,
    doc: &Node,
    node: &Node,
    path: &FieldPath,
    first: DeError,
) -> Vec<DeError> {
    let mut errors = vec![first];
    let mut patched = node.clone();
    // Bounded: each pass adds an error at a new path or ends, and at most MAX_TYPE_ERRORS.
    while errors.len() < MAX_TYPE_ERRORS {
        let Some(last) = errors.last() else { break };
        let Some(rel) = last.path.0.strip_prefix(path.0.as_slice()) else {
            break;
        };
        let rel = FieldPath(rel.to_vec());
        let at = last.path.clone();
        let mut next = None;
        for stand_in in [
            Value::Null,
            Value::Str(String::new()),
            Value::Map(Vec::new()),
        ] {
            if !patched.set_value(&rel, stand_in) {
                continue;
            }
            match typed(kind, doc, &patched, path, &Keys::default()) {
                Err(e) if e.path == at => {}
                Err(e) => {
                    next = Some(e);
                    break;
                }
                Ok(_) => break,
            }
        }
        match next {
            Some(e) if !errors.iter().any(|x| x.path == e.path) => errors.push(e),
            _ => break,
        }
    }
    errors
}

/// The kind podcheck knows that `kind` spells in other letter case (`pod` for `Pod`): kinds
/// are case-sensitive, so the API server knows no such kind.
fn miscased_kind(kind: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .chain(&["Service", "ConfigMap", "Secret", "List"])
        .find(|k| k.eq_ignore_ascii_case(kind) && **k != kind)
        .copied()
}

/// The API server's answer to a kind in the wrong letter case.
fn miscased(node: &Node, kind: &str, meant: &str, path: &FieldPath) -> Diagnostic {
    let version = node.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    Diagnostic::error(
        path.key("kind"),
        format!("no matches for kind {kind:?} in version {version:?} (as the API server says)"),
    )
    .with_help(format!("kinds are case-sensitive: write `kind: {meant}`"))
}

/// The note for an object podcheck does not run: a CRD says what it defines, a custom
/// resource with a pod template says that template is not read; other kinds have no pod.
fn skipped_kind(node: &Node, kind: &str, path: &FieldPath) -> Diagnostic {
    let name = name_of(node);
    let runs = KINDS.join(", ");
    let spec = node.get("spec");
    let defines = spec
        .and_then(|s| s.get("names"))
        .and_then(|n| n.get("kind"))
        .and_then(Node::as_str);
    let has_template = spec
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("spec"))
        .is_some();
    let message = match (kind, defines) {
        ("ConfigMap" | "Secret", _) => format!(
            "{kind} {name:?} runs no pod: the variables of this file's containers that name it (envFrom, {}KeyRef) are read from it, and so are the files of volumes that name it",
            if kind == "Secret" {
                "secret"
            } else {
                "configMap"
            }
        ),
        ("CustomResourceDefinition", Some(defined)) => format!(
            "CustomResourceDefinition {name:?} is skipped: it defines the custom resource kind {defined}, it runs no pod"
        ),
        _ if has_template => format!(
            "{kind} {name:?} is skipped: a kind podcheck does not know (a custom resource?), so its spec.template is not read (podcheck runs {runs})"
        ),
        _ => format!(
            "{kind} {name:?} is skipped: it has no pod template podcheck can run (podcheck runs {runs})"
        ),
    };
    let d = Diagnostic::note(path.key("kind"), message);
    if has_template {
        d.with_help("to check its pods, put the pod template in a Deployment (or a spec's [pod]) as the custom controller would create it")
    } else {
        d
    }
}

/// The object's name for a message: `metadata.name`, else its `generateName` followed by
/// `…` (the API server appends a random suffix), else empty.
fn name_of(node: &Node) -> String {
    let meta = node.get("metadata");
    let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Node::as_str);
    match (field("name"), field("generateName")) {
        (Some(n), _) => n.to_owned(),
        (None, Some(g)) => format!("{g}…"),
        (None, None) => String::new(),
    }
}

fn type_help(e: &DeError) -> String {
    if e.message.contains("expected a string") {
        "quote the value: Kubernetes reads this field as a string (e.g. \"8080\", \"true\"; unquoted yes/no/on/off/y/n are booleans, as for kubectl)".into()
    } else if e.message.contains("expected an int32") || e.message.contains("expected an int64") {
        "give a whole number in that range, without quotes".into()
    } else if e.message.contains("invalid value") && e.path.to_string().ends_with("apiVersion") {
        "use the apiVersion the Kubernetes API serves for this kind (apps/v1, batch/v1 or v1)"
            .into()
    } else {
        "give the value the type the Kubernetes API defines for this field".into()
    }
}

/// What a workload contributes: its pod template and replica count.
struct Workload {
    meta: ObjectMeta,
    template_meta: Option<ObjectMeta>,
    spec: core::PodSpec,
    /// The template's path (below the object's).
    template: FieldPath,
    replicas: Option<i32>,
    /// StatefulSet volumeClaimTemplates' names, which pods mount as volumes.
    claims: Vec<String>,
    /// A Job (or a CronJob's job) with completionMode Indexed.
    indexed: bool,
    /// A StatefulSet's serviceName, the subdomain of its pods.
    service_name: Option<String>,
    /// The API server's findings about the object around the pod template.
    checks: Vec<Diagnostic>,
}

/// Reads the object as its k8s-openapi type, with the API server's validation of the
/// workload around its template and of the metadata around the pod spec (the object's
/// own: a bare Pod's labels are checked with its spec, a workload's here; the template's
/// annotations); None when it has no pod template.
fn typed(
    kind: &str,
    doc: &Node,
    node: &Node,
    path: &FieldPath,
    keys: &Keys,
) -> Result<Option<Workload>, DeError> {
    let workload = typed_kind(kind, doc, node, path, keys)?;
    Ok(workload.map(|mut w| {
        let mut out = super::workload_validate::Sink::new(doc, path);
        let own = FieldPath::root().key("metadata");
        super::workload_validate::object_meta(&mut out, &own, &w.meta, kind != "Pod");
        if let Some(t) = &w.template_meta {
            let at = w.template.key("metadata");
            super::workload_validate::object_meta(&mut out, &at, t, false);
        }
        w.checks.extend(out.finish());
        w
    }))
}

/// The workload of `kind` as its k8s-openapi type, with its kind's own validation.
fn typed_kind(
    kind: &str,
    doc: &Node,
    node: &Node,
    path: &FieldPath,
    keys: &Keys,
) -> Result<Option<Workload>, DeError> {
    let tpl = |meta: ObjectMeta,
               t: Option<core::PodTemplateSpec>,
               at: FieldPath,
               replicas: Option<i32>| {
        t.map(|t| Workload {
            meta,
            template_meta: t.metadata,
            spec: t.spec.unwrap_or_default(),
            template: at,
            replicas,
            claims: Vec::new(),
            indexed: false,
            service_name: None,
            checks: Vec::new(),
        })
    };
    let indexed = |w: Option<Workload>, mode: Option<&str>| {
        w.map(|w| Workload {
            indexed: mode == Some("Indexed"),
            ..w
        })
    };
    let with = |w: Option<Workload>, checks: Vec<Diagnostic>| w.map(|w| Workload { checks, ..w });
    let name = |m: &ObjectMeta| m.name.clone().unwrap_or_default();
    let template = FieldPath::root().key("spec").key("template");
    Ok(match kind {
        "Pod" => {
            let p: core::Pod = from_node(node, path.clone(), keys)?;
            Some(Workload {
                meta: p.metadata,
                template_meta: None,
                spec: p.spec.unwrap_or_default(),
                template: FieldPath::root(),
                replicas: None,
                claims: Vec::new(),
                indexed: false,
                service_name: None,
                checks: Vec::new(),
            })
        }
        "Deployment" => {
            let d: apps::Deployment = from_node(node, path.clone(), keys)?;
            let s = d.spec;
            let checks = wa::deployment(doc, node, path, &s);
            with(
                tpl(d.metadata, Some(s.template), template, s.replicas),
                checks,
            )
        }
        "StatefulSet" => {
            let d: apps::StatefulSet = from_node(node, path.clone(), keys)?;
            let s = d.spec;
            let checks = wa::stateful_set(doc, node, path, &name(&d.metadata), &s);
            let claims = s
                .volume_claim_templates
                .iter()
                .flatten()
                .filter_map(|c| c.metadata.name.clone())
                .collect();
            // An invalid serviceName is the StatefulSet validation's to report.
            let service_name = s
                .service_name
                .clone()
                .filter(|n| super::workload_selector::dns1123_label_errors(n).is_empty());
            tpl(d.metadata, Some(s.template), template, s.replicas).map(|w| Workload {
                claims,
                checks,
                service_name,
                ..w
            })
        }
        "DaemonSet" => {
            let d: apps::DaemonSet = from_node(node, path.clone(), keys)?;
            let s = d.spec;
            let checks = wa::daemon_set(doc, node, path, &s);
            with(tpl(d.metadata, Some(s.template), template, None), checks)
        }
        "ReplicaSet" => {
            let d: apps::ReplicaSet = from_node(node, path.clone(), keys)?;
            let s = d.spec;
            let checks = wa::replica_set(doc, node, path, &s);
            with(tpl(d.metadata, s.template, template, s.replicas), checks)
        }
        "ReplicationController" => {
            let d: core::ReplicationController = from_node(node, path.clone(), keys)?;
            let s = d.spec.unwrap_or_default();
            let checks = wa::replication_controller(doc, path, &s);
            with(tpl(d.metadata, s.template, template, s.replicas), checks)
        }
        "Job" => {
            let d: batch::Job = from_node(node, path.clone(), keys)?;
            let s = d.spec.unwrap_or_default();
            let checks = super::workload_batch::job(doc, path, &name(&d.metadata), &s);
            let mode = s.completion_mode.clone();
            let w = with(tpl(d.metadata, Some(s.template), template, None), checks);
            indexed(w, mode.as_deref())
        }
        "CronJob" => {
            let d: batch::CronJob = from_node(node, path.clone(), keys)?;
            let s = d.spec;
            let checks = super::workload_batch::cron_job(doc, path, &name(&d.metadata), &s);
            let job = s.job_template.spec.unwrap_or_default();
            let at = FieldPath::root()
                .key("spec")
                .key("jobTemplate")
                .key("spec")
                .key("template");
            let mode = job.completion_mode.clone();
            let w = with(tpl(d.metadata, Some(job.template), at, None), checks);
            indexed(w, mode.as_deref())
        }
        _ => None,
    })
}

impl Workload {
    fn into_pod(
        self,
        doc: &Node,
        kind: &str,
        document: usize,
        path: &FieldPath,
        config: &super::config_refs::ConfigObjects,
        out: &mut Vec<Diagnostic>,
    ) -> ManifestPod {
        let mut template = path.clone();
        template.0.extend(self.template.0.iter().cloned());
        let spec_path = template.key("spec");
        let ns = self.meta.namespace.as_deref().unwrap_or("default");
        let mut conv = Converter::new(doc, ns, config);
        let mut pod = conv.pod(&self.spec, &spec_path);
        out.append(&mut conv.out);
        let object_name = self.meta.name.clone().unwrap_or_default();
        let located = |mut d: Diagnostic| {
            d.span = Some(doc.span_of(&d.path));
            d
        };
        for claim in &self.claims {
            if !pod.volumes.iter().any(|v| &v.name == claim) {
                out.push(located(Diagnostic::note(
                    path.key("spec").key("volumeClaimTemplates"),
                    format!("volume claim {claim:?} is an empty directory here: podcheck has no persistent volumes"),
                )));
                pod.volumes.push(model::Volume {
                    name: claim.clone(),
                    empty_dir: Some(model::EmptyDir::default()),
                    host_path: None,
                    projection: None,
                });
            }
        }
        // The pod's name as the controller would make it, minus the random suffix.
        let base = self
            .meta
            .name
            .clone()
            .or_else(|| {
                self.meta
                    .generate_name
                    .as_ref()
                    .map(|g| g.trim_end_matches('-').to_owned())
            })
            .unwrap_or_default();
        pod.name = Some(match kind {
            "StatefulSet" => format!("{base}-0"),
            _ => base.clone(),
        })
        .filter(|n| !n.is_empty() && n != "-0");
        // The labels its pods carry, which Services select on, and the annotations the
        // downward API reads: a workload's pods carry its template's, not its own.
        let pod_meta = self.template_meta.as_ref().map_or(&self.meta, |m| m);
        pod.labels = pod_meta.labels.clone().unwrap_or_default();
        pod.annotations = pod_meta.annotations.clone().unwrap_or_default();
        pod.namespace = self
            .meta
            .namespace
            .or_else(|| self.template_meta.and_then(|m| m.namespace));
        if self.indexed {
            super::indexed_job::give_index(&mut pod, &base, 0);
        }
        if kind == "StatefulSet" {
            // The StatefulSet controller's identity (updateIdentity): the hostname is the
            // pod's name (each replica's own, so the template's is dropped) and the
            // subdomain its serviceName, which gives each pod its FQDN.
            pod.hostname = None;
            pod.subdomain = self.service_name.clone();
            // Its identity labels; each replica gets its own (`SpecFile::pod_instances`).
            if let Some(name) = &pod.name {
                pod.labels.insert(model::STS_POD_NAME.into(), name.clone());
                pod.labels.insert(model::POD_INDEX.into(), "0".into());
            }
        }
        let name_path = path.key("metadata").key("name");
        ManifestPod {
            object: format!("{kind}/{object_name}"),
            document,
            pod,
            spec_path,
            name_path,
            kind: kind.to_owned(),
            base_name: base,
            replicas: self.replicas,
            object_path: path.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
