//! Playing a lesson headless, as `hopscope run --narrate` does: each step is printed as it
//! becomes current (title, text, what to look at and do, the command with its placeholders
//! filled in), its checkpoint is judged against live snapshots until it holds or its time
//! limit runs out, and the verdict is printed (✓ with what was seen, ✗ with what was
//! missing). Questions are printed with their choices and the right answer's explanation.
//!
//! Without a learner, the actions a step expects are done by the scenario's own timed
//! events; the checks wait for their markers, whenever those come.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::check::{Context, Verdict, evaluate};
use super::{fill, scripted_time};
use crate::engine::{Addresses, Engine};
use crate::scenario::{Question, Scenario, Step};
use crate::trace::Snapshot;

/// A running lesson, as narration sees it.
pub trait Live {
    /// The latest snapshot.
    fn snapshot(&self) -> Arc<Snapshot>;
    /// Every listening address, for the commands' placeholders.
    fn addresses(&self) -> Addresses;
}

impl Live for Engine {
    fn snapshot(&self) -> Arc<Snapshot> {
        Engine::snapshot(self)
    }

    fn addresses(&self) -> Addresses {
        Engine::addresses(self)
    }
}

/// How narration runs.
#[derive(Clone, Debug)]
pub struct NarrateOptions {
    /// Shortens every step's time limit to at most this (tests).
    pub step_cap: Option<Duration>,
    /// Stops narrating after this long in all (remaining checkpoints count as missed).
    pub deadline: Option<Duration>,
    /// How often a checkpoint is judged.
    pub poll: Duration,
    /// Characters per line when wrapping text.
    pub width: usize,
}

impl Default for NarrateOptions {
    fn default() -> Self {
        NarrateOptions {
            step_cap: None,
            deadline: None,
            poll: Duration::from_millis(50),
            width: 78,
        }
    }
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq)]
pub enum StepResult {
    /// Nothing to check: read and moved on.
    Read,
    /// A question, shown with its answer.
    Asked,
    /// The checkpoint held: what was seen.
    Passed(String),
    /// The checkpoint did not hold in time: what was missing.
    Missed(String),
}

/// One step's report.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// 0-based.
    pub index: usize,
    pub title: String,
    pub result: StepResult,
    /// Seconds the step took.
    pub seconds: f64,
}

/// The whole lesson's report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub steps: Vec<StepReport>,
}

impl Report {
    /// Steps whose checkpoint did not hold.
    pub fn missed(&self) -> Vec<&StepReport> {
        self.steps
            .iter()
            .filter(|s| matches!(s.result, StepResult::Missed(_)))
            .collect()
    }

    /// Checkpoints that held, and checkpoints in all.
    pub fn checkpoints(&self) -> (usize, usize) {
        let passed = self
            .steps
            .iter()
            .filter(|s| matches!(s.result, StepResult::Passed(_)))
            .count();
        (passed, passed + self.missed().len())
    }

    /// Whether every checkpoint held.
    pub fn all_passed(&self) -> bool {
        self.missed().is_empty()
    }

    /// A one-line verdict.
    pub fn verdict(&self) -> String {
        let (passed, total) = self.checkpoints();
        let missed: Vec<String> = self
            .missed()
            .iter()
            .map(|s| format!("step {} “{}”", s.index + 1, s.title))
            .collect();
        if missed.is_empty() {
            format!("all {total} checkpoints passed")
        } else {
            format!(
                "{passed} of {total} checkpoints passed; missed: {}",
                missed.join(", ")
            )
        }
    }
}

/// Plays the steps of `scenario` against `live`, printing to `out`.
pub fn narrate(
    scenario: &Scenario,
    live: &dyn Live,
    options: &NarrateOptions,
    out: &mut dyn Write,
) -> io::Result<Report> {
    let started = Instant::now();
    let scale = scenario.time_scale.max(1.0);
    let addresses = live.addresses();
    let total = scenario.steps.len();
    let mut report = Report::default();
    writeln!(out, "Lesson: {}", scenario.name)?;
    if !scenario.summary.is_empty() {
        writeln!(out, "{}", wrap(&scenario.summary, options.width, ""))?;
    }
    for (index, step) in scenario.steps.iter().enumerate() {
        let step_start = Instant::now();
        let since = live.snapshot().now_micros;
        write!(
            out,
            "{}",
            render_step(scenario, step, index, total, &addresses, options.width)
        )?;
        out.flush()?;
        let result = if let Some(q) = &step.question {
            write!(out, "{}", render_question(q, options.width))?;
            StepResult::Asked
        } else if let Some(check) = &step.check {
            // Stretched by the time scale; a huge scale means "no limit", never a panic.
            let mut limit = Duration::try_from_secs_f64(step.limit().as_secs_f64() * scale)
                .unwrap_or(Duration::MAX);
            if let Some(cap) = options.step_cap {
                limit = limit.min(cap);
            }
            if let Some(deadline) = options.deadline {
                limit = limit.min(deadline.saturating_sub(started.elapsed()));
            }
            let ctx = Context::for_step(step, since, scale);
            let verdict = loop {
                let verdict = evaluate(check, &live.snapshot(), &ctx);
                if verdict.passed() || step_start.elapsed() >= limit {
                    break verdict;
                }
                std::thread::sleep(options.poll);
            };
            match verdict {
                Verdict::Passed(seen) => {
                    let said = check.success.as_deref().unwrap_or("");
                    writeln!(
                        out,
                        "  ✓ {}",
                        wrap(said, options.width, "    ").trim_start()
                    )?;
                    writeln!(out, "    ({})", seen)?;
                    StepResult::Passed(seen)
                }
                Verdict::Waiting(missing) => {
                    writeln!(
                        out,
                        "  ✗ not seen within {:.0} s: {missing}",
                        limit.as_secs_f64()
                    )?;
                    if let Some(hint) = &check.hint {
                        writeln!(out, "{}", wrap(hint, options.width, "    "))?;
                    }
                    StepResult::Missed(missing)
                }
            }
        } else {
            StepResult::Read
        };
        report.steps.push(StepReport {
            index,
            title: step.title.clone(),
            result,
            seconds: step_start.elapsed().as_secs_f64(),
        });
        out.flush()?;
    }
    writeln!(out, "\n{}", report.verdict())?;
    Ok(report)
}

/// A step as printed when it becomes current.
pub fn render_step(
    scenario: &Scenario,
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
    for action in &step.expects {
        let when = scripted_time(scenario, action)
            .map(|t| format!(" (the scenario does it {t} if nobody does)"))
            .unwrap_or_default();
        s.push_str(&format!("  press: {action}{when}\n"));
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

#[cfg(test)]
#[path = "narrate_tests.rs"]
mod tests;
