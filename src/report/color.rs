//! Colour for the `kubectl get pod -w` lines: the STATUS cell by kind (running, waiting,
//! error, done), on a terminal only, as `--color auto|always|never` and `NO_COLOR` say.
//!
//! Codes are added after the line is laid out, around the STATUS cell alone, so columns
//! line up exactly as in the plain text.

use anstyle::{AnsiColor, Style};

/// When to colour: `auto` (a terminal that supports it, unless `NO_COLOR` is set),
/// `always` or `never`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal that supports colour, unless `NO_COLOR` (or `CLICOLOR=0`) is set.
    #[default]
    Auto,
    /// Always, even into a pipe or file.
    Always,
    /// Never.
    Never,
}

/// Whether stdout gets colour under `when`.
pub fn enabled(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
        }
    }
}

/// What a STATUS value says about the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Running and serving.
    Running,
    /// On its way: Pending, ContainerCreating, Init:0/2, Terminating, NotReady.
    Waiting,
    /// Something failed: Error, CrashLoopBackOff, ErrImagePull, OOMKilled, Init:Error, ...
    Error,
    /// Finished well: Completed, Succeeded.
    Done,
}

/// The kind of a kubectl STATUS value.
pub fn status_kind(status: &str) -> StatusKind {
    let bare = status.strip_prefix("Init:").unwrap_or(status);
    match bare {
        "Running" => StatusKind::Running,
        "Completed" | "Succeeded" => StatusKind::Done,
        "Pending" | "ContainerCreating" | "PodInitializing" | "Terminating" | "NotReady"
        | "SchedulingGated" => StatusKind::Waiting,
        // Init:1/3 counts init containers done.
        s if status.starts_with("Init:") && s.contains('/') => StatusKind::Waiting,
        _ => StatusKind::Error,
    }
}

/// The style of a kind.
pub fn style(kind: StatusKind) -> Style {
    match kind {
        StatusKind::Running => AnsiColor::Green.on_default(),
        StatusKind::Done => AnsiColor::Cyan.on_default(),
        StatusKind::Waiting => AnsiColor::Yellow.on_default(),
        StatusKind::Error => AnsiColor::Red.on_default().bold(),
    }
}

/// `line` (the last line of a watch row, possibly after its header) with the STATUS cell
/// `status` coloured; unchanged when the cell is not where a watch row has it.
pub fn paint_status(text: &str, status: &str) -> String {
    let (head, line) = match text.rfind('\n') {
        Some(i) => text.split_at(i + 1),
        None => ("", text),
    };
    // NAME and READY hold no spaces (a DNS label, `0/1`), so STATUS is the third token.
    let mut pos = 0;
    for _ in 0..2 {
        let Some(end) = line[pos..].find(' ') else {
            return text.to_owned();
        };
        pos += end;
        pos += line[pos..].len() - line[pos..].trim_start().len();
    }
    if !line[pos..].starts_with(status) {
        return text.to_owned();
    }
    let st = style(status_kind(status));
    let end = pos + status.len();
    format!("{head}{}{st}{status}{st:#}{}", &line[..pos], &line[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_what_the_status_means() {
        for (s, k) in [
            ("Running", StatusKind::Running),
            ("Completed", StatusKind::Done),
            ("ContainerCreating", StatusKind::Waiting),
            ("Init:0/2", StatusKind::Waiting),
            ("Terminating", StatusKind::Waiting),
            ("CrashLoopBackOff", StatusKind::Error),
            ("Init:CrashLoopBackOff", StatusKind::Error),
            ("ErrImagePull", StatusKind::Error),
            ("Signal:9", StatusKind::Error),
            ("ExitCode:3", StatusKind::Error),
        ] {
            assert_eq!(status_kind(s), k, "{s}");
        }
    }

    #[test]
    fn only_the_status_cell_is_painted_and_columns_stay() {
        let text =
            "NAME    READY   STATUS    RESTARTS   AGE\nnginx   0/1     Pending   0          0s";
        let painted = paint_status(text, "Pending");
        assert_eq!(
            painted,
            "NAME    READY   STATUS    RESTARTS   AGE\nnginx   0/1     \u{1b}[33mPending\u{1b}[0m   0          0s"
        );
        let line = "web   1/1     Running   1 (2s ago)   9s";
        assert!(paint_status(line, "Running").contains("\u{1b}[32mRunning\u{1b}[0m   1 (2s ago)"));
        // Not where a watch row has it: left alone.
        assert_eq!(paint_status("odd", "Running"), "odd");
        assert_eq!(paint_status("a b Other", "Running"), "a b Other");
    }
}
