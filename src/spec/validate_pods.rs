//! Validation of `[pods.NAME]`: names, replicas, start and delete times, labels, and the
//! settings that belong to the one-pod `[pod]` only.

use std::collections::BTreeMap;

use super::model::{MAX_PODS, Pod, SpecFile};
use super::validate::{MAX_RUN_DURATION, err, is_label_like};
use crate::diag::{Diagnostic, FieldPath};

/// `[pod]` takes none of the `[pods.NAME]` extensions: its delete is `run.delete_pod_at`.
pub(super) fn check_one_pod_extensions(pod: &Pod, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let set = [
        (
            "start_at",
            pod.start_at.is_some(),
            "[pod] starts with the run; use [pods.NAME] for pods that start later",
        ),
        (
            "delete_at",
            pod.delete_at.is_some(),
            "for [pod] use run.delete_pod_at = \"5s\"; delete_at belongs to [pods.NAME]",
        ),
        (
            "delete_grace",
            pod.delete_grace.is_some(),
            "for [pod] use run.delete_grace_period; delete_grace belongs to [pods.NAME]",
        ),
        (
            "replicas",
            pod.replicas.is_some(),
            "use [pods.NAME] with replicas = N for identical pods NAME-0..NAME-(N-1)",
        ),
    ];
    for (key, is_set, help) in set {
        if is_set {
            out.push(err(
                path.key(key),
                format!("`{key}` is a [pods.NAME] setting, not one of [pod]"),
                help,
            ));
        }
    }
}

/// Checks every `[pods.NAME]` table and the run settings that assume one pod.
pub(super) fn check_pods(spec: &SpecFile, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let run = FieldPath::root().key("run");
    if spec.run.delete_pod_at.is_some() {
        out.push(err(
            run.key("delete_pod_at"),
            "run.delete_pod_at deletes the one [pod]; this spec has [pods.NAME] tables",
            "set `delete_at = \"5s\"` (and `delete_grace`) in the [pods.NAME] table of the pod to delete",
        ));
    }
    if spec.manifest.is_some() {
        out.push(err(
            FieldPath::root().key("manifest"),
            "the spec has both [pods.NAME] tables and a `manifest`",
            "keep one: a manifest's pod is the one pod under test; remove `manifest` or the [pods] tables",
        ));
    }
    // Pod names after replicas are expanded, with the table each came from.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut total = 0usize;
    for (key, pod) in &spec.pods {
        let ppath = path.key(key);
        if key.is_empty() || key.len() > 63 || !is_label_like(key) {
            out.push(err(
                ppath.clone(),
                format!("pod name {key:?} (the table key of [pods.{key}]) is not a lowercase RFC 1123 label"),
                "use at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit, e.g. [pods.web]",
            ));
        }
        if pod.name.is_some() {
            out.push(err(
                ppath.key("name"),
                format!("[pods.{key}] takes its name from the table key"),
                format!("remove `name`; the pod is called {key:?} (with replicas: {key}-0, {key}-1, ...)"),
            ));
        }
        let count = match pod.replicas {
            Some(0) => {
                out.push(err(
                    ppath.key("replicas"),
                    "replicas = 0 runs no pod",
                    "use 1 or more, or remove the [pods] table",
                ));
                0
            }
            Some(n) => n as usize,
            None => 1,
        };
        total = total.saturating_add(count);
        let expanded: Vec<String> = match pod.replicas {
            Some(n) => (0..n.min(MAX_PODS as u32 + 1))
                .map(|i| format!("{key}-{i}"))
                .collect(),
            None => vec![key.clone()],
        };
        for n in expanded {
            if let Some(other) = names.insert(n.clone(), key.clone()) {
                out.push(err(
                    ppath.clone(),
                    format!("pod name {n:?} is made by both [pods.{other}] and [pods.{key}]"),
                    "rename one of the tables so every pod (replicas included) has its own name",
                ));
            }
        }
        check_times(pod, &ppath, out);
        check_labels(&pod.labels, &ppath.key("labels"), out);
    }
    if total > MAX_PODS {
        out.push(err(
            path.clone(),
            format!("the spec runs {total} pods; at most {MAX_PODS} are supported"),
            format!("lower the replicas so the total is {MAX_PODS} or less"),
        ));
    }
}

fn check_times(pod: &Pod, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    for (key, d) in [("start_at", pod.start_at), ("delete_at", pod.delete_at)] {
        if let Some(d) = d
            && d.0 > MAX_RUN_DURATION
        {
            out.push(err(
                path.key(key),
                format!("{key} {d} is out of range"),
                "use a duration of at most 10 years (\"3650d\"), such as \"20s\"",
            ));
        }
    }
    if let (Some(s), Some(d)) = (pod.start_at, pod.delete_at)
        && d.0 < s.0
    {
        out.push(err(
            path.key("delete_at"),
            format!(
                "delete_at {d} is before start_at {s}: the pod would be deleted before it exists"
            ),
            "both count from the start of the run; set delete_at after start_at",
        ));
    }
    if let Some(g) = pod.delete_grace {
        if g < -1 {
            out.push(err(
                path.key("delete_grace"),
                format!("delete_grace {g} is below -1"),
                "use -1 for the pod's terminationGracePeriodSeconds, or 0 or more seconds (0 becomes 1, as with kubectl delete --grace-period=0)",
            ));
        }
        if pod.delete_at.is_none() {
            out.push(err(
                path.key("delete_grace"),
                "delete_grace is set but the pod is never deleted",
                "add delete_at = \"5s\" (when the delete happens, since the run began), or remove delete_grace",
            ));
        }
    }
}

/// Why a label value is invalid (`IsValidLabelValue`), if it is.
pub(crate) fn label_value_problem(v: &str) -> Option<&'static str> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if v.is_empty() {
        None
    } else if v.len() > 63 {
        Some("must be no more than 63 characters")
    } else if !v.chars().all(ok_char)
        || !v.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !v.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        Some(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        )
    } else {
        None
    }
}

/// Why a label key is invalid (`IsQualifiedName`: an optional DNS subdomain prefix and
/// `/`, then a name of at most 63 characters), if it is.
pub(crate) fn label_key_problem(k: &str) -> Option<&'static str> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > 253 || !p.split('.').all(is_label_like))
    {
        return Some("has a prefix that is not a lowercase RFC 1123 subdomain");
    }
    if name.is_empty() {
        return Some("has an empty name part");
    }
    label_value_problem(name)
}

/// Checks label keys and values as the API server does.
pub(crate) fn check_labels(
    labels: &BTreeMap<String, String>,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    for (k, v) in labels {
        if let Some(why) = label_key_problem(k) {
            out.push(err(
                path.key(k),
                format!("label key {k:?} {why}"),
                "use a name such as \"app\" or \"example.com/tier\" (at most 63 characters of letters, digits, '-', '_', '.')",
            ));
        } else if let Some(why) = label_value_problem(v) {
            out.push(err(
                path.key(k),
                format!("label value {v:?} of {k:?} {why}"),
                "use a value such as \"web\" (at most 63 characters of letters, digits, '-', '_', '.')",
            ));
        }
    }
}

/// Checks every `[services.NAME]` as the API server would (names, ports, selector).
pub(super) fn check_services(spec: &SpecFile, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    for (name, svc) in &spec.services {
        let spath = path.key(name);
        let shown: String = if name.len() > 80 {
            format!("{}…", name.chars().take(64).collect::<String>())
        } else {
            name.clone()
        };
        for why in super::api_names::dns1035_label_errors(name) {
            out.push(err(
                spath.clone(),
                format!("Invalid value: {shown:?}: {why}"),
                "use at most 63 lower-case letters, digits or '-', starting with a letter and ending with a letter or digit, e.g. [services.mydb]",
            ));
        }
        check_labels(&svc.selector, &spath.key("selector"), out);
        if svc.ports.is_empty() {
            out.push(err(
                spath.key("ports"),
                "the service has no ports",
                "add `ports = [{ port = 80, targetPort = 8080 }]`",
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, p) in svc.ports.iter().enumerate() {
            let ppath = spath.key("ports").index(i);
            if !(1..=65535).contains(&p.port) {
                out.push(err(
                    ppath.key("port"),
                    format!(
                        "Invalid value: {}: must be between 1 and 65535, inclusive",
                        p.port
                    ),
                    "use a port number from 1 to 65535",
                ));
            }
            match &p.target_port {
                Some(super::model::IntOrString::Int(n)) if !(1..=65535).contains(n) => {
                    out.push(err(
                        ppath.key("targetPort"),
                        format!("Invalid value: {n}: must be between 1 and 65535, inclusive"),
                        "use a port number from 1 to 65535, or the name of a container port",
                    ))
                }
                Some(super::model::IntOrString::String(n)) => {
                    if let Some(why) = super::validate::port_name_problem(n) {
                        out.push(err(
                            ppath.key("targetPort"),
                            format!("targetPort {n:?} {why}"),
                            "name a container port (an IANA service name such as \"http\"), or give a number",
                        ));
                    }
                }
                _ => {}
            }
            if let Some(proto) = p.protocol.as_deref().filter(|p| *p != "TCP") {
                out.push(err(
                    ppath.key("protocol"),
                    format!(
                        "protocol {proto:?} is not emulated: podcheck's Services carry TCP only"
                    ),
                    "use protocol = \"TCP\" (the default), or remove it",
                ));
            }
            match &p.name {
                None if svc.ports.len() > 1 => out.push(err(
                    ppath.clone(),
                    "a service with several ports must name each of them",
                    "give every port a `name`, unique within the service (e.g. `http`)",
                )),
                Some(n) if !names.insert(n.clone()) => out.push(err(
                    ppath.key("name"),
                    format!("port name {n:?} is used twice"),
                    "give every port of the service a different name",
                )),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::spec::load::parse_spec;

    const C: &str = "[[pods.web.containers]]\nname = \"app\"\ncommand = [\"sleep\", \"9\"]\n";

    fn errors(src: &str) -> String {
        match parse_spec(Path::new("p.toml"), src) {
            Ok(_) => String::new(),
            Err(e) => e.render(),
        }
    }

    #[test]
    fn replicas_expand_to_numbered_pods_with_their_times() {
        let src = format!(
            "[pods.web]\nreplicas = 2\nstart_at = \"3s\"\ndelete_at = \"9s\"\ndelete_grace = 1\nlabels = {{ app = \"web\" }}\n{C}"
        );
        let l = parse_spec(Path::new("p.toml"), &src).expect("valid");
        let pods = l.spec.pod_instances(&l.stem);
        let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web-0", "web-1"]);
        assert_eq!(pods[1].start_at.as_secs(), 3);
        assert_eq!(pods[1].delete_at.map(|d| d.as_secs()), Some(9));
        assert_eq!(
            pods[0].pod.labels.get("app").map(String::as_str),
            Some("web")
        );
    }

    #[test]
    fn bad_pods_tables_are_errors_on_their_line() {
        let r = errors(&format!("[pods.web]\nreplicas = 0\n{C}"));
        assert!(
            r.contains("replicas = 0 runs no pod") && r.contains("p.toml:2:"),
            "{r}"
        );
        let r = errors(&format!("[pods.web]\ndelete_grace = 3\n{C}"));
        assert!(
            r.contains("delete_grace is set but the pod is never deleted"),
            "{r}"
        );
        let r = errors(&format!(
            "[pods.web]\nstart_at = \"5s\"\ndelete_at = \"2s\"\n{C}"
        ));
        assert!(r.contains("before start_at"), "{r}");
        let r = errors(&format!("[pods.web]\nlabels = {{ app = \"-x\" }}\n{C}"));
        assert!(r.contains("label value \"-x\""), "{r}");
        let r = errors(&format!("[run]\ndelete_pod_at = \"1s\"\n[pods.web]\n{C}"));
        assert!(r.contains("run.delete_pod_at deletes the one [pod]"), "{r}");
        let r = errors(&format!(
            "[pods.web]\nreplicas = 2\n{C}[pods.web-1]\n[[pods.web-1.containers]]\nname = \"a\"\ncommand = [\"true\"]\n"
        ));
        assert!(r.contains("\"web-1\" is made by both"), "{r}");
        let r =
            errors("[pod]\nreplicas = 2\n[[pod.containers]]\nname = \"a\"\ncommand = [\"true\"]\n");
        assert!(r.contains("`replicas` is a [pods.NAME] setting"), "{r}");
        let r = errors(&format!(
            "[pod]\n[[pod.containers]]\nname = \"a\"\ncommand = [\"true\"]\n[pods.web]\n{C}"
        ));
        assert!(r.contains("both a [pod] table and [pods.NAME]"), "{r}");
    }

    #[test]
    fn services_are_validated_with_their_line() {
        let r = errors(&format!(
            "{C}[services.Web]\nselector = {{ app = \"web\" }}\nports = [{{ port = 0 }}, {{ port = 80, protocol = \"UDP\" }}]\n"
        ));
        assert!(r.contains("a DNS-1035 label must consist of"), "{r}");
        assert!(
            r.contains("ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
            "{r}"
        );
        assert!(r.contains("protocol \"UDP\" is not emulated"), "{r}");
        assert!(r.contains("must name each of them"), "{r}");
        let r = errors(&format!(
            "{C}[services.web]\nselector = {{ app = \"web\" }}\nports = [{{ port = 80 }}]\n[[expect.endpoints]]\nservice = \"nope\"\nready = true\n"
        ));
        assert!(r.contains("no service named \"nope\""), "{r}");
        let r = errors(&format!(
            "{C}[[expect.endpoints]]\nready = true\nserving = true\n"
        ));
        assert!(r.contains("add `service"), "{r}");
    }

    #[test]
    fn with_several_pods_expectations_name_their_pod() {
        let two =
            format!("{C}[pods.db]\n[[pods.db.containers]]\nname = \"db\"\ncommand = [\"true\"]\n");
        let r = errors(&format!("{two}[[expect.events]]\nreason = \"Started\"\n"));
        assert!(
            r.contains("must name its pod") && r.contains("\"db\", \"web\""),
            "{r}"
        );
        let r = errors(&format!(
            "{two}[[expect.events]]\npod = \"nope\"\nreason = \"Started\"\n"
        ));
        assert!(r.contains("no pod named \"nope\""), "{r}");
        let r = errors(&format!(
            "{two}[[expect.events]]\npod = \"db\"\ncontainer = \"app\"\n"
        ));
        assert!(r.contains("no container named \"app\""), "{r}");
        let r = errors(&format!("{two}[expect]\nstatuses = [\"Running\"]\n"));
        assert!(r.contains("[expect.pod_statuses]"), "{r}");
        let ok = format!(
            "{two}[[expect.final]]\npod = \"db\"\nphase = \"Succeeded\"\n[[expect.final]]\npod = \"web\"\ncontainers.app.state = \"running\"\n[expect.pod_statuses]\nweb = [\"Running\"]\n"
        );
        assert_eq!(errors(&ok), "");
        let r = errors(&format!(
            "{two}[[expect.final]]\npod = \"db\"\n[[expect.final]]\npod = \"db\"\n"
        ));
        assert!(r.contains("a second final state for pod \"db\""), "{r}");
    }

    #[test]
    fn updates_name_the_pods_they_change() {
        let two = format!(
            "{C}[pods.db]\nreplicas = 2\n[[pods.db.containers]]\nname = \"db\"\ncommand = [\"true\"]\n"
        );
        let ok = format!(
            "{two}[[run.updates]]\nat = \"1s\"\npod = \"web\"\nimages = {{ app = \"a:2\" }}\n[[run.updates]]\nat = \"2s\"\npod = \"db-1\"\nimages = {{ db = \"b:2\" }}\n"
        );
        assert_eq!(errors(&ok), "");
        let r = errors(&format!(
            "{two}[[run.updates]]\nat = \"1s\"\npod = \"nope\"\nactiveDeadlineSeconds = 5\n"
        ));
        assert!(
            r.contains("no pod named \"nope\"") && r.contains("\"db-0\""),
            "{r}"
        );
        // Without `pod` an update changes every pod: each must have the container.
        let r = errors(&format!(
            "{two}[[run.updates]]\nat = \"1s\"\nimages = {{ app = \"a:2\" }}\n"
        ));
        assert_eq!(
            r.matches("error: run.updates[0].images.app").count(),
            1,
            "{r}"
        );
        let r = errors(&format!(
            "{two}[[run.updates]]\nat = \"1s\"\npod = \"db\"\nimages = {{ app = \"a:2\" }}\n"
        ));
        assert!(r.contains("no container named \"app\""), "{r}");
    }
}
