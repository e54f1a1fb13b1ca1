//! Checking narration steps: titles, what to look at, command placeholders, the actions a
//! step expects, each checkpoint's fields for its kind, and questions. Every problem is
//! reported (with its field path, which `validate.rs` turns into line and column).

use crate::scenario::{Check, CheckKind, Dur, Question, Step};
use crate::scenario::{is_placeholder, placeholders, server_number};

/// Outcome failures, as the trace names them (`crate::trace::Outcome`).
const FAILURES: &[&str] = &[
    "dns_failure",
    "connection_refused",
    "connection_reset",
    "timeout",
    "tls_error",
    "cancelled",
];
/// Outcome classes, as plots label them.
const CLASSES: &[&str] = &["2xx", "3xx", "4xx", "5xx", "failed"];
/// `X-Cache` values.
const CACHE: &[&str] = &["HIT", "MISS", "EXPIRED", "REVALIDATED", "BYPASS"];
/// Span phases, as the trace names them (`crate::trace::Phase`).
pub const PHASES: &[&str] = &[
    "blocked", "dns", "connect", "ssl", "send", "wait", "receive", "cache", "pick", "forward",
    "queue", "handler", "db", "held",
];
/// DNS response codes the trace records.
const RCODES: &[&str] = &[
    "NOERROR", "NXDOMAIN", "REFUSED", "FORMERR", "NOTIMP", "SERVFAIL", "DROPPED",
];
/// Components a step may point at.
const COMPONENTS: &[&str] = &["client", "dns", "cdn", "lb", "db"];

/// Whether `text` names an outcome or an outcome class.
pub fn is_outcome(text: &str) -> bool {
    FAILURES.contains(&text)
        || CLASSES.contains(&text)
        || text
            .parse::<u16>()
            .is_ok_and(|code| (100..600).contains(&code))
}

fn valid_look_at(text: &str) -> bool {
    if let Some(plot) = text.strip_prefix("plot:") {
        return !plot.is_empty()
            && plot
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit());
    }
    text == "request" || COMPONENTS.contains(&text) || server_number(text).is_some()
}

type Fail<'a> = &'a mut dyn FnMut(&str, String, &str);

/// The problems of step `index` (0-based) of a scenario whose client profiles are
/// `profiles`: field path, message and hint.
pub fn step_problems(
    index: usize,
    step: &Step,
    profiles: &[String],
) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    let mut push = |path: &str, message: String, hint: &str| {
        out.push((
            path.to_string(),
            message,
            (!hint.is_empty()).then(|| hint.to_string()),
        ));
    };
    let at = |f: &str| format!("steps[{}].{f}", index + 1);
    check_step(step, &at, &mut push);
    super::actions::check_actions(step, profiles, &at, &mut push);
    if let Some(check) = &step.check {
        check_check(step, check, &at, &mut push);
    }
    if let Some(q) = &step.question {
        check_question(q, &at, &mut push);
    }
    out
}

fn check_step(step: &Step, at: &dyn Fn(&str) -> String, fail: Fail<'_>) {
    if step.title.trim().is_empty() {
        fail(
            &at("title"),
            "a step without a title".into(),
            "a few words saying what this step is about",
        );
    }
    if step.text.trim().is_empty() && step.question.is_none() {
        fail(
            &at("text"),
            "a step with nothing to read".into(),
            "write a short explanation in `text`, or ask a `question`",
        );
    }
    if let Some(look) = &step.look_at
        && !valid_look_at(look)
    {
        fail(
            &at("look_at"),
            format!("`{look}` is not something on screen"),
            "a component (client, dns, cdn, lb, db, server-2), a plot (plot:latency) or request",
        );
    }
    if let Some(command) = &step.command {
        for (_, name) in placeholders(command) {
            if !is_placeholder(name) {
                fail(
                    &at("command"),
                    format!("unknown placeholder `{{{name}}}`"),
                    &format!(
                        "placeholders: {}, and {{server-N}}",
                        crate::scenario::PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
        }
    }
    if step.time_limit.is_some_and(Dur::is_zero) {
        fail(
            &at("time_limit"),
            "a time limit of zero".into(),
            "how long the checkpoint may take, like \"20s\"",
        );
    }
    if step.check.is_some() && step.question.is_some() {
        fail(
            &at("question"),
            "a step with both a check and a question".into(),
            "split it into two steps: one checks, the next asks",
        );
    }
}

fn check_check(step: &Step, c: &Check, at: &dyn Fn(&str) -> String, fail: Fail<'_>) {
    let at = |f: &str| at(&format!("check.{f}"));
    let Some(kind) = c.kind else {
        let kinds: Vec<&str> = CheckKind::ALL.iter().map(|k| k.name()).collect();
        fail(
            &at("kind"),
            "a check without a kind".into(),
            &format!("kind = one of {}", kinds.join(", ")),
        );
        return;
    };
    check_expect_and_value(kind, c, &at, fail);
    check_what_the_kind_needs(step, kind, c, &at, fail);
    check_filters(c, &at, fail);
}

/// `expect` and `value` are given when the kind needs them, and are ones it can see.
fn check_expect_and_value(kind: CheckKind, c: &Check, at: &dyn Fn(&str) -> String, fail: Fail<'_>) {
    if kind.needs_expect() && c.expect.as_deref().is_none_or(|e| e.trim().is_empty()) {
        fail(
            &at("expect"),
            format!("a `{kind}` check needs `expect`"),
            expect_hint(kind),
        );
    }
    if let Some(expect) = &c.expect {
        let ok = match kind {
            CheckKind::Outcome | CheckKind::NoOutcome => is_outcome(expect),
            CheckKind::Cache => CACHE.contains(&expect.as_str()),
            CheckKind::Dns => RCODES.contains(&expect.as_str()),
            _ => true,
        };
        if !ok {
            fail(
                &at("expect"),
                format!("`{expect}` is not what a `{kind}` check can see"),
                expect_hint(kind),
            );
        }
    }
    match (kind.needs_value(), c.value) {
        (true, None) => fail(
            &at("value"),
            format!("a `{kind}` check needs `value`"),
            value_hint(kind),
        ),
        (_, Some(v)) if !value_in_range(kind, v) => fail(
            &at("value"),
            format!("value {v} is out of range for `{kind}`"),
            value_hint(kind),
        ),
        _ => {}
    }
}

/// What some kinds cannot do without: a change to compare with, a known phase, a
/// header's name, a server.
fn check_what_the_kind_needs(
    step: &Step,
    kind: CheckKind,
    c: &Check,
    at: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) {
    if kind.compares_with_before() && c.after.is_none() && !step.has_action() {
        fail(
            &at("after"),
            format!("a `{kind}` check compares before and after a change, but names none"),
            "after = \"add server\", or give the step the change: buttons = [\"add server\"]",
        );
    }
    if matches!(kind, CheckKind::Span | CheckKind::NoSpan) && c.phase.is_none() {
        fail(
            &at("phase"),
            format!("a `{kind}` check needs `phase`"),
            &format!("one of {}", PHASES.join(", ")),
        );
    }
    if let Some(phase) = &c.phase
        && !PHASES.contains(&phase.as_str())
    {
        fail(
            &at("phase"),
            format!("unknown phase `{phase}`"),
            &format!("one of {}", PHASES.join(", ")),
        );
    }
    if kind == CheckKind::Header && c.attr.is_none() {
        fail(
            &at("attr"),
            "a `header` check needs the header's name in `attr`".into(),
            "attr = \"retry-after\"",
        );
    }
    if matches!(kind, CheckKind::ShareBelow | CheckKind::ShareAbove) && c.server.is_none() {
        fail(
            &at("server"),
            format!("a `{kind}` check needs `server`"),
            "server = \"server-3\"",
        );
    }
}

/// The filters on which requests count are well-formed: a server, an outcome, a method,
/// a path; a percentile, a count and a window that mean something.
fn check_filters(c: &Check, at: &dyn Fn(&str) -> String, fail: Fail<'_>) {
    if let Some(server) = &c.server
        && server_number(server).is_none()
    {
        fail(
            &at("server"),
            format!("`{server}` is not a server"),
            "server-1, server-2, …",
        );
    }
    if let Some(status) = &c.status
        && !is_outcome(status)
    {
        fail(
            &at("status"),
            format!("`{status}` is not an outcome"),
            "a status code (404), a class (5xx) or a failure (timeout, dns_failure, …)",
        );
    }
    if let Some(method) = &c.method
        && (method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()))
    {
        fail(
            &at("method"),
            format!("method `{method}`"),
            "GET, POST, PUT, PATCH, DELETE or HEAD",
        );
    }
    if let Some(url) = &c.url
        && !url.starts_with('/')
    {
        fail(
            &at("url"),
            format!("`{url}` does not start with /"),
            "a path, like /users/1 or /users/*",
        );
    }
    if let Some(p) = c.percentile
        && !(p.is_finite() && p > 0.0 && p < 100.0)
    {
        fail(
            &at("percentile"),
            format!("percentile {p}"),
            "a number between 0 and 100, like 50 for the median",
        );
    }
    if c.count == Some(0) {
        fail(&at("count"), "a count of zero".into(), "at least 1");
    }
    if c.within.is_some_and(Dur::is_zero) {
        fail(&at("within"), "a window of zero".into(), "like \"3s\"");
    }
}

fn expect_hint(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Outcome | CheckKind::NoOutcome => {
            "a status code (404), a class (2xx, 5xx, failed) or a failure: dns_failure, connection_refused, connection_reset, timeout, tls_error"
        }
        CheckKind::Cache => "HIT, MISS, EXPIRED, REVALIDATED or BYPASS",
        CheckKind::Dns => "NOERROR, NXDOMAIN, REFUSED, SERVFAIL or DROPPED",
        CheckKind::Marker => "text the marker contains, like \"marked unhealthy\"",
        CheckKind::Body => "text the response body contains, like \"pizza\"",
        _ => "the value to look for",
    }
}

fn value_hint(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::ServedByCount => "a number of servers, like 3",
        CheckKind::ShareBelow | CheckKind::ShareAbove => "a share from 0 to 1, like 0.2",
        CheckKind::HitRatioAbove | CheckKind::HitRatioBelow => "a ratio from 0 to 1, like 0.8",
        CheckKind::P99Drop => "a percentage from 1 to 100, like 30",
        CheckKind::P99Rise => "a percentage above 0, like 100 (twice as slow)",
        CheckKind::P99Above | CheckKind::P99Below => "milliseconds, like 250",
        CheckKind::QueueAbove => "a number of waiting requests, like 5",
        _ => "a number",
    }
}

fn value_in_range(kind: CheckKind, v: f64) -> bool {
    if !v.is_finite() {
        return false;
    }
    match kind {
        CheckKind::ShareBelow
        | CheckKind::ShareAbove
        | CheckKind::HitRatioAbove
        | CheckKind::HitRatioBelow => (0.0..=1.0).contains(&v),
        CheckKind::P99Drop => v > 0.0 && v <= 100.0,
        CheckKind::ServedByCount => v >= 1.0,
        _ => v >= 0.0,
    }
}

fn check_question(q: &Question, at: &dyn Fn(&str) -> String, fail: Fail<'_>) {
    let at = |f: &str| at(&format!("question.{f}"));
    if q.ask.trim().is_empty() {
        fail(
            &at("ask"),
            "a question without a question".into(),
            "ask = \"…?\"",
        );
    }
    if q.choices.len() < 2 {
        fail(
            &at("choices"),
            format!("{} choices", q.choices.len()),
            "at least two choices",
        );
    } else if q.answer >= q.choices.len() {
        fail(
            &at("answer"),
            format!("answer {} but {} choices", q.answer, q.choices.len()),
            "the index of the right choice, from 0",
        );
    }
    if !q.feedback.is_empty() && q.feedback.len() != q.choices.len() {
        fail(
            &at("feedback"),
            format!(
                "{} feedback lines for {} choices",
                q.feedback.len(),
                q.choices.len()
            ),
            "one line per choice, in the same order, or none",
        );
    }
    if q.explain.trim().is_empty() {
        fail(
            &at("explain"),
            "no explanation".into(),
            "say why the right answer is right",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::load_str;

    fn problems(text: &str) -> Vec<(usize, usize, String, String)> {
        match load_str("t.toml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .problems()
                .iter()
                .map(|p| (p.line, p.column, p.field.clone(), p.message.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_well_formed_step_passes() {
        let text = r#"
[[steps]]
title = "Kill one"
text = "Watch the 502."
look_at = "server-2"
command = '''curl -H 'Host: {host}' http://{edge}/users/1 -d '{"a": 1}' '''
buttons = ["kill server-2", { label = "Both", do = ["kill server-1", "restart server-2"] }]
actions = ["rate 5", { at = "2s", send = { method = "GET", path = "/users/1" } }]
keep = "server-2 stays down for the next step."
check = { kind = "outcome", expect = "502" }

[[steps]]
title = "Guess"
text = "Add a server."
buttons = ["add server"]
predict = { ask = "p99?", measure = "p99", explain = "More workers." }

[[steps]]
title = "Why?"
question = { ask = "What failed?", choices = ["a", "b"], answer = 1, explain = "b" }
"#;
        assert_eq!(problems(text), Vec::new());
    }

    #[test]
    fn every_step_problem_is_reported_with_its_place() {
        let text = r#"
[[steps]]
title = ""
text = "x"
look_at = "the moon"
command = "dig @{dns_host} -p {dns_port}"
buttons = ["explode server-1"]
check = { kind = "p99_drop", value = 150.0, phase = "warp" }

[[steps]]
title = "q"
question = { ask = "?", choices = ["only"], answer = 3, explain = "" }

[[steps]]
title = "k"
text = "t"
check = { kind = "outcom", expect = "502" }
"#;
        let p = problems(text);
        let fields: Vec<(usize, &str)> = p.iter().map(|p| (p.0, p.2.as_str())).collect();
        assert_eq!(
            fields,
            vec![
                (3, "steps[1].title"),
                (5, "steps[1].look_at"),
                (6, "steps[1].command"),
                (7, "steps[1].buttons[1]"),
                (8, "steps[1].check.value"),
                (8, "steps[1].check.phase"),
                (12, "steps[2].question.choices"),
                (12, "steps[2].question.explain"),
                (17, "steps[3].check.kind"),
            ],
            "{p:#?}"
        );
        assert!(p[2].3.contains("{dns_host}"), "{:?}", p[2]);
    }

    #[test]
    fn actions_buttons_and_predictions_are_checked_with_their_place() {
        let text = r#"
[[steps]]
title = "a"
text = "t"
actions = [{ at = "2s" }, { do = "weight nobody 2" }]
buttons = [{ label = "x", do = ["kill server-1", "explode"] }]
keep = "because"

[[steps]]
title = "b"
text = "t"
keep = "why"
predict = { ask = "?", measure = "share", choices = ["one"], explain = "e" }
"#;
        let p = problems(text);
        let fields: Vec<(usize, &str)> = p.iter().map(|p| (p.0, p.2.as_str())).collect();
        assert_eq!(
            fields,
            vec![
                (5, "steps[1].actions[1]"),
                (5, "steps[1].actions[2].do"),
                (6, "steps[1].buttons[1].do[2]"),
                (12, "steps[2].keep"),
                (13, "steps[2].predict.server"),
                (13, "steps[2].predict.ask"),
                (13, "steps[2].predict.choices"),
            ],
            "{p:#?}"
        );
        assert!(p[1].3.contains("no profile named `nobody`"), "{:?}", p[1]);
        assert!(p[5].3.contains("has none"), "{:?}", p[5]);
    }

    #[test]
    fn a_check_cannot_wait_for_a_button_that_is_undone() {
        let text = r#"
[[steps]]
title = "Kill"
text = "t"
buttons = ["kill server-2"]

[[steps]]
title = "Watch"
text = "t"
check = { kind = "outcome", expect = "502", after = "kill server-2" }
"#;
        let p = problems(text);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!((p[0].0, p[0].2.as_str()), (10, "steps[2].check.after"));
        assert!(p[0].3.contains("undone"), "{p:?}");
        let kept = text.replace(
            "buttons = [\"kill server-2\"]",
            "buttons = [\"kill server-2\"]\nkeep = \"why\"",
        );
        assert_eq!(problems(&kept), Vec::new());
    }

    #[test]
    fn old_lessons_get_told_how_to_move_their_events_and_expects() {
        let text = r#"
[[events]]
at = "4s"
do = "kill server-2"

[[steps]]
title = "Dies"
text = "t"
expects = ["kill server-2"]
"#;
        let e = crate::scenario::load_str("old.toml", text).expect_err("old format");
        let shown = e.to_string();
        assert!(shown.contains("old.toml:2:1"), "{shown}");
        assert!(shown.contains("actions"), "{shown}");
        assert!(shown.contains("old.toml:9:1"), "{shown}");
        assert!(shown.contains("buttons"), "{shown}");
    }

    #[test]
    fn step_problems_do_not_hide_or_get_hidden_by_other_problems() {
        let step = "[[steps]]\ntitle = \"\"\ntext = \"x\"\n";
        let p = problems(&format!("time_scale = 0.5\n{step}"));
        let fields: Vec<&str> = p.iter().map(|p| p.2.as_str()).collect();
        assert_eq!(fields, vec!["time_scale", "steps[1].title"], "{p:#?}");
        let p = problems(&format!("[servers]\ncount = \"three\"\n{step}"));
        let fields: Vec<&str> = p.iter().map(|p| p.2.as_str()).collect();
        assert_eq!(fields, vec!["servers.count", "steps[1].title"], "{p:#?}");
    }
}
