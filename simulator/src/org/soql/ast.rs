//! The parsed form of a SOQL statement, before any name is resolved against a schema.
//!
//! Every node an error can point at keeps its byte offset ([`Pos`]), because Salesforce's errors quote
//! the query with a caret under the offending token.

use super::dates::DateLiteral;

/// Byte offset into the query text.
pub type Pos = usize;

/// `SELECT … FROM … [WHERE …] …`, top level or nested (child subquery, semi-join).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub pos: Pos,
    pub select: Vec<SelectItem>,
    pub from: From,
    pub filter: Option<Cond>,
    pub group_by: Vec<Path>,
    pub having: Option<Cond>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Count>,
    pub offset: Option<Count>,
    /// `FOR VIEW`, `FOR REFERENCE`, `FOR UPDATE`: accepted and ignored (they only affect
    /// recently-viewed tracking and locking, neither of which the simulator models for queries).
    pub for_clause: Vec<String>,
}

/// `FROM Account a` (top level) or `FROM Contacts` / `FROM a.Contacts` (child subquery).
#[derive(Debug, Clone, PartialEq)]
pub struct From {
    pub path: Path,
    pub alias: Option<String>,
}

/// A dotted name as written: `Name`, `Account.Owner.Name`, `a.Name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub segments: Vec<String>,
    pub pos: Pos,
}

impl Path {
    pub fn text(&self) -> String {
        self.segments.join(".")
    }
}

/// A non-negative integer of LIMIT/OFFSET with its position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Count {
    pub value: u64,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A field or parent path, optionally wrapped (`toLabel(Status)`) and aliased (aggregate queries).
    Field {
        path: Path,
        wrapper: Option<Wrapper>,
        alias: Option<String>,
    },
    /// `FIELDS(ALL|STANDARD|CUSTOM)`.
    Fields { group: FieldsGroup, pos: Pos },
    /// `COUNT()`, `COUNT(Id)`, `SUM(Amount) total`, …
    Aggregate {
        call: AggCall,
        alias: Option<String>,
    },
    /// `(SELECT LastName FROM Contacts)`.
    Subquery(Box<Query>),
}

/// Functions that wrap a field in the SELECT list without aggregating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// `toLabel(f)`: the picklist label instead of the API value.
    ToLabel,
    /// `FORMAT(f)`: locale formatting; the simulator's single locale formats values as stored.
    Format,
    /// `convertCurrency(f)`: single-currency orgs return the value unchanged.
    ConvertCurrency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsGroup {
    All,
    Standard,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunc {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggFunc {
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "COUNT",
            AggFunc::CountDistinct => "COUNT_DISTINCT",
            AggFunc::Sum => "SUM",
            AggFunc::Avg => "AVG",
            AggFunc::Min => "MIN",
            AggFunc::Max => "MAX",
        }
    }
}

/// An aggregate call; `arg` is `None` only for `COUNT()`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    pub arg: Option<Path>,
    pub pos: Pos,
}

/// A WHERE or HAVING condition. SOQL requires parentheses to mix AND and OR, so each level holds
/// only one kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Simple(Simple),
}

/// `operand operator value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Simple {
    pub lhs: Operand,
    pub op: Op,
}

/// The left side of a field expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Field(Path),
    /// `toLabel(f)` in WHERE compares the label.
    ToLabel(Path),
    /// Aggregates appear on the left in HAVING and ORDER BY of aggregate queries.
    Agg(AggCall),
}

impl Operand {
    pub fn pos(&self) -> Pos {
        match self {
            Operand::Field(p) | Operand::ToLabel(p) => p.pos,
            Operand::Agg(c) => c.pos,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Cmp(CmpOp, Literal),
    In {
        negated: bool,
        values: InValues,
    },
    Like(Literal),
    /// `INCLUDES (…)` or, with `excludes`, `EXCLUDES (…)` on multi-select picklists.
    Includes {
        excludes: bool,
        values: Vec<Literal>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum InValues {
    List(Vec<Literal>),
    /// Semi-join (`IN`) or anti-join (`NOT IN`).
    Subquery(Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub kind: LitKind,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LitKind {
    Str(StrLit),
    Int(i64),
    Dec(f64),
    Bool(bool),
    Null,
    /// Days since the epoch.
    Date(i32),
    /// Epoch milliseconds (any offset in the literal already applied).
    DateTime(i64),
    /// `TODAY`, `LAST_N_DAYS:7`, …: a range relative to the execution time.
    DateLiteral(DateLiteral),
}

/// A string literal with escapes resolved. `\%` and `\_` become `%` and `_` in `value`; their
/// character indexes are kept in `escaped_wildcards` so LIKE can tell them from wildcards.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StrLit {
    pub value: String,
    pub escaped_wildcards: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub expr: Operand,
    pub desc: bool,
    /// `Some(true)` for NULLS LAST, `Some(false)` for NULLS FIRST, `None` for the default.
    pub nulls_last: Option<bool>,
}
