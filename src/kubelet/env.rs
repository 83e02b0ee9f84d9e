//! Container environment and command lines as the kubelet builds them: `$(VAR)` expansion
//! and the image ENTRYPOINT/CMD rules.

use std::collections::HashMap;

/// Expands `$(NAME)` from `vars`; `$$(NAME)` stays a literal `$(NAME)`; unknown names stay
/// as written (the kubelet's `expansion.Expand` rules).
pub fn expand(input: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push('$');
                    i += 2;
                    continue;
                }
                b'(' => {
                    if let Some(close) = input[i + 2..].find(')') {
                        let name = &input[i + 2..i + 2 + close];
                        match vars.get(name) {
                            Some(v) => out.push_str(v),
                            None => out.push_str(&input[i..i + 3 + close]),
                        }
                        i += 3 + close;
                        continue;
                    }
                }
                _ => {}
            }
        }
        let ch = input[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

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
    fn expands_like_the_kubelet() {
        let vars = HashMap::from([("A".to_owned(), "x".to_owned())]);
        assert_eq!(expand("$(A)/$(B)/$$(A)/$", &vars), "x/$(B)/$(A)/$");
        assert_eq!(expand("é$(A", &vars), "é$(A");
    }

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
