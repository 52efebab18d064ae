//! Route patterns: `scope.route = "/services/data/*/sobjects/Account"`.
//!
//! `*` matches any characters within one path segment, `**` any characters across segments.
//! A pattern matches a request path if it matches the whole path or a leading run of whole
//! segments of it, so `/services/data/*/composite` also covers
//! `/services/data/v62.0/composite/sobjects`: patterns work as prefixes, which is what people
//! mean when they scope a fault to "the composite API". Query strings are never part of the path.
//!
//! Matching is a dynamic program over pattern × path (no backtracking), so a pattern posted to
//! the admin API cannot make matching slow.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// `*`: any run of bytes without `/`.
    Star,
    /// `**`: any run of bytes.
    DoubleStar,
}

/// A compiled route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    text: String,
    tokens: Vec<Token>,
    /// The pattern as whole segments, when every `*` is a segment of its own and there is no `**`
    /// (the common case, `/services/data/*/sobjects/Account`): matched segment by segment, without
    /// the dynamic program, because every request is matched against every rule's route.
    segments: Option<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*` alone: any one segment.
    Any,
}

/// Longer patterns are certainly mistakes, and the bound keeps matching cheap.
const MAX_PATTERN_LEN: usize = 512;

impl RoutePattern {
    /// Compiles a pattern. It must start with `/`; `***` is rejected as a likely typo.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err(format!(
                "must start with \"/\", e.g. \"/services/data/*/sobjects/Account\"; got \"{text}\""
            ));
        }
        if text.len() > MAX_PATTERN_LEN {
            return Err(format!("longer than {MAX_PATTERN_LEN} characters"));
        }
        if text.contains("***") {
            return Err(format!(
                "\"***\" is not a wildcard; use \"*\" or \"**\" in \"{text}\""
            ));
        }
        if text.contains('?') {
            return Err("query strings are not matched; remove the \"?…\" part".to_string());
        }
        let bytes = text.as_bytes();
        let mut tokens = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'*' {
                if bytes.get(i + 1) == Some(&b'*') {
                    tokens.push(Token::DoubleStar);
                    i += 2;
                } else {
                    tokens.push(Token::Star);
                    i += 1;
                }
            } else {
                tokens.push(Token::Byte(bytes[i]));
                i += 1;
            }
        }
        let segments = text[1..]
            .split('/')
            .map(|seg| match seg {
                "*" => Some(Segment::Any),
                s if s.contains('*') => None,
                s => Some(Segment::Literal(s.to_string())),
            })
            .collect();
        Ok(Self {
            text: text.to_string(),
            tokens,
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern matches `path` or a leading run of its segments.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or(path);
        // Every match starts with the literal text before the first wildcard: most requests a
        // rule does not concern are rejected here, without the dynamic program.
        let literal = self.literal_prefix();
        if !path.starts_with(literal) {
            return false;
        }
        if literal.len() == self.text.len() {
            return path.len() == literal.len() || path.as_bytes()[literal.len()] == b'/';
        }
        if let Some(segments) = &self.segments {
            let mut parts = path[1..].split('/');
            return segments.iter().all(|seg| match (seg, parts.next()) {
                (Segment::Any, Some(_)) => true,
                (Segment::Literal(l), Some(p)) => l == p,
                (_, None) => false,
            });
        }
        let path = path.as_bytes();
        let prefixes = matching_prefixes(&self.tokens, path);
        (0..=path.len()).any(|end| prefixes[end] && (end == path.len() || path[end] == b'/'))
    }

    /// Conservative overlap test for contradiction checks: `false` only when the literal
    /// prefixes before the first wildcard prove the two patterns disjoint.
    pub fn may_overlap(&self, other: &RoutePattern) -> bool {
        let mine = self.literal_prefix();
        let theirs = other.literal_prefix();
        mine.starts_with(theirs) || theirs.starts_with(mine)
    }

    fn literal_prefix(&self) -> &str {
        match self.text.find('*') {
            Some(i) => &self.text[..i],
            None => &self.text,
        }
    }
}

/// `result[j]` is true when the whole pattern matches `path[..j]`.
fn matching_prefixes(tokens: &[Token], path: &[u8]) -> Vec<bool> {
    // row[j]: the tokens consumed so far match path[..j].
    let mut row = vec![false; path.len() + 1];
    row[0] = true;
    let mut next = vec![false; path.len() + 1];
    for token in tokens {
        next.fill(false);
        match token {
            Token::Byte(b) => {
                for j in 0..path.len() {
                    next[j + 1] = row[j] && path[j] == *b;
                }
            }
            Token::Star => {
                for j in 0..=path.len() {
                    next[j] = row[j] || (j > 0 && next[j - 1] && path[j - 1] != b'/');
                }
            }
            Token::DoubleStar => {
                for j in 0..=path.len() {
                    next[j] = row[j] || (j > 0 && next[j - 1]);
                }
            }
        }
        std::mem::swap(&mut row, &mut next);
    }
    row
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for RoutePattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> RoutePattern {
        RoutePattern::parse(text).unwrap()
    }

    #[test]
    fn literal_patterns_match_as_segment_prefixes() {
        let composite = pattern("/services/data/v62.0/composite");
        assert!(composite.matches("/services/data/v62.0/composite"));
        assert!(composite.matches("/services/data/v62.0/composite/sobjects"));
        assert!(composite.matches("/services/data/v62.0/composite?x=1"));
        assert!(!composite.matches("/services/data/v62.0/compositex"));
        assert!(!composite.matches("/services/data/v62.0"));
    }

    #[test]
    fn star_stays_within_a_segment() {
        let account = pattern("/services/data/*/sobjects/Account");
        assert!(account.matches("/services/data/v62.0/sobjects/Account"));
        assert!(account.matches("/services/data/v62.0/sobjects/Account/001000000000001"));
        assert!(!account.matches("/services/data/v62.0/x/sobjects/Account"));
        let any = pattern("/services/**/Account");
        assert!(any.matches("/services/data/v62.0/sobjects/Account"));
    }

    #[test]
    fn segment_patterns_match_as_the_general_matcher_does() {
        let patterns = [
            "/services/data/*/sobjects/Account",
            "/services/data/*/composite",
            "/services/*/*",
            "/services/",
            "/a/*/",
            "/services/data/v*/query",
            "/services/**/Account",
        ];
        let paths = [
            "/services/data/v62.0/sobjects/Account",
            "/services/data/v62.0/sobjects/Account/001000000000001",
            "/services/data/v62.0/sobjects/Accounts",
            "/services/data/v62.0/composite/sobjects",
            "/services/data/v62.0/compositex",
            "/services/data/v62.0/query",
            "/services/data",
            "/services/",
            "/services",
            "/a//",
            "/a/b/",
            "/a/b/c",
            "/",
        ];
        for p in patterns {
            let pattern = pattern(p);
            let general = |path: &str| {
                let bytes = path.as_bytes();
                let prefixes = matching_prefixes(&pattern.tokens, bytes);
                (0..=bytes.len())
                    .any(|end| prefixes[end] && (end == bytes.len() || bytes[end] == b'/'))
            };
            for path in paths {
                assert_eq!(pattern.matches(path), general(path), "{p} on {path}");
            }
        }
    }

    #[test]
    fn rejects_bad_patterns() {
        assert!(RoutePattern::parse("services/data").is_err());
        assert!(RoutePattern::parse("/a/***").is_err());
        assert!(RoutePattern::parse("/a?b=c").is_err());
    }

    #[test]
    fn overlap_uses_literal_prefixes() {
        let bulk = pattern("/services/data/*/jobs/ingest");
        let rest = pattern("/services/data/v62.0/sobjects");
        let oauth = pattern("/services/oauth2/token");
        assert!(bulk.may_overlap(&rest), "both start with /services/data/");
        assert!(!oauth.may_overlap(&rest));
    }
}
