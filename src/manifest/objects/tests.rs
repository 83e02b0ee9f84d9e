//! Reading objects: kinds, versions, type errors, workloads' pods.

use super::*;
use crate::diag::Severity;
use crate::manifest::yaml::parse_documents;

#[test]
fn every_type_error_of_an_object_is_reported() {
    let src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  activeDeadlineSeconds: soon\n  containers:\n  - {name: a, image: x, tty: perhaps, workingDir: [a]}\n";
    let (pods, diags) = read(src);
    assert!(pods.is_empty());
    let paths: Vec<String> = diags.iter().map(|d| d.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "spec.activeDeadlineSeconds",
            "spec.containers[0].tty",
            "spec.containers[0].workingDir"
        ],
        "{diags:?}"
    );
}

#[test]
fn type_errors_in_list_elements_do_not_hide_the_others() {
    // A list element takes no null: the next errors used to go unreported.
    let src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: a\n    command: [sleep, 3]\n    env:\n    - {name: A, value: 1}\n    livenessProbe:\n      periodSeconds: \"10\"\n      exec: {command: [true]}\n    ports: [8080]\n  - {name: b, image: 42}\n";
    let (pods, diags) = read(src);
    assert!(pods.is_empty());
    let paths: Vec<String> = diags.iter().map(|d| d.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "spec.containers[0].command[1]",
            "spec.containers[0].env[0].value",
            "spec.containers[0].livenessProbe.periodSeconds",
            "spec.containers[0].livenessProbe.exec.command[0]",
            "spec.containers[0].ports[0]",
            "spec.containers[1].image"
        ],
        "{diags:?}"
    );
}

#[test]
fn a_kind_in_the_wrong_case_or_missing_is_an_error() {
    let src = "apiVersion: v1\nkind: pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}]}\n";
    let (pods, diags) = read(src);
    assert!(pods.is_empty());
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].severity, Severity::Error);
    assert_eq!(
        diags[0].message,
        "no matches for kind \"pod\" in version \"v1\" (as the API server says)"
    );
    assert_eq!(
        diags[0].help.as_deref(),
        Some("kinds are case-sensitive: write `kind: Pod`")
    );
    let (_, diags) = read("apiVersion: v1\nmetadata: {name: p}\n");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].severity, Severity::Error);
    assert_eq!(diags[0].path.to_string(), "kind");
    // A List's item is named as one, not by the document's number.
    let (_, diags) = read("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1}\n");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].path.to_string(), "items[0].kind");
    assert!(
        diags[0]
            .message
            .starts_with("this List item has an apiVersion but no kind"),
        "{diags:?}"
    );
    // An object known only by its generateName is named by it.
    let (_, diags) = read(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: hello-}\nspec: {}\n",
    );
    assert!(
        diags[0].message.contains("Workflow \"hello-…\""),
        "{diags:?}"
    );
    // Not an object at all (a values file in a folder): a note, as before.
    let (_, diags) = read("replicas: 3\nimage: {tag: x}\n");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].severity, Severity::Note);
}

#[test]
fn an_indexed_jobs_pod_is_index_zero_as_the_controller_makes_it() {
    let src = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: shard}\nspec:\n  completionMode: Indexed\n  completions: 2\n  template:\n    spec:\n      restartPolicy: Never\n      hostname: ignored\n      initContainers: [{name: i, image: x, command: [\"true\"]}]\n      containers:\n      - {name: a, image: x, command: [\"true\"]}\n      - {name: b, image: x, command: [\"true\"], env: [{name: JOB_COMPLETION_INDEX, value: own}]}\n";
    let (pods, _) = read(src);
    let pod = &pods[0].pod;
    let index = |c: &model::Container| {
        c.env
            .iter()
            .filter(|e| e.name == "JOB_COMPLETION_INDEX")
            .map(|e| e.field_ref.clone().unwrap_or_else(|| e.value.clone()))
            .collect::<Vec<_>>()
    };
    let label_ref = "metadata.labels['batch.kubernetes.io/job-completion-index']";
    assert_eq!(index(&pod.init_containers[0]), [label_ref]);
    assert_eq!(index(&pod.containers[0]), [label_ref]);
    assert_eq!(
        index(&pod.containers[1]),
        ["own"],
        "a container's own value stays"
    );
    assert_eq!(pod.hostname.as_deref(), Some("shard-0"));
    assert_eq!(
        pod.labels
            .get("batch.kubernetes.io/job-completion-index")
            .map(String::as_str),
        Some("0")
    );
    // A NonIndexed Job's pod gets none of it.
    let (pods, _) = read(&src.replace("Indexed", "NonIndexed"));
    assert!(index(&pods[0].pod.containers[0]).is_empty());
    assert_eq!(pods[0].pod.hostname.as_deref(), Some("ignored"));
}

#[test]
fn an_unserved_api_version_names_the_served_one() {
    let src = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c}\nspec: {}\n";
    let (_, diags) = read(src);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(diags[0].message.contains("\"batch/v1beta1\": batch/v1beta1 is no longer served (removed in Kubernetes 1.25); CronJob is served as batch/v1"), "{diags:?}");
    assert_eq!(diags[0].path.to_string(), "apiVersion");
}

fn read(src: &str) -> (Vec<ManifestPod>, Vec<Diagnostic>) {
    let mut found = Found::default();
    let mut out = Vec::new();
    for (i, d) in parse_documents(src).expect("yaml").iter().enumerate() {
        read_document(d, i + 1, &mut found, &mut out);
    }
    (found.pods, out)
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      securityContext: {runAsNonRoot: true}\n      containers:\n      - name: web\n        image: nginx:1.27\n        securityContext: {allowPrivilegeEscalation: false}\n        readinessProbe: {httpGet: {port: 80}, periodSecond: 2}\n";

#[test]
fn a_deployment_gives_one_pod_with_notes() {
    let (pods, diags) = read(DEPLOY);
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].object, "Deployment/web");
    assert_eq!(pods[0].pod.name.as_deref(), Some("web"));
    assert_eq!(pods[0].spec_path.to_string(), "spec.template.spec");
    let lines: Vec<(Severity, String, usize)> = diags
        .iter()
        .map(|d| {
            let (l, _) = crate::diag::line_col(DEPLOY, d.span.clone().expect("span").start);
            (d.severity, d.path.to_string(), l)
        })
        .collect();
    // The replicas and the labels its Services select on are kept.
    assert_eq!(pods[0].replicas, Some(3));
    assert_eq!(
        pods[0].pod.labels.get("app").map(String::as_str),
        Some("web")
    );
    // runAsNonRoot is honoured (no note); allowPrivilegeEscalation is not.
    assert_eq!(
        pods[0]
            .pod
            .security_context
            .as_ref()
            .and_then(|s| s.run_as_non_root),
        Some(true)
    );
    assert!(
        lines.contains(&(
            Severity::Note,
            "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation".into(),
            14
        )),
        "{lines:?}"
    );
    let typo = diags
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .expect("typo");
    assert_eq!(typo.help.as_deref(), Some("did you mean `periodSeconds`?"));
    assert_eq!(diags.len(), 2, "{lines:?}");
}

#[test]
fn lists_cronjobs_and_unknown_kinds() {
    let src = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: web}\n- apiVersion: batch/v1\n  kind: CronJob\n  metadata: {name: backup}\n  spec:\n    schedule: '*/5 * * * *'\n    jobTemplate:\n      spec:\n        template:\n          spec:\n            restartPolicy: OnFailure\n            containers: [{name: b, image: busybox, command: [sh, -c, 'echo hi']}]\n";
    let (pods, diags) = read(src);
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].object, "CronJob/backup");
    assert_eq!(
        pods[0].spec_path.to_string(),
        "items[1].spec.jobTemplate.spec.template.spec"
    );
    assert!(
        diags
            .iter()
            .any(|d| d.message.starts_with("ConfigMap \"web\" runs no pod")),
        "{diags:?}"
    );
    assert!(
        diags.iter().any(|d| d.message.contains("`schedule`")),
        "{diags:?}"
    );
}

#[test]
fn a_statefulset_claim_becomes_a_volume() {
    let src = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: redis}\nspec:\n  serviceName: redis\n  selector: {matchLabels: {app: redis}}\n  template:\n    spec:\n      containers: [{name: redis, image: redis:7, volumeMounts: [{name: data, mountPath: /data}]}]\n  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n";
    let (pods, diags) = read(src);
    assert_eq!(pods[0].pod.name.as_deref(), Some("redis-0"));
    assert_eq!(pods[0].pod.volumes[0].name, "data");
    assert!(
        diags
            .iter()
            .any(|d| d.message.contains("volume claim \"data\"")),
        "{diags:?}"
    );
}

#[test]
fn yaml_1_1_scalars_mean_what_they_mean_to_kubectl() {
    let src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n    volumeMounts: [{name: v, mountPath: /v, readOnly: yes}]\n  volumes:\n  - name: v\n    configMap: {name: c, defaultMode: 0755}\n";
    let (pods, diags) = read(src);
    assert!(
        diags.iter().all(|d| d.severity == Severity::Note),
        "{diags:?}"
    );
    assert!(pods[0].pod.containers[0].volume_mounts[0].read_only);
}

#[test]
fn a_wrong_type_is_an_error_at_the_value() {
    let src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    env: [{name: PORT, value: 8080}]\n";
    let (pods, diags) = read(src);
    assert!(pods.is_empty());
    let d = &diags[0];
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.path.to_string(), "spec.containers[0].env[0].value");
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.starts_with("quote the value")),
        "{d:?}"
    );
    assert_eq!(&src[d.span.clone().expect("span")], "8080");
}

#[test]
fn a_null_in_a_list_of_strings_is_an_empty_string_as_go_decodes_it() {
    let src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x, command: [sh, null]}\n";
    let (pods, diags) = read(src);
    assert_eq!(pods.len(), 1, "{diags:?}");
    assert_eq!(
        pods[0].pod.containers[0].command.as_deref(),
        Some(&["sh".to_owned(), String::new()][..])
    );
    // A null where a number must be is named as null, not in serde's words.
    let src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x, command: [sh], livenessProbe: {exec: {command: [x]}, periodSeconds: [null]}}\n";
    let (_, diags) = read(src);
    assert!(
        diags.iter().all(|d| !d.message.contains("unit value")),
        "{diags:?}"
    );
}

#[test]
fn a_statefulsets_pod_has_its_name_as_hostname_and_the_service_as_subdomain() {
    let src = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  serviceName: db-hl\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n      hostname: ignored\n      containers: [{name: a, image: x, command: [sh]}]\n";
    let (pods, diags) = read(src);
    assert_eq!(pods.len(), 1, "{diags:?}");
    let pod = &pods[0].pod;
    assert_eq!(pod.name.as_deref(), Some("db-0"));
    assert_eq!(pod.hostname, None, "the replica's own name is its hostname");
    assert_eq!(pod.subdomain.as_deref(), Some("db-hl"));
}

#[test]
fn a_kind_without_an_api_version_is_an_error() {
    let (pods, diags) =
        read("kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}]}\n");
    assert!(pods.is_empty());
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].severity, Severity::Error);
    assert_eq!(diags[0].path.to_string(), "apiVersion");
    assert!(diags[0].message.contains("apiVersion not set"), "{diags:?}");
}

#[test]
fn a_workloads_own_labels_and_every_objects_annotations_are_validated() {
    let big = "x".repeat(super::super::workload_validate::ANNOTATIONS_MAX_BYTES);
    let src = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {{\"bad key!\": x, ok: fine}}\n  annotations: {{\"Example.com/Owner\": team, \"a/b/c\": x}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata:\n      labels: {{app: web}}\n      annotations: {{big: \"{big}\"}}\n    spec:\n      containers: [{{name: a, image: x}}]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {{\"a b\": c}}\nspec:\n  containers: [{{name: a, image: x}}]\n"
    );
    let (_, diags) = read(&src);
    let errors: Vec<(String, String)> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.path.to_string(), d.message.clone()))
        .collect();
    let at = |path: &str, start: &str| {
        errors
            .iter()
            .any(|(p, m)| p == path && m.starts_with(start))
    };
    assert!(
        at("metadata.labels", "Invalid value: \"bad key!\": name part"),
        "{errors:?}"
    );
    // Annotation keys are checked in lower case: Example.com/Owner is fine.
    assert!(
        at(
            "metadata.annotations",
            "Invalid value: \"a/b/c\": a qualified name"
        ),
        "{errors:?}"
    );
    assert!(
        at(
            "spec.template.metadata.annotations",
            "Too long: must have at most 262144 bytes"
        ),
        "{errors:?}"
    );
    assert!(
        at("metadata.annotations", "Invalid value: \"a b\": name part"),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
}
