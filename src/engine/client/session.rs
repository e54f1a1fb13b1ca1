//! One simulated client (`browser-3`): its own DNS cache (like a device's resolver), its
//! session cookie, and, when it keeps connections alive, its pool of open connections to
//! the edge, at most six at once as browsers do; a seventh request waits (HAR's "blocked").

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::client::conn::http1::SendRequest;
use tokio::sync::Semaphore;

use super::timing::Stamps;
use crate::engine::Env;
use crate::engine::http::Body;
use crate::engine::resolver::Resolver;

/// Connections a keep-alive client opens to one host at most (as browsers do).
pub const CONNECTIONS_PER_HOST: usize = 6;

/// An open connection to the edge.
pub struct Conn {
    pub sender: SendRequest<Body>,
    pub stamps: Arc<Stamps>,
    /// It is HTTPS.
    pub tls: bool,
}

/// One client of a profile.
pub struct Session {
    /// `profile-N`, sent as `X-Client-Id`.
    pub name: String,
    pub resolver: Resolver,
    idle: Mutex<Vec<Conn>>,
    /// Connection slots for keep-alive requests.
    pub slots: Semaphore,
    cookie: Mutex<Option<String>>,
}

impl Session {
    /// A client named `name` resolving through the stub at `dns`.
    pub fn new(
        env: Arc<Env>,
        name: String,
        dns: SocketAddr,
        dns_timeout: Duration,
        dns_retries: u32,
    ) -> Session {
        Session {
            name,
            resolver: Resolver::new(env, dns, dns_timeout, dns_retries),
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(CONNECTIONS_PER_HOST),
            cookie: Mutex::new(None),
        }
    }

    /// An idle connection that is still open and of the right kind.
    pub fn take_idle(&self, tls: bool) -> Option<Conn> {
        let mut idle = self.idle.lock().expect("session lock");
        while let Some(conn) = idle.pop() {
            if conn.tls == tls && conn.sender.is_ready() && !conn.sender.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps a connection for the next request.
    pub fn put_idle(&self, conn: Conn) {
        if !conn.sender.is_closed() {
            let mut idle = self.idle.lock().expect("session lock");
            if idle.len() < CONNECTIONS_PER_HOST {
                idle.push(conn);
            }
        }
    }

    /// Closes every idle connection (keep-alive turned off).
    pub fn drop_idle(&self) {
        self.idle.lock().expect("session lock").clear();
    }

    /// The session cookie the servers gave this client, if any.
    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().expect("session lock").clone()
    }

    /// Remembers a `Set-Cookie` value (its `name=value` part).
    pub fn remember_cookie(&self, set_cookie: &str) {
        if let Some(pair) = set_cookie
            .split(';')
            .next()
            .map(str::trim)
            .filter(|p| p.contains('='))
        {
            *self.cookie.lock().expect("session lock") = Some(pair.to_string());
        }
    }
}
