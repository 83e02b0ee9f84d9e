//! `harness::Suite` end to end: every spec runs once per pass, an added mode's trials carry
//! the mode in their names, and the caller's own trial runs beside them. The conformance
//! target depends on this; were a pass dropped, it would still pass, with less checked.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use podcheck::harness::{Suite, Trial};
use podcheck::runtime::isolation::Isolation;

const SPEC: &str = r#"
name = "a container that exits 0 ends the pod Succeeded"
[pod]
restartPolicy = "Never"
[[pod.containers]]
name = "app"
command = ["true"]
[expect.final]
phase = "Succeeded"
"#;

fn main() -> ExitCode {
    match check() {
        Ok(()) => {
            println!("test result: ok. a suite with two passes and a trial of its own");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).map_err(|e| e.to_string())?;
    std::fs::write(specs.join("exits-zero.toml"), SPEC).map_err(|e| e.to_string())?;
    let junit = dir.path().join("junit.xml");
    podcheck::harness::junit_to(junit.clone());
    let ran = Arc::new(AtomicBool::new(false));
    let marker = ran.clone();
    let own = Trial::test("a trial of the caller's own", move || {
        marker.store(true, Ordering::SeqCst);
        Ok(())
    });
    // No command-line arguments of this process reach the suite: it runs everything.
    let args = libtest_mimic::Arguments::from_iter(["suite_passes"]);
    let passed = Suite::new(&specs, &[])
        .also_in(Isolation::None)
        .with_trial(own)
        .run(args);
    if !passed {
        return Err("the suite failed".into());
    }
    if !ran.load(Ordering::SeqCst) {
        return Err("the caller's own trial did not run".into());
    }
    let xml = std::fs::read_to_string(&junit).map_err(|e| format!("no JUnit file: {e}"))?;
    for name in ["exits-zero.toml", "exits-zero.toml (isolation none)"] {
        if !xml.contains(&format!("name=\"{name}\"")) {
            return Err(format!("no testcase {name:?} in the JUnit file:\n{xml}"));
        }
    }
    Ok(())
}
