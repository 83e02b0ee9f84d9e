//! API server validation of the manifest fields podcheck's own model does not carry: the
//! container image, `env[].valueFrom` and host ports (`validateContainerCommon`,
//! `validateEnvVarValueFrom`, `AccumulateUniqueHostPorts` in pkg/apis/core/validation, v1.35).
//! Diagnostics have manifest paths; the converter locates them.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1 as k;

use crate::diag::{Diagnostic, FieldPath};
use crate::spec::api_names::{dns1123_subdomain_errors, qualified_name_errors};
use crate::spec::validate_env::env_name_error;
use crate::spec::validate_ports::{PORT_RANGE_MSG, quoted};

/// The field paths an env variable's `fieldRef` may name (`validEnvDownwardAPIFieldPathExpressions`).
pub const ENV_FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// The labels the downward API converts at all (`ConvertDownwardAPIFieldLabel`); others are
/// an "error converting fieldPath".
const CONVERTIBLE_FIELD_PATHS: [&str; 15] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
    "spec.host",
];

/// The resources a `resourceFieldRef` may name, sorted as the API server lists them.
const ENV_RESOURCES: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn error(path: FieldPath, message: impl Into<String>, help: &str) -> Diagnostic {
    Diagnostic::error(path, message).with_help(help)
}

/// validateEnvFrom for item `i` of `list` (the `envFrom` path): a prefix that is a valid
/// variable name, exactly one source, each naming a ConfigMap or Secret. The API server
/// reports the source count at the list itself.
fn env_from(from: &k::EnvFromSource, list: &FieldPath, i: usize, out: &mut Vec<Diagnostic>) {
    let at = list.index(i);
    if let Some(prefix) = from.prefix.as_deref().filter(|p| !p.is_empty())
        && let Some(d) = crate::spec::validate_env::env_name_error(prefix, &at.key("prefix"))
    {
        out.push(d);
    }
    let sources = [
        from.config_map_ref
            .as_ref()
            .map(|r| ("configMapRef", &r.name)),
        from.secret_ref.as_ref().map(|r| ("secretRef", &r.name)),
    ];
    for (field, name) in sources.iter().flatten() {
        let p = at.key(field).key("name");
        if name.is_empty() {
            out.push(error(p, "Required value", "name the ConfigMap or Secret"));
        } else {
            // ValidateConfigMapName(name, prefix = true): a trailing '-' is allowed.
            let checked = name.strip_suffix('-').unwrap_or(name);
            for why in crate::spec::api_names::dns1123_subdomain_errors(checked) {
                out.push(error(
                    p.clone(),
                    format!("Invalid value: {name:?}: {why}"),
                    "name the ConfigMap or Secret by its metadata.name",
                ));
            }
        }
    }
    match sources.iter().flatten().count() {
        0 => out.push(error(
            list.clone(),
            "Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`",
            "give the item a configMapRef or a secretRef",
        )),
        1 => {}
        _ => out.push(error(
            list.clone(),
            "Invalid value: \"\": may not have more than one field specified at a time",
            "split it into two envFrom items, one per source",
        )),
    }
}

/// The container's image and env; `path` is the container's.
pub fn check_container(c: &k::Container, path: &FieldPath) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // The API server requires an image (a spec's TOML may leave it out: an extension).
    if c.image.as_deref().is_none_or(str::is_empty) {
        out.push(error(
            path.key("image"),
            "Required value",
            "give the container its image, e.g. `image: nginx:1.27`; `--image NAME=COMMAND` maps it to a local program",
        ));
    }
    for (i, e) in c.env.iter().flatten().enumerate() {
        let epath = path.key("env").index(i);
        // Literal variables reach the spec validation, which checks their names.
        if let Some(from) = &e.value_from {
            out.extend(env_name_error(&e.name, &epath.key("name")));
            value_from(e, from, &epath.key("valueFrom"), &mut out);
        }
    }
    for (i, from) in c.env_from.iter().flatten().enumerate() {
        env_from(from, &path.key("envFrom"), i, &mut out);
    }
    for (i, p) in c.ports.iter().flatten().enumerate() {
        if let Some(h) = p.host_port.filter(|h| *h != 0 && !(1..=65535).contains(h)) {
            out.push(error(
                path.key("ports").index(i).key("hostPort"),
                format!("Invalid value: {h}: {PORT_RANGE_MSG}"),
                "use a port number between 1 and 65535, or leave hostPort out",
            ));
        }
    }
    out
}

fn value_from(e: &k::EnvVar, from: &k::EnvVarSource, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let mut sources = 0;
    if let Some(f) = &from.field_ref {
        sources += 1;
        field_ref(f, &ENV_FIELD_PATHS, &path.key("fieldRef"), out);
    }
    if let Some(r) = &from.resource_field_ref {
        sources += 1;
        resource_field_ref(r, false, &path.key("resourceFieldRef"), out);
    }
    let key_refs = [
        (
            "configMapKeyRef",
            from.config_map_key_ref
                .as_ref()
                .map(|r| (r.name.as_str(), r.key.as_str())),
        ),
        (
            "secretKeyRef",
            from.secret_key_ref
                .as_ref()
                .map(|r| (r.name.as_str(), r.key.as_str())),
        ),
    ];
    for (field, r) in key_refs {
        let Some((name, key)) = r else { continue };
        sources += 1;
        key_ref(name, key, &path.key(field), out);
    }
    // fileKeyRef (EnvFiles) is a source too; podcheck leaves its rules to the API server.
    if from.file_key_ref.is_some() {
        sources += 1;
    }
    let why = if sources == 0 {
        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
    } else if e.value.as_deref().is_some_and(|v| !v.is_empty()) {
        "may not be specified when `value` is not empty"
    } else if sources > 1 {
        "may not have more than one field specified at a time"
    } else {
        return;
    };
    out.push(error(
        path.clone(),
        format!("Invalid value: \"\": {why}"),
        "give the variable either a literal `value` or exactly one valueFrom source",
    ));
}

/// A `resourceFieldRef` (`validateContainerResourceFieldSelector`): a supported resource, a
/// divisor of one unit, and in a downwardAPI volume the container it reads.
pub(super) fn resource_field_ref(
    r: &k::ResourceFieldSelector,
    volume: bool,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    if volume && r.container_name.as_deref().is_none_or(str::is_empty) {
        out.push(error(
            path.key("containerName"),
            "Required value",
            "a downwardAPI volume file names the container whose resources it reads",
        ));
    }
    let rpath = path.key("resource");
    if r.resource.is_empty() {
        out.push(error(
            rpath,
            "Required value",
            "name a resource, e.g. limits.memory",
        ));
    } else if !ENV_RESOURCES.contains(&r.resource.as_str())
        && !r.resource.starts_with("requests.hugepages-")
        && !r.resource.starts_with("limits.hugepages-")
    {
        out.push(error(
                rpath,
                format!(
                    "Unsupported value: {:?}: supported values: {}",
                    r.resource,
                    quoted(&ENV_RESOURCES)
                ),
                "a resourceFieldRef names a limit or request of cpu, memory, ephemeral-storage or hugepages",
            ));
    }
    divisor(r, &path.key("divisor"), out);
}

/// The divisors the API server allows per resource (`validateContainerResourceDivisor`).
fn divisor(r: &k::ResourceFieldSelector, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let Some(d) = &r.divisor else { return };
    let Some(canonical) = crate::spec::quantity::canonical_quantity(&d.0) else {
        return;
    };
    if canonical == "0" {
        return;
    }
    const BYTES: [&str; 13] = [
        "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
    ];
    let res = r.resource.as_str();
    let kind = match res {
        "limits.cpu" | "requests.cpu" => Some(("cpu", &["1m", "1"][..])),
        "limits.memory" | "requests.memory" => Some(("memory", &BYTES[..])),
        "limits.ephemeral-storage" | "requests.ephemeral-storage" => {
            Some(("local ephemeral storage", &BYTES[..]))
        }
        _ if res.starts_with("limits.hugepages-") || res.starts_with("requests.hugepages-") => {
            Some(("hugepages", &BYTES[..]))
        }
        _ => None,
    };
    let Some((what, allowed)) = kind else { return };
    if !allowed.contains(&canonical.as_str()) {
        let values = if what == "cpu" {
            "1m and 1".to_owned()
        } else {
            BYTES.join(", ")
        };
        out.push(error(
            path.clone(),
            format!("Invalid value: {res:?}: only divisor's values {values} are supported with the {what} resource"),
            "use a divisor of one unit, e.g. 1Mi for memory or 1m for cpu",
        ));
    }
}

/// The field paths a downwardAPI volume file's `fieldRef` may name
/// (`validVolumeDownwardAPIFieldPathExpressions`), sorted.
pub const VOLUME_FIELD_PATHS: [&str; 5] = [
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];

/// A `fieldRef` (`validateObjectFieldSelector`): a path the downward API converts, one of
/// `valid` or a label or annotation subscript with a valid key.
pub(super) fn field_ref(
    f: &k::ObjectFieldSelector,
    valid: &[&str],
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    let fpath = path.key("fieldPath");
    if f.field_path.is_empty() {
        out.push(error(
            fpath,
            "Required value",
            "name a pod field, e.g. metadata.name",
        ));
        return;
    }
    let fp = f.field_path.as_str();
    // apiVersion defaults to v1, the only version the downward API converts.
    let version = f
        .api_version
        .as_deref()
        .filter(|v| !v.is_empty())
        .unwrap_or("v1");
    let subscripted = fp
        .strip_suffix("']")
        .and_then(|s| s.split_once("['"))
        .filter(|(p, _)| !p.is_empty());
    let convert_error = if version != "v1" {
        Some(format!("unsupported pod version: {version}"))
    } else if let Some((p, _)) = subscripted {
        (!["metadata.annotations", "metadata.labels"].contains(&p))
            .then(|| format!("field label does not support subscript: {fp}"))
    } else {
        (!CONVERTIBLE_FIELD_PATHS.contains(&fp)).then(|| format!("field label not supported: {fp}"))
    };
    let help = format!(
        "a fieldRef can take {} or metadata.labels['KEY'] / metadata.annotations['KEY']",
        valid.join(", ")
    );
    if let Some(why) = convert_error {
        out.push(error(
            fpath,
            format!("Invalid value: {fp:?}: error converting fieldPath: {why}"),
            &help,
        ));
        return;
    }
    match subscripted {
        Some((p, key)) => {
            let key = if p == "metadata.annotations" {
                key.to_lowercase()
            } else {
                key.to_owned()
            };
            for why in qualified_name_errors(&key) {
                out.push(error(
                    path.clone(),
                    format!("Invalid value: {key:?}: {why}"),
                    "the key in brackets is a label or annotation key, e.g. metadata.labels['app']",
                ));
            }
        }
        None => {
            let internal = if fp == "spec.host" {
                "spec.nodeName"
            } else {
                fp
            };
            if !valid.contains(&internal) {
                out.push(error(
                    fpath,
                    format!(
                        "Unsupported value: {internal:?}: supported values: {}",
                        quoted(valid)
                    ),
                    &help,
                ));
            }
        }
    }
}

/// A configMapKeyRef's or secretKeyRef's name and key (`validateConfigMapKeySelector`).
fn key_ref(name: &str, key: &str, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    for why in dns1123_subdomain_errors(name) {
        out.push(error(
            path.key("name"),
            format!("Invalid value: {name:?}: {why}"),
            "name the ConfigMap or Secret, e.g. app-config",
        ));
    }
    let kpath = path.key("key");
    if key.is_empty() {
        out.push(error(
            kpath,
            "Required value",
            "name the key of the ConfigMap or Secret",
        ));
        return;
    }
    let mut problems = Vec::new();
    if key.len() > 253 {
        problems.push("must be no more than 253 characters".to_owned());
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        problems.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_owned());
    }
    match key {
        "." => problems.push("must not be '.'".to_owned()),
        ".." => problems.push("must not be '..'".to_owned()),
        k if k.starts_with("..") => problems.push("must not start with '..'".to_owned()),
        _ => {}
    }
    for why in problems {
        out.push(error(
            kpath.clone(),
            format!("Invalid value: {key:?}: {why}"),
            "a key has letters, digits, '-', '_' or '.'",
        ));
    }
}

/// Host ports used twice among `containers` (`AccumulateUniqueHostPorts`): the API server
/// checks the app containers together and each init container alone, as they run.
pub fn check_host_ports(containers: &[k::Container], path: &FieldPath) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        for (j, p) in c.ports.iter().flatten().enumerate() {
            let Some(port) = p.host_port.filter(|h| *h != 0) else {
                continue;
            };
            let key = format!(
                "{}/{}/{port}",
                p.protocol
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("TCP"),
                p.host_ip.as_deref().unwrap_or("")
            );
            if !seen.insert(key.clone()) {
                out.push(error(
                    path.index(i).key("ports").index(j).key("hostPort"),
                    format!("Duplicate value: {key:?}"),
                    "two ports of a pod's containers cannot bind the same host port, protocol and hostIP",
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::de::{Keys, from_node};
    use crate::manifest::yaml::parse_documents;

    fn errors(src: &str) -> String {
        let docs = parse_documents(src).expect("yaml");
        let spec: k::PodSpec =
            from_node(&docs[0], FieldPath::root(), &Keys::default()).expect("typed");
        let path = FieldPath::root().key("spec").key("containers");
        let mut out: Vec<Diagnostic> = spec
            .containers
            .iter()
            .enumerate()
            .flat_map(|(i, c)| check_container(c, &path.index(i)))
            .collect();
        out.extend(check_host_ports(&spec.containers, &path));
        out.iter()
            .map(|d| format!("{}: {}\n", d.path, d.message))
            .collect()
    }

    #[test]
    fn a_container_without_an_image_is_rejected() {
        let e = errors("containers:\n- name: a\n  command: [x]\n- name: b\n  image: \"\"\n");
        assert!(
            e.contains("spec.containers[0].image: Required value"),
            "{e}"
        );
        assert!(
            e.contains("spec.containers[1].image: Required value"),
            "{e}"
        );
    }

    #[test]
    fn env_from_takes_one_named_source_and_a_valid_prefix() {
        let ok = errors(
            "containers:\n- name: a\n  image: x\n  envFrom:\n  - {prefix: APP_, configMapRef: {name: cfg}}\n  - secretRef: {name: creds}\n",
        );
        assert_eq!(ok, "");
        let e = errors(
            "containers:\n- name: a\n  image: x\n  envFrom:\n  - {configMapRef: {name: cfg}, secretRef: {name: creds}}\n  - {prefix: '1=', configMapRef: {name: Bad_Name}}\n  - {prefix: X_}\n",
        );
        assert_eq!(
            e,
            "spec.containers[0].envFrom: Invalid value: \"\": may not have more than one field specified at a time\n\
             spec.containers[0].envFrom[1].prefix: Invalid value: \"1=\": a valid environment variable name must consist only of printable ASCII characters other than '='\n\
             spec.containers[0].envFrom[1].configMapRef.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\n\
             spec.containers[0].envFrom: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`\n"
        );
    }

    #[test]
    fn value_from_takes_exactly_one_source_and_no_value() {
        let e = errors(
            "containers:\n- name: a\n  image: x\n  env:\n  - {name: A, value: v, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n  - {name: B, valueFrom: {}}\n  - {name: C, valueFrom: {fieldRef: {fieldPath: metadata.name}, secretKeyRef: {name: s, key: k}}}\n  - {name: \"D=1\", valueFrom: {configMapKeyRef: {name: Cfg, key: \"a b\"}}}\n",
        );
        assert!(e.contains("spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"), "{e}");
        assert!(e.contains("env[1].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"), "{e}");
        assert!(e.contains("env[2].valueFrom: Invalid value: \"\": may not have more than one field specified at a time"), "{e}");
        assert!(
            e.contains("env[3].name: Invalid value: \"D=1\": a valid environment variable name"),
            "{e}"
        );
        assert!(e.contains("env[3].valueFrom.configMapKeyRef.name: Invalid value: \"Cfg\": a lowercase RFC 1123 subdomain"), "{e}");
        assert!(
            e.contains(
                "env[3].valueFrom.configMapKeyRef.key: Invalid value: \"a b\": a valid config key"
            ),
            "{e}"
        );
    }

    #[test]
    fn field_and_resource_refs_name_supported_fields() {
        let e = errors(
            "containers:\n- name: a\n  image: x\n  env:\n  - {name: A, valueFrom: {fieldRef: {fieldPath: metadata.foo}}}\n  - {name: B, valueFrom: {fieldRef: {fieldPath: status.phase}}}\n  - {name: C, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}\n  - {name: D, valueFrom: {fieldRef: {fieldPath: \"metadata.annotations['a b']\"}}}\n  - {name: E, valueFrom: {fieldRef: {fieldPath: \"spec.nodeName['x']\"}}}\n  - {name: F, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}\n  - {name: G, valueFrom: {resourceFieldRef: {resource: limits.hugepages-2Mi}}}\n  - {name: H, valueFrom: {fieldRef: {fieldPath: spec.host}}}\n",
        );
        assert!(e.contains("env[0].valueFrom.fieldRef.fieldPath: Invalid value: \"metadata.foo\": error converting fieldPath: field label not supported: metadata.foo"), "{e}");
        assert!(e.contains("env[1].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\""), "{e}");
        assert!(!e.contains("env[2]"), "{e}");
        assert!(
            e.contains("env[3].valueFrom.fieldRef: Invalid value: \"a b\": name part must consist"),
            "{e}"
        );
        assert!(e.contains("env[4].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.nodeName['x']\": error converting fieldPath: field label does not support subscript"), "{e}");
        assert!(e.contains("env[5].valueFrom.resourceFieldRef.resource: Unsupported value: \"limits.gpu\": supported values: \"limits.cpu\""), "{e}");
        assert!(!e.contains("env[6]") && !e.contains("env[7]"), "{e}");
        let e = errors(
            "containers:\n- name: a\n  image: x\n  env:\n  - {name: A, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 2m}}}\n  - {name: B, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1024Ki}}}\n  - {name: C, valueFrom: {resourceFieldRef: {resource: requests.memory, divisor: 3Mi}}}\n",
        );
        assert!(e.contains("env[0].valueFrom.resourceFieldRef.divisor: Invalid value: \"limits.cpu\": only divisor's values 1m and 1 are supported with the cpu resource"), "{e}");
        assert!(!e.contains("env[1]"), "1024Ki is 1Mi: {e}");
        assert!(e.contains("env[2].valueFrom.resourceFieldRef.divisor: Invalid value: \"requests.memory\": only divisor's values 1, 1k, 1M"), "{e}");
    }

    #[test]
    fn host_ports_are_in_range_and_unique_per_protocol_and_ip() {
        let e = errors(
            "containers:\n- name: a\n  image: x\n  ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 70000}]\n- name: b\n  image: x\n  ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 80, hostPort: 8080, protocol: UDP}, {containerPort: 82, hostPort: 8080, hostIP: 127.0.0.1}]\n",
        );
        assert!(e.contains("spec.containers[0].ports[1].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive"), "{e}");
        assert!(
            e.contains("spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\""),
            "{e}"
        );
        assert_eq!(e.matches("Duplicate value").count(), 1, "{e}");
    }
}
