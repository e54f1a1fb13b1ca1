//! The fault family: `kill` closes a component's listening socket (connections are refused)
//! and `restart` brings it back on its old address, for a server, the CDN, the load balancer
//! or the DNS stub. When the killed component is the edge, its TLS socket goes with it.

use super::{Applied, done};
use crate::engine::component::ServiceHandle;
use crate::engine::topology::Topology;
use crate::scenario::Target;
use crate::trace::Component;

/// A fault command: what happens to which component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fault {
    /// `kill TARGET`.
    Kill(Target),
    /// `restart TARGET`.
    Restart(Target),
}

impl Topology {
    /// Applies a fault command.
    pub(super) async fn apply_fault(&self, fault: Fault) -> Result<Applied, String> {
        match fault {
            Fault::Kill(target) => self.kill(target).await,
            Fault::Restart(target) => self.restart(target).await,
        }
    }

    /// `kill`: closes a component's listening socket, so connections are refused.
    async fn kill(&self, target: Target) -> Result<Applied, String> {
        match target {
            Target::Server(n) => {
                let s = self.server_or_err(n)?;
                s.kill();
                s.wait_closed().await;
                done(
                    Some(Component::Server(n)),
                    format!("server-{n} killed: its port is closed, so connections are refused"),
                )
            }
            Target::Cdn => {
                let l = self
                    .cdn_service
                    .as_ref()
                    .ok_or("this scenario has no CDN")?;
                l.listener.kill_and_wait().await;
                self.kill_edge_tls(l.component()).await;
                done(
                    Some(Component::Cdn),
                    "the CDN is down: clients get connection refused",
                )
            }
            Target::Lb => {
                self.lb_service.listener.kill_and_wait().await;
                self.kill_edge_tls(self.lb_service.component()).await;
                done(
                    Some(Component::Lb),
                    "the load balancer is down: nothing reaches the servers",
                )
            }
            Target::Dns => {
                self.dns.kill();
                done(
                    Some(Component::Dns),
                    "the DNS stub is down: lookups fail once cached answers expire",
                )
            }
        }
    }

    /// `restart`: brings a component back on its old address.
    async fn restart(&self, target: Target) -> Result<Applied, String> {
        match target {
            Target::Server(n) => {
                let s = self.server_or_err(n)?;
                s.restart().await.map_err(|e| e.to_string())?;
                self.lb.reset_backend(n);
                done(
                    Some(Component::Server(n)),
                    format!(
                        "server-{n} restarted on {}: healthy and at normal speed",
                        s.addr()
                    ),
                )
            }
            Target::Cdn => {
                let l = self
                    .cdn_service
                    .as_ref()
                    .ok_or("this scenario has no CDN")?;
                l.restart().await.map_err(|e| e.to_string())?;
                self.restart_edge_tls(l.component()).await?;
                done(Some(Component::Cdn), "the CDN is back (its cache survived)")
            }
            Target::Lb => {
                self.lb_service.restart().await.map_err(|e| e.to_string())?;
                self.restart_edge_tls(self.lb_service.component()).await?;
                done(Some(Component::Lb), "the load balancer is back")
            }
            Target::Dns => {
                self.dns.restart().await.map_err(|e| e.to_string())?;
                done(Some(Component::Dns), "the DNS stub is back")
            }
        }
    }

    async fn kill_edge_tls(&self, component: Component) {
        if self.edge.component == component {
            let tls = self.edge.tls.lock().expect("edge lock").clone();
            if let Some(t) = tls {
                t.kill_and_wait().await;
            }
        }
    }

    async fn restart_edge_tls(&self, component: Component) -> Result<(), String> {
        if self.edge.component == component {
            let tls = self.edge.tls.lock().expect("edge lock").clone();
            if let Some(t) = tls {
                t.restart().await.map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}
