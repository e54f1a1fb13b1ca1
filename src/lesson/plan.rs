//! What a lesson does to the world, worked out from its steps alone: the world each step
//! expects (the scenario's start plus the earlier steps' actions, and the buttons they
//! `keep`), the settings the lesson touches at all, and the engine operations a button or
//! an action stands for.

use std::collections::BTreeSet;

use super::GuideCommand;
use crate::scenario::{Action, Button, Command, Scenario, Scope, World, key_of};

/// The world step `index` expects when it becomes current.
pub fn expected_world(scenario: &Scenario, index: usize) -> World {
    let mut world = World::from_scenario(scenario);
    for step in scenario.steps.iter().take(index) {
        for command in step.actions.iter().filter_map(action_command) {
            world.apply(&command);
        }
        if step.keep.is_some() {
            for command in step.buttons.iter().flat_map(button_commands) {
                world.apply(&command);
            }
        }
    }
    world
}

/// The settings any step's actions or buttons change (`server-2`, `rate`, `cache`…).
pub fn touched(scenario: &Scenario) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for step in &scenario.steps {
        let commands = step
            .actions
            .iter()
            .filter_map(action_command)
            .chain(step.buttons.iter().flat_map(button_commands));
        keys.extend(commands.filter_map(|c| key_of(&c)));
    }
    keys
}

/// What Back, Start over and Resume restore: every setting, but generated traffic stays
/// paused or flowing as the learner left it unless the lesson itself pauses it (step mode
/// pauses it, and a step turned back should not start it again).
pub fn full_scope(scenario: &Scenario) -> Scope {
    if touched(scenario).contains("paused") {
        Scope::all()
    } else {
        Scope::AllBut(["paused".to_string()].into())
    }
}

/// What moving on restores: only what the lesson itself changes, so a learner's own
/// experiments with other settings stay.
pub fn forward_scope(scenario: &Scenario) -> Scope {
    Scope::Only(touched(scenario))
}

/// The control command an action performs, if it is one (a `send` is not).
pub fn action_command(action: &Action) -> Option<Command> {
    action.action.as_deref()?.parse().ok()
}

/// The control commands a button performs.
pub fn button_commands(button: &Button) -> Vec<Command> {
    button
        .commands
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// The engine operations an action stands for.
pub fn action_ops(action: &Action) -> Vec<GuideCommand> {
    match (&action.action, &action.send) {
        (Some(text), _) => text.parse().map(op_of).into_iter().collect(),
        (None, Some(send)) => vec![GuideCommand::Send(send.clone())],
        (None, None) => Vec::new(),
    }
}

/// The engine operations a button stands for.
pub fn button_ops(button: &Button) -> Vec<GuideCommand> {
    let mut ops: Vec<GuideCommand> = button_commands(button).into_iter().map(op_of).collect();
    if let Some(send) = &button.send {
        ops.push(GuideCommand::Send(send.clone()));
    }
    ops
}

/// A command as an operation: `send METHOD /path` leaves a marker naming its request.
fn op_of(command: Command) -> GuideCommand {
    match command {
        Command::Send(method, path) => GuideCommand::Send(crate::scenario::SendRequest {
            method,
            path,
            ..Default::default()
        }),
        other => GuideCommand::Apply(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_str;

    const LESSON: &str = r#"
[servers]
count = 3

[[steps]]
title = "Kill"
text = "t"
actions = [{ at = "2s", do = "kill server-2" }]

[[steps]]
title = "Break for a while"
text = "t"
buttons = ["error server-1 1"]

[[steps]]
title = "Slow and keep it"
text = "t"
buttons = [{ label = "Slow", do = ["slow server-3 100ms", "rate 40"] }]
keep = "the next step measures the slow server"

[[steps]]
title = "End"
text = "t"
"#;

    #[test]
    fn each_step_expects_the_earlier_actions_and_kept_buttons() {
        let s = load_str("plan.toml", LESSON).expect("valid");
        let start = World::from_scenario(&s);
        assert_eq!(expected_world(&s, 0), start);
        let two = expected_world(&s, 1);
        assert!(!two.servers[&2].alive);
        // A button without `keep` is undone when the learner moves on.
        let three = expected_world(&s, 2);
        assert_eq!(three.servers[&1].error_rate, 0.0);
        let four = expected_world(&s, 3);
        assert_eq!(four.servers[&3].slow.as_millis(), 100);
        assert_eq!(four.rate, 40.0);
        let keys: Vec<String> = touched(&s).into_iter().collect();
        assert_eq!(keys, ["rate", "server-1", "server-2", "server-3"]);
        assert!(!full_scope(&s).wants("paused"));
        assert!(full_scope(&s).wants("time_scale"));
        assert!(!forward_scope(&s).wants("time_scale"));
    }
}
