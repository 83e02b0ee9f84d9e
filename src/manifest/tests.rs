//! Tests of the manifest pipeline as a whole: choosing the pod, mapping diagnostics back,
//! the spec-side `manifest = …`, every kind, and mutated input that must never panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::diag::Severity;
use crate::spec::model::ImageEntry;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

const TWO: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    command: [sleep, '1']\n    livenessProbe:\n      exec: {command: ['true']}\n      successThreshold: 3\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: b}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: b, image: app:1}]\n";

fn image(cmd: &str) -> BTreeMap<String, ImageEntry> {
    BTreeMap::from([(
        "app:1".to_owned(),
        ImageEntry::command(vec![cmd.to_owned()]),
    )])
}

#[test]
fn validation_errors_are_mapped_to_the_manifest() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = read_file(&write(dir.path(), "two.yaml", TWO));
    assert!(!file.has_errors(), "{:?}", file.diagnostics);
    assert_eq!(file.pods.len(), 2);
    let err = spec_for(&file, &file.pods[0], &image("true")).expect_err("successThreshold 3");
    let d = err
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error");
    assert_eq!(
        d.path.to_string(),
        "spec.containers[0].livenessProbe.successThreshold"
    );
    let (line, col) = crate::diag::line_col(&file.source, d.span.clone().expect("span").start);
    assert_eq!((line, col), (11, 7));
    // The command override is said once, at `command`.
    assert!(
        err.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Note && d.message.contains("sets `command`")),
        "{:?}",
        err.diagnostics
    );
    // The Job's pod is in the second document and valid.
    let job = spec_for(&file, &file.pods[1], &image("true")).expect("valid");
    assert_eq!(job.spec.pod.name.as_deref(), Some("b"));
    assert_eq!(job.spec.name.as_deref(), Some("Job/b"));
    assert!(job.spec.run.duration.is_some(), "a manifest run has an end");
    // With no expectations of its own, a Job's pod must succeed and the Deployment's must
    // be Ready with no restart, as their controllers require.
    assert_eq!(
        job.spec.expect.finals[0].phase.as_deref(),
        Some("Succeeded")
    );
    assert!(
        job.warnings
            .diagnostics
            .iter()
            .any(|d| d.message.contains("expects it to succeed")),
        "the run says what it expects"
    );
}

#[test]
fn an_unmapped_image_is_told_to_use_image() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = read_file(&write(dir.path(), "two.yaml", TWO));
    let job = spec_for(&file, &file.pods[1], &BTreeMap::new()).expect("a warning only");
    let w = job
        .warnings
        .diagnostics
        .iter()
        .find(|d| d.message.contains("\"app:1\" is not mapped"))
        .expect("the unmapped image is named");
    assert!(
        w.help
            .as_deref()
            .is_some_and(|h| h.contains("--image app:1="))
    );
}

fn attach_spec(dir: &Path, toml: &str, has_pod: bool) -> Result<Option<Attached>, AttachError> {
    let spec_path = write(dir, "spec.toml", toml);
    let (mut spec, _) = toml_pod::parse_spec_toml(toml).expect("toml");
    attach(&spec_path, has_pod, &mut spec)
}

fn spec_error(r: Result<Option<Attached>, AttachError>) -> Diagnostic {
    match r {
        Err(AttachError::Spec(d)) => d,
        other => panic!("expected a spec error, got {other:?}"),
    }
}

#[test]
fn a_spec_chooses_one_pod() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "two.yaml", TWO);
    let many = spec_error(attach_spec(dir.path(), "manifest = \"two.yaml\"\n", false));
    assert_eq!(many.message, "the manifest has 2 pods; a spec runs one");
    assert!(
        many.help
            .as_deref()
            .is_some_and(|h| h.contains("Pod/a (document 1), Job/b (document 2)"))
    );
    let by_name = attach_spec(
        dir.path(),
        "manifest = \"two.yaml\"\nobject = \"b\"\n",
        false,
    )
    .expect("attaches")
    .expect("some");
    assert_eq!(by_name.pod.object, "Job/b");
    let by_doc = attach_spec(dir.path(), "manifest = \"two.yaml\"\ndocument = 1\n", false)
        .expect("attaches")
        .expect("some");
    assert_eq!(by_doc.pod.object, "Pod/a");
    let none = spec_error(attach_spec(
        dir.path(),
        "manifest = \"two.yaml\"\nobject = \"Deployment/a\"\n",
        false,
    ));
    assert_eq!(none.path.to_string(), "object");
}

#[test]
fn a_spec_manifest_is_checked() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "two.yaml", TWO);
    write(dir.path(), "bad.yaml", "kind: [\n");
    let both = spec_error(attach_spec(dir.path(), "manifest = \"two.yaml\"\n", true));
    assert!(both.message.contains("both a [pod] table and a `manifest`"));
    let missing = spec_error(attach_spec(dir.path(), "manifest = \"nope.yaml\"\n", false));
    assert!(
        missing.message.contains("does not exist"),
        "{}",
        missing.message
    );
    let toml = spec_error(attach_spec(dir.path(), "manifest = \"spec.toml\"\n", false));
    assert!(toml.message.contains("is not a YAML file"));
    let stray = spec_error(attach_spec(dir.path(), "object = \"Pod/a\"\n", false));
    assert!(stray.message.contains("the spec has no `manifest`"));
    match attach_spec(dir.path(), "manifest = \"bad.yaml\"\n", false) {
        Err(AttachError::Manifest(d)) => assert!(d.has_errors()),
        other => panic!("expected the manifest's errors, got {other:?}"),
    }
}

#[test]
fn every_kind_with_a_pod_template_is_read() {
    let pod_spec = "containers: [{name: c, image: app:1}]";
    // Each object as the API server accepts it: apps/v1 selects its template's labels,
    // run-to-completion pods do not restart Always (an RC defaults its selector).
    let tpl = format!("template:\n    metadata: {{labels: {{app: x}}}}\n    spec: {{{pod_spec}}}");
    let apps = format!("selector: {{matchLabels: {{app: x}}}}\n  {tpl}");
    let never = "containers: [{name: c, image: app:1}], restartPolicy: Never";
    let docs = [
        ("v1", "Pod", pod_spec.to_string()),
        ("apps/v1", "Deployment", apps.clone()),
        ("apps/v1", "StatefulSet", apps.clone()),
        ("apps/v1", "DaemonSet", apps.clone()),
        ("apps/v1", "ReplicaSet", apps.clone()),
        ("v1", "ReplicationController", tpl.clone()),
        ("batch/v1", "Job", tpl.replace(pod_spec, never)),
        (
            "batch/v1",
            "CronJob",
            format!(
                "schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec: {{{never}}}"
            ),
        ),
    ];
    let text: Vec<String> = docs
        .iter()
        .map(|(api, kind, spec)| {
            format!("apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x}}\nspec:\n  {spec}\n")
        })
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    let file = read_file(&write(dir.path(), "all.yaml", &text.join("---\n")));
    assert!(!file.has_errors(), "{:?}", file.diagnostics);
    let kinds: Vec<&str> = file
        .pods
        .iter()
        .map(|p| p.object.split('/').next().unwrap_or(""))
        .collect();
    assert_eq!(kinds, objects::KINDS);
    assert!(file.pods.iter().all(|p| p.pod.containers[0].name == "c"));
}

#[test]
fn wrong_objects_are_located() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = "just a string\n---\nplain: yaml\n---\napiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: old}\n---\napiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec: {replicas: 1}\n---\nkind: List\nitems: 3\n";
    let file = read_file(&write(dir.path(), "w.yaml", src));
    let found: Vec<(Severity, &str, usize)> = file
        .diagnostics
        .iter()
        .map(|d| {
            let (l, _) = crate::diag::line_col(src, d.span.clone().unwrap_or(0..0).start);
            (d.severity, d.message.as_str(), l)
        })
        .collect();
    let has = |sev: Severity, needle: &str, line: usize| {
        found
            .iter()
            .any(|(s, m, l)| *s == sev && m.contains(needle) && *l == line)
    };
    assert!(
        has(
            Severity::Error,
            "must be a mapping, but this is a string",
            1
        ),
        "{found:?}"
    );
    assert!(
        has(Severity::Note, "document 2 is not a Kubernetes object", 3),
        "{found:?}"
    );
    assert!(has(Severity::Error, "apps/v1beta1", 5), "{found:?}");
    assert!(
        has(
            Severity::Error,
            "this ReplicationController has no pod template",
            12
        ),
        "{found:?}"
    );
    assert!(
        has(Severity::Error, "`items` of a List must be a list", 15),
        "{found:?}"
    );
}

#[test]
fn mutated_manifests_never_panic() {
    // A cheap fuzzer over the shipped fixtures: every truncation point on a stride and a
    // few byte substitutions, through reading, objects, conversion and validation.
    let dir = tempfile::tempdir().expect("tmp");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/manifests");
    let mut inputs = Vec::new();
    // Sub-folders (realistic/) hold more manifests; the top level is enough here.
    for entry in std::fs::read_dir(&fixtures).expect("fixtures").flatten() {
        if entry.path().is_file() {
            inputs.push(std::fs::read(entry.path()).expect("read"));
        }
    }
    assert!(inputs.len() >= 5);
    let mut n = 0;
    for input in &inputs {
        for cut in (0..input.len()).step_by(37) {
            let mut variants = vec![input[..cut].to_vec()];
            for b in [b':', b'-', b' ', b'\n', b'{', b'&', b'*', b'"', 0xff] {
                let mut v = input.clone();
                v[cut] = b;
                variants.push(v);
            }
            for v in variants {
                let p = dir.path().join("m.yaml");
                std::fs::write(&p, &v).expect("write");
                let file = read_file(&p);
                for pod in &file.pods {
                    let _ = spec_for(&file, pod, &BTreeMap::new());
                }
                n += 1;
            }
        }
    }
    assert!(n > 500, "{n} inputs");
}

const WEB: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: http}\n  - {name: dns, port: 53, protocol: UDP}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: web, image: 'app:1', ports: [{name: http, containerPort: 8080}]}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec:\n      containers: [{name: db, image: 'app:1'}]\n";

#[test]
fn a_file_with_a_service_runs_every_replica_behind_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = read_file(&write(dir.path(), "web.yaml", WEB));
    assert!(!file.has_errors(), "{:?}", file.diagnostics);
    assert!(group::runs_together(&file));
    let l = group::spec_for_file(&file, &image("true")).expect("valid");
    let web = &l.spec.pods["web"];
    assert_eq!(web.replicas, Some(2));
    assert_eq!(web.labels.get("app").map(String::as_str), Some("web"));
    // A StatefulSet's one pod is still db-0.
    assert_eq!(l.spec.pods["db"].replicas, Some(1));
    let names: Vec<String> = l
        .spec
        .pod_instances("web")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["db-0", "web-0", "web-1"]);
    // Each replica of a StatefulSet carries its own name and ordinal labels.
    let mut sts = l.spec.clone();
    sts.pods.get_mut("db").expect("db").replicas = Some(2);
    let labels: Vec<(String, String, String)> = sts
        .pod_instances("web")
        .into_iter()
        .filter(|p| p.name.starts_with("db-"))
        .map(|p| {
            let get = |k: &str| p.pod.labels.get(k).cloned().unwrap_or_default();
            (
                p.name.clone(),
                get("statefulset.kubernetes.io/pod-name"),
                get("apps.kubernetes.io/pod-index"),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("db-0".into(), "db-0".into(), "0".into()),
            ("db-1".into(), "db-1".into(), "1".into())
        ]
    );
    assert!(
        l.spec
            .pod_instances("web")
            .iter()
            .all(|p| p.name.starts_with("db-")
                || !p.pod.labels.contains_key("apps.kubernetes.io/pod-index")),
        "a Deployment's pods have no ordinal"
    );
    let svc = &l.spec.services["web"];
    assert_eq!(svc.selector.get("app").map(String::as_str), Some("web"));
    // The UDP port is left out with a note; TCP stays with its named targetPort.
    assert_eq!(svc.ports.len(), 1);
    assert_eq!(svc.ports[0].port, 80);
    let notes: Vec<(String, usize)> = file
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .map(|d| {
            let (line, _) =
                crate::diag::line_col(&file.source, d.span.clone().expect("span").start);
            (d.message.clone(), line)
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|(m, l)| m.contains("type: NodePort") && *l == 5),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|(m, l)| m.contains("(UDP) is left out") && *l == 9),
        "{notes:?}"
    );
    // Without the Service, a workload runs one pod, and a note says the rest.
    let alone = read_file(&write(
        dir.path(),
        "alone.yaml",
        &WEB[WEB.find("---").expect("doc") + 4..],
    ));
    assert!(!group::runs_together(&alone));
    let one = spec_for(&alone, &alone.pods[0], &image("true")).expect("valid");
    assert!(
        one.warnings
            .diagnostics
            .iter()
            .any(|d| d.message.starts_with("replicas: 2: podcheck runs one pod")),
        "{:?}",
        one.warnings.diagnostics
    );
}

#[test]
fn a_bad_service_port_is_reported_at_its_manifest_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = WEB.replace("port: 80,", "port: 0,");
    let file = read_file(&write(dir.path(), "web.yaml", &bad));
    let err = group::spec_for_file(&file, &image("true")).expect_err("port 0");
    let d = err
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error");
    assert_eq!(d.path.to_string(), "spec.ports[0].port");
    let (line, _) = crate::diag::line_col(&file.source, d.span.clone().expect("span").start);
    assert_eq!(line, 8);
}

#[test]
fn a_pods_naming_fields_are_carried_over_without_notes() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  hostname: w\n  subdomain: grp\n  enableServiceLinks: false\n  dnsPolicy: None\n  dnsConfig:\n    nameservers: [1.2.3.4]\n    searches: [a.example]\n    options: [{name: ndots, value: '2'}, {name: edns0}]\n  hostAliases: [{ip: 10.1.2.3, hostnames: [foo.local, bar.local]}]\n  containers: [{name: c, image: app:1}]\n";
    let dir = tempfile::tempdir().expect("tmp");
    let file = read_file(&write(dir.path(), "dns.yaml", text));
    assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
    let pod = &file.pods[0].pod;
    assert_eq!(pod.hostname.as_deref(), Some("w"));
    assert_eq!(pod.subdomain.as_deref(), Some("grp"));
    assert_eq!(pod.enable_service_links, Some(false));
    assert_eq!(pod.dns_policy, Some(crate::spec::pod_dns::DnsPolicy::None));
    let cfg = pod.dns_config.as_ref().expect("dnsConfig");
    assert_eq!(cfg.nameservers, ["1.2.3.4"]);
    assert_eq!(cfg.options[0].value.as_deref(), Some("2"));
    assert_eq!(cfg.options[1].value, None);
    assert_eq!(pod.host_aliases[0].hostnames, ["foo.local", "bar.local"]);
    let bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  dnsPolicy: clusterfirst\n  containers: [{name: c, image: app:1}]\n";
    let file = read_file(&write(dir.path(), "bad.yaml", bad));
    assert!(file.has_errors(), "an unsupported dnsPolicy is an error");
}

#[test]
fn an_unmapped_image_with_its_own_command_says_the_host_program_runs() {
    const JOB: &str = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: pi}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: pi\n        image: perl:5.34.0\n        command: [perl, -e, 'print 1']\n";
    let dir = tempfile::tempdir().expect("tmp");
    let alone = read_file(&write(dir.path(), "pi.yaml", JOB));
    let with_service = read_file(&write(
        dir.path(),
        "pi-svc.yaml",
        &format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: pi}}\nspec:\n  selector: {{app: pi}}\n  ports: [{{port: 80}}]\n---\n{JOB}"
        ),
    ));
    let one = spec_for(&alone, &alone.pods[0], &BTreeMap::new()).expect("valid");
    let all = group::spec_for_file(&with_service, &BTreeMap::new()).expect("valid");
    for (label, loaded) in [("alone", one), ("with a Service", all)] {
        let d = loaded
            .warnings
            .diagnostics
            .iter()
            .find(|d| {
                d.message
                    .contains("is not mapped, and container \"pi\" sets `command`")
            })
            .unwrap_or_else(|| panic!("{label}: {:?}", loaded.warnings.diagnostics));
        assert_eq!(d.severity, Severity::Note);
        assert_eq!(
            d.path.to_string(),
            "spec.template.spec.containers[0].command",
            "{label}"
        );
        assert!(
            d.help.as_deref().is_some_and(|h| h.contains("`perl`")),
            "{label}"
        );
    }
}

#[test]
fn a_workload_scaled_to_zero_still_runs_one_pod_and_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: zero}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: z}}\n  template:\n    metadata: {labels: {app: z}}\n    spec:\n      containers: [{name: c, image: 'app:1'}]\n";
    let file = read_file(&write(dir.path(), "zero.yaml", src));
    let l = spec_for(&file, &file.pods[0], &image("true")).expect("valid");
    let d = l
        .warnings
        .diagnostics
        .iter()
        .find(|d| d.path.to_string() == "spec.replicas")
        .expect("a note at replicas");
    assert!(d.message.contains("a cluster runs no pod"), "{}", d.message);
}

#[test]
fn empty_strings_in_defaulted_fields_are_unset_as_the_api_server_takes_them() {
    // Helm charts render `imagePullPolicy: ""` and the like; SetDefaults_* fills them in.
    let dir = tempfile::tempdir().expect("tmp");
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  restartPolicy: ''\n  dnsPolicy: ''\n  containers:\n  - name: web\n    image: app:1\n    imagePullPolicy: ''\n    terminationMessagePath: ''\n    terminationMessagePolicy: ''\n    workingDir: ''\n    ports: [{containerPort: 80, protocol: ''}]\n";
    let file = read_file(&write(dir.path(), "web.yaml", pod));
    assert!(!file.has_errors(), "{:?}", file.diagnostics);
    let l = group::spec_for_file(&file, &image("true")).expect("valid");
    let pod = l.spec.pods.values().next().unwrap_or(&l.spec.pod);
    let c = &pod.containers[0];
    assert_eq!(
        (
            &c.image_pull_policy,
            &c.termination_message_path,
            &c.working_dir,
            &c.ports[0].protocol
        ),
        (&None, &None, &None, &None)
    );
    assert_eq!(pod.restart_policy, None);
}

#[test]
fn services_are_validated_and_what_is_not_tcp_is_skipped_with_a_note() {
    let dir = tempfile::tempdir().expect("tmp");
    let deploy = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec:\n  containers: [{name: web, image: 'app:1'}]\n";
    let read = |svc: &str| {
        let text =
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec:\n{svc}{deploy}");
        read_file(&write(dir.path(), "s.yaml", &text))
    };
    let errors = |svc: &str| -> Vec<String> {
        read(svc)
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::diag::Severity::Error)
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    };
    // Valid, and nothing of it is run: a UDP-only Service, a headless one without ports.
    for ok in [
        "  selector: {app: web}\n  ports: [{port: 53, protocol: UDP}]\n",
        "  clusterIP: None\n  selector: {app: web}\n",
        "  type: ''\n  sessionAffinity: ''\n  selector: {app: web}\n  ports: [{name: a, port: 53, protocol: ''}, {name: b, port: 53, protocol: UDP}]\n",
    ] {
        let f = read(ok);
        assert!(!f.has_errors(), "{ok}: {:?}", f.diagnostics);
    }
    assert_eq!(
        errors("  type: Foo\n  ports: [{port: 80}]\n"),
        [
            "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
        ]
    );
    assert_eq!(
        errors(
            "  ports: [{name: a, port: 80, protocol: tcp}, {name: b, port: 81}, {name: c, port: 81}]\n"
        ),
        [
            "spec.ports[0].protocol: Unsupported value: \"tcp\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "spec.ports[2]: Duplicate value: {\"port\": 81, \"protocol\": \"TCP\"}"
        ]
    );
    assert_eq!(
        errors("  selector: {app: web}\n"),
        ["spec.ports: Required value"]
    );
    assert_eq!(
        errors("  type: ExternalName\n"),
        ["spec.externalName: Required value"]
    );
    // Several ports are each named (a UDP one too), with DNS-1123 labels, none twice.
    assert_eq!(
        errors(
            "  ports: [{port: 53, protocol: UDP}, {name: dns, port: 53}, {name: dns, port: 54}, {name: Web, port: 80}]\n"
        ),
        [
            "spec.ports[0].name: Required value",
            "spec.ports[2].name: Duplicate value: \"dns\"",
            "spec.ports[3].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
}

#[test]
fn too_many_replicas_behind_a_service_are_refused_at_their_replicas() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = WEB.replace("replicas: 2", "replicas: 2147483647");
    let file = read_file(&write(dir.path(), "web.yaml", &text));
    let e = group::spec_for_file(&file, &image("true")).expect_err("refused");
    let d = e
        .diagnostics
        .iter()
        .find(|d| d.message.contains("podcheck runs at most 200"))
        .expect("the limit");
    assert_eq!(d.path.to_string(), "spec.replicas");
    let (line, _) = crate::diag::line_col(&file.source, d.span.clone().expect("span").start);
    assert_eq!(
        text.lines().nth(line - 1).map(str::trim),
        Some("replicas: 2147483647")
    );
    // lint says the same, so it passes no file that run refuses.
    assert!(
        group::service_diagnostics(&file)
            .iter()
            .any(|d| d.message.contains("podcheck runs at most 200"))
    );
}

#[test]
fn an_object_without_a_name_or_generate_name_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let pod = |meta: &str| {
        let text = format!(
            "apiVersion: v1\nkind: Pod\n{meta}spec:\n  containers: [{{name: a, image: 'app:1'}}]\n"
        );
        read_file(&write(dir.path(), "p.yaml", &text))
    };
    for meta in ["", "metadata: {labels: {a: b}}\n", "metadata: {name: ''}\n"] {
        let f = pod(meta);
        assert!(
            f.diagnostics
                .iter()
                .any(|d| d.severity == crate::diag::Severity::Error
                    && d.path.to_string() == "metadata.name"
                    && d.message == "Required value: name or generateName is required"),
            "{meta:?}: {:?}",
            f.diagnostics
        );
    }
    assert!(!pod("metadata: {generateName: web-}\n").has_errors());
    // Services, ConfigMaps and Secrets too.
    for kind in [
        "Service\nspec: {ports: [{port: 80}]}",
        "ConfigMap",
        "Secret",
    ] {
        let text = format!("apiVersion: v1\nkind: {kind}\n");
        let f = read_file(&write(dir.path(), "o.yaml", &text));
        assert!(
            f.diagnostics
                .iter()
                .any(|d| d.message == "Required value: name or generateName is required"),
            "{kind}: {:?}",
            f.diagnostics
        );
    }
}

#[test]
fn an_object_named_twice_in_a_file_is_a_warning_at_the_second() {
    let dir = tempfile::tempdir().expect("tmp");
    let pod = |name: &str, ns: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}{ns}}}\nspec:\n  containers: [{{name: a, image: 'app:1'}}]\n"
        )
    };
    let text = [
        pod("web", ""),
        pod("web", ", namespace: other"),
        pod("db", ""),
        pod("web", ", namespace: default"),
    ]
    .join("---\n");
    let file = read_file(&write(dir.path(), "p.yaml", &text));
    let dups: Vec<_> = file
        .diagnostics
        .iter()
        .filter(|d| d.rule == Some("duplicate-object"))
        .collect();
    assert_eq!(dups.len(), 1, "{:?}", file.diagnostics);
    assert!(
        dups[0].message.contains("(document 1 and document 4)"),
        "{}",
        dups[0].message
    );
    // Items of one List are told apart by their place; `namespace: ""` is the default one.
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}\n- {}\n",
        "{apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: a, image: 'app:1'}]}}",
        "{apiVersion: v1, kind: Pod, metadata: {name: a, namespace: ''}, spec: {containers: [{name: a, image: 'app:1'}]}}"
    );
    let file = read_file(&write(dir.path(), "l.yaml", &list));
    let d = file
        .diagnostics
        .iter()
        .find(|d| d.rule == Some("duplicate-object"))
        .expect("a duplicate");
    assert!(
        d.message
            .contains("(document 1 at items[0] and document 1 at items[1])"),
        "{}",
        d.message
    );
}
