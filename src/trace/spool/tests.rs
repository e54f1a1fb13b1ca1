//! Tests of the trace spool: journeys read back across blocks, a block cut short, the
//! size limit and a failed write.

use super::*;
use crate::trace::{Attr, Component, Outcome, Phase, Span, TraceId};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hopscope-spool-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn journey(i: u64) -> Journey {
    let id = TraceId(u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834) | 1);
    let start = i * 1000;
    Journey {
        id,
        profile: "browser".into(),
        client: format!("browser-{}", i % 5),
        method: "GET".into(),
        url: format!("/users/{}", i % 100),
        start_micros: start,
        end_micros: Some(start + 900 + i % 77),
        outcome: Some(Outcome::Status(200)),
        served_by: Some(format!("server-{}", 1 + i % 3)),
        bytes: 79,
        spans: vec![Span {
            id,
            component: Component::Db,
            phase: Phase::Db,
            start_micros: start + 100,
            end_micros: start + 300 + i % 13,
            attrs: vec![
                Attr::new("sql", "SELECT * FROM users WHERE id = ?"),
                Attr::new("params", format!("[{}]", i % 100)),
            ],
        }],
        arrivals: vec![(Component::Cdn, start + 50)],
        ..Journey::default()
    }
}

fn read_all(path: &Path) -> io::Result<Vec<Journey>> {
    read(path)?.collect()
}

#[test]
fn journeys_come_back_as_written_across_many_blocks() {
    let dir = temp_dir("blocks");
    let path = dir.join("spool");
    let mut spool = Spool::create(&path, SpoolLimit::unlimited()).expect("create");
    let journeys: Vec<Journey> = (0..20_000).map(journey).collect();
    for j in &journeys {
        assert!(spool.write(j));
    }
    spool.flush();
    assert_eq!(spool.written(), 20_000);
    assert!(spool.stopped().is_none());
    let back = read_all(&path).expect("read");
    assert_eq!(back.len(), journeys.len());
    assert!(back == journeys, "every journey reads back exactly");
    let per_request = spool.bytes() as f64 / 20_000.0;
    assert!(per_request < 40.0, "{per_request:.1} bytes per request");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_reader_sees_what_was_flushed_and_ignores_a_block_cut_short() {
    let dir = temp_dir("tail");
    let path = dir.join("spool");
    let mut spool = Spool::create(&path, SpoolLimit::unlimited()).expect("create");
    for i in 0..10 {
        spool.write(&journey(i));
    }
    assert_eq!(
        read_all(&path).expect("read").len(),
        0,
        "nothing flushed yet"
    );
    spool.flush();
    for i in 10..20 {
        spool.write(&journey(i));
    }
    spool.flush();
    let whole = std::fs::read(&path).expect("file");
    let back = read_all(&path).expect("read");
    assert_eq!(back.len(), 20);
    // The second block half written: the first still reads, without an error.
    std::fs::write(&path, &whole[..whole.len() - 5]).expect("cut");
    assert_eq!(read_all(&path).expect("read").len(), 10);
    // A damaged block that is whole is an error.
    let mut damaged = whole.clone();
    let first_block_data = MAGIC.len() + BLOCK_HEADER as usize;
    for b in &mut damaged[first_block_data..first_block_data + 8] {
        *b ^= 0xa5;
    }
    std::fs::write(&path, &damaged).expect("damage");
    let result = read_all(&path);
    assert!(
        matches!(&result, Err(e) if e.kind() == io::ErrorKind::InvalidData),
        "{result:?}"
    );
    std::fs::write(&path, b"{\"id\":1}\n").expect("foreign");
    assert!(read(&path).is_err(), "not a spool");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_spool_stops_before_its_limit_and_keeps_what_it_has() {
    let dir = temp_dir("limit");
    let path = dir.join("spool");
    let limit = SpoolLimit {
        bytes: 20_000,
        described: "20kB, trace.spool_limit".into(),
    };
    let mut spool = Spool::create(&path, limit).expect("create");
    let mut kept = 0;
    let mut first_refused = None;
    for i in 0..50_000 {
        if spool.write(&journey(i)) {
            assert!(
                first_refused.is_none(),
                "nothing is kept after the first refusal"
            );
            kept += 1;
        } else if first_refused.is_none() {
            first_refused = Some(i);
        }
    }
    spool.flush();
    let stop = spool.stopped().expect("stopped").clone();
    assert_eq!(stop.reason, StopReason::SpoolLimit);
    assert_eq!(stop.requests_kept, kept);
    assert!(
        stop.message.contains("20kB, trace.spool_limit"),
        "{}",
        stop.message
    );
    let first_refused = first_refused.expect("some refused");
    assert_eq!(
        stop.at_micros,
        journey(first_refused).end_micros.expect("ended")
    );
    assert!(spool.bytes() <= 20_000, "{} bytes", spool.bytes());
    assert!(
        spool.bytes() > 15_000,
        "the room is used: {} bytes",
        spool.bytes()
    );
    let file = std::fs::metadata(&path).expect("file").len();
    assert!(file <= 20_000 + MAGIC.len() as u64);
    assert_eq!(read_all(&path).expect("read").len() as u64, kept);
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_stops_the_spool_and_says_why() {
    let dir = temp_dir("full");
    let path = dir.join("spool");
    let mut spool = Spool::create(&path, SpoolLimit::unlimited()).expect("create");
    for i in 0..10 {
        spool.write(&journey(i));
    }
    spool.flush();
    // From now on every write fails as on a full disk.
    spool.file = Some(
        File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full"),
    );
    for i in 10..20 {
        assert!(
            spool.write(&journey(i)),
            "gathered in memory until the block is written"
        );
    }
    spool.flush();
    assert!(!spool.write(&journey(20)));
    let stop = spool.stopped().expect("stopped");
    assert_eq!(stop.reason, StopReason::WriteFailed);
    assert_eq!(stop.requests_kept, 10);
    assert_eq!(spool.written(), 10);
    assert_eq!(stop.at_micros, journey(10).end_micros.expect("ended"));
    assert!(
        stop.message.contains("cannot write the trace spool"),
        "{}",
        stop.message
    );
    assert_eq!(read_all(&path).expect("read").len(), 10);
    std::fs::remove_dir_all(&dir).ok();
}
