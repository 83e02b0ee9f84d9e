//! Each check id with an input that triggers it and one that does not.

use std::path::Path;

use super::registry::CHECKS;
use super::{LintOptions, lint_manifest_source, lint_spec_source};

/// The ids a manifest's findings have, sorted.
fn yaml_ids(yaml: &str) -> Vec<&'static str> {
    let r = lint_manifest_source(
        Path::new("t.yaml"),
        yaml.to_owned(),
        &LintOptions::default(),
    );
    let mut ids: Vec<_> = r.findings.iter().map(|f| f.id).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The ids a spec's findings have, sorted.
fn toml_ids(toml: &str) -> Vec<&'static str> {
    let mut ids: Vec<_> = lint_spec_source(Path::new("t.toml"), toml, &LintOptions::default())
        .iter()
        .flat_map(|r| r.findings.iter().map(|f| f.id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A Deployment whose one container has `container` (YAML at the container's indentation,
/// 8 spaces) after its name, image and ports; `pod` goes into the pod spec (6 spaces).
fn deployment(kind: &str, pod: &str, container: &str) -> String {
    let template = format!(
        "    metadata:\n      labels: {{app: web}}\n    spec:\n{pod}      containers:\n      - name: web\n        image: nginx:1.27\n{container}"
    );
    match kind {
        "Pod" => format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n{}",
            template
                .lines()
                .skip(2)
                .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
                .collect::<String>()
        ),
        "CronJob" => format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: web\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n{}",
            template
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        ),
        _ => format!(
            "apiVersion: {}\nkind: {kind}\nmetadata:\n  name: web\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n{template}",
            if kind == "Job" { "batch/v1" } else { "apps/v1" }
        ),
    }
}

/// A container that serves port 8080 with good probes and a preStop sleep.
const GOOD: &str = "        ports:\n        - {name: http, containerPort: 8080}\n        readinessProbe:\n          httpGet: {path: /ready, port: http}\n        livenessProbe:\n          httpGet: {path: /healthz, port: http}\n          failureThreshold: 6\n        lifecycle:\n          preStop:\n            sleep: {seconds: 5}\n";

fn good_with(extra: &str) -> String {
    format!("{GOOD}{extra}")
}

/// (id, a manifest that triggers it, one that does not).
fn yaml_cases() -> Vec<(&'static str, String, String)> {
    let d = |c: &str| deployment("Deployment", "", c);
    let probe = |field: &str, body: &str| {
        d(&format!(
            "        ports:\n        - {{name: http, containerPort: 8080}}\n        {field}:\n{body}"
        ))
    };
    // A Service in front of the Deployment (whose pods are app=web, port "http").
    let svc = |selector: &str, target: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  selector: {{app: {selector}}}\n  ports:\n  - {{port: 80, targetPort: {target}}}\n---\n{}",
            d(GOOD)
        )
    };
    vec![
        (
            "service-selects-nothing",
            svc("wbe", "8080"),
            svc("web", "8080"),
        ),
        (
            "service-target-port-missing",
            svc("web", "htpp"),
            svc("web", "http"),
        ),
        ("invalid-input", "kind: Pod\nspec: [".to_owned(), d(GOOD)),
        (
            "unknown-field",
            d(&good_with("        readinesProbe: {}\n")),
            d(GOOD),
        ),
        (
            "yaml11-boolean",
            d(&good_with(
                "        env:\n        - {name: FLAG, value: yes}\n",
            )),
            d(&good_with(
                "        env:\n        - {name: FLAG, value: \"yes\"}\n        stdin: yes\n",
            )),
        ),
        (
            "handler-count",
            probe("readinessProbe", "          periodSeconds: 5\n"),
            d(GOOD),
        ),
        (
            "probe-success-threshold",
            d(&GOOD.replace(
                "failureThreshold: 6",
                "failureThreshold: 6\n          successThreshold: 2",
            )),
            d(GOOD),
        ),
        (
            "probe-termination-grace",
            d(&GOOD.replace(
                "/ready, port: http}",
                "/ready, port: http}\n          terminationGracePeriodSeconds: 5",
            )),
            d(&GOOD.replace(
                "failureThreshold: 6",
                "failureThreshold: 6\n          terminationGracePeriodSeconds: 5",
            )),
        ),
        (
            "probe-field-range",
            d(&GOOD.replace("failureThreshold: 6", "failureThreshold: -1")),
            d(GOOD),
        ),
        (
            "port-invalid",
            d(&GOOD.replace("containerPort: 8080", "containerPort: 70000")),
            d(GOOD),
        ),
        (
            "named-port-missing",
            d(&GOOD.replace("/healthz, port: http", "/healthz, port: admin")),
            d(GOOD),
        ),
        (
            "sleep-hook-limit",
            d(&GOOD.replace("seconds: 5", "seconds: 31")),
            d(&GOOD.replace("seconds: 5", "seconds: 29")),
        ),
        (
            "restart-policy",
            deployment("Pod", "      restartPolicy: Sometimes\n", GOOD),
            deployment("Pod", "      restartPolicy: Always\n", GOOD),
        ),
        (
            "init-container-rule",
            d(&good_with(
                "      initContainers:\n      - name: init\n        image: busybox\n        readinessProbe:\n          exec: {command: [\"true\"]}\n",
            )),
            d(&good_with(
                "      initContainers:\n      - name: init\n        image: busybox\n        restartPolicy: Always\n        readinessProbe:\n          exec: {command: [\"true\"]}\n",
            )),
        ),
        (
            "termination-grace",
            deployment(
                "Deployment",
                "      terminationGracePeriodSeconds: -1\n",
                &GOOD.replace("seconds: 5", "seconds: 0"),
            ),
            deployment(
                "Deployment",
                "      terminationGracePeriodSeconds: 10\n",
                GOOD,
            ),
        ),
        (
            "tcp-socket-hook",
            d(&GOOD.replace("sleep: {seconds: 5}", "tcpSocket: {port: 8080}")),
            d(GOOD),
        ),
        (
            "api-validation",
            d(&good_with(
                "        env:\n        - {name: \"A=B\", value: x}\n",
            )),
            d(GOOD),
        ),
        (
            "readiness-probe-missing",
            d("        ports:\n        - {containerPort: 8080}\n"),
            d("        args: [worker]\n"),
        ),
        (
            "liveness-probe-missing",
            d("        args: [worker]\n"),
            deployment(
                "Job",
                "      restartPolicy: Never\n",
                "        args: [worker]\n",
            ),
        ),
        (
            "probe-port-undeclared",
            d(&GOOD.replace("/healthz, port: http", "/healthz, port: 9999")),
            d(&GOOD.replace("/healthz, port: http", "/healthz, port: 8080")),
        ),
        (
            "probe-identical",
            d(&GOOD.replace(
                "/healthz, port: http}\n          failureThreshold: 6",
                "/ready, port: http}",
            )),
            d(&GOOD.replace("/healthz, port: http", "/ready, port: http")),
        ),
        (
            "probe-timeout-exceeds-period",
            d(&GOOD.replace(
                "failureThreshold: 6",
                "failureThreshold: 6\n          periodSeconds: 5\n          timeoutSeconds: 5",
            )),
            d(&GOOD.replace(
                "failureThreshold: 6",
                "failureThreshold: 6\n          periodSeconds: 5\n          timeoutSeconds: 4",
            )),
        ),
        (
            "liveness-before-readiness",
            d(&GOOD.replace(
                "/ready, port: http}",
                "/ready, port: http}\n          initialDelaySeconds: 60",
            )),
            d(&GOOD
                .replace(
                    "/ready, port: http}",
                    "/ready, port: http}\n          initialDelaySeconds: 60",
                )
                .replace(
                    "failureThreshold: 6",
                    "failureThreshold: 6\n          initialDelaySeconds: 60",
                )),
        ),
        (
            "prestop-exceeds-grace",
            d(&GOOD.replace("sleep: {seconds: 5}", "exec: {command: [sleep, \"30\"]}")),
            d(&GOOD.replace("sleep: {seconds: 5}", "exec: {command: [sleep, \"20\"]}")),
        ),
        (
            "prestop-drop-window",
            d(&GOOD.replace(
                "        lifecycle:\n          preStop:\n            sleep: {seconds: 5}\n",
                "",
            )),
            d(GOOD),
        ),
        (
            "exec-probe-period-1s",
            d(&GOOD.replace(
                "httpGet: {path: /ready, port: http}",
                "exec: {command: [cat, /tmp/ready]}\n          periodSeconds: 1",
            )),
            d(&GOOD.replace(
                "httpGet: {path: /ready, port: http}",
                "exec: {command: [cat, /tmp/ready]}\n          periodSeconds: 5",
            )),
        ),
        (
            "slow-start-without-startup-probe",
            d(&GOOD.replace(
                "failureThreshold: 6",
                "failureThreshold: 6\n          initialDelaySeconds: 120",
            )),
            d(&good_with(
                "        startupProbe:\n          httpGet: {path: /healthz, port: http}\n          failureThreshold: 12\n",
            )),
        ),
        (
            "unknown-ignore-id",
            d(GOOD).replace(
                "  name: web\n",
                "  name: web\n  annotations:\n    podcheck.dev/ignore: no-such-check\n",
            ),
            d(GOOD).replace(
                "  name: web\n",
                "  name: web\n  annotations:\n    podcheck.dev/ignore: probe-identical\n",
            ),
        ),
    ]
}

#[test]
fn every_manifest_check_triggers_and_stays_quiet() {
    for (id, bad, good) in yaml_cases() {
        let found = yaml_ids(&bad);
        assert!(
            found.contains(&id),
            "{id} not found in\n{bad}\nfound {found:?}"
        );
        let quiet = yaml_ids(&good);
        assert!(
            !quiet.contains(&id),
            "{id} found in\n{good}\nfound {quiet:?}"
        );
    }
}

const SPEC: &str = "[run]\nduration = \"5s\"\n[images]\n\"nginx:1.27\" = { command = [\"sleep\", \"60\"] }\n[[pod.containers]]\nname = \"web\"\nimage = \"nginx:1.27\"\nlivenessProbe = { exec = { command = [\"true\"] } }\n";

/// (id, a spec that triggers it, one that does not).
fn toml_cases() -> Vec<(&'static str, String, String)> {
    vec![
        ("invalid-input", "[pod\n".into(), SPEC.into()),
        (
            "spec-validation",
            SPEC.replace("duration = \"5s\"", "duration = \"5s\"\ntimeout = \"0s\""),
            SPEC.into(),
        ),
        (
            "podcheck-extension",
            SPEC.replace(
                "image = \"nginx:1.27\"\n",
                "command = [\"sleep\", \"60\"]\n",
            ),
            SPEC.into(),
        ),
        (
            "run-ends-only-at-timeout",
            SPEC.replace("duration = \"5s\"", "") + "[expect.final]\nphase = \"Running\"\n",
            SPEC.to_owned() + "[expect.final]\nphase = \"Running\"\n",
        ),
        (
            "unknown-ignore-id",
            SPEC.to_owned() + "[lint]\nignore = [\"nope\"]\n",
            SPEC.to_owned() + "[lint]\nignore = [\"liveness-probe-missing\"]\n",
        ),
        (
            "liveness-probe-missing",
            SPEC.replace("livenessProbe = { exec = { command = [\"true\"] } }\n", ""),
            SPEC.into(),
        ),
        (
            "handler-count",
            SPEC.replace(
                "{ exec = { command = [\"true\"] } }",
                "{ periodSeconds = 5 }",
            ),
            SPEC.into(),
        ),
    ]
}

#[test]
fn every_spec_check_triggers_and_stays_quiet() {
    for (id, bad, good) in toml_cases() {
        let found = toml_ids(&bad);
        assert!(
            found.contains(&id),
            "{id} not found in\n{bad}\nfound {found:?}"
        );
        let quiet = toml_ids(&good);
        assert!(
            !quiet.contains(&id),
            "{id} found in\n{good}\nfound {quiet:?}"
        );
    }
}

#[test]
fn every_registered_check_has_a_triggering_case() {
    let covered: Vec<&str> = yaml_cases()
        .into_iter()
        .chain(toml_cases())
        .map(|(id, _, _)| id)
        .collect();
    for c in CHECKS {
        assert!(covered.contains(&c.id), "no test case for {}", c.id);
    }
}

#[test]
fn a_lint_ignore_in_a_spec_and_an_annotation_silence_their_ids() {
    assert!(
        !toml_ids(
            &(SPEC.replace("livenessProbe = { exec = { command = [\"true\"] } }\n", "")
                + "[lint]\nignore = [\"liveness-probe-missing\"]\n")
        )
        .contains(&"liveness-probe-missing")
    );
    let bad = deployment("Deployment", "", "        args: [worker]\n");
    assert!(yaml_ids(&bad).contains(&"liveness-probe-missing"));
    let on_template = bad.replace("      labels: {app: web}\n", "      labels: {app: web}\n      annotations: {podcheck.dev/ignore: \"liveness-probe-missing, probe-identical\"}\n");
    assert!(!yaml_ids(&on_template).contains(&"liveness-probe-missing"));
    let r = lint_manifest_source(
        Path::new("t.yaml"),
        bad,
        &LintOptions {
            ignore: vec!["liveness-probe-missing".into()],
        },
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn an_annotation_also_silences_unknown_fields_and_yaml_1_1_booleans_of_its_object() {
    let typo =
        good_with("        imagePullPolicyy: Always\n        env: [{name: DEBUG, value: yes}]\n");
    let bad = deployment("Deployment", "", &typo);
    let ids = yaml_ids(&bad);
    assert!(
        ids.contains(&"unknown-field") && ids.contains(&"yaml11-boolean"),
        "{ids:?}"
    );
    let silenced = bad.replace(
        "metadata:\n  name: web\n",
        "metadata:\n  name: web\n  annotations: {podcheck.dev/ignore: \"unknown-field,yaml11-boolean\"}\n",
    );
    assert_ne!(silenced, bad);
    assert!(yaml_ids(&silenced).is_empty(), "{:?}", yaml_ids(&silenced));
    // Another object of the same file keeps its findings.
    let two = format!("{silenced}---\n{bad}");
    let ids = yaml_ids(&two);
    assert!(
        ids.contains(&"unknown-field") && ids.contains(&"yaml11-boolean"),
        "{ids:?}"
    );
}

#[test]
fn jobs_cronjobs_and_plain_init_containers_need_no_probes() {
    let plain = "        args: [work]\n";
    for kind in ["Job", "CronJob"] {
        let ids = yaml_ids(&deployment(kind, "      restartPolicy: OnFailure\n", plain));
        assert!(ids.is_empty(), "{kind}: {ids:?}");
    }
    let init = deployment(
        "Deployment",
        "      initContainers:\n      - name: migrate\n        image: app\n        ports: [{containerPort: 5000}]\n",
        GOOD,
    );
    assert!(yaml_ids(&init).is_empty(), "{:?}", yaml_ids(&init));
}

#[test]
fn every_error_of_a_file_is_reported_with_its_line() {
    let yaml = deployment(
        "Deployment",
        "",
        &GOOD
            .replace(
                "failureThreshold: 6",
                "failureThreshold: 6\n          successThreshold: 2",
            )
            .replace("seconds: 5", "seconds: 99"),
    );
    let r = lint_manifest_source(Path::new("t.yaml"), yaml.clone(), &LintOptions::default());
    let errors: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity == super::Severity::Error)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    for f in errors {
        let line = yaml.lines().nth(f.line - 1).unwrap_or_default();
        let key = f.field.rsplit('.').next().unwrap_or_default();
        assert!(line.contains(key), "{} at line {}: {line}", f.field, f.line);
    }
}

#[test]
fn timing_messages_show_their_arithmetic() {
    let yaml = deployment(
        "Deployment",
        "",
        &GOOD.replace(
            "/ready, port: http}",
            "/ready, port: http}\n          initialDelaySeconds: 60",
        ),
    );
    let r = lint_manifest_source(Path::new("t.yaml"), yaml, &LintOptions::default());
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "liveness-before-readiness")
        .map(|f| f.message.clone())
        .unwrap_or_default();
    assert!(
        f.contains("0 + (6 - 1) × 10 = 50 s") && f.contains("60 + (1 - 1) × 10 = 60 s"),
        "{f}"
    );
}

#[test]
fn the_readme_lists_every_check() {
    let readme = include_str!("../../README.md");
    for c in CHECKS {
        let row = format!("| `{}` | {} |", c.id, c.severity.as_str());
        assert!(readme.contains(&row), "README has no row {row}");
    }
}

#[test]
fn a_container_with_only_a_metrics_port_needs_no_readiness_probe() {
    let metrics = deployment(
        "Deployment",
        "",
        "        ports:\n        - {name: http-metrics, containerPort: 9402}\n        livenessProbe:\n          httpGet: {path: /livez, port: 9402}\n",
    );
    assert!(
        !yaml_ids(&metrics).contains(&"readiness-probe-missing"),
        "{:?}",
        yaml_ids(&metrics)
    );
    let unnamed = deployment(
        "Deployment",
        "",
        "        ports:\n        - {containerPort: 8080}\n",
    );
    assert!(yaml_ids(&unnamed).contains(&"readiness-probe-missing"));
}

#[test]
fn services_and_their_pods_are_matched_across_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let deploy = deployment("Deployment", "", GOOD);
    std::fs::write(dir.path().join("deploy.yaml"), &deploy).expect("write");
    let svc = |selector: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  selector: {{app: {selector}}}\n  ports:\n  - {{port: 80}}\n"
        )
    };
    let ids = |paths: &[std::path::PathBuf]| -> Vec<&'static str> {
        let r = super::lint_paths(paths, &LintOptions::default());
        r.findings().map(|f| f.id).collect()
    };
    std::fs::write(dir.path().join("svc.yaml"), svc("web")).expect("write");
    assert!(!ids(&[dir.path().to_owned()]).contains(&"service-selects-nothing"));
    std::fs::write(dir.path().join("svc.yaml"), svc("wbe")).expect("write");
    assert!(ids(&[dir.path().to_owned()]).contains(&"service-selects-nothing"));
    // Linted alone, a Service's pods may be anywhere: nothing to say.
    assert!(!ids(&[dir.path().join("svc.yaml")]).contains(&"service-selects-nothing"));
    // The Service's own annotation silences it.
    let annotated = svc("wbe").replace(
        "metadata: {name: web}",
        "metadata: {name: web, annotations: {podcheck.dev/ignore: service-selects-nothing}}",
    );
    std::fs::write(dir.path().join("svc.yaml"), annotated).expect("write");
    assert!(!ids(&[dir.path().to_owned()]).contains(&"service-selects-nothing"));
}

#[test]
fn a_manifest_that_cannot_be_read_is_the_only_finding() {
    // Not the empty pod standing in for it: "no containers", "ends only at its timeout".
    for manifest in ["/dev/zero", "", "no-such-dir/"] {
        let ids = toml_ids(&format!("manifest = {manifest:?}\n"));
        assert_eq!(ids, ["spec-validation"], "manifest = {manifest:?}");
    }
}
