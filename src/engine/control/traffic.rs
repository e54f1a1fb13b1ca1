//! The traffic family: the clients' pace (`pause`, `resume`, `rate`), their mix (`weight`,
//! `zipf`), their connections (`keepalive`) and one request sent by hand (`send`).

use super::{Applied, done};
use crate::engine::topology::Topology;
use crate::scenario::SendRequest;
use crate::trace::Component;

/// A change to the clients' traffic; borrows its words from the command.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Traffic<'a> {
    /// `pause`.
    Pause,
    /// `resume`.
    Resume,
    /// `rate R`.
    Rate(f64),
    /// `weight PROFILE W`.
    Weight(&'a str, f64),
    /// `keepalive on|off`.
    KeepAlive(bool),
    /// `zipf S`.
    Zipf(f64),
    /// `send METHOD PATH`.
    Send(&'a str, &'a str),
}

impl Topology {
    /// The clients' traffic: pace, mix, connections, one request by hand.
    pub(super) fn change_traffic(&self, traffic: Traffic<'_>) -> Result<Applied, String> {
        match traffic {
            Traffic::Pause => {
                self.clients.set_paused(true);
                done(Some(Component::Client), "traffic paused: no new requests")
            }
            Traffic::Resume => {
                self.clients.set_paused(false);
                done(Some(Component::Client), "traffic resumed")
            }
            Traffic::Rate(r) => {
                self.clients.set_rate(r);
                done(
                    Some(Component::Client),
                    format!("clients now send {r} requests per second"),
                )
            }
            Traffic::Weight(p, w) => {
                if self.clients.set_weight(p, w) {
                    done(
                        Some(Component::Client),
                        format!("{p} clients now have weight {w}"),
                    )
                } else {
                    Err(format!("there is no client profile `{p}`"))
                }
            }
            Traffic::KeepAlive(on) => {
                self.clients.set_keep_alive(on);
                done(
                    Some(Component::Client),
                    if on {
                        "clients keep connections open (a session)"
                    } else {
                        "clients open a new connection for every request"
                    },
                )
            }
            Traffic::Zipf(s) => {
                self.clients.set_zipf(s);
                done(
                    Some(Component::Client),
                    format!("requested ids now follow a Zipf law with exponent {s} (0 is uniform)"),
                )
            }
            Traffic::Send(method, path) => {
                let id = self.clients.send(
                    &SendRequest {
                        method: method.to_string(),
                        path: path.to_string(),
                        ..SendRequest::default()
                    },
                    false,
                );
                done(
                    Some(Component::Client),
                    format!("sent {method} {path} as request {}", id.short()),
                )
            }
        }
    }
}
