//! Plain words for the YAML parser's errors that its own text leaves cryptic: a breached
//! limit (its text is a Rust debug dump, `Depth { depth: 65 }`), a number too large to be
//! finite (`rejected by the configured policy`), and a tab where YAML wants spaces.

use serde_saphyr::Error;
use serde_saphyr::budget::BudgetBreach;

/// The error under the alias and snippet wrappers, which only add context.
fn original(mut e: &Error) -> &Error {
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = e {
        e = error;
    }
    e
}

/// What a breached limit was, with the limit, for the message; `None` for other errors.
pub(super) fn limit_words(e: &Error, limits: &serde_saphyr::Budget) -> Option<String> {
    let Error::Budget { breach, .. } = original(e) else {
        return None;
    };
    Some(match breach {
        BudgetBreach::Depth { .. } => format!(
            "nesting deeper than {} levels of mappings and lists",
            limits.max_depth
        ),
        BudgetBreach::Documents { .. } => {
            format!("more than {} documents in one file", limits.max_documents)
        }
        BudgetBreach::Nodes { .. } => format!(
            "more than {} values (mappings, lists and scalars) in one file",
            limits.max_nodes
        ),
        BudgetBreach::Aliases { .. } => {
            format!("more than {} aliases (`*name`)", limits.max_aliases)
        }
        BudgetBreach::Anchors { .. } => {
            format!("more than {} anchors (`&name`)", limits.max_anchors)
        }
        BudgetBreach::MergeKeys { .. } => {
            format!("more than {} merge keys (`<<`)", limits.max_merge_keys)
        }
        BudgetBreach::Events { .. } => format!("more than {} YAML events", limits.max_events),
        BudgetBreach::ScalarBytes { .. } => format!(
            "more than {} MiB of scalar text",
            limits.max_total_scalar_bytes >> 20
        ),
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => {
            format!("{aliases} aliases for {anchors} anchors, the shape of an alias bomb")
        }
        other => format!("{other:?}"),
    })
}

/// For a number YAML reads as infinite or not a number (`1e400`, `.inf`, `.nan`): the
/// message and what would be right.
pub(super) fn non_finite_words(e: &Error) -> Option<(String, &'static str)> {
    let Error::NonFiniteFloat { value, .. } = original(e) else {
        return None;
    };
    Some((
        format!(
            "`{value}` is not a finite number: YAML reads it as infinity or NaN, which no Kubernetes field takes"
        ),
        "write a number in the field's range (an integer field takes at most 2147483647 for int32, 9223372036854775807 for int64), or quote it if it is meant as a string",
    ))
}

/// The first tab at or after `at`'s line, within that line and the next (the parser
/// reports a tab in indentation at the scalar before it): the byte offset of the tab.
pub(super) fn tab_near(source: &str, at: usize) -> Option<usize> {
    let at = at.min(source.len());
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let rest = &source[line_start..];
    let two_lines = rest
        .match_indices('\n')
        .nth(1)
        .map_or(rest.len(), |(i, _)| i);
    rest[..two_lines].find('\t').map(|i| line_start + i)
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse_documents;

    #[test]
    fn breached_limits_are_said_in_words_with_the_limit() {
        let deep = format!("a: {}1{}\n", "{a: ".repeat(100), "}".repeat(100));
        let d = parse_documents(&deep).expect_err("too deep");
        assert!(
            d.message
                .ends_with("limits: nesting deeper than 64 levels of mappings and lists"),
            "{}",
            d.message
        );
        let docs = "---\na: 1\n".repeat(2_001);
        let d = parse_documents(&docs).expect_err("too many documents");
        assert!(
            d.message.contains("more than 2000 documents"),
            "{}",
            d.message
        );
        let anchors: String = (0..10_001).map(|i| format!("k{i}: &a{i} 1\n")).collect();
        let d = parse_documents(&anchors).expect_err("too many anchors");
        assert!(
            d.message.contains("more than 10000 anchors"),
            "{}",
            d.message
        );
        assert!(!d.message.contains('{'), "no debug dump: {}", d.message);
    }

    #[test]
    fn a_number_too_large_to_be_finite_says_so() {
        let d = parse_documents("spec:\n  replicas: 1e400\n").expect_err("not finite");
        assert!(
            d.message.contains("`1e400` is not a finite number"),
            "{}",
            d.message
        );
        assert!(d.help.as_deref().is_some_and(|h| h.contains("int32")));
        let (line, col) = crate::diag::line_col(
            "spec:\n  replicas: 1e400\n",
            d.span.clone().expect("span").start,
        );
        assert_eq!((line, col), (2, 13));
    }

    #[test]
    fn a_tab_in_indentation_is_pointed_at() {
        for (src, at) in [
            ("metadata:\n\tname: x\n", (2, 1)),
            ("a:\n  b: c\n\td: e\n", (3, 1)),
        ] {
            let d = parse_documents(src).expect_err("tab");
            let span = d.span.clone().expect("span");
            assert_eq!(&src[span.clone()], "\t", "{src:?}: {d:?}");
            assert_eq!(crate::diag::line_col(src, span.start), at, "{src:?}");
            assert!(
                d.help.as_deref().is_some_and(|h| h.contains("spaces")),
                "{d:?}"
            );
        }
    }
}
