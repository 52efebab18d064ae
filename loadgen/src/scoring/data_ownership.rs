//! `data-ownership`: no clear data ownership — the integration writes fields other people own,
//! puts back values they replaced, and overwrites records changed since it last looked.
//!
//! Signals:
//! - owned-field violations: successful writes by the integration (single, collection or composite
//!   subrequest) whose written fields include a field `[ownership]` gives to an actor, as a share of
//!   its writes to the objects concerned;
//! - reverts (from the record change log): the integration sets a field back to the value an
//!   actor's edit had replaced, while the actor's value was current;
//! - unconditional overwrites: a write without `If-Match`/`If-Unmodified-Since` whose fields
//!   include a field someone else changed on that record since the integration last read or wrote
//!   it (a lost update), as a share of its writes to records others had changed.
//!
//! Exercised when actors or actor-owned fields exist and the integration wrote to their objects.

use std::collections::HashMap;

use serde_json::Value;
use simulator::journal::JournalEntry;

use super::evidence::{ChangeRecord, Evidence};
use super::facts::{Facts, Op, Who};
use super::hash::{hash_of as hash, FastMap};
use super::stats::{ramp, ratio, req, score_from_penalties, Examples};
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::scenario::{AntiPattern, Owner};

/// Field names seen in writes, interned so that a record's "changed by others" set is a bit mask
/// (no allocation per record). Beyond 63 names, the rest share the last bit: a write touching any
/// of them then counts as touching all of them, which can only over-count clobbers of rare fields.
#[derive(Default)]
struct Interner {
    names: Vec<String>,
}

impl Interner {
    fn bit(&mut self, name: &str) -> u64 {
        let i = match self.names.iter().position(|n| same(n, name)) {
            Some(i) => i,
            None if self.names.len() < 63 => {
                self.names.push(name.to_owned());
                self.names.len() - 1
            }
            None => 63,
        };
        1 << i
    }

    fn mask(&mut self, names: &[String]) -> u64 {
        names.iter().fold(0, |m, n| m | self.bit(n))
    }
}

#[derive(Default)]
struct FieldState {
    current: Value,
    /// The value an actor replaced, while the actor's value is current.
    replaced_by_actor: Option<Value>,
}

pub struct DataOwnership<'a> {
    ev: &'a Evidence,
    /// `(object, field, owning actor)` for actor-owned fields. Short lists, compared without case
    /// and without allocating (this runs for every journal entry).
    owned: Vec<(String, String, String)>,
    /// Objects actors edit or own fields of.
    objects: Vec<String>,
    /// `(object, field)` that actors edit or own (tracked for reverts).
    tracked: Vec<(String, String)>,
    writes: u64,
    violations: Examples,
    /// Per entry of `owned`: writes that touched it.
    violated_fields: Vec<u64>,
    fields_seen: Interner,
    /// Record id hash → fields others changed since the integration last read or wrote it (only
    /// records with such changes are kept).
    records: FastMap<u64, u64>,
    writes_to_changed: u64,
    overwrites: Examples,
    fields: HashMap<(String, String), FieldState>,
    actor_changes: u64,
    reverts: Examples,
}

fn lc(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl<'a> DataOwnership<'a> {
    pub fn new(ev: &'a Evidence) -> Self {
        let mut owned = Vec::new();
        let mut objects: Vec<String> = Vec::new();
        let mut tracked: Vec<(String, String)> = Vec::new();
        let add =
            |objects: &mut Vec<String>, tracked: &mut Vec<(String, String)>, o: &str, f: &str| {
                if !objects.iter().any(|x| same(x, o)) {
                    objects.push(o.to_owned());
                }
                if !tracked.iter().any(|(xo, xf)| same(xo, o) && same(xf, f)) {
                    tracked.push((o.to_owned(), f.to_owned()));
                }
            };
        for (f, owner) in &ev.ownership.0 {
            if let Owner::Actor(name) = owner {
                owned.push((f.object.clone(), f.field.clone(), name.clone()));
                add(&mut objects, &mut tracked, &f.object, &f.field);
            }
        }
        for a in &ev.actors {
            if !objects.iter().any(|x| same(x, &a.object)) {
                objects.push(a.object.clone());
            }
            for field in &a.fields {
                add(&mut objects, &mut tracked, &a.object, field);
            }
        }
        let owned_len = owned.len();
        DataOwnership {
            ev,
            owned,
            objects,
            tracked,
            writes: 0,
            violations: Examples::default(),
            violated_fields: vec![0; owned_len],
            fields_seen: Interner::default(),
            records: FastMap::default(),
            writes_to_changed: 0,
            overwrites: Examples::default(),
            fields: HashMap::new(),
            actor_changes: 0,
            reverts: Examples::default(),
        }
    }

    fn integration_write(&mut self, e: &JournalEntry, object: &str) {
        self.writes += 1;
        let mut violated = false;
        for field in &e.fields {
            for (i, (o, f, _)) in self.owned.iter().enumerate() {
                if same(o, object) && same(f, field) {
                    violated = true;
                    self.violated_fields[i] += 1;
                }
            }
        }
        if violated {
            self.violations.push(|| req(e.id));
        }
        if self.records.is_empty() {
            return;
        }
        let written = self.fields_seen.mask(&e.fields);
        let mut counted = false;
        for id in &e.ids {
            // The integration has now seen (and written) the record.
            if let Some(changed) = self.records.remove(&hash(id)) {
                if !counted {
                    self.writes_to_changed += 1;
                    counted = true;
                }
                if changed & written != 0 && !e.conditional {
                    self.overwrites.push(|| req(e.id));
                }
            }
        }
    }
}

/// Scores `ev` for data ownership alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::DataOwnership)
}

impl Detector for DataOwnership<'_> {
    fn id(&self) -> AntiPattern {
        AntiPattern::DataOwnership
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if f.startup || !(200..300).contains(&e.status) || self.objects.is_empty() {
            return;
        }
        let Some(object) = e.object.as_deref() else {
            return;
        };
        if !self.objects.iter().any(|o| same(o, object)) {
            return;
        }
        match (f.who, f.op) {
            (Who::Integration, Op::Write) if !e.fields.is_empty() => {
                self.integration_write(e, object)
            }
            (Who::Integration, Op::Read | Op::Query) => {
                for id in &e.ids {
                    self.records.remove(&hash(id));
                }
            }
            (Who::Actor(_) | Who::Other, Op::Write) => {
                let changed = self.fields_seen.mask(&e.fields);
                for id in &e.ids {
                    *self.records.entry(hash(id)).or_default() |= changed;
                }
            }
            _ => {}
        }
    }

    fn change(&mut self, c: &ChangeRecord, _t_us: Option<i64>) {
        if self.tracked.is_empty() || c.record_id.is_empty() {
            return;
        }
        let by_integration = c.username() == self.ev.integration_user;
        let by_actor = self.ev.actor_by_user(c.username()).is_some();
        for field in c.written_fields() {
            if !self
                .tracked
                .iter()
                .any(|(o, f)| same(o, &c.object) && same(f, field))
            {
                continue;
            }
            let value = c.fields.get(field).cloned().unwrap_or(Value::Null);
            let state = self
                .fields
                .entry((c.record_id.clone(), lc(field)))
                .or_default();
            if by_actor {
                self.actor_changes += 1;
                let before = std::mem::replace(&mut state.current, value);
                state.replaced_by_actor = Some(before);
            } else {
                if by_integration {
                    if let Some(old) = &state.replaced_by_actor {
                        if *old == value && state.current != value {
                            self.reverts
                                .push(|| format!("record {} field {field}", c.record_id));
                        }
                    }
                }
                state.current = value;
                state.replaced_by_actor = None;
            }
        }
    }

    fn finish(self: Box<Self>, _cx: &Context) -> Assessment {
        if self.objects.is_empty() {
            return Assessment::not_exercised(
                "no actors and no actor-owned fields: no one else's data to respect",
            );
        }
        if self.writes == 0 {
            return Assessment::not_exercised(
                "the integration never wrote to the objects actors edit or own fields of",
            );
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        let v = ratio(self.violations.count as f64, self.writes as f64);
        if self.violations.count > 0 {
            penalties.push(10.0 + ramp(v, 0.01, 0.2, 50.0));
            let mut fields: Vec<(String, u64)> = self
                .owned
                .iter()
                .zip(&self.violated_fields)
                .filter(|(_, n)| **n > 0)
                .map(|((o, f, owner), n)| (format!("{o}.{f} (owned by {owner})"), *n))
                .collect();
            fields.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let names: Vec<&str> = fields.iter().take(3).map(|(f, _)| f.as_str()).collect();
            findings.push(
                Finding::new(
                    Severity::Critical,
                    format!(
                        "{:.0}% of the integration's writes touched fields owned by someone else: {}",
                        v * 100.0,
                        names.join(", ")
                    ),
                )
                .count(self.violations.count)
                .evidence(self.violations.items.clone()),
            );
        }
        if self.reverts.count > 0 {
            let share = ratio(self.reverts.count as f64, self.actor_changes as f64);
            penalties.push(5.0 + ramp(share, 0.0, 0.2, 25.0));
            findings.push(
                Finding::new(
                    Severity::Critical,
                    format!(
                        "put back the old value after an actor changed it ({:.0}% of {} actor changes reverted)",
                        share * 100.0,
                        self.actor_changes
                    ),
                )
                .count(self.reverts.count)
                .evidence(self.reverts.items.clone()),
            );
        }
        if self.writes_to_changed > 0 {
            let share = ratio(self.overwrites.count as f64, self.writes_to_changed as f64);
            penalties.push(ramp(share, 0.05, 0.5, 25.0));
            if self.overwrites.count > 0 {
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        format!(
                            "{:.0}% of writes to records changed by others since the integration's last read overwrote those fields without If-Match",
                            share * 100.0
                        ),
                    )
                    .count(self.overwrites.count)
                    .evidence(self.overwrites.items.clone()),
                );
            }
        }
        findings.push(
            Finding::new(
                Severity::Info,
                format!(
                    "{} integration writes to shared objects, {} actor changes",
                    self.writes, self.actor_changes
                ),
            )
            .count(self.writes),
        );
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}
