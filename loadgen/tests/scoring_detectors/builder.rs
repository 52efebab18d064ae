//! Hand-built evidence: a tiny DSL for journal entries, ledger events, changes and lifecycle lines.

use loadgen::datagen::EventKind;
use loadgen::ledger::{
    ExpectedState, KeyFinding, LedgerEntry, LedgerTotals, Outcome, Problem, Reconciliation,
};
use loadgen::scenario::{AntiPattern, FieldRef, Owner, Ownership};
use loadgen::scoring::evidence::{
    ActorEdit, ActorInfo, Alert, ChangeRecord, FaultWindow, LifecycleEvent, SinkDelivery, Span,
    StreamInfo, StreamKind,
};
use loadgen::scoring::{self, Assessment, Evidence, Scoring, Status};
use serde_json::{json, Map, Value};
use simulator::journal::{Api, FaultTag, JournalEntry};

pub const INTEGRATION: &str = "admin@sfchaos.test";
pub const ACTOR: &str = "sales@sfchaos.test";
pub const S: u64 = 1_000_000;
pub const MS: u64 = 1_000;

/// Evidence under construction.
pub struct Run {
    pub ev: Evidence,
    pub journal: Vec<JournalEntry>,
    pub ledger: Vec<LedgerEntry>,
    pub changes: Vec<ChangeRecord>,
    pub sink: Vec<SinkDelivery>,
    pub edits: Vec<ActorEdit>,
    pub findings: Vec<KeyFinding>,
    next_id: u64,
    next_event: u64,
}

impl Run {
    /// A run with `load_s` seconds of load and 10 s of drain.
    pub fn new(load_s: u64) -> Run {
        Run {
            ev: Evidence {
                scenario: "hand-built".into(),
                load_us: load_s * S,
                drain_us: 10 * S,
                integration_user: INTEGRATION.into(),
                ..Evidence::default()
            },
            journal: Vec::new(),
            ledger: Vec::new(),
            changes: Vec::new(),
            sink: Vec::new(),
            edits: Vec::new(),
            findings: Vec::new(),
            next_id: 1,
            next_event: 1,
        }
    }

    /// A request by the integration: `t` and `latency` in µs.
    pub fn req(
        &mut self,
        t: u64,
        method: &str,
        route: &str,
        path: &str,
        status: u16,
    ) -> &mut JournalEntry {
        let id = self.next_id;
        self.next_id += 1;
        self.journal.push(JournalEntry {
            id,
            t_us: t,
            latency_us: 5 * MS,
            user: Some(INTEGRATION.into()),
            app: Some("sfchaos-client".into()),
            method: method.into(),
            path: path.into(),
            route: route.into(),
            api: Api::of_path(path),
            object: Some("Account".into()),
            status,
            body_hash: Some(format!("b{id}")),
            error_code: match status {
                503 => Some("SERVER_UNAVAILABLE".into()),
                _ => None,
            },
            ..JournalEntry::default()
        });
        self.journal.last_mut().unwrap()
    }

    /// An upsert of record `n` by the integration.
    pub fn write(&mut self, t: u64, n: u64, status: u16) -> &mut JournalEntry {
        let path = format!("/services/data/v62.0/sobjects/Account/External_Id__c/A-{n:06}");
        let e = self.req(t, "PATCH", "sobjects.upsert", &path, status);
        e.ids = vec![record_id(n)];
        e.fields = vec!["Name".into()];
        e.body_hash = Some(format!("body-{n}"));
        e
    }

    /// An edit by the actor, journaled.
    pub fn actor_write(&mut self, t: u64, n: u64, fields: &[&str]) -> &mut JournalEntry {
        let path = format!("/services/data/v62.0/sobjects/Account/{}", record_id(n));
        let e = self.req(t, "PATCH", "sobjects.update", &path, 204);
        e.user = Some(ACTOR.into());
        e.ids = vec![record_id(n)];
        e.fields = fields.iter().map(|f| f.to_string()).collect();
        e
    }

    /// A business event sent at `t` (µs) and its outcome; returns its id.
    pub fn event(
        &mut self,
        stream: &str,
        t: u64,
        key: u64,
        accepted: bool,
        latency: u64,
    ) -> String {
        let id = format!("evt-{}", self.next_event);
        self.next_event += 1;
        self.ledger.push(LedgerEntry {
            event_id: id.clone(),
            stream: stream.into(),
            seq: self.next_event,
            sent_us: t,
            object: "Account".into(),
            external_id_field: "External_Id__c".into(),
            external_id: format!("A-{key:06}"),
            kind: EventKind::Upsert,
            fields: Map::from_iter([("Name".to_string(), json!(format!("n{key}")))]),
            outcome: if accepted {
                Outcome::Accepted { status: 202 }
            } else {
                Outcome::Rejected { status: 503 }
            },
            latency_us: latency,
        });
        id
    }

    /// Marks the key of event `event` as lost.
    pub fn lost(&mut self, event: &str) {
        let key = self
            .ledger
            .iter()
            .find(|l| l.event_id == event)
            .map(|l| l.external_id.clone())
            .unwrap_or_default();
        self.findings.push(KeyFinding {
            object: "Account".into(),
            external_id_field: "External_Id__c".into(),
            external_id: key,
            last_event_id: Some(event.into()),
            problem: Problem::Lost {
                expected: ExpectedState::Present,
            },
        });
    }

    pub fn fault(
        &mut self,
        id: &str,
        kind: &str,
        start_s: u64,
        end_s: Option<u64>,
    ) -> &mut FaultWindow {
        self.ev.faults.push(FaultWindow {
            id: id.into(),
            kind: kind.into(),
            span: Span::new(start_s * S, end_s.map(|e| e * S)),
            probability: Some(1.0),
            installed: true,
            ..FaultWindow::default()
        });
        self.ev.faults.last_mut().unwrap()
    }

    pub fn change(&mut self, t: u64, n: u64, user: &str, change_type: &str, fields: Value) {
        let fields: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
        self.changes.push(ChangeRecord {
            t_us: Some(t as i64),
            seq: self.changes.len() as u64 + 1,
            object: "Account".into(),
            record_id: record_id(n),
            change_type: change_type.into(),
            client: format!("{user}|sfchaos-client"),
            changed_fields: if change_type == "UPDATE" {
                fields.keys().cloned().collect()
            } else {
                Vec::new()
            },
            fields,
            ..ChangeRecord::default()
        });
    }

    pub fn deliver(&mut self, t: u64, n: u64) {
        self.sink.push(SinkDelivery {
            t_us: t as i64,
            status: 200,
            body: serde_json::from_value(
                json!({"object": "Account", "id": record_id(n), "change": "update"}),
            )
            .unwrap(),
        });
    }

    pub fn alert(&mut self, t: u64, severity: &str, resolved: bool) {
        self.ev.alerts.push(Alert {
            t_us: t as i64,
            severity: severity.into(),
            summary: "x".into(),
            resolved,
        });
    }

    pub fn lifecycle(&mut self, t: u64, event: &str, action: Option<&str>, expected: Option<bool>) {
        self.ev.lifecycle.push(LifecycleEvent {
            t_us: t as i64,
            event: event.into(),
            action: action.map(str::to_owned),
            expected,
            detail: None,
        });
    }

    pub fn with_actor(&mut self, owns_phone: bool) {
        self.ev.actors.push(ActorInfo {
            name: "sales".into(),
            username: ACTOR.into(),
            object: "Account".into(),
            fields: vec!["Phone".into()],
        });
        if owns_phone {
            let mut o = Ownership::default();
            o.0.insert(
                FieldRef {
                    object: "Account".into(),
                    field: "Phone".into(),
                },
                Owner::Actor("sales".into()),
            );
            self.ev.ownership = o;
        }
    }

    pub fn stream(&mut self, name: &str, kind: StreamKind) {
        self.ev.streams.push(StreamInfo {
            name: name.into(),
            kind,
            object: "Account".into(),
            batch_size: (kind == StreamKind::Batch).then_some(500),
        });
    }

    /// The finished evidence.
    pub fn evidence(self) -> Evidence {
        let mut ev = self.ev;
        ev.journal = self.journal.into();
        let accepted = self
            .ledger
            .iter()
            .filter(|l| l.outcome.is_accepted())
            .count() as u64;
        if !self.ledger.is_empty() || !self.findings.is_empty() {
            let lost = self
                .findings
                .iter()
                .filter(|f| matches!(f.problem, Problem::Lost { .. }))
                .count() as u64;
            ev.reconciliation = Some(Reconciliation {
                totals: LedgerTotals {
                    sent: self.ledger.len() as u64,
                    accepted,
                    rejected: self.ledger.len() as u64 - accepted,
                    landed: accepted.saturating_sub(lost),
                    lost,
                    keys: accepted,
                    ..LedgerTotals::default()
                },
                findings: self.findings,
                findings_omitted: 0,
            });
        }
        ev.ledger = self.ledger.into();
        ev.changes = self.changes.into();
        ev.sink = self.sink.into();
        ev.actor_edits = self.edits.into();
        ev
    }

    pub fn assess(self, id: AntiPattern) -> Assessment {
        scoring::assess(&self.evidence(), id).expect("hand-built evidence scores")
    }

    pub fn score(self) -> Scoring {
        scoring::score(&self.evidence()).expect("hand-built evidence scores")
    }
}

pub fn record_id(n: u64) -> String {
    format!("001000000000{n:06}")
}

pub fn tag(rule: &str, kind: &str, action: &str) -> Option<FaultTag> {
    Some(FaultTag {
        rule: rule.into(),
        kind: kind.into(),
        action: action.into(),
    })
}

/// Asserts a scored verdict in `range`, printing the findings when it is not.
#[track_caller]
pub fn assert_score(a: &Assessment, range: std::ops::RangeInclusive<u8>) {
    let score = a.score.unwrap_or_else(|| panic!("not scored: {a:#?}"));
    assert!(
        range.contains(&score),
        "score {score} not in {range:?}: {a:#?}"
    );
    assert_ne!(a.status, Status::NotExercised);
}

#[track_caller]
pub fn assert_not_exercised(a: &Assessment) {
    assert_eq!(a.status, Status::NotExercised, "{a:#?}");
    assert_eq!(a.score, None);
}

/// A finding whose message contains `text`.
#[track_caller]
pub fn finding<'a>(a: &'a Assessment, text: &str) -> &'a loadgen::scoring::Finding {
    a.findings
        .iter()
        .find(|f| f.message.contains(text))
        .unwrap_or_else(|| panic!("no finding mentioning {text:?}: {a:#?}"))
}
