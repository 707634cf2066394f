//! One small head ("adapter"): its config, deterministic training on a member set, predict.
//!
//! An adapter's parameters are a pure function of (its members in canonical order, its seed,
//! the [`HeadConfig`]): nothing is shared with any other adapter — no optimizer state, no
//! statistics, no global class list. Its outputs are exactly the labels present among its
//! members (sorted), so adding a class elsewhere never changes it.
//!
//! Two head kinds, both a linear map `scores = x W + b` over the encoding:
//! * [`HeadKind::Ridge`] (default): closed-form ridge regression onto one-hot targets with an
//!   unpenalised intercept, solved by Cholesky in f64 (dual `m x m` system when the adapter has
//!   at most `dim` members, primal `dim x dim` otherwise). No iterations, no randomness, plain
//!   Rust loops in a fixed order: bitwise reproducible, and cost grows with the member count
//!   only through one small solve. Scores estimate per-label probabilities.
//! * [`HeadKind::Softmax`]: `Linear(dim -> labels)` trained with cross-entropy and Adam by a
//!   custom loop on burn autodiff on the CPU (flex) device; initial weights and epoch shuffles
//!   come from a ChaCha8 stream seeded by the adapter seed (never burn's global RNG). Outputs
//!   are softmax probabilities.
//!
//! An adapter whose members all share one label has nothing to fit: it outputs that label with
//! score 1 (zero weights, bias 1) for either kind.
//!
//! [`ridge`] holds the closed-form solver, [`softmax`] the burn training loop.

use burn::config::Config;

mod ridge;
mod softmax;

pub use ridge::Gram;

use crate::{Error, Result};

/// Which head every adapter uses.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum HeadKind {
    /// Closed-form ridge regression onto one-hot labels.
    Ridge,
    /// Linear layer + softmax trained by Adam on cross-entropy (burn autodiff).
    Softmax,
}

/// Softmax epochs above this are refused: a snapshot from anywhere must not make `verify`
/// (which replays training) run for days.
pub const MAX_EPOCHS: usize = 100;

/// Softmax mini-batch sizes allowed: one Adam step per batch, so the smallest batch bounds the
/// steps a replay takes per member (at most `MAX_EPOCHS / 8`).
pub const BATCH_SIZES: std::ops::RangeInclusive<usize> = 8..=4096;

/// A ridge solve that is not numerically sound at the configured lambda (members all but equal
/// under different labels with a tiny lambda: a pivot lost to round-off, or weights beyond f32)
/// is solved again with lambda this many times larger, at most [`RIDGE_RETRIES`] times. Still a
/// pure function of the members and the config, so a forget equals a fresh train, and neither
/// a train nor a forget fails on such members.
const RIDGE_GROWTH: f64 = 16.0;

/// Lambda grows at most this many times ([`RIDGE_GROWTH`]); the first retry starts at least at
/// `ridge::round_off_lambda`, a few retries above which the system is diagonally dominant.
const RIDGE_RETRIES: i32 = 64;

/// Hyper-parameters of one adapter head.
#[derive(Config, Debug, PartialEq)]
pub struct HeadConfig {
    /// Head kind.
    #[config(default = "HeadKind::Ridge")]
    pub kind: HeadKind,
    /// Ridge: L2 penalty on the weights (the intercept is not penalised); an adapter whose
    /// solve is not numerically sound at it is solved again at a larger one ([`RIDGE_GROWTH`]). Chosen by
    /// `legonet bench` (docs/core.md): with member caps and the rank-weighted ensemble, 50 beats
    /// 100 on Fashion-MNIST from N = 1,000 to 4,000 by 0.5–1 point, and one head on everything
    /// (Retrain, the default below 300 samples) is within ±0.5 point of λ = 100 on every set
    /// and size measured.
    #[config(default = 50.0)]
    pub ridge_lambda: f64,
    /// Softmax: passes over the members.
    #[config(default = 20)]
    pub epochs: usize,
    /// Softmax: Adam learning rate.
    #[config(default = 1e-2)]
    pub learning_rate: f64,
    /// Softmax: mini-batch size.
    #[config(default = 32)]
    pub batch_size: usize,
}

impl HeadConfig {
    /// Checks every field is in range, whatever the kind: a config read from a snapshot must
    /// equal itself (no NaN) and replay in bounded time.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidConfig(m.to_string()));
        if !(self.ridge_lambda.is_finite() && self.ridge_lambda > 0.0) {
            bad("ridge_lambda must be finite and > 0")
        } else if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            bad(&format!("epochs must be in 1..={MAX_EPOCHS}"))
        } else if !BATCH_SIZES.contains(&self.batch_size) {
            bad(&format!("batch_size must be in {}..={}", BATCH_SIZES.start(), BATCH_SIZES.end()))
        } else if !(self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            // Larger steps make Adam diverge to non-finite weights: every train would fail.
            bad("learning_rate must be in (0, 1]")
        } else {
            Ok(())
        }
    }

    /// Trains one head on `members` (encodings with their labels, already in canonical
    /// order). `members` must be non-empty and every encoding `dim` long.
    pub fn train(&self, members: &[(&[f32], &str)], dim: usize, seed: u64) -> Result<AdapterParams> {
        self.train_cached(members, &[], None, dim, seed).map(|r| r.0)
    }

    /// [`HeadConfig::train`] reusing the raw Gram entries of members already seen by `cache`
    /// (`ids` parallel to `members`). The result is bitwise the same as without the cache:
    /// every Gram entry is the same dot product computed the same way, the cache only skips
    /// recomputing it. Returns the Gram matrix to keep for the next call (when the dual ridge
    /// path was used).
    pub fn train_cached(
        &self,
        members: &[(&[f32], &str)],
        ids: &[&str],
        cache: Option<&Gram>,
        dim: usize,
        seed: u64,
    ) -> Result<(AdapterParams, Option<Gram>)> {
        if members.is_empty() {
            return Err(Error::Internal("an adapter needs at least one member".into()));
        }
        let mut labels: Vec<String> = members.iter().map(|m| m.1.to_string()).collect();
        labels.sort();
        labels.dedup();
        let targets: Vec<usize> = members
            .iter()
            .map(|m| labels.binary_search_by(|l| l.as_str().cmp(m.1)).expect("label collected above"))
            .collect();
        let c = labels.len();
        if c == 1 {
            // One label: a constant score of 1 (a softmax over one score is 1 too).
            let softmax = self.kind == HeadKind::Softmax;
            let p = AdapterParams { dim, labels, weight: vec![0.0; dim], bias: vec![1.0], softmax };
            return Ok((p, None));
        }
        let xs: Vec<&[f32]> = members.iter().map(|m| m.0).collect();
        let mut gram = None;
        let (weight, bias) = match self.kind {
            HeadKind::Ridge if xs.len() <= dim => {
                let g = Gram::build(&xs, ids, cache);
                let system = ridge::RidgeSystem::dual(&xs, &targets, c, dim, &g);
                let r = self.sound_ridge(&xs, |lambda| system.solve(lambda))?;
                gram = (ids.len() == xs.len()).then_some(g);
                r
            }
            HeadKind::Ridge => {
                let system = ridge::RidgeSystem::primal(&xs, &targets, c, dim);
                self.sound_ridge(&xs, |lambda| system.solve(lambda))?
            }
            HeadKind::Softmax => softmax::train(self, &xs, &targets, c, dim, seed)?,
        };
        let p = AdapterParams { dim, labels, weight, bias, softmax: self.kind == HeadKind::Softmax };
        Ok((p, gram))
    }
}

impl HeadConfig {
    /// `solve` at `ridge_lambda`, or at the first larger lambda ([`RIDGE_GROWTH`]) where it is
    /// numerically sound.
    fn sound_ridge(
        &self,
        xs: &[&[f32]],
        solve: impl Fn(f64) -> Option<(Vec<f32>, Vec<f32>)>,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut lambda = self.ridge_lambda;
        for _ in 0..=RIDGE_RETRIES {
            if let Some(solved) = solve(lambda) {
                return Ok(solved);
            }
            // Straight past the lambdas that round-off defeats at this data's scale.
            lambda = (lambda * RIDGE_GROWTH).max(ridge::round_off_lambda(xs));
            if !lambda.is_finite() {
                break;
            }
        }
        Err(Error::Internal("the ridge solve failed at every lambda tried".into()))
    }
}

/// A trained adapter: `scores = x W + b` over its own labels.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterParams {
    /// Encoding dimension.
    pub dim: usize,
    /// The labels present among the members, sorted; output j is `labels[j]`.
    pub labels: Vec<String>,
    /// Row-major `[dim, labels.len()]`.
    pub weight: Vec<f32>,
    /// `[labels.len()]`.
    pub bias: Vec<f32>,
    /// Whether scores go through a softmax (Softmax head) or are used as they are (Ridge).
    pub softmax: bool,
}

impl AdapterParams {
    /// Number of trained parameters (weights + biases).
    pub fn num_params(&self) -> usize {
        self.weight.len() + self.bias.len()
    }

    /// Per-label scores for one encoding, aligned with `labels`. Ridge scores are clamped to
    /// [0, 1] so an adapter never votes against a label; softmax scores are probabilities.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let c = self.labels.len();
        let mut s: Vec<f64> = self.bias.iter().map(|&b| b as f64).collect();
        for (j, &xj) in x.iter().enumerate() {
            let row = &self.weight[j * c..(j + 1) * c];
            for (acc, &w) in s.iter_mut().zip(row) {
                *acc += xj as f64 * w as f64;
            }
        }
        if self.softmax {
            let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = s.iter().map(|v| (v - max).exp()).collect();
            let z: f64 = e.iter().sum();
            e.iter().map(|v| (v / z) as f32).collect()
        } else {
            s.iter().map(|v| v.clamp(0.0, 1.0) as f32).collect()
        }
    }

    /// Every parameter bit, for bitwise comparison and hashing.
    pub fn bits(&self) -> impl Iterator<Item = u32> + '_ {
        self.weight.iter().chain(&self.bias).map(|v| v.to_bits())
    }
}

#[cfg(test)]
pub(crate) mod tests;
