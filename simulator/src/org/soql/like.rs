//! SOQL `LIKE`: `%` matches any run of characters, `_` exactly one, `\%` and `\_` themselves; the
//! match is case-insensitive and anchored at both ends.
//!
//! Full scans with LIKE run over every row of large tables, so matching works on bytes (no
//! allocation) whenever pattern and value are ASCII, falling back to case-folded characters
//! otherwise.

use super::ast::StrLit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item<T> {
    Any,
    One,
    Lit(T),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LikePattern {
    chars: Vec<Item<char>>,
    /// The same pattern on ASCII bytes, when it is all ASCII.
    bytes: Option<Vec<Item<u8>>>,
}

fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

impl LikePattern {
    pub fn new(lit: &StrLit) -> LikePattern {
        let mut chars: Vec<Item<char>> = Vec::with_capacity(lit.value.len());
        for (i, c) in lit.value.chars().enumerate() {
            let escaped = lit.escaped_wildcards.contains(&i);
            let item = match c {
                '%' if !escaped => Item::Any,
                '_' if !escaped => Item::One,
                c => Item::Lit(fold(c)),
            };
            // Consecutive `%` behave as one; collapsing keeps the matcher's backtracking short.
            if !(item == Item::Any && chars.last() == Some(&Item::Any)) {
                chars.push(item);
            }
        }
        let bytes = chars
            .iter()
            .map(|i| match i {
                Item::Any => Some(Item::Any),
                Item::One => Some(Item::One),
                Item::Lit(c) if c.is_ascii() => Some(Item::Lit(*c as u8)),
                Item::Lit(_) => None,
            })
            .collect();
        LikePattern { chars, bytes }
    }

    pub fn matches(&self, s: &str) -> bool {
        match &self.bytes {
            Some(p) if s.is_ascii() => glob(p, s.as_bytes(), |b| b.to_ascii_lowercase()),
            _ => {
                let v: Vec<char> = s.chars().collect();
                glob(&self.chars, &v, fold)
            }
        }
    }
}

/// Wildcard matching with single-star backtracking: linear for the usual `abc%`, `%abc%` shapes.
fn glob<T: Copy + PartialEq>(p: &[Item<T>], s: &[T], fold: impl Fn(T) -> T) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(Item::Lit(c)) if *c == fold(s[si]) => {
                pi += 1;
                si += 1;
            }
            Some(Item::One) => {
                pi += 1;
                si += 1;
            }
            Some(Item::Any) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&Item::Any) {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str, esc: &[usize]) -> LikePattern {
        LikePattern::new(&StrLit {
            value: s.into(),
            escaped_wildcards: esc.to_vec(),
        })
    }

    #[test]
    fn wildcards_and_case() {
        assert!(pat("acme%", &[]).matches("ACME Corp"));
        assert!(pat("%corp", &[]).matches("Acme CORP"));
        assert!(pat("%me c%", &[]).matches("Acme Corp"));
        assert!(pat("a_me", &[]).matches("Acme"));
        assert!(!pat("a_me", &[]).matches("Acmme"));
        assert!(pat("%", &[]).matches(""));
        assert!(!pat("acme", &[]).matches("acme corp"));
        assert!(pat("ÉCOLE%", &[]).matches("école du nord"));
        assert!(pat("%a%b%c%", &[]).matches("xxaxxbxxcxx"));
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        let p = pat("50%%", &[2]);
        assert!(p.matches("50% off"));
        assert!(!p.matches("500 off"));
        assert!(pat("a_b", &[1]).matches("A_B"));
        assert!(!pat("a_b", &[1]).matches("axb"));
    }
}
