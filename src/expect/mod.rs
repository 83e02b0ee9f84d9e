//! Expectations: what a spec says must happen, and the matcher that checks a timeline.

pub mod check;
pub mod executions;
mod logs;
pub mod model;
pub mod reliability;
pub mod settle;
mod state;
pub mod traffic;
pub mod values;

pub use check::{Verdict, check};
pub use model::Expectations;
pub use settle::{Decision, decide, recheck_times};

#[cfg(test)]
mod tests;
