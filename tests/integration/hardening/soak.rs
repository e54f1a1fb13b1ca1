//! The CI-sized soak: `hopscope soak` runs the `bench` scenario for 50 s at 250 requests/s in a
//! child process of its own (so the other tests' memory is not counted), sampling its
//! resident memory, open descriptors and threads every second. Once the recorder's recent
//! buffer is full, memory, descriptors and threads must stay flat: the second half of the
//! run may not grow past the first half's peak by more than a small allowance.

use std::process::Command;

use serde_json::Value;

const SECONDS: u64 = 50;
const RATE: f64 = 250.0;

#[test]
fn a_soak_keeps_memory_descriptors_and_threads_flat() {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args([
            "soak",
            "bench",
            "--duration",
            &format!("{SECONDS}s"),
            "--rate",
            &RATE.to_string(),
            "--every",
            "1s",
            "--json",
        ])
        .output()
        .expect("soak runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let samples: Vec<&Value> = lines
        .iter()
        .filter(|v| v.get("elapsed_secs").is_some())
        .collect();
    assert!(
        samples.len() as u64 >= SECONDS - 3,
        "{} samples",
        samples.len()
    );
    let summary = &lines.last().expect("a summary")["summary"];
    let requests = summary["requests"].as_u64().expect("requests");
    assert!(
        requests as f64 >= RATE * SECONDS as f64 * 0.25,
        "traffic ran: {requests} requests in {SECONDS} s"
    );
    assert_eq!(summary["events_shed"], 0, "{summary}");
    assert_eq!(
        summary["spooled"].as_u64(),
        Some(requests),
        "every request spooled"
    );

    let series =
        |key: &str| -> Vec<u64> { samples.iter().filter_map(|s| s[key].as_u64()).collect() };
    let rss = series("rss_kib");
    let fds = series("fds");
    let threads = series("threads");
    if rss.is_empty() {
        eprintln!("no /proc here: memory and descriptors are not measured");
        return;
    }
    let recent = series("recent");
    let in_flight = series("in_flight");
    let report = format!(
        "rss KiB {rss:?}\nfds {fds:?}\nthreads {threads:?}\nrecent {recent:?}\nin flight {in_flight:?}"
    );
    // Memory is judged once the recent buffer is full (before, it fills by design). On a
    // machine so busy that it fills late, the samples after it must still be enough.
    let full = recent
        .iter()
        .position(|&r| r >= 5000)
        .unwrap_or(recent.len());
    let settled = &rss[full.min(rss.len())..];
    assert!(
        settled.len() >= 6,
        "the recent buffer filled too late to judge memory\n{report}"
    );
    let half = settled.len() / 2;
    let (first, second) = settled.split_at(half);
    // An open loop that the machine cannot keep up with piles requests up, and their
    // memory with them: that is overload, not a leak, and says nothing either way.
    let judged = &in_flight[full.min(in_flight.len())..];
    let (early, late) = judged.split_at(judged.len() / 2);
    let (early, late) = (
        early.iter().copied().max().unwrap_or(0),
        late.iter().copied().max().unwrap_or(0),
    );
    if late > 4 * early + 50 {
        eprintln!(
            "the run fell behind (in flight {early} then {late}): memory not judged\n{report}"
        );
    } else {
        let first_max = first.iter().copied().max().unwrap_or(0);
        let second_max = second.iter().copied().max().unwrap_or(0);
        assert!(
            second_max <= first_max + (first_max / 10).max(8 * 1024),
            "memory keeps growing: first half peak {first_max} KiB, second half {second_max} KiB\n{report}"
        );
    }
    let (first, second) = fds.split_at(fds.len() / 2);
    let (first_max, second_max) = (
        first.iter().copied().max().unwrap_or(0),
        second.iter().copied().max().unwrap_or(0),
    );
    assert!(
        second_max <= first_max + 32 && second_max < 1024,
        "descriptors keep growing: {first_max} then {second_max}\n{report}"
    );
    let (first, second) = threads.split_at(threads.len() / 2);
    assert!(
        second.iter().max() <= first.iter().max().map(|m| m + 8).as_ref(),
        "threads keep growing\n{report}"
    );
    // The recorder's memory is bounded: at most `keep_recent` journeys stay in memory.
    let recent_max = series("recent").into_iter().max().unwrap_or(0);
    assert!(recent_max <= 5000, "{recent_max} recent journeys kept");
}
