//! `podcheck bless`: run a spec and write what it showed into it.

use super::*;

/// Arguments of `podcheck bless`.
#[derive(Debug, Clone, clap::Args)]
pub struct BlessArgs {
    /// The spec file (TOML) to run and write the observed expectations into.
    pub spec: PathBuf,
    /// Print the blessed spec instead of writing it.
    #[arg(long, conflicts_with = "diff")]
    pub dry_run: bool,
    /// Print a unified diff of the spec instead of writing it.
    #[arg(long)]
    pub diff: bool,
    /// As for `podcheck run --time-scale`.
    #[arg(
        long,
        env = "PODCHECK_TIME_SCALE",
        value_name = "SCALE",
        allow_negative_numbers = true
    )]
    pub time_scale: Option<crate::clock::TimeScale>,
    /// As for `podcheck run --image`.
    #[arg(long = "image", value_name = "NAME=CMD")]
    pub images: Vec<String>,
    /// Pod isolation: auto, pod, or none.
    #[arg(long, env = "PODCHECK_ISOLATION", value_name = "MODE")]
    pub isolation: Option<crate::runtime::isolation::Isolation>,
}

/// `podcheck bless`: run the spec (without what an earlier bless wrote) and write what it
/// showed into it as expectations. Exit 0 when written (or printed), 2 when the spec is
/// invalid, 1 when the run gives nothing reliable to write, 3 when it could not run.
pub fn bless(args: BlessArgs) -> u8 {
    use crate::report::bless;
    if crate::manifest::is_manifest_path(&args.spec) {
        eoutln!(
            "error: {}: bless writes into TOML specs; make a spec with `manifest = \"{}\"` and bless that",
            args.spec.display(),
            args.spec.display()
        );
        return EXIT_INVALID;
    }
    let images = match parse_image_args(&args.images) {
        Ok(i) => i,
        Err(e) => {
            eoutln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let source = match crate::diag::read_capped(&args.spec).map(|b| b.map(String::from_utf8)) {
        Ok(Some(Ok(s))) => s,
        Ok(Some(Err(_))) => {
            eoutln!(
                "error: {} is not UTF-8 text, so not a TOML spec",
                args.spec.display()
            );
            return EXIT_INVALID;
        }
        Ok(None) => {
            eoutln!(
                "error: {} is larger than {} MiB, podcheck's limit for a spec file",
                args.spec.display(),
                crate::diag::MAX_FILE_BYTES >> 20
            );
            return EXIT_INVALID;
        }
        Err(e) => {
            eoutln!("error: cannot read {}: {e}", args.spec.display());
            return EXIT_INVALID;
        }
    };
    let doc = match bless::strip(&source) {
        Ok(d) => d,
        Err(e) => {
            eoutln!("error: {}: {e}", args.spec.display());
            return EXIT_INVALID;
        }
    };
    let load_opts = LoadOptions {
        images: images.clone(),
    };
    let mut loaded = match crate::spec::parse_spec_with(&args.spec, &doc.to_string(), &load_opts) {
        Ok(l) => l,
        Err(d) => {
            eoutln!("{}", d.render());
            return EXIT_INVALID;
        }
    };
    // The run observes the whole lifecycle: hand-written eventual expectations must not end
    // it early (the blessed spec waits for its end). They are checked afterwards.
    let hand_written = std::mem::take(&mut loaded.spec.expect);
    let Some(runtime) = async_runtime() else {
        return EXIT_ENV;
    };
    let opts = RunOptions {
        isolation: args.isolation,
        time_scale: args.time_scale,
        images,
        extra_path: own_dir(),
    };
    let guard = RunGuard::new();
    let result = runtime.block_on(async {
        let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            interrupted().await;
            let _ = cancel_tx.send(true);
        });
        run_spec(
            &loaded,
            &opts,
            guard.run_id(),
            &mut |_, _| {},
            Some(cancel_rx),
        )
        .await
    });
    drop(guard);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eoutln!("error: {}: {e}", args.spec.display());
            return EXIT_ENV;
        }
    };
    let scale = report.wall.scale;
    let run = bless::Run {
        timeline: &report.outcome.timeline,
        end: report.outcome.end,
        ended_at: report.outcome.ended_at,
        pod: &report.pod,
        scale,
    };
    let blessed = match bless::bless(doc, &run) {
        Ok(b) => b,
        Err(e) => {
            eoutln!("error: {}: {e}", args.spec.display());
            return EXIT_FAILED;
        }
    };
    let column =
        |st: &crate::events::PodStatus| crate::print_pod::pod_row(st, Duration::ZERO).status;
    let verdict = crate::expect::check(
        &hand_written,
        &report.outcome.timeline,
        &report.outcome.logs,
        &column,
    );
    if !verdict.failures.is_empty() {
        eoutln!(
            "warning: {}: the hand-written expectations did not hold in this run: {}",
            args.spec.display(),
            verdict.failures.join("; ")
        );
    }
    let label = args.spec.display().to_string();
    if args.dry_run {
        out!("{}", blessed.text);
    } else if args.diff {
        out!("{}", bless::diff(&label, &source, &blessed.text));
    } else if let Err(e) = std::fs::write(&args.spec, &blessed.text) {
        eoutln!("error: cannot write {label}: {e}");
        return EXIT_ENV;
    } else {
        outln!("blessed {label}: {}", bless::summary(&blessed));
    }
    if args.dry_run || args.diff {
        eoutln!("{label}: {} (not written)", bless::summary(&blessed));
    }
    EXIT_OK
}
