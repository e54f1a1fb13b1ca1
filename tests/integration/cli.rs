//! Integration tests: the `hopscope` binary as a user runs it — `serve` prints its address
//! line, answers commands typed on stdin, serves curl-like requests and stops cleanly;
//! `validate` and `run` report bad input with exit code 2.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use super::engine::send;

fn hopscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hopscope"))
}

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hopscope-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn serve_prints_addresses_obeys_stdin_and_stops() {
    let scenario = write_temp(
        "serve.toml",
        "name = \"serve-test\"\n[traffic]\nenabled = false\n[servers]\ncount = 2\n[balancer]\nhealth_interval = \"60s\"\n",
    );
    let mut child = hopscope()
        .args([
            "serve",
            scenario.to_str().expect("utf-8 path"),
            "--duration",
            "20s",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("an address line").expect("readable");
    let addresses: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    for key in [
        "dns", "edge", "edge_tls", "ca_cert", "cdn", "lb", "servers", "zone", "tokens",
    ] {
        assert!(addresses.get(key).is_some(), "{key} missing from {first}");
    }
    assert_eq!(addresses["servers"].as_array().map(Vec::len), Some(2));
    assert!(
        first.starts_with("{\"dns\":"),
        "keys in the documented order: {first}"
    );
    let edge: std::net::SocketAddr = addresses["edge"]
        .as_str()
        .expect("edge")
        .parse()
        .expect("addr");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = runtime
        .block_on(send(edge, "GET", "/users/1", &[], ""))
        .expect("answered");
    assert_eq!(ok.status, 200);

    writeln!(stdin, "explode server-1").expect("write");
    let reply: serde_json::Value =
        serde_json::from_str(&lines.next().expect("reply").expect("readable")).expect("JSON");
    assert_eq!(reply["event"], "error");
    assert!(
        reply["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown command")
    );

    writeln!(stdin, "add server").expect("write");
    let mut saw_add = false;
    for line in lines.by_ref().take(10) {
        let v: serde_json::Value = serde_json::from_str(&line.expect("readable")).expect("JSON");
        if v["event"] == "command" && v["command"] == "add server" {
            assert_eq!(v["ok"], true);
            saw_add = true;
            break;
        }
    }
    assert!(saw_add, "add server was answered");
    writeln!(stdin, "status").expect("write");
    let mut servers = 0;
    for line in lines.by_ref().take(10) {
        let v: serde_json::Value = serde_json::from_str(&line.expect("readable")).expect("JSON");
        if let Some(list) = v.get("servers").and_then(|s| s.as_array()) {
            servers = list.len();
            break;
        }
    }
    assert_eq!(servers, 3, "status lists the added server");

    child.kill().ok();
    let _ = child.wait();
}

#[test]
fn bad_scenarios_exit_2_with_file_line_and_column() {
    let bad = write_temp("bad.toml", "name = \"x\"\n[servers]\nwokers = 3\n");
    let out = hopscope()
        .args(["validate", bad.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:1"), "{err}");
    assert!(err.contains("did you mean `workers`"), "{err}");
    let run = hopscope()
        .args(["run", bad.to_str().expect("utf-8"), "--duration", "1s"])
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(2));
    let missing = hopscope()
        .args(["run", "no-such-scenario"])
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("built-ins"));
}

#[test]
fn a_zero_duration_is_refused_before_anything_runs() {
    for args in [
        &["run", "--duration", "0s"][..],
        &["serve", "--duration", "0ms"],
        &["soak", "--every", "0s"],
        &["sweep", "--duration-each", "0us"],
    ] {
        let out = hopscope().args(args).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is no time at all"), "{args:?}: {err}");
    }
    let file = write_temp("zero.toml", "name = \"zero\"\nduration = \"0s\"\n");
    let out = hopscope()
        .args(["validate", file.to_str().expect("utf-8")])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("zero.toml:2:1: duration"), "{err}");
}

#[cfg(unix)]
#[test]
fn an_endless_scenario_file_is_refused_at_the_limit() {
    let out = hopscope()
        .args(["validate", "/dev/zero"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/zero") && err.contains("larger than 4 MiB"),
        "{err}"
    );
}

#[test]
fn run_prints_a_summary_and_writes_it_as_json() {
    let scenario = write_temp(
        "run.toml",
        "name = \"run-test\"\nduration = \"1s\"\n[traffic]\nrate = 50.0\n[dns]\nlatency = \"0ms\"\n[[profiles]]\nname = \"cli\"\nlatency = \"1ms\"\n",
    );
    let json = scenario.with_file_name("summary.json");
    let out = hopscope()
        .args([
            "run",
            scenario.to_str().expect("utf-8"),
            "--summary-json",
            json.to_str().expect("utf-8"),
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("requests") && table.contains("latency") && table.contains("server-1"),
        "{table}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("written")).expect("JSON");
    let requests = summary["requests"].as_u64().expect("requests");
    assert!(requests > 20, "{summary}");
    let by_outcome: u64 = summary["outcomes"]
        .as_object()
        .expect("outcomes")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(by_outcome, requests);
    for key in [
        "scenario",
        "seed",
        "duration_secs",
        "cache",
        "latency_ms",
        "phases_ms",
        "servers",
        "events_shed",
    ] {
        assert!(summary.get(key).is_some(), "{key} missing");
    }
}

#[test]
fn open_refuses_a_damaged_trace_naming_the_file_the_request_and_the_field() {
    let seed = include_str!("../../fuzz/corpus/trace_import/valid-small.json");
    let first_id = "2e570e3ee4528cbcbe070076ecf787b9";
    let second_id = "365803566326c4bb028e14963fd9cba0";
    assert!(seed.contains(first_id) && seed.contains(second_id));
    let ok = write_temp("valid.json", seed);
    let opened = hopscope()
        .args(["open", ok.to_str().expect("utf-8 path"), "--summary"])
        .output()
        .expect("runs");
    assert_eq!(
        opened.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    for (name, damaged, says) in [
        (
            "same-id.json",
            seed.replace(second_id, first_id),
            "request 1 (id 2e570e3ee4528cbcbe070076ecf787b9) has the same id as request 0",
        ),
        (
            "status.json",
            seed.replacen("\"status\":200", "\"status\":99999", 1),
            "request 0 (id 2e570e3ee4528cbcbe070076ecf787b9): `status` 99999 is not an HTTP status",
        ),
        (
            "latency.json",
            seed.replacen("\"latency_micros\":28988", "\"latency_micros\":\"fast\"", 1),
            "request 0 (id 2e570e3ee4528cbcbe070076ecf787b9): `latency_micros` must be a whole number",
        ),
    ] {
        let path = write_temp(name, &damaged);
        let out = hopscope()
            .args(["open", path.to_str().expect("utf-8 path"), "--summary"])
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(says), "{name}: {err}");
        assert!(out.stdout.is_empty(), "no summary for a refused trace");
    }
}

#[test]
fn serve_answers_bad_bytes_and_long_lines_and_holds_the_server_limit() {
    // One below the limit, so that one `add server` fits and the next does not.
    let scenario = write_temp(
        "limit.toml",
        &format!(
            "name = \"limit\"\n[traffic]\nenabled = false\n[servers]\ncount = {}\n[balancer]\nhealth_interval = \"60s\"\n",
            hopscope::scenario::MAX_SERVERS - 1
        ),
    );
    let mut child = hopscope()
        .args([
            "serve",
            scenario.to_str().expect("utf-8 path"),
            "--duration",
            "60s",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    lines.next().expect("an address line").expect("readable");
    // The next answer, past the markers that changes leave.
    let mut next = |what: &str| -> serde_json::Value {
        loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("an answer to {what}"))
                .expect("readable");
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
            if v["event"] != "marker" {
                return v;
            }
        }
    };

    // A byte that is not UTF-8 is an error line, and control goes on.
    stdin.write_all(b"kill server-1 \xff\n").expect("write");
    let bad = next("a line with a stray byte");
    assert_eq!(bad["event"], "error", "{bad}");
    assert!(
        bad["message"].as_str().unwrap_or("").contains("UTF-8"),
        "{bad}"
    );
    // A line of a megabyte is refused without being echoed whole.
    let long = format!("kill {}\n", "x".repeat(1 << 20));
    stdin.write_all(long.as_bytes()).expect("write");
    let refused = next("a megabyte line");
    assert_eq!(refused["event"], "error", "{refused}");
    assert!(
        refused.to_string().len() < 1000,
        "the error quotes only the start: {} bytes",
        refused.to_string().len()
    );

    writeln!(stdin, "add server").expect("write");
    let added = next("the first add server");
    assert_eq!(
        (&added["command"], &added["ok"]),
        (&serde_json::json!("add server"), &serde_json::json!(true)),
        "{added}"
    );
    writeln!(stdin, "add server").expect("write");
    let over = next("an add server past the limit");
    assert_eq!(over["ok"], false, "{over}");
    assert!(
        over["message"]
            .as_str()
            .unwrap_or("")
            .contains(&hopscope::scenario::MAX_SERVERS.to_string()),
        "{over}"
    );
    // Still obeyed after all that.
    writeln!(stdin, "kill server-1").expect("write");
    let killed = next("kill server-1");
    assert_eq!(
        (&killed["command"], &killed["ok"]),
        (
            &serde_json::json!("kill server-1"),
            &serde_json::json!(true)
        ),
        "{killed}"
    );
    drop(stdin);
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(stopped.success());
    assert_eq!(child.wait().expect("exits").code(), Some(143));
}
