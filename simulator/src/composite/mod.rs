//! `/composite`, `/composite/batch`, `/composite/tree/{T}` and sObject Collections.

use crate::state::SimState;
use axum::Router;

/// Routes of this API family (installed by [`crate::app`]).
pub fn routes(_state: SimState) -> Router<SimState> {
    Router::new()
}
