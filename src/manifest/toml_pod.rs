//! The spec's `[pod]` table: Kubernetes fields podcheck does not emulate (securityContext,
//! nodeSelector, …) are accepted with a note, as in a manifest; any other key stays an error
//! with a did-you-mean, as before, because a typo in a test must not pass silently.
//!
//! The Kubernetes-named model structs do not deny unknown fields; instead every key they
//! skip is collected through `serde_ignored` and judged here against k8s-openapi's names.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::fields::{is_emulated, k8s_fields, k8s_type_after, suggest};
use crate::diag::{Diagnostic, FieldPath, PathSeg};
use crate::spec::model::{self, SpecFile};

/// Parses spec TOML. `Ok` holds the spec and its notes and typo errors (the caller decides
/// what errors mean); `Err` is TOML's own error (syntax, types, podcheck's own tables).
pub fn parse_spec_toml(source: &str) -> Result<(SpecFile, Vec<Diagnostic>), toml::de::Error> {
    let de = toml::Deserializer::parse(source)?;
    let mut skipped: Vec<FieldPath> = Vec::new();
    let spec: SpecFile = serde_ignored::deserialize(de, |p| skipped.push(to_field_path(&p)))?;
    let doc = DeTable::parse(source).ok();
    let mut diags: Vec<Diagnostic> = skipped.iter().map(judge).collect();
    diags.extend(resource_notes(&spec));
    for d in &mut diags {
        d.span = doc.as_ref().and_then(|t| key_span(t.get_ref(), &d.path));
    }
    // serde's unknown-field error names no path; keep the snapshot users know.
    for d in diags
        .iter_mut()
        .filter(|d| d.message.starts_with("unknown field `"))
    {
        d.path = FieldPath::root();
    }
    Ok((spec, diags))
}

/// The model keeps `resources.requests` and every limit, but enforces only the memory
/// limit: the rest gets the same note as in a manifest.
fn resource_notes(spec: &SpecFile) -> Vec<Diagnostic> {
    let pod = FieldPath::root().key("pod");
    let lists = [
        ("initContainers", &spec.pod.init_containers),
        ("containers", &spec.pod.containers),
    ];
    let mut out = Vec::new();
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            let Some(r) = &c.resources else { continue };
            let path = pod.key(list).index(i).key("resources");
            if !r.requests.is_empty() {
                out.push(Diagnostic::note(
                    path.key("requests"),
                    super::fields::not_emulated("ResourceRequirements", "requests"),
                ));
            }
            for name in r.limits.keys().filter(|n| *n != "memory") {
                out.push(Diagnostic::note(
                    path.key("limits").key(name),
                    format!("resources.limits.{name} is not enforced: podcheck enforces only the memory limit"),
                ));
            }
        }
    }
    out
}

/// A note for a Kubernetes field podcheck does not emulate, else an unknown-field error.
fn judge(path: &FieldPath) -> Diagnostic {
    let (parent, key) = owner(path);
    let key = key.unwrap_or_default();
    if let Some(ty) = parent
        && k8s_fields(ty).contains(&key.as_str())
        && !is_emulated(ty, &key)
    {
        return Diagnostic::note(path.clone(), super::fields::not_emulated(ty, &key));
    }
    let model = parent.map_or(&[][..], model_fields);
    let expected = match model {
        [] => "there are no fields".to_owned(),
        [one] => format!("expected `{one}`"),
        many => format!(
            "expected one of {}",
            many.iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    // The same wording as serde's own unknown-field error, which specs were written against.
    // The path is kept for locating the key; it is cleared afterwards, as serde's own
    // message has no path prefix.
    let mut d = Diagnostic::error(path.clone(), format!("unknown field `{key}`, {expected}"));
    let mut help = suggest(&key, model);
    if !help.starts_with("did you mean")
        && let Some(ty) = parent
    {
        let k8s = suggest(&key, k8s_fields(ty));
        if k8s.starts_with("did you mean") {
            help = k8s;
        }
    }
    d.help = Some(help);
    d
}

/// The Kubernetes type that holds the last key of `path` (inside `pod`), and that key.
fn owner(path: &FieldPath) -> (Option<&'static str>, Option<String>) {
    let mut segs = path.0.iter();
    match segs.next() {
        Some(PathSeg::Key(k)) if k == "pod" => {}
        // `[pods.NAME]` holds a pod as `[pod]` does.
        Some(PathSeg::Key(k)) if k == "pods" => {
            segs.next();
        }
        _ => return (None, last_key(path)),
    }
    let keys: Vec<&str> = segs
        .filter_map(|s| match s {
            PathSeg::Key(k) => Some(k.as_str()),
            PathSeg::Index(_) | PathSeg::MapKey(_) => None,
        })
        .collect();
    let Some((last, parents)) = keys.split_last() else {
        return (None, None);
    };
    let mut ty = Some("PodSpec");
    for k in parents {
        ty = ty.and_then(|t| k8s_type_after(t, k));
    }
    (ty, Some((*last).to_owned()))
}

fn last_key(path: &FieldPath) -> Option<String> {
    path.0.iter().rev().find_map(|s| match s {
        PathSeg::Key(k) => Some(k.clone()),
        PathSeg::Index(_) | PathSeg::MapKey(_) => None,
    })
}

/// podcheck's own field names for the model struct standing for a Kubernetes type.
fn model_fields(k8s: &str) -> &'static [&'static str] {
    use super::fields::fields_of;
    match k8s {
        "PodSpec" => fields_of::<model::Pod>(),
        "Container" => fields_of::<model::Container>(),
        "Volume" => fields_of::<model::Volume>(),
        "Probe" => fields_of::<model::Probe>(),
        "Lifecycle" => fields_of::<model::Lifecycle>(),
        "LifecycleHandler" => fields_of::<model::LifecycleHandler>(),
        "EnvVar" => fields_of::<model::EnvVar>(),
        "ContainerPort" => fields_of::<model::ContainerPort>(),
        "VolumeMount" => fields_of::<model::VolumeMount>(),
        "ResourceRequirements" => fields_of::<model::Resources>(),
        "ExecAction" => fields_of::<model::ExecAction>(),
        "HTTPGetAction" => fields_of::<model::HttpGetAction>(),
        "HTTPHeader" => fields_of::<model::HttpHeader>(),
        "TCPSocketAction" => fields_of::<model::TcpSocketAction>(),
        "GRPCAction" => fields_of::<model::GrpcAction>(),
        "SleepAction" => fields_of::<model::SleepAction>(),
        "SecurityContext" => fields_of::<model::SecurityContext>(),
        "PodSecurityContext" => fields_of::<model::PodSecurityContext>(),
        "EmptyDirVolumeSource" => fields_of::<model::EmptyDir>(),
        "HostPathVolumeSource" => fields_of::<model::HostPath>(),
        _ => &[],
    }
}

fn to_field_path(p: &serde_ignored::Path<'_>) -> FieldPath {
    match p {
        serde_ignored::Path::Root => FieldPath::root(),
        serde_ignored::Path::Seq { parent, index } => to_field_path(parent).index(*index),
        serde_ignored::Path::Map { parent, key } => to_field_path(parent).key(key),
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => to_field_path(parent),
    }
}

/// The span of the last key of `path` (where the cursor belongs for an unknown field).
fn key_span(doc: &DeTable<'_>, path: &FieldPath) -> Option<Range<usize>> {
    let mut table = doc;
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    let n = path.0.len();
    for (i, seg) in path.0.iter().enumerate() {
        let value = match (seg, array) {
            (PathSeg::Key(k) | PathSeg::MapKey(k), None) => {
                let (key, value) = table.iter().find(|(key, _)| key.get_ref().as_ref() == k)?;
                if i + 1 == n {
                    return Some(key.span());
                }
                value
            }
            (PathSeg::Index(ix), Some(a)) => a.get(*ix)?,
            _ => return None,
        };
        match value.get_ref() {
            DeValue::Table(t) => {
                table = t;
                array = None;
            }
            DeValue::Array(a) => array = Some(a),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;

    const POD: &str = "[pod]\nrestartPolicy = \"Never\"\n[[pod.containers]]\nname = \"a\"\ncommand = [\"true\"]\n";

    #[test]
    fn not_emulated_kubernetes_fields_get_a_note() {
        let src = format!(
            "{POD}securityContext = {{ runAsUser = 1000, privileged = true }}\nreadinessProbe = {{ exec = {{ command = [\"true\"] }}, periodSeconds = 1 }}\nresources = {{ requests = {{ cpu = \"1\" }}, limits = {{ cpu = \"1\", memory = \"8Mi\" }} }}\n[pod.nodeSelector]\ndisk = \"ssd\"\n"
        );
        let (spec, diags) = parse_spec_toml(&src).expect("parses");
        assert_eq!(spec.pod.containers.len(), 1);
        // runAsUser is honoured; the rest of securityContext is noted field by field.
        let sc = spec.pod.containers[0].security_context.as_ref();
        assert_eq!(sc.and_then(|s| s.run_as_user), Some(1000));
        assert_eq!(diags.len(), 4, "{diags:?}");
        assert!(diags.iter().all(|d| d.severity == Severity::Note));
        let texts: Vec<&str> = diags
            .iter()
            .map(|d| &src[d.span.clone().expect("span")])
            .collect();
        assert_eq!(texts, ["privileged", "nodeSelector", "requests", "cpu"]);
    }

    #[test]
    fn a_typo_is_still_an_error_with_a_suggestion() {
        let src = format!(
            "{POD}livenessProbe = {{ exec = {{ command = [\"true\"] }}, periodSecond = 5 }}\n"
        );
        let (_, diags) = parse_spec_toml(&src).expect("parses");
        assert_eq!(diags.len(), 1);
        let d = &diags[0];
        assert_eq!(d.severity, Severity::Error);
        assert!(
            d.message
                .starts_with("unknown field `periodSecond`, expected one of `exec`"),
            "{}",
            d.message
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `periodSeconds`?"));
        assert_eq!(&src[d.span.clone().expect("span")], "periodSecond");
    }

    #[test]
    fn podcheck_tables_still_deny_unknown_fields() {
        let src = format!("{POD}[run]\ntimeot = \"1s\"\n");
        assert!(parse_spec_toml(&src).is_err());
    }
}
