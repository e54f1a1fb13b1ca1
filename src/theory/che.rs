//! Cache hit ratios under the independent reference model (IRM: each request names item `i`
//! with a fixed probability `p_i`, independently of the past), by Che's approximation.
//!
//! Che, Tung and Wang (2002): an LRU cache of `C` entries behaves as if every item stayed
//! for the same *characteristic time* `T` after its last request, where `T` solves
//! `Σ_i (1 - exp(-p_i T)) = C` (the expected number of distinct items requested within
//! `T` requests fills the cache). Item `i` is then a hit with probability
//! `1 - exp(-p_i T)`, and the hit ratio is `Σ_i p_i (1 - exp(-p_i T))`. Time is counted in
//! requests, so the result does not depend on the request rate.
//!
//! The same idea gives FIFO (and random eviction): `h_i = p_i T / (1 + p_i T)` with
//! `Σ h_i = C` (Martina, Garetto and Leonardi, 2014). A perfect LFU under IRM keeps the
//! `C` most popular items, so its hit ratio is their total probability.

use crate::scenario::Eviction;

/// Zipf popularity over `n` items with exponent `s`: `p_k ∝ k^(-s)`, `k = 1..=n`, rank 1 the
/// most popular (`s = 0` is uniform). This is the law hopscope's clients draw ids from.
pub fn zipf(n: usize, s: f64) -> Vec<f64> {
    let s = if s.is_finite() { s.max(0.0) } else { 0.0 };
    let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// What Che's approximation says about one cache.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CachePrediction {
    /// Share of lookups answered from the cache, in steady state.
    pub hit_ratio: f64,
    /// The characteristic time `T`, in requests (infinite when everything fits).
    pub characteristic_requests: f64,
}

/// The hit ratio of a cache of `capacity` entries with `eviction`, for requests drawn with
/// probabilities `popularity` (summing to 1). With room for every item, the steady state
/// hits everything.
pub fn predict(popularity: &[f64], capacity: usize, eviction: Eviction) -> CachePrediction {
    let items = popularity.iter().filter(|p| **p > 0.0).count();
    if capacity >= items {
        return CachePrediction {
            hit_ratio: if items > 0 { 1.0 } else { 0.0 },
            characteristic_requests: f64::INFINITY,
        };
    }
    if capacity == 0 {
        return CachePrediction {
            hit_ratio: 0.0,
            characteristic_requests: 0.0,
        };
    }
    match eviction {
        Eviction::Lru => {
            let t = solve(popularity, capacity as f64, |p, t| 1.0 - (-p * t).exp());
            CachePrediction {
                hit_ratio: popularity.iter().map(|p| p * (1.0 - (-p * t).exp())).sum(),
                characteristic_requests: t,
            }
        }
        Eviction::Fifo => {
            let t = solve(popularity, capacity as f64, |p, t| p * t / (1.0 + p * t));
            CachePrediction {
                hit_ratio: popularity.iter().map(|p| p * p * t / (1.0 + p * t)).sum(),
                characteristic_requests: t,
            }
        }
        Eviction::Lfu => {
            let mut sorted: Vec<f64> = popularity.to_vec();
            sorted.sort_by(|a, b| b.total_cmp(a));
            CachePrediction {
                hit_ratio: sorted.iter().take(capacity).sum(),
                characteristic_requests: f64::INFINITY,
            }
        }
    }
}

/// Solves `Σ_i occupancy(p_i, T) = capacity` for `T` by bisection on a logarithmic scale
/// (the sum grows with `T` from 0 towards the number of items).
fn solve(popularity: &[f64], capacity: f64, occupancy: impl Fn(f64, f64) -> f64) -> f64 {
    let filled = |t: f64| popularity.iter().map(|p| occupancy(*p, t)).sum::<f64>();
    let (mut lo, mut hi) = (0.0f64, capacity.max(1.0));
    while filled(hi) < capacity && hi < 1e18 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < capacity {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use std::collections::{HashMap, VecDeque};

    /// Simulates a cache under IRM and returns its hit ratio after a warm-up.
    fn simulate(popularity: &[f64], capacity: usize, eviction: Eviction, draws: usize) -> f64 {
        let cdf: Vec<f64> = popularity
            .iter()
            .scan(0.0, |acc, p| {
                *acc += p;
                Some(*acc)
            })
            .collect();
        let mut rng = StdRng::seed_from_u64(7);
        let mut last_use: HashMap<usize, u64> = HashMap::new();
        let mut fifo: VecDeque<usize> = VecDeque::new();
        let mut uses: HashMap<usize, u64> = HashMap::new();
        let (mut hits, mut lookups) = (0u64, 0u64);
        let warm = draws / 10;
        for step in 0..draws {
            let x: f64 = rng.random();
            let item = cdf.partition_point(|c| *c < x).min(popularity.len() - 1);
            let hit = last_use.contains_key(&item);
            *uses.entry(item).or_default() += 1;
            if step >= warm {
                lookups += 1;
                hits += u64::from(hit);
            }
            match eviction {
                Eviction::Lru => {
                    if !hit && last_use.len() >= capacity {
                        let (&oldest, _) = last_use
                            .iter()
                            .min_by_key(|(_, t)| **t)
                            .expect("cache is full");
                        last_use.remove(&oldest);
                    }
                    last_use.insert(item, step as u64);
                }
                Eviction::Fifo => {
                    if !hit {
                        if fifo.len() >= capacity
                            && let Some(old) = fifo.pop_front()
                        {
                            last_use.remove(&old);
                        }
                        fifo.push_back(item);
                        last_use.insert(item, step as u64);
                    }
                }
                Eviction::Lfu => {
                    if !hit {
                        if last_use.len() >= capacity {
                            let (&least, _) = last_use
                                .iter()
                                .min_by_key(|(k, _)| uses[*k])
                                .expect("cache is full");
                            last_use.remove(&least);
                        }
                        last_use.insert(item, step as u64);
                    }
                }
            }
        }
        hits as f64 / lookups as f64
    }

    #[test]
    fn zipf_is_normalised_and_ordered() {
        let p = zipf(100, 1.0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[0] > p[1] && p[1] > p[99]);
        // Harmonic number H_100 ≈ 5.187 378.
        assert!((p[0] - 1.0 / 5.187_378).abs() < 1e-6);
        let uniform = zipf(4, 0.0);
        assert!(uniform.iter().all(|x| (x - 0.25).abs() < 1e-12));
    }

    #[test]
    fn che_fills_the_cache_and_matches_a_simulated_lru() {
        let p = zipf(200, 0.8);
        let pred = predict(&p, 20, Eviction::Lru);
        let t = pred.characteristic_requests;
        let filled: f64 = p.iter().map(|q| 1.0 - (-q * t).exp()).sum();
        assert!((filled - 20.0).abs() < 1e-6, "occupancy {filled}");
        let simulated = simulate(&p, 20, Eviction::Lru, 200_000);
        // Che is known to be within a fraction of a point for Zipf popularity.
        assert!(
            (pred.hit_ratio - simulated).abs() < 0.01,
            "che {} vs simulated {simulated}",
            pred.hit_ratio
        );
    }

    #[test]
    fn uniform_popularity_gives_capacity_over_items() {
        // With equal popularity every policy holds C of N items: h = C/N exactly for LRU
        // and FIFO in steady state, and Che's fixed point agrees.
        let p = zipf(50, 0.0);
        for e in [Eviction::Lru, Eviction::Fifo, Eviction::Lfu] {
            let h = predict(&p, 10, e).hit_ratio;
            assert!((h - 0.2).abs() < 1e-9, "{e:?}: {h}");
        }
    }

    #[test]
    fn fifo_and_lfu_predictions_order_as_the_simulation_does() {
        let p = zipf(200, 1.0);
        let fifo = predict(&p, 20, Eviction::Fifo).hit_ratio;
        let lru = predict(&p, 20, Eviction::Lru).hit_ratio;
        let lfu = predict(&p, 20, Eviction::Lfu).hit_ratio;
        assert!(fifo < lru && lru < lfu, "{fifo} {lru} {lfu}");
        let sim_fifo = simulate(&p, 20, Eviction::Fifo, 200_000);
        assert!((fifo - sim_fifo).abs() < 0.015, "fifo {fifo} vs {sim_fifo}");
    }

    #[test]
    fn room_for_everything_hits_everything() {
        let p = zipf(10, 1.0);
        assert_eq!(predict(&p, 10, Eviction::Lru).hit_ratio, 1.0);
        assert_eq!(predict(&p, 0, Eviction::Lru).hit_ratio, 0.0);
    }
}
