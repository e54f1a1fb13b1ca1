//! Guided lessons: narration steps with checkpoints proven from the trace.
//!
//! - `check`: evaluates a step's checkpoint against a recorder snapshot (pure, no clock).
//! - `walk`: a learner's walk through a lesson, and the lesson driving the world: the world
//!   each step expects is restored as it becomes current, its actions play on its own
//!   clock, its buttons and prediction wait for the learner (`plan` works out the worlds).
//! - `view`: what the guide shows for the current step, as data.
//! - `predict`: predict, then observe: what the trace measured around a step's action.
//! - `narrate`: plays a lesson headless (`hopscope run --narrate --reader 12s`) through the
//!   same walk, with a simulated reader.
//! - `progress`: the learner's place in each lesson, remembered between launches.
//!
//! The scenario file holds the steps (`crate::scenario::Step`); the window's guide panel
//! (`crate::ui::guide`) and the command line both build on this module.

pub mod check;
pub mod narrate;
pub mod plan;
pub mod predict;
pub mod progress;
pub mod view;
pub mod walk;

/// What a lesson asks of the engine, performed in order: a command, a request, a restore.
pub use crate::engine::Op as GuideCommand;
pub use check::{Context, Verdict, evaluate, window_start};
pub use narrate::{Live, NarrateOptions, Report, StepReport, StepResult, narrate};
pub use predict::{Measured, Prediction};
pub use progress::{LessonProgress, ProgressStore};
pub use view::{ButtonView, CheckStatus, PredictView, QuestionView, StepView};
pub use walk::{Note, Turn, Walkthrough};

use crate::engine::Addresses;
use crate::scenario::{placeholders, server_number};

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
            let n = server_number(other)?;
            a.servers.get(usize::from(n) - 1)?.clone()
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::Tokens;

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
}
