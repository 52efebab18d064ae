//! Token-bucket retry quotas: retry while tokens last, so a sustained outage costs a bounded number of
//! retries per client (resilience-reference.md §1–2). Two flavours, chosen with `flavor=`:
//!
//! * **`aws`** (default) — the AWS SDK *standard mode* retry quota (botocore `quota.py`, smithy-rs
//!   `TokenBucket`): 500 tokens, a retry costs 5 (10 after a timeout), a success without retry refunds
//!   1, a success after retries refunds what the operation took. One client gets ≈100 retries in a long
//!   outage, then none until successes refill the bucket — the "plateau at ≈100" fingerprint.
//! * **`brooker`** — the adaptive bucket from Brooker's "Fixing retries with token buckets and circuit
//!   breakers": each call start deposits 0.1, the bucket holds 5, a retry needs more than 1 token and
//!   costs 1. It behaves like plain retries below ~10% failure and like 0.1 retries per call above.
//!
//! The bucket only gates retries; first attempts always go out.

/// Which quota model, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TokenBucketConfig {
    /// AWS SDK standard-mode retry quota.
    Aws {
        capacity: f64,
        retry_cost: f64,
        timeout_cost: f64,
        success_refund: f64,
    },
    /// Brooker's adaptive retry bucket.
    Brooker {
        capacity: f64,
        fill_per_call: f64,
        retry_cost: f64,
    },
}

impl TokenBucketConfig {
    /// botocore standard mode: 500 / 5 / 10 / 1.
    pub const AWS: TokenBucketConfig = TokenBucketConfig::Aws {
        capacity: 500.0,
        retry_cost: 5.0,
        timeout_cost: 10.0,
        success_refund: 1.0,
    };

    /// Brooker 2022: fill 0.1 per call, size 5, retry needs > 1 token and costs 1.
    pub const BROOKER: TokenBucketConfig = TokenBucketConfig::Brooker {
        capacity: 5.0,
        fill_per_call: 0.1,
        retry_cost: 1.0,
    };

    fn capacity(&self) -> f64 {
        match *self {
            TokenBucketConfig::Aws { capacity, .. }
            | TokenBucketConfig::Brooker { capacity, .. } => capacity,
        }
    }

    /// The flavour name used in strategy strings.
    pub fn flavor(&self) -> &'static str {
        match self {
            TokenBucketConfig::Aws { .. } => "aws",
            TokenBucketConfig::Brooker { .. } => "brooker",
        }
    }
}

/// A live bucket; it starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    config: TokenBucketConfig,
    tokens: f64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(config: TokenBucketConfig) -> Self {
        Self {
            tokens: config.capacity(),
            config,
        }
    }

    /// Tokens left.
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    /// A logical call starts (Brooker's bucket fills here; the AWS quota does not).
    pub fn on_call_start(&mut self) {
        if let TokenBucketConfig::Brooker {
            capacity,
            fill_per_call,
            ..
        } = self.config
        {
            self.tokens = (self.tokens + fill_per_call).min(capacity);
        }
    }

    /// Pay for one retry. Returns the amount taken, or `None` when the quota refuses.
    pub fn try_acquire_retry(&mut self, after_timeout: bool) -> Option<f64> {
        let cost = match self.config {
            TokenBucketConfig::Aws {
                retry_cost,
                timeout_cost,
                ..
            } => {
                if after_timeout {
                    timeout_cost
                } else {
                    retry_cost
                }
            }
            TokenBucketConfig::Brooker { retry_cost, .. } => {
                // "A retry needs more than 1 token."
                if self.tokens <= 1.0 {
                    return None;
                }
                retry_cost
            }
        };
        if self.tokens < cost {
            return None;
        }
        self.tokens -= cost;
        Some(cost)
    }

    /// A logical call succeeded after taking `taken` tokens for its retries.
    pub fn on_success(&mut self, taken: f64) {
        if let TokenBucketConfig::Aws {
            capacity,
            success_refund,
            ..
        } = self.config
        {
            let refund = if taken > 0.0 { taken } else { success_refund };
            self.tokens = (self.tokens + refund).min(capacity);
        }
    }
}
