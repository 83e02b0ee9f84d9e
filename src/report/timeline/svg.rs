//! The SVG writer: lays out the lanes and bands collected by `model` and `windows` on a
//! fixed-width canvas. Self-contained (no fonts, scripts or links), every text escaped,
//! every number printed with one decimal so the same timeline gives the same bytes.

use std::fmt::Write;
use std::time::Duration;

use super::model::{Lane, SpanState};
use super::windows::{Band, Result as Outcome};
use crate::spec::duration::format_secs;

/// Canvas width in pixels.
pub const WIDTH: f64 = 1200.0;
/// Left gutter (lane names).
pub(super) const GUTTER: f64 = 180.0;
/// Right padding.
pub(super) const RIGHT: f64 = 24.0;
/// The plot's top edge, below the title and the axis labels.
pub(super) const PLOT_TOP: f64 = 72.0;
/// Height of a state bar.
pub(super) const BAR: f64 = 18.0;
/// Height of a marker label row.
pub(super) const LABEL_ROW: f64 = 12.0;
/// At most this many label rows per lane; labels that fit in none keep only their hover text.
pub(super) const MAX_LABEL_ROWS: usize = 4;
/// Height of a probe tick row or the process-mark row.
pub(super) const SMALL_ROW: f64 = 11.0;
/// Height of an expectation band row.
pub(super) const BAND_ROW: f64 = 15.0;
/// Average glyph width of the 10 px sans-serif text, to keep labels from overlapping.
pub(super) const CHAR_W: f64 = 6.0;

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

pub(super) fn n(x: f64) -> String {
    format!("{x:.1}")
}

pub(super) struct Canvas {
    pub(super) out: String,
    pub(super) end: f64,
}

impl Canvas {
    pub(super) fn x(&self, t: Duration) -> f64 {
        let frac = (t.as_secs_f64() / self.end).clamp(0.0, 1.0);
        GUTTER + frac * (WIDTH - GUTTER - RIGHT)
    }

    pub(super) fn text(&mut self, x: f64, y: f64, class: &str, attrs: &str, s: &str) {
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

pub(super) fn band_colour(r: Outcome) -> &'static str {
    match r {
        Outcome::Met => "#43a047",
        Outcome::Failed => "#e53935",
        Outcome::NotChecked => "#9e9e9e",
    }
}

pub(super) fn state_class(s: SpanState) -> &'static str {
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
        y = super::lane::draw_lane(&mut body, lane, y);
    }
    let lanes_bottom = y;
    if !p.bands.is_empty() {
        y = super::bands::draw_bands(&mut body, p.bands, y + 8.0, p.end);
    }
    let axis_bottom = y + 14.0;
    y = super::bands::draw_legend(&mut body, axis_bottom + 12.0);
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
