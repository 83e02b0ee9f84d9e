//! The drawing surface the SVG writer, its lanes and its bands share: the layout constants,
//! escaping, number printing and the colours of states and results, so each part draws
//! without reaching back into the writer.

use std::fmt::Write;
use std::time::Duration;

use super::model::SpanState;
use super::windows::Result as Outcome;

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
