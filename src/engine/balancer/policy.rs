//! Choosing a backend for each request: the load-balancing policies, as pure logic.
//!
//! Owns: the [`Picker`], which keeps what the policies remember between requests (the
//! round-robin turn, the smooth weighted round-robin scores, the peak-EWMA latency
//! estimates and a seeded random stream). The proxy owns the backends and hands the picker
//! a fresh [`Candidate`] view of all of them for every request.
//!
//! Guarantees:
//! - A pick is always an eligible candidate (healthy and not ejected), or
//!   [`Pick::NoHealthyBackend`] when there is none (the proxy answers 503).
//! - Every pick comes with one sentence saying why, written for learners.
//! - Backends may come and go between picks: state is keyed by the backend's stable number,
//!   never by position, so nothing goes out of range and no stale score decides anything.
//! - Same seed, same calls, same picks: randomness comes only from the picker's own
//!   `StdRng`, and nothing iterates a hash map.
//! - No sequence of calls panics.
//!
//! Tie-breaking: whenever several backends are equally good (least connections, peak
//! EWMA), the one next in turn after the last pick wins, in order of backend number. When
//! all are idle, least connections therefore spreads requests like round robin instead of
//! sending them all to server-1.

use std::collections::BTreeMap;

use rand::RngExt;
use rand::rngs::StdRng;

use crate::scenario::Policy;

/// How fast a peak-EWMA estimate forgets, in microseconds (Finagle's default is 10 s).
pub const EWMA_DECAY_MICROS: f64 = 10_000_000.0;

/// The latency assumed for a backend never measured, when no other backend has been
/// measured either, in microseconds.
pub const EWMA_PRIOR_MICROS: f64 = 5_000.0;

/// The smallest latency cost peak EWMA uses, so that an estimate decayed to nothing still
/// counts the requests in progress.
const EWMA_FLOOR_MICROS: f64 = 1.0;

/// One backend as the picker sees it for one request. Numbers must be unique in a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Stable name, `server-N`.
    pub name: &'a str,
    /// Stable number `N`: the key of everything the picker remembers about it.
    pub number: u32,
    /// Weight for weighted round robin (0 counts as 1).
    pub weight: u32,
    /// Requests in progress on it now.
    pub active: u32,
    /// Healthy and not ejected: it may take new requests.
    pub eligible: bool,
}

/// The chosen backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Its position in the candidate slice given to [`Picker::pick`].
    pub index: usize,
    /// Its stable number.
    pub number: u32,
    /// The policy that chose it.
    pub policy: Policy,
    /// One sentence for learners, starting with the server's name.
    pub reason: String,
}

/// The result of a pick.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Pick {
    /// Send the request here.
    Backend(Choice),
    /// No backend may take it: answer 503. The reason says why, for learners.
    NoHealthyBackend { reason: String },
}

impl Pick {
    /// The choice, if there is one.
    pub fn choice(&self) -> Option<&Choice> {
        match self {
            Pick::Backend(c) => Some(c),
            Pick::NoHealthyBackend { .. } => None,
        }
    }

    /// The sentence explaining the result.
    pub fn reason(&self) -> &str {
        match self {
            Pick::Backend(c) => &c.reason,
            Pick::NoHealthyBackend { reason } => reason,
        }
    }
}

/// A decaying *peak* estimate of a backend's latency (as in Finagle and linkerd): an
/// observation above the estimate replaces it at once; below it, the estimate moves towards
/// the observation with weight `1 - exp(-elapsed / decay)`. Read between observations, the
/// estimate decays towards zero with the same time constant, so a backend left alone
/// because it was slow is tried again after a while.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakEwma {
    estimate_micros: f64,
    updated_micros: u64,
}

impl PeakEwma {
    /// An estimate starting at `prior_micros` at `now_micros`.
    pub fn new(prior_micros: f64, now_micros: u64) -> PeakEwma {
        PeakEwma {
            estimate_micros: sanitize(prior_micros),
            updated_micros: now_micros,
        }
    }

    /// The estimate at `now_micros`, in microseconds.
    pub fn estimate_micros(&self, now_micros: u64, decay_micros: f64) -> f64 {
        self.estimate_micros * self.weight_of_past(now_micros, decay_micros)
    }

    /// Takes in one measured latency at `now_micros`.
    pub fn observe(&mut self, latency_micros: f64, now_micros: u64, decay_micros: f64) {
        let latency = sanitize(latency_micros);
        let w = self.weight_of_past(now_micros, decay_micros);
        let decayed = self.estimate_micros * w;
        self.estimate_micros = if latency >= decayed {
            latency
        } else {
            decayed + latency * (1.0 - w)
        };
        self.updated_micros = self.updated_micros.max(now_micros);
    }

    fn weight_of_past(&self, now_micros: u64, decay_micros: f64) -> f64 {
        let elapsed = now_micros.saturating_sub(self.updated_micros) as f64;
        if decay_micros > 0.0 {
            (-elapsed / decay_micros).exp()
        } else {
            0.0
        }
    }
}

fn sanitize(micros: f64) -> f64 {
    if micros.is_finite() && micros > 0.0 {
        micros
    } else {
        0.0
    }
}

/// Chooses backends by policy. One per load balancer, used under its lock.
#[derive(Debug)]
pub struct Picker {
    policy: Policy,
    rng: StdRng,
    /// Number of the last backend picked: "next in turn" starts after it.
    last_number: Option<u32>,
    /// Smooth weighted round robin: (number, weight, current score) of the eligible
    /// backends, sorted by number. Rebuilt from zero when that set or a weight changes.
    wrr: Vec<(u32, u32, i64)>,
    /// Peak-EWMA latency estimates by backend number, fed by `observe` under every policy.
    ewma: BTreeMap<u32, PeakEwma>,
    decay_micros: f64,
}

impl Picker {
    /// A picker for `policy` drawing randomness from `rng` (e.g. `env.rng(purpose)`).
    pub fn new(policy: Policy, rng: StdRng) -> Picker {
        Picker {
            policy,
            rng,
            last_number: None,
            wrr: Vec::new(),
            ewma: BTreeMap::new(),
            decay_micros: EWMA_DECAY_MICROS,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Changes the policy live. Only the weighted rotation restarts; the turn, the latency
    /// estimates (measured under any policy) and the random stream carry on.
    pub fn set_policy(&mut self, policy: Policy) {
        if policy != self.policy {
            self.policy = policy;
            self.wrr.clear();
        }
    }

    /// Changes how fast latency estimates forget (microseconds; default 10 s).
    pub fn set_ewma_decay(&mut self, decay_micros: f64) {
        self.decay_micros = sanitize(decay_micros);
    }

    /// Feeds one measured latency of backend `number` (request sent to response head) at
    /// `now_micros` into its peak-EWMA estimate.
    pub fn observe(&mut self, number: u32, latency_micros: u64, now_micros: u64) {
        let decay = self.decay_micros;
        self.ewma
            .entry(number)
            .or_insert(PeakEwma::new(latency_micros as f64, now_micros))
            .observe(latency_micros as f64, now_micros, decay);
    }

    /// The current latency estimate of backend `number`, if it has one (for display).
    pub fn latency_estimate_micros(&self, number: u32, now_micros: u64) -> Option<f64> {
        self.ewma
            .get(&number)
            .map(|e| e.estimate_micros(now_micros, self.decay_micros))
    }

    /// Forgets everything about backend `number` (call when it is removed, so that a later
    /// backend with the same number starts afresh).
    pub fn forget(&mut self, number: u32) {
        self.ewma.remove(&number);
        self.wrr.retain(|&(n, _, _)| n != number);
    }

    /// Chooses a backend among `candidates` for a request from `client_key` (the
    /// `X-Client-Id`, a session cookie or the peer address; used by client hash only) at
    /// `now_micros`.
    pub fn pick(
        &mut self,
        candidates: &[Candidate<'_>],
        client_key: &str,
        now_micros: u64,
    ) -> Pick {
        let eligible = candidates.iter().filter(|c| c.eligible).count();
        if eligible == 0 {
            let reason = match candidates.len() {
                0 => "no healthy backend: there are no servers behind the load balancer".into(),
                1 => "no healthy backend: the only server is unhealthy or ejected".into(),
                n => format!("no healthy backend: all {n} servers are unhealthy or ejected"),
            };
            return Pick::NoHealthyBackend { reason };
        }
        let (index, reason) = match self.policy {
            Policy::RoundRobin => self.round_robin(candidates, eligible),
            Policy::WeightedRoundRobin => self.weighted(candidates),
            Policy::LeastConnections => self.least_connections(candidates, eligible),
            Policy::Random => self.random(candidates, eligible),
            Policy::PowerOfTwo => self.power_of_two(candidates, eligible),
            Policy::PeakEwma => self.peak_ewma(candidates, now_micros),
            Policy::ClientHash => client_hash(candidates, client_key),
        };
        let number = candidates[index].number;
        self.last_number = Some(number);
        Pick::Backend(Choice {
            index,
            number,
            policy: self.policy,
            reason,
        })
    }

    /// Among the candidates accepted by `among`, the first in turn after the last pick (by
    /// backend number, wrapping round). `None` if `among` accepts none.
    fn next_in_turn(
        &self,
        candidates: &[Candidate<'_>],
        among: impl Fn(&Candidate<'_>) -> bool,
    ) -> Option<usize> {
        let mut after: Option<(u32, usize)> = None;
        let mut lowest: Option<(u32, usize)> = None;
        for (i, c) in candidates.iter().enumerate() {
            if !among(c) {
                continue;
            }
            if lowest.is_none_or(|(n, _)| c.number < n) {
                lowest = Some((c.number, i));
            }
            let is_after = self.last_number.is_none_or(|last| c.number > last);
            if is_after && after.is_none_or(|(n, _)| c.number < n) {
                after = Some((c.number, i));
            }
        }
        after.or(lowest).map(|(_, i)| i)
    }

    fn round_robin(&self, candidates: &[Candidate<'_>], eligible: usize) -> (usize, String) {
        let i = self
            .next_in_turn(candidates, |c| c.eligible)
            .unwrap_or_else(|| first_eligible(candidates));
        let reason = format!(
            "{}: next in turn (round robin over {})",
            candidates[i].name,
            servers(eligible)
        );
        (i, reason)
    }

    fn weighted(&mut self, candidates: &[Candidate<'_>]) -> (usize, String) {
        let members = candidates.iter().filter(|c| c.eligible);
        let unchanged = members.clone().count() == self.wrr.len()
            && members.clone().all(|c| {
                self.wrr
                    .binary_search_by_key(&c.number, |&(n, _, _)| n)
                    .is_ok_and(|at| self.wrr[at].1 == c.weight.max(1))
            });
        if !unchanged {
            self.wrr = members.map(|c| (c.number, c.weight.max(1), 0)).collect();
            self.wrr.sort_unstable_by_key(|&(n, _, _)| n);
        }
        // nginx's smooth rotation: everyone gains its weight, the highest score wins and
        // pays back the total. Ties go to the lowest number.
        let total: i64 = self.wrr.iter().map(|&(_, w, _)| i64::from(w)).sum();
        let mut best = 0;
        for k in 0..self.wrr.len() {
            self.wrr[k].2 += i64::from(self.wrr[k].1);
            if self.wrr[k].2 > self.wrr[best].2 {
                best = k;
            }
        }
        let (number, weight) = self.wrr.get(best).map_or((0, 1), |&(n, w, _)| (n, w));
        if let Some(entry) = self.wrr.get_mut(best) {
            entry.2 -= total;
        }
        let i = candidates
            .iter()
            .position(|c| c.eligible && c.number == number)
            .unwrap_or_else(|| first_eligible(candidates));
        let reason = format!(
            "{}: its turn by weight ({weight} of a total {total}, smooth weighted round robin)",
            candidates[i].name
        );
        (i, reason)
    }

    fn least_connections(&self, candidates: &[Candidate<'_>], eligible: usize) -> (usize, String) {
        let fewest = candidates
            .iter()
            .filter(|c| c.eligible)
            .map(|c| c.active)
            .min()
            .unwrap_or(0);
        let tied = candidates
            .iter()
            .filter(|c| c.eligible && c.active == fewest)
            .count();
        let i = self
            .next_in_turn(candidates, |c| c.eligible && c.active == fewest)
            .unwrap_or_else(|| first_eligible(candidates));
        let name = candidates[i].name;
        let reason = if tied == 1 {
            format!(
                "{name}: {} in progress, fewest of {}",
                requests(fewest),
                servers(eligible)
            )
        } else {
            format!(
                "{name}: {} in progress, tied with {} other{}; next in turn among them",
                requests(fewest),
                tied - 1,
                if tied == 2 { "" } else { "s" }
            )
        };
        (i, reason)
    }

    /// The `k`-th eligible candidate's index.
    fn nth_eligible(candidates: &[Candidate<'_>], k: usize) -> usize {
        candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.eligible)
            .nth(k)
            .map_or_else(|| first_eligible(candidates), |(i, _)| i)
    }

    fn random(&mut self, candidates: &[Candidate<'_>], eligible: usize) -> (usize, String) {
        if eligible == 1 {
            let i = Self::nth_eligible(candidates, 0);
            return (i, only_one(candidates[i].name));
        }
        let i = Self::nth_eligible(candidates, self.rng.random_range(0..eligible));
        let reason = format!(
            "{}: drawn at random from {}",
            candidates[i].name,
            servers(eligible)
        );
        (i, reason)
    }

    fn power_of_two(&mut self, candidates: &[Candidate<'_>], eligible: usize) -> (usize, String) {
        if eligible == 1 {
            let i = Self::nth_eligible(candidates, 0);
            return (i, only_one(candidates[i].name));
        }
        let first = self.rng.random_range(0..eligible);
        let mut second = self.rng.random_range(0..eligible - 1);
        if second >= first {
            second += 1;
        }
        let a = Self::nth_eligible(candidates, first);
        let b = Self::nth_eligible(candidates, second);
        let (won, lost) = if candidates[b].active < candidates[a].active {
            (b, a)
        } else {
            (a, b)
        };
        let (w, l) = (&candidates[won], &candidates[lost]);
        let reason = if w.active == l.active {
            format!(
                "{} over {}: both {} in progress, so the first of two random picks",
                w.name, l.name, w.active
            )
        } else {
            format!(
                "{} over {}: {} vs {} in progress (two random picks)",
                w.name, l.name, w.active, l.active
            )
        };
        (won, reason)
    }

    fn peak_ewma(&mut self, candidates: &[Candidate<'_>], now_micros: u64) -> (usize, String) {
        let decay = self.decay_micros;
        // Forget backends that are gone, then give new ones a prior: the mean estimate of
        // the others (a newcomer is assumed average until measured).
        let mut present: Vec<u32> = candidates.iter().map(|c| c.number).collect();
        present.sort_unstable();
        self.ewma.retain(|n, _| present.binary_search(n).is_ok());
        let known: Vec<f64> = self
            .ewma
            .values()
            .map(|e| e.estimate_micros(now_micros, decay))
            .collect();
        let prior = if known.is_empty() {
            EWMA_PRIOR_MICROS
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        };
        for c in candidates.iter().filter(|c| c.eligible) {
            self.ewma
                .entry(c.number)
                .or_insert(PeakEwma::new(prior, now_micros));
        }
        let cost = |c: &Candidate<'_>| -> f64 {
            self.ewma
                .get(&c.number)
                .map_or(prior, |e| e.estimate_micros(now_micros, decay))
                .max(EWMA_FLOOR_MICROS)
        };
        let score = |c: &Candidate<'_>| (f64::from(c.active) + 1.0) * cost(c);
        let best = candidates
            .iter()
            .filter(|c| c.eligible)
            .map(score)
            .fold(f64::INFINITY, f64::min);
        let i = self
            .next_in_turn(candidates, |c| c.eligible && score(c) <= best)
            .unwrap_or_else(|| first_eligible(candidates));
        let c = &candidates[i];
        let mut reason = format!(
            "{}: lowest load score {} = ({} in progress + 1) x {} peak-EWMA latency",
            c.name,
            millis(best),
            c.active,
            millis(cost(c))
        );
        let runner_up = candidates
            .iter()
            .enumerate()
            .filter(|&(k, o)| k != i && o.eligible)
            .map(|(_, o)| (score(o), o.name))
            .min_by(|x, y| x.0.total_cmp(&y.0));
        if let Some((s, name)) = runner_up {
            reason.push_str(&format!("; next best {name} at {}", millis(s)));
        }
        (i, reason)
    }
}

/// Rendezvous (highest random weight) hashing: every backend gets a score from the client
/// key and its own number; the highest eligible score wins. Removing a backend moves only
/// the clients whose highest score it had.
fn client_hash(candidates: &[Candidate<'_>], client_key: &str) -> (usize, String) {
    let key = fnv1a(client_key.as_bytes());
    let ranked = |eligible_only: bool| {
        candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.eligible || !eligible_only)
            .max_by_key(|(_, c)| (mix(key ^ u64::from(c.number)), std::cmp::Reverse(c.number)))
            .map_or_else(|| first_eligible(candidates), |(i, _)| i)
    };
    let i = ranked(true);
    let first = ranked(false);
    let name = candidates[i].name;
    let reason = if first == i {
        format!("{name}: client {client_key} hashes to it (sticky)")
    } else {
        format!(
            "{name}: client {client_key} hashes to {}, which is out of rotation, \
             and {name} is its next choice",
            candidates[first].name
        )
    };
    (i, reason)
}

/// FNV-1a, a fixed hash so that stickiness is the same on every run and every build.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A strong 64-bit mixer (the SplitMix64 finaliser).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The first eligible candidate's index: a fallback never taken while the policies'
/// invariants hold, which keeps a pick eligible even if they did not.
fn first_eligible(candidates: &[Candidate<'_>]) -> usize {
    candidates.iter().position(|c| c.eligible).unwrap_or(0)
}

fn only_one(name: &str) -> String {
    format!("{name}: the only healthy server, so there is nothing to choose")
}

fn servers(n: usize) -> String {
    if n == 1 {
        "1 healthy server".into()
    } else {
        format!("{n} healthy servers")
    }
}

fn requests(n: u32) -> String {
    if n == 1 {
        "1 request".into()
    } else {
        format!("{n} requests")
    }
}

fn millis(micros: f64) -> String {
    let ms = micros / 1000.0;
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
