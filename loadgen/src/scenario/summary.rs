//! The human-readable summary `sfchaos validate` prints: enough to check that the file says
//! what its author meant, without reading TOML.

use std::fmt::Write;

use simulator::faults::plan::format_duration;

use super::model::{
    ActionKind, BatchSchedule, EndpointSpec, EventMix, KeyDistribution, KeySpace, Scenario, Traffic,
};

impl Scenario {
    /// A multi-line summary: name, seed, timing, org, integration, streams with rates,
    /// actors, ownership, faults with windows, actions, sinks, peak and expectations.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_summary(&mut out);
        out
    }

    fn write_summary(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "scenario \"{}\" ({})", self.name, self.file)?;
        if !self.description.is_empty() {
            writeln!(out, "  {}", self.description)?;
        }
        write!(
            out,
            "  seed {}, load {}, drain {}",
            self.seed,
            format_duration(self.duration),
            format_duration(self.drain)
        )?;
        if let Some(shard) = self.shard {
            write!(out, ", shard {shard}")?;
        }
        if let Some(factor) = self.time_scale {
            write!(out, ", time scale {factor}")?;
        }
        writeln!(out)?;

        let org = &self.org;
        writeln!(
            out,
            "  org: {}, {} API requests per {} ({} used at start), long-running cap {}, API v{}",
            org.edition.as_str(),
            org.daily_api_requests,
            format_duration(org.api_window),
            org.api_usage_start,
            org.long_running_cap,
            org.api_version
        )?;
        for seed in &org.seed {
            writeln!(out, "    seed data: {} {}", seed.count, seed.object)?;
        }
        if let Some(dir) = &org.data_dir {
            writeln!(out, "    data: {}", dir.display())?;
        }
        writeln!(out, "  integration: {}", self.integration.command)?;

        writeln!(out, "  load ({}):", self.load.len())?;
        if self.load.is_empty() {
            writeln!(out, "    none")?;
        }
        for stream in &self.load {
            let traffic = match &stream.traffic {
                Traffic::Events { mix, rate } => {
                    let mix = match mix {
                        EventMix::Mixed { upsert, delete } => {
                            format!("mixed (upsert {upsert} : delete {delete})")
                        }
                        _ => stream.type_name().to_string(),
                    };
                    format!(
                        "{mix} {}, {rate} (~{:.0} events)",
                        stream.object,
                        rate.expected_events(stream.duration)
                    )
                }
                Traffic::Batches {
                    batch_size,
                    schedule,
                } => {
                    let when = match schedule {
                        BatchSchedule::Every(every) => format!("every {}", format_duration(*every)),
                        BatchSchedule::At(times) => {
                            let times: Vec<String> =
                                times.iter().map(|t| format_duration(t.0)).collect();
                            format!("at {}", times.join(", "))
                        }
                    };
                    format!("batch {} {batch_size} records {when}", stream.object)
                }
            };
            writeln!(
                out,
                "    {}: {traffic}, {}..{}, keys {}",
                stream.name,
                format_duration(stream.start),
                format_duration(stream.start.saturating_add(stream.duration)),
                keys(&stream.keys)
            )?;
        }

        if !self.actors.is_empty() {
            writeln!(out, "  actors ({}):", self.actors.len())?;
        }
        for actor in &self.actors {
            let fields: Vec<&str> = actor.fields.keys().map(String::as_str).collect();
            writeln!(
                out,
                "    {}: edits {} [{}], {}, as {}",
                actor.name,
                actor.object,
                fields.join(", "),
                actor.rate,
                actor.username
            )?;
        }
        if !self.ownership.0.is_empty() {
            let owners: Vec<String> = self
                .ownership
                .0
                .iter()
                .map(|(field, owner)| format!("{field} → {owner}"))
                .collect();
            writeln!(out, "  ownership: {}", owners.join(", "))?;
        }

        writeln!(out, "  faults ({}):", self.faults.rules.len())?;
        if self.faults.rules.is_empty() {
            writeln!(out, "    none")?;
        }
        for rule in &self.faults.rules {
            writeln!(out, "    {}", rule.describe())?;
        }

        if !self.actions.is_empty() {
            writeln!(out, "  actions ({}):", self.actions.len())?;
        }
        for action in &self.actions {
            match &action.kind {
                ActionKind::Deploy { command } => {
                    writeln!(out, "    {}  deploy {command}", format_duration(action.at))?
                }
                kind => writeln!(out, "    {}  {}", format_duration(action.at), kind.name())?,
            }
        }

        writeln!(
            out,
            "  sink: {}; alerts: {}",
            endpoint(&self.sink),
            endpoint(&self.alerts)
        )?;
        if !self.peak.is_empty() {
            let peak: Vec<String> = self.peak.iter().map(|w| w.to_string()).collect();
            writeln!(out, "  peak: {}", peak.join(", "))?;
        }
        writeln!(out, "  expect: {}", self.expectations_line())?;
        for warning in &self.warnings {
            writeln!(out, "  warning: {warning}")?;
        }
        Ok(())
    }

    fn expectations_line(&self) -> String {
        let expect = &self.expect;
        let mut parts = Vec::new();
        if !expect.min_score.is_empty() {
            let scores: Vec<String> = expect
                .min_score
                .iter()
                .map(|(ap, score)| format!("{ap} >= {score}"))
                .collect();
            parts.push(format!("min_score {}", scores.join(", ")));
        }
        for (name, value) in [
            ("lost", expect.lost),
            ("duplicates", expect.duplicates),
            ("wrong_value", expect.wrong_value),
        ] {
            if let Some(value) = value {
                parts.push(format!("{name} <= {value}"));
            }
        }
        if let Some(p99) = expect.max_p99 {
            parts.push(format!("p99 <= {}", format_duration(p99)));
        }
        if let Some(rate) = expect.min_achieved_rate {
            parts.push(format!("achieved rate >= {rate}"));
        }
        if let Some(rate) = expect.max_error_rate {
            parts.push(format!("error rate <= {rate}"));
        }
        parts.push(format!("baseline margin {}", expect.baseline_margin));
        parts.join("; ")
    }
}

fn keys(keys: &KeySpace) -> String {
    let distribution = match keys.distribution {
        KeyDistribution::Uniform => "uniform".to_string(),
        KeyDistribution::Zipf { exponent } => format!("zipf({exponent})"),
    };
    let mut text = format!("{} {distribution} {}…", keys.pool, keys.key(0));
    if keys.shard.is_some() {
        write!(text, " ({} in this shard)", keys.local_pool()).ok();
    }
    text
}

fn endpoint(spec: &EndpointSpec) -> String {
    if spec.is_healthy() {
        return "healthy".to_string();
    }
    let mut parts = Vec::new();
    if spec.error_probability > 0.0 {
        parts.push(format!(
            "{} with p={}",
            spec.error_status, spec.error_probability
        ));
    }
    if let Some(latency) = &spec.latency {
        parts.push(format!("latency {latency}"));
    }
    for outage in &spec.outages {
        parts.push(format!("outage {outage}"));
    }
    parts.join(", ")
}
