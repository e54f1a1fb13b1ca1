//! The network family: HTTPS at the edge (`tls`), and each link's one-way latency
//! (`latency`) and packet loss (`drop`).

use super::{Applied, done};
use crate::engine::topology::Topology;
use crate::scenario::{Dur, Link};

/// A change to the network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum NetworkChange {
    /// `tls on|off`.
    Tls(bool),
    /// `latency LINK DUR`.
    Latency(Link, Dur),
    /// `drop LINK SHARE`.
    Drop(Link, f64),
}

impl Topology {
    /// The network: HTTPS at the edge, and each link's latency and loss.
    pub(super) async fn change_network(&self, change: NetworkChange) -> Result<Applied, String> {
        match change {
            NetworkChange::Tls(on) => {
                self.set_tls(on).await.map_err(|e| e.to_string())?;
                self.clients.set_tls(on);
                done(
                    Some(self.edge.component),
                    if on {
                        "HTTPS on: plain HTTP to the edge answers 308"
                    } else {
                        "HTTPS off: clients use plain HTTP"
                    },
                )
            }
            NetworkChange::Latency(link, d) => {
                match link {
                    Link::Client => self.clients.set_latency(d.get()),
                    Link::Cdn => self
                        .cdn
                        .as_ref()
                        .ok_or("this scenario has no CDN")?
                        .link()
                        .set_latency(d.get()),
                    Link::Lb => self.lb.set_latency(d.get()),
                    Link::Db => self.db.set_latency(d.get()),
                }
                done(
                    None,
                    format!("the {} link now has {d} one-way latency", link.name()),
                )
            }
            NetworkChange::Drop(link, share) => self.drop_packets(link, share),
        }
    }

    /// `drop LINK SHARE`: loses that share of the link's packets.
    fn drop_packets(&self, link: Link, share: f64) -> Result<Applied, String> {
        match link {
            Link::Client => self.clients.set_loss(share),
            Link::Cdn => self
                .cdn
                .as_ref()
                .ok_or("this scenario has no CDN")?
                .link()
                .set_loss(share),
            Link::Lb => self.lb.link().set_loss(share),
            Link::Db => return Err(
                "the database is inside the servers' machine here: its link has no packets to drop"
                    .into(),
            ),
        }
        let what = if share >= 1.0 {
            format!(
                "the {} link drops every packet, like a firewall: connections time out",
                link.name()
            )
        } else {
            format!(
                "the {} link drops {:.0}% of packets: lost ones are sent again after a timeout",
                link.name(),
                share * 100.0
            )
        };
        done(None, what)
    }
}
