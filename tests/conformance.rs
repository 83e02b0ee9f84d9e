//! The conformance suite: every spec under `specs/` is one test.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Cargo builds the fixture app for integration tests; containers find it on PATH.
    let fixture_dir = podcheck::harness::dir_of(env!("CARGO_BIN_EXE_podcheck-fixture"));
    podcheck::harness::main(concat!(env!("CARGO_MANIFEST_DIR"), "/specs"), &fixture_dir)
}
