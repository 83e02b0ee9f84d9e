//! The timeline picture (`--timeline FILE.svg|FILE.html`): one spec's recorded timeline as a
//! self-contained SVG, or that SVG in a minimal HTML page. A lane per container (the pod
//! first, then init containers and sidecars, then app containers, in pod order) with its
//! waiting / running / terminated spans, ready band, probe ticks, event markers (repeats
//! folded), process marks and restarts; the expectations' windows as bands below; a time
//! axis in spec seconds, a legend, and the spec's name and verdict as the title. Every item
//! carries an SVG `<title>`, which browsers show on hover.

mod bands;
pub mod canvas;
mod lane;
pub mod model;
pub mod svg;
pub mod windows;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::runner::SpecReport;

use super::verdict;

/// SVG or HTML, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.svg`: the picture alone.
    Svg,
    /// `.html` / `.htm`: the picture in a page.
    Html,
}

impl Format {
    /// The format a path's extension names, or why it names none.
    pub fn of(path: &Path) -> Result<Format, TimelineError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("html" | "htm") => Ok(Format::Html),
            _ => Err(TimelineError::Extension {
                path: path.display().to_string(),
            }),
        }
    }
}

/// Why a picture could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    /// The file name ends in neither .svg nor .html.
    #[error(
        "--timeline {path}: the picture's format comes from the file extension: name it FILE.svg or FILE.html"
    )]
    Extension {
        /// The path given.
        path: String,
    },
    /// The file could not be written.
    #[error("cannot write the timeline picture {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The SVG document of one spec's run, labelled `label` (the spec's path).
pub fn render_svg(label: &str, r: &SpecReport) -> String {
    render(label, r, true)
}

/// The HTML page: the SVG inline (hover titles work there too), no scripts, no links.
pub fn render_html(label: &str, r: &SpecReport) -> String {
    let svg = render(label, r, false);
    let title = canvas::esc(&format!("{label}: {}", r.title));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>body{{margin:8px;background:#ffffff;font-family:sans-serif}}</style>\n</head>\n<body>\n{svg}</body>\n</html>\n"
    )
}

fn render(label: &str, r: &SpecReport, standalone: bool) -> String {
    let (pod, lanes, end) = model::lanes(r);
    let bands = windows::bands(r, end);
    let title = format!("{label}: {}", r.title);
    let word = if r.passed() { "PASS" } else { "FAIL" };
    let mut verdict_text = format!("{word} ({})", verdict::end_text(r));
    if !r.passed() {
        let failed = r.verdict.failures.len();
        verdict_text.push_str(&format!(", {failed} expectation failure(s)"));
    }
    svg::render(
        &svg::Picture {
            title: &title,
            verdict: &verdict_text,
            passed: r.passed(),
            end,
            pod: &pod,
            lanes: &lanes,
            bands: &bands,
        },
        standalone,
    )
}

/// Writes the picture of one spec's run to `path`, in the format its extension names.
pub fn write(path: &Path, label: &str, r: &SpecReport) -> Result<(), TimelineError> {
    let text = match Format::of(path)? {
        Format::Svg => render_svg(label, r),
        Format::Html => render_html(label, r),
    };
    std::fs::write(path, text).map_err(|source| TimelineError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// The file of each spec of a run, given the specs' stems: with one spec, `path` itself;
/// with several, the stem inserted before the extension (`out.svg` -> `out-web.svg`), and
/// `-2`, `-3`, ... after a stem that repeats (two pods of one manifest folder, say).
pub fn paths_for(path: &Path, stems: &[String]) -> Vec<PathBuf> {
    if stems.len() <= 1 {
        return stems.iter().map(|_| path.to_path_buf()).collect();
    }
    let base = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut seen: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    stems
        .iter()
        .map(|stem| {
            let k = seen.entry(stem.as_str()).or_insert(0);
            *k += 1;
            let stem = if *k > 1 {
                format!("{stem}-{k}")
            } else {
                stem.clone()
            };
            let name = match path.extension() {
                Some(ext) => format!("{base}-{stem}.{}", ext.to_string_lossy()),
                None => format!("{base}-{stem}"),
            };
            path.with_file_name(name)
        })
        .collect()
}

/// The picture's file name for a spec named by its path below a suite folder:
/// `probes/liveness.toml` -> `probes-liveness.svg`.
pub fn file_name(spec: &str, format: Format) -> String {
    let stem = spec.strip_suffix(".toml").unwrap_or(spec);
    let stem: String = stem
        .chars()
        .map(|c| if c == '/' || c == '\\' { '-' } else { c })
        .collect();
    let ext = match format {
        Format::Svg => "svg",
        Format::Html => "html",
    };
    format!("{stem}.{ext}")
}
