//! Extra watch lines for `podcheck run -v`: one line per probe attempt, from the timeline's
//! probe executions, between the `kubectl get pod -w` rows.

use crate::events::{Execution, ExecutionKind};
use crate::spec::duration::format_secs;

/// `  probe 3.0s app#0 liveness httpGet failure (2ms): HTTP probe failed with statuscode: 500`,
/// or None for an execution that is not a probe attempt.
pub fn probe_line(x: &Execution) -> Option<String> {
    let ExecutionKind::Probe {
        probe,
        handler,
        result,
        output,
        duration,
    } = &x.what
    else {
        return None;
    };
    let output = output.trim();
    let mut line = format!(
        "  probe {} {}#{} {probe} {handler} {result} ({})",
        format_secs(x.at.as_secs_f64()),
        x.container,
        x.instance,
        format_secs(duration.as_secs_f64())
    );
    if !output.is_empty() {
        // One line per attempt: a multi-line output is shown up to its first line break.
        let first = output.lines().next().unwrap_or_default();
        line.push_str(": ");
        line.push_str(first);
        if output.lines().nth(1).is_some() {
            line.push_str(" …");
        }
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_probe_attempt_is_one_line_with_time_container_kind_result_and_output() {
        let x = Execution {
            at: Duration::from_millis(3000),
            container: "app".into(),
            instance: 1,
            what: ExecutionKind::Probe {
                probe: "liveness",
                handler: "httpGet",
                result: "failure",
                output: "HTTP probe failed with statuscode: 500\nbody".into(),
                duration: Duration::from_millis(2),
            },
        };
        assert_eq!(
            probe_line(&x).as_deref(),
            Some(
                "  probe 3s app#1 liveness httpGet failure (2ms): HTTP probe failed with statuscode: 500 …"
            )
        );
        let start = Execution {
            what: ExecutionKind::Start,
            ..x
        };
        assert_eq!(probe_line(&start), None);
    }
}
