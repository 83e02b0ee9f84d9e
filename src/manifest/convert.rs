//! k8s-openapi's PodSpec → podcheck's own `spec::model::Pod`. Every field podcheck runs is
//! carried over as written; a value podcheck cannot represent is an error at its field;
//! configMap, secret and projected volumes carry their files (`config_volumes`); volume
//! sources podcheck has no data for become empty directories, with a note.

use k8s_openapi::api::core::v1 as k;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString as KIntOrString;

use super::config_refs::{ConfigObjects, resolve_env};
use super::config_volumes::project;
use super::yaml::{Node, Value};
use crate::diag::{Diagnostic, FieldPath};
use crate::spec::model::{self as m, IntOrString};

/// Converts one pod spec. `path` is where the PodSpec is in `doc`, for diagnostics.
pub struct Converter<'a> {
    /// The document the spec was read from.
    pub doc: &'a Node,
    /// Diagnostics found while converting.
    pub out: Vec<Diagnostic>,
    /// The pod's namespace, where its ConfigMap and Secret references point.
    ns: &'a str,
    /// The file's ConfigMaps and Secrets, which its containers' variables may name.
    config: &'a ConfigObjects,
}

impl<'a> Converter<'a> {
    /// A converter for a spec in `doc`, of a pod in namespace `ns` of a file whose
    /// ConfigMaps and Secrets are `config`.
    pub fn new(doc: &'a Node, ns: &'a str, config: &'a ConfigObjects) -> Self {
        Converter {
            doc,
            out: Vec::new(),
            ns,
            config,
        }
    }

    fn located(&self, mut d: Diagnostic) -> Diagnostic {
        d.span = Some(self.doc.span_of(&d.path));
        d
    }

    fn note(&mut self, path: FieldPath, message: String) {
        let d = Diagnostic::note(path, message);
        self.out.push(self.located(d));
    }

    /// The pod spec at `path`, in podcheck's model.
    pub fn pod(&mut self, spec: &k::PodSpec, path: &FieldPath) -> m::Pod {
        let restart_policy = super::set(&spec.restart_policy).and_then(|p| {
            self.one_of(
                path.key("restartPolicy"),
                p,
                &[
                    ("Always", m::RestartPolicy::Always),
                    ("OnFailure", m::RestartPolicy::OnFailure),
                    ("Never", m::RestartPolicy::Never),
                ],
            )
        });
        let init_containers = list(&spec.init_containers)
            .iter()
            .enumerate()
            .map(|(i, c)| self.container(c, &path.key("initContainers").index(i)))
            .collect();
        let containers = spec
            .containers
            .iter()
            .enumerate()
            .map(|(i, c)| self.container(c, &path.key("containers").index(i)))
            .collect();
        // Init containers run one at a time, so each only conflicts with itself.
        let mut host_ports =
            super::validate_container::check_host_ports(&spec.containers, &path.key("containers"));
        for (i, c) in list(&spec.init_containers).iter().enumerate() {
            let one = super::validate_container::check_host_ports(
                std::slice::from_ref(c),
                &path.key("initContainers"),
            );
            // Each init container is checked alone, so the check sees it at index 0, where
            // the API server would print [0]; podcheck names the init container it means.
            host_ports.extend(one.into_iter().map(|mut d| {
                if let Some(crate::diag::PathSeg::Index(n)) = d.path.0.get_mut(path.0.len() + 1) {
                    *n = i;
                }
                d
            }));
        }
        host_ports.extend(super::validate_pod_spec::check_pod_spec(spec, path));
        for d in host_ports {
            self.out.push(self.located(d));
        }
        let volumes = list(&spec.volumes)
            .iter()
            .enumerate()
            .map(|(i, v)| self.volume(v, &path.key("volumes").index(i)))
            .collect();
        m::Pod {
            name: None,
            namespace: None,
            labels: Default::default(),
            start_at: None,
            delete_at: None,
            delete_grace: None,
            replicas: None,
            restart_policy,
            termination_grace_period_seconds: spec.termination_grace_period_seconds,
            active_deadline_seconds: spec.active_deadline_seconds,
            init_containers,
            containers,
            volumes,
            readiness_gates: list(&spec.readiness_gates)
                .iter()
                .map(|g| m::PodReadinessGate {
                    condition_type: g.condition_type.clone(),
                })
                .collect(),
            os: spec.os.as_ref().map(|o| m::PodOs {
                name: o.name.clone(),
            }),
            security_context: spec
                .security_context
                .as_ref()
                .map(|s| m::PodSecurityContext {
                    run_as_user: s.run_as_user,
                    run_as_group: s.run_as_group,
                    run_as_non_root: s.run_as_non_root,
                    supplemental_groups: list(&s.supplemental_groups).to_vec(),
                }),
            enable_service_links: spec.enable_service_links,
            hostname: spec.hostname.clone(),
            subdomain: spec.subdomain.clone(),
            host_aliases: list(&spec.host_aliases)
                .iter()
                .map(|a| crate::spec::pod_dns::HostAlias {
                    ip: a.ip.clone(),
                    hostnames: list(&a.hostnames).to_vec(),
                })
                .collect(),
            dns_policy: super::set(&spec.dns_policy).and_then(|p| {
                use crate::spec::pod_dns::DnsPolicy as D;
                self.one_of(
                    path.key("dnsPolicy"),
                    p,
                    &[
                        ("ClusterFirstWithHostNet", D::ClusterFirstWithHostNet),
                        ("ClusterFirst", D::ClusterFirst),
                        ("Default", D::Default),
                        ("None", D::None),
                    ],
                )
            }),
            dns_config: spec
                .dns_config
                .as_ref()
                .map(|c| crate::spec::pod_dns::PodDnsConfig {
                    nameservers: list(&c.nameservers).to_vec(),
                    searches: list(&c.searches).to_vec(),
                    options: list(&c.options)
                        .iter()
                        .map(|o| crate::spec::pod_dns::PodDnsConfigOption {
                            name: o.name.clone().unwrap_or_default(),
                            value: o.value.clone(),
                        })
                        .collect(),
                }),
            annotations: Default::default(),
            // serviceAccount is the deprecated spelling the API server still copies over.
            service_account_name: spec
                .service_account_name
                .clone()
                .or_else(|| spec.service_account.clone())
                .filter(|n| !n.is_empty()),
            pod_limits: spec
                .resources
                .iter()
                .flat_map(|r| r.limits.iter().flatten())
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
        }
    }

    /// `value` as one of the API's spellings, else the API server's "Unsupported value".
    fn one_of<T: Copy>(
        &mut self,
        path: FieldPath,
        value: &str,
        allowed: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, t)) = allowed.iter().find(|(s, _)| *s == value) {
            return Some(*t);
        }
        let names: Vec<&str> = allowed.iter().map(|(s, _)| *s).collect();
        let d = Diagnostic::unsupported(path, value, &names);
        self.out.push(self.located(d));
        None
    }

    fn container(&mut self, c: &k::Container, path: &FieldPath) -> m::Container {
        for d in super::validate_container::check_container(c, path) {
            self.out.push(self.located(d));
        }
        let image_pull_policy = super::set(&c.image_pull_policy).and_then(|p| {
            self.one_of(
                path.key("imagePullPolicy"),
                p,
                &[
                    ("Always", m::PullPolicy::Always),
                    ("IfNotPresent", m::PullPolicy::IfNotPresent),
                    ("Never", m::PullPolicy::Never),
                ],
            )
        });
        let restart_policy = c.restart_policy.as_deref().and_then(|p| {
            self.one_of(
                path.key("restartPolicy"),
                p,
                &[
                    ("Always", m::ContainerRestartPolicy::Always),
                    ("OnFailure", m::ContainerRestartPolicy::OnFailure),
                    ("Never", m::ContainerRestartPolicy::Never),
                ],
            )
        });
        let termination_message_policy = super::set(&c.termination_message_policy).and_then(|p| {
            self.one_of(
                path.key("terminationMessagePolicy"),
                p,
                &[
                    ("File", m::TerminationMessagePolicy::File),
                    (
                        "FallbackToLogsOnError",
                        m::TerminationMessagePolicy::FallbackToLogsOnError,
                    ),
                ],
            )
        });
        let mut notes = Vec::new();
        let (env, config_error) = resolve_env(c, self.ns, self.config, path, &mut notes);
        for d in notes {
            let d = self.located(d);
            self.out.push(d);
        }
        let ports = list(&c.ports)
            .iter()
            .map(|p| m::ContainerPort {
                name: p.name.clone(),
                container_port: i64::from(p.container_port),
                protocol: super::set(&p.protocol).map(str::to_owned),
            })
            .collect();
        let volume_mounts = list(&c.volume_mounts)
            .iter()
            .map(|v| m::VolumeMount {
                name: v.name.clone(),
                mount_path: v.mount_path.clone(),
                read_only: v.read_only.unwrap_or(false),
                sub_path: v.sub_path.clone().filter(|p| !p.is_empty()),
                sub_path_expr: v.sub_path_expr.clone().filter(|p| !p.is_empty()),
            })
            .collect();
        m::Container {
            name: c.name.clone(),
            image: c.image.clone(),
            image_pull_policy,
            command: c.command.clone(),
            args: c.args.clone(),
            working_dir: super::set(&c.working_dir).map(str::to_owned),
            env,
            ports,
            volume_mounts,
            restart_policy,
            restart_policy_rules: list(&c.restart_policy_rules)
                .iter()
                .map(|r| m::ContainerRestartRule {
                    action: r.action.clone(),
                    exit_codes: r
                        .exit_codes
                        .as_ref()
                        .map(|e| m::ContainerRestartRuleOnExitCodes {
                            operator: e.operator.clone(),
                            values: list(&e.values).to_vec(),
                        }),
                })
                .collect(),
            termination_message_path: super::set(&c.termination_message_path).map(str::to_owned),
            termination_message_policy,
            liveness_probe: c.liveness_probe.as_ref().map(probe),
            readiness_probe: c.readiness_probe.as_ref().map(probe),
            startup_probe: c.startup_probe.as_ref().map(probe),
            lifecycle: c.lifecycle.as_ref().map(|l| m::Lifecycle {
                post_start: l.post_start.as_ref().map(handler),
                pre_stop: l.pre_stop.as_ref().map(handler),
                stop_signal: l.stop_signal.clone(),
            }),
            resources: c
                .resources
                .as_ref()
                .map(|r| self.resources(r, &path.key("resources"))),
            security_context: c.security_context.as_ref().map(|s| m::SecurityContext {
                run_as_user: s.run_as_user,
                run_as_group: s.run_as_group,
                run_as_non_root: s.run_as_non_root,
                read_only_root_filesystem: s.read_only_root_filesystem,
            }),
            config_error,
        }
    }

    fn resources(&mut self, r: &k::ResourceRequirements, path: &FieldPath) -> m::Resources {
        let quantities = |q: &Option<std::collections::BTreeMap<String, _>>| {
            q.iter()
                .flatten()
                .map(
                    |(n, v): (
                        &String,
                        &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
                    )| { (n.clone(), v.0.clone()) },
                )
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let limits = quantities(&r.limits);
        for name in limits.keys().filter(|n| *n != "memory") {
            self.note(
                path.key("limits").map_key(name),
                format!("resources.limits.{name} is not enforced: podcheck enforces only the memory limit"),
            );
        }
        m::Resources {
            limits,
            requests: quantities(&r.requests),
        }
    }

    fn volume(&mut self, v: &k::Volume, path: &FieldPath) -> m::Volume {
        let empty_dir = v.empty_dir.as_ref().map(|e| m::EmptyDir {
            medium: e.medium.clone(),
            size_limit: e.size_limit.as_ref().map(|q| q.0.clone()),
        });
        let host_path = v.host_path.as_ref().map(|h| m::HostPath {
            path: h.path.clone(),
            type_: h.type_.clone(),
        });
        if empty_dir.is_some() || host_path.is_some() {
            return m::Volume {
                name: v.name.clone(),
                empty_dir,
                host_path,
                projection: None,
            };
        }
        let mut found = Vec::new();
        let projection = project(v, self.ns, self.config, path, &mut found);
        for d in found {
            let d = self.located(d);
            self.out.push(d);
        }
        if projection.is_some() {
            return m::Volume {
                name: v.name.clone(),
                empty_dir: None,
                host_path: None,
                projection,
            };
        }
        // persistentVolumeClaim, downwardAPI, …: no API server or storage here, so the
        // volume is an empty directory the pod can still mount and write.
        let source = self
            .doc
            .at(path)
            .and_then(|n| match &n.value {
                Value::Map(entries) => entries
                    .iter()
                    .filter_map(|(k, _)| k.as_str())
                    .find(|k| *k != "name")
                    .map(str::to_owned),
                _ => None,
            })
            .unwrap_or_else(|| "no".to_owned());
        self.note(
            path.key(&source),
            format!(
                "volume {:?} has a {source} source, which podcheck does not emulate: it is an empty directory here",
                v.name
            ),
        );
        m::Volume {
            name: v.name.clone(),
            empty_dir: Some(m::EmptyDir::default()),
            host_path: None,
            projection: None,
        }
    }
}

fn list<T>(v: &Option<Vec<T>>) -> &[T] {
    v.as_deref().unwrap_or(&[])
}

fn port(p: &KIntOrString) -> IntOrString {
    match p {
        KIntOrString::Int(i) => IntOrString::Int(i64::from(*i)),
        KIntOrString::String(s) => IntOrString::String(s.clone()),
    }
}

fn exec(e: &k::ExecAction) -> m::ExecAction {
    m::ExecAction {
        command: e.command.clone().unwrap_or_default(),
    }
}

fn http_get(h: &k::HTTPGetAction) -> m::HttpGetAction {
    m::HttpGetAction {
        path: h.path.clone(),
        port: port(&h.port),
        host: h.host.clone(),
        scheme: h.scheme.clone(),
        http_headers: list(&h.http_headers)
            .iter()
            .map(|x| m::HttpHeader {
                name: x.name.clone(),
                value: x.value.clone(),
            })
            .collect(),
    }
}

fn tcp(t: &k::TCPSocketAction) -> m::TcpSocketAction {
    m::TcpSocketAction {
        port: port(&t.port),
        host: t.host.clone(),
    }
}

fn probe(p: &k::Probe) -> m::Probe {
    m::Probe {
        exec: p.exec.as_ref().map(exec),
        http_get: p.http_get.as_ref().map(http_get),
        tcp_socket: p.tcp_socket.as_ref().map(tcp),
        grpc: p.grpc.as_ref().map(|g| m::GrpcAction {
            port: i64::from(g.port),
            service: g.service.clone(),
        }),
        initial_delay_seconds: p.initial_delay_seconds.map(i64::from),
        period_seconds: p.period_seconds.map(i64::from),
        timeout_seconds: p.timeout_seconds.map(i64::from),
        success_threshold: p.success_threshold.map(i64::from),
        failure_threshold: p.failure_threshold.map(i64::from),
        termination_grace_period_seconds: p.termination_grace_period_seconds,
    }
}

fn handler(h: &k::LifecycleHandler) -> m::LifecycleHandler {
    m::LifecycleHandler {
        exec: h.exec.as_ref().map(exec),
        http_get: h.http_get.as_ref().map(http_get),
        tcp_socket: h.tcp_socket.as_ref().map(tcp),
        sleep: h
            .sleep
            .as_ref()
            .map(|s| m::SleepAction { seconds: s.seconds }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Severity;
    use crate::manifest::de::{Keys, from_node};
    use crate::manifest::yaml::parse_documents;

    fn convert(src: &str) -> (m::Pod, Vec<Diagnostic>) {
        let docs = parse_documents(src).expect("yaml");
        let spec: k::PodSpec =
            from_node(&docs[0], FieldPath::root(), &Keys::default()).expect("typed");
        let config = ConfigObjects::default();
        let mut c = Converter::new(&docs[0], "default", &config);
        let pod = c.pod(&spec, &FieldPath::root());
        (pod, c.out)
    }

    const SPEC: &str = r#"
restartPolicy: OnFailure
terminationGracePeriodSeconds: 5
activeDeadlineSeconds: 100
initContainers:
- name: proxy
  image: envoy:1
  restartPolicy: Always
containers:
- name: app
  image: registry/app:1.2
  imagePullPolicy: IfNotPresent
  command: [/app]
  args: ["--port", "8080"]
  workingDir: /srv
  env:
  - {name: A, value: "1"}
  - name: POD_IP
    valueFrom: {fieldRef: {fieldPath: status.podIP}}
  ports: [{name: http, containerPort: 8080}]
  volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
  terminationMessagePath: /dev/termination-log
  terminationMessagePolicy: FallbackToLogsOnError
  startupProbe: {httpGet: {path: /healthz, port: http}, failureThreshold: 30, periodSeconds: 2}
  readinessProbe: {tcpSocket: {port: 8080}, initialDelaySeconds: 1}
  livenessProbe: {grpc: {port: 9090, service: app}, timeoutSeconds: 2, terminationGracePeriodSeconds: 3}
  lifecycle:
    postStart: {exec: {command: [touch, /tmp/x]}}
    preStop: {sleep: {seconds: 4}}
  resources: {limits: {memory: 64Mi, cpu: "1"}, requests: {cpu: 100m}}
volumes:
- {name: data, emptyDir: {medium: Memory, sizeLimit: 1Gi}}
- {name: host, hostPath: {path: /var/log, type: Directory}}
- {name: config, configMap: {name: app-config}}
"#;

    #[test]
    fn every_field_podcheck_runs_carries_over() {
        let (pod, diags) = convert(SPEC);
        assert_eq!(pod.restart_policy, Some(m::RestartPolicy::OnFailure));
        assert_eq!(pod.termination_grace_period_seconds, Some(5));
        assert_eq!(pod.active_deadline_seconds, Some(100));
        assert_eq!(
            pod.init_containers[0].restart_policy,
            Some(m::ContainerRestartPolicy::Always)
        );
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some("registry/app:1.2"));
        assert_eq!(c.image_pull_policy, Some(m::PullPolicy::IfNotPresent));
        assert_eq!(c.command.as_deref(), Some(&["/app".to_owned()][..]));
        assert_eq!(c.args.as_ref().map(Vec::len), Some(2));
        assert_eq!(c.working_dir.as_deref(), Some("/srv"));
        assert_eq!(c.env.len(), 2);
        assert_eq!(
            c.env[1].field_ref.as_deref(),
            Some("status.podIP"),
            "a downward-API variable is left for the kubelet to fill in"
        );
        assert_eq!(c.ports[0].container_port, 8080);
        assert!(c.volume_mounts[0].read_only);
        assert_eq!(
            c.termination_message_policy,
            Some(m::TerminationMessagePolicy::FallbackToLogsOnError)
        );
        let startup = c.startup_probe.as_ref().expect("startup");
        assert_eq!(
            startup.http_get.as_ref().map(|h| h.port.clone()),
            Some(IntOrString::String("http".into()))
        );
        assert_eq!(startup.failure_threshold, Some(30));
        let live = c.liveness_probe.as_ref().expect("liveness");
        assert_eq!(live.grpc.as_ref().map(|g| g.port), Some(9090));
        assert_eq!(live.termination_grace_period_seconds, Some(3));
        let lc = c.lifecycle.as_ref().expect("lifecycle");
        assert_eq!(
            lc.pre_stop
                .as_ref()
                .and_then(|h| h.sleep.as_ref())
                .map(|s| s.seconds),
            Some(4)
        );
        assert_eq!(c.memory_limit(), Some(64 * 1024 * 1024));
        assert_eq!(
            pod.volumes[0]
                .empty_dir
                .as_ref()
                .and_then(|e| e.medium.as_deref()),
            Some("Memory")
        );
        assert_eq!(
            pod.volumes[1].host_path.as_ref().map(|h| h.path.as_str()),
            Some("/var/log")
        );
        let config = pod.volumes[2].projection.as_ref();
        assert!(
            config.is_some_and(|p| p.files.is_empty()) && pod.volumes[2].empty_dir.is_none(),
            "a configMap volume whose object is elsewhere projects nothing"
        );
        let notes: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(diags.len(), 2, "{notes:?}");
        assert!(notes[0].contains("limits.cpu is not enforced"));
        assert!(notes[1].contains("ConfigMap \"app-config\" is not in this file"));
        assert!(diags.iter().all(|d| d.severity == Severity::Note));
    }

    #[test]
    fn an_unsupported_value_is_an_error_at_its_field() {
        let src = "containers:\n- name: a\n  image: x\n  imagePullPolicy: always\n";
        let (_, diags) = convert(src);
        assert_eq!(diags.len(), 1);
        let d = &diags[0];
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(d.path.to_string(), "containers[0].imagePullPolicy");
        assert!(
            d.message.contains("Unsupported value: \"always\""),
            "{}",
            d.message
        );
        let span = d.span.clone().expect("span");
        assert_eq!(&src[span], "imagePullPolicy");
    }
}
