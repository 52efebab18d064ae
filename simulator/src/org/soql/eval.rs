//! Reading values out of rows (through parent relationships) and evaluating predicates.
//!
//! Everything here borrows: a scan over a million rows evaluates against `&Row` and copies a value
//! only for header-backed system fields (which are computed anyway). Predicates are evaluated over a
//! [`Source`], so WHERE (rows) and HAVING (aggregate rows) share one evaluator.

use super::ast::CmpOp;
use super::plan::{Access, FieldRef, Operand, Pred};
use crate::org::ids::RecordId;
use crate::org::schema::FieldType;
use crate::org::store::{OrgData, Row, SysField};
use crate::org::value::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

pub(crate) static NULL: Value = Value::Null;

/// Per-execution values of a filter's slots: date ranges at the execution instant and semi-join id
/// sets.
#[derive(Debug, Default)]
pub(crate) struct Bound {
    pub ranges: Vec<(i64, i64)>,
    pub sets: Vec<HashSet<RecordId>>,
}

/// Read one field of a row without following relationships.
pub(crate) fn read_field<'a>(data: &'a OrgData, row: &'a Row, f: &FieldRef) -> Cow<'a, Value> {
    match f.sys {
        None => Cow::Borrowed(row.get_raw(f.fi).unwrap_or(&NULL)),
        Some(_) => {
            // A plan may outlive a schema change; never index past the current schema.
            let exists = data
                .schema
                .objects
                .get(f.obj)
                .is_some_and(|o| f.fi < o.fields.len());
            if exists {
                Cow::Owned(data.value(f.obj, row, f.fi))
            } else {
                Cow::Borrowed(&NULL)
            }
        }
    }
}

/// The parent row a reference field points to, if it exists, is of the expected object and is
/// visible (deleted parents only for queryAll).
pub(crate) fn follow<'a>(
    data: &'a OrgData,
    row: &'a Row,
    via: &FieldRef,
    target: usize,
    include_deleted: bool,
) -> Option<&'a Row> {
    let v = read_field(data, row, via);
    let (obj, num) = data.resolve_id(v.as_str()?)?;
    if obj != target {
        return None;
    }
    let parent = data.row(obj, num)?;
    (include_deleted || !parent.deleted).then_some(parent)
}

/// The row an access path ends on (the row itself without hops).
pub(crate) fn walk<'a>(
    data: &'a OrgData,
    row: &'a Row,
    access: &Access,
    include_deleted: bool,
) -> Option<&'a Row> {
    let mut cur = row;
    for hop in &access.hops {
        cur = follow(data, cur, &hop.via, hop.target, include_deleted)?;
    }
    Some(cur)
}

pub(crate) fn read<'a>(
    data: &'a OrgData,
    row: &'a Row,
    access: &Access,
    include_deleted: bool,
) -> Cow<'a, Value> {
    match walk(data, row, access, include_deleted) {
        Some(r) => read_field(data, r, &access.field),
        None => Cow::Borrowed(&NULL),
    }
}

/// The id in an Id or reference field; the row's own Id is built without formatting a string.
pub(crate) fn read_id(
    data: &OrgData,
    row: &Row,
    access: &Access,
    include_deleted: bool,
) -> Option<RecordId> {
    let r = walk(data, row, access, include_deleted)?;
    if access.field.sys == Some(SysField::Id) {
        let o = data.schema.objects.get(access.field.obj)?;
        return Some(RecordId::new(&o.key_prefix, data.org_num, r.num));
    }
    RecordId::parse(read_field(data, r, &access.field).as_str()?)
}

/// The picklist label of a value (`toLabel`), each selected value's label for multi-select
/// picklists; values without a picklist entry unchanged.
pub(crate) fn label_of<'a>(data: &OrgData, f: &FieldRef, v: Cow<'a, Value>) -> Cow<'a, Value> {
    let Some(s) = v.as_str() else { return v };
    let Some(fd) = data
        .schema
        .objects
        .get(f.obj)
        .and_then(|o| o.fields.get(f.fi))
    else {
        return v;
    };
    if fd.picklist.is_empty() {
        return v;
    }
    let label = |one: &str| -> String {
        fd.picklist
            .iter()
            .find(|p| p.value.eq_ignore_ascii_case(one))
            .map(|p| p.label.clone())
            .unwrap_or_else(|| one.to_string())
    };
    let out = if fd.ftype == FieldType::Multipicklist {
        s.split(';').map(label).collect::<Vec<_>>().join(";")
    } else {
        label(s)
    };
    Cow::Owned(Value::str(out))
}

/// Something predicates can read operands from.
pub(crate) trait Source {
    fn value(&self, op: &Operand) -> Cow<'_, Value>;
    fn id(&self, op: &Operand) -> Option<RecordId> {
        RecordId::parse(self.value(op).as_str()?)
    }
}

/// A row of the queried object.
pub(crate) struct RowSource<'a> {
    pub data: &'a OrgData,
    pub row: &'a Row,
    pub include_deleted: bool,
}

impl Source for RowSource<'_> {
    fn value(&self, op: &Operand) -> Cow<'_, Value> {
        match op {
            Operand::Row(a) => read(self.data, self.row, a, self.include_deleted),
            Operand::Label(a) => label_of(
                self.data,
                &a.field,
                read(self.data, self.row, a, self.include_deleted),
            ),
            Operand::Group(_) | Operand::Agg(_) => Cow::Borrowed(&NULL),
        }
    }

    fn id(&self, op: &Operand) -> Option<RecordId> {
        match op {
            Operand::Row(a) => read_id(self.data, self.row, a, self.include_deleted),
            _ => RecordId::parse(self.value(op).as_str()?),
        }
    }
}

/// One aggregate result row: GROUP BY keys and aggregate values.
pub(crate) struct GroupSource<'a> {
    pub keys: &'a [Value],
    pub aggs: &'a [Value],
}

impl Source for GroupSource<'_> {
    fn value(&self, op: &Operand) -> Cow<'_, Value> {
        let v = match op {
            Operand::Group(i) => self.keys.get(*i),
            Operand::Agg(i) => self.aggs.get(*i),
            Operand::Row(_) | Operand::Label(_) => None,
        };
        Cow::Borrowed(v.unwrap_or(&NULL))
    }
}

fn cmp_holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// Total order of ids: key prefix, org, then the counter (the order of their 15-character form).
pub(crate) fn cmp_ids(a: &RecordId, b: &RecordId) -> Ordering {
    (a.prefix, a.org, a.num).cmp(&(b.prefix, b.org, b.num))
}

/// Epoch milliseconds of a date or datetime value, for range comparisons.
fn instant_ms(v: &Value) -> Option<i64> {
    match v {
        Value::DateTime(ms) => Some(*ms),
        Value::Date(d) => Some(i64::from(*d) * 86_400_000),
        _ => None,
    }
}

/// Whether any `;`-separated value of a multi-select picklist equals `want` (case-insensitively).
fn has_option(s: &str, want: &str) -> bool {
    s.split(';').any(|o| o.trim().eq_ignore_ascii_case(want))
}

pub(crate) fn eval(p: &Pred, src: &impl Source, b: &Bound) -> bool {
    match p {
        Pred::Const(c) => *c,
        Pred::And(ps) => ps.iter().all(|p| eval(p, src, b)),
        Pred::Or(ps) => ps.iter().any(|p| eval(p, src, b)),
        Pred::Not(p) => !eval(p, src, b),
        Pred::IsNull { operand, negated } => src.value(operand).is_null() != *negated,
        Pred::Cmp { operand, op, value } => {
            let v = src.value(operand);
            if v.is_null() {
                return *op == CmpOp::Ne;
            }
            if let (Value::Str(a), Value::Str(b), CmpOp::Eq | CmpOp::Ne) = (&*v, value, op) {
                // The common `Field = 'text'` filter: ASCII needs no Unicode case folding.
                if a.is_ascii() && b.is_ascii() {
                    return a.eq_ignore_ascii_case(b) == (*op == CmpOp::Eq);
                }
            }
            match v.compare(value) {
                Some(ord) => cmp_holds(*op, ord),
                None => *op == CmpOp::Ne,
            }
        }
        Pred::IdCmp { operand, op, id } => match src.id(operand) {
            Some(v) => cmp_holds(*op, cmp_ids(&v, id)),
            None => *op == CmpOp::Ne,
        },
        Pred::In {
            operand,
            values,
            has_null,
            negated,
        } => {
            let v = src.value(operand);
            let hit = if v.is_null() {
                *has_null
            } else {
                values.iter().any(|x| v.soql_eq(x))
            };
            hit != *negated
        }
        Pred::IdIn {
            operand,
            ids,
            has_null,
            negated,
        } => {
            let hit = match src.id(operand) {
                Some(id) => ids.contains(&id),
                None => *has_null,
            };
            hit != *negated
        }
        Pred::Like { operand, pattern } => match src.value(operand).as_str() {
            Some(s) => pattern.matches(s),
            None => false,
        },
        Pred::Includes {
            operand,
            groups,
            excludes,
        } => {
            let v = src.value(operand);
            let hit = match v.as_str() {
                Some(s) => groups
                    .iter()
                    .any(|g| g.iter().all(|want| has_option(s, want))),
                None => false,
            };
            hit != *excludes
        }
        Pred::DateRange { operand, op, slot } => {
            let Some((start, end)) = b.ranges.get(*slot).copied() else {
                return false;
            };
            let Some(t) = instant_ms(&src.value(operand)) else {
                return *op == CmpOp::Ne;
            };
            match op {
                CmpOp::Eq => start <= t && t < end,
                CmpOp::Ne => !(start <= t && t < end),
                CmpOp::Lt => t < start,
                CmpOp::Le => t < end,
                CmpOp::Gt => t >= end,
                CmpOp::Ge => t >= start,
            }
        }
        Pred::Semi {
            operand,
            slot,
            negated,
        } => {
            let hit = match (src.id(operand), b.sets.get(*slot)) {
                (Some(id), Some(set)) => set.contains(&id),
                _ => false,
            };
            hit != *negated
        }
    }
}

/// A field type's name in "must be of type …" errors.
pub(crate) fn type_word(t: FieldType) -> &'static str {
    match t {
        FieldType::Boolean => "boolean",
        FieldType::Int => "int",
        FieldType::Long => "long",
        FieldType::Currency | FieldType::Double | FieldType::Percent => "double",
        FieldType::Date => "date",
        FieldType::Datetime => "dateTime",
        FieldType::Time => "time",
        FieldType::Id | FieldType::Reference => "id",
        _ => "string",
    }
}
