//! How many spec trials run at once. A spec trial spends nearly all its time waiting for
//! timers (probe periods, grace periods, back-offs) while its containers sleep, so libtest's
//! default of one trial per core leaves a 2-core CI runner idle most of the run. Unless the
//! user chose (`--test-threads`, or `RUST_TEST_THREADS` as libtest reads it), a suite runs
//! [`TRIALS_PER_CORE`] trials per core, at least [`MIN_TRIALS`].

/// Trials per core when nothing says otherwise.
pub const TRIALS_PER_CORE: usize = 4;
/// Fewest trials at once when nothing says otherwise (a 1-core runner still overlaps waits).
pub const MIN_TRIALS: usize = 4;

/// Where the trial count came from, for the suite's opening line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--test-threads N` on the command line.
    Flag,
    /// The `RUST_TEST_THREADS` environment variable.
    Env,
    /// podcheck's default for this machine's cores.
    Default,
}

/// The number of trials to run at once: `flag`, else `env` (the value of
/// `RUST_TEST_THREADS`, which must be a positive number), else the default for `cores`.
pub fn trial_threads(
    flag: Option<usize>,
    env: Option<&str>,
    cores: usize,
) -> Result<(usize, Source), String> {
    if let Some(n) = flag {
        return Ok((n, Source::Flag));
    }
    if let Some(v) = env.map(str::trim).filter(|v| !v.is_empty()) {
        return match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok((n, Source::Env)),
            _ => Err(format!(
                "RUST_TEST_THREADS={v:?} is not a positive number of threads (e.g. RUST_TEST_THREADS=4)"
            )),
        };
    }
    let n = cores.max(1).saturating_mul(TRIALS_PER_CORE).max(MIN_TRIALS);
    Ok((n, Source::Default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_environment() {
        assert_eq!(trial_threads(Some(3), Some("9"), 2), Ok((3, Source::Flag)));
    }

    #[test]
    fn the_environment_wins_over_the_default() {
        assert_eq!(trial_threads(None, Some(" 6 "), 2), Ok((6, Source::Env)));
    }

    #[test]
    fn an_unusable_environment_value_is_an_error_naming_it() {
        for bad in ["0", "-1", "many"] {
            let e = trial_threads(None, Some(bad), 2).unwrap_err();
            assert!(e.contains("RUST_TEST_THREADS"), "{e}");
        }
    }

    #[test]
    fn the_default_is_per_core_with_a_floor() {
        assert_eq!(trial_threads(None, None, 2), Ok((8, Source::Default)));
        assert_eq!(trial_threads(None, Some(""), 0), Ok((4, Source::Default)));
        assert_eq!(
            trial_threads(None, None, usize::MAX).map(|r| r.0),
            Ok(usize::MAX)
        );
    }
}
