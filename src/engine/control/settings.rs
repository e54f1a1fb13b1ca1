//! The settings family: how the components behave while they run — the DNS stub's answers,
//! the clients' DNS caches, the balancing policy, the CDN's cache, the time scale, where
//! carts live — plus `status`, which changes nothing.

use super::{Applied, done};
use crate::engine::topology::Topology;
use crate::scenario::{CacheCommand, DnsMode, Policy};
use crate::trace::Component;

/// A change to a setting (or `status`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Setting {
    /// `dns ok|nxdomain|drop SHARE`.
    Dns(DnsMode),
    /// `dns flush`.
    DnsFlush,
    /// `policy NAME`.
    Policy(Policy),
    /// `cache …`.
    Cache(CacheCommand),
    /// `status`.
    Status,
    /// `timescale F`.
    TimeScale(f64),
    /// `stateless on|off`.
    Stateless(bool),
}

impl Topology {
    /// Settings of the components: DNS stub, policy, cache, time scale, where carts live.
    pub(super) fn change_settings(&self, setting: Setting) -> Result<Applied, String> {
        match setting {
            Setting::Dns(mode) => {
                self.dns.set_mode(mode);
                let what = match mode {
                    DnsMode::Ok => "the DNS stub answers normally".to_string(),
                    DnsMode::Nxdomain => {
                        "the DNS stub now says every name does not exist (NXDOMAIN)".to_string()
                    }
                    DnsMode::Drop(s) => format!("the DNS stub drops {:.0}% of queries", s * 100.0),
                };
                done(Some(Component::Dns), what)
            }
            Setting::DnsFlush => {
                let n = self.clients.flush_dns();
                done(
                    Some(Component::Client),
                    format!(
                        "{n} clients forgot their cached DNS answers: the next request looks the name up again"
                    ),
                )
            }
            Setting::Policy(p) => {
                self.lb.set_policy(p);
                done(
                    Some(Component::Lb),
                    format!("the load balancer now uses {}", p.label()),
                )
            }
            Setting::Cache(c) => {
                let cdn = self.cdn.as_ref().ok_or("this scenario has no CDN")?;
                done(Some(Component::Cdn), cdn.command(c))
            }
            Setting::Status => done(None, "status"),
            Setting::TimeScale(f) => {
                self.env.scale.set(f);
                done(
                    None,
                    format!("time runs {f}x slower: every injected delay is stretched"),
                )
            }
            Setting::Stateless(on) => {
                self.api.set_stateless(on);
                done(
                    None,
                    if on {
                        "carts now live in the database: every server sees them"
                    } else {
                        "carts now live in each server's memory: only the server that stored one sees it"
                    },
                )
            }
        }
    }
}
