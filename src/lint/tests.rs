//! Each check id with an input that triggers it and one that does not.
