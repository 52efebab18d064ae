//! Reading the integration's lifecycle: action spans (from the action's start until the
//! integration answers `/healthz` again) and crashes.

use super::evidence::Evidence;

/// Actions that stop the process and start one again: the ones a rollback plan is about.
pub const RESTARTING_ACTIONS: [&str; 4] = ["crash-restart", "restart", "deploy", "rollback"];

/// `(start_us, end_us, action)` per action: from `action-begin` to the first `healthy` after it
/// (for `pause`, to the next `resume`'s begin), else `action-end`, else the end of the run.
pub fn action_spans(ev: &Evidence) -> Vec<(u64, u64, String)> {
    let end_us = ev.run_end_us();
    let t = |t_us: i64| t_us.max(0) as u64;
    let mut spans = Vec::new();
    let events = &ev.lifecycle;
    for (i, begin) in events.iter().enumerate() {
        if begin.event != "action-begin" {
            continue;
        }
        let action = begin.action.clone().unwrap_or_else(|| "action".into());
        let later = &events[i + 1..];
        let end = if action == "pause" {
            later
                .iter()
                .find(|e| e.event == "action-begin" && e.action.as_deref() == Some("resume"))
                .map(|e| t(e.t_us))
        } else {
            later
                .iter()
                .take_while(|e| e.event != "action-begin")
                .find(|e| e.event == "healthy")
                .or_else(|| later.iter().find(|e| e.event == "action-end"))
                .map(|e| t(e.t_us))
        };
        let start = t(begin.t_us);
        spans.push((start, end.unwrap_or(end_us).max(start), action));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::evidence::LifecycleEvent;

    fn ev(kind: &str, t_s: i64, action: Option<&str>) -> LifecycleEvent {
        LifecycleEvent {
            t_us: t_s * 1_000_000,
            event: kind.into(),
            action: action.map(str::to_owned),
            ..LifecycleEvent::default()
        }
    }

    #[test]
    fn spans_end_at_healthy() {
        let e = Evidence {
            load_us: 100_000_000,
            lifecycle: vec![
                ev("healthy", 0, None),
                ev("action-begin", 10, Some("crash-restart")),
                ev("exit", 10, None),
                ev("start", 11, None),
                ev("healthy", 13, None),
                ev("action-end", 13, Some("crash-restart")),
                ev("action-begin", 50, Some("deploy")),
            ],
            ..Evidence::default()
        };
        let spans = action_spans(&e);
        assert_eq!(spans[0], (10_000_000, 13_000_000, "crash-restart".into()));
        assert_eq!(spans[1], (50_000_000, 100_000_000, "deploy".into()));
    }
}
