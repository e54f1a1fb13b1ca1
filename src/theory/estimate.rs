//! Confidence intervals for measurements of a running system, by the method of batch means.
//!
//! Successive waits in a queue are strongly correlated (one busy period delays many
//! requests), so the spread of single samples says little about how well their mean is
//! known. Batch means cuts the samples, in time order, into `b` consecutive batches of equal
//! size; when batches are much longer than the correlation, their means are nearly
//! independent and nearly normal, and a Student-t interval on them is honest. The same works
//! for ratios (hits over lookups, 503s over requests) with the samples as 0/1 values.

use serde::Serialize;

use crate::trace::metrics::quantile;

/// A measured mean with its uncertainty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Estimate {
    /// The mean of every sample used.
    pub mean: f64,
    /// Standard error of `mean`, from the spread of the batch means.
    pub std_error: f64,
    /// Half-width of the 95 % confidence interval (`t · std_error`).
    pub half_width_95: f64,
    /// Samples used.
    pub samples: usize,
    /// Batches they were cut into.
    pub batches: usize,
}

impl Estimate {
    /// The 95 % interval.
    pub fn interval_95(&self) -> (f64, f64) {
        (
            self.mean - self.half_width_95,
            self.mean + self.half_width_95,
        )
    }

    /// Whether `x` lies within `k` standard errors of the mean.
    pub fn within_std_errors(&self, x: f64, k: f64) -> bool {
        (self.mean - x).abs() <= k * self.std_error
    }

    /// This estimate with every value multiplied by `factor` (a change of unit).
    pub fn scaled(&self, factor: f64) -> Estimate {
        Estimate {
            mean: self.mean * factor,
            std_error: self.std_error * factor.abs(),
            half_width_95: self.half_width_95 * factor.abs(),
            ..*self
        }
    }
}

/// The two-sided 95 % quantile of Student's t with `dof` degrees of freedom.
pub fn t_95(dof: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match dof {
        0 => f64::INFINITY,
        1..=30 => TABLE[dof - 1],
        31..=60 => 2.042 - (2.042 - 2.000) * (dof - 30) as f64 / 30.0,
        61..=120 => 2.000 - (2.000 - 1.980) * (dof - 60) as f64 / 60.0,
        _ => 1.960,
    }
}

/// Batch means over `samples` (in time order) cut into `batches` equal batches; samples
/// that do not fill the last batch are left out of the spread but kept in the mean. With
/// fewer than two batches' worth, the standard error is infinite.
pub fn batch_means(samples: &[f64], batches: usize) -> Estimate {
    let n = samples.len();
    let mean = if n > 0 {
        samples.iter().sum::<f64>() / n as f64
    } else {
        f64::NAN
    };
    let b = batches.min(n);
    if b < 2 {
        return Estimate {
            mean,
            std_error: f64::INFINITY,
            half_width_95: f64::INFINITY,
            samples: n,
            batches: b,
        };
    }
    let size = n / b;
    let means: Vec<f64> = samples
        .chunks_exact(size)
        .take(b)
        .map(|c| c.iter().sum::<f64>() / size as f64)
        .collect();
    let grand = means.iter().sum::<f64>() / b as f64;
    let var = means.iter().map(|m| (m - grand).powi(2)).sum::<f64>() / (b - 1) as f64;
    let std_error = (var / b as f64).sqrt();
    Estimate {
        mean,
        std_error,
        half_width_95: t_95(b - 1) * std_error,
        samples: n,
        batches: b,
    }
}

/// A quantile (0..=1) estimated as the mean of the batches' quantiles, with the spread of
/// those for its uncertainty (`samples` in time order).
pub fn batch_quantile(samples: &[f64], q: f64, batches: usize) -> Estimate {
    let n = samples.len();
    let b = batches.min(n / 5);
    // NaN for no samples: an estimate of nothing, never a made-up zero.
    let quantile_of = |xs: &[f64]| quantile(xs.to_vec(), q).unwrap_or(f64::NAN);
    let whole = quantile_of(samples);
    if b < 2 {
        return Estimate {
            mean: whole,
            std_error: f64::INFINITY,
            half_width_95: f64::INFINITY,
            samples: n,
            batches: b,
        };
    }
    let size = n / b;
    let qs: Vec<f64> = samples
        .chunks_exact(size)
        .take(b)
        .map(quantile_of)
        .collect();
    let e = batch_means(&qs, b);
    Estimate {
        mean: whole,
        samples: n,
        ..e
    }
}

/// Batch means of a share: `flags` in time order, true counting 1.
pub fn proportion(flags: &[bool], batches: usize) -> Estimate {
    let values: Vec<f64> = flags.iter().map(|f| f64::from(u8::from(*f))).collect();
    batch_means(&values, batches)
}

/// How a measurement compares with a prediction and its target.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// measured − predicted.
    pub error: f64,
    /// error ÷ predicted (when the prediction is not zero).
    pub relative_error: f64,
    /// The prediction lies inside the measurement's 95 % interval.
    pub prediction_in_ci: bool,
    /// |error| is within the target.
    pub within_target: bool,
}

/// How far a target is allowed to stray.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Target {
    /// |measured − predicted| ≤ this share of the prediction.
    Relative(f64),
    /// |measured − predicted| ≤ this, in the measurement's unit.
    Absolute(f64),
}

impl Target {
    /// The allowed |error| for `predicted`.
    pub fn allowed(&self, predicted: f64) -> f64 {
        match *self {
            Target::Relative(r) => r * predicted.abs(),
            Target::Absolute(a) => a,
        }
    }
}

/// Compares `measured` with `predicted` under `target`.
pub fn judge(measured: &Estimate, predicted: f64, target: Target) -> Verdict {
    let error = measured.mean - predicted;
    let (lo, hi) = measured.interval_95();
    Verdict {
        error,
        relative_error: if predicted != 0.0 {
            error / predicted
        } else {
            f64::NAN
        },
        prediction_in_ci: lo <= predicted && predicted <= hi,
        within_target: error.abs() <= target.allowed(predicted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn independent_samples_give_the_textbook_standard_error() {
        // Uniform(0, 1): variance 1/12; with 100 000 samples, SE = sqrt(1/12/1e5) ≈ 0.000 913.
        let mut rng = StdRng::seed_from_u64(3);
        let xs: Vec<f64> = (0..100_000).map(|_| rng.random::<f64>()).collect();
        let e = batch_means(&xs, 20);
        assert!((e.mean - 0.5).abs() < 0.004);
        let se = (1.0f64 / 12.0 / 1e5).sqrt();
        assert!(
            (e.std_error / se - 1.0).abs() < 0.5,
            "{} vs {se}",
            e.std_error
        );
        assert!(e.within_std_errors(0.5, 5.0));
        assert_eq!((e.samples, e.batches), (100_000, 20));
    }

    #[test]
    fn correlated_samples_get_a_wider_interval_than_naive() {
        // An AR(1) series with strong correlation: the naive SE underestimates badly.
        let mut rng = StdRng::seed_from_u64(5);
        let mut x = 0.0;
        let xs: Vec<f64> = (0..200_000)
            .map(|_| {
                x = 0.99 * x + (rng.random::<f64>() - 0.5);
                x
            })
            .collect();
        let e = batch_means(&xs, 20);
        let n = xs.len() as f64;
        let var = xs.iter().map(|v| (v - e.mean).powi(2)).sum::<f64>() / (n - 1.0);
        let naive = (var / n).sqrt();
        assert!(
            e.std_error > 5.0 * naive,
            "{} vs naive {naive}",
            e.std_error
        );
    }

    #[test]
    fn t_quantiles_and_edge_cases() {
        assert_eq!(t_95(1), 12.706);
        assert_eq!(t_95(19), 2.093);
        assert_eq!(t_95(1000), 1.96);
        assert!(batch_means(&[1.0], 10).std_error.is_infinite());
        assert!(batch_means(&[], 10).mean.is_nan());
        let xs: Vec<f64> = (0..1000).map(|i| f64::from(i % 10)).collect();
        let median = batch_quantile(&xs, 0.5, 10);
        assert_eq!((median.mean, median.std_error), (4.0, 0.0));
        assert!(batch_quantile(&xs[..5], 0.5, 10).std_error.is_infinite());
        let p = proportion(&[true, false, true, false], 2);
        assert_eq!(p.mean, 0.5);
        assert_eq!(p.std_error, 0.0);
    }

    #[test]
    fn verdicts() {
        let e = Estimate {
            mean: 1.05,
            std_error: 0.02,
            half_width_95: 0.04,
            samples: 100,
            batches: 10,
        };
        let v = judge(&e, 1.0, Target::Relative(0.1));
        assert!(v.within_target && !v.prediction_in_ci);
        assert!((v.relative_error - 0.05).abs() < 1e-12);
        let v = judge(&e, 1.02, Target::Absolute(0.02));
        assert!(!v.within_target && v.prediction_in_ci);
        assert_eq!(e.scaled(1000.0).mean, 1050.0);
    }
}
