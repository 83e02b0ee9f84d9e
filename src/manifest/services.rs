//! Services in a manifest: read through k8s-openapi's `Service` into podcheck's model, so a
//! file with a Deployment and the Service in front of it runs the replicas behind it. What
//! podcheck does not emulate of a Service (node ports, load balancers, UDP) is a note, not
//! an error: the manifest is valid and the rest of it still runs.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString as K8sIntOrString;

use super::de::{DeError, Keys, from_node};
use super::fields::key_diagnostics;
use super::yaml::Node;
use crate::diag::{Diagnostic, FieldPath};
use crate::spec::model;

/// One Service found in a manifest.
#[derive(Debug, Clone)]
pub struct ManifestService {
    /// metadata.name.
    pub name: String,
    /// The 1-based document of the file it is in.
    pub document: usize,
    /// Where the object is in its document.
    pub path: FieldPath,
    /// The Service in podcheck's model.
    pub service: model::Service,
}

/// Reads a `kind: Service` object; None (with a diagnostic) when it cannot be used.
pub fn read_service(
    doc: &Node,
    node: &Node,
    path: &FieldPath,
    document: usize,
    out: &mut Vec<Diagnostic>,
) -> Option<ManifestService> {
    let located = |mut d: Diagnostic| {
        d.span = Some(doc.span_of(&d.path));
        d
    };
    let keys = Keys::default();
    let typed: Result<core::Service, DeError> = from_node(node, path.clone(), &keys);
    out.extend(key_diagnostics(&keys.0.into_inner()));
    let svc = match typed {
        Ok(s) => s,
        Err(e) => {
            let mut d = Diagnostic::error(e.path.clone(), e.message.clone())
                .with_help("give the value the type the Kubernetes API defines for this field");
            d.span = e.span.clone().or_else(|| Some(doc.span_of(&e.path)));
            out.push(d);
            return None;
        }
    };
    let name = svc.metadata.name.clone().unwrap_or_default();
    let spec = svc.spec.unwrap_or_default();
    let spath = path.key("spec");
    let unsupported = |field: FieldPath, value: &str, allowed: &[&str]| {
        located(Diagnostic::unsupported(field, value, allowed))
    };
    // "" is unset: the API server defaults it (SetDefaults_Service).
    let kind = super::set(&spec.type_).unwrap_or("ClusterIP");
    const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !TYPES.contains(&kind) {
        out.push(unsupported(spath.key("type"), kind, &TYPES));
        return None;
    }
    if let Some(a) = super::set(&spec.session_affinity)
        && !["ClientIP", "None"].contains(&a)
    {
        out.push(unsupported(
            spath.key("sessionAffinity"),
            a,
            &["ClientIP", "None"],
        ));
    }
    if kind == "ExternalName" && super::set(&spec.external_name).is_none() {
        out.push(located(Diagnostic::error(
            spath.key("externalName"),
            "Required value".to_owned(),
        )));
        return None;
    }
    if kind == "ExternalName" {
        out.push(located(Diagnostic::note(
            spath.key("type"),
            format!("Service {name:?} is skipped: an ExternalName Service is a DNS alias to a name outside the cluster, which podcheck has no network to reach"),
        )));
        return None;
    }
    if kind != "ClusterIP" {
        out.push(located(Diagnostic::note(
            spath.key("type"),
            format!("type: {kind}: podcheck emulates the Service inside the cluster (its endpoints and ClusterIP); there is no node port or load balancer"),
        )));
    }
    if spec.cluster_ip.as_deref() == Some("None") {
        out.push(located(Diagnostic::note(
            spath.key("clusterIP"),
            format!("Service {name:?} is headless: its endpoints follow its pods as for any Service, but podcheck gives it no address and no per-pod DNS names"),
        )));
    }
    if spec.selector.as_ref().is_none_or(|s| s.is_empty()) {
        out.push(located(Diagnostic::note(
            spath.clone(),
            format!("Service {name:?} has no selector: no controller makes its endpoints, so none are recorded"),
        )));
    }
    let headless = spec.cluster_ip.as_deref() == Some("None");
    let declared = spec.ports.as_deref().unwrap_or(&[]);
    if declared.is_empty() {
        if headless {
            // Valid: a headless Service may name its pods without any port.
            out.push(located(Diagnostic::note(
                spath.clone(),
                format!("Service {name:?} is headless and has no ports: podcheck has nothing of it to emulate, so it is skipped"),
            )));
        } else {
            out.push(located(Diagnostic::error(
                spath.key("ports"),
                "Required value".to_owned(),
            )));
        }
        return None;
    }
    let mut ports = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let before = out.len();
    let mut names = std::collections::BTreeSet::new();
    for (i, p) in declared.iter().enumerate() {
        // validateServicePort: every port named when there are several (UDP ones too), each
        // name a DNS-1123 label, no name twice.
        let name_at = spath.key("ports").index(i).key("name");
        match super::set(&p.name) {
            None if declared.len() > 1 => out.push(located(Diagnostic::error(
                name_at,
                "Required value".to_owned(),
            ))),
            None => {}
            Some(n) => {
                for why in crate::spec::api_names::dns1123_label_errors(n) {
                    out.push(located(Diagnostic::error(
                        name_at.clone(),
                        format!("Invalid value: {n:?}: {why}"),
                    )));
                }
                if !names.insert(n) {
                    out.push(located(Diagnostic::error(
                        name_at,
                        format!("Duplicate value: {n:?}"),
                    )));
                }
            }
        }
        let proto = super::set(&p.protocol).unwrap_or("TCP");
        if !["SCTP", "TCP", "UDP"].contains(&proto) {
            out.push(unsupported(
                spath.key("ports").index(i).key("protocol"),
                proto,
                &["SCTP", "TCP", "UDP"],
            ));
            continue;
        }
        if !seen.insert((p.port, proto)) {
            out.push(located(Diagnostic::error(
                spath.key("ports").index(i),
                format!(
                    "Duplicate value: {{\"port\": {}, \"protocol\": {proto:?}}}",
                    p.port
                ),
            )));
            continue;
        }
        if proto != "TCP" {
            out.push(located(Diagnostic::note(
                spath.key("ports").index(i).key("protocol"),
                format!(
                    "port {} ({proto}) is left out: podcheck's Services carry TCP only",
                    p.port
                ),
            )));
            continue;
        }
        ports.push(model::ServicePort {
            name: p.name.clone(),
            port: i64::from(p.port),
            // 0 and "" are unset: the API server defaults them to the port.
            target_port: p.target_port.as_ref().and_then(|t| match t {
                K8sIntOrString::Int(0) => None,
                K8sIntOrString::String(s) if s.is_empty() => None,
                K8sIntOrString::Int(n) => Some(model::IntOrString::Int(i64::from(*n))),
                K8sIntOrString::String(s) => Some(model::IntOrString::String(s.clone())),
            }),
            protocol: None,
        });
    }
    if out.len() > before
        && out[before..]
            .iter()
            .any(|d| d.severity == crate::diag::Severity::Error)
    {
        return None;
    }
    if ports.is_empty() {
        out.push(located(Diagnostic::note(
            spath.key("ports"),
            format!("Service {name:?} has no TCP port: podcheck's Services carry TCP only, so it is skipped"),
        )));
        return None;
    }
    Some(ManifestService {
        name,
        document,
        path: path.clone(),
        service: model::Service {
            namespace: svc.metadata.namespace.clone(),
            selector: spec.selector.unwrap_or_default(),
            ports,
            publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
        },
    })
}
