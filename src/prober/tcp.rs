//! Placeholder until the handler lands.

use std::time::Duration;

use super::{ProbeContext, ProbeError, ProbeOutcome};
use crate::spec::model::TcpSocketAction;

/// Runs one probe attempt.
pub async fn probe(
    _a: &TcpSocketAction,
    _ctx: &ProbeContext,
    _timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    Err(ProbeError("not implemented".into()))
}
