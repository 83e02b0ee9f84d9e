//! Expectations: what a spec says must happen, and the matcher that checks a timeline.

pub mod model;

pub use model::Expectations;
