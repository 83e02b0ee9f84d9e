//! The conformance suite again with isolation `none`: every pod on the host's loopback,
//! PID-1 signal rules emulated, overlapping ports taking turns. `tests/conformance.rs` runs
//! the same specs in the default mode (a network namespace per pod where available).

use std::process::ExitCode;

use podcheck::runtime::isolation::Isolation;

fn main() -> ExitCode {
    let fixture_dir = podcheck::harness::dir_of(env!("CARGO_BIN_EXE_podcheck-fixture"));
    let specs = concat!(env!("CARGO_MANIFEST_DIR"), "/specs");
    podcheck::harness::main_with_isolation(specs, &fixture_dir, Isolation::None)
}
