//! Reconciliation: the ledger's expected final state against the org's actual one.
//!
//! # Per key (keys with at least one accepted event)
//!
//! - **landed**: expected present and exactly one record matches the expected field values (or, with
//!   duplicates, the best of them does), or expected absent and no record exists.
//! - **lost**: expected present but no record, or expected absent (a delete was accepted last) but
//!   the record is still there.
//! - **wrong_value**: a record exists but some expected field differs (in the best-matching record).
//! - **duplicates**: records beyond the first with the same external id; counted *as well as* the
//!   verdict above, so `landed + lost + wrong_value = keys`.
//!
//! `sent`, `accepted` and `rejected` count events; `landed`, `lost`, `wrong_value` and `keys` count
//! keys; `duplicates` counts extra records. Only the fields the ledger sent are compared; others in
//! the record (system fields, fields owned by other actors) are ignored.
//!
//! # Value normalisation ([`values_equal`])
//!
//! - numbers compare numerically (`1500.5` = `1500.50` = `"1500.50"`: a string on either side is
//!   parsed when the other side is a number), integers exactly, fractions to a relative 1e-9;
//! - `null`, a missing field and `""` are the same (Salesforce stores empty text as null);
//! - a boolean equals the string `"true"`/`"false"` in any case;
//! - everything else, strings included, compares exactly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::{KeyId, KeyState, Ledger};
use crate::datagen::EventKind;

/// The org's final records, grouped by external id. Fill it however the caller fetches records
/// (REST query, Bulk export, the simulator's store); deleted records must be left out, and records
/// flagged `"IsDeleted": true` are skipped.
#[derive(Clone, Debug, Default)]
pub struct OrgSnapshot {
    records: HashMap<KeyId, Vec<Map<String, Value>>>,
    /// Records that were not objects or had no external id.
    pub skipped: u64,
}

impl OrgSnapshot {
    pub fn new() -> Self {
        OrgSnapshot::default()
    }

    /// Adds one record of `object`, keyed by its `external_id_field` value. Returns whether it was
    /// kept.
    pub fn add(&mut self, object: &str, external_id_field: &str, record: Value) -> bool {
        let Value::Object(record) = record else {
            self.skipped += 1;
            return false;
        };
        if record.get("IsDeleted").and_then(Value::as_bool) == Some(true) {
            self.skipped += 1;
            return false;
        }
        let external_id = match record.get(external_id_field) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                self.skipped += 1;
                return false;
            }
        };
        let key = KeyId {
            object: Arc::from(object),
            external_id_field: Arc::from(external_id_field),
            external_id,
        };
        self.records.entry(key).or_default().push(record);
        true
    }

    /// Adds many records of one object; returns how many were kept.
    pub fn extend(
        &mut self,
        object: &str,
        external_id_field: &str,
        records: impl IntoIterator<Item = Value>,
    ) -> usize {
        records
            .into_iter()
            .map(|r| self.add(object, external_id_field, r))
            .filter(|kept| *kept)
            .count()
    }

    /// Records with this key (empty if none).
    pub fn records(&self, key: &KeyId) -> &[Map<String, Value>] {
        self.records.get(key).map_or(&[], Vec::as_slice)
    }
}

/// What the caller must fetch for reconciliation: per object and external-id field, the fields
/// the ledger will compare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPlan {
    pub object: String,
    pub external_id_field: String,
    pub fields: BTreeSet<String>,
}

/// Totals in the shape of report.json's `ledger` object (design.md §7), plus two extra keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerTotals {
    pub sent: u64,
    pub accepted: u64,
    /// `sent − accepted`.
    pub rejected: u64,
    pub landed: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub wrong_value: u64,
    /// Keys with at least one accepted event: `landed + lost + wrong_value`.
    pub keys: u64,
    /// Of `rejected`, those with no reply at all (timeouts, transport errors).
    pub unanswered: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedState {
    Present,
    Absent,
}

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: String,
    pub expected: Value,
    /// `null` when the record lacks the field.
    pub actual: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    Lost { expected: ExpectedState },
    Duplicate { records: u64 },
    WrongValue { diffs: Vec<FieldDiff> },
}

/// Evidence for one key that did not reconcile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyFinding {
    pub object: String,
    pub external_id_field: String,
    pub external_id: String,
    /// The key's last accepted event.
    pub last_event_id: Option<String>,
    #[serde(flatten)]
    pub problem: Problem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconcileOptions {
    /// Findings kept as evidence; the rest are only counted.
    pub max_findings: usize,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions { max_findings: 50 }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub totals: LedgerTotals,
    /// In key order, capped at [`ReconcileOptions::max_findings`].
    pub findings: Vec<KeyFinding>,
    pub findings_omitted: u64,
}

impl Ledger {
    /// The fields to fetch per object, so the caller can build its queries.
    pub fn fetch_plan(&self) -> Vec<FetchPlan> {
        let mut plans: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (key, state) in &self.keys {
            let fields = plans
                .entry((key.object.to_string(), key.external_id_field.to_string()))
                .or_default();
            fields.extend(state.fields.keys().map(|f| f.to_string()));
            for p in &state.pending {
                fields.extend(p.fields.keys().cloned());
            }
        }
        plans
            .into_iter()
            .map(|((object, external_id_field), fields)| FetchPlan {
                object,
                external_id_field,
                fields,
            })
            .collect()
    }

    /// Compares every key's expected final state with `org`. See the module docs for the rules.
    pub fn reconcile(&self, org: &OrgSnapshot, options: ReconcileOptions) -> Reconciliation {
        let mut totals = LedgerTotals {
            sent: self.sent,
            accepted: self.accepted,
            rejected: self.rejected,
            unanswered: self.unanswered,
            ..LedgerTotals::default()
        };
        let mut out = Reconciliation::default();
        let mut keys: Vec<(&KeyId, &KeyState)> =
            self.keys.iter().filter(|(_, s)| s.accepted > 0).collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        let mut push = |key: &KeyId, state: &KeyState, problem: Problem| {
            if out.findings.len() < options.max_findings {
                out.findings.push(KeyFinding {
                    object: key.object.to_string(),
                    external_id_field: key.external_id_field.to_string(),
                    external_id: key.external_id.clone(),
                    last_event_id: state.last_event.as_ref().map(|(_, id)| id.clone()),
                    problem,
                });
            } else {
                out.findings_omitted += 1;
            }
        };
        for (key, state) in keys {
            totals.keys += 1;
            let records = org.records(key);
            if records.len() > 1 {
                let extra = records.len() as u64 - 1;
                totals.duplicates += extra;
                push(key, state, Problem::Duplicate { records: extra + 1 });
            }
            match verdict(state, records) {
                Verdict::Landed => totals.landed += 1,
                Verdict::Lost(expected) => {
                    totals.lost += 1;
                    push(key, state, Problem::Lost { expected });
                }
                Verdict::Wrong(diffs) => {
                    totals.wrong_value += 1;
                    push(key, state, Problem::WrongValue { diffs });
                }
            }
        }
        out.totals = totals;
        out
    }
}

enum Verdict {
    Landed,
    Lost(ExpectedState),
    Wrong(Vec<FieldDiff>),
}

fn verdict(state: &KeyState, records: &[Map<String, Value>]) -> Verdict {
    let last = state.last_accepted();
    // Only unanswered events after the last accepted one remain in `pending` (see `prune`).
    let later = || state.pending.iter().filter(move |p| Some(p.order) > last);
    let expect_absent = state.last_delete > state.last_upsert;
    if expect_absent {
        if records.is_empty() || later().any(|p| p.kind == EventKind::Upsert) {
            return Verdict::Landed;
        }
        return Verdict::Lost(ExpectedState::Absent);
    }
    if records.is_empty() {
        if later().any(|p| p.kind == EventKind::Delete) {
            return Verdict::Landed;
        }
        return Verdict::Lost(ExpectedState::Present);
    }
    // Fields set after the last accepted delete make up the expected record.
    let mut expected: Vec<(&str, &Value)> = state
        .fields
        .iter()
        .filter(|(_, (order, _))| Some(*order) > state.last_delete)
        .map(|(name, (_, value))| (&**name, value))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(b.0));
    let diffs_of = |record: &Map<String, Value>| -> Vec<FieldDiff> {
        expected
            .iter()
            .filter(|(name, value)| {
                let actual = record.get(*name);
                !values_equal(value, actual)
                    && !later().any(|p| {
                        p.kind == EventKind::Upsert
                            && p.fields.get(*name).is_some_and(|v| values_equal(v, actual))
                    })
            })
            .map(|(name, value)| FieldDiff {
                field: (*name).to_owned(),
                expected: (*value).clone(),
                actual: record.get(*name).cloned().unwrap_or(Value::Null),
            })
            .collect()
    };
    let best = records
        .iter()
        .map(diffs_of)
        .min_by_key(Vec::len)
        .unwrap_or_default();
    if best.is_empty() {
        Verdict::Landed
    } else {
        Verdict::Wrong(best)
    }
}

/// Whether an org value matches the expected one, with the normalisation in the module docs.
pub fn values_equal(expected: &Value, actual: Option<&Value>) -> bool {
    let blank = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if blank(Some(expected)) || blank(actual) {
        return blank(Some(expected)) && blank(actual);
    }
    let Some(actual) = actual else {
        return false;
    };
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            parse_number(s).is_some_and(|p| numbers_equal(n, &p))
        }
        (Value::Bool(b), Value::String(s)) | (Value::String(s), Value::Bool(b)) => s
            .trim()
            .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        (a, b) => a == b,
    }
}

fn parse_number(s: &str) -> Option<Number> {
    let s = s.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    s.parse::<f64>().ok().and_then(Number::from_f64)
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => {
            let scale = x.abs().max(y.abs()).max(1.0);
            (x - y).abs() <= 1e-9 * scale
        }
        _ => false,
    }
}
