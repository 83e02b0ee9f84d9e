//! Human and machine output: kubectl-style watch lines and describe blocks, verdicts.

pub mod describe;
pub mod kubectl;
pub mod verdict;
