//! Heads: ridge against its normal equations, the Gram cache's bits, softmax reproducibility.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ridge::{dual_weights, ridge};
use super::*;

/// Two Gaussian blobs per label in `dim` dims, values in [0, 6].
pub(crate) fn blobs(n: usize, dim: usize, labels: usize, seed: u64) -> Vec<(Vec<f32>, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..labels).map(|_| (0..dim).map(|_| rng.random::<f32>() * 6.0).collect()).collect();
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
    let (w, _) = ridge(&xs, &t, 2, dim, lambda).expect("a sound solve");
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
    // Replay cost and divergence: a snapshot from anywhere may carry any of these.
    assert!(HeadConfig::new().with_learning_rate(1.5).validate().is_err());
    assert!(HeadConfig::new().with_learning_rate(1.0).validate().is_ok());
    for (batch, ok) in [(7, false), (8, true), (4096, true), (4097, false)] {
        assert_eq!(HeadConfig::new().with_batch_size(batch).validate().is_ok(), ok, "batch {batch}");
    }
    assert!(HeadConfig::new().validate().is_ok());
}

/// The plain column-by-column Cholesky and one-column-at-a-time substitutions that
/// [`ridge::cholesky_solve`] must equal bit for bit.
fn plain_solve(a: &mut [f64], n: usize, b: &mut [f64], c: usize) {
    let dot = |x: &[f64], y: &[f64]| {
        let mut acc = [0.0f64; 8];
        let (xc, xt) = x.as_chunks::<8>();
        let (yc, yt) = y.as_chunks::<8>();
        for (p, q) in xc.iter().zip(yc) {
            for l in 0..8 {
                acc[l] += p[l] * q[l];
            }
        }
        for (l, (p, q)) in xt.iter().zip(yt).enumerate() {
            acc[l] += p * q;
        }
        crate::lanes::reduce(acc)
    };
    for j in 0..n {
        let d = (a[j * n + j] - dot(&a[j * n..j * n + j], &a[j * n..j * n + j])).max(1e-12).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let v = (a[i * n + j] - dot(&a[i * n..i * n + j], &a[j * n..j * n + j])) / d;
            a[i * n + j] = v;
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

#[test]
fn tiled_cholesky_solve_equals_the_plain_loops_bit_for_bit() {
    for n in (1..=41).chain([64, 97, 130]) {
        let data = blobs(n, 2 * n + 3, 3, n as u64);
        let xs: Vec<&[f32]> = data.iter().map(|d| d.0.as_slice()).collect();
        let g = ridge::Gram::build(&xs, &[], None);
        let mut a = g.k.clone();
        for i in 0..n {
            a[i * n + i] += 0.5;
        }
        let mut b = a.clone();
        let c = 3;
        let mut ya: Vec<f64> = (0..n * c).map(|v| ((v * 7919) % 13) as f64 / 13.0 - 0.4).collect();
        let mut yb = ya.clone();
        assert!(ridge::cholesky_solve(&mut a, n, &mut ya, c, 0.25));
        plain_solve(&mut b, n, &mut yb, c);
        for i in 0..n {
            for j in 0..=i {
                assert_eq!(a[i * n + j].to_bits(), b[i * n + j].to_bits(), "n = {n}, L({i}, {j})");
            }
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&ya), bits(&yb), "n = {n}, solution");
    }
}

#[test]
fn a_ridge_solve_lost_to_round_off_is_solved_again_at_a_larger_lambda() {
    // One large encoding under three labels: K + lambda I is singular to round-off for tiny lambda.
    for (dim, copies) in [(16, 9), (16, 40)] {
        // (9 + 1 members <= 16: the dual path; 41 > 16: the primal.)
        let x: Vec<f32> = (0..dim).map(|i| ((i * 7919) % 97) as f32 * 200.0 - 9_600.0).collect();
        let labels = ["a", "b", "c"];
        let y: Vec<f32> = (0..dim).map(|i| (i % 7) as f32 * 0.5).collect();
        let mut members: Vec<(&[f32], &str)> = (0..copies).map(|i| (x.as_slice(), labels[i % 3])).collect();
        members.push((y.as_slice(), "a"));
        let xs: Vec<&[f32]> = members.iter().map(|m| m.0).collect();
        let mut targets: Vec<usize> = (0..copies).map(|i| i % 3).collect();
        targets.push(0);
        let path = if copies <= dim { "dual" } else { "primal" };
        assert!(ridge(&xs, &targets, 3, dim, 1e-300).is_none(), "{path}: unsound at 1e-300");
        let cfg = HeadConfig::new().with_ridge_lambda(1e-300);
        let p = cfg.train(&members, dim, 0).unwrap();
        assert!(p.weight.iter().chain(&p.bias).all(|v| v.is_finite()), "{path}");
        assert_eq!(p, cfg.train(&members, dim, 0).unwrap(), "{path}: deterministic");
        // The copies' encoding: the best answer is their label frequencies, about a third each.
        let s = p.predict(&x);
        assert!(s.iter().all(|v| (v - 1.0 / 3.0).abs() < 0.05), "{path}: {s:?}");
    }
    // Ordinary members at the default lambda are sound at once, so their bits are what the plain
    // loops give (`tiled_cholesky_solve_equals_the_plain_loops_bit_for_bit`).
    let data = blobs(12, 16, 3, 1);
    let xs: Vec<&[f32]> = data.iter().map(|d| d.0.as_slice()).collect();
    let targets: Vec<usize> = (0..12).map(|i| i % 3).collect();
    assert!(ridge(&xs, &targets, 3, 16, 50.0).is_some());
}
