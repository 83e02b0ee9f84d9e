use std::path::{Path, PathBuf};

use super::*;
use crate::spec::load_spec;

#[test]
fn names_become_dns_1123() {
    assert_eq!(
        dns1123_name("Always_Exit0 backs off!"),
        "always-exit0-backs-off"
    );
    assert_eq!(dns1123_name("--x.y--"), "x.y");
    assert_eq!(dns1123_name("???"), "pod");
    assert_eq!(dns1123_name(&"a".repeat(300)).len(), 253);
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

/// Exports, writes and reads back through the manifest reader: the pod must be the same.
fn round_trip(loaded: &crate::spec::LoadedSpec, dir: &Path) -> Result<(), String> {
    let exported = export_spec(loaded);
    let yaml = to_yaml(std::slice::from_ref(&exported.pod)).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{}.yaml", loaded.stem));
    std::fs::write(&file, &yaml).map_err(|e| e.to_string())?;
    let back = crate::manifest::read_file(&file);
    let errors: Vec<_> = back
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        // A spec may leave `image` out (an extension the export warns about).
        .filter(|d| !(d.message == "Required value" && d.path.to_string().ends_with(".image")))
        .map(|d| d.message.clone())
        .collect();
    if !errors.is_empty() {
        return Err(format!("read back with errors {errors:?}:\n{yaml}"));
    }
    let [pod] = back.pods.as_slice() else {
        return Err(format!("{} pods read back:\n{yaml}", back.pods.len()));
    };
    if pod.object
        != format!(
            "Pod/{}",
            exported.pod.metadata.name.clone().unwrap_or_default()
        )
    {
        return Err(format!("object {}", pod.object));
    }
    let mut want = loaded.spec.pod.clone();
    want.name = exported.pod.metadata.name.clone();
    // Where a variable sits in the manifest's env list is bookkeeping, not the pod.
    let forget_index = |p: &mut crate::spec::model::Pod| {
        for c in p.init_containers.iter_mut().chain(p.containers.iter_mut()) {
            for e in &mut c.env {
                e.manifest_index = None;
            }
        }
    };
    let mut got = pod.pod.clone();
    forget_index(&mut got);
    forget_index(&mut want);
    let (want, got) = (format!("{want:#?}"), format!("{got:#?}"));
    if want != got {
        return Err(format!(
            "the pod changed:\nspec: {want}\nread back: {got}\nyaml:\n{yaml}"
        ));
    }
    Ok(())
}

#[test]
fn every_spec_pod_survives_export_and_read_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    toml_files(&root.join("specs"), &mut files);
    toml_files(&root.join("examples"), &mut files);
    files.sort();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in &files {
        let source = std::fs::read_to_string(path).unwrap_or_default();
        let Ok(table) = source.parse::<toml::Table>() else {
            continue;
        };
        if !table.contains_key("pod") {
            continue;
        }
        let Ok(loaded) = load_spec(path) else {
            continue;
        };
        checked += 1;
        if let Err(e) = round_trip(&loaded, dir.path()) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(checked > 40, "only {checked} specs with a [pod] found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn manifest_specs_export_the_manifests_pod_and_list_what_is_left_out() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = load_spec(&root.join("specs/manifests/webapp-deployment.toml")).expect("loads");
    let dir = tempfile::tempdir().expect("tempdir");
    round_trip(&loaded, dir.path()).expect("round trip");
    let e = export_spec(&loaded);
    let lines = e.notices().join("\n");
    for needle in [
        "not exported: [images] \"registry.example.com/shop/webapp:1.4.2\"",
        "not exported: expect:",
        "webapp.yaml:76:11: spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
    ] {
        assert!(lines.contains(needle), "{needle:?} missing in\n{lines}");
    }
    assert!(
        !lines.contains("resources"),
        "resources are exported:\n{lines}"
    );
    // A configMap volume goes out as written, not as the empty directory it is here.
    let volumes = e.pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    let config = volumes
        .and_then(|v| v.iter().find(|v| v.config_map.is_some()))
        .expect("the configMap volume");
    assert!(config.empty_dir.is_none(), "{config:?}");
    assert!(!lines.contains("configMap"), "{lines}");
}

#[test]
fn yaml_1_1_booleans_and_octal_like_strings_stay_strings() {
    let mut pod = m::Pod::default();
    pod.containers.push(m::Container {
        name: "a".into(),
        image: Some("x".into()),
        image_pull_policy: None,
        command: Some(vec!["yes".into(), "on".into(), "0755".into(), "1e3".into()]),
        args: None,
        working_dir: None,
        env: vec![m::EnvVar {
            name: "N".into(),
            value: "no".into(),
            manifest_index: None,
            from_object: false,
            field_ref: None,
            resource_field_ref: None,
        }],
        ports: Vec::new(),
        volume_mounts: Vec::new(),
        restart_policy: None,
        restart_policy_rules: Vec::new(),
        termination_message_path: None,
        termination_message_policy: None,
        liveness_probe: None,
        readiness_probe: None,
        startup_probe: None,
        lifecycle: None,
        resources: None,
        security_context: None,
        config_error: None,
    });
    let yaml = to_yaml(&[to_pod(&pod, "p")]).expect("yaml");
    for quoted in ["\"yes\"", "\"on\"", "\"0755\"", "\"1e3\"", "\"no\""] {
        assert!(yaml.contains(quoted), "{quoted} unquoted in\n{yaml}");
    }
}

#[test]
fn a_skipped_document_is_listed_without_an_empty_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("m.yaml");
    std::fs::write(&p, "a: 1\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: b}]}\n").expect("write");
    let file = crate::manifest::read::read_file(&p);
    let lines = skipped_objects(&file);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]
            .ends_with("m.yaml:1:1: document 1 is not a Kubernetes object (no `kind`): skipped"),
        "{lines:?}"
    );
}
