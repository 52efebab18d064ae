//! `@{ref.field}` references between `/composite` subrequests.
//!
//! A later subrequest names a value of an earlier one's response body — `@{refAcc.id}` (from a
//! create), `@{refGet.Name}`, `@{refQuery.records[0].Id}` — in its URL or anywhere in its body. Paths
//! are case-sensitive, as in Salesforce. A string that is exactly one reference takes the value's
//! JSON type (a number stays a number); references inside a longer string are spliced in as text.

use serde_json::Value as Json;
use std::collections::HashMap;

/// Response bodies of earlier subrequests, by referenceId (`None`: that subrequest failed).
#[derive(Debug, Default)]
pub struct Refs {
    bodies: HashMap<String, Option<Json>>,
}

/// A reference that named no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// `refAcc`
    pub reference: String,
    /// `refAcc.id`
    pub expression: String,
}

impl Unresolved {
    /// The PROCESSING_HALTED message a dependent subrequest answers with.
    pub fn message(&self) -> String {
        format!(
            "Invalid reference specified. No value for {} found in {}. Provided referenceId ('{}') must be a valid referenceId in a previous subrequest.",
            self.expression, self.reference, self.reference
        )
    }
}

impl Refs {
    /// Record the outcome of subrequest `reference_id`.
    pub fn insert(&mut self, reference_id: &str, body: Option<Json>) {
        self.bodies.insert(reference_id.to_string(), body);
    }

    /// Replace every reference in `s`.
    pub fn resolve_str(&self, s: &str) -> Result<Json, Unresolved> {
        if !s.contains("@{") {
            return Ok(Json::String(s.to_string()));
        }
        let trimmed = s.trim();
        if let Some(expr) = trimmed
            .strip_prefix("@{")
            .and_then(|r| r.strip_suffix('}'))
            .filter(|e| !e.contains('}') && !e.contains("@{"))
        {
            return self.lookup(expr);
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("@{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let v = self.lookup(&after[..end])?;
            match v {
                Json::String(t) => out.push_str(&t),
                other => out.push_str(&other.to_string()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Json::String(out))
    }

    /// Replace references in every string of a JSON body.
    pub fn resolve_json(&self, v: &Json) -> Result<Json, Unresolved> {
        Ok(match v {
            Json::String(s) => self.resolve_str(s)?,
            Json::Array(a) => Json::Array(
                a.iter()
                    .map(|x| self.resolve_json(x))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(m) => {
                let mut out = serde_json::Map::with_capacity(m.len());
                for (k, x) in m {
                    out.insert(k.clone(), self.resolve_json(x)?);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluate `ref.path` (`records[0].Id`, `id`, `Account.Name`).
    fn lookup(&self, expr: &str) -> Result<Json, Unresolved> {
        let name_end = expr.find(['.', '[']).unwrap_or(expr.len());
        let reference = &expr[..name_end];
        let missing = || Unresolved {
            reference: reference.to_string(),
            expression: expr.to_string(),
        };
        let mut cur = self
            .bodies
            .get(reference)
            .and_then(|b| b.as_ref())
            .ok_or_else(missing)?;
        let mut path = &expr[name_end..];
        while !path.is_empty() {
            if let Some(rest) = path.strip_prefix('[') {
                let close = rest.find(']').ok_or_else(missing)?;
                let idx: usize = rest[..close].trim().parse().map_err(|_| missing())?;
                cur = cur.get(idx).ok_or_else(missing)?;
                path = &rest[close + 1..];
            } else if let Some(rest) = path.strip_prefix('.') {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                cur = cur.get(&rest[..end]).ok_or_else(missing)?;
                path = &rest[end..];
            } else {
                return Err(missing());
            }
        }
        if cur.is_null() {
            return Err(missing());
        }
        Ok(cur.clone())
    }
}

/// Salesforce's rule for referenceIds (v52+): letters, digits and `_`, starting with a letter or digit.
pub fn valid_reference_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refs() -> Refs {
        let mut r = Refs::default();
        r.insert(
            "refAcc",
            Some(json!({"id": "001A", "success": true, "errors": []})),
        );
        r.insert(
            "q",
            Some(json!({"totalSize": 1, "records": [{"Id": "003B", "NumberOfEmployees": 12}]})),
        );
        r.insert("bad", None);
        r
    }

    #[test]
    fn references_resolve_in_text_and_keep_types_when_alone() {
        let r = refs();
        assert_eq!(
            r.resolve_str("/services/data/v62.0/sobjects/Account/@{refAcc.id}")
                .unwrap(),
            json!("/services/data/v62.0/sobjects/Account/001A")
        );
        assert_eq!(
            r.resolve_str("@{q.records[0].NumberOfEmployees}").unwrap(),
            json!(12)
        );
        assert_eq!(
            r.resolve_json(&json!({"AccountId": "@{refAcc.id}", "n": ["x@{q.records[0].Id}"]}))
                .unwrap(),
            json!({"AccountId": "001A", "n": ["x003B"]})
        );
    }

    #[test]
    fn a_failed_or_unknown_reference_names_itself() {
        let r = refs();
        let e = r.resolve_str("@{bad.id}").unwrap_err();
        assert_eq!(e.reference, "bad");
        assert_eq!(e.expression, "bad.id");
        assert!(e
            .message()
            .starts_with("Invalid reference specified. No value for bad.id found in bad."));
        assert!(
            r.resolve_str("@{refAcc.Id}").is_err(),
            "paths are case-sensitive"
        );
        assert!(r.resolve_str("@{nope.id}").is_err());
        assert!(r.resolve_str("@{q.records[3].Id}").is_err());
    }

    #[test]
    fn reference_ids_follow_the_v52_rule() {
        assert!(valid_reference_id("refAcc_1"));
        assert!(valid_reference_id("1ref"));
        assert!(!valid_reference_id("_ref"));
        assert!(!valid_reference_id("ref-1"));
        assert!(!valid_reference_id(""));
    }
}
