//! Diagnostics: a problem in an input file, located by field path and byte span, rendered
//! like a compiler error at the edges (CLI, test harness).

use std::fmt;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Largest input file (spec or manifest) podcheck reads; the API server's own object limit
/// is ~1.5 MiB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// An input file's bytes, or None when it is above [`MAX_FILE_BYTES`]. Read through a cap, so
/// a special file such as `/dev/zero` cannot make podcheck read forever, and opened without
/// blocking, so a named pipe nobody writes to reads as empty instead of hanging the open
/// (`/dev/stdin` fed by a pipe still works).
pub fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // Reads block again (a pipe's writer may be slower than us).
    // SAFETY: fcntl on an fd this function owns; no memory is passed.
    let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
    if flags >= 0 {
        // SAFETY: as above.
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) };
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_FILE_BYTES).then_some(bytes))
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The input cannot be run.
    Error,
    /// The input runs, but not the way a real cluster would take it.
    Warning,
    /// Information: accepted, but worth knowing (e.g. a field podcheck does not emulate).
    Note,
}

/// One step of a path into the spec document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
    /// A key of a map-valued field (`resources.limits[cpu]`): a table key in the document,
    /// written in brackets as the API server writes `field.Path.Key`.
    MapKey(String),
}

/// A path to a field, e.g. `pod.containers[0].livenessProbe.periodSeconds`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<PathSeg>);

impl FieldPath {
    /// The root path.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(PathSeg::Key(k.to_owned()));
        p
    }

    /// This path extended by the key of a map-valued field, rendered `[key]`.
    pub fn map_key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(PathSeg::MapKey(k.to_owned()));
        p
    }

    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(PathSeg::Index(i));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                PathSeg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSeg::Index(i) => write!(f, "[{i}]")?,
                PathSeg::MapKey(k) => write!(f, "[{k}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// A problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The field it is about (empty for whole-file problems).
    pub path: FieldPath,
    /// Byte range in the source, when known.
    pub span: Option<Range<usize>>,
    /// What would be right.
    pub help: Option<String>,
    /// The lint check id, when the code that found the problem knows it (the workload
    /// validation does; the pod validation's ids are derived by `lint::classify`).
    pub rule: Option<&'static str>,
}

impl Diagnostic {
    /// An error at a field path.
    pub fn error(path: FieldPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            path,
            span: None,
            help: None,
            rule: None,
        }
    }

    /// A warning at a field path.
    pub fn warning(path: FieldPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, message)
        }
    }

    /// A note at a field path.
    pub fn note(path: FieldPath, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(path, message)
        }
    }

    /// Adds the "what would be right" note.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The API server's field.NotSupported error: `value` is none of `allowed` (shown
    /// quoted, in the order given).
    pub fn unsupported(path: FieldPath, value: &str, allowed: &[&str]) -> Self {
        let names: Vec<String> = allowed.iter().map(|s| format!("{s:?}")).collect();
        Diagnostic::error(
            path,
            format!(
                "Unsupported value: {value:?}: supported values: {}",
                names.join(", ")
            ),
        )
        .with_help("use one of the supported values (they are case-sensitive)")
    }

    /// Names the lint check that reports it.
    pub fn with_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }
}

/// Diagnostics for one file, with its text so they can be rendered with context.
#[derive(Debug, Clone)]
pub struct FileDiagnostics {
    /// The file.
    pub path: PathBuf,
    /// Its text (empty if it could not be read).
    pub source: String,
    /// The problems, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

impl FileDiagnostics {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Renders all diagnostics as plain text, rustc style.
    pub fn render(&self) -> String {
        let index = LineIndex::new(&self.source);
        self.diagnostics
            .iter()
            .map(|d| render_one(&self.path, &self.source, &index, d))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for FileDiagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    // Bytes, not chars: a file with thousands of findings counts lines for each.
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where each line of a text starts, made once so that locating many findings in one file
/// is not a rescan of it for each.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `source`.
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset).max(1)
    }

    /// 1-based line and column (in chars) of a byte offset of `source`, the text indexed.
    pub fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(source, offset.min(source.len()));
        let line = self.line(offset);
        let start = self.starts.get(line - 1).copied().unwrap_or(0).min(offset);
        (line, source[start..offset].chars().count() + 1)
    }
}

/// The whole lines of `source` that `span` touches (at most a few past its first line), their
/// 1-based first line number, and `span` within them: a snippet renderer given the whole
/// file maps all of it for every finding, which made a file with thousands of findings take
/// quadratic time. `index` is `source`'s. None when `span` is not within `source` on char
/// boundaries.
pub fn excerpt<'a>(
    source: &'a str,
    index: &LineIndex,
    span: &Range<usize>,
) -> Option<(&'a str, usize, Range<usize>)> {
    const MAX_LINES: usize = 6;
    if span.start > span.end
        || span.end > source.len()
        || !source.is_char_boundary(span.start)
        || !source.is_char_boundary(span.end)
    {
        return None;
    }
    let start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let mut end = source[span.end..]
        .find('\n')
        .map_or(source.len(), |i| span.end + i);
    if let Some((i, _)) = source[start..end].match_indices('\n').nth(MAX_LINES - 1) {
        end = start + i;
    }
    let line = index.line(start);
    let inner = (span.start - start)..(span.end.min(end).max(span.start) - start);
    Some((&source[start..end], line, inner))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn render_one(path: &Path, source: &str, index: &LineIndex, d: &Diagnostic) -> String {
    use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Note => Level::NOTE,
    };
    let title = if d.path.0.is_empty() {
        d.message.clone()
    } else {
        format!("{}: {}", d.path, d.message)
    };
    let origin = match &d.span {
        Some(span) => {
            let (l, c) = index.line_col(source, span.start);
            format!("{}:{l}:{c}", path.display())
        }
        None => path.display().to_string(),
    };
    let mut group = annotate_snippets::Group::with_title(level.primary_title(title.clone()));
    let span = d
        .span
        .clone()
        .filter(|s| s.end <= source.len())
        .map(|span| floor_char_boundary(source, span.start)..floor_char_boundary(source, span.end));
    if let Some((text, line, span)) = span.and_then(|s| excerpt(source, index, &s)) {
        group = group.element(
            Snippet::source(text)
                .line_start(line)
                .path(path.display().to_string())
                .annotation(
                    AnnotationKind::Primary
                        .span(span)
                        .label(short_label(&d.message)),
                ),
        );
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.clone()));
    }
    let rendered = Renderer::plain().render(&[group]);
    if d.span.is_none() {
        // Without a span the snippet is missing, so name the file in the text itself.
        format!("{rendered}\n  --> {origin}")
    } else {
        rendered
    }
}

/// The label under the caret: the message without serde's long list of expected names,
/// which the title already shows.
fn short_label(message: &str) -> String {
    message
        .split(", expected one of")
        .next()
        .unwrap_or(message)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_field_references() {
        let p = FieldPath::root()
            .key("pod")
            .key("containers")
            .index(1)
            .key("name");
        assert_eq!(p.to_string(), "pod.containers[1].name");
    }

    #[test]
    fn excerpts_are_the_lines_of_the_span() {
        let excerpt = |src: &str, span: &Range<usize>| {
            super::excerpt(src, &LineIndex::new(src), span).map(|(t, l, r)| (t.to_owned(), l, r))
        };
        let src = "a: 1\nbb: 22\ncc: 3\n";
        // "22" on line 2.
        let some = |t: &str, l, r| Some((t.to_owned(), l, r));
        assert_eq!(excerpt(src, &(9..11)), some("bb: 22", 2, 4..6));
        // A span over two lines keeps both.
        assert_eq!(excerpt(src, &(3..8)), some("a: 1\nbb: 22", 1, 3..8));
        // At a line's end, and at the very end of the file.
        assert_eq!(excerpt(src, &(17..17)), some("cc: 3", 3, 5..5));
        assert_eq!(excerpt(src, &(18..18)), some("", 4, 0..0));
        // A long span shows its first lines only.
        let long = "x\n".repeat(20);
        assert_eq!(
            excerpt(&long, &(0..30)).map(|e| e.0.lines().count()),
            Some(6)
        );
        assert_eq!(excerpt(src, &(3..99)), None);
    }

    #[test]
    fn the_line_index_agrees_with_a_scan() {
        let src = "ab\ncé\n\nd";
        let index = LineIndex::new(src);
        for offset in 0..=src.len() + 2 {
            assert_eq!(
                index.line_col(src, offset),
                line_col(src, offset),
                "{offset}"
            );
        }
    }

    #[test]
    fn line_col_is_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
