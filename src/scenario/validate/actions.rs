//! Checking what a lesson's steps do: each action (`do` xor `send`, a delay), each button,
//! `keep`, and predictions. Shared with the scenario's `[[events]]`, whose commands and
//! requests follow the same rules.

use crate::scenario::{Command, Dur, Measure, Predict, SendRequest, Step};

type Fail<'a> = &'a mut dyn FnMut(&str, String, &str);

/// What is wrong with a control command, if anything: message and hint.
pub fn command_problem(text: &str, profiles: &[String]) -> Option<(String, String)> {
    match text.parse::<Command>() {
        Ok(Command::Weight(p, _)) if !profiles.contains(&p) => Some((
            format!("no profile named `{p}`"),
            format!("profiles: {}", profiles.join(", ")),
        )),
        Ok(_) => None,
        Err(msg) => Some((msg, "the same commands as `hopscope serve` reads".into())),
    }
}

/// The problems of a `send` request at `at` (`events[2].send`).
pub fn send_problems(send: &SendRequest, profiles: &[String], at: &str, fail: Fail<'_>) {
    if !send.path.starts_with('/') {
        fail(
            &format!("{at}.path"),
            format!("path `{}` does not start with /", send.path),
            "like /users/1",
        );
    }
    if send.method.is_empty() || !send.method.bytes().all(|b| b.is_ascii_uppercase()) {
        fail(
            &format!("{at}.method"),
            format!("method `{}`", send.method),
            "GET, POST, PUT, PATCH or DELETE",
        );
    }
    if let Some(p) = &send.profile
        && !profiles.contains(p)
    {
        fail(
            &format!("{at}.profile"),
            format!("no profile named `{p}`"),
            &format!("profiles: {}", profiles.join(", ")),
        );
    }
}

/// The problems of a step's actions, buttons, `keep` and prediction.
pub fn check_actions(
    step: &Step,
    profiles: &[String],
    at: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) {
    for (k, a) in step.actions.iter().enumerate() {
        let here = at(&format!("actions[{}]", k + 1));
        match (&a.action, &a.send) {
            (Some(_), Some(_)) => fail(
                &format!("{here}.do"),
                "both `do` and `send`".into(),
                "one action does one thing: write two actions",
            ),
            (None, None) => fail(
                &here,
                "an action that does nothing".into(),
                "do = \"kill server-2\", or send = { method = \"GET\", path = \"/users/1\" }",
            ),
            (Some(text), None) => {
                if let Some((msg, hint)) = command_problem(text, profiles) {
                    fail(&format!("{here}.do"), msg, &hint);
                }
            }
            (None, Some(send)) => send_problems(send, profiles, &format!("{here}.send"), fail),
        }
        if a.at
            .is_some_and(|d| d.get() > std::time::Duration::from_secs(3600))
        {
            fail(
                &format!("{here}.at"),
                "a delay of more than an hour".into(),
                "a few seconds after the step becomes current, like \"2s\"",
            );
        }
    }
    for (k, b) in step.buttons.iter().enumerate() {
        let here = at(&format!("buttons[{}]", k + 1));
        match (b.commands.is_empty(), &b.send) {
            (false, Some(_)) => fail(
                &format!("{here}.do"),
                "both `do` and `send`".into(),
                "a button does commands or sends a request: make two buttons",
            ),
            (true, None) => fail(
                &here,
                "a button that does nothing".into(),
                "do = \"kill server-2\" (or a list), or send = { method = \"GET\", path = \"/users/1\" }",
            ),
            _ => {}
        }
        for (j, text) in b.commands.iter().enumerate() {
            if let Some((msg, hint)) = command_problem(text, profiles) {
                let place = if b.label.is_none() && b.commands.len() == 1 {
                    here.clone()
                } else {
                    format!("{here}.do[{}]", j + 1)
                };
                fail(&place, msg, &hint);
            }
        }
        if let Some(send) = &b.send {
            send_problems(send, profiles, &format!("{here}.send"), fail);
        }
        if b.label.as_deref().is_some_and(|l| l.trim().is_empty()) {
            fail(
                &format!("{here}.label"),
                "an empty label".into(),
                "a few words, like \"Break server-1\"",
            );
        }
    }
    if step.keep.is_some() && step.buttons.is_empty() {
        fail(
            &at("keep"),
            "`keep` says why a button's effect stays, but this step has no buttons".into(),
            "remove `keep`: what `actions` do always stays for the following steps",
        );
    }
    if let Some(p) = &step.predict {
        check_predict(step, p, at, fail);
    }
}

fn check_predict(step: &Step, p: &Predict, at: &dyn Fn(&str) -> String, fail: Fail<'_>) {
    let at = |f: &str| at(&format!("predict.{f}"));
    if p.ask.trim().is_empty() {
        fail(
            &at("ask"),
            "a prediction without a question".into(),
            "ask = \"What will p99 latency do when a third server joins?\"",
        );
    }
    let Some(measure) = p.measure else {
        let names: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
        fail(
            &at("measure"),
            "a prediction needs `measure`: the number the trace shows beside it".into(),
            &format!("measure = one of {}", names.join(", ")),
        );
        return;
    };
    if measure == Measure::Share && p.server.is_none() {
        fail(
            &at("server"),
            "a `share` prediction needs `server`".into(),
            "server = \"server-2\"",
        );
    }
    if let Some(url) = &p.url
        && !url.starts_with('/')
    {
        fail(
            &at("url"),
            format!("`{url}` does not start with /"),
            "a path, like /users/1 or /users/*",
        );
    }
    match (p.choices.len(), p.answer) {
        (0, Some(_)) => fail(
            &at("answer"),
            "an answer without choices".into(),
            "give `choices`, or leave `answer` out and let the learner type a number",
        ),
        (1, _) => fail(
            &at("choices"),
            "1 choice".into(),
            "at least two choices, or none for a number",
        ),
        (n, Some(a)) if n > 0 && a >= n => fail(
            &at("answer"),
            format!("answer {a} but {n} choices"),
            "the index of the right choice, from 0",
        ),
        (n, None) if n > 0 => fail(
            &at("answer"),
            "choices without an answer".into(),
            "answer = the index of the choice the measurement will bear out, from 0",
        ),
        _ => {}
    }
    if p.within.is_some_and(Dur::is_zero) {
        fail(&at("within"), "a window of zero".into(), "like \"3s\"");
    }
    if p.explain.trim().is_empty() {
        fail(
            &at("explain"),
            "no explanation".into(),
            "say why the measurement came out as it did",
        );
    }
    if !step.has_action() {
        fail(
            &at("ask"),
            "a prediction is asked before the step's action, but this step has none".into(),
            "add the action the learner predicts: buttons = [\"add server\"] or actions = [\"add server\"]",
        );
    }
    if step.question.is_some() {
        fail(
            &at("ask"),
            "a step with both a question and a prediction".into(),
            "split it into two steps",
        );
    }
}

/// Problems across a lesson's steps: a check waiting for an earlier step's button whose
/// effect is undone when the learner leaves that step.
pub fn lesson_problems(steps: &[Step], fail: Fail<'_>) {
    for (j, step) in steps.iter().enumerate() {
        let Some(after) = step.check.as_ref().and_then(|c| c.after.as_deref()) else {
            continue;
        };
        let wanted = after.to_ascii_lowercase();
        let earlier = steps[..j].iter().enumerate().rev().find(|(_, s)| {
            s.buttons.iter().any(|b| {
                b.texts()
                    .iter()
                    .any(|t| t.to_ascii_lowercase().contains(&wanted))
            })
        });
        if let Some((i, source)) = earlier
            && source.keep.is_none()
            && !source.buttons.iter().all(|b| b.commands.is_empty())
        {
            fail(
                &format!("steps[{}].check.after", j + 1),
                format!(
                    "“{after}” is a button of step {}, whose effect is undone when the learner leaves that step",
                    i + 1
                ),
                &format!(
                    "give step {} keep = \"why it stays\", or make it one of that step's `actions`",
                    i + 1
                ),
            );
        }
    }
}
