//! The importer against damaged and hand-edited traces.
use super::*;

fn read(text: &str) -> Result<Trace, ImportError> {
    import_reader(text.as_bytes(), "t.json")
}

/// A complete trace with one request, on line 3.
const MINIMAL: &str = r#"{"schema":"hopscope-trace/1","generator":"t","scenario":{"name":"s","seed":1,"config":null},"wall_start_micros":0,"wall_start":"1970-01-01T00:00:00.000Z","duration_micros":10,"topology":{"components":[{"name":"lb","address":"127.0.0.1:1"}],"edge":"lb","edge_address":"127.0.0.1:1","edge_tls":null,"zone":"example.test"},"events_shed":0,"truncated":null,"source_outcomes":{"200":1},"markers":[],
"requests":[
{"id":"0000000000000000000000000000002a","profile":"p","client":"c","method":"GET","url":"/","external":false,"start_micros":5,"end_micros":9,"latency_micros":4,"outcome":"200","status":200,"cache":null,"served_by":null,"bytes":0,"reused":false,"arrivals":[],"spans":[]}
],"seconds":[],"servers":[],"totals":{"requests":1,"outcomes":{"200":1}}}"#;

/// MINIMAL with its request written twice (both ids `second_id`).
fn two_requests(second_id: &str) -> String {
    let line = MINIMAL.lines().nth(2).expect("the request line");
    let second = line.replace("2a\"", &format!("{second_id}\""));
    MINIMAL
        .replace(line, &format!("{line},\n{second}"))
        .replace("\"requests\":1", "\"requests\":2")
}

#[test]
fn a_minimal_trace_reads() {
    let t = read(MINIMAL).expect("valid");
    assert_eq!(t.requests.len(), 1);
    assert_eq!(t.requests[0].outcome, Some(Outcome::Status(200)));
    assert_eq!(t.meta.info.scenario, "s");
    assert_eq!(
        read(&two_requests("2b")).expect("two ids").requests.len(),
        2
    );
}

#[test]
fn errors_say_what_and_where() {
    let cut = &MINIMAL[..MINIMAL.find("\"reused\"").expect("a request")];
    let e = read(cut).expect_err("truncated").to_string();
    assert!(e.contains("t.json:3:") && e.contains("cut short"), "{e}");

    let bad = MINIMAL.replace("\"outcome\":\"200\"", "\"outcome\":\"299x\"");
    let e = read(&bad).expect_err("bad outcome").to_string();
    assert!(
        e.contains("unknown outcome `299x`") && e.contains("$.requests[0]"),
        "{e}"
    );

    let backwards = MINIMAL.replace("\"end_micros\":9", "\"end_micros\":2");
    let e = read(&backwards).expect_err("backwards").to_string();
    assert!(e.contains("before it starts"), "{e}");

    let e = read("").expect_err("empty").to_string();
    assert!(e.contains("empty"), "{e}");

    let e = read(r#"{"log":{"entries":[]}}"#)
        .expect_err("har")
        .to_string();
    assert!(e.contains("HAR"), "{e}");

    let e = read(&MINIMAL.replace("trace/1", "trace/9")).expect_err("version");
    assert!(e.to_string().contains("unsupported trace format"), "{e}");

    let e = read(&MINIMAL.replace("\"requests\":1", "\"requests\":2")).expect_err("count");
    assert!(e.to_string().contains("holds 2 requests but 1"), "{e}");

    let far = MINIMAL.replace("\"end_micros\":9", "\"end_micros\":99999999999999999");
    let e = read(&far).expect_err("far future").to_string();
    assert!(e.contains("more than a week"), "{e}");

    let deep = "[".repeat(100_000);
    assert!(read(&deep).is_err());
}

#[test]
fn two_requests_with_one_id_are_refused_naming_both() {
    let e = read(&two_requests("2a"))
        .expect_err("one id twice")
        .to_string();
    assert!(
        e.starts_with("t.json: request 1 (id 0000000000000000000000000000002a)")
            && e.contains("same id as request 0")
            && e.contains("$.requests[1]"),
        "{e}"
    );
}

#[test]
fn values_the_schema_forbids_are_refused_naming_request_and_field() {
    for (from, to, says) in [
        (
            "\"status\":200",
            "\"status\":99999",
            "`status` 99999 is not an HTTP status",
        ),
        (
            "\"latency_micros\":4",
            "\"latency_micros\":\"fast\"",
            "`latency_micros` must be a whole number",
        ),
        ("\"latency_micros\":4", "\"latency_micros\":-4", "0 or more"),
        (
            "\"bytes\":0",
            "\"bytes\":1.5",
            "`bytes` must be a whole number",
        ),
        (
            "\"status\":200",
            "\"status\":null",
            "`status` is null but `outcome` is \"200\"",
        ),
        ("\"cache\":null", "\"cache\":\"WARM\"", "`cache`"),
        ("\"reused\":false,", "", "missing `reused`"),
        (
            "\"reused\":false",
            "\"reused\":false,\"colour\":1",
            "unknown field `colour`",
        ),
    ] {
        assert_eq!(MINIMAL.matches(from).count(), 1, "{from}");
        let e = read(&MINIMAL.replace(from, to)).expect_err(to).to_string();
        assert!(
            e.starts_with("t.json: request 0 (id 0000000000000000000000000000002a): ")
                && e.ends_with("(at $.requests[0])")
                && e.contains(says),
            "{to}: {e}"
        );
    }
}

#[test]
fn the_header_is_checked_against_the_schema_too() {
    for (from, to, says) in [
        (
            "\"wall_start\":\"1970-01-01T00:00:00.000Z\",",
            "",
            "no `wall_start`",
        ),
        ("\"events_shed\":0,", "", "no `events_shed`"),
        (
            "\"markers\":[],",
            "\"markers\":[],\"extra\":1,",
            "unknown key `extra`",
        ),
        (
            "\"config\":null",
            "\"config\":null,\"more\":1",
            "unknown field `more`",
        ),
        (
            "\"seed\":1,\"config\":null",
            "\"seed\":1",
            "missing field `config`",
        ),
        (
            "\"edge\":\"lb\"",
            "\"edge\":\"router\"",
            "unknown component `router`",
        ),
        (
            "\"seconds\":[]",
            "\"seconds\":[{\"second\":0,\"requests\":0,\"by_class\":[0,0,0,0,0],\"cache_hits\":0,\"cache_lookups\":0,\"hit_ratio\":1.5,\"latency\":null,\"served\":{},\"in_flight\":{},\"queued\":{}}]",
            "hit ratio is 1.5",
        ),
        (
            "{\"requests\":1,\"outcomes\":{\"200\":1}}",
            "{\"requests\":1}",
            "missing field `outcomes`",
        ),
    ] {
        assert_eq!(MINIMAL.matches(from).count(), 1, "{from}");
        let e = read(&MINIMAL.replace(from, to)).expect_err(to).to_string();
        assert!(e.starts_with("t.json") && e.contains(says), "{to}: {e}");
    }
}
