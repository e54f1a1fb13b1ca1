//! Plays a scenario's timed events: at a moment of simulated time (stretched by the time
//! scale) or once the clients have sent N requests, apply a control command or send a
//! specific request. Each outcome is a trace marker, so the window and `serve` show it.
//! Events go through the control channel like every other change, so they keep their place
//! among the commands sent at the same moment.

use std::sync::Arc;

use super::commands::{Answer, Control, ControlError, Op, Reply};
use super::topology::Topology;
use crate::scenario::{Command, Event};
use crate::trace::{Marker, TraceEvent};

/// Starts one task per event.
pub fn play(topology: &Arc<Topology>, control: &Control, events: &[Event]) {
    for event in events.iter().cloned() {
        let topology = topology.clone();
        let control = control.clone();
        let shutdown = topology.env.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = fire(&topology, &control, event) => {}
                _ = shutdown.cancelled() => {}
            }
        });
    }
}

/// Does `op` through the control channel and waits for its answer.
async fn perform(control: &Control, op: Op) -> Result<Answer, ControlError> {
    let ticket = control.submit_async(vec![op]).await?;
    let mut answers = ticket.answers().await?;
    answers.pop().ok_or(ControlError::Stopped)
}

async fn fire(topology: &Arc<Topology>, control: &Control, event: Event) {
    if let Some(at) = event.at {
        topology.sleep_simulated(at.get()).await;
    }
    if let Some(n) = event.after_requests {
        topology.clients.wait_sent(n).await;
    }
    if let Some(text) = &event.action {
        let outcome = match text.parse::<Command>() {
            Ok(command) => match perform(control, Op::Apply(command)).await {
                Ok(Answer::Applied(Reply { result, .. })) => result.map(|_| ()),
                Ok(_) => Ok(()),
                Err(e) => Err(e.to_string()),
            },
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
        let _ = perform(control, Op::Send(send.clone())).await;
    }
}
