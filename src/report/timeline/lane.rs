//! One lane of the picture: its name, state spans, ready band, restarts, event markers
//! with their labels placed so they do not overlap, process marks and probe ticks.

use std::fmt::Write;

use super::canvas::{
    BAR, CHAR_W, Canvas, GUTTER, LABEL_ROW, MAX_LABEL_ROWS, SMALL_ROW, WIDTH, esc, n, state_class,
    state_fill, tick_colour,
};
use super::model::{Lane, LaneKind, MarkKind, SpanState};
use crate::spec::duration::format_secs;

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

pub(super) fn draw_lane(c: &mut Canvas, lane: &Lane, top: f64) -> f64 {
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
