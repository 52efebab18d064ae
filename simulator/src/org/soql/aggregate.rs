//! Aggregate queries: GROUP BY, COUNT/COUNT_DISTINCT/SUM/AVG/MIN/MAX, HAVING, and their ORDER BY,
//! rendered as `AggregateResult` records.
//!
//! Groups are keyed case-insensitively for text (as Salesforce groups), keeping the first value seen
//! for output. Without ORDER BY, groups come back sorted by their keys, which matches what
//! Salesforce's sort-based grouping returns in practice and keeps results deterministic.

use super::ast::AggFunc;
use super::eval::{eval, read, Bound, GroupSource, Source};
use super::exec::{bind, cmp_keys, scan, sort_keys, sort_top, sort_val, SortKey, SortKeys};
use super::plan::{AggExpr, AggPlan, Operand, Plan};
use super::ExecOptions;
use crate::org::store::OrgData;
use crate::org::value::Value;
use serde_json::{json, Map};
use std::collections::{HashMap, HashSet};

/// Run an aggregate plan; returns its records in output order.
pub(crate) fn run(
    data: &OrgData,
    plan: &Plan,
    agg: &AggPlan,
    b: &Bound,
    opts: &ExecOptions,
) -> Vec<serde_json::Value> {
    let incl = opts.include_deleted;
    let mut index: HashMap<Vec<SortKey>, usize> = HashMap::new();
    let mut groups: Vec<(Vec<Value>, Vec<Acc>)> = Vec::new();
    scan(data, plan, b, incl, |_, row| {
        let keys: Vec<Value> = agg
            .groups
            .iter()
            .map(|a| read(data, row, a, incl).into_owned())
            .collect();
        let norm: Vec<SortKey> = keys.iter().map(sort_val).collect();
        let gi = *index.entry(norm).or_insert_with(|| {
            groups.push((keys, agg.aggs.iter().map(Acc::new).collect()));
            groups.len() - 1
        });
        if let Some((_, accs)) = groups.get_mut(gi) {
            for (acc, expr) in accs.iter_mut().zip(&agg.aggs) {
                match &expr.arg {
                    Some(a) => acc.add(&read(data, row, a, incl)),
                    None => acc.add(&Value::Bool(true)),
                }
            }
        }
        true
    });
    // Aggregates without GROUP BY always produce one row, even over no rows.
    if agg.groups.is_empty() && groups.is_empty() {
        groups.push((Vec::new(), agg.aggs.iter().map(Acc::new).collect()));
    }
    let mut rows: Vec<(Vec<Value>, Vec<Value>)> = groups
        .into_iter()
        .map(|(keys, accs)| (keys, accs.into_iter().map(Acc::finish).collect()))
        .collect();

    if let Some(having) = &agg.having.pred {
        let hb = bind(data, &agg.having, opts);
        rows.retain(|(keys, aggs)| eval(having, &GroupSource { keys, aggs }, &hb));
    }

    let limit = plan.limit.unwrap_or(usize::MAX);
    let want = plan.offset.saturating_add(limit);
    let mut keyed: Vec<(SortKeys, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, (keys, aggs))| {
            let k = if agg.order.is_empty() {
                keys.iter().map(sort_val).collect()
            } else {
                sort_keys(&agg.order, &GroupSource { keys, aggs })
            };
            (k, i)
        })
        .collect();
    if agg.order.is_empty() {
        sort_top(&mut keyed, want, |a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    } else {
        sort_top(&mut keyed, want, |a, b| {
            cmp_keys(&agg.order, &a.0, &b.0).then(a.1.cmp(&b.1))
        });
    }
    keyed
        .into_iter()
        .skip(plan.offset)
        .take(limit)
        .filter_map(|(_, i)| rows.get(i))
        .map(|(keys, aggs)| render(agg, keys, aggs))
        .collect()
}

fn render(agg: &AggPlan, keys: &[Value], aggs: &[Value]) -> serde_json::Value {
    let mut m = Map::new();
    m.insert("attributes".into(), json!({"type": "AggregateResult"}));
    let src = GroupSource { keys, aggs };
    for (key, operand) in &agg.output {
        let v = match operand {
            Operand::Group(_) | Operand::Agg(_) => src.value(operand).to_json(),
            _ => serde_json::Value::Null,
        };
        m.insert(key.clone(), v);
    }
    serde_json::Value::Object(m)
}

/// A running aggregate.
enum Acc {
    Count(i64),
    Distinct(HashSet<SortKey>),
    Sum {
        int: i64,
        float: f64,
        is_float: bool,
        seen: bool,
    },
    Avg {
        sum: f64,
        n: i64,
    },
    Min(Option<Value>),
    Max(Option<Value>),
}

impl Acc {
    fn new(e: &AggExpr) -> Acc {
        match e.func {
            AggFunc::Count => Acc::Count(0),
            AggFunc::CountDistinct => Acc::Distinct(HashSet::new()),
            AggFunc::Sum => Acc::Sum {
                int: 0,
                float: 0.0,
                is_float: false,
                seen: false,
            },
            AggFunc::Avg => Acc::Avg { sum: 0.0, n: 0 },
            AggFunc::Min => Acc::Min(None),
            AggFunc::Max => Acc::Max(None),
        }
    }

    /// Nulls are ignored by every aggregate, as in Salesforce.
    fn add(&mut self, v: &Value) {
        if v.is_null() {
            return;
        }
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Distinct(set) => {
                set.insert(sort_val(v));
            }
            Acc::Sum {
                int,
                float,
                is_float,
                seen,
            } => {
                *seen = true;
                match v {
                    Value::Int(i) if !*is_float => match int.checked_add(*i) {
                        Some(s) => *int = s,
                        None => {
                            *is_float = true;
                            *float = *int as f64 + *i as f64;
                        }
                    },
                    other => {
                        if !*is_float {
                            *is_float = true;
                            *float = *int as f64;
                        }
                        *float += other.as_f64().unwrap_or(0.0);
                    }
                }
            }
            Acc::Avg { sum, n } => {
                if let Some(x) = v.as_f64() {
                    *sum += x;
                    *n += 1;
                }
            }
            Acc::Min(cur) => {
                if cur
                    .as_ref()
                    .is_none_or(|c| v.compare(c) == Some(std::cmp::Ordering::Less))
                {
                    *cur = Some(v.clone());
                }
            }
            Acc::Max(cur) => {
                if cur
                    .as_ref()
                    .is_none_or(|c| v.compare(c) == Some(std::cmp::Ordering::Greater))
                {
                    *cur = Some(v.clone());
                }
            }
        }
    }

    fn finish(self) -> Value {
        match self {
            Acc::Count(n) => Value::Int(n),
            Acc::Distinct(set) => Value::Int(set.len() as i64),
            Acc::Sum { seen: false, .. } => Value::Null,
            Acc::Sum {
                float,
                is_float: true,
                ..
            } => Value::Num(float),
            Acc::Sum { int, .. } => Value::Int(int),
            Acc::Avg { n: 0, .. } => Value::Null,
            Acc::Avg { sum, n } => Value::Num(sum / n as f64),
            Acc::Min(v) | Acc::Max(v) => v.unwrap_or(Value::Null),
        }
    }
}
