//! Applying control commands to the running topology: the one implementation behind
//! `serve`'s stdin, scenario events and the window's controls. Every change is also a trace
//! marker, so plots show where the topology changed.
//!
//! Each family of commands has its own file, with its own small enum that its apply
//! function matches exhaustively: `faults` (`kill`, `restart`), `servers` (`hang`, `slow`,
//! `error`, `add server`, `remove server`), `settings` (`dns`, `policy`, `cache`,
//! `timescale`, `stateless`, `status`), `traffic` (`pause`, `rate`, `weight`, `send`, …) and
//! `network` (`tls`, `latency`, `drop`). [`Family::of`] is the one place a [`Command`] is
//! sorted into its family: a new command is added there and in its family's file.

use std::sync::Arc;
use std::time::Duration;

use super::api::ApiServer;
use super::topology::Topology;
use crate::scenario::Command;
use crate::trace::{Component, Marker, TraceEvent};

mod faults;
mod network;
mod servers;
mod settings;
mod traffic;

use faults::Fault;
use network::NetworkChange;
use servers::ServerChange;
use settings::Setting;
use traffic::Traffic;

/// A command sorted into its family, borrowing its words from the command.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Family<'a> {
    Fault(Fault),
    Servers(ServerChange),
    Settings(Setting),
    Traffic(Traffic<'a>),
    Network(NetworkChange),
}

impl<'a> Family<'a> {
    /// The family of `command`: the one exhaustive match over every command.
    fn of(command: &'a Command) -> Family<'a> {
        match command {
            Command::Kill(target) => Family::Fault(Fault::Kill(*target)),
            Command::Restart(target) => Family::Fault(Fault::Restart(*target)),
            Command::Hang(n) => Family::Servers(ServerChange::Hang(*n)),
            Command::Slow(n, d) => Family::Servers(ServerChange::Slow(*n, *d)),
            Command::Error(n, share) => Family::Servers(ServerChange::Error(*n, *share)),
            Command::AddServer => Family::Servers(ServerChange::Add),
            Command::RemoveServer(n) => Family::Servers(ServerChange::Remove(*n)),
            Command::Dns(mode) => Family::Settings(Setting::Dns(*mode)),
            Command::DnsFlush => Family::Settings(Setting::DnsFlush),
            Command::Policy(p) => Family::Settings(Setting::Policy(*p)),
            Command::Cache(c) => Family::Settings(Setting::Cache(*c)),
            Command::Status => Family::Settings(Setting::Status),
            Command::TimeScale(f) => Family::Settings(Setting::TimeScale(*f)),
            Command::Stateless(on) => Family::Settings(Setting::Stateless(*on)),
            Command::Pause => Family::Traffic(Traffic::Pause),
            Command::Resume => Family::Traffic(Traffic::Resume),
            Command::Rate(r) => Family::Traffic(Traffic::Rate(*r)),
            Command::Weight(p, w) => Family::Traffic(Traffic::Weight(p, *w)),
            Command::KeepAlive(on) => Family::Traffic(Traffic::KeepAlive(*on)),
            Command::Zipf(s) => Family::Traffic(Traffic::Zipf(*s)),
            Command::Send(method, path) => Family::Traffic(Traffic::Send(method, path)),
            Command::Tls(on) => Family::Network(NetworkChange::Tls(*on)),
            Command::Latency(link, d) => Family::Network(NetworkChange::Latency(*link, *d)),
            Command::Drop(link, share) => Family::Network(NetworkChange::Drop(*link, *share)),
        }
    }
}

/// The answer to a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// What changed, in words a learner understands.
    pub message: String,
    /// The component concerned, if one.
    pub component: Option<Component>,
}

fn done(component: Option<Component>, message: impl Into<String>) -> Result<Applied, String> {
    Ok(Applied {
        message: message.into(),
        component,
    })
}

impl Topology {
    fn no_server(&self, n: u16) -> String {
        let names: Vec<String> = self
            .servers()
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        format!("there is no server-{n}; servers now: {}", names.join(", "))
    }

    /// Applies `command`; `Err` says why it could not be (nothing changed then).
    pub async fn apply(&self, command: &Command) -> Result<Applied, String> {
        let applied = self.apply_inner(command).await?;
        if !matches!(command, Command::Status) {
            self.env.sink.emit(TraceEvent::Marker(Marker {
                at_micros: self.env.now(),
                component: applied.component,
                text: command.to_string(),
            }));
        }
        Ok(applied)
    }

    /// Routes `command` to the function for its family: faults (`kill`, `restart`), the
    /// servers, settings, traffic, the network.
    async fn apply_inner(&self, command: &Command) -> Result<Applied, String> {
        match Family::of(command) {
            Family::Fault(fault) => self.apply_fault(fault).await,
            Family::Servers(change) => self.change_servers(change).await,
            Family::Settings(setting) => self.change_settings(setting),
            Family::Traffic(traffic) => self.change_traffic(traffic),
            Family::Network(change) => self.change_network(change).await,
        }
    }

    /// Server `n`, or why there is none.
    fn server_or_err(&self, n: u16) -> Result<Arc<ApiServer>, String> {
        self.server(n).ok_or_else(|| self.no_server(n))
    }

    /// Waits `d` of simulated time (stretched by the time scale, which may change meanwhile).
    pub async fn sleep_simulated(&self, d: Duration) {
        // Sleep in short chunks so a change of time scale takes effect within one, and
        // count what really passed (a timer is late by a little every time).
        let step = Duration::from_millis(50);
        let mut left = d.as_secs_f64();
        let mut last = tokio::time::Instant::now();
        while left > 0.0 {
            let scale = self.env.scale.get();
            let chunk = step.as_secs_f64().min(left * scale);
            self.env
                .overshoot
                .sleep_until(last + Duration::from_secs_f64(chunk))
                .await;
            let now = tokio::time::Instant::now();
            left -= now.duration_since(last).as_secs_f64() / scale;
            last = now;
        }
    }
}
