//! `--timeline` and `--timeline-dir` end to end: the pictures a run writes, for passing and
//! failing specs, one per spec, and the README's example picture.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");

fn podcheck(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("podcheck runs")
}

/// Parses an SVG strictly and returns its root element's name and the number of elements.
fn check_svg(text: &str) -> (String, usize) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut root, mut count, mut depth) = (String::new(), 0usize, 0usize);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                if depth == 0 {
                    root = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                }
                depth += 1;
                count += 1;
            }
            Event::Empty(_) => count += 1,
            Event::End(_) => depth = depth.checked_sub(1).expect("balanced tags"),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element closed");
    (root, count)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_failing_run_still_writes_its_picture() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("fail.svg");
    let out = podcheck(&[
        "run",
        "-q",
        "--timeline",
        file.to_str().expect("utf-8 path"),
        "specs/must-fail/wrong-final-phase.toml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let svg = read(&file);
    assert!(svg.starts_with("<?xml"));
    let (root, count) = check_svg(&svg);
    assert_eq!(root, "svg");
    assert!(count > 20, "a real picture, {count} elements");
    assert!(
        svg.contains("specs/must-fail/wrong-final-phase.toml"),
        "title names the spec"
    );
    assert!(svg.contains(">FAIL ("), "title gives the verdict");
    assert!(
        svg.contains(r#"class="band failed""#),
        "the failed final state is a band"
    );
}

#[test]
fn several_specs_get_one_picture_each_with_their_stem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("out.html");
    let out = podcheck(&[
        "run",
        "-q",
        "--timeline",
        file.to_str().expect("utf-8 path"),
        "specs/basics/onfailure-exit0-succeeds.toml",
        "specs/basics/single-container-completes.toml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("listing")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "out-onfailure-exit0-succeeds.html",
            "out-single-container-completes.html"
        ]
    );
    let html = read(&dir.path().join("out-single-container-completes.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    let svg = &html[html.find("<svg").expect("inline svg")..];
    let svg = &svg[..svg.find("</svg>").expect("closed") + 6];
    check_svg(svg);
    assert!(html.contains(">PASS ("));
}

#[test]
fn a_picture_name_without_svg_or_html_is_refused_before_running() {
    let out = podcheck(&[
        "run",
        "--timeline",
        "pic.png",
        "specs/basics/single-container-completes.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--timeline pic.png: the picture's format comes from the file extension: name it FILE.svg or FILE.html"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");
}

#[test]
fn test_writes_a_picture_per_spec_into_the_timeline_dir() {
    let specs = tempfile::tempdir().expect("temp dir");
    let sub = specs.path().join("sub");
    std::fs::create_dir(&sub).expect("sub dir");
    for (p, name) in [
        ("specs/basics/single-container-completes.toml", "a.toml"),
        ("specs/must-fail/wrong-final-phase.toml", "b.toml"),
    ] {
        std::fs::copy(p, sub.join(name)).expect("copy spec");
    }
    let pics = specs.path().join("pictures");
    let out = podcheck(&[
        "test",
        specs.path().to_str().expect("utf-8 path"),
        "--timeline-dir",
        pics.to_str().expect("utf-8 path"),
    ]);
    // b.toml fails outside a must-fail folder: the suite fails, its picture is still there.
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    for name in ["sub-a.svg", "sub-b.svg"] {
        let (root, _) = check_svg(&read(&pics.join(name)));
        assert_eq!(root, "svg");
    }
    // The environment variable does the same (a harness in a user's crate reads it too),
    // creating the folder when it is missing.
    std::fs::remove_file(sub.join("b.toml")).expect("remove b");
    let nested = specs.path().join("env/pics");
    let out = Command::new(BIN)
        .arg("test")
        .arg(specs.path())
        .env("PODCHECK_TIMELINE_DIR", &nested)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("podcheck runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    check_svg(&read(&nested.join("sub-a.svg")));
}

/// The README shows a real picture; it must exist and be an SVG (its timings are one real
/// run's, so the bytes are not compared with a fresh run).
#[test]
fn the_readme_picture_exists_and_is_valid_svg() {
    let readme = read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")));
    let target = readme
        .lines()
        .find_map(|l| {
            let start = l.find("](docs/timeline-")? + 2;
            let rest = &l[start..];
            Some(rest[..rest.find(')')?].to_owned())
        })
        .expect("the README references docs/timeline-*.svg as an image");
    assert!(target.ends_with(".svg"), "{target}");
    let svg = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(&target));
    let (root, count) = check_svg(&svg);
    assert_eq!(root, "svg");
    assert!(count > 50, "{target}: {count} elements");
    assert!(
        svg.contains(r#"class="lane lane-container""#),
        "{target} has a container lane"
    );
}
