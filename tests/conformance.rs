//! The conformance suite: every spec under `specs/` is a trial, in three passes that run at
//! once in one pool of trial threads (as three targets, `cargo test` would run them one
//! after another):
//! - in the default mode (a network namespace per pod where available);
//! - in isolation `none` (trials named `<spec> (isolation none)`): every pod on the host's
//!   loopback, PID-1 signal rules emulated, trials whose ports overlap taking turns;
//! - when the tests run as root, the whole suite once more through `podcheck test` as the
//!   ordinary user `nobody` (one trial), since nothing podcheck does may need root.

use std::process::ExitCode;

use podcheck::harness::{Failed, Suite, Trial};
use podcheck::runtime::isolation::Isolation;

#[path = "support/nobody.rs"]
mod nobody;

fn main() -> ExitCode {
    // Cargo builds the fixture app for integration tests; containers find it on PATH.
    let fixture_dir = podcheck::harness::dir_of(env!("CARGO_BIN_EXE_podcheck-fixture"));
    let specs = concat!(env!("CARGO_MANIFEST_DIR"), "/specs");
    let as_nobody = Trial::test(format!("the whole suite as user {}", nobody::USER), || {
        nobody::the_suite_passes().map_err(Failed::from)
    })
    .with_kind("podcheck test");
    Suite::new(specs, &fixture_dir)
        .also_in(Isolation::None)
        .with_trial(as_nobody)
        .main()
}
