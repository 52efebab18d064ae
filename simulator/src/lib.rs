//! A mock Salesforce org that real client libraries log into unchanged, with a seeded fault engine.
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | [`server`] | listeners (HTTP + HTTPS on one router), the ready line, graceful shutdown |
//! | [`tls`] | the CA and leaf certificate generated at start |
//! | [`state`] | [`state::SimState`], the handle every handler receives: orgs, sessions, journal, clock |
//! | [`error`] | [`error::ApiError`], the one error type, rendered as Salesforce's error bodies |
//! | [`org`] | one org's schema, records, validation, SOQL, limits, seed data |
//! | [`auth`] | SOAP partner login, OAuth token/revoke, identity URL, session tokens |
//! | [`rest`] | `/services/data` REST: versions, describe, sObject CRUD/upsert, query, limits |
//! | [`composite`] | `/composite`, `/composite/batch`, `/composite/tree`, sObject Collections |
//! | [`bulk2`] | Bulk API 2.0 ingest and query jobs |
//! | [`streaming`] | CometD long-polling, Change Data Capture and platform events |
//! | [`faults`] | the fault engine: a tower Layer deciding each request by ordered, seeded rules |
//! | [`admin`] | the control API under `/__admin/` |
//! | [`journal`] | the ground-truth request journal (bounded memory, spilled to a file) |
//! | [`clock`] | the scenario clock; every timestamp and wait goes through `tokio::time` |

#![recursion_limit = "256"]

pub mod admin;
pub mod auth;
pub mod bulk2;
pub mod clock;
pub mod composite;
pub mod error;
pub mod faults;
pub mod journal;
pub mod org;
pub mod recording;
pub mod rest;
pub mod server;
pub mod state;
pub mod streaming;
pub mod tls;
