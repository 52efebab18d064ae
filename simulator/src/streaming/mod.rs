//! CometD long-polling (`/cometd/{version}`), Change Data Capture and platform events — the Streaming
//! API as salesforce-api.md §7 describes it, so an integration that listens can be told apart from one
//! that polls.
//!
//! Every committed write, whatever its path (REST, composite, collections, Bulk 2.0, actors), publishes
//! [`crate::org::changes::Change`]s to its org's change log; every platform event published with
//! `POST /sobjects/Name__e` does too. Subscribers read the log from their replay position: CDC changes of
//! CDC-enabled objects (`OrgConfig::cdc_objects`) on `/data/ChangeEvents` and `/data/<Object>ChangeEvent`,
//! platform events on `/event/<Name>__e`.
//!
//! # Protocol, as clients rely on it
//!
//! * `/meta/handshake` → `clientId`, `ext {replay, payload.format}`, `supportedConnectionTypes
//!   ["long-polling"]`; sets the `BAYEUX_BROWSER` and `sfdc-stream` cookies; the browser cookie must
//!   come back on every later message.
//! * `/meta/connect`: the first is answered at once with `advice {interval 0, timeout 110000, reconnect
//!   retry}`; later ones are held up to 110 s (or the request's own `advice.timeout`) and return as soon
//!   as events are pending (after a 5 ms window that lets a burst share one reply), events first in the
//!   answer array. A newer connect of the same client releases the held one. A client silent for 40 s
//!   after a reply is forgotten (`403::Unknown client`, `advice.reconnect handshake`).
//! * Requests: a JSON array of messages (or one message, or a form `message=` field), at most 32,768
//!   bytes (413 beyond); the version is mandatory (400 with Salesforce's text). faye posts every
//!   message to the endpoint itself; sub-paths (`/cometd/62.0/connect`) are accepted for clients that
//!   append the message type.
//! * `/meta/subscribe` with `ext.replay {channel: -1 | -2 | replayId}`: new events only, everything
//!   retained, or events after an id still retained (otherwise the invalid-replayId error). Replay ids
//!   are the log's sequence numbers: increasing, and non-contiguous per channel.
//! * Authentication on every request (`Authorization: Bearer|OAuth`): a bad token denies the handshake
//!   (`403::Handshake denied`, `ext.sfdc.failureReason 401::Authentication invalid`, reconnect none) and
//!   fails other messages with `401::Authentication invalid`.
//! * Retention 72 h on the scenario clock; the delivery allocation (`DailyDeliveredPlatformEvents`,
//!   per edition, 24 h rolling) counts every event delivered to every client — once spent, connects fail
//!   with `403::Organization total events daily limit exceeded` (reconnect none) and subscribes with
//!   the same error. [`Hub::configure_deliveries`] raises or squeezes it.
//!
//! # Streaming faults
//!
//! [`crate::faults::hooks::Faults::streaming`] is asked in two places, told apart by the probe's path:
//! * each `/meta/connect` (`path` = `/cometd/{v}/meta/connect`, `client` = the caller): `Rehandshake`
//!   answers `403::Unknown client` and forgets the client; `ExhaustAllocation` answers the daily-limit
//!   error;
//! * each change or event, once, when it is first delivered to anyone (`path` = its channel,
//!   `/data/AccountChangeEvent` or `/event/Order_Event__e`; `object` = its object; no client):
//!   `DropEvents` drops it for every subscriber — a CDC change arrives as a `GAP_*` event (header only),
//!   a platform event not at all (a hole in the replay ids). The engine decides per probe (counts and
//!   fractions are its business); the decision shows as `dropped` in `/__admin/changes`.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `handler.rs` | the HTTP endpoint: versions, size limit, cookies, answer assembly, journal note |
//! | `exchange.rs` | each message: handshake, connect (held), subscribe, unsubscribe, disconnect, faults |
//! | `client.rs` | one client: subscriptions and cursors, the delivery pass |
//! | `hub.rs` | [`Hub`]: client registry, per-org delivery allocation, ids |
//! | `channel.rs` | channel names → filters |
//! | `render.rs` | CDC and platform-event `data` objects, the render cache |
//! | `bayeux.rs` | message parsing, replies, Salesforce's error texts |

mod bayeux;
mod channel;
mod client;
mod exchange;
mod handler;
mod hub;
mod render;

pub use handler::MAX_REQUEST;
pub use hub::{
    concurrent_clients, daily_deliveries, Hub, OrgStreaming, BATCH_WINDOW, CLIENT_IDLE,
    CONNECT_HOLD, DELIVERY_WINDOW,
};
pub use render::data_bytes;

use crate::state::SimState;
use axum::routing::any;
use axum::Router;

/// Routes of this API family (installed by [`crate::app`]).
pub fn routes(_state: SimState) -> Router<SimState> {
    Router::new()
        .route("/cometd", any(handler::missing_version))
        .route("/cometd/{version}", any(handler::cometd))
        .route("/cometd/{version}/{*rest}", any(handler::cometd))
}
