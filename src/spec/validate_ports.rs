//! A container's `ports` as the API server validates them (`validateContainerPorts`, v1.35),
//! and the checks across the pod's containers.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Container, Pod};
use super::validate::{PORT_NAME_HELP, err, warn};
use crate::diag::{Diagnostic, FieldPath};

/// The protocols a container port may use, in the API server's (sorted) order.
pub const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

/// The API server's message for a port number out of range (`IsValidPortNum`).
pub const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";

/// Every objection the API server has to `name` as an IANA_SVC_NAME (`IsValidPortName`).
pub fn port_name_problems(name: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    if name.len() > 15 {
        out.push("must be no more than 15 characters");
    }
    let charset = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if name.is_empty() || !name.chars().all(charset) {
        out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if !name.chars().any(|c| c.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)");
    }
    if name.contains("--") {
        out.push("must not contain consecutive hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        out.push("must not begin or end with a hyphen");
    }
    out
}

/// Checks `c.ports`; `path` is the container's `ports`.
pub(super) fn check_ports(c: &Container, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let mut names = BTreeSet::new();
    for (i, p) in c.ports.iter().enumerate() {
        let ppath = path.index(i);
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            let problems = port_name_problems(name);
            for why in &problems {
                out.push(err(
                    ppath.key("name"),
                    format!("Invalid value: {name:?}: {why}"),
                    PORT_NAME_HELP,
                ));
            }
            if problems.is_empty() && !names.insert(name) {
                out.push(err(
                    ppath.key("name"),
                    format!("Duplicate value: {name:?}"),
                    "give every port of a container a different name",
                ));
            }
        }
        if p.container_port == 0 {
            out.push(err(
                ppath.key("containerPort"),
                "Required value",
                "give the port number the container listens on, 1 to 65535",
            ));
        } else if !(1..=65535).contains(&p.container_port) {
            out.push(err(
                ppath.key("containerPort"),
                format!("Invalid value: {}: {PORT_RANGE_MSG}", p.container_port),
                "use a port number between 1 and 65535",
            ));
        }
        if let Some(proto) = &p.protocol
            && !PROTOCOLS.contains(&proto.as_str())
        {
            out.push(err(
                ppath.key("protocol"),
                format!(
                    "Unsupported value: {proto:?}: supported values: {}",
                    quoted(&PROTOCOLS)
                ),
                "use \"TCP\" (the default), \"UDP\" or \"SCTP\", in upper case",
            ));
        }
    }
}

/// `"A", "B"`: a list of values as the API server quotes supported values.
pub fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A port name used by two of the pod's containers: the API server accepts it (names are
/// unique per container only), but a Service's `targetPort: NAME` then matches either.
pub(super) fn check_names_across(pod: &Pod, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<&str, FieldPath> = BTreeMap::new();
    for (i, c) in pod.containers.iter().enumerate() {
        let mut own = BTreeSet::new();
        for (j, p) in c.ports.iter().enumerate() {
            let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            if !own.insert(name) {
                continue;
            }
            let here = path
                .key("containers")
                .index(i)
                .key("ports")
                .index(j)
                .key("name");
            match first.get(name) {
                Some(at) => out.push(warn(
                    here,
                    format!("port name {name:?} is also used by {at}: the API server accepts it, but a Service's targetPort {name:?} is ambiguous"),
                    "give the ports of different containers different names",
                )),
                None => {
                    first.insert(name, here);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::validate::test_util::{app, errors_of};

    #[test]
    fn port_names_numbers_and_protocols_in_the_api_servers_words() {
        let e = errors_of(&app(
            "ports = [{ name = \"http\", containerPort = 80 }, { name = \"http\", containerPort = 81 }, { name = \"Web--Admin-Port-X\", containerPort = 70000, protocol = \"tcp\" }, { name = \"80\", containerPort = 0 }]\n",
        ));
        assert!(
            e.contains(r#"pod.containers[0].ports[1].name: Duplicate value: "http""#),
            "{e}"
        );
        for why in [
            "must be no more than 15 characters",
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "must not contain consecutive hyphens",
        ] {
            assert!(
                e.contains(&format!(
                    r#"ports[2].name: Invalid value: "Web--Admin-Port-X": {why}"#
                )),
                "{why}: {e}"
            );
        }
        assert!(
            e.contains("ports[2].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
            "{e}"
        );
        assert!(
            e.contains(r#"ports[2].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP""#),
            "{e}"
        );
        assert!(
            e.contains(
                r#"ports[3].name: Invalid value: "80": must contain at least one letter (a-z)"#
            ),
            "{e}"
        );
        assert!(e.contains("ports[3].containerPort: Required value"), "{e}");
    }

    #[test]
    fn a_port_name_in_two_containers_is_a_warning() {
        let src = "[pod]\n[[pod.containers]]\nname = \"a\"\ncommand = [\"x\"]\nports = [{ name = \"http\", containerPort = 80 }]\n[[pod.containers]]\nname = \"b\"\ncommand = [\"x\"]\nports = [{ name = \"http\", containerPort = 81 }]\n";
        let fd = crate::spec::validate::test_util::diagnose(src);
        assert!(!fd.has_errors(), "{}", fd.render());
        assert!(
            errors_of(src).contains(r#"pod.containers[1].ports[0].name: port name "http" is also used by pod.containers[0].ports[0].name"#),
            "{}",
            fd.render()
        );
    }
}
