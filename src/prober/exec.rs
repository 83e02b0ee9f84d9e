//! Placeholder until the handler lands.

use std::time::Duration;

use super::{ProbeContext, ProbeError, ProbeOutcome};
use crate::spec::model::ExecAction;

/// Runs one probe attempt.
pub async fn probe(
    _a: &ExecAction,
    _ctx: &ProbeContext,
    _timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    Err(ProbeError("not implemented".into()))
}

/// Runs an exec lifecycle hook (placeholder).
pub async fn lifecycle_hook(_a: &ExecAction, _ctx: &ProbeContext) -> Result<(), String> {
    Err("not implemented".into())
}
