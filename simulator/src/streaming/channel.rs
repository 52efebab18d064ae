//! Channel names and which changes each delivers.
//!
//! | channel | delivers |
//! |---|---|
//! | `/data/ChangeEvents` | changes of every CDC-enabled object |
//! | `/data/AccountChangeEvent` | changes of `Account` (CDC-enabled) |
//! | `/data/MyObj__ChangeEvent` | changes of custom object `MyObj__c` (CDC-enabled) |
//! | `/event/Order_Event__e` | published `Order_Event__e` platform events |
//!
//! Names are case-sensitive, as Salesforce's are. PushTopics (`/topic/…`), generic streaming (`/u/…`)
//! and custom channels (`/data/…__chn`) do not exist in the simulator and are refused like unknown ones.

use super::bayeux;
use crate::org::changes::{change_event_name, Change};
use crate::org::schema::ObjectKind;
use crate::org::Org;

pub const ALL_CHANGES: &str = "/data/ChangeEvents";

/// What a subscription receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `/data/ChangeEvents`.
    AllChanges,
    /// One object's change events (its canonical name).
    Object(Box<str>),
    /// One platform event (its canonical name).
    Event(Box<str>),
}

/// The objects with CDC enabled, read once per delivery pass.
#[derive(Debug, Clone)]
pub struct CdcSet {
    all: bool,
    objects: Vec<String>,
}

impl CdcSet {
    pub fn of(org: &Org) -> CdcSet {
        let cfg = &org.config;
        CdcSet {
            all: cfg.cdc_objects.iter().any(|o| o == "*"),
            objects: cfg
                .cdc_objects
                .iter()
                .map(|o| o.to_ascii_lowercase())
                .collect(),
        }
    }

    pub fn contains(&self, object: &str) -> bool {
        self.all || self.objects.iter().any(|o| o.eq_ignore_ascii_case(object))
    }
}

impl Filter {
    /// Resolve a channel name against the org, or give the Bayeux error for it.
    pub fn resolve(org: &Org, channel: &str) -> Result<Filter, String> {
        if channel.is_empty() {
            return Err(bayeux::NO_CHANNEL.into());
        }
        if !channel.starts_with('/') {
            return Err(bayeux::NO_LEADING_SLASH.into());
        }
        let missing = || bayeux::no_such_channel(channel);
        if channel == ALL_CHANGES {
            return Ok(Filter::AllChanges);
        }
        let data = org.data.read();
        if let Some(entity) = channel.strip_prefix("/data/") {
            let cdc = CdcSet::of(org);
            let found = data.schema.objects.iter().find(|o| {
                o.active
                    && o.kind != ObjectKind::PlatformEvent
                    && change_event_name(&o.name) == entity
            });
            return match found {
                Some(o) if cdc.contains(&o.name) => Ok(Filter::Object(o.name.as_str().into())),
                _ => Err(missing()),
            };
        }
        if let Some(name) = channel.strip_prefix("/event/") {
            let found = data
                .schema
                .objects
                .iter()
                .find(|o| o.active && o.kind == ObjectKind::PlatformEvent && o.name == name);
            return match found {
                Some(o) => Ok(Filter::Event(o.name.as_str().into())),
                None => Err(missing()),
            };
        }
        Err(missing())
    }

    /// Whether `change` is delivered on this channel.
    pub fn matches(&self, change: &Change, cdc: &CdcSet) -> bool {
        match self {
            Filter::AllChanges => !change.is_platform_event() && cdc.contains(change.object()),
            Filter::Object(name) => {
                !change.is_platform_event() && **name == *change.object() && cdc.contains(name)
            }
            Filter::Event(name) => change.is_platform_event() && **name == *change.object(),
        }
    }

    /// Whether the channel carries CDC events (gap events replace dropped ones) rather than platform
    /// events (dropped ones leave a hole in the replay ids).
    pub fn is_cdc(&self) -> bool {
        !matches!(self, Filter::Event(_))
    }
}
