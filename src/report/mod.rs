//! Human and machine output: kubectl-style watch lines and describe blocks, verdicts with
//! their explanations, JSON lines and JUnit XML. Every one reads the recorded timeline.

pub mod bless;
pub mod checklist;
pub mod color;
pub mod describe;
pub mod explain;
pub mod explain_traffic;
pub mod json;
pub mod junit;
pub mod kubectl;
pub mod lint_human;
pub mod lint_json;
pub mod lint_junit;
pub mod lint_measure;
pub mod lint_sarif;
pub mod probes;
pub mod progress;
pub mod services;
pub mod timeline;
pub mod verdict;
pub mod watch;

/// `s` with its control characters (tab aside) written as `\u{1b}` escapes: what processes
/// print reaches the terminal as text, never as escape sequences that move the cursor,
/// clear the screen or retitle the window.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return std::borrow::Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            super::terminal_safe("a\u{1b}]0;pwned\u{7}\u{1b}[2J\tb"),
            "a\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\tb"
        );
        assert!(matches!(
            super::terminal_safe("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
