//! The project's one Fisher–Yates shuffle. Its exact draw sequence is part of a model's bits
//! (the anchor deal of the keys, the softmax head's epoch order), so every shuffle goes through
//! this function and its ChaCha8 stream, never through `rand`'s `SliceRandom`, whose draws may
//! change between releases.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Shuffles `v` in place: for i from the end down to 1, swap `v[i]` with `v[j]`, j uniform in
/// `0..=i`.
pub fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.random_range(0..=i));
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn the_draw_sequence_is_fixed() {
        let mut v: Vec<u32> = (0..10).collect();
        shuffle(&mut v, &mut ChaCha8Rng::seed_from_u64(7));
        let mut w: Vec<u32> = (0..10).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for i in (1..w.len()).rev() {
            w.swap(i, rng.random_range(0..=i));
        }
        assert_eq!(v, w);
        assert_ne!(v, (0..10).collect::<Vec<_>>());
    }
}
