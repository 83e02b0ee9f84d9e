//! Validation of `pod.readinessGates` and `run.updates`: only changes the API server would
//! accept on a running pod, naming only what the pod has.

use super::model::{Pod, SpecFile};
use super::validate::{err, list_or_none, warn};
use crate::diag::{Diagnostic, FieldPath};

/// The condition types the kubelet owns: a controller's write to them would be overwritten.
const KUBELET_CONDITIONS: [&str; 5] = [
    "PodScheduled",
    "PodReadyToStartContainers",
    "Initialized",
    "ContainersReady",
    "Ready",
];

/// Why `s` is not a Kubernetes qualified name (`[prefix/]name`), if it is not.
fn qualified_name_problem(s: &str) -> Option<&'static str> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if name.is_empty() || name.len() > 63 {
        return Some("must have a name part of 1 to 63 characters");
    }
    if !name.starts_with(alnum)
        || !name.ends_with(alnum)
        || !name
            .chars()
            .all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
    {
        return Some(
            "must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
        );
    }
    if let Some(p) = prefix
        && (p.is_empty()
            || p.len() > 253
            || p.split('.').any(|l| {
                l.is_empty()
                    || !l.starts_with(alnum)
                    || !l.ends_with(alnum)
                    || !l
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            }))
    {
        return Some("has a prefix that is not a lowercase DNS subdomain");
    }
    None
}

/// Checks the readiness gates and the updates, against each pod an update changes.
pub(super) fn check_updates(spec: &SpecFile, out: &mut Vec<Diagnostic>) {
    let root = FieldPath::root();
    // The pods as tables: (path of the table, table name, replica names, the pod).
    let tables: Vec<(FieldPath, Option<&str>, Vec<String>, &Pod)> = if spec.pods.is_empty() {
        vec![(root.key("pod"), None, Vec::new(), &spec.pod)]
    } else {
        spec.pods
            .iter()
            .map(|(key, pod)| {
                let base = pod.name.clone().unwrap_or_else(|| key.clone());
                let names = match pod.replicas {
                    // More than MAX_PODS is refused elsewhere; never build more names.
                    Some(n) => (0..n.min(super::model::MAX_PODS as u32 + 1))
                        .map(|i| format!("{base}-{i}"))
                        .collect(),
                    None => vec![base],
                };
                (root.key("pods").key(key), Some(key.as_str()), names, pod)
            })
            .collect()
    };
    for (path, _, _, pod) in &tables {
        check_gates(pod, path, out);
    }
    for (i, u) in spec.run.updates.iter().enumerate() {
        let Some(p) = &u.pod else { continue };
        let known = tables
            .iter()
            .any(|(_, table, names, _)| *table == Some(p.as_str()) || names.contains(p));
        if spec.pods.is_empty() {
            out.push(err(
                root.key("run").key("updates").index(i).key("pod"),
                format!("pod = {p:?} names a pod, but this spec has the one [pod]"),
                "remove `pod`: an update changes the one pod",
            ));
        } else if !known {
            let all: Vec<String> = tables
                .iter()
                .flat_map(|(_, table, names, _)| {
                    names.iter().cloned().chain(table.map(str::to_owned))
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            out.push(err(
                root.key("run").key("updates").index(i).key("pod"),
                format!("no pod named {p:?}"),
                format!("use one of {}", list_or_none(&all)),
            ));
        }
    }
    for (_, table, names, pod) in &tables {
        let mine: Vec<usize> = (0..spec.run.updates.len())
            .filter(|&i| {
                let u = &spec.run.updates[i];
                table.is_none() || names.iter().any(|n| u.applies_to(n, *table))
            })
            .collect();
        let mut found = Vec::new();
        check_pod_updates(spec, pod, &mine, &mut found);
        // An update to every pod says a problem the pods share once.
        for d in found {
            let seen = out
                .iter()
                .any(|o| o.message == d.message && o.path.to_string() == d.path.to_string());
            if !seen {
                out.push(d);
            }
        }
    }
}

/// `pod.readinessGates`: qualified condition types.
fn check_gates(pod: &Pod, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    for (i, g) in pod.readiness_gates.iter().enumerate() {
        let g = g.condition_type.as_str();
        if let Some(why) = qualified_name_problem(g) {
            out.push(err(
                path.key("readinessGates").index(i).key("conditionType"),
                format!("conditionType {g:?} {why}"),
                "use a qualified name such as \"example.com/load-balancer-ready\"",
            ));
        }
    }
}

/// The updates (indices into `run.updates`) that change `pod`, in time order.
fn check_pod_updates(spec: &SpecFile, pod: &Pod, mine: &[usize], out: &mut Vec<Diagnostic>) {
    let root = FieldPath::root();
    let gates: Vec<&str> = pod
        .readiness_gates
        .iter()
        .map(|g| g.condition_type.as_str())
        .collect();
    // ValidatePodUpdate lets the image of any container change, init containers included.
    let names: Vec<&str> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .map(|c| c.name.as_str())
        .collect();
    let mut deadline = pod.active_deadline_seconds;
    let mut order: Vec<usize> = mine.to_vec();
    order.sort_by_key(|&i| spec.run.updates[i].at.0);
    for i in order {
        let u = &spec.run.updates[i];
        let upath = root.key("run").key("updates").index(i);
        for kind in u.conditions.keys() {
            let cpath = upath.key("conditions").key(kind);
            if KUBELET_CONDITIONS.contains(&kind.as_str()) {
                out.push(err(
                    cpath,
                    format!("{kind} is the kubelet's own condition: the next status it writes replaces it"),
                    "set a readiness gate's condition instead (pod.readinessGates)",
                ));
            } else if !gates.contains(&kind.as_str()) {
                out.push(warn(
                    cpath,
                    format!("condition {kind:?} is no readiness gate of the pod, so it does not affect Ready"),
                    format!("add pod.readinessGates = [{{ conditionType = {kind:?} }}], or use one of {}", list_or_none(&gates)),
                ));
            }
        }
        for (name, image) in &u.images {
            let ipath = upath.key("images").key(name);
            if !names.contains(&name.as_str()) {
                out.push(err(
                    ipath,
                    format!("no container named {name:?}"),
                    format!("use one of {}", list_or_none(&names)),
                ));
            } else if image.trim().is_empty() || image.trim() != image {
                out.push(err(
                    ipath,
                    format!("image {image:?} is empty or has surrounding whitespace"),
                    "write the image reference, e.g. \"example/app:2.0\"",
                ));
            }
        }
        if let Some(d) = u.active_deadline_seconds {
            let dpath = upath.key("activeDeadlineSeconds");
            if !(1..=i64::from(i32::MAX)).contains(&d) {
                out.push(err(
                    dpath,
                    format!(
                        "activeDeadlineSeconds {d} must be between 1 and 2147483647, inclusive"
                    ),
                    "use a whole number of seconds in that range",
                ));
            } else if deadline.is_some_and(|old| d > old) {
                out.push(err(
                    dpath,
                    format!(
                        "activeDeadlineSeconds {d}: must be less than or equal to previous value ({})",
                        deadline.unwrap_or_default()
                    ),
                    "the API only lets a running pod's deadline be set once or lowered",
                ));
            } else {
                deadline = Some(d);
            }
        }
        if u.conditions.is_empty() && u.images.is_empty() && u.active_deadline_seconds.is_none() {
            out.push(err(
                upath,
                "the update changes nothing",
                "set conditions, images or activeDeadlineSeconds",
            ));
        }
    }
}
