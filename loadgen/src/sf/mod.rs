//! sf
