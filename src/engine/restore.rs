//! A lesson's world, live: the settings of the running topology read as a
//! `scenario::World`, and restored to the world a step expects by applying, in order, the
//! control commands `World::diff` gives (each leaves its marker, as any command does).
//! Also the one way a lesson sends a specific request, so that its marker names it.

use super::topology::Topology;
use crate::scenario::{CacheState, Change, Dur, Scope, SendRequest, World};
use crate::trace::{Component, Marker, TraceEvent, TraceId};

/// What a restore changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Restored {
    /// In words, one per change that was made (`server-1 answering without errors`).
    pub changes: Vec<String>,
    /// Changes that could not be made, with why.
    pub failed: Vec<String>,
    /// When the restore was done (µs since the run started).
    pub at_micros: u64,
}

impl Topology {
    /// The settings of the running topology now.
    pub fn world(&self) -> World {
        let servers = self
            .servers()
            .iter()
            .map(|s| {
                let g = s.gauge();
                (
                    s.number(),
                    crate::scenario::ServerState {
                        alive: g.alive,
                        hung: g.hung,
                        slow: std::time::Duration::from_secs_f64(g.slow_millis / 1000.0),
                        error_rate: g.error_rate,
                    },
                )
            })
            .collect();
        World {
            servers,
            dns_alive: self.dns.is_alive(),
            dns_mode: self.dns.mode(),
            cdn_alive: self.is_alive(Component::Cdn),
            lb_alive: self.is_alive(Component::Lb),
            policy: self.lb.policy(),
            cache: self.cdn.as_ref().map(|c| {
                let v = c.view();
                CacheState {
                    enabled: v.enabled,
                    capacity: v.capacity,
                    eviction: v.eviction,
                    ttl: v.ttl_override.map(Dur),
                }
            }),
            rate: self.clients.rate(),
            paused: self.clients.is_paused(),
            zipf: self.clients.zipf(),
            clients: self.clients.world_clients(),
            tls: self.edge.tls.lock().expect("edge lock").is_some(),
            cdn_latency: self.cdn.as_ref().map(|c| c.link().latency()),
            cdn_loss: self.cdn.as_ref().map(|c| c.link().loss()),
            lb_latency: self.lb.link().latency(),
            lb_loss: self.lb.link().loss(),
            db_latency: self.db.latency(),
            stateless: self.api.stateless(),
            time_scale: self.env.scale.get(),
        }
    }

    /// Brings the settings of the running topology in `scope` to `target`. Each change is
    /// a control command, applied in order.
    pub async fn restore(&self, target: &World, scope: &Scope) -> Restored {
        let changes: Vec<Change> = self.world().diff(target, scope);
        let mut out = Restored::default();
        for change in changes {
            match self.apply(&change.command).await {
                Ok(_) => out.changes.push(change.words),
                Err(why) => out.failed.push(format!("{}: {why}", change.command)),
            }
        }
        out.at_micros = self.env.now();
        out
    }

    /// Sends `request` from one of the scenario's clients and leaves a marker naming it
    /// (`send GET /users/1 (request 3fa2…)`), as scenario events and lesson buttons do.
    pub fn send_marked(&self, request: &SendRequest) -> TraceId {
        let id = self.clients.send(request, false);
        self.env.sink.emit(TraceEvent::Marker(Marker {
            at_micros: self.env.now(),
            component: Some(Component::Client),
            text: format!(
                "send {} {} (request {})",
                request.method,
                request.path,
                id.short()
            ),
        }));
        id
    }
}
