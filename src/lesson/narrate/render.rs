//! How narration prints: a step as it becomes current (title rule, text, what to look
//! at, what it does, its buttons, its prediction, the command with its placeholders
//! filled in), a question with its answer, and text wrapped to the terminal's width.

use super::super::fill;
use crate::engine::Addresses;
use crate::scenario::{Question, Step};

/// A step as printed when it becomes current.
pub fn render_step(
    step: &Step,
    index: usize,
    total: usize,
    addresses: &Addresses,
    width: usize,
) -> String {
    let mut s = String::new();
    let head = format!("── Step {}/{total} · {} ", index + 1, step.title);
    let rule = width.saturating_sub(head.chars().count());
    s.push_str(&format!("\n{head}{}\n", "─".repeat(rule)));
    if !step.text.trim().is_empty() {
        s.push_str(&wrap(&step.text, width, ""));
        s.push('\n');
    }
    if let Some(look) = &step.look_at {
        s.push_str(&format!("  look at: {}\n", describe_look_at(look)));
    }
    if let Some(prompt) = &step.prompt {
        s.push_str(&wrap(&format!("do this: {prompt}"), width, "  "));
        s.push('\n');
    }
    for action in &step.actions {
        let when = match action.at {
            Some(at) if !at.is_zero() => format!("{:.1} s in", at.get().as_secs_f64()),
            _ => "at once".to_string(),
        };
        s.push_str(&format!("  the step does, {when}: {}\n", action.text()));
    }
    for button in &step.buttons {
        s.push_str(&format!("  button: {}\n", button.label()));
    }
    if let Some(keep) = &step.keep {
        s.push_str(&wrap(
            &format!("(stays after this step: {keep})"),
            width,
            "  ",
        ));
        s.push('\n');
    }
    if let Some(p) = &step.predict {
        s.push_str(&wrap(&format!("Predict: {}", p.ask), width, "  "));
        s.push('\n');
        for (i, choice) in p.choices.iter().enumerate() {
            let letter = char::from(b'a' + (i % 26) as u8);
            s.push_str(&format!("    {letter}) {choice}\n"));
        }
        if p.choices.is_empty()
            && let Some(m) = p.measure
        {
            s.push_str(&format!("    (a number, in {})\n", m.unit()));
        }
    }
    if let Some(command) = &step.command {
        s.push_str(&format!("  $ {}\n", fill(command, addresses)));
    }
    s
}

/// A question with its choices, the right answer and why.
pub fn render_question(q: &Question, width: usize) -> String {
    let mut s = wrap(&format!("Question: {}", q.ask), width, "  ");
    s.push('\n');
    for (i, choice) in q.choices.iter().enumerate() {
        let letter = char::from(b'a' + (i % 26) as u8);
        let mark = if i == q.answer { "  ← right" } else { "" };
        s.push_str(&format!("    {letter}) {choice}{mark}\n"));
    }
    s.push_str(&wrap(&format!("Why: {}", q.explain), width, "  "));
    s.push('\n');
    s
}

/// Words for what `look_at` names.
pub fn describe_look_at(look: &str) -> String {
    match look {
        "request" => "the selected request's journey".into(),
        "client" => "the clients".into(),
        "dns" => "the DNS stub".into(),
        "cdn" => "the CDN cache".into(),
        "lb" => "the load balancer".into(),
        "db" => "the database".into(),
        other => match other.strip_prefix("plot:") {
            Some(plot) => format!("the {} plot", plot.replace('_', " ")),
            None => other.to_string(),
        },
    }
}

/// Wraps `text` at `width` characters, each line starting with `indent`; blank lines in
/// the text stay paragraph breaks.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.trim().split("\n\n") {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        let mut line = String::from(indent);
        for word in paragraph.split_whitespace() {
            let fits = line.chars().count() + 1 + word.chars().count() <= width.max(20);
            if line.len() > indent.len() && !fits {
                lines.push(std::mem::replace(&mut line, String::from(indent)));
            }
            if line.len() > indent.len() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if line.len() > indent.len() {
            lines.push(line);
        }
    }
    lines.join("\n")
}
