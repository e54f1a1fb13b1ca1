//! The CDN in the one component shape (`engine::component`): its config is the scenario's
//! `[cdn]` plus the load balancer it fronts and where it listens; starting it makes the
//! caching proxy and serves its handler on a `Listener` named `cdn`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::Cdn;
use crate::engine::Env;
use crate::engine::component::{Proxy, Service};
use crate::engine::listener::{BindError, Listener, Mode};
use crate::scenario::CdnConfig;
use crate::trace::Component;

/// What the CDN starts with.
#[derive(Clone, Debug)]
pub struct CdnSetup {
    /// The scenario's `[cdn]`.
    pub cdn: CdnConfig,
    /// The load balancer it forwards misses to.
    pub lb: SocketAddr,
    /// How long it waits for the load balancer.
    pub timeout: Duration,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Service for Cdn {
    type Config = CdnSetup;
    type Handle = Proxy<Cdn>;
    type Error = BindError;

    async fn start(env: Arc<Env>, config: CdnSetup) -> Result<Proxy<Cdn>, BindError> {
        let cdn = Cdn::new(env.clone(), config.lb, &config.cdn, config.timeout);
        let listener =
            Listener::start(env, "cdn", config.addr, Mode::Serve(cdn.handler()), None).await?;
        Ok(Proxy {
            proxy: cdn,
            listener,
            component: Component::Cdn,
        })
    }
}
