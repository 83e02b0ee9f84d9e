//! The CI examples users copy (ci/github-actions.yml, ci/gitlab-ci.yml,
//! .pre-commit-hooks.yaml) are executed here, so they cannot rot: every `podcheck` command
//! they run is taken from the YAML, run with the built binary on fixture folders, and the
//! files it says it writes must exist and parse (JUnit XML, SARIF 2.1.0).
//!
//! The `podcheck lint` commands are in their own tests (`*_lint_*`), since lint with
//! `--format`/`--output` lands separately from these examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Longest a single example command may take (a one-spec suite takes a few seconds).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join(path)).expect("readable");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A job's name and the podcheck command lines it runs.
type Job = (String, Vec<String>, Value);

fn podcheck_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("podcheck "))
        .map(str::to_owned)
}

fn github_jobs() -> Vec<Job> {
    let doc = yaml("ci/github-actions.yml");
    let jobs = doc["jobs"].as_object().expect("jobs");
    jobs.iter()
        .map(|(name, job)| {
            let lines = job["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .filter_map(|s| s["run"].as_str())
                .flat_map(|r| podcheck_lines(r).collect::<Vec<_>>())
                .collect();
            (name.clone(), lines, job.clone())
        })
        .collect()
}

fn gitlab_jobs() -> Vec<Job> {
    let doc = yaml("ci/gitlab-ci.yml");
    doc.as_object()
        .expect("top level")
        .iter()
        .filter(|(name, _)| !name.starts_with('.'))
        .map(|(name, job)| {
            let lines = ["before_script", "script", "after_script"]
                .iter()
                .filter_map(|k| job[*k].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .flat_map(|r| podcheck_lines(r).collect::<Vec<_>>())
                .collect();
            (name.clone(), lines, job.clone())
        })
        .collect()
}

/// A folder with one quick, passing spec, standing in for the user's specs/.
fn spec_folder(dir: &Path) -> PathBuf {
    let specs = dir.join("fixture-specs");
    std::fs::create_dir_all(&specs).expect("mkdir");
    std::fs::copy(
        Path::new(ROOT).join("specs/basics/single-container-completes.toml"),
        specs.join("single-container-completes.toml"),
    )
    .expect("copy");
    specs
}

/// What a command says it writes, and as what.
#[derive(Debug)]
enum Output {
    Junit(PathBuf),
    Sarif(PathBuf),
}

/// Runs one example command line in `cwd`, the binary standing in for `podcheck` and
/// fixture folders for `manifests/` and `specs/`; returns its exit code and what it writes.
fn run(line: &str, cwd: &Path) -> (Option<i32>, String, Vec<Output>) {
    let argv = shell_words::split(line).expect("a shell word list");
    assert_eq!(argv[0], "podcheck");
    let specs = spec_folder(cwd);
    let args: Vec<String> = argv[1..]
        .iter()
        .map(|a| match a.as_str() {
            "manifests/" => format!("{ROOT}/fixtures/manifests"),
            "specs/" => specs.display().to_string(),
            _ => a.clone(),
        })
        .collect();
    let mut outputs = Vec::new();
    let format = args
        .iter()
        .position(|a| a == "--format")
        .and_then(|i| args.get(i + 1));
    for (i, a) in args.iter().enumerate() {
        let Some(file) = args.get(i + 1).map(|f| cwd.join(f)) else {
            continue;
        };
        match (a.as_str(), format.map(String::as_str)) {
            ("--junit", _) | ("--output", Some("junit")) => outputs.push(Output::Junit(file)),
            ("--output", Some("sarif")) => outputs.push(Output::Sarif(file)),
            ("--output", other) => panic!("{line}: --output with format {other:?}"),
            _ => {}
        }
    }
    let mut child = Command::new(BIN)
        .args(&args)
        .current_dir(cwd)
        .env_remove("PODCHECK_JUNIT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podcheck starts");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{line}: still running after {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    (status.code(), stderr, outputs)
}

/// The written files exist and are what they say: JUnit XML with a testsuites root, or
/// SARIF 2.1.0 with at least one run.
fn check_outputs(line: &str, outputs: &[Output]) {
    for o in outputs {
        match o {
            Output::Junit(p) => {
                let xml = std::fs::read_to_string(p)
                    .unwrap_or_else(|e| panic!("{line}: {} not written: {e}", p.display()));
                let mut reader = quick_xml::Reader::from_str(&xml);
                let mut root = None;
                loop {
                    match reader.read_event() {
                        Ok(quick_xml::events::Event::Start(e)) if root.is_none() => {
                            root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                        }
                        Ok(quick_xml::events::Event::Eof) => break,
                        Ok(_) => {}
                        Err(e) => panic!("{line}: {} is not XML: {e}", p.display()),
                    }
                }
                assert_eq!(root.as_deref(), Some("testsuites"), "{line}: {xml}");
            }
            Output::Sarif(p) => {
                let text = std::fs::read_to_string(p)
                    .unwrap_or_else(|e| panic!("{line}: {} not written: {e}", p.display()));
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{line}: {} is not JSON: {e}", p.display()));
                assert_eq!(v["version"], "2.1.0", "{line}");
                assert!(
                    v["runs"].as_array().is_some_and(|r| !r.is_empty()),
                    "{line}"
                );
            }
        }
    }
}

fn output_names(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|l| {
            let argv = shell_words::split(l).expect("words");
            argv.windows(2)
                .filter(|w| w[0] == "--junit" || w[0] == "--output")
                .map(|w| w[1].clone())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn all_lines() -> Vec<(String, String)> {
    github_jobs()
        .into_iter()
        .map(|j| ("ci/github-actions.yml", j))
        .chain(gitlab_jobs().into_iter().map(|j| ("ci/gitlab-ci.yml", j)))
        .flat_map(|(file, (job, lines, _))| {
            lines
                .into_iter()
                .map(move |l| (format!("{file} job {job}"), l))
        })
        .collect()
}

#[test]
fn every_example_command_is_a_tested_podcheck_command() {
    let lines = all_lines();
    assert!(lines.len() >= 5, "{lines:?}");
    for (where_, line) in &lines {
        assert!(
            line.starts_with("podcheck test ") || line.starts_with("podcheck lint "),
            "{where_}: `{line}` is run by no test here"
        );
    }
}

#[test]
fn the_reports_the_ci_reads_are_the_files_the_commands_write() {
    for (name, lines, job) in github_jobs() {
        let written = output_names(&lines);
        let steps = job["steps"].as_array().expect("steps");
        // The report-reading actions, not checkout's `path`.
        let readers = steps.iter().filter(|s| {
            s["uses"].as_str().is_some_and(|u| {
                u.contains("upload-sarif")
                    || u.contains("junit-report")
                    || u.contains("upload-artifact")
            })
        });
        for step in readers {
            for key in ["sarif_file", "report_paths", "path"] {
                if let Some(f) = step["with"][key].as_str() {
                    assert!(
                        written.contains(&f.to_owned()),
                        "{name}: {f} is never written"
                    );
                }
            }
        }
    }
    for (name, lines, job) in gitlab_jobs() {
        let written = output_names(&lines);
        let reports = job["artifacts"]["reports"]["junit"].as_str();
        let paths = job["artifacts"]["paths"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for f in reports
            .into_iter()
            .chain(paths.iter().filter_map(Value::as_str))
        {
            assert!(
                written.contains(&f.to_owned()),
                "{name}: {f} is never written"
            );
        }
    }
}

fn run_all(prefix: &str) -> usize {
    let mut ran = 0;
    for (where_, line) in all_lines() {
        if !line.starts_with(prefix) {
            continue;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (code, stderr, outputs) = run(&line, dir.path());
        assert_eq!(
            code,
            Some(0),
            "{where_}: `{line}` exited {code:?}:\n{stderr}"
        );
        assert!(!outputs.is_empty(), "{where_}: `{line}` writes no report");
        check_outputs(&line, &outputs);
        ran += 1;
    }
    ran
}

#[test]
fn ci_spec_suite_commands_run_and_write_junit() {
    let ran = run_all("podcheck test ");
    assert_eq!(ran, 2, "one spec job in each example");
}

/// Needs `podcheck lint` with --format/--output (its own branch): until it is merged this
/// test fails on the lint commands' unknown flags.
#[test]
fn ci_lint_commands_run_and_write_sarif_and_junit() {
    let ran = run_all("podcheck lint ");
    assert_eq!(ran, 3, "GitHub SARIF, GitLab JUnit and SARIF");
}

/// Needs `podcheck lint` on YAML manifests and TOML specs (its own branch).
#[test]
fn pre_commit_lint_hook_runs_on_the_files_it_matches() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hook = hooks
        .as_array()
        .expect("a list of hooks")
        .iter()
        .find(|h| h["id"] == "podcheck-lint")
        .expect("podcheck-lint")
        .clone();
    assert_eq!(hook["entry"], "podcheck lint");
    let files = regex::Regex::new(hook["files"].as_str().expect("files")).expect("regex");
    let exclude = regex::Regex::new(hook["exclude"].as_str().unwrap_or("^$")).expect("regex");
    let matched = |p: &str| files.is_match(p) && !exclude.is_match(p);
    for p in ["deploy/web.yaml", "k8s/db.yml", "specs/basics/a.toml"] {
        assert!(matched(p), "{p} is not linted");
    }
    for p in [
        "Cargo.toml",
        "sub/Cargo.toml",
        ".github/workflows/ci.yml",
        "ci/gitlab-ci.yml",
        ".pre-commit-config.yaml",
    ] {
        assert!(!matched(p), "{p} would be linted");
    }
    // As pre-commit runs it: the entry, then the staged files that match.
    let staged = [
        "fixtures/manifests/nginx-deployment.yaml",
        "fixtures/manifests/webapp.yaml",
        "specs/basics/single-container-completes.toml",
        "Cargo.toml",
    ];
    let args: Vec<&str> = staged.iter().copied().filter(|p| matched(p)).collect();
    assert_eq!(args.len(), 3);
    let entry = shell_words::split(hook["entry"].as_str().expect("entry")).expect("words");
    let out = Command::new(BIN)
        .args(&entry[1..])
        .args(&args)
        .current_dir(ROOT)
        .output()
        .expect("podcheck runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
