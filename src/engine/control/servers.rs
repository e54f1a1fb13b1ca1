//! The servers family: one API server misbehaves (`hang`, `slow`, `error`), or one joins
//! (`add server`) or leaves (`remove server-N`) the load balancer's pool.

use super::{Applied, done};
use crate::engine::topology::Topology;
use crate::scenario::Dur;
use crate::trace::Component;

/// A change to the API servers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum ServerChange {
    /// `hang server-N`: accepts connections, never answers.
    Hang(u16),
    /// `slow server-N DUR`: this much longer for every request.
    Slow(u16, Dur),
    /// `error server-N SHARE`: this share of requests answer 500.
    Error(u16, f64),
    /// `add server`.
    Add,
    /// `remove server-N`.
    Remove(u16),
}

impl Topology {
    /// The servers: one misbehaves (`hang`, `slow`, `error`), one joins or leaves.
    pub(super) async fn change_servers(&self, change: ServerChange) -> Result<Applied, String> {
        match change {
            ServerChange::Hang(n) => {
                self.server_or_err(n)?.hang();
                done(
                    Some(Component::Server(n)),
                    format!("server-{n} hangs: it accepts connections but never answers"),
                )
            }
            ServerChange::Slow(n, d) => {
                self.server_or_err(n)?.slow(d.get());
                done(
                    Some(Component::Server(n)),
                    format!("server-{n} now takes {d} longer for every request"),
                )
            }
            ServerChange::Error(n, share) => {
                self.server_or_err(n)?.set_error_rate(share);
                done(
                    Some(Component::Server(n)),
                    format!(
                        "server-{n} answers 500 to {:.0}% of its requests",
                        share * 100.0
                    ),
                )
            }
            ServerChange::Add => {
                let s = self.add_server().await.map_err(|e| e.to_string())?;
                done(
                    Some(Component::Server(s.number())),
                    format!(
                        "{} started on {} and joined the load balancer",
                        s.name(),
                        s.addr()
                    ),
                )
            }
            ServerChange::Remove(n) => {
                if self.remove_server(n) {
                    done(
                        Some(Component::Server(n)),
                        format!("server-{n} left the load balancer and stopped"),
                    )
                } else {
                    Err(self.no_server(n))
                }
            }
        }
    }
}
