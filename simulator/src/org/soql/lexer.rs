//! Tokens of SOQL.
//!
//! Dotted names (`Account.Owner.Name`) are one token, because every error about them points at the
//! start of the whole path. Date and datetime literals are recognised here (they are unquoted in
//! SOQL), and a malformed one is a *lexer* error, which Salesforce words differently from parser
//! errors ("no viable alternative at character …").

use super::ast::{CmpOp, Pos, StrLit};
use super::errors::{Code, SoqlError};
use crate::org::value;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Identifier or keyword, possibly dotted; its text is the source slice.
    Word,
    Str(StrLit),
    /// Integer or decimal; its text is the source slice.
    Num,
    Date(i32),
    DateTime(i64),
    LParen,
    RParen,
    Comma,
    Colon,
    Op(CmpOp),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: Pos,
    pub end: Pos,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.start..self.end).unwrap_or("")
    }
}

/// Split `src` into tokens, ending with [`Tok::Eof`] at `src.len()`.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, SoqlError> {
    let mut lx = Lexer { src, i: 0 };
    let mut out = Vec::new();
    loop {
        lx.skip_ws();
        let start = lx.i;
        let Some(c) = lx.peek() else {
            out.push(Token {
                tok: Tok::Eof,
                start,
                end: start,
            });
            return Ok(out);
        };
        let tok = match c {
            '(' => lx.single(Tok::LParen),
            ')' => lx.single(Tok::RParen),
            ',' => lx.single(Tok::Comma),
            ':' => lx.single(Tok::Colon),
            '=' => lx.single(Tok::Op(CmpOp::Eq)),
            '!' => {
                lx.bump();
                if lx.eat('=') {
                    Tok::Op(CmpOp::Ne)
                } else {
                    return Err(SoqlError::lexical(start));
                }
            }
            '<' => {
                lx.bump();
                if lx.eat('=') {
                    Tok::Op(CmpOp::Le)
                } else if lx.eat('>') {
                    Tok::Op(CmpOp::Ne)
                } else {
                    Tok::Op(CmpOp::Lt)
                }
            }
            '>' => {
                lx.bump();
                if lx.eat('=') {
                    Tok::Op(CmpOp::Ge)
                } else {
                    Tok::Op(CmpOp::Gt)
                }
            }
            '\'' => lx.string()?,
            c if c.is_ascii_alphabetic() || c == '_' => lx.word(),
            c if c.is_ascii_digit() => lx.number()?,
            '-' | '+' if lx.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => {
                lx.bump();
                lx.number()?
            }
            _ => return Err(SoqlError::lexical(start)),
        };
        out.push(Token {
            tok,
            start,
            end: lx.i,
        });
    }
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte offset, always on a character boundary.
    i: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.i..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, want: char) -> bool {
        if self.peek() == Some(want) {
            self.i += want.len_utf8();
            true
        } else {
            false
        }
    }

    fn single(&mut self, t: Tok) -> Tok {
        self.bump();
        t
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn digits(&mut self) -> usize {
        let mut n = 0;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            n += 1;
        }
        n
    }

    /// Exactly `n` digits, or a lexer error at the first character that is not one.
    fn expect_digits(&mut self, n: usize) -> Result<(), SoqlError> {
        for _ in 0..n {
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(SoqlError::lexical(self.i));
            }
            self.bump();
        }
        Ok(())
    }

    fn expect_char(&mut self, want: char) -> Result<(), SoqlError> {
        if self.eat(want) {
            Ok(())
        } else {
            Err(SoqlError::lexical(self.i))
        }
    }

    fn word(&mut self) -> Tok {
        loop {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.bump();
            }
            let continues = self.peek() == Some('.')
                && self
                    .peek_at(1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if !continues {
                return Tok::Word;
            }
            self.bump();
        }
    }

    /// Integer, decimal, `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.SSS](Z|±hh:mm)`. A sign, if any, has
    /// been consumed by the caller.
    fn number(&mut self) -> Result<Tok, SoqlError> {
        let start = self.i;
        let signed =
            start > 0 && matches!(self.src.as_bytes().get(start - 1), Some(b'-') | Some(b'+'));
        let n = self.digits();
        let date_shaped = !signed
            && n == 4
            && self.peek() == Some('-')
            && self.peek_at(1).is_some_and(|c| c.is_ascii_digit());
        if date_shaped {
            return self.date(start);
        }
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            self.digits();
        }
        Ok(Tok::Num)
    }

    fn date(&mut self, start: usize) -> Result<Tok, SoqlError> {
        self.expect_char('-')?;
        self.expect_digits(2)?;
        self.expect_char('-')?;
        self.expect_digits(2)?;
        let invalid =
            |s: &str| SoqlError::at(Code::MalformedQuery, start, format!("invalid date: {s}"));
        if self.peek() != Some('T') {
            let text = self.src.get(start..self.i).unwrap_or("");
            return value::parse_date(text)
                .map(Tok::Date)
                .ok_or_else(|| invalid(text));
        }
        self.bump();
        self.expect_digits(2)?;
        self.expect_char(':')?;
        self.expect_digits(2)?;
        self.expect_char(':')?;
        self.expect_digits(2)?;
        if self.eat('.') && self.digits() == 0 {
            return Err(SoqlError::lexical(self.i));
        }
        match self.peek() {
            Some('Z') | Some('z') => {
                self.bump();
            }
            Some('+') | Some('-') => {
                self.bump();
                self.expect_digits(2)?;
                self.eat(':');
                self.expect_digits(2)?;
            }
            _ => return Err(SoqlError::lexical(self.i)),
        }
        let text = self.src.get(start..self.i).unwrap_or("");
        value::parse_datetime(text)
            .map(Tok::DateTime)
            .ok_or_else(|| invalid(text))
    }

    /// `'…'` with SOQL's escapes: `\' \" \\ \n \r \t \b \f \uXXXX`, and `\% \_` (literal wildcards
    /// for LIKE).
    fn string(&mut self) -> Result<Tok, SoqlError> {
        let start = self.i;
        self.bump();
        let mut lit = StrLit::default();
        let mut count = 0usize;
        loop {
            let Some(c) = self.bump() else {
                return Err(SoqlError::lexical(start));
            };
            let ch = match c {
                '\'' => return Ok(Tok::Str(lit)),
                '\\' => {
                    let esc_at = self.i;
                    let Some(e) = self.bump() else {
                        return Err(SoqlError::lexical(start));
                    };
                    match e {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        '\'' | '"' | '\\' => e,
                        '%' | '_' => {
                            lit.escaped_wildcards.push(count);
                            e
                        }
                        'u' => {
                            let hex: String = self.rest().chars().take(4).collect();
                            let cp = (hex.len() == 4)
                                .then(|| u32::from_str_radix(&hex, 16).ok())
                                .flatten()
                                .and_then(char::from_u32);
                            match cp {
                                Some(ch) => {
                                    self.i += 4;
                                    ch
                                }
                                None => return Err(self.bad_escape(start, esc_at)),
                            }
                        }
                        _ => return Err(self.bad_escape(start, esc_at)),
                    }
                }
                c => c,
            };
            lit.value.push(ch);
            count += 1;
        }
    }

    fn bad_escape(&self, start: usize, esc_at: usize) -> SoqlError {
        let seq: String = self
            .src
            .get(esc_at.saturating_sub(1)..)
            .unwrap_or("")
            .chars()
            .take(2)
            .collect();
        let text: String = self
            .src
            .get(start..)
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        let text = match text.get(1..).and_then(|t| t.find('\'')) {
            Some(end) => text.get(..end + 2).unwrap_or(&text).to_string(),
            None => text,
        };
        SoqlError::malformed(
            start,
            format!(
                "Invalid string literal {text}. Illegal character sequence '{seq}' in string literal."
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn paths_literals_and_operators() {
        let src = "SELECT Account.Name FROM Contact WHERE x <> 'a\\'b' AND d >= 2024-01-02T03:04:05.678+01:00";
        let toks = tokenize(src).unwrap();
        assert_eq!(toks[1].text(src), "Account.Name");
        assert_eq!(toks[6].tok, Tok::Op(CmpOp::Ne));
        assert_eq!(
            toks[7].tok,
            Tok::Str(StrLit {
                value: "a'b".into(),
                escaped_wildcards: vec![]
            })
        );
        let dt = value::parse_datetime("2024-01-02T02:04:05.678Z").unwrap();
        assert_eq!(toks[11].tok, Tok::DateTime(dt));
        assert_eq!(kinds("-5 2024-01-01")[..2], [Tok::Num, Tok::Date(19723)]);
    }

    #[test]
    fn escaped_wildcards_are_remembered() {
        let Tok::Str(s) = &kinds(r"'50\%\_x'")[0] else {
            panic!()
        };
        assert_eq!(s.value, "50%_x");
        assert_eq!(s.escaped_wildcards, vec![2, 3]);
    }

    #[test]
    fn datetime_without_offset_is_a_lexer_error() {
        let e = tokenize("x < 2016-07-31T04:17:54").unwrap_err();
        assert!(e.lexical);
        assert_eq!(e.pos, Some(23));
        assert!(tokenize("a \"b\"").unwrap_err().lexical);
        assert!(!tokenize(r"'\q'").unwrap_err().lexical);
    }
}
