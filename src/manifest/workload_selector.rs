//! Label selectors and names as the API server judges them: apimachinery's
//! `pkg/util/validation` (qualified names, label values, RFC 1123 labels),
//! `pkg/apis/meta/v1/validation.ValidateLabelSelector`, and `labels.Selector` matching; plus
//! Go's `%#v` of the values the API server quotes in its messages.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::workload_validate::Sink;
use crate::diag::FieldPath;

/// The lint check for selectors.
pub const RULE: &str = "workload-selector";

pub use crate::spec::api_names::{
    dns1123_label_errors, is_dns_subdomain, label_value_errors, qualified_name_errors,
};

/// Go's `%q` of a string, as the API server quotes values.
pub(crate) use crate::prober::quote::go_quote;

/// Go's `%#v` of a `map[string]string` (keys sorted, as fmt prints maps).
pub fn go_map(m: Option<&BTreeMap<String, String>>) -> String {
    match m {
        None => "map[string]string(nil)".into(),
        Some(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
                .collect();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    }
}

/// Go's `%#v` of a `metav1.LabelSelector`, as the API server prints a bad selector.
pub fn go_selector(s: &LabelSelector) -> String {
    let exprs = match &s.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_owned(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|r| {
                    let values = match &r.values {
                        None => "[]string(nil)".to_owned(),
                        Some(v) => format!(
                            "[]string{{{}}}",
                            v.iter().map(|x| go_quote(x)).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{values}}}",
                        go_quote(&r.key),
                        go_quote(&r.operator)
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_map(s.match_labels.as_ref())
    )
}

/// `ValidateLabels`: every key a qualified name, every value a label value. The API
/// server names the map; the finding points at the key.
pub fn validate_labels(
    labels: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
    rule: &'static str,
    out: &mut Sink,
) {
    for (k, v) in labels.into_iter().flatten() {
        for m in qualified_name_errors(k) {
            out.push_at(
                path,
                &path.key(k),
                format!("Invalid value: {}: {m}", go_quote(k)),
                "a label key is a name of at most 63 letters, digits, '-', '_' or '.' (e.g. app or example.com/tier)",
                rule,
            );
        }
        for m in label_value_errors(v) {
            out.push_at(
                path,
                &path.key(k),
                format!("Invalid value: {}: {m}", go_quote(v)),
                "a label value is empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                rule,
            );
        }
    }
}

/// `ValidateLabelSelector` (strict: label values in selectors must be valid); returns
/// whether the selector is usable (`LabelSelectorAsSelector` succeeds).
pub fn validate_selector(sel: &LabelSelector, path: &FieldPath, out: &mut Sink) -> bool {
    let before = out.len();
    validate_labels(
        sel.match_labels.as_ref(),
        &path.key("matchLabels"),
        RULE,
        out,
    );
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        let rpath = path.key("matchExpressions").index(i);
        let values = r.values.as_deref().unwrap_or_default();
        match r.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => out.push(
                &rpath.key("values"),
                "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "list at least one value, or use operator Exists",
                RULE,
            ),
            "Exists" | "DoesNotExist" if !values.is_empty() => out.push(
                &rpath.key("values"),
                "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                "remove values, or use operator In or NotIn",
                RULE,
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => out.push(
                &rpath.key("operator"),
                format!(
                    "Invalid value: {}: not a valid selector operator",
                    go_quote(other)
                ),
                "use In, NotIn, Exists or DoesNotExist (case matters)",
                RULE,
            ),
        }
        for m in qualified_name_errors(&r.key) {
            out.push(
                &rpath.key("key"),
                format!("Invalid value: {}: {m}", go_quote(&r.key)),
                "a selector key is a label key such as app or example.com/tier",
                RULE,
            );
        }
        for (j, v) in values.iter().enumerate() {
            for m in label_value_errors(v) {
                out.push(
                    &rpath.key("values").index(j),
                    format!("Invalid value: {}: {m}", go_quote(v)),
                    "a label value is empty or at most 63 letters, digits, '-', '_' or '.'",
                    RULE,
                );
            }
        }
    }
    out.len() == before
}

/// Whether the selector has no requirement at all (`len(matchLabels)+len(matchExpressions) == 0`).
pub fn is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// Whether a valid, non-empty selector selects a pod with these labels (`labels.Selector`).
pub fn matches(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k));
    let by_labels = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| get(k) == Some(v));
    let by_exprs = sel.match_expressions.iter().flatten().all(|r| {
        let values = r.values.as_deref().unwrap_or_default();
        let value = get(&r.key);
        match r.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_labels && by_exprs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(json: &str) -> LabelSelector {
        serde_json::from_str(json).expect("selector")
    }

    #[test]
    fn qualified_names_as_apimachinery() {
        for ok in [
            "app",
            "example.com/tier",
            "a.b_c-d",
            "1",
            "A/b".to_lowercase().as_str(),
        ] {
            assert!(qualified_name_errors(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            qualified_name_errors("-app"),
            [
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            ]
        );
        assert_eq!(
            qualified_name_errors("/a"),
            ["prefix part must be non-empty"]
        );
        assert!(qualified_name_errors("a/b/c")[0].starts_with("a qualified name must consist"));
        assert_eq!(
            qualified_name_errors(&"a".repeat(64)),
            ["name part must be no more than 63 characters"]
        );
        assert!(
            qualified_name_errors("Example.com/a")[0]
                .starts_with("prefix part a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn label_values_and_dns_labels() {
        assert!(label_value_errors("").is_empty());
        assert!(label_value_errors("v1.2_3").is_empty());
        assert_eq!(label_value_errors("a b").len(), 1);
        assert_eq!(
            label_value_errors(&"a".repeat(64)),
            ["must be no more than 63 characters"]
        );
        assert!(dns1123_label_errors("web").is_empty());
        assert_eq!(dns1123_label_errors("a.b"), ["must not contain dots"]);
        assert!(dns1123_label_errors("Web")[0].starts_with("a lowercase RFC 1123 label"));
    }

    #[test]
    fn go_values_print_as_the_api_server_prints_them() {
        let mut m = BTreeMap::new();
        m.insert("app".to_owned(), "web".to_owned());
        assert_eq!(go_map(Some(&m)), "map[string]string{\"app\":\"web\"}");
        assert_eq!(go_map(None), "map[string]string(nil)");
        assert_eq!(
            go_selector(&LabelSelector::default()),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
        let s = sel(r#"{"matchExpressions":[{"key":"a","operator":"In","values":["x"]}]}"#);
        assert_eq!(
            go_selector(&s),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"a\", Operator:\"In\", Values:[]string{\"x\"}}}}"
        );
    }

    #[test]
    fn selectors_match_like_labels_selector() {
        let mut labels = BTreeMap::new();
        labels.insert("app".to_owned(), "web".to_owned());
        labels.insert("tier".to_owned(), "front".to_owned());
        let l = Some(&labels);
        assert!(matches(&sel(r#"{"matchLabels":{"app":"web"}}"#), l));
        assert!(!matches(&sel(r#"{"matchLabels":{"app":"api"}}"#), l));
        assert!(matches(
            &sel(
                r#"{"matchExpressions":[{"key":"tier","operator":"In","values":["front","back"]}]}"#
            ),
            l
        ));
        assert!(matches(
            &sel(r#"{"matchExpressions":[{"key":"env","operator":"NotIn","values":["prod"]}]}"#),
            l
        ));
        assert!(!matches(
            &sel(r#"{"matchExpressions":[{"key":"app","operator":"DoesNotExist"}]}"#),
            l
        ));
        assert!(matches(
            &sel(r#"{"matchExpressions":[{"key":"app","operator":"Exists"}]}"#),
            l
        ));
        assert!(!matches(&sel(r#"{"matchLabels":{"app":"web"}}"#), None));
    }
}
