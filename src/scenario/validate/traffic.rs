//! Checking what is sent: the traffic's rate, users, popularity and timeouts; each client
//! profile and its request mix; and each timed event (when it happens and what it does).

use super::actions;
use super::values::Fail;
use crate::scenario::{MAX_REQUEST_TIMEOUT, Profile, Scenario, TrafficMode};

/// The traffic's rate, users, popularity, timeout and in-flight cap are ones a run can keep.
pub fn check_traffic(s: &Scenario, fail: Fail<'_>) {
    let t = &s.traffic;
    if !(t.rate.is_finite() && t.rate >= 0.0 && t.rate <= 1_000_000.0) {
        fail(
            "traffic.rate",
            format!("rate {}", t.rate),
            "requests per second, from 0 to 1000000",
        );
    }
    if t.mode == TrafficMode::Closed && t.users == 0 {
        fail(
            "traffic.users",
            "closed-loop traffic with no users".into(),
            "at least 1 user",
        );
    }
    if !(t.zipf.is_finite() && t.zipf >= 0.0 && t.zipf <= 10.0) {
        fail(
            "traffic.zipf",
            format!("zipf exponent {}", t.zipf),
            "0 for uniform, around 1 for typical popularity",
        );
    }
    if t.timeout.is_zero() {
        fail(
            "traffic.timeout",
            "the request timeout is zero".into(),
            "like \"5s\"",
        );
    } else if t.timeout.get() > MAX_REQUEST_TIMEOUT {
        fail(
            "traffic.timeout",
            format!("a request timeout of {}", t.timeout),
            &format!(
                "at most {} (a browser gives up after about 5 minutes), like \"5s\"",
                crate::scenario::Dur(MAX_REQUEST_TIMEOUT)
            ),
        );
    }
    if t.max_in_flight == 0 {
        fail(
            "traffic.max_in_flight",
            "no request may be in flight".into(),
            "at least 1",
        );
    }
}

/// Each profile has a one-word name, a weight, clients, a loss below 1 and a mix of
/// well-formed requests.
pub fn check_profiles(s: &Scenario, fail: Fail<'_>) {
    for (i, p) in s.profiles.iter().enumerate() {
        let at = |f: &str| format!("profiles[{}].{f}", i + 1);
        if p.name.is_empty() || p.name.contains(char::is_whitespace) {
            fail(
                &at("name"),
                format!("profile name `{}`", p.name),
                "one word, like browser",
            );
        }
        if !(p.weight.is_finite() && p.weight >= 0.0) {
            fail(
                &at("weight"),
                format!("weight {}", p.weight),
                "a share of the traffic, like 2",
            );
        }
        if p.clients == 0 {
            fail(&at("clients"), "no clients".into(), "at least 1");
        }
        if !(0.0..1.0).contains(&p.loss) {
            fail(
                &at("loss"),
                format!("loss {}", p.loss),
                "a share below 1, like 0.05",
            );
        }
        if p.mix.is_empty() {
            fail(
                &at("mix"),
                "the profile sends nothing".into(),
                "add at least one request, like { path = \"/users/{id}\" }",
            );
        }
        check_mix(i, p, fail);
    }
}

/// Each request of profile `i`'s mix has a method, a path from the root and a weight.
fn check_mix(i: usize, p: &Profile, fail: Fail<'_>) {
    for (k, tpl) in p.mix.iter().enumerate() {
        let at = |f: &str| format!("profiles[{}].mix[{}].{f}", i + 1, k + 1);
        if tpl.method.is_empty() || !tpl.method.bytes().all(|b| b.is_ascii_uppercase()) {
            fail(
                &at("method"),
                format!("method `{}`", tpl.method),
                "GET, POST, PUT, PATCH or DELETE",
            );
        }
        if !tpl.path.starts_with('/') {
            fail(
                &at("path"),
                format!("path `{}` does not start with /", tpl.path),
                "like /users/{id}",
            );
        }
        if !(tpl.weight.is_finite() && tpl.weight >= 0.0) {
            fail(
                &at("weight"),
                format!("weight {}", tpl.weight),
                "a positive number",
            );
        }
    }
}

/// Each event says when (`at` xor `after_requests`) and does one thing (`do` xor `send`),
/// a command or request the engine understands.
pub fn check_events(s: &Scenario, fail: Fail<'_>) {
    let names: Vec<String> = s.effective_profiles().into_iter().map(|p| p.name).collect();
    for (i, e) in s.events.iter().enumerate() {
        let at = |f: &str| format!("events[{}].{f}", i + 1);
        match (e.at.is_some(), e.after_requests.is_some()) {
            (true, true) => fail(
                &at("at"),
                "both `at` and `after_requests`".into(),
                "give one of them",
            ),
            (false, false) => fail(
                &format!("events[{}]", i + 1),
                "no `at` or `after_requests`".into(),
                "say when: at = \"5s\" or after_requests = 100",
            ),
            _ => {}
        }
        match (&e.action, &e.send) {
            (Some(_), Some(_)) => fail(
                &at("do"),
                "both `do` and `send`".into(),
                "one event does one thing",
            ),
            (None, None) => fail(
                &format!("events[{}]", i + 1),
                "nothing to do".into(),
                "add do = \"kill server-2\" or a [events.send] request",
            ),
            (Some(text), None) => {
                if let Some((msg, hint)) = actions::command_problem(text, &names) {
                    fail(&at("do"), msg, &hint);
                }
            }
            (None, Some(send)) => {
                actions::send_problems(send, &names, &at("send"), fail);
            }
        }
    }
}
