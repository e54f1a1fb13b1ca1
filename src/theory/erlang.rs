//! Queueing formulas for servers with Poisson arrivals and exponential service: Erlang B and
//! Erlang C, the M/M/c queue (one shared line in front of `c` workers; M/M/1 is `c = 1`) and
//! the M/M/c/K queue (room for `K` requests in all, workers included; one more is refused).
//!
//! Conventions: rates are per second, times in seconds; `a = λ / μ` is the offered load in
//! Erlangs and `ρ = a / c` the share of time each worker is busy. Everything is a plain
//! function of numbers, checked against textbook values in the tests below.

/// Erlang B: the probability that an arrival finds all `c` servers busy in a loss system
/// with offered load `a` Erlangs (M/M/c/c). Computed by the stable recurrence
/// `B(k) = a·B(k-1) / (k + a·B(k-1))`, `B(0) = 1`.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    if !(a.is_finite() && a > 0.0) {
        return if c == 0 { 1.0 } else { 0.0 };
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Erlang C: the probability that an arrival has to wait (all `c` workers busy) in an M/M/c
/// queue with offered load `a` Erlangs. 1 when `a >= c` (no steady state: everyone waits).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 {
        return 1.0;
    }
    let cf = f64::from(c);
    if !(a.is_finite() && a > 0.0) {
        return 0.0;
    }
    if a >= cf {
        return 1.0;
    }
    let b = erlang_b(c, a);
    cf * b / (cf - a * (1.0 - b))
}

/// An M/M/c queue: Poisson arrivals at `arrival_rate`, `workers` identical workers with
/// exponential service of mean `service_secs`, one FIFO line of unlimited length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MMc {
    /// λ, requests per second.
    pub arrival_rate: f64,
    /// 1/μ, seconds.
    pub service_secs: f64,
    /// c.
    pub workers: u32,
}

impl MMc {
    /// Offered load `a = λ/μ`, in Erlangs.
    pub fn offered_load(&self) -> f64 {
        self.arrival_rate * self.service_secs
    }

    /// Utilisation `ρ = a/c`: the share of time a worker is busy.
    pub fn utilization(&self) -> f64 {
        self.offered_load() / f64::from(self.workers.max(1))
    }

    /// Whether a steady state exists (`ρ < 1`).
    pub fn is_stable(&self) -> bool {
        self.workers > 0 && self.utilization() < 1.0
    }

    /// P(wait): the chance an arrival finds every worker busy (Erlang C).
    pub fn prob_wait(&self) -> f64 {
        erlang_c(self.workers, self.offered_load())
    }

    /// Mean time in the line, `Wq = C(c, a) / (cμ - λ)`; infinite when unstable.
    pub fn mean_wait_secs(&self) -> f64 {
        if !self.is_stable() {
            return f64::INFINITY;
        }
        let drain = f64::from(self.workers) / self.service_secs - self.arrival_rate;
        self.prob_wait() / drain
    }

    /// Mean time in the system (line plus service).
    pub fn mean_response_secs(&self) -> f64 {
        self.mean_wait_secs() + self.service_secs
    }

    /// The `q` quantile of the wait (0 for a quantile the no-wait mass covers):
    /// `P(W > t) = C·exp(-(cμ - λ)t)`.
    pub fn wait_quantile_secs(&self, q: f64) -> f64 {
        if !self.is_stable() {
            return f64::INFINITY;
        }
        let c = self.prob_wait();
        let tail = 1.0 - q.clamp(0.0, 1.0);
        if tail >= c || c <= 0.0 {
            return 0.0;
        }
        let drain = f64::from(self.workers) / self.service_secs - self.arrival_rate;
        (c / tail).ln() / drain
    }
}

/// An M/M/c/K queue: like [`MMc`] but with room for `capacity` (K ≥ c) requests in all;
/// an arrival that finds K present is refused (hopscope's 503 when the queue is full).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MMcK {
    /// λ, requests per second offered.
    pub arrival_rate: f64,
    /// 1/μ, seconds.
    pub service_secs: f64,
    /// c.
    pub workers: u32,
    /// K: workers plus places in the line.
    pub capacity: u32,
}

/// The steady-state picture of an M/M/c/K queue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MMcKState {
    /// P(an arrival is refused) = P(K present).
    pub blocking: f64,
    /// P(an admitted request has to wait).
    pub prob_wait_admitted: f64,
    /// Mean wait in the line of the admitted requests, seconds (Little's law).
    pub mean_wait_secs: f64,
    /// Mean number waiting in the line.
    pub mean_queue_len: f64,
}

impl MMcK {
    /// The stationary distribution `p_0..=p_K`, computed in log space so large K and loads
    /// neither overflow nor underflow.
    pub fn distribution(&self) -> Vec<f64> {
        let c = self.workers.max(1);
        let k = self.capacity.max(c);
        let a = self.arrival_rate * self.service_secs;
        if !(a.is_finite() && a > 0.0) {
            let mut p = vec![0.0; k as usize + 1];
            p[0] = 1.0;
            return p;
        }
        let ln_a = a.ln();
        let ln_rho = (a / f64::from(c)).ln();
        let mut ln_terms = Vec::with_capacity(k as usize + 1);
        let mut ln_fact = 0.0;
        for n in 0..=k {
            if n >= 1 && n <= c {
                ln_fact += f64::from(n).ln();
            }
            let t = if n <= c {
                f64::from(n) * ln_a - ln_fact
            } else {
                // a^c / c! · ρ^(n - c)
                f64::from(c) * ln_a - ln_fact + f64::from(n - c) * ln_rho
            };
            ln_terms.push(t);
        }
        let max = ln_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = ln_terms.iter().map(|t| (t - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        weights.iter().map(|w| w / total).collect()
    }

    /// Blocking probability, the admitted requests' chance to wait and their mean wait.
    pub fn state(&self) -> MMcKState {
        let p = self.distribution();
        let c = self.workers.max(1) as usize;
        let k = p.len() - 1;
        let blocking = p[k];
        let admitted = 1.0 - blocking;
        // An admitted arrival waits when it finds c..K-1 present (PASTA).
        let waits: f64 = p[c.min(k)..k].iter().sum();
        let mean_queue_len: f64 = p
            .iter()
            .enumerate()
            .skip(c)
            .map(|(n, pn)| (n - c) as f64 * pn)
            .sum();
        let admitted_rate = self.arrival_rate * admitted;
        MMcKState {
            blocking,
            prob_wait_admitted: if admitted > 0.0 {
                waits / admitted
            } else {
                1.0
            },
            mean_wait_secs: if admitted_rate > 0.0 {
                mean_queue_len / admitted_rate
            } else {
                0.0
            },
            mean_queue_len,
        }
    }
}

/// Allen–Cunneen's correction for general service times: the M/M/c wait times
/// `(1 + cs²) / 2`, where `cs²` is the squared coefficient of variation of the service time
/// (1 for exponential, 0 for constant, `exp(σ²) - 1` for a lognormal). Exact for M/G/1
/// (Pollaczek–Khinchine), an approximation for c > 1.
pub fn allen_cunneen_factor(service_scv: f64) -> f64 {
    (1.0 + service_scv.max(0.0)) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn erlang_b_matches_tables() {
        // Classic Erlang B table entries.
        assert!(close(erlang_b(1, 1.0), 0.5, 1e-12));
        assert!(close(erlang_b(2, 1.0), 0.2, 1e-12));
        assert!(close(erlang_b(10, 5.0), 0.018_384, 1e-5));
        assert!(close(erlang_b(5, 2.0), 0.036_697, 1e-5));
    }

    #[test]
    fn erlang_c_matches_known_values() {
        // c = 2, ρ = 0.5 (a = 1): P(wait) = 1/3.
        assert!(close(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12));
        // c = 1: P(wait) = ρ.
        assert!(close(erlang_c(1, 0.7), 0.7, 1e-12));
        // A textbook call-centre case: c = 10, a = 8 Erlangs → C ≈ 0.4092.
        assert!(close(erlang_c(10, 8.0), 0.409_2, 1e-4));
        assert_eq!(erlang_c(4, 4.0), 1.0, "saturated");
        assert_eq!(erlang_c(4, 0.0), 0.0, "idle");
    }

    #[test]
    fn mmc_mean_wait_and_quantiles() {
        // M/M/1, λ = 8/s, 1/μ = 0.1 s: Wq = ρ/(μ - λ) = 0.8 / 2 = 0.4 s.
        let q = MMc {
            arrival_rate: 8.0,
            service_secs: 0.1,
            workers: 1,
        };
        assert!(close(q.mean_wait_secs(), 0.4, 1e-12));
        assert!(close(q.mean_response_secs(), 0.5, 1e-12));
        // P(W > t) = 0.8 e^{-2t}: the median wait solves 0.8 e^{-2t} = 0.5.
        assert!(close(
            q.wait_quantile_secs(0.5),
            (0.8f64 / 0.5).ln() / 2.0,
            1e-12
        ));
        assert_eq!(q.wait_quantile_secs(0.1), 0.0, "within the no-wait mass");
        // M/M/2, ρ = 0.5, 1/μ = 1: Wq = (1/3) / (2 - 1) = 1/3.
        let q2 = MMc {
            arrival_rate: 1.0,
            service_secs: 1.0,
            workers: 2,
        };
        assert!(close(q2.mean_wait_secs(), 1.0 / 3.0, 1e-12));
        let unstable = MMc {
            arrival_rate: 3.0,
            service_secs: 1.0,
            workers: 2,
        };
        assert!(!unstable.is_stable());
        assert!(unstable.mean_wait_secs().is_infinite());
    }

    #[test]
    fn mmck_reduces_to_known_cases() {
        // M/M/1/K: P_K = (1-ρ)ρ^K / (1-ρ^{K+1}); ρ = 0.5, K = 3 → 0.0625·0.5/0.9375.
        let q = MMcK {
            arrival_rate: 0.5,
            service_secs: 1.0,
            workers: 1,
            capacity: 3,
        };
        let expect = 0.5 * 0.125 / (1.0 - 0.0625);
        assert!(close(q.state().blocking, expect, 1e-12));
        // K = c: Erlang B.
        let loss = MMcK {
            arrival_rate: 5.0,
            service_secs: 1.0,
            workers: 10,
            capacity: 10,
        };
        assert!(close(loss.state().blocking, erlang_b(10, 5.0), 1e-12));
        // Large K: Erlang C's wait.
        let big = MMcK {
            arrival_rate: 1.0,
            service_secs: 1.0,
            workers: 2,
            capacity: 400,
        };
        let s = big.state();
        assert!(s.blocking < 1e-100);
        assert!(close(s.prob_wait_admitted, 1.0 / 3.0, 1e-9));
        assert!(close(s.mean_wait_secs, 1.0 / 3.0, 1e-9));
        // Overload is fine for a finite queue: ρ = 2, c = 1, K = 1 → B = 2/3.
        let over = MMcK {
            arrival_rate: 2.0,
            service_secs: 1.0,
            workers: 1,
            capacity: 1,
        };
        assert!(close(over.state().blocking, 2.0 / 3.0, 1e-12));
        let p = big.distribution();
        assert!(close(p.iter().sum::<f64>(), 1.0, 1e-12));
    }

    #[test]
    fn allen_cunneen_is_pollaczek_khinchine_for_one_server() {
        // M/D/1 waits half as long as M/M/1.
        assert!(close(allen_cunneen_factor(0.0), 0.5, 1e-12));
        assert!(close(allen_cunneen_factor(1.0), 1.0, 1e-12));
    }
}
