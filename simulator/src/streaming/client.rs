//! One CometD client (a handshaken `clientId`): its subscriptions with their replay positions, its
//! long-poll state, and the pass that picks the events its next `/meta/connect` reply carries.
//!
//! Locking: `state` is a short-held `parking_lot::Mutex`, never held across an `.await`. A delivery pass
//! takes it and, inside, the change log's lock (via [`ChangeLog::scan`]); nothing takes them the other way
//! round.
//!
//! [`ChangeLog::scan`]: crate::org::changes::ChangeLog::scan

use super::channel::{CdcSet, Filter};
use crate::org::changes::Change;
use crate::org::Org;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Events one connect reply carries at most (more wait for the next connect, which comes at once).
pub const MAX_BATCH: usize = 1_000;
/// Changes a delivery pass looks at per subscription (a subscriber far behind catches up over several).
pub const MAX_SCAN: usize = 20_000;

/// One subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The channel exactly as the client named it (delivered messages carry it back).
    pub channel: String,
    pub filter: Filter,
    /// The last replay id this subscription has been given (or skipped past).
    pub cursor: u64,
}

#[derive(Debug)]
pub struct ClientState {
    pub subs: Vec<Subscription>,
    /// The first connect has been answered (it is answered at once, with the advice).
    pub connected: bool,
    /// Bumped by every connect; a held connect that sees a newer one returns (it was replaced).
    pub connect_gen: u64,
    /// Connects being held right now.
    pub holding: u32,
    /// Scenario time of the last reply sent to this client.
    pub last_reply: Duration,
    /// Disconnected or forgotten: held connects return, lookups fail.
    pub gone: bool,
}

#[derive(Debug)]
pub struct Client {
    pub id: String,
    pub org: Arc<Org>,
    /// The `BAYEUX_BROWSER` cookie value the client must send back.
    pub browser: String,
    /// Journal identity of the session that handshook (username|app).
    pub identity: String,
    pub state: Mutex<ClientState>,
    /// Woken (all waiters) when something a held connect cares about happens: a subscription, a
    /// newer connect, a disconnect.
    pub wake: Notify,
}

/// One event picked for delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub change: Arc<Change>,
    /// The id of the change log it came from (keys the render cache).
    pub log: u64,
    /// The subscription's channel.
    pub channel: String,
    /// Delivered as a gap event (a delivery fault dropped the CDC change).
    pub gap: bool,
}

/// The outcome of a delivery pass.
#[derive(Debug, Default)]
pub struct Picked {
    pub events: Vec<Delivery>,
    /// Deliverable events are waiting but the org's delivery allocation is spent.
    pub starved: bool,
    /// Events a delivery fault dropped in this pass (platform events skipped, CDC changes as gaps).
    pub dropped: usize,
}

/// What a delivery pass needs from its caller.
pub struct PassCtx<'a> {
    /// Asked once per change, at its first delivery: does a fault drop it?
    pub drop_decision: &'a dyn Fn(&Change) -> bool,
    /// Grants up to `n` deliveries from the org's allocation; returns how many.
    pub grant: &'a mut dyn FnMut(usize) -> usize,
}

impl Client {
    pub fn new(
        id: String,
        org: Arc<Org>,
        browser: String,
        identity: String,
        now: Duration,
    ) -> Client {
        Client {
            id,
            org,
            browser,
            identity,
            state: Mutex::new(ClientState {
                subs: Vec::new(),
                connected: false,
                connect_gen: 0,
                holding: 0,
                last_reply: now,
                gone: false,
            }),
            wake: Notify::new(),
        }
    }

    /// Whether the client has been idle longer than `idle` since its last reply (with no connect held).
    pub fn expired(&self, now: Duration, idle: Duration) -> bool {
        let s = self.state.lock();
        s.gone || (s.holding == 0 && now.saturating_sub(s.last_reply) > idle)
    }

    pub fn mark_gone(&self) {
        self.state.lock().gone = true;
        self.wake.notify_waiters();
    }

    /// Note that a reply went out now.
    pub fn replied(&self, now: Duration) {
        let mut s = self.state.lock();
        s.last_reply = s.last_reply.max(now);
    }

    /// Pick the events for a connect reply: across subscriptions in replay-id order, at most
    /// [`MAX_BATCH`], within the allocation. Subscription cursors advance past what is delivered or
    /// skipped; events held back by the allocation stay pending.
    pub fn pick(&self, state: &mut ClientState, ctx: &mut PassCtx<'_>) -> Picked {
        let cdc = CdcSet::of(&self.org);
        let log = &self.org.changes;
        // (seq, subscription, change) for every match, per subscription in order.
        let mut items: Vec<(u64, usize, Arc<Change>)> = Vec::new();
        let mut scanned: Vec<u64> = Vec::with_capacity(state.subs.len());
        for (i, sub) in state.subs.iter().enumerate() {
            let scan = log.scan(sub.cursor, MAX_SCAN, MAX_BATCH, |c| {
                sub.filter.matches(c, &cdc)
            });
            scanned.push(scan.last);
            items.extend(scan.taken.into_iter().map(|c| (c.seq, i, c)));
        }
        items.sort_by_key(|(seq, i, _)| (*seq, *i));

        // Fates first (a dropped platform event is skipped, not delivered), then the allocation.
        let mut plan: Vec<(usize, Option<bool>)> = Vec::with_capacity(items.len());
        let mut deliverable = 0;
        for (_, i, c) in &items {
            let filter = &state.subs[*i].filter;
            let skip = c.is_suppressed();
            let dropped = !skip && log.fate(c, || (ctx.drop_decision)(c));
            let outcome = if skip || (dropped && !filter.is_cdc()) {
                None
            } else {
                deliverable += 1;
                Some(dropped)
            };
            plan.push((*i, outcome));
        }
        let granted = if deliverable == 0 {
            0
        } else {
            (ctx.grant)(deliverable.min(MAX_BATCH))
        };
        let mut picked = Picked {
            starved: granted < deliverable.min(MAX_BATCH),
            ..Default::default()
        };
        // Consume items in order until the granted deliveries are used up.
        let mut consumed = 0;
        let mut used = 0;
        for ((_, i, c), (_, outcome)) in items.iter().zip(&plan) {
            match outcome {
                Some(gap) => {
                    if used == granted {
                        break;
                    }
                    used += 1;
                    if *gap {
                        picked.dropped += 1;
                    }
                    picked.events.push(Delivery {
                        change: c.clone(),
                        log: log.id(),
                        channel: state.subs[*i].channel.clone(),
                        gap: *gap,
                    });
                }
                None => {
                    if !c.is_suppressed() {
                        picked.dropped += 1;
                    }
                }
            }
            consumed += 1;
        }
        // Cursors: past everything scanned when all of the subscription's matches were consumed,
        // otherwise just before its first unconsumed match.
        let mut first_pending: Vec<Option<u64>> = vec![None; state.subs.len()];
        for (seq, i, _) in items.iter().skip(consumed) {
            first_pending[*i].get_or_insert(*seq);
        }
        for (i, sub) in state.subs.iter_mut().enumerate() {
            sub.cursor = match first_pending[i] {
                Some(seq) => seq - 1,
                None => scanned[i],
            };
        }
        picked
    }
}
