//! The org's final state for the ledger's keys, read straight from the simulator's store (no API
//! calls, so reconciliation leaves no trace in the journal), kept as `org-final.ndjson` so that
//! `sfchaos report` can reconcile merged shard ledgers again later.
//!
//! Each line is `{"object", "external_id_field", "record": {"Id", <external id field>, <fields
//! the ledger compares>…}}`, one per live record whose external id is a ledger key. Field names
//! are spelled as the events spelled them (the org looks them up case-insensitively).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use simulator::org::Org;

use super::evidence::NdjsonLog;
use crate::ledger::{Ledger, OrgSnapshot};

/// One line of `org-final.ndjson`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinalRecord {
    pub object: String,
    pub external_id_field: String,
    pub record: Map<String, Value>,
}

/// Reads the final records of every ledger key into a snapshot, writing each to `log`.
pub fn snapshot(org: &Org, ledger: &Ledger, log: Option<&NdjsonLog>) -> OrgSnapshot {
    let mut snapshot = OrgSnapshot::new();
    let plans: BTreeMap<(String, String), Vec<String>> = ledger
        .fetch_plan()
        .into_iter()
        .map(|p| {
            (
                (p.object, p.external_id_field),
                p.fields.into_iter().collect(),
            )
        })
        .collect();
    let mut by_field: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for key in ledger.key_ids() {
        by_field
            .entry((key.object.to_string(), key.external_id_field.to_string()))
            .or_default()
            .push(key.external_id.as_str());
    }
    let data = org.data.read();
    for ((object, ext_field), ids) in by_field {
        let Some(obj) = data.schema.object_index(&object) else {
            continue;
        };
        let def = &data.schema.objects[obj];
        let Some(ext_index) = def.field_index(&ext_field) else {
            continue;
        };
        let table = &data.tables[obj];
        let fields: Vec<(String, Option<usize>)> = plans
            .get(&(object.clone(), ext_field.clone()))
            .map(|names| {
                names
                    .iter()
                    .map(|n| (n.clone(), def.field_index(n)))
                    .collect()
            })
            .unwrap_or_default();
        // External-id fields are indexed; anything else is found by one scan.
        let scanned: Option<HashMap<String, Vec<u64>>> = (!table.has_index(ext_index)).then(|| {
            let mut map: HashMap<String, Vec<u64>> = HashMap::new();
            for row in table.rows.values().filter(|r| !r.deleted) {
                if let Some(v) = row.get_raw(ext_index).and_then(|v| v.as_str()) {
                    map.entry(v.to_owned()).or_default().push(row.num);
                }
            }
            map
        });
        for id in ids {
            let rows: Vec<u64> = match &scanned {
                Some(map) => map.get(id).cloned().unwrap_or_default(),
                None => table.find_by_index(ext_index, id).to_vec(),
            };
            for num in rows {
                let Some(row) = table.rows.get(&num).filter(|r| !r.deleted) else {
                    continue;
                };
                let mut record = Map::new();
                record.insert("Id".into(), Value::from(data.id_of(obj, num).to18()));
                record.insert(ext_field.clone(), data.value(obj, row, ext_index).to_json());
                for (name, index) in &fields {
                    let value = index.map_or(Value::Null, |fi| data.value(obj, row, fi).to_json());
                    record.insert(name.clone(), value);
                }
                if let Some(log) = log {
                    log.write(&FinalRecord {
                        object: object.clone(),
                        external_id_field: ext_field.clone(),
                        record: record.clone(),
                    });
                }
                snapshot.add(&object, &ext_field, Value::Object(record));
            }
        }
    }
    snapshot
}

/// Loads `org-final.ndjson` files into one snapshot (shards' key spaces are disjoint, so their
/// records simply add up). A partial last line (an interrupted write) is skipped.
pub fn load_snapshots<P: AsRef<Path>>(paths: &[P]) -> Result<OrgSnapshot, String> {
    let mut snapshot = OrgSnapshot::new();
    for path in paths {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let lines: Vec<String> = std::io::BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let last = lines.len();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<FinalRecord>(line) {
                Ok(r) => {
                    snapshot.add(&r.object, &r.external_id_field, Value::Object(r.record));
                }
                Err(_) if i + 1 == last => {}
                Err(e) => return Err(format!("{}:{}: {e}", path.display(), i + 1)),
            }
        }
    }
    Ok(snapshot)
}
