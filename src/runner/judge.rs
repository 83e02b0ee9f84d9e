//! A run's verdict from its pods' outcomes: each pod's expectations checked against its
//! timeline (what an early stop after a failure for good left unjudged taken out), the
//! traffic expectations, and how the run as a whole ended.

use std::time::Duration;

use crate::events::Timeline;
use crate::expect::{self, Expectations, Verdict};
use crate::kubelet::{EndReason, RunOutcome};
use crate::print_pod;
use crate::spec::model::PodInstance;

/// The verdicts of a run and its end.
pub(super) struct Judged {
    /// The run's verdict (with several pods, every pod's items prefixed `pod NAME: `).
    pub verdict: Verdict,
    /// With several pods, each pod's own verdict, unprefixed.
    pub pod_verdicts: Vec<Verdict>,
    /// The weightiest of the pods' ends.
    pub end: EndReason,
    /// The last pod's end.
    pub ended_at: Duration,
}

/// What a run produced, for judging.
pub(super) struct Ran<'a> {
    /// The pods, in order.
    pub instances: &'a [PodInstance],
    /// Each pod's outcome, in the same order.
    pub outcomes: &'a [RunOutcome],
    /// Each pod's first expectation to fail for good and when, as its stop condition saw it.
    pub first_failures: &'a [Option<(String, Duration)>],
    /// The load generators' requests.
    pub traffic: &'a Timeline,
}

/// Checks `exp` against the pods' outcomes and the run's traffic; adds the compression
/// notes to `notes`.
pub(super) fn judge(
    exp: &Expectations,
    ran: &Ran<'_>,
    time_scale: f64,
    timeout: Duration,
    notes: &mut Vec<String>,
) -> Judged {
    let Ran {
        instances,
        outcomes,
        first_failures,
        traffic,
    } = *ran;
    let several = instances.len() > 1;
    let column = |st: &crate::events::PodStatus| print_pod::pod_row(st, Duration::ZERO).status;
    // A failure for good that ended the run early leaves what waits for the end unjudged
    // in the pods it stopped; the stop condition says which item failed, and when.
    let failed_early = outcomes.iter().any(|o| o.end == EndReason::Decided)
        && first_failures.iter().any(Option::is_some);
    // The pod whose failure came first is the one that started the tail.
    let first = first_failures
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.as_ref().map(|(_, at)| (i, *at)))
        .min_by_key(|(_, at)| *at)
        .map(|(i, _)| i);
    let mut verdict = Verdict::default();
    let mut pod_verdicts = Vec::new();
    for (i, (inst, outcome)) in instances.iter().zip(outcomes).enumerate() {
        let sub = exp.for_pod(&inst.name, !several);
        let mut v = expect::check(&sub, &outcome.timeline, &outcome.logs, &column);
        let failure = first_failures.get(i).cloned().flatten();
        if failed_early && outcome.end == EndReason::Decided {
            expect::settle::judge_early_stop(
                &sub,
                &outcome.timeline,
                outcome.ended_at,
                failure.clone(),
                &mut v,
            );
        }
        let compression =
            expect::reliability::compression_notes(&inst.pod, &outcome.timeline, time_scale);
        if several {
            if failed_early {
                let early = verdict.stopped_early.get_or_insert_with(Default::default);
                if let Some((key, at)) = failure.filter(|_| first == Some(i)) {
                    early.failed = format!("pod {}: {key}", inst.name);
                    early.failed_at = Some(at);
                }
                let not_judged = v.stopped_early.iter().flat_map(|s| &s.not_judged);
                early
                    .not_judged
                    .extend(not_judged.map(|k| format!("pod {}: {k}", inst.name)));
            }
            pod_verdicts.push(v.clone());
            verdict.sequence.extend(v.sequence.into_iter().map(|mut r| {
                r.label = format!("pod {}: {}", inst.name, r.label);
                r
            }));
            verdict.failures.extend(
                v.failures
                    .into_iter()
                    .map(|f| format!("pod {}: {f}", inst.name)),
            );
            notes.extend(
                compression
                    .into_iter()
                    .map(|n| format!("pod {}: {n}", inst.name)),
            );
        } else {
            verdict = v;
            notes.extend(compression);
        }
    }
    let requests: Vec<&crate::events::Request> = traffic.requests().collect();
    verdict
        .failures
        .extend(expect::traffic::check(&exp.traffic, &requests));
    // The run's end: the weightiest of its pods' ends, at the last pod's end.
    let weight = |e: EndReason| match e {
        EndReason::PodFinished => 0,
        EndReason::DurationReached => 1,
        EndReason::Decided => 2,
        EndReason::Interrupted => 3,
        EndReason::TimedOut => 4,
    };
    let end = outcomes
        .iter()
        .map(|o| o.end)
        .max_by_key(|e| weight(*e))
        .unwrap_or(EndReason::PodFinished);
    let ended_at = outcomes
        .iter()
        .map(|o| o.ended_at)
        .max()
        .unwrap_or_default();
    match end {
        EndReason::TimedOut => verdict.failures.insert(
            0,
            format!(
                "the run timed out after {} of real time before the expectations were decided (raise run.timeout, or set run.duration to end the run on purpose)",
                crate::spec::duration::format_secs(timeout.as_secs_f64())
            ),
        ),
        EndReason::Interrupted => verdict.failures.insert(0, "the run was interrupted".into()),
        _ => {}
    }
    Judged {
        verdict,
        pod_verdicts,
        end,
        ended_at,
    }
}
