//! WHERE and HAVING: conditions to [`Pred`]s with literals converted to each field's type, semi-joins,
//! and the choice of index.
//!
//! Salesforce is strict about literal types (a datetime field needs a datetime literal, a text field
//! a quoted string) and words its errors in one pattern, reproduced by [`type_error`].

use super::ast::{self, CmpOp, Cond, InValues, LitKind, Literal, Op, Query, SelectItem};
use super::compile::{Compiler, Ctx, OperandInfo, Resolver, Scope};
use super::errors::{Code, SoqlError};
use super::eval::type_word;
use super::like::LikePattern;
use super::plan::*;
use crate::org::ids::RecordId;
use crate::org::schema::FieldType;
use crate::org::store::SysField;
use crate::org::value::{self, Value};
use std::collections::HashSet;

/// Literal converted for a field: a plain value, or an id (`None` for `''`, which means null).
enum Conv {
    Val(Value),
    Id(Option<RecordId>),
}

impl Compiler<'_> {
    /// Compile a condition. `resolve` turns a left operand into a row field (WHERE) or a group key or
    /// aggregate (HAVING); relative dates and semi-joins get slots in `filter`.
    pub(super) fn cond(
        &self,
        c: &Cond,
        scope: Scope<'_>,
        filter: &mut Filter,
        resolve: &mut Resolver<'_>,
        semis: SemiAllowed,
    ) -> Result<Pred, SoqlError> {
        Ok(match c {
            Cond::And(items) => {
                let inner = semis.inside_and();
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.cond(i, scope, filter, resolve, inner)?);
                }
                Pred::And(out)
            }
            Cond::Or(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.cond(i, scope, filter, resolve, semis.nested())?);
                }
                Pred::Or(out)
            }
            Cond::Not(inner) => Pred::Not(Box::new(self.cond(
                inner,
                scope,
                filter,
                resolve,
                semis.nested(),
            )?)),
            Cond::Simple(s) => {
                let info = resolve(&s.lhs)?;
                self.simple(info, &s.op, scope, filter, semis)?
            }
        })
    }

    fn simple(
        &self,
        info: OperandInfo,
        op: &Op,
        scope: Scope<'_>,
        filter: &mut Filter,
        semis: SemiAllowed,
    ) -> Result<Pred, SoqlError> {
        let id_typed = matches!(info.ftype, FieldType::Id | FieldType::Reference);
        Ok(match op {
            Op::Cmp(op, lit) => match &lit.kind {
                LitKind::Null => null_test(info.operand, *op),
                LitKind::DateLiteral(d) => {
                    if !matches!(info.ftype, FieldType::Date | FieldType::Datetime) {
                        return Err(type_error(&info, lit.pos));
                    }
                    filter.dates.push(*d);
                    Pred::DateRange {
                        operand: info.operand,
                        op: *op,
                        slot: filter.dates.len() - 1,
                    }
                }
                _ => match convert(&info, lit)? {
                    Conv::Id(Some(id)) => Pred::IdCmp {
                        operand: info.operand,
                        op: *op,
                        id,
                    },
                    Conv::Id(None) => null_test(info.operand, *op),
                    Conv::Val(value) => Pred::Cmp {
                        operand: info.operand,
                        op: *op,
                        value,
                    },
                },
            },
            Op::In {
                negated,
                values: InValues::List(lits),
            } => {
                let mut has_null = false;
                let mut ids = HashSet::new();
                let mut values = Vec::new();
                for lit in lits {
                    match convert_or_null(&info, lit)? {
                        None | Some(Conv::Id(None)) => has_null = true,
                        Some(Conv::Id(Some(id))) => {
                            ids.insert(id);
                        }
                        Some(Conv::Val(v)) => values.push(v),
                    }
                }
                if id_typed {
                    Pred::IdIn {
                        operand: info.operand,
                        ids,
                        has_null,
                        negated: *negated,
                    }
                } else {
                    Pred::In {
                        operand: info.operand,
                        values,
                        has_null,
                        negated: *negated,
                    }
                }
            }
            Op::In {
                negated,
                values: InValues::Subquery(sub),
            } => {
                if semis != SemiAllowed::Here {
                    return Err(SoqlError::malformed(
                        sub.pos,
                        "Semi join sub-selects are only allowed at the top level WHERE expressions and not in nested WHERE expressions.",
                    ));
                }
                if !id_typed {
                    return Err(SoqlError::malformed(
                        info.pos,
                        format!(
                            "The left operand field in the where expression for outer query should be an id field, cannot use: '{}'",
                            info.name
                        ),
                    ));
                }
                filter.semis.push(self.semi_join(sub, scope.obj)?);
                Pred::Semi {
                    operand: info.operand,
                    slot: filter.semis.len() - 1,
                    negated: *negated,
                }
            }
            Op::Like(lit) => {
                if id_typed {
                    return Err(SoqlError::at(
                        Code::FilterOperator,
                        info.pos,
                        "invalid operator on id field",
                    ));
                }
                match (&lit.kind, info.ftype.is_textual()) {
                    (LitKind::Str(s), true) => Pred::Like {
                        operand: info.operand,
                        pattern: LikePattern::new(s),
                    },
                    _ => return Err(type_error(&info, lit.pos)),
                }
            }
            Op::Includes { excludes, values } => {
                if info.ftype != FieldType::Multipicklist {
                    return Err(SoqlError::at(
                        Code::FilterOperator,
                        info.pos,
                        "includes or excludes operator only valid on multipicklist field",
                    ));
                }
                let mut groups = Vec::with_capacity(values.len());
                for lit in values {
                    let LitKind::Str(s) = &lit.kind else {
                        return Err(type_error(&info, lit.pos));
                    };
                    groups.push(
                        s.value
                            .split(';')
                            .map(|o| o.trim().to_string())
                            .filter(|o| !o.is_empty())
                            .collect(),
                    );
                }
                Pred::Includes {
                    operand: info.operand,
                    groups,
                    excludes: *excludes,
                }
            }
        })
    }

    fn semi_join(&self, q: &Query, outer: usize) -> Result<SemiJoin, SoqlError> {
        let obj = self.top_object(q)?;
        if obj == outer {
            return Err(SoqlError::malformed(
                q.from.path.pos,
                "The inner and outer selects should not be on the same object type",
            ));
        }
        let path = match q.select.as_slice() {
            [SelectItem::Field {
                path,
                wrapper: None,
                alias: None,
            }] => path,
            _ => {
                return Err(SoqlError::malformed(
                    q.pos,
                    "The selected field of a semi join sub-select must be a single Id or reference field",
                ))
            }
        };
        let scope = Scope {
            obj,
            alias: q.from.alias.as_deref(),
        };
        let field = self.resolve(scope, path)?;
        if !field.is_id_typed() {
            return Err(SoqlError::malformed(
                path.pos,
                format!(
                    "The selected field '{}' in the subquery must be an Id or reference field",
                    path.text()
                ),
            ));
        }
        let plan = self.query(q, obj, Ctx::Semi)?;
        Ok(SemiJoin {
            plan: Box::new(plan),
            field,
        })
    }

    // ---- index choice ----

    /// The cheapest index among the top-level conjuncts, if any.
    pub(super) fn index_hint(&self, obj: usize, pred: &Pred) -> Option<IndexHint> {
        let items = match pred {
            Pred::And(v) => v.as_slice(),
            p => std::slice::from_ref(p),
        };
        let rank = |h: &IndexHint| match h {
            IndexHint::Ids(_) => 0,
            IndexHint::External { .. } => 1,
            IndexHint::Semi(_) => 2,
            IndexHint::Children { .. } => 3,
        };
        items
            .iter()
            .filter_map(|p| self.hint_for(obj, p))
            .min_by_key(rank)
    }

    fn hint_for(&self, obj: usize, p: &Pred) -> Option<IndexHint> {
        let direct = |op: &Operand| match op {
            Operand::Row(a) if a.hops.is_empty() => Some(a.clone()),
            _ => None,
        };
        match p {
            Pred::IdCmp {
                operand,
                op: CmpOp::Eq,
                id,
            } => self.id_hint(obj, &direct(operand)?, std::slice::from_ref(id)),
            Pred::IdIn {
                operand,
                ids,
                has_null: false,
                negated: false,
            } => {
                let ids: Vec<RecordId> = ids.iter().copied().collect();
                self.id_hint(obj, &direct(operand)?, &ids)
            }
            Pred::Cmp {
                operand,
                op: CmpOp::Eq,
                value: Value::Str(s),
            } => {
                let a = direct(operand)?;
                self.external_indexed(&a).then(|| IndexHint::External {
                    fi: a.field.fi,
                    values: vec![s.to_string()],
                })
            }
            Pred::In {
                operand,
                values,
                has_null: false,
                negated: false,
            } => {
                let a = direct(operand)?;
                let strs: Option<Vec<String>> = values
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                match strs {
                    Some(values) if self.external_indexed(&a) => Some(IndexHint::External {
                        fi: a.field.fi,
                        values,
                    }),
                    _ => None,
                }
            }
            Pred::Semi {
                operand,
                slot,
                negated: false,
            } => {
                let a = direct(operand)?;
                (a.field.sys == Some(SysField::Id)).then_some(IndexHint::Semi(*slot))
            }
            _ => None,
        }
    }

    /// Ids on the Id field become row numbers (ids of other objects or orgs match nothing); ids on
    /// a stored reference field use the child index.
    fn id_hint(&self, obj: usize, a: &Access, ids: &[RecordId]) -> Option<IndexHint> {
        let o = self.object(obj);
        if a.field.sys == Some(SysField::Id) {
            let prefix = RecordId::new(&o.key_prefix, self.data.org_num, 0).prefix;
            return Some(IndexHint::Ids(
                ids.iter()
                    .filter(|id| id.prefix == prefix && id.org == self.data.org_num)
                    .map(|id| id.num)
                    .collect(),
            ));
        }
        (a.ftype == FieldType::Reference && a.field.sys.is_none()).then(|| IndexHint::Children {
            fi: a.field.fi,
            parents: ids.iter().map(|id| id.num).collect(),
        })
    }

    /// Text fields the store indexes by lower-cased value (external ids and unique fields).
    fn external_indexed(&self, a: &Access) -> bool {
        let f = self.field_def(a);
        a.field.sys.is_none()
            && (f.external_id || f.unique)
            && f.ftype.is_textual()
            && !matches!(f.ftype, FieldType::Id | FieldType::Reference)
    }
}

/// Where a semi-join may appear: directly in the top-level WHERE or one of its top-level ANDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SemiAllowed {
    Here,
    Nested,
    Never,
}

impl SemiAllowed {
    pub(super) fn inside_and(self) -> Self {
        self
    }
    pub(super) fn nested(self) -> Self {
        match self {
            SemiAllowed::Never => SemiAllowed::Never,
            _ => SemiAllowed::Nested,
        }
    }
}

fn null_test(operand: Operand, op: CmpOp) -> Pred {
    match op {
        CmpOp::Eq => Pred::IsNull {
            operand,
            negated: false,
        },
        CmpOp::Ne => Pred::IsNull {
            operand,
            negated: true,
        },
        _ => Pred::Const(false),
    }
}

fn type_error(info: &OperandInfo, pos: ast::Pos) -> SoqlError {
    let quoted = if info.ftype.is_textual() {
        "should be enclosed in quotes"
    } else {
        "should not be enclosed in quotes"
    };
    SoqlError::at(
        Code::InvalidField,
        pos,
        format!(
            "value of filter criterion for field '{}' must be of type {} and {quoted}",
            info.name,
            type_word(info.ftype)
        ),
    )
}

fn convert_or_null(info: &OperandInfo, lit: &Literal) -> Result<Option<Conv>, SoqlError> {
    match lit.kind {
        LitKind::Null => Ok(None),
        LitKind::DateLiteral(_) => Err(type_error(info, lit.pos)),
        _ => convert(info, lit).map(Some),
    }
}

/// A literal as a value of the operand's type, or Salesforce's type error.
fn convert(info: &OperandInfo, lit: &Literal) -> Result<Conv, SoqlError> {
    use FieldType as T;
    let t = info.ftype;
    let v = match (&lit.kind, t) {
        (LitKind::Str(s), T::Id | T::Reference) => {
            if s.value.is_empty() {
                return Ok(Conv::Id(None));
            }
            return match RecordId::parse(&s.value) {
                Some(id) => Ok(Conv::Id(Some(id))),
                None => Err(SoqlError::at(
                    Code::FilterOperator,
                    info.pos,
                    format!("invalid ID field: {}", s.value),
                )),
            };
        }
        (LitKind::Bool(b), T::Boolean) => Value::Bool(*b),
        (LitKind::Int(i), t) if t.is_numeric() => Value::Int(*i),
        (LitKind::Dec(d), t) if t.is_numeric() => Value::Num(*d),
        (LitKind::Date(d), T::Date) => Value::Date(*d),
        (LitKind::DateTime(ms), T::Datetime) => Value::DateTime(*ms),
        (LitKind::Str(s), T::Time) => match value::parse_time(&s.value) {
            Some(ms) => Value::Time(ms),
            None => return Err(type_error(info, lit.pos)),
        },
        (LitKind::Str(s), t) if t.is_textual() => Value::str(s.value.as_str()),
        _ => return Err(type_error(info, lit.pos)),
    };
    Ok(Conv::Val(v))
}
