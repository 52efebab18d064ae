//! Small streaming statistics the detectors share: penalty ramps, running mean/variance, a compact
//! log-bucket histogram for medians and tails, and formatting helpers for evidence strings.
//!
//! Everything here is O(1) memory per accumulator so that a 10,000,000-entry journal is scored in
//! one pass without keeping samples.

/// Penalty that grows linearly from 0 at `good` to `max` at `bad` (either direction: when `bad <
/// good`, smaller values are worse). Values beyond `bad` give `max`; NaN gives 0.
pub fn ramp(value: f64, good: f64, bad: f64, max: f64) -> f64 {
    if value.is_nan() || good == bad {
        return if value.is_nan() {
            0.0
        } else if (bad >= good && value >= bad) || (bad < good && value <= bad) {
            max
        } else {
            0.0
        };
    }
    let share = (value - good) / (bad - good);
    max * share.clamp(0.0, 1.0)
}

/// `part / whole`, 0 when `whole` is 0.
pub fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

/// A score from penalties: 100 minus their sum, clamped to 0–100 and rounded.
pub fn score_from_penalties(penalties: &[f64]) -> u8 {
    let total: f64 = penalties.iter().filter(|p| p.is_finite()).sum();
    (100.0 - total).clamp(0.0, 100.0).round() as u8
}

/// Running count, mean, variance (Welford) and minimum.
#[derive(Clone, Copy, Debug, Default)]
pub struct Welford {
    pub n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Welford {
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    pub fn min(&self) -> f64 {
        self.min
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    /// Sample standard deviation (0 below two samples).
    pub fn std(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }

    /// Coefficient of variation, `std / mean` (0 when the mean is 0).
    pub fn cv(&self) -> f64 {
        ratio(self.std(), self.mean)
    }

    /// CV after subtracting the minimum from every sample (resilience-reference.md §6: the jitter
    /// test removes the deterministic part of a delay before comparing spreads).
    pub fn cv_above_min(&self) -> f64 {
        ratio(self.std(), self.mean - self.min)
    }
}

/// A histogram of positive values in logarithmic buckets (about 4.6% wide), from 1 to ~10^10.
/// 512 `u32` counters: small enough to keep one per timeline second.
#[derive(Clone, Debug)]
pub struct LogHistogram {
    counts: Vec<u32>,
    total: u64,
}

const LOG_BASE: f64 = 1.045;
const LOG_BUCKETS: usize = 512;

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            counts: vec![0; LOG_BUCKETS],
            total: 0,
        }
    }
}

impl LogHistogram {
    fn bucket(value: f64) -> usize {
        if value <= 1.0 {
            0
        } else {
            ((value.ln() / LOG_BASE.ln()).floor() as usize + 1).min(LOG_BUCKETS - 1)
        }
    }

    fn value_of(bucket: usize) -> f64 {
        if bucket == 0 {
            1.0
        } else {
            // Geometric middle of the bucket.
            LOG_BASE.powf(bucket as f64 - 0.5)
        }
    }

    pub fn record(&mut self, value: f64) {
        if value.is_finite() && value >= 0.0 {
            let b = Self::bucket(value);
            self.counts[b] = self.counts[b].saturating_add(1);
            self.total += 1;
        }
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    /// Adds `other`'s counts (histograms are additive).
    pub fn merge(&mut self, other: &LogHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
        self.total += other.total;
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The value at quantile `q` in [0, 1]; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(Self::value_of(b));
            }
        }
        Some(Self::value_of(LOG_BUCKETS - 1))
    }
}

/// Geometric-mean accumulator for ratios (the backoff growth factor of resilience-reference.md §6:
/// `exp(mean ln(g_{k+1}/g_k))`, unbiased under full jitter).
#[derive(Clone, Copy, Debug, Default)]
pub struct GeoMean {
    sum_ln: f64,
    pub n: u64,
}

impl GeoMean {
    pub fn push_ratio(&mut self, r: f64) {
        if r.is_finite() && r > 0.0 {
            self.sum_ln += r.ln();
            self.n += 1;
        }
    }

    pub fn value(&self) -> Option<f64> {
        (self.n > 0).then(|| (self.sum_ln / self.n as f64).exp())
    }
}

/// Seconds, for messages: `12.3s`.
pub fn secs(us: u64) -> String {
    format!("{:.1}s", us as f64 / 1e6)
}

/// A window for evidence lists: `window 60.0s–90.0s`.
pub fn window(start_us: u64, end_us: u64) -> String {
    format!("window {}–{}", secs(start_us), secs(end_us))
}

/// Evidence id of a request, as the journal prints it.
pub fn req(id: u64) -> String {
    format!("req-{id:06}")
}

/// Keeps the first `cap` examples; counts the rest.
#[derive(Clone, Debug, Default)]
pub struct Examples {
    pub items: Vec<String>,
    pub count: u64,
}

/// How many example ids a finding lists.
pub const EXAMPLES: usize = 5;

impl Examples {
    pub fn push(&mut self, item: impl FnOnce() -> String) {
        if self.items.len() < EXAMPLES {
            self.items.push(item());
        }
        self.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_both_directions() {
        assert_eq!(ramp(1.0, 1.0, 3.0, 50.0), 0.0);
        assert_eq!(ramp(2.0, 1.0, 3.0, 50.0), 25.0);
        assert_eq!(ramp(9.0, 1.0, 3.0, 50.0), 50.0);
        // Lower is worse.
        assert!((ramp(0.9, 1.0, 0.5, 10.0) - 2.0).abs() < 1e-9);
        assert_eq!(ramp(0.1, 1.0, 0.5, 10.0), 10.0);
        assert_eq!(ramp(f64::NAN, 1.0, 0.5, 10.0), 0.0);
    }

    #[test]
    fn welford_and_cv() {
        let mut w = Welford::default();
        for x in [10.0, 10.0, 10.0, 10.0] {
            w.push(x);
        }
        assert_eq!(w.cv(), 0.0);
        let mut w = Welford::default();
        for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
            w.push(x);
        }
        assert!((w.mean() - 3.0).abs() < 1e-12);
        assert!((w.std() - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((w.cv_above_min() - 2.5f64.sqrt() / 2.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut h = LogHistogram::default();
        for v in 1..=1000 {
            h.record(v as f64 * 1000.0);
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!((p50 / 500_000.0 - 1.0).abs() < 0.05, "{p50}");
        let p99 = h.quantile(0.99).unwrap();
        assert!((p99 / 990_000.0 - 1.0).abs() < 0.05, "{p99}");
        assert!(LogHistogram::default().quantile(0.5).is_none());
    }

    #[test]
    fn geometric_mean_of_doubling() {
        let mut g = GeoMean::default();
        for _ in 0..5 {
            g.push_ratio(2.0);
        }
        assert!((g.value().unwrap() - 2.0).abs() < 1e-12);
    }
}
