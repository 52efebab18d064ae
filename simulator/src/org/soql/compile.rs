//! Name resolution and typing: from [`ast::Query`] to [`Plan`].
//!
//! This is where Salesforce's INVALID_FIELD / INVALID_TYPE errors come from: unknown objects,
//! columns and relationships, fields that cannot be filtered, sorted or grouped. Conditions (and
//! the choice of index) are compiled in [`super::filter`].

use super::ast::{self, AggCall, AggFunc, FieldsGroup, Path, Query, SelectItem, Wrapper};
use super::errors::{Code, SoqlError};
use super::filter::SemiAllowed;
use super::plan::*;
use crate::org::schema::{FieldDef, FieldType, ObjectDef};
use crate::org::store::{sys_field, OrgData};
use std::collections::HashSet;

/// Parent relationships deeper than this are rejected, as Salesforce does.
const MAX_PARENT_LEVELS: usize = 5;
/// Salesforce's cap on OFFSET.
const MAX_OFFSET: u64 = 2000;
/// `FIELDS(ALL)` and `FIELDS(CUSTOM)` need `LIMIT` at most this.
const FIELDS_LIMIT: u64 = 200;

/// Compile a parsed top-level query.
pub(crate) fn compile(data: &OrgData, q: &Query) -> Result<Plan, SoqlError> {
    let c = Compiler { data };
    let obj = c.top_object(q)?;
    c.query(q, obj, Ctx::Top)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    Top,
    /// A child subquery in the SELECT list.
    Child,
    /// The inner query of a semi-join or anti-join.
    Semi,
}

/// The object names resolve against, and its alias (`FROM Account a`).
#[derive(Clone, Copy)]
pub(super) struct Scope<'q> {
    pub obj: usize,
    pub alias: Option<&'q str>,
}

/// What a condition's left side resolved to.
pub(super) struct OperandInfo {
    pub operand: Operand,
    pub ftype: FieldType,
    /// The name used in type errors (as written).
    pub name: String,
    pub pos: ast::Pos,
}

/// Resolves a condition's left side: row fields for WHERE, group keys and aggregates for HAVING.
pub(super) type Resolver<'r> = dyn FnMut(&ast::Operand) -> Result<OperandInfo, SoqlError> + 'r;

/// Resolves one query against one org's schema (borrowed only for the compile; the resulting plan
/// holds indexes, not references).
pub(super) struct Compiler<'a> {
    pub data: &'a OrgData,
}

impl<'a> Compiler<'a> {
    pub(super) fn object(&self, obj: usize) -> &'a ObjectDef {
        &self.data.schema.objects[obj]
    }

    pub(super) fn top_object(&self, q: &Query) -> Result<usize, SoqlError> {
        let path = &q.from.path;
        let name = path.text();
        let idx = match path.segments.as_slice() {
            [one] => self.data.schema.object_index(one),
            _ => None,
        };
        let Some(obj) = idx else {
            return Err(SoqlError::unknown_object(path.pos, &name));
        };
        let o = self.object(obj);
        if !o.queryable {
            return Err(SoqlError::at(
                Code::InvalidType,
                path.pos,
                format!("entity type {} does not support query", o.name),
            ));
        }
        Ok(obj)
    }

    pub(super) fn query(&self, q: &Query, obj: usize, ctx: Ctx) -> Result<Plan, SoqlError> {
        let scope = Scope {
            obj,
            alias: q.from.alias.as_deref(),
        };
        let limit = q
            .limit
            .map(|c| usize::try_from(c.value).unwrap_or(usize::MAX));
        let offset = match q.offset {
            Some(c) if c.value > MAX_OFFSET => {
                return Err(SoqlError::at(
                    Code::OutOfRange,
                    c.pos,
                    "Maximum SOQL offset allowed is 2000",
                ))
            }
            Some(c) => usize::try_from(c.value).unwrap_or(0),
            None => 0,
        };
        let count_call = q.select.iter().find_map(|i| match i {
            SelectItem::Aggregate { call, .. }
                if call.func == AggFunc::Count && call.arg.is_none() =>
            {
                Some(call.pos)
            }
            _ => None,
        });
        let has_agg = q
            .select
            .iter()
            .any(|i| matches!(i, SelectItem::Aggregate { .. }));
        let kind = if count_call.is_some() {
            Kind::Count
        } else if has_agg || !q.group_by.is_empty() {
            Kind::Aggregate
        } else {
            Kind::Rows
        };
        if let Some(pos) = count_call {
            if q.select.len() > 1 {
                return Err(SoqlError::malformed(
                    pos,
                    "COUNT() must be the only element in the SELECT list",
                ));
            }
        }
        if ctx != Ctx::Top && kind != Kind::Rows {
            return Err(SoqlError::malformed(
                q.pos,
                "Aggregate functions are not supported in subqueries",
            ));
        }

        let mut filter = Filter::default();
        if let Some(cond) = &q.filter {
            let mut resolve = |op: &ast::Operand| self.row_operand(scope, op, true);
            let semis = if ctx == Ctx::Top {
                SemiAllowed::Here
            } else {
                SemiAllowed::Never
            };
            let pred = self.cond(cond, scope, &mut filter, &mut resolve, semis)?;
            filter.index = self.index_hint(obj, &pred);
            filter.pred = Some(pred);
        }

        let mut plan = Plan {
            object: obj,
            object_name: self.object(obj).name.clone(),
            kind,
            filter,
            order: Vec::new(),
            limit,
            offset,
            nodes: Vec::new(),
            columns: Vec::new(),
            agg: None,
        };
        match kind {
            Kind::Rows => {
                self.select_rows(q, scope, &mut plan)?;
                plan.order = self.order_rows(q, scope)?;
            }
            Kind::Count => {
                if !q.group_by.is_empty() {
                    plan.agg = Some(self.aggregate(q, scope)?);
                }
            }
            Kind::Aggregate => plan.agg = Some(self.aggregate(q, scope)?),
        }
        Ok(plan)
    }

    // ---- names ----

    /// Resolve `Field`, `Rel.Field`, `alias.Field` or `Object.Field` from `scope`.
    pub(super) fn resolve(&self, scope: Scope<'_>, path: &Path) -> Result<Access, SoqlError> {
        let mut segs: &[String] = &path.segments;
        if segs.len() > 1 {
            let o = self.object(scope.obj);
            let first = &segs[0];
            let is_alias = scope.alias.is_some_and(|a| a.eq_ignore_ascii_case(first));
            let is_object = o.name.eq_ignore_ascii_case(first) && o.relationship(first).is_none();
            if is_alias || is_object {
                segs = &segs[1..];
            }
        }
        let Some((last, rels)) = segs.split_last() else {
            return Err(SoqlError::malformed(path.pos, "unexpected token: '.'"));
        };
        if rels.len() > MAX_PARENT_LEVELS {
            return Err(SoqlError::malformed(
                path.pos,
                "SOQL statements cannot query relationships that are more than 5 levels away from the root entity object.",
            ));
        }
        let mut obj = scope.obj;
        let mut hops = Vec::with_capacity(rels.len());
        let mut canonical = Vec::with_capacity(segs.len());
        for rel in rels {
            let o = self.object(obj);
            let reference = o
                .relationship(rel)
                .and_then(|f| Some((o.field_index(&f.name)?, f)));
            let Some((fi, f)) = reference else {
                return Err(SoqlError::bad_relationship(path.pos, rel));
            };
            let Some(target) = f
                .reference_to
                .iter()
                .find_map(|t| self.data.schema.object_index(t))
            else {
                return Err(SoqlError::bad_relationship(path.pos, rel));
            };
            let rel_name = f.relationship_name.clone().unwrap_or_else(|| rel.clone());
            canonical.push(rel_name.clone());
            hops.push(Hop {
                via: field_ref(obj, fi, o, f),
                target,
                rel: rel_name,
            });
            obj = target;
        }
        let o = self.object(obj);
        let Some(fi) = o.field_index(last) else {
            return Err(SoqlError::no_such_column(path.pos, last, &o.name));
        };
        let f = &o.fields[fi];
        canonical.push(f.name.clone());
        Ok(Access {
            hops,
            field: field_ref(obj, fi, o, f),
            ftype: f.ftype,
            key: f.name.clone(),
            path: canonical.join("."),
        })
    }

    pub(super) fn field_def(&self, a: &Access) -> &'a FieldDef {
        &self.object(a.field.obj).fields[a.field.fi]
    }

    /// A WHERE operand: a field path or `toLabel(path)`.
    fn row_operand(
        &self,
        scope: Scope<'_>,
        op: &ast::Operand,
        filtering: bool,
    ) -> Result<OperandInfo, SoqlError> {
        let (path, label) = match op {
            ast::Operand::Field(p) => (p, false),
            ast::Operand::ToLabel(p) => (p, true),
            ast::Operand::Agg(call) => {
                return Err(SoqlError::malformed(
                    call.pos,
                    format!(
                        "Aggregate functions are only allowed in HAVING and ORDER BY of aggregate queries: {}",
                        call.func.name()
                    ),
                ))
            }
        };
        let a = self.resolve(scope, path)?;
        let f = self.field_def(&a);
        if filtering && !f.filterable {
            return Err(SoqlError::at(
                Code::InvalidField,
                path.pos,
                format!("field '{}' can not be filtered in a query call", f.name),
            ));
        }
        Ok(OperandInfo {
            ftype: a.ftype,
            name: path.text(),
            pos: path.pos,
            operand: if label {
                Operand::Label(a)
            } else {
                Operand::Row(a)
            },
        })
    }

    // ---- SELECT of row queries ----

    fn select_rows(&self, q: &Query, scope: Scope<'_>, plan: &mut Plan) -> Result<(), SoqlError> {
        let mut seen = HashSet::new();
        for item in &q.select {
            match item {
                SelectItem::Field {
                    path,
                    wrapper,
                    alias,
                } => {
                    if alias.is_some() {
                        return Err(SoqlError::malformed(
                            path.pos,
                            "only aggregate expressions use field aliasing",
                        ));
                    }
                    let a = self.resolve(scope, path)?;
                    let label = *wrapper == Some(Wrapper::ToLabel);
                    add_field(plan, &mut seen, a, label)?;
                }
                SelectItem::Fields { group, pos } => {
                    let bounded = q.limit.is_some_and(|l| l.value <= FIELDS_LIMIT);
                    if *group != FieldsGroup::Standard && !bounded {
                        return Err(SoqlError::malformed(
                            *pos,
                            "The SOQL FIELDS function must have a LIMIT of at most 200",
                        ));
                    }
                    let o = self.object(scope.obj);
                    for (fi, f) in o.active_fields() {
                        let wanted = match group {
                            FieldsGroup::All => true,
                            FieldsGroup::Standard => !f.custom,
                            FieldsGroup::Custom => f.custom,
                        };
                        if wanted {
                            let a = Access {
                                hops: vec![],
                                field: field_ref(scope.obj, fi, o, f),
                                ftype: f.ftype,
                                key: f.name.clone(),
                                path: f.name.clone(),
                            };
                            add_field(plan, &mut seen, a, false)?;
                        }
                    }
                }
                SelectItem::Subquery(sub) => {
                    let (child_obj, ref_fi, key) = self.child_relationship(scope, sub)?;
                    if !seen.insert(key.to_ascii_lowercase()) {
                        return Err(SoqlError::bare(
                            Code::InvalidField,
                            format!("duplicate field selected: {key}"),
                        ));
                    }
                    let child = self.query(sub, child_obj, Ctx::Child)?;
                    plan.nodes.push(Node::Child {
                        key,
                        ref_fi,
                        plan: Box::new(child),
                    });
                }
                SelectItem::Aggregate { call, .. } => {
                    return Err(SoqlError::malformed(call.pos, "unexpected aggregate"));
                }
            }
        }
        Ok(())
    }

    /// `FROM Contacts` (or `FROM a.Contacts`) inside a subquery of Account: the child object, the
    /// reference field on it, and the canonical relationship name.
    fn child_relationship(
        &self,
        scope: Scope<'_>,
        sub: &Query,
    ) -> Result<(usize, usize, String), SoqlError> {
        let path = &sub.from.path;
        let o = self.object(scope.obj);
        let rel = match path.segments.as_slice() {
            [r] => Some(r),
            [q, r]
                if scope.alias.is_some_and(|a| a.eq_ignore_ascii_case(q))
                    || o.name.eq_ignore_ascii_case(q) =>
            {
                Some(r)
            }
            _ => None,
        };
        let found = rel.and_then(|r| {
            let cr = self.data.schema.child_relationship(scope.obj, r)?;
            let child = self.data.schema.object_index(&cr.child_object)?;
            let fi = self.object(child).field_index(&cr.field)?;
            Some((child, fi, cr.name.clone()))
        });
        found.ok_or_else(|| SoqlError::bad_child_relationship(path.pos, &path.text()))
    }

    fn order_rows(&self, q: &Query, scope: Scope<'_>) -> Result<Vec<OrderKey>, SoqlError> {
        let mut out = Vec::new();
        for item in &q.order_by {
            let info = self.row_operand(scope, &item.expr, false)?;
            if let Operand::Row(a) | Operand::Label(a) = &info.operand {
                let f = self.field_def(a);
                if !f.sortable {
                    return Err(SoqlError::at(
                        Code::InvalidField,
                        info.pos,
                        format!("field '{}' can not be sorted in a query call", f.name),
                    ));
                }
            }
            out.push(order_key(info, item));
        }
        Ok(out)
    }

    // ---- aggregate queries ----

    fn aggregate(&self, q: &Query, scope: Scope<'_>) -> Result<AggPlan, SoqlError> {
        let mut groups: Vec<Access> = Vec::new();
        for p in &q.group_by {
            let a = self.resolve(scope, p)?;
            let f = self.field_def(&a);
            if !f.groupable {
                return Err(SoqlError::at(
                    Code::InvalidField,
                    p.pos,
                    format!("field '{}' can not be grouped in a query call", f.name),
                ));
            }
            groups.push(a);
        }
        let mut aggs: Vec<AggExpr> = Vec::new();
        let mut output = Vec::new();
        let mut expr_n = 0;
        for item in &q.select {
            match item {
                SelectItem::Field { path, alias, .. } => {
                    let a = self.resolve(scope, path)?;
                    let Some(gi) = groups.iter().position(|g| g.path == a.path) else {
                        return Err(SoqlError::malformed(
                            path.pos,
                            format!("Field must be grouped or aggregated: {}", path.text()),
                        ));
                    };
                    output.push((alias.clone().unwrap_or(a.key), Operand::Group(gi)));
                }
                SelectItem::Aggregate { call, alias } => {
                    let (j, _) = self.agg_index(&mut aggs, call, scope)?;
                    let key = match alias {
                        Some(a) => a.clone(),
                        None => {
                            expr_n += 1;
                            format!("expr{}", expr_n - 1)
                        }
                    };
                    output.push((key, Operand::Agg(j)));
                }
                SelectItem::Fields { pos, .. } => {
                    return Err(SoqlError::malformed(
                        *pos,
                        "FIELDS() can't be used in an aggregate query",
                    ))
                }
                SelectItem::Subquery(sub) => {
                    return Err(SoqlError::malformed(
                        sub.pos,
                        "Child subqueries can't be used in an aggregate query",
                    ))
                }
            }
        }
        let mut having = Filter::default();
        if let Some(h) = &q.having {
            let mut resolve = |op: &ast::Operand| -> Result<OperandInfo, SoqlError> {
                self.group_operand(
                    scope,
                    op,
                    &groups,
                    &mut aggs,
                    "Field must be grouped or aggregated",
                )
            };
            let pred = self.cond(h, scope, &mut having, &mut resolve, SemiAllowed::Never)?;
            having.pred = Some(pred);
        }
        let mut order = Vec::new();
        for item in &q.order_by {
            let info = self.group_operand(
                scope,
                &item.expr,
                &groups,
                &mut aggs,
                "Ordered field must be grouped or aggregated",
            )?;
            order.push(order_key(info, item));
        }
        Ok(AggPlan {
            groups,
            aggs,
            output,
            having,
            order,
        })
    }

    /// A HAVING / ORDER BY operand of an aggregate query: a grouped field or an aggregate.
    fn group_operand(
        &self,
        scope: Scope<'_>,
        op: &ast::Operand,
        groups: &[Access],
        aggs: &mut Vec<AggExpr>,
        not_grouped: &str,
    ) -> Result<OperandInfo, SoqlError> {
        match op {
            ast::Operand::Field(p) | ast::Operand::ToLabel(p) => {
                let a = self.resolve(scope, p)?;
                let gi = groups
                    .iter()
                    .position(|g| g.path == a.path)
                    .ok_or_else(|| {
                        SoqlError::malformed(p.pos, format!("{not_grouped}: {}", p.text()))
                    })?;
                Ok(OperandInfo {
                    operand: Operand::Group(gi),
                    ftype: a.ftype,
                    name: p.text(),
                    pos: p.pos,
                })
            }
            ast::Operand::Agg(call) => {
                let (j, ftype) = self.agg_index(aggs, call, scope)?;
                Ok(OperandInfo {
                    operand: Operand::Agg(j),
                    ftype,
                    name: call.func.name().to_string(),
                    pos: call.pos,
                })
            }
        }
    }

    /// Index of `call` among the query's aggregates (added if new) and the type of its result.
    fn agg_index(
        &self,
        aggs: &mut Vec<AggExpr>,
        call: &AggCall,
        scope: Scope<'_>,
    ) -> Result<(usize, FieldType), SoqlError> {
        let arg = match &call.arg {
            Some(p) => Some(self.resolve(scope, p)?),
            None => None,
        };
        let ftype = match (call.func, &arg) {
            (AggFunc::Count | AggFunc::CountDistinct, _) => FieldType::Int,
            (AggFunc::Sum | AggFunc::Avg, Some(a)) if a.ftype.is_numeric() => FieldType::Double,
            (AggFunc::Min | AggFunc::Max, Some(a)) => a.ftype,
            (func, Some(a)) => {
                return Err(SoqlError::malformed(
                    call.pos,
                    format!(
                        "field {} does not support aggregate operator {}",
                        a.key,
                        func.name()
                    ),
                ))
            }
            (_, None) => return Err(SoqlError::malformed(call.pos, "unexpected token: ')'")),
        };
        let e = AggExpr {
            func: call.func,
            arg,
        };
        let j = match aggs.iter().position(|x| *x == e) {
            Some(j) => j,
            None => {
                aggs.push(e);
                aggs.len() - 1
            }
        };
        Ok((j, ftype))
    }
}

fn field_ref(obj: usize, fi: usize, o: &ObjectDef, f: &FieldDef) -> FieldRef {
    FieldRef {
        obj,
        fi,
        sys: sys_field(o, &f.name),
    }
}

fn order_key(info: OperandInfo, item: &ast::OrderItem) -> OrderKey {
    OrderKey {
        id_typed: matches!(info.ftype, FieldType::Id | FieldType::Reference)
            && matches!(info.operand, Operand::Row(_)),
        operand: info.operand,
        desc: item.desc,
        // Salesforce: nulls first ascending, last descending, unless told otherwise.
        nulls_last: item.nulls_last.unwrap_or(item.desc),
    }
}

/// Add a selected field to the JSON tree (merging parent paths) and the CSV columns.
fn add_field(
    plan: &mut Plan,
    seen: &mut HashSet<String>,
    a: Access,
    label: bool,
) -> Result<(), SoqlError> {
    if !seen.insert(a.path.to_ascii_lowercase()) {
        return Err(SoqlError::bare(
            Code::InvalidField,
            format!("duplicate field selected: {}", a.path),
        ));
    }
    insert_node(
        &mut plan.nodes,
        &a.hops,
        a.field.clone(),
        a.key.clone(),
        label,
    );
    plan.columns.push(Column {
        name: a.path.clone(),
        access: a,
        label,
    });
    Ok(())
}

fn insert_node(nodes: &mut Vec<Node>, hops: &[Hop], field: FieldRef, key: String, label: bool) {
    let Some((hop, rest)) = hops.split_first() else {
        nodes.push(Node::Field { key, field, label });
        return;
    };
    let existing = nodes
        .iter()
        .position(|n| matches!(n, Node::Parent { key: k, .. } if *k == hop.rel));
    let idx = match existing {
        Some(i) => i,
        None => {
            nodes.push(Node::Parent {
                key: hop.rel.clone(),
                via: hop.via.clone(),
                target: hop.target,
                children: Vec::new(),
            });
            nodes.len() - 1
        }
    };
    if let Some(Node::Parent { children, .. }) = nodes.get_mut(idx) {
        insert_node(children, rest, field, key, label);
    }
}
