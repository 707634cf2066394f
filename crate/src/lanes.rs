//! Fixed-lane sums: the rule that makes legonet's float reductions bit-reproducible everywhere.
//!
//! A long sum is split over `L` lanes (lane `l` takes the terms `≡ l mod L`) and the lanes are
//! then added by a fixed halving tree. Rust never reassociates or contracts float arithmetic, so
//! the result has the same bits on every SIMD width (SSE, AVX2, AVX-512, wasm simd128) and
//! whether the loop was vectorised or not — while the lane loops still vectorise, which a single
//! running sum cannot. Routing ([`crate::activation`], 16 f32 lanes) and the ridge solver
//! ([`crate::head`], 8 f64 lanes) use it; changing a lane count changes a model's bits, so it
//! is covered by the snapshot version.

use std::ops::Add;

/// Adds the `L` lanes by a fixed halving tree (`L` a power of two).
#[inline(always)]
pub(crate) fn reduce<T: Copy + Add<Output = T>, const L: usize>(mut acc: [T; L]) -> T {
    debug_assert!(L.is_power_of_two());
    let mut width = L / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] = acc[l] + acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_order_is_fixed() {
        // (a0 + a2) + (a1 + a3) = 0 + 2; a running sum would lose the first 1 to 1e8 and give 1.
        assert_eq!(reduce([1e8f32, 1.0, -1e8, 1.0]), 2.0);
        assert_eq!(reduce([1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), 36.0);
    }
}
