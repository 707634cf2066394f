//! The simd128 tile (wasm): 4-lane v128 vectors, up to 2 a panel, whole vectors only; no FMA in
//! wasm, so multiply, then add.
use core::arch::wasm32::*;

use super::Tile;

/// f32 lanes per vector.
pub const LANES: usize = 4;
/// Vectors per panel at most.
pub const MAX_VECTORS: usize = 2;

/// Rows per tile: 4 × 2 accumulators (6 × 2 and 5 × 2 measured slower in Chromium: V8 spills).
pub const fn tile_rows(nv: usize) -> usize {
    match nv {
        1 => 8,
        _ => 4,
    }
}

/// Whether the tile runs on `output` channels: whole vectors only (every Lite0 layer is a
/// multiple of 8 channels), no masked stores.
pub fn available(output: usize) -> bool {
    output.is_multiple_of(LANES)
}

/// The tile kernel for `nv` vectors and `m ≤ tile_rows(nv)` rows.
///
/// # Safety
/// As [`tile`].
pub unsafe fn dispatch(nv: usize, m: usize, t: &Tile) {
    match nv {
        1 => tile_of_height!(t, m, 1; 1 2 3 4 5 6 7 8),
        2 => tile_of_height!(t, m, 2; 1 2 3 4),
        _ => unreachable!("panel vectors"),
    }
}

/// `MR` rows × `NV` vectors: accumulate `a · b` over `k` in registers, then bias (+ skip),
/// ReLU6 and one store per vector.
///
/// # Safety
/// `t.a` points at `MR` rows of `t.k` floats, `t.b` at `t.k × 4·NV` floats, `t.bias` at
/// `4·NV`, `t.c` (and `t.skip` unless null) at `MR` rows `t.ldc` apart of `4·NV` floats.
unsafe fn tile<const MR: usize, const NV: usize>(t: &Tile) {
    // One chunk: wasm's inputs are never split (`K_CHUNK`).
    debug_assert!(t.k0 == 0 && t.k1 == t.k);
    let mut acc = [[f32x4_splat(0.0); NV]; MR];
    for i in 0..t.k {
        // SAFETY (all reads and writes below): inside the ranges of the contract above;
        // wasm loads and stores need no alignment.
        let mut w = [f32x4_splat(0.0); NV];
        for (v, w) in w.iter_mut().enumerate() {
            *w = unsafe { v128_load(t.b.add(i * 4 * NV + v * 4).cast()) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = unsafe { v128_load32_splat(t.a.add(r * t.k + i).cast()) };
            for (acc, &w) in acc.iter_mut().zip(&w) {
                *acc = f32x4_add(*acc, f32x4_mul(x, w));
            }
        }
    }
    let (zero, six) = (f32x4_splat(0.0), f32x4_splat(6.0));
    for v in 0..NV {
        let bias = unsafe { v128_load(t.bias.add(v * 4).cast()) };
        for (r, acc) in acc.iter().enumerate() {
            let at = r * t.ldc + v * 4;
            let mut o = f32x4_add(acc[v], bias);
            if !t.skip.is_null() {
                o = f32x4_add(o, unsafe { v128_load(t.skip.add(at).cast()) });
            }
            if t.relu6 {
                // pmax/pmin: `x < 0 ? 0 : x`, then `6 < y ? 6 : y`, as the scalar relu6.
                o = f32x4_pmin(f32x4_pmax(o, zero), six);
            }
            unsafe { v128_store(t.c.add(at).cast(), o) };
        }
    }
}
