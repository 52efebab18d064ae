//! Retry budgets: cap retries at a share of recent requests, so a sustained outage cannot multiply
//! load by the retry count (resilience-reference.md §2).
//!
//! The model is Finagle's `RetryBudget` (also tower's `TpsBudget`): every logical request deposits,
//! every retry withdraws, both expire after `ttl`, and a fixed reserve of `min_retries_per_sec · ttl`
//! lets low-traffic clients retry at all. Within any `ttl` window:
//!
//! `retries ≤ percent · requests + min_retries_per_sec · ttl`
//!
//! so under 100% failure a client retries at about `percent · rate + min_retries_per_sec` per second.
//! Presets: [`BudgetConfig::FINAGLE`] (20% + 10/s, 10 s) and [`BudgetConfig::SRE`] (the SRE book's
//! per-client 10%, no floor, over its 2-minute window).

use std::time::Duration;

use tokio::time::Instant;

use super::window::Window;

/// Parameters of a retry budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// How long deposits and withdrawals count (Finagle allows 1–60 s).
    pub ttl: Duration,
    /// Retries per second always allowed, whatever the request volume.
    pub min_retries_per_sec: f64,
    /// Share of requests that may be retried (0.2 = 20%).
    pub percent: f64,
}

impl BudgetConfig {
    /// Finagle's default: 20% of requests plus 10 retries/s, deposits expiring after 10 s.
    pub const FINAGLE: BudgetConfig = BudgetConfig {
        ttl: Duration::from_secs(10),
        min_retries_per_sec: 10.0,
        percent: 0.2,
    };

    /// The SRE book's per-client budget: retries stay under 10% of requests. The book gives no window;
    /// its adaptive-throttling window (2 minutes) is used.
    pub const SRE: BudgetConfig = BudgetConfig {
        ttl: Duration::from_secs(120),
        min_retries_per_sec: 0.0,
        percent: 0.1,
    };
}

#[derive(Debug, Default, Clone, Copy)]
struct Flow {
    deposits: u64,
    withdrawals: u64,
}

/// A live budget. Not thread-safe on its own; the policy keeps it behind its lock.
#[derive(Debug, Clone)]
pub struct RetryBudget {
    config: BudgetConfig,
    window: Window<Flow>,
}

/// Buckets per ttl: expiry is at most ttl/20 late.
const BUCKETS: u32 = 20;

impl RetryBudget {
    /// An empty budget (only the reserve is available) whose clock starts at `now`.
    pub fn new(config: BudgetConfig, now: Instant) -> Self {
        Self {
            config,
            window: Window::new(now, config.ttl, BUCKETS),
        }
    }

    /// The configuration.
    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    /// Record one logical request (not a retry).
    pub fn deposit(&mut self, now: Instant) {
        self.window.add(now, |f| f.deposits += 1);
    }

    /// Take one retry from the budget; `false` when it is spent.
    pub fn try_withdraw(&mut self, now: Instant) -> bool {
        if self.balance(now) < 1.0 {
            return false;
        }
        self.window.add(now, |f| f.withdrawals += 1);
        true
    }

    /// Retries currently available (may be fractional).
    pub fn balance(&self, now: Instant) -> f64 {
        let (deposits, withdrawals) = self.window.live(now).fold((0u64, 0u64), |(d, w), f| {
            (d + f.deposits, w + f.withdrawals)
        });
        let reserve = self.config.min_retries_per_sec * self.config.ttl.as_secs_f64();
        self.config.percent * deposits as f64 + reserve - withdrawals as f64
    }
}
