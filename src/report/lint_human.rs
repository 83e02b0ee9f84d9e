//! `podcheck lint`'s human output: rustc-style findings with the check id and a snippet,
//! every finding of every file, then one summary line.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::lint::{FileReport, Finding, LintReport, Severity};

/// Renders every finding, then the summary line ("N errors, M warnings in K files").
pub fn render(report: &LintReport) -> String {
    let mut out = String::new();
    for (path, why) in &report.unreadable {
        out.push_str(&format!(
            "error[invalid-input]: {why}\n  --> {}\n",
            path.display()
        ));
    }
    for file in &report.files {
        let index = crate::diag::LineIndex::new(&file.source);
        for f in &file.findings {
            out.push_str(&render_one(file, &index, f));
            out.push('\n');
        }
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// "2 errors, 1 warning, 3 notes in 4 files".
pub fn summary(report: &LintReport) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let files = report.files.len() + report.unreadable.len();
    let mut parts = vec![
        plural(report.count(Severity::Error), "error"),
        plural(report.count(Severity::Warning), "warning"),
    ];
    let notes = report.count(Severity::Note);
    if notes > 0 {
        parts.push(plural(notes, "note"));
    }
    format!("{} in {}", parts.join(", "), plural(files, "file"))
}

fn render_one(file: &FileReport, index: &crate::diag::LineIndex, f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    };
    let title = if f.field.is_empty() {
        f.message.clone()
    } else {
        format!("{}: {}", f.field, f.message)
    };
    let path = file.path.display().to_string();
    let source = file.source.as_str();
    let mut group = Group::with_title(level.primary_title(title).id(f.id));
    let excerpt = f
        .span
        .as_ref()
        .and_then(|s| crate::diag::excerpt(source, index, s));
    let has_snippet = excerpt.is_some();
    if let Some((text, line, span)) = excerpt {
        group = group.element(
            Snippet::source(text)
                .line_start(line)
                .path(path.clone())
                .annotation(AnnotationKind::Primary.span(span)),
        );
    }
    if !f.fix.is_empty() {
        group = group.element(Level::HELP.message(f.fix.clone()));
    }
    let rendered = Renderer::plain().render(&[group]);
    if has_snippet {
        rendered
    } else {
        format!("{rendered}\n  --> {path}:{}:{}", f.line, f.column)
    }
}
