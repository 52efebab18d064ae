//! Authentication: SOAP partner login, OAuth token/revoke, identity URL, sessions.
pub mod session;
