//! A container's `resources` as the API server validates them (`ValidateResourceRequirements`
//! in pkg/apis/core/validation, v1.35): resource names, non-negative quantities, requests
//! within limits, extended resources and hugepages.
//!
//! Quantities are quoted in the API server's canonical form ("0.5" is "500m").

use super::api_names::qualified_name_errors;
use super::model::{Container, Resources};
use super::quantity::{canonical_quantity, parse_memory_quantity, parse_quantity_nanos};
use super::validate::err;
use crate::diag::{Diagnostic, FieldPath};

/// The help for a resource name no container may use.
const NAME_HELP: &str = "a container's resources are cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource such as example.com/gpu";

/// Resource names the API server knows without a domain (`standardResources` plus the
/// hugepages forms): one of them that is no container resource gets one message, any other
/// single-word name two.
const STANDARD_RESOURCES: [&str; 20] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "configmaps",
    "services.nodeports",
    "services.loadbalancers",
];

/// One billion: nano units per unit.
const NANO: i128 = 1_000_000_000;

/// `q` as the API server prints it (as written when it does not parse).
fn canon(q: &str) -> String {
    canonical_quantity(q).unwrap_or_else(|| q.to_owned())
}

/// Whether `name` is a Kubernetes-native resource (no domain, or a kubernetes.io one).
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// Whether `name` is a hugepages resource (`hugepages-2Mi`).
fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// Whether requests may be lower than limits (`IsOvercommitAllowed`): native resources
/// except hugepages; extended resources and hugepages need request == limit.
fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

/// The API server's objections to `name` as a container resource name
/// (`validateContainerResourceName`).
fn name_problems(name: &str) -> Vec<String> {
    let mut out: Vec<String> = qualified_name_errors(name);
    let single = !name.contains('/');
    if out.is_empty()
        && single
        && !STANDARD_RESOURCES.contains(&name)
        && !is_hugepages(name)
        && !name.starts_with("requests.hugepages-")
    {
        out.push("must be a standard resource type or fully qualified".to_owned());
    }
    let container_resource =
        ["cpu", "memory", "ephemeral-storage"].contains(&name) || is_hugepages(name);
    if single && !container_resource {
        out.push("must be a standard resource for containers".to_owned());
    }
    out
}

/// Checks `c.resources`; `path` is the container's.
pub(super) fn check_resources(c: &Container, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let Some(r) = &c.resources else { return };
    let rpath = path.key("resources");
    let limits = check_list(r, "limits", &rpath, out);
    let requests = check_list(r, "requests", &rpath, out);
    for (name, q) in &r.requests {
        let Some(&Some(req)) = requests.get(name.as_str()) else {
            continue;
        };
        match r.limits.get(name) {
            Some(l) => {
                let Some(&Some(lim)) = limits.get(name.as_str()) else {
                    continue;
                };
                let l = canon(l);
                let why = if !overcommit_allowed(name) && req != lim {
                    format!("must be equal to {name} limit of {l}")
                } else if req > lim {
                    format!("must be less than or equal to {name} limit of {l}")
                } else {
                    continue;
                };
                out.push(err(
                    rpath.key("requests"),
                    format!("Invalid value: {:?}: {why}", canon(q)),
                    if overcommit_allowed(name) {
                        "lower the request or raise the limit: a container may not request more than its limit"
                    } else {
                        "an extended resource or hugepages cannot be overcommitted: give the request and the limit the same value"
                    },
                ));
            }
            None if !overcommit_allowed(name) => out.push(err(
                rpath.key("limits"),
                "Required value: Limit must be set for non overcommitable resources",
                format!("add limits.{name} with the same value as the request"),
            )),
            None => {}
        }
    }
    let compute = |m: &std::collections::BTreeMap<String, String>| {
        m.keys().any(|k| k == "cpu" || k == "memory")
    };
    let hugepages = r
        .limits
        .keys()
        .chain(r.requests.keys())
        .any(|k| is_hugepages(k));
    if hugepages && !compute(&r.limits) && !compute(&r.requests) {
        out.push(err(
            rpath,
            "Forbidden: HugePages require cpu or memory",
            "request or limit cpu or memory beside the hugepages",
        ));
    }
}

/// Checks the names and quantities of `resources.<list>`; returns each parsed quantity
/// (None where it does not parse), by name.
fn check_list<'a>(
    r: &'a Resources,
    list: &str,
    rpath: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> std::collections::BTreeMap<&'a str, Option<i128>> {
    let entries = if list == "limits" {
        &r.limits
    } else {
        &r.requests
    };
    let mut parsed = std::collections::BTreeMap::new();
    for (name, q) in entries {
        let qpath = rpath.key(list).map_key(name);
        for why in name_problems(name) {
            out.push(err(
                qpath.clone(),
                format!("Invalid value: {name:?}: {why}"),
                NAME_HELP,
            ));
        }
        let value = match parse_quantity_nanos(q) {
            Ok(v) => Some(v),
            Err(why) => {
                // Memory keeps its detailed explanation (byte units, case of suffixes).
                let why = match (name.as_str(), parse_memory_quantity(q)) {
                    ("memory", Err(m)) => m,
                    _ => why.to_owned(),
                };
                out.push(err(
                    qpath.clone(),
                    format!("Invalid value: {q:?}: {why}"),
                    "write a Kubernetes quantity such as \"500m\" (cpu), \"64Mi\" or \"1Gi\"",
                ));
                None
            }
        };
        parsed.insert(name.as_str(), value);
        let Some(v) = value else { continue };
        let q = &canon(q);
        if v < 0 {
            out.push(err(
                qpath.clone(),
                format!("Invalid value: {q:?}: must be greater than or equal to 0"),
                "a resource quantity cannot be negative; use 0 or more, or leave it out",
            ));
        }
        // Go reports both for a negative fraction of an extended resource.
        if !is_native(name) && v % NANO != 0 {
            out.push(err(
                qpath.clone(),
                format!("Invalid value: {q:?}: must be an integer"),
                "an extended resource is counted in whole units, e.g. \"1\"",
            ));
        }
        if let Some(size) = name.strip_prefix("hugepages-") {
            let page = parse_quantity_nanos(size).ok().filter(|p| *p > 0);
            // IsHugePageResourceValueDivisible: a page size that does not parse divides
            // nothing.
            if page.is_none_or(|p| v % p != 0) {
                out.push(err(
                    qpath,
                    format!("Invalid value: {q:?}: {q} is not positive integer multiple of {name}"),
                    format!("use a whole number of {size} pages, e.g. \"{}\"", size),
                ));
            }
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use crate::spec::validate::test_util::errors_of;

    fn pod(resources: &str) -> String {
        format!(
            "[pod]\n[[pod.containers]]\nname = \"a\"\ncommand = [\"x\"]\nresources = {resources}\n"
        )
    }

    #[test]
    fn negative_quantities_are_rejected_with_the_api_servers_message() {
        let e = errors_of(&pod(
            r#"{ requests = { cpu = "-1" }, limits = { memory = "-64Mi" } }"#,
        ));
        assert!(
            e.contains(r#"pod.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0"#),
            "{e}"
        );
        assert!(
            e.contains(r#"resources.limits[memory]: Invalid value: "-64Mi": must be greater than or equal to 0"#),
            "{e}"
        );
    }

    #[test]
    fn a_request_above_its_limit_is_rejected() {
        let e = errors_of(&pod(
            r#"{ requests = { cpu = "2", memory = "64Mi" }, limits = { cpu = "1", memory = "64Mi" } }"#,
        ));
        assert!(
            e.contains(r#"pod.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1"#),
            "{e}"
        );
        assert_eq!(e.matches("Invalid value").count(), 1, "{e}");
        let ok = errors_of(&pod(
            r#"{ requests = { cpu = "500m" }, limits = { cpu = "0.5" } }"#,
        ));
        assert!(!ok.contains("Invalid value"), "{ok}");
    }

    #[test]
    fn unknown_resource_names_are_rejected() {
        let e = errors_of(&pod(
            r#"{ limits = { gpu = "1", storage = "1Gi", "my gpu" = "1" } }"#,
        ));
        assert!(e.contains(r#"resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified"#), "{e}");
        assert!(e.contains(r#"resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers"#), "{e}");
        assert!(e.contains(r#"resources.limits[storage]: Invalid value: "storage": must be a standard resource for containers"#), "{e}");
        assert!(
            !e.contains("storage\": must be a standard resource type"),
            "{e}"
        );
        assert!(
            e.contains(r#"Invalid value: "my gpu": name part must consist of"#),
            "{e}"
        );
        let ok = errors_of(&pod(
            r#"{ limits = { cpu = "1", memory = "1Gi", ephemeral-storage = "1Gi", "example.com/gpu" = "1" } }"#,
        ));
        assert!(!ok.contains("Invalid value"), "{ok}");
    }

    #[test]
    fn extended_resources_and_hugepages_cannot_be_overcommitted() {
        let e = errors_of(&pod(
            r#"{ requests = { "example.com/gpu" = "1", "example.com/fpga" = "1" }, limits = { "example.com/gpu" = "2", "example.com/nic" = "0.5" } }"#,
        ));
        assert!(e.contains(r#"resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2"#), "{e}");
        assert!(e.contains("resources.limits: Required value: Limit must be set for non overcommitable resources"), "{e}");
        assert!(
            e.contains(
                r#"resources.limits[example.com/nic]: Invalid value: "500m": must be an integer"#
            ),
            "{e}"
        );
        let e = errors_of(&pod(r#"{ limits = { hugepages-2Mi = "3Mi" } }"#));
        assert!(e.contains(r#"resources.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi"#), "{e}");
        assert!(
            e.contains("pod.containers[0].resources: Forbidden: HugePages require cpu or memory"),
            "{e}"
        );
        let ok = errors_of(&pod(
            r#"{ limits = { hugepages-2Mi = "4Mi", memory = "64Mi" } }"#,
        ));
        assert!(
            !ok.contains("Invalid value") && !ok.contains("Forbidden"),
            "{ok}"
        );
    }

    #[test]
    fn junk_quantities_say_what_is_wrong() {
        let e = errors_of(&pod(
            r#"{ requests = { memory = "1024Mi", cpu = "0.5" }, limits = { memory = "512Mi", cpu = "-0.25" } }"#,
        ));
        assert!(e.contains(r#"resources.requests: Invalid value: "1Gi": must be less than or equal to memory limit of 512Mi"#), "{e}");
        assert!(e.contains(r#"resources.limits[cpu]: Invalid value: "-250m": must be greater than or equal to 0"#), "{e}");
        let e = errors_of(&pod(r#"{ limits = { memory = "64MB", cpu = "one" } }"#));
        assert!(e.contains(r#"resources.limits[memory]: Invalid value: "64MB": invalid memory quantity "64MB": Kubernetes quantities carry no byte unit"#), "{e}");
        assert!(e.contains(r#"resources.limits[cpu]: Invalid value: "one": quantities must match the regular expression"#), "{e}");
    }

    #[test]
    fn a_hugepage_size_that_does_not_parse_divides_nothing() {
        let e = errors_of(&pod(
            r#"{ requests = { memory = "1Gi", hugepages-foo = "2Mi" }, limits = { memory = "1Gi", hugepages-foo = "2Mi" } }"#,
        ));
        assert!(
            e.contains(
                r#"Invalid value: "2Mi": 2Mi is not positive integer multiple of hugepages-foo"#
            ),
            "{e}"
        );
    }
}
