//! Reading a spec file: TOML → model, with every error located in the text.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::model::SpecFile;
use super::validate;
use crate::diag::{Diagnostic, FieldPath, FileDiagnostics, PathSeg, Severity};

/// A spec that parsed and validated, with its warnings.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The model.
    pub spec: SpecFile,
    /// The file's stem, used as the default pod and spec name.
    pub stem: String,
    /// Warnings (extensions a real cluster would reject, unenforced settings).
    pub warnings: FileDiagnostics,
    /// Warnings and notes of the other files the spec reads (its `manifest`).
    pub related: Vec<FileDiagnostics>,
}

/// What the caller adds to every spec it loads.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Image map entries from outside the spec (`--image`, `PODCHECK_IMAGES`), which take
    /// precedence over the spec's `[images]` and count as pullable in validation.
    pub images: Vec<(String, Vec<String>)>,
}

impl LoadOptions {
    /// Adds the image entries to a spec's image table.
    pub fn apply(&self, images: &mut std::collections::BTreeMap<String, super::model::ImageEntry>) {
        for (name, argv) in &self.images {
            images.insert(
                name.clone(),
                super::model::ImageEntry::command(argv.clone()),
            );
        }
    }
}

/// Reads, parses and validates a spec file; every problem comes back located.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, FileDiagnostics> {
    load_spec_with(path, &LoadOptions::default())
}

/// [`load_spec`] with image entries from outside the spec.
pub fn load_spec_with(path: &Path, opts: &LoadOptions) -> Result<LoadedSpec, FileDiagnostics> {
    parse_spec_with(path, &read_spec_source(path)?, opts)
}

/// A spec file's text: read through the size cap, and UTF-8, or the error that says why not
/// (what [`load_spec_with`] reads before it parses).
pub fn read_spec_source(path: &Path) -> Result<String, FileDiagnostics> {
    let bytes = match crate::diag::read_capped(path) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(FileDiagnostics {
                path: path.to_owned(),
                source: String::new(),
                diagnostics: vec![
                    Diagnostic::error(
                        FieldPath::root(),
                        format!(
                            "the file is larger than {} MiB, podcheck's limit for a spec file",
                            crate::diag::MAX_FILE_BYTES >> 20
                        ),
                    )
                    .with_help("a spec describes one run: split it into several spec files"),
                ],
            });
        }
        Err(e) => {
            return Err(FileDiagnostics {
                path: path.to_owned(),
                source: String::new(),
                diagnostics: vec![
                    Diagnostic::error(FieldPath::root(), format!("cannot read the spec file: {e}"))
                        .with_help("check the path and the file's permissions"),
                ],
            });
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(empty_file(path));
    }
    String::from_utf8(bytes).map_err(|e| not_utf8(path, e))
}

/// The diagnostic for a spec file with nothing in it, saying so for a named pipe (read
/// without blocking, so a pipe nobody writes to is empty) rather than that the pod has no
/// containers.
fn empty_file(path: &Path) -> FileDiagnostics {
    use std::os::unix::fs::FileTypeExt;
    let fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    let what = if fifo {
        "the spec file is a named pipe and nothing was written to it"
    } else {
        "the spec file is empty"
    };
    FileDiagnostics {
        path: path.to_owned(),
        source: String::new(),
        diagnostics: vec![
            Diagnostic::error(FieldPath::root(), what).with_help(
                "a spec needs a [pod] table with at least one [[pod.containers]] (a `name` and a `command` or `image`); `podcheck schema` describes every field",
            ),
        ],
    }
}

/// The diagnostic for a file that is not UTF-8 (TOML must be): where the first bad byte
/// is, shown in the text with the bad bytes replaced.
fn not_utf8(path: &Path, e: std::string::FromUtf8Error) -> FileDiagnostics {
    let at = e.utf8_error().valid_up_to();
    let bytes = e.as_bytes();
    let source = String::from_utf8_lossy(bytes).into_owned();
    // The text before `at` is valid, so it is the same in the lossy copy, where the bad
    // sequence became one U+FFFD (3 bytes).
    let (line, col) = crate::diag::line_col(&source, at);
    // error_len is None for a sequence cut off by the end of the file.
    let len = e.utf8_error().error_len().unwrap_or(bytes.len() - at);
    let hex: Vec<String> = bytes[at..]
        .iter()
        .take(len.clamp(1, 4))
        .map(|b| format!("0x{b:02X}"))
        .collect();
    let bad = match hex.len() {
        1 => format!("byte {}", hex.join(" ")),
        _ => format!("bytes {}", hex.join(" ")),
    };
    let mut d = Diagnostic::error(
        FieldPath::root(),
        format!(
            "the spec file is not valid UTF-8: {bad} at line {line}, column {col} (byte offset {at})"
        ),
    )
    .with_help(
        "TOML files are UTF-8: re-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.toml > out.toml`",
    );
    let end = source[at..]
        .chars()
        .next()
        .map_or(at, |c| at + c.len_utf8());
    d.span = Some(at..end);
    FileDiagnostics {
        path: path.to_owned(),
        source,
        diagnostics: vec![d],
    }
}

/// Parses and validates spec text; `path` is used for messages and the default names.
pub fn parse_spec(path: &Path, source: &str) -> Result<LoadedSpec, FileDiagnostics> {
    parse_spec_with(path, source, &LoadOptions::default())
}

/// [`parse_spec`] with image entries from outside the spec.
pub fn parse_spec_with(
    path: &Path,
    source: &str,
    opts: &LoadOptions,
) -> Result<LoadedSpec, FileDiagnostics> {
    let fail = |diagnostics| FileDiagnostics {
        path: path.to_owned(),
        source: source.to_owned(),
        diagnostics,
    };
    // Kubernetes fields podcheck does not emulate come back as notes, typos as errors.
    let (mut spec, key_diags): (SpecFile, _) =
        match crate::manifest::toml_pod::parse_spec_toml(source) {
            Ok(s) => s,
            Err(e) => return Err(fail(vec![toml_error(source, &e)])),
        };
    if key_diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(fail(key_diags));
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pod".to_owned());
    opts.apply(&mut spec.images);
    let has_pod_table = DeTable::parse(source).is_ok_and(|t| t.get_ref().get("pod").is_some());
    if has_pod_table && !spec.pods.is_empty() {
        let mut diags = vec![
            Diagnostic::error(
                FieldPath::root().key("pods"),
                "the spec has both a [pod] table and [pods.NAME] tables",
            )
            .with_help(
                "keep one: [pod] is the shorthand for a spec with one pod; move it to [pods.NAME]",
            ),
        ];
        locate(source, &mut diags);
        return Err(fail(diags));
    }
    let attached = match crate::manifest::attach(path, has_pod_table, &mut spec) {
        Ok(a) => a,
        Err(crate::manifest::AttachError::Spec(d)) => {
            let mut diags = vec![d];
            locate(source, &mut diags);
            return Err(fail(diags));
        }
        Err(crate::manifest::AttachError::Manifest(m)) => return Err(m),
    };
    let mut diags = validate::validate(&spec);
    // The pod's diagnostics belong to the manifest it came from.
    let mut related = Vec::new();
    if let Some(a) = &attached {
        let (own, mut pod) = crate::manifest::split(&a.file, &a.pod, diags);
        diags = own;
        pod.extend(a.file.diagnostics.iter().cloned());
        pod.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        related.push(FileDiagnostics {
            path: a.file.path.clone(),
            source: a.file.source.clone(),
            diagnostics: pod,
        });
    }
    locate(source, &mut diags);
    diags.extend(key_diags);
    diags.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    let has_errors = diags.iter().any(|d| d.severity == Severity::Error);
    let all = fail(diags);
    if has_errors {
        return Err(all);
    }
    if let Some(m) = related.iter().find(|m| m.has_errors()) {
        return Err(m.clone());
    }
    Ok(LoadedSpec {
        spec,
        stem,
        warnings: all,
        related,
    })
}

/// Fills in the byte span of every diagnostic that has a field path but no span.
pub fn locate(source: &str, diags: &mut [Diagnostic]) {
    if let Ok(doc) = DeTable::parse(source) {
        for d in diags.iter_mut().filter(|d| d.span.is_none()) {
            d.span = span_of(doc.get_ref(), &d.path);
        }
    }
}

/// Turns a TOML/serde error into a diagnostic, adding the closest valid field for typos.
/// A value of the wrong type is named by its field (`run.timeout: invalid type ...`): the
/// text parses, so the key whose value holds the error's position is known.
pub(crate) fn toml_error(source: &str, e: &toml::de::Error) -> Diagnostic {
    let message = e.message().trim().to_owned();
    let path = e
        .span()
        .and_then(|span| {
            let doc = DeTable::parse(source).ok()?;
            field_at(doc.get_ref(), span.start)
        })
        .unwrap_or_else(FieldPath::root);
    let mut d = Diagnostic::error(path, message.clone());
    d.span = e.span();
    if let Some(help) = unknown_field_help(&message) {
        d = d.with_help(help);
    }
    d
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" finds the nearest valid name.
fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (bad, expected) = rest.split_once('`')?;
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let best = names
        .iter()
        .map(|n| (edit_distance(&bad.to_lowercase(), &n.to_lowercase()), *n))
        .min()?;
    if best.0 <= (bad.len() / 3).max(2) {
        Some(format!("did you mean `{}`?", best.1))
    } else {
        Some(format!("valid fields here: {}", names.join(", ")))
    }
}

/// Levenshtein distance, for did-you-mean suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The path of the innermost value whose text holds byte `at`, if any does.
fn field_at(table: &DeTable<'_>, at: usize) -> Option<FieldPath> {
    fn value_at(path: FieldPath, v: &toml::Spanned<DeValue<'_>>, at: usize) -> Option<FieldPath> {
        // A table from a `[header]` has no span around its keys, so look inside first.
        let inner = match v.get_ref() {
            DeValue::Table(t) => t
                .iter()
                .find_map(|(k, v)| value_at(path.key(k.get_ref()), v, at)),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, v)| value_at(path.index(i), v, at)),
            _ => None,
        };
        inner.or_else(|| v.span().contains(&at).then_some(path))
    }
    table
        .iter()
        .find_map(|(k, v)| value_at(FieldPath::root().key(k.get_ref()), v, at))
}

/// The byte span of the value at `path`, or of its nearest existing ancestor.
fn span_of(doc: &DeTable<'_>, path: &FieldPath) -> Option<std::ops::Range<usize>> {
    let mut best = None;
    let mut table = Some(doc);
    let mut array: Option<&toml::de::DeArray<'_>> = None;
    for seg in &path.0 {
        let value = match (seg, table, array) {
            (PathSeg::Key(k) | PathSeg::MapKey(k), Some(t), _) => match t.get(k.as_str()) {
                Some(v) => v,
                None => break,
            },
            (PathSeg::Index(i), _, Some(a)) => match a.get(*i) {
                Some(v) => v,
                None => break,
            },
            _ => break,
        };
        best = Some(value.span());
        (table, array) = match value.get_ref() {
            DeValue::Table(t) => (Some(t), None),
            DeValue::Array(a) => (None, Some(a)),
            _ => (None, None),
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_of_the_wrong_type_names_its_field() {
        for (src, path) in [
            ("[run]\ntimeout = 5\n", "run.timeout"),
            ("[run]\ndelete_pod_at = \"-1s\"\n", "run.delete_pod_at"),
            (
                "[[pod.containers]]\nname = \"a\"\n[[pod.containers]]\nname = \"b\"\ncommand = 5\n",
                "pod.containers[1].command",
            ),
            (
                "[expect.final]\ncontainers.app = { state = \"running\", exitCode = \"x\" }\n",
                "expect.final.containers.app.exitCode",
            ),
        ] {
            let e = parse_spec(Path::new("t.toml"), src).expect_err("wrong type");
            let d = &e.diagnostics[0];
            assert_eq!(d.path.to_string(), path, "{src}: {}", d.message);
        }
    }

    #[test]
    fn suggests_the_closest_field() {
        let m = "unknown field `periodSecond`, expected one of `exec`, `periodSeconds`, `timeoutSeconds`";
        assert_eq!(
            unknown_field_help(m).unwrap(),
            "did you mean `periodSeconds`?"
        );
    }

    #[test]
    fn unknown_field_error_has_a_span_and_suggestion() {
        let src = "[pod]\nrestartPolicy = \"Never\"\n[[pod.containers]]\nname = \"a\"\ncommand = [\"true\"]\ncomand = 1\n";
        let err = parse_spec(Path::new("x.toml"), src).unwrap_err();
        let d = &err.diagnostics[0];
        assert!(
            d.message.contains("unknown field `comand`"),
            "{}",
            d.message
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `command`?"));
        let (line, _) = crate::diag::line_col(src, d.span.clone().unwrap().start);
        assert_eq!(line, 6);
        let rendered = err.render();
        assert!(rendered.contains("x.toml:6:1"), "{rendered}");
        eprintln!("{rendered}");
    }

    #[test]
    fn an_empty_file_or_an_unwritten_pipe_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, " \n\n").expect("write");
        let e = read_spec_source(&empty).expect_err("empty");
        assert_eq!(e.diagnostics[0].message, "the spec file is empty");
        let fifo = dir.path().join("fifo.toml");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let e = read_spec_source(&fifo).expect_err("nothing written");
        assert!(
            e.diagnostics[0].message.contains("named pipe"),
            "{}",
            e.diagnostics[0].message
        );
        let comment = dir.path().join("comment.toml");
        std::fs::write(&comment, "# a comment is not empty\n").expect("write");
        assert!(
            read_spec_source(&comment).is_ok(),
            "validation speaks for it"
        );
    }
}
