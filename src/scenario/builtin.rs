//! The built-in scenarios, embedded from `assets/scenarios/` so the binary needs no files.

/// A scenario shipped with hopscope.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    pub name: &'static str,
    /// The TOML text.
    pub text: &'static str,
}

impl Builtin {
    /// The scenario's one-line summary (its `summary` field).
    pub fn summary(&self) -> String {
        super::load_str(self.name, self.text)
            .map(|s| s.summary)
            .unwrap_or_else(|e| format!("(invalid: {e})"))
    }
}

macro_rules! builtins {
    ($($name:literal),* $(,)?) => {
        /// Every built-in, `default` first.
        pub static BUILTINS: &[Builtin] = &[
            $(Builtin { name: $name, text: include_str!(concat!("../../assets/scenarios/", $name, ".toml")) },)*
        ];
    };
}

builtins![
    "default",
    "bench",
    "journey",
    "clients",
    "rest",
    "troubleshooting",
    "dns_ttl",
    "tcp_udp",
    "keepalive",
    "caching",
    "scaling",
    "lb_policies",
    "health",
    "overload",
    "sessions",
    "stateless",
    "theory-erlang-c",
    "theory-random-lb",
    "theory-blocking",
    "theory-lru",
    "theory-calibration",
];

/// The built-in named `name`.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The names of the built-ins.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_validates() {
        for b in BUILTINS {
            if let Err(e) = super::super::load_str(b.name, b.text) {
                panic!("built-in {} is invalid:\n{e}", b.name);
            }
            assert!(!b.summary().is_empty(), "{} has no summary", b.name);
        }
    }
}
