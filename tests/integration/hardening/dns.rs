//! Hostile datagrams at the live DNS stub: bad counts, compression loops, truncated and
//! oversized packets, other opcodes and classes, responses sent to it. Each gets FORMERR,
//! NOTIMP or REFUSED, or is dropped, at once; names outside the zone are refused without
//! recursion and never amplified; normal queries are answered afterwards.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;

use super::harness::{self, Live};
use super::{assert_no_engine_panics, hardened, live};

/// A DNS header: id, flags, then the four counts.
fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        out.extend_from_slice(&c.to_be_bytes());
    }
    out
}

/// A name in wire format, uncompressed.
fn name(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in text.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A one-question query (recursion desired, as dig asks) for `qname`, `qtype`, `qclass`.
fn query(id: u16, qname: &str, qtype: u16, qclass: u16) -> Vec<u8> {
    let mut q = header(id, 0x0100, [1, 0, 0, 0]);
    q.extend(name(qname));
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&qclass.to_be_bytes());
    q
}

/// The same query with an EDNS OPT record advertising 4096 bytes.
fn with_edns(mut q: Vec<u8>) -> Vec<u8> {
    q[11] = 1; // ARCOUNT
    q.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
    q
}

/// Sends `bytes`; returns the answer's response code, `None` when dropped. Checks the
/// harness's protocol rules on the way.
fn ask(live: &Live, bytes: &[u8]) -> Option<(ResponseCode, Message, usize)> {
    let reply = live
        .dns(bytes)
        .expect("answered or dropped in bounded time");
    harness::check_dns(bytes, reply.as_deref()).unwrap_or_else(|e| panic!("{e}: {bytes:?}"));
    reply.map(|r| {
        let m = Message::from_vec(&r).expect("parses");
        (m.response_code, m, r.len())
    })
}

fn rcode(live: &Live, bytes: &[u8]) -> Option<ResponseCode> {
    ask(live, bytes).map(|(r, _, _)| r)
}

#[test]
fn malformed_datagrams_get_formerr_or_are_dropped() {
    let live = live(hardened());
    let formerr = Some(ResponseCode::FormErr);
    // Counts that promise more than the packet holds.
    assert_eq!(rcode(&live, &header(1, 0x0100, [1, 0, 0, 0])), formerr);
    let mut three = query(2, "api.example.test", 1, 1);
    three[5] = 3;
    assert_eq!(rcode(&live, &three), formerr);
    let mut answers = query(3, "api.example.test", 1, 1);
    answers[6] = 0xff;
    answers[7] = 0xff;
    assert_eq!(rcode(&live, &answers), formerr);
    let mut cut_record = query(4, "api.example.test", 1, 1);
    cut_record[11] = 1;
    cut_record.extend_from_slice(&[0, 0, 41, 0x10]);
    assert_eq!(rcode(&live, &cut_record), formerr);
    // No question at all.
    assert_eq!(rcode(&live, &header(5, 0x0100, [0, 0, 0, 0])), formerr);
    // Compression loops: a pointer to itself, two pointers to each other, one past the end.
    for looped in [
        vec![0xc0, 12],
        vec![0xc0, 14, 0xc0, 12],
        vec![3, b'a', b'p', b'i', 0xc0, 12],
        vec![0xc0, 0xff],
    ] {
        let mut q = header(6, 0x0100, [1, 0, 0, 0]);
        q.extend(&looped);
        q.extend_from_slice(&[0, 1, 0, 1]);
        assert_eq!(rcode(&live, &q), formerr, "{looped:?}");
    }
    // A label longer than 63 bytes, and a name longer than 255.
    let mut long_label = header(7, 0x0100, [1, 0, 0, 0]);
    long_label.push(64);
    long_label.extend(std::iter::repeat_n(b'a', 64));
    long_label.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(rcode(&live, &long_label), formerr);
    let long_name = format!("{}example.test", "abcdefghij.".repeat(30));
    assert!(matches!(
        rcode(&live, &query(8, &long_name, 1, 1)),
        Some(ResponseCode::FormErr | ResponseCode::Refused)
    ));
    // Not even a header, or a response: dropped without an answer.
    assert_eq!(rcode(&live, b""), None);
    assert_eq!(rcode(&live, &[0x12; 11]), None);
    let mut response = query(9, "api.example.test", 1, 1);
    response[2] |= 0x80;
    assert_eq!(rcode(&live, &response), None);
    // An oversized datagram (more than the stub reads): an answer or a drop, nothing else.
    let mut big = query(10, "api.example.test", 1, 1);
    big.extend(std::iter::repeat_n(0xab, 9000));
    let _ = ask(&live, &big);
    normal_queries_are_answered(&live);
}

#[test]
fn other_opcodes_classes_and_transfers_are_refused_or_not_implemented() {
    let live = live(hardened());
    let mut update = query(11, "example.test", 6, 1);
    update[2] = 5 << 3; // opcode UPDATE
    assert_eq!(rcode(&live, &update), Some(ResponseCode::NotImp));
    let mut status = header(12, 2 << 11, [0, 0, 0, 0]);
    status.truncate(12);
    assert_eq!(rcode(&live, &status), Some(ResponseCode::NotImp));
    // version.bind in class CHAOS, a zone transfer, EDNS version 1.
    assert_eq!(
        rcode(&live, &query(13, "version.bind", 16, 3)),
        Some(ResponseCode::Refused)
    );
    assert_eq!(
        rcode(&live, &query(14, "example.test", 252, 1)),
        Some(ResponseCode::Refused)
    );
    let mut v1 = with_edns(query(15, "api.example.test", 1, 1));
    let at = v1.len() - 5;
    v1[at] = 1; // EDNS version
    assert_eq!(rcode(&live, &v1).map(u16::from), Some(16), "BADVERS");
    normal_queries_are_answered(&live);
}

#[test]
fn names_outside_the_zone_are_refused_without_recursion_or_amplification() {
    let live = live(hardened());
    // (name, type): A, AAAA, MX, TXT, ANY, DNSKEY, RRSIG: the types amplifiers like.
    let types = [1u16, 28, 15, 16, 255, 48, 46];
    for outside in [
        "example.com",
        "google.com",
        "test",
        ".",
        "example.test.evil.com",
    ] {
        for qtype in types {
            for q in [
                query(20, outside, qtype, 1),
                with_edns(query(21, outside, qtype, 1)),
            ] {
                let (rcode, message, len) = ask(&live, &q).expect("answered");
                assert_eq!(rcode, ResponseCode::Refused, "{outside} {qtype}");
                assert!(!message.recursion_available, "never offers recursion");
                assert!(message.answers.is_empty() && message.authorities.is_empty());
                assert!(
                    len <= q.len() + 12,
                    "{outside} type {qtype}: a {}-byte query got {len} bytes",
                    q.len()
                );
            }
        }
    }
    // Even the zone's own answers stay small: ANY for the SRV name is the biggest.
    let srv = with_edns(query(22, "_http._tcp.api.example.test", 255, 1));
    let (rcode, _, len) = ask(&live, &srv).expect("answered");
    assert_eq!(rcode, ResponseCode::NoError);
    assert!(
        len <= 3 * srv.len(),
        "{len} bytes for a {}-byte query",
        srv.len()
    );
    normal_queries_are_answered(&live);
}

/// `dig api.example.test` and `dig SRV _http._tcp.api.example.test` still work.
fn normal_queries_are_answered(live: &Live) {
    let (rcode, message, _) = ask(live, &query(40, "api.example.test", 1, 1)).expect("answered");
    assert_eq!(rcode, ResponseCode::NoError);
    assert!(
        message
            .answers
            .iter()
            .any(|r| matches!(&r.data, RData::A(a) if a.0.is_loopback())),
        "{message:?}"
    );
    let (rcode, message, _) =
        ask(live, &query(41, "_http._tcp.api.example.test", 33, 1)).expect("answered");
    assert_eq!(rcode, ResponseCode::NoError);
    let edge: std::net::SocketAddr = live.engine().addresses().edge.parse().expect("edge");
    assert!(
        message
            .answers
            .iter()
            .any(|r| matches!(&r.data, RData::SRV(s) if s.port == edge.port())),
        "{message:?}"
    );
    assert_eq!(
        rcode_of(live, &query(42, "nope.example.test", 1, 1)),
        Some(ResponseCode::NXDomain)
    );
    assert_no_engine_panics();
}

fn rcode_of(live: &Live, bytes: &[u8]) -> Option<ResponseCode> {
    rcode(live, bytes)
}
