//! `hopscope serve`: starts the topology for outside tools, prints one JSON line with every
//! address, then only event lines: answers to the commands read on stdin, topology changes,
//! and the requests and DNS queries that outside tools (curl, dig) made. Stops after
//! `--duration`, or on Ctrl-C, SIGTERM or SIGHUP as every command does (`signals`).

use std::io::{BufRead, Read, Write};
use std::time::{Duration, Instant};

use serde_json::json;

use super::signals::{self, Stop};
use super::{Failure, ServeArgs, export, load_scenario};
use crate::engine::{Engine, EngineOptions};
use crate::scenario::Command;
use crate::trace::Snapshot;

/// Request lines printed per tick at most (wrk sends tens of thousands a second).
const REQUEST_LINES_PER_TICK: usize = 50;

fn line(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn ms(micros: u64) -> f64 {
    (micros as f64 / 10.0).round() / 100.0
}

/// What has been printed already.
#[derive(Default)]
struct Printed {
    markers: usize,
    request_watermark: u64,
    dns_watermark: u64,
}

fn print_news(snap: &Snapshot, printed: &mut Printed) {
    for m in snap.markers.iter().skip(printed.markers) {
        line(
            json!({"event": "marker", "at_ms": ms(m.at_micros), "component": m.component.map(|c| c.to_string()), "text": m.text}),
        );
    }
    printed.markers = snap.markers.len();
    let fresh: Vec<_> = snap
        .recent
        .iter()
        .filter(|j| j.external && j.end_micros.is_some_and(|e| e > printed.request_watermark))
        .collect();
    for j in fresh.iter().take(REQUEST_LINES_PER_TICK) {
        line(json!({
            "event": "request",
            "at_ms": ms(j.end_micros.unwrap_or(0)),
            "id": j.id.to_string(),
            "client": j.client,
            "method": j.method,
            "url": j.url,
            "outcome": j.outcome.map(|o| o.to_string()),
            "cache": j.cache.map(|c| c.as_str()),
            "served_by": j.served_by,
            "ms": ms(j.latency_micros().unwrap_or(0)),
        }));
    }
    if fresh.len() > REQUEST_LINES_PER_TICK {
        line(
            json!({"event": "requests", "count": fresh.len() - REQUEST_LINES_PER_TICK, "note": "more outside requests ended than are printed one by one"}),
        );
    }
    if let Some(last) = fresh.iter().filter_map(|j| j.end_micros).max() {
        printed.request_watermark = last;
    }
    for q in snap
        .recent_dns
        .iter()
        .filter(|q| q.id.is_none() && q.at_micros > printed.dns_watermark)
        .take(REQUEST_LINES_PER_TICK)
    {
        line(
            json!({"event": "dns", "at_ms": ms(q.at_micros), "peer": q.peer, "name": q.name, "type": q.qtype, "rcode": q.rcode, "answers": q.answers}),
        );
    }
    if let Some(last) = snap
        .recent_dns
        .iter()
        .filter(|q| q.id.is_none())
        .map(|q| q.at_micros)
        .max()
    {
        printed.dns_watermark = printed.dns_watermark.max(last);
    }
}

/// Serves until stopped.
pub fn serve(args: ServeArgs) -> Result<(), Failure> {
    let scenario = load_scenario(&args.common)?;
    let target = args.export.target()?;
    let mut engine = Engine::start(
        scenario,
        EngineOptions {
            traffic: args.traffic,
            play_events: args.traffic,
            port_base: args.port_base,
            no_detail: args.export.no_trace,
            worker_threads: args.threads.map(usize::from),
            ..EngineOptions::default()
        },
    )
    .map_err(Failure::runtime)?;
    let info = target.as_ref().map(|_| engine.run_info());
    // Before the address line: whoever reads it may signal at once.
    let stop = Stop::watch();
    address_line(&engine);

    let (tx, rx) = crossbeam_channel::bounded::<String>(64);
    let _ = std::thread::Builder::new()
        .name("hopscope-stdin".into())
        .spawn(move || read_commands(std::io::stdin().lock(), &tx));

    let started = Instant::now();
    let mut printed = Printed::default();
    while !stop.requested() && args.duration.is_none_or(|d| started.elapsed() < d.get()) {
        if let Ok(input) = rx.recv_timeout(Duration::from_millis(100)) {
            let input = input.trim().to_string();
            if !input.is_empty() {
                respond(&engine, &input);
            }
        }
        print_news(&engine.snapshot(), &mut printed);
    }
    let before = engine.snapshot();
    signals::announce_grace(&engine);
    let last = engine.stop();
    print_news(&last, &mut printed);
    let requests: u64 = last.source_outcomes.iter().map(|(_, n)| n).sum();
    let exported = match (&target, info) {
        (Some(target), Some(info)) => match export::write(&engine, target, info, &last, &before) {
            Ok(stats) => {
                line(
                    json!({"event": "exported", "file": target.path.display().to_string(),
                    "format": target.format.name(), "requests": stats.requests, "bytes": stats.bytes}),
                );
                Ok(())
            }
            Err(f) => {
                line(json!({"event": "error", "message": f.message}));
                Err(f)
            }
        },
        _ => Ok(()),
    };
    line(json!({"event": "stopped", "requests": requests, "events_shed": last.events_shed}));
    exported?;
    stop.failure().map_or(Ok(()), Err)
}

/// The longest command line taken; the rest of a longer line is skipped, and the error
/// quotes only its start.
const MAX_COMMAND_LINE: usize = 4096;

/// Reads command lines as bytes, so that input which is not UTF-8 (a stray byte, a binary
/// file piped in by mistake) is answered with an error instead of ending all control.
/// Returns when the input ends or the receiver is gone.
fn read_commands(mut input: impl BufRead, tx: &crossbeam_channel::Sender<String>) {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = input
            .by_ref()
            .take(MAX_COMMAND_LINE as u64 + 1)
            .read_until(b'\n', &mut buf);
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let whole = buf.ends_with(b"\n");
        if !whole && buf.len() > MAX_COMMAND_LINE {
            // Too long: skip to the end of the line so the next one is read whole.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                match input.by_ref().take(1 << 16).read_until(b'\n', &mut rest) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if rest.ends_with(b"\n") => break,
                    Ok(_) => {}
                }
            }
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        if tx.send(text).is_err() {
            return;
        }
    }
}

/// At most `max` characters of `input`, marked when cut.
fn quoted(input: &str, max: usize) -> String {
    match input.char_indices().nth(max) {
        None => input.to_string(),
        Some((at, _)) => format!("{}… ({} bytes in all)", &input[..at], input.len()),
    }
}

/// The address line, keys in the documented order.
fn address_line(engine: &Engine) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, &engine.addresses());
    let _ = writeln!(out);
    let _ = out.flush();
}

fn respond(engine: &Engine, input: &str) {
    if input.len() > MAX_COMMAND_LINE || input.contains('\u{FFFD}') {
        let message = if input.len() > MAX_COMMAND_LINE {
            format!(
                "a command line is at most {MAX_COMMAND_LINE} bytes; this one was not read whole"
            )
        } else {
            "the line is not UTF-8 text: write commands as plain text, like `kill server-1`".into()
        };
        line(json!({"event": "error", "input": quoted(input, 80), "message": message}));
        return;
    }
    match input.parse::<Command>() {
        Err(message) => {
            line(json!({"event": "error", "input": quoted(input, 200), "message": message}))
        }
        Ok(Command::Status) => address_line(engine),
        Ok(command) => match engine.apply(&command) {
            Ok(applied) => line(
                json!({"event": "command", "command": command.to_string(), "ok": true, "message": applied.message}),
            ),
            Err(message) => line(
                json!({"event": "command", "command": command.to_string(), "ok": false, "message": message}),
            ),
        },
    }
}
