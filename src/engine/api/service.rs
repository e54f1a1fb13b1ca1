//! An API server in the one component shape (`engine::component`): its config is its number,
//! where it listens and what every server shares (database, settings); starting it serves
//! `ServerInner::handle` on a `Listener` named `server-N`; `kill` and `restart` are a
//! process that crashes and one that starts afresh.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::carts::MemoryCarts;
use super::{ApiServer, ApiShared, FAULT_PURPOSE, SERVICE_PURPOSE, ServerInner};
use crate::engine::component::{Service, ServiceHandle};
use crate::engine::listener::{BindError, Handler, Listener, Mode};
use crate::engine::{Env, HopCounters};
use crate::scenario::server_name;
use crate::trace::Component;

/// What an API server starts with.
#[derive(Clone, Debug)]
pub struct ServerSetup {
    /// N in `server-N` (1-based).
    pub number: u16,
    /// Where it listens (`loopback(0)` for any free port).
    pub addr: SocketAddr,
    /// What every server shares: the database, the settings, where carts live.
    pub shared: Arc<ApiShared>,
}

impl Service for ApiServer {
    type Config = ServerSetup;
    type Handle = ApiServer;
    type Error = BindError;

    /// Starts server number `number` listening on `addr`.
    async fn start(env: Arc<Env>, config: ServerSetup) -> Result<ApiServer, BindError> {
        let ServerSetup {
            number,
            addr,
            shared,
        } = config;
        let name = server_name(number);
        let purpose = u64::from(number);
        let inner = Arc::new(ServerInner {
            number,
            name: name.clone(),
            workers: Arc::new(Semaphore::new(shared.servers.workers.max(1))),
            in_flight: AtomicU32::new(0),
            queued: AtomicU32::new(0),
            max_queue: AtomicU32::new(0),
            hung: AtomicBool::new(false),
            slow_micros: AtomicU64::new(0),
            error_rate_bits: AtomicU64::new(0f64.to_bits()),
            service_rng: Mutex::new(env.rng(SERVICE_PURPOSE ^ purpose)),
            fault_rng: Mutex::new(env.rng(FAULT_PURPOSE ^ purpose)),
            counters: HopCounters::default(),
            health_checks: AtomicU64::new(0),
            carts: MemoryCarts::default(),
            shared,
            env: env.clone(),
        });
        let server = inner.clone();
        let handler: Handler = Arc::new(move |req, peer| {
            let server = server.clone();
            Box::pin(async move { server.handle(req, peer).await })
        });
        let listener = Listener::start(env, &name, addr, Mode::Serve(handler), None).await?;
        Ok(ApiServer { inner, listener })
    }
}

impl ServiceHandle for ApiServer {
    type Error = BindError;

    fn component(&self) -> Component {
        Component::Server(self.inner.number)
    }

    fn address(&self) -> SocketAddr {
        self.listener.addr()
    }

    fn is_alive(&self) -> bool {
        self.listener.is_alive()
    }

    /// Closes the socket (connection refused) and cuts requests in progress; the memory of
    /// the "process", its carts, is lost.
    fn kill(&self) {
        self.listener.kill();
        self.inner.hung.store(false, Ordering::Relaxed);
        self.inner.carts.clear();
    }

    /// Starts afresh on the same port: open connections are cut, faults cleared, in-memory
    /// carts forgotten.
    async fn restart(&self) -> Result<(), BindError> {
        self.kill();
        self.inner.slow_micros.store(0, Ordering::Relaxed);
        self.inner.set_error_rate(0.0);
        // `Listener::restart` waits for the old socket to close before binding again.
        self.listener.restart().await
    }
}
