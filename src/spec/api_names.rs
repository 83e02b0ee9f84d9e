//! The API server's name formats that several validations share (apimachinery's
//! `IsQualifiedName`, `IsDNS1123Subdomain`), with its own messages.

/// The API server's explanation of the name part (`qualifiedNameErrMsg` with its examples).
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// Why `value` is not a lowercase RFC 1123 subdomain, in the API server's words, if it is not.
pub fn dns1123_subdomain_problems(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.len() > 253 {
        out.push("must be no more than 253 characters".to_owned());
    }
    let label_ok = |l: &str| {
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        l.starts_with(alnum) && l.ends_with(alnum) && l.chars().all(|c| alnum(c) || c == '-')
    };
    if !value.split('.').all(label_ok) {
        out.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned());
    }
    out
}

/// Why `value` is not a qualified name (`[prefix/]name`, as label keys and resource names
/// are), in the API server's words; empty when it is one.
pub fn qualified_name_problems(value: &str) -> Vec<String> {
    let parts: Vec<&str> = value.split('/').collect();
    let (prefix, name) = match parts.as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => {
            return vec![format!(
                "a qualified name {QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    let mut out = Vec::new();
    match prefix {
        Some("") => out.push("prefix part must be non-empty".to_owned()),
        Some(p) => out.extend(
            dns1123_subdomain_problems(p)
                .into_iter()
                .map(|m| format!("prefix part {m}")),
        ),
        None => {}
    }
    if name.is_empty() {
        out.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        out.push("name part must be no more than 63 characters".to_owned());
    }
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let name_ok = name.starts_with(alnum)
        && name.ends_with(alnum)
        && name.chars().all(|c| alnum(c) || "-_.".contains(c));
    if !name.is_empty() && !name_ok {
        out.push(format!("name part {QUALIFIED_NAME_MSG}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_as_the_api_server_judges_them() {
        for ok in [
            "cpu",
            "example.com/gpu",
            "My.Name",
            "a",
            "app.kubernetes.io/name",
        ] {
            assert!(qualified_name_problems(ok).is_empty(), "{ok}");
        }
        let bad = qualified_name_problems("my gpu");
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].starts_with("name part must consist of alphanumeric"),
            "{bad:?}"
        );
        assert_eq!(
            qualified_name_problems("/x"),
            ["prefix part must be non-empty"]
        );
        assert!(
            qualified_name_problems("Ex.com/x")[0]
                .starts_with("prefix part a lowercase RFC 1123 subdomain")
        );
        assert!(qualified_name_problems("a/b/c")[0].starts_with("a qualified name must consist"));
        assert_eq!(
            qualified_name_problems(&"x".repeat(64)),
            ["name part must be no more than 63 characters"]
        );
    }
}
