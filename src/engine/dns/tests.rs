//! Tests of the DNS stub (`dns.rs` and `dns/`): answers, bad input and live changes, over real UDP sockets.
use super::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;

use crate::engine::Env;
use crate::engine::component::Service;
use crate::scenario::{DnsConfig, DnsMode, Dur, Limits};
use crate::trace::{Clock, EventSink};
use crate::trace::{DnsQuery, TraceEvent, TraceId};
use crossbeam_channel::Receiver;
use hickory_proto::op::Query;

pub(crate) fn env() -> (Arc<Env>, Receiver<TraceEvent>) {
    let (sink, rx) = EventSink::new(Clock::start(), 1024);
    (Env::new(sink, 1.0, Limits::default(), 7), rx)
}

/// A stub for `example.test` (api, cdn, static) with this TTL and latency.
pub(crate) async fn stub(env: &Arc<Env>, ttl_secs: u64, latency_millis: u64) -> DnsStub {
    let config = DnsConfig {
        ttl: Dur::from_secs(ttl_secs),
        latency: Dur::from_millis(latency_millis),
        ..DnsConfig::default()
    };
    let setup = DnsSetup {
        dns: config,
        port: 0,
        edge_port: 8080,
    };
    let started = DnsStub::start(env.clone(), setup).await;
    started.expect("binds an OS-assigned port")
}

pub(crate) fn dns_events(rx: &Receiver<TraceEvent>) -> Vec<DnsQuery> {
    let events = rx.try_iter().filter_map(|e| match e {
        TraceEvent::Dns(q) => Some(*q),
        _ => None,
    });
    events.collect()
}

fn query(name: &str, qtype: RecordType, trace: Option<TraceId>) -> Vec<u8> {
    let mut message = Message::new(0x1234, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    let name = Name::from_ascii(name).expect("valid name");
    message.add_query(Query::query(name, qtype));
    if let Some(id) = trace {
        let mut edns = Edns::new();
        edns.options_mut().insert(trace_id_option(id));
        message.set_edns(edns);
    }
    message.to_vec().expect("encodes")
}

/// Sends raw bytes and waits briefly for one answer.
async fn ask(addr: SocketAddr, bytes: Vec<u8>) -> Option<Message> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("client socket");
    socket.send_to(&bytes, addr).await.expect("send");
    let mut buf = [0u8; 4096];
    let wait = tokio::time::timeout(Duration::from_millis(300), socket.recv_from(&mut buf));
    let (len, _) = wait.await.ok()?.ok()?;
    Some(Message::from_vec(&buf[..len]).expect("the stub sends well-formed answers"))
}

fn data(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| r.data.to_string()).collect()
}

fn rcodes(rx: &Receiver<TraceEvent>) -> Vec<String> {
    dns_events(rx).into_iter().map(|q| q.rcode).collect()
}

#[tokio::test]
async fn answers_for_its_zone_and_refuses_the_rest() {
    let (env, rx) = env();
    let stub = stub(&env, 7, 0).await;
    use {RecordType::*, ResponseCode::*};
    let cases = [
        ("API.Example.Test.", A, NoError, vec!["127.0.0.1"]),
        (
            "_http._tcp.api.example.test.",
            SRV,
            NoError,
            vec!["0 0 8080 api.example.test."],
        ),
        ("cdn.example.test.", AAAA, NoError, vec![]),
        ("nope.example.test.", A, NXDomain, vec![]),
        ("google.com.", A, Refused, vec![]),
    ];
    for (name, qtype, rcode, answers) in cases {
        let reply = ask(stub.addr(), query(name, qtype, None))
            .await
            .expect("answered");
        assert_eq!(
            (reply.id, reply.response_code),
            (0x1234, rcode),
            "{name} {qtype}"
        );
        assert_eq!(data(&reply.answers), answers, "{name} {qtype}");
        assert!(reply.recursion_desired && !reply.recursion_available);
        assert_eq!(reply.authoritative, rcode != Refused, "{name}");
        if let Some(answer) = reply.answers.first() {
            assert_eq!(answer.ttl, 7);
        }
        if qtype == SRV {
            assert_eq!(data(&reply.additionals), ["127.0.0.1"]);
        }
        if reply.answers.is_empty() && rcode != Refused {
            assert_eq!(
                reply.authorities[0].record_type(),
                SOA,
                "negative answers carry SOA"
            );
        }
    }
    let expected = ["NOERROR", "NOERROR", "NOERROR", "NXDOMAIN", "REFUSED"];
    assert_eq!(rcodes(&rx), expected);
    let counts = stub.counts();
    assert_eq!(
        (counts.queries, counts.noerror, counts.answered()),
        (5, 3, 5)
    );
}

#[tokio::test]
async fn bad_input_gets_formerr_or_silence_and_serving_goes_on() {
    let (env, rx) = env();
    let stub = stub(&env, 7, 0).await;
    let addr = stub.addr();
    assert!(ask(addr, b"hello".to_vec()).await.is_none(), "no header");
    // A header promising one question, and nothing after it.
    let cut = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    let formerr = ask(addr, cut).await.expect("answered");
    assert_eq!(
        (formerr.id, formerr.response_code),
        (0xABCD, ResponseCode::FormErr)
    );
    let mut no_question = query("api.example.test.", RecordType::A, None);
    no_question[5] = 0; // QDCOUNT 0, question left as trailing bytes
    let formerr = ask(addr, no_question).await.expect("answered");
    assert_eq!(formerr.response_code, ResponseCode::FormErr);
    let mut status = query("api.example.test.", RecordType::A, None);
    status[2] |= 2 << 3; // opcode STATUS
    let notimp = ask(addr, status).await.expect("answered");
    assert_eq!(notimp.response_code, ResponseCode::NotImp);
    let mut response = query("api.example.test.", RecordType::A, None);
    response[2] |= 0x80; // QR: a response
    assert!(ask(addr, response).await.is_none(), "responses are dropped");

    let ok = ask(addr, query("api.example.test.", RecordType::A, None)).await;
    assert_eq!(data(&ok.expect("still serving").answers), ["127.0.0.1"]);
    let expected = [
        "DROPPED", "FORMERR", "FORMERR", "NOTIMP", "DROPPED", "NOERROR",
    ];
    assert_eq!(rcodes(&rx), expected);
    assert_eq!(stub.counts().dropped, 2);
}

#[tokio::test]
async fn slow_answers_come_in_parallel_and_carry_the_trace_id() {
    let (env, rx) = env();
    let stub = stub(&env, 7, 50).await;
    let mut asks = tokio::task::JoinSet::new();
    for n in 1..=20 {
        let bytes = query("api.example.test.", RecordType::A, Some(TraceId(n)));
        asks.spawn(ask(stub.addr(), bytes));
    }
    for answer in asks.join_all().await {
        assert!(answer.expect("answered").edns.is_some(), "OPT echoed");
    }
    let plain = ask(stub.addr(), query("api.example.test.", RecordType::A, None)).await;
    assert!(
        plain.expect("answered").edns.is_none(),
        "no OPT unless asked"
    );

    let events = dns_events(&rx);
    let mut ids: Vec<u128> = events.iter().filter_map(|q| q.id.map(|t| t.0)).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=20).collect::<Vec<u128>>());
    // One after another, 20 answers of 50 ms each would span a second at least.
    let first = events
        .iter()
        .map(|q| q.received_micros)
        .min()
        .expect("events");
    let last_answer = events[..20]
        .iter()
        .map(|q| q.at_micros)
        .max()
        .expect("events");
    assert!(
        last_answer - first < 20 * 50_000 / 2,
        "answered in parallel, not one after another"
    );
    let last = events.last().expect("an event per query");
    assert_eq!((last.id, last.name.as_str()), (None, "api.example.test."));
    // Delays wake early by the timer's usual lateness (engine::timing), so one answer may
    // come a little before its 50 ms; on average they are on time.
    assert!(
        last.at_micros >= last.received_micros + 45_000,
        "latency injected"
    );
}

#[tokio::test]
async fn modes_and_edge_port_change_while_it_runs() {
    let (env, _rx) = env();
    let stub = stub(&env, 7, 0).await;
    let a = || query("api.example.test.", RecordType::A, None);
    stub.set_mode(DnsMode::Nxdomain);
    let nx = ask(stub.addr(), a()).await.expect("answered");
    assert_eq!(nx.response_code, ResponseCode::NXDomain);
    stub.set_mode(DnsMode::Drop(1.0));
    assert!(ask(stub.addr(), a()).await.is_none());
    assert_eq!(stub.counts().dropped, 1);
    stub.set_mode(DnsMode::Ok);
    stub.set_edge_port(9443);
    let srv = query("_http._tcp.cdn.example.test.", RecordType::SRV, None);
    let srv = ask(stub.addr(), srv).await.expect("answered");
    assert_eq!(data(&srv.answers), ["0 0 9443 cdn.example.test."]);
}
