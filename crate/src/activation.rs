//! Routing: an encoding activates its k nearest keys (squared Euclidean distance in f32
//! accumulated in f64 in a fixed order; ties broken by the lower key index). Training and
//! prediction use the same rule.

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

/// All keys ordered by distance to `encoding` (nearest first, ties by index).
pub fn ranked(keys: &KeySet, encoding: &[f32]) -> Vec<usize> {
    let mut d: Vec<(f64, usize)> = (0..keys.len())
        .map(|i| (squared_distance(keys.key(i), encoding), i))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter().map(|(_, i)| i).collect()
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
        // Keys 0 and 2 are identical, so ties are exercised.
        KeySet::from_parts(2, vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 5.0, 5.0], 0, "e")
    }

    #[test]
    fn nearest_first_ties_by_index() {
        let keys = grid_keys();
        assert_eq!(activate(&keys, &[0.1, 0.0], 2), vec![0, 2]);
        assert_eq!(activate(&keys, &[0.9, 0.0], 2), vec![1, 0]);
        assert_eq!(ranked(&keys, &[4.0, 4.0]), vec![3, 1, 0, 2]);
        assert_eq!(activate(&keys, &[0.0, 0.0], 1), vec![0]);
    }

    #[test]
    fn load_balance_summary() {
        assert_eq!(load_balance(&[5, 1, 9, 3]), (1, 3, 9));
        assert_eq!(load_balance(&[]), (0, 0, 0));
    }
}
