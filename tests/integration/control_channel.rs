//! The engine's control channel under a burst: commands sent at once through the engine's
//! public surface are applied in the order they were sent and every one is answered; when
//! the channel is full, a sender that may not wait is told so and nothing it was told was
//! taken goes missing.

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hopscope::engine::{Answer, ControlError, Engine, Op, Reply, Ticket};
use hopscope::scenario::{Command, Dur, Scenario, Target};
use hopscope::ui::live::{ScenarioSource, Session};
use hopscope::ui::waker::Waker;

use super::engine::{quiet, start};

fn kill() -> Command {
    Command::Kill(Target::Server(2))
}

fn restart() -> Command {
    Command::Restart(Target::Server(2))
}

/// The `n`th command of the burst: kill, restart, kill, …
fn nth(n: usize) -> Command {
    if n.is_multiple_of(2) {
        kill()
    } else {
        restart()
    }
}

/// Three servers, whose health checks are rare (their markers stay out of the way).
fn scenario() -> Scenario {
    let mut s = quiet();
    s.balancer.health_interval = Dur::from_secs(60);
    s
}

fn engine() -> Engine {
    start(scenario(), false)
}

fn server_2(engine: &Engine) -> SocketAddr {
    engine.addresses().servers[1]
        .parse()
        .expect("server-2 has an address")
}

/// Whether server-2's port takes connections.
fn listening(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// The burst's markers in the trace, in the order the recorder got them.
fn burst_markers(engine: &Engine) -> Vec<String> {
    engine.flush_spool();
    let (k, r) = (kill().to_string(), restart().to_string());
    engine
        .snapshot()
        .markers
        .iter()
        .map(|m| m.text.clone())
        .filter(|t| *t == k || *t == r)
        .collect()
}

/// Waits for `tickets` and checks each answers the command sent in its place, applied.
fn answered_in_order(tickets: Vec<Ticket>, first: usize) {
    for (i, ticket) in tickets.into_iter().enumerate() {
        let answers = ticket.wait().expect("the engine answers every batch");
        let [Answer::Applied(Reply { command, result })] = answers.as_slice() else {
            panic!("command {}: one answer per op, got {answers:?}", first + i);
        };
        assert_eq!(
            *command,
            nth(first + i),
            "answer {} is out of place",
            first + i
        );
        let applied = result
            .as_ref()
            .unwrap_or_else(|e| panic!("`{command}` (number {}) failed: {e}", first + i));
        let word = if (first + i).is_multiple_of(2) {
            "killed"
        } else {
            "restarted"
        };
        assert!(applied.message.contains(word), "{}", applied.message);
    }
}

#[test]
fn a_thousand_kills_and_restarts_sent_at_once_apply_in_order() {
    let engine = engine();
    let addr = server_2(&engine);
    let began = Instant::now();
    // 999 commands in one burst (the channel holds fewer: `submit` waits for room, never
    // dropping one), then the answers.
    let tickets: Vec<Ticket> = (0..999)
        .map(|n| {
            engine
                .submit(vec![Op::Apply(nth(n))])
                .expect("the engine takes the command")
        })
        .collect();
    answered_in_order(tickets, 0);
    assert!(
        !listening(addr),
        "after 999 commands, the last a kill, server-2 is down"
    );
    let last = engine
        .submit(vec![Op::Apply(nth(999))])
        .expect("the engine takes the command");
    answered_in_order(vec![last], 999);
    assert!(
        listening(addr),
        "after 1,000 commands, the last a restart, server-2 is up"
    );
    let markers = burst_markers(&engine);
    assert_eq!(markers.len(), 1000, "one marker per command");
    for (n, text) in markers.iter().enumerate() {
        assert_eq!(*text, nth(n).to_string(), "marker {n} is out of order");
    }
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "the burst took {:?}",
        began.elapsed()
    );
}

#[test]
fn a_full_channel_refuses_a_sender_that_may_not_wait_and_loses_nothing_it_took() {
    let engine = engine();
    let mut taken = Vec::new();
    let mut busy = 0;
    for _ in 0..1000 {
        // A pair per batch, so the world ends as it began whatever was refused.
        match engine.try_submit(vec![Op::Apply(kill()), Op::Apply(restart())]) {
            Ok(ticket) => taken.push(ticket),
            Err(ControlError::Busy) => busy += 1,
            Err(e) => panic!("a running engine refused with {e}"),
        }
    }
    assert!(busy > 0, "1,000 batches at once overflow a channel of 256");
    let pairs = taken.len();
    for ticket in taken {
        let answers = ticket.wait().expect("every batch taken is answered");
        assert_eq!(answers.len(), 2);
        for (answer, command) in answers.iter().zip([kill(), restart()]) {
            let Answer::Applied(Reply {
                command: got,
                result,
            }) = answer
            else {
                panic!("{answer:?}");
            };
            assert_eq!(*got, command);
            assert!(result.is_ok(), "{result:?}");
        }
    }
    assert_eq!(
        burst_markers(&engine).len(),
        2 * pairs,
        "every batch taken was applied"
    );
    assert!(listening(server_2(&engine)));
}

/// Commands the window sends in one frame: more than the control channel holds.
const WINDOW_BURST: usize = 600;

#[test]
fn kills_and_restarts_the_window_sends_in_one_frame_apply_in_that_order() {
    let waker = Arc::new(Waker::default());
    let mut session = Session::start(scenario(), ScenarioSource::Inline, false, false, &waker)
        .expect("the session starts");
    let addr = server_2(session.engine());
    // One frame's commands: kill, restart, kill, … (what quick clicks send), more than the
    // channel holds: those that do not fit wait in the session and go out later, in order.
    for n in 0..WINDOW_BURST {
        session.send(nth(n)).expect("the engine takes the command");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answers = Vec::new();
    while answers.len() < WINDOW_BURST {
        assert!(
            Instant::now() < deadline,
            "{} answers of {WINDOW_BURST}",
            answers.len()
        );
        answers.extend(session.answers());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(answers.len(), WINDOW_BURST, "one answer per command");
    for (n, answer) in answers.iter().enumerate() {
        let Answer::Applied(Reply { command, result }) = answer else {
            panic!("{answer:?}");
        };
        assert_eq!(*command, nth(n), "answer {n} is out of order");
        assert!(result.is_ok(), "{command}: {result:?}");
    }
    assert!(
        listening(addr),
        "the last command was a restart: server-2 is up"
    );
    let markers = burst_markers(session.engine());
    let expected: Vec<String> = (0..WINDOW_BURST).map(|n| nth(n).to_string()).collect();
    assert_eq!(
        markers, expected,
        "the trace's markers are in the order sent"
    );
    if let Some(stopping) = session.stop_in_background() {
        stopping.join().expect("the engine stops");
    }
}
