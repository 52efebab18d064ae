//! Detector tests on hand-built evidence: for each anti-pattern a clearly bad and a clearly good
//! run, the "not exercised" case, and the edge cases of issue 8 (no traffic, all traffic failed, a
//! poller whose polls do return changes, retries honouring Retry-After).

// `x.is_multiple_of(n)` needs Rust 1.87; the workspace supports 1.85.
#![allow(clippy::manual_is_multiple_of)]

mod builder;

mod availability;
mod batch_realtime_mixing;
mod blind_retries;
mod data_ownership;
mod edge_cases;
mod observability;
mod partial_failures;
mod polling;
mod realtime_db;
mod rollback;
mod schema_assumptions;
