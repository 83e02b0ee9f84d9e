//! Validation of the securityContext fields podcheck honours, with the API server's wording
//! (validation.IsValidUserID / IsValidGroupID: 0 to 2147483647).

use super::model::SpecFile;
use super::validate::err;
use crate::diag::{Diagnostic, FieldPath};

const MAX_ID: i64 = i32::MAX as i64;

fn check_id(v: Option<i64>, path: FieldPath, out: &mut Vec<Diagnostic>) {
    if let Some(n) = v
        && !(0..=MAX_ID).contains(&n)
    {
        out.push(err(
            path,
            format!("Invalid value: {n}: must be between 0 and {MAX_ID}, inclusive"),
            "use a numeric Linux id, e.g. 1000",
        ));
    }
}

/// Checks pod- and container-level runAsUser, runAsGroup and supplementalGroups.
pub(super) fn check_security(spec: &SpecFile, out: &mut Vec<Diagnostic>) {
    let pod = FieldPath::root().key("pod");
    if let Some(s) = &spec.pod.security_context {
        let p = pod.key("securityContext");
        check_id(s.run_as_user, p.key("runAsUser"), out);
        check_id(s.run_as_group, p.key("runAsGroup"), out);
        for (i, g) in s.supplemental_groups.iter().enumerate() {
            check_id(Some(*g), p.key("supplementalGroups").index(i), out);
        }
    }
    let lists = [
        ("initContainers", &spec.pod.init_containers),
        ("containers", &spec.pod.containers),
    ];
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            let Some(s) = &c.security_context else {
                continue;
            };
            let p = pod.key(list).index(i).key("securityContext");
            check_id(s.run_as_user, p.key("runAsUser"), out);
            check_id(s.run_as_group, p.key("runAsGroup"), out);
        }
    }
    // The kubelet checks runAsNonRoot against the image's USER when runAsUser is unset; a
    // local command has none, so say what is (not) checked, once per container.
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            let want = super::security::requested_identity(&spec.pod, c);
            let image_user = c
                .image
                .as_ref()
                .and_then(|i| spec.images.get(i))
                .is_some_and(|e| e.user.is_some());
            if !want.run_as_non_root || want.run_as_user.is_some() || image_user {
                continue;
            }
            let own = c
                .security_context
                .as_ref()
                .is_some_and(|s| s.run_as_non_root.is_some());
            let path = if own {
                pod.key(list)
                    .index(i)
                    .key("securityContext")
                    .key("runAsNonRoot")
            } else {
                pod.key("securityContext").key("runAsNonRoot")
            };
            out.push(Diagnostic::note(
                path,
                format!(
                    "runAsNonRoot is checked against runAsUser only: container {:?} has no runAsUser and its image no `user` in [images], so it starts as podcheck's own user, unchecked",
                    c.name
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Severity;
    use crate::spec::validate::test_util::{app, assert_diag, diagnose, pod, run_cases};

    #[test]
    fn ids_outside_the_api_range_are_rejected_at_their_field() {
        let cases = r#"
            E | containers[0].securityContext.runAsUser | Invalid value: -1: must be between 0 and 2147483647, inclusive | securityContext = { runAsUser = -1 }
            E | containers[0].securityContext.runAsGroup | Invalid value: 4294967296 | securityContext = { runAsGroup = 4294967296 }
        "#;
        run_cases(cases, "pod.", app);
        assert_diag(
            &pod(
                "securityContext = { runAsUser = 1000, supplementalGroups = [5, 2147483648] } # <-\n",
            ),
            Severity::Error,
            "pod.securityContext.supplementalGroups[1]",
            "Invalid value: 2147483648",
        );
    }

    #[test]
    fn ids_in_range_are_accepted() {
        let fd = diagnose(&app(
            "securityContext = { runAsUser = 0, runAsGroup = 2147483647, runAsNonRoot = false }\n",
        ));
        assert!(fd.diagnostics.is_empty(), "{}", fd.render());
    }
}
