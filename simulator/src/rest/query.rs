//! Query cursors (placeholder).

/// Open query cursors of one org.
#[derive(Debug, Default)]
pub struct Cursors {}
