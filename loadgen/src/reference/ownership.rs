//! Who owns which field, as configuration tells the integration — the cure for the `data-ownership`
//! anti-pattern is knowing which fields are yours.
//!
//! Two environment variables, each a comma-separated list of `Object.Field` (the harness fills them
//! from the scenario's `[ownership]` table):
//!
//! * `SFCHAOS_OWNED_FIELDS` — fields the integration owns (`[ownership]` entries whose owner is
//!   `"integration"`);
//! * `SFCHAOS_FOREIGN_FIELDS` — fields someone else owns (every other `[ownership]` entry).
//!
//! Every field an event carries falls in one class ([`FieldClass`]):
//!
//! | class | when | how the resilient profile writes it |
//! |---|---|---|
//! | owned | listed in `SFCHAOS_OWNED_FIELDS`, or the object has no owned fields listed at all | upsert, unconditionally: the integration is the system of record |
//! | foreign | listed in `SFCHAOS_FOREIGN_FIELDS` | never |
//! | shared | the object has owned fields listed, and this one is in neither list | conditionally: only if nobody changed the record after the event happened (`If-Match`) |
//!
//! "No owned fields listed for the object" means nobody told the integration otherwise, so it owns
//! what its events carry — the common case of an integration that is the only writer.
//! Names compare case-insensitively, as Salesforce's do.

use std::collections::{HashMap, HashSet};

/// The ownership class of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldClass {
    Owned,
    Foreign,
    Shared,
}

/// Owned and foreign fields per object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldOwnership {
    owned: HashMap<String, HashSet<String>>,
    foreign: HashMap<String, HashSet<String>>,
}

impl FieldOwnership {
    /// Parse the two lists. `Err` names the malformed entry.
    pub fn parse(owned: &str, foreign: &str) -> Result<Self, String> {
        Ok(Self {
            owned: parse_list(owned)?,
            foreign: parse_list(foreign)?,
        })
    }

    /// The class of `object.field`.
    pub fn classify(&self, object: &str, field: &str) -> FieldClass {
        let (object, field) = (object.to_ascii_lowercase(), field.to_ascii_lowercase());
        if self
            .foreign
            .get(&object)
            .is_some_and(|f| f.contains(&field))
        {
            return FieldClass::Foreign;
        }
        match self.owned.get(&object) {
            Some(owned) if owned.contains(&field) => FieldClass::Owned,
            Some(_) => FieldClass::Shared,
            None => FieldClass::Owned,
        }
    }

    /// Whether any ownership was configured.
    pub fn is_empty(&self) -> bool {
        self.owned.is_empty() && self.foreign.is_empty()
    }
}

fn parse_list(text: &str) -> Result<HashMap<String, HashSet<String>>, String> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (object, field) = entry
            .split_once('.')
            .filter(|(o, f)| !o.is_empty() && !f.is_empty() && !f.contains('.'))
            .ok_or_else(|| format!("\"{entry}\" is not Object.Field"))?;
        out.entry(object.to_ascii_lowercase())
            .or_default()
            .insert(field.to_ascii_lowercase());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let o = FieldOwnership::parse(
            "Account.Credit_Limit__c, Account.Region__c",
            "Account.Phone",
        )
        .unwrap();
        assert_eq!(o.classify("Account", "credit_limit__c"), FieldClass::Owned);
        assert_eq!(o.classify("account", "Phone"), FieldClass::Foreign);
        assert_eq!(o.classify("Account", "Website"), FieldClass::Shared);
        assert_eq!(o.classify("Contact", "Email"), FieldClass::Owned);
        assert!(FieldOwnership::parse("", "").unwrap().is_empty());
    }

    #[test]
    fn malformed_entries_are_named() {
        let e = FieldOwnership::parse("Account", "").unwrap_err();
        assert!(e.contains("\"Account\""), "{e}");
        assert!(FieldOwnership::parse("Account.", "").is_err());
        assert!(FieldOwnership::parse("", "A.b.c").is_err());
    }
}
