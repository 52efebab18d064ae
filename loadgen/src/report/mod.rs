//! report
//!
//! Renderers added by the scoring engine (see each file): `view.rs` (what they read from
//! report.json), `summary.rs` (terminal table), `junit.rs`, `html.rs` with `charts.rs`, and
//! `baseline.rs` (`--baseline` comparison).

pub mod baseline;
pub mod charts;
pub mod html;
pub mod junit;
pub mod summary;
pub mod view;
