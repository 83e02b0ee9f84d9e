//! A container's `env` names as the API server validates them (`ValidateEnv`, v1.35).
//!
//! RelaxedEnvironmentVariableValidation is GA and locked on since 1.34, so any printable
//! ASCII but '=' is accepted; names older API servers reject are only a warning.

use std::collections::HashMap;

use super::model::Container;
use super::validate::{err, warn};
use crate::diag::{Diagnostic, FieldPath};

/// The API server's message for a name outside the relaxed rule (`IsRelaxedEnvVarName`).
pub const RELAXED_ENV_NAME_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";

/// The help for a bad env name.
pub const ENV_NAME_HELP: &str = "use printable ASCII characters other than '=', e.g. \"MY_VAR\"";

/// The API server's error for env name `name` at `npath` (`env[i].name`), if it has one.
pub fn env_name_error(name: &str, npath: &FieldPath) -> Option<Diagnostic> {
    if name.is_empty() {
        return Some(err(
            npath.clone(),
            "Required value",
            "give the variable a name",
        ));
    }
    let bad = name
        .chars()
        .any(|ch| !(' '..='~').contains(&ch) || ch == '=');
    bad.then(|| {
        err(
            npath.clone(),
            format!("Invalid value: {name:?}: {RELAXED_ENV_NAME_MSG}"),
            ENV_NAME_HELP,
        )
    })
}

/// Checks the names of `c.env`; `path` is the container's `env`.
pub(super) fn check_env(c: &Container, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    // Variables an `envFrom` source supplied are not entries of `env`: `env` overriding
    // them is how Kubernetes means it, and their names were checked when they were read.
    for (i, e) in c.env.iter().enumerate() {
        if e.from_object && e.manifest_index.is_none() {
            continue;
        }
        let i = e.manifest_index.unwrap_or(i);
        let npath = path.index(i).key("name");
        let name = e.name.as_str();
        if let Some(d) = env_name_error(name, &npath) {
            out.push(d);
            continue;
        }
        let strict = name.starts_with(|ch: char| ch.is_ascii_alphabetic() || "-._".contains(ch))
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-._".contains(ch))
            && name != "."
            && !name.starts_with("..");
        if !strict {
            out.push(warn(
                npath.clone(),
                format!("env name {name:?} is rejected by API servers before 1.32"),
                "names matching [-._a-zA-Z][-._a-zA-Z0-9]* (and not '.' or '..') work on every cluster and in shell expansions",
            ));
        }
        if let Some(first) = seen.insert(name, i) {
            out.push(warn(
                npath,
                format!("env name {name:?} is defined twice, so this value hides the one at env[{first}]"),
                "remove one of the two definitions; Kubernetes keeps the last, but `kubectl apply` may drop it",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::validate::test_util::{app, errors_of};

    #[test]
    fn env_names_follow_the_relaxed_rule_in_the_api_servers_words() {
        let e = errors_of(&app(
            "env = [{ name = \"A=B\", value = \"1\" }, { name = \"\" }, { name = \"1 ok\" }]\n",
        ));
        assert!(
            e.contains(r#"pod.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='"#),
            "{e}"
        );
        assert!(
            e.contains("pod.containers[0].env[1].name: Required value"),
            "{e}"
        );
        assert!(
            e.contains(r#"env[2].name: env name "1 ok" is rejected by API servers before 1.32"#),
            "{e}"
        );
        assert!(!e.contains("env[2].name: Invalid"), "{e}");
    }
}
