//! The SVG writer: lays out the lanes and bands collected by `model` and `windows` on a
//! fixed-width canvas. Self-contained (no fonts, scripts or links), every text escaped,
//! every number printed with one decimal so the same timeline gives the same bytes.

use std::fmt::Write;
use std::time::Duration;

use super::model::{Lane, LaneKind, MarkKind, SpanState};
use super::windows::{Band, Result as Outcome};
use crate::spec::duration::format_secs;

/// Canvas width in pixels.
pub const WIDTH: f64 = 1200.0;
/// Left gutter (lane names).
const GUTTER: f64 = 180.0;
/// Right padding.
const RIGHT: f64 = 24.0;
/// The plot's top edge, below the title and the axis labels.
const PLOT_TOP: f64 = 72.0;
/// Height of a state bar.
const BAR: f64 = 18.0;
/// Height of a marker label row.
const LABEL_ROW: f64 = 12.0;
/// At most this many label rows per lane; labels that fit in none keep only their hover text.
const MAX_LABEL_ROWS: usize = 4;
/// Height of a probe tick row or the process-mark row.
const SMALL_ROW: f64 = 11.0;
/// Height of an expectation band row.
const BAND_ROW: f64 = 15.0;
/// Average glyph width of the 10 px sans-serif text, to keep labels from overlapping.
const CHAR_W: f64 = 6.0;

/// Everything the SVG shows.
pub struct Picture<'a> {
    /// The first title line: the spec's label and title.
    pub title: &'a str,
    /// PASS or FAIL with the end reason.
    pub verdict: &'a str,
    /// Whether the spec passed.
    pub passed: bool,
    /// The right edge (spec time).
    pub end: Duration,
    /// The pod's lane.
    pub pod: &'a Lane,
    /// The containers' lanes in pod order.
    pub lanes: &'a [Lane],
    /// The expectations' bands.
    pub bands: &'a [Band],
}

/// Escapes text for XML content and attribute values; characters XML 1.0 cannot carry
/// (control characters from a probe's output, say) become U+FFFD.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn n(x: f64) -> String {
    format!("{x:.1}")
}

struct Canvas {
    out: String,
    end: f64,
}

impl Canvas {
    fn x(&self, t: Duration) -> f64 {
        let frac = (t.as_secs_f64() / self.end).clamp(0.0, 1.0);
        GUTTER + frac * (WIDTH - GUTTER - RIGHT)
    }

    fn text(&mut self, x: f64, y: f64, class: &str, attrs: &str, s: &str) {
        let _ = writeln!(
            self.out,
            r#"<text class="{class}" x="{}" y="{}"{attrs}>{}</text>"#,
            n(x),
            n(y),
            esc(s)
        );
    }
}

/// The fill of a state span.
pub fn state_fill(state: SpanState, label: &str) -> &'static str {
    match state {
        SpanState::Waiting if is_trouble(label) => "#e8833a",
        SpanState::Waiting | SpanState::Pending => "#f5d36b",
        SpanState::Running | SpanState::PodRunning => "#4caf50",
        SpanState::Completed => "#9e9e9e",
        SpanState::Succeeded => "#5b8def",
        SpanState::Failed | SpanState::PodFailed => "#d9534f",
    }
}

/// A waiting reason that means something went wrong (back-off, pull or create errors).
fn is_trouble(reason: &str) -> bool {
    reason.contains("BackOff") || reason.starts_with("Err") || reason.ends_with("Error")
}

/// The colour of a probe result.
pub fn tick_colour(result: &str) -> &'static str {
    match result {
        "success" => "#2e7d32",
        "failure" => "#c62828",
        "warning" => "#f9a825",
        _ => "#8e24aa",
    }
}

fn band_colour(r: Outcome) -> &'static str {
    match r {
        Outcome::Met => "#43a047",
        Outcome::Failed => "#e53935",
        Outcome::NotChecked => "#9e9e9e",
    }
}

fn state_class(s: SpanState) -> &'static str {
    match s {
        SpanState::Waiting | SpanState::Pending => "waiting",
        SpanState::Running | SpanState::PodRunning => "running",
        SpanState::Completed | SpanState::Succeeded | SpanState::Failed | SpanState::PodFailed => {
            "terminated"
        }
    }
}

/// A step for the time axis giving at most about a dozen ticks.
pub fn axis_step(end: f64) -> f64 {
    const STEPS: [f64; 19] = [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0,
        600.0, 1200.0, 1800.0, 3600.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| end / s <= 12.0)
        .unwrap_or_else(|| (end / 12.0).ceil())
}

/// The picture as a standalone SVG document (with the XML declaration when `standalone`).
pub fn render(p: &Picture<'_>, standalone: bool) -> String {
    let end = p.end.as_secs_f64().max(0.001);
    let mut c = Canvas {
        out: String::new(),
        end,
    };
    let mut body = Canvas {
        out: String::new(),
        end,
    };
    let mut y = PLOT_TOP;
    for lane in std::iter::once(p.pod).chain(p.lanes) {
        y = draw_lane(&mut body, lane, y);
    }
    let lanes_bottom = y;
    if !p.bands.is_empty() {
        y = draw_bands(&mut body, p.bands, y + 8.0, p.end);
    }
    let axis_bottom = y + 14.0;
    y = draw_legend(&mut body, axis_bottom + 12.0);
    let height = y + 10.0;

    if standalone {
        c.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    let _ = writeln!(
        c.out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="10">"#,
        w = n(WIDTH),
        h = n(height)
    );
    let _ = writeln!(
        c.out,
        "<title>{}</title>",
        esc(&format!("{} ({})", p.title, p.verdict))
    );
    let _ = writeln!(
        c.out,
        r##"<rect class="background" x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##,
        n(WIDTH),
        n(height)
    );
    c.text(
        12.0,
        22.0,
        "title",
        r#" font-size="15" font-weight="bold""#,
        p.title,
    );
    let colour = if p.passed { "#2e7d32" } else { "#c62828" };
    c.text(
        12.0,
        40.0,
        "verdict",
        &format!(r#" font-size="12" font-weight="bold" fill="{colour}""#),
        p.verdict,
    );
    // The axis: grid lines through every lane, labels above the lanes and below the bands.
    let step = axis_step(end);
    let mut i = 0u32;
    loop {
        let t = f64::from(i) * step;
        if t > end + 1e-9 || i > 1000 {
            break;
        }
        let x = c.x(Duration::from_secs_f64(t));
        let _ = writeln!(
            c.out,
            r##"<line class="grid" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#e6e6e6" stroke-width="1"/>"##,
            n(PLOT_TOP - 4.0),
            n(axis_bottom - 10.0),
            x = n(x)
        );
        let label = format_secs(t);
        for ly in [PLOT_TOP - 8.0, axis_bottom] {
            c.text(
                x,
                ly,
                "axis",
                r##" text-anchor="middle" fill="#555555""##,
                &label,
            );
        }
        i += 1;
    }
    c.text(
        GUTTER - 8.0,
        PLOT_TOP - 8.0,
        "axis",
        r##" text-anchor="end" fill="#555555""##,
        "spec time",
    );
    let _ = lanes_bottom;
    c.out.push_str(&body.out);
    c.out.push_str("</svg>\n");
    c.out
}

/// One labelled thing above a lane's bar: an event marker or a restart.
struct Label {
    x: f64,
    text: String,
    colour: &'static str,
    /// Restarts are placed before events, so they keep their labels in a crowded lane.
    first: bool,
}

/// Assigns each label the lowest row where it overlaps no other label (restarts first,
/// then events, each in time order); None when it fits in none of the rows.
fn place(labels: &[Label]) -> (Vec<Option<usize>>, usize) {
    let mut taken: Vec<Vec<(f64, f64)>> = vec![Vec::new(); MAX_LABEL_ROWS];
    let mut rows = vec![None; labels.len()];
    let mut used = 0;
    for pass in [true, false] {
        for (i, l) in labels.iter().enumerate().filter(|(_, l)| l.first == pass) {
            let (a, b) = (
                l.x - 3.0,
                l.x + l.text.chars().count() as f64 * CHAR_W + 1.0,
            );
            let free = taken
                .iter()
                .position(|row| row.iter().all(|(x1, x2)| b + 3.0 <= *x1 || *x2 + 3.0 <= a));
            if let Some(r) = free {
                taken[r].push((a, b));
                rows[i] = Some(r);
                used = used.max(r + 1);
            }
        }
    }
    (rows, used)
}

fn draw_lane(c: &mut Canvas, lane: &Lane, top: f64) -> f64 {
    let mut labels: Vec<Label> = lane
        .markers
        .iter()
        .map(|m| Label {
            x: c.x(m.first),
            text: m.label(),
            colour: if m.warning { "#d84315" } else { "#455a64" },
            first: false,
        })
        .chain(lane.restarts.iter().map(|(at, n)| Label {
            x: c.x(*at),
            text: format!("restart {n}"),
            colour: "#6a1b9a",
            first: true,
        }))
        .collect();
    // Restarts interleave with the events by time; a stable sort keeps equal times in order.
    labels.sort_by(|a, b| a.x.total_cmp(&b.x));
    let (rows, used) = place(&labels);
    let marker_y = top + 6.0 + used as f64 * LABEL_ROW + 6.0;
    let bar_y = marker_y + 5.0;
    let ready_y = bar_y + BAR + 2.0;
    let mut y = ready_y + 6.0;
    let marks_y = if lane.marks.is_empty() {
        None
    } else {
        let at = y;
        y += SMALL_ROW;
        Some(at)
    };
    let probe_top = y;
    y += lane.probes.len() as f64 * SMALL_ROW;
    let bottom = y + 6.0;

    let _ = writeln!(
        c.out,
        r#"<g class="lane lane-{}" data-name="{}">"#,
        lane.kind.word(),
        esc(&lane.name)
    );
    c.text(
        12.0,
        bar_y + 13.0,
        "lane-name",
        r#" font-size="12" font-weight="bold""#,
        &lane.name,
    );
    c.text(
        12.0,
        bar_y + 25.0,
        "lane-kind",
        r##" fill="#777777""##,
        lane.kind.word(),
    );

    // State spans.
    for s in &lane.spans {
        let (x1, x2) = (c.x(s.from), c.x(s.to));
        let w = (x2 - x1).max(1.0);
        let fill = state_fill(s.state, &s.label);
        let when = format!(
            "{}..{}",
            format_secs(s.from.as_secs_f64()),
            format_secs(s.to.as_secs_f64())
        );
        let restarts = if lane.kind == LaneKind::Pod {
            String::new()
        } else {
            format!(", restartCount {}", s.restarts)
        };
        let _ = writeln!(
            c.out,
            r#"<rect class="span {}" x="{}" y="{}" width="{}" height="{}" fill="{fill}"><title>{}</title></rect>"#,
            state_class(s.state),
            n(x1),
            n(bar_y),
            n(w),
            n(BAR),
            esc(&format!("{}: {} {when}{restarts}", lane.name, s.label))
        );
        if w >= s.label.chars().count() as f64 * CHAR_W + 6.0 {
            let ink = match s.state {
                SpanState::Running
                | SpanState::PodRunning
                | SpanState::Failed
                | SpanState::PodFailed
                | SpanState::Succeeded => "#ffffff",
                _ => "#222222",
            };
            c.text(
                x1 + 3.0,
                bar_y + 13.0,
                "span-label",
                &format!(r#" fill="{ink}" pointer-events="none""#),
                &s.label,
            );
        }
    }
    // Ready stretches: a thin band under the bar.
    for (from, to) in &lane.ready {
        let (x1, x2) = (c.x(*from), c.x(*to));
        let what = if lane.kind == LaneKind::Pod {
            "condition Ready=True"
        } else {
            "ready"
        };
        let _ = writeln!(
            c.out,
            r##"<rect class="ready" x="{}" y="{}" width="{}" height="4.0" fill="#1e88e5"><title>{}</title></rect>"##,
            n(x1),
            n(ready_y),
            n((x2 - x1).max(1.0)),
            esc(&format!(
                "{}: {what} {}..{}",
                lane.name,
                format_secs(from.as_secs_f64()),
                format_secs(to.as_secs_f64())
            ))
        );
    }
    // Restarts: a dashed line through the lane.
    for (at, k) in &lane.restarts {
        let x = c.x(*at);
        let _ = writeln!(
            c.out,
            r##"<line class="restart" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#6a1b9a" stroke-width="1.2" stroke-dasharray="3,2"><title>{}</title></line>"##,
            n(marker_y - 4.0),
            n(bottom - 4.0),
            esc(&format!(
                "{}: {} restart {k}",
                format_secs(at.as_secs_f64()),
                lane.name
            )),
            x = n(x)
        );
    }
    // Event markers and the labels above them.
    for m in &lane.markers {
        let (x1, x2) = (c.x(m.first), c.x(m.last));
        let colour = if m.warning { "#d84315" } else { "#455a64" };
        let times = if m.count > 1 {
            format!(
                "{} (\u{d7}{}, last at {})",
                format_secs(m.first.as_secs_f64()),
                m.count,
                format_secs(m.last.as_secs_f64())
            )
        } else {
            format_secs(m.first.as_secs_f64())
        };
        let kind = if m.warning { "Warning" } else { "Normal" };
        let title = esc(&format!(
            "{times}: {kind} {} {}: {}",
            m.reason, lane.name, m.message
        ));
        if m.count > 1 {
            let _ = writeln!(
                c.out,
                r#"<line class="fold" x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="1.5"/>"#,
                n(x1),
                n(x2),
                y = n(marker_y)
            );
        }
        let _ = writeln!(
            c.out,
            r#"<path class="marker {}" d="M{} {}l-4 -6h8z" fill="{colour}"><title>{title}</title></path>"#,
            kind.to_ascii_lowercase(),
            n(x1),
            n(marker_y + 3.0)
        );
    }
    for (l, row) in labels.iter().zip(rows) {
        let Some(row) = row else { continue };
        let ly = marker_y - 6.0 - row as f64 * LABEL_ROW;
        c.text(
            l.x - 3.0,
            ly,
            "marker-label",
            &format!(r#" fill="{}""#, l.colour),
            &l.text,
        );
    }
    // Process marks.
    if let Some(my) = marks_y {
        c.text(
            GUTTER - 8.0,
            my + 8.0,
            "row-name",
            r##" text-anchor="end" fill="#777777""##,
            "process",
        );
        for m in &lane.marks {
            let x = c.x(m.at);
            let cy = my + 5.0;
            let title = esc(&m.text);
            let _ = match m.kind {
                MarkKind::Start => writeln!(
                    c.out,
                    r##"<circle class="mark start" cx="{}" cy="{}" r="3.5" fill="#2e7d32"><title>{title}</title></circle>"##,
                    n(x),
                    n(cy)
                ),
                MarkKind::Exit => writeln!(
                    c.out,
                    r##"<path class="mark exit" d="M{} {}l7 7m0 -7l-7 7" stroke="#212121" stroke-width="1.6"><title>{title}</title></path>"##,
                    n(x - 3.5),
                    n(cy - 3.5)
                ),
                MarkKind::Signal => writeln!(
                    c.out,
                    r##"<path class="mark signal" d="M{} {}l4 7h-8z" fill="#ef6c00"><title>{title}</title></path>"##,
                    n(x),
                    n(cy - 4.0)
                ),
                MarkKind::HookOk | MarkKind::HookFailed => writeln!(
                    c.out,
                    r##"<rect class="mark hook" x="{}" y="{}" width="7" height="7" fill="{}"><title>{title}</title></rect>"##,
                    n(x - 3.5),
                    n(cy - 3.5),
                    if m.kind == MarkKind::HookOk {
                        "#00897b"
                    } else {
                        "#c62828"
                    }
                ),
                MarkKind::EndpointJoined | MarkKind::EndpointLeft => writeln!(
                    c.out,
                    r##"<path class="mark endpoint" d="M{} {}l4 4l-4 4l-4 -4z" fill="{}"><title>{title}</title></path>"##,
                    n(x),
                    n(cy - 4.0),
                    if m.kind == MarkKind::EndpointJoined {
                        "#1e88e5"
                    } else {
                        "#90a4ae"
                    }
                ),
            };
        }
    }
    // Probe ticks, one row per probe kind.
    for (i, row) in lane.probes.iter().enumerate() {
        let ry = probe_top + i as f64 * SMALL_ROW;
        c.text(
            GUTTER - 8.0,
            ry + 8.0,
            "row-name",
            r##" text-anchor="end" fill="#777777""##,
            &format!("{}Probe", row.probe),
        );
        for t in &row.ticks {
            let x = n(c.x(t.at));
            let _ = writeln!(
                c.out,
                r#"<line class="tick probe-{} result-{}" x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{}" stroke-width="1.6"><title>{}</title></line>"#,
                row.probe,
                t.result,
                n(ry + 1.0),
                n(ry + SMALL_ROW - 1.0),
                tick_colour(t.result),
                esc(&t.text)
            );
        }
    }
    let _ = writeln!(
        c.out,
        r##"<line class="separator" x1="0" y1="{y}" x2="{}" y2="{y}" stroke="#cccccc" stroke-width="1"/>"##,
        n(WIDTH),
        y = n(bottom)
    );
    c.out.push_str("</g>\n");
    bottom
}

fn draw_bands(c: &mut Canvas, bands: &[Band], top: f64, end: Duration) -> f64 {
    c.out.push_str("<g class=\"expectations\">\n");
    c.text(
        12.0,
        top + 10.0,
        "section",
        r#" font-size="12" font-weight="bold""#,
        "expectations",
    );
    let mut y = top + 16.0;
    for b in bands {
        let from = b.from.unwrap_or_default().min(end);
        let to = b.to.unwrap_or(end).min(end).max(from);
        let (x1, x2) = (c.x(from), c.x(to));
        let colour = band_colour(b.result);
        let (opacity, dash) = if b.explicit {
            ("0.35", "")
        } else {
            ("0.15", r#" stroke-dasharray="4,3""#)
        };
        let window = format!(
            "{}..{}",
            b.from
                .map(|d| format_secs(d.as_secs_f64()))
                .unwrap_or_default(),
            b.to.map(|d| format_secs(d.as_secs_f64()))
                .unwrap_or_default()
        );
        let mut title = format!("{}: {} ({}", b.key, b.label, b.result.word());
        if let Some(t) = b.matched_at {
            title.push_str(&format!(" at {}", format_secs(t.as_secs_f64())));
        }
        title.push_str(&format!(
            "; window {window}{})",
            if b.explicit { "" } else { ", implied" }
        ));
        for w in &b.why {
            title.push('\n');
            title.push_str(w);
        }
        c.text(
            12.0,
            y + 11.0,
            "band-key",
            &format!(r#" fill="{colour}""#),
            &b.key,
        );
        let _ = writeln!(
            c.out,
            r#"<rect class="band {}" x="{}" y="{}" width="{}" height="{}" fill="{colour}" fill-opacity="{opacity}" stroke="{colour}"{dash}><title>{}</title></rect>"#,
            b.result.word().replace(' ', "-"),
            n(x1),
            n(y + 1.0),
            n((x2 - x1).max(2.0)),
            n(BAND_ROW - 2.0),
            esc(&title)
        );
        if let Some(t) = b.matched_at {
            let _ = writeln!(
                c.out,
                r##"<circle class="matched" cx="{}" cy="{}" r="3.0" fill="#1b5e20"/>"##,
                n(c.x(t)),
                n(y + BAND_ROW / 2.0)
            );
        }
        let room = ((WIDTH - RIGHT - x1 - 8.0) / CHAR_W).max(0.0) as usize;
        let mut text: String = b.label.chars().take(room).collect();
        if b.label.chars().count() > room && room > 1 {
            text.pop();
            text.push('\u{2026}');
        }
        c.text(
            x1 + 5.0,
            y + 11.0,
            "band-label",
            r##" fill="#222222" pointer-events="none""##,
            &text,
        );
        y += BAND_ROW;
    }
    c.out.push_str("</g>\n");
    y
}

fn draw_legend(c: &mut Canvas, top: f64) -> f64 {
    // (kind of swatch, colour, text)
    const ITEMS: [(&str, &str, &str); 17] = [
        ("rect", "#f5d36b", "waiting / Pending"),
        ("rect", "#e8833a", "waiting: back-off or error"),
        ("rect", "#4caf50", "running"),
        ("rect", "#9e9e9e", "terminated: exit 0"),
        ("rect", "#d9534f", "terminated: error / Failed"),
        ("rect", "#5b8def", "Succeeded"),
        ("ready", "#1e88e5", "ready"),
        ("tick", "#2e7d32", "probe success"),
        ("tick", "#c62828", "probe failure"),
        ("tick", "#8e24aa", "probe error / unknown"),
        ("marker", "#455a64", "Normal event"),
        ("marker", "#d84315", "Warning event"),
        ("dash", "#6a1b9a", "restart"),
        (
            "circle",
            "#2e7d32",
            "process start (\u{d7} exit, \u{25b2} signal, \u{25a0} hook)",
        ),
        (
            "rect",
            "#43a047",
            "expectation met (dashed: implied window)",
        ),
        ("rect", "#e53935", "expectation failed"),
        ("rect", "#9e9e9e", "not checked"),
    ];
    c.out.push_str("<g class=\"legend\">\n");
    let (mut x, mut y) = (12.0, top);
    for (kind, colour, text) in ITEMS {
        let w = 18.0 + text.chars().count() as f64 * CHAR_W + 14.0;
        if x + w > WIDTH - RIGHT {
            x = 12.0;
            y += 16.0;
        }
        let _ = match kind {
            "ready" => writeln!(
                c.out,
                r#"<rect x="{}" y="{}" width="12" height="4" fill="{colour}"/>"#,
                n(x),
                n(y + 4.0)
            ),
            "tick" => writeln!(
                c.out,
                r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{colour}" stroke-width="1.6"/>"#,
                n(y),
                n(y + 10.0),
                x = n(x + 6.0)
            ),
            "marker" => writeln!(
                c.out,
                r#"<path d="M{} {}l-4 -6h8z" fill="{colour}"/>"#,
                n(x + 6.0),
                n(y + 8.0)
            ),
            "dash" => writeln!(
                c.out,
                r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{colour}" stroke-width="1.2" stroke-dasharray="3,2"/>"#,
                n(y - 1.0),
                n(y + 11.0),
                x = n(x + 6.0)
            ),
            "circle" => writeln!(
                c.out,
                r#"<circle cx="{}" cy="{}" r="3.5" fill="{colour}"/>"#,
                n(x + 6.0),
                n(y + 5.0)
            ),
            _ => writeln!(
                c.out,
                r#"<rect x="{}" y="{}" width="12" height="10" fill="{colour}"/>"#,
                n(x),
                n(y)
            ),
        };
        c.text(x + 17.0, y + 9.0, "legend-text", "", text);
        x += w;
    }
    c.out.push_str("</g>\n");
    y + 16.0
}
