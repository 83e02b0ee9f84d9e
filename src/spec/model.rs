//! The spec file model: podcheck's own settings plus a pod in Kubernetes' field names.
//!
//! Kubernetes fields keep their API spelling (camelCase) so a block can be pasted from a
//! manifest; podcheck's own fields (`run`, `images`, `expect`) are snake_case. Every struct
//! denies unknown fields: a typo must be an error, not a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::duration::SpecDuration;
use crate::expect::Expectations;

/// One spec file: run settings, an image table, one pod and what is expected of it.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Human title of the spec; defaults to the file name.
    pub name: Option<String>,
    /// How the run is driven (timeouts, time scale, pod deletion).
    #[serde(default)]
    pub run: RunSettings,
    /// Image name → local command, standing in for a registry.
    #[serde(default)]
    pub images: BTreeMap<String, ImageEntry>,
    /// The pod under test; left out when `manifest` names the pod instead.
    #[serde(default)]
    pub pod: Pod,
    /// Several pods by name (`[pods.NAME]`), each a pod as `[pod]` is; `[pod]` is the
    /// one-pod shorthand and the two do not mix.
    #[serde(default)]
    pub pods: BTreeMap<String, Pod>,
    /// Services by name (`[services.NAME]`), selecting pods by their labels.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// What the cluster around the pods does: the Service proxy's propagation delay.
    #[serde(default)]
    pub cluster: super::traffic::ClusterSettings,
    /// Load generators sending requests to Services through the Service proxy.
    #[serde(default)]
    pub traffic: Vec<super::traffic::Traffic>,
    /// A Kubernetes manifest (YAML, relative to the spec file) whose pod is the pod under
    /// test, so a spec checks the manifest that ships rather than a copy of it.
    pub manifest: Option<String>,
    /// Which object of the manifest, as `Kind/name` (e.g. `Deployment/web`) or `name`.
    pub object: Option<String>,
    /// Which document of the manifest (1 = the first), when names do not tell them apart.
    pub document: Option<usize>,
    /// What the run must show.
    #[serde(default)]
    pub expect: Expectations,
    /// What `podcheck lint` leaves out for this spec.
    #[serde(default)]
    pub lint: LintSettings,
}

/// The spec's `[lint]` table: the TOML equivalent of a manifest's `podcheck.dev/ignore`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintSettings {
    /// Check ids not reported for this spec, e.g. `["probe-identical"]`.
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// How a run is driven.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
pub struct RunSettings {
    /// Hard bound on the whole run (real time); exceeding it fails the spec.
    pub timeout: Option<SpecDuration>,
    /// Stop after this much spec time and take the final state then.
    pub duration: Option<SpecDuration>,
    /// Multiplier for every kubelet timer: 0.1 runs ten times faster (a podcheck extension).
    pub time_scale: Option<crate::clock::TimeScale>,
    /// Delete the pod (graceful termination) at this spec time after creation.
    pub delete_pod_at: Option<SpecDuration>,
    /// The delete's own grace period, as `kubectl delete --grace-period=N`: -1 uses the
    /// pod's terminationGracePeriodSeconds, 0 becomes 1 (kubectl without --force).
    pub delete_grace_period: Option<i64>,
    /// Run this spec alone, not in parallel with other specs of a suite.
    #[serde(default)]
    pub serial: bool,
    /// auto (default), pod or none; the CLI flag and PODCHECK_ISOLATION override it.
    pub isolation: Option<crate::runtime::isolation::Isolation>,
    /// Feature gates that differ from v1.35's defaults: only `ContainerStopSignals` (alpha,
    /// off by default) is known.
    #[serde(default)]
    pub feature_gates: BTreeMap<String, bool>,
    /// Changes to the running pod, each at its spec time.
    #[serde(default)]
    pub updates: Vec<PodUpdate>,
    /// Runtime features the spec cannot be checked without; where one is missing the run
    /// is refused (the test harness skips it, saying why).
    #[serde(default)]
    pub requires: Vec<crate::runtime::isolation::Feature>,
}

/// A local stand-in for a container image: its ENTRYPOINT and CMD.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageEntry {
    /// The image's ENTRYPOINT.
    #[serde(default)]
    pub command: Vec<String>,
    /// The image's CMD.
    #[serde(default)]
    pub args: Vec<String>,
    /// Spec time from which the image can be pulled; before it, pulls fail (ErrImagePull,
    /// then ImagePullBackOff), as for an image not pushed yet.
    pub available_at: Option<SpecDuration>,
    /// The image's USER, as a Dockerfile writes it (`uid`, `uid:gid`, `name` or
    /// `name:group`, names from this machine's /etc/passwd and /etc/group): who the
    /// container runs as when its securityContext sets no runAsUser, and what runAsNonRoot
    /// is checked against. Unset, the container runs as podcheck's own user, unchecked.
    pub user: Option<String>,
}

impl ImageEntry {
    /// An image that is only a command (`--image NAME=CMD`): ENTRYPOINT, nothing else.
    pub fn command(argv: Vec<String>) -> Self {
        ImageEntry {
            command: argv,
            args: Vec::new(),
            available_at: None,
            user: None,
        }
    }
}

/// A pod: the `metadata.name`/`namespace` shortcut plus the PodSpec fields podcheck runs.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    /// metadata.name; defaults to the spec file's stem.
    pub name: Option<String>,
    /// metadata.namespace; defaults to `default`.
    pub namespace: Option<String>,
    /// metadata.labels, beside `name` and `namespace` (the same metadata shortcut);
    /// Services select pods by them.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// When the pod is created, in spec time since the run began (a podcheck extension,
    /// `[pods.NAME]` only; default 0).
    #[serde(rename = "start_at")]
    pub start_at: Option<SpecDuration>,
    /// When the pod is deleted, in spec time since the run began (a podcheck extension,
    /// `[pods.NAME]` only; `[pod]` uses `run.delete_pod_at`).
    #[serde(rename = "delete_at")]
    pub delete_at: Option<SpecDuration>,
    /// The delete's grace period, as `kubectl delete --grace-period=N` (a podcheck
    /// extension, `[pods.NAME]` only; needs `delete_at`).
    #[serde(rename = "delete_grace")]
    pub delete_grace: Option<i64>,
    /// Identical pods NAME-0 .. NAME-(N-1) (a podcheck extension, `[pods.NAME]` only).
    #[serde(rename = "replicas")]
    pub replicas: Option<u32>,
    /// Always (default), OnFailure or Never.
    pub restart_policy: Option<RestartPolicy>,
    /// Grace period for stopping containers; default 30.
    pub termination_grace_period_seconds: Option<i64>,
    /// Deadline from the pod's start after which the kubelet fails it.
    pub active_deadline_seconds: Option<i64>,
    /// Init containers and sidecars (restartPolicy Always), in order.
    #[serde(default)]
    pub init_containers: Vec<Container>,
    /// The app containers.
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Volumes the containers may mount.
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// The pod's operating system (`os.name`: linux or windows); a stopSignal needs it.
    pub os: Option<PodOs>,
    /// Pod conditions besides the kubelet's that must be True for the pod to be Ready.
    #[serde(default)]
    pub readiness_gates: Vec<PodReadinessGate>,
    /// The identity every container runs as, unless its own securityContext says otherwise.
    pub security_context: Option<PodSecurityContext>,
    /// Whether the Services of the pod's namespace become environment variables
    /// (`MYDB_SERVICE_HOST`, ...); default true.
    pub enable_service_links: Option<bool>,
    /// The pod's hostname; default its name.
    pub hostname: Option<String>,
    /// With `hostname`: the pod's domain is `SUBDOMAIN.NAMESPACE.svc.cluster.local`.
    pub subdomain: Option<String>,
    /// Extra `/etc/hosts` entries.
    #[serde(default)]
    pub host_aliases: Vec<super::pod_dns::HostAlias>,
    /// ClusterFirst (default), ClusterFirstWithHostNet, Default or None.
    pub dns_policy: Option<super::pod_dns::DnsPolicy>,
    /// Resolver settings merged into what `dnsPolicy` gives.
    pub dns_config: Option<super::pod_dns::PodDnsConfig>,
    /// A manifest pod's metadata.annotations, which `metadata.annotations['KEY']`
    /// variables read.
    #[serde(skip)]
    pub annotations: BTreeMap<String, String>,
    /// A manifest pod's spec.serviceAccountName, which the `spec.serviceAccountName`
    /// variable reads (`default` when unset, as the ServiceAccount admission sets it).
    #[serde(skip)]
    pub service_account_name: Option<String>,
    /// A manifest pod's pod-level spec.resources.limits, which stand in for a container's
    /// unset cpu and memory limits in `resourceFieldRef` variables.
    #[serde(skip)]
    pub pod_limits: BTreeMap<String, String>,
}

/// `spec.securityContext`: the fields podcheck honours (the rest are accepted with a note).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    /// The uid of every container's processes.
    pub run_as_user: Option<i64>,
    /// The primary gid of every container's processes.
    pub run_as_group: Option<i64>,
    /// Refuse to start a container that would run as uid 0.
    pub run_as_non_root: Option<bool>,
    /// Groups added to every container's processes.
    #[serde(default)]
    pub supplemental_groups: Vec<i64>,
}

/// A container's `securityContext`: the fields podcheck honours; they override the pod's.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    /// The uid of the container's processes.
    pub run_as_user: Option<i64>,
    /// The primary gid of the container's processes.
    pub run_as_group: Option<i64>,
    /// Refuse to start the container if it would run as uid 0.
    pub run_as_non_root: Option<bool>,
    /// Mount the container's root file system read-only (in pod isolation with mount
    /// namespaces; elsewhere a note says it has no effect).
    pub read_only_root_filesystem: Option<bool>,
}

/// A Service: a selector over pod labels and its ports, in Kubernetes field names.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    /// metadata.namespace; defaults to `default`.
    pub namespace: Option<String>,
    /// Pods whose labels contain every pair are the Service's endpoints.
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
    /// The Service's ports.
    #[serde(default)]
    pub ports: Vec<ServicePort>,
    /// Pods are `ready` endpoints whether or not they are Ready.
    #[serde(default)]
    pub publish_not_ready_addresses: bool,
}

/// One port of a Service.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServicePort {
    /// Required when the Service has more than one port.
    pub name: Option<String>,
    /// The Service's port.
    pub port: i64,
    /// The pods' port: a number or the name of a container port; default `port`.
    pub target_port: Option<IntOrString>,
    /// TCP (default); UDP and SCTP are not emulated.
    pub protocol: Option<String>,
}

/// One pod of a run, after `[pod]` or `[pods.NAME]` (with its replicas) was expanded.
#[derive(Debug, Clone)]
pub struct PodInstance {
    /// metadata.name.
    pub name: String,
    /// The pod.
    pub pod: Pod,
    /// Spec time since the run began at which the pod is created.
    pub start_at: std::time::Duration,
    /// Spec time since the run began at which the pod is deleted.
    pub delete_at: Option<std::time::Duration>,
    /// The delete's grace period (`kubectl delete --grace-period`).
    pub delete_grace: Option<i64>,
    /// The `[pods.NAME]` table it came from (None for `[pod]`).
    pub table: Option<String>,
}

impl PodUpdate {
    /// Whether this update changes `pod` (an instance from table `table`, named `name`).
    pub fn applies_to(&self, name: &str, table: Option<&str>) -> bool {
        self.pod
            .as_deref()
            .is_none_or(|p| p == name || Some(p) == table)
    }
}

/// The most pods one spec may run (replicas included).
pub const MAX_PODS: usize = 200;

impl SpecFile {
    /// Whether the spec uses `[pods.NAME]` rather than the one-pod `[pod]`.
    pub fn several_pods(&self) -> bool {
        self.pods
            .values()
            .map(|p| p.replicas.map_or(1, |n| n as usize))
            .sum::<usize>()
            > 1
    }

    /// The pods of the run in name order; `[pod]` gives one named after `pod.name` or
    /// `stem`.
    pub fn pod_instances(&self, stem: &str) -> Vec<PodInstance> {
        if self.pods.is_empty() {
            return vec![PodInstance {
                name: self.pod.name.clone().unwrap_or_else(|| stem.to_owned()),
                pod: self.pod.clone(),
                start_at: std::time::Duration::ZERO,
                delete_at: self.run.delete_pod_at.map(|d| d.0),
                delete_grace: self.run.delete_grace_period,
                table: None,
            }];
        }
        let mut out = Vec::new();
        for (key, pod) in &self.pods {
            let base = pod.name.clone().unwrap_or_else(|| key.clone());
            // Validation refuses more than MAX_PODS pods, and runs before any is started:
            // never build more instances than that (replicas may be 2^31 - 1).
            let room = u32::try_from((MAX_PODS + 1).saturating_sub(out.len())).unwrap_or(0);
            let names: Vec<String> = match pod.replicas {
                Some(n) => (0..n.min(room)).map(|i| format!("{base}-{i}")).collect(),
                None if room > 0 => vec![base],
                None => Vec::new(),
            };
            for (index, name) in names.into_iter().enumerate() {
                let mut p = pod.clone();
                p.name = Some(name.clone());
                // A StatefulSet's pods carry their own name and ordinal, as its controller
                // labels them (a Service may select one pod by them).
                if p.labels.contains_key(STS_POD_NAME) {
                    p.labels.insert(STS_POD_NAME.into(), name.clone());
                    if p.labels.contains_key(POD_INDEX) {
                        p.labels.insert(POD_INDEX.into(), index.to_string());
                    }
                }
                out.push(PodInstance {
                    name,
                    pod: p,
                    start_at: pod.start_at.map_or(std::time::Duration::ZERO, |d| d.0),
                    delete_at: pod.delete_at.map(|d| d.0),
                    delete_grace: pod.delete_grace,
                    table: Some(key.clone()),
                });
            }
        }
        out
    }
}

/// The label a StatefulSet's controller gives each pod: its name.
pub const STS_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
/// The label a StatefulSet's controller gives each pod: its ordinal.
pub const POD_INDEX: &str = "apps.kubernetes.io/pod-index";

/// `spec.os`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodOs {
    /// `linux` or `windows`.
    pub name: String,
}

/// Seconds of an API integer field with the API's defaulting rule: unset, zero or negative
/// means `default` (probe periods, timeouts, thresholds in seconds).
pub fn api_seconds(v: Option<i64>, default: u64) -> std::time::Duration {
    std::time::Duration::from_secs(
        v.filter(|n| *n > 0)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(default),
    )
}

/// A readiness gate: a pod condition that some controller sets.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodReadinessGate {
    /// The condition's type, e.g. `example.com/load-balancer-ready`.
    pub condition_type: String,
}

/// A change to the running pod at a spec time, as `kubectl set image`, `kubectl patch` or a
/// controller writing a condition would make it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodUpdate {
    /// When (spec time since pod creation).
    pub at: SpecDuration,
    /// With `[pods.NAME]`: the pod it changes, by its name (`web-0`) or its table's (`web`,
    /// every replica); unset, every pod.
    pub pod: Option<String>,
    /// Pod conditions a controller writes, by type: `true` for "True", `false` for "False".
    #[serde(default)]
    pub conditions: BTreeMap<String, bool>,
    /// New images by container name (`kubectl set image pod/NAME app=IMAGE`).
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// A new activeDeadlineSeconds (the API lets it be set once or lowered).
    #[serde(rename = "activeDeadlineSeconds")]
    pub active_deadline_seconds: Option<i64>,
}

/// The pod-level restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum RestartPolicy {
    /// Restart every exited container.
    Always,
    /// Restart containers that exited non-zero.
    OnFailure,
    /// Never restart.
    Never,
}

impl RestartPolicy {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::Always => "Always",
            RestartPolicy::OnFailure => "OnFailure",
            RestartPolicy::Never => "Never",
        }
    }
}

/// The container-level restart policy (ContainerRestartRules, beta and on in v1.35):
/// `Always` on an init container makes it a sidecar; on a regular container, and `Never` /
/// `OnFailure` on either, it overrides the pod's restartPolicy for that container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum ContainerRestartPolicy {
    /// Restart whatever the exit code (an init container: a sidecar).
    Always,
    /// Restart on a non-zero exit.
    OnFailure,
    /// Never restart (unless a restartPolicyRules entry says so).
    Never,
}

/// One `restartPolicyRules` entry: an action for matching exits.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerRestartRule {
    /// `Restart` (the only action of v1.35's default gates).
    pub action: String,
    /// The exit codes the rule applies to.
    pub exit_codes: Option<ContainerRestartRuleOnExitCodes>,
}

/// The exit-code condition of a restart rule.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRestartRuleOnExitCodes {
    /// `In` or `NotIn`.
    pub operator: String,
    /// The exit codes (at most 255).
    #[serde(default)]
    pub values: Vec<i32>,
}

impl ContainerRestartRule {
    /// Whether the rule applies to an exit with `code` (`ContainerShouldRestart`): a rule
    /// without exit codes never matches; an empty `In` never, an empty `NotIn` always.
    pub fn matches(&self, code: i32) -> bool {
        self.exit_codes
            .as_ref()
            .is_some_and(|e| match e.operator.as_str() {
                "In" => e.values.contains(&code),
                "NotIn" => !e.values.contains(&code),
                _ => false,
            })
    }
}

/// A container, in Kubernetes field names.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// DNS label, unique across init and app containers.
    pub name: String,
    /// Image name, resolved through the spec's image table.
    pub image: Option<String>,
    /// Always, IfNotPresent or Never; affects only the pull events.
    pub image_pull_policy: Option<PullPolicy>,
    /// Overrides the image's ENTRYPOINT.
    pub command: Option<Vec<String>>,
    /// Overrides the image's CMD.
    pub args: Option<Vec<String>>,
    /// Working directory; defaults to a fresh per-container directory.
    pub working_dir: Option<String>,
    /// Environment variables.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Declared ports (named ports are used by probes).
    #[serde(default)]
    pub ports: Vec<ContainerPort>,
    /// Volumes mounted into this container.
    #[serde(default)]
    pub volume_mounts: Vec<VolumeMount>,
    /// `Always` on an init container makes it a sidecar; otherwise it overrides the pod's
    /// restartPolicy for this container.
    pub restart_policy: Option<ContainerRestartPolicy>,
    /// Rules checked in order on each exit; the first that matches decides (needs
    /// `restartPolicy`).
    #[serde(default)]
    pub restart_policy_rules: Vec<ContainerRestartRule>,
    /// Where the container writes its termination message.
    pub termination_message_path: Option<String>,
    /// File (default) or FallbackToLogsOnError.
    pub termination_message_policy: Option<TerminationMessagePolicy>,
    /// Restarts the container when it fails.
    pub liveness_probe: Option<Probe>,
    /// Gates the container's readiness.
    pub readiness_probe: Option<Probe>,
    /// Gates liveness and readiness until the app has started.
    pub startup_probe: Option<Probe>,
    /// postStart and preStop hooks.
    pub lifecycle: Option<Lifecycle>,
    /// Resource requests and limits (limits.memory is enforced where cgroups allow).
    pub resources: Option<Resources>,
    /// The identity the container's processes (and its exec probes and hooks) run as.
    pub security_context: Option<SecurityContext>,
    /// Why the kubelet cannot generate this container's config, found while reading a
    /// manifest (a key its env names is missing from a ConfigMap or Secret of the file):
    /// the container waits with CreateContainerConfigError and this message.
    #[serde(skip)]
    pub config_error: Option<String>,
}

impl Container {
    /// An init container with restartPolicy Always.
    pub fn is_sidecar(&self) -> bool {
        self.restart_policy == Some(ContainerRestartPolicy::Always)
    }

    /// `resources.limits.memory` in bytes, when set and valid (validation reports the rest).
    pub fn memory_limit(&self) -> Option<u64> {
        let q = self.resources.as_ref()?.limits.get("memory")?;
        crate::spec::quantity::parse_memory_quantity(q).ok()
    }
}

/// Image pull policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum PullPolicy {
    /// Pull on every start.
    Always,
    /// Pull only if the image is missing.
    IfNotPresent,
    /// Never pull.
    Never,
}

/// Termination message policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum TerminationMessagePolicy {
    /// Only the termination message file.
    File,
    /// The log tail when the file is empty and the container failed.
    FallbackToLogsOnError,
}

/// An environment variable with a literal value.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Literal value; `$(VAR)` references to earlier variables are expanded.
    #[serde(default)]
    pub value: String,
    /// Where the variable is in a manifest's `env` list, which also holds the `valueFrom`
    /// variables podcheck leaves out: diagnostics point there (unset for a spec's own).
    #[serde(skip)]
    pub manifest_index: Option<usize>,
    /// The value was read from a ConfigMap or Secret of the manifest (`envFrom`, or a
    /// `configMapKeyRef` / `secretKeyRef`): not the container's own literal, so an export
    /// leaves it out rather than write a Secret's value in plain text.
    #[serde(skip)]
    pub from_object: bool,
    /// A manifest's downward-API `fieldRef.fieldPath` (`metadata.name`, `status.podIP`,
    /// …): the kubelet fills the value in when it starts the container.
    #[serde(skip)]
    pub field_ref: Option<String>,
    /// A manifest's downward-API `resourceFieldRef`: the kubelet computes the value from
    /// the container's resources when it starts the container.
    #[serde(skip)]
    pub resource_field_ref: Option<ResourceFieldRef>,
}

/// A `resourceFieldRef`: one limit or request of a container of the pod, in `divisor`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFieldRef {
    /// `limits.cpu`, `requests.memory`, `limits.hugepages-2Mi`, …
    pub resource: String,
    /// The container whose resources are read; the variable's own when unset.
    pub container_name: Option<String>,
    /// The unit the value is given in, a quantity; `1` when unset.
    pub divisor: Option<String>,
}

/// A declared container port.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    /// IANA_SVC_NAME used by named-port probes.
    pub name: Option<String>,
    /// Port number, 1-65535.
    pub container_port: i64,
    /// TCP (default), UDP or SCTP.
    pub protocol: Option<String>,
}

/// A volume mount.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// The volume's name.
    pub name: String,
    /// Absolute path inside the container.
    pub mount_path: String,
    /// Mount read-only.
    #[serde(default)]
    pub read_only: bool,
    /// A path inside the volume to mount instead of its root (made as a directory when
    /// missing).
    pub sub_path: Option<String>,
    /// Like subPath, with `$(VAR)` expanded from the container's variables as it starts.
    pub sub_path_expr: Option<String>,
}

/// A pod volume; podcheck supports emptyDir and hostPath.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Volume name, a DNS label.
    pub name: String,
    /// A scratch directory that lives as long as the pod.
    pub empty_dir: Option<EmptyDir>,
    /// A file or directory of the node (here: this machine).
    pub host_path: Option<HostPath>,
    /// A manifest's configMap, secret or projected volume: the files the kubelet writes
    /// into it, read from the objects of the same file.
    #[serde(skip)]
    pub projection: Option<Projection>,
}

/// The files of a configMap, secret or projected volume, as the volume plugin's payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// The files, by path relative to the volume, sorted.
    pub files: Vec<ProjectedFile>,
    /// downwardAPI files, whose content the kubelet renders from the pod as it sets the
    /// volume up (a later file at the same path wins over `files`).
    pub downward: Vec<DownwardFile>,
    /// Why the volume cannot be set up (a key its object lacks): the FailedMount message.
    pub error: Option<String>,
    /// The volume as the manifest wrote it, which `export` writes back.
    pub source: k8s_openapi::api::core::v1::Volume,
}

/// One downwardAPI file of a volume: a pod field or a container's resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownwardFile {
    /// The path below the volume.
    pub path: String,
    /// A `fieldRef` path: `metadata.labels`, `metadata.annotations['KEY']`, …
    pub field_ref: Option<String>,
    /// A `resourceFieldRef` (its containerName is required here).
    pub resource_field_ref: Option<ResourceFieldRef>,
    /// The file's mode.
    pub mode: u32,
}

/// One file of a projected volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectedFile {
    /// The path below the volume (`items[].path`, else the key).
    pub path: String,
    /// The content.
    pub data: Vec<u8>,
    /// The file's mode (`items[].mode`, else `defaultMode`, else 0644).
    pub mode: u32,
}

/// hostPath settings.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct HostPath {
    /// The path on the node.
    #[serde(default)]
    pub path: String,
    /// What must be at the path: "" (anything), Directory, DirectoryOrCreate, File,
    /// FileOrCreate, Socket, CharDevice or BlockDevice.
    #[serde(rename = "type")]
    pub type_: Option<String>,
}

/// The hostPath types the API server accepts ("" means no check).
pub const HOST_PATH_TYPES: [&str; 8] = [
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
];

/// emptyDir settings (accepted, not enforced: the run's notes say so).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDir {
    /// "" or "Memory".
    pub medium: Option<String>,
    /// Size limit as a quantity string.
    pub size_limit: Option<String>,
}

/// Resource requirements.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct Resources {
    /// Upper bounds, e.g. `memory = "64Mi"`.
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
    /// Requests (recorded, not enforced).
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
}

/// A probe: one handler plus timing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// Run a command in the container.
    pub exec: Option<ExecAction>,
    /// HTTP GET against the container.
    pub http_get: Option<HttpGetAction>,
    /// TCP connect.
    pub tcp_socket: Option<TcpSocketAction>,
    /// grpc.health.v1 Check.
    pub grpc: Option<GrpcAction>,
    /// Seconds after container start before the first probe.
    pub initial_delay_seconds: Option<i64>,
    /// Seconds between probes; default 10.
    pub period_seconds: Option<i64>,
    /// Seconds before a probe times out; default 1.
    pub timeout_seconds: Option<i64>,
    /// Consecutive successes to count as success; default 1.
    pub success_threshold: Option<i64>,
    /// Consecutive failures to count as failure; default 3.
    pub failure_threshold: Option<i64>,
    /// Grace period for a kill caused by this probe.
    pub termination_grace_period_seconds: Option<i64>,
}

/// A command handler.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ExecAction {
    /// The command, not run in a shell.
    #[serde(default)]
    pub command: Vec<String>,
}

/// A port given by number or by the name of a container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntOrString {
    /// A port number.
    Int(i64),
    /// A named port.
    String(String),
}

// A hand-written visitor instead of `untagged`, so a wrong type gets a precise message.
impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = IntOrString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a port number (1-65535) or the name of a container port")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IntOrString, E> {
                i64::try_from(v)
                    .map(IntOrString::Int)
                    .map_err(|_| E::custom("port number out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::String(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// An HTTP GET handler.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpGetAction {
    /// Request path; default `/`.
    pub path: Option<String>,
    /// Port number or name.
    pub port: IntOrString,
    /// Host to connect to; default the pod IP.
    pub host: Option<String>,
    /// HTTP (default) or HTTPS.
    pub scheme: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub http_headers: Vec<HttpHeader>,
}

/// One HTTP header.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A TCP connect handler.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TcpSocketAction {
    /// Port number or name.
    pub port: IntOrString,
    /// Host; default the pod IP.
    pub host: Option<String>,
}

/// A gRPC health handler.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct GrpcAction {
    /// Port number (names are not allowed).
    pub port: i64,
    /// Service name for the health Check.
    pub service: Option<String>,
}

/// Lifecycle hooks.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    /// Runs right after the container starts.
    pub post_start: Option<LifecycleHandler>,
    /// Runs before the stop signal.
    pub pre_stop: Option<LifecycleHandler>,
    /// The signal that stops the container instead of SIGTERM (`ContainerStopSignals`,
    /// alpha and off in v1.35: without `run.feature_gates` the API server drops it).
    pub stop_signal: Option<String>,
}

/// A lifecycle hook handler.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHandler {
    /// Run a command in the container.
    pub exec: Option<ExecAction>,
    /// HTTP GET against the container.
    pub http_get: Option<HttpGetAction>,
    /// Accepted by the API but always fails in the kubelet.
    pub tcp_socket: Option<TcpSocketAction>,
    /// Sleep for a number of seconds.
    pub sleep: Option<SleepAction>,
}

/// The sleep handler.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct SleepAction {
    /// Seconds to sleep.
    pub seconds: i64,
}
