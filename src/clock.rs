//! The one clock every kubelet timer goes through, with the `time_scale` extension.
//!
//! Spec time is what the kubelet would experience; real time is spec time × scale. With
//! scale 0.1 a 10 s back-off takes 1 s of wall time, and every other timer shrinks alike, so
//! the relative order of everything in a pod's timeline is kept.
//!
//! All time arithmetic that input can reach saturates here instead of panicking: the API
//! accepts any non-negative int64 `terminationGracePeriodSeconds`, and `9223372036854775807`
//! seconds must mean "never", not "overflow when adding duration to instant". Instants are
//! capped at [`FAR_FUTURE`] from now, which no run lives to see.

use std::time::Duration;

use tokio::time::Instant;

/// The smallest accepted `time_scale`: below it a relist period of 1 s becomes under a
/// millisecond of real time, less than a process start takes.
pub const MIN_SCALE: f64 = 0.001;
/// The largest accepted `time_scale` (a 1 s period takes 100 s of real time).
pub const MAX_SCALE: f64 = 100.0;

/// Checks a time scale given on the command line or in `PODCHECK_TIME_SCALE`: `where_` names
/// it in the message (e.g. `--time-scale 0`).
pub fn check_scale(scale: f64, where_: &str) -> Result<f64, String> {
    if scale.is_finite() && (MIN_SCALE..=MAX_SCALE).contains(&scale) {
        Ok(scale)
    } else {
        Err(format!(
            "{where_}: must be a number from {MIN_SCALE} to {MAX_SCALE}, or auto, e.g. 0.1"
        ))
    }
}

/// A requested time scale: a number, or `auto` (the fastest scale at which the spec's
/// timers stay well above this machine's measured process latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeScale {
    /// Real seconds per spec second.
    Fixed(f64),
    /// Chosen per run from a latency measurement.
    Auto,
}

impl std::fmt::Display for TimeScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeScale::Fixed(s) => write!(f, "{s}"),
            TimeScale::Auto => f.write_str("auto"),
        }
    }
}

impl std::str::FromStr for TimeScale {
    type Err = String;

    /// `auto` or a number in range (for `--time-scale` and `PODCHECK_TIME_SCALE`).
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(TimeScale::Auto);
        }
        let n: f64 = t
            .parse()
            .map_err(|_| format!("{s:?} is not a number or auto; use e.g. 0.1 or auto"))?;
        check_scale(n, &format!("time scale {s}")).map(TimeScale::Fixed)
    }
}

impl<'de> serde::Deserialize<'de> for TimeScale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TimeScale;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number such as 0.1, or \"auto\"")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<TimeScale, E> {
                Ok(TimeScale::Fixed(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TimeScale, E> {
                Ok(TimeScale::Fixed(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TimeScale, E> {
                Ok(TimeScale::Fixed(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TimeScale, E> {
                if v == "auto" {
                    Ok(TimeScale::Auto)
                } else {
                    Err(E::custom(format!(
                        "time_scale {v:?}: use a number such as 0.1, or \"auto\""
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// How many times the measured latency every timer of a spec must stay above at the scale
/// `auto` picks: a 1 s relist at scale 0.1 is 100 ms of real time, 40x a 2.5 ms start.
pub const AUTO_HEADROOM: f64 = 40.0;
/// The fastest scale `auto` picks, whatever the machine: beyond it 1 s timers are only a
/// few tens of milliseconds of real time, where scheduler noise dominates.
pub const AUTO_FASTEST: f64 = 0.05;

/// The scale `auto` picks for a spec whose shortest timer is `shortest` (spec time), given
/// the measured real latency of one process start.
pub fn auto_scale(latency: Duration, shortest: Duration) -> f64 {
    let shortest = shortest.as_secs_f64().max(1e-3);
    (AUTO_HEADROOM * latency.as_secs_f64() / shortest).clamp(AUTO_FASTEST, 1.0)
}
/// How far ahead a deadline may lie; later ones are clamped to it, meaning "never".
pub const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Float seconds as a Duration: NaN and negatives are 0, anything too large is
/// `Duration::MAX` (where `Duration::from_secs_f64` would panic).
pub fn secs_f64(secs: f64) -> Duration {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) => d,
        Err(_) if secs > 0.0 => Duration::MAX,
        Err(_) => Duration::ZERO,
    }
}

/// `d` times `factor`, saturating like [`secs_f64`] (where `Duration::mul_f64` would panic).
pub fn mul(d: Duration, factor: f64) -> Duration {
    secs_f64(d.as_secs_f64() * factor)
}

/// `at + d`, clamped at [`FAR_FUTURE`] after `at` so it can never overflow.
pub fn instant_after(at: Instant, d: Duration) -> Instant {
    let d = d.min(FAR_FUTURE);
    // The clamp keeps this in range on every platform podcheck runs on; should an Instant
    // still not hold it, `at` itself is the only value that is certainly representable.
    at.checked_add(d).unwrap_or(at)
}

/// The real instant `d` from now, saturating (see [`instant_after`]).
pub fn deadline_in(d: Duration) -> Instant {
    instant_after(Instant::now(), d)
}

/// Converts between spec time (since pod creation) and real instants.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    scale: f64,
}

impl Clock {
    /// A clock whose spec time 0 is now; a scale that is not a positive number is 1, and
    /// others are clamped to `[MIN_SCALE, MAX_SCALE]` (validation rejects them earlier).
    pub fn start(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale.clamp(MIN_SCALE, MAX_SCALE)
        } else {
            1.0
        };
        Clock {
            origin: Instant::now(),
            scale,
        }
    }

    /// The time scale (real seconds per spec second).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Spec time elapsed since the origin.
    pub fn now(&self) -> Duration {
        self.to_spec(self.origin.elapsed())
    }

    /// Real time elapsed since the origin.
    pub fn real_elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// A real duration expressed in spec time (saturating).
    pub fn to_spec(&self, real: Duration) -> Duration {
        secs_f64(real.as_secs_f64() / self.scale)
    }

    /// A spec duration expressed in real time (saturating).
    pub fn to_real(&self, spec: Duration) -> Duration {
        mul(spec, self.scale)
    }

    /// The real instant at which spec time `t` is reached, at most [`FAR_FUTURE`] after
    /// the origin.
    pub fn instant_at(&self, t: Duration) -> Instant {
        instant_after(self.origin, self.to_real(t))
    }

    /// Spec time of a real instant (clamped at 0).
    pub fn spec_time_of(&self, at: Instant) -> Duration {
        self.to_spec(at.saturating_duration_since(self.origin))
    }
}

/// When the run happened: the wall-clock time of pod creation and the time scale (real
/// seconds per spec second), so a spec time becomes the date kubectl would print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WallClock {
    /// Wall-clock time of pod creation (spec time 0).
    pub created: std::time::SystemTime,
    /// Real seconds per spec second.
    pub scale: f64,
}

impl Default for WallClock {
    /// The Unix epoch at real time: for tests and reports built without a run.
    fn default() -> Self {
        WallClock {
            created: std::time::SystemTime::UNIX_EPOCH,
            scale: 1.0,
        }
    }
}

impl WallClock {
    /// The wall-clock time of spec time `t`.
    pub fn at(&self, t: Duration) -> std::time::SystemTime {
        let real = crate::clock::mul(t, self.scale);
        self.created.checked_add(real).unwrap_or(self.created)
    }

    /// kubectl describe's date (Go's RFC 1123 with a numeric zone, in UTC as podcheck has no
    /// time-zone database): `Wed, 02 Dec 2026 00:12:03 +0000`.
    pub fn date(&self, t: Duration) -> String {
        chrono::DateTime::<chrono::Utc>::from(self.at(t))
            .format("%a, %d %b %Y %H:%M:%S +0000")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_converts_both_ways() {
        let c = Clock::start(0.1);
        assert_eq!(c.to_real(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(c.to_spec(Duration::from_secs(1)), Duration::from_secs(10));
        assert_eq!(Clock::start(-1.0).scale(), 1.0);
        assert_eq!(Clock::start(1e-300).scale(), MIN_SCALE);
    }

    #[test]
    fn huge_and_odd_values_saturate_instead_of_panicking() {
        // i64::MAX seconds of grace, as the API accepts for terminationGracePeriodSeconds.
        let never = Duration::from_secs(u64::try_from(i64::MAX).unwrap_or(u64::MAX));
        for scale in [MIN_SCALE, 1.0, MAX_SCALE] {
            let c = Clock::start(scale);
            let at = c.instant_at(never);
            assert!(at > Instant::now(), "far future stays in the future");
            assert_eq!(c.instant_at(Duration::MAX), c.instant_at(never));
            let _ = c.to_spec(Duration::MAX);
            let _ = c.to_real(Duration::MAX);
            let _ = c.spec_time_of(at);
        }
        assert_eq!(secs_f64(f64::NAN), Duration::ZERO);
        assert_eq!(secs_f64(-1.0), Duration::ZERO);
        assert_eq!(secs_f64(f64::INFINITY), Duration::MAX);
        assert_eq!(secs_f64(1e300), Duration::MAX);
        assert_eq!(mul(Duration::MAX, 2.0), Duration::MAX);
        assert_eq!(mul(Duration::from_secs(3), -1.0), Duration::ZERO);
        assert!(deadline_in(Duration::MAX) > Instant::now());
    }
}
