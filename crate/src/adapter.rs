//! One small head ("adapter"): config, deterministic training on a member set, predict.
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

use burn::config::Config;
use burn::module::Param;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation::log_softmax};
use multiversion::multiversion;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lanes::reduce;
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
pub const MAX_EPOCHS: usize = 1000;

/// Hyper-parameters of one adapter head.
#[derive(Config, Debug, PartialEq)]
pub struct HeadConfig {
    /// Head kind.
    #[config(default = "HeadKind::Ridge")]
    pub kind: HeadKind,
    /// Ridge: L2 penalty on the weights (the intercept is not penalised). Chosen by the
    /// Fashion-MNIST sweep in docs/core.md (1 < 10 < 100 on LegoNet accuracy at N = 2,000).
    #[config(default = 100.0)]
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
            bad("epochs must be in 1..=1000")
        } else if self.batch_size == 0 {
            bad("batch_size must be >= 1")
        } else if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            bad("learning_rate must be finite and > 0")
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
            return Err(Error::InvalidInput("an adapter needs at least one member".into()));
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
            let p = AdapterParams { dim, labels, weight: vec![0.0; dim], bias: vec![1.0], softmax: false };
            return Ok((p, None));
        }
        let xs: Vec<&[f32]> = members.iter().map(|m| m.0).collect();
        let mut gram = None;
        let (weight, bias) = match self.kind {
            HeadKind::Ridge if xs.len() <= dim => {
                let g = Gram::build(&xs, ids, cache);
                let r = ridge_dual(&xs, &targets, c, dim, self.ridge_lambda, &g.k);
                gram = (ids.len() == xs.len()).then_some(g);
                r
            }
            HeadKind::Ridge => ridge_primal(&xs, &targets, c, dim, self.ridge_lambda),
            HeadKind::Softmax => self.softmax(&xs, &targets, c, dim, seed)?,
        };
        let p = AdapterParams { dim, labels, weight, bias, softmax: self.kind == HeadKind::Softmax };
        Ok((p, gram))
    }

    /// The burn autodiff training loop (CPU device, so synchronous readback also works in wasm).
    fn softmax(
        &self,
        xs: &[&[f32]],
        targets: &[usize],
        c: usize,
        dim: usize,
        seed: u64,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let device = Device::flex().autodiff();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // PyTorch/burn's default Linear init range, drawn from our own stream.
        let bound = (1.0 / dim as f32).sqrt();
        let w0: Vec<f32> = (0..dim * c).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound).collect();
        let b0: Vec<f32> = (0..c).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound).collect();
        let mut head = Linear {
            weight: Param::from_tensor(Tensor::<2>::from_data(TensorData::new(w0, [dim, c]), &device)),
            bias: Some(Param::from_tensor(Tensor::<1>::from_data(TensorData::new(b0, [c]), &device))),
        };
        let mut optim = AdamConfig::new().init();
        let m = xs.len();
        let mut order: Vec<usize> = (0..m).collect();
        for _ in 0..self.epochs {
            // Fisher-Yates with the adapter's own stream.
            for i in (1..m).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            for batch in order.chunks(self.batch_size) {
                let bs = batch.len();
                let mut x = Vec::with_capacity(bs * dim);
                let mut y = vec![0.0f32; bs * c];
                for (r, &i) in batch.iter().enumerate() {
                    x.extend_from_slice(xs[i]);
                    y[r * c + targets[i]] = 1.0;
                }
                let x = Tensor::<2>::from_data(TensorData::new(x, [bs, dim]), &device);
                let y = Tensor::<2>::from_data(TensorData::new(y, [bs, c]), &device);
                let loss = (log_softmax(head.forward(x), 1) * y).sum().mul_scalar(-1.0 / bs as f32);
                let grads = GradientsParams::from_grads(loss.backward(), &head);
                head = optim.step(self.learning_rate, head, grads);
            }
        }
        let read = |t: TensorData| t.try_into_vec::<f32>().map_err(|e| Error::Backend(format!("readback: {e:?}")));
        let weight = read(head.weight.val().into_data())?;
        let bias = read(head.bias.as_ref().expect("built with bias").val().into_data())?;
        Ok((weight, bias))
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

/// f64 accumulator lanes of every dot product in the ridge solver (see [`crate::lanes`]).
const LANES: usize = 8;

/// `<a, b>` in fixed f64 lanes, of f64 or f32 vectors (f32 → f64 is exact, and so is the
/// product of two f32s in f64); symmetric bit for bit.
#[inline(always)]
fn dot<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    for (x, y) in ac.iter().zip(bc) {
        step(&mut acc, x, y);
    }
    for (l, (&x, &y)) in at.iter().zip(bt).enumerate() {
        acc[l] += x.into() * y.into();
    }
    reduce(acc)
}

/// One lane step of [`dot`]: `acc[l] += x[l] · y[l]`.
#[inline(always)]
fn step<T: Copy + Into<f64>>(acc: &mut [f64; LANES], x: &[T; LANES], y: &[T; LANES]) {
    for l in 0..LANES {
        acc[l] += x[l].into() * y[l].into();
    }
}

/// `[dot(a, b[0]), …, dot(a, b[3])]`, bit for bit, in one pass over `a`.
#[inline(always)]
fn dot_f32_x4(a: &[f32], b: [&[f32]; 4]) -> [f64; 4] {
    let (ac, at) = a.as_chunks::<LANES>();
    let (b0, b1, b2, b3) = (
        b[0].as_chunks::<LANES>().0,
        b[1].as_chunks::<LANES>().0,
        b[2].as_chunks::<LANES>().0,
        b[3].as_chunks::<LANES>().0,
    );
    let (mut a0, mut a1, mut a2, mut a3) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
    for ((((x, y0), y1), y2), y3) in ac.iter().zip(b0).zip(b1).zip(b2).zip(b3) {
        step(&mut a0, x, y0);
        step(&mut a1, x, y1);
        step(&mut a2, x, y2);
        step(&mut a3, x, y3);
    }
    let acc = [a0, a1, a2, a3];
    let tail = ac.len() * LANES;
    std::array::from_fn(|t| {
        let mut lanes = acc[t];
        for (l, (x, y)) in at.iter().zip(&b[t][tail..]).enumerate() {
            lanes[l] += *x as f64 * *y as f64;
        }
        reduce(lanes)
    })
}

/// In-place Cholesky of a symmetric positive-definite `n x n` matrix (lower triangle), then
/// solves `A X = B` for `B` of shape `[n, c]` in place.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn cholesky_solve(a: &mut [f64], n: usize, b: &mut [f64], c: usize) {
    for j in 0..n {
        let row_j = &a[j * n..j * n + j];
        // lambda > 0 keeps the matrix SPD; guard against round-off anyway.
        let d = (a[j * n + j] - dot(row_j, row_j)).max(1e-12).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let (upper, lower) = a.split_at_mut(i * n);
            let (row_j, row_i) = (&upper[j * n..j * n + j], &mut lower[..n]);
            row_i[j] = (row_i[j] - dot(&row_i[..j], row_j)) / d;
        }
    }
    for col in 0..c {
        for i in 0..n {
            let mut s = b[i * c + col];
            for k in 0..i {
                s -= a[i * n + k] * b[k * c + col];
            }
            b[i * c + col] = s / a[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = b[i * c + col];
            for k in i + 1..n {
                s -= a[k * n + i] * b[k * c + col];
            }
            b[i * c + col] = s / a[i * n + i];
        }
    }
}

/// Raw (uncentred) Gram matrix `K[i][j] = <x_i, x_j>` of an adapter's members in canonical
/// order, with their ids, kept between trainings (a cache, never part of the model's state).
#[derive(Debug, Clone, Default)]
pub struct Gram {
    ids: Vec<String>,
    k: Vec<f64>,
}

impl Gram {
    /// The Gram matrix of `xs`, copying entries for ids already in `cache` (when `ids` is
    /// given) and computing the rest.
    #[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
    fn build(xs: &[&[f32]], ids: &[&str], cache: Option<&Gram>) -> Gram {
        let m = xs.len();
        let old: std::collections::HashMap<&str, usize> = match cache {
            Some(g) if ids.len() == m => g.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect(),
            _ => Default::default(),
        };
        let pos: Vec<Option<usize>> = (0..m).map(|i| ids.get(i).and_then(|id| old.get(id).copied())).collect();
        let om = cache.map_or(0, |g| g.ids.len());
        let mut k = vec![0.0f64; m * m];
        let mut todo = Vec::with_capacity(m);
        for i in 0..m {
            todo.clear();
            for j in 0..=i {
                match (pos[i], pos[j], cache) {
                    (Some(a), Some(b), Some(g)) => k[i * m + j] = g.k[a * om + b],
                    _ => todo.push(j),
                }
            }
            // Four dot products per pass over x_i (independent accumulators); each is computed
            // exactly as `dot` computes it alone.
            let mut quads = todo.chunks_exact(4);
            for q in &mut quads {
                let v = dot_f32_x4(xs[i], [xs[q[0]], xs[q[1]], xs[q[2]], xs[q[3]]]);
                for (&j, v) in q.iter().zip(v) {
                    k[i * m + j] = v;
                }
            }
            for &j in quads.remainder() {
                k[i * m + j] = dot(xs[i], xs[j]);
            }
            for j in 0..i {
                k[j * m + i] = k[i * m + j];
            }
        }
        Gram { ids: ids.iter().map(|s| s.to_string()).collect(), k }
    }
}

/// Member mean, label frequencies and centred one-hot targets `[m, c]`.
fn centre(xs: &[&[f32]], targets: &[usize], c: usize, dim: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let m = xs.len();
    let mut mean = vec![0.0f64; dim];
    for x in xs {
        for (s, &v) in mean.iter_mut().zip(x.iter()) {
            *s += v as f64;
        }
    }
    mean.iter_mut().for_each(|s| *s /= m as f64);
    let mut ybar = vec![0.0f64; c];
    for &t in targets {
        ybar[t] += 1.0 / m as f64;
    }
    let mut yc = vec![0.0f64; m * c];
    for (i, &t) in targets.iter().enumerate() {
        for j in 0..c {
            yc[i * c + j] = if j == t { 1.0 } else { 0.0 } - ybar[j];
        }
    }
    (mean, ybar, yc)
}

/// Intercept `b = ybar - mean W`, and both to f32.
fn finish(w: Vec<f64>, mean: &[f64], ybar: &[f64], c: usize) -> (Vec<f32>, Vec<f32>) {
    let dim = mean.len();
    let b: Vec<f32> =
        (0..c).map(|j| (ybar[j] - (0..dim).map(|f| mean[f] * w[f * c + j]).sum::<f64>()) as f32).collect();
    (w.into_iter().map(|v| v as f32).collect(), b)
}

/// Ridge regression with intercept onto one-hot targets, dual form (for m <= dim):
/// `(Kc + lambda I) A = Yc`, `W = Xc^T A`, where `Kc = H K H` is the centred raw Gram matrix.
fn ridge_dual(
    xs: &[&[f32]],
    targets: &[usize],
    c: usize,
    dim: usize,
    lambda: f64,
    raw: &[f64],
) -> (Vec<f32>, Vec<f32>) {
    let m = xs.len();
    let (mean, ybar, mut yc) = centre(xs, targets, c, dim);
    // Centring from K itself keeps the O(m^2 d) part cacheable: Kc_ij = K_ij - r_i - r_j + t.
    let r: Vec<f64> = (0..m).map(|i| raw[i * m..(i + 1) * m].iter().sum::<f64>() / m as f64).collect();
    let t = r.iter().sum::<f64>() / m as f64;
    let mut k = vec![0.0f64; m * m];
    for i in 0..m {
        for j in 0..m {
            k[i * m + j] = raw[i * m + j] - r[i] - r[j] + t;
        }
        k[i * m + i] += lambda;
    }
    cholesky_solve(&mut k, m, &mut yc, c);
    finish(dual_weights(xs, &mean, &yc, c), &mean, &ybar, c)
}

/// `W = Xc^T A` as `[dim, c]`: label-major axpys over the feature axis (vectorised), each entry
/// still summed over members in order — the same bits as the plain triple loop.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn dual_weights(xs: &[&[f32]], mean: &[f64], a: &[f64], c: usize) -> Vec<f64> {
    let dim = mean.len();
    let mut wt = vec![0.0f64; c * dim];
    let mut xc = vec![0.0f64; dim];
    for (i, x) in xs.iter().enumerate() {
        for ((d, &v), &mu) in xc.iter_mut().zip(x.iter()).zip(mean) {
            *d = v as f64 - mu;
        }
        for (j, row) in wt.chunks_exact_mut(dim).enumerate() {
            let aij = a[i * c + j];
            for (w, &v) in row.iter_mut().zip(&xc) {
                *w += v * aij;
            }
        }
    }
    let mut w = vec![0.0f64; dim * c];
    for (j, row) in wt.chunks_exact(dim).enumerate() {
        for (f, &v) in row.iter().enumerate() {
            w[f * c + j] = v;
        }
    }
    w
}

/// Ridge regression with intercept, primal form (for m > dim):
/// `(Xc^T Xc + lambda I) W = Xc^T Yc` on feature columns.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn ridge_primal(xs: &[&[f32]], targets: &[usize], c: usize, dim: usize, lambda: f64) -> (Vec<f32>, Vec<f32>) {
    let (mean, ybar, yc) = centre(xs, targets, c, dim);
    let cols: Vec<Vec<f64>> = (0..dim).map(|f| xs.iter().map(|x| x[f] as f64 - mean[f]).collect()).collect();
    let mut g = vec![0.0f64; dim * dim];
    for a in 0..dim {
        for b in 0..=a {
            let v = dot(&cols[a], &cols[b]);
            g[a * dim + b] = v;
            g[b * dim + a] = v;
        }
        g[a * dim + a] += lambda;
    }
    let mut w = vec![0.0f64; dim * c];
    for f in 0..dim {
        for (i, &v) in cols[f].iter().enumerate() {
            for j in 0..c {
                w[f * c + j] += v * yc[i * c + j];
            }
        }
    }
    cholesky_solve(&mut g, dim, &mut w, c);
    finish(w, &mean, &ybar, c)
}

/// Ridge regression with intercept onto one-hot targets; returns (W `[dim, c]`, b `[c]`).
#[cfg(test)]
fn ridge(xs: &[&[f32]], targets: &[usize], c: usize, dim: usize, lambda: f64) -> (Vec<f32>, Vec<f32>) {
    if xs.len() <= dim {
        ridge_dual(xs, targets, c, dim, lambda, &Gram::build(xs, &[], None).k)
    } else {
        ridge_primal(xs, targets, c, dim, lambda)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two Gaussian blobs per label in `dim` dims, values in [0, 6].
    pub(crate) fn blobs(n: usize, dim: usize, labels: usize, seed: u64) -> Vec<(Vec<f32>, String)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres: Vec<Vec<f32>> =
            (0..labels).map(|_| (0..dim).map(|_| rng.random::<f32>() * 6.0).collect()).collect();
        (0..n)
            .map(|i| {
                let l = i % labels;
                let x = centres[l].iter().map(|&c| (c + (rng.random::<f32>() - 0.5) * 2.0).clamp(0.0, 6.0)).collect();
                (x, format!("class{l}"))
            })
            .collect()
    }

    fn accuracy(p: &AdapterParams, data: &[(Vec<f32>, String)]) -> f32 {
        let ok = data
            .iter()
            .filter(|(x, l)| {
                let s = p.predict(x);
                let best = (0..s.len()).fold(0, |b, j| if s[j] > s[b] { j } else { b });
                &p.labels[best] == l
            })
            .count();
        ok as f32 / data.len() as f32
    }

    fn members(data: &[(Vec<f32>, String)]) -> Vec<(&[f32], &str)> {
        data.iter().map(|(x, l)| (x.as_slice(), l.as_str())).collect()
    }

    #[test]
    fn ridge_fits_separable_blobs_dual_and_primal() {
        let train = blobs(60, 16, 3, 1);
        let test = blobs(60, 16, 3, 1);
        let cfg = HeadConfig::new().with_ridge_lambda(1.0);
        // 60 members > 16 dims: primal path; 12 members <= 16: dual path.
        let p = cfg.train(&members(&train), 16, 0).unwrap();
        assert_eq!(p.labels, vec!["class0", "class1", "class2"]);
        assert!(accuracy(&p, &test) > 0.95);
        let small = cfg.train(&members(&train[..12]), 16, 0).unwrap();
        assert!(accuracy(&small, &test) > 0.9);
    }

    /// W must satisfy the ridge normal equations Xc^T (Yc - Xc W) = lambda W (label 1 column).
    fn assert_normal_equations(n: usize, dim: usize, lambda: f64) {
        let data = blobs(n, dim, 2, 5);
        let xs: Vec<&[f32]> = data.iter().map(|d| d.0.as_slice()).collect();
        let t: Vec<usize> = data.iter().map(|d| (d.1 == "class1") as usize).collect();
        let (w, _) = ridge(&xs, &t, 2, dim, lambda);
        let mean: Vec<f64> = (0..dim).map(|f| xs.iter().map(|x| x[f] as f64).sum::<f64>() / n as f64).collect();
        let ybar = t.iter().sum::<usize>() as f64 / n as f64;
        for f in 0..dim {
            let mut lhs = 0.0;
            for i in 0..n {
                let pred: f64 = (0..dim).map(|g| (xs[i][g] as f64 - mean[g]) * w[g * 2 + 1] as f64).sum();
                lhs += (xs[i][f] as f64 - mean[f]) * ((t[i] as f64 - ybar) - pred);
            }
            assert!((lhs - lambda * w[f * 2 + 1] as f64).abs() < 1e-3, "feature {f}: {lhs}");
        }
    }

    #[test]
    fn ridge_solves_normal_equations_dual_and_primal() {
        assert_normal_equations(20, 24, 2.0); // m <= dim: dual
        assert_normal_equations(40, 10, 2.0); // m > dim: primal
    }

    #[test]
    fn gram_cache_gives_the_same_bits_as_a_fresh_solve() {
        let data = blobs(30, 40, 3, 9);
        let cfg = HeadConfig::new();
        let ids: Vec<String> = (0..30).map(|i| format!("id{i:02}")).collect();
        let all: Vec<(&[f32], &str)> = members(&data);
        let idr: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (_, gram) = cfg.train_cached(&all, &idr, None, 40, 0).unwrap();
        // Drop members 3 and 17, add nothing: the cached path must equal training from scratch.
        let keep: Vec<usize> = (0..30).filter(|&i| i != 3 && i != 17).collect();
        let sub: Vec<(&[f32], &str)> = keep.iter().map(|&i| all[i]).collect();
        let sub_ids: Vec<&str> = keep.iter().map(|&i| idr[i]).collect();
        let (cached, _) = cfg.train_cached(&sub, &sub_ids, gram.as_ref(), 40, 0).unwrap();
        let fresh = cfg.train(&sub, 40, 0).unwrap();
        assert!(cached.bits().eq(fresh.bits()));
        assert_eq!(cached, fresh);
    }

    #[test]
    fn dual_weights_equal_the_plain_triple_loop_bit_for_bit() {
        let data = blobs(37, 45, 3, 5);
        let xs: Vec<&[f32]> = data.iter().map(|(x, _)| x.as_slice()).collect();
        let mean: Vec<f64> = (0..45).map(|f| xs.iter().map(|x| x[f] as f64).sum::<f64>() / 37.0).collect();
        let a: Vec<f64> = (0..37 * 3).map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0).collect();
        let mut want = vec![0.0f64; 45 * 3];
        for (i, x) in xs.iter().enumerate() {
            for (f, &v) in x.iter().enumerate() {
                let v = v as f64 - mean[f];
                for j in 0..3 {
                    want[f * 3 + j] += v * a[i * 3 + j];
                }
            }
        }
        let got = dual_weights(&xs, &mean, &a, 3);
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn single_label_adapter_outputs_that_label() {
        let data = blobs(5, 8, 1, 2);
        let p = HeadConfig::new().train(&members(&data), 8, 0).unwrap();
        assert_eq!(p.labels, vec!["class0"]);
        assert_eq!(p.predict(&data[0].0), vec![1.0]);
    }

    #[test]
    fn softmax_training_is_bitwise_reproducible_and_learns() {
        let train = blobs(48, 16, 3, 3);
        let cfg = HeadConfig::new().with_kind(HeadKind::Softmax).with_epochs(10);
        let a = cfg.train(&members(&train), 16, 42).unwrap();
        let b = cfg.train(&members(&train), 16, 42).unwrap();
        assert!(a.bits().eq(b.bits()), "same seed and members must give identical bits");
        let c = cfg.train(&members(&train), 16, 43).unwrap();
        assert!(!a.bits().eq(c.bits()), "the seed must matter");
        assert!(accuracy(&a, &train) > 0.95);
        let s: f32 = a.predict(&train[0].0).iter().sum();
        assert!((s - 1.0).abs() < 1e-5);
    }

    #[test]
    fn validate_rejects_out_of_range() {
        assert!(HeadConfig::new().with_ridge_lambda(0.0).validate().is_err());
        assert!(HeadConfig::new().with_kind(HeadKind::Softmax).with_epochs(0).validate().is_err());
        assert!(HeadConfig::new().with_kind(HeadKind::Softmax).with_epochs(MAX_EPOCHS + 1).validate().is_err());
        assert!(HeadConfig::new().with_kind(HeadKind::Softmax).with_epochs(MAX_EPOCHS).validate().is_ok());
        assert!(HeadConfig::new().with_kind(HeadKind::Softmax).with_learning_rate(f64::NAN).validate().is_err());
        assert!(HeadConfig::new().validate().is_ok());
    }
}
