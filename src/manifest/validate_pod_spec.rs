//! The API server's checks of PodSpec fields podcheck does not run but a cluster would
//! refuse (ValidatePodSpec and its helpers): ids, names, tolerations, process namespace
//! sharing, ephemeral containers on create, an emptyDir's size limit.

use k8s_openapi::api::core::v1 as k;

use crate::diag::{Diagnostic, FieldPath};
use crate::spec::api_names::{dns1123_subdomain_errors, label_value_errors, qualified_name_errors};

/// validation.IsValidGroupID / IsValidUserID: 0 to 2^31-1.
const MAX_ID: i64 = i32::MAX as i64;

fn invalid(path: FieldPath, value: impl std::fmt::Display, why: &str) -> Diagnostic {
    Diagnostic::error(path, format!("Invalid value: {value}: {why}"))
}

/// The findings for `spec` at `path` (the PodSpec's own path).
pub fn check_pod_spec(spec: &k::PodSpec, path: &FieldPath) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let sc = path.key("securityContext");
    if let Some(g) = spec.security_context.as_ref().and_then(|s| s.fs_group)
        && !(0..=MAX_ID).contains(&g)
    {
        out.push(invalid(
            sc.key("fsGroup"),
            g,
            &format!("must be between 0 and {MAX_ID}, inclusive"),
        ));
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        out.push(invalid(
            sc.key("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    for (field, value) in [
        ("serviceAccountName", &spec.service_account_name),
        // Deprecated; the API server copies it into serviceAccountName and checks that.
        ("serviceAccount", &spec.service_account),
        ("nodeName", &spec.node_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            for why in dns1123_subdomain_errors(v) {
                out.push(invalid(path.key(field), format!("{v:?}"), &why));
            }
        }
    }
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        // ValidatePodCreate for a Pod, ValidatePodTemplateSpec for a workload's template.
        let in_template = path
            .0
            .iter()
            .any(|s| matches!(s, crate::diag::PathSeg::Key(k) if k == "template"));
        out.push(Diagnostic::error(
            path.key("ephemeralContainers"),
            if in_template {
                "Forbidden: ephemeral containers not allowed in pod template"
            } else {
                "Forbidden: cannot be set on create"
            }
            .to_owned(),
        ));
    }
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        tolerations(t, &path.key("tolerations").index(i), &mut out);
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        // Negative is below zero: "-0" and "-0Gi" are zero, and valid.
        if let Some(limit) = v.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref())
            && limit.0.trim_start().starts_with('-')
            && limit.0.bytes().any(|b| (b'1'..=b'9').contains(&b))
        {
            out.push(Diagnostic::error(
                path.key("volumes")
                    .index(i)
                    .key("emptyDir")
                    .key("sizeLimit"),
                "Forbidden: SizeLimit field must be a valid resource quantity".to_owned(),
            ));
        }
    }
    out
}

/// validateTolerations for one toleration.
fn tolerations(t: &k::Toleration, at: &FieldPath, out: &mut Vec<Diagnostic>) {
    let key = t.key.as_deref().unwrap_or("");
    let op = t.operator.as_deref().unwrap_or("");
    let value = t.value.as_deref().unwrap_or("");
    if !key.is_empty() {
        for why in qualified_name_errors(key) {
            out.push(invalid(at.key("key"), format!("{key:?}"), &why));
        }
    }
    if key.is_empty() && op != "Exists" {
        out.push(invalid(
            at.key("operator"),
            format!("{op:?}"),
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ));
    }
    let effect = t.effect.as_deref().unwrap_or("");
    if t.toleration_seconds.is_some() && effect != "NoExecute" {
        out.push(invalid(
            at.key("effect"),
            format!("{effect:?}"),
            "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ));
    }
    match op {
        "" | "Equal" => {
            let why = label_value_errors(value);
            if !why.is_empty() {
                // As the API server reports it: at the operator, the reasons joined.
                out.push(invalid(
                    at.key("operator"),
                    format!("{value:?}"),
                    &why.join(";"),
                ));
            }
        }
        "Exists" if !value.is_empty() => out.push(invalid(
            at.key("operator"),
            format!("{value:?}"),
            "value must be empty when `operator` is 'Exists'",
        )),
        "Exists" => {}
        other => out.push(Diagnostic::unsupported(
            at.key("operator"),
            other,
            &["Equal", "Exists"],
        )),
    }
    if !effect.is_empty() && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        out.push(Diagnostic::unsupported(
            at.key("effect"),
            effect,
            &["NoExecute", "NoSchedule", "PreferNoSchedule"],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::de::{Keys, from_node};
    use crate::manifest::yaml::parse_documents;

    fn errors(yaml: &str) -> Vec<String> {
        let node = parse_documents(yaml).expect("yaml").remove(0);
        let spec: k::PodSpec =
            from_node(&node, FieldPath::root(), &Keys::default()).expect("a pod spec");
        check_pod_spec(&spec, &FieldPath::root().key("spec"))
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    }

    #[test]
    fn fields_a_cluster_refuses_are_errors_at_their_place() {
        let c = "containers: [{name: a, image: x}]\n";
        assert!(errors(&format!(
            "{c}securityContext: {{fsGroup: 2000}}\nserviceAccountName: my-sa\nnodeName: node-1.example\ntolerations:\n- {{key: example.com/gpu, operator: Exists, effect: NoSchedule}}\n- {{operator: Exists}}\n- {{key: k, value: v, effect: NoExecute, tolerationSeconds: 30}}\nvolumes: [{{name: v, emptyDir: {{sizeLimit: 1Gi}}}}, {{name: w, emptyDir: {{sizeLimit: '-0'}}}}]\n"
        ))
        .is_empty());
        assert_eq!(
            errors(&format!(
                "{c}securityContext: {{fsGroup: -1}}\nhostPID: true\nshareProcessNamespace: true\nserviceAccountName: Bad_Name\n"
            )),
            [
                "spec.securityContext.fsGroup: Invalid value: -1: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled",
                "spec.serviceAccountName: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ]
        );
        assert_eq!(
            errors(&format!(
                "{c}tolerations:\n- {{key: a, operator: Exists, value: b}}\n- {{value: v}}\n- {{key: a, tolerationSeconds: 5, effect: NoSchedule}}\n- {{key: a, operator: In}}\n"
            )),
            [
                "spec.tolerations[0].operator: Invalid value: \"b\": value must be empty when `operator` is 'Exists'",
                "spec.tolerations[1].operator: Invalid value: \"\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                "spec.tolerations[2].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
                "spec.tolerations[3].operator: Unsupported value: \"In\": supported values: \"Equal\", \"Exists\"",
            ]
        );
        assert_eq!(
            errors(&format!(
                "{c}ephemeralContainers: [{{name: dbg, image: x}}]\nvolumes: [{{name: v, emptyDir: {{sizeLimit: -1Gi}}}}]\n"
            )),
            [
                "spec.ephemeralContainers: Forbidden: cannot be set on create",
                "spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity",
            ]
        );
    }
}
