//! Rendering matched rows: REST JSON records and Bulk 2.0 CSV lines.
//!
//! REST records carry `attributes` (`type` and `url`), then the selected fields in SELECT order with
//! canonical names; parent paths nest as records of their own (or `null`), child subqueries as
//! `{"totalSize","done","records"}` (or `null` when empty). Child subqueries run here, page by page,
//! so a cursor over many parents never materialises every child up front.

use super::eval::{eval, follow, label_of, read, read_field, RowSource};
use super::exec::{bind, cmp_keys, sort_keys, sort_top};
use super::plan::{Node, Plan};
use super::ExecOptions;
use crate::org::ids::RecordId;
use crate::org::store::{OrgData, Row};
use serde_json::{json, Map, Value as Json};
use std::io::Write;

/// REST records for row numbers of `plan.object` (rows purged since execution are skipped).
pub fn render(data: &OrgData, plan: &Plan, nums: &[u64], opts: &ExecOptions) -> Vec<Json> {
    nums.iter()
        .filter_map(|n| data.row(plan.object, *n))
        .map(|row| record(data, plan.object, row, &plan.nodes, opts))
        .collect()
}

/// `{"type": "Account", "url": "/services/data/v62.0/sobjects/Account/001…"}`, built directly: it is
/// emitted for every record and nested parent, so it avoids the `json!` macro's extra copies.
fn attributes(data: &OrgData, obj: usize, row: &Row, opts: &ExecOptions) -> Json {
    let Some(o) = data.schema.objects.get(obj) else {
        return Json::Null;
    };
    let name = o.name.as_str();
    let id = RecordId::new(&o.key_prefix, data.org_num, row.num).to18();
    let mut url = String::with_capacity(opts.data_path.len() + name.len() + id.len() + 11);
    url.push_str(&opts.data_path);
    url.push_str("/sobjects/");
    url.push_str(name);
    url.push('/');
    url.push_str(&id);
    let mut m = Map::with_capacity(2);
    m.insert("type".to_string(), Json::String(name.to_string()));
    m.insert("url".to_string(), Json::String(url));
    Json::Object(m)
}

fn record(data: &OrgData, obj: usize, row: &Row, nodes: &[Node], opts: &ExecOptions) -> Json {
    let mut m = Map::with_capacity(nodes.len() + 1);
    m.insert("attributes".into(), attributes(data, obj, row, opts));
    fill(&mut m, data, row, nodes, opts);
    Json::Object(m)
}

fn fill(m: &mut Map<String, Json>, data: &OrgData, row: &Row, nodes: &[Node], opts: &ExecOptions) {
    for node in nodes {
        match node {
            Node::Field { key, field, label } => {
                let v = read_field(data, row, field);
                let v = if *label { label_of(data, field, v) } else { v };
                m.insert(key.clone(), v.to_json());
            }
            Node::Parent {
                key,
                via,
                target,
                children,
            } => {
                let v = match follow(data, row, via, *target, opts.include_deleted) {
                    Some(parent) => record(data, *target, parent, children, opts),
                    None => Json::Null,
                };
                m.insert(key.clone(), v);
            }
            Node::Child { key, ref_fi, plan } => {
                m.insert(key.clone(), children(data, row, *ref_fi, plan, opts));
            }
        }
    }
}

/// A child subquery for one parent row.
fn children(data: &OrgData, parent: &Row, ref_fi: usize, plan: &Plan, opts: &ExecOptions) -> Json {
    let Some(table) = data.tables.get(plan.object) else {
        return Json::Null;
    };
    let b = bind(data, &plan.filter, opts);
    let incl = opts.include_deleted;
    let mut nums = table.children_of(ref_fi, parent.num);
    // The child index keeps insertion order of index entries; creation order is the row number.
    nums.sort_unstable();
    let matching = nums.into_iter().filter_map(|n| {
        let row = table.rows.get(&n)?;
        let ok = plan.filter.pred.as_ref().is_none_or(|p| {
            eval(
                p,
                &RowSource {
                    data,
                    row,
                    include_deleted: incl,
                },
                &b,
            )
        });
        ok.then_some((n, row))
    });
    let limit = plan.limit.unwrap_or(usize::MAX);
    let rows: Vec<&Row> = if plan.order.is_empty() {
        matching
            .skip(plan.offset)
            .take(limit)
            .map(|(_, r)| r)
            .collect()
    } else {
        let mut keyed: Vec<_> = matching
            .map(|(n, row)| {
                let src = RowSource {
                    data,
                    row,
                    include_deleted: incl,
                };
                (sort_keys(&plan.order, &src), n, row)
            })
            .collect();
        sort_top(&mut keyed, plan.offset.saturating_add(limit), |a, b| {
            cmp_keys(&plan.order, &a.0, &b.0).then(a.1.cmp(&b.1))
        });
        keyed
            .into_iter()
            .skip(plan.offset)
            .take(limit)
            .map(|(_, _, r)| r)
            .collect()
    };
    if rows.is_empty() {
        return Json::Null;
    }
    let records: Vec<Json> = rows
        .into_iter()
        .map(|r| record(data, plan.object, r, &plan.nodes, opts))
        .collect();
    json!({"totalSize": records.len(), "done": true, "records": records})
}

/// Column names of the Bulk 2.0 CSV, in SELECT order (`Name`, `Account.Name`, …).
pub fn csv_columns(plan: &Plan) -> Vec<String> {
    if let Some(agg) = &plan.agg {
        return agg.output.iter().map(|(k, _)| k.clone()).collect();
    }
    plan.columns.iter().map(|c| c.name.clone()).collect()
}

/// Bulk 2.0 query results: one CSV line per row (empty cells for nulls and missing parents). Child
/// subqueries have no CSV form and are left out, as Bulk 2.0 rejects them anyway.
pub fn render_csv(
    data: &OrgData,
    plan: &Plan,
    nums: &[u64],
    header: bool,
    out: &mut csv::Writer<impl Write>,
) -> Result<(), csv::Error> {
    if header {
        out.write_record(csv_columns(plan))?;
    }
    if plan.agg.is_some() {
        return Ok(());
    }
    let mut line: Vec<String> = Vec::with_capacity(plan.columns.len());
    for row in nums.iter().filter_map(|n| data.row(plan.object, *n)) {
        line.clear();
        for c in &plan.columns {
            let v = read(data, row, &c.access, false);
            let v = if c.label {
                label_of(data, &c.access.field, v)
            } else {
                v
            };
            line.push(v.to_csv());
        }
        out.write_record(&line)?;
    }
    Ok(())
}
