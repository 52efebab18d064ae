//! The vocabulary shared by the Salesforce client and the retry policies: how retryable a failure is.
//!
//! Kept in `retry` (not `sf`) so policies can be exercised with any error type — tests use a tiny fake —
//! while `sf::SfError` implements [`Classify`] by following salesforce-api.md §3.

/// What a failed call says about trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retryability {
    /// Transient: lock contention, 5xx, transport failures, concurrency limits. Retry with backoff.
    Retryable,
    /// The session expired (401 INVALID_SESSION_ID): log in again, then the same call may succeed.
    RetryableAfterReauth,
    /// The request itself is wrong (validation, not found, malformed). Retrying repeats the failure.
    NotRetryable,
    /// The org's rolling 24 h allocation is spent (`TotalRequests Limit exceeded.`). Nothing succeeds until
    /// usage ages out, and every attempt burns more of the allocation.
    LimitExhausted,
}

/// Anything a retry policy can judge. Implemented by `sf::SfError`.
pub trait Classify {
    /// How retryable this failure is.
    fn retryability(&self) -> Retryability;

    /// Whether the failure was a client-side timeout. Timeouts cost more in an AWS-style retry quota,
    /// because a timed-out request may still be running on the server.
    fn is_timeout(&self) -> bool {
        false
    }
}

impl Classify for Retryability {
    fn retryability(&self) -> Retryability {
        *self
    }
}
