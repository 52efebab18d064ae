//! Recursive-descent parser from tokens to [`ast::Query`](super::ast::Query).
//!
//! It follows Salesforce's grammar where clients can tell the difference: clauses in their fixed
//! order, AND and OR not mixed without parentheses, `NOT` only at the start of a group (`a AND NOT b`
//! is rejected, `(NOT b)` is fine), and an alias accepted only where the next token ends the item
//! (so `SELECT Id FORM Account` fails at `FORM`, as in Salesforce). Nesting is capped at
//! [`MAX_DEPTH`] so hostile input cannot exhaust the stack.

use super::ast::*;
use super::dates::{self, Arity};
use super::errors::SoqlError;
use super::lexer::{Tok, Token};

/// Parentheses and subqueries deeper than this are rejected (Salesforce itself allows far less
/// nesting of subqueries, and no client writes 32 levels of parentheses).
pub(crate) const MAX_DEPTH: usize = 32;

/// Words that end a select item or a FROM clause, so they are never taken as aliases.
const RESERVED: &[&str] = &[
    "AND",
    "AS",
    "ASC",
    "BY",
    "CUBE",
    "DESC",
    "ELSE",
    "END",
    "EXCLUDES",
    "FALSE",
    "FIRST",
    "FOR",
    "FROM",
    "GROUP",
    "HAVING",
    "IN",
    "INCLUDES",
    "LAST",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "OR",
    "ORDER",
    "REFERENCE",
    "ROLLUP",
    "SELECT",
    "THEN",
    "TRUE",
    "TYPEOF",
    "UPDATE",
    "USING",
    "VIEW",
    "WHEN",
    "WHERE",
    "WITH",
];

pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str, mut toks: Vec<Token>) -> Self {
        // The token helpers rely on a final end-of-input token.
        if toks.last().is_none_or(|t| t.tok != Tok::Eof) {
            toks.push(Token {
                tok: Tok::Eof,
                start: src.len(),
                end: src.len(),
            });
        }
        Parser {
            src,
            toks,
            i: 0,
            depth: 0,
        }
    }

    /// A whole statement: one query followed by the end of input.
    pub fn statement(&mut self) -> Result<Query, SoqlError> {
        let q = self.query()?;
        match self.peek().tok {
            Tok::Eof => Ok(q),
            _ => Err(self.unexpected()),
        }
    }

    // ---- token helpers ----

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.i + k).min(last)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn text(&self, t: &Token) -> &'a str {
        t.text(self.src)
    }

    fn is_kw_at(&self, k: usize, kw: &str) -> bool {
        let t = self.peek_at(k);
        t.tok == Tok::Word && self.text(t).eq_ignore_ascii_case(kw)
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<Pos, SoqlError> {
        if self.is_kw(kw) {
            Ok(self.bump().start)
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, want: Tok) -> Result<Pos, SoqlError> {
        if self.peek().tok == want {
            Ok(self.bump().start)
        } else {
            Err(self.unexpected())
        }
    }

    /// `unexpected token: X` at the current token; words are shown bare, punctuation and the end of
    /// input quoted, as Salesforce prints them.
    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        let shown = match t.tok {
            Tok::Eof => "'<EOF>'".to_string(),
            Tok::LParen | Tok::RParen | Tok::Comma | Tok::Colon | Tok::Op(_) => {
                format!("'{}'", self.text(t))
            }
            _ => self.text(t).to_string(),
        };
        SoqlError::malformed(t.start, format!("unexpected token: {shown}"))
    }

    fn enter(&mut self) -> Result<(), SoqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SoqlError::malformed(
                self.peek().start,
                "Query is nested too deeply",
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn is_reserved(&self, t: &Token) -> bool {
        let s = self.text(t);
        RESERVED.iter().any(|k| k.eq_ignore_ascii_case(s))
    }

    // ---- clauses ----

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.enter()?;
        let pos = self.expect_kw("SELECT")?;
        let select = self.select_list()?;
        self.expect_kw("FROM")?;
        let from = self.from()?;
        if self.eat_kw("USING") {
            self.expect_kw("SCOPE")?;
            self.word()?;
        }
        let filter = if self.eat_kw("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        if self.eat_kw("WITH") {
            let t = self.peek().clone();
            let ok = ["SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"]
                .iter()
                .any(|k| t.tok == Tok::Word && self.text(&t).eq_ignore_ascii_case(k));
            if !ok {
                return Err(self.unexpected());
            }
            self.bump();
        }
        let mut group_by = Vec::new();
        if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            loop {
                if self.peek_at(1).tok == Tok::LParen {
                    let name = self.text(self.peek()).to_string();
                    return Err(SoqlError::malformed(
                        self.peek().start,
                        format!("GROUP BY {}() is not supported", name.to_ascii_uppercase()),
                    ));
                }
                group_by.push(self.path()?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        let having = if self.eat_kw("HAVING") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                order_by.push(self.order_item()?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.count()?)
        } else {
            None
        };
        let mut for_clause = Vec::new();
        if self.eat_kw("FOR") {
            loop {
                let t = self.peek().clone();
                let w = self.text(&t).to_ascii_uppercase();
                if t.tok != Tok::Word || !["VIEW", "REFERENCE", "UPDATE"].contains(&w.as_str()) {
                    return Err(self.unexpected());
                }
                self.bump();
                for_clause.push(w);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        if self.eat_kw("UPDATE") && !(self.eat_kw("TRACKING") || self.eat_kw("VIEWSTAT")) {
            return Err(self.unexpected());
        }
        self.leave();
        Ok(Query {
            pos,
            select,
            from,
            filter,
            group_by,
            having,
            order_by,
            limit,
            offset,
            for_clause,
        })
    }

    fn word(&mut self) -> Result<Token, SoqlError> {
        if self.peek().tok == Tok::Word {
            Ok(self.bump())
        } else {
            Err(self.unexpected())
        }
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        let t = self.peek().clone();
        if t.tok != Tok::Word || self.is_reserved(&t) {
            return Err(self.unexpected());
        }
        self.bump();
        Ok(Path {
            segments: self.text(&t).split('.').map(str::to_string).collect(),
            pos: t.start,
        })
    }

    fn count(&mut self) -> Result<Count, SoqlError> {
        let t = self.peek().clone();
        let text = self.text(&t);
        let ok = t.tok == Tok::Num && text.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(self.unexpected());
        }
        self.bump();
        Ok(Count {
            value: text.parse().unwrap_or(u64::MAX),
            pos: t.start,
        })
    }

    fn from(&mut self) -> Result<From, SoqlError> {
        // Any word may name the object, reserved or not (`FROM Group` is legal Salesforce).
        let t = self.word()?;
        let path = Path {
            segments: self.text(&t).split('.').map(str::to_string).collect(),
            pos: t.start,
        };
        let next = self.peek().clone();
        let alias = if next.tok == Tok::Word && !self.is_reserved(&next) {
            self.bump();
            Some(self.text(&next).to_string())
        } else {
            None
        };
        Ok(From { path, alias })
    }

    // ---- SELECT list ----

    fn select_list(&mut self) -> Result<Vec<SelectItem>, SoqlError> {
        let mut items = Vec::new();
        loop {
            items.push(self.select_item()?);
            if self.peek().tok != Tok::Comma {
                return Ok(items);
            }
            self.bump();
        }
    }

    fn select_item(&mut self) -> Result<SelectItem, SoqlError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::LParen => {
                self.bump();
                let q = self.query()?;
                self.expect(Tok::RParen)?;
                Ok(SelectItem::Subquery(Box::new(q)))
            }
            Tok::Word if self.peek_at(1).tok == Tok::LParen => self.select_call(),
            Tok::Word if self.text(&t).eq_ignore_ascii_case("TYPEOF") => {
                Err(SoqlError::malformed(t.start, "TYPEOF is not supported"))
            }
            _ => {
                let path = self.path()?;
                let alias = self.alias();
                Ok(SelectItem::Field {
                    path,
                    wrapper: None,
                    alias,
                })
            }
        }
    }

    /// An alias is a non-reserved word directly followed by `,` or `FROM` (Salesforce's grammar does
    /// not look further, which is why `Id FORM Account` reports `FORM`).
    fn alias(&mut self) -> Option<String> {
        let t = self.peek().clone();
        let ends_item = self.peek_at(1).tok == Tok::Comma || self.is_kw_at(1, "FROM");
        if t.tok == Tok::Word && !self.is_reserved(&t) && ends_item {
            self.bump();
            Some(self.text(&t).to_string())
        } else {
            None
        }
    }

    fn select_call(&mut self) -> Result<SelectItem, SoqlError> {
        let name_tok = self.bump();
        let name = self.text(&name_tok).to_ascii_uppercase();
        if name == "FIELDS" {
            self.expect(Tok::LParen)?;
            let g = self.word()?;
            let group = match self.text(&g).to_ascii_uppercase().as_str() {
                "ALL" => FieldsGroup::All,
                "STANDARD" => FieldsGroup::Standard,
                "CUSTOM" => FieldsGroup::Custom,
                _ => {
                    return Err(SoqlError::malformed(
                        g.start,
                        format!("unexpected token: {}", self.text(&g)),
                    ))
                }
            };
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::Fields {
                group,
                pos: name_tok.start,
            });
        }
        let wrapper = match name.as_str() {
            "TOLABEL" => Some(Wrapper::ToLabel),
            "FORMAT" => Some(Wrapper::Format),
            "CONVERTCURRENCY" => Some(Wrapper::ConvertCurrency),
            _ => None,
        };
        if let Some(wrapper) = wrapper {
            self.expect(Tok::LParen)?;
            let path = self.path()?;
            self.expect(Tok::RParen)?;
            let alias = self.alias();
            return Ok(SelectItem::Field {
                path,
                wrapper: Some(wrapper),
                alias,
            });
        }
        let call = self.agg_call_after_name(&name_tok, &name)?;
        let alias = self.alias();
        Ok(SelectItem::Aggregate { call, alias })
    }

    /// The rest of an aggregate call whose name token was consumed.
    fn agg_call_after_name(&mut self, name_tok: &Token, name: &str) -> Result<AggCall, SoqlError> {
        let func = match name {
            "COUNT" => AggFunc::Count,
            "COUNT_DISTINCT" => AggFunc::CountDistinct,
            "SUM" => AggFunc::Sum,
            "AVG" => AggFunc::Avg,
            "MIN" => AggFunc::Min,
            "MAX" => AggFunc::Max,
            _ => {
                return Err(SoqlError::malformed(
                    name_tok.start,
                    format!("{name}() is not supported"),
                ))
            }
        };
        self.expect(Tok::LParen)?;
        let arg = if func == AggFunc::Count && self.peek().tok == Tok::RParen {
            None
        } else {
            Some(self.path()?)
        };
        self.expect(Tok::RParen)?;
        Ok(AggCall {
            func,
            arg,
            pos: name_tok.start,
        })
    }

    fn order_item(&mut self) -> Result<OrderItem, SoqlError> {
        let expr = self.operand()?;
        let desc = if self.eat_kw("DESC") {
            true
        } else {
            self.eat_kw("ASC");
            false
        };
        let nulls_last = if self.eat_kw("NULLS") {
            if self.eat_kw("FIRST") {
                Some(false)
            } else {
                self.expect_kw("LAST")?;
                Some(true)
            }
        } else {
            None
        };
        Ok(OrderItem {
            expr,
            desc,
            nulls_last,
        })
    }

    // ---- conditions ----

    /// A group of operands joined by only ANDs or only ORs, optionally starting with NOT.
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        self.enter()?;
        let first = self.cond_operand(true)?;
        let mut items = vec![first];
        let mut is_and: Option<bool> = None;
        loop {
            let and = if self.is_kw("AND") {
                true
            } else if self.is_kw("OR") {
                false
            } else {
                break;
            };
            if is_and.is_some_and(|k| k != and) {
                return Err(self.unexpected());
            }
            is_and = Some(and);
            self.bump();
            items.push(self.cond_operand(false)?);
        }
        self.leave();
        Ok(match (is_and, items.len()) {
            (_, 1) => items.pop().unwrap_or(Cond::And(vec![])),
            (Some(true), _) => Cond::And(items),
            _ => Cond::Or(items),
        })
    }

    fn cond_operand(&mut self, allow_not: bool) -> Result<Cond, SoqlError> {
        if allow_not && self.is_kw("NOT") {
            self.bump();
            let inner = self.cond_operand(false)?;
            return Ok(Cond::Not(Box::new(inner)));
        }
        if self.peek().tok == Tok::LParen {
            self.bump();
            let c = self.condition()?;
            self.expect(Tok::RParen)?;
            return Ok(c);
        }
        self.simple().map(Cond::Simple)
    }

    fn operand(&mut self) -> Result<Operand, SoqlError> {
        let t = self.peek().clone();
        if t.tok != Tok::Word || self.is_reserved(&t) {
            return Err(self.unexpected());
        }
        if self.peek_at(1).tok == Tok::LParen {
            let name = self.text(&t).to_ascii_uppercase();
            self.bump();
            if name == "TOLABEL" {
                self.expect(Tok::LParen)?;
                let p = self.path()?;
                self.expect(Tok::RParen)?;
                return Ok(Operand::ToLabel(p));
            }
            return self.agg_call_after_name(&t, &name).map(Operand::Agg);
        }
        self.path().map(Operand::Field)
    }

    fn simple(&mut self) -> Result<Simple, SoqlError> {
        let lhs = self.operand()?;
        let t = self.peek().clone();
        let op = match t.tok {
            Tok::Op(op) => {
                self.bump();
                Op::Cmp(op, self.literal()?)
            }
            Tok::Word => {
                let w = self.text(&t).to_ascii_uppercase();
                match w.as_str() {
                    "LIKE" => {
                        self.bump();
                        Op::Like(self.literal()?)
                    }
                    "IN" => {
                        self.bump();
                        Op::In {
                            negated: false,
                            values: self.in_values()?,
                        }
                    }
                    "NOT" => {
                        self.bump();
                        self.expect_kw("IN")?;
                        Op::In {
                            negated: true,
                            values: self.in_values()?,
                        }
                    }
                    "INCLUDES" | "EXCLUDES" => {
                        self.bump();
                        self.expect(Tok::LParen)?;
                        let values = self.literal_list()?;
                        Op::Includes {
                            excludes: w == "EXCLUDES",
                            values,
                        }
                    }
                    _ => return Err(self.unexpected()),
                }
            }
            _ => return Err(self.unexpected()),
        };
        Ok(Simple { lhs, op })
    }

    fn in_values(&mut self) -> Result<InValues, SoqlError> {
        self.expect(Tok::LParen)?;
        if self.is_kw("SELECT") {
            let q = self.query()?;
            self.expect(Tok::RParen)?;
            return Ok(InValues::Subquery(Box::new(q)));
        }
        self.literal_list().map(InValues::List)
    }

    /// `lit, lit, …)` — the opening parenthesis already consumed.
    fn literal_list(&mut self) -> Result<Vec<Literal>, SoqlError> {
        let mut out = vec![self.literal()?];
        while self.peek().tok == Tok::Comma {
            self.bump();
            out.push(self.literal()?);
        }
        self.expect(Tok::RParen)?;
        Ok(out)
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let t = self.peek().clone();
        let pos = t.start;
        let kind = match &t.tok {
            Tok::Str(s) => LitKind::Str(s.clone()),
            Tok::Date(d) => LitKind::Date(*d),
            Tok::DateTime(ms) => LitKind::DateTime(*ms),
            Tok::Num => {
                let text = self.text(&t);
                match text.parse::<i64>() {
                    Ok(i) => LitKind::Int(i),
                    Err(_) => match text.parse::<f64>() {
                        Ok(f) if f.is_finite() => LitKind::Dec(f),
                        _ => return Err(self.unexpected()),
                    },
                }
            }
            Tok::Colon if self.peek_at(1).tok == Tok::Word => {
                return Err(SoqlError::malformed(
                    pos,
                    "Bind variables only allowed in Apex code",
                ))
            }
            Tok::Word => {
                let w = self.text(&t);
                match w.to_ascii_uppercase().as_str() {
                    "TRUE" => LitKind::Bool(true),
                    "FALSE" => LitKind::Bool(false),
                    "NULL" => LitKind::Null,
                    _ => match dates::lookup(w) {
                        Some(Arity::Fixed(d)) => LitKind::DateLiteral(d),
                        Some(arity) => {
                            self.bump();
                            if self.peek().tok != Tok::Colon {
                                let found = self.text(self.peek()).to_string();
                                return Err(SoqlError::malformed(
                                    self.peek().start,
                                    format!("expecting a colon, found '{found}'"),
                                ));
                            }
                            self.bump();
                            let n = self.count()?;
                            let n = u32::try_from(n.value).map_err(|_| {
                                SoqlError::malformed(
                                    n.pos,
                                    format!("unexpected token: {}", n.value),
                                )
                            })?;
                            return Ok(Literal {
                                kind: LitKind::DateLiteral(arity.with(n)),
                                pos,
                            });
                        }
                        None => return Err(self.unexpected()),
                    },
                }
            }
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok(Literal { kind, pos })
    }
}
