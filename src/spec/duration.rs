//! Durations in podcheck's own fields: Go-style strings such as `1m30s` or `500ms`.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A duration in spec time (before time scaling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct SpecDuration(pub Duration);

impl SpecDuration {
    /// Parses `10s`, `500ms`, `1m30s`; a bare number is rejected so units are never guessed.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t == "0" {
            return Ok(SpecDuration(Duration::ZERO));
        }
        // humantime's own words for it are "expected number at 0".
        if t.starts_with('-') {
            return Err(format!(
                "invalid duration {s:?}: a duration cannot be negative (write it with a unit, like \"10s\", \"500ms\" or \"1m30s\")"
            ));
        }
        humantime::parse_duration(t)
            .map(SpecDuration)
            .map_err(|e| format!("invalid duration {s:?}: {e} (write it with a unit, like \"10s\", \"500ms\" or \"1m30s\")"))
    }

    /// The duration in seconds as a float.
    pub fn secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl fmt::Display for SpecDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole seconds exactly, as written: f64 would round a huge one in a message.
        if self.0.subsec_nanos() == 0 && self.0.as_secs() > 0 {
            return write!(f, "{}s", self.0.as_secs());
        }
        f.write_str(&format_secs(self.0.as_secs_f64()))
    }
}

/// Formats seconds compactly for messages: `2s`, `2.5s`, `150ms`.
pub fn format_secs(secs: f64) -> String {
    if secs != 0.0 && secs.abs() < 1.0 {
        format!("{}ms", (secs * 1000.0).round() as i64)
    } else if (secs - secs.round()).abs() < 0.0005 {
        // Not through i64, which would show any duration past 292 billion years as that.
        format!("{:.0}s", secs.round())
    } else {
        format!("{secs:.1}s")
    }
}

impl<'de> Deserialize<'de> for SpecDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SpecDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"10s\", \"500ms\" or \"1m30s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SpecDuration, E> {
                SpecDuration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A window of spec time, written `5s..8s`, `..8s` or `5s..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeWindow {
    /// Inclusive lower bound.
    pub from: Option<Duration>,
    /// Inclusive upper bound.
    pub to: Option<Duration>,
}

impl TimeWindow {
    /// Parses `A..B` where either side may be empty.
    pub fn parse(s: &str) -> Result<Self, String> {
        let Some((a, b)) = s.split_once("..") else {
            return Err(format!(
                "invalid time window {s:?}: write it as \"FROM..TO\", e.g. \"5s..8s\", \"..8s\" or \"5s..\""
            ));
        };
        let side = |x: &str| -> Result<Option<Duration>, String> {
            if x.trim().is_empty() {
                Ok(None)
            } else {
                SpecDuration::parse(x).map(|d| Some(d.0))
            }
        };
        let w = TimeWindow {
            from: side(a)?,
            to: side(b)?,
        };
        if let (Some(f), Some(t)) = (w.from, w.to)
            && f > t
        {
            return Err(format!(
                "invalid time window {s:?}: the start is after the end"
            ));
        }
        Ok(w)
    }

    /// Whether `t` lies inside the window.
    pub fn contains(&self, t: Duration) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t <= e)
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side =
            |d: Option<Duration>| d.map(|d| format_secs(d.as_secs_f64())).unwrap_or_default();
        write!(f, "{}..{}", side(self.from), side(self.to))
    }
}

impl<'de> Deserialize<'de> for TimeWindow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = TimeWindow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a time window such as \"5s..8s\", \"..8s\" or \"5s..\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TimeWindow, E> {
                TimeWindow::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_rejects_bare_numbers() {
        assert_eq!(
            SpecDuration::parse("1m30s").unwrap().0,
            Duration::from_secs(90)
        );
        assert_eq!(
            SpecDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        assert!(
            SpecDuration::parse("10")
                .unwrap_err()
                .contains("with a unit")
        );
        for negative in ["-1s", " -0.5ms"] {
            let e = SpecDuration::parse(negative).unwrap_err();
            assert!(e.contains("cannot be negative"), "{e}");
        }
    }

    #[test]
    fn huge_durations_are_shown_as_written() {
        assert_eq!(format_secs(2.0), "2s");
        assert_eq!(format_secs(0.0), "0s");
        let huge = SpecDuration::parse("18446744073709551615s").expect("parses");
        assert_eq!(huge.to_string(), "18446744073709551615s");
    }

    #[test]
    fn windows_are_inclusive_and_open_ended() {
        let w = TimeWindow::parse("5s..8s").unwrap();
        assert!(w.contains(Duration::from_secs(5)) && w.contains(Duration::from_secs(8)));
        assert!(!w.contains(Duration::from_millis(8001)));
        assert!(TimeWindow::parse("..2s").unwrap().contains(Duration::ZERO));
        assert!(TimeWindow::parse("9s..1s").is_err());
        assert!(TimeWindow::parse("5s").is_err());
    }
}
