//! Raw scenario → [`Scenario`]: stage two.
//!
//! Validation never stops at the first problem. Each section is checked on its own and records
//! errors and warnings by key path in a [`Ctx`]; the caller maps paths to lines. Checks that
//! span sections (owners exist, fault windows fit the run, actions make sense in order) run
//! after the sections they depend on.
//!
//! | file | sections |
//! |---|---|
//! | `mod.rs` | top level, the checking toolkit |
//! | `org.rs` | `[org]`, `[integration]` |
//! | `load.rs` | `[[load]]`, `[[actors]]`, key spaces |
//! | `world.rs` | `[ownership]`, `[[faults]]`, `[[actions]]`, `[expect]`, `[sink]`, `[alerts]`, `peak` |

mod load;
mod org;
mod world;

use std::num::NonZeroU32;
use std::time::Duration;

use simulator::faults::plan::{format_duration, parse_duration, PathError, RawDuration, Window};

use super::model::Scenario;
use super::raw::{RawScenario, RawWindow};
use super::spans::{push_index, push_key};

const DEFAULT_SEED: u64 = 1;
const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

/// Validates a whole scenario. `base_dir` resolves relative paths (`org.data_dir`).
pub(crate) fn scenario(
    raw: RawScenario,
    file: &str,
    base_dir: &std::path::Path,
    ctx: &mut Ctx,
) -> Option<Scenario> {
    let name = match raw.name.as_deref() {
        Some(name) => ctx.name("name", name),
        None => {
            ctx.error("name", "missing: every scenario needs a `name`");
            None
        }
    };
    let duration = match &raw.duration {
        Some(d) => ctx.positive_duration("duration", d),
        None => {
            ctx.error(
                "duration",
                "missing: how long load runs, e.g. duration = \"3m\"",
            );
            None
        }
    };
    let drain = ctx.duration_or("drain", raw.drain.as_ref(), DEFAULT_DRAIN);

    let org = org::org(ctx, raw.org.unwrap_or_default(), base_dir);
    let integration = org::integration(ctx, raw.integration.unwrap_or_default());

    // Sections below check times against the run; without a valid duration they still run
    // their own checks, against an unbounded run.
    let run = Run {
        duration: duration.unwrap_or(Duration::MAX),
        drain: drain.unwrap_or(DEFAULT_DRAIN),
        known: duration.is_some(),
    };
    let load = load::streams(ctx, &raw.load, &run);
    let actors = load::actors(ctx, &raw.actors, &run);
    if raw.load.is_empty() && raw.actors.is_empty() {
        ctx.warn(
            "",
            "no [[load]] streams and no [[actors]]: nothing will happen during the run",
        );
    }
    let ownership = world::ownership(ctx, &raw.ownership, &raw.actors);
    let faults = world::faults(ctx, &raw.faults, &run, org.as_ref());
    let actions = world::actions(ctx, &raw.actions, &run);
    let expect = world::expect(ctx, raw.expect.unwrap_or_default());
    let sink = world::endpoint(ctx, "sink", raw.sink.unwrap_or_default(), &run);
    let alerts = world::endpoint(ctx, "alerts", raw.alerts.unwrap_or_default(), &run);
    let peak = world::peak(ctx, &raw.peak, &run);
    if let (Some(actors), Some(ownership)) = (&actors, &ownership) {
        world::check_actor_ownership(ctx, actors, ownership);
    }

    Some(Scenario {
        file: file.to_string(),
        name: name?,
        description: raw.description.unwrap_or_default(),
        seed: raw.seed.unwrap_or(DEFAULT_SEED),
        duration: duration?,
        drain: drain?,
        org: org?,
        integration: integration?,
        load: load?,
        actors: actors?,
        ownership: ownership?,
        faults: faults?,
        actions: actions?,
        expect: expect?,
        sink: sink?,
        alerts: alerts?,
        peak: peak?,
        shard: None,
        time_scale: None,
        warnings: Vec::new(),
    })
}

/// The run's timeline, for checking that windows and actions fit in it.
pub(crate) struct Run {
    pub duration: Duration,
    pub drain: Duration,
    /// False when `duration` was missing or invalid: time checks against it are skipped.
    pub known: bool,
}

impl Run {
    pub(crate) fn end(&self) -> Duration {
        self.duration.saturating_add(self.drain)
    }
}

/// Errors and warnings gathered during validation, by key path.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) errors: Vec<PathError>,
    pub(crate) warnings: Vec<PathError>,
}

impl Ctx {
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(PathError::new(path, message));
    }

    pub(crate) fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(PathError::new(path, message));
    }

    pub(crate) fn duration(&mut self, path: &str, raw: &RawDuration) -> Option<Duration> {
        parse_duration(&raw.0)
            .map_err(|message| self.error(path, message))
            .ok()
    }

    pub(crate) fn positive_duration(&mut self, path: &str, raw: &RawDuration) -> Option<Duration> {
        let duration = self.duration(path, raw)?;
        if duration.is_zero() {
            self.error(path, "must be greater than 0");
            return None;
        }
        Some(duration)
    }

    pub(crate) fn duration_or(
        &mut self,
        path: &str,
        raw: Option<&RawDuration>,
        default: Duration,
    ) -> Option<Duration> {
        match raw {
            Some(raw) => self.duration(path, raw),
            None => Some(default),
        }
    }

    pub(crate) fn positive_duration_or(
        &mut self,
        path: &str,
        raw: Option<&RawDuration>,
        default: Duration,
    ) -> Option<Duration> {
        match raw {
            Some(raw) => self.positive_duration(path, raw),
            None => Some(default),
        }
    }

    /// A share in `[0, 1]`.
    pub(crate) fn fraction(&mut self, path: &str, value: f64) -> Option<f64> {
        if (0.0..=1.0).contains(&value) {
            Some(value)
        } else {
            self.error(path, format!("must be between 0 and 1, got {value}"));
            None
        }
    }

    /// An event rate: finite and not negative.
    pub(crate) fn rate(&mut self, path: &str, value: f64) -> Option<f64> {
        if value.is_finite() && value >= 0.0 {
            Some(value)
        } else {
            self.error(
                path,
                format!("must be a rate of 0 or more events/s, got {value}"),
            );
            None
        }
    }

    pub(crate) fn positive_rate(&mut self, path: &str, value: f64) -> Option<f64> {
        if value.is_finite() && value > 0.0 {
            Some(value)
        } else {
            self.error(
                path,
                format!("must be a rate above 0 events/s, got {value}"),
            );
            None
        }
    }

    pub(crate) fn nonzero_u32(&mut self, path: &str, value: u32) -> Option<NonZeroU32> {
        let nonzero = NonZeroU32::new(value);
        if nonzero.is_none() {
            self.error(path, "must be at least 1, got 0");
        }
        nonzero
    }

    pub(crate) fn name(&mut self, path: &str, text: &str) -> Option<String> {
        if text.trim().is_empty() {
            self.error(path, "must not be empty");
            None
        } else {
            Some(text.to_string())
        }
    }

    /// A Salesforce API name (object or field): letters, digits and underscores, starting
    /// with a letter.
    pub(crate) fn api_name(&mut self, path: &str, text: &str) -> Option<String> {
        let valid = text.starts_with(|c: char| c.is_ascii_alphabetic())
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Some(text.to_string())
        } else {
            self.error(
                path,
                format!("\"{text}\" is not a Salesforce API name (letters, digits, underscores)"),
            );
            None
        }
    }

    pub(crate) fn choice<T: Copy>(
        &mut self,
        path: &str,
        text: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let found = choices
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, v)| *v);
        if found.is_none() {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            self.error(
                path,
                format!(
                    "unknown value \"{text}\" (expected one of {})",
                    names.join(", ")
                ),
            );
        }
        found
    }

    /// A `{ start, duration }` window that must begin inside load time; a window reaching past
    /// the end of load is allowed (it overlaps the drain) but warned about.
    pub(crate) fn window(&mut self, path: &str, raw: &RawWindow, run: &Run) -> Option<Window> {
        let start = self.duration(&push_key(path, "start"), &raw.start);
        let duration = self.positive_duration(&push_key(path, "duration"), &raw.duration);
        let window = Window::new(start?, Some(duration?));
        if run.known && window.start >= run.duration {
            self.error(
                &push_key(path, "start"),
                format!(
                    "starts at {}, after load ends at {}",
                    format_duration(window.start),
                    format_duration(run.duration)
                ),
            );
            return None;
        }
        if run.known && window.end().is_some_and(|end| end > run.duration) {
            self.warn(
                &push_key(path, "duration"),
                format!(
                    "ends after load stops at {}; the rest falls into the drain period",
                    format_duration(run.duration)
                ),
            );
        }
        Some(window)
    }

    /// Validates each element of a list of windows.
    pub(crate) fn windows(
        &mut self,
        path: &str,
        raw: &[RawWindow],
        run: &Run,
    ) -> Option<Vec<Window>> {
        let windows: Vec<Option<Window>> = raw
            .iter()
            .enumerate()
            .map(|(i, w)| self.window(&push_index(path, i), w, run))
            .collect();
        windows.into_iter().collect()
    }
}
