//! The standard client profiles, kept as data in `assets/profiles.toml`: embedded in the
//! binary, parsed once at first use, and used by every scenario that has no `[[profiles]]`
//! of its own.

use std::sync::LazyLock;

use serde::Deserialize;

use super::Profile;

/// The embedded file.
const PROFILES_TOML: &str = include_str!("../../../assets/profiles.toml");

/// The file's shape: a list of `[[profiles]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilesFile {
    profiles: Vec<Profile>,
}

static STANDARD: LazyLock<Vec<Profile>> = LazyLock::new(|| {
    toml::from_str::<ProfilesFile>(PROFILES_TOML)
        .expect("assets/profiles.toml is embedded and checked by the test below")
        .profiles
});

impl Profile {
    /// The five kinds of client the reference notes name, with typical habits.
    pub fn standard_set() -> Vec<Profile> {
        STANDARD.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Auth, Dur, Template};

    /// The profiles as they were written in code before they moved to the asset.
    fn as_written_in_code() -> Vec<Profile> {
        let t = Template::get;
        vec![
            Profile {
                name: "browser".into(),
                weight: 4.0,
                clients: 20,
                latency: Dur::from_millis(15),
                keep_alive: true,
                mix: vec![
                    Template {
                        weight: 4.0,
                        ..t("/restaurants/{id}")
                    },
                    Template {
                        weight: 2.0,
                        ..t("/restaurants?_page=1&_limit=10")
                    },
                    Template {
                        weight: 1.0,
                        ..t("/users/{id}")
                    },
                ],
                ..Profile::default()
            },
            Profile {
                name: "mobile".into(),
                weight: 3.0,
                clients: 20,
                latency: Dur::from_millis(40),
                jitter: Dur::from_millis(10),
                keep_alive: true,
                mix: vec![
                    Template {
                        weight: 4.0,
                        ..t("/restaurants/{id}")
                    },
                    Template {
                        weight: 1.0,
                        method: "POST".into(),
                        path: "/orders".into(),
                        body: Some(
                            r#"{"user_id": {id}, "restaurant_id": 1, "total": 12.5}"#.into(),
                        ),
                        auth: Auth::Allowed,
                        ..Template::default()
                    },
                ],
                ..Profile::default()
            },
            Profile {
                name: "cli".into(),
                weight: 1.0,
                clients: 3,
                latency: Dur::from_millis(10),
                keep_alive: false,
                mix: vec![t("/users/{id}")],
                ..Profile::default()
            },
            Profile {
                name: "server".into(),
                weight: 1.0,
                clients: 2,
                latency: Dur::from_millis(2),
                keep_alive: true,
                mix: vec![Template {
                    auth: Auth::Allowed,
                    ..t("/orders?_limit=5")
                }],
                ..Profile::default()
            },
            Profile {
                name: "iot".into(),
                weight: 1.0,
                clients: 10,
                latency: Dur::from_millis(80),
                jitter: Dur::from_millis(20),
                keep_alive: false,
                tls: false,
                mix: vec![t("/restaurants/{id}")],
                ..Profile::default()
            },
        ]
    }

    #[test]
    fn every_standard_profile_loads_and_equals_what_the_code_said() {
        let loaded = Profile::standard_set();
        let expected = as_written_in_code();
        let names: Vec<&str> = loaded.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["browser", "mobile", "cli", "server", "iot"]);
        for (got, want) in loaded.iter().zip(&expected) {
            assert_eq!(got, want, "profile {}", want.name);
        }
        assert_eq!(loaded, expected);
    }
}
