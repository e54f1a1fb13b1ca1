//! The command line, run as a real process: `run --export`, `open`, `serve --export`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use hopscope::trace::Format;

use super::{Run, SCENARIO, temp_dir};

fn hopscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

pub fn cli(r: &Run) {
    let dir = temp_dir("cli");
    let json = &dir.join("run.json");
    std::fs::write(json, r.file(Format::Json)).expect("write the trace");
    let har_in = dir.join("run.har");
    std::fs::write(&har_in, r.file(Format::Har)).expect("write the HAR");

    let ok = hopscope(&["open", path(json), "--summary"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let out = text(&ok.stdout);
    assert!(
        out.contains(&format!("requests {} ", r.summary.requests)),
        "{out}"
    );

    // Converting on the way: the extension picks HAR.
    let har = dir.join("converted.har");
    let conv = hopscope(&["open", path(json), "--export", path(&har)]);
    assert_eq!(conv.status.code(), Some(0), "{}", text(&conv.stderr));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&har).expect("har")).expect("json");
    assert_eq!(
        v["log"]["entries"].as_array().map(Vec::len),
        Some(r.journeys.len())
    );

    let full = std::fs::read(json).expect("trace");
    let cut = dir.join("cut.json");
    std::fs::write(&cut, &full[..full.len() * 2 / 3]).expect("write");
    let bad = hopscope(&["open", path(&cut)]);
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert!(
        err.contains("cut.json:") && err.contains("cut short") && err.contains("$.requests["),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let not_ours = hopscope(&["open", path(&har_in)]);
    assert_eq!(not_ours.status.code(), Some(2));
    assert!(text(&not_ours.stderr).contains("HAR"));

    let missing = hopscope(&["open", path(&dir.join("nope.json"))]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("cannot read"));

    // An unknown format is refused before anything runs, with the list.
    let unknown = hopscope(&[
        "run",
        "--export",
        path(&dir.join("a.xml")),
        "--format",
        "xml",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("json, har, perfetto (or chrome), csv"),
        "{}",
        text(&unknown.stderr)
    );
    let lonely = hopscope(&["run", "--format", "har"]);
    assert_eq!(lonely.status.code(), Some(2));

    // A real run exported through the `chrome` alias.
    let scenario = dir.join("export-test.toml");
    std::fs::write(&scenario, SCENARIO).expect("scenario file");
    let trace = dir.join("run.json");
    let run = hopscope(&[
        "run",
        path(&scenario),
        "--duration",
        "1s",
        "--export",
        path(&trace),
        "--format",
        "chrome",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("exported"));
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).expect("export")).expect("json");
    assert!(v["traceEvents"].as_array().is_some_and(|e| e.len() > 10));
    std::fs::remove_dir_all(&dir).ok();
}

pub fn serve() {
    let dir = temp_dir("serve");
    let out = dir.join("served.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["serve", "bench", "--duration", "2s", "--export", path(&out)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("an address line").expect("utf-8");
    let addresses: Value = serde_json::from_str(&first).expect("the address line is JSON");
    let edge = addresses["edge"].as_str().expect("edge").to_string();
    for path in ["/users/1", "/restaurants/2"] {
        let mut s = TcpStream::connect(&edge).expect("the edge accepts");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("serve exits");
    assert!(status.success(), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("\"event\":\"exported\"")),
        "{rest:?}"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("export")).expect("json");
    let outside = v["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|r| r["external"] == true)
        .count();
    assert_eq!(outside, 2, "the outside requests are in the export");
    std::fs::remove_dir_all(&dir).ok();
}
