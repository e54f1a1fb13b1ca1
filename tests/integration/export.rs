//! Integration tests: export. One real run of a small fast scenario (tiny delays, a few
//! hundred requests, TLS for some clients and plain HTTP redirected for others, a server and
//! the CDN killed mid-run so there are failures) is exported in every format; each export is
//! checked against its format's rules and against the run's summary, the JSON trace is read
//! back and replayed, and damaged traces are refused with clear errors. The CLI tests run the
//! real binary.

pub mod checks;
mod cli;
mod replay;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hopscope::engine::{Engine, EngineOptions};
use hopscope::scenario::load_str;
use hopscope::trace::export::{ExportStats, export_spool};
use hopscope::trace::{Format, Journey, RunMeta, Snapshot, Summary, spool};

pub const SCENARIO: &str = r#"
name = "export-test"
summary = "A small fast run with a server and the CDN killed mid-run"
seed = 7
duration = "3s"

[dns]
latency = "0ms"

[tls]
enabled = true

[cdn]
latency = "0ms"

[balancer]
latency = "0ms"
health_interval = "100ms"
health_timeout = "100ms"

[servers]
count = 3
service = { distribution = "constant", mean = "1ms" }

[database]
latency = "0ms"

[traffic]
rate = 150.0
requests = 300
timeout = "2s"

[[profiles]]
name = "browser"
clients = 4
latency = "1ms"
keep_alive = true
tls = true
mix = [
  { weight = 3, path = "/restaurants/{id}" },
  { weight = 1, path = "/users/{id}" },
  { weight = 1, path = "/no-such-thing" },
]

[[profiles]]
name = "cli"
weight = 0.5
clients = 2
latency = "1ms"
keep_alive = false
tls = false
mix = [{ path = "/users/{id}" }]

[[events]]
at = "700ms"
do = "kill server-2"

[[events]]
at = "1200ms"
do = "kill cdn"

[[events]]
at = "1400ms"
do = "restart cdn"
"#;

/// The shared run and its exports.
pub struct Run {
    pub meta: RunMeta,
    pub last: Arc<Snapshot>,
    pub summary: Summary,
    /// Every journey as the recorder spooled it.
    pub journeys: Vec<Journey>,
    /// Each export's text (the files are removed once read).
    pub files: Vec<(Format, String, ExportStats)>,
}

impl Run {
    pub fn file(&self, format: Format) -> &str {
        self.files
            .iter()
            .find(|(f, _, _)| *f == format)
            .map(|(_, text, _)| text.as_str())
            .expect("every format was exported")
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hopscope-it-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs the scenario once for every test of this module.
pub fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let scenario = load_str("export-test.toml", SCENARIO).expect("the test scenario is valid");
        let mut engine = Engine::start(
            scenario,
            EngineOptions {
                traffic: true,
                play_events: true,
                ..EngineOptions::default()
            },
        )
        .expect("engine starts");
        let info = engine.run_info();
        std::thread::sleep(Duration::from_millis(2600));
        let last = engine.stop();
        let summary = Summary::from_snapshot("export-test", 7, last.now_micros as f64 / 1e6, &last);
        let meta = RunMeta::from_snapshot(info, &last);
        let journeys: Vec<Journey> = spool::read(engine.spool_path())
            .expect("spool")
            .collect::<std::io::Result<_>>()
            .expect("spool reads back");
        let dir = temp_dir("export");
        let mut files = Vec::new();
        for (format, name) in [
            (Format::Json, "run.json"),
            (Format::Har, "run.har"),
            (Format::Perfetto, "run.perfetto.json"),
            (Format::Csv, "run.csv"),
        ] {
            let path = dir.join(name);
            let stats =
                export_spool(&path, format, &meta, engine.spool_path()).expect("export works");
            let text = std::fs::read_to_string(&path).expect("export readable");
            files.push((format, text, stats));
        }
        std::fs::remove_dir_all(&dir).ok();
        Run {
            meta,
            last,
            summary,
            journeys,
            files,
        }
    })
}

#[test]
fn the_run_has_the_variety_the_checks_need() {
    let r = run();
    assert_eq!(r.last.events_shed, 0, "nothing shed in a small run");
    assert!(r.summary.requests >= 250, "{:?}", r.summary.outcomes);
    let has = |k: &str| r.summary.outcomes.contains_key(k);
    assert!(
        has("200") && has("404") && has("308"),
        "{:?}",
        r.summary.outcomes
    );
    assert!(
        r.summary
            .outcomes
            .keys()
            .any(|k| k.starts_with('5') || !k.starts_with(char::is_numeric)),
        "killing a server and the CDN causes failures: {:?}",
        r.summary.outcomes
    );
    assert!(r.journeys.iter().any(|j| j.reused), "keep-alive reuse");
    assert!(
        r.journeys.iter().any(|j| j
            .spans
            .iter()
            .any(|s| s.phase == hopscope::trace::Phase::Ssl)),
        "TLS handshakes"
    );
}

#[test]
fn request_counts_agree_across_every_format_and_the_summary() {
    let r = run();
    let n = r.summary.requests;
    assert_eq!(r.journeys.len() as u64, n, "spool");
    for (format, _, stats) in &r.files {
        assert_eq!(stats.requests, n, "{format} exporter count");
    }
    assert_eq!(checks::json_requests(r.file(Format::Json)), n, "json");
    assert_eq!(checks::har_entries(r.file(Format::Har)), n, "har");
    assert_eq!(
        checks::perfetto_requests(r.file(Format::Perfetto)),
        n,
        "perfetto"
    );
    assert_eq!(checks::csv_requests(r.file(Format::Csv)), n, "csv");
}

#[test]
fn the_json_trace_validates_against_the_published_schema() {
    checks::validate_schema(run().file(Format::Json));
}

#[test]
fn har_entries_follow_the_spec_and_their_timings_add_up() {
    let r = run();
    checks::har(r.file(Format::Har), &r.journeys);
}

#[test]
fn perfetto_slices_pair_up_and_flows_link_each_requests_hops() {
    checks::perfetto(run().file(Format::Perfetto));
}

#[test]
fn csv_rows_match_the_summary_and_the_live_seconds() {
    let r = run();
    checks::csv(r.file(Format::Csv), &r.summary, &r.last);
}

#[test]
fn a_round_trip_replays_the_same_requests_outcomes_and_metrics() {
    let r = run();
    replay::round_trip(r);
}

#[test]
fn damaged_traces_get_clear_errors_and_never_a_panic() {
    replay::fuzz(run());
}

#[test]
fn the_cli_exports_opens_and_refuses_bad_input() {
    cli::cli(run());
}

#[test]
fn serve_exports_at_exit_with_outside_requests() {
    cli::serve();
}
