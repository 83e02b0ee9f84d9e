//! Container command lines as the kubelet builds them: the image ENTRYPOINT/CMD rules
//! (`$(VAR)` expansion is in `spec::expansion`, shared with the prober).

/// The argv a container runs: `command` replaces ENTRYPOINT (and drops CMD), `args`
/// replaces CMD.
pub fn container_argv(
    command: Option<&[String]>,
    args: Option<&[String]>,
    image_entrypoint: &[String],
    image_cmd: &[String],
) -> Vec<String> {
    match (command, args) {
        (Some(c), Some(a)) => c.iter().chain(a).cloned().collect(),
        (Some(c), None) => c.to_vec(),
        (None, Some(a)) => image_entrypoint.iter().chain(a).cloned().collect(),
        (None, None) => image_entrypoint.iter().chain(image_cmd).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_and_args_override_entrypoint_and_cmd() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let (ep, cmd) = (s(&["ep"]), s(&["cmd"]));
        assert_eq!(container_argv(None, None, &ep, &cmd), s(&["ep", "cmd"]));
        assert_eq!(container_argv(Some(&s(&["c"])), None, &ep, &cmd), s(&["c"]));
        assert_eq!(
            container_argv(None, Some(&s(&["a"])), &ep, &cmd),
            s(&["ep", "a"])
        );
        assert_eq!(
            container_argv(Some(&s(&["c"])), Some(&s(&["a"])), &ep, &cmd),
            s(&["c", "a"])
        );
    }
}
