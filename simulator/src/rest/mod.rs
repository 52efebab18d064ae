//! The `/services/data` REST surface.
pub mod ctx;
pub mod query;
