//! The user-facing spec: TOML model, loading with located errors, validation, defaults.

pub mod api_names;
pub mod duration;
pub mod expansion;
pub mod extensions;
pub mod features;
pub mod image_arg;
pub mod load;
pub mod model;
pub mod pod_dns;
pub mod ports;
pub mod quantity;
pub mod run_end;
pub mod schema;
pub mod security;
pub mod traffic;
pub mod validate;
pub mod validate_dns;
pub mod validate_env;
pub mod validate_expect;
pub mod validate_features;
pub mod validate_pods;
pub mod validate_ports;
pub mod validate_probe;
pub mod validate_resources;
pub mod validate_restart;
pub mod validate_security;
pub mod validate_traffic;
pub mod validate_updates;

pub use load::{
    LoadOptions, LoadedSpec, load_spec, load_spec_with, parse_spec, parse_spec_with,
    read_spec_source,
};
pub use model::SpecFile;
