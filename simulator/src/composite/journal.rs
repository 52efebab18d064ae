//! Journal entries for subrequests: each subrequest of `/composite` or `/composite/batch` becomes its
//! own [`JournalEntry`] with `parent` set to the outer request's id, so the scorer sees every write
//! (and every rolled-back one) with its own route, status and errorCode.
//!
//! `api_cost` of a subrequest entry is 0: what the call cost is recorded once, on the outer entry
//! (1 for `/composite`, one per subrequest for `/composite/batch`).

use super::subrequest::SubResponse;
use crate::journal::{body_hash, Api, JournalEntry};
use crate::rest::ctx::Ctx;
use std::time::Duration;

/// A finished subrequest, waiting to be journaled (entries are written once the call's outcome is
/// known, so rolled-back items show what the client was told).
#[derive(Debug, Clone)]
pub struct SubRecord {
    pub method: String,
    pub url: String,
    pub started: Duration,
    pub latency: Duration,
    pub body_hash: Option<String>,
    pub conditional: bool,
}

impl SubRecord {
    pub fn new(ctx: &Ctx, method: &str, url: &str, body: Option<&serde_json::Value>) -> SubRecord {
        SubRecord {
            method: method.to_string(),
            url: url.to_string(),
            started: ctx.state.clock.elapsed(),
            latency: Duration::ZERO,
            body_hash: body.map(|b| body_hash(b.to_string().as_bytes())),
            conditional: false,
        }
    }
}

/// Append one entry per subrequest, in order.
pub fn append(ctx: &Ctx, subs: &[(SubRecord, SubResponse)]) {
    for (rec, resp) in subs {
        let n = &resp.note;
        let entry = JournalEntry {
            id: ctx.state.journal.next_id(),
            t_us: rec.started.as_micros() as u64,
            latency_us: rec.latency.as_micros() as u64,
            org: Some(ctx.org.id.clone()),
            user: Some(ctx.session.username.clone()),
            app: Some(ctx.session.app_label()),
            client: ctx.client_name.clone(),
            peer: None,
            method: rec.method.clone(),
            path: rec.url.chars().take(512).collect(),
            route: n.route.to_string(),
            api: Api::Composite,
            object: n.object.clone(),
            ids: n.ids.iter().take(20).cloned().collect(),
            fields: n.fields.clone(),
            conditional: rec.conditional,
            body_hash: rec.body_hash.clone(),
            status: resp.status,
            error_code: resp.error_code.clone(),
            fault: None,
            item_faults: Vec::new(),
            query: n.query.clone(),
            result_hash: n.result_hash.clone(),
            rows: n.rows,
            api_cost: 0,
            api_usage: None,
            item_failures: resp.item_failures,
            parent: Some(ctx.request_id),
            job: None,
        };
        ctx.state.journal.append(entry);
    }
}
