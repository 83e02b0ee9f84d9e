//! Validation of a container's restartPolicyRules (ContainerRestartRules, beta and on in
//! v1.35), with the API server's wording.

use super::model::Container;
use super::validate::err;
use crate::diag::{Diagnostic, FieldPath};

/// `restartPolicyRules` as validateContainerRestartPolicy checks them (ContainerRestartRules
/// on, RestartAllContainersOnContainerExits off, as in v1.35).
pub(super) fn check_restart_rules(
    c: &Container,
    sidecar: bool,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    let rules = &c.restart_policy_rules;
    if rules.is_empty() {
        return;
    }
    let rpath = path.key("restartPolicyRules");
    if sidecar {
        out.push(err(
            rpath.clone(),
            "restartPolicyRules are not allowed for init containers with restart policy Always",
            "remove them: a sidecar is restarted whatever its exit code (rules on a sidecar, such as the RestartAllContainers action, need the alpha feature gate RestartAllContainersOnContainerExits, off in v1.35 by default)",
        ));
        return;
    }
    if c.restart_policy.is_none() {
        // Kubernetes reports this at restartPolicy; the rules are what is in the file.
        out.push(err(
            rpath.clone(),
            "restartPolicy: Required value: must specify restartPolicy when restart rules are used",
            "add the container's own restartPolicy (\"Never\", \"OnFailure\" or \"Always\"), even if it is the pod's: it decides the exits no rule matches",
        ));
    }
    if rules.len() > 20 {
        out.push(err(
            rpath.clone(),
            format!("Too many: {}: must have at most 20 items", rules.len()),
            "merge rules: one rule can list up to 255 exit codes",
        ));
    }
    for (i, r) in rules.iter().enumerate() {
        let p = rpath.index(i);
        if r.action != "Restart" {
            out.push(err(
                p.key("action"),
                format!("Unsupported value: {:?}: supported values: \"Restart\"", r.action),
                "use action = \"Restart\" (RestartAllContainers needs the alpha RestartAllContainersOnContainerExits gate, off in v1.35)",
            ));
        }
        let Some(codes) = &r.exit_codes else {
            out.push(err(
                p.key("exitCodes"),
                "Required value: must be specified",
                "add exitCodes = { operator = \"In\", values = [42] }",
            ));
            continue;
        };
        if codes.operator != "In" && codes.operator != "NotIn" {
            out.push(err(
                p.key("exitCodes").key("operator"),
                format!(
                    "Unsupported value: {:?}: supported values: \"In\", \"NotIn\"",
                    codes.operator
                ),
                "use \"In\" (restart on these exit codes) or \"NotIn\" (on all others)",
            ));
        }
        if codes.values.len() > 255 {
            out.push(err(
                p.key("exitCodes").key("values"),
                format!(
                    "Too many: {}: must have at most 255 items",
                    codes.values.len()
                ),
                "list at most 255 exit codes per rule",
            ));
        }
    }
}
