//! The progress line of a `podcheck run` over several specs: done / running / failed and the
//! elapsed time, on stderr, only on a terminal (indicatif draws nothing into a pipe).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One progress line for a run of `total` specs.
pub struct Progress {
    bar: ProgressBar,
    failed: u64,
}

impl Progress {
    /// A progress line on stderr; hidden (every call a no-op) when stderr is not a terminal.
    pub fn new(total: usize) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(total as u64),
            ProgressDrawTarget::stderr_with_hz(4),
        );
        if let Ok(style) =
            ProgressStyle::with_template("[{elapsed_precise}] {pos}/{len} done {wide_msg}")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { bar, failed: 0 }
    }

    /// Whether the line is drawn (stderr is a terminal).
    pub fn visible(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// A spec started.
    pub fn running(&self, label: &str) {
        self.bar.set_message(self.message(Some(label)));
    }

    /// A spec ended; `failed` when it did not pass.
    pub fn done(&mut self, failed: bool) {
        if failed {
            self.failed += 1;
        }
        self.bar.inc(1);
        self.bar.set_message(self.message(None));
    }

    /// Runs `f` (which prints) with the line cleared, so output never mixes with it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Clears the line for good.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn message(&self, running: Option<&str>) -> String {
        let mut m = format!("· {} failed", self.failed);
        if let Some(r) = running {
            m.push_str(" · running ");
            m.push_str(r);
        }
        m
    }
}
