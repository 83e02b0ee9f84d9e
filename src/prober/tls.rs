//! TLS placeholder.
