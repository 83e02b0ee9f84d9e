//! `podcheck export`: a Pod manifest on stdout, what is left out on stderr.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");

fn podcheck(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("podcheck runs")
}

#[test]
fn export_prints_a_pod_and_lists_the_extensions() {
    let out = podcheck(&["export", "specs/images/image-table-entrypoint.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.starts_with("apiVersion: v1\nkind: Pod\n"), "{yaml}");
    let pod: k8s_openapi::api::core::v1::Pod = serde_saphyr::from_str(&yaml).expect("a Pod");
    assert_eq!(pod.metadata.name.as_deref(), Some("image-table-entrypoint"));
    assert!(!pod.spec.expect("spec").containers.is_empty());
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("not exported: [images] ")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("not exported: expect")),
        "{stderr}"
    );
}

#[test]
fn export_of_a_workload_manifest_is_its_pod() {
    let out = podcheck(&["export", "fixtures/manifests/nginx-deployment.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let yaml = String::from_utf8_lossy(&out.stdout);
    let pod: k8s_openapi::api::core::v1::Pod = serde_saphyr::from_str(&yaml).expect("a Pod");
    assert!(pod.spec.is_some());
    assert!(
        stderr.contains("not exported: Deployment/"),
        "the controller part is listed: {stderr}"
    );
}

#[test]
fn export_of_a_folder_writes_one_document_per_pod() {
    let out = podcheck(&["export", "fixtures/manifests"]);
    assert_eq!(out.status.code(), Some(0));
    let yaml = String::from_utf8_lossy(&out.stdout);
    let pods: Vec<k8s_openapi::api::core::v1::Pod> =
        serde_saphyr::from_multiple(&yaml).expect("Pods");
    assert!(pods.len() >= 5, "{}", pods.len());
}

#[test]
fn export_of_invalid_input_exits_2() {
    let out = podcheck(&["export", "fixtures/invalid/unknown-field.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let out = podcheck(&["export", "no-such.yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn export_output_snapshot() {
    let out = podcheck(&["export", "specs/manifests/webapp-deployment.toml"]);
    assert_eq!(out.status.code(), Some(0));
    let text = format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.bind(|| insta::assert_snapshot!("export-webapp-deployment", text));
}

#[test]
fn each_workload_of_a_file_lists_only_its_own_left_out_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let deploy = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      nodeSelector: {{disk: ssd}}\n      containers: [{{name: a, image: a, command: [sleep, '1']}}]\n"
        )
    };
    let file = dir.path().join("two.yaml");
    std::fs::write(&file, format!("{}---\n{}", deploy("one"), deploy("two"))).expect("write");
    let out = podcheck(&["export", file.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("nodeSelector")).collect();
    assert_eq!(
        lines.len(),
        2,
        "one line per workload, each at its own line:\n{err}"
    );
    assert_ne!(lines[0], lines[1], "{err}");
}

#[test]
fn export_keeps_the_downward_api_sources_the_pod_reads() {
    let out = podcheck(&["export", "fixtures/manifests/downward-env.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let pods: Vec<k8s_openapi::api::core::v1::Pod> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).expect("Pods");
    let pod = pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("downward-env"))
        .expect("the pod");
    let team = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("team"));
    assert_eq!(team.map(String::as_str), Some("payments"));
    let spec = pod.spec.as_ref().expect("spec");
    assert_eq!(spec.service_account_name.as_deref(), Some("billing"));
    let env = spec.containers[0].env.as_ref().expect("env");
    let mem = env.iter().find(|e| e.name == "MEM_MI").expect("MEM_MI");
    let r = mem
        .value_from
        .as_ref()
        .and_then(|v| v.resource_field_ref.as_ref())
        .expect("a resourceFieldRef");
    assert_eq!(r.resource, "limits.memory");
    assert_eq!(r.divisor.as_ref().map(|d| d.0.as_str()), Some("1Mi"));
    assert!(mem.value.is_none(), "{mem:?}");
    let limited = pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("downward-pod-limits"))
        .and_then(|p| p.spec.as_ref()?.resources.as_ref()?.limits.as_ref())
        .expect("pod-level limits");
    assert_eq!(limited.get("cpu").map(|q| q.0.as_str()), Some("3"));
    assert!(!stderr.contains("serviceAccountName"), "{stderr}");
}
