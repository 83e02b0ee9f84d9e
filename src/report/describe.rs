//! Parts of `kubectl describe pod`: the `Events:` table (after the kubelet's event correlator
//! has counted, combined and rate-limited the raw events) and a short container/condition view.

use std::time::Duration;

use crate::events::{ContainerState, ContainerStatus, Event, EventType, PodStatus};

use super::kubectl::{human_duration, since, tabwrite};
use super::probes::ProbeSummary;

// client-go tools/record events_cache.go defaults, which the kubelet's recorder uses.
const AGGREGATE_MAX_EVENTS: usize = 10;
const AGGREGATE_INTERVAL: Duration = Duration::from_secs(600);
const SPAM_BURST: f64 = 25.0;
// The Go code keeps qps as a float32; widening that value keeps the 300 s refill from
// landing a hair short of one token.
const SPAM_QPS: f64 = (1.0f32 / 300.0f32) as f64;
const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// One Event object as the API would hold it after the recorder's correlation.
#[derive(Debug, Clone, PartialEq)]
struct ApiEvent {
    event_type: EventType,
    reason: String,
    message: String,
    field_path: Option<String>,
    source: &'static str,
    first: Duration,
    last: Duration,
    count: u32,
}

/// The recorder's de-duplication key: the exact event, or a reason-wide aggregate.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Exact {
        source: &'static str,
        field_path: Option<String>,
        event_type: EventType,
        reason: String,
        message: String,
    },
    Combined {
        source: &'static str,
        event_type: EventType,
        reason: String,
    },
}

struct Similar {
    source: &'static str,
    event_type: EventType,
    reason: String,
    messages: Vec<String>,
    last: Duration,
}

struct Seen {
    key: Key,
    count: u32,
    first: Duration,
    api: Option<usize>,
}

struct Bucket {
    source: &'static str,
    tokens: f64,
    last: Duration,
}

/// Replays client-go's EventCorrelator over raw events: aggregate, count, then spam-filter.
///
/// Every raw event here is about the same pod, so "source + involved object" reduces to the
/// source component, and the exact key adds only the field path.
fn correlate(events: &[Event]) -> Vec<ApiEvent> {
    let mut similar: Vec<Similar> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut api: Vec<ApiEvent> = Vec::new();

    for e in events {
        let (key, message) = aggregate(&mut similar, e);

        let entry = match seen.iter().position(|s| s.key == key) {
            Some(i) => {
                seen[i].count += 1;
                i
            }
            None => {
                seen.push(Seen {
                    key,
                    count: 1,
                    first: e.at,
                    api: None,
                });
                seen.len() - 1
            }
        };

        // The count above is kept even when the filter drops this write, so a later
        // accepted occurrence carries the full count, exactly as the recorder does.
        if !spam_allows(&mut buckets, e.source, e.at) {
            continue;
        }
        let s = &mut seen[entry];
        match s.api {
            Some(i) => {
                // A patch touches only count, lastTimestamp and message.
                api[i].count = s.count;
                api[i].last = e.at;
                api[i].message = message;
            }
            None => {
                api.push(ApiEvent {
                    event_type: e.event_type,
                    reason: e.reason.clone(),
                    message,
                    field_path: e.field_path.clone(),
                    source: e.source,
                    first: s.first,
                    last: e.at,
                    count: s.count,
                });
                s.api = Some(api.len() - 1);
            }
        }
    }
    api
}

/// EventAggregator: the tenth distinct message for one reason within ten minutes turns the
/// event into a "combined" one keyed by reason alone.
fn aggregate(similar: &mut Vec<Similar>, e: &Event) -> (Key, String) {
    let found = similar
        .iter()
        .position(|s| s.source == e.source && s.event_type == e.event_type && s.reason == e.reason);
    let idx = match found {
        Some(i) => i,
        None => {
            similar.push(Similar {
                source: e.source,
                event_type: e.event_type,
                reason: e.reason.clone(),
                messages: Vec::new(),
                last: e.at,
            });
            similar.len() - 1
        }
    };
    let record = &mut similar[idx];
    if e.at.saturating_sub(record.last) > AGGREGATE_INTERVAL {
        record.messages.clear();
    }
    record.last = e.at;
    if !record.messages.contains(&e.message) {
        record.messages.push(e.message.clone());
    }
    if record.messages.len() < AGGREGATE_MAX_EVENTS {
        let key = Key::Exact {
            source: e.source,
            field_path: e.field_path.clone(),
            event_type: e.event_type,
            reason: e.reason.clone(),
            message: e.message.clone(),
        };
        return (key, e.message.clone());
    }
    // Go drops an arbitrary message (PopAny) to stay under the limit; dropping the one just
    // added is one of its possible outcomes and keeps the replay deterministic.
    record.messages.pop();
    let key = Key::Combined {
        source: e.source,
        event_type: e.event_type,
        reason: e.reason.clone(),
    };
    (key, format!("{COMBINED_PREFIX}{}", e.message))
}

/// EventSourceObjectSpamFilter: a token bucket of 25 per source and object, one token per 5 min.
fn spam_allows(buckets: &mut Vec<Bucket>, source: &'static str, at: Duration) -> bool {
    let idx = match buckets.iter().position(|b| b.source == source) {
        Some(i) => i,
        None => {
            buckets.push(Bucket {
                source,
                tokens: SPAM_BURST,
                last: at,
            });
            buckets.len() - 1
        }
    };
    let b = &mut buckets[idx];
    let elapsed = at.saturating_sub(b.last).as_secs_f64();
    b.tokens = (b.tokens + elapsed * SPAM_QPS).min(SPAM_BURST);
    b.last = b.last.max(at);
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        true
    } else {
        false
    }
}

/// What `podcheck run` prints after a spec: per pod (headed by its name when there are
/// several) the `Events:` table and the containers' states, then each Service's endpoints.
pub fn describe_report(report: &crate::runner::SpecReport) -> String {
    let mut text = String::new();
    let several = !report.other_pods.is_empty();
    for (name, _, outcome) in report.pods() {
        text.push('\n');
        if several {
            text.push_str(&format!("Pod {name}:\n"));
        }
        let events: Vec<_> = outcome.timeline.events().cloned().collect();
        text.push_str(&describe_events(&events, outcome.ended_at));
        if let Some(st) = outcome.timeline.last_status() {
            let probes = super::probes::summarize(&outcome.timeline);
            text.push_str(&describe_containers_at(st, &probes, Some(&report.wall)));
        }
    }
    text.push_str(&super::services::describe_services(report));
    text
}

/// The `Events:` section of `kubectl describe pod` at spec time `now`, ending in a newline.
///
/// Events are correlated as the kubelet's recorder would (same-event counts, "combined from
/// similar events" after ten distinct messages per reason in ten minutes, 25-event burst then
/// one per five minutes per source) and listed by last occurrence as kubectl sorts them.
pub fn describe_events(events: &[Event], now: Duration) -> String {
    let mut api = correlate(events);
    if api.is_empty() {
        return tabwrite("Events:\t<none>\n", 0, 2, None);
    }
    // kubectl sorts on lastTimestamp, which has one-second precision; equal seconds keep the
    // API's listing order, which is creation order.
    api.sort_by_key(|e| e.last.as_secs());
    let mut text = String::from("Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    text.push_str("  ----\t------\t----\t----\t-------\n");
    for e in &api {
        let age = if e.count > 1 {
            format!(
                "{} (x{} over {})",
                human_duration(since(now, e.last)),
                e.count,
                human_duration(since(now, e.first))
            )
        } else {
            human_duration(since(now, e.first))
        };
        let message = super::terminal_safe(e.message.trim());
        let message = match e.field_path.as_deref() {
            Some(path) if !path.is_empty() => format!("{path}: {message}"),
            _ => message.to_string(),
        };
        text.push_str(&format!(
            "  {}\t{}\t{}\t{}\t{}\n",
            e.event_type.as_str(),
            e.reason,
            age,
            e.source,
            message
        ));
    }
    tabwrite(&text, 0, 2, None)
}

/// When the run happened (kept with the clock, which the runner fills in).
pub use crate::clock::WallClock;

/// The `Init Containers:` / `Containers:` / `Conditions:` sections, ending in a newline.
///
/// Times are spec time (seconds since pod creation) where kubectl prints RFC 1123 dates;
/// spec, image and mount lines are left out.
pub fn describe_containers(status: &PodStatus) -> String {
    describe_containers_with_probes(status, &[])
}

/// [`describe_containers`] with a `Probes:` summary under each container that ran probes
/// (podcheck's addition: kubectl shows only the probes' settings).
pub fn describe_containers_with_probes(status: &PodStatus, probes: &[ProbeSummary]) -> String {
    describe_containers_at(status, probes, None)
}

/// [`describe_containers_with_probes`] with the container states' times as kubectl prints
/// them, a date, followed by the spec time in parentheses:
/// `Started:  Wed, 02 Dec 2026 00:12:03 +0000 (1.5s)`.
pub fn describe_containers_at(
    status: &PodStatus,
    probes: &[ProbeSummary],
    wall: Option<&WallClock>,
) -> String {
    let mut text = String::new();
    if !status.init_container_statuses.is_empty() {
        text.push_str("Init Containers:\n");
        for c in &status.init_container_statuses {
            container_block(&mut text, c, wall);
            super::probes::describe_block(&mut text, &c.name, probes);
        }
    }
    text.push_str("Containers:\n");
    for c in &status.container_statuses {
        container_block(&mut text, c, wall);
        super::probes::describe_block(&mut text, &c.name, probes);
    }
    if !status.conditions.is_empty() {
        text.push_str("Conditions:\n  Type\tStatus\n");
        for c in &status.conditions {
            // kubectl writes a space before each tab and newline here; copied for identical
            // column widths.
            text.push_str(&format!("  {} \t{} \n", c.kind, api_bool(c.status)));
        }
    }
    tabwrite(&text, 0, 2, None)
}

fn container_block(text: &mut String, c: &ContainerStatus, wall: Option<&WallClock>) {
    text.push_str(&format!("  {}:\n", c.name));
    state_lines(text, "State", &c.state, wall);
    // Like kubectl, a previous state is shown only when it is a termination.
    if let Some(last @ ContainerState::Terminated { .. }) = &c.last_state {
        state_lines(text, "Last State", last, wall);
    }
    text.push_str(&format!("    Ready:\t{}\n", api_bool(c.ready)));
    text.push_str(&format!("    Restart Count:\t{}\n", c.restart_count));
}

fn state_lines(text: &mut String, label: &str, state: &ContainerState, wall: Option<&WallClock>) {
    let when = |d: Duration| match wall {
        Some(w) => format!("{} ({})", w.date(d), spec_time(d)),
        None => spec_time(d),
    };
    match state {
        ContainerState::Running { started_at } => {
            text.push_str(&format!("    {label}:\tRunning\n"));
            text.push_str(&format!("      Started:\t{}\n", when(*started_at)));
        }
        ContainerState::Waiting { reason, .. } => {
            text.push_str(&format!("    {label}:\tWaiting\n"));
            if let Some(r) = reason.as_deref().filter(|r| !r.is_empty()) {
                text.push_str(&format!("      Reason:\t{r}\n"));
            }
        }
        ContainerState::Terminated {
            exit_code,
            signal,
            reason,
            message,
            started_at,
            finished_at,
        } => {
            text.push_str(&format!("    {label}:\tTerminated\n"));
            if !reason.is_empty() {
                text.push_str(&format!("      Reason:\t{reason}\n"));
            }
            if let Some(m) = message.as_deref().filter(|m| !m.is_empty()) {
                text.push_str(&format!("      Message:\t{m}\n"));
            }
            text.push_str(&format!("      Exit Code:\t{exit_code}\n"));
            if let Some(sig) = signal.filter(|s| *s > 0) {
                text.push_str(&format!("      Signal:\t{sig}\n"));
            }
            text.push_str(&format!("      Started:\t{}\n", when(*started_at)));
            text.push_str(&format!("      Finished:\t{}\n", when(*finished_at)));
        }
    }
}

/// Go's `%v` of a bool condition status or ready flag, as the API spells it.
fn api_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Spec time as seconds with up to millisecond precision: `3s`, `3.25s`.
fn spec_time(d: Duration) -> String {
    let millis = d.subsec_millis();
    if millis == 0 {
        return format!("{}s", d.as_secs());
    }
    let frac = format!("{millis:03}");
    format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Condition, Phase};

    const APP: &str = "spec.containers{app}";

    /// A kubelet event about container `app`; `kind` is `N` (Normal) or `W` (Warning).
    fn ev(at: f64, kind: &str, reason: &str, msg: &str) -> Event {
        Event {
            at: Duration::from_secs_f64(at),
            event_type: if kind == "W" {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            message: msg.into(),
            container: Some("app".into()),
            field_path: Some(APP.into()),
            source: "kubelet",
        }
    }

    fn rows(events: &[Event], now: u64) -> Vec<String> {
        let out = describe_events(events, Duration::from_secs(now));
        out.lines().skip(3).map(str::to_string).collect()
    }

    #[test]
    fn no_events() {
        assert_eq!(describe_events(&[], Duration::ZERO), "Events:  <none>\n");
    }

    #[test]
    fn table_alignment_and_prefixes() {
        let mut scheduled = ev(
            0.1,
            "N",
            "Scheduled",
            "Successfully assigned default/web to node",
        );
        (scheduled.source, scheduled.field_path) = ("default-scheduler", None);
        let events = [
            scheduled,
            ev(
                0.5,
                "N",
                "Pulled",
                "Container image \"app\" already present on machine",
            ),
            ev(0.6, "N", "Created", "  Container created\n"),
            ev(0.7, "N", "Started", "Container started"),
        ];
        let want = "\
Events:
  Type    Reason     Age   From               Message
  ----    ------     ----  ----               -------
  Normal  Scheduled  12s   default-scheduler  Successfully assigned default/web to node
  Normal  Pulled     12s   kubelet            spec.containers{app}: Container image \"app\" already present on machine
  Normal  Created    12s   kubelet            spec.containers{app}: Container created
  Normal  Started    12s   kubelet            spec.containers{app}: Container started
";
        assert_eq!(describe_events(&events, Duration::from_secs(12)), want);
    }

    #[test]
    fn repeats_are_counted_and_sorted_by_last_seen() {
        let backoff = "Back-off restarting failed container app in pod web_default(uid)";
        let events = [
            ev(1.0, "N", "Started", "Container started"),
            ev(3.0, "W", "BackOff", backoff),
            ev(13.0, "N", "Started", "Container started"),
            ev(14.0, "W", "BackOff", backoff),
            ev(40.0, "W", "BackOff", backoff),
        ];
        let rows = rows(&events, 160);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("  Normal   Started  2m27s (x2 over 2m39s)  kubelet  "));
        assert!(rows[1].starts_with("  Warning  BackOff  2m (x3 over 2m37s)     kubelet  "));
    }

    #[test]
    fn same_second_keeps_creation_order() {
        let events = [ev(5.9, "N", "Pulled", "a"), ev(5.1, "N", "Created", "b")];
        let rows = rows(&events, 6);
        assert!(rows[0].contains("Pulled") && rows[1].contains("Created"));
    }

    #[test]
    fn different_field_paths_stay_apart() {
        let mut init = ev(1.0, "N", "Started", "Container started");
        init.field_path = Some("spec.initContainers{init}".into());
        let events = [init, ev(2.0, "N", "Started", "Container started")];
        let rows = rows(&events, 5);
        assert_eq!(
            rows[0],
            "  Normal  Started  4s    kubelet  spec.initContainers{init}: Container started"
        );
        assert_eq!(
            rows[1],
            "  Normal  Started  3s    kubelet  spec.containers{app}: Container started"
        );
    }

    #[test]
    fn ten_distinct_messages_are_combined() {
        let events: Vec<Event> = (0..12)
            .map(|i| {
                ev(
                    f64::from(i),
                    "W",
                    "Unhealthy",
                    &format!("Liveness probe failed: {i}"),
                )
            })
            .collect();
        let api = correlate(&events);
        assert_eq!(api.len(), 10);
        let want = "(combined from similar events): Liveness probe failed: 11";
        assert_eq!(api[9].message, want);
        assert_eq!((api[9].count, api[9].first), (3, Duration::from_secs(9)));
    }

    #[test]
    fn spam_filter_drops_after_burst_but_keeps_counting() {
        let mut events: Vec<Event> = (0..30)
            .map(|i| ev(f64::from(i), "N", "Reason", &format!("m{}", i % 5)))
            .collect();
        // A little over five minutes after the burst ran out one token has come back.
        events.push(ev(329.5, "N", "Reason", "m0"));
        let api = correlate(&events);
        let seen = |m: &str| {
            api.iter()
                .find(|e| e.message == m)
                .map(|e| (e.count, e.last))
        };
        assert_eq!(seen("m0"), Some((7, Duration::from_secs_f64(329.5))));
        // m4 was last accepted at t=24, its fifth occurrence; t=29 was dropped.
        assert_eq!(seen("m4"), Some((5, Duration::from_secs(24))));
    }

    #[test]
    fn containers_and_conditions() {
        let terminated =
            |exit_code, signal, reason: &str, message: Option<&str>| ContainerState::Terminated {
                exit_code,
                signal,
                reason: reason.into(),
                message: message.map(str::to_string),
                started_at: Duration::from_secs(1),
                finished_at: Duration::from_millis(3_040),
            };
        let ctr = |name: &str, state, last_state, restart_count| ContainerStatus {
            name: name.into(),
            state,
            last_state,
            ready: false,
            started: Some(false),
            restart_count,
            sidecar: false,
        };
        let cond = |kind: &'static str, status| Condition {
            kind: kind.into(),
            status,
            reason: None,
            message: None,
        };
        let status = PodStatus {
            phase: Phase::Running,
            reason: None,
            message: None,
            conditions: vec![
                cond("PodReadyToStartContainers", true),
                cond("Ready", false),
            ],
            init_container_statuses: vec![ctr(
                "init",
                terminated(0, None, "Completed", Some("ok")),
                None,
                0,
            )],
            container_statuses: vec![
                ctr(
                    "app",
                    ContainerState::Running {
                        started_at: Duration::from_millis(13_250),
                    },
                    Some(terminated(137, Some(9), "Error", None)),
                    1,
                ),
                ctr(
                    "log",
                    ContainerState::Waiting {
                        reason: Some("ContainerCreating".into()),
                        message: None,
                    },
                    None,
                    0,
                ),
            ],
            deleting: false,
        };
        let want = "\
Init Containers:
  init:
    State:          Terminated
      Reason:       Completed
      Message:      ok
      Exit Code:    0
      Started:      1s
      Finished:     3.04s
    Ready:          False
    Restart Count:  0
Containers:
  app:
    State:          Running
      Started:      13.25s
    Last State:     Terminated
      Reason:       Error
      Exit Code:    137
      Signal:       9
      Started:      1s
      Finished:     3.04s
    Ready:          False
    Restart Count:  1
  log:
    State:          Waiting
      Reason:       ContainerCreating
    Ready:          False
    Restart Count:  0
Conditions:
  Type                        Status
  PodReadyToStartContainers   True 
  Ready                       False 
";
        assert_eq!(describe_containers(&status), want);
    }

    #[test]
    fn state_times_are_dates_as_kubectl_prints_them_then_spec_time() {
        // 2026-12-02 00:12:03 UTC is a Wednesday.
        let wall = WallClock {
            created: std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_170_323),
            scale: 0.1,
        };
        assert_eq!(wall.date(Duration::ZERO), "Wed, 02 Dec 2026 00:12:03 +0000");
        // At scale 0.1, 20 s of spec time are 2 s of real time.
        assert_eq!(
            wall.date(Duration::from_secs(20)),
            "Wed, 02 Dec 2026 00:12:05 +0000"
        );
        let status = PodStatus {
            phase: crate::events::Phase::Running,
            reason: None,
            message: None,
            conditions: Vec::new(),
            init_container_statuses: Vec::new(),
            container_statuses: vec![ContainerStatus {
                name: "app".into(),
                state: ContainerState::Running {
                    started_at: Duration::from_millis(1_500),
                },
                last_state: None,
                ready: true,
                started: Some(true),
                restart_count: 0,
                sidecar: false,
            }],
            deleting: false,
        };
        let text = describe_containers_at(&status, &[], Some(&wall));
        assert!(
            text.contains("      Started:      Wed, 02 Dec 2026 00:12:03 +0000 (1.5s)\n"),
            "{text}"
        );
        assert!(describe_containers(&status).contains("      Started:      1.5s\n"));
    }
}
