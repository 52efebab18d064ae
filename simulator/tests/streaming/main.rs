//! The Streaming API end to end against the in-memory app: CometD protocol, Change Data Capture,
//! platform events, retention, allocation and streaming faults.

mod cdc;
mod faults;
mod protocol;
mod support;
