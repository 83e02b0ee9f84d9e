//! A suite run in more than one way at once: every spec in the default mode, again in each
//! added isolation mode, and trials of the caller's own, all in one pool of trial threads.
//! Test targets are run one after another by `cargo test`, so three passes of a suite in
//! three targets take three times the longest; as passes of one target they overlap.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

use crate::runtime::isolation::Isolation;

/// A suite of specs with its passes, run by [`Suite::main`].
///
/// ```no_run
/// use podcheck::harness::Suite;
/// use podcheck::runtime::isolation::Isolation;
/// fn main() -> std::process::ExitCode {
///     Suite::new("specs", &[]).also_in(Isolation::None).main()
/// }
/// ```
pub struct Suite {
    dir: PathBuf,
    extra_path: Vec<PathBuf>,
    passes: Vec<Option<Isolation>>,
    extra: Vec<Trial>,
}

impl Suite {
    /// Every spec under `dir`, in the default mode; `extra_path` goes in front of
    /// containers' PATH.
    pub fn new(dir: impl AsRef<Path>, extra_path: &[PathBuf]) -> Self {
        Suite {
            dir: dir.as_ref().to_owned(),
            extra_path: extra_path.to_vec(),
            passes: vec![None],
            extra: Vec::new(),
        }
    }

    /// Runs every spec once more with `isolation`, whatever the spec or the environment
    /// say; those trials are named `<spec> (isolation <mode>)`.
    pub fn also_in(mut self, isolation: Isolation) -> Self {
        if !self.passes.contains(&Some(isolation)) {
            self.passes.push(Some(isolation));
        }
        self
    }

    /// Adds a trial of the caller's own (say, the whole suite again as another user); such
    /// trials start before the specs'.
    pub fn with_trial(mut self, trial: Trial) -> Self {
        self.extra.push(trial);
        self
    }

    /// Runs the suite with the process's command-line arguments; libtest's exit code.
    pub fn main(self) -> ExitCode {
        super::exit_code(self.run(Arguments::from_args()))
    }

    /// Runs the suite with libtest's arguments `args`; whether every trial passed (and the
    /// JUnit file, if any, was written, and no process of the run was left).
    pub fn run(self, args: Arguments) -> bool {
        super::run_all(&self.dir, &self.extra_path, &self.passes, self.extra, args)
    }
}
