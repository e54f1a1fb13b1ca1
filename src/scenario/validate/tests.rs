//! Tests of reading scenario files: problems with their place, hints, size limits and the
//! default scenario read back.

use super::*;
use crate::scenario::ServersConfig;

fn problems(text: &str) -> Vec<Problem> {
    match load_str("test.toml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().to_vec(),
    }
}

#[test]
fn a_three_line_file_is_a_complete_scenario() {
    let s = load_str("t.toml", "name = \"tiny\"\n[servers]\ncount = 5\n").expect("valid");
    assert_eq!(s.name, "tiny");
    assert_eq!(s.servers.count, 5);
    assert_eq!(s.servers.workers, ServersConfig::default().workers);
}

#[test]
fn an_unknown_field_names_line_column_and_the_likely_fix() {
    let p = problems("name = \"x\"\n[servers]\nwokers = 4\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].column), (3, 1));
    assert_eq!(p[0].field, "servers.wokers");
    assert_eq!(p[0].hint.as_deref(), Some("did you mean `workers`?"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "naem = \"x\"\n[servers]\ncount = \"three\"\n[balancer]\npolicy = \"fastest\"\n[[profiles]]\nname = \"a\"\nlatency = 5\n";
    let p = problems(text);
    let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![1, 3, 5, 8], "{p:#?}");
    assert!(
        p[1].hint.as_deref().unwrap_or("").contains("whole number"),
        "{:?}",
        p[1]
    );
    assert!(p[2].message.contains("fastest"));
}

#[test]
fn values_are_checked_with_their_place_in_the_file() {
    let text = "time_scale = 0.5\n[[events]]\nat = \"1s\"\ndo = \"explode server-1\"\n";
    let p = problems(text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!((p[0].line, p[0].field.as_str()), (1, "time_scale"));
    assert_eq!(p[1].line, 4);
    assert!(p[1].message.contains("unknown command"));
}

#[test]
fn a_time_scale_run_would_not_survive_is_refused_in_the_file_and_in_events() {
    let text = "time_scale = 1e20\n[[events]]\nat = \"1s\"\ndo = \"time_scale 1e20\"\n";
    let p = problems(text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!((p[0].line, p[0].field.as_str()), (1, "time_scale"));
    assert!(p[0].message.contains("outside 1 to 1000"), "{:?}", p[0]);
    assert_eq!(p[1].line, 4);
    assert!(p[1].message.contains("from 1 to 1000"), "{:?}", p[1]);
}

#[test]
fn a_zero_duration_is_refused_at_its_place() {
    let p = problems("name = \"x\"\nduration = \"0s\"\n");
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!((p[0].line, p[0].column), (2, 1), "{:?}", p[0]);
    assert_eq!(p[0].field, "duration");
    assert!(p[0].message.contains("zero"), "{:?}", p[0]);
}

#[test]
fn a_file_larger_than_the_limit_is_refused_after_reading_the_limit() {
    let dir = std::env::temp_dir().join(format!("hopscope-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let big = dir.join("big.toml");
    let mut text = "name = \"big\"\n".to_string();
    text.push_str(&"#".repeat(MAX_SCENARIO_BYTES as usize - text.len()));
    std::fs::write(&big, &text).expect("write");
    load(&big).expect("exactly the limit is read");
    text.push('\n');
    std::fs::write(&big, &text).expect("write");
    let e = load(&big).expect_err("one byte over").to_string();
    assert!(
        e.contains("big.toml") && e.contains("larger than 4 MiB"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
    // An endless file: only the limit is read, then it is refused.
    #[cfg(unix)]
    {
        let e = load(Path::new("/dev/zero"))
            .expect_err("endless")
            .to_string();
        assert!(e.contains("/dev/zero") && e.contains("4 MiB"), "{e}");
    }
}

#[test]
fn an_empty_key_is_named_in_the_problem() {
    // Found by fuzzing: `'' = ""` was reported with an empty field and "unknown field ``".
    let p = problems("'' = \"\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field, "\"\"");
    assert_eq!(p[0].message, "unknown field `\"\"`");
}

#[test]
fn syntax_errors_say_where() {
    let p = problems("name = \"x\"\n[servers\ncount = 3\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, 2);
    assert_eq!(p[0].field, "syntax");
}

#[test]
fn the_default_scenario_serialises_only_known_keys() {
    let text = toml::to_string(&Scenario::default()).expect("serialise");
    let back = load_str("roundtrip.toml", &text).expect("reads back");
    assert_eq!(back, Scenario::default());
}
