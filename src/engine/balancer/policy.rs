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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn cand(number: u32, weight: u32, active: u32) -> Candidate<'static> {
        let name = Box::leak(format!("server-{number}").into_boxed_str());
        let eligible = true;
        Candidate {
            name,
            number,
            weight,
            active,
            eligible,
        }
    }

    /// Servers 1..=n, weight 1, idle, eligible.
    fn fleet(n: u32) -> Vec<Candidate<'static>> {
        (1..=n).map(|k| cand(k, 1, 0)).collect()
    }

    /// Servers 1.. with these requests in progress.
    fn busy(active: &[u32]) -> Vec<Candidate<'static>> {
        (1..).zip(active).map(|(k, &a)| cand(k, 1, a)).collect()
    }

    fn picker(policy: Policy) -> Picker {
        Picker::new(policy, StdRng::seed_from_u64(7))
    }

    fn pick_at(p: &mut Picker, c: &[Candidate<'_>], key: &str, now: u64) -> u32 {
        p.pick(c, key, now).choice().expect("a backend").number
    }

    fn picks(p: &mut Picker, c: &[Candidate<'_>], n: usize) -> Vec<u32> {
        (0..n).map(|_| pick_at(p, c, "client", 0)).collect()
    }

    fn count(seq: &[u32], n: u32) -> usize {
        seq.iter().filter(|&&x| x == n).count()
    }

    #[test]
    fn round_robin_cycles_evenly() {
        let mut p = picker(Policy::RoundRobin);
        assert_eq!(picks(&mut p, &fleet(3), 9), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
        let reason = "server-1: next in turn (round robin over 3 healthy servers)";
        assert_eq!(p.pick(&fleet(3), "x", 0).reason(), reason);
    }

    #[test]
    fn weighted_round_robin_is_proportional_and_smooth() {
        let mut p = picker(Policy::WeightedRoundRobin);
        let c = vec![cand(1, 5, 0), cand(2, 1, 0), cand(3, 1, 0)];
        let seq = picks(&mut p, &c, 700);
        // nginx's interleaving for weights 5, 1, 1: a a b a c a a, then again.
        assert_eq!(seq[..7], [1, 1, 2, 1, 3, 1, 1]);
        assert_eq!([1, 2, 3].map(|n| count(&seq, n)), [500, 100, 100]);
        let longest = seq.chunk_by(|a, b| a == b).map(<[u32]>::len).max();
        assert_eq!(longest, Some(4), "a plain rotation would give 5 in a row");
        let reason = "server-1: its turn by weight (5 of a total 7, smooth weighted round robin)";
        assert_eq!(p.pick(&c, "x", 0).reason(), reason);
    }

    #[test]
    fn least_connections_picks_the_least_busy_and_rotates_ties() {
        let mut p = picker(Policy::LeastConnections);
        let reason = "server-2: 1 request in progress, fewest of 3 healthy servers";
        assert_eq!(p.pick(&busy(&[3, 1, 2]), "x", 0).reason(), reason);
        assert_eq!(picks(&mut p, &fleet(3), 4), [3, 1, 2, 3], "idle: in turn");
        let tied = p.pick(&fleet(3), "x", 0);
        assert!(tied.reason().contains("tied with 2 others"));
    }

    #[test]
    fn power_of_two_prefers_the_less_busy_of_its_two_samples() {
        let mut p = picker(Policy::PowerOfTwo);
        let c = busy(&[0, 1, 2, 3]);
        let active = |n: &str| c.iter().find(|k| k.name == n).expect("known").active;
        let mut seq = Vec::new();
        for _ in 0..1200 {
            let pick = p.pick(&c, "x", 0);
            let names = pick.reason().split_once(':').expect("reason").0;
            let (won, lost) = names.split_once(" over ").expect("two names");
            assert!(active(won) < active(lost), "{}", pick.reason());
            seq.push(pick.choice().expect("picked").number);
        }
        assert_eq!(count(&seq, 4), 0, "the busiest never wins");
        // Expected shares: 1/2, 1/3, 1/6.
        assert!((520..680).contains(&count(&seq, 1)), "{}", count(&seq, 1));
        assert!(count(&seq, 2) > count(&seq, 3) + 100);
        let again = picks(&mut picker(Policy::PowerOfTwo), &c, 1200);
        assert_eq!(again, seq, "same seed, same picks");
    }

    #[test]
    fn random_is_uniform_and_reproducible() {
        let seq = picks(&mut picker(Policy::Random), &fleet(4), 4000);
        for n in 1..=4 {
            assert!((850..1150).contains(&count(&seq, n)), "server-{n}");
        }
        assert_eq!(picks(&mut picker(Policy::Random), &fleet(4), 4000), seq);
    }

    #[test]
    fn peak_ewma_avoids_a_slow_server_and_tries_it_again_later() {
        let mut p = picker(Policy::PeakEwma);
        let c = fleet(3);
        let t1 = 1_000_000;
        for n in 1..=3 {
            p.observe(n, if n == 3 { 100_000 } else { 5_000 }, t1);
        }
        let seq: Vec<u32> = (0..50).map(|_| pick_at(&mut p, &c, "x", t1)).collect();
        assert_eq!(count(&seq, 3), 0, "the 100 ms server is avoided");
        assert_eq!(count(&seq, 1), 25, "equals take turns");
        let reason = "server-2: lowest load score 5.0 ms = (0 in progress + 1) x 5.0 ms \
                      peak-EWMA latency; next best server-1 at 10.0 ms";
        assert_eq!(p.pick(&busy(&[1, 0, 0]), "x", t1).reason(), reason);
        p.observe(1, 50_000, t1);
        assert_eq!(
            p.latency_estimate_micros(1, t1),
            Some(50_000.0),
            "a peak counts at once"
        );
        // 40 s later server-3's old estimate has decayed below the others' fresh 5 ms.
        let t2 = t1 + 40_000_000;
        p.observe(1, 5_000, t2);
        p.observe(2, 5_000, t2);
        assert_eq!(pick_at(&mut p, &c, "x", t2), 3);
        p.observe(3, 4_000, t2);
        let seq: Vec<u32> = (0..5).map(|_| pick_at(&mut p, &c, "x", t2)).collect();
        assert_eq!(
            seq, [3; 5],
            "recovered: now the fastest (and idle in this test)"
        );
    }

    #[test]
    fn peak_ewma_gives_a_new_server_the_mean_of_the_others() {
        let mut p = picker(Policy::PeakEwma);
        p.observe(1, 2_000, 0);
        p.observe(2, 4_000, 0);
        let c = vec![cand(1, 1, 5), cand(2, 1, 5), cand(9, 1, 0)];
        assert_eq!(pick_at(&mut p, &c, "x", 0), 9);
        assert_eq!(p.latency_estimate_micros(9, 0), Some(3_000.0));
    }

    #[test]
    fn client_hash_is_sticky_and_removal_moves_only_that_servers_clients() {
        let mut p = picker(Policy::ClientHash);
        let c = fleet(5);
        let clients: Vec<String> = (0..300).map(|k| format!("browser-{k}")).collect();
        let home: Vec<u32> = clients.iter().map(|k| pick_at(&mut p, &c, k, 0)).collect();
        for n in 1..=5 {
            assert!(count(&home, n) > 30, "server-{n} gets a share");
        }
        let again: Vec<u32> = clients.iter().map(|k| pick_at(&mut p, &c, k, 0)).collect();
        assert_eq!(home, again, "each client stays on its server");
        let without_3: Vec<_> = c.iter().copied().filter(|k| k.number != 3).collect();
        for (key, &was) in clients.iter().zip(&home) {
            let now = pick_at(&mut p, &without_3, key, 0);
            assert!(
                now == was || (was == 3 && now != 3),
                "{key} moved from {was} to {now}"
            );
        }
        let (key, _) = clients
            .iter()
            .zip(&home)
            .find(|(_, h)| **h == 3)
            .expect("on 3");
        let reason = format!("server-3: client {key} hashes to it (sticky)");
        assert_eq!(p.pick(&c, key, 0).reason(), reason);
        let mut down = c.clone();
        down[2].eligible = false;
        let fallback = p.pick(&down, key, 0);
        assert!(
            fallback
                .reason()
                .contains("hashes to server-3, which is out of rotation")
        );
    }

    #[test]
    fn ineligible_backends_are_never_picked() {
        let mut c = fleet(4);
        c[1].eligible = false;
        c[3].weight = 3;
        for policy in Policy::ALL {
            let mut p = picker(policy);
            for k in 0..200 {
                assert_ne!(pick_at(&mut p, &c, &format!("c{k}"), k), 2, "{policy}");
            }
        }
    }

    #[test]
    fn no_eligible_backend_is_a_503_with_a_reason() {
        let mut c = fleet(3);
        c.iter_mut().for_each(|k| k.eligible = false);
        for policy in Policy::ALL {
            let mut p = picker(policy);
            let pick = p.pick(&c, "x", 0);
            assert!(pick.choice().is_none());
            let reason = "no healthy backend: all 3 servers are unhealthy or ejected";
            assert_eq!(pick.reason(), reason);
            assert!(
                p.pick(&[], "x", 0)
                    .reason()
                    .contains("there are no servers")
            );
        }
    }

    #[test]
    fn picks_stay_valid_when_servers_come_and_go() {
        let mut p = picker(Policy::RoundRobin);
        assert_eq!(picks(&mut p, &fleet(3), 2), [1, 2]);
        let changed = vec![cand(1, 1, 0), cand(2, 1, 0), cand(4, 1, 0)];
        assert_eq!(picks(&mut p, &changed, 4), [4, 1, 2, 4]);
        assert_eq!(
            picks(&mut p, &fleet(1), 2),
            [1, 1],
            "turn beyond the only server"
        );

        let mut w = picker(Policy::WeightedRoundRobin);
        let _ = picks(&mut w, &[cand(1, 5, 0), cand(2, 1, 0), cand(3, 1, 0)], 3);
        let seq = picks(&mut w, &[cand(3, 1, 0), cand(2, 1, 0)], 6);
        assert_eq!([2, 3].map(|n| count(&seq, n)), [3, 3], "no leftover scores");
    }

    #[test]
    fn changing_the_policy_live_takes_effect_at_once() {
        let mut p = picker(Policy::RoundRobin);
        let c = busy(&[4, 0, 9]);
        assert_eq!(picks(&mut p, &c, 3), [1, 2, 3]);
        p.set_policy(Policy::LeastConnections);
        assert_eq!(picks(&mut p, &c, 3), [2, 2, 2]);
        let policy = p.pick(&c, "x", 0).choice().map(|k| k.policy);
        assert_eq!(policy, Some(Policy::LeastConnections));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add,
        Remove(usize),
        Toggle(usize),
        Busy(usize, u32),
        Observe(usize, u64),
        Policy(usize),
        Pick(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => Just(Op::Add),
            1 => any::<usize>().prop_map(Op::Remove),
            2 => any::<usize>().prop_map(Op::Toggle),
            2 => (any::<usize>(), 0..5u32).prop_map(|(i, a)| Op::Busy(i, a)),
            1 => (any::<usize>(), 0..200_000u64).prop_map(|(i, l)| Op::Observe(i, l)),
            1 => any::<usize>().prop_map(Op::Policy),
            8 => any::<u8>().prop_map(Op::Pick),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Round robin passes every eligible backend before coming back to any (backend
        /// numbers are never reused here), so none waits more picks than there have been
        /// backends.
        #[test]
        fn picks_are_always_eligible_and_round_robin_starves_no_one(
            seed in any::<u64>(),
            start in 0..Policy::ALL.len(),
            ops in prop::collection::vec(op(), 1..120),
        ) {
            let mut p = Picker::new(Policy::ALL[start], StdRng::seed_from_u64(seed));
            let (mut c, mut created) = (fleet(3), 3);
            // Round-robin picks each backend has waited since it was last picked (or
            // became eligible, or round robin was chosen).
            let mut waiting: BTreeMap<u32, u32> = BTreeMap::new();
            for (t, op) in ops.into_iter().enumerate() {
                let now = t as u64 * 1_000;
                let len = c.len();
                let at = |i: usize| (len > 0).then(|| i % len);
                match op {
                    Op::Add => {
                        created += 1;
                        c.push(cand(created, 1 + created % 3, 0));
                    }
                    Op::Remove(i) => if let Some(i) = at(i) {
                        waiting.remove(&c[i].number);
                        p.forget(c.remove(i).number);
                    },
                    Op::Toggle(i) => if let Some(i) = at(i) {
                        c[i].eligible = !c[i].eligible;
                        waiting.remove(&c[i].number);
                    },
                    Op::Busy(i, a) => if let Some(i) = at(i) { c[i].active = a },
                    Op::Observe(i, l) => if let Some(i) = at(i) { p.observe(c[i].number, l, now) },
                    Op::Policy(k) => {
                        p.set_policy(Policy::ALL[k % Policy::ALL.len()]);
                        waiting.clear();
                    }
                    Op::Pick(key) => match p.pick(&c, &format!("client-{key}"), now) {
                        Pick::Backend(choice) => {
                            let chosen = c.get(choice.index).expect("index in range");
                            prop_assert_eq!(chosen.number, choice.number);
                            prop_assert!(chosen.eligible, "picked an ineligible backend");
                            prop_assert!(choice.reason.starts_with(chosen.name));
                            if p.policy() != Policy::RoundRobin {
                                continue;
                            }
                            for k in c.iter().filter(|k| k.eligible) {
                                let w = waiting.entry(k.number).or_insert(0);
                                *w = if k.number == choice.number { 0 } else { *w + 1 };
                                prop_assert!(*w < created, "server-{} starved", k.number);
                            }
                        }
                        Pick::NoHealthyBackend { .. } => {
                            prop_assert!(c.iter().all(|k| !k.eligible));
                        }
                    },
                }
            }
        }
    }
}
