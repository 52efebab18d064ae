//! The lazy generators behind [`Instants`]. Nothing here allocates per event, so an hour at
//! 10,000 events/s is an iterator, never a vector.

use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

use super::RateSpec;

/// Intended send offsets of one stream, in order, each `<` the stream's duration.
#[derive(Clone, Debug)]
pub struct Instants {
    inner: Inner,
}

#[derive(Clone, Debug)]
enum Inner {
    Even(Piecewise),
    Poisson(Poisson),
    Burst(Burst),
}

impl Instants {
    pub(super) fn new(spec: &RateSpec, duration: Duration, seed: u64) -> Self {
        let end = duration.as_secs_f64();
        let inner = match spec {
            RateSpec::Constant(r) => {
                Inner::Even(Piecewise::new(vec![Segment::forever(0.0, *r)], end))
            }
            RateSpec::Ramp { from, to, over } => {
                let over = over.as_secs_f64();
                Inner::Even(Piecewise::new(
                    vec![
                        Segment {
                            start: 0.0,
                            len: over,
                            r0: *from,
                            r1: *to,
                        },
                        Segment::forever(over, *to),
                    ],
                    end,
                ))
            }
            RateSpec::Steps(steps) => {
                let mut start = 0.0;
                let segments = steps
                    .iter()
                    .map(|s| {
                        let len = s.duration.as_secs_f64();
                        let seg = Segment {
                            start,
                            len,
                            r0: s.rate,
                            r1: s.rate,
                        };
                        start += len;
                        seg
                    })
                    .collect();
                Inner::Even(Piecewise::new(segments, end))
            }
            RateSpec::Poisson(r) => Inner::Poisson(Poisson {
                rng: Box::new(ChaCha8Rng::seed_from_u64(seed)),
                // A zero (or invalid) rate yields no events rather than an error: validation has
                // already rejected negative and non-finite rates.
                exp: if *r > 0.0 { Exp::new(*r).ok() } else { None },
                t: 0.0,
                end,
            }),
            RateSpec::Burst {
                base_rate,
                every,
                size,
            } => Inner::Burst(Burst {
                base: Piecewise::new(vec![Segment::forever(0.0, *base_rate)], end),
                peeked_base: None,
                every: *every,
                next_burst: *every,
                left_in_burst: 0,
                size: *size,
                end: duration,
            }),
        };
        Instants { inner }
    }
}

impl Iterator for Instants {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        match &mut self.inner {
            Inner::Even(p) => p.next(),
            Inner::Poisson(p) => p.next(),
            Inner::Burst(b) => b.next(),
        }
    }
}

/// A stretch of linearly changing rate: `r0` at `start`, `r1` at `start + len`.
#[derive(Clone, Copy, Debug)]
struct Segment {
    start: f64,
    len: f64,
    r0: f64,
    r1: f64,
}

impl Segment {
    fn forever(start: f64, rate: f64) -> Self {
        Segment {
            start,
            len: f64::INFINITY,
            r0: rate,
            r1: rate,
        }
    }

    /// Events offered by the whole segment (the integral of its rate).
    fn total(&self) -> f64 {
        if self.len.is_infinite() {
            if self.r0 > 0.0 {
                f64::INFINITY
            } else {
                0.0
            }
        } else {
            (self.r0 + self.r1) / 2.0 * self.len
        }
    }

    /// Offset into the segment where the integral of the rate reaches `target` (< total).
    /// Solves `r0·τ + s·τ²/2 = target` in the cancellation-free form `2·target / (r0 + √(r0² + 2·s·target))`,
    /// which also covers a flat segment (`s = 0` gives `target / r0`).
    fn offset_of(&self, target: f64) -> Option<f64> {
        if target <= 0.0 {
            return Some(0.0);
        }
        let slope = if self.len.is_infinite() {
            0.0
        } else {
            (self.r1 - self.r0) / self.len
        };
        let disc = (self.r0 * self.r0 + 2.0 * slope * target).max(0.0);
        let denom = self.r0 + disc.sqrt();
        (denom > 0.0).then(|| 2.0 * target / denom)
    }
}

/// Evenly spaced events under a piecewise-linear rate: event `k` sits where the cumulative rate
/// integral reaches `k`.
#[derive(Clone, Debug)]
struct Piecewise {
    segments: Vec<Segment>,
    seg: usize,
    /// Integral of the rate up to the start of `segments[seg]`.
    integral_before: f64,
    next_k: u64,
    end: f64,
}

impl Piecewise {
    fn new(segments: Vec<Segment>, end: f64) -> Self {
        Piecewise {
            segments,
            seg: 0,
            integral_before: 0.0,
            next_k: 0,
            end,
        }
    }

    fn next(&mut self) -> Option<Duration> {
        loop {
            let seg = *self.segments.get(self.seg)?;
            // Precision: k stays far below 2^53 for any realistic run.
            let target = self.next_k as f64 - self.integral_before;
            let total = seg.total();
            if target < total {
                let Some(tau) = seg.offset_of(target) else {
                    self.seg += 1;
                    self.integral_before += total;
                    continue;
                };
                let t = seg.start + tau.min(seg.len);
                if t >= self.end {
                    self.seg = self.segments.len();
                    return None;
                }
                self.next_k += 1;
                return Duration::try_from_secs_f64(t).ok();
            }
            self.seg += 1;
            self.integral_before += total;
        }
    }
}

#[derive(Clone, Debug)]
struct Poisson {
    /// Boxed: the RNG state is large and the other generators are small.
    rng: Box<ChaCha8Rng>,
    exp: Option<Exp<f64>>,
    t: f64,
    end: f64,
}

impl Poisson {
    fn next(&mut self) -> Option<Duration> {
        let exp = self.exp.as_ref()?;
        self.t += exp.sample(&mut *self.rng);
        if self.t >= self.end {
            self.exp = None;
            return None;
        }
        Duration::try_from_secs_f64(self.t).ok()
    }
}

/// An evenly spaced base stream merged in time order with bursts of identical instants.
#[derive(Clone, Debug)]
struct Burst {
    base: Piecewise,
    peeked_base: Option<Duration>,
    every: Duration,
    next_burst: Duration,
    left_in_burst: u32,
    size: u32,
    end: Duration,
}

impl Burst {
    fn next(&mut self) -> Option<Duration> {
        if self.peeked_base.is_none() {
            self.peeked_base = self.base.next();
        }
        // Start the next burst once its instant is due and the previous one is spent.
        if self.left_in_burst == 0 && self.next_burst < self.end && self.burst_is_next() {
            self.left_in_burst = self.size;
            if self.size == 0 {
                self.advance_burst();
            }
        }
        if self.left_in_burst > 0 && self.burst_is_next() {
            let at = self.next_burst;
            self.left_in_burst -= 1;
            if self.left_in_burst == 0 {
                self.advance_burst();
            }
            return Some(at);
        }
        self.peeked_base.take()
    }

    /// Base events win ties, so a base event scheduled at a burst instant goes first.
    fn burst_is_next(&self) -> bool {
        self.next_burst < self.end && self.peeked_base.is_none_or(|b| self.next_burst < b)
    }

    fn advance_burst(&mut self) {
        self.next_burst = self.next_burst.saturating_add(self.every);
    }
}
