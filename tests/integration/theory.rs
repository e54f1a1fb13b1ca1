//! Integration tests: short versions of `hopscope check-theory`. Each plays one fidelity
//! scenario for a few seconds on real sockets (at a lower rate than the full check, for a
//! debug build on a shared machine) and holds the measurement against theory.
//!
//! Tolerances come from the samples: a measurement must lie within five standard errors of
//! the prediction (the standard error of their difference, by batch means, including the
//! uncertainty of the measured inputs the prediction uses), plus a small floor for effects
//! the model leaves out (the timer's millisecond, scheduling on a busy machine). Five
//! standard errors fail by chance about once in two million runs, so a failure means
//! something is wrong, not unlucky. The full-length targets (10 %, 2 points, 1 ms) are what
//! `hopscope check-theory` checks.

use std::time::Duration;

use hopscope::cli::check_theory::run_check;
use hopscope::scenario::{Dur, Scenario, builtin, load_str};
use hopscope::theory::fidelity::{Check, CheckReport, Row};

/// Standard errors a measurement may stray from theory.
const K: f64 = 5.0;
/// Batches for the short runs (each about half a second).
const BATCHES: usize = 10;

fn scenario(check: Check) -> Scenario {
    let b = builtin(check.scenario()).expect("the check's built-in exists");
    load_str(b.name, b.text).expect("the built-in is valid")
}

fn play(check: Check, s: &Scenario, secs: u64) -> CheckReport {
    let report = run_check(
        check,
        s,
        Duration::from_secs(secs),
        Duration::from_secs(1),
        BATCHES,
    )
    .expect("the check runs");
    eprint!("{}", hopscope::cli::check_theory::render(&report));
    report
}

fn row<'a>(report: &'a CheckReport, starts: &str) -> &'a Row {
    report
        .rows
        .iter()
        .find(|r| r.quantity.starts_with(starts))
        .unwrap_or_else(|| panic!("no row `{starts}` in {report:#?}"))
}

/// |measured − predicted| ≤ K standard errors of the difference + `floor`.
fn assert_agrees(r: &Row, floor: f64) {
    let allowed = K * r.difference_std_error() + floor;
    let error = (r.measured.mean - r.predicted).abs();
    assert!(
        r.measured.samples > 100 && r.difference_std_error().is_finite(),
        "{}: too few samples ({:?})",
        r.quantity,
        r.measured
    );
    assert!(
        error <= allowed,
        "{}: measured {} vs theory {} (error {error}, allowed {allowed}: {K} × {} + {floor})",
        r.quantity,
        r.measured.mean,
        r.predicted,
        r.difference_std_error()
    );
}

/// The rate the servers saw is the configured one, within K Poisson standard errors.
fn assert_rate(report: &CheckReport, configured: f64) {
    let secs = report.seconds - report.warmup_secs;
    let n = report.samples as f64;
    let allowed = K * n.sqrt() / secs + 0.02 * configured;
    let measured = n / secs;
    assert!(
        (measured - configured).abs() <= allowed,
        "arrival rate {measured:.1}/s for {configured}/s configured (allowed ±{allowed:.1})"
    );
}

#[test]
fn erlang_c_predicts_the_wait_of_a_shared_line() {
    // Four copies of one 2-worker server at ρ = 0.5: P(wait) = 1/3, Wq = E[S]/3.
    let mut s = scenario(Check::ErlangC);
    s.servers.count = 4;
    s.servers.service.mean = Dur::from_millis(20);
    s.traffic.rate = 200.0;
    let r = play(Check::ErlangC, &s, 7);
    assert!(r.model.starts_with("Erlang C (M/M/2)"), "{}", r.model);
    assert_agrees(row(&r, "mean wait"), 0.05 * row(&r, "mean wait").predicted);
    assert_agrees(row(&r, "P(wait)"), 0.02);
    assert_rate(&r, 200.0);
}

#[test]
fn random_routing_makes_each_server_an_mm1_queue() {
    // Four one-worker servers at ρ = 0.5: P(wait) = 0.5, Wq = E[S].
    let mut s = scenario(Check::RandomLb);
    s.servers.count = 4;
    s.servers.service.mean = Dur::from_millis(16);
    s.traffic.rate = 125.0;
    let r = play(Check::RandomLb, &s, 7);
    assert_eq!(r.model, "M/M/1 ×4, random routing");
    assert_agrees(row(&r, "mean wait"), 0.05 * row(&r, "mean wait").predicted);
    assert_agrees(row(&r, "P(wait)"), 0.02);
    assert_rate(&r, 125.0);
}

#[test]
fn a_full_line_refuses_the_share_mmck_predicts() {
    let mut s = scenario(Check::Blocking);
    s.servers.service.mean = Dur::from_millis(20);
    s.traffic.rate = 200.0;
    let r = play(Check::Blocking, &s, 7);
    assert_eq!(r.model, "M/M/4/8");
    let refused = row(&r, "503 ratio");
    assert!(refused.predicted > 0.1, "ρ = 1 refuses about 14 %");
    assert_agrees(refused, 0.01);
    assert_agrees(row(&r, "P(wait)"), 0.02);
}

#[test]
fn an_lru_cache_hits_as_che_predicts() {
    let mut s = scenario(Check::Lru);
    s.traffic.rate = 250.0;
    let r = play(Check::Lru, &s, 7);
    assert!(r.model.contains("Che"), "{}", r.model);
    let hits = row(&r, "hit ratio");
    assert!((hits.predicted - 0.378).abs() < 0.001, "{}", hits.predicted);
    assert_agrees(hits, 0.01);
}

#[test]
fn injected_delays_are_what_they_claim() {
    let s = scenario(Check::Calibration);
    let r = play(Check::Calibration, &s, 6);
    for hop in [
        "client link",
        "DNS answer",
        "service time",
        "database query",
    ] {
        let median = r
            .rows
            .iter()
            .find(|x| x.quantity.starts_with(hop) && x.quantity.ends_with("p50"))
            .unwrap_or_else(|| panic!("no median for {hop}"));
        // The brief's target (1 ms at the median) plus the run's own uncertainty.
        let allowed = 1.0 + K * median.measured.std_error;
        let error = median.measured.mean - median.predicted;
        assert!(
            error.abs() <= allowed,
            "{}: measured {:.3} ms for {:.3} ms configured",
            median.quantity,
            median.measured.mean,
            median.predicted
        );
    }
}

#[test]
fn run_prints_theory_next_to_the_measurements() {
    let json = std::env::temp_dir().join(format!("hopscope-theory-{}.json", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args([
            "run",
            "theory-blocking",
            "--duration",
            "3s",
            "--summary-json",
            json.to_str().expect("utf-8 path"),
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("theory   queueing: M/M/4/8"), "{text}");
    assert!(text.contains("503 ratio  theory"), "{text}");
    assert!(text.contains("theory   cache: does not apply"), "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("written")).expect("JSON");
    let q = &summary["theory"]["queueing"];
    assert_eq!(q["applies"], true, "{summary}");
    assert!(q["ratio_503"]["measured"]["mean"].as_f64().is_some(), "{q}");
    assert_eq!(summary["theory"]["cache"]["applies"], false);
    std::fs::remove_file(&json).ok();
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["check-theory", "--only", "nonsense"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("erlang-c"));
}
