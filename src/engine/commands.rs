//! The engine's one control path: a bounded, ordered channel read by one task. Everything
//! that changes the running world — a control command from the window, `serve`'s stdin,
//! a lesson's step, a timed scenario event, a request sent by hand, a step in step mode —
//! is an [`Op`] put on this channel; the task does the batches in the order they were put
//! on it, each op to its end (a `kill` returns once the port is closed), and answers every
//! batch on its own [`Ticket`] (a single command from [`Control::apply`] is a job of its own,
//! answered with what it applied). Nothing is dropped: when the channel is full, a sender that
//! may not wait (the window) gets [`ControlError::Busy`], and a sender that may (the command
//! line, tests, timed events) waits for room.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::control::Applied;
use super::restore::Restored;
use super::topology::Topology;
use crate::scenario::{Command, Scope, SendRequest, World};
use crate::trace::TraceId;

/// Batches that may wait in the channel before a sender is held back or refused.
pub const CONTROL_CHANNEL: usize = 256;

/// One thing asked of the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A control command (answered with [`Answer::Applied`]).
    Apply(Command),
    /// A specific request, with a marker naming it (answered with [`Answer::Sent`]).
    Send(SendRequest),
    /// Bring the settings in `scope` to `world` (answered with [`Answer::Restored`] and
    /// `tag`).
    Restore {
        world: World,
        scope: Scope,
        tag: u64,
    },
    /// The clients' next planned request, now; a stepped one waits at every hop (answered
    /// with [`Answer::Planned`]: no id when no client can send).
    SendPlanned { stepped: bool },
    /// Lets the stepped request take one more hop.
    Step,
    /// Lets every stepped request run on (step mode off).
    ReleaseSteps,
}

/// The answer to a command.
#[derive(Clone, Debug)]
pub struct Reply {
    pub command: Command,
    pub result: Result<Applied, String>,
}

/// The answer to one [`Op`], in the same place of its batch.
#[derive(Clone, Debug)]
pub enum Answer {
    Applied(Reply),
    Sent(TraceId),
    Restored { tag: u64, restored: Restored },
    Planned { id: Option<TraceId>, stepped: bool },
    Stepped,
    Released,
}

/// Why a batch was not taken or not answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error(
        "the engine is busy: {CONTROL_CHANNEL} batches of commands are waiting; try again in a moment"
    )]
    Busy,
    #[error("the engine has stopped: the command was not applied")]
    Stopped,
}

/// A batch on its way: the task sends its answers here once every op in it is done.
struct Batch {
    ops: Vec<Op>,
    answers: oneshot::Sender<Vec<Answer>>,
}

/// What the channel carries: a batch of ops, or one command whose answer is typed as what it
/// applied (so that a caller waiting for it needs no other kind of answer).
enum Job {
    Batch(Batch),
    Apply {
        command: Command,
        answer: oneshot::Sender<Result<Applied, String>>,
    },
}

/// Where the answers to one batch arrive.
#[derive(Debug)]
pub struct Ticket {
    answers: oneshot::Receiver<Vec<Answer>>,
}

impl Ticket {
    /// The answers if the batch is done (`Ok(None)`: not yet).
    pub fn try_take(&mut self) -> Result<Option<Vec<Answer>>, ControlError> {
        match self.answers.try_recv() {
            Ok(answers) => Ok(Some(answers)),
            Err(oneshot::error::TryRecvError::Empty) => Ok(None),
            Err(oneshot::error::TryRecvError::Closed) => Err(ControlError::Stopped),
        }
    }

    /// Waits for the answers (not from inside the engine's runtime).
    pub fn wait(self) -> Result<Vec<Answer>, ControlError> {
        self.answers
            .blocking_recv()
            .map_err(|_| ControlError::Stopped)
    }

    /// Waits for the answers (from a task).
    pub async fn answers(self) -> Result<Vec<Answer>, ControlError> {
        self.answers.await.map_err(|_| ControlError::Stopped)
    }
}

/// The sending end of the control channel. Cheap to clone; every clone feeds the same
/// task, so batches from all of them are done in the order they entered the channel.
#[derive(Clone, Debug)]
pub struct Control {
    tx: mpsc::Sender<Job>,
}

impl Control {
    /// Starts the task that does the batches on `topology` (inside the engine's runtime);
    /// it ends when the engine shuts down or every `Control` is gone.
    pub fn start(topology: Arc<Topology>) -> Control {
        let (tx, rx) = mpsc::channel(CONTROL_CHANNEL);
        tokio::spawn(serve(topology, rx));
        Control { tx }
    }

    fn batch(ops: Vec<Op>) -> (Batch, Ticket) {
        let (answers, rx) = oneshot::channel();
        (Batch { ops, answers }, Ticket { answers: rx })
    }

    /// Puts `ops` on the channel without waiting: `Busy` when it is full.
    pub fn try_submit(&self, ops: Vec<Op>) -> Result<Ticket, ControlError> {
        let (batch, ticket) = Control::batch(ops);
        self.tx.try_send(Job::Batch(batch)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ControlError::Busy,
            mpsc::error::TrySendError::Closed(_) => ControlError::Stopped,
        })?;
        Ok(ticket)
    }

    /// Puts `ops` on the channel, waiting for room (not from inside the engine's runtime).
    pub fn submit(&self, ops: Vec<Op>) -> Result<Ticket, ControlError> {
        let (batch, ticket) = Control::batch(ops);
        self.tx
            .blocking_send(Job::Batch(batch))
            .map_err(|_| ControlError::Stopped)?;
        Ok(ticket)
    }

    /// Puts one command on the channel, waiting for room, then waits for what it applied
    /// (not from inside the engine's runtime).
    pub fn apply(&self, command: Command) -> Result<Result<Applied, String>, ControlError> {
        let (answer, rx) = oneshot::channel();
        self.tx
            .blocking_send(Job::Apply { command, answer })
            .map_err(|_| ControlError::Stopped)?;
        rx.blocking_recv().map_err(|_| ControlError::Stopped)
    }

    /// Puts `ops` on the channel, waiting for room (from a task).
    pub async fn submit_async(&self, ops: Vec<Op>) -> Result<Ticket, ControlError> {
        let (batch, ticket) = Control::batch(ops);
        self.tx
            .send(Job::Batch(batch))
            .await
            .map_err(|_| ControlError::Stopped)?;
        Ok(ticket)
    }
}

/// The control task: one batch at a time, in order, each op to its end.
async fn serve(topology: Arc<Topology>, mut rx: mpsc::Receiver<Job>) {
    let shutdown = topology.env.shutdown.clone();
    loop {
        let job = tokio::select! {
            j = rx.recv() => j,
            _ = shutdown.cancelled() => None,
        };
        // A sender may have stopped waiting (a window closed): nobody is left to tell then.
        match job {
            None => return,
            Some(Job::Batch(Batch { ops, answers })) => {
                let mut out = Vec::with_capacity(ops.len());
                for op in ops {
                    out.push(perform(&topology, op).await);
                }
                let _ = answers.send(out);
            }
            Some(Job::Apply { command, answer }) => {
                let _ = answer.send(topology.apply(&command).await);
            }
        }
    }
}

async fn perform(topology: &Topology, op: Op) -> Answer {
    match op {
        Op::Apply(command) => {
            let result = topology.apply(&command).await;
            Answer::Applied(Reply { command, result })
        }
        Op::Send(request) => Answer::Sent(topology.send_marked(&request)),
        Op::Restore { world, scope, tag } => Answer::Restored {
            tag,
            restored: topology.restore(&world, &scope).await,
        },
        Op::SendPlanned { stepped } => Answer::Planned {
            id: topology.clients.send_planned(stepped),
            stepped,
        },
        Op::Step => {
            topology.env.gate.step();
            Answer::Stepped
        }
        Op::ReleaseSteps => {
            topology.env.gate.release_all();
            Answer::Released
        }
    }
}
