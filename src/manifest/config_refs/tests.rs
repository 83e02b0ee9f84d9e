//! Resolution of ConfigMap and Secret references against the objects of one file.

use super::*;
use crate::manifest::yaml::parse_documents;

const OBJECTS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {A: a, B: b}\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: sec, namespace: other}\n  data: {p: cHc=, q: eA==}\n  stringData: {q: plain}\n";

fn container(yaml: &str) -> k::Container {
    let docs = parse_documents(yaml).expect("yaml");
    from_node(&docs[0], FieldPath::root(), &Keys::default()).expect("a container")
}

fn resolve(ns: &str, yaml: &str) -> (Vec<(String, String)>, Option<String>, Vec<Diagnostic>) {
    let objects = ConfigObjects::collect(&parse_documents(OBJECTS).expect("objects"));
    let mut out = Vec::new();
    let (env, error) = resolve_env(&container(yaml), ns, &objects, &FieldPath::root(), &mut out);
    let env = env.into_iter().map(|e| (e.name, e.value)).collect();
    (env, error, out)
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn env_from_comes_first_sorted_and_prefixed_then_env_in_order() {
    let (env, error, out) = resolve(
        "default",
        "name: c\nenvFrom:\n- configMapRef: {name: cfg}\n- prefix: X_\n  configMapRef: {name: cfg}\nenv:\n- {name: A, value: mine}\n- name: K\n  valueFrom: {configMapKeyRef: {name: cfg, key: B}}\n",
    );
    assert_eq!(
        env,
        pairs(&[
            ("A", "a"),
            ("B", "b"),
            ("X_A", "a"),
            ("X_B", "b"),
            ("A", "mine"),
            ("K", "b")
        ])
    );
    assert_eq!(error, None);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_secret_is_base64_with_string_data_winning_and_namespaced() {
    let yaml = "name: c\nenv:\n- name: P\n  valueFrom: {secretKeyRef: {name: sec, key: p}}\n- name: Q\n  valueFrom: {secretKeyRef: {name: sec, key: q}}\n";
    let (env, error, _) = resolve("other", yaml);
    assert_eq!(env, pairs(&[("P", "pw"), ("Q", "plain")]));
    assert_eq!(error, None);
    // In another namespace the Secret is not the pod's: not in the file for it.
    let (env, error, out) = resolve("default", yaml);
    assert!(env.is_empty());
    assert_eq!(error, None);
    assert!(
        out[0]
            .message
            .starts_with("Secret \"sec\" is not in this file"),
        "{out:?}"
    );
}

#[test]
fn a_missing_key_is_the_kubelets_config_error_unless_optional() {
    let (env, error, out) = resolve(
        "default",
        "name: c\nenv:\n- name: O\n  valueFrom: {configMapKeyRef: {name: cfg, key: none, optional: true}}\n- name: M\n  valueFrom: {configMapKeyRef: {name: cfg, key: none}}\n- {name: L, value: l}\n",
    );
    assert_eq!(out.len(), 1, "lint says so before any run: {out:?}");
    assert_eq!(out[0].path.to_string(), "env[1].valueFrom");
    assert_eq!(env, pairs(&[("L", "l")]));
    assert_eq!(
        error.as_deref(),
        Some("couldn't find key none in ConfigMap default/cfg")
    );
}

#[test]
fn an_object_outside_the_file_is_a_note_and_optional_ones_say_nothing() {
    let (env, error, out) = resolve(
        "default",
        "name: c\nenvFrom:\n- secretRef: {name: made-elsewhere}\n- configMapRef: {name: gone, optional: true}\nenv:\n- name: X\n  valueFrom: {configMapKeyRef: {name: gone, key: k, optional: true}}\n",
    );
    assert!(env.is_empty());
    assert_eq!(error, None);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].path.to_string(), "envFrom[0]");
    assert!(
        out[0]
            .message
            .contains("CreateContainerConfigError, secret \"made-elsewhere\" not found"),
        "{}",
        out[0].message
    );
}

#[test]
fn downward_api_fields_pass_to_the_kubelet() {
    let objects = ConfigObjects::default();
    let c = container(
        "name: c\nenv:\n- name: PN\n  valueFrom: {fieldRef: {fieldPath: metadata.name}}\n- name: PL\n  valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}\n- name: PS\n  valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}\n- name: PA\n  valueFrom: {fieldRef: {fieldPath: \"metadata.annotations['a']\"}}\n- name: RL\n  valueFrom: {resourceFieldRef: {resource: limits.memory, containerName: \"\", divisor: 1Mi}}\n",
    );
    let mut out = Vec::new();
    let (env, error) = resolve_env(&c, "default", &objects, &FieldPath::root(), &mut out);
    let refs: Vec<_> = env
        .iter()
        .map(|e| (e.name.as_str(), e.field_ref.as_deref()))
        .collect();
    assert_eq!(
        refs,
        [
            ("PN", Some("metadata.name")),
            ("PL", Some("metadata.labels['app']")),
            ("PS", Some("spec.serviceAccountName")),
            ("PA", Some("metadata.annotations['a']")),
            ("RL", None),
        ]
    );
    // An empty containerName is the variable's own container, as unset.
    assert_eq!(
        env[4].resource_field_ref,
        Some(m::ResourceFieldRef {
            resource: "limits.memory".into(),
            container_name: None,
            divisor: Some("1Mi".into()),
        })
    );
    assert_eq!(error, None);
    assert!(out.is_empty(), "{out:?}");
}
