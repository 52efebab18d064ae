//! Single-record writes inside a [`Unit`]: the same validation and write path as the REST sObject
//! routes (`rest::dml`), with the locks and transaction of the unit.

use super::unit::Unit;
use crate::error::ApiResult;
use crate::org::store::Writer;
use crate::rest::dml::{self, DmlResult, Preconditions};
use serde_json::{Map, Value as Json};

/// Insert one record.
pub async fn create(
    unit: &mut Unit,
    obj: usize,
    body: &Map<String, Json>,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<DmlResult> {
    let keys = unit.read(|d| dml::parent_keys(d, obj, body, None));
    let locks = unit.lock(keys).await?;
    let r = unit.write(|txn| dml::create_in(txn, obj, body, writer, now_ms))?;
    drop(locks);
    // Nobody else can know the new id yet, so this never waits; it keeps others off the row until
    // an all-or-none unit commits or rolls it back.
    if let Some(num) = crate::org::ids::RecordId::parse(&r.id).map(|i| i.num) {
        unit.hold(vec![(obj, num)]).await?;
    }
    Ok(r)
}

/// Update one record by row number.
pub async fn update(
    unit: &mut Unit,
    obj: usize,
    num: u64,
    body: &Map<String, Json>,
    pre: &Preconditions,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<DmlResult> {
    let mut keys = unit.read(|d| dml::parent_keys(d, obj, body, Some(num)));
    keys.push((obj, num));
    let _locks = unit.lock(keys).await?;
    unit.write(|txn| dml::update_in(txn, obj, num, body, pre, writer, now_ms))
}

/// Delete one record by row number.
pub async fn delete(
    unit: &mut Unit,
    obj: usize,
    num: u64,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<DmlResult> {
    let _locks = unit.lock(vec![(obj, num)]).await?;
    unit.write(|txn| dml::delete_in(txn, obj, num, writer, now_ms))
}

/// Upsert by external id; `Ok(Err(rows))` when several records match.
pub async fn upsert(
    unit: &mut Unit,
    obj: usize,
    field: usize,
    value: &str,
    body: &Map<String, Json>,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<Result<DmlResult, Vec<u64>>> {
    let keys = unit.read(|d| dml::upsert_keys(d, obj, field, value, body));
    let locks = unit.lock(keys).await?;
    let r =
        unit.write(|txn| dml::upsert_in(txn, obj, field, value, body, false, writer, now_ms))?;
    drop(locks);
    let created = r.as_ref().ok().filter(|c| c.created);
    if let Some(num) = created.and_then(|c| crate::org::ids::RecordId::parse(&c.id)) {
        unit.hold(vec![(obj, num.num)]).await?;
    }
    Ok(r)
}
