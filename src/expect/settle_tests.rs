//! When a run may stop: passed for good, failed for good, or still open.

use std::time::Duration;

use crate::events::{Entry, Timeline};

use super::super::tests::{crash_and_restart, exp, secs};
use super::{Decision, decide, is_about, judge_early_stop};

/// The first `n` entries of the crash-and-restart timeline (status 1 s, crash 3 s,
/// Killing 4 s, restart 5 s).
fn upto(n: usize) -> Timeline {
    let full = crash_and_restart();
    Timeline {
        entries: full.entries[..n].to_vec(),
    }
}

fn failed(key: &str) -> Decision {
    Decision::Failed(key.into())
}

#[test]
fn prefixes_claim_only_their_own_index() {
    assert!(is_about(
        "states[1]",
        "states[1] at 2s: phase: expected Running"
    ));
    assert!(!is_about(
        "states[1]",
        "states[10] at 2s: phase: expected Running"
    ));
    assert!(is_about("final", "final.phase: expected Succeeded"));
    assert!(is_about("final", "final: no pod status was recorded"));
    assert!(is_about("statuses", "statuses: expected the STATUS column"));
    assert!(!is_about("events[0]", "executions[0]: expected exit"));
}

#[test]
fn a_never_event_fails_the_run_as_soon_as_it_is_seen() -> Result<(), String> {
    let e = exp("[[never]]\nreason = \"Killing\"\n[final]\nphase = \"Running\"\n")?;
    assert_eq!(decide(&e, &upto(2), secs(3.5)), Decision::Open);
    assert_eq!(decide(&e, &upto(3), secs(4.0)), failed("never[0]"));
    // Outside its window the event is allowed.
    let later = exp("[[never]]\nreason = \"Killing\"\nwithin = \"0s..3s\"\n")?;
    assert_eq!(decide(&later, &upto(4), secs(6.0)), Decision::Open);
    Ok(())
}

#[test]
fn a_count_fails_above_its_bound_at_once_and_below_it_when_its_window_closes() -> Result<(), String>
{
    let most = exp("[[counts]]\nreason = \"Killing\"\nat_most = 0\n")?;
    assert_eq!(decide(&most, &upto(3), secs(4.0)), failed("counts[0]"));
    let least = exp("[[counts]]\nreason = \"Killing\"\nat_least = 1\nwithin = \"0s..3.5s\"\n")?;
    assert_eq!(decide(&least, &upto(2), secs(3.5)), Decision::Open);
    assert_eq!(decide(&least, &upto(2), secs(3.6)), failed("counts[0]"));
    // Without a window more events may still come: only the end of the run can tell.
    let open = exp("[[counts]]\nreason = \"Killing\"\nexactly = 2\n")?;
    assert_eq!(decide(&open, &upto(4), secs(60.0)), Decision::Open);
    Ok(())
}

#[test]
fn an_ordered_event_fails_once_its_window_has_closed_without_it() -> Result<(), String> {
    let e = exp("[[events]]\nreason = \"Killing\"\nat = \"0s..2s\"\n")?;
    assert_eq!(decide(&e, &upto(1), secs(1.5)), Decision::Open);
    assert_eq!(decide(&e, &upto(2), secs(2.5)), failed("events[0]"));
    // Measured from the previous item's match: open until that window closes.
    let after = exp(
        "[[events]]\nreason = \"Killing\"\n[[events]]\nreason = \"Killing\"\nafter_previous = \"0s..1s\"\n",
    )?;
    assert_eq!(decide(&after, &upto(4), secs(4.9)), Decision::Open);
    assert_eq!(decide(&after, &upto(4), secs(5.1)), failed("events[1]"));
    // No window: the event may still come.
    let any = exp("[[events]]\nreason = \"BackOff\"\n")?;
    assert_eq!(decide(&any, &upto(4), secs(60.0)), Decision::Open);
    Ok(())
}

#[test]
fn strict_order_fails_once_another_event_follows_the_previous_match() -> Result<(), String> {
    let e = exp(
        "strict_order = true\n[[events]]\nreason = \"Killing\"\n[[events]]\nreason = \"Started\"\n",
    )?;
    let mut t = upto(3);
    assert_eq!(decide(&e, &t, secs(4.5)), Decision::Open);
    let mut other = crash_and_restart().entries[2].clone();
    if let Entry::Event(ev) = &mut other {
        ev.at = secs(4.6);
        ev.reason = "Pulled".into();
    }
    t.entries.push(other);
    assert_eq!(decide(&e, &t, secs(4.6)), failed("events[1]"));
    Ok(())
}

#[test]
fn a_state_fails_for_good_once_broken_at_a_recorded_instant_or_its_window_closed()
-> Result<(), String> {
    let e = exp("[[states]]\nduring = \"0s..10s\"\ncontainers.app = { restartCount = 0 }\n")?;
    // Held until the restart at 5 s: a later status cannot undo the mismatch at 5 s.
    assert_eq!(decide(&e, &upto(3), secs(4.5)), Decision::Open);
    assert_eq!(decide(&e, &upto(4), secs(6.0)), failed("states[0]"));
    // A window that has not begun is not judged by the status in effect now.
    let later = exp("[[states]]\nduring = \"8s..10s\"\nphase = \"Failed\"\n")?;
    assert_eq!(decide(&later, &upto(4), secs(6.0)), Decision::Open);
    let never_held = exp("[[states]]\nwithin = \"0s..2s\"\nphase = \"Succeeded\"\n")?;
    assert_eq!(
        decide(&never_held, &upto(1), secs(2.5)),
        failed("states[0]")
    );
    Ok(())
}

#[test]
fn an_early_stop_judges_only_what_cannot_change() -> Result<(), String> {
    let e = exp(concat!(
        "[[events]]\nreason = \"BackOff\"\n",
        "[[never]]\nreason = \"Killing\"\n",
        "[[never]]\nreason = \"Pulled\"\n",
        "[[counts]]\nreason = \"Killing\"\nat_least = 2\n",
        "[[counts]]\nreason = \"Killing\"\nat_least = 1\n",
        "[[counts]]\nreason = \"Killing\"\nat_most = 5\nwithin = \"0s..2s\"\n",
        "[[states]]\nduring = \"0s..30s\"\nphase = \"Running\"\n",
        "[[states]]\nat = \"2s\"\nphase = \"Running\"\n",
        "[final]\nphase = \"Succeeded\"\n",
    ))?;
    let t = upto(3);
    let at = secs(4.0);
    let key = match decide(&e, &t, at) {
        Decision::Failed(k) => k,
        other => return Err(format!("expected a failure for good, got {other:?}")),
    };
    assert_eq!(key, "never[0]");
    let mut v = super::super::check(&e, &t, &[], &|_| String::new());
    judge_early_stop(&e, &t, at, Some((key, secs(4.0))), &mut v);
    let keys: Vec<&str> = v
        .failures
        .iter()
        .map(|f| f.split(':').next().unwrap_or(f))
        .collect();
    assert_eq!(keys, ["never[0]"]);
    let stop = v.stopped_early.ok_or("no early stop recorded")?;
    assert_eq!(stop.failed, "never[0]");
    assert_eq!(
        stop.not_judged,
        ["events[0]", "never[1]", "counts[0]", "states[0]", "final"]
    );
    Ok(())
}

#[test]
fn recheck_times_cover_every_window_measured_from_creation() -> Result<(), String> {
    let e = exp(concat!(
        "[[events]]\nreason = \"Started\"\nat = \"0s..2s\"\n",
        "[[counts]]\nreason = \"Killing\"\nat_least = 1\nwithin = \"1s..3s\"\n",
        "[[states]]\nwithin = \"0s..4s\"\nphase = \"Running\"\n",
    ))?;
    let ms = |n: u64| Duration::from_millis(n);
    assert_eq!(super::recheck_times(&e), [ms(4001), ms(2001), ms(3001)]);
    Ok(())
}

#[test]
fn after_a_failure_for_good_the_run_goes_on_for_a_tail_then_stops() -> Result<(), String> {
    let e = exp("[[never]]\nreason = \"Killing\"\n")?;
    let mut settle = super::Settle::new(&e);
    assert_eq!(settle.stop_at(&upto(2), secs(3.5)), None);
    // Failed at 4 s: as long again, so the run stops at 8 s, and keeps that time.
    assert_eq!(settle.stop_at(&upto(3), secs(4.0)), Some(secs(8.0)));
    assert_eq!(settle.stop_at(&upto(4), secs(6.0)), Some(secs(8.0)));
    assert_eq!(settle.decision(), &failed("never[0]"));
    let ok = exp("[[events]]\nreason = \"Killing\"\n")?;
    let mut settle = super::Settle::new(&ok);
    assert_eq!(settle.stop_at(&upto(3), secs(4.0)), Some(secs(4.0)));
    Ok(())
}

#[test]
fn the_failure_tail_is_as_long_again_within_1_and_10_seconds() {
    let tail = |s: f64| super::failure_tail(secs(s));
    assert_eq!(tail(0.2), secs(1.0));
    assert_eq!(tail(4.0), secs(4.0));
    assert_eq!(tail(60.0), secs(10.0));
}

#[test]
fn a_never_execution_fails_for_good_once_it_happened() -> Result<(), String> {
    let e = exp("[[never_executions]]\nexecution = \"signal\"\nsignal = \"SIGKILL\"\n")?;
    let mut t = upto(2);
    assert_eq!(decide(&e, &t, secs(3.5)), Decision::Open);
    t.entries.push(Entry::Execution(crate::events::Execution {
        at: secs(3.6),
        container: "app".into(),
        instance: 0,
        what: crate::events::ExecutionKind::Signal {
            signal: libc::SIGKILL,
        },
    }));
    assert_eq!(decide(&e, &t, secs(3.6)), failed("never_executions[0]"));
    // Outside its window the kill is allowed.
    let later = exp(
        "[[never_executions]]\nexecution = \"signal\"\nsignal = \"SIGKILL\"\nat = \"0s..3s\"\n",
    )?;
    assert_eq!(decide(&later, &t, secs(4.0)), Decision::Open);
    Ok(())
}

#[test]
fn a_within_state_holds_only_at_an_instant_the_run_has_reached() -> Result<(), String> {
    // Running at 5 s; the window 6 s..8 s has not begun at 5.5 s, so it has not held yet.
    let e = exp("[[states]]\nwithin = \"6s..8s\"\nphase = \"Running\"\n")?;
    assert_eq!(decide(&e, &upto(4), secs(5.5)), Decision::Open);
    assert_eq!(decide(&e, &upto(4), secs(6.1)), Decision::Passed);
    Ok(())
}

#[test]
fn an_early_stop_leaves_open_log_and_execution_items_and_a_pod_never_created_unjudged()
-> Result<(), String> {
    let e = exp(concat!(
        "[[never]]\nreason = \"Killing\"\n",
        "[[logs]]\ncontainer = \"app\"\ncontains = \"panic\"\nabsent = true\n",
        "[[executions]]\nexecution = \"exit\"\nat = \"0s..1s\"\n",
        "[[executions]]\nexecution = \"start\"\n",
    ))?;
    let t = upto(3);
    let mut v = super::super::check(&e, &t, &[], &|_| String::new());
    judge_early_stop(
        &e,
        &t,
        secs(4.0),
        Some(("never[0]".into(), secs(4.0))),
        &mut v,
    );
    let stop = v.stopped_early.clone().ok_or("no early stop")?;
    // The absent line may still be written; the exit's window closed at 1 s: final.
    assert_eq!(stop.not_judged, ["logs[0]"]);
    assert!(
        v.failures.iter().any(|f| is_about("executions[0]", f)),
        "{:?}",
        v.failures
    );
    let mut none = super::super::check(&e, &Timeline::default(), &[], &|_| String::new());
    judge_early_stop(&e, &Timeline::default(), secs(4.0), None, &mut none);
    let stop = none.stopped_early.ok_or("no early stop")?;
    assert_eq!(
        stop.not_judged,
        ["executions[0]", "executions[1]", "never[0]", "logs[0]"]
    );
    assert!(none.failures.is_empty(), "{:?}", none.failures);
    Ok(())
}
