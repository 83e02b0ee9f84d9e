//! A manifest's ConfigMaps and Secrets, and the container variables that name them
//! (`envFrom`, `env[].valueFrom.configMapKeyRef` / `secretKeyRef`), resolved as the
//! kubelet's makeEnvironmentVariables does: every `envFrom` source in order (its keys,
//! with the prefix, sorted; later sources win), then `env` in order, which overrides them.
//!
//! Only objects of the same file are known. A reference to one that is not in the file
//! leaves the variable unset with a note (Secrets in particular are often made apart from
//! the manifests); a missing key of an object that is there is the kubelet's
//! CreateContainerConfigError, unless the reference is optional.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1 as k;

use super::de::{Keys, from_node};
use super::yaml::{Node, Value};
use crate::diag::{Diagnostic, FieldPath};
use crate::spec::model as m;

/// Which kind of object a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    ConfigMap,
    Secret,
}

impl Kind {
    /// The kind as the kubelet's messages write it.
    pub(super) fn title(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
        }
    }

    /// The resource as an API "not found" error names it.
    pub(super) fn resource(self) -> &'static str {
        match self {
            Kind::ConfigMap => "configmap",
            Kind::Secret => "secret",
        }
    }
}

/// The ConfigMaps' and Secrets' data of one manifest file, by (kind, namespace, name): as
/// variables take it, and as a volume's files do (a ConfigMap's binaryData too, a
/// Secret's bytes as they are).
#[derive(Debug, Clone, Default)]
pub struct ConfigObjects {
    data: HashMap<(Kind, String, String), BTreeMap<String, String>>,
    files: HashMap<(Kind, String, String), BTreeMap<String, Vec<u8>>>,
}

impl ConfigObjects {
    /// Reads the ConfigMaps and Secrets of `docs` (List items too). A Secret's `data` is
    /// base64 and its `stringData` wins over it, as the API server merges them; objects
    /// that do not read are left out (the file's own diagnostics speak for them).
    pub fn collect(docs: &[Node]) -> Self {
        let mut found = ConfigObjects::default();
        for doc in docs {
            found.read(doc);
        }
        found
    }

    /// Reads one object, or the items of a List as `objects::read_object` walks them
    /// (the YAML budget bounds how deep Lists nest).
    fn read(&mut self, node: &Node) {
        let kind = node.get("kind").and_then(Node::as_str);
        if kind.is_some_and(|k| super::objects::is_list(k, node)) {
            if let Some(Value::Seq(items)) = node.get("items").map(|n| &n.value) {
                for item in items {
                    self.read(item);
                }
            }
            return;
        }
        let keys = Keys::default();
        let (kind, meta, data, files) = match kind {
            Some("ConfigMap") => match from_node::<k::ConfigMap>(node, FieldPath::root(), &keys) {
                Ok(c) => {
                    let data = c.data.unwrap_or_default();
                    let mut files: BTreeMap<String, Vec<u8>> = data
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                        .collect();
                    files.extend(
                        c.binary_data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, v.0)),
                    );
                    (Kind::ConfigMap, c.metadata, data, files)
                }
                Err(_) => return,
            },
            Some("Secret") => match read_secret(node, FieldPath::root(), &keys) {
                Ok(s) => {
                    let meta = s.metadata.clone();
                    let files = secret_files(s);
                    let data = files
                        .iter()
                        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                        .collect();
                    (Kind::Secret, meta, data, files)
                }
                Err(_) => return,
            },
            _ => return,
        };
        let Some(name) = meta.name else { return };
        let ns = meta.namespace.unwrap_or_else(|| "default".into());
        self.files.insert((kind, ns.clone(), name.clone()), files);
        self.data.insert((kind, ns, name), data);
    }

    /// The files a volume of `kind` naming `name` in `ns` projects, None when the object is
    /// not in the file.
    pub(super) fn files(
        &self,
        kind: Kind,
        ns: &str,
        name: &str,
    ) -> Option<&BTreeMap<String, Vec<u8>>> {
        self.files.get(&(kind, ns.to_owned(), name.to_owned()))
    }

    fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<&BTreeMap<String, String>> {
        self.data.get(&(kind, ns.to_owned(), name.to_owned()))
    }
}

/// Reads a `kind: Secret` object at `path` of its document.
pub(super) fn read_secret(
    node: &Node,
    path: FieldPath,
    keys: &Keys,
) -> Result<k::Secret, super::de::DeError> {
    from_node::<k::Secret>(&unwrapped_secret(node), path, keys)
}

/// A Secret's keys with their bytes, `stringData` merged over `data` as the API server
/// merges it before it stores or validates the Secret.
pub(super) fn secret_files(s: k::Secret) -> BTreeMap<String, Vec<u8>> {
    let mut files: BTreeMap<String, Vec<u8>> = s
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    files.extend(
        s.string_data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes())),
    );
    files
}

/// A Secret as the API server decodes it: Go's base64 decoder skips `\r` and `\n`, so a
/// `data` value wrapped over lines (as `base64` prints it) is valid; k8s-openapi's is not.
fn unwrapped_secret(node: &Node) -> std::borrow::Cow<'_, Node> {
    use super::yaml::Value;
    let wrapped = |v: &Node| matches!(&v.value, Value::Str(s) if s.contains(['\n', '\r']));
    let Some(data) = node.get("data") else {
        return std::borrow::Cow::Borrowed(node);
    };
    let Value::Map(entries) = &data.value else {
        return std::borrow::Cow::Borrowed(node);
    };
    if !entries.iter().any(|(_, v)| wrapped(v)) {
        return std::borrow::Cow::Borrowed(node);
    }
    let mut owned = node.clone();
    if let Value::Map(top) = &mut owned.value {
        for (k, v) in top.iter_mut() {
            if !matches!(&k.value, Value::Str(s) if s == "data") {
                continue;
            }
            if let Value::Map(items) = &mut v.value {
                for (_, item) in items.iter_mut() {
                    if let Value::Str(s) = &mut item.value {
                        s.retain(|c| c != '\n' && c != '\r');
                    }
                }
            }
        }
    }
    std::borrow::Cow::Owned(owned)
}

/// The downward-API fields a variable can name (and `metadata.labels['KEY']`,
/// `metadata.annotations['KEY']`), all of which podcheck's kubelet fills in.
const FIELD_PATHS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.podIP",
    "status.podIPs",
    "status.hostIP",
    "status.hostIPs",
];

/// Whether the kubelet takes `name` as a variable from an `envFrom` source: v1.35 accepts
/// any printable ASCII but `=` (RelaxedEnvironmentVariableValidation).
fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'=')
}

/// One container's variables with its ConfigMap and Secret references resolved, and the
/// CreateContainerConfigError message if one cannot be; `path` is the container's.
pub fn resolve_env(
    c: &k::Container,
    ns: &str,
    objects: &ConfigObjects,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> (Vec<m::EnvVar>, Option<String>) {
    let mut env = Vec::new();
    let mut error = None;
    let absent = |kind: Kind, name: &str, what: &str, p: FieldPath| {
        Diagnostic::note(
            p,
            format!(
                "{} {name:?} is not in this file: {what} not set (a cluster without it would keep the container waiting: CreateContainerConfigError, {} {name:?} not found)",
                kind.title(),
                kind.resource()
            ),
        )
        .with_help("put the object in the same file (a `---` document) for podcheck to read it, or mark the reference `optional: true`")
    };
    for (j, from) in c.env_from.iter().flatten().enumerate() {
        let p = path.key("envFrom").index(j);
        let (kind, name, optional) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(r), _) => (Kind::ConfigMap, &r.name, r.optional.unwrap_or(false)),
            (None, Some(r)) => (Kind::Secret, &r.name, r.optional.unwrap_or(false)),
            (None, None) => continue,
        };
        let Some(data) = objects.get(kind, ns, name) else {
            if !optional {
                out.push(absent(kind, name, "its variables are", p));
            }
            continue;
        };
        let prefix = from.prefix.as_deref().unwrap_or("");
        let mut invalid = Vec::new();
        for (key, value) in data {
            let var = format!("{prefix}{key}");
            if valid_env_name(&var) {
                env.push(m::EnvVar {
                    name: var,
                    value: value.clone(),
                    manifest_index: None,
                    from_object: true,
                    field_ref: None,
                    resource_field_ref: None,
                });
            } else {
                invalid.push(var);
            }
        }
        if !invalid.is_empty() {
            // The kubelet's InvalidEnvironmentVariableNames event, said before the run.
            out.push(Diagnostic::warning(
                p,
                format!(
                    "Keys [{}] from the EnvFrom {} {ns}/{name} were skipped since they are considered invalid environment variable names.",
                    invalid.join(", "),
                    kind.resource()
                ),
            ));
        }
    }
    for (i, e) in c.env.iter().flatten().enumerate() {
        let mut field_ref = None;
        let mut resource_field_ref = None;
        let (value, from_object) = match &e.value_from {
            None => (e.value.clone().unwrap_or_default(), false),
            Some(from) if from.field_ref.is_some() => {
                let fp = from
                    .field_ref
                    .as_ref()
                    .map_or("", |f| f.field_path.as_str());
                let known = FIELD_PATHS.contains(&fp)
                    || fp.starts_with("metadata.labels[")
                    || fp.starts_with("metadata.annotations[");
                if !known {
                    // An invalid path is the validator's error.
                    continue;
                }
                field_ref = Some(fp.to_owned());
                (String::new(), false)
            }
            Some(from) if from.resource_field_ref.is_some() => {
                resource_field_ref =
                    from.resource_field_ref
                        .as_ref()
                        .map(|r| m::ResourceFieldRef {
                            resource: r.resource.clone(),
                            container_name: r.container_name.clone().filter(|n| !n.is_empty()),
                            divisor: r.divisor.as_ref().map(|d| d.0.clone()),
                        });
                (String::new(), false)
            }
            Some(from) => {
                let (kind, name, key, optional) =
                    match (&from.config_map_key_ref, &from.secret_key_ref) {
                        (Some(r), _) => (Kind::ConfigMap, &r.name, &r.key, r.optional),
                        (None, Some(r)) => (Kind::Secret, &r.name, &r.key, r.optional),
                        // fieldRef and the rest: the field table's note says it is not set.
                        (None, None) => continue,
                    };
                let optional = optional.unwrap_or(false);
                let p = path.key("env").index(i).key("valueFrom");
                let Some(data) = objects.get(kind, ns, name) else {
                    if !optional {
                        out.push(absent(kind, name, "the variable is", p));
                    }
                    continue;
                };
                match data.get(key) {
                    Some(v) => (v.clone(), true),
                    None if optional => continue,
                    None => {
                        let message =
                            format!("couldn't find key {key} in {} {ns}/{name}", kind.title());
                        out.push(
                            Diagnostic::warning(
                                p.clone(),
                                format!("{message}: the container would wait with CreateContainerConfigError and never start"),
                            )
                            .with_help("add the key to the object, fix the key's name, or mark the reference `optional: true`"),
                        );
                        error.get_or_insert(message);
                        continue;
                    }
                }
            }
        };
        env.push(m::EnvVar {
            name: e.name.clone(),
            value,
            manifest_index: Some(i),
            from_object,
            field_ref,
            resource_field_ref,
        });
    }
    (env, error)
}

#[cfg(test)]
mod tests;
