//! The `podcheck` command line: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use podcheck::cli;

/// Check Kubernetes pod lifecycles (probes, hooks, restarts) with local processes.
#[derive(Debug, Parser)]
#[command(name = "podcheck", version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run spec files: start the pod, show its lifecycle, check the expectations.
    Run(cli::RunArgs),
    /// Run every spec under a directory as a test suite: in parallel, with libtest's output
    /// and must-fail/ semantics, as `cargo test` runs it.
    Test(cli::TestArgs),
    /// Run a spec and write what it showed into it as expectations (events, statuses, the
    /// final state), with windows from the spec's own periods, for review.
    Bless(cli::BlessArgs),
    /// Check spec files without running anything.
    Lint {
        /// Spec files (TOML).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_tracing(matches!(&args.command, Command::Run(r) if r.verbose >= 2));
    let code = match args.command {
        Command::Run(run) => cli::run(run),
        Command::Test(test) => cli::test(test),
        Command::Bless(bless) => cli::bless(bless),
        Command::Lint { specs } => cli::lint(&specs),
    };
    ExitCode::from(code)
}
