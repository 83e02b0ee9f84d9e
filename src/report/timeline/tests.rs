//! The picture of a real run: a spec with an init container, a sidecar with a readiness
//! probe and an app that crashes and fails its liveness probe, run as real processes; the
//! SVG is then read back as XML and compared with the recorded timeline.

use std::path::Path;
use std::time::Duration;

use quick_xml::events::Event as XmlEvent;

use super::*;
use crate::events::{Entry, ExecutionKind};
use crate::runner::{RunGuard, RunOptions, run_spec};
use crate::spec::load::parse_spec;

const SPEC: &str = r#"
name = "picture of a crash loop with a sidecar"

[run]
time_scale = 0.1
duration = "30s"
isolation = "none"

[pod]
restartPolicy = "Always"

[[pod.initContainers]]
name = "setup"
command = ["sh", "-c", "sleep 0.1"]

[[pod.initContainers]]
name = "proxy"
restartPolicy = "Always"
command = ["sleep", "100"]
readinessProbe = { exec = { command = ["true"] }, periodSeconds = 2 }

[[pod.containers]]
name = "app"
command = ["sh", "-c", "sleep 0.6; exit 1"]
livenessProbe = { exec = { command = ["sh", "-c", "echo 'no <health> & \u001b[31m'; exit 1"] }, periodSeconds = 1, failureThreshold = 10 }

[[expect.events]]
reason = "Started"
container = "app"
at = "0s..10s"

[[expect.events]]
reason = "BackOff"
container = "app"

[[expect.never]]
reason = "OOMKilling"
within = "0s..20s"

[[expect.logs]]
container = "app"
contains = "never printed"
"#;

/// Runs SPEC for real and returns its report.
fn real_run() -> SpecReport {
    let loaded = parse_spec(Path::new("picture.toml"), SPEC).expect("the test spec is valid");
    let guard = RunGuard::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let opts = RunOptions {
        isolation: None,
        time_scale: None,
        images: Vec::new(),
        extra_path: Vec::new(),
    };
    let report = rt
        .block_on(run_spec(
            &loaded,
            &opts,
            guard.run_id(),
            &mut |_, _| {},
            None,
        ))
        .expect("the spec runs");
    drop(guard);
    report
}

/// An element of the SVG: its name, attributes and the text of its `<title>` child.
#[derive(Debug, Default)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    title: String,
}

impl El {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
    fn class(&self) -> &str {
        self.attr("class").unwrap_or("")
    }
}

/// Parses the document strictly (balanced tags, well-formed attributes and text); panics on
/// anything a browser's XML parser would reject.
fn parse(xml: &str) -> Vec<El> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out: Vec<El> = Vec::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let read = |e: &quick_xml::events::BytesStart| El {
        name: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("attribute value");
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    v.into_owned(),
                )
            })
            .collect(),
        title: String::new(),
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            XmlEvent::Start(e) => {
                let el = read(&e);
                let name = el.name.clone();
                out.push(el);
                stack.push((out.len() - 1, name));
            }
            XmlEvent::Empty(e) => out.push(read(&e)),
            XmlEvent::End(e) => {
                let (_, name) = stack.pop().expect("balanced tags");
                assert_eq!(name.as_bytes(), e.name().as_ref(), "matching end tag");
            }
            XmlEvent::Text(t) => {
                let text = t.decode().expect("utf-8 text");
                let text = quick_xml::escape::unescape(&text).expect("valid escapes");
                // A <title>'s text belongs to the element the title describes.
                if let [.., (parent, _), (_, top)] = stack.as_slice()
                    && top == "title"
                {
                    out[*parent].title.push_str(&text);
                }
            }
            XmlEvent::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                assert!(
                    ["amp", "lt", "gt", "quot", "apos"].contains(&name.as_str()),
                    "only XML's own entities: &{name};"
                );
                if let [.., (parent, _), (_, top)] = stack.as_slice()
                    && top == "title"
                {
                    let c = quick_xml::escape::unescape(&format!("&{name};"))
                        .expect("known entity")
                        .into_owned();
                    out[*parent].title.push_str(&c);
                }
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "every element closed");
    out
}

#[test]
fn the_picture_of_a_real_run_shows_its_lanes_ticks_and_events() {
    let r = real_run();
    let svg = render_svg("picture.toml", &r);
    let els = parse(&svg);
    assert_eq!(els[0].name, "svg");

    // A lane per container in pod order, after the pod's.
    let lanes: Vec<(&str, &str)> = els
        .iter()
        .filter(|e| e.class().starts_with("lane "))
        .map(|e| (e.attr("data-name").unwrap_or(""), e.class()))
        .collect();
    assert_eq!(
        lanes,
        [
            ("picture", "lane lane-pod"),
            ("setup", "lane lane-init"),
            ("proxy", "lane lane-sidecar"),
            ("app", "lane lane-container")
        ]
    );

    // One tick per probe attempt, per kind and result.
    let attempts: Vec<(String, &str)> = r
        .outcome
        .timeline
        .executions()
        .filter_map(|x| match &x.what {
            ExecutionKind::Probe { probe, result, .. } => Some((format!("probe-{probe}"), *result)),
            _ => None,
        })
        .collect();
    let ticks: Vec<&El> = els
        .iter()
        .filter(|e| e.class().split(' ').next() == Some("tick"))
        .collect();
    assert_eq!(ticks.len(), attempts.len(), "a tick per attempt");
    for kind in ["probe-readiness", "probe-liveness"] {
        let want = attempts.iter().filter(|(k, _)| k == kind).count();
        let got = ticks.iter().filter(|t| t.class().contains(kind)).count();
        assert!(want > 0, "the run made {kind} attempts");
        assert_eq!(got, want, "{kind} ticks");
    }
    assert!(
        ticks
            .iter()
            .any(|t| t.class().contains("result-failure") && t.title.contains("no <health> &")),
        "a failed liveness tick carries the probe's output, unescaped once: {ticks:?}"
    );
    assert!(
        ticks.iter().any(|t| t.class().contains("result-success")),
        "the sidecar's readiness ticks succeed"
    );

    // Every event is on a marker, repeats folded into one with a count.
    let events: Vec<&crate::events::Event> = r.outcome.timeline.events().collect();
    let markers: Vec<&El> = els
        .iter()
        .filter(|e| e.class().starts_with("marker "))
        .collect();
    assert!(markers.len() <= events.len());
    let (_, model_lanes, _) = model::lanes(&r);
    let (pod_lane, _, _) = model::lanes(&r);
    let folded: u32 = model_lanes
        .iter()
        .chain(std::iter::once(&pod_lane))
        .flat_map(|l| &l.markers)
        .map(|m| m.count)
        .sum();
    assert_eq!(folded as usize, events.len(), "folding keeps every event");
    assert_eq!(
        markers.len(),
        model_lanes.iter().map(|l| l.markers.len()).sum::<usize>() + pod_lane.markers.len()
    );
    for reason in ["Scheduled", "Started", "BackOff"] {
        assert!(
            markers
                .iter()
                .any(|m| m.title.contains(&format!(" {reason} "))),
            "a {reason} marker"
        );
    }
    let restarts = r
        .outcome
        .timeline
        .executions()
        .filter(|x| {
            x.container == "app" && x.instance > 0 && matches!(x.what, ExecutionKind::Start)
        })
        .count();
    assert!(restarts >= 1, "the app restarted");
    let lines = els.iter().filter(|e| e.class() == "restart").count();
    assert_eq!(lines, restarts, "a restart line per restart");

    // State spans: the app was running, terminated with an error and waited in back-off.
    let spans: Vec<&El> = els
        .iter()
        .filter(|e| e.class().starts_with("span "))
        .collect();
    for (class, text) in [
        ("span running", "app: Running"),
        ("span terminated", "app: Error (1)"),
        ("span waiting", "app: CrashLoopBackOff"),
    ] {
        assert!(
            spans
                .iter()
                .any(|s| s.class() == class && s.title.starts_with(text)),
            "{text}: {spans:?}"
        );
    }
    assert!(
        els.iter()
            .any(|e| e.class() == "ready" && e.title.starts_with("proxy: ready"))
    );

    // The expectations' bands: the explicit window met, the log expectation failed.
    let bands: Vec<&El> = els
        .iter()
        .filter(|e| e.class().starts_with("band "))
        .collect();
    assert!(
        bands.iter().any(|b| b.class() == "band met"
            && b.title.starts_with("events[0]")
            && b.title.contains("window 0s..10s")),
        "{bands:?}"
    );
    assert!(
        bands
            .iter()
            .any(|b| b.class() == "band failed" && b.title.starts_with("logs[0]")),
        "{bands:?}"
    );
    assert!(
        bands
            .iter()
            .any(|b| b.title.starts_with("never[0]") && b.title.contains("window 0s..20s"))
    );
    assert!(!r.passed(), "the log expectation fails the spec");
    assert!(svg.contains("FAIL ("), "the verdict is in the title");
}

#[test]
fn the_same_timeline_gives_the_same_bytes_and_html_embeds_the_svg() {
    let r = crate::report::explain::tests::startup_404_report();
    let a = render_svg("web.toml", &r);
    assert_eq!(a, render_svg("web.toml", &r));
    parse(&a);
    let html = render_html("web.toml", &r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    let svg_part =
        &html[html.find("<svg").expect("inline svg")..html.find("</svg>").expect("end") + 6];
    assert_eq!(svg_part, &a[a.find("<svg").expect("svg")..a.len() - 1]);
    for banned in ["<script", "http://", "https://", "@import", "url("] {
        let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains(banned), "{banned} in the page");
    }
    // The hand-made report's three startup failures are three failure ticks.
    let ticks = parse(&a)
        .into_iter()
        .filter(|e| e.class().starts_with("tick probe-startup result-failure"))
        .count();
    let attempts = r
        .outcome
        .timeline
        .entries
        .iter()
        .filter(
            |e| matches!(e, Entry::Execution(x) if matches!(x.what, ExecutionKind::Probe { .. })),
        )
        .count();
    assert_eq!(ticks, attempts);
}

#[test]
fn text_is_escaped_for_xml() {
    assert_eq!(
        canvas::esc("a<b & \"c\" 'd'>\u{1b}[0m\u{7}\n"),
        "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\u{fffd}[0m\u{fffd}\n"
    );
    let doc = format!(
        "<t a=\"{}\">{}</t>",
        canvas::esc("\"<&>'"),
        canvas::esc("</t><x>")
    );
    let els = parse(&doc);
    assert_eq!(els.len(), 1);
    assert_eq!(els[0].attr("a"), Some("\"<&>'"));
}

#[test]
fn several_specs_get_their_stem_in_the_file_name() {
    let p = Path::new("out/run.svg");
    assert_eq!(paths_for(p, &["web".into()]), [p.to_path_buf()]);
    assert_eq!(
        paths_for(p, &["web".into(), "db".into(), "web".into()]),
        [
            Path::new("out/run-web.svg").to_path_buf(),
            Path::new("out/run-db.svg").to_path_buf(),
            Path::new("out/run-web-2.svg").to_path_buf(),
        ]
    );
    assert_eq!(
        paths_for(Path::new("pic"), &["a".into(), "b".into()])[1],
        Path::new("pic-b")
    );
    assert_eq!(Format::of(Path::new("x.SVG")).ok(), Some(Format::Svg));
    assert_eq!(Format::of(Path::new("x.htm")).ok(), Some(Format::Html));
    assert!(
        Format::of(Path::new("x.png"))
            .is_err_and(|e| e.to_string().contains("name it FILE.svg or FILE.html"))
    );
}

#[test]
fn the_axis_has_about_a_dozen_ticks_at_round_steps() {
    assert_eq!(canvas::axis_step(0.3), 0.05);
    assert_eq!(canvas::axis_step(12.0), 1.0);
    assert_eq!(canvas::axis_step(60.0), 5.0);
    assert_eq!(canvas::axis_step(120.0), 10.0);
    assert_eq!(canvas::axis_step(170.0), 15.0);
    assert_eq!(canvas::axis_step(86_400.0), 7200.0);
    let _ = Duration::ZERO;
}
