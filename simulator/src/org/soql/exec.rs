//! Running a plan: binding its slots, finding matching rows (through an index when the plan has
//! one, else a scan in creation order), ordering, OFFSET and LIMIT.
//!
//! Without ORDER BY the scan stops as soon as LIMIT rows are found, so `LIMIT 1` over a million rows
//! is cheap. Sorting uses a key with a *total* order (strings folded to lower case, numbers by
//! `f64::total_cmp`), because the standard sorts may panic on an inconsistent comparator and rows of
//! mixed value types must never bring the server down.

use super::eval::{eval, read_id, Bound, RowSource, Source};
use super::plan::{Filter, IndexHint, OrderKey, Plan, SemiJoin};
use super::ExecOptions;
use crate::org::ids::RecordId;
use crate::org::store::{OrgData, Row};
use crate::org::value::Value;
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::collections::HashSet;

/// Resolve a filter's slots for one execution.
pub(crate) fn bind(data: &OrgData, filter: &Filter, opts: &ExecOptions) -> Bound {
    Bound {
        ranges: filter.dates.iter().map(|d| d.range(opts.now_ms)).collect(),
        sets: filter
            .semis
            .iter()
            .map(|s| semi_set(data, s, opts))
            .collect(),
    }
}

/// The ids a semi-join's inner query selects.
fn semi_set(data: &OrgData, s: &SemiJoin, opts: &ExecOptions) -> HashSet<RecordId> {
    let b = bind(data, &s.plan.filter, opts);
    let mut set = HashSet::new();
    scan(data, &s.plan, &b, opts.include_deleted, |_, row| {
        if let Some(id) = read_id(data, row, &s.field, opts.include_deleted) {
            set.insert(id);
        }
        true
    });
    set
}

/// Call `f` on each visible row matching the plan's WHERE, in creation order, until it returns
/// `false`.
pub(crate) fn scan<'a>(
    data: &'a OrgData,
    plan: &Plan,
    b: &Bound,
    include_deleted: bool,
    mut f: impl FnMut(u64, &'a Row) -> bool,
) {
    let Some(table) = data.tables.get(plan.object) else {
        return;
    };
    let matches = |row: &'a Row| {
        (include_deleted || !row.deleted)
            && plan.filter.pred.as_ref().is_none_or(|p| {
                let src = RowSource {
                    data,
                    row,
                    include_deleted,
                };
                eval(p, &src, b)
            })
    };
    if let Some(nums) = candidates(data, plan, b, include_deleted) {
        for n in nums {
            if let Some(row) = table.rows.get(&n) {
                if matches(row) && !f(n, row) {
                    return;
                }
            }
        }
        return;
    }
    for (n, row) in &table.rows {
        if matches(row) && !f(*n, row) {
            return;
        }
    }
}

/// Row numbers to check instead of scanning, in creation order, when the plan has a usable index.
/// The store's external-id and child indexes hold live rows only, so queryAll scans instead.
fn candidates(data: &OrgData, plan: &Plan, b: &Bound, include_deleted: bool) -> Option<Vec<u64>> {
    let table = data.tables.get(plan.object)?;
    let mut nums: Vec<u64> = match plan.filter.index.as_ref()? {
        IndexHint::Ids(v) => v.clone(),
        IndexHint::External { fi, values } if !include_deleted => values
            .iter()
            .flat_map(|v| table.find_by_index(*fi, v))
            .collect(),
        IndexHint::Children { fi, parents } if !include_deleted => parents
            .iter()
            .flat_map(|p| table.children_of(*fi, *p))
            .collect(),
        IndexHint::Semi(slot) => {
            let o = data.schema.objects.get(plan.object)?;
            let prefix = RecordId::new(&o.key_prefix, data.org_num, 0).prefix;
            b.sets
                .get(*slot)?
                .iter()
                .filter(|id| id.prefix == prefix && id.org == data.org_num)
                .map(|id| id.num)
                .collect()
        }
        _ => return None,
    };
    nums.sort_unstable();
    nums.dedup();
    Some(nums)
}

/// Matching row numbers after ORDER BY, OFFSET and LIMIT.
pub(crate) fn rows(data: &OrgData, plan: &Plan, b: &Bound, opts: &ExecOptions) -> Vec<u64> {
    let limit = plan.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return Vec::new();
    }
    let incl = opts.include_deleted;
    if plan.order.is_empty() {
        let mut out = Vec::new();
        let mut skip = plan.offset;
        scan(data, plan, b, incl, |n, _| {
            if skip > 0 {
                skip -= 1;
                return true;
            }
            out.push(n);
            out.len() < limit
        });
        return out;
    }
    let mut keyed: Vec<(SortKeys, u64)> = Vec::new();
    scan(data, plan, b, incl, |n, row| {
        let src = RowSource {
            data,
            row,
            include_deleted: incl,
        };
        keyed.push((sort_keys(&plan.order, &src), n));
        true
    });
    let want = plan.offset.saturating_add(limit);
    sort_top(&mut keyed, want, |a, b| {
        cmp_keys(&plan.order, &a.0, &b.0).then(a.1.cmp(&b.1))
    });
    keyed
        .into_iter()
        .skip(plan.offset)
        .take(limit)
        .map(|(_, n)| n)
        .collect()
}

/// `SELECT COUNT()`: matches after OFFSET, capped by LIMIT.
pub(crate) fn count(data: &OrgData, plan: &Plan, b: &Bound, opts: &ExecOptions) -> usize {
    let limit = plan.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        return 0;
    }
    let cap = plan.offset.saturating_add(limit);
    let mut n = 0usize;
    scan(data, plan, b, opts.include_deleted, |_, _| {
        n += 1;
        n < cap
    });
    n.saturating_sub(plan.offset).min(limit)
}

/// Sort only as much as needed: with a small `want`, select the first `want` before sorting them.
pub(crate) fn sort_top<T>(v: &mut Vec<T>, want: usize, cmp: impl Fn(&T, &T) -> Ordering) {
    if want > 0 && want < v.len() / 2 {
        v.select_nth_unstable_by(want - 1, &cmp);
        v.truncate(want);
    }
    v.sort_by(cmp);
}

/// A sortable value with a total order. `None` (null) is placed by the key's NULLS FIRST/LAST.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum SortVal {
    Bool(bool),
    Num(TotalF64),
    /// Lower-cased: Salesforce sorts text case-insensitively.
    Text(String),
    /// Dates and datetimes on one axis (epoch milliseconds).
    Instant(i64),
    Time(u32),
    Id([u8; 3], u16, u64),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TotalF64(pub f64);

impl PartialEq for TotalF64 {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for TotalF64 {}
impl std::hash::Hash for TotalF64 {
    /// Equal under `total_cmp` exactly when the bits are equal.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h);
    }
}
impl PartialOrd for TotalF64 {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for TotalF64 {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

pub(crate) type SortKey = Option<SortVal>;

/// The keys of one row; inline for the usual one or two ORDER BY fields, so sorting a large match
/// set does not allocate per row.
pub(crate) type SortKeys = SmallVec<[SortKey; 2]>;

pub(crate) fn sort_val(v: &Value) -> SortKey {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => SortVal::Bool(*b),
        Value::Int(i) => SortVal::Num(TotalF64(*i as f64)),
        Value::Num(n) => SortVal::Num(TotalF64(*n)),
        Value::Str(s) => SortVal::Text(s.to_lowercase()),
        Value::Date(d) => SortVal::Instant(i64::from(*d) * 86_400_000),
        Value::DateTime(ms) => SortVal::Instant(*ms),
        Value::Time(t) => SortVal::Time(*t),
    })
}

pub(crate) fn sort_keys(order: &[OrderKey], src: &impl Source) -> SortKeys {
    order
        .iter()
        .map(|k| {
            if k.id_typed {
                src.id(&k.operand)
                    .map(|id| SortVal::Id(id.prefix, id.org, id.num))
            } else {
                sort_val(&src.value(&k.operand))
            }
        })
        .collect()
}

pub(crate) fn cmp_keys(order: &[OrderKey], a: &[SortKey], b: &[SortKey]) -> Ordering {
    for (k, (x, y)) in order.iter().zip(a.iter().zip(b)) {
        let o = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) if k.nulls_last => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) if k.nulls_last => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) if k.desc => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}
