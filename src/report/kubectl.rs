//! `kubectl get pods -w` as a person would see it: rows laid out the way kubectl's
//! width-remembering tabwriter lays them out. The cells themselves come from
//! [`crate::print_pod`].

use std::iter::repeat_n;
use std::time::Duration;

pub use crate::print_pod::{PodRow, human_duration, pod_row, pod_row_with_total, since};

/// Lays out tab-separated text the way Go's text/tabwriter does (padding char ' ', no flags).
///
/// Cells ended by a tab form columns; a column's width runs over consecutive lines that all
/// have that column, and the last cell of each line is never padded. With `memory`, widths
/// never shrink below what earlier calls produced, like kubectl's `RememberWidths` fork.
pub(crate) fn tabwrite(
    text: &str,
    minwidth: usize,
    padding: usize,
    mut memory: Option<&mut Vec<usize>>,
) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let columns = lines.iter().map(|l| l.len() - 1).max().unwrap_or(0);
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; l.len() - 1]).collect();
    for col in 0..columns {
        let mut start = 0;
        while start < lines.len() {
            if lines[start].len() - 1 <= col {
                start += 1;
                continue;
            }
            let end = (start..lines.len())
                .find(|&i| lines[i].len() - 1 <= col)
                .unwrap_or(lines.len());
            let mut width = lines[start..end]
                .iter()
                .map(|l| l[col].chars().count() + padding)
                .fold(minwidth, usize::max);
            if let Some(mem) = memory.as_deref_mut() {
                if mem.len() <= col {
                    mem.resize(col + 1, 0);
                }
                width = width.max(mem[col]);
                mem[col] = width;
            }
            for w in &mut widths[start..end] {
                w[col] = width;
            }
            start = end;
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (n, (cells, widths)) in lines.iter().zip(&widths).enumerate() {
        if n > 0 {
            out.push('\n');
        }
        for (j, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if let Some(&w) = widths.get(j) {
                let pad = w.saturating_sub(cell.chars().count());
                out.extend(repeat_n(' ', pad));
            }
        }
    }
    out
}

// kubectl's printers.GetNewTabWriter: minwidth 6, padding 3, RememberWidths.
const WATCH_MINWIDTH: usize = 6;
const WATCH_PADDING: usize = 3;

/// The `-w` header line `NAME READY STATUS RESTARTS AGE`, in the fixed widths of [`watch_line`].
pub fn watch_header(name: &str) -> String {
    tabwrite(
        "NAME\tREADY\tSTATUS\tRESTARTS\tAGE",
        WATCH_MINWIDTH,
        WATCH_PADDING,
        Some(&mut fixed_widths(name)),
    )
}

/// One `-w` row in fixed widths, so that rows printed one by one line up with [`watch_header`].
///
/// Columns start at NAME `max(len(name), 4) + 3`, READY 8, STATUS 20 (fits
/// `ContainerCreating`), RESTARTS 14 (fits `1 (59s ago)`); a longer value keeps kubectl's
/// 3-space gap and pushes the rest of its own line right. Nothing is truncated. For kubectl's
/// exact, history-dependent widths use [`WatchTable`].
pub fn watch_line(name: &str, row: &PodRow, age: Duration) -> String {
    tabwrite(
        &row_text(name, row, age),
        WATCH_MINWIDTH,
        WATCH_PADDING,
        Some(&mut fixed_widths(name)),
    )
}

fn fixed_widths(name: &str) -> Vec<usize> {
    vec![name.chars().count().max(4) + WATCH_PADDING, 8, 20, 14]
}

fn row_text(name: &str, row: &PodRow, age: Duration) -> String {
    format!(
        "{name}\t{}\t{}\t{}\t{}",
        row.ready,
        row.status,
        row.restarts,
        human_duration(age)
    )
}

/// `kubectl get pod -w` output exactly: the header goes out with the first row as one tabwriter
/// flush, and every later row is its own flush whose column widths never shrink.
#[derive(Debug, Clone, Default)]
pub struct WatchTable {
    widths: Vec<usize>,
    header_done: bool,
}

impl WatchTable {
    /// A table that has printed nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text for one watch row (preceded by the header on the first call), without a
    /// trailing newline.
    pub fn row(&mut self, name: &str, row: &PodRow, age: Duration) -> String {
        let mut text = String::new();
        if !self.header_done {
            text.push_str("NAME\tREADY\tSTATUS\tRESTARTS\tAGE\n");
            self.header_done = true;
        }
        text.push_str(&row_text(name, row, age));
        tabwrite(&text, WATCH_MINWIDTH, WATCH_PADDING, Some(&mut self.widths))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Condition, ContainerState, ContainerStatus, Phase, PodStatus};

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    /// A container state from `"running"`, `"waiting REASON"`, `"exited CODE [REASON]"` or
    /// `"signal N"`, so that case tables stay one line each. Terminations end at 40 s.
    fn st(spec: &str) -> ContainerState {
        let words: Vec<&str> = spec.split(' ').collect();
        let num = |w: &str| {
            w.parse::<i32>()
                .unwrap_or_else(|_| panic!("bad number in {spec}"))
        };
        let exited =
            |exit_code: i32, signal: Option<i32>, reason: &str| ContainerState::Terminated {
                exit_code,
                signal,
                reason: reason.to_string(),
                message: None,
                started_at: s(1),
                finished_at: s(40),
            };
        match words[..] {
            ["running"] => ContainerState::Running { started_at: s(1) },
            ["waiting", r] => ContainerState::Waiting {
                reason: Some(r.into()),
                message: None,
            },
            ["exited", code] => exited(num(code), None, ""),
            ["exited", code, reason] => exited(num(code), None, reason),
            ["signal", n] => exited(128 + num(n), Some(num(n)), ""),
            _ => panic!("bad state {spec}"),
        }
    }

    /// A container in state `spec`, ready and started exactly when running.
    fn ctr(name: &str, spec: &str) -> ContainerStatus {
        let state = st(spec);
        let ready = matches!(state, ContainerState::Running { .. });
        ContainerStatus {
            name: name.to_string(),
            state,
            last_state: None,
            ready,
            started: Some(ready),
            restart_count: 0,
            sidecar: false,
        }
    }

    fn cond(kind: &'static str, status: bool) -> Condition {
        Condition {
            kind: kind.into(),
            status,
            reason: None,
            message: None,
        }
    }

    fn pod(init: Vec<ContainerStatus>, app: Vec<ContainerStatus>) -> PodStatus {
        PodStatus {
            phase: Phase::Running,
            reason: None,
            message: None,
            conditions: vec![cond("Initialized", init.is_empty())],
            init_container_statuses: init,
            container_statuses: app,
            deleting: false,
        }
    }

    fn check(p: &PodStatus, status: &str, ready: &str) {
        let row = pod_row(p, s(100));
        assert_eq!((row.status.as_str(), row.ready.as_str()), (status, ready));
    }

    #[test]
    fn human_duration_thresholds() {
        let secs = [
            0, 59, 119, 120, 125, 599, 600, 10799, 10800, 11100, 29100, 169200, 172800, 183600,
            694800, 34560000, 63072000, 64800000, 252374400,
        ];
        let want = [
            "0s", "59s", "119s", "2m", "2m5s", "9m59s", "10m", "179m", "3h", "3h5m", "8h", "47h",
            "2d", "2d3h", "8d", "400d", "2y", "2y20d", "8y",
        ];
        for (secs, want) in secs.into_iter().zip(want) {
            assert_eq!(human_duration(s(secs)), want, "{secs}s");
        }
        assert_eq!(human_duration(Duration::from_millis(1999)), "1s");
    }

    #[test]
    fn status_and_ready_branches() {
        let mut empty = pod(vec![], vec![]);
        empty.phase = Phase::Pending;
        check(&empty, "Pending", "0/0");
        assert_eq!(pod_row_with_total(&empty, s(0), 2).ready, "0/2");
        let cases = [
            ("waiting ContainerCreating", "ContainerCreating", "0/1"),
            ("waiting PodInitializing", "PodInitializing", "0/1"),
            ("running", "Running", "1/1"),
            ("waiting CrashLoopBackOff", "CrashLoopBackOff", "0/1"),
            ("exited 0 Completed", "Completed", "0/1"),
            ("exited 1 Error", "Error", "0/1"),
            ("exited 137 OOMKilled", "OOMKilled", "0/1"),
            ("signal 9", "Signal:9", "0/1"),
            ("exited 3", "ExitCode:3", "0/1"),
        ];
        for (state, want_status, want_ready) in cases {
            check(
                &pod(vec![], vec![ctr("app", state)]),
                want_status,
                want_ready,
            );
        }
    }

    #[test]
    fn init_container_walk() {
        let cases = [
            ("running", "waiting PodInitializing", "Init:0/2"),
            ("exited 0 Completed", "running", "Init:1/2"),
            (
                "waiting CrashLoopBackOff",
                "waiting PodInitializing",
                "Init:CrashLoopBackOff",
            ),
            ("exited 1 Error", "waiting PodInitializing", "Init:Error"),
            ("exited 3", "waiting PodInitializing", "Init:ExitCode:3"),
            ("signal 2", "waiting PodInitializing", "Init:Signal:2"),
            (
                "exited 0 Completed",
                "exited 0 Completed",
                "PodInitializing",
            ),
        ];
        for (first, second, want) in cases {
            let init = vec![ctr("i1", first), ctr("i2", second)];
            let mut p = pod(init, vec![ctr("app", "waiting PodInitializing")]);
            p.conditions[0].status = want == "PodInitializing";
            check(&p, want, "0/1");
        }
    }

    #[test]
    fn container_order_completed_and_pod_reasons() {
        let app = vec![
            ctr("a", "waiting CrashLoopBackOff"),
            ctr("b", "exited 1 Error"),
        ];
        check(&pod(vec![], app), "CrashLoopBackOff", "0/2");
        let mut p = pod(
            vec![],
            vec![ctr("a", "exited 0 Completed"), ctr("b", "running")],
        );
        check(&p, "NotReady", "1/2");
        p.conditions.push(cond("Ready", true));
        check(&p, "Running", "1/2");
        for (state, want) in [
            ("exited 137 Error", "Error"),
            ("running", "DeadlineExceeded"),
        ] {
            let mut p = pod(vec![], vec![ctr("app", state)]);
            (p.phase, p.reason) = (Phase::Failed, Some("DeadlineExceeded".into()));
            p.container_statuses[0].ready = false;
            check(&p, want, "0/1");
        }
    }

    #[test]
    fn terminating_only_for_live_phases() {
        let mut p = pod(vec![], vec![ctr("app", "running")]);
        p.deleting = true;
        check(&p, "Terminating", "1/1");
        let mut p = pod(vec![], vec![ctr("app", "exited 0 Completed")]);
        (p.phase, p.deleting) = (Phase::Succeeded, true);
        check(&p, "Completed", "0/1");
    }

    #[test]
    fn sidecars_in_ready_and_restarts() {
        let mut side = ctr("proxy", "running");
        (side.sidecar, side.restart_count) = (true, 2);
        side.last_state = Some(st("exited 1 Error"));
        let mut init = ctr("migrate", "exited 0 Completed");
        init.restart_count = 5;
        let mut p = pod(vec![side, init], vec![ctr("app", "running")]);
        p.conditions = vec![cond("Initialized", true), cond("Ready", true)];
        check(&p, "Running", "2/2");
        // The finished init container's five restarts stop counting once initialized.
        assert_eq!(pod_row(&p, s(52)).restarts, "2 (12s ago)");

        let mut crashing = ctr("proxy", "waiting CrashLoopBackOff");
        (crashing.sidecar, crashing.restart_count) = (true, 3);
        crashing.last_state = Some(st("exited 1 Error"));
        let p = pod(vec![crashing], vec![ctr("app", "waiting PodInitializing")]);
        check(&p, "Init:CrashLoopBackOff", "0/2");
        assert_eq!(pod_row(&p, s(240)).restarts, "3 (3m20s ago)");
    }

    #[test]
    fn restarts_without_last_state_have_no_age() {
        let mut p = pod(vec![], vec![ctr("app", "running")]);
        p.container_statuses[0].restart_count = 1;
        assert_eq!(pod_row(&p, s(9)).restarts, "1");
    }

    fn row(status: &str) -> PodRow {
        PodRow {
            ready: "0/1".into(),
            status: status.into(),
            restarts: "0".into(),
        }
    }

    #[test]
    fn watch_fixed_widths_align() {
        let header = "NAME   READY   STATUS              RESTARTS      AGE";
        assert_eq!(watch_header("web"), header);
        let line = "web    0/1     ContainerCreating   0             3s";
        assert_eq!(watch_line("web", &row("ContainerCreating"), s(3)), line);
        let long = "web    0/1     Init:CreateContainerConfigError   0             3s";
        let status = "Init:CreateContainerConfigError";
        assert_eq!(watch_line("web", &row(status), s(3)), long);
    }

    #[test]
    fn watch_table_remembers_widths() {
        let mut t = WatchTable::new();
        let first =
            "NAME    READY   STATUS    RESTARTS   AGE\nnginx   0/1     Pending   0          0s";
        assert_eq!(t.row("nginx", &row("Pending"), s(0)), first);
        let grown = "nginx   0/1     ContainerCreating   0          0s";
        assert_eq!(t.row("nginx", &row("ContainerCreating"), s(0)), grown);
        let kept = "nginx   0/1     Running             0          2s";
        assert_eq!(t.row("nginx", &row("Running"), s(2)), kept);
    }

    #[test]
    fn tabwriter_blocks_and_last_cell() {
        let text = "a\tbb\tlast\nccc\td\n\nx\ty";
        assert_eq!(tabwrite(text, 0, 2, None), "a    bb  last\nccc  d\n\nx  y");
    }
}
