//! Streaming API over CometD (Bayeux 1.0 long-polling, salesforce-api.md §7.1): handshake, subscribe
//! with the replay extension, the `/meta/connect` loop, disconnect.
//!
//! The one thing done without being asked is what the protocol itself demands: when the server answers
//! `403::Unknown client` with `advice.reconnect = "handshake"` (its session for us expired, or it
//! restarted), the client handshakes again and re-subscribes every channel **from the last replayId it
//! received**, so no retained event is lost and none is delivered twice. Any other failure (transport
//! error, `reconnect: "none"`, `retry` after an error) ends [`StreamingClient::run`] with the error;
//! the client keeps its replay positions, so calling `run` again after the caller's own backoff resumes
//! where it stopped.
//!
//! Salesforce needs its session cookies sent back on every request, so the client keeps a small
//! cookie jar (name=value pairs from `Set-Cookie`; one endpoint, so domain and path are moot).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::client::{Call, Reply, SfClient};
use super::error::{api_error, SfError};

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayFrom {
    /// Only events published after subscribing (`-1`).
    New,
    /// Every retained event (`-2`).
    All,
    /// Events after this replayId.
    After(i64),
}

impl ReplayFrom {
    /// The value sent in `ext.replay`.
    pub fn value(self) -> i64 {
        match self {
            ReplayFrom::New => -1,
            ReplayFrom::All => -2,
            ReplayFrom::After(id) => id,
        }
    }
}

/// One delivered event.
#[derive(Debug, Clone, PartialEq)]
pub struct CometdEvent {
    /// The channel it arrived on, e.g. `/data/ChangeEvents`.
    pub channel: String,
    /// `data.event.replayId`.
    pub replay_id: Option<i64>,
    /// `data.payload` (CDC, platform events), or `data.sobject` (PushTopic), or `data` itself.
    pub payload: Value,
    /// The whole `data` object (schema id, event metadata).
    pub data: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reconnect {
    Retry,
    Handshake,
    None,
}

/// What the server last advised.
#[derive(Debug, Clone, Copy)]
struct Advice {
    timeout: Duration,
    interval: Duration,
    reconnect: Reconnect,
}

impl Default for Advice {
    /// faye's assumption until the server advises: 60 s.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            interval: Duration::ZERO,
            reconnect: Reconnect::Retry,
        }
    }
}

/// The outcome of one `/meta/connect`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectOutcome {
    /// Events that rode on the reply (possibly none: the long-poll timed out quietly).
    Events(Vec<CometdEvent>),
    /// The server forgot this client and asked for a new handshake; the events delivered with the
    /// reply are included. [`StreamingClient::rehandshake`] resumes the subscriptions.
    Rehandshake(Vec<CometdEvent>),
}

/// A CometD client for one org. Not `Clone`: it owns the Bayeux session and replay positions.
#[derive(Debug)]
pub struct StreamingClient {
    client: SfClient,
    path: String,
    client_id: Option<String>,
    cookies: BTreeMap<String, String>,
    subscriptions: Vec<(String, ReplayFrom)>,
    last_replay: HashMap<String, i64>,
    next_id: u64,
    advice: Advice,
    handshakes: u64,
}

impl StreamingClient {
    /// A client on `/cometd/{api version}` of the client's instance, sharing its session and counter.
    pub fn new(client: SfClient) -> Self {
        let path = format!("/cometd/{}", client.config().api_version);
        Self {
            client,
            path,
            client_id: None,
            cookies: BTreeMap::new(),
            subscriptions: Vec::new(),
            last_replay: HashMap::new(),
            next_id: 0,
            advice: Advice::default(),
            handshakes: 0,
        }
    }

    /// The Bayeux clientId, once handshaken.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// Handshakes performed (more than one means the server asked for re-handshakes).
    pub fn handshakes(&self) -> u64 {
        self.handshakes
    }

    /// The last replayId received on `channel`.
    pub fn last_replay_id(&self, channel: &str) -> Option<i64> {
        self.last_replay.get(channel).copied()
    }

    /// `/meta/handshake`.
    pub async fn handshake(&mut self) -> Result<(), SfError> {
        let id = self.message_id();
        let msg = json!({
            "channel": "/meta/handshake",
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "id": id,
        });
        let replies = self.post(&msg, None).await?;
        let reply = find_reply(&replies, "/meta/handshake", &id)
            .ok_or_else(|| SfError::decode("CometD handshake", "no /meta/handshake reply"))?;
        self.note_advice(reply);
        if !is_successful(reply) {
            return Err(bayeux_error(reply));
        }
        let client_id = reply
            .get("clientId")
            .and_then(Value::as_str)
            .ok_or_else(|| SfError::decode("CometD handshake", "no clientId"))?;
        self.client_id = Some(client_id.to_string());
        self.handshakes += 1;
        Ok(())
    }

    /// `/meta/subscribe` with `ext.replay = {channel: from}`. The subscription is remembered and
    /// restored after a re-handshake.
    pub async fn subscribe(&mut self, channel: &str, from: ReplayFrom) -> Result<(), SfError> {
        match self.subscriptions.iter_mut().find(|(c, _)| c == channel) {
            Some(entry) => entry.1 = from,
            None => self.subscriptions.push((channel.to_string(), from)),
        }
        match self.send_subscribe(channel, from).await? {
            None => Ok(()),
            // The clientId expired before we even subscribed: handshake and restore everything.
            Some(Reconnect::Handshake) => self.rehandshake().await,
            Some(_) => Err(SfError::decode("CometD subscribe", "unexpected advice")),
        }
    }

    /// `/meta/unsubscribe`.
    pub async fn unsubscribe(&mut self, channel: &str) -> Result<(), SfError> {
        self.subscriptions.retain(|(c, _)| c != channel);
        let id = self.message_id();
        let msg = json!({
            "channel": "/meta/unsubscribe",
            "clientId": self.require_client_id()?,
            "subscription": channel,
            "id": id,
        });
        let replies = self.post(&msg, None).await?;
        match find_reply(&replies, "/meta/unsubscribe", &id) {
            Some(r) if !is_successful(r) => Err(bayeux_error(r)),
            _ => Ok(()),
        }
    }

    /// Handshake again and re-subscribe every channel from the last replayId received on it (or from
    /// where it was originally asked to start, if nothing arrived yet).
    pub async fn rehandshake(&mut self) -> Result<(), SfError> {
        self.client_id = None;
        self.handshake().await?;
        let subs: Vec<(String, ReplayFrom)> = self
            .subscriptions
            .iter()
            .map(|(c, from)| {
                let resume = self
                    .last_replay
                    .get(c)
                    .map_or(*from, |id| ReplayFrom::After(*id));
                (c.clone(), resume)
            })
            .collect();
        for (channel, from) in subs {
            if let Some(advice) = self.send_subscribe(&channel, from).await? {
                return Err(SfError::decode(
                    "CometD subscribe",
                    format!("server still rejects the new client ({advice:?})"),
                ));
            }
        }
        Ok(())
    }

    /// One `/meta/connect` long-poll. Events are returned in arrival order with duplicates (replayId
    /// not above the last one seen on the channel) removed, and replay positions updated.
    pub async fn connect(&mut self) -> Result<ConnectOutcome, SfError> {
        let id = self.message_id();
        let msg = json!({
            "channel": "/meta/connect",
            "clientId": self.require_client_id()?,
            "connectionType": "long-polling",
            "id": id,
        });
        // faye's rule: wait 1.2 × the advised timeout before calling the long-poll dead.
        let wait = self.advice.timeout.mul_f64(1.2) + Duration::from_secs(1);
        let replies = self.post(&msg, Some(wait)).await?;
        let events = self.take_events(&replies);
        let Some(reply) = find_reply(&replies, "/meta/connect", &id) else {
            return Ok(ConnectOutcome::Events(events));
        };
        self.note_advice(reply);
        if is_successful(reply) {
            return Ok(ConnectOutcome::Events(events));
        }
        if self.advice.reconnect == Reconnect::Handshake {
            return Ok(ConnectOutcome::Rehandshake(events));
        }
        Err(bayeux_error(reply))
    }

    /// The connect loop: deliver events on `tx` until the receiver is dropped (then disconnect and
    /// return `Ok`), re-handshaking when the server asks to. Sleeps `advice.interval` between polls.
    pub async fn run(&mut self, tx: mpsc::Sender<CometdEvent>) -> Result<(), SfError> {
        if self.client_id.is_none() {
            self.rehandshake().await?;
        }
        loop {
            if tx.is_closed() {
                return self.disconnect().await;
            }
            let (events, rehandshake) = match self.connect().await? {
                ConnectOutcome::Events(e) => (e, false),
                ConnectOutcome::Rehandshake(e) => (e, true),
            };
            for event in events {
                if tx.send(event).await.is_err() {
                    return self.disconnect().await;
                }
            }
            if rehandshake {
                self.rehandshake().await?;
            } else if !self.advice.interval.is_zero() {
                tokio::time::sleep(self.advice.interval).await;
            }
        }
    }

    /// `/meta/disconnect`. The replay positions are kept.
    pub async fn disconnect(&mut self) -> Result<(), SfError> {
        let Some(client_id) = self.client_id.take() else {
            return Ok(());
        };
        let id = self.message_id();
        let msg = json!({"channel": "/meta/disconnect", "clientId": client_id, "id": id});
        self.post(&msg, None).await.map(drop)
    }

    async fn send_subscribe(
        &mut self,
        channel: &str,
        from: ReplayFrom,
    ) -> Result<Option<Reconnect>, SfError> {
        let id = self.message_id();
        let msg = json!({
            "channel": "/meta/subscribe",
            "clientId": self.require_client_id()?,
            "subscription": channel,
            "id": id,
            "ext": {"replay": {channel: from.value()}},
        });
        let replies = self.post(&msg, None).await?;
        let reply = find_reply(&replies, "/meta/subscribe", &id)
            .ok_or_else(|| SfError::decode("CometD subscribe", "no /meta/subscribe reply"))?;
        self.note_advice(reply);
        if is_successful(reply) {
            return Ok(None);
        }
        if self.advice.reconnect == Reconnect::Handshake && is_unknown_client(reply) {
            return Ok(Some(Reconnect::Handshake));
        }
        Err(bayeux_error(reply))
    }

    fn take_events(&mut self, replies: &[Value]) -> Vec<CometdEvent> {
        let mut out = Vec::new();
        for m in replies {
            let Some(channel) = m.get("channel").and_then(Value::as_str) else {
                continue;
            };
            if channel.starts_with("/meta/") {
                continue;
            }
            let Some(data) = m.get("data") else {
                continue;
            };
            let replay_id = data.pointer("/event/replayId").and_then(Value::as_i64);
            if let Some(rid) = replay_id {
                if self
                    .last_replay
                    .get(channel)
                    .is_some_and(|last| rid <= *last)
                {
                    continue;
                }
                self.last_replay.insert(channel.to_string(), rid);
            }
            let payload = data
                .get("payload")
                .or_else(|| data.get("sobject"))
                .cloned()
                .unwrap_or_else(|| data.clone());
            out.push(CometdEvent {
                channel: channel.to_string(),
                replay_id,
                payload,
                data: data.clone(),
            });
        }
        out
    }

    fn note_advice(&mut self, reply: &Value) {
        let Some(advice) = reply.get("advice") else {
            return;
        };
        if let Some(t) = advice.get("timeout").and_then(Value::as_u64) {
            self.advice.timeout = Duration::from_millis(t);
        }
        if let Some(i) = advice.get("interval").and_then(Value::as_u64) {
            self.advice.interval = Duration::from_millis(i);
        }
        self.advice.reconnect = match advice.get("reconnect").and_then(Value::as_str) {
            Some("handshake") => Reconnect::Handshake,
            Some("none") => Reconnect::None,
            _ => Reconnect::Retry,
        };
    }

    fn message_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn require_client_id(&self) -> Result<String, SfError> {
        self.client_id
            .clone()
            .ok_or_else(|| SfError::InvalidRequest("CometD: handshake first".to_string()))
    }

    async fn post(
        &mut self,
        message: &Value,
        timeout: Option<Duration>,
    ) -> Result<Vec<Value>, SfError> {
        let mut call = Call::new(Method::POST, self.path.clone()).json(&[message])?;
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            call = call.header("Cookie", header);
        }
        if let Some(t) = timeout {
            call = call.timeout(t);
        }
        // Bayeux reports failures in the body; the HTTP status is not the verdict (faye ignores it).
        let reply = self.client.send(call.any_status()).await?;
        self.store_cookies(&reply);
        let messages = match serde_json::from_slice::<Value>(&reply.body) {
            Ok(Value::Array(messages)) => messages,
            Ok(single @ Value::Object(_)) => vec![single],
            _ if !(200..300).contains(&reply.status) => {
                return Err(api_error(reply.status, &reply.body))
            }
            Ok(_) => return Err(SfError::decode("CometD reply", "not a JSON array")),
            Err(e) => return Err(SfError::decode("CometD reply", e)),
        };
        let bayeux = messages.iter().any(|m| m.get("channel").is_some());
        if !bayeux && !(200..300).contains(&reply.status) {
            // A REST-style error array (e.g. 401 INVALID_SESSION_ID) rather than a Bayeux reply.
            return Err(api_error(reply.status, &reply.body));
        }
        Ok(messages)
    }

    fn store_cookies(&mut self, reply: &Reply) {
        for value in reply.headers.get_all("set-cookie") {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let name = name.trim();
                if !name.is_empty() {
                    self.cookies
                        .insert(name.to_string(), value.trim().to_string());
                }
            }
        }
    }
}

fn find_reply<'a>(replies: &'a [Value], channel: &str, id: &str) -> Option<&'a Value> {
    let on_channel = |m: &&Value| m.get("channel").and_then(Value::as_str) == Some(channel);
    replies
        .iter()
        .filter(on_channel)
        .find(|m| m.get("id").and_then(Value::as_str) == Some(id))
        .or_else(|| replies.iter().find(on_channel))
}

fn is_successful(reply: &Value) -> bool {
    reply.get("successful").and_then(Value::as_bool) == Some(true)
}

fn is_unknown_client(reply: &Value) -> bool {
    reply
        .get("error")
        .and_then(Value::as_str)
        .is_some_and(|e| e.starts_with("403::Unknown client"))
}

/// A Bayeux failure as `SfError::Api`: status from `"<code>::<text>"` (preferring Salesforce's
/// `ext.sfdc.failureReason`), so `401::Authentication invalid` classifies as needing re-authentication
/// and `503::Server is too busy` as retryable.
fn bayeux_error(reply: &Value) -> SfError {
    let reason = reply
        .pointer("/ext/sfdc/failureReason")
        .and_then(Value::as_str)
        .or_else(|| reply.get("error").and_then(Value::as_str))
        .unwrap_or("400::unsuccessful reply without an error");
    let (code, text) = reason.split_once("::").unwrap_or(("400", reason));
    let status = code.trim().parse().unwrap_or(400);
    let channel = reply.get("channel").and_then(Value::as_str).unwrap_or("?");
    SfError::Api {
        status,
        error_code: "STREAMING_API_ERROR".to_string(),
        message: format!("{channel}: {status}::{text}"),
        fields: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streaming() -> Option<StreamingClient> {
        let client = SfClient::new(super::super::SfConfig::new("http://127.0.0.1:9")).ok()?;
        Some(StreamingClient::new(client))
    }

    #[test]
    fn events_are_parsed_and_duplicates_dropped() {
        let Some(mut s) = streaming() else {
            panic!("client builds");
        };
        let msg = |rid: i64| {
            json!({"channel": "/event/Order_Event__e",
                   "data": {"schema": "x", "payload": {"Amount__c": rid}, "event": {"replayId": rid}}})
        };
        let connect = json!({"channel": "/meta/connect", "successful": true});
        let first = s.take_events(&[msg(5), msg(6), connect.clone()]);
        assert_eq!(first.len(), 2);
        assert_eq!(first[1].payload["Amount__c"], 6);
        let again = s.take_events(&[msg(6), msg(7), connect]);
        assert_eq!(
            again.iter().map(|e| e.replay_id).collect::<Vec<_>>(),
            [Some(7)]
        );
        assert_eq!(s.last_replay_id("/event/Order_Event__e"), Some(7));
    }

    #[test]
    fn bayeux_errors_carry_their_status() {
        let e =
            bayeux_error(&json!({"channel": "/meta/connect", "error": "503::Server is too busy"}));
        assert_eq!(e.status(), Some(503));
        assert_eq!(e.retryability(), crate::retry::Retryability::Retryable);
        let e = bayeux_error(&json!({"channel": "/meta/subscribe",
            "error": "400::The channel you requested to subscribe to does not exist {/topic/X}"}));
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.retryability(), crate::retry::Retryability::NotRetryable);
    }

    #[test]
    fn replay_values() {
        assert_eq!(ReplayFrom::New.value(), -1);
        assert_eq!(ReplayFrom::All.value(), -2);
        assert_eq!(ReplayFrom::After(42).value(), 42);
    }
}
