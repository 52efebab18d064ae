//! One CSV row of an ingest job: the header checked against the object, a row turned into a field
//! map (`""` leaves a field unchanged, `#N/A` sets it to null, `Account.External_Id__c` names a
//! parent by external id), the rows a write locks, and the write itself through `rest::dml` — the
//! same validation and write path as every other API.

use super::job::Operation;
use crate::error::ApiError;
use crate::org::ids::RecordId;
use crate::org::locks::RowKey;
use crate::org::schema::FieldType;
use crate::org::store::{OrgData, Txn, Writer};
use crate::org::write::{prepare_kind, InputKind, WriteOp};
use crate::rest::dml::{self, match_external, UpsertTarget};
use crate::rest::sobjects::record_num;
use serde_json::{Map, Value as Json};

/// The upload's header, resolved against the object.
#[derive(Debug, Clone)]
pub struct Columns {
    pub names: Vec<String>,
    /// The `Id` column (updates, deletes).
    pub id_col: Option<usize>,
    /// The external-id column (upserts).
    pub ext_col: Option<usize>,
    /// The external-id field (upserts).
    pub ext_field: Option<usize>,
}

/// Check the header; `Err` is the job's `errorMessage` (the whole job fails, as in Salesforce).
pub fn check_header(
    data: &OrgData,
    obj: usize,
    op: Operation,
    ext_field: Option<&str>,
    header: &[String],
) -> Result<Columns, String> {
    let o = &data.schema.objects[obj];
    let mut seen = std::collections::HashSet::new();
    for col in header {
        if !seen.insert(col.to_ascii_lowercase()) {
            return Err(format!("InvalidBatch : Duplicate field name: {col}"));
        }
        let known = match col.split_once('.') {
            Some((rel, field)) => o
                .relationship(rel)
                .and_then(|r| r.reference_to.first())
                .and_then(|p| data.schema.object(p))
                .and_then(|p| p.field(field))
                .is_some_and(|f| f.id_lookup),
            None => o.field_index(col).is_some(),
        };
        if !known {
            return Err(format!("InvalidBatch : Field name not found : {col}"));
        }
    }
    let find = |name: &str| header.iter().position(|c| c.eq_ignore_ascii_case(name));
    let id_col = find("Id");
    let mut cols = Columns {
        names: header.to_vec(),
        id_col,
        ext_col: None,
        ext_field: None,
    };
    match op {
        Operation::Delete | Operation::HardDelete => {
            if id_col.is_none() || header.len() != 1 {
                return Err(format!(
                    "InvalidBatch : The '{}' batch must contain only ids, [{}]",
                    op.name(),
                    header.join(", ")
                ));
            }
        }
        Operation::Update => {
            if id_col.is_none() {
                return Err("InvalidBatch : Field name not found : Id".into());
            }
        }
        Operation::Upsert => {
            let ext = ext_field.unwrap_or("Id");
            cols.ext_col = find(ext);
            cols.ext_field = o.field_index(ext);
            if cols.ext_col.is_none() || cols.ext_field.is_none() {
                return Err(format!(
                    "InvalidBatch : The 'upsert' batch must contain the external ID column {ext}"
                ));
            }
        }
        Operation::Insert => {}
    }
    Ok(cols)
}

/// One row, ready to write.
#[derive(Debug)]
pub struct RowInput {
    pub map: Map<String, Json>,
    /// The row's `Id` (update/delete) or external id (upsert), for locks, faults and errors.
    pub key: Option<String>,
}

/// Turn a record into a field map. Empty cells are left out (they leave the field unchanged).
pub fn parse_row(
    cols: &Columns,
    op: Operation,
    rec: &csv::StringRecord,
) -> Result<RowInput, ApiError> {
    if rec.len() != cols.names.len() {
        return Err(ApiError::custom(
            400,
            "INVALID_INPUT",
            &format!(
                "The row has {} values but the header has {} columns",
                rec.len(),
                cols.names.len()
            ),
        ));
    }
    let mut map = Map::new();
    for (name, v) in cols.names.iter().zip(rec.iter()) {
        // An `Id` column that names no record (clients write null ids as `#N/A`) is no field write.
        if v.is_empty() || (v == "#N/A" && name.eq_ignore_ascii_case("Id")) {
            continue;
        }
        map.insert(name.clone(), Json::String(v.to_string()));
    }
    let col = match op {
        Operation::Upsert => cols.ext_col,
        Operation::Insert => None,
        _ => cols.id_col,
    };
    let key = col
        .and_then(|c| rec.get(c))
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    Ok(RowInput { map, key })
}

/// Upsert keys named more than once in one transaction fail on every occurrence, as Salesforce
/// answers `DUPLICATE_EXTERNAL_ID` for them (keys match case-insensitively).
pub fn fail_duplicate_keys(inputs: &mut [Result<RowInput, ApiError>]) {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for k in inputs.iter().flatten().filter_map(|r| r.key.as_deref()) {
        *counts.entry(k.to_lowercase()).or_default() += 1;
    }
    for input in inputs.iter_mut() {
        let dup = match input {
            Ok(r) => r
                .key
                .as_deref()
                .filter(|k| counts.get(&k.to_lowercase()).copied().unwrap_or(0) > 1)
                .map(str::to_string),
            Err(_) => None,
        };
        if let Some(k) = dup {
            *input = Err(ApiError::custom(
                400,
                "DUPLICATE_EXTERNAL_ID",
                &format!("Duplicate external id specified: {k}"),
            ));
        }
    }
}

/// The record a row updates or deletes, if it exists now.
fn existing(
    data: &OrgData,
    obj: usize,
    op: Operation,
    cols: &Columns,
    row: &RowInput,
) -> Option<u64> {
    let key = row.key.as_deref()?;
    match op {
        Operation::Insert => None,
        Operation::Upsert => match match_external(data, obj, cols.ext_field?, key) {
            UpsertTarget::Update(n) => Some(n),
            _ => None,
        },
        _ => record_num(data, obj, key).ok(),
    }
}

/// The rows writing `row` locks: the record itself and its parents (old and new), including parents
/// named by external id (`Account.External_Id__c`).
pub fn row_keys(
    data: &OrgData,
    obj: usize,
    op: Operation,
    cols: &Columns,
    row: &RowInput,
) -> Vec<RowKey> {
    let current = existing(data, obj, op, cols, row);
    let mut keys = dml::parent_keys(data, obj, &row.map, current);
    keys.extend(current.map(|n| (obj, n)));
    let o = &data.schema.objects[obj];
    for (k, v) in &row.map {
        let Some((rel, field)) = k.split_once('.') else {
            continue;
        };
        let Some(r) = o.relationship(rel) else {
            continue;
        };
        if r.ftype != FieldType::Reference || r.child_relationship_name.is_none() {
            continue;
        }
        let parent = r
            .reference_to
            .first()
            .and_then(|p| data.schema.object_index(p));
        let (Some(po), Some(value)) = (parent, v.as_str()) else {
            continue;
        };
        if let Some(pfi) = data.schema.objects[po].field_index(field) {
            keys.extend(
                data.tables[po]
                    .find_by_index(pfi, value)
                    .first()
                    .map(|n| (po, *n)),
            );
        }
    }
    keys
}

/// Write one row inside `txn`: `(record number, created)`, or the error with the record number when
/// the row named one.
pub fn apply(
    txn: &mut Txn<'_>,
    obj: usize,
    op: Operation,
    cols: &Columns,
    row: &RowInput,
    writer: &Writer,
    now_ms: i64,
) -> Result<(u64, bool), (Option<u64>, ApiError)> {
    let num_of = |id: &str| RecordId::parse(id).map(|r| r.num);
    match op {
        Operation::Insert => {
            let fields = prepare_kind(
                txn.data(),
                obj,
                &row.map,
                WriteOp::Create,
                None,
                InputKind::Csv,
            )
            .map_err(|e| (None, e))?;
            let id = txn.insert(obj, fields, writer, now_ms);
            Ok((id.num, true))
        }
        Operation::Update => {
            let id = row.key.as_deref().ok_or_else(|| {
                (
                    None,
                    ApiError::custom(
                        400,
                        "MISSING_ARGUMENT",
                        "Id not specified in an update call",
                    ),
                )
            })?;
            let num = record_num(txn.data(), obj, id).map_err(|e| (None, e))?;
            dml::live_row(txn.data(), obj, num).map_err(|e| (Some(num), cross_reference(e)))?;
            let fields = prepare_kind(
                txn.data(),
                obj,
                &row.map,
                WriteOp::Update,
                Some(num),
                InputKind::Csv,
            )
            .map_err(|e| (Some(num), e))?;
            txn.update(obj, num, fields, writer, now_ms);
            Ok((num, false))
        }
        Operation::Upsert => {
            let (Some(field), Some(value)) = (cols.ext_field, row.key.as_deref()) else {
                let name = cols
                    .ext_col
                    .map(|c| cols.names[c].clone())
                    .unwrap_or_default();
                return Err((
                    None,
                    ApiError::custom(400, "MISSING_ARGUMENT", &format!("{name} not specified")),
                ));
            };
            let fname = txn.data().schema.objects[obj].fields[field].name.clone();
            let mut body = row.map.clone();
            body.retain(|k, _| !k.eq_ignore_ascii_case(&fname));
            match match_external(txn.data(), obj, field, value) {
                UpsertTarget::Multiple(nums) => {
                    let ids: Vec<String> = nums
                        .iter()
                        .map(|n| txn.data().id_of(obj, *n).to18())
                        .collect();
                    Err((
                        None,
                        ApiError::custom(
                            400,
                            "DUPLICATE_EXTERNAL_ID",
                            &format!(
                                "{fname}: more than one record found for external id field: [{}]",
                                ids.join(", ")
                            ),
                        ),
                    ))
                }
                UpsertTarget::Insert => {
                    if fname == "Id" {
                        return Err((None, cross_reference(ApiError::NotFound)));
                    }
                    body.insert(fname, Json::String(value.to_string()));
                    let fields = prepare_kind(
                        txn.data(),
                        obj,
                        &body,
                        WriteOp::Create,
                        None,
                        InputKind::Csv,
                    )
                    .map_err(|e| (None, e))?;
                    let id = txn.insert(obj, fields, writer, now_ms);
                    Ok((id.num, true))
                }
                UpsertTarget::Update(num) => {
                    let fields = prepare_kind(
                        txn.data(),
                        obj,
                        &body,
                        WriteOp::Update,
                        Some(num),
                        InputKind::Csv,
                    )
                    .map_err(|e| (Some(num), e))?;
                    txn.update(obj, num, fields, writer, now_ms);
                    Ok((num, false))
                }
            }
        }
        Operation::Delete | Operation::HardDelete => {
            let id = row.key.as_deref().ok_or_else(|| {
                (
                    None,
                    ApiError::custom(400, "MISSING_ARGUMENT", "Id not specified in a delete call"),
                )
            })?;
            let num = record_num(txn.data(), obj, id).map_err(|e| (num_of(id), e))?;
            dml::delete_in(txn, obj, num, writer, now_ms)
                .map_err(|e| (Some(num), cross_reference(e)))?;
            if op == Operation::HardDelete {
                txn.purge(obj, num);
            }
            Ok((num, false))
        }
    }
}

fn cross_reference(e: ApiError) -> ApiError {
    match e {
        ApiError::NotFound => ApiError::InvalidCrossReference {
            message: "invalid cross reference id".into(),
            fields: vec![],
        },
        other => other,
    }
}

/// `sf__Error`: `CODE:message:Field1,Field2 --`, or `CODE:message:--` when no field is named.
pub fn sf_error(e: &ApiError) -> String {
    let (_, code, fields) = e.parts();
    if fields.is_empty() {
        format!("{code}:{e}:--")
    } else {
        format!("{code}:{e}:{} --", fields.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_as_salesforce_writes_them_in_failed_results() {
        let e = ApiError::RequiredFieldMissing(vec!["Name".into()]);
        assert_eq!(
            sf_error(&e),
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
        );
        let e = ApiError::InvalidCrossReference {
            message: "invalid cross reference id".into(),
            fields: vec![],
        };
        assert_eq!(
            sf_error(&e),
            "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
        );
    }

    #[test]
    fn headers_are_checked_against_the_object() {
        let data = OrgData::new(crate::org::standard::default_schema(), 1);
        let acc = data.schema.object_index("Account").unwrap();
        let h = |cols: &[&str]| cols.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_header(
            &data,
            acc,
            Operation::Insert,
            None,
            &h(&["Name", "Parent.External_Id__c"])
        )
        .is_ok());
        assert_eq!(
            check_header(
                &data,
                acc,
                Operation::Insert,
                None,
                &h(&["Name", "Bogus__c"])
            )
            .unwrap_err(),
            "InvalidBatch : Field name not found : Bogus__c"
        );
        assert!(check_header(&data, acc, Operation::Delete, None, &h(&["Id", "Name"])).is_err());
        let c = check_header(
            &data,
            acc,
            Operation::Upsert,
            Some("External_Id__c"),
            &h(&["external_id__c", "Name"]),
        )
        .unwrap();
        assert_eq!(c.ext_col, Some(0));
    }
}
