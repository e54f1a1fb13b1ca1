//! What the clients ask for, decided in advance from the seed: which profile, which client of
//! it, which request template and which resource id (popular ids drawn from a Zipf law).
//! Same scenario and seed, same sequence of requests.

use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Zipf};

use crate::scenario::{Auth, DatabaseConfig, Profile, SendRequest, Template};

/// One request to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    /// Index into the profiles.
    pub profile: usize,
    /// Which client of the profile (0-based).
    pub client: usize,
    pub method: String,
    pub path: String,
    pub body: Option<String>,
    pub auth: Auth,
    pub headers: Vec<(String, String)>,
    /// The name to look up, when not the API's own (`api.<zone>`).
    pub host: Option<String>,
}

impl Planned {
    /// A request given in full (a scenario's `send` event or the "send one" button).
    pub fn from_send(send: &SendRequest, profile: usize) -> Planned {
        Planned {
            profile,
            client: 0,
            method: send.method.clone(),
            path: send.path.clone(),
            body: send.body.clone(),
            auth: send.auth,
            headers: send
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            host: send.host.clone(),
        }
    }
}

/// Draws requests from the profiles' mixes.
#[derive(Debug)]
pub struct Planner {
    profiles: Vec<Profile>,
    weights: Vec<f64>,
    zipf_exponent: f64,
    counts: [u64; 3],
}

/// Picks an index with probability proportional to its weight (none if all are zero).
fn weighted(rng: &mut StdRng, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if w.is_finite() && *w > 0.0 {
            if x < *w {
                return Some(i);
            }
            x -= w;
        }
    }
    weights.iter().rposition(|w| *w > 0.0)
}

impl Planner {
    /// A planner over `profiles`, drawing ids up to the database's row counts.
    pub fn new(profiles: Vec<Profile>, zipf_exponent: f64, db: &DatabaseConfig) -> Planner {
        let weights = profiles.iter().map(|p| p.weight).collect();
        Planner {
            profiles,
            weights,
            zipf_exponent,
            counts: [db.users as u64, db.restaurants as u64, db.orders as u64],
        }
    }

    /// The profiles.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// Each profile's share of the traffic now.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Changes the popularity skew of ids (0: uniform).
    pub fn set_zipf(&mut self, exponent: f64) {
        self.zipf_exponent = if exponent.is_finite() {
            exponent.clamp(0.0, 10.0)
        } else {
            0.0
        };
    }

    /// The popularity skew of ids.
    pub fn zipf(&self) -> f64 {
        self.zipf_exponent
    }

    /// Changes a profile's share of the traffic; false if there is no such profile.
    pub fn set_weight(&mut self, profile: &str, weight: f64) -> bool {
        match self.profiles.iter().position(|p| p.name == profile) {
            Some(i) => {
                self.weights[i] = weight.max(0.0);
                true
            }
            None => false,
        }
    }

    /// How many ids the resource in `path` has.
    fn id_range(&self, path: &str) -> u64 {
        let n = if path.starts_with("/users") {
            self.counts[0]
        } else if path.starts_with("/orders") {
            self.counts[2]
        } else {
            self.counts[1]
        };
        n.max(1)
    }

    /// A resource id: rank 1 is the most popular.
    fn draw_id(&self, rng: &mut StdRng, n: u64) -> u64 {
        if self.zipf_exponent <= 0.0 || n <= 1 {
            return rng.random_range(1..=n);
        }
        match Zipf::new(n as f64, self.zipf_exponent) {
            Ok(z) => (z.sample(rng) as u64).clamp(1, n),
            Err(_) => rng.random_range(1..=n),
        }
    }

    fn fill(template: &Template, id: u64) -> (String, Option<String>) {
        let path = template.path.replace("{id}", &id.to_string());
        let body = template
            .body
            .as_ref()
            .map(|b| b.replace("{id}", &id.to_string()));
        (path, body)
    }

    /// The next request, or `None` if no profile has any weight.
    pub fn next(&self, rng: &mut StdRng) -> Option<Planned> {
        let profile = weighted(rng, &self.weights)?;
        Some(self.next_for(rng, profile))
    }

    /// The next request of one profile.
    pub fn next_for(&self, rng: &mut StdRng, profile: usize) -> Planned {
        let p = &self.profiles[profile];
        let client = rng.random_range(0..p.clients.max(1));
        let mix_weights: Vec<f64> = p.mix.iter().map(|t| t.weight).collect();
        let template =
            weighted(rng, &mix_weights).map_or_else(|| Template::get("/"), |i| p.mix[i].clone());
        let id = self.draw_id(rng, self.id_range(&template.path));
        let (path, body) = Self::fill(&template, id);
        Planned {
            profile,
            client,
            method: template.method.clone(),
            path,
            body,
            auth: template.auth,
            headers: template
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            host: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn planner(zipf: f64) -> Planner {
        Planner::new(Profile::standard_set(), zipf, &DatabaseConfig::default())
    }

    #[test]
    fn the_same_seed_plans_the_same_requests() {
        let p = planner(1.0);
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..200).map(|_| p.next(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn profiles_get_their_share_and_popular_ids_dominate() {
        let p = planner(1.0);
        let mut rng = StdRng::seed_from_u64(1);
        let plans: Vec<Planned> = (0..10_000).filter_map(|_| p.next(&mut rng)).collect();
        let browsers = plans.iter().filter(|r| r.profile == 0).count() as f64 / plans.len() as f64;
        assert!((browsers - 0.4).abs() < 0.03, "browser share {browsers}");
        let first = plans.iter().filter(|r| r.path == "/restaurants/1").count();
        let tenth = plans.iter().filter(|r| r.path == "/restaurants/10").count();
        assert!(first > 5 * tenth, "zipf: id 1 {first} vs id 10 {tenth}");
    }

    #[test]
    fn a_profile_with_no_weight_sends_nothing() {
        let mut p = planner(0.0);
        for name in ["browser", "mobile", "cli", "server"] {
            assert!(p.set_weight(name, 0.0));
        }
        assert!(!p.set_weight("nobody", 1.0));
        let mut rng = StdRng::seed_from_u64(3);
        assert!(
            (0..100)
                .filter_map(|_| p.next(&mut rng))
                .all(|r| p.profiles()[r.profile].name == "iot")
        );
    }
}
