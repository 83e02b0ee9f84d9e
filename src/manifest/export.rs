//! podcheck's pod model → a Kubernetes Pod manifest (`podcheck export`): built from the
//! k8s-openapi types, so it is the API's own field names and shapes, and written as YAML.
//! Everything of a spec that is not a Kubernetes field is listed, never silently dropped
//! or silently kept: `[images]`, `[run]`, `[expect]`, fields podcheck reads but does not
//! keep, and podcheck-only conventions that the pod still carries.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString as KIntOrString;

use crate::diag::{Diagnostic, FileDiagnostics, Severity, line_col};
use crate::spec::model::{self as m, IntOrString};

/// Why a pod could not be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the pod as YAML: {0}")]
pub struct ExportError(String);

/// One exported pod: the Kubernetes object and what was left out or needs attention.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The Pod object.
    pub pod: k::Pod,
    /// One line each: what of the input is not in the manifest, and why.
    pub not_exported: Vec<String>,
    /// One line each: what is in the manifest but will not behave on a cluster as it does
    /// under podcheck (a missing image, podcheck-only variables).
    pub warnings: Vec<String>,
}

/// The Pod for `pod`, named by its `name`, else by `stem` (the spec file's stem) made a
/// DNS-1123 subdomain: the name `podcheck run` gives the pod.
pub fn to_pod(pod: &m::Pod, stem: &str) -> k::Pod {
    let name = pod.name.clone().unwrap_or_else(|| dns1123_name(stem));
    k::Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: pod.namespace.clone(),
            labels: (!pod.labels.is_empty()).then(|| pod.labels.clone()),
            annotations: (!pod.annotations.is_empty()).then(|| pod.annotations.clone()),
            ..Default::default()
        },
        spec: Some(pod_spec(pod)),
        status: None,
    }
}

/// `s` as a DNS-1123 subdomain (lower case, digits, '-' and '.', at most 253 characters,
/// alphanumeric at both ends); `pod` when nothing is left.
pub fn dns1123_name(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(253).collect();
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    let out = out.trim_start_matches(['-', '.']).to_owned();
    if out.is_empty() { "pod".into() } else { out }
}

impl Exported {
    /// The stderr lines: `not exported: …` for each left-out item, `warning: …` for the rest.
    pub fn notices(&self) -> Vec<String> {
        self.not_exported
            .iter()
            .map(|l| format!("not exported: {l}"))
            .chain(self.warnings.iter().map(|w| format!("warning: {w}")))
            .collect()
    }
}

/// Writes pods as YAML documents separated by `---`, as `kubectl apply -f` reads them.
pub fn to_yaml(pods: &[k::Pod]) -> Result<String, ExportError> {
    let mut out = String::new();
    for (i, pod) in pods.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        // The default options quote strings YAML 1.1 would read as booleans or numbers
        // (`yes`, `on`, `0755`), which is what the API server's Go YAML reader needs.
        let doc = serde_saphyr::to_string(pod).map_err(|e| ExportError(e.to_string()))?;
        out.push_str(&doc);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// Exports the pod of a loaded spec, listing the spec's own tables and every field podcheck
/// read but did not keep (from the spec's and its manifest's notes).
pub fn export_spec(spec: &crate::spec::LoadedSpec) -> Exported {
    let pod = to_pod(&spec.spec.pod, &spec.stem);
    let mut not_exported = spec_tables(&spec.warnings.source);
    for file in std::iter::once(&spec.warnings).chain(&spec.related) {
        not_exported.extend(dropped_fields(file));
    }
    Exported {
        pod,
        not_exported,
        warnings: pod_warnings(&spec.spec.pod),
    }
}

/// Exports one pod of a manifest file: a workload's pod template becomes a bare Pod.
pub fn export_manifest_pod(
    file: &super::ManifestFile,
    pod: &super::ManifestPod,
    stem: &str,
) -> Exported {
    let mut not_exported = Vec::new();
    if !pod.object.starts_with("Pod/") {
        not_exported.push(format!(
            "{}: everything but the pod template (replicas, selector, strategy, …): the output is the Pod it would create",
            pod.object
        ));
    }
    // The pod's own findings: under its spec, in its document (paths are per document, so
    // several workloads of a file share them; the document's place in the text tells them
    // apart).
    let doc_start = |k: usize| file.docs.get(k).map(|n| n.span.start);
    let from = doc_start(pod.document.saturating_sub(1)).unwrap_or(0);
    let to = doc_start(pod.document).unwrap_or(usize::MAX);
    let mut own = file.file_diagnostics();
    own.diagnostics.retain(|d| {
        d.path.0.starts_with(&pod.spec_path.0)
            && d.span
                .as_ref()
                .is_none_or(|s| (from..to).contains(&s.start))
    });
    not_exported.extend(dropped_fields(&own));
    Exported {
        pod: to_pod(&pod.pod, stem),
        not_exported,
        warnings: pod_warnings(&pod.pod),
    }
}

/// The file's objects that have no pod (Services, ConfigMaps, CRDs, custom resources) and
/// documents that are no objects: skipped by the reader, so not in the output either.
pub fn skipped_objects(file: &super::ManifestFile) -> Vec<String> {
    let all = file.file_diagnostics();
    all.diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Error && d.message.contains("skipped"))
        .map(|d| located(&all, d))
        .collect()
}

/// The spec's top-level tables and keys besides `[pod]`: podcheck's own, with no place in a
/// Pod. Read from the TOML text so that no key, present or future, is missed.
fn spec_tables(source: &str) -> Vec<String> {
    let Ok(table) = source.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in &table {
        let why = match key.as_str() {
            "pod" => continue,
            "name" => "the spec's title; metadata.name comes from pod.name or the file name",
            "images" => {
                for image in value.as_table().into_iter().flat_map(|t| t.keys()) {
                    out.push(format!(
                        "[images] {image:?}: the local command standing in for the image; a cluster pulls the image from its registry"
                    ));
                }
                continue;
            }
            "run" => {
                for setting in value.as_table().into_iter().flat_map(|t| t.keys()) {
                    let why = match setting.as_str() {
                        "feature_gates" => {
                            "enable the same gates on the cluster's API server and kubelet (--feature-gates)"
                        }
                        "updates" => {
                            "changes podcheck makes to the running pod; on a cluster, kubectl or a controller makes them"
                        }
                        _ => "how podcheck drives the run",
                    };
                    out.push(format!("[run] {setting}: {why}"));
                }
                continue;
            }
            "expect" => "what podcheck checks of the run; a cluster has no such field",
            "manifest" | "object" | "document" => {
                "where the pod was read from; the output is that pod"
            }
            _ => "not a Kubernetes field",
        };
        out.push(format!("{key}: {why}"));
    }
    out
}

/// Fields the reader accepted but the model does not keep, from its notes: "not emulated"
/// fields and volume sources that became empty directories. Resource limits and requests
/// are kept (and exported) although only the memory limit is enforced, so they are not
/// listed.
fn dropped_fields(file: &FileDiagnostics) -> Vec<String> {
    file.diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Error)
        .filter(|d| d.message.contains("does not emulate"))
        .filter(|d| !exported_though_not_emulated(&d.path.to_string()))
        .map(|d| {
            let line = located(file, d);
            if d.message.contains("empty directory here") {
                format!("{line}; exported as `emptyDir: {{}}`: put the real source back")
            } else {
                line
            }
        })
        .collect()
}

/// Fields podcheck does not emulate but keeps, so the exported pod carries them: resources
/// and the service account's name (the downward API reads both).
fn exported_though_not_emulated(path: &str) -> bool {
    path.contains("resources")
        || path.ends_with(".serviceAccountName")
        || path.ends_with(".serviceAccount")
}

fn located(file: &FileDiagnostics, d: &Diagnostic) -> String {
    let at = match &d.span {
        Some(span) => {
            let (l, c) = line_col(&file.source, span.start);
            format!("{}:{l}:{c}: ", file.path.display())
        }
        None => format!("{}: ", file.path.display()),
    };
    // A document-level note (no kind, an unknown kind) has no field to name.
    if d.path.0.is_empty() {
        return format!("{at}{}", d.message);
    }
    format!("{at}{}: {}", d.path, d.message)
}

/// What the exported pod carries that a cluster treats differently from podcheck.
fn pod_warnings(pod: &m::Pod) -> Vec<String> {
    let mut out = Vec::new();
    for c in pod.init_containers.iter().chain(&pod.containers) {
        if c.image.is_none() {
            out.push(format!(
                "container {:?} has no image (a podcheck extension): the API server rejects the pod until `image` is set",
                c.name
            ));
        }
        let local = c.command.iter().chain(c.args.iter()).flatten().any(|a| {
            a.contains("PODCHECK_VOLUME_") || a.contains("PODCHECK_TERMINATION_MESSAGE_PATH")
        });
        if local {
            out.push(format!(
                "container {:?} uses PODCHECK_VOLUME_*/PODCHECK_TERMINATION_MESSAGE_PATH, which a cluster does not set: use the mountPath and terminationMessagePath",
                c.name
            ));
        }
    }
    out
}

fn some_vec<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// An API int32 field; out-of-range values (which validation rejects) saturate.
fn i32_of(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

fn pod_spec(pod: &m::Pod) -> k::PodSpec {
    k::PodSpec {
        restart_policy: pod.restart_policy.map(|p| p.as_str().to_owned()),
        termination_grace_period_seconds: pod.termination_grace_period_seconds,
        active_deadline_seconds: pod.active_deadline_seconds,
        init_containers: some_vec(pod.init_containers.iter().map(container).collect()),
        containers: pod.containers.iter().map(container).collect(),
        volumes: some_vec(pod.volumes.iter().map(volume).collect()),
        os: pod.os.as_ref().map(|o| k::PodOS {
            name: o.name.clone(),
        }),
        readiness_gates: some_vec(
            pod.readiness_gates
                .iter()
                .map(|g| k::PodReadinessGate {
                    condition_type: g.condition_type.clone(),
                })
                .collect(),
        ),
        security_context: pod
            .security_context
            .as_ref()
            .map(|s| k::PodSecurityContext {
                run_as_user: s.run_as_user,
                run_as_group: s.run_as_group,
                run_as_non_root: s.run_as_non_root,
                supplemental_groups: some_vec(s.supplemental_groups.clone()),
                ..Default::default()
            }),
        enable_service_links: pod.enable_service_links,
        hostname: pod.hostname.clone(),
        subdomain: pod.subdomain.clone(),
        host_aliases: some_vec(
            pod.host_aliases
                .iter()
                .map(|a| k::HostAlias {
                    ip: a.ip.clone(),
                    hostnames: some_vec(a.hostnames.clone()),
                })
                .collect(),
        ),
        dns_policy: pod.dns_policy.map(|p| p.as_str().to_owned()),
        dns_config: pod.dns_config.as_ref().map(|c| k::PodDNSConfig {
            nameservers: some_vec(c.nameservers.clone()),
            searches: some_vec(c.searches.clone()),
            options: some_vec(
                c.options
                    .iter()
                    .map(|o| k::PodDNSConfigOption {
                        name: Some(o.name.clone()),
                        value: o.value.clone(),
                    })
                    .collect(),
            ),
        }),
        service_account_name: pod.service_account_name.clone(),
        resources: (!pod.pod_limits.is_empty()).then(|| k::ResourceRequirements {
            limits: Some(
                pod.pod_limits
                    .iter()
                    .map(|(k, v)| (k.clone(), Quantity(v.clone())))
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A downward-API variable's source, None for a literal value.
fn env_source(e: &m::EnvVar) -> Option<k::EnvVarSource> {
    if let Some(path) = &e.field_ref {
        return Some(k::EnvVarSource {
            field_ref: Some(k::ObjectFieldSelector {
                field_path: path.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let r = e.resource_field_ref.as_ref()?;
    Some(k::EnvVarSource {
        resource_field_ref: Some(k::ResourceFieldSelector {
            resource: r.resource.clone(),
            container_name: r.container_name.clone(),
            divisor: r.divisor.clone().map(Quantity),
        }),
        ..Default::default()
    })
}

fn container(c: &m::Container) -> k::Container {
    k::Container {
        name: c.name.clone(),
        image: c.image.clone(),
        image_pull_policy: c.image_pull_policy.map(|p| {
            match p {
                m::PullPolicy::Always => "Always",
                m::PullPolicy::IfNotPresent => "IfNotPresent",
                m::PullPolicy::Never => "Never",
            }
            .to_owned()
        }),
        command: c.command.clone(),
        args: c.args.clone(),
        working_dir: c.working_dir.clone(),
        env: some_vec(
            c.env
                .iter()
                // A ConfigMap's or Secret's value is not the container's own.
                .filter(|e| !e.from_object)
                .map(|e| k::EnvVar {
                    name: e.name.clone(),
                    value: (!e.value.is_empty()
                        && e.field_ref.is_none()
                        && e.resource_field_ref.is_none())
                    .then(|| e.value.clone()),
                    value_from: env_source(e),
                })
                .collect(),
        ),
        ports: some_vec(
            c.ports
                .iter()
                .map(|p| k::ContainerPort {
                    name: p.name.clone(),
                    container_port: i32_of(p.container_port),
                    protocol: p.protocol.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
        volume_mounts: some_vec(
            c.volume_mounts
                .iter()
                .map(|v| k::VolumeMount {
                    name: v.name.clone(),
                    mount_path: v.mount_path.clone(),
                    read_only: v.read_only.then_some(true),
                    sub_path: v.sub_path.clone(),
                    sub_path_expr: v.sub_path_expr.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
        restart_policy: c.restart_policy.map(|p| {
            match p {
                m::ContainerRestartPolicy::Always => "Always",
                m::ContainerRestartPolicy::OnFailure => "OnFailure",
                m::ContainerRestartPolicy::Never => "Never",
            }
            .to_owned()
        }),
        restart_policy_rules: some_vec(
            c.restart_policy_rules
                .iter()
                .map(|r| k::ContainerRestartRule {
                    action: r.action.clone(),
                    exit_codes: r
                        .exit_codes
                        .as_ref()
                        .map(|e| k::ContainerRestartRuleOnExitCodes {
                            operator: e.operator.clone(),
                            values: some_vec(e.values.clone()),
                        }),
                })
                .collect(),
        ),
        termination_message_path: c.termination_message_path.clone(),
        termination_message_policy: c.termination_message_policy.map(|p| {
            match p {
                m::TerminationMessagePolicy::File => "File",
                m::TerminationMessagePolicy::FallbackToLogsOnError => "FallbackToLogsOnError",
            }
            .to_owned()
        }),
        liveness_probe: c.liveness_probe.as_ref().map(probe),
        readiness_probe: c.readiness_probe.as_ref().map(probe),
        startup_probe: c.startup_probe.as_ref().map(probe),
        lifecycle: c.lifecycle.as_ref().map(|l| k::Lifecycle {
            post_start: l.post_start.as_ref().map(handler),
            pre_stop: l.pre_stop.as_ref().map(handler),
            stop_signal: l.stop_signal.clone(),
        }),
        resources: c.resources.as_ref().map(|r| {
            let q = |m: &BTreeMap<String, String>| {
                (!m.is_empty()).then(|| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), Quantity(v.clone())))
                        .collect()
                })
            };
            k::ResourceRequirements {
                limits: q(&r.limits),
                requests: q(&r.requests),
                claims: None,
            }
        }),
        security_context: c.security_context.as_ref().map(|s| k::SecurityContext {
            run_as_user: s.run_as_user,
            run_as_group: s.run_as_group,
            run_as_non_root: s.run_as_non_root,
            read_only_root_filesystem: s.read_only_root_filesystem,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn volume(v: &m::Volume) -> k::Volume {
    // A configMap, secret or projected volume goes out as the manifest wrote it.
    if let Some(p) = &v.projection {
        return p.source.clone();
    }
    k::Volume {
        name: v.name.clone(),
        empty_dir: v.empty_dir.as_ref().map(|e| k::EmptyDirVolumeSource {
            medium: e.medium.clone(),
            size_limit: e.size_limit.clone().map(Quantity),
            ..Default::default()
        }),
        host_path: v.host_path.as_ref().map(|h| k::HostPathVolumeSource {
            path: h.path.clone(),
            type_: h.type_.clone(),
        }),
        ..Default::default()
    }
}

fn port(p: &IntOrString) -> KIntOrString {
    match p {
        IntOrString::Int(i) => KIntOrString::Int(i32_of(*i)),
        IntOrString::String(s) => KIntOrString::String(s.clone()),
    }
}

fn exec(e: &m::ExecAction) -> k::ExecAction {
    k::ExecAction {
        command: Some(e.command.clone()),
    }
}

fn http_get(h: &m::HttpGetAction) -> k::HTTPGetAction {
    k::HTTPGetAction {
        path: h.path.clone(),
        port: port(&h.port),
        host: h.host.clone(),
        scheme: h.scheme.clone(),
        http_headers: some_vec(
            h.http_headers
                .iter()
                .map(|x| k::HTTPHeader {
                    name: x.name.clone(),
                    value: x.value.clone(),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

fn tcp(t: &m::TcpSocketAction) -> k::TCPSocketAction {
    k::TCPSocketAction {
        port: port(&t.port),
        host: t.host.clone(),
    }
}

fn probe(p: &m::Probe) -> k::Probe {
    k::Probe {
        exec: p.exec.as_ref().map(exec),
        http_get: p.http_get.as_ref().map(http_get),
        tcp_socket: p.tcp_socket.as_ref().map(tcp),
        grpc: p.grpc.as_ref().map(|g| k::GRPCAction {
            port: i32_of(g.port),
            service: g.service.clone(),
            ..Default::default()
        }),
        initial_delay_seconds: p.initial_delay_seconds.map(i32_of),
        period_seconds: p.period_seconds.map(i32_of),
        timeout_seconds: p.timeout_seconds.map(i32_of),
        success_threshold: p.success_threshold.map(i32_of),
        failure_threshold: p.failure_threshold.map(i32_of),
        termination_grace_period_seconds: p.termination_grace_period_seconds,
    }
}

fn handler(h: &m::LifecycleHandler) -> k::LifecycleHandler {
    k::LifecycleHandler {
        exec: h.exec.as_ref().map(exec),
        http_get: h.http_get.as_ref().map(http_get),
        tcp_socket: h.tcp_socket.as_ref().map(tcp),
        sleep: h
            .sleep
            .as_ref()
            .map(|s| k::SleepAction { seconds: s.seconds }),
    }
}

#[cfg(test)]
mod tests;
