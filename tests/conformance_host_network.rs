//! The conformance suite again with isolation `none`: every pod on the host's loopback,
//! PID-1 signal rules emulated, overlapping ports taking turns. `tests/conformance.rs` runs
//! the same specs in the default mode (a network namespace per pod where available).

use std::path::PathBuf;
use std::process::ExitCode;

use podcheck::runtime::isolation::Isolation;

fn main() -> ExitCode {
    let fixture_dir = PathBuf::from(env!("CARGO_BIN_EXE_podcheck-fixture"))
        .parent()
        .map(PathBuf::from)
        .into_iter()
        .collect::<Vec<_>>();
    podcheck::harness::main_with_isolation(
        concat!(env!("CARGO_MANIFEST_DIR"), "/specs"),
        &fixture_dir,
        Isolation::None,
    )
}
