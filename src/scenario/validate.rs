//! Reading scenario files: every problem at once, each with file, line, column, the field
//! and a hint, and never a panic. Syntax errors come from the TOML parser; each section and
//! each array element is then read on its own so that one mistake does not hide the next;
//! finally the values are checked against what the engine can run.

use std::fmt;
use std::path::Path;

mod actions;
mod hints;
mod locate;
mod reader;
mod steps;
mod traffic;
mod values;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{Scenario, builtin, builtin_names};
use hints::first_line;
use locate::{line_col, path_at, span_of};
use reader::{Reader, profile_names};
use values::check_values;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The field concerned, as a path: `servers.workers`, `profiles[2].latency`.
    pub field: String,
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(file, problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
    #[error(
        "scenario file {file} is larger than {} MiB, the most hopscope reads \
         (a scenario is a few kilobytes: is this the right file?)",
        MAX_SCENARIO_BYTES >> 20
    )]
    TooLarge { file: String },
    #[error(
        "`{name}` is neither a built-in scenario nor a file; built-ins: {}",
        known.join(", ")
    )]
    NotFound { name: String, known: Vec<String> },
}

impl ScenarioError {
    /// The problems found, if the file was read.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn render(file: &str, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{file}:{}:{}: {}: {}",
            p.line, p.column, p.field, p.message
        ));
        if let Some(hint) = &p.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.field, self.message
        )
    }
}

/// Loads a built-in scenario by name, or a scenario file by path.
pub fn resolve(name_or_path: &str) -> Result<(Scenario, String), ScenarioError> {
    if let Some(b) = builtin(name_or_path) {
        let label = format!("builtin:{}", b.name);
        return load_str(&label, b.text).map(|s| (s, label));
    }
    let path = Path::new(name_or_path);
    if path.exists() {
        return load(path).map(|s| (s, name_or_path.to_string()));
    }
    Err(ScenarioError::NotFound {
        name: name_or_path.to_string(),
        known: builtin_names().iter().map(|s| s.to_string()).collect(),
    })
}

/// The largest scenario file read (a real one is a few kilobytes): `/dev/zero` or a log
/// given by mistake is refused after this much, instead of filling memory.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;

/// Loads a scenario file (at most [`MAX_SCENARIO_BYTES`]).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    use std::io::Read;
    let file = path.display().to_string();
    let io = |source| ScenarioError::Io {
        file: file.clone(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_SCENARIO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::TooLarge { file });
    }
    let text = String::from_utf8(bytes).map_err(|e| ScenarioError::Invalid {
        file: file.clone(),
        problems: vec![Problem {
            line: 1,
            column: 1,
            field: "file".into(),
            message: format!(
                "the file is not UTF-8 text (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            hint: Some("save the file as UTF-8".into()),
        }],
    })?;
    load_str(&file, &text)
}

/// Reads a scenario from text; `file` names it in messages.
pub fn load_str(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let invalid = |problems: Vec<Problem>| ScenarioError::Invalid {
        file: file.to_string(),
        problems,
    };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_col(text, offset);
            return Err(invalid(vec![Problem {
                line,
                column,
                field: "syntax".into(),
                message: first_line(e.message()),
                hint: Some("check the TOML syntax here: quotes around text, `=` between key and value, [section] headers".into()),
            }]));
        }
    };
    let mut reader = Reader {
        text,
        root: &root,
        problems: Vec::new(),
        step_problems: Vec::new(),
        profiles: profile_names(&root),
    };
    for (key, value) in root.get_ref().iter() {
        reader.section(key, value);
    }
    reader.events_in_a_lesson();
    // Steps are checked one by one as they are read, so their problems are reported
    // whatever else is wrong in the file.
    let step_problems = std::mem::take(&mut reader.step_problems);
    if !reader.problems.is_empty() {
        let mut problems = reader.problems;
        problems.extend(step_problems);
        problems.sort_by_key(|p| (p.line, p.column));
        return Err(invalid(problems));
    }
    let scenario: Scenario = match Scenario::deserialize_from(&root) {
        Ok(s) => s,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_col(text, offset);
            return Err(invalid(vec![Problem {
                line,
                column,
                field: path_at(&root, offset),
                message: first_line(e.message()),
                hint: None,
            }]));
        }
    };
    let mut problems: Vec<Problem> = check_values(&scenario)
        .into_iter()
        .map(|(path, message, hint)| {
            let offset = span_of(&root, &path).unwrap_or(0);
            let (line, column) = line_col(text, offset);
            Problem {
                line,
                column,
                field: path,
                message,
                hint,
            }
        })
        .collect();
    problems.extend(step_problems);
    if problems.is_empty() {
        Ok(scenario)
    } else {
        problems.sort_by_key(|p| (p.line, p.column));
        Err(invalid(problems))
    }
}

impl Scenario {
    fn deserialize_from(root: &Spanned<DeTable<'_>>) -> Result<Scenario, toml::de::Error> {
        let value = Spanned::new(root.span(), DeValue::Table(root.get_ref().clone()));
        Scenario::deserialize(ValueDeserializer::from(value))
    }
}

#[cfg(test)]
mod tests;
