//! Messages and hints: the first line of a parser's message, a hint drawn from a serde
//! message, and "did you mean" suggestions by edit distance.

/// A hint drawn from a serde message.
pub fn hint_for(message: &str) -> Option<String> {
    if let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    {
        let given = rest.split('`').next().unwrap_or("");
        if given == "expects" {
            return Some(
                "`expects` is now `buttons` (what the learner presses); what the step does by itself goes in `actions`".into(),
            );
        }
        let expected: Vec<&str> = message
            .split("expected ")
            .nth(1)
            .map(|tail| tail.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        if expected.is_empty() {
            return Some("this field is not allowed here".into());
        }
        return Some(suggest(given, &expected));
    }
    if message.contains("invalid type") {
        if message.contains("expected a string") || message.contains("expected struct Dur") {
            return Some("write the value in quotes, like \"10s\"".into());
        }
        if message.contains("expected usize")
            || message.contains("expected u64")
            || message.contains("expected u32")
        {
            return Some("write a whole number without quotes, like 3".into());
        }
        if message.contains("expected f64") {
            return Some("write a number without quotes, like 0.5".into());
        }
        if message.contains("expected a boolean") {
            return Some("write true or false without quotes".into());
        }
    }
    None
}

/// "did you mean `x`?" when a candidate is close, else the list of candidates.
pub fn suggest(given: &str, candidates: &[&str]) -> String {
    let best = candidates
        .iter()
        .map(|c| (edit_distance(given, c), *c))
        .min();
    match best {
        Some((d, c)) if d <= 2.max(given.len() / 3) => format!("did you mean `{c}`?"),
        _ => format!("allowed here: {}", candidates.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}
