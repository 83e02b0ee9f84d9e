//! Reading real Kubernetes manifests (YAML) into podcheck's own pod model.

pub mod convert;
pub mod de;
pub mod fields;
pub mod objects;
pub mod toml_pod;
pub mod yaml;
