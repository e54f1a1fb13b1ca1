//! Where hopscope listens: on this machine only. Every component binds 127.0.0.1, so nothing
//! a scenario starts can be reached from the network (a classroom's Wi-Fi included). The
//! `[network]` section exists so that a scenario asking for anything else is told why not,
//! with its line and column, instead of being silently ignored.

use serde::{Deserialize, Serialize};

/// The one address every component may bind.
pub const LOOPBACK: &str = "127.0.0.1";

/// The `[network]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// The address every component binds: `127.0.0.1` (or `localhost`), nothing else.
    pub bind: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            bind: LOOPBACK.into(),
        }
    }
}

/// Why `bind` cannot be used, with a hint, or `None` when it is 127.0.0.1.
pub fn bind_problem(bind: &str) -> Option<(String, &'static str)> {
    let text = bind.trim();
    if text == LOOPBACK || text.eq_ignore_ascii_case("localhost") {
        return None;
    }
    const HINT: &str = "leave it out, or write bind = \"127.0.0.1\"";
    let message = match text.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_loopback() => format!(
            "`{text}` is a loopback address, but hopscope listens only on 127.0.0.1 \
             (other loopback addresses are not set up on every system)"
        ),
        Ok(_) => format!(
            "`{text}` is not a loopback address: hopscope only listens on this machine \
             (127.0.0.1), so nothing it runs can be reached from the network"
        ),
        Err(_) => format!(
            "`{text}` is not an IP address: hopscope only listens on the loopback address 127.0.0.1"
        ),
    };
    Some((message, HINT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_127_0_0_1_is_allowed() {
        assert!(bind_problem("127.0.0.1").is_none());
        assert!(bind_problem("localhost").is_none());
        for bad in ["0.0.0.0", "::", "10.0.0.1", "::1", "127.0.0.2", "", "host"] {
            let (message, _) = bind_problem(bad).expect("refused");
            assert!(message.contains("loopback"), "{bad}: {message}");
        }
    }
}
