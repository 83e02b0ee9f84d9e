//! The API server's name formats that several validations share (apimachinery's
//! `pkg/util/validation`: qualified names, label values, RFC 1123 labels and subdomains),
//! with its exact messages.

const QNAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QNAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// apimachinery's `RegexError`: the message, examples and the regex, in its exact spacing
/// (each example is followed by `', ` and joined with ` or `).
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push_str(&format!("'{e}', "));
    }
    s.push_str(&format!("regex used for validation is '{fmt}')"));
    s
}

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, the name part of a qualified name.
fn is_qname(s: &str) -> bool {
    let b = s.as_bytes();
    let end_ok = |c: &u8| c.is_ascii_alphanumeric();
    b.first().is_some_and(end_ok)
        && b.last().is_some_and(end_ok)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let end_ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    b.first().is_some_and(end_ok)
        && b.last().is_some_and(end_ok)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Whether `s` is a lowercase RFC 1123 subdomain (length aside).
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_dns_label)
}

/// `IsDNS1123Label`'s messages.
pub fn dns1123_label_errors(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(max_len(63));
    }
    if !is_dns_label(s) {
        if is_dns_subdomain(s) {
            out.push("must not contain dots".into());
        } else {
            out.push(regex_error(
                DNS_LABEL_MSG,
                DNS_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    out
}

/// `IsDNS1035Label`'s messages (Service names).
pub fn dns1035_label_errors(s: &str) -> Vec<String> {
    const FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
    const MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
    let mut out = Vec::new();
    if s.len() > 63 {
        out.push(max_len(63));
    }
    if !(is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())) {
        out.push(regex_error(MSG, FMT, &["my-name", "abc-123"]));
    }
    out
}

/// `IsDNS1123Subdomain`'s messages.
pub fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if s.len() > 253 {
        out.push(max_len(253));
    }
    if !is_dns_subdomain(s) {
        let fmt = format!("{DNS_LABEL_FMT}(\\.{DNS_LABEL_FMT})*");
        out.push(regex_error(DNS_SUBDOMAIN_MSG, &fmt, &["example.com"]));
    }
    out
}

/// `IsQualifiedName`'s messages (label keys, selector keys).
pub fn qualified_name_errors(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                out.push("prefix part must be non-empty".into());
            } else {
                out.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QNAME_MSG, QNAME_FMT, &["MyName", "my.name", "123-abc"])
            )];
        }
    };
    if name.is_empty() {
        out.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        out.push(format!("name part {}", max_len(63)));
    }
    if !is_qname(name) {
        out.push(format!(
            "name part {}",
            regex_error(QNAME_MSG, QNAME_FMT, &["MyName", "my.name", "123-abc"])
        ));
    }
    out
}

/// `IsValidLabelValue`'s messages.
pub fn label_value_errors(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    if v.len() > 63 {
        out.push(max_len(63));
    }
    if !v.is_empty() && !is_qname(v) {
        out.push(regex_error(
            LABEL_VALUE_MSG,
            &format!("({QNAME_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
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
            assert!(qualified_name_errors(ok).is_empty(), "{ok}");
        }
        let bad = qualified_name_errors("my gpu");
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].starts_with("name part must consist of alphanumeric"),
            "{bad:?}"
        );
        assert_eq!(
            qualified_name_errors("/x"),
            ["prefix part must be non-empty"]
        );
        assert!(
            qualified_name_errors("Ex.com/x")[0]
                .starts_with("prefix part a lowercase RFC 1123 subdomain")
        );
        assert!(qualified_name_errors("a/b/c")[0].starts_with("a qualified name must consist"));
        assert_eq!(
            qualified_name_errors(&"x".repeat(64)),
            ["name part must be no more than 63 characters"]
        );
    }
}
