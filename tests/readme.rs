//! The README's examples of shipped files are those files: a ```toml or ```yaml block whose
//! preceding paragraph names a file of the repository (`examples/x.toml`, `specs/...`,
//! `fixtures/...`) and ends with a colon shows that file. With "in full" in that paragraph
//! the block is the whole file; otherwise it is an excerpt, whose lines must all be lines of
//! the file, in the file's order (lines may be left out, none may differ).

use std::path::Path;

struct Example {
    line: usize,
    path: String,
    full: bool,
    body: String,
}

/// Every fenced toml/yaml block the README ties to a shipped file.
fn examples(readme: &str) -> Vec<Example> {
    let path_re = regex::Regex::new(r"`((?:examples|specs|fixtures)/[^`\s]+\.(?:toml|ya?ml))`")
        .expect("regex");
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i];
        let lang = fence.strip_prefix("```").map(str::trim);
        let Some(lang) = lang.filter(|l| !l.is_empty()) else {
            // A closing or bare fence: skip the block it opens, if any.
            if fence.starts_with("```") {
                i += 1;
                while i < lines.len() && !lines[i].starts_with("```") {
                    i += 1;
                }
            }
            i += 1;
            continue;
        };
        let open = i;
        i += 1;
        let body_start = i;
        while i < lines.len() && !lines[i].starts_with("```") {
            i += 1;
        }
        let body = lines[body_start..i.min(lines.len())].join("\n");
        i += 1;
        if !matches!(lang, "toml" | "yaml" | "yml") {
            continue;
        }
        // The paragraph right before the block.
        let mut p = open;
        while p > 0 && lines[p - 1].trim().is_empty() {
            p -= 1;
        }
        let end = p;
        while p > 0 && !lines[p - 1].trim().is_empty() && !lines[p - 1].starts_with("```") {
            p -= 1;
        }
        let paragraph = lines[p..end].join(" ");
        if !paragraph.trim_end().ends_with(':') {
            continue;
        }
        if let Some(c) = path_re.captures_iter(&paragraph).last() {
            out.push(Example {
                line: open + 1,
                path: c[1].to_owned(),
                full: paragraph.contains("in full"),
                body,
            });
        }
    }
    out
}

/// The first line of `excerpt` that is not a line of `file` in order, if any.
fn first_mismatch<'a>(excerpt: &'a str, file: &str) -> Option<&'a str> {
    let mut rest = file.lines();
    excerpt
        .lines()
        .filter(|l| !l.trim().is_empty())
        .find(|want| !rest.any(|have| have == *want))
}

#[test]
fn every_readme_example_of_a_shipped_file_matches_the_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README");
    let found = examples(&readme);
    // The README shows at least the crash-loop example in full and the manifest spec.
    assert!(
        found
            .iter()
            .any(|e| e.path == "examples/crashloop.toml" && e.full),
        "the README's spec block no longer names its file"
    );
    let mut problems = Vec::new();
    for e in &found {
        let file = match std::fs::read_to_string(root.join(&e.path)) {
            Ok(f) => f,
            Err(err) => {
                problems.push(format!("README.md:{}: {}: {err}", e.line, e.path));
                continue;
            }
        };
        if e.full {
            if file.trim_end() != e.body.trim_end() {
                problems.push(format!(
                    "README.md:{}: the block says it is {} in full, but differs from it",
                    e.line, e.path
                ));
            }
        } else if let Some(bad) = first_mismatch(&e.body, &file) {
            problems.push(format!(
                "README.md:{}: excerpt of {}: line {bad:?} is not in the file (in this order)",
                e.line, e.path
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_excerpt_with_a_changed_line_is_caught() {
    let file = "a = 1\nb = 2\nc = 3\n";
    assert_eq!(first_mismatch("a = 1\n\nc = 3", file), None);
    assert_eq!(first_mismatch("a = 1\nc = 4", file), Some("c = 4"));
    assert_eq!(
        first_mismatch("c = 3\na = 1", file),
        Some("a = 1"),
        "order counts"
    );
    let readme = "See `specs/x.toml`:\n\n```toml\na = 1\n```\n\nnot a file:\n\n```toml\nz = 1\n```\n\n`examples/y.toml` in full:\n```toml\nq = 1\n```\n";
    let ex = examples(readme);
    assert_eq!(ex.len(), 2);
    assert_eq!(
        (ex[0].path.as_str(), ex[0].full, ex[0].body.as_str()),
        ("specs/x.toml", false, "a = 1")
    );
    assert_eq!((ex[1].path.as_str(), ex[1].full), ("examples/y.toml", true));
}
