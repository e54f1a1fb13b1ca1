//! Guided lessons: narration steps with checkpoints proven from the trace.
//!
//! - `check`: evaluates a step's checkpoint against a recorder snapshot (pure, no clock).
//! - `narrate`: plays a lesson headless (`hopscope run --narrate`), step by step.
//! - `progress`: the learner's place in each lesson, remembered between launches.
//! - `walk`: a learner's walk through a lesson (current step, passes, answers), as data for
//!   the window's guide panel.
//!
//! The scenario file holds the steps (`crate::scenario::Step`); the window's guide panel
//! (`crate::ui::guide`) and the command line both build on this module.

pub mod check;
pub mod narrate;
pub mod progress;
pub mod walk;

pub use check::{Context, Verdict, evaluate};
pub use narrate::{Live, NarrateOptions, Report, StepReport, StepResult, narrate};
pub use progress::{LessonProgress, ProgressStore};
pub use walk::{ActionView, CheckStatus, GuideCommand, QuestionView, StepView, Walkthrough};

use crate::engine::Addresses;
use crate::scenario::{Command, Scenario, Step, placeholders};

/// `command` with its placeholders (`{edge}`, `{dns_port}`, `{allowed_token}`, …) filled
/// from the live addresses. Unknown placeholders are left as written.
pub fn fill(command: &str, addresses: &Addresses) -> String {
    let mut out = String::with_capacity(command.len() + 32);
    let mut last = 0;
    for (range, name) in placeholders(command) {
        out.push_str(&command[last..range.start]);
        match value_of(name, addresses) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&command[range.clone()]),
        }
        last = range.end;
    }
    out.push_str(&command[last..]);
    out
}

fn port_of(addr: &str) -> String {
    addr.rsplit(':').next().unwrap_or(addr).to_string()
}

fn value_of(name: &str, a: &Addresses) -> Option<String> {
    const NO_TLS: &str = "(HTTPS is off in this scenario)";
    Some(match name {
        "dns" => a.dns.clone(),
        "dns_port" => port_of(&a.dns),
        "edge" => a.edge.clone(),
        "edge_port" => port_of(&a.edge),
        "edge_tls" => a.edge_tls.clone().unwrap_or_else(|| NO_TLS.into()),
        "edge_tls_port" => a.edge_tls.as_deref().map_or_else(|| NO_TLS.into(), port_of),
        "ca_cert" => a.ca_cert.clone().unwrap_or_else(|| NO_TLS.into()),
        "cdn" => a
            .cdn
            .clone()
            .unwrap_or_else(|| "(no CDN in this scenario)".into()),
        "lb" => a.lb.clone(),
        "lb_port" => port_of(&a.lb),
        "host" => format!("api.{}", a.zone),
        "zone" => a.zone.clone(),
        "allowed_token" => a.tokens.allowed.clone(),
        "forbidden_token" => a.tokens.forbidden.clone(),
        other => {
            let n: usize = other.strip_prefix("server-")?.parse().ok()?;
            a.servers.get(n.checked_sub(1)?)?.clone()
        }
    })
}

/// Text as written in a scenario file, reflowed for a window that wraps it: single line
/// breaks (the author's line wrapping) become spaces, blank lines stay paragraph breaks.
pub fn reflow(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The anchor a step's checkpoint waits for: its `after`, else the last action it expects
/// (written as the trace marker writes it).
pub fn anchor_of(step: &Step) -> Option<String> {
    if let Some(check) = &step.check
        && let Some(after) = &check.after
    {
        return Some(after.clone());
    }
    step.expects.last().map(|a| canonical_action(a))
}

/// An action as the trace's marker writes it (`slow server-1 200ms`), or as written.
pub fn canonical_action(action: &str) -> String {
    action
        .parse::<Command>()
        .map_or_else(|_| action.trim().to_string(), |c| c.to_string())
}

/// When the scenario's own events perform `action` (for "the scenario does this at 5s").
pub fn scripted_time(scenario: &Scenario, action: &str) -> Option<String> {
    let wanted = canonical_action(action);
    scenario.events.iter().find_map(|e| {
        let does = match (&e.action, &e.send) {
            (Some(a), _) => canonical_action(a) == wanted,
            (None, Some(s)) => wanted == format!("send {} {}", s.method, s.path),
            _ => false,
        };
        if !does {
            return None;
        }
        match (e.at, e.after_requests) {
            (Some(at), _) => Some(format!("at {:.1} s", at.get().as_secs_f64())),
            (None, Some(n)) => Some(format!("after {n} requests")),
            _ => None,
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::topology::Tokens;

    pub(crate) fn addresses() -> Addresses {
        Addresses {
            dns: "127.0.0.1:5300".into(),
            edge: "127.0.0.1:8080".into(),
            edge_tls: None,
            ca_cert: None,
            cdn: Some("127.0.0.1:8080".into()),
            lb: "127.0.0.1:8081".into(),
            servers: vec!["127.0.0.1:9001".into(), "127.0.0.1:9002".into()],
            zone: "example.test".into(),
            tokens: Tokens {
                allowed: "yes-1".into(),
                forbidden: "no-0".into(),
            },
        }
    }

    #[test]
    fn placeholders_are_filled_and_json_is_left_alone() {
        let text = r#"curl -H 'Host: {host}' -H 'Authorization: Bearer {allowed_token}' http://{edge}/cart/items -d '{"item":"tea"}' # {server-2} {server-9} {nope} {edge_tls_port}"#;
        assert_eq!(
            fill(text, &addresses()),
            r#"curl -H 'Host: api.example.test' -H 'Authorization: Bearer yes-1' http://127.0.0.1:8080/cart/items -d '{"item":"tea"}' # 127.0.0.1:9002 {server-9} {nope} (HTTPS is off in this scenario)"#
        );
        assert_eq!(
            fill("dig @127.0.0.1 -p {dns_port}", &addresses()),
            "dig @127.0.0.1 -p 5300"
        );
    }

    #[test]
    fn reflow_joins_lines_and_keeps_paragraphs() {
        assert_eq!(
            reflow("\nOne line\nwrapped here.\n\n  Next   paragraph.\n"),
            "One line wrapped here.\n\nNext paragraph."
        );
    }

    #[test]
    fn the_anchor_is_the_checks_after_or_the_last_expected_action() {
        let mut step = Step {
            expects: vec!["kill server-1".into(), "slow  server-2   200ms".into()],
            ..Step::default()
        };
        assert_eq!(anchor_of(&step).as_deref(), Some("slow server-2 200ms"));
        step.check = Some(crate::scenario::Check {
            after: Some("marked unhealthy".into()),
            ..Default::default()
        });
        assert_eq!(anchor_of(&step).as_deref(), Some("marked unhealthy"));
    }
}
