//! Plays a scenario's timed events: at a moment of simulated time (stretched by the time
//! scale) or once the clients have sent N requests, apply a control command or send a
//! specific request. Each outcome is a trace marker, so the window and `serve` show it.

use std::sync::Arc;

use super::topology::Topology;
use crate::scenario::{Command, Event};
use crate::trace::{Marker, TraceEvent};

/// Starts one task per event.
pub fn play(topology: &Arc<Topology>, events: &[Event]) {
    for event in events.iter().cloned() {
        let topology = topology.clone();
        let shutdown = topology.env.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = fire(&topology, event) => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

async fn fire(topology: &Arc<Topology>, event: Event) {
    if let Some(at) = event.at {
        topology.sleep_simulated(at.get()).await;
    }
    if let Some(n) = event.after_requests {
        topology.clients.wait_sent(n).await;
    }
    if let Some(text) = &event.action {
        let outcome = match text.parse::<Command>() {
            Ok(command) => topology.apply(&command).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(why) = outcome {
            topology.env.sink.emit(TraceEvent::Marker(Marker {
                at_micros: topology.env.now(),
                component: None,
                text: format!("could not {text}: {why}"),
            }));
        }
    }
    if let Some(send) = &event.send {
        topology.send_marked(send);
    }
}
