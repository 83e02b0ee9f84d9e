//! The `podcheck` command line: a thin layer over the library.

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
    /// Print a spec's pod (or a manifest's pods) as a Pod manifest for a real cluster;
    /// what is not a Kubernetes field is listed on stderr.
    Export(cli::ExportArgs),
    /// Print the JSON Schema of the spec format (shipped as schema/podcheck-spec.schema.json)
    /// for TOML editors.
    Schema,
    /// Check specs and manifests statically (API validation, probes, timing budgets),
    /// without running anything.
    Lint(cli::LintArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_tracing(matches!(&args.command, Command::Run(r) if r.verbose >= 2));
    let code = match args.command {
        Command::Run(run) => cli::run(run),
        Command::Test(test) => cli::test(test),
        Command::Bless(bless) => cli::bless(bless),
        Command::Export(export) => cli::export(export),
        Command::Schema => cli::schema(),
        Command::Lint(lint) => cli::lint(lint),
    };
    ExitCode::from(code)
}
