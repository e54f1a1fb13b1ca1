//! Integration tests: the trace spool on disk, through the `hopscope` binary as a user runs
//! it. A tiny `trace.spool_limit`: the run goes on, the summary counts every request, the
//! exports say they are truncated and how many requests they hold. A spool folder that cannot
//! be made: a clear message, and the run completes. `--spool-dir` / `HOPSCOPE_SPOOL_DIR`
//! choose the folder, and nothing is left in it afterwards. The window shows a banner while
//! it keeps counting.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::export::checks::validate_schema;

fn hopscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hopscope"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hopscope-spool-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A quick scenario: short delays, 150 requests a second for two seconds, `trace` as given.
fn scenario(dir: &Path, trace: &str) -> PathBuf {
    let path = dir.join("spool.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"spool-test\"\nduration = \"2s\"\n[traffic]\nrate = 150.0\n\
             [dns]\nlatency = \"0ms\"\n[cdn]\nlatency = \"0ms\"\n[balancer]\nlatency = \"0ms\"\n\
             [database]\nlatency = \"0ms\"\n[[profiles]]\nname = \"cli\"\nlatency = \"1ms\"\n\
             [trace]\n{trace}\n"
        ),
    )
    .expect("write scenario");
    path
}

fn run(args: &[&str], env: Option<(&str, &Path)>) -> Output {
    let mut cmd = hopscope();
    cmd.args(args).env_remove("HOPSCOPE_SPOOL_DIR");
    if let Some((key, value)) = env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("written")).expect("JSON")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// The summary's request count, checked against its outcomes.
fn summary_requests(path: &Path) -> u64 {
    let summary = json(path);
    let requests = summary["requests"].as_u64().expect("requests");
    let by_outcome: u64 = summary["outcomes"]
        .as_object()
        .expect("outcomes")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(by_outcome, requests, "{summary}");
    requests
}

#[test]
fn a_tiny_spool_limit_truncates_the_trace_but_not_the_run() {
    let dir = temp_dir("limit");
    let scenario = scenario(&dir, "spool_limit = \"4kB\"");
    let (summary, trace) = (dir.join("summary.json"), dir.join("trace.json"));
    let out = run(
        &[
            "run",
            s(&scenario),
            "--summary-json",
            s(&summary),
            "--export",
            s(&trace),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches("the trace spool reached its limit of 4kB")
            .count(),
        1,
        "said once on stderr: {stderr}"
    );
    // The run went on: every request of the two seconds was counted.
    let requests = summary_requests(&summary);
    assert!(requests >= 150, "{requests} requests");

    let text = std::fs::read_to_string(&trace).expect("trace");
    validate_schema(&text);
    let t = json(&trace);
    let truncated = &t["truncated"];
    assert_eq!(truncated["reason"], "spool_limit", "{truncated}");
    let kept = truncated["requests_kept"].as_u64().expect("kept");
    assert_eq!(truncated["requests_ended"].as_u64(), Some(requests));
    assert!(kept > 0 && kept < requests / 4, "kept {kept} of {requests}");
    assert_eq!(t["requests"].as_array().map(Vec::len), Some(kept as usize));
    assert_eq!(t["totals"]["requests"].as_u64(), Some(kept));
    // The requests kept are the first to end (give or take the moment events take to reach
    // the recorder from different threads).
    let at = truncated["at_micros"].as_u64().expect("at");
    for r in t["requests"].as_array().expect("requests") {
        assert!(
            r["end_micros"].as_u64().expect("ended") <= at + 50_000,
            "{r}"
        );
    }
    // The per-second metrics still count every request.
    let per_second: u64 = t["seconds"]
        .as_array()
        .expect("seconds")
        .iter()
        .filter_map(|s| s["requests"].as_u64())
        .sum();
    assert_eq!(per_second, requests);

    // A truncated trace opens, says so, and converts to HAR and Perfetto that say so too.
    let har = dir.join("trace.har");
    let opened = run(&["open", s(&trace), "--export", s(&har)], None);
    let said = String::from_utf8_lossy(&opened.stdout);
    assert!(
        said.contains(&format!("holds the first {kept} of {requests} requests")),
        "{said}"
    );
    let har = json(&har);
    let comment = har["log"]["comment"].as_str().expect("comment");
    assert!(
        comment.contains(&format!(
            "truncated: this trace holds the first {kept} of {requests}"
        )),
        "{comment}"
    );
    assert_eq!(har["log"]["_hopscope"]["truncated"]["requests_kept"], kept);
    assert_eq!(
        har["log"]["entries"].as_array().map(Vec::len),
        Some(kept as usize)
    );
    let perfetto = dir.join("trace.perfetto.json");
    run(
        &[
            "open",
            s(&trace),
            "--export",
            s(&perfetto),
            "--format",
            "perfetto",
        ],
        None,
    );
    let p = json(&perfetto);
    assert!(
        p["otherData"]["truncated"]
            .as_str()
            .is_some_and(|n| n.contains("reached its limit of 4kB")),
        "{}",
        p["otherData"]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_spool_folder_that_cannot_be_made_is_said_and_the_run_completes() {
    let dir = temp_dir("unwritable");
    let scenario = scenario(&dir, "");
    // A folder inside a regular file: no one can make it, root included.
    let blocker = dir.join("not-a-folder");
    std::fs::write(&blocker, "a file").expect("file");
    let spool_dir = blocker.join("spool");
    let (summary, trace) = (dir.join("summary.json"), dir.join("trace.json"));
    let out = run(
        &[
            "run",
            s(&scenario),
            "--spool-dir",
            s(&spool_dir),
            "--summary-json",
            s(&summary),
            "--export",
            s(&trace),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hopscope: cannot create the trace spool")
            && stderr.contains(s(&spool_dir))
            && stderr.contains("exports hold only the first 0 requests"),
        "{stderr}"
    );
    let requests = summary_requests(&summary);
    assert!(requests >= 150, "{requests} requests");
    let t = json(&trace);
    assert_eq!(
        t["truncated"]["reason"], "write_failed",
        "{}",
        t["truncated"]
    );
    assert_eq!(t["truncated"]["requests_kept"], 0);
    assert_eq!(t["truncated"]["requests_ended"].as_u64(), Some(requests));
    assert_eq!(t["requests"].as_array().map(Vec::len), Some(0));

    // The environment variable is honoured the same way.
    let out = run(
        &["run", s(&scenario), "--duration", "500ms"],
        Some(("HOPSCOPE_SPOOL_DIR", &spool_dir)),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(s(&spool_dir)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_chosen_spool_folder_is_used_and_left_empty() {
    let dir = temp_dir("chosen");
    let scenario = scenario(&dir, "");
    let spool_dir = dir.join("spool here");
    let trace = dir.join("trace.json");
    let out = run(
        &["run", s(&scenario), "--export", s(&trace)],
        Some(("HOPSCOPE_SPOOL_DIR", &spool_dir)),
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("trace spool"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = json(&trace);
    assert!(t["truncated"].is_null(), "{}", t["truncated"]);
    assert!(t["totals"]["requests"].as_u64().expect("requests") >= 150);
    assert!(spool_dir.is_dir(), "the folder was made");
    let left: Vec<_> = std::fs::read_dir(&spool_dir)
        .expect("folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_spool_limit_is_reported_with_line_and_column() {
    let dir = temp_dir("validate");
    let scenario = scenario(&dir, "spool_limit = \"lots\"");
    let out = hopscope()
        .args(["validate", s(&scenario)])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = std::fs::read_to_string(&scenario)
        .expect("scenario")
        .lines()
        .position(|l| l.starts_with("spool_limit"))
        .expect("line")
        + 1;
    assert!(
        stderr.contains(&format!("spool.toml:{line}:15: trace.spool_limit"))
            && stderr.contains("`lots` is not a size"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_window_says_when_the_spool_is_full_and_the_banner_can_be_hidden() {
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use hopscope::scenario::load_str;
    use hopscope::ui::{AppOptions, HopscopeApp};
    use std::time::{Duration, Instant};

    let text = "name = \"spool-gui\"\n[traffic]\nrate = 60.0\n\
                [[profiles]]\nname = \"browser\"\nlatency = \"1ms\"\n\
                [trace]\nspool_limit = \"1kB\"\ncapture_headers = false\n";
    let scenario = load_str("spool-gui.toml", text).expect("valid");
    let app = HopscopeApp::new(scenario, AppOptions::default());
    assert!(app.engine().is_some(), "started: {:?}", app.error());
    let mut h = Harness::builder()
        .with_size([1440.0, 900.0])
        .build_ui_state(|ui, app: &mut HopscopeApp| app.frame(ui), app);
    let deadline = Instant::now() + Duration::from_secs(20);
    while h
        .query_by_label_contains("Trace spool full: exports hold the first")
        .is_none()
    {
        assert!(Instant::now() < deadline, "no banner");
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    assert!(
        h.query_by_label_contains("Every request is still counted")
            .is_some()
    );
    // The run goes on: requests keep being counted after the spool stopped.
    let counted =
        |h: &Harness<'_, HopscopeApp>| h.state().engine().map_or(0, |e| e.snapshot().totals.ended);
    let before = counted(&h);
    h.get_by_label("Hide").click();
    let deadline = Instant::now() + Duration::from_secs(15);
    while counted(&h) < before + 20 {
        assert!(Instant::now() < deadline, "requests stopped being counted");
        h.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    assert!(
        h.query_by_label_contains("Trace spool full").is_none(),
        "hidden"
    );
}
