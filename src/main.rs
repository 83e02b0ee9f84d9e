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
    Run {
        /// Spec files (TOML).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
        /// Run every kubelet timer this many times its real length (0.1 = ten times faster).
        #[arg(long, env = "PODCHECK_TIME_SCALE")]
        time_scale: Option<f64>,
        /// Map an image to a local command, e.g. `--image nginx:1.27='python3 -m http.server 80'`.
        #[arg(long = "image", value_name = "NAME=CMD")]
        images: Vec<String>,
        /// Write every event and status change as JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Print only the verdicts, not the live watch lines and describe output.
        #[arg(long, short)]
        quiet: bool,
        /// Pod isolation: auto (a network namespace per pod where possible), pod, or none.
        #[arg(long, env = "PODCHECK_ISOLATION", value_name = "MODE")]
        isolation: Option<podcheck::runtime::isolation::Isolation>,
    },
    /// Check spec files without running anything.
    Lint {
        /// Spec files (TOML).
        #[arg(required = true)]
        specs: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let code = match args.command {
        Command::Run {
            specs,
            time_scale,
            images,
            json,
            quiet,
            isolation,
        } => cli::run(cli::RunArgs {
            specs,
            time_scale,
            images,
            json,
            quiet,
            isolation,
        }),
        Command::Lint { specs } => cli::lint(&specs),
    };
    ExitCode::from(code)
}
