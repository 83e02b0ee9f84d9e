//! Bad manifest and spec input through the command line (`run`, `export`, `lint`): each gets a clear,
//! located error or note, never a panic, never a hang.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");
/// A hang guard, not a speed assertion: every case here ends in well under a second.
const HANG: Duration = Duration::from_secs(120);

/// Runs podcheck, killing it (and failing) if it does not end; (exit code, stderr).
fn podcheck(args: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podcheck starts");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut s = String::new();
        let mut stderr = stderr;
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("podcheck {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().expect("stderr read");
    assert!(
        !text.contains("panicked"),
        "podcheck {args:?} panicked:\n{text}"
    );
    (status.code(), text)
}

/// `podcheck lint FILES…` in `cwd`: (exit code, stdout and stderr together).
fn lint(files: &[&str], cwd: &Path) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .arg("lint")
        .args(files)
        .current_dir(cwd)
        .output()
        .expect("podcheck runs");
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), all)
}

fn both(file: &str, cwd: &Path) -> Vec<(Option<i32>, String)> {
    ["run", "export"]
        .iter()
        .map(|cmd| podcheck(&[cmd, file], cwd))
        .collect()
}

#[test]
fn an_unrendered_helm_template_says_render_it_first() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: {{ .Values.replicas }}\n",
    )
    .expect("write");
    for (code, err) in both("deploy.yaml", dir.path()) {
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("unrendered Helm template (`{{ .Values.replicas }}`)"),
            "{err}"
        );
        assert!(err.contains("deploy.yaml:6:13"), "{err}");
        assert!(err.contains("helm template"), "{err}");
    }
}

#[test]
fn crds_and_unknown_kinds_are_skipped_with_a_note() {
    let dir = tempfile::tempdir().expect("tmp");
    let objects = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: rollouts.argoproj.io}\nspec:\n  group: argoproj.io\n  names: {kind: Rollout, plural: rollouts}\n  scope: Namespaced\n  versions: [{name: v1alpha1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: nginx}]\n";
    std::fs::write(dir.path().join("crd.yaml"), objects).expect("write");
    let pod = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: busybox, command: [sleep, \"1\"]}]\n";
    std::fs::write(dir.path().join("mixed.yaml"), format!("{objects}{pod}")).expect("write");
    // Nothing runnable: the notes say why, and the run says there is no pod.
    let (code, err) = podcheck(&["run", "crd.yaml"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("CustomResourceDefinition \"rollouts.argoproj.io\" is skipped: it defines the custom resource kind Rollout"),
        "{err}"
    );
    assert!(
        err.contains("Rollout \"web\" is skipped: a kind podcheck does not know (a custom resource?), so its spec.template is not read"),
        "{err}"
    );
    assert!(err.contains("no pod to run"), "{err}");
    // Beside a Pod, they are skipped and the Pod is exported; the skipped ones are listed.
    let (code, err) = podcheck(&["export", "mixed.yaml"], dir.path());
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("not exported: mixed.yaml:2:1: kind: CustomResourceDefinition"),
        "{err}"
    );
    assert!(
        err.contains("not exported: mixed.yaml:11:1: kind: Rollout"),
        "{err}"
    );
}

#[test]
fn an_alias_bomb_is_refused_with_the_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut src = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        src.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    std::fs::write(dir.path().join("bomb.yaml"), src).expect("write");
    for (code, err) in both("bomb.yaml", dir.path()) {
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("beyond podcheck's limits"), "{err}");
        assert!(
            err.contains("> 200000"),
            "the limit is in the message: {err}"
        );
        assert!(err.contains("bomb.yaml:"), "{err}");
    }
}

#[test]
fn huge_and_binary_files_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut big = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n");
    while big.len() < 5 << 20 {
        big.push_str("  # padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(dir.path().join("big.yaml"), big).expect("write");
    std::fs::write(dir.path().join("bin.yaml"), b"\x7fELF\x02\x01\x01\0\0\0\0").expect("write");
    for (code, err) in both("big.yaml", dir.path()) {
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("larger than 4 MiB"), "{err}");
    }
    for (code, err) in both("bin.yaml", dir.path()) {
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("binary file"), "{err}");
    }
}

#[test]
fn endless_huge_and_unwritten_files_are_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut big = String::from("[run]\nduration = \"1s\"\n");
    while big.len() < 5 << 20 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(dir.path().join("big.toml"), big).expect("write");
    // A named pipe nobody writes to must not hang the open: it reads as an empty file.
    for fifo in ["fifo.toml", "fifo.yaml"] {
        let path = dir.path().join(fifo);
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let (code, err) = podcheck(&["run", fifo], dir.path());
        assert!(matches!(code, Some(1 | 2)), "run {fifo}: {err}");
        assert!(err.contains("error"), "run {fifo}: {err}");
        // lint takes an empty file as it takes any: it ends, whatever it finds.
        let (code, err) = podcheck(&["lint", fifo], dir.path());
        assert!(code.is_some(), "lint {fifo}: {err}");
    }
    // /dev/zero is a spec path like any other (no .yaml suffix): it must hit the cap.
    for file in ["big.toml", "/dev/zero"] {
        for cmd in ["run", "lint", "export", "bless"] {
            let (code, err) = podcheck(&[cmd, file], dir.path());
            assert_eq!(code, Some(2), "{cmd} {file}: {err}");
            assert!(err.contains("larger than 4 MiB"), "{cmd} {file}: {err}");
        }
    }
}

#[test]
fn malformed_yaml_points_at_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n spec: [\n",
    )
    .expect("write");
    for (code, err) in both("bad.yaml", dir.path()) {
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("invalid YAML"), "{err}");
        assert!(err.contains("bad.yaml:5:2"), "{err}");
    }
}

#[test]
fn a_folder_of_too_many_files_is_refused_with_the_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let max = podcheck::manifest::read::MAX_FILES;
    for i in 0..=max {
        let sub = dir.path().join(format!("d{}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir(&sub).expect("mkdir");
        }
        std::fs::write(sub.join(format!("cm{i}.yaml")), "kind: ConfigMap\n").expect("write");
    }
    for (code, err) in both(".", dir.path()) {
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains(&format!("more than {max} manifest files")),
            "{err}"
        );
    }
}

#[test]
fn a_folder_of_thousands_of_objects_without_pods_ends_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    for i in 0..2_000 {
        std::fs::write(
            dir.path().join(format!("svc{i}.yaml")),
            format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\nspec: {{ports: [{{port: 80}}]}}\n"
            ),
        )
        .expect("write");
    }
    let (code, err) = podcheck(&["run", "."], dir.path());
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no pod to run"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
    let (code, err) = podcheck(&["export", "."], dir.path());
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no Pod or workload with a pod template to export"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
}

#[test]
fn old_api_versions_duplicate_keys_empty_files_and_type_errors_read_like_kubectl() {
    let dir = tempfile::tempdir().expect("tmp");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
        "old.yaml",
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: x}]\n",
    );
    write(
        "dup.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: x\n    name: b\n",
    );
    write("empty.yaml", "# nothing here yet\n---\n");
    write("spec.yaml", "");
    write("spec.toml", "[pod]\n");
    write("toml.yaml", "[pod]\nname = \"web\"\n");
    write(
        "types.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  terminationGracePeriodSeconds: abc\n  containers:\n  - name: a\n    image: x\n    stdin: maybe\n",
    );
    let (code, err) = podcheck(&["run", "old.yaml"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("error: apiVersion: no matches for kind \"Deployment\" in version \"extensions/v1beta1\": extensions/v1beta1 is no longer served (removed in Kubernetes 1.16); Deployment is served as apps/v1"),
        "{err}"
    );
    assert!(
        err.contains("old.yaml:1:1") && err.contains("use `apiVersion: apps/v1`"),
        "{err}"
    );
    for (code, err) in both("dup.yaml", dir.path()) {
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("invalid YAML: mapping key \"name\" already defined at line 6"),
            "{err}"
        );
        assert!(err.contains("dup.yaml:8:5"), "{err}");
    }
    let (code, err) = podcheck(&["run", "empty.yaml"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("error: no objects in empty.yaml: the file is empty or holds only comments"),
        "{err}"
    );
    assert!(!err.contains("did you mean"), "{err}");
    let (code, err) = podcheck(&["run", "spec.yaml"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("did you mean the podcheck spec spec.toml?"),
        "{err}"
    );
    let (code, err) = podcheck(&["run", "toml.yaml"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("this file is TOML, not YAML"), "{err}");
    let (code, err) = podcheck(&["run", "types.yaml"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "spec.terminationGracePeriodSeconds: invalid type: string \"abc\", expected an int64"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "spec.containers[0].stdin: invalid type: string \"maybe\", expected a boolean"
        ),
        "both type errors are reported: {err}"
    );
}

#[test]
fn a_service_the_api_server_refuses_fails_lint_and_run_alike() {
    let dir = tempfile::tempdir().expect("tmp");
    let manifest = |port: &str, target: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, labels: {{app: web}}}}\nspec:\n  containers:\n  - name: web\n    image: web:1\n    ports: [{{name: http, containerPort: 8080}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  selector: {{app: web}}\n  ports:\n  - port: {port}\n    targetPort: {target}\n"
        )
    };
    std::fs::write(dir.path().join("bad.yaml"), manifest("65536", "http")).expect("write");
    let (code, err) = podcheck(&["lint", "bad.yaml"], dir.path());
    assert_eq!(code, Some(1), "{err}");
    let expected =
        "spec.ports[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive";
    assert!(
        err.contains(expected) && err.contains("bad.yaml:16:5"),
        "{err}"
    );
    // run refuses it the same way, and says nothing of the image map: the pod is not the
    // problem, and its image is mapped.
    let (code, err) = podcheck(&["run", "bad.yaml", "--image", "web:1=true"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(expected), "{err}");
    assert!(!err.contains("no container uses this image"), "{err}");
    // A name too long for a Service is said at its metadata.name.
    let long = "a".repeat(64);
    let text = manifest("8080", "http").replace(
        "metadata: {name: web}",
        &format!("metadata: {{name: {long}}}"),
    );
    std::fs::write(dir.path().join("long.yaml"), text).expect("write");
    let (code, err) = podcheck(&["lint", "long.yaml"], dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "metadata.name: Invalid value: \"{long}\": must be no more than 63 characters"
        )) && err.contains("long.yaml:12:"),
        "{err}"
    );
    // An empty targetPort is the port, as the API server defaults it: nothing to say.
    std::fs::write(dir.path().join("empty.yaml"), manifest("8080", "\"\"")).expect("write");
    let (code, err) = podcheck(&["lint", "empty.yaml"], dir.path());
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("targetPort"), "{err}");
}

#[test]
fn a_huge_replica_count_is_refused_without_building_its_pods() {
    // 2^31 - 1 replicas, as a manifest behind a Service and as a TOML table: refused by the
    // pod limit at once, not by running out of memory naming every replica first.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("huge.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2147483647\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: 'app:1'}]\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("huge.toml"),
        "[run]\nduration = \"1s\"\n[pods.web]\nreplicas = 2147483647\n[[pods.web.containers]]\nname = \"c\"\ncommand = [\"true\"]\n",
    )
    .expect("write");
    for (file, says) in [
        (
            "huge.yaml",
            "the file runs 2147483647 pods together (its workloads behind its Services); podcheck runs at most 200 in one run",
        ),
        (
            "huge.toml",
            "the spec runs 2147483647 pods; at most 200 are supported",
        ),
    ] {
        let (code, err) = podcheck(&["run", file], dir.path());
        assert_eq!(code, Some(2), "{file}: {err}");
        assert!(err.contains(says), "{file}: {err}");
    }
    // The manifest's error is at its replicas.
    let (_, err) = podcheck(&["run", "huge.yaml"], dir.path());
    assert!(err.contains("huge.yaml:12:3"), "{err}");
}

#[test]
fn lint_refuses_what_kubectl_refuses_before_the_api_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        (
            "empty.yaml",
            "# only a comment\n---\n",
            "no objects in empty.yaml",
        ),
        (
            "nokind.yaml",
            "apiVersion: v1\nmetadata: {name: p}\n",
            "kind not set",
        ),
        (
            "lower.yaml",
            "apiVersion: v1\nkind: pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}]}\n",
            "no matches for kind \"pod\" in version \"v1\"",
        ),
    ];
    for (file, text, says) in cases {
        std::fs::write(dir.path().join(file), text).expect("write");
        let (code, all) = lint(&[file], dir.path());
        assert_eq!(code, Some(2), "{file}: {all}");
        assert!(all.contains(says), "{file}: {all}");
    }
    // Named beside a file with an object, an empty file is no error (kubectl refuses only
    // when nothing given has an object).
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a, command: [sleep, '1']}]}\n",
    )
    .expect("write");
    let (code, all) = lint(&["empty.yaml", "pod.yaml"], dir.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(!all.contains("no objects"), "{all}");
    // In a folder an empty file beside a manifest is skipped, as kubectl skips it.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).expect("sub");
    std::fs::write(sub.join("empty.yaml"), "").expect("write");
    std::fs::write(
        sub.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a, command: [sleep, '1']}]}\n",
    )
    .expect("write");
    let (code, all) = lint(&["sub"], dir.path());
    assert_eq!(code, Some(0), "{all}");
    assert!(!all.contains("no objects"), "{all}");
}

#[test]
fn a_pod_the_api_server_refuses_is_not_exported_and_lints_as_its_rule() {
    let dir = tempfile::tempdir().expect("tmp");
    let sidecar = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n  - name: s\n    image: s\n    command: [sleep, '9']\n    restartPolicy: Always\n    restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [3]}}]\n  containers: [{name: a, image: a, command: [sleep, '1']}]\n";
    std::fs::write(dir.path().join("sidecar.yaml"), sidecar).expect("write");
    let (code, err) = podcheck(&["export", "sidecar.yaml"], dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "restartPolicyRules are not allowed for init containers with restart policy Always"
        ),
        "{err}"
    );
    // Two ports on one host port: the API server's pod validation (exit 1), not input
    // podcheck cannot read (exit 2); and how `run` treats runAsNonRoot is no lint finding.
    let ports = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true}\n  containers:\n  - name: a\n    image: a\n    command: [sleep, '1']\n    ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81, hostPort: 8080}]\n";
    std::fs::write(dir.path().join("ports.yaml"), ports).expect("write");
    let (code, all) = lint(&["ports.yaml"], dir.path());
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("error[port-invalid]"), "{all}");
    assert!(all.contains("Duplicate value: \"TCP//8080\""), "{all}");
    assert!(
        !all.contains("runAsNonRoot is checked against runAsUser only"),
        "{all}"
    );
}
