//! The downward API's resource values (`resourceFieldRef`, kubelet_resources.go and
//! pkg/api/v1/resource): a container's limit or request in a divisor's units, where a limit
//! left unset is the pod's limit or else what the node can allocate.

use crate::runtime::node_resources::NodeCapacity;
use crate::spec::model::{Container, DownwardFile, Pod, ResourceFieldRef};
use crate::spec::quantity::parse_quantity_nanos;

/// The pod as the downward API reads its fields: the spec, and the identity the kubelet
/// knows (name, namespace, uid).
#[derive(Debug, Clone, Copy)]
pub struct PodFields<'a> {
    /// The pod spec (labels, annotations, service account).
    pub pod: &'a Pod,
    /// metadata.name.
    pub name: &'a str,
    /// metadata.namespace.
    pub namespace: &'a str,
    /// metadata.uid.
    pub uid: &'a str,
}

impl<'a> PodFields<'a> {
    /// The fields of the pod a worker runs.
    pub fn of(cfg: &'a super::PodConfig) -> Self {
        PodFields {
            pod: &cfg.pod,
            name: &cfg.name,
            namespace: &cfg.namespace,
            uid: &cfg.uid,
        }
    }

    /// A field as the kubelet fills it in (podFieldSelectorRuntimeValue,
    /// ExtractFieldPathAsString): the node is `podcheck` and every pod's IP (and the
    /// host's) is loopback, as the pod's hosts file says; a whole label or annotation map is
    /// `key="value"` lines, sorted. A label or annotation the pod lacks is empty.
    pub fn value(&self, path: &str) -> String {
        let key = |prefix: &str| path.strip_prefix(prefix).and_then(|k| k.strip_suffix("']"));
        if let Some(k) = key("metadata.labels['") {
            return self.pod.labels.get(k).cloned().unwrap_or_default();
        }
        if let Some(k) = key("metadata.annotations['") {
            return self.pod.annotations.get(k).cloned().unwrap_or_default();
        }
        match path {
            "metadata.name" => self.name.to_owned(),
            "metadata.namespace" => self.namespace.to_owned(),
            "metadata.uid" => self.uid.to_owned(),
            "metadata.labels" => format_map(&self.pod.labels),
            "metadata.annotations" => format_map(&self.pod.annotations),
            "spec.nodeName" => "podcheck".into(),
            // The ServiceAccount admission plugin sets the name where the pod leaves it out.
            "spec.serviceAccountName" => self
                .pod
                .service_account_name
                .clone()
                .unwrap_or_else(|| "default".into()),
            "status.podIP" | "status.podIPs" | "status.hostIP" | "status.hostIPs" => {
                "127.0.0.1".into()
            }
            _ => String::new(),
        }
    }

    /// The content of a downwardAPI volume file (downwardapi CollectData): a field, or a
    /// named container's resource with the node's allocatable for what it leaves unset.
    pub fn file(&self, f: &DownwardFile, node: &Allocatable) -> Result<String, String> {
        if let Some(path) = &f.field_ref {
            return Ok(self.value(path));
        }
        let Some(r) = &f.resource_field_ref else {
            return Ok(String::new());
        };
        let name = r.container_name.as_deref().unwrap_or("");
        let container = self
            .pod
            .containers
            .iter()
            .chain(&self.pod.init_containers)
            .find(|c| c.name == name)
            .ok_or_else(|| format!("container {name} not found"))?;
        // ExtractResourceValueByContainerNameAndNodeAllocatable: the node's allocatable
        // fills the named container's unset limits, init container or not.
        let bare = Pod {
            containers: vec![container.clone()],
            ..Default::default()
        };
        let unnamed = ResourceFieldRef {
            container_name: None,
            ..r.clone()
        };
        resource_value(&unnamed, &bare, container, node)
    }
}

/// fieldpath.FormatMap: `key="value"` per entry in key order, Go-quoted, newline-separated.
fn format_map(m: &std::collections::BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A string as Go's `%q` writes it (strconv.Quote): printable characters as they are,
/// escapes for quotes, backslashes and control characters.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One unit in the billionths `parse_quantity_nanos` counts in.
const UNIT: i128 = 1_000_000_000;

/// The node's allocatable cpu, memory and ephemeral storage, in billionths of a core or byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocatable {
    cpu: i128,
    memory: i128,
    ephemeral_storage: i128,
}

impl Allocatable {
    /// Capacity less the kubelet's default hard-eviction thresholds (memory.available 100Mi,
    /// nodefs.available 10%), with no kube- or system-reserved, as a default kubelet reports.
    pub fn of(capacity: NodeCapacity) -> Allocatable {
        let memory = capacity.memory_bytes.saturating_sub(100 << 20);
        let storage = capacity.ephemeral_storage_bytes;
        Allocatable {
            cpu: i128::from(capacity.cpu_cores) * UNIT,
            memory: i128::from(memory) * UNIT,
            ephemeral_storage: i128::from(storage - storage / 10) * UNIT,
        }
    }

    fn get(&self, resource: &str) -> Option<i128> {
        match resource {
            "cpu" => Some(self.cpu),
            "memory" => Some(self.memory),
            "ephemeral-storage" => Some(self.ephemeral_storage),
            _ => None,
        }
    }
}

/// The value of a `resourceFieldRef` variable of container `own` of `pod`, or the message
/// the container's CreateContainerConfigError carries.
pub fn resource_value(
    r: &ResourceFieldRef,
    pod: &Pod,
    own: &Container,
    node: &Allocatable,
) -> Result<String, String> {
    let defaults = Defaults::of(pod, node);
    // defaultPodLimitsForDownwardAPI defaults the pod's app containers and the variable's
    // own container; a containerName that finds an init container reads it as written.
    let (container, defaults) = match r.container_name.as_deref() {
        None => (own, Some(&defaults)),
        Some(name) => match pod.containers.iter().find(|c| c.name == name) {
            Some(c) => (c, Some(&defaults)),
            None => match pod.init_containers.iter().find(|c| c.name == name) {
                Some(c) => (c, None),
                None => return Err(format!("container {name} not found")),
            },
        },
    };
    let unsupported = || format!("Unsupported container resource : {}", r.resource);
    let (kind, name) = r.resource.split_once('.').ok_or_else(unsupported)?;
    let standard = matches!(name, "cpu" | "memory" | "ephemeral-storage");
    if !standard && !name.starts_with("hugepages-") {
        return Err(unsupported());
    }
    let written = |map: Option<&std::collections::BTreeMap<String, String>>| {
        map.and_then(|m| m.get(name))
            .and_then(|q| parse_quantity_nanos(q).ok())
    };
    let resources = container.resources.as_ref();
    let limit = written(resources.map(|r| &r.limits));
    let quantity = match kind {
        "limits" => match (limit, defaults) {
            (Some(q), _) if q != 0 => Some(q),
            (_, Some(d)) if standard => d.get(name).or(limit),
            _ => limit,
        },
        // The API server defaults a request left unset to the limit written beside it.
        "requests" => written(resources.map(|r| &r.requests)).or(limit),
        _ => return Err(unsupported()),
    };
    let divisor = r
        .divisor
        .as_deref()
        .and_then(|d| parse_quantity_nanos(d).ok())
        .filter(|d| *d != 0)
        .unwrap_or(UNIT);
    Ok(in_divisors(quantity.unwrap_or(0), divisor))
}

/// The ceiling of `q / divisor` as the kubelet prints it: 0 for what is not positive,
/// saturating at the largest int64.
fn in_divisors(q: i128, divisor: i128) -> String {
    if q <= 0 || divisor <= 0 {
        return "0".into();
    }
    // Both are positive, so the unsigned ceiling is exact.
    let n = q.unsigned_abs().div_ceil(divisor.unsigned_abs());
    let n = n.min(i64::MAX as u128);
    n.to_string()
}

/// What an app container's unset (or zero) cpu, memory and ephemeral-storage limit become.
struct Defaults(Allocatable);

impl Defaults {
    /// The node's allocatable, with the pod-level cpu and memory limits (PodLevelResources)
    /// in place of it where the pod sets them.
    fn of(pod: &Pod, node: &Allocatable) -> Defaults {
        let mut a = *node;
        let pod_limit = |name: &str| {
            pod.pod_limits
                .get(name)
                .and_then(|q| parse_quantity_nanos(q).ok())
                .filter(|q| *q != 0)
        };
        if let Some(q) = pod_limit("cpu") {
            a.cpu = q;
        }
        if let Some(q) = pod_limit("memory") {
            a.memory = q;
        }
        Defaults(a)
    }

    fn get(&self, name: &str) -> Option<i128> {
        self.0.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Resources;

    fn container(name: &str, limits: &[(&str, &str)], requests: &[(&str, &str)]) -> Container {
        let map = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut c: Container = toml::from_str(&format!("name = {name:?}")).expect("container");
        c.resources = Some(Resources {
            limits: map(limits),
            requests: map(requests),
        });
        c
    }

    fn field(resource: &str, container: Option<&str>, divisor: Option<&str>) -> ResourceFieldRef {
        ResourceFieldRef {
            resource: resource.into(),
            container_name: container.map(Into::into),
            divisor: divisor.map(Into::into),
        }
    }

    const NODE: Allocatable = Allocatable {
        cpu: 4 * UNIT,
        memory: (8 << 30) * UNIT,
        ephemeral_storage: (100 << 30) * UNIT,
    };

    fn value(pod: &Pod, own: &Container, f: ResourceFieldRef) -> Result<String, String> {
        resource_value(&f, pod, own, &NODE)
    }

    #[test]
    fn limits_and_requests_round_up_to_the_divisor() {
        let c = container(
            "app",
            &[("cpu", "1500m"), ("memory", "100Mi")],
            &[("cpu", "250m")],
        );
        let pod = Pod {
            containers: vec![c.clone()],
            ..Default::default()
        };
        assert_eq!(
            value(&pod, &c, field("limits.cpu", None, None)),
            Ok("2".into())
        );
        assert_eq!(
            value(&pod, &c, field("limits.cpu", None, Some("1m"))),
            Ok("1500".into())
        );
        assert_eq!(
            value(&pod, &c, field("limits.memory", None, Some("1Mi"))),
            Ok("100".into())
        );
        assert_eq!(
            value(&pod, &c, field("limits.memory", None, Some("1G"))),
            Ok("1".into())
        );
        assert_eq!(
            value(&pod, &c, field("requests.cpu", None, Some("1m"))),
            Ok("250".into())
        );
        // A request left unset is the limit (API defaulting), not the node's.
        assert_eq!(
            value(&pod, &c, field("requests.memory", None, None)),
            Ok((100u64 << 20).to_string())
        );
        assert_eq!(
            value(&pod, &c, field("requests.ephemeral-storage", None, None)),
            Ok("0".into())
        );
    }

    #[test]
    fn an_unset_limit_is_the_nodes_allocatable_or_the_pods_limit() {
        let c = container("app", &[("cpu", "0")], &[]);
        let mut pod = Pod {
            containers: vec![c.clone()],
            ..Default::default()
        };
        assert_eq!(
            value(&pod, &c, field("limits.cpu", None, None)),
            Ok("4".into())
        );
        assert_eq!(
            value(&pod, &c, field("limits.memory", None, Some("1Gi"))),
            Ok("8".into())
        );
        assert_eq!(
            value(
                &pod,
                &c,
                field("limits.ephemeral-storage", None, Some("1Gi"))
            ),
            Ok("100".into())
        );
        assert_eq!(
            value(&pod, &c, field("limits.hugepages-2Mi", None, None)),
            Ok("0".into())
        );
        // No request and no limit written: 0, whatever the node has.
        assert_eq!(
            value(&pod, &c, field("requests.cpu", None, None)),
            Ok("0".into())
        );
        pod.pod_limits.insert("cpu".into(), "2500m".into());
        pod.pod_limits.insert("memory".into(), "1Gi".into());
        assert_eq!(
            value(&pod, &c, field("limits.cpu", None, None)),
            Ok("3".into())
        );
        assert_eq!(
            value(&pod, &c, field("limits.memory", None, Some("1Mi"))),
            Ok("1024".into())
        );
    }

    #[test]
    fn container_name_reads_another_container_and_init_containers_as_written() {
        let app = container("app", &[("memory", "64Mi")], &[]);
        let init = container("setup", &[], &[]);
        let pod = Pod {
            init_containers: vec![init.clone()],
            containers: vec![app.clone(), container("other", &[], &[])],
            ..Default::default()
        };
        let f = |c: &str, r: &str| field(r, Some(c), Some("1Mi"));
        assert_eq!(
            value(&pod, &init, f("app", "limits.memory")),
            Ok("64".into())
        );
        assert_eq!(
            value(&pod, &app, f("other", "limits.memory")),
            Ok("8192".into())
        );
        // Named, an init container gets no defaults; its own variable does.
        assert_eq!(
            value(&pod, &init, f("setup", "limits.memory")),
            Ok("0".into())
        );
        assert_eq!(
            value(&pod, &init, field("limits.memory", None, Some("1Mi"))),
            Ok("8192".into())
        );
        assert_eq!(
            value(&pod, &app, f("nope", "limits.memory")),
            Err("container nope not found".into())
        );
    }

    #[test]
    fn odd_values_do_not_overflow() {
        assert_eq!(in_divisors(-5, UNIT), "0");
        assert_eq!(in_divisors(5, -1), "0");
        assert_eq!(in_divisors(1, UNIT), "1");
        assert_eq!(in_divisors(i128::MAX, 1), i64::MAX.to_string());
        let c = container("app", &[("memory", "7Ei")], &[]);
        let pod = Pod::default();
        assert_eq!(
            value(&pod, &c, field("limits.memory", None, Some("1m"))),
            Ok(i64::MAX.to_string())
        );
        assert_eq!(
            value(&pod, &c, field("limits.gpu", None, None)),
            Err("Unsupported container resource : limits.gpu".into())
        );
    }

    #[test]
    fn label_and_annotation_maps_are_sorted_go_quoted_lines() {
        let mut pod = Pod::default();
        pod.labels.insert("b".into(), "two words".into());
        pod.labels.insert("a".into(), "x\"y\\z\n\u{1}é".into());
        let fields = PodFields {
            pod: &pod,
            name: "p",
            namespace: "ns",
            uid: "u-1",
        };
        assert_eq!(
            fields.value("metadata.labels"),
            "a=\"x\\\"y\\\\z\\n\\x01é\"\nb=\"two words\""
        );
        assert_eq!(fields.value("metadata.annotations"), "");
        assert_eq!(fields.value("metadata.labels['b']"), "two words");
        assert_eq!(fields.value("metadata.uid"), "u-1");
        assert_eq!(fields.value("spec.serviceAccountName"), "default");
    }

    #[test]
    fn a_volume_files_container_gets_the_nodes_defaults_even_an_init_one() {
        let init = container("setup", &[("memory", "64Mi")], &[]);
        let pod = Pod {
            init_containers: vec![init],
            containers: vec![container("app", &[], &[])],
            ..Default::default()
        };
        let fields = PodFields {
            pod: &pod,
            name: "p",
            namespace: "ns",
            uid: "u",
        };
        let file = |c: &str, r: &str| DownwardFile {
            path: "f".into(),
            field_ref: None,
            resource_field_ref: Some(field(r, Some(c), r.ends_with("memory").then_some("1Mi"))),
            mode: 0o644,
        };
        assert_eq!(
            fields.file(&file("setup", "limits.memory"), &NODE),
            Ok("64".into())
        );
        assert_eq!(
            fields.file(&file("setup", "limits.cpu"), &NODE),
            Ok("4".into())
        );
        assert_eq!(
            fields.file(&file("app", "limits.memory"), &NODE),
            Ok("8192".into())
        );
        assert_eq!(
            fields.file(&file("gone", "limits.cpu"), &NODE),
            Err("container gone not found".into())
        );
    }

    #[test]
    fn allocatable_takes_off_the_eviction_thresholds() {
        let a = Allocatable::of(NodeCapacity {
            cpu_cores: 2,
            memory_bytes: 1 << 30,
            ephemeral_storage_bytes: 1000,
        });
        assert_eq!(a.cpu, 2 * UNIT);
        assert_eq!(a.memory, (924 << 20) * UNIT);
        assert_eq!(a.ephemeral_storage, 900 * UNIT);
    }
}
