//! The kubelet's back-off tables (client-go flowcontrol.Backoff as the kubelet configures it):
//! container restarts (CrashLoopBackOff) and image pulls.

use std::collections::HashMap;
use std::time::Duration;

/// Initial container restart back-off (kubelet `backOffPeriod`).
pub const CONTAINER_BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// Cap of the container restart back-off (`MaxContainerBackOff`, also the v1.35
/// `maxContainerRestartPeriod` default).
pub const CONTAINER_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// A back-off entry expires when the container ran this long since the last restart.
pub const CONTAINER_BACKOFF_RESET: Duration = Duration::from_secs(600);
/// Initial image pull back-off.
pub const IMAGE_BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// Cap of the image pull back-off.
pub const IMAGE_BACKOFF_MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Entry {
    delay: Duration,
    last_update: Duration,
}

/// A per-key exponential back-off, all times in spec time since pod creation.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    reset_after: Duration,
    entries: HashMap<String, Entry>,
}

impl Backoff {
    /// A table with the given initial delay, cap and expiry.
    pub fn new(initial: Duration, max: Duration, reset_after: Duration) -> Self {
        Backoff {
            initial,
            max,
            reset_after,
            entries: HashMap::new(),
        }
    }

    /// The container restart table.
    pub fn containers() -> Self {
        Self::new(
            CONTAINER_BACKOFF_INITIAL,
            CONTAINER_BACKOFF_MAX,
            CONTAINER_BACKOFF_RESET,
        )
    }

    /// The image pull table (entries expire after twice the cap, as client-go's default).
    pub fn images() -> Self {
        Self::new(
            IMAGE_BACKOFF_INITIAL,
            IMAGE_BACKOFF_MAX,
            IMAGE_BACKOFF_MAX * 2,
        )
    }

    fn expired(&self, e: &Entry, event_time: Duration) -> bool {
        event_time.saturating_sub(e.last_update) > self.reset_after
    }

    /// The current delay for `key`, if it has an entry.
    pub fn delay(&self, key: &str) -> Option<Duration> {
        self.entries.get(key).map(|e| e.delay)
    }

    /// `IsInBackOffSince`: whether `now` is still within the delay counted from `event_time`
    /// (the container's finishedAt).
    pub fn in_backoff_since(&self, key: &str, event_time: Duration, now: Duration) -> bool {
        match self.entries.get(key) {
            Some(e) if !self.expired(e, event_time) => now.saturating_sub(event_time) < e.delay,
            _ => false,
        }
    }

    /// When the back-off that started at `event_time` ends, if `key` is in back-off.
    pub fn expiry(&self, key: &str, event_time: Duration) -> Option<Duration> {
        self.entries.get(key).map(|e| event_time + e.delay)
    }

    /// `Next`: records a restart decision at `now`, doubling the delay up to the cap, or
    /// starting over at the initial delay when the entry is new or expired.
    pub fn next(&mut self, key: &str, now: Duration) {
        let fresh = Entry {
            delay: self.initial.min(self.max),
            last_update: now,
        };
        let entry = match self.entries.get(key) {
            Some(e) if !self.expired(e, now) => Entry {
                delay: (e.delay * 2).min(self.max),
                last_update: now,
            },
            _ => fresh,
        };
        self.entries.insert(key.to_owned(), entry);
    }
}

/// Formats a duration as Go's `time.Duration.String()` does for whole seconds: `10s`,
/// `1m20s`, `5m0s`.
pub fn go_duration(d: Duration) -> String {
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    // Back-off delays are whole seconds, so sub-second digits never occur here.
    let secs = format!("{s}s");
    if h > 0 {
        format!("{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{m}m{secs}")
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn first_crash_restarts_at_once_then_delays_double_to_the_cap() {
        let mut b = Backoff::containers();
        let k = "app";
        // First exit: no entry, not in back-off; the restart decision creates 10 s.
        assert!(!b.in_backoff_since(k, S(5), S(5)));
        b.next(k, S(5));
        assert_eq!(b.delay(k), Some(S(10)));
        // Second exit at 6 s: in back-off until 16 s.
        assert!(b.in_backoff_since(k, S(6), S(15)));
        assert!(!b.in_backoff_since(k, S(6), S(16)));
        let mut seen = vec![];
        for t in 16..23 {
            b.next(k, S(t));
            seen.push(b.delay(k).unwrap().as_secs());
        }
        assert_eq!(seen, vec![20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn a_long_run_resets_the_backoff() {
        let mut b = Backoff::containers();
        b.next("c", S(0));
        b.next("c", S(20));
        assert_eq!(b.delay("c"), Some(S(20)));
        // The container ran for more than 600 s after the last restart decision.
        assert!(!b.in_backoff_since("c", S(621), S(622)));
        b.next("c", S(622));
        assert_eq!(b.delay("c"), Some(S(10)));
    }

    #[test]
    fn go_duration_matches_go() {
        assert_eq!(go_duration(S(10)), "10s");
        assert_eq!(go_duration(S(80)), "1m20s");
        assert_eq!(go_duration(S(300)), "5m0s");
    }
}
