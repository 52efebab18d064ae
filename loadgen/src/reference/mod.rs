//! The reference integrations `builtin:naive` and `builtin:resilient`: real programs speaking the
//! integration contract of design.md §4 against Salesforce's real APIs, used to calibrate the scorer
//! and as a worked example of what an integration should do.
//!
//! Both profiles are **one engine with ten switches** ([`Behaviour`], one per anti-pattern of
//! design.md §7). `naive` turns them all on, `resilient` all off, and
//! `builtin:resilient?blind-retries=on` flips exactly one. The `behaviour.rs` table says what each
//! switch changes and where; reading the code with `behaviour.X` in mind shows both sides of every
//! anti-pattern next to each other.
//!
//! # What the resilient profile does
//!
//! * **Inbound** (`intake.rs`, `store/`): validates an event, appends it to a log in
//!   `SFCHAOS_STATE_DIR` and fsyncs *before* answering 202, so an acknowledged event survives a
//!   crash; re-sent ids are recognised. Events for one record fold into one pending write (later
//!   events win, field by field).
//! * **Writes** (`write/`): upserts by external id (no read first), grouping into sObject
//!   Collections calls when the queue is deep; writes only the fields it owns, shared ones with
//!   `If-Match`; maps fields from a cached describe and re-describes when Salesforce says a field is
//!   unknown, dropping only what the org no longer takes.
//! * **Retries** (`calls.rs`): one place, the configured [`RetryPolicy`](crate::retry::RetryPolicy)
//!   (full jitter with a retry budget by default), only for retryable errors, re-login on an expired
//!   session, nothing sent while the daily allocation is spent.
//! * **Outages** (`write/worker.rs`): work that cannot get through stays queued; one probe per
//!   jittered pause; the backlog drains once Salesforce answers. Every call has a timeout.
//! * **Downstream** (`downstream/`): Change Data Capture with replay from the saved position.
//! * **Bulk** (`bulk/`): Collections below 2,000 rows, Bulk 2.0 above, off-peak, one job at a time;
//!   failed rows read from `failedResults` and resubmitted as upserts.
//! * **Observability** (`alerts.rs`, `metrics.rs`): incidents with resolutions; `/metrics`.
//!
//! # Environment
//!
//! The design.md §4 variables, plus the `SFCHAOS_*` extras in `config.rs` (seed, field ownership,
//! peak windows, synced objects, poll interval, inline-write timeout, retry strategy, client name).
//!
//! # Determinism
//!
//! Every random draw (retry jitter, outage pauses, sink retries) comes from a `ChaCha8Rng` seeded
//! from `SFCHAOS_SEED` and the component's name ([`Config::seed_for`]); the same seed replays the
//! same waits for the same sequence of failures.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `behaviour.rs` | the ten switches; the retry strategy a profile runs |
//! | `config.rs` | [`Config`] from the environment |
//! | `ownership.rs`, `peak.rs` | `SFCHAOS_OWNED_FIELDS`/`SFCHAOS_FOREIGN_FIELDS`, `SFCHAOS_PEAK` |
//! | `lifecycle.rs` | [`start`], [`Running`], [`run`] |
//! | `engine.rs` | the state every task shares |
//! | `server.rs`, `intake.rs` | the inbound API |
//! | `store/` | the queue: folding events per record, the durable log |
//! | `calls.rs` | the single retry point for Salesforce calls |
//! | `schema.rs` | describes, cached or not; the hard-coded field list |
//! | `write/` | the Salesforce write path and its workers |
//! | `bulk/` | `/batch` loads |
//! | `downstream/` | Salesforce → sink: CDC, the replication feed, SOQL polling |
//! | `alerts.rs`, `health.rs`, `metrics.rs` | alerts, the rolling error window, `/metrics` |

mod alerts;
mod behaviour;
mod bulk;
mod calls;
mod config;
mod downstream;
mod engine;
mod error;
mod health;
mod intake;
mod lifecycle;
mod metrics;
mod ownership;
mod peak;
mod schema;
mod server;
mod store;
mod write;

pub use alerts::{Alert, Severity};
pub use behaviour::{retry_spec, Behaviour, REFERENCE_BASE, REFERENCE_CAP};
pub use calls::BLIND_RETRY_FLOOR;
pub use config::{Config, Tuning, CALL_TIMEOUT, NO_TIMEOUT};
pub use downstream::{Change, ChangeKind};
pub use error::ReferenceError;
pub use intake::{parse_batch, parse_event, DEFAULT_EXTERNAL_ID_FIELD};
pub use lifecycle::{run, start, Running};
pub use metrics::Metrics;
pub use ownership::{FieldClass, FieldOwnership};
pub use peak::PeakWindows;
pub use schema::KNOWN_FIELDS;
