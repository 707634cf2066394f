//! The adapter keys: points in encoding space derived from the frozen encoder alone.
//!
//! Keys never depend on user samples, so adding or forgetting a sample can never move a key
//! (that is what makes per-adapter retraining exact). Derivation, in f64 with a fixed loop
//! order, so it is bitwise reproducible on every platform:
//!
//! 1. **Centre** `c`: the expected encoding under the head BN's own statistics. After inference
//!    BN the pre-activation of channel j is ~ N(bias_j, weight_j^2); the encoding is the spatial
//!    mean of ReLU6 of it, whose expectation is the closed form `E[clip(Z, 0, 6)]`.
//! 2. **Anchors**: the 1000 rows of the ImageNet classifier `_fc.weight` live in the same
//!    1280-d space. Each row is centred (the mean row, a direction shared by all classes, is
//!    removed) and normalised; anchor `j = c + scale * d_j`. With unit directions the nearest
//!    anchor is the direction of largest `<x - c, d_j>`, so `scale` (the norm of the per-channel
//!    std estimate) does not change routing; it places anchors at a typical distance from `c`.
//! 3. **Owners**: a seeded permutation deals the anchors round-robin to the n adapters, so each
//!    adapter owns `1000 / n` (+-1) anchors spread over unrelated ImageNet classes. An
//!    adapter's key is the set of anchors it owns; a sample's distance to an adapter is its
//!    distance to the nearest anchor that adapter owns.
//!
//! Why not one key per adapter (e.g. a k-means of the classifier rows)? Measured on real
//! encodings (docs/core.md), grouping *similar* classes into one key routes a narrow-domain set
//! such as Fashion-MNIST almost entirely to a few adapters (n = 32, k = 1: 435 of 1,000 samples
//! in one adapter, 14 adapters empty). Dealing fine-grained anchors out at random keeps each
//! neighbourhood together (samples near the same anchor share an adapter) while spreading the
//! many neighbourhoods of any one domain over all adapters.

use std::sync::{Arc, Mutex};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::shuffle::shuffle;
use crate::{Error, Result};

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

/// The anchors of one encoder (1000 x 1280 floats, 5 MB), shared by every key set built on them
/// (each n, each imported model), together with the key hashes already computed over them:
/// without it every import and every capacity change would hash the 5 MB again.
#[derive(Debug)]
pub struct Anchors {
    values: Box<[f32]>,
    /// Key hashes computed over these anchors, by everything else the hash covers.
    hashes: Mutex<Vec<(HashInput, String)>>,
}

/// What a key hash covers besides the anchors.
#[derive(Debug, PartialEq)]
struct HashInput {
    dim: usize,
    n_adapters: usize,
    seed: u64,
    encoder_id: String,
    owners: Vec<u32>,
}

/// Key hashes one [`Anchors`] remembers: a model meets one per capacity level, a few in all.
const REMEMBERED_HASHES: usize = 16;

impl Anchors {
    /// Wraps anchor values (row-major `[anchors, dim]`) for sharing.
    pub fn new(values: Vec<f32>) -> Arc<Self> {
        Arc::new(Self { values: values.into_boxed_slice(), hashes: Mutex::new(Vec::new()) })
    }

    /// The key hash of `input` over these anchors, computed once.
    fn key_hash(&self, input: HashInput) -> String {
        let mut memo = self.hashes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, hash)) = memo.iter().find(|(seen, _)| *seen == input) {
            return hash.clone();
        }
        let mut h = Sha256::new();
        h.update(b"legonet-keys-v2");
        h.update((input.dim as u64).to_le_bytes());
        h.update((input.n_adapters as u64).to_le_bytes());
        h.update(input.seed.to_le_bytes());
        h.update((input.encoder_id.len() as u64).to_le_bytes());
        h.update(input.encoder_id.as_bytes());
        for v in self.values.iter() {
            h.update(v.to_bits().to_le_bytes());
        }
        for o in &input.owners {
            h.update(o.to_le_bytes());
        }
        let hash = hex::encode(h.finalize());
        if memo.len() == REMEMBERED_HASHES {
            memo.remove(0);
        }
        memo.push((input, hash.clone()));
        hash
    }
}

/// Equal values are equal anchors (the remembered hashes are a cache).
impl PartialEq for Anchors {
    fn eq(&self, other: &Self) -> bool {
        self.values.len() == other.values.len()
            && self.values.iter().zip(other.values.iter()).all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

/// A derived key set: anchors of `dim` floats, the adapter owning each, and the hash that
/// identifies them.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySet {
    dim: usize,
    n_adapters: usize,
    /// Shared between the key sets of one encoder (every n, every imported model): 5 MB.
    anchors: Arc<Anchors>,
    owners: Vec<u32>,
    hash: String,
    seed: u64,
    encoder_id: String,
}

/// Seeded Fisher-Yates, then a round-robin deal: every adapter owns rows/n (+-1) anchors.
pub(crate) fn deal(rows: usize, n: usize, seed: u64) -> Vec<u32> {
    let mut perm: Vec<usize> = (0..rows).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    shuffle(&mut perm, &mut rng);
    let mut owners = vec![0u32; rows];
    for (slot, &anchor) in perm.iter().enumerate() {
        owners[anchor] = (slot % n) as u32;
    }
    owners
}

impl KeySet {
    /// Derives the keys of `n` adapters from the encoder head (see the module docs). `seed`
    /// drives only the anchor-to-adapter deal; `encoder_id` is folded into the key hash.
    pub fn derive(head: EncoderHead<'_>, n: usize, seed: u64, encoder_id: &str) -> Result<Self> {
        let dim = head.dim;
        if dim == 0 || head.bn_weight.len() != dim || head.bn_bias.len() != dim {
            return Err(Error::InvalidWeights(format!(
                "head BN tensors must have {dim} entries (got {}, {})",
                head.bn_weight.len(),
                head.bn_bias.len()
            )));
        }
        if head.fc_weight.is_empty() || !head.fc_weight.len().is_multiple_of(dim) {
            return Err(Error::InvalidWeights(format!(
                "_fc.weight has {} values, not a multiple of {dim}",
                head.fc_weight.len()
            )));
        }
        let rows = head.fc_weight.len() / dim;
        if n == 0 || n > rows {
            return Err(Error::InvalidConfig(format!("number of adapters must be in 1..={rows} (got {n})")));
        }
        let (centre, scale) = expected_encoding(head.bn_weight, head.bn_bias);
        let directions = classifier_directions(head.fc_weight, dim);
        let mut anchors = Vec::with_capacity(rows * dim);
        for d in directions.chunks(dim) {
            anchors.extend(centre.iter().zip(d).map(|(c, v)| (c + scale * v) as f32));
        }
        Self::from_parts(dim, n, Anchors::new(anchors), deal(rows, n, seed), seed, encoder_id)
    }

    /// The same anchors dealt to `n` adapters (what [`KeySet::derive`] gives for `n` with this
    /// key set's seed and encoder): the model's capacity levels change n without the weights.
    pub fn with_adapters(&self, n: usize) -> Result<Self> {
        let rows = self.owners.len();
        if n == 0 || n > rows {
            return Err(Error::InvalidConfig(format!("number of adapters must be in 1..={rows} (got {n})")));
        }
        Self::from_parts(self.dim, n, self.anchors.clone(), deal(rows, n, self.seed), self.seed, &self.encoder_id)
    }

    /// Wraps raw anchors and owners (e.g. read back from a snapshot), checking their shapes;
    /// the hash covers dim, n, seed, encoder id and every anchor and owner.
    pub fn from_parts(
        dim: usize,
        n_adapters: usize,
        anchors: Arc<Anchors>,
        owners: Vec<u32>,
        seed: u64,
        encoder_id: &str,
    ) -> Result<Self> {
        if dim == 0 || anchors.values.len() != owners.len() * dim || owners.is_empty() {
            return Err(Error::InvalidConfig("anchors must be owners.len() x dim floats".into()));
        }
        let mut owned = vec![false; n_adapters];
        for &o in &owners {
            *owned
                .get_mut(o as usize)
                .ok_or_else(|| Error::InvalidConfig(format!("anchor owner {o} out of range (n = {n_adapters})")))? =
                true;
        }
        if owned.iter().any(|o| !o) {
            return Err(Error::InvalidConfig("every adapter must own at least one anchor".into()));
        }
        let hash = anchors.key_hash(HashInput {
            dim,
            n_adapters,
            seed,
            encoder_id: encoder_id.to_string(),
            owners: owners.clone(),
        });
        Ok(Self { dim, n_adapters, anchors, owners, hash, seed, encoder_id: encoder_id.to_string() })
    }

    /// Number of adapters the keys route to.
    pub fn len(&self) -> usize {
        self.n_adapters
    }

    /// True when there are no adapters.
    pub fn is_empty(&self) -> bool {
        self.n_adapters == 0
    }

    /// Encoding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of anchors.
    pub fn num_anchors(&self) -> usize {
        self.owners.len()
    }

    /// Anchor `i` as a slice of `dim` floats.
    pub fn anchor(&self, i: usize) -> &[f32] {
        &self.anchors.values[i * self.dim..(i + 1) * self.dim]
    }

    /// The adapter owning anchor `i`.
    pub fn owner(&self, i: usize) -> usize {
        self.owners[i] as usize
    }

    /// All anchors, row-major `[anchors, dim]`.
    pub fn anchors(&self) -> &[f32] {
        &self.anchors.values
    }

    /// The anchors, shared (no copy): another key set of the same encoder can be built on them.
    pub fn shared_anchors(&self) -> Arc<Anchors> {
        self.anchors.clone()
    }

    /// Owner of every anchor.
    pub fn owners(&self) -> &[u32] {
        &self.owners
    }

    /// Seed of the anchor deal.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Id of the encoder the keys were derived from.
    pub fn encoder_id(&self) -> &str {
        &self.encoder_id
    }

    /// Hex SHA-256 identifying this key set.
    pub fn hash(&self) -> &str {
        &self.hash
    }
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
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
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

#[cfg(test)]
pub(crate) mod tests {
    use rand::RngExt;

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
        assert_eq!(a.num_anchors(), 200);
        // Balanced deal: 200 anchors over 8 adapters, 25 each.
        for o in 0..8 {
            assert_eq!(a.owners().iter().filter(|&&x| x as usize == o).count(), 25);
        }
        let other_seed = KeySet::derive(head, 8, 2, "enc").unwrap();
        assert_ne!(a.hash(), other_seed.hash());
        let other_encoder = KeySet::derive(head, 8, 1, "enc2").unwrap();
        assert_eq!(a.anchors(), other_encoder.anchors());
        assert_eq!(a.anchors(), other_seed.anchors());
        assert_ne!(a.owners(), other_seed.owners());
        assert_ne!(a.hash(), other_encoder.hash());
        // Re-dealing to another n is deriving for that n.
        assert_eq!(a.with_adapters(3).unwrap(), KeySet::derive(head, 3, 1, "enc").unwrap());
        assert!(matches!(a.with_adapters(0), Err(Error::InvalidConfig(_))));
        // Anchors are distinct.
        for i in 0..200 {
            for j in 0..i {
                assert_ne!(a.anchor(i), a.anchor(j));
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
        // An adapter without anchors, an owner out of range, a ragged anchor array.
        let bad = |o: Vec<u32>| KeySet::from_parts(2, 3, Anchors::new(vec![0.0; 2 * o.len()]), o, 0, "e");
        assert!(bad(vec![0, 1, 1]).is_err());
        assert!(bad(vec![0, 1, 3]).is_err());
        assert!(bad(vec![0, 1, 2]).is_ok());
        assert!(KeySet::from_parts(2, 1, Anchors::new(vec![0.0; 3]), vec![0], 0, "e").is_err());
    }

    #[test]
    fn remembered_key_hashes_equal_fresh_ones() {
        let (fc, w, b) = synthetic_head(16, 50, 3);
        let head = EncoderHead { fc_weight: &fc, bn_weight: &w, bn_bias: &b, dim: 16 };
        let a = KeySet::derive(head, 5, 9, "enc").unwrap();
        let fresh = |n: usize, owners: Vec<u32>, seed: u64, id: &str| {
            KeySet::from_parts(16, n, Anchors::new(a.anchors().to_vec()), owners, seed, id).unwrap()
        };
        // Every field the hash covers, on the shared anchors (remembered after the first time)
        // and on a copy of them (hashed afresh).
        for _ in 0..2 {
            let shared = |n: usize, owners: Vec<u32>, seed: u64, id: &str| {
                KeySet::from_parts(16, n, a.shared_anchors(), owners, seed, id).unwrap()
            };
            // Two anchors of different adapters trade owners.
            let mut swapped = a.owners().to_vec();
            let other = swapped.iter().position(|&o| o != swapped[0]).unwrap();
            swapped.swap(0, other);
            assert_eq!(shared(5, a.owners().to_vec(), 9, "enc").hash(), a.hash());
            assert_eq!(shared(5, swapped.clone(), 9, "enc").hash(), fresh(5, swapped.clone(), 9, "enc").hash());
            assert_ne!(shared(5, swapped, 9, "enc").hash(), a.hash());
            assert_eq!(shared(5, a.owners().to_vec(), 8, "enc").hash(), fresh(5, a.owners().to_vec(), 8, "enc").hash());
            assert_eq!(shared(5, a.owners().to_vec(), 9, "en").hash(), fresh(5, a.owners().to_vec(), 9, "en").hash());
            assert_eq!(a.with_adapters(2).unwrap().hash(), KeySet::derive(head, 2, 9, "enc").unwrap().hash());
        }
        // More inputs than are remembered: the oldest are hashed again, with the same result.
        for n in 1..=REMEMBERED_HASHES + 2 {
            assert_eq!(a.with_adapters(n).unwrap().hash(), KeySet::derive(head, n, 9, "enc").unwrap().hash());
        }
        assert_eq!(a.with_adapters(5).unwrap().hash(), a.hash());
    }
}
