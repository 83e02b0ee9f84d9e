//! The expectations' bands below the lanes, and the legend.

use std::fmt::Write;
use std::time::Duration;

use super::canvas::{BAND_ROW, CHAR_W, Canvas, RIGHT, WIDTH, band_colour, esc, n};
use super::windows::Band;
use crate::spec::duration::format_secs;

pub(super) fn draw_bands(c: &mut Canvas, bands: &[Band], top: f64, end: Duration) -> f64 {
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
        // The label moves right of the match dot when it would cover the dot and fits there.
        let dot = b.matched_at.map(|t| c.x(t));
        let text_w = b.label.chars().count() as f64 * CHAR_W;
        let text_x = match dot {
            Some(dx)
                if dx >= x1 - 1.0
                    && dx <= x1 + 5.0 + text_w
                    && dx + 6.0 + text_w <= WIDTH - RIGHT =>
            {
                dx + 6.0
            }
            _ => x1 + 5.0,
        };
        let room = ((WIDTH - RIGHT - text_x - 3.0) / CHAR_W).max(0.0) as usize;
        let mut text: String = b.label.chars().take(room).collect();
        if b.label.chars().count() > room && room > 1 {
            text.pop();
            text.push('\u{2026}');
        }
        c.text(
            text_x,
            y + 11.0,
            "band-label",
            r##" fill="#222222" pointer-events="none""##,
            &text,
        );
        if let Some(dx) = dot {
            let _ = writeln!(
                c.out,
                r##"<circle class="matched" cx="{}" cy="{}" r="3.0" fill="#1b5e20" stroke="#ffffff" stroke-width="1"/>"##,
                n(dx),
                n(y + BAND_ROW / 2.0)
            );
        }
        y += BAND_ROW;
    }
    c.out.push_str("</g>\n");
    y
}

pub(super) fn draw_legend(c: &mut Canvas, top: f64) -> f64 {
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
