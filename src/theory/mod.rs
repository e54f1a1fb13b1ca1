//! Queueing and caching theory next to what hopscope measures: the formulas (pure maths),
//! what they predict for a scenario and when they apply, and how the trace's spans map onto
//! their quantities. docs/theory.md explains each model in plain words.
//!
//! - [`erlang`]: Erlang B and C, M/M/c and M/M/c/K.
//! - [`che`]: Che's approximation of an LRU cache's hit ratio (and FIFO's).
//! - [`estimate`]: batch-means confidence intervals and verdicts against targets.
//! - [`predict`](mod@predict): a scenario's predictions, or why a theory does not apply to it.
//! - [`measure`]: samples read from recorded journeys (waits, refusals, hits, hop delays).
//! - [`report`]: theory next to a run's measurements, for `hopscope run`'s summary.
//! - [`fidelity`]: the checks `hopscope check-theory` runs: predicted against measured, with
//!   confidence intervals and targets.

pub mod che;
pub mod erlang;
pub mod estimate;
pub mod fidelity;
pub mod measure;
pub mod predict;
pub mod report;

pub use estimate::{Estimate, Target, Verdict, batch_means, judge, proportion};
pub use predict::{CacheModel, QueueModel, Section, ServerQueue, Theory, predict, queue_model};
