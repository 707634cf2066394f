//! Routing: an encoding activates the k adapters whose keys are nearest. An adapter's key is
//! the set of anchors it owns ([`crate::keys`]); its distance is that of its nearest anchor.
//! Concretely: sort all anchors by squared Euclidean distance (ties by the lower anchor index)
//! and take owners in that order, skipping repeats, until k distinct adapters are found.
//! Training and prediction use the same rule.
//!
//! The distance is an f32 sum over [`LANES`] fixed lanes (lane `l` takes the coordinates
//! `≡ l mod LANES`), reduced by a fixed tree. Rust never reassociates or contracts float math, so
//! this gives the same bits on every SIMD width (SSE, AVX2, AVX-512, wasm simd128) and whether
//! an encoding is routed alone or in a batch: activation stays a pure function of the encoding
//! and the keys, as exact unlearning needs — and it vectorises, which a single running sum
//! cannot (≈ 2 ms per encoding against 1,000 anchors in wasm with an f64 running sum).

use multiversion::multiversion;

use crate::keys::KeySet;
use crate::lanes::reduce;

/// Accumulator lanes of [`squared_distance`] (part of the activation rule: changing it changes
/// which adapters a sample activates, so it is covered by the snapshot version).
pub const LANES: usize = 16;

/// Encodings routed together against each anchor (one anchor load serves this many).
const TILE: usize = 4;

/// Squared Euclidean distance, summed in [`LANES`] lanes then a fixed tree (see the module docs).
/// Always inlined, so the run-time-dispatched callers get it in their SIMD width.
#[inline(always)]
pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "squared_distance: lengths differ");
    let mut acc = [0f32; LANES];
    accumulate(&mut acc, a, b);
    reduce(acc)
}

#[inline(always)]
fn step(acc: &mut [f32; LANES], x: &[f32; LANES], y: &[f32; LANES]) {
    for l in 0..LANES {
        let d = x[l] - y[l];
        acc[l] += d * d;
    }
}

#[inline(always)]
fn accumulate(acc: &mut [f32; LANES], a: &[f32], b: &[f32]) {
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    for (x, y) in ac.iter().zip(bc) {
        step(acc, x, y);
    }
    for (l, (x, y)) in at.iter().zip(bt).enumerate() {
        let d = x - y;
        acc[l] += d * d;
    }
}

/// Distances from each encoding to every anchor: `out[e][anchor]`. Encodings go [`TILE`] at a
/// time so each anchor is read from memory once per tile (the anchors, 5 MB, do not fit in
/// cache); each distance is computed exactly as [`squared_distance`] would.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn anchor_distances(keys: &KeySet, encodings: &[&[f32]]) -> Vec<Vec<f32>> {
    let dim = keys.dim();
    let n = keys.num_anchors();
    let mut out: Vec<Vec<f32>> = encodings.iter().map(|_| vec![0f32; n]).collect();
    for (tile, outs) in encodings.chunks(TILE).zip(out.chunks_mut(TILE)) {
        if let Ok(&[x0, x1, x2, x3]) = <&[&[f32]; TILE]>::try_from(tile) {
            let (c0, c1, c2, c3) = (lanes(x0), lanes(x1), lanes(x2), lanes(x3));
            for (a, anchor) in keys.anchors().chunks_exact(dim).enumerate() {
                let (mut a0, mut a1, mut a2, mut a3) = ([0f32; LANES], [0f32; LANES], [0f32; LANES], [0f32; LANES]);
                let (ac, at) = anchor.as_chunks::<LANES>();
                for ((((y, p0), p1), p2), p3) in ac.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
                    step(&mut a0, p0, y);
                    step(&mut a1, p1, y);
                    step(&mut a2, p2, y);
                    step(&mut a3, p3, y);
                }
                let mut acc = [a0, a1, a2, a3];
                for (t, x) in [x0, x1, x2, x3].into_iter().enumerate() {
                    accumulate(&mut acc[t], &x[ac.len() * LANES..], at);
                    outs[t][a] = reduce(acc[t]);
                }
            }
        } else {
            for (x, o) in tile.iter().zip(outs) {
                for (a, anchor) in keys.anchors().chunks_exact(dim).enumerate() {
                    o[a] = squared_distance(x, anchor);
                }
            }
        }
    }
    out
}

fn lanes(x: &[f32]) -> &[[f32; LANES]] {
    x.as_chunks::<LANES>().0
}

/// Adapters ordered by their nearest anchor's (distance, index), from one encoding's anchor
/// distances.
fn rank_owners(keys: &KeySet, distances: &[f32]) -> Vec<usize> {
    let mut best: Vec<(f32, usize)> = vec![(f32::INFINITY, usize::MAX); keys.len()];
    for (i, &d) in distances.iter().enumerate() {
        let b = &mut best[keys.owner(i)];
        // Strictly smaller: on a tie the lower anchor index (seen first) stays.
        if d < b.0 || b.1 == usize::MAX {
            *b = (d, i);
        }
    }
    let mut owners: Vec<usize> = (0..keys.len()).filter(|&o| best[o].1 != usize::MAX).collect();
    owners.sort_by(|&a, &b| best[a].0.total_cmp(&best[b].0).then(best[a].1.cmp(&best[b].1)));
    owners
}

/// All adapters ordered by distance to `encoding` (nearest first, see the module docs).
pub fn ranked(keys: &KeySet, encoding: &[f32]) -> Vec<usize> {
    if keys.len() == 1 {
        // One adapter owns every anchor: the ranking is [0] whatever the distances, so the scan
        // of all anchors (≈ 0.35 ms in wasm, most of a small model's predict) is skipped.
        return vec![0];
    }
    rank_owners(keys, &anchor_distances(keys, &[encoding])[0])
}

/// The k adapters an encoding activates, nearest first.
pub fn activate(keys: &KeySet, encoding: &[f32], k: usize) -> Vec<usize> {
    activate_many(keys, &[encoding], k).swap_remove(0)
}

/// [`activate`] for many encodings at once (same result for each, computed faster).
pub fn activate_many(keys: &KeySet, encodings: &[&[f32]], k: usize) -> Vec<Vec<usize>> {
    if keys.len() == 1 {
        // See `ranked`: a single adapter is every encoding's nearest.
        return encodings.iter().map(|_| vec![0; k.min(1)]).collect();
    }
    anchor_distances(keys, encodings)
        .iter()
        .map(|d| {
            let mut r = rank_owners(keys, d);
            r.truncate(k);
            r
        })
        .collect()
}

/// Members-per-adapter summary: (min, median, max). Median of an even count is the lower middle.
pub fn load_balance(counts: &[usize]) -> (usize, usize, usize) {
    if counts.is_empty() {
        return (0, 0, 0);
    }
    let mut c = counts.to_vec();
    c.sort_unstable();
    (c[0], c[(c.len() - 1) / 2], c[c.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Anchors;

    fn grid_keys() -> KeySet {
        // Five anchors, four adapters: anchors 0 and 2 are identical (a tie), adapter 1 owns
        // anchors 1 and 4.
        let anchors = vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 5.0, 5.0, -3.0, 0.0];
        KeySet::from_parts(2, 4, Anchors::new(anchors), vec![0, 1, 2, 3, 1], 0, "e").unwrap()
    }

    #[test]
    fn nearest_first_ties_by_index_owners_deduplicated() {
        let keys = grid_keys();
        assert_eq!(activate(&keys, &[0.1, 0.0], 2), vec![0, 2]);
        assert_eq!(activate(&keys, &[0.9, 0.0], 2), vec![1, 0]);
        assert_eq!(ranked(&keys, &[4.0, 4.0]), vec![3, 1, 0, 2]);
        assert_eq!(activate(&keys, &[0.0, 0.0], 1), vec![0]);
        // Nearest anchor 4 (adapter 1); adapter 1's other anchor is skipped as a repeat.
        assert_eq!(ranked(&keys, &[-2.0, 0.0]), vec![1, 0, 2, 3]);
    }

    #[test]
    fn batched_routing_equals_routing_one_at_a_time_bit_for_bit() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // dim 37: full lanes plus a tail; 23 anchors over 5 adapters.
        let (dim, anchors) = (37, 23);
        let a: Vec<f32> = (0..dim * anchors).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        let owners: Vec<u32> = (0..anchors as u32).map(|i| i % 5).collect();
        let keys = KeySet::from_parts(dim, 5, Anchors::new(a), owners, 0, "e").unwrap();
        let xs: Vec<Vec<f32>> = (0..11).map(|_| (0..dim).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()).collect();
        let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let many = anchor_distances(&keys, &refs);
        for (x, d) in xs.iter().zip(&many) {
            let single: Vec<u32> = (0..anchors).map(|i| squared_distance(x, keys.anchor(i)).to_bits()).collect();
            assert_eq!(single, d.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            let exact: f64 = x.iter().zip(keys.anchor(0)).map(|(&p, &q)| (p as f64 - q as f64).powi(2)).sum();
            assert!((d[0] as f64 - exact).abs() <= 1e-5 * exact, "{} vs {exact}", d[0]);
        }
        let batched = activate_many(&keys, &refs, 3);
        for (x, b) in xs.iter().zip(&batched) {
            assert_eq!(&activate(&keys, x, 3), b);
        }
    }

    #[test]
    fn one_adapter_skips_the_scan_with_the_scans_result() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (dim, anchors) = (37, 23);
        let a: Vec<f32> = (0..dim * anchors).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        let keys = KeySet::from_parts(dim, 1, Anchors::new(a), vec![0; anchors], 0, "e").unwrap();
        let xs: Vec<Vec<f32>> = (0..5).map(|_| (0..dim).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()).collect();
        let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
        let scanned: Vec<Vec<usize>> = anchor_distances(&keys, &refs).iter().map(|d| rank_owners(&keys, d)).collect();
        for (x, s) in xs.iter().zip(&scanned) {
            assert_eq!(&ranked(&keys, x), s);
            assert_eq!(&activate(&keys, x, 1), s);
        }
        assert_eq!(activate_many(&keys, &refs, 1), scanned);
    }

    #[test]
    fn load_balance_summary() {
        assert_eq!(load_balance(&[5, 1, 9, 3]), (1, 3, 9));
        assert_eq!(load_balance(&[]), (0, 0, 0));
    }
}
