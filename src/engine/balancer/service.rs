//! The load balancer in the one component shape (`engine::component`): its config is the
//! scenario's `[balancer]` plus the servers it starts with and where it listens; starting it
//! makes the proxy (whose health checks run until the run's shutdown) and serves its handler
//! on a `Listener` named `lb`.

use std::net::SocketAddr;
use std::sync::Arc;

use super::Balancer;
use crate::engine::Env;
use crate::engine::component::{Proxy, Service};
use crate::engine::listener::{BindError, Listener, Mode};
use crate::scenario::BalancerConfig;
use crate::trace::Component;

/// What the load balancer starts with.
#[derive(Clone, Debug)]
pub struct BalancerSetup {
    /// The scenario's `[balancer]`.
    pub balancer: BalancerConfig,
    /// The servers behind it at first: number and address.
    pub servers: Vec<(u16, SocketAddr)>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Service for Balancer {
    type Config = BalancerSetup;
    type Handle = Proxy<Balancer>;
    type Error = BindError;

    async fn start(env: Arc<Env>, config: BalancerSetup) -> Result<Proxy<Balancer>, BindError> {
        let lb = Balancer::new(env.clone(), &config.balancer, &config.servers);
        let listener =
            Listener::start(env, "lb", config.addr, Mode::Serve(lb.handler()), None).await?;
        Ok(Proxy {
            proxy: lb,
            listener,
            component: Component::Lb,
        })
    }
}
