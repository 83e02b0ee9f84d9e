//! Expectations: what a spec says must happen, and the matcher that checks a timeline.

pub mod check;
pub mod executions;
pub mod model;

pub use check::{Verdict, check, decided};
pub use model::Expectations;
