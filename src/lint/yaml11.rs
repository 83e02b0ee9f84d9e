//! YAML 1.1 booleans: kubectl (sigs.k8s.io/yaml) reads an unquoted `yes`, `no`, `on`, `off`,
//! `y` or `n` as a boolean, as podcheck's reader does, so `value: yes` in an env var is
//! rejected by kubectl although every YAML 1.2 tool reads it as the string "yes".

use crate::diag::FieldPath;
use crate::manifest::yaml::{Node, Value};

/// Kubernetes fields whose type is boolean: a YAML 1.1 boolean there means what it says.
const BOOLEAN_FIELDS: &[&str] = &[
    "readOnly",
    "stdin",
    "stdinOnce",
    "tty",
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "runAsNonRoot",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "shareProcessNamespace",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "setHostnameAsFQDN",
    "optional",
    "suspend",
    "paused",
    "publishNotReadyAddresses",
    "allowVolumeExpansion",
    "immutable",
    "manualSelector",
    "recursiveReadOnly",
    "allowWatchBookmarks",
    "required",
];

/// One unquoted YAML 1.1 boolean in a field that is not a boolean.
#[derive(Debug, Clone, PartialEq)]
pub struct Yaml11Bool {
    /// The field, from the document root.
    pub path: FieldPath,
    /// The scalar's byte range.
    pub span: std::ops::Range<usize>,
    /// The text as written (`yes`, `On`, ...).
    pub text: String,
    /// What kubectl reads.
    pub value: bool,
}

/// Whether `s` is a boolean in YAML 1.1 but not in YAML 1.2's core schema.
pub fn is_yaml11_only(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// Every YAML 1.1-only boolean of a document outside the known boolean fields.
pub fn find(source: &str, doc: &Node) -> Vec<Yaml11Bool> {
    let mut out = Vec::new();
    walk(source, doc, &FieldPath::root(), None, &mut out);
    out
}

fn walk(source: &str, node: &Node, path: &FieldPath, key: Option<&str>, out: &mut Vec<Yaml11Bool>) {
    match &node.value {
        Value::Bool(b) => {
            let text = source.get(node.span.clone()).unwrap_or("").trim();
            if is_yaml11_only(text) && !key.is_some_and(|k| BOOLEAN_FIELDS.contains(&k)) {
                out.push(Yaml11Bool {
                    path: path.clone(),
                    span: node.span.clone(),
                    text: text.to_owned(),
                    value: *b,
                });
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(source, item, &path.index(i), key, out);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let name = k.as_str().unwrap_or("");
                walk(source, v, &path.key(name), Some(name), out);
            }
        }
        _ => {}
    }
}
