//! SOQL errors and Salesforce's "caret" rendering of them.
//!
//! Salesforce reports query errors as a message that quotes the offending line, draws a `^` under the
//! offending character and names the position:
//!
//! ```text
//! \nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: FORM
//! ```
//!
//! Clients show (and some parse) that text, so the simulator reproduces it. Two quirks are copied on
//! purpose: long lines are cut to a window that starts about 40 characters before the error (at a
//! token boundary), and errors raised by Salesforce's *lexer* ("no viable alternative at character")
//! report a zero-based column, while parser and validation errors report a one-based one.

use super::ast::Pos;
use crate::error::ApiError;

/// Which Salesforce errorCode an error carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    MalformedQuery,
    InvalidField,
    InvalidType,
    /// INVALID_QUERY_FILTER_OPERATOR, e.g. `invalid ID field: abc`.
    FilterOperator,
    /// NUMBER_OUTSIDE_VALID_RANGE (OFFSET above 2000).
    OutOfRange,
}

/// An error found while lexing, parsing or resolving a query; rendered against the query text by
/// [`SoqlError::into_api`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SoqlError {
    pub code: Code,
    /// Byte offset the caret points at; `None` renders the bare message.
    pub pos: Option<Pos>,
    pub message: String,
    /// A lexer error: the message is built from the zero-based column at render time.
    pub lexical: bool,
}

impl SoqlError {
    pub fn malformed(pos: Pos, message: impl Into<String>) -> Self {
        SoqlError {
            code: Code::MalformedQuery,
            pos: Some(pos),
            message: message.into(),
            lexical: false,
        }
    }

    pub fn at(code: Code, pos: Pos, message: impl Into<String>) -> Self {
        SoqlError {
            code,
            pos: Some(pos),
            message: message.into(),
            lexical: false,
        }
    }

    /// An error without the quoted query (Salesforce omits it for a few validation errors).
    pub fn bare(code: Code, message: impl Into<String>) -> Self {
        SoqlError {
            code,
            pos: None,
            message: message.into(),
            lexical: false,
        }
    }

    /// A character the lexer cannot start a token with (`"`, `#`, a lone `!`), or the end of input
    /// inside a token.
    pub fn lexical(pos: Pos) -> Self {
        SoqlError {
            code: Code::MalformedQuery,
            pos: Some(pos),
            message: String::new(),
            lexical: true,
        }
    }

    pub fn no_such_column(pos: Pos, field: &str, entity: &str) -> Self {
        Self::at(
            Code::InvalidField,
            pos,
            format!(
                "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    pub fn bad_relationship(pos: Pos, rel: &str) -> Self {
        Self::at(
            Code::InvalidField,
            pos,
            format!(
                "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    pub fn unknown_object(pos: Pos, name: &str) -> Self {
        Self::at(
            Code::InvalidType,
            pos,
            format!(
                "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    pub fn bad_child_relationship(pos: Pos, rel: &str) -> Self {
        Self::at(
            Code::InvalidType,
            pos,
            format!(
                "Didn't understand relationship '{rel}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    /// Render as the REST error Salesforce would send for query `src`.
    pub fn into_api(self, src: &str) -> ApiError {
        let message = match self.pos {
            None => self.message,
            Some(pos) => {
                let loc = locate(src, pos);
                if self.lexical {
                    let col0 = loc.col - 1;
                    let ch = match loc.ch {
                        Some(c) => c.to_string(),
                        None => "<EOF>".to_string(),
                    };
                    let msg = format!(
                        "line {}:{} no viable alternative at character '{}'",
                        loc.row, col0, ch
                    );
                    caret_text(&loc, col0, &msg)
                } else {
                    caret_text(&loc, loc.col, &self.message)
                }
            }
        };
        match self.code {
            Code::MalformedQuery => ApiError::MalformedQuery(message),
            Code::InvalidField => ApiError::InvalidField {
                message,
                fields: vec![],
            },
            Code::InvalidType => ApiError::InvalidType(message),
            Code::FilterOperator => {
                ApiError::custom(400, "INVALID_QUERY_FILTER_OPERATOR", &message)
            }
            Code::OutOfRange => ApiError::NumberOutsideRange {
                message,
                fields: vec![],
            },
        }
    }
}

/// Where a byte offset falls: its line (one-based row), one-based column in characters, the line's text
/// and the character there (`None` at the end of input).
struct Location<'a> {
    row: usize,
    col: usize,
    line: &'a str,
    ch: Option<char>,
}

fn locate(src: &str, pos: Pos) -> Location<'_> {
    let pos = floor_boundary(src, pos.min(src.len()));
    let before = src.get(..pos).unwrap_or("");
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = src
        .get(pos..)
        .and_then(|rest| rest.find('\n'))
        .map(|i| pos + i)
        .unwrap_or(src.len());
    let line = src.get(line_start..line_end).unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    let col = src
        .get(line_start..pos)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    let ch = src.get(pos..).and_then(|s| s.chars().next());
    Location { row, col, line, ch }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `\n<window>\n<spaces>^\nERROR at Row:r:Column:c\n<message>`. `shown_col` is the column printed
/// (zero-based for lexer errors, as Salesforce prints it); the caret always sits under the character.
fn caret_text(loc: &Location<'_>, shown_col: usize, message: &str) -> String {
    let chars: Vec<char> = loc.line.chars().collect();
    let start = window_start(&chars, loc.col);
    let window: String = chars.iter().skip(start).collect();
    let pad = " ".repeat(loc.col.saturating_sub(1).saturating_sub(start));
    format!(
        "\n{window}\n{pad}^\nERROR at Row:{}:Column:{shown_col}\n{message}",
        loc.row
    )
}

/// Zero-based index of the first character shown: the whole line when the error is within 40
/// characters of its start, otherwise the token boundary nearest 40 characters before the error.
fn window_start(chars: &[char], col: usize) -> usize {
    const BEFORE: usize = 40;
    if col <= BEFORE + 1 {
        return 0;
    }
    let mut i = (col - BEFORE - 1).min(chars.len());
    if chars.get(i).is_some_and(|c| c.is_whitespace()) {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
    } else {
        while i > 0 && chars.get(i - 1).is_some_and(|c| !c.is_whitespace()) {
            i -= 1;
        }
    }
    i.min(col - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(e: ApiError) -> String {
        e.to_string()
    }

    #[test]
    fn short_lines_are_quoted_whole() {
        let src = "SELECT Id FORM Account";
        let e = SoqlError::malformed(10, "unexpected token: FORM").into_api(src);
        assert_eq!(
            msg(e),
            "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: FORM"
        );
    }

    #[test]
    fn long_lines_start_at_a_token_near_forty_characters_before() {
        let src = "Select Id from Opportunity  where DAY_ONLY(CloseDate) < 2016-07-31T04:17:54";
        let e = SoqlError::lexical(src.len()).into_api(src);
        assert_eq!(
            msg(e),
            "\nDAY_ONLY(CloseDate) < 2016-07-31T04:17:54\n                                         ^\nERROR at Row:1:Column:75\nline 1:75 no viable alternative at character '<EOF>'"
        );
    }

    #[test]
    fn rows_count_lines() {
        let src = "SELECT Id\nFROM Foo";
        let e = SoqlError::unknown_object(15, "Foo").into_api(src);
        assert!(msg(e).starts_with("\nFROM Foo\n     ^\nERROR at Row:2:Column:6\n"));
    }
}
