//! The n adapter keys: points in encoding space derived from the frozen encoder alone.
//!
//! Keys never depend on user samples, so adding or forgetting a sample can never move a key
//! (that is what makes per-adapter retraining exact). Derivation, all in f64 with fixed loop
//! order, so it is bitwise reproducible on every platform:
//!
//! 1. **Centre** `c`: the expected encoding under the head BN's own statistics. After inference
//!    BN the pre-activation of channel j is ~ N(bias_j, weight_j^2); the encoding is the spatial
//!    mean of ReLU6 of it, whose expectation is the closed form `E[clip(Z, 0, 6)]`.
//! 2. **Directions**: the 1000 rows of the ImageNet classifier `_fc.weight` live in the same
//!    1280-d space. They are centred (their mean row removed, which is a direction shared by all
//!    classes and would otherwise dominate), normalised, and grouped by a seeded spherical
//!    k-means into n unit directions `d_i`.
//! 3. **Keys**: `key_i = c + scale * d_i`. With unit directions the Euclidean nearest key is the
//!    direction of largest `<x - c, d_i>`, so `scale` does not change routing; it only places
//!    keys at a typical distance from the centre (the norm of the per-channel std estimate).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Head-BN epsilon of EfficientNet-Lite0 (see the encoder contract).
pub const HEAD_BN_EPS: f64 = 1e-3;

/// Spherical k-means iterations: fixed, so the result is a pure function of the inputs.
const KMEANS_ITERS: usize = 30;

/// The encoder tensors keys are derived from (PyTorch names in the weight file).
#[derive(Debug, Clone, Copy)]
pub struct EncoderHead<'a> {
    /// `_fc.weight`, row-major `[classes, dim]`.
    pub fc_weight: &'a [f32],
    /// `_bn1.weight`, `[dim]`.
    pub bn_weight: &'a [f32],
    /// `_bn1.bias`, `[dim]`.
    pub bn_bias: &'a [f32],
    /// Encoding dimension (1280).
    pub dim: usize,
}

/// A derived key set: `n` keys of `dim` floats and the hash that identifies them.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySet {
    dim: usize,
    keys: Vec<f32>,
    hash: String,
}

impl KeySet {
    /// Derives `n` keys from the encoder head (see the module docs). `seed` drives only the
    /// k-means initialisation; `encoder_id` is folded into the key hash.
    pub fn derive(head: EncoderHead<'_>, n: usize, seed: u64, encoder_id: &str) -> Result<Self> {
        let dim = head.dim;
        if dim == 0 || head.bn_weight.len() != dim || head.bn_bias.len() != dim {
            return Err(Error::InvalidWeights(format!(
                "head BN tensors must have {dim} entries (got {}, {})",
                head.bn_weight.len(),
                head.bn_bias.len()
            )));
        }
        if head.fc_weight.is_empty() || head.fc_weight.len() % dim != 0 {
            return Err(Error::InvalidWeights(format!(
                "_fc.weight has {} values, not a multiple of {dim}",
                head.fc_weight.len()
            )));
        }
        let rows = head.fc_weight.len() / dim;
        if n == 0 || n > rows {
            return Err(Error::InvalidConfig(format!(
                "number of adapters must be in 1..={rows} (got {n})"
            )));
        }
        let (centre, scale) = expected_encoding(head.bn_weight, head.bn_bias);
        let directions = classifier_directions(head.fc_weight, dim);
        let clusters = spherical_kmeans(&directions, dim, n, seed);
        let mut keys = Vec::with_capacity(n * dim);
        for c in clusters.chunks(dim) {
            for j in 0..dim {
                keys.push((centre[j] + scale * c[j]) as f32);
            }
        }
        Ok(Self::from_parts(dim, keys, seed, encoder_id))
    }

    /// Wraps raw keys (e.g. read back from a snapshot); the hash covers dim, seed, encoder id
    /// and every key bit.
    pub fn from_parts(dim: usize, keys: Vec<f32>, seed: u64, encoder_id: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"legonet-keys-v1");
        h.update((dim as u64).to_le_bytes());
        h.update(seed.to_le_bytes());
        h.update((encoder_id.len() as u64).to_le_bytes());
        h.update(encoder_id.as_bytes());
        for v in &keys {
            h.update(v.to_bits().to_le_bytes());
        }
        let hash = hex(&h.finalize());
        Self { dim, keys, hash }
    }

    /// Number of keys (= adapters).
    pub fn len(&self) -> usize {
        self.keys.len() / self.dim
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Encoding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Key `i` as a slice of `dim` floats.
    pub fn key(&self, i: usize) -> &[f32] {
        &self.keys[i * self.dim..(i + 1) * self.dim]
    }

    /// All keys, row-major `[n, dim]`.
    pub fn as_slice(&self) -> &[f32] {
        &self.keys
    }

    /// Hex SHA-256 identifying this key set.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Per-channel `E[clip(Z, 0, 6)]` for `Z ~ N(bias, weight^2)`, and the norm of the per-channel
/// standard deviations of the clipped variable (a typical distance of an encoding from it).
fn expected_encoding(bn_weight: &[f32], bn_bias: &[f32]) -> (Vec<f64>, f64) {
    let mut centre = Vec::with_capacity(bn_weight.len());
    let mut var_sum = 0.0;
    for (&w, &b) in bn_weight.iter().zip(bn_bias) {
        let (mu, sigma) = (b as f64, (w as f64).abs().max(1e-6));
        let (m1, m2) = clipped_moments(mu, sigma, 0.0, 6.0);
        centre.push(m1);
        var_sum += (m2 - m1 * m1).max(0.0);
    }
    (centre, var_sum.sqrt())
}

/// First and second moments of `clip(Z, lo, hi)`, `Z ~ N(mu, sigma^2)`.
fn clipped_moments(mu: f64, sigma: f64, lo: f64, hi: f64) -> (f64, f64) {
    let (a, b) = ((lo - mu) / sigma, (hi - mu) / sigma);
    let (pa, pb) = (normal_cdf(a), normal_cdf(b));
    let (da, db) = (normal_pdf(a), normal_pdf(b));
    let mass = pb - pa;
    // Truncated-normal partial moments on [lo, hi] plus the point masses at both ends.
    let e1 = mu * mass + sigma * (da - db);
    let e2 = (mu * mu + sigma * sigma) * mass + sigma * ((lo + mu) * da - (hi + mu) * db);
    let m1 = lo * pa + e1 + hi * (1.0 - pb);
    let m2 = lo * lo * pa + e2 + hi * hi * (1.0 - pb);
    (m1, m2)
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): portable, no libm differences matter
/// beyond `exp`, which is correctly rounded enough for key placement.
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

/// Classifier rows, centred by their mean row and normalised to unit length.
fn classifier_directions(fc_weight: &[f32], dim: usize) -> Vec<f64> {
    let rows = fc_weight.len() / dim;
    let mut mean = vec![0.0f64; dim];
    for r in fc_weight.chunks(dim) {
        for (m, &v) in mean.iter_mut().zip(r) {
            *m += v as f64;
        }
    }
    for m in &mut mean {
        *m /= rows as f64;
    }
    let mut out = Vec::with_capacity(fc_weight.len());
    for r in fc_weight.chunks(dim) {
        let start = out.len();
        out.extend(r.iter().zip(&mean).map(|(&v, &m)| v as f64 - m));
        normalize(&mut out[start..]);
    }
    out
}

fn normalize(v: &mut [f64]) {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Seeded spherical k-means (cosine similarity) with k-means++ seeding; returns n unit
/// centroids row-major. An emptied cluster is re-seeded with the point farthest from its
/// centroid, so every key stays distinct.
fn spherical_kmeans(points: &[f64], dim: usize, n: usize, seed: u64) -> Vec<f64> {
    let m = points.len() / dim;
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centroids: Vec<f64> = Vec::with_capacity(n * dim);
    let first = rng.random_range(0..m);
    centroids.extend_from_slice(row(first));
    let mut best = vec![f64::INFINITY; m];
    for c in 1..n {
        let last = &centroids[(c - 1) * dim..c * dim].to_vec();
        let mut total = 0.0;
        for i in 0..m {
            let d = 1.0 - dot(row(i), last);
            best[i] = best[i].min(d.max(0.0));
            total += best[i];
        }
        // k-means++: pick proportional to distance; fall back to the first unused point.
        let mut target = rng.random::<f64>() * total;
        let mut pick = m - 1;
        for (i, &d) in best.iter().enumerate() {
            if target < d {
                pick = i;
                break;
            }
            target -= d;
        }
        centroids.extend_from_slice(row(pick));
    }
    let mut assign = vec![0usize; m];
    for _ in 0..KMEANS_ITERS {
        for (i, a) in assign.iter_mut().enumerate() {
            *a = nearest_centroid(&centroids, dim, row(i)).0;
        }
        let mut sums = vec![0.0f64; n * dim];
        let mut counts = vec![0usize; n];
        for (i, &a) in assign.iter().enumerate() {
            counts[a] += 1;
            for (s, v) in sums[a * dim..(a + 1) * dim].iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        for c in 0..n {
            if counts[c] == 0 {
                // Worst-fitted point, ties by index.
                let (far, _) = (0..m)
                    .map(|i| (i, nearest_centroid(&centroids, dim, row(i)).1))
                    .fold((0, f64::INFINITY), |acc, x| if x.1 < acc.1 { x } else { acc });
                sums[c * dim..(c + 1) * dim].copy_from_slice(row(far));
            }
            normalize(&mut sums[c * dim..(c + 1) * dim]);
        }
        centroids = sums;
    }
    centroids
}

/// Index and cosine of the most similar centroid (ties: lowest index).
fn nearest_centroid(centroids: &[f64], dim: usize, p: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::NEG_INFINITY);
    for (c, cent) in centroids.chunks(dim).enumerate() {
        let s = dot(cent, p);
        if s > best.1 {
            best = (c, s);
        }
    }
    best
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic encoder head: random classifier rows, BN centred around 1.0.
    pub(crate) fn synthetic_head(dim: usize, rows: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let fc = (0..rows * dim).map(|_| rng.random::<f32>() - 0.5).collect();
        let w = (0..dim).map(|_| 0.5 + rng.random::<f32>()).collect();
        let b = (0..dim).map(|_| rng.random::<f32>() * 2.0 - 0.5).collect();
        (fc, w, b)
    }

    #[test]
    fn clipped_moments_match_limits() {
        // Far inside [0, 6] the clip is the identity: mean mu, second moment mu^2 + sigma^2.
        let (m1, m2) = clipped_moments(3.0, 0.1, 0.0, 6.0);
        assert!((m1 - 3.0).abs() < 1e-6, "{m1}");
        assert!((m2 - 9.01).abs() < 1e-5, "{m2}");
        // Far below 0 everything clips to 0; far above 6 to 6.
        assert!(clipped_moments(-50.0, 1.0, 0.0, 6.0).0.abs() < 1e-9);
        assert!((clipped_moments(50.0, 1.0, 0.0, 6.0).0 - 6.0).abs() < 1e-9);
        // Standard normal through ReLU: E = 1/sqrt(2 pi).
        let relu_mean = clipped_moments(0.0, 1.0, 0.0, 1e9).0;
        assert!((relu_mean - 0.398_942_28).abs() < 1e-6, "{relu_mean}");
    }

    #[test]
    fn derive_is_deterministic_and_seed_sensitive() {
        let (fc, w, b) = synthetic_head(32, 200, 7);
        let head = EncoderHead { fc_weight: &fc, bn_weight: &w, bn_bias: &b, dim: 32 };
        let a = KeySet::derive(head, 8, 1, "enc").unwrap();
        let a2 = KeySet::derive(head, 8, 1, "enc").unwrap();
        assert_eq!(a, a2);
        assert_eq!(a.len(), 8);
        let other_seed = KeySet::derive(head, 8, 2, "enc").unwrap();
        assert_ne!(a.hash(), other_seed.hash());
        let other_encoder = KeySet::derive(head, 8, 1, "enc2").unwrap();
        assert_eq!(a.as_slice(), other_encoder.as_slice());
        assert_ne!(a.hash(), other_encoder.hash());
        // Keys are distinct.
        for i in 0..8 {
            for j in 0..i {
                assert_ne!(a.key(i), a.key(j));
            }
        }
    }

    #[test]
    fn derive_rejects_bad_shapes_and_n() {
        let (fc, w, b) = synthetic_head(16, 50, 3);
        let head = EncoderHead { fc_weight: &fc, bn_weight: &w, bn_bias: &b, dim: 16 };
        assert!(matches!(KeySet::derive(head, 0, 0, "e"), Err(Error::InvalidConfig(_))));
        assert!(matches!(KeySet::derive(head, 51, 0, "e"), Err(Error::InvalidConfig(_))));
        let short = EncoderHead { bn_bias: &b[..15], ..head };
        assert!(matches!(KeySet::derive(short, 4, 0, "e"), Err(Error::InvalidWeights(_))));
    }
}
