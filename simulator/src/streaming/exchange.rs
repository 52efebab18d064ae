//! One CometD request's messages: handshake, connect (held), subscribe, unsubscribe, disconnect.
//!
//! Authentication is per request (the `Authorization: Bearer|OAuth` header, as Salesforce validates the
//! token on every call); the `clientId` must be live and come with its `BAYEUX_BROWSER` cookie.

use super::bayeux::{self, Advice, Message};
use super::channel::Filter;
use super::client::{Client, Delivery, PassCtx, Picked, Subscription};
use super::handler::Reply;
use super::hub::{concurrent_clients, BATCH_WINDOW, CONNECT_HOLD};
use super::render::Form;
use crate::auth::session::Session;
use crate::faults::hooks::Probe;
use crate::faults::plan::StreamingFault;
use crate::journal::{Api, FaultTag};
use crate::org::changes::{Change, RETENTION};
use crate::org::Org;
use crate::recording::RequestMeta;
use crate::state::SimState;
use axum::http::HeaderMap;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The answer to one message.
#[derive(Debug)]
pub struct Outcome {
    pub reply: Reply,
    /// Events delivered ahead of the reply (connects only).
    pub events: Vec<Delivery>,
    /// An authentication failure (the HTTP status becomes 401).
    pub unauthorized: bool,
}

impl Outcome {
    fn reply(reply: Reply) -> Outcome {
        Outcome {
            reply,
            events: vec![],
            unauthorized: false,
        }
    }
}

pub struct Exchange {
    state: SimState,
    meta: Option<RequestMeta>,
    /// `Sforce-Call-Options` client name, if any.
    identity: String,
    cookies: HashMap<String, String>,
    https: bool,
    version: String,
    set_cookies: Vec<String>,
}

impl Exchange {
    pub fn new(
        state: SimState,
        meta: Option<RequestMeta>,
        headers: &HeaderMap,
        https: bool,
        version: &str,
    ) -> Exchange {
        let identity = meta
            .as_ref()
            .and_then(|m| {
                let (s, _) = m.session.as_deref()?;
                let mut id = s.identity();
                if let Some(c) = &m.client_name {
                    id.push('|');
                    id.push_str(c);
                }
                Some(id)
            })
            .unwrap_or_default();
        Exchange {
            state,
            meta,
            identity,
            cookies: parse_cookies(headers),
            https,
            version: version.to_string(),
            set_cookies: vec![],
        }
    }

    pub fn take_cookies(&mut self) -> Vec<String> {
        std::mem::take(&mut self.set_cookies)
    }

    /// The rendered `data` of a delivered event.
    pub fn event_data(&self, d: &Delivery) -> Arc<[u8]> {
        let form = if d.gap { Form::Gap } else { Form::Full };
        self.state.streaming.cache.get(d.log, &d.change, form)
    }

    fn session(&self) -> Option<&(Arc<Session>, Arc<Org>)> {
        self.meta.as_ref()?.session.as_deref()
    }

    fn now(&self) -> Duration {
        self.state.clock.elapsed()
    }

    pub async fn handle(&mut self, m: &Message) -> Outcome {
        match m.channel.as_str() {
            bayeux::HANDSHAKE => self.handshake(m),
            bayeux::CONNECT => self.connect(m).await,
            bayeux::SUBSCRIBE => self.subscribe(m),
            bayeux::UNSUBSCRIBE => self.unsubscribe(m),
            bayeux::DISCONNECT => self.disconnect(m),
            c if c.starts_with("/meta/") => Outcome::reply(bayeux::failure(
                m,
                &format!("400::Unknown meta channel {c}"),
                None,
            )),
            _ => Outcome::reply(bayeux::failure(m, bayeux::PUBLISH_DENIED, None)),
        }
    }

    fn handshake(&mut self, m: &Message) -> Outcome {
        let Some((session, org)) = self.session().cloned() else {
            let had_token = self.meta.as_ref().is_some_and(|m| m.had_token);
            let reason = if had_token {
                bayeux::AUTH_INVALID
            } else {
                bayeux::AUTH_REQUIRED
            };
            return Outcome {
                reply: bayeux::handshake_denied(m, reason),
                events: vec![],
                unauthorized: true,
            };
        };
        if let Some(types) = &m.supported_types {
            if !types.iter().any(|t| t == bayeux::LONG_POLLING) {
                let reply =
                    bayeux::failure(m, &bayeux::invalid_connection_type(&types.join(",")), None);
                return Outcome::reply(reply);
            }
        }
        let state = self.state.clone();
        let hub = &state.streaming;
        let now = self.now();
        hub.sweep(now);
        let edition = org.config.edition;
        if hub.client_count(org.num) >= concurrent_clients(edition) {
            return Outcome::reply(bayeux::handshake_denied(m, bayeux::CONCURRENT_LIMIT));
        }
        let browser = match self.cookies.get(bayeux::BROWSER_COOKIE) {
            Some(b) if !b.is_empty() => b.clone(),
            _ => {
                let b = hub.new_browser_id();
                self.set_cookie(bayeux::BROWSER_COOKIE, &b, true);
                self.cookies
                    .insert(bayeux::BROWSER_COOKIE.into(), b.clone());
                b
            }
        };
        if !self.cookies.contains_key(bayeux::STREAM_COOKIE) {
            let s = format!("!{}", hub.new_browser_id());
            self.set_cookie(bayeux::STREAM_COOKIE, &s, false);
            self.cookies.insert(bayeux::STREAM_COOKIE.into(), s);
        }
        let id = hub.new_client_id();
        hub.register(Arc::new(Client::new(
            id.clone(),
            org,
            browser,
            session.identity(),
            now,
        )));
        let mut reply = Reply::new();
        reply.insert(
            "ext".into(),
            json!({"replay": true, "payload.format": true}),
        );
        reply.insert("minimumVersion".into(), json!("1.0"));
        reply.insert("clientId".into(), json!(id));
        reply.insert(
            "supportedConnectionTypes".into(),
            json!([bayeux::LONG_POLLING]),
        );
        reply.insert("channel".into(), json!(bayeux::HANDSHAKE));
        if let Some(i) = &m.id {
            reply.insert("id".into(), i.clone());
        }
        reply.insert("version".into(), json!("1.0"));
        reply.insert("successful".into(), json!(true));
        reply.insert("reestablish".into(), json!(false));
        Outcome::reply(reply)
    }

    fn set_cookie(&mut self, name: &str, value: &str, http_only: bool) {
        let mut c = format!("{name}={value}; Path=/");
        if http_only {
            c.push_str("; HttpOnly");
        }
        if self.https {
            c.push_str("; Secure");
        }
        self.set_cookies.push(c);
    }

    /// The live client a message names, or the failure to answer it with.
    fn client_of(&self, m: &Message) -> Result<Arc<Client>, Outcome> {
        let hub = &self.state.streaming;
        let Some((_, org)) = self.session() else {
            if let Some(id) = &m.client_id {
                hub.remove(id);
            }
            return Err(Outcome {
                reply: bayeux::failure(m, bayeux::AUTH_INVALID, Some(Advice::None)),
                events: vec![],
                unauthorized: true,
            });
        };
        let unknown = || {
            Outcome::reply(bayeux::failure(
                m,
                bayeux::UNKNOWN_CLIENT,
                Some(Advice::Handshake),
            ))
        };
        let Some(id) = m.client_id.as_deref() else {
            return Err(unknown());
        };
        let Some(client) = hub.lookup(id, self.now()) else {
            return Err(unknown());
        };
        // A reset replaced the org (like a server restart), or the token belongs to another org.
        let current = self.state.org(client.org.num);
        if !current.is_some_and(|o| Arc::ptr_eq(&o, &client.org)) || !Arc::ptr_eq(org, &client.org)
        {
            hub.remove(id);
            return Err(unknown());
        }
        match self.cookies.get(bayeux::BROWSER_COOKIE) {
            None => Err(Outcome::reply(bayeux::failure(
                m,
                &bayeux::no_cookie(id),
                None,
            ))),
            Some(b) if *b != client.browser => Err(unknown()),
            Some(_) => Ok(client),
        }
    }

    fn subscribe(&mut self, m: &Message) -> Outcome {
        let client = match self.client_of(m) {
            Ok(c) => c,
            Err(o) => return self.with_subscription(m, o),
        };
        let now = self.now();
        let org = client.org.clone();
        let fail =
            |text: &str| Outcome::reply(with_subscription_of(m, bayeux::failure(m, text, None)));
        if self.state.streaming.org(&org).exhausted(now) {
            client.replied(now);
            return fail(bayeux::DAILY_LIMIT);
        }
        let channels = m.subscriptions();
        if channels.is_empty() {
            client.replied(now);
            return fail(bayeux::NO_CHANNEL);
        }
        let log = &org.changes;
        log.expire_before(self.state.clock.now_ms() - RETENTION.as_millis() as i64);
        let mut subs = Vec::with_capacity(channels.len());
        for ch in &channels {
            let filter = match Filter::resolve(&org, ch) {
                Ok(f) => f,
                Err(text) => {
                    client.replied(now);
                    return fail(&text);
                }
            };
            let cursor = match m.replay_for(ch) {
                None | Some(Ok(-1)) => log.last_seq(),
                Some(Ok(-2)) => log.first_retained().map_or(log.last_seq(), |f| f - 1),
                Some(Ok(id)) if id >= 0 && log.can_resume_after(id as u64) => id as u64,
                Some(Ok(id)) => {
                    client.replied(now);
                    return fail(&bayeux::invalid_replay(&id.to_string()));
                }
                Some(Err(text)) => {
                    client.replied(now);
                    return fail(&bayeux::invalid_replay(&text));
                }
            };
            subs.push(Subscription {
                channel: ch.clone(),
                filter,
                cursor,
            });
        }
        {
            let mut st = client.state.lock();
            for sub in subs {
                st.subs.retain(|s| s.channel != sub.channel);
                st.subs.push(sub);
            }
            st.last_reply = st.last_reply.max(now);
        }
        // A held connect may now have events to deliver (a replay).
        client.wake.notify_waiters();
        Outcome::reply(with_subscription_of(m, bayeux::reply(m, true)))
    }

    fn with_subscription(&self, m: &Message, mut o: Outcome) -> Outcome {
        o.reply = with_subscription_of(m, o.reply);
        o
    }

    fn unsubscribe(&mut self, m: &Message) -> Outcome {
        let client = match self.client_of(m) {
            Ok(c) => c,
            Err(o) => return self.with_subscription(m, o),
        };
        let channels = m.subscriptions();
        {
            let mut st = client.state.lock();
            st.subs.retain(|s| !channels.contains(&s.channel));
            st.last_reply = st.last_reply.max(self.now());
        }
        client.wake.notify_waiters();
        Outcome::reply(with_subscription_of(m, bayeux::reply(m, true)))
    }

    fn disconnect(&mut self, m: &Message) -> Outcome {
        match self.client_of(m) {
            Ok(client) => {
                self.state.streaming.remove(&client.id);
                Outcome::reply(bayeux::reply(m, true))
            }
            Err(o) => o,
        }
    }

    async fn connect(&mut self, m: &Message) -> Outcome {
        let client = match self.client_of(m) {
            Ok(c) => c,
            Err(o) => return o,
        };
        if let Some(t) = m.connection_type.as_deref() {
            if t != bayeux::LONG_POLLING {
                client.replied(self.now());
                return Outcome::reply(bayeux::failure(
                    m,
                    &bayeux::invalid_connection_type(t),
                    None,
                ));
            }
        }
        let hub = &self.state.streaming;
        match self.connect_fault() {
            Some(StreamingFault::Rehandshake) => {
                self.tag_fault("rehandshake");
                hub.remove(&client.id);
                let reply = bayeux::failure(m, bayeux::UNKNOWN_CLIENT, Some(Advice::Handshake));
                return Outcome::reply(reply);
            }
            Some(StreamingFault::ExhaustAllocation) => {
                self.tag_fault("exhaust-allocation");
                hub.remove(&client.id);
                return Outcome::reply(bayeux::failure(m, bayeux::DAILY_LIMIT, Some(Advice::None)));
            }
            Some(StreamingFault::DropEvents(_)) | None => {}
        }
        let (my_gen, first) = {
            let mut st = client.state.lock();
            st.connect_gen += 1;
            st.holding += 1;
            let first = !st.connected;
            st.connected = true;
            (st.connect_gen, first)
        };
        // An older held connect of this client returns now.
        client.wake.notify_waiters();
        let _hold = HoldGuard {
            client: &client,
            state: &self.state,
        };
        let hold = if first {
            Duration::ZERO
        } else {
            let asked = m.advice_timeout.map_or(CONNECT_HOLD, Duration::from_millis);
            asked.min(CONNECT_HOLD)
        };
        let deadline = tokio::time::Instant::now() + hold;
        let mut log_rx = client.org.changes.subscribe();
        let streams = hub.org(&client.org);
        loop {
            let notified = client.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let picked = {
                let mut st = client.state.lock();
                if st.gone {
                    return Outcome::reply(bayeux::failure(
                        m,
                        bayeux::UNKNOWN_CLIENT,
                        Some(Advice::Handshake),
                    ));
                }
                if st.connect_gen != my_gen {
                    return Outcome::reply(bayeux::reply(m, true));
                }
                let now = self.now();
                let drop_decision = |c: &Change| self.event_dropped(c);
                let mut grant = |n: usize| streams.grant(now, n);
                client.pick(
                    &mut st,
                    &mut PassCtx {
                        drop_decision: &drop_decision,
                        grant: &mut grant,
                    },
                )
            };
            if picked.dropped > 0 {
                self.tag_fault("drop-events");
            }
            if !picked.events.is_empty() {
                return self.connected(m, first, picked);
            }
            if picked.starved {
                hub.remove(&client.id);
                return Outcome::reply(bayeux::failure(m, bayeux::DAILY_LIMIT, Some(Advice::None)));
            }
            if tokio::time::Instant::now() >= deadline {
                return self.connected(m, first, picked);
            }
            tokio::select! {
                _ = &mut notified => {}
                changed = log_rx.changed() => {
                    // The org's log is gone (the org was replaced): the next pass finds the client gone.
                    if changed.is_err() {
                        hub.remove(&client.id);
                    } else {
                        // Let a burst gather into one reply rather than one round trip per event.
                        tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + BATCH_WINDOW)).await;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {}
                _ = self.state.shutdown.cancelled() => return self.connected(m, first, Picked::default()),
            }
        }
    }

    fn connected(&self, m: &Message, first: bool, picked: Picked) -> Outcome {
        let mut reply = bayeux::reply(m, true);
        if first {
            reply.insert(
                "advice".into(),
                Advice::Retry {
                    timeout_ms: CONNECT_HOLD.as_millis() as u64,
                }
                .to_json(),
            );
        }
        Outcome {
            reply,
            events: picked.events,
            unauthorized: false,
        }
    }

    /// Asks the fault engine about this connect (forced re-handshake, exhausted allocation).
    fn connect_fault(&self) -> Option<StreamingFault> {
        let path = format!("/cometd/{}/meta/connect", self.version);
        let probe = Probe {
            api: Api::Streaming,
            object: None,
            client: Some(&self.identity),
            method: "POST",
            path: &path,
            now: self.now(),
        };
        self.state.faults.streaming(&probe)
    }

    /// Asks the fault engine whether `change` is dropped (once per change, at its first delivery).
    fn event_dropped(&self, c: &Change) -> bool {
        let channel = if c.is_platform_event() {
            format!("/event/{}", c.object())
        } else {
            c.meta.change_channel()
        };
        let probe = Probe {
            api: Api::Streaming,
            object: Some(c.object()),
            client: None,
            method: "POST",
            path: &channel,
            now: self.now(),
        };
        matches!(
            self.state.faults.streaming(&probe),
            Some(StreamingFault::DropEvents(_))
        )
    }

    fn tag_fault(&self, action: &str) {
        if let Some(meta) = &self.meta {
            meta.fault.lock().get_or_insert_with(|| FaultTag {
                rule: "streaming".into(),
                kind: "streaming".into(),
                action: action.into(),
            });
        }
    }
}

/// Marks a client as holding a connect; on drop (reply sent, or the client went away) the idle timer
/// restarts.
struct HoldGuard<'a> {
    client: &'a Client,
    state: &'a SimState,
}

impl Drop for HoldGuard<'_> {
    fn drop(&mut self) {
        let now = self.state.clock.elapsed();
        let mut st = self.client.state.lock();
        st.holding = st.holding.saturating_sub(1);
        st.last_reply = st.last_reply.max(now);
    }
}

/// Subscribe/unsubscribe replies echo `subscription` as it was sent.
fn with_subscription_of(m: &Message, mut reply: Reply) -> Reply {
    if let Some(s) = &m.subscription {
        reply.insert("subscription".into(), s.clone());
    }
    reply
}

fn parse_cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in headers.get_all(axum::http::header::COOKIE) {
        let Ok(text) = v.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.split_once('=') {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    out
}
