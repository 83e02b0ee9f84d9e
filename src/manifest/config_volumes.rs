//! configMap, secret, downwardAPI and projected volumes: the files the kubelet's volume
//! plugins would write (configmap.MakePayload, secret.MakePayload, downwardapi
//! CollectData, projected collectData) from the objects of the same file, and the API
//! server's checks of their items and modes. A downwardAPI file is rendered by the kubelet
//! as it sets the volume up; here it is only checked and carried.
//!
//! As for variables, an object that is not in the file leaves the volume empty with a note;
//! a key missing from an object that is there is the plugin's error, which keeps the pod in
//! ContainerCreating with FailedMount events, as on a cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k;

use super::config_refs::{ConfigObjects, Kind};
use super::validate_container::{VOLUME_FIELD_PATHS, field_ref, resource_field_ref};
use crate::diag::{Diagnostic, FieldPath};
use crate::spec::model as m;

/// The mode a projected file gets when neither its item nor the volume sets one.
const DEFAULT_MODE: i32 = 0o644;

/// One source of a volume: a ConfigMap or a Secret, the items it projects (all its keys
/// when none), and whether it may be absent.
struct Source<'a> {
    kind: Kind,
    name: &'a str,
    items: &'a [k::KeyToPath],
    optional: bool,
    path: FieldPath,
}

/// The projection of volume `v` at `path`, None for a volume of another type. Findings go
/// to `out`: errors for items and modes the API server rejects, a note for an object the
/// file does not have.
pub fn project(
    v: &k::Volume,
    ns: &str,
    objects: &ConfigObjects,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> Option<m::Projection> {
    let mut downward_items: Vec<(&[k::DownwardAPIVolumeFile], FieldPath)> = Vec::new();
    let (sources, default_mode, mode_path) = if let Some(c) = &v.config_map {
        let p = path.key("configMap");
        let src = Source {
            kind: Kind::ConfigMap,
            name: &c.name,
            items: c.items.as_deref().unwrap_or(&[]),
            optional: c.optional.unwrap_or(false),
            path: p.clone(),
        };
        (vec![src], c.default_mode, p.key("defaultMode"))
    } else if let Some(s) = &v.secret {
        let p = path.key("secret");
        let src = Source {
            kind: Kind::Secret,
            name: s.secret_name.as_deref().unwrap_or(""),
            items: s.items.as_deref().unwrap_or(&[]),
            optional: s.optional.unwrap_or(false),
            path: p.clone(),
        };
        (vec![src], s.default_mode, p.key("defaultMode"))
    } else if let Some(d) = &v.downward_api {
        let p = path.key("downwardAPI");
        let items = d.items.as_deref().unwrap_or(&[]);
        downward_items.push((items, p.key("items")));
        (Vec::new(), d.default_mode, p.key("defaultMode"))
    } else if let Some(pr) = &v.projected {
        let p = path.key("projected");
        for (i, s) in pr.sources.iter().flatten().enumerate() {
            if let Some(d) = &s.downward_api {
                let items = d.items.as_deref().unwrap_or(&[]);
                let at = p.key("sources").index(i).key("downwardAPI").key("items");
                downward_items.push((items, at));
            }
        }
        check_projection(pr, &p, out);
        (
            projected_sources(pr, &p, out),
            pr.default_mode,
            p.key("defaultMode"),
        )
    } else {
        return None;
    };
    check_mode(default_mode, &mode_path, out);
    let default_mode = default_mode.unwrap_or(DEFAULT_MODE);
    let mut files: BTreeMap<String, m::ProjectedFile> = BTreeMap::new();
    let mut errors = Vec::new();
    for src in &sources {
        let before = out.len();
        for (i, item) in src.items.iter().enumerate() {
            check_item(item, &src.path.key("items").index(i), out);
        }
        // The API server rejects the pod: there is no payload to speak of.
        if out.len() > before {
            continue;
        }
        if src.name.is_empty() {
            let field = if src.kind == Kind::Secret {
                "secretName"
            } else {
                "name"
            };
            out.push(Diagnostic::error(
                src.path.key(field),
                "Required value".to_owned(),
            ));
            continue;
        }
        let Some(data) = objects.files(src.kind, ns, src.name) else {
            if !src.optional {
                out.push(absent(src, &v.name));
            }
            continue;
        };
        match payload(src, data, default_mode) {
            Ok(p) => files.extend(p.into_iter().map(|f| (f.path.clone(), f))),
            Err(e) => {
                out.push(
                    Diagnostic::warning(
                        src.path.clone(),
                        format!("{e}: the pod would stay in ContainerCreating with FailedMount events"),
                    )
                    .with_help("add the key to the object, fix the key's name, or mark the source `optional: true`"),
                );
                errors.push(e);
            }
        }
    }
    let mut downward = Vec::new();
    for (items, at) in downward_items {
        for (i, item) in items.iter().enumerate() {
            if let Some(f) = downward_file(item, default_mode, &at.index(i), out) {
                downward.push(f);
            }
        }
    }
    // utilerrors.NewAggregate: one error as it is, several in brackets.
    let error = match errors.len() {
        0 => None,
        1 => errors.pop(),
        _ => Some(format!("[{}]", errors.join(", "))),
    };
    Some(m::Projection {
        files: files.into_values().collect(),
        downward,
        error,
        source: v.clone(),
    })
}

/// A projected volume's ConfigMap and Secret sources; its downwardAPI sources are read
/// apart, and the others get a note each.
fn projected_sources<'a>(
    pr: &'a k::ProjectedVolumeSource,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> Vec<Source<'a>> {
    let mut sources = Vec::new();
    for (i, s) in pr.sources.iter().flatten().enumerate() {
        let p = path.key("sources").index(i);
        if let Some(c) = &s.config_map {
            sources.push(Source {
                kind: Kind::ConfigMap,
                name: &c.name,
                items: c.items.as_deref().unwrap_or(&[]),
                optional: c.optional.unwrap_or(false),
                path: p.key("configMap"),
            });
        } else if let Some(c) = &s.secret {
            sources.push(Source {
                kind: Kind::Secret,
                name: &c.name,
                items: c.items.as_deref().unwrap_or(&[]),
                optional: c.optional.unwrap_or(false),
                path: p.key("secret"),
            });
        } else if s.downward_api.is_none() {
            let what = if s.service_account_token.is_some() {
                "serviceAccountToken"
            } else if s.cluster_trust_bundle.is_some() {
                "clusterTrustBundle"
            } else {
                "podCertificate"
            };
            out.push(Diagnostic::note(
                p.key(what),
                format!("a projected {what} source is not emulated: its files are not written"),
            ));
        }
    }
    sources
}

/// validateProjectionSources' checks across sources: one volume type per source, no path
/// projected twice (the error names the projected volume as its field, as the API server
/// does), and a serviceAccountToken's lifetime and path.
fn check_projection(pr: &k::ProjectedVolumeSource, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::BTreeSet::new();
    let mut claim = |p: &str, value: &str, out: &mut Vec<Diagnostic>| {
        if !p.is_empty() && !seen.insert(p.to_owned()) {
            out.push(Diagnostic::error(
                path.clone(),
                format!("Invalid value: {value:?}: conflicting duplicate paths"),
            ));
        }
    };
    for (i, s) in pr.sources.iter().flatten().enumerate() {
        let at = path.key("sources").index(i);
        let kinds = [
            s.secret.is_some(),
            s.config_map.is_some(),
            s.downward_api.is_some(),
            s.service_account_token.is_some(),
            s.cluster_trust_bundle.is_some(),
            s.pod_certificate.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            out.push(Diagnostic::error(
                at.clone(),
                "Forbidden: may not specify more than 1 volume type".to_owned(),
            ));
        }
        if let Some(c) = &s.secret {
            for item in c.items.iter().flatten() {
                claim(&item.path, &c.name, out);
            }
        }
        if let Some(c) = &s.config_map {
            for item in c.items.iter().flatten() {
                claim(&item.path, &c.name, out);
            }
        }
        if let Some(d) = &s.downward_api {
            for item in d.items.iter().flatten() {
                claim(&item.path, &item.path, out);
            }
        }
        if let Some(t) = &s.service_account_token {
            // Unset, the API server defaults it to an hour.
            let secs = t.expiration_seconds.unwrap_or(3600);
            let field = at.key("serviceAccountToken").key("expirationSeconds");
            if secs < 600 {
                out.push(Diagnostic::error(
                    field.clone(),
                    format!(
                        "Invalid value: {secs}: may not specify a duration less than 10 minutes"
                    ),
                ));
            }
            if secs > 1 << 32 {
                out.push(Diagnostic::error(
                    field,
                    format!(
                        "Invalid value: {secs}: may not specify a duration larger than 2^32 seconds"
                    ),
                ));
            }
            // The API server reports the token's path at the projection's own `path`.
            let mut found = Vec::new();
            check_path(&t.path, path, &mut found);
            out.extend(found);
        }
        if let Some(b) = &s.cluster_trust_bundle {
            check_path(&b.path, &at.key("clusterTrustBundlePEM"), out);
            claim(&b.path, &b.path, out);
        }
    }
}

/// MakePayload: every key of the object when no items are given, else each item's key at
/// its path; a missing key is an error unless the source is optional.
fn payload(
    src: &Source<'_>,
    data: &BTreeMap<String, Vec<u8>>,
    default_mode: i32,
) -> Result<Vec<m::ProjectedFile>, String> {
    let mode = |m: Option<i32>| u32::try_from(m.unwrap_or(default_mode)).unwrap_or(0) & 0o777;
    if src.items.is_empty() {
        return Ok(data
            .iter()
            .map(|(key, bytes)| m::ProjectedFile {
                path: key.clone(),
                data: bytes.clone(),
                mode: mode(None),
            })
            .collect());
    }
    let mut files = Vec::new();
    for item in src.items {
        let Some(bytes) = data.get(&item.key) else {
            if src.optional {
                continue;
            }
            return Err(match src.kind {
                Kind::ConfigMap => {
                    format!("configmap references non-existent config key: {}", item.key)
                }
                Kind::Secret => format!("references non-existent secret key: {}", item.key),
            });
        };
        files.push(m::ProjectedFile {
            path: item.path.clone(),
            data: bytes.clone(),
            mode: mode(item.mode),
        });
    }
    Ok(files)
}

fn absent(src: &Source<'_>, volume: &str) -> Diagnostic {
    Diagnostic::note(
        src.path.clone(),
        format!(
            "{} {:?} is not in this file: volume {volume:?} is an empty directory here (a cluster without it would keep the pod in ContainerCreating: FailedMount, {} {:?} not found)",
            src.kind.title(),
            src.name,
            src.kind.resource(),
            src.name
        ),
    )
    .with_help("put the object in the same file (a `---` document) for podcheck to read it, or mark the source `optional: true`")
}

/// validateVolumeMode: a file mode is 0 to 0777.
fn check_mode(mode: Option<i32>, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    if let Some(m) = mode
        && !(0..=0o777).contains(&m)
    {
        out.push(Diagnostic::error(
            path.clone(),
            format!(
                "Invalid value: {m}: must be a number between 0 and 0777 (octal), both inclusive"
            ),
        ));
    }
}

/// validateDownwardAPIVolumeFile, and the file as the model carries it (None when invalid).
fn downward_file(
    item: &k::DownwardAPIVolumeFile,
    default_mode: i32,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> Option<m::DownwardFile> {
    let before = out.len();
    check_path(&item.path, path, out);
    match (&item.field_ref, &item.resource_field_ref) {
        (Some(f), r) => {
            field_ref(f, &VOLUME_FIELD_PATHS, &path.key("fieldRef"), out);
            if r.is_some() {
                out.push(Diagnostic::error(
                    path.clone(),
                    "Invalid value: \"resource\": fieldRef and resourceFieldRef can not be specified simultaneously".to_owned(),
                ));
            }
        }
        (None, Some(r)) => resource_field_ref(r, true, &path.key("resourceFieldRef"), out),
        (None, None) => out.push(Diagnostic::error(
            path.clone(),
            "Required value: one of fieldRef and resourceFieldRef is required".to_owned(),
        )),
    }
    check_mode(item.mode, &path.key("mode"), out);
    if out.len() > before {
        return None;
    }
    Some(m::DownwardFile {
        path: item.path.clone(),
        field_ref: item.field_ref.as_ref().map(|f| f.field_path.clone()),
        resource_field_ref: item
            .resource_field_ref
            .as_ref()
            .map(|r| m::ResourceFieldRef {
                resource: r.resource.clone(),
                container_name: r.container_name.clone().filter(|n| !n.is_empty()),
                divisor: r.divisor.as_ref().map(|d| d.0.clone()),
            }),
        mode: u32::try_from(item.mode.unwrap_or(default_mode)).unwrap_or(0) & 0o777,
    })
}

/// validateKeyToPath: a key, a path below the volume, a valid mode.
fn check_item(item: &k::KeyToPath, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    if item.key.is_empty() {
        out.push(Diagnostic::error(
            path.key("key"),
            "Required value".to_owned(),
        ));
    }
    check_path(&item.path, path, out);
    check_mode(item.mode, &path.key("mode"), out);
}

/// An item's `path`: required, and ValidateLocalNonReservedPath's rules: relative, no `..`
/// element, and a last element that does not start with `..` (the kubelet's own `..data`
/// lives there). `path` is the item's.
fn check_path(p: &str, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let at = path.key("path");
    let invalid = |why: &str| Diagnostic::error(at.clone(), format!("Invalid value: {p:?}: {why}"));
    if p.is_empty() {
        out.push(Diagnostic::error(at.clone(), "Required value".to_owned()));
    }
    let before = out.len();
    if p.starts_with('/') {
        out.push(invalid("must be a relative path"));
    }
    if p.split('/').any(|part| part == "..") {
        out.push(invalid("must not contain '..'"));
    }
    let base = p.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if out.len() == before && base.starts_with("..") {
        out.push(invalid("must not start with '..'"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::de::{Keys, from_node};
    use crate::manifest::yaml::parse_documents;

    const OBJECTS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a.conf: A, b: B}\nbinaryData: {bin: AAE=}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: sec}\ndata: {p: cHc=}\nstringData: {q: plain}\n";

    fn run(volume_yaml: &str) -> (Option<m::Projection>, Vec<Diagnostic>) {
        let docs = parse_documents(OBJECTS).expect("objects");
        let objects = ConfigObjects::collect(&docs);
        let node = parse_documents(volume_yaml).expect("volume").remove(0);
        let v: k::Volume = from_node(&node, FieldPath::root(), &Keys::default()).expect("a volume");
        let mut out = Vec::new();
        let p = project(&v, "default", &objects, &FieldPath::root(), &mut out);
        (p, out)
    }

    fn files(p: &m::Projection) -> Vec<(&str, &[u8], u32)> {
        p.files
            .iter()
            .map(|f| (f.path.as_str(), f.data.as_slice(), f.mode))
            .collect()
    }

    #[test]
    fn every_key_is_a_file_with_the_default_mode() {
        let (p, out) = run("name: v\nconfigMap: {name: cfg}\n");
        let p = p.expect("a projection");
        assert_eq!(
            files(&p),
            [
                ("a.conf", &b"A"[..], 0o644),
                ("b", b"B", 0o644),
                ("bin", &[0, 1][..], 0o644)
            ]
        );
        assert_eq!(p.error, None);
        assert!(out.is_empty(), "{out:?}");
        let (p, _) = run("name: v\nsecret: {secretName: sec, defaultMode: 0400}\n");
        assert_eq!(
            files(&p.expect("secret")),
            [("p", &b"pw"[..], 0o400), ("q", b"plain", 0o400)]
        );
    }

    #[test]
    fn items_pick_keys_paths_and_modes() {
        let (p, out) = run(
            "name: v\nconfigMap:\n  name: cfg\n  defaultMode: 0640\n  items:\n  - {key: a.conf, path: conf/app.conf}\n  - {key: b, path: b.txt, mode: 0600}\n",
        );
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(
            files(&p.expect("a projection")),
            [("b.txt", &b"B"[..], 0o600), ("conf/app.conf", b"A", 0o640)]
        );
    }

    #[test]
    fn a_missing_key_is_the_plugins_error_unless_optional() {
        let (p, out) = run("name: v\nconfigMap: {name: cfg, items: [{key: nope, path: x}]}\n");
        assert_eq!(
            p.expect("a projection").error.as_deref(),
            Some("configmap references non-existent config key: nope")
        );
        assert!(out[0].message.contains("FailedMount"), "{out:?}");
        let (p, _) = run("name: v\nsecret: {secretName: sec, items: [{key: nope, path: x}]}\n");
        assert_eq!(
            p.expect("a projection").error.as_deref(),
            Some("references non-existent secret key: nope")
        );
        let (p, out) = run(
            "name: v\nconfigMap: {name: cfg, optional: true, items: [{key: nope, path: x}, {key: b, path: why}]}\n",
        );
        let p = p.expect("a projection");
        assert_eq!(
            (p.error.clone(), files(&p)),
            (None, vec![("why", &b"B"[..], 0o644)])
        );
        assert!(out.is_empty());
    }

    #[test]
    fn an_object_not_in_the_file_is_an_empty_volume_with_a_note() {
        let (p, out) = run("name: v\nconfigMap: {name: elsewhere}\n");
        let p = p.expect("a projection");
        assert!(p.files.is_empty() && p.error.is_none());
        assert_eq!(out.len(), 1);
        assert!(
            out[0]
                .message
                .contains("ConfigMap \"elsewhere\" is not in this file")
        );
        let (_, out) = run("name: v\nsecret: {secretName: elsewhere, optional: true}\n");
        assert!(out.is_empty());
    }

    #[test]
    fn projected_sources_merge_and_the_rest_are_noted() {
        let (p, out) = run(
            "name: v\nprojected:\n  defaultMode: 0444\n  sources:\n  - configMap: {name: cfg, items: [{key: b, path: b}]}\n  - secret: {name: sec, items: [{key: q, path: creds/q}]}\n  - serviceAccountToken: {path: token}\n",
        );
        assert_eq!(
            files(&p.expect("a projection")),
            [("b", &b"B"[..], 0o444), ("creds/q", b"plain", 0o444)]
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].path.to_string(),
            "projected.sources[2].serviceAccountToken"
        );
    }

    #[test]
    fn projected_sources_are_checked_as_the_api_server_does() {
        let messages = |yaml: &str| -> Vec<String> {
            run(yaml)
                .1
                .iter()
                .filter(|d| d.severity == crate::diag::Severity::Error)
                .map(|d| format!("{}: {}", d.path, d.message))
                .collect()
        };
        // A path projected by two sources, whatever their kinds.
        assert_eq!(
            messages(
                "name: v\nprojected:\n  sources:\n  - configMap: {name: cfg, items: [{key: b, path: x}]}\n  - secret: {name: sec, items: [{key: q, path: x}]}\n  - downwardAPI: {items: [{path: x, fieldRef: {fieldPath: metadata.name}}]}\n",
            ),
            [
                "projected: Invalid value: \"sec\": conflicting duplicate paths",
                "projected: Invalid value: \"x\": conflicting duplicate paths"
            ]
        );
        // Two volume types in one source.
        assert_eq!(
            messages(
                "name: v\nprojected:\n  sources:\n  - configMap: {name: cfg}\n    secret: {name: sec}\n"
            ),
            ["projected.sources[0]: Forbidden: may not specify more than 1 volume type"]
        );
        // A token's lifetime is 10 minutes to 2^32 seconds; its path is reported at the
        // projection's own `path`, as the API server reports it.
        assert_eq!(
            messages(
                "name: v\nprojected:\n  sources:\n  - serviceAccountToken: {path: token, expirationSeconds: 599}\n  - serviceAccountToken: {path: /abs, expirationSeconds: 4294967297}\n  - serviceAccountToken: {path: ''}\n"
            ),
            [
                "projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes",
                "projected.sources[1].serviceAccountToken.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds",
                "projected.path: Invalid value: \"/abs\": must be a relative path",
                "projected.path: Required value"
            ]
        );
        // The one-hour default and 2^32 itself are fine.
        assert!(
            messages(
                "name: v\nprojected:\n  sources:\n  - serviceAccountToken: {path: a}\n  - serviceAccountToken: {path: b, expirationSeconds: 4294967296}\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn downward_api_files_are_checked_and_carried_for_the_kubelet() {
        let (p, out) = run(
            "name: v\ndownwardAPI:\n  defaultMode: 0440\n  items:\n  - {path: labels, fieldRef: {fieldPath: metadata.labels}}\n  - {path: mem, mode: 0400, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}\n",
        );
        assert!(out.is_empty(), "{out:?}");
        let d = p.expect("a projection").downward;
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].field_ref.as_deref(), d[0].mode),
            (Some("metadata.labels"), 0o440)
        );
        let r = d[1].resource_field_ref.as_ref().expect("a resource");
        assert_eq!(
            (r.container_name.as_deref(), d[1].mode),
            (Some("app"), 0o400)
        );
        let (p, out) = run(
            "name: v\ndownwardAPI:\n  items:\n  - {path: ip, fieldRef: {fieldPath: status.podIP}}\n  - {path: cpu, resourceFieldRef: {resource: limits.cpu}}\n  - {path: none}\n  - {path: both, fieldRef: {fieldPath: metadata.name}, resourceFieldRef: {containerName: a, resource: limits.cpu}}\n",
        );
        let got: Vec<String> = out
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect();
        assert_eq!(
            got,
            [
                "downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: \"status.podIP\": supported values: \"metadata.annotations\", \"metadata.labels\", \"metadata.name\", \"metadata.namespace\", \"metadata.uid\"",
                "downwardAPI.items[1].resourceFieldRef.containerName: Required value",
                "downwardAPI.items[2]: Required value: one of fieldRef and resourceFieldRef is required",
                "downwardAPI.items[3]: Invalid value: \"resource\": fieldRef and resourceFieldRef can not be specified simultaneously",
            ]
        );
        assert!(p.expect("a projection").downward.is_empty());
    }

    #[test]
    fn items_and_modes_are_validated_as_the_api_server_does() {
        let (_, out) = run(
            "name: v\nconfigMap:\n  name: cfg\n  defaultMode: 1000\n  items:\n  - {key: '', path: /abs}\n  - {key: b, path: a/../b}\n  - {key: b, path: x/..b, mode: -1}\n",
        );
        let got: Vec<String> = out
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect();
        assert_eq!(
            got,
            [
                "configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
                "configMap.items[0].key: Required value",
                "configMap.items[0].path: Invalid value: \"/abs\": must be a relative path",
                "configMap.items[1].path: Invalid value: \"a/../b\": must not contain '..'",
                "configMap.items[2].path: Invalid value: \"x/..b\": must not start with '..'",
                "configMap.items[2].mode: Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive",
            ]
        );
    }
}
