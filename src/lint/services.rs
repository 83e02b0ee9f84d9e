//! Checks between Services and the pods they select, over every manifest of one lint run
//! (a Service and its Deployment often live in different files): a Service whose selector
//! matches no pod linted beside it, and a named `targetPort` that none of its pods
//! declares, so the endpoints carry no port and every connection through it fails (the
//! EndpointSlice controller skips such a port: `podutil.FindPort`).

use std::collections::{BTreeMap, BTreeSet};

use super::registry::IGNORE_ANNOTATION;
use super::{Finding, Severity};
use crate::diag::{Diagnostic, line_col};
use crate::manifest::ManifestFile;
use crate::manifest::objects::ManifestPod;
use crate::manifest::services::ManifestService;
use crate::spec::model::{IntOrString, POD_INDEX, Pod, STS_POD_NAME};

/// The findings for every Service of `files`, each with the index of its file.
pub fn check(files: &[&ManifestFile]) -> Vec<(usize, Finding)> {
    let pods: Vec<&ManifestPod> = files.iter().flat_map(|f| f.pods.iter()).collect();
    let mut out = Vec::new();
    for (fi, file) in files.iter().enumerate() {
        for s in &file.services {
            let ignored = ignored_ids(file, s);
            for (id, d) in service_findings(s, &pods) {
                if ignored.contains(id) {
                    continue;
                }
                out.push((fi, located(file, s, id, d)));
            }
        }
    }
    out
}

fn namespace(ns: Option<&str>) -> &str {
    ns.unwrap_or("default")
}

/// What is wrong between `s` and the pods linted with it.
fn service_findings(s: &ManifestService, pods: &[&ManifestPod]) -> Vec<(&'static str, Diagnostic)> {
    let svc = &s.service;
    let ns = namespace(svc.namespace.as_deref());
    if svc.selector.is_empty() {
        return Vec::new();
    }
    let same_ns: Vec<&ManifestPod> = pods
        .iter()
        .copied()
        .filter(|p| namespace(p.pod.namespace.as_deref()) == ns)
        .collect();
    // Without any pod of its namespace in the inputs, the Service's pods live elsewhere.
    if same_ns.is_empty() {
        return Vec::new();
    }
    let selected: Vec<&Pod> = same_ns
        .iter()
        .filter(|p| selects(&svc.selector, p))
        .map(|p| &p.pod)
        .collect();
    let spec = s.path.key("spec");
    if selected.is_empty() {
        let want: Vec<String> = svc
            .selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        return vec![(
            "service-selects-nothing",
            Diagnostic::warning(
                spec.key("selector"),
                format!(
                    "Service {:?} selects {} but no pod linted with it has those labels: it has no endpoints",
                    s.name,
                    want.join(",")
                ),
            )
            .with_help("make the selector match the pod template's metadata.labels (all of them must match)"),
        )];
    }
    let mut out = Vec::new();
    for (i, p) in svc.ports.iter().enumerate() {
        let Some(IntOrString::String(name)) = &p.target_port else {
            continue;
        };
        let declared = selected.iter().any(|pod| {
            pod.containers
                .iter()
                .flat_map(|c| &c.ports)
                .any(|cp| cp.name.as_deref() == Some(name.as_str()))
        });
        if !declared {
            let names: BTreeSet<&str> = selected
                .iter()
                .flat_map(|pod| pod.containers.iter().flat_map(|c| &c.ports))
                .filter_map(|cp| cp.name.as_deref())
                .collect();
            let have = if names.is_empty() {
                "its pods name no ports".to_owned()
            } else {
                format!(
                    "its pods name {}",
                    names
                        .iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.push((
                "service-target-port-missing",
                Diagnostic::warning(
                    spec.key("ports").index(i).key("targetPort"),
                    format!(
                        "targetPort {name:?} names no container port of the pods Service {:?} selects ({have}): its endpoints get no port and connections through it fail",
                        s.name
                    ),
                )
                .with_help("name the port in the container's `ports` (`- name: http, containerPort: 8080`), or give the number"),
            ));
        }
    }
    out
}

/// Whether `selector` matches some replica of `mp`: a StatefulSet's pods differ in the
/// name and ordinal labels its controller gives each (`web-1`, `1`), which a Service per
/// replica selects; the model's pod carries replica 0's.
fn selects(selector: &BTreeMap<String, String>, mp: &ManifestPod) -> bool {
    let labels = &mp.pod.labels;
    let replicas = mp.replicas.map_or(1, |r| u32::try_from(r).unwrap_or(0));
    let mut ordinal: Option<u32> = None;
    for (k, v) in selector {
        let wanted = if k == STS_POD_NAME && labels.contains_key(k) {
            v.strip_prefix(mp.base_name.as_str())
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|n| n.parse::<u32>().ok())
        } else if k == POD_INDEX && labels.contains_key(k) {
            v.parse::<u32>().ok()
        } else if labels.get(k) == Some(v) {
            continue;
        } else {
            return false;
        };
        match (wanted, ordinal) {
            (Some(i), None) if i < replicas => ordinal = Some(i),
            (Some(i), Some(o)) if i == o => {}
            _ => return false,
        }
    }
    true
}

/// The ids the Service's own `podcheck.dev/ignore` annotation silences.
fn ignored_ids(file: &ManifestFile, s: &ManifestService) -> BTreeSet<String> {
    let at = s
        .path
        .key("metadata")
        .key("annotations")
        .key(IGNORE_ANNOTATION);
    file.docs
        .get(s.document.saturating_sub(1))
        .and_then(|d| d.at(&at))
        .and_then(|n| n.as_str())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn located(file: &ManifestFile, s: &ManifestService, id: &'static str, d: Diagnostic) -> Finding {
    let span = file
        .docs
        .get(s.document.saturating_sub(1))
        .map(|n| n.span_of(&d.path));
    let (line, column) = span
        .as_ref()
        .map_or((1, 1), |r| line_col(&file.source, r.start));
    Finding {
        id,
        severity: Severity::Warning,
        file: file.path.clone(),
        line,
        column,
        field: d.path.to_string(),
        message: d.message.clone(),
        fix: d.help.clone().unwrap_or_default(),
        span,
    }
}
