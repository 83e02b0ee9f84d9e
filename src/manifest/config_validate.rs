//! The API server's checks of a ConfigMap or Secret (ValidateConfigMap, ValidateSecret):
//! a document that does not decode (a number where a string is due, data that is not
//! base64), keys that are not config keys, a key in both `data` and `binaryData`, more
//! than 1 MiB of data, and the keys a typed Secret must have.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k;

use super::de::{Keys, from_node};
use super::yaml::Node;
use crate::diag::{Diagnostic, FieldPath};

/// corev1.MaxSecretSize, also the ConfigMap limit.
const MAX_DATA_BYTES: usize = 1024 * 1024;

/// Checks a `kind: ConfigMap` or `kind: Secret` object at `path` of `doc`.
pub fn check(doc: &Node, node: &Node, kind: &str, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let located = |mut d: Diagnostic| {
        if d.span.is_none() {
            d.span = Some(doc.span_of(&d.path));
        }
        d
    };
    let keys = Keys::default();
    let decode_error = |e: super::de::DeError| {
        let mut d = Diagnostic::error(e.path.clone(), e.message.clone()).with_help(
            "give the value the type the Kubernetes API defines for this field (data values are strings; a Secret's `data` is base64, `stringData` plain text)",
        );
        d.span = e.span.clone();
        located(d)
    };
    let mut found = Vec::new();
    if kind == "ConfigMap" {
        match from_node::<k::ConfigMap>(node, path.clone(), &keys) {
            Ok(c) => {
                let data = c.data.unwrap_or_default();
                let binary = c.binary_data.unwrap_or_default();
                let mut size = 0;
                for (key, v) in &data {
                    key_problems(key, &path.key("data").map_key(key), &mut found);
                    size += v.len();
                }
                for (key, v) in &binary {
                    key_problems(key, &path.key("binaryData").map_key(key), &mut found);
                    if data.contains_key(key) {
                        found.push(Diagnostic::error(
                            path.key("data").map_key(key),
                            format!(
                                "Invalid value: {key:?}: duplicate of key present in binaryData"
                            ),
                        ));
                    }
                    size += v.0.len();
                }
                too_large(size, &path.key("data"), &mut found);
            }
            Err(e) => found.push(decode_error(e)),
        }
    } else {
        match super::config_refs::read_secret(node, path.clone(), &keys) {
            Ok(s) => {
                let annotations = s.metadata.annotations.clone().unwrap_or_default();
                let kind = s.type_.clone().unwrap_or_default();
                let data = super::config_refs::secret_files(s);
                let data_path = path.key("data");
                for key in data.keys() {
                    key_problems(key, &data_path.map_key(key), &mut found);
                }
                too_large(data.values().map(Vec::len).sum(), &data_path, &mut found);
                secret_type(&kind, &data, &annotations, path, &mut found);
            }
            Err(e) => found.push(decode_error(e)),
        }
    }
    out.extend(found.into_iter().map(located));
}

/// ValidateSecret's rules per type: the keys each needs, well-formed docker config JSON, and
/// a service-account token's annotation naming its account.
fn secret_type(
    kind: &str,
    data: &BTreeMap<String, Vec<u8>>,
    annotations: &BTreeMap<String, String>,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    let data_path = path.key("data");
    let required = |key: &str, out: &mut Vec<Diagnostic>| {
        out.push(Diagnostic::error(
            data_path.map_key(key),
            "Required value".to_owned(),
        ));
    };
    match kind {
        "kubernetes.io/service-account-token" => {
            const KEY: &str = "kubernetes.io/service-account.name";
            if annotations.get(KEY).is_none_or(String::is_empty) {
                out.push(Diagnostic::error(
                    path.key("metadata").key("annotations").map_key(KEY),
                    "Required value".to_owned(),
                ));
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let key = if kind.ends_with("json") {
                ".dockerconfigjson"
            } else {
                ".dockercfg"
            };
            match data.get(key) {
                None => required(key, out),
                Some(bytes) => {
                    let parsed: Result<serde_json::Map<String, serde_json::Value>, _> =
                        serde_json::from_slice(bytes);
                    if let Err(e) = parsed {
                        out.push(Diagnostic::error(
                            data_path.map_key(key),
                            format!("Invalid value: \"<secret contents redacted>\": {e}"),
                        ));
                    }
                }
            }
        }
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            required("username", out);
            required("password", out);
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(Vec::is_empty) => {
            required("ssh-privatekey", out);
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !data.contains_key(key) {
                    required(key, out);
                }
            }
        }
        _ => {}
    }
}

/// validation.IsConfigMapKey, worded as the API server words it.
fn key_problems(key: &str, at: &FieldPath, out: &mut Vec<Diagnostic>) {
    let mut why = Vec::new();
    if key.len() > 253 {
        why.push("must be no more than 253 characters".to_owned());
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        why.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_owned());
    }
    match key {
        "." => why.push("must not be '.'".to_owned()),
        ".." => why.push("must not be '..'".to_owned()),
        k if k.starts_with("..") => why.push("must not start with '..'".to_owned()),
        _ => {}
    }
    for w in why {
        out.push(Diagnostic::error(
            at.clone(),
            format!("Invalid value: {key:?}: {w}"),
        ));
    }
}

fn too_large(size: usize, at: &FieldPath, out: &mut Vec<Diagnostic>) {
    if size > MAX_DATA_BYTES {
        out.push(Diagnostic::error(
            at.clone(),
            format!("Too long: must have at most {MAX_DATA_BYTES} bytes"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::parse_documents;

    fn errors(yaml: &str) -> Vec<String> {
        let doc = parse_documents(yaml).expect("yaml").remove(0);
        let kind = doc
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_owned();
        let mut out = Vec::new();
        check(&doc, &doc, &kind, &FieldPath::root(), &mut out);
        out.iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    }

    #[test]
    fn what_the_api_server_rejects_is_an_error_at_its_field() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
        let ok = errors(&format!("{cm}data: {{a.conf: x, B_2-c: z}}\n"));
        assert!(ok.is_empty(), "{ok:?}");
        let e = errors(&format!("{cm}data: {{PORT: 8080}}\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("data.PORT: "), "{e:?}");
        assert_eq!(
            errors(&format!(
                "{cm}data: {{'bad key!': x, ..x: w}}\nbinaryData: {{..x: AA==}}\n"
            )),
            [
                "data[..x]: Invalid value: \"..x\": must not start with '..'",
                "data[bad key!]: Invalid value: \"bad key!\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "binaryData[..x]: Invalid value: \"..x\": must not start with '..'",
                "data[..x]: Invalid value: \"..x\": duplicate of key present in binaryData",
            ]
        );
        let big = "x".repeat(MAX_DATA_BYTES + 1);
        assert_eq!(
            errors(&format!("{cm}data: {{a: {big}}}\n")),
            ["data: Too long: must have at most 1048576 bytes"]
        );
        let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";
        // Wrapped base64, as `base64` prints it, decodes as Go decodes it.
        assert!(errors(&format!("{secret}data:\n  key: |\n    QUFB\n    QUE=\n")).is_empty());
        assert!(
            errors(&format!(
                "{secret}data: {{a: cHc=}}\nstringData: {{b: plain}}\n"
            ))
            .is_empty()
        );
        let e = errors(&format!("{secret}data: {{a: 'not base64!!'}}\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            errors(&format!(
                "{secret}type: kubernetes.io/tls\nstringData: {{tls.crt: x}}\n"
            )),
            ["data[tls.key]: Required value"]
        );
        assert_eq!(
            errors(&format!(
                "{secret}type: kubernetes.io/basic-auth\nstringData: {{other: x}}\n"
            )),
            [
                "data[username]: Required value",
                "data[password]: Required value"
            ]
        );
        let empty_password = "type: kubernetes.io/basic-auth\nstringData: {password: ''}\n";
        assert!(errors(&format!("{secret}{empty_password}")).is_empty());
        assert_eq!(
            errors(&format!(
                "{secret}type: kubernetes.io/service-account-token\n"
            )),
            ["metadata.annotations[kubernetes.io/service-account.name]: Required value"]
        );
        let docker = errors(&format!(
            "{secret}type: kubernetes.io/dockerconfigjson\nstringData: {{.dockerconfigjson: 'not json'}}\n"
        ));
        assert_eq!(docker.len(), 1, "{docker:?}");
        assert!(
            docker[0].starts_with(
                "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": "
            ),
            "{docker:?}"
        );
        let good_docker = "type: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{\"auths\": {}}'}\n";
        assert!(errors(&format!("{secret}{good_docker}")).is_empty());
        assert_eq!(
            errors(&format!(
                "{secret}type: kubernetes.io/ssh-auth\nstringData: {{ssh-privatekey: ''}}\n"
            )),
            ["data[ssh-privatekey]: Required value"]
        );
    }
}
