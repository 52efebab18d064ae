//! composite
