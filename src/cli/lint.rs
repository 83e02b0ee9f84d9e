//! `podcheck lint`: static checks of specs and manifests.

use super::*;

/// `podcheck lint --measure N`: runs each manifest pod N times and prints the patch.
fn measure(args: &LintArgs, n: usize) -> u8 {
    let images = match parse_image_args(&args.images) {
        Ok(i) => i,
        Err(e) => {
            eoutln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    match crate::lint::measure::measure_paths(&args.paths, &images, n, own_dir()) {
        Ok(measured) => {
            out!("{}", crate::report::lint_measure::render(&measured));
            EXIT_OK
        }
        Err(e) => {
            eoutln!("error: --measure {e}");
            EXIT_ENV
        }
    }
}

/// Output formats of `podcheck lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LintFormat {
    /// rustc-style text on stderr.
    Human,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// JUnit XML, one testcase per file.
    Junit,
}

/// The lowest severity that fails `podcheck lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Errors only (the default).
    Error,
    /// Warnings and errors.
    Warning,
    /// Any finding.
    Note,
    /// Nothing: exit 0 unless the input is invalid.
    Never,
}

/// Arguments of `podcheck lint`.
#[derive(Debug, Clone, clap::Args)]
pub struct LintArgs {
    /// TOML specs, YAML manifests, or folders of manifests (searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// human (rustc-style, on stderr), json, sarif or junit (on stdout, or --output).
    #[arg(long, value_enum, default_value = "human")]
    pub format: LintFormat,
    /// Write the json, sarif or junit output to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Do not report this check id (repeatable).
    #[arg(long = "ignore", value_name = "ID")]
    pub ignore: Vec<String>,
    /// Also start each manifest's pod N times and check the probe budgets against the
    /// measured p95 time to started and ready; prints a YAML patch on stdout.
    #[arg(long, value_name = "N", value_parser = measure_count)]
    pub measure: Option<usize>,
    /// For --measure: map an image to a local command, as for `podcheck run --image`.
    #[arg(long = "image", value_name = "NAME=CMD")]
    pub images: Vec<String>,
}

/// Most runs `--measure` takes: each run starts the pod, so a typo such as 10000000 would
/// keep lint busy for days; a p95 needs no more than this.
const MAX_MEASURE: usize = 1000;

/// `--measure N`: from 1 (0 would silently measure nothing) to [`MAX_MEASURE`].
fn measure_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_MEASURE).contains(&n) => Ok(n),
        // clap prefixes the flag and the value.
        _ => Err(format!(
            "must be a number of runs from 1 to {MAX_MEASURE}, e.g. 20"
        )),
    }
}

/// `podcheck lint`: exit 0 clean, 1 findings at or above --fail-on, 2 invalid input.
pub fn lint(args: LintArgs) -> u8 {
    use crate::lint::{LintOptions, Severity, lint_paths, unknown_ids};
    use crate::report::{lint_human, lint_json, lint_junit, lint_sarif};
    // The human text goes to stderr; an --output file would silently never be written.
    if let (LintFormat::Human, Some(p)) = (args.format, &args.output) {
        eoutln!(
            "error: --output {}: give --format json, sarif or junit to write a file; the human format is printed on stderr",
            p.display()
        );
        return EXIT_INVALID;
    }
    for id in unknown_ids(&args.ignore) {
        eoutln!(
            "warning[unknown-ignore-id]: --ignore {id}: {}",
            crate::lint::input::unknown_id_message(id)
        );
    }
    let report = lint_paths(
        &args.paths,
        &LintOptions {
            ignore: args.ignore.clone(),
        },
    );
    let fail_on = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Note => Some(Severity::Note),
        FailOn::Never => None,
    };
    let text = match args.format {
        LintFormat::Human => None,
        LintFormat::Json => Some(lint_json::render(&report)),
        LintFormat::Sarif => Some(lint_sarif::render(&report)),
        LintFormat::Junit => match lint_junit::render(&report, fail_on) {
            Ok(x) => Some(x),
            Err(e) => {
                eoutln!("error: {e}");
                return EXIT_ENV;
            }
        },
    };
    match (text, &args.output) {
        (None, _) => {
            let _ = write!(std::io::stderr().lock(), "{}", lint_human::render(&report));
        }
        (Some(t), Some(p)) => {
            if let Err(e) = std::fs::write(p, t) {
                eoutln!("error: cannot write {}: {e}", p.display());
                return EXIT_ENV;
            }
            eoutln!("{}", lint_human::summary(&report));
        }
        (Some(t), None) => {
            out!("{t}");
            eoutln!("{}", lint_human::summary(&report));
        }
    }
    if report.invalid_input() {
        return EXIT_INVALID;
    }
    if let Some(n) = args.measure {
        // A pod the API server would reject never runs in a cluster: measuring it would
        // time a pod that cannot exist.
        if report.findings().any(|f| f.severity == Severity::Error) {
            eoutln!(
                "note: --measure skipped: fix the errors above first (a cluster would reject those pods)"
            );
        } else {
            let code = measure(&args, n);
            if code != EXIT_OK {
                return code;
            }
        }
    }
    if fail_on.is_some_and(|s| report.findings().any(|f| f.severity >= s)) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measure_counts_are_bounded() {
        assert_eq!(measure_count("20"), Ok(20));
        assert_eq!(measure_count("1000"), Ok(1000));
        for bad in ["0", "1001", "99999999999999999999", "-1", "x"] {
            let e = measure_count(bad).expect_err(bad);
            assert!(e.contains("from 1 to 1000"), "{e}");
        }
    }
}
