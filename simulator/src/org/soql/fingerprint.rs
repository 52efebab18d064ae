//! Query fingerprints for the journal: the shape of a query without its values.
//!
//! Keywords are upper-cased, whitespace is collapsed to canonical spacing, and every literal
//! (strings, numbers, dates, datetimes, `TRUE`/`FALSE`, relative date literals such as
//! `LAST_N_DAYS:7`, bind variables) becomes `?`. A parenthesised list made only of literals collapses
//! to one `?`, so fetching 3 ids or 30 ids by `Id IN (…)` is one shape. The anti-pattern scorer relies
//! on this to see that a worker polling `WHERE SystemModstamp > <timestamp>` every few seconds sends
//! the same query over and over.
//!
//! It works on any input, valid SOQL or not, and never fails: unknown characters are kept as they are.

use super::dates;

const KEYWORDS: &[&str] = &[
    "ABOVE",
    "ABOVE_OR_BELOW",
    "AND",
    "AS",
    "ASC",
    "AT",
    "AVG",
    "BELOW",
    "BY",
    "CATEGORY",
    "COUNT",
    "COUNT_DISTINCT",
    "CUBE",
    "DATA",
    "DESC",
    "ELSE",
    "END",
    "EXCLUDES",
    "FIELDS",
    "FIRST",
    "FOR",
    "FORMAT",
    "FROM",
    "GROUP",
    "HAVING",
    "IN",
    "INCLUDES",
    "LAST",
    "LIKE",
    "LIMIT",
    "MAX",
    "MIN",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "OR",
    "ORDER",
    "REFERENCE",
    "ROLLUP",
    "SCOPE",
    "SECURITY_ENFORCED",
    "SELECT",
    "SUM",
    "SYSTEM_MODE",
    "THEN",
    "TRACKING",
    "TYPEOF",
    "UPDATE",
    "USER_MODE",
    "USING",
    "VIEW",
    "VIEWSTAT",
    "WHEN",
    "WHERE",
    "WITH",
];

/// The normalised text of `soql`.
pub fn fingerprint(soql: &str) -> String {
    let chars: Vec<char> = soql.chars().collect();
    let mut toks: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            push_literal(&mut toks);
            continue;
        }
        let signed_number = (c == '-' || c == '+')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            && toks.last().is_none_or(|t| !is_value_end(t));
        if c.is_ascii_digit() || signed_number {
            i += 1;
            while i < chars.len() && is_literal_char(chars[i]) {
                i += 1;
            }
            push_literal(&mut toks);
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let upper = word.to_ascii_uppercase();
            if upper == "TRUE" || upper == "FALSE" {
                push_literal(&mut toks);
            } else if dates::lookup(&word).is_some() {
                // `LAST_N_DAYS:7` — the count is part of the literal.
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if chars.get(j) == Some(&':') {
                    j += 1;
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                }
                push_literal(&mut toks);
            } else if KEYWORDS.contains(&upper.as_str()) {
                toks.push(upper);
            } else {
                toks.push(word);
            }
            continue;
        }
        if c == ':'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphabetic() || *n == '_')
        {
            // A bind variable stands for a value.
            i += 1;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            push_literal(&mut toks);
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if ["!=", "<>", "<=", ">="].contains(&two.as_str()) {
            toks.push(two);
            i += 2;
            continue;
        }
        i += 1;
        if c == ')' {
            collapse_list(&mut toks);
        }
        toks.push(c.to_string());
    }
    join(&toks)
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '-' | '+' | ':' | '.' | 'T' | 'Z' | 'z')
}

/// Whether a token can end a value, so a following `-5` would be arithmetic-looking text rather
/// than a signed literal (SOQL has no arithmetic; this only keeps odd input stable).
fn is_value_end(t: &str) -> bool {
    t == "?"
        || t == ")"
        || t.chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn push_literal(toks: &mut Vec<String>) {
    toks.push("?".to_string());
}

/// `( ? , ? , ? )` → `( ?` (the caller pushes the `)`).
fn collapse_list(toks: &mut Vec<String>) {
    let Some(open) = toks.iter().rposition(|t| t == "(") else {
        return;
    };
    let inner = &toks[open + 1..];
    let only_literals = !inner.is_empty()
        && inner
            .iter()
            .enumerate()
            .all(|(k, t)| if k % 2 == 0 { t == "?" } else { t == "," });
    if only_literals && inner.len() % 2 == 1 {
        toks.truncate(open + 2);
    }
}

/// A word directly followed by its argument list: functions (`COUNT(`, `toLabel(`), not keywords
/// such as `IN (`.
fn is_call_name(t: &str) -> bool {
    const CALLS: &[&str] = &[
        "AVG",
        "COUNT",
        "COUNT_DISTINCT",
        "FIELDS",
        "FORMAT",
        "MAX",
        "MIN",
        "SUM",
    ];
    let word = t
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    word && t != "?" && (CALLS.contains(&t) || !KEYWORDS.contains(&t))
}

/// Tokens with canonical spacing: `SELECT Id, Name FROM Account WHERE Id IN (?)`.
fn join(toks: &[String]) -> String {
    let mut out = String::new();
    let mut prev: Option<&str> = None;
    for t in toks {
        let tight = match prev {
            None | Some("(") => true,
            Some(p) if t == "(" => is_call_name(p),
            Some(_) => t == ")" || t == ",",
        };
        if !tight {
            out.push(' ');
        }
        out.push_str(t);
        prev = Some(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            fingerprint("select id,name from account where SystemModstamp > 2024-01-01T00:00:00Z and Name = 'O\\'Brien' limit 200"),
            "SELECT id, name FROM account WHERE SystemModstamp > ? AND Name = ? LIMIT ?"
        );
        assert_eq!(
            fingerprint("SELECT Id FROM Contact WHERE Id IN ('003A', '003B',  '003C') AND CreatedDate = LAST_N_DAYS : 7"),
            "SELECT Id FROM Contact WHERE Id IN (?) AND CreatedDate = ?"
        );
        assert_eq!(
            fingerprint("SELECT COUNT() FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE IsDeleted = false)"),
            "SELECT COUNT() FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE IsDeleted = ?)"
        );
    }

    #[test]
    fn odd_input_is_kept() {
        assert_eq!(fingerprint(""), "");
        assert_eq!(fingerprint("  'unterminated"), "?");
        assert_eq!(fingerprint("a # b"), "a # b");
    }
}
