//! The SVG writer: lays out the lanes and bands collected by `model` and `windows` on a
//! fixed-width canvas. Self-contained (no fonts, scripts or links), every text escaped,
//! every number printed with one decimal so the same timeline gives the same bytes.

use std::fmt::Write;
use std::time::Duration;

use super::canvas::{Canvas, GUTTER, PLOT_TOP, WIDTH, axis_step, esc, n};
use super::model::Lane;
use super::windows::Band;
use crate::spec::duration::format_secs;

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
