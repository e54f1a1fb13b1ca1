//! The checks behind the export tests: each format read back with a plain JSON or CSV
//! reader (not hopscope's own code) and held to its format's rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use hopscope::trace::{Journey, OutcomeClass, Snapshot, Summary};

fn read_json(text: &str) -> Value {
    serde_json::from_str(text).expect("export is valid JSON")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

pub fn json_requests(text: &str) -> u64 {
    let v = read_json(text);
    let n = v["requests"].as_array().expect("requests").len() as u64;
    assert_eq!(v["totals"]["requests"], n, "totals agree with the array");
    n
}

pub fn har_entries(text: &str) -> u64 {
    read_json(text)["log"]["entries"]
        .as_array()
        .expect("entries")
        .len() as u64
}

pub fn perfetto_requests(text: &str) -> u64 {
    read_json(text)["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "b" && e["pid"] == 1 && e["name"] == "request")
        .count() as u64
}

pub fn csv_requests(text: &str) -> u64 {
    let (header, rows) = read_csv(text);
    let col = header.iter().position(|h| h == "requests").expect("column");
    rows.iter()
        .map(|r| r[col].parse::<u64>().expect("a count"))
        .sum()
}

pub fn validate_schema(text: &str) {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/trace.schema.json");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&schema_path).expect("docs/trace.schema.json exists"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid schema");
    let instance = read_json(text);
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
    // The schema does reject what it should.
    let mut broken = instance.clone();
    broken["requests"][0]["spans"][0]["phase"] = Value::from("teleport");
    assert!(!validator.is_valid(&broken));
}

/// RFC 3339 / ISO 8601 as HAR uses it, with milliseconds and a zone.
fn iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
}

pub fn har(text: &str, journeys: &[Journey]) {
    let v = read_json(text);
    let log = &v["log"];
    assert_eq!(log["version"], "1.2");
    assert!(log["creator"]["name"].is_string() && log["creator"]["version"].is_string());
    let pages = log["pages"].as_array().expect("pages");
    let page_ids: BTreeSet<&str> = pages.iter().filter_map(|p| p["id"].as_str()).collect();
    let by_id: HashMap<String, &Journey> = journeys.iter().map(|j| (j.id.to_string(), j)).collect();
    let entries = log["entries"].as_array().expect("entries");
    let mut reused_seen = false;
    let mut failures_seen = false;
    for e in entries {
        let id = e["_hopscope"]["id"].as_str().expect("hopscope id");
        let j = by_id.get(id).expect("every entry is a traced request");
        assert!(page_ids.contains(e["pageref"].as_str().expect("pageref")));
        assert!(iso8601(e["startedDateTime"].as_str().expect("date")), "{e}");
        let req = &e["request"];
        for k in ["method", "url", "httpVersion"] {
            assert!(req[k].is_string(), "request.{k}");
        }
        assert!(
            req["url"].as_str().is_some_and(|u| u.contains("://")),
            "absolute url"
        );
        for k in ["cookies", "headers", "queryString"] {
            assert!(req[k].is_array(), "request.{k}");
        }
        assert!(req["headersSize"].is_i64() && req["bodySize"].is_i64());
        let resp = &e["response"];
        assert!(resp["status"].is_u64() && resp["statusText"].is_string());
        assert!(resp["httpVersion"].is_string() && resp["redirectURL"].is_string());
        assert!(resp["cookies"].is_array() && resp["headers"].is_array());
        assert!(resp["content"]["size"].is_i64() && resp["content"]["mimeType"].is_string());
        assert!(resp["headersSize"].is_i64() && resp["bodySize"].is_i64());
        assert!(e["cache"].is_object());
        let t = &e["timings"];
        let get = |k: &str| t[k].as_f64().unwrap_or_else(|| panic!("timings.{k}"));
        for k in ["send", "wait", "receive"] {
            assert!(get(k) >= 0.0, "{k} may not be -1: {t}");
        }
        for k in ["blocked", "dns", "connect", "ssl"] {
            let x = get(k);
            assert!(x >= 0.0 || x == -1.0, "{k}: {x}");
        }
        if get("ssl") >= 0.0 {
            assert!(get("connect") >= get("ssl"), "ssl lies inside connect: {t}");
        }
        let sum: f64 = ["blocked", "dns", "connect", "send", "wait", "receive"]
            .iter()
            .map(|k| get(k))
            .filter(|x| *x >= 0.0)
            .sum();
        let time = e["time"].as_f64().expect("time");
        assert!(
            close(sum, time),
            "timings add up to time: {sum} vs {time}: {t}"
        );
        let latency_ms = j.latency_micros().expect("ended") as f64 / 1000.0;
        assert!(time + 1e-6 >= latency_ms, "time covers the whole request");
        if j.reused {
            reused_seen = true;
            assert_eq!(get("connect"), -1.0, "no connect on a reused connection");
        }
        match j.outcome.and_then(|o| o.status()) {
            Some(s) => assert_eq!(resp["status"], s),
            None => {
                failures_seen = true;
                assert_eq!(resp["status"], 0);
                assert!(
                    resp["_error"]
                        .as_str()
                        .is_some_and(|x| x.starts_with("net::"))
                );
            }
        }
        if let Some(x) = &j.exchange {
            assert_eq!(
                req["headers"].as_array().map(Vec::len),
                Some(x.request_headers.len())
            );
        }
    }
    assert!(reused_seen, "some entries reused a connection");
    let _ = failures_seen;
}

/// Events sorted as Perfetto's importer sorts them: by timestamp, ties in file order.
fn sorted_events(v: &Value) -> Vec<&Value> {
    let mut events: Vec<&Value> = v["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .collect();
    events.sort_by_key(|e| e["ts"].as_u64().unwrap_or(0));
    events
}

pub fn perfetto(text: &str) {
    assert!(
        text.starts_with("{\"traceEvents\":["),
        "traceEvents comes first"
    );
    let v = read_json(text);
    let events = sorted_events(&v);
    let mut named: BTreeSet<u64> = BTreeSet::new();
    let mut open: HashMap<(u64, String, String), Vec<String>> = HashMap::new();
    let mut flows: BTreeMap<u64, Vec<(bool, bool, u64)>> = BTreeMap::new();
    let mut pids_used: BTreeSet<u64> = BTreeSet::new();
    for e in &events {
        let ph = e["ph"].as_str().expect("ph");
        let pid = e["pid"].as_u64().expect("pid");
        let name = e["name"].as_str().expect("name").to_string();
        assert!(e["ts"].is_u64(), "ts: {e}");
        match ph {
            "M" => {
                if name == "process_name" {
                    assert!(e["args"]["name"].is_string());
                    named.insert(pid);
                }
            }
            "b" | "e" => {
                pids_used.insert(pid);
                let local = e["id2"]["local"].as_str().expect("id2.local").to_string();
                let cat = e["cat"].as_str().expect("cat").to_string();
                let stack = open.entry((pid, cat, local)).or_default();
                if ph == "b" {
                    stack.push(name);
                    if let Some(id) = e["bind_id"].as_u64() {
                        assert_eq!(stack.len(), 1, "flows bind to a hop's outer slice");
                        let fin = e["flow_in"].as_bool().unwrap_or(false);
                        let fout = e["flow_out"].as_bool().unwrap_or(false);
                        assert!(fin || fout, "a bound slice has a direction");
                        flows.entry(id).or_default().push((
                            fin,
                            fout,
                            e["ts"].as_u64().unwrap_or(0),
                        ));
                    }
                } else {
                    assert_eq!(
                        stack.pop().as_deref(),
                        Some(name.as_str()),
                        "ends match begins: {e}"
                    );
                }
            }
            "C" => assert!(e["args"].is_object()),
            "i" => assert_eq!(e["s"], "g"),
            other => panic!("unexpected phase {other}"),
        }
    }
    assert!(open.values().all(Vec::is_empty), "every async slice ends");
    assert!(pids_used.is_subset(&named), "every process is named");
    assert!(!flows.is_empty());
    for (id, steps) in &flows {
        let starts = steps.iter().filter(|(i, o, _)| !*i && *o).count();
        let ends = steps.iter().filter(|(i, o, _)| *i && !*o).count();
        assert_eq!(
            (starts, ends),
            (1, 1),
            "flow {id}: one start, one end: {steps:?}"
        );
        assert!(
            !steps[0].0 && steps[0].1,
            "flow {id} starts at its first hop"
        );
        assert!(steps.len() >= 2);
    }
    assert!(
        flows.values().any(|s| s.len() >= 4),
        "some flows cross client, cdn, lb, server"
    );
}

fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "every row has every column");
    }
    (header, rows)
}

pub fn csv(text: &str, summary: &Summary, live: &Snapshot) {
    let (header, rows) = read_csv(text);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let sum = |name: &str| -> u64 {
        let c = col(name);
        rows.iter().map(|r| r[c].parse::<u64>().unwrap_or(0)).sum()
    };
    let mut classes = [0u64; 5];
    for (outcome, n) in &summary.outcomes {
        let o: hopscope::trace::Outcome = outcome.parse().expect("outcome");
        classes[o.class().index()] += n;
    }
    for c in OutcomeClass::ALL {
        assert_eq!(sum(c.label()), classes[c.index()], "{} column", c.label());
    }
    for s in &summary.servers {
        assert_eq!(sum(&format!("served:{}", s.name)), s.served, "{}", s.name);
    }
    assert_eq!(
        sum("cache_hits"),
        summary.cache.hits + summary.cache.revalidated
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[col("time_s")], i.to_string(), "a row for every second");
    }
    for s in live.seconds.iter() {
        let row = &rows[s.second as usize];
        assert_eq!(
            row[col("requests")],
            s.requests.to_string(),
            "second {}",
            s.second
        );
        if let Some(l) = s.latency {
            assert_eq!(row[col("p99_ms")], l.p99.to_string());
        }
    }
}
