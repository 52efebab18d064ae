//! A compiled query: names resolved to object and field indexes, literals converted to the field's
//! type, the index to use decided, and the output shape laid out as a tree.
//!
//! Plans are immutable and `Send + Sync`; cursors keep them in an `Arc` between pages. Anything that
//! depends on the execution instant (relative date literals) or on data (semi-join id sets) is kept
//! as a *slot* and bound per execution ([`super::eval::Bound`]).

use super::ast::{AggFunc, CmpOp};
use super::dates::DateLiteral;
use super::like::LikePattern;
use crate::org::ids::RecordId;
use crate::org::schema::FieldType;
use crate::org::store::SysField;
use crate::org::value::Value;
use std::collections::HashSet;

/// One field of one object, with how to read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldRef {
    pub obj: usize,
    pub fi: usize,
    /// Header-backed fields (Id, audit fields, OwnerId, computed Name) read through
    /// `OrgData::value`; all others straight from the row without copying.
    pub sys: Option<SysField>,
}

/// Following a reference field to its parent row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hop {
    pub via: FieldRef,
    /// The object the relationship points to; a polymorphic reference resolving elsewhere reads as
    /// null.
    pub target: usize,
    /// Canonical relationship name (`Account`, `Owner`): the JSON key of the nested record.
    pub rel: String,
}

/// A field reached from the query's object through zero or more parent relationships.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Access {
    pub hops: Vec<Hop>,
    pub field: FieldRef,
    pub ftype: FieldType,
    /// Canonical field name (`Name`): the JSON key.
    pub key: String,
    /// Canonical dotted path (`Account.Owner.Name`): the Bulk CSV column and duplicate check.
    pub path: String,
}

impl Access {
    pub fn is_id_typed(&self) -> bool {
        matches!(self.ftype, FieldType::Id | FieldType::Reference)
    }
}

/// Where a predicate or sort key takes its value from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Row(Access),
    /// `toLabel(field)`: the picklist label of the value.
    Label(Access),
    /// The i-th GROUP BY key of an aggregate row.
    Group(usize),
    /// The i-th aggregate of an aggregate row.
    Agg(usize),
}

/// A compiled condition. Null handling follows SOQL: `!=` and `NOT IN` match null values, ordering
/// comparisons and LIKE never do.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    Const(bool),
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    IsNull {
        operand: Operand,
        negated: bool,
    },
    Cmp {
        operand: Operand,
        op: CmpOp,
        value: Value,
    },
    /// Comparison of an Id or reference field: by parsed id, so 15- and 18-character forms and any
    /// letter case of the 18-character form match, and ordering follows the id sequence.
    IdCmp {
        operand: Operand,
        op: CmpOp,
        id: RecordId,
    },
    In {
        operand: Operand,
        values: Vec<Value>,
        has_null: bool,
        negated: bool,
    },
    IdIn {
        operand: Operand,
        ids: HashSet<RecordId>,
        has_null: bool,
        negated: bool,
    },
    Like {
        operand: Operand,
        pattern: LikePattern,
    },
    /// INCLUDES/EXCLUDES: each group is a `;`-separated set that must all be selected.
    Includes {
        operand: Operand,
        groups: Vec<Vec<String>>,
        excludes: bool,
    },
    /// A relative date literal; `slot` indexes the range bound at execution.
    DateRange {
        operand: Operand,
        op: CmpOp,
        slot: usize,
    },
    /// `field [NOT] IN (SELECT …)`; `slot` indexes the id set bound at execution.
    Semi {
        operand: Operand,
        slot: usize,
        negated: bool,
    },
}

/// A semi-join's inner query and the field whose ids it yields.
#[derive(Debug)]
pub(crate) struct SemiJoin {
    pub plan: Box<Plan>,
    pub field: Access,
}

/// How to find candidate rows without a scan; the full predicate is still checked on each one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IndexHint {
    /// `Id = …` / `Id IN (…)`: row numbers of ids that belong to this object.
    Ids(Vec<u64>),
    /// `Ext__c = …` / `IN (…)` on an external-id or unique text field.
    External { fi: usize, values: Vec<String> },
    /// `AccountId = …` / `IN (…)` on a reference field (via the child index).
    Children { fi: usize, parents: Vec<u64> },
    /// `Id IN (SELECT …)`: the bound id set of that slot.
    Semi(usize),
}

/// WHERE (or HAVING) with its execution-time slots.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub pred: Option<Pred>,
    pub dates: Vec<DateLiteral>,
    pub semis: Vec<SemiJoin>,
    pub index: Option<IndexHint>,
}

#[derive(Debug, Clone)]
pub(crate) struct OrderKey {
    pub operand: Operand,
    pub desc: bool,
    pub nulls_last: bool,
    pub id_typed: bool,
}

/// The JSON shape of one record.
#[derive(Debug)]
pub(crate) enum Node {
    Field {
        key: String,
        field: FieldRef,
        label: bool,
    },
    /// A parent relationship: a nested record (with its own `attributes`) or `null`.
    Parent {
        key: String,
        via: FieldRef,
        target: usize,
        children: Vec<Node>,
    },
    /// A child subquery: `{"totalSize":n,"done":true,"records":[…]}` or `null`.
    Child {
        key: String,
        ref_fi: usize,
        plan: Box<Plan>,
    },
}

/// One Bulk 2.0 CSV column.
#[derive(Debug)]
pub(crate) struct Column {
    pub name: String,
    pub access: Access,
    pub label: bool,
}

/// One aggregate expression, shared by SELECT, HAVING and ORDER BY.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AggExpr {
    pub func: AggFunc,
    pub arg: Option<Access>,
}

#[derive(Debug)]
pub(crate) struct AggPlan {
    pub groups: Vec<Access>,
    pub aggs: Vec<AggExpr>,
    /// SELECT order: JSON key and where the value comes from (`Group` or `Agg`).
    pub output: Vec<(String, Operand)>,
    pub having: Filter,
    pub order: Vec<OrderKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Rows,
    /// `SELECT COUNT()`; with GROUP BY it counts groups.
    Count,
    Aggregate,
}

/// A compiled query, ready for [`super::execute`].
#[derive(Debug)]
pub struct Plan {
    pub(crate) object: usize,
    pub(crate) object_name: String,
    pub(crate) kind: Kind,
    pub(crate) filter: Filter,
    pub(crate) order: Vec<OrderKey>,
    pub(crate) limit: Option<usize>,
    pub(crate) offset: usize,
    pub(crate) nodes: Vec<Node>,
    pub(crate) columns: Vec<Column>,
    pub(crate) agg: Option<AggPlan>,
}

impl Plan {
    /// Index of the queried object in the schema.
    pub fn object(&self) -> usize {
        self.object
    }

    /// Canonical name of the queried object (`Account` for `from account`).
    pub fn object_name(&self) -> &str {
        &self.object_name
    }

    /// `SELECT COUNT() …`: the answer is only a total.
    pub fn is_count(&self) -> bool {
        self.kind == Kind::Count
    }

    /// Aggregate functions or GROUP BY: rows are `AggregateResult`s, with no cursor.
    pub fn is_aggregate(&self) -> bool {
        self.kind == Kind::Aggregate
    }

    /// Whether the SELECT list has child subqueries (Bulk 2.0 query jobs reject those).
    pub fn has_child_subqueries(&self) -> bool {
        self.nodes.iter().any(Node::has_child)
    }

    /// Whether WHERE is answered from an index (Id, external-id or unique field, reference field,
    /// `Id IN (SELECT …)`) rather than a scan of the table: what Salesforce calls a selective
    /// filter. queryAll still scans for external-id and reference filters, because the store's
    /// indexes hold live rows only.
    pub fn is_selective(&self) -> bool {
        self.filter.index.is_some()
    }

    /// The query's OFFSET (Bulk 2.0 query jobs reject OFFSET).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The query's LIMIT, if any.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }
}

impl Node {
    fn has_child(&self) -> bool {
        match self {
            Node::Child { .. } => true,
            Node::Parent { children, .. } => children.iter().any(Node::has_child),
            Node::Field { .. } => false,
        }
    }
}
