//! Manifest files and folders → parsed documents, with the limits and the checks that keep
//! bad input (binary files, huge files, Helm templates, endless folders) from hurting.

use std::path::{Path, PathBuf};

use super::objects::{ManifestPod, read_document};
use super::yaml::{Node, parse_documents};
use crate::diag::{Diagnostic, FieldPath, FileDiagnostics, Severity};

pub use crate::diag::MAX_FILE_BYTES;
/// Most manifest files one folder may hold (searched recursively).
pub const MAX_FILES: usize = 10_000;
/// Most bytes of manifests one folder may hold, since every file is kept for its snippets.
pub const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;

/// A folder-level failure (file-level problems are diagnostics of their file).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The path cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A folder with no manifests.
    #[error(
        "{0}: no manifest files (*.yaml, *.yml) in this folder (for a folder of TOML specs use `podcheck test`)"
    )]
    Empty(PathBuf),
    /// Too many bytes to be a folder of manifests.
    #[error("{path}: the manifests add up to more than {} MiB; point podcheck at a smaller folder", MAX_TOTAL_BYTES >> 20)]
    TooLarge {
        /// The folder.
        path: PathBuf,
    },
    /// Too many files to be a folder of manifests.
    #[error("{path}: more than {MAX_FILES} manifest files; point podcheck at a smaller folder")]
    TooManyFiles {
        /// The folder.
        path: PathBuf,
    },
}

/// One manifest file: its text, documents, the pods found and every diagnostic.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    /// The file.
    pub path: PathBuf,
    /// Its text (empty when it could not be read as text).
    pub source: String,
    /// Its documents, empty ones dropped.
    pub docs: Vec<Node>,
    /// The runnable pods, in document order.
    pub pods: Vec<ManifestPod>,
    /// The Services, in document order.
    pub services: Vec<super::services::ManifestService>,
    /// Errors, warnings and notes, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ManifestFile {
    /// The file's diagnostics, ready to render.
    pub fn file_diagnostics(&self) -> FileDiagnostics {
        FileDiagnostics {
            path: self.path.clone(),
            source: self.source.clone(),
            diagnostics: self.diagnostics.clone(),
        }
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.file_diagnostics().has_errors()
    }

    fn failed(path: &Path, source: String, d: Diagnostic) -> Self {
        ManifestFile {
            path: path.to_owned(),
            source,
            docs: Vec::new(),
            pods: Vec::new(),
            services: Vec::new(),
            diagnostics: vec![d],
        }
    }
}

/// Whether a path names a manifest (YAML) rather than a TOML spec.
pub fn is_manifest_path(path: &Path) -> bool {
    path.is_dir() || path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// Reads a manifest file, or every manifest under a folder (sorted, recursively).
pub fn read_path(path: &Path) -> Result<Vec<ManifestFile>, ManifestError> {
    let meta = std::fs::metadata(path).map_err(|source| ManifestError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![read_file(path)]);
    }
    let mut files = Vec::new();
    collect(path, &mut files)?;
    if files.is_empty() {
        return Err(ManifestError::Empty(path.to_owned()));
    }
    files.sort();
    // Sizes as listed; each file is read through its own cap as well.
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len().min(MAX_FILE_BYTES + 1))
        .sum();
    if total > MAX_TOTAL_BYTES {
        return Err(ManifestError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(files.iter().map(|f| read_file(f)).collect())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let io = |source| ManifestError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let p = entry.path();
        // file_type does not follow symlinks, so a link back up cannot loop the walk.
        let Ok(ft) = entry.file_type() else { continue };
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        // A symlinked folder is skipped like the walk skips it, not read as a file.
        let linked_dir = ft.is_symlink() && p.is_dir();
        if ft.is_dir() && !hidden {
            collect(&p, out)?;
        } else if !ft.is_dir() && !linked_dir && is_manifest_path(&p) {
            out.push(p);
            if out.len() > MAX_FILES {
                return Err(ManifestError::TooManyFiles {
                    path: dir.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Reads one manifest file; every problem is a diagnostic of the file.
pub fn read_file(path: &Path) -> ManifestFile {
    let root = FieldPath::root();
    let bytes = match crate::diag::read_capped(path) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return ManifestFile::failed(
                path,
                String::new(),
                Diagnostic::error(
                    root,
                    format!(
                        "the file is larger than {} MiB, podcheck's limit for a manifest",
                        MAX_FILE_BYTES >> 20
                    ),
                )
                .with_help(
                    "split it into smaller files; one object is at most ~1.5 MiB in a cluster",
                ),
            );
        }
        Err(e) => {
            return ManifestFile::failed(
                path,
                String::new(),
                Diagnostic::error(root, format!("cannot read the manifest: {e}"))
                    .with_help("check the path and the file's permissions"),
            );
        }
    };
    if bytes.contains(&0) {
        return ManifestFile::failed(
            path,
            String::new(),
            Diagnostic::error(
                root,
                "this is a binary file, not a YAML manifest (it contains NUL bytes)",
            )
            .with_help("point podcheck at the YAML manifests (*.yaml, *.yml)"),
        );
    }
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let mut d = Diagnostic::error(root, "the manifest is not valid UTF-8")
                .with_help("YAML manifests are UTF-8: re-save the file as UTF-8");
            d.span = Some(at..text[at..].chars().next().map_or(at, |c| at + c.len_utf8()));
            return ManifestFile::failed(path, text, d);
        }
    };
    parse_source(path, source)
}

/// Parses manifest text already read (and checked for size and encoding); `path` names it
/// in diagnostics.
pub fn parse_source(path: &Path, source: String) -> ManifestFile {
    let parsed = parse_documents(&source);
    if let Some(d) = helm_template(&source, parsed.is_err()) {
        return ManifestFile::failed(path, source, d);
    }
    let docs = match parsed {
        Ok(docs) => docs,
        Err(d) => return ManifestFile::failed(path, source.clone(), toml_hint(&source, d)),
    };
    let mut found = super::objects::Found {
        config: super::config_refs::ConfigObjects::collect(&docs),
        ..Default::default()
    };
    let mut diagnostics = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        read_document(doc, i + 1, &mut found, &mut diagnostics);
    }
    if let Some(first) = diagnostics
        .iter()
        .position(|d| d.severity == Severity::Error)
    {
        let d = diagnostics.remove(first);
        diagnostics.insert(first, toml_hint(&source, d));
    }
    diagnostics.extend(duplicate_objects(&docs, &found));
    let super::objects::Found { pods, services, .. } = found;
    diagnostics.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
    ManifestFile {
        path: path.to_owned(),
        source,
        docs,
        pods,
        services,
        diagnostics,
    }
}

/// Why nothing runs when the manifest files given have no object at all (kubectl's "no
/// objects passed to apply"), naming a spec beside one (`web.toml` for `web.yaml`), which
/// is probably what was meant.
pub fn empty_files_message(files: &[PathBuf]) -> String {
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut msg = format!(
        "no objects in {}: the file is empty or holds only comments (kubectl apply says \"no objects passed to apply\")",
        names.join(", ")
    );
    if let Some(spec) = files
        .iter()
        .map(|p| p.with_extension("toml"))
        .find(|p| p.is_file())
    {
        msg.push_str(&format!(
            "; did you mean the podcheck spec {}?",
            spec.display()
        ));
    }
    msg
}

/// `d` with a help that says so when the file is a TOML document (a podcheck spec given a
/// .yaml name), which YAML cannot read or reads as a plain string.
fn toml_hint(source: &str, d: Diagnostic) -> Diagnostic {
    let is_toml = source.parse::<toml::Table>().is_ok_and(|t| !t.is_empty());
    if is_toml {
        d.with_help("this file is TOML, not YAML: it looks like a podcheck spec, which must be named *.toml (e.g. `podcheck run spec.toml`)")
    } else {
        d
    }
}

/// Workloads and Services named twice in one file (same kind, namespace and name): `kubectl
/// apply` would apply the second over the first, and `kubectl create` refuse it as
/// AlreadyExists; podcheck would run both, so it says so at the second one.
fn duplicate_objects(docs: &[Node], found: &super::objects::Found) -> Vec<Diagnostic> {
    let mut seen = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    let objects = found
        .pods
        .iter()
        .map(|p| (p.kind.as_str(), p.document, &p.object_path))
        .chain(
            found
                .services
                .iter()
                .map(|s| ("Service", s.document, &s.path)),
        );
    for (kind, document, path) in objects {
        // Only metadata.name: objects made with generateName get a name each.
        let meta = docs
            .get(document.saturating_sub(1))
            .and_then(|d| d.at(&path.key("metadata")));
        let field = |k: &str| meta.and_then(|m| m.get(k)).and_then(Node::as_str);
        let (Some(name), ns) = (field("name").filter(|n| !n.is_empty()), field("namespace")) else {
            continue;
        };
        let key = (
            kind,
            ns.filter(|n| !n.is_empty()).unwrap_or("default"),
            name,
        );
        // A List's items share their document: name the item too.
        let place = |doc: usize, p: &FieldPath| {
            if p.0.is_empty() {
                format!("document {doc}")
            } else {
                format!("document {doc} at {p}")
            }
        };
        if let Some((first, first_path)) = seen.insert(key, (document, path.clone())) {
            let at = path.key("metadata").key("name");
            let mut d = Diagnostic::warning(
                at.clone(),
                format!(
                    "{kind} {name:?} is in this file twice ({} and {}): kubectl apply would apply this one over the first, kubectl create would refuse it (AlreadyExists)",
                    place(first, &first_path),
                    place(document, path)
                ),
            )
            .with_help("give each object its own name, or remove one of them")
            .with_rule("duplicate-object");
            d.span = docs.get(document.saturating_sub(1)).map(|n| n.span_of(&at));
            out.push(d);
        }
    }
    out
}

/// An unrendered Helm template: `{{ … }}` outside comments, when the YAML does not parse or
/// the braces use Helm's own objects and functions. Go templates inside a parsing object
/// (alert rules with `{{ template "x" . }}` or `{{- end }}`, say) are data, not a template
/// of the manifest, and pass.
fn helm_template(source: &str, unparsable: bool) -> Option<Diagnostic> {
    // What only Helm's template engine has: its built-in objects and chart functions.
    const HELM: [&str; 9] = [
        ".Values",
        ".Release",
        ".Chart",
        ".Capabilities",
        ".Files",
        "include ",
        "toYaml",
        "tpl ",
        "required ",
    ];
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        if !line.trim_start().starts_with('#') {
            let mut from = 0;
            while let Some(i) = line[from..].find("{{").map(|i| from + i) {
                let end = line[i..]
                    .find("}}")
                    .map_or(line.trim_end().len(), |j| i + j + 2);
                let action = &line[i..end.max(i)];
                if unparsable || HELM.iter().any(|w| action.contains(w)) {
                    let mut d = Diagnostic::error(
                        FieldPath::root(),
                        format!(
                            "this is an unrendered Helm template (`{}`), not a manifest",
                            action.trim()
                        ),
                    )
                    .with_help("render it first, e.g. `helm template my-release ./chart > rendered.yaml`, then run podcheck on rendered.yaml");
                    d.span = Some(offset + i..offset + end);
                    return Some(d);
                }
                from = end.max(i + 2);
            }
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let p = dir.join(name);
        let mut f = std::fs::File::create(&p).expect("create");
        f.write_all(content).expect("write");
        p
    }

    fn only_error(f: &ManifestFile) -> &Diagnostic {
        assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
        assert!(f.has_errors());
        &f.diagnostics[0]
    }

    #[test]
    fn a_helm_template_is_told_to_be_rendered() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(
            dir.path(),
            "d.yaml",
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\n",
        );
        let f = read_file(&p);
        let d = only_error(&f);
        assert!(
            d.message
                .contains("unrendered Helm template (`{{ .Release.Name }}`)"),
            "{}",
            d.message
        );
        assert!(
            d.help
                .as_deref()
                .is_some_and(|h| h.contains("helm template"))
        );
        let (line, col) = crate::diag::line_col(&f.source, d.span.clone().expect("span").start);
        assert_eq!((line, col), (4, 9));
    }

    #[test]
    fn go_templates_in_configmap_data_are_data() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = write(dir.path(), "cm.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules}\ndata:\n  alert: 'summary: {{ $labels.instance }} down'\n");
        let f = read_file(&p);
        assert!(!f.has_errors(), "{:?}", f.diagnostics);
        assert!(
            f.diagnostics[0]
                .message
                .starts_with("ConfigMap \"rules\" runs no pod")
        );
    }

    #[test]
    fn alert_templates_with_trim_markers_and_template_calls_are_data() {
        // kube-prometheus' PrometheusRule: Go template actions Helm charts use too.
        let dir = tempfile::tempdir().expect("tmp");
        let rule = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\nspec:\n  groups:\n  - name: g\n    rules:\n    - alert: A\n      annotations:\n        description: The PVC {{ $labels.pvc }} {{ with $labels.cluster -}} on {{ . }} {{- end }} is {{ $value | humanizePercentage }} free. {{ template \"x\" . }}\n";
        let f = read_file(&write(dir.path(), "rule.yaml", rule.as_bytes()));
        assert!(!f.has_errors(), "{:?}", f.diagnostics);
        // Helm's own objects still tell a chart template, at the action that has them.
        let chart = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: '{{ $x }} {{ .Values.a }}'\n";
        let f = read_file(&write(dir.path(), "chart.yaml", chart.as_bytes()));
        let d = only_error(&f);
        assert!(d.message.contains("(`{{ .Values.a }}`)"), "{}", d.message);
    }

    #[test]
    fn binary_huge_and_non_utf8_files_are_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let bin = read_file(&write(dir.path(), "a.yaml", b"\x7fELF\0\0\x01"));
        assert!(only_error(&bin).message.contains("binary file"));
        let big = vec![b'#'; (MAX_FILE_BYTES + 10) as usize];
        let huge = read_file(&write(dir.path(), "b.yaml", &big));
        assert!(only_error(&huge).message.contains("larger than 4 MiB"));
        let latin = read_file(&write(dir.path(), "c.yaml", b"kind: Pod\nname: caf\xe9\n"));
        let d = only_error(&latin);
        assert!(d.message.contains("not valid UTF-8"));
        assert_eq!(
            crate::diag::line_col(&latin.source, d.span.clone().expect("span").start),
            (2, 10)
        );
    }

    #[test]
    fn symlinked_folders_are_skipped_not_read_as_files() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.yaml", b"kind: Pod\napiVersion: v1\nmetadata: {name: a}\nspec: {containers: [{name: a, image: x}]}\n");
        // A link back up (no extension) and one named like a manifest.
        std::os::unix::fs::symlink("..", dir.path().join("up")).expect("symlink");
        std::os::unix::fs::symlink(".", dir.path().join("self.yaml")).expect("symlink");
        let files = read_path(dir.path()).expect("reads");
        assert_eq!(
            files.len(),
            1,
            "{:?}",
            files.iter().map(|f| &f.path).collect::<Vec<_>>()
        );
        assert!(!files[0].has_errors(), "{:?}", files[0].diagnostics);
    }

    #[test]
    fn folders_are_read_sorted_and_bounded() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        write(dir.path(), "b.yaml", b"kind: Pod\napiVersion: v1\nmetadata: {name: b}\nspec: {containers: [{name: a, image: x}]}\n");
        write(
            &dir.path().join("sub"),
            "a.yml",
            b"kind: Service\napiVersion: v1\n",
        );
        write(dir.path(), "notes.txt", b"not yaml");
        let files = read_path(dir.path()).expect("reads");
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(dir.path())
                    .expect("inside")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["b.yaml", "sub/a.yml"]);
        let empty = tempfile::tempdir().expect("tmp");
        assert!(matches!(
            read_path(empty.path()),
            Err(ManifestError::Empty(_))
        ));
    }
}
