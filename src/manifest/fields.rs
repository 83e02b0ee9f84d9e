//! Which Kubernetes fields podcheck runs, which it accepts without emulating, and the
//! did-you-mean for the rest. The field names themselves come from k8s-openapi (the list
//! each type hands to `deserialize_struct`), so they follow the API and cannot drift.

use serde::de::{self, DeserializeOwned, Visitor};

use super::de::SeenKey;
use crate::diag::{Diagnostic, FieldPath};

/// What podcheck does with the fields of one Kubernetes type.
struct Emulation {
    /// Fields podcheck runs (or deliberately reads, like `metadata`).
    runs: &'static [&'static str],
    /// Fields accepted without a note: status, or sources the conversion reports itself.
    quiet: &'static [&'static str],
}

const TOP: Emulation = Emulation {
    runs: &["apiVersion", "kind", "metadata", "spec"],
    quiet: &["status"],
};

/// The emulation table, by Go type name. Types not listed (ObjectMeta, SecurityContext, …)
/// get no notes of their own: they are either not behaviour (labels) or inside a field
/// that already has its note.
fn emulation(struct_name: &str) -> Option<Emulation> {
    Some(match struct_name {
        "Pod"
        | "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job"
        | "CronJob" => TOP,
        "PodTemplateSpec" | "JobTemplateSpec" => Emulation {
            runs: &["metadata", "spec"],
            quiet: &[],
        },
        // `replicas` has its own note (one pod runs); the selector only matches labels.
        "DeploymentSpec" | "ReplicaSetSpec" | "ReplicationControllerSpec" => Emulation {
            runs: &["template", "selector", "replicas"],
            quiet: &[],
        },
        "StatefulSetSpec" => Emulation {
            runs: &["template", "selector", "replicas"],
            quiet: &["volumeClaimTemplates"],
        },
        "DaemonSetSpec" => Emulation {
            runs: &["template", "selector"],
            quiet: &[],
        },
        "JobSpec" => Emulation {
            runs: &["template", "selector", "manualSelector"],
            quiet: &[],
        },
        "CronJobSpec" => Emulation {
            runs: &["jobTemplate"],
            quiet: &[],
        },
        "PodSpec" => Emulation {
            runs: &[
                "restartPolicy",
                "terminationGracePeriodSeconds",
                "activeDeadlineSeconds",
                "initContainers",
                "containers",
                "volumes",
                "readinessGates",
                "os",
                "securityContext",
                "enableServiceLinks",
                "hostname",
                "subdomain",
                "hostAliases",
                "dnsPolicy",
                "dnsConfig",
            ],
            quiet: &[],
        },
        "PodSecurityContext" => Emulation {
            runs: &[
                "runAsUser",
                "runAsGroup",
                "runAsNonRoot",
                "supplementalGroups",
            ],
            quiet: &[],
        },
        "SecurityContext" => Emulation {
            runs: &[
                "runAsUser",
                "runAsGroup",
                "runAsNonRoot",
                "readOnlyRootFilesystem",
            ],
            quiet: &[],
        },
        "PodReadinessGate" => Emulation {
            runs: &["conditionType"],
            quiet: &[],
        },
        "PodOS" => Emulation {
            runs: &["name"],
            quiet: &[],
        },
        "ContainerRestartRule" => Emulation {
            runs: &["action", "exitCodes"],
            quiet: &[],
        },
        "ContainerRestartRuleOnExitCodes" => Emulation {
            runs: &["operator", "values"],
            quiet: &[],
        },
        "Container" => Emulation {
            runs: &[
                "name",
                "image",
                "imagePullPolicy",
                "command",
                "args",
                "workingDir",
                "env",
                "envFrom",
                "ports",
                "volumeMounts",
                "restartPolicy",
                "restartPolicyRules",
                "terminationMessagePath",
                "terminationMessagePolicy",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
                "lifecycle",
                "resources",
                "securityContext",
            ],
            quiet: &[],
        },
        // Which limits are enforced is said by the conversion, per resource.
        "ResourceRequirements" => Emulation {
            runs: &["limits"],
            quiet: &[],
        },
        "EnvVar" => Emulation {
            runs: &["name", "value", "valueFrom"],
            quiet: &[],
        },
        // ConfigMaps and Secrets of the same file resolve (config_refs.rs), which also
        // says when the object is not there.
        "EnvVarSource" => Emulation {
            runs: &[
                "configMapKeyRef",
                "secretKeyRef",
                "fieldRef",
                "resourceFieldRef",
            ],
            quiet: &[],
        },
        "EnvFromSource" => Emulation {
            runs: &["configMapRef", "secretRef", "prefix"],
            quiet: &[],
        },
        "ContainerPort" => Emulation {
            runs: &["name", "containerPort", "protocol"],
            quiet: &[],
        },
        "VolumeMount" => Emulation {
            runs: &["name", "mountPath", "readOnly", "subPath", "subPathExpr"],
            quiet: &[],
        },
        // Other volume sources become empty directories; the conversion says so per volume.
        "Volume" => Emulation {
            runs: &["name", "emptyDir", "hostPath"],
            quiet: &["*"],
        },
        "EmptyDirVolumeSource" => Emulation {
            runs: &["medium", "sizeLimit"],
            quiet: &[],
        },
        "HostPathVolumeSource" => Emulation {
            runs: &["path", "type"],
            quiet: &[],
        },
        "Probe" => Emulation {
            runs: &[
                "exec",
                "httpGet",
                "tcpSocket",
                "grpc",
                "initialDelaySeconds",
                "periodSeconds",
                "timeoutSeconds",
                "successThreshold",
                "failureThreshold",
                "terminationGracePeriodSeconds",
            ],
            quiet: &[],
        },
        "ExecAction" => Emulation {
            runs: &["command"],
            quiet: &[],
        },
        "HTTPGetAction" => Emulation {
            runs: &["path", "port", "host", "scheme", "httpHeaders"],
            quiet: &[],
        },
        "HTTPHeader" => Emulation {
            runs: &["name", "value"],
            quiet: &[],
        },
        "TCPSocketAction" => Emulation {
            runs: &["port", "host"],
            quiet: &[],
        },
        "GRPCAction" => Emulation {
            runs: &["port", "service"],
            quiet: &[],
        },
        // stopSignal is kept and validated; without the ContainerStopSignals gate a
        // warning says it is dropped.
        "Lifecycle" => Emulation {
            runs: &["postStart", "preStop", "stopSignal"],
            quiet: &[],
        },
        "LifecycleHandler" => Emulation {
            runs: &["exec", "httpGet", "tcpSocket", "sleep"],
            quiet: &[],
        },
        "SleepAction" => Emulation {
            runs: &["seconds"],
            quiet: &[],
        },
        _ => return None,
    })
}

/// Whether podcheck emulates `key` of the Kubernetes type `struct_name` (for types not in
/// the table: whether the key is not to be noted).
pub fn is_emulated(struct_name: &str, key: &str) -> bool {
    match emulation(struct_name) {
        Some(e) => e.runs.contains(&key) || e.quiet.contains(&key) || e.quiet.contains(&"*"),
        None => true,
    }
}

/// What a user should know about a field podcheck does not emulate, where there is more
/// to say than "it has no effect".
fn consequence(struct_name: &str, key: &str) -> &'static str {
    match (struct_name, key) {
        ("SecurityContext" | "PodSecurityContext", "runAsUserName" | "windowsOptions") => {
            "podcheck runs Linux processes"
        }
        ("SecurityContext" | "PodSecurityContext", _) => {
            "only runAsUser, runAsGroup, runAsNonRoot, readOnlyRootFilesystem (and the pod's supplementalGroups) are applied; processes keep the capabilities and profiles of a process started by podcheck"
        }
        ("PodSpec", "resources") => {
            "pod-level limits are not enforced; resourceFieldRef variables read them"
        }
        (_, "resources") | ("ResourceRequirements", _) => {
            "only resources.limits.memory is enforced (where cgroups allow); resourceFieldRef variables read the rest"
        }
        ("EnvVarSource", _) => {
            "the variable is not set: podcheck has no API server to read it from"
        }
        ("PodSpec", "nodeSelector" | "affinity" | "tolerations" | "nodeName") => {
            "the pod runs on this machine"
        }
        ("PodSpec", "serviceAccountName" | "automountServiceAccountToken") => {
            "no service account token is mounted (the spec.serviceAccountName variable reads the name)"
        }
        ("PodSpec", "imagePullSecrets") => "images come from the --image/[images] map",
        ("JobSpec", "parallelism" | "completions") => "podcheck runs one pod of the Job",
        ("JobSpec", "completionMode") => {
            "podcheck runs one pod of the Job; for Indexed, the pod of index 0 as the Job controller makes it (JOB_COMPLETION_INDEX=0 in every container, the hostname JOB-0, the batch.kubernetes.io/job-completion-index label)"
        }
        (
            "DeploymentSpec"
            | "StatefulSetSpec"
            | "DaemonSetSpec"
            | "ReplicaSetSpec"
            | "ReplicationControllerSpec"
            | "JobSpec"
            | "CronJobSpec",
            _,
        ) => "a controller setting; podcheck runs the pod without its controller",
        _ => "it is accepted and has no effect on the run",
    }
}

/// The note for a valid Kubernetes field podcheck does not emulate.
pub fn not_emulated(struct_name: &str, key: &str) -> String {
    format!(
        "`{key}` is a valid Kubernetes field that podcheck does not emulate: {}",
        consequence(struct_name, key)
    )
}

/// Diagnostics for the keys of one object: a note for each field podcheck does not emulate
/// (once, at its outermost occurrence), a warning with a did-you-mean for unknown fields.
pub fn key_diagnostics(keys: &[SeenKey]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut noted: Vec<&FieldPath> = Vec::new();
    for k in keys {
        if let Some(valid) = k.unknown {
            let mut d = Diagnostic::warning(
                k.path.clone(),
                format!(
                    "unknown field `{}`: {} has no such field, so it is ignored (as the API server drops it)",
                    k.key, k.struct_name
                ),
            )
            .with_help(suggest(&k.key, valid));
            d.span = Some(k.span.clone());
            out.push(d);
            continue;
        }
        if is_emulated(k.struct_name, &k.key) {
            continue;
        }
        // Inside a field that already has its note, nothing more to say.
        if noted.iter().any(|p| k.path.0.starts_with(&p.0)) {
            continue;
        }
        let mut d = Diagnostic::note(k.path.clone(), not_emulated(k.struct_name, &k.key));
        d.span = Some(k.span.clone());
        out.push(d);
        noted.push(&k.path);
    }
    out
}

/// "did you mean `x`?" for the closest valid name, else the valid names.
pub fn suggest(bad: &str, valid: &[&str]) -> String {
    let lower = bad.to_lowercase();
    let best = valid
        .iter()
        .map(|n| {
            (
                crate::spec::load::edit_distance(&lower, &n.to_lowercase()),
                *n,
            )
        })
        .min();
    match best {
        Some((d, name)) if d <= (bad.len() / 3).max(2) => format!("did you mean `{name}`?"),
        _ => format!("valid fields here: {}", valid.join(", ")),
    }
}

/// The field names `T` hands to `deserialize_struct` (serde derive and k8s-openapi both do),
/// found without any input: a deserializer that only records them.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let cell = std::cell::Cell::new(None);
    let _ = T::deserialize(FieldCapture(&cell));
    cell.get().unwrap_or(&[])
}

/// A deserializer that records the field list it is asked for and then gives up.
struct FieldCapture<'a>(&'a std::cell::Cell<Option<&'static [&'static str]>>);

/// The error a [`FieldCapture`] gives up with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Captured(String);

impl de::Error for Captured {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Captured(msg.to_string())
    }
}

impl<'de> de::Deserializer<'de> for FieldCapture<'_> {
    type Error = Captured;

    fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Captured> {
        Err(Captured("not a struct".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, Captured> {
        self.0.set(Some(fields));
        Err(Captured("captured".into()))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The Kubernetes type at a path inside a `[pod]` table or a pod spec, by Go type name; the
/// steps through containers, probes, handlers and volumes that podcheck models.
pub fn k8s_type_after(parent: &str, key: &str) -> Option<&'static str> {
    Some(match (parent, key) {
        ("PodSpec", "containers" | "initContainers") => "Container",
        ("PodSpec", "volumes") => "Volume",
        ("Container", "livenessProbe" | "readinessProbe" | "startupProbe") => "Probe",
        ("Container", "lifecycle") => "Lifecycle",
        ("Container", "env") => "EnvVar",
        ("Container", "ports") => "ContainerPort",
        ("Container", "volumeMounts") => "VolumeMount",
        ("Container", "resources") => "ResourceRequirements",
        ("Container", "securityContext") => "SecurityContext",
        ("PodSpec", "securityContext") => "PodSecurityContext",
        ("Probe" | "LifecycleHandler", "exec") => "ExecAction",
        ("Probe" | "LifecycleHandler", "httpGet") => "HTTPGetAction",
        ("Probe" | "LifecycleHandler", "tcpSocket") => "TCPSocketAction",
        ("Probe", "grpc") => "GRPCAction",
        ("HTTPGetAction", "httpHeaders") => "HTTPHeader",
        ("Lifecycle", "postStart" | "preStop") => "LifecycleHandler",
        ("LifecycleHandler", "sleep") => "SleepAction",
        ("Volume", "emptyDir") => "EmptyDirVolumeSource",
        ("Volume", "hostPath") => "HostPathVolumeSource",
        _ => return None,
    })
}

/// The Kubernetes field names of a type named by [`k8s_type_after`] (or `PodSpec`).
pub fn k8s_fields(struct_name: &str) -> &'static [&'static str] {
    use k8s_openapi::api::core::v1 as core;
    match struct_name {
        "PodSpec" => fields_of::<core::PodSpec>(),
        "Container" => fields_of::<core::Container>(),
        "Volume" => fields_of::<core::Volume>(),
        "Probe" => fields_of::<core::Probe>(),
        "Lifecycle" => fields_of::<core::Lifecycle>(),
        "LifecycleHandler" => fields_of::<core::LifecycleHandler>(),
        "EnvVar" => fields_of::<core::EnvVar>(),
        "ContainerPort" => fields_of::<core::ContainerPort>(),
        "VolumeMount" => fields_of::<core::VolumeMount>(),
        "ResourceRequirements" => fields_of::<core::ResourceRequirements>(),
        "ExecAction" => fields_of::<core::ExecAction>(),
        "HTTPGetAction" => fields_of::<core::HTTPGetAction>(),
        "HTTPHeader" => fields_of::<core::HTTPHeader>(),
        "TCPSocketAction" => fields_of::<core::TCPSocketAction>(),
        "GRPCAction" => fields_of::<core::GRPCAction>(),
        "SleepAction" => fields_of::<core::SleepAction>(),
        "SecurityContext" => fields_of::<core::SecurityContext>(),
        "PodSecurityContext" => fields_of::<core::PodSecurityContext>(),
        "EmptyDirVolumeSource" => fields_of::<core::EmptyDirVolumeSource>(),
        "HostPathVolumeSource" => fields_of::<core::HostPathVolumeSource>(),
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_come_from_the_types() {
        let c = k8s_fields("Container");
        assert!(c.contains(&"securityContext"), "{c:?}");
        assert!(c.contains(&"livenessProbe"));
        let model = fields_of::<crate::spec::model::Probe>();
        assert!(model.contains(&"periodSeconds"), "{model:?}");
    }

    #[test]
    fn every_emulated_field_exists_in_kubernetes() {
        // A typo in the table would make podcheck note a field it actually runs.
        for ty in [
            "PodSpec",
            "Container",
            "Probe",
            "Lifecycle",
            "LifecycleHandler",
            "EnvVar",
            "ContainerPort",
            "VolumeMount",
            "HTTPGetAction",
            "TCPSocketAction",
            "GRPCAction",
            "SleepAction",
            "Volume",
        ] {
            let Some(e) = emulation(ty) else {
                panic!("{ty} is not in the table")
            };
            for f in e.runs {
                assert!(
                    k8s_fields(ty).contains(f),
                    "{ty}.{f} is not a Kubernetes field"
                );
            }
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("periodSecond", &["periodSeconds", "exec"]),
            "did you mean `periodSeconds`?"
        );
        assert!(suggest("zzzzzzzz", &["exec", "grpc"]).starts_with("valid fields here"));
    }
}
