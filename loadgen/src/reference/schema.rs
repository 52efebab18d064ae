//! What the integration believes the org's schema is.
//!
//! * `schema_assumptions` **on**: [`KNOWN_FIELDS`], a list written into the code the day it was
//!   built. Nothing checks it against the org; after a field is renamed or removed every write that
//!   names it fails.
//! * **off**: `GET /sobjects/{T}/describe`, asked again whenever Salesforce says a field is unknown
//!   ([`Schema::invalidate`]).
//!
//! `realtime_db` decides whether a describe is cached between events (off) or fetched again for
//! every one (on — the redundant-read half of "treating Salesforce like a real-time database").

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::sf::SObjectDescribe;

use super::calls::{CallError, Salesforce};

/// The fields a hard-coding integration "knows", per object: what it reads, and (with
/// `data_ownership` on) writes back.
pub const KNOWN_FIELDS: &[(&str, &[&str])] = &[
    (
        "Account",
        &[
            "Name",
            "Phone",
            "Website",
            "Industry",
            "Type",
            "AnnualRevenue",
            "NumberOfEmployees",
            "Description",
            "Region__c",
            "Credit_Limit__c",
        ],
    ),
    (
        "Contact",
        &[
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "Title",
            "Description",
        ],
    ),
];

/// The external id field a hard-coding build expects on every object it syncs.
pub const KNOWN_EXTERNAL_ID: &str = "External_Id__c";

/// The hard-coded field list of `object` (empty for objects the code never heard of).
pub fn known_fields(object: &str) -> &'static [&'static str] {
    KNOWN_FIELDS
        .iter()
        .find(|(o, _)| o.eq_ignore_ascii_case(object))
        .map_or(&[], |(_, f)| f)
}

/// Describe results, cached or not.
#[derive(Debug)]
pub struct Schema {
    cache: bool,
    /// Short lock, never across an `.await`.
    describes: Mutex<HashMap<String, Arc<SObjectDescribe>>>,
}

impl Schema {
    /// `cache`: keep describes between events.
    pub fn new(cache: bool) -> Self {
        Self {
            cache,
            describes: Mutex::new(HashMap::new()),
        }
    }

    /// The describe of `object`.
    pub async fn describe(
        &self,
        sf: &Salesforce,
        object: &str,
    ) -> Result<Arc<SObjectDescribe>, CallError> {
        let key = object.to_ascii_lowercase();
        if self.cache {
            if let Some(d) = self.describes.lock().get(&key) {
                return Ok(Arc::clone(d));
            }
        }
        let d = Arc::new(sf.call(|c| async move { c.describe(object).await }).await?);
        if self.cache {
            self.describes.lock().insert(key, Arc::clone(&d));
        }
        Ok(d)
    }

    /// Forget `object`'s describe: Salesforce just told us it changed.
    pub fn invalidate(&self, object: &str) {
        self.describes.lock().remove(&object.to_ascii_lowercase());
    }

    /// Fields of `object` a full-record read asks for: every field the describe says can be written.
    pub fn writable_fields(describe: &SObjectDescribe) -> Vec<String> {
        describe
            .fields
            .iter()
            .filter(|f| f.updateable || f.createable)
            .filter(|f| f.field_type != "address" && f.field_type != "location")
            .map(|f| f.name.clone())
            .collect()
    }
}
