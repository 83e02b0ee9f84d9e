//! The conformance suite: every spec under `specs/` is one test.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Cargo builds the fixture app for integration tests; containers find it on PATH.
    let fixture_dir = PathBuf::from(env!("CARGO_BIN_EXE_podcheck-fixture"))
        .parent()
        .map(PathBuf::from)
        .into_iter()
        .collect::<Vec<_>>();
    podcheck::harness::main(concat!(env!("CARGO_MANIFEST_DIR"), "/specs"), &fixture_dir)
}
