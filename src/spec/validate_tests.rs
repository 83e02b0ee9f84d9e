//! Tests of `validate`.

use super::test_util::{BASE, app, assert_diag, diagnose, pod, run_cases};
use crate::diag::Severity::{Error as E, Warning as W};

#[test]
fn a_complete_valid_spec_has_no_diagnostics() {
    let src = r#"
[run]
time_scale = 0.5
timeout = "30s"
[images]
"web:1" = { command = ["sleep"], args = ["60"] }
[pod]
name = "web-0.example"
namespace = "team-a"
terminationGracePeriodSeconds = 10
activeDeadlineSeconds = 600
[[pod.volumes]]
name = "data"
emptyDir = {}
[[pod.initContainers]]
name = "proxy"
command = ["sleep", "60"]
restartPolicy = "Always"
readinessProbe = { tcpSocket = { port = 80 }, successThreshold = 3 }
lifecycle = { preStop = { sleep = { seconds = 10 } } }
[[pod.containers]]
name = "app"
image = "web:1"
env = [{ name = "MY_VAR.x", value = "1" }]
ports = [{ name = "http", containerPort = 8080, protocol = "TCP" }]
volumeMounts = [{ name = "data", mountPath = "/data" }]
terminationMessagePath = "/tmp/msg"
livenessProbe = { httpGet = { port = "http", path = "x", scheme = "HTTPS" }, successThreshold = 0 }
startupProbe = { grpc = { port = 9090 }, terminationGracePeriodSeconds = 5 }
[[expect.events]]
reason = "Started"
type = "Normal"
container = "proxy"
[[expect.counts]]
reason = "Killing"
at_least = 1
at_most = 2
[expect.final]
phase = "Running"
conditions = { Ready = true, PodReadyToStartContainers = true }
containers = { app = { state = "running" } }
"#;
    let fd = diagnose(src);
    assert!(fd.diagnostics.is_empty(), "{}", fd.render());
}

const POD_CASES: &str = r#"
    E | name | RFC 1123 subdomain | name = "Web_0"
    E | namespace | must not contain dots | namespace = "a.b"
    W | terminationGracePeriodSeconds | will be treated as 1 | terminationGracePeriodSeconds = -1
    E | activeDeadlineSeconds | 0 is not a positive | activeDeadlineSeconds = 0
    E | readinessGates[0].conditionType | "-x" must be | readinessGates = [{ conditionType = "-x" }]
    E | volumes[0] | must specify a volume type | [[pod.volumes]] # <-\nname = "data"
    E | volumes[0].hostPath | more than 1 volume type | [[pod.volumes]]\nname = "d"\nemptyDir = {}\nhostPath = { path = "/x" } # <-
    E | volumes[0].hostPath.path | Required value | [[pod.volumes]]\nname = "d"\nhostPath = { type = "Directory" } # <-
    E | volumes[0].hostPath.path | must not contain '..' | [[pod.volumes]]\nname = "d"\nhostPath = { path = "/a/../b" } # <-
    E | volumes[0].hostPath.type | Unsupported value: "Dir" | [[pod.volumes]]\nname = "d"\nhostPath = { path = "/a", type = "Dir" } # <-
    E | volumes[0].name | RFC 1123 label | [[pod.volumes]]\nemptyDir = {}\nname = "Data"
    E | labels[bad key!] | name part must consist | labels = { "bad key!" = "x" }
    E | labels[app] | must be no more than 63 characters | labels = { app = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" }
    E | labels[-app] | must start and end with an alphanumeric | labels = { "-app" = "web" }
    E | volumes[1].name | declared twice | [[pod.volumes]]\nname = "d"\nemptyDir = {}\n[[pod.volumes]]\nemptyDir = {}\nname = "d"
"#;

#[test]
fn pod_fields_and_volumes() {
    run_cases(POD_CASES, "pod.", pod);
    assert_diag(
        "[pod] # <-\nrestartPolicy = \"Never\"\n",
        E,
        "pod.containers",
        "no containers",
    );
}

const CONTAINER_CASES: &str = r#"
    E | image | empty string | image = ""
    E | image | whitespace | image = " web"
    E | restartPolicyRules | must specify restartPolicy when restart rules | restartPolicyRules = [{ action = "Restart", exitCodes = { operator = "In", values = [42] } }]
    E | restartPolicyRules[0].action | "RestartAllContainers" | restartPolicy = "Never"\nrestartPolicyRules = [{ action = "RestartAllContainers", exitCodes = { operator = "In", values = [42] } }]
    E | restartPolicyRules[0].exitCodes | must be specified | restartPolicy = "Never"\nrestartPolicyRules = [{ action = "Restart" }]
    E | restartPolicyRules[0].exitCodes.operator | "Is" | restartPolicy = "Never"\nrestartPolicyRules = [{ action = "Restart", exitCodes = { operator = "Is", values = [1] } }]
    E | env[0].name | must consist only of printable ASCII characters other than '=' | env = [{ name = "A=B" }]
    W | env[0].name | before 1.32 | env = [{ name = "1X" }]
    W | env[1].name | hides the one at env[0] | env = [{ name = "A" }, { name = "A" }]
    E | ports[0].containerPort | 70000 | ports = [{ containerPort = 70000 }]
    E | ports[0].protocol | "tcp" | ports = [{ containerPort = 80, protocol = "tcp" }]
    E | ports[0].name | alpha-numeric characters (a-z, 0-9) | ports = [{ name = "Http", containerPort = 80 }]
    E | ports[0].name | 15 characters | ports = [{ name = "a-very-long-name1", containerPort = 80 }]
    E | ports[0].name | at least one letter | ports = [{ name = "8080", containerPort = 80 }]
    E | ports[0].name | consecutive hyphens | ports = [{ name = "a--b", containerPort = 80 }]
    E | ports[0].name | begin or end | ports = [{ name = "-ab", containerPort = 80 }]
    E | ports[1].name | Duplicate value: "w" | ports = [{ name = "w", containerPort = 80 }, { name = "w", containerPort = 81 }]
    E | volumeMounts[0].name | "x" does not refer | volumeMounts = [{ name = "x", mountPath = "/x" }]
    E | volumeMounts[0].mountPath | Required value | volumeMounts = [{ name = "d", mountPath = "" }]
    E | volumeMounts[1].mountPath | already used | volumeMounts = [{ name = "d", mountPath = "/x" }, { name = "d", mountPath = "/x" }]
    E | volumeMounts[0].subPath | must be a relative path | volumeMounts = [{ name = "d", mountPath = "/x", subPath = "/abs" }]
    E | volumeMounts[0].subPath | must not contain '..' | volumeMounts = [{ name = "d", mountPath = "/x", subPath = "a/../../b" }]
    E | volumeMounts[0].subPathExpr | must not contain '..' | volumeMounts = [{ name = "d", mountPath = "/x", subPathExpr = "$(A)/.." }]
    E | volumeMounts[0].subPathExpr | mutually exclusive | volumeMounts = [{ name = "d", mountPath = "/x", subPath = "a", subPathExpr = "b" }]
    E | terminationMessagePath | absolute | terminationMessagePath = "log"
"#;

#[test]
fn container_fields() {
    let with_volume = pod("[[pod.volumes]]\nname = \"d\"\nemptyDir = {}\n");
    run_cases(CONTAINER_CASES, "pod.containers[0].", |s| {
        format!("{with_volume}{s}")
    });
    let long = app(&format!(
        "terminationMessagePath = \"/{}\" # <-\n",
        "a".repeat(4096)
    ));
    assert_diag(
        &long,
        E,
        "pod.containers[0].terminationMessagePath",
        "4097 characters",
    );
}

#[test]
fn container_names_images_and_commands() {
    let init = "[pod]\n[[pod.initContainers]]\nname = \"app\"\ncommand = [\"true\"]\n";
    let dup = format!("{init}[[pod.containers]]\nname = \"app\" # <-\ncommand = [\"true\"]\n");
    assert_diag(
        &dup,
        E,
        "pod.containers[0].name",
        "already used by pod.initContainers[0]",
    );
    let bad = BASE.replace("\"app\"", "\"App_1\" # <-");
    assert_diag(&bad, E, "pod.containers[0].name", "RFC 1123 label");
    let bare = "[pod]\n[[pod.containers]] # <-\nname = \"app\"\n";
    assert_diag(
        bare,
        E,
        "pod.containers[0]",
        "neither an image nor a command",
    );
    let empty = format!("{}command = [] # <-\n", bare.replace(" # <-", ""));
    assert_diag(
        &empty,
        E,
        "pod.containers[0].command",
        "neither an image nor a command",
    );
    let pull = format!("{}image = \"nope:1\" # <-\n", bare.replace(" # <-", ""));
    let msg =
        "image \"nope:1\" is not in the [images] table: the container will fail with ErrImagePull";
    assert_diag(&pull, W, "pod.containers[0].image", msg);
    let never = format!(
        "{}imagePullPolicy = \"Never\"\nimage = \"nope:1\" # <-\n",
        bare.replace(" # <-", "")
    );
    let msg = "image \"nope:1\" is not in the [images] table: the container will fail with ErrImageNeverPull";
    assert_diag(&never, W, "pod.containers[0].image", msg);
}

#[test]
fn init_containers_without_restart_always_take_no_probes_or_hooks() {
    let init = "[pod]\n[[pod.initContainers]]\nname = \"init\"\ncommand = [\"true\"]\n";
    let rest = &BASE["[pod]\n".len()..];
    for field in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let src = format!("{init}{field} = {{ exec = {{ command = [\"true\"] }} }} # <-\n{rest}");
        let path = format!("pod.initContainers[0].{field}");
        assert_diag(&src, E, &path, "without restartPolicy=Always");
    }
    let hook =
        format!("{init}lifecycle = {{ preStop = {{ sleep = {{ seconds = 1 }} }} }} # <-\n{rest}");
    assert_diag(
        &hook,
        E,
        "pod.initContainers[0].lifecycle",
        "without restartPolicy=Always",
    );
}

const TOP_LEVEL_CASES: &str = r#"
    E | run.time_scale | out of range | [run]\ntime_scale = 0.0
    E | run.time_scale | out of range | [run]\ntime_scale = -1.0
    E | run.time_scale | out of range | [run]\ntime_scale = 101.0
    E | run.time_scale | out of range | [run]\ntime_scale = nan
    E | run.time_scale | out of range | [run]\ntime_scale = inf
    E | run.timeout | timeout is 0 | [run]\ntimeout = "0s"
    E | run.delete_grace_period | below -1 | [run]\ndelete_pod_at = "1s"\ndelete_grace_period = -2
    E | run.delete_grace_period | never deleted | [run]\ndelete_grace_period = 5
    E | run.feature_gates.SidecarContainers | unknown feature gate | [run]\nfeature_gates = { SidecarContainers = true }
    E | run.updates[0].conditions.Ready | the kubelet's own condition | [[run.updates]]\nat = "1s"\nconditions = { Ready = true }
    W | run.updates[0].conditions.x/y | no readiness gate | [[run.updates]]\nat = "1s"\nconditions = { "x/y" = true }
    E | run.updates[0].images.web | no container named "web" | [[run.updates]]\nat = "1s"\nimages = { web = "a:1" }
    E | run.updates[0] | changes nothing | [[run.updates]] # <-\nat = "1s"
    E | run.updates[0].activeDeadlineSeconds | between 1 and | [[run.updates]]\nat = "1s"\nactiveDeadlineSeconds = 0
    E | run.time_scale | out of range | [run]\ntime_scale = 1e-19
    E | run.time_scale | out of range | [run]\ntime_scale = 0.0009
    E | run.timeout | out of range | [run]\ntimeout = "292277024626y"
    E | run.duration | out of range | [run]\nduration = "292277024626y"
    E | run.delete_pod_at | out of range | [run]\ndelete_pod_at = "3651d"
    E | images.busybox | neither a command nor args | [images]\nbusybox = {}
    E | expect.events[0].container | no container named "web" | [[expect.events]]\ncontainer = "web"
    E | expect.never[0].container | "web" | [[expect.never]]\ncontainer = "web"
    E | expect.counts[0].container | "web" | [[expect.counts]]\nexactly = 1\ncontainer = "web"
    E | expect.final.containers.web | "web" | [expect.final.containers]\nweb = {}
    E | expect.events[0].type | "Error" | [[expect.events]]\ntype = "Error"
    E | expect.never[0].type | "warning" | [[expect.never]]\ntype = "warning"
    E | expect.counts[0] | no bound | [[expect.counts]] # <-\nreason = "Started"
    E | expect.counts[0].exactly | cannot be combined | [[expect.counts]]\nat_most = 2\nexactly = 1
    E | expect.counts[0].at_least | greater than | [[expect.counts]]\nat_most = 2\nat_least = 3
    E | expect.final.phase | "Done" | [expect.final]\nphase = "Done"
    E | expect.executions[0].execution | "crash" does not exist | [[expect.executions]]\nexecution = "crash"
    E | expect.executions[0].container | "web" | [[expect.executions]]\nexecution = "start"\ncontainer = "web"
    E | expect.executions[0].exitCode | does not apply to a "probe" | [[expect.executions]]\nexecution = "probe"\nexitCode = 1
    E | expect.executions[0].signal | "SIGFOO" is not a signal | [[expect.executions]]\nexecution = "signal"\nsignal = "SIGFOO"
    E | expect.executions[0].probe | "alive" does not exist | [[expect.executions]]\nexecution = "probe"\nprobe = "alive"
    E | expect.executions[0].result | hook result "success" | [[expect.executions]]\nexecution = "hook"\nresult = "success"
    E | expect.never_executions[0].execution | "crash" does not exist | [[expect.never_executions]]\nexecution = "crash"
    E | expect.never_executions[0].container | "web" | [[expect.never_executions]]\nexecution = "signal"\ncontainer = "web"
    E | expect.never_executions[0].after_previous | not a sequence | [[expect.never_executions]]\nexecution = "start"\nafter_previous = "0s..1s"
    E | expect.final.containers.app.state | "exited" | [expect.final.containers.app]\nstate = "exited"
    E | expect.final.conditions.ready | "ready" | [expect.final.conditions]\nready = true
"#;

#[test]
fn run_settings_images_and_expectations() {
    run_cases(TOP_LEVEL_CASES, "", app);
}

#[test]
fn a_pod_of_more_containers_than_podcheck_runs_is_refused_before_it_starts() {
    let many: String = (0..=super::MAX_CONTAINERS)
        .map(|i| format!("[[pod.containers]]\nname = \"c{i}\"\ncommand = [\"true\"]\n"))
        .collect();
    let fd = diagnose(&many);
    assert!(
        fd.diagnostics.iter().any(|d| d.severity == E
            && d.path.to_string() == "pod.containers"
            && d.message.contains("podcheck runs at most 100 in one pod")),
        "{}",
        fd.render()
    );
}

#[test]
fn a_pod_name_is_checked_with_the_api_servers_messages() {
    let long = "a".repeat(254);
    assert_diag(
        &pod(&format!("name = \"{long}\" # <-\n")),
        E,
        "pod.name",
        "must be no more than 253 characters",
    );
    assert_diag(
        &pod("name = \"Web_1\" # <-\n"),
        E,
        "pod.name",
        "Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of",
    );
}
