//! The one shape every component has: the DNS stub, the CDN, the load balancer, the API
//! servers and the database today, and each one added later (a message broker, a WebSocket
//! endpoint, a thread-per-connection server). A component is five parts:
//!
//! 1. **Its config** ([`Service::Config`]): what it starts with — its part of the scenario,
//!    what it needs of the components started before it (the address it forwards to), and
//!    where it listens (`loopback(0)` lets the system pick the port, as every run but
//!    `--port-base` does).
//! 2. **`start(env, config) -> handle`** ([`Service::start`]): binds its socket, starts its
//!    tasks and returns once it answers. Every task it spawns ends when the run's shutdown
//!    token (`env.shutdown`) is cancelled, so a finished run leaves nothing behind. An `Err`
//!    is the simulator failing (a port in use), never a simulated failure, and turns into a
//!    [`StartError`] with `?`.
//! 3. **Kill and restart** ([`ServiceHandle`]): `kill` closes its socket, so peers see what a
//!    crashed process gives them (TCP: connection refused; UDP: no answer), and cuts the work
//!    in progress; `restart` binds the same address again, a fresh process: faults cleared,
//!    what it kept in memory forgotten (unless the component says it survives, as the CDN's
//!    cache does). The handle also says which [`Component`] it is and where it listens.
//! 4. **A per-request handler**: the component's own `handle` method, called once per
//!    request (HTTP: wrapped in a `listener::Handler` that the component's `Listener`
//!    serves, which gives it connection limits and the 408 for free; UDP: once per datagram
//!    in its receive loop; the database: once per query). It is not a method of these traits
//!    because what a request is differs with the protocol.
//! 5. **Its trace events**: what the handler reports with `Env::span` and `Env::arrive`
//!    on its own [`Component`] lane, at the moments that teach something. A simulated failure
//!    (a refused connection, a 503, NXDOMAIN) is a trace event, not an `Err`.
//!
//! A component without a socket skips part 3: the database is the example. It has a config
//! and a `start` (it opens a SQLite file and its pool), a per-query handler and its `db`
//! spans, but no address to kill: it lives as long as the servers that use it, so its
//! handle does not implement [`ServiceHandle`] (its impl is at the end of this file, as
//! `db.rs` is at its size limit). `Topology::start` (`topology.rs`) starts every component
//! through [`Service::start`], in the order they connect; `docs/architecture.md` ("How to
//! add a component") walks through writing one.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use super::db::{Db, DbError};
use super::env::Env;
use super::listener::{BindError, Listener};
use super::topology::StartError;
use crate::scenario::DatabaseConfig;
use crate::trace::Component;

/// A kind of component: how one is started.
pub trait Service {
    /// What it starts with (see the module doc, part 1).
    type Config;
    /// What the topology keeps to change and stop it: implements [`ServiceHandle`] when the
    /// component has a socket.
    type Handle;
    /// Why it could not start (the simulator failing, not a simulated failure).
    type Error: std::error::Error + Into<StartError>;

    /// Binds its socket, starts its tasks (each ending with `env.shutdown`) and returns its
    /// handle once it answers.
    fn start(
        env: Arc<Env>,
        config: Self::Config,
    ) -> impl Future<Output = Result<Self::Handle, Self::Error>> + Send;
}

/// A running component with a socket: what a fault does to it.
pub trait ServiceHandle {
    /// Why it could not listen again.
    type Error: std::error::Error;

    /// The lane its trace events are on.
    fn component(&self) -> Component;

    /// Where it listens (the same address after a restart).
    fn address(&self) -> SocketAddr;

    /// Whether its socket is open and served.
    fn is_alive(&self) -> bool;

    /// Closes its socket and cuts the work in progress, as a crash would. Returns at once;
    /// the socket closes a moment later (a TCP component can wait for it with its
    /// `wait_closed`).
    fn kill(&self);

    /// Binds the same address again as a fresh process (faults cleared).
    fn restart(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The handle of an HTTP proxy (the CDN, the load balancer): the proxy its listener serves,
/// and that listener. The proxy's state (the CDN's cache, the balancer's health view)
/// survives a kill and a restart: only the socket goes and comes back.
#[derive(Debug)]
pub struct Proxy<T> {
    pub proxy: Arc<T>,
    pub listener: Arc<Listener>,
    pub component: Component,
}

impl<T: Send + Sync> ServiceHandle for Proxy<T> {
    type Error = BindError;

    fn component(&self) -> Component {
        self.component
    }

    fn address(&self) -> SocketAddr {
        self.listener.addr()
    }

    fn is_alive(&self) -> bool {
        self.listener.is_alive()
    }

    fn kill(&self) {
        self.listener.kill();
    }

    async fn restart(&self) -> Result<(), BindError> {
        self.listener.restart().await
    }
}

/// The database: a component without a socket (see the module doc). Its config is the
/// scenario's `[database]`; starting it creates, seeds and opens the SQLite file.
impl Service for Db {
    type Config = DatabaseConfig;
    type Handle = Db;
    type Error = DbError;

    async fn start(env: Arc<Env>, config: DatabaseConfig) -> Result<Db, DbError> {
        Db::open(env, &config)
    }
}
