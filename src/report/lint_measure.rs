//! `podcheck lint --measure N` output: per pod, the measured p95 as comments and the probe
//! values that would hold as a YAML patch in the object's own shape (a strategic merge
//! patch: containers are matched by name), for `kubectl patch --type strategic`.

use std::fmt::Write;

use crate::diag::PathSeg;
use crate::lint::measure::{MARGIN, PodMeasure, p95};

/// The report of every measured pod.
pub fn render(pods: &[PodMeasure]) -> String {
    let mut out = String::new();
    for pod in pods {
        let _ = writeln!(
            out,
            "# {}: measured with podcheck lint --measure",
            pod.object
        );
        for c in &pod.containers {
            let show = |v: &[std::time::Duration]| {
                p95(v).map_or_else(
                    || "never".to_owned(),
                    |d| format!("{:.1} s", d.as_secs_f64()),
                )
            };
            let _ = writeln!(
                out,
                "#   container {}: started p95 {}, ready p95 {} ({} runs, budgets checked at {MARGIN} × p95)",
                c.name,
                show(&c.started),
                show(&c.ready),
                c.runs
            );
            for r in &c.reasons {
                let _ = writeln!(out, "#   - {r}");
            }
        }
        if pod.containers.iter().all(|c| c.patch.is_empty()) {
            let _ = writeln!(out, "# every probe budget holds: no patch needed");
            continue;
        }
        let mut depth = 0;
        for seg in &pod.spec_path.0 {
            if let PathSeg::Key(k) = seg {
                let _ = writeln!(out, "{}{k}:", "  ".repeat(depth));
                depth += 1;
            }
        }
        let pad = "  ".repeat(depth);
        let _ = writeln!(out, "{pad}containers:");
        for c in pod.containers.iter().filter(|c| !c.patch.is_empty()) {
            let _ = writeln!(out, "{pad}- name: {}", c.name);
            for (probe, fields) in &c.patch {
                let _ = writeln!(out, "{pad}  {probe}:");
                for (field, value) in fields {
                    let _ = writeln!(out, "{pad}    {field}: {value}");
                }
            }
        }
    }
    out
}
