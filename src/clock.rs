//! The one clock every kubelet timer goes through, with the `time_scale` extension.
//!
//! Spec time is what the kubelet would experience; real time is spec time × scale. With
//! scale 0.1 a 10 s back-off takes 1 s of wall time, and every other timer shrinks alike, so
//! the relative order of everything in a pod's timeline is kept.

use std::time::Duration;

use tokio::time::Instant;

/// Converts between spec time (since pod creation) and real instants.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    scale: f64,
}

impl Clock {
    /// A clock whose spec time 0 is now.
    pub fn start(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
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

    /// A real duration expressed in spec time.
    pub fn to_spec(&self, real: Duration) -> Duration {
        Duration::from_secs_f64(real.as_secs_f64() / self.scale)
    }

    /// A spec duration expressed in real time.
    pub fn to_real(&self, spec: Duration) -> Duration {
        Duration::from_secs_f64(spec.as_secs_f64() * self.scale)
    }

    /// The real instant at which spec time `t` is reached.
    pub fn instant_at(&self, t: Duration) -> Instant {
        self.origin + self.to_real(t)
    }

    /// Spec time of a real instant (clamped at 0).
    pub fn spec_time_of(&self, at: Instant) -> Duration {
        self.to_spec(at.saturating_duration_since(self.origin))
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
    }
}
