//! Routing: an encoding activates the k adapters whose keys are nearest. An adapter's key is
//! the set of anchors it owns ([`crate::keys`]); its distance is that of its nearest anchor.
//! Concretely: sort all anchors by squared Euclidean distance (f64 accumulation in index
//! order; ties by the lower anchor index) and take owners in that order, skipping repeats,
//! until k distinct adapters are found. Training and prediction use the same rule.

use crate::keys::KeySet;

/// Squared Euclidean distance, f64 accumulation in index order (portable and bitwise stable).
pub fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for (&x, &y) in a.iter().zip(b) {
        let d = x as f64 - y as f64;
        s += d * d;
    }
    s
}

/// All adapters ordered by distance to `encoding` (nearest first, see the module docs).
pub fn ranked(keys: &KeySet, encoding: &[f32]) -> Vec<usize> {
    let mut d: Vec<(f64, usize)> = (0..keys.num_anchors())
        .map(|i| (squared_distance(keys.anchor(i), encoding), i))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut seen = vec![false; keys.len()];
    let mut out = Vec::with_capacity(keys.len());
    for (_, i) in d {
        let o = keys.owner(i);
        if !seen[o] {
            seen[o] = true;
            out.push(o);
        }
    }
    out
}

/// The k adapters an encoding activates, nearest first.
pub fn activate(keys: &KeySet, encoding: &[f32], k: usize) -> Vec<usize> {
    let mut r = ranked(keys, encoding);
    r.truncate(k);
    r
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

    fn grid_keys() -> KeySet {
        // Five anchors, four adapters: anchors 0 and 2 are identical (a tie), adapter 1 owns
        // anchors 1 and 4.
        let anchors = vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 5.0, 5.0, -3.0, 0.0];
        KeySet::from_parts(2, 4, anchors, vec![0, 1, 2, 3, 1], 0, "e").unwrap()
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
    fn load_balance_summary() {
        assert_eq!(load_balance(&[5, 1, 9, 3]), (1, 3, 9));
        assert_eq!(load_balance(&[]), (0, 0, 0));
    }
}
