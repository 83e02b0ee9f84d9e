//! Placeholder until the handler lands.

use std::time::Duration;

use super::{ProbeContext, ProbeError, ProbeOutcome};
use crate::spec::model::HttpGetAction;

/// Runs one probe attempt.
pub async fn probe(
    _a: &HttpGetAction,
    _ctx: &ProbeContext,
    _timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    Err(ProbeError("not implemented".into()))
}

/// How an httpGet hook went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookHttpOutcome {
    /// An HTTPS hook was retried over plain HTTP.
    pub fell_back_to_http: bool,
}

/// Runs an httpGet lifecycle hook (placeholder).
pub async fn lifecycle_hook(
    _a: &HttpGetAction,
    _ctx: &ProbeContext,
) -> Result<HookHttpOutcome, String> {
    Err("not implemented".into())
}
