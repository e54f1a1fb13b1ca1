//! `hopscope serve`: starts the topology for outside tools, prints one JSON line with every
//! address, then only event lines: answers to the commands read on stdin, topology changes,
//! and the requests and DNS queries that outside tools (curl, dig) made. Stops on Ctrl-C,
//! SIGTERM or after `--duration`.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

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
    let target = export::target(
        args.export.as_deref(),
        args.format.as_deref(),
        args.no_trace,
    )?;
    let mut engine = Engine::start(
        scenario,
        EngineOptions {
            traffic: args.traffic,
            play_events: args.traffic,
            port_base: args.port_base,
            no_detail: args.no_trace,
            ..EngineOptions::default()
        },
    )
    .map_err(Failure::runtime)?;
    let info = target.as_ref().map(|_| export::run_info(&engine));
    // Before the address line: whoever reads it may signal at once.
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(&engine, stop.clone());
    address_line(&engine);

    let (tx, rx) = crossbeam_channel::bounded::<String>(64);
    let _ = std::thread::Builder::new()
        .name("hopscope-stdin".into())
        .spawn(move || {
            for input in std::io::stdin().lock().lines() {
                let Ok(l) = input else { return };
                if tx.send(l).is_err() {
                    return;
                }
            }
        });

    let started = Instant::now();
    let mut printed = Printed::default();
    while !stop.load(Ordering::Acquire) && args.duration.is_none_or(|d| started.elapsed() < d.get())
    {
        if let Ok(input) = rx.recv_timeout(Duration::from_millis(100)) {
            let input = input.trim().to_string();
            if !input.is_empty() {
                respond(&engine, &input);
            }
        }
        print_news(&engine.snapshot(), &mut printed);
    }
    let before = engine.snapshot();
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
    exported
}

/// The address line, keys in the documented order.
fn address_line(engine: &Engine) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, &engine.addresses());
    let _ = writeln!(out);
    let _ = out.flush();
}

fn respond(engine: &Engine, input: &str) {
    match input.parse::<Command>() {
        Err(message) => line(json!({"event": "error", "input": input, "message": message})),
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

/// Sets `stop` on Ctrl-C (and SIGTERM on Unix). On Unix the handlers are registered before
/// this returns, so a signal sent right after the address line still stops the run cleanly
/// (a handler registered later, from a spawned task, left a window in which the signal's
/// default action killed the process with its ports and spool mid-write).
fn watch_signals(engine: &Engine, stop: Arc<AtomicBool>) {
    let handle = engine.handle();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let _entered = handle.enter();
        for kind in [SignalKind::interrupt(), SignalKind::terminate()] {
            // Should registering fail, the signal keeps its default action: the process ends.
            if let Ok(mut signals) = signal(kind) {
                let stop = stop.clone();
                handle.spawn(async move {
                    if signals.recv().await.is_some() {
                        stop.store(true, Ordering::Release);
                    }
                });
            }
        }
    }
    #[cfg(not(unix))]
    handle.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.store(true, Ordering::Release);
        }
    });
}
