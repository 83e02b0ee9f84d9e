//! `podcheck bless`: a run's timeline written back into its spec as expectations, the way
//! insta writes a snapshot for review.
//!
//! What is written: the ordered events (the first of each kind, repeats folded into
//! counts), the kubectl STATUS path and the final state, each only as far as the run
//! shows it reliably. Windows come from the spec's own periods, never exact times: an
//! observed time ± the tolerance of [`tolerance`]. Everything bless writes carries the
//! comment `# blessed`; blessing again replaces exactly those, and a kind of expectation the
//! author wrote by hand (events, counts, statuses, final) is kept and not blessed.

use std::time::Duration;

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use crate::events::{ContainerState, Event, EventType, PodStatus, Timeline};
use crate::kubelet::EndReason;
use crate::spec::duration::{TimeWindow, format_secs};
use crate::spec::model::{Pod, api_seconds};

/// The comment that marks what bless wrote (and may replace).
pub const MARK: &str = "# blessed";

/// The comment before the first blessed table, for the reviewer.
const HEADER: &str = "# Observed by `podcheck bless`: review before committing; blessing again replaces\n# every item marked `# blessed` and keeps the hand-written ones.\n";

/// Why a spec cannot be blessed.
#[derive(Debug, thiserror::Error)]
pub enum BlessError {
    /// The spec text is not TOML that toml_edit reads.
    #[error("the spec is not valid TOML: {0}")]
    Toml(#[from] toml_edit::TomlError),
    /// `expect` is not a table.
    #[error("`expect` is not a table, so expectations cannot be added to it")]
    ExpectNotTable,
    /// The run gives nothing stable to write.
    #[error("{0}")]
    Run(String),
}

/// The spec text without anything an earlier bless wrote: what the run uses, and what the
/// new expectations are added to.
pub fn strip(source: &str) -> Result<DocumentMut, BlessError> {
    let mut doc: DocumentMut = source.parse()?;
    let Some(expect) = doc.get_mut("expect") else {
        return Ok(doc);
    };
    if let Some(t) = expect.as_table_mut() {
        unheader(t.decor_mut());
    }
    let Some(expect) = expect.as_table_like_mut() else {
        return Err(BlessError::ExpectNotTable);
    };
    for key in ["events", "counts"] {
        let empty = match expect.get_mut(key) {
            Some(Item::ArrayOfTables(aot)) => {
                aot.retain(|t| !marked(t.decor().suffix()));
                aot.is_empty()
            }
            _ => false,
        };
        if empty {
            expect.remove(key);
        }
    }
    let blessed_statuses = expect
        .get("statuses")
        .and_then(Item::as_value)
        .is_some_and(|v| marked(v.decor().suffix()));
    if blessed_statuses {
        expect.remove("statuses");
    }
    let blessed_final =
        matches!(expect.get("final"), Some(Item::Table(t)) if marked(t.decor().suffix()));
    if blessed_final {
        expect.remove("final");
    }
    // An [expect] header with no keys left is the one bless wrote for its statuses: it goes,
    // so the next bless writes header and comment together again.
    if let Some(t) = doc.get_mut("expect").and_then(Item::as_table_mut)
        && t.iter().all(|(_, item)| !item.is_value())
    {
        t.set_implicit(true);
    }
    Ok(doc)
}

/// Removes bless's reviewer comment from a prefix it was written into.
fn unheader(decor: &mut toml_edit::Decor) {
    let prefix = decor.prefix().and_then(|p| p.as_str()).map(str::to_owned);
    if let Some(p) = prefix
        && p.contains(HEADER)
    {
        decor.set_prefix(
            p.replacen(&format!("\n{HEADER}"), "", 1)
                .replacen(HEADER, "", 1),
        );
    }
}

fn marked(suffix: Option<&toml_edit::RawString>) -> bool {
    suffix
        .and_then(|s| s.as_str())
        .is_some_and(|s| s.contains(MARK))
}

/// What a bless added and kept, for the command's summary.
#[derive(Debug, Default)]
pub struct Blessed {
    /// The new spec text.
    pub text: String,
    /// Lines such as `5 events`, `statuses`, `final`.
    pub added: Vec<String>,
    /// Kinds kept because the author wrote them.
    pub kept: Vec<String>,
}

/// The run facts bless reads: the timeline, how it ended, the pod (for periods) and the
/// time scale the run used.
pub struct Run<'a> {
    /// The recorded timeline.
    pub timeline: &'a Timeline,
    /// Why the run ended.
    pub end: EndReason,
    /// Spec time at the end.
    pub ended_at: Duration,
    /// The pod as declared.
    pub pod: &'a Pod,
    /// Real seconds per spec second.
    pub scale: f64,
}

/// The tolerance of an observed time: max(1 s, the container's longest probe period, 250 ms
/// of real time in spec time). A probe sees a change only on its worker's next tick, so what
/// a probe causes (Ready, an Unhealthy streak, a kill) moves by up to one period when the
/// app's own timing moves a little; a process start or exit moves by real milliseconds
/// (more on a loaded machine), which a time scale below 1 magnifies.
pub fn tolerance(pod: &Pod, container: Option<&str>, scale: f64) -> Duration {
    let real = if scale > 0.0 {
        crate::clock::secs_f64(0.25 / scale)
    } else {
        Duration::ZERO
    };
    let period = container
        .and_then(|name| {
            pod.init_containers
                .iter()
                .chain(&pod.containers)
                .find(|c| c.name == name)
        })
        .map(|c| {
            [&c.liveness_probe, &c.readiness_probe, &c.startup_probe]
                .into_iter()
                .flatten()
                .map(|p| api_seconds(p.period_seconds, 10))
                .max()
                .unwrap_or(Duration::ZERO)
        })
        .unwrap_or(Duration::ZERO);
    Duration::from_secs(1).max(period).max(real)
}

/// A window around `t`, `tol` either side, widened outward to whole seconds.
fn window(t: Duration, tol: Duration) -> TimeWindow {
    let from = t.saturating_sub(tol).as_secs();
    let to = t.saturating_add(tol);
    let to = to.as_secs() + u64::from(to.subsec_nanos() > 0);
    TimeWindow {
        from: Some(Duration::from_secs(from)),
        to: Some(Duration::from_secs(to)),
    }
}

/// How a blessed event's message is matched: exactly, or by the text before the first part
/// that changes every run: a measured duration (`Successfully pulled image "x" in 12ms`) or
/// the pod's UID (`Back-off restarting failed container app in pod x_default(<uid>)`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Exact(String),
    Contains(String),
    Any,
}

fn message_match(message: &str) -> Msg {
    static MEASURED: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"\d+\.\d+\s?(ns|µs|us|ms|s|m)\b|\d+(ns|µs|us|ms)\b|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-",
        )
        .ok()
    });
    let cut = MEASURED
        .as_ref()
        .and_then(|re| re.find(message))
        .map(|m| m.start());
    match cut {
        None => Msg::Exact(message.to_owned()),
        Some(i) => {
            let prefix = message[..i].trim_end();
            if prefix.chars().count() >= 8 {
                Msg::Contains(prefix.to_owned())
            } else {
                Msg::Any
            }
        }
    }
}

fn msg_matches(m: &Msg, message: &str) -> bool {
    match m {
        Msg::Exact(s) => s == message,
        Msg::Contains(s) => message.contains(s.as_str()),
        Msg::Any => true,
    }
}

/// One kind of event: what an `[[expect.events]]` item or a count matches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Kind {
    reason: String,
    warning: bool,
    container: Option<String>,
    message: Msg,
}

impl Kind {
    fn of(e: &Event) -> Kind {
        Kind {
            reason: e.reason.clone(),
            warning: e.event_type == EventType::Warning,
            container: e.container.clone(),
            message: message_match(&e.message),
        }
    }

    fn matches(&self, e: &Event) -> bool {
        e.reason == self.reason
            && (e.event_type == EventType::Warning) == self.warning
            && e.container == self.container
            && msg_matches(&self.message, &e.message)
    }

    fn write(&self, t: &mut Table) {
        t.insert("reason", toml_edit::value(self.reason.as_str()));
        if self.warning {
            t.insert("type", toml_edit::value("Warning"));
        }
        if let Some(c) = &self.container {
            t.insert("container", toml_edit::value(c.as_str()));
        }
        match &self.message {
            Msg::Exact(m) => {
                t.insert("message", toml_edit::value(m.as_str()));
            }
            Msg::Contains(m) => {
                let mut it = InlineTable::new();
                it.insert("contains", m.as_str().into());
                t.insert("message", toml_edit::value(it));
            }
            Msg::Any => {}
        }
    }
}

/// Writes the run's observations into `doc` (as returned by [`strip`]).
pub fn bless(mut doc: DocumentMut, run: &Run<'_>) -> Result<Blessed, BlessError> {
    if run.end == EndReason::TimedOut {
        return Err(BlessError::Run(
            "the run ended at run.timeout, so nothing it showed is known to hold: set run.duration (spec time) so the pod's run has an end, then bless again".into(),
        ));
    }
    if run.end == EndReason::Interrupted {
        return Err(BlessError::Run(
            "the run was interrupted; nothing was written".into(),
        ));
    }
    let finished = run.end == EndReason::PodFinished;
    let mut out = Blessed::default();
    let root = doc.as_table_mut();
    if !root.contains_key("expect") {
        let mut t = Table::new();
        t.set_implicit(true);
        root.insert("expect", Item::Table(t));
    }
    let Some(expect) = root.get_mut("expect").and_then(Item::as_table_mut) else {
        return Err(BlessError::ExpectNotTable);
    };
    let mut header = Some(HEADER);
    let mut take_header = |decor: &mut toml_edit::Decor| {
        if let Some(h) = header.take() {
            decor.set_prefix(format!("\n{h}"));
        }
    };
    // The STATUS column's path, up to where a second run is sure to have got.
    if expect.contains_key("statuses") {
        out.kept.push("statuses".into());
    } else {
        let cutoff = if finished {
            run.ended_at
        } else {
            run.ended_at
                .saturating_sub(tolerance(run.pod, None, run.scale))
        };
        let mut path: Vec<String> = Vec::new();
        for (at, st) in run.timeline.statuses() {
            let col = crate::print_pod::pod_row(st, Duration::ZERO).status;
            if at <= cutoff && path.last() != Some(&col) {
                path.push(col);
            }
        }
        if !path.is_empty() {
            let mut arr = Array::new();
            for p in &path {
                arr.push(p.as_str());
            }
            let mut v = Value::Array(arr);
            v.decor_mut().set_suffix(format!(" {MARK}"));
            let made_here = expect.is_implicit();
            expect.insert("statuses", Item::Value(v));
            if made_here {
                // bless makes the [expect] header, so the reviewer comment goes above it.
                expect.set_implicit(false);
                take_header(expect.decor_mut());
            } else if let Some(mut key) = expect.key_mut("statuses") {
                take_header(key.leaf_decor_mut());
            }
            out.added.push("statuses".into());
        }
    }
    let events: Vec<&Event> = run.timeline.events().collect();
    // Ordered events: the first of each kind, in the order they happened.
    let mut kinds: Vec<(Kind, Duration)> = Vec::new();
    for e in &events {
        let k = Kind::of(e);
        if !kinds.iter().any(|(seen, _)| seen.matches(e) || *seen == k) {
            kinds.push((k, e.at));
        }
    }
    if expect.contains_key("events") {
        out.kept.push("events".into());
    } else if !kinds.is_empty() {
        let mut aot = ArrayOfTables::new();
        for (k, at) in &kinds {
            let mut t = Table::new();
            t.decor_mut().set_suffix(format!(" {MARK}"));
            if aot.is_empty() {
                take_header(t.decor_mut());
            }
            k.write(&mut t);
            let tol = tolerance(run.pod, k.container.as_deref(), run.scale);
            t.insert("at", toml_edit::value(window(*at, tol).to_string()));
            aot.push(t);
        }
        out.added.push(format!("{} events", aot.len()));
        expect.insert("events", Item::ArrayOfTables(aot));
    }
    // Repeats folded into counts: exact when the pod finished (nothing more can happen),
    // otherwise at least the ones that came before the end's tolerance.
    if expect.contains_key("counts") {
        out.kept.push("counts".into());
    } else {
        let mut aot = ArrayOfTables::new();
        for (k, _) in &kinds {
            let all: Vec<&&Event> = events.iter().filter(|e| k.matches(e)).collect();
            if all.len() < 2 {
                continue;
            }
            let tol = tolerance(run.pod, k.container.as_deref(), run.scale);
            let cutoff = run.ended_at.saturating_sub(tol);
            let sure = all.iter().filter(|e| e.at <= cutoff).count();
            let mut t = Table::new();
            t.decor_mut().set_suffix(format!(" {MARK}"));
            k.write(&mut t);
            if finished {
                t.insert("exactly", toml_edit::value(all.len() as i64));
            } else if sure >= 2 {
                t.insert("at_least", toml_edit::value(sure as i64));
            } else {
                continue;
            }
            if aot.is_empty() {
                take_header(t.decor_mut());
            }
            aot.push(t);
        }
        if !aot.is_empty() {
            out.added.push(format!("{} counts", aot.len()));
            expect.insert("counts", Item::ArrayOfTables(aot));
        }
    }
    if expect.contains_key("final") {
        out.kept.push("final".into());
    } else if run.end == EndReason::Decided {
        out.kept
            .push("final (not written: the run ended as soon as the expectations held)".into());
    } else if let Some(t) = final_table(run, finished) {
        let mut t = t;
        t.decor_mut().set_suffix(format!(" {MARK}"));
        take_header(t.decor_mut());
        expect.insert("final", Item::Table(t));
        out.added.push("final".into());
    }
    out.text = doc.to_string();
    Ok(out)
}

/// The statuses a second run is sure to share at its end: the last one when the pod
/// finished, else every snapshot from the end's tolerance on.
fn stable_window<'a>(run: &'a Run<'_>, finished: bool) -> Vec<&'a PodStatus> {
    let all: Vec<(Duration, &PodStatus)> = run.timeline.statuses().collect();
    if finished {
        return all.last().map(|(_, s)| *s).into_iter().collect();
    }
    let cutoff = run
        .ended_at
        .saturating_sub(tolerance(run.pod, None, run.scale));
    let first = all.iter().rposition(|(at, _)| *at <= cutoff).unwrap_or(0);
    all[first..].iter().map(|(_, s)| *s).collect()
}

/// `[expect.final]`: each field only when it held throughout the stable window.
fn final_table(run: &Run<'_>, finished: bool) -> Option<Table> {
    let window = stable_window(run, finished);
    let last = *window.last()?;
    let same = |f: &dyn Fn(&PodStatus) -> String| window.iter().all(|s| f(s) == f(last));
    let mut t = Table::new();
    if same(&|s| s.phase.as_str().to_owned()) {
        t.insert("phase", toml_edit::value(last.phase.as_str()));
    }
    if let Some(r) = &last.reason
        && same(&|s| s.reason.clone().unwrap_or_default())
    {
        t.insert("reason", toml_edit::value(r.as_str()));
    }
    let mut conditions = Table::new();
    conditions.set_dotted(true);
    for c in &last.conditions {
        if same(&|s| format!("{:?}", s.condition(&c.kind))) {
            conditions.insert(&c.kind, toml_edit::value(c.status));
        }
    }
    if !conditions.is_empty() {
        t.insert("conditions", Item::Table(conditions));
    }
    let mut containers = Table::new();
    containers.set_dotted(true);
    let statuses = last
        .init_container_statuses
        .iter()
        .chain(&last.container_statuses);
    for c in statuses {
        let get = |s: &PodStatus| s.container(&c.name).cloned();
        let held = |f: &dyn Fn(&crate::events::ContainerStatus) -> String| {
            window.iter().all(|s| get(s).map(|x| f(&x)) == Some(f(c)))
        };
        let mut it = InlineTable::new();
        if held(&|x| x.state.kind().to_owned()) {
            it.insert("state", c.state.kind().into());
            if let Some(r) = c.state.reason()
                && held(&|x| x.state.reason().unwrap_or_default().to_owned())
            {
                it.insert("reason", r.into());
            }
            if let ContainerState::Terminated { exit_code, .. } = &c.state
                && held(&|x| format!("{:?}", exit_code_of(&x.state)))
            {
                it.insert("exitCode", i64::from(*exit_code).into());
            }
        }
        if held(&|x| x.restart_count.to_string()) {
            it.insert("restartCount", i64::from(c.restart_count).into());
        } else if let Some(first) = window.first().and_then(|s| get(s))
            && first.restart_count > 0
        {
            let mut at_least = InlineTable::new();
            at_least.insert("at_least", i64::from(first.restart_count).into());
            it.insert("restartCount", Value::InlineTable(at_least));
        }
        if held(&|x| x.ready.to_string()) {
            it.insert("ready", c.ready.into());
        }
        if let Some(started) = c.started
            && held(&|x| format!("{:?}", x.started))
        {
            it.insert("started", started.into());
        }
        if !it.is_empty() {
            containers.insert(&c.name, toml_edit::value(it));
        }
    }
    if !containers.is_empty() {
        t.insert("containers", Item::Table(containers));
    }
    (!t.is_empty()).then_some(t)
}

fn exit_code_of(s: &ContainerState) -> Option<i32> {
    match s {
        ContainerState::Terminated { exit_code, .. } => Some(*exit_code),
        _ => None,
    }
}

/// A short summary for the command's output: `added 4 events, statuses, final; kept counts`.
pub fn summary(b: &Blessed) -> String {
    let mut s = String::new();
    if b.added.is_empty() {
        s.push_str("added nothing");
    } else {
        s.push_str("added ");
        s.push_str(&b.added.join(", "));
    }
    if !b.kept.is_empty() {
        s.push_str("; kept the hand-written ");
        s.push_str(&b.kept.join(", "));
    }
    s
}

/// A unified diff of the spec before and after, for `--diff`.
pub fn diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(path, &format!("{path} (blessed)"))
        .to_string()
}

/// Formats a spec time as specs write it (used in summaries).
pub fn secs(d: Duration) -> String {
    format_secs(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_round_outward_to_whole_seconds_and_saturate_at_zero() {
        let w = window(Duration::from_millis(300), Duration::from_secs(1));
        assert_eq!(w.to_string(), "0s..2s");
        let w = window(Duration::from_millis(12_300), Duration::from_secs(10));
        assert_eq!(w.to_string(), "2s..23s");
        assert!(w.contains(Duration::from_millis(12_300)));
    }

    #[test]
    fn measured_durations_become_a_prefix_match() {
        assert_eq!(
            message_match("Back-off 10s restarting failed container app"),
            Msg::Exact("Back-off 10s restarting failed container app".into())
        );
        assert_eq!(
            message_match("Successfully pulled image \"x\" in 12ms (12ms including waiting)"),
            Msg::Contains("Successfully pulled image \"x\" in".into())
        );
        assert_eq!(message_match("in 1.5s"), Msg::Any);
    }

    #[test]
    fn strip_removes_only_blessed_items() {
        let src = "# top\nname = \"x\"\n\n[[expect.events]]\nreason = \"Started\"\n\n[[expect.events]] # blessed\nreason = \"Killing\"\n\n[expect.final] # blessed\nphase = \"Running\"\n";
        let doc = strip(src).expect("parses");
        let text = doc.to_string();
        assert!(text.contains("# top"), "{text}");
        assert!(text.contains("Started"), "{text}");
        assert!(!text.contains("Killing"), "{text}");
        assert!(!text.contains("final"), "{text}");
    }
}
