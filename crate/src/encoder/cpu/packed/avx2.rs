//! The AVX2 tile, for x86-64 CPUs with AVX2 and FMA but no AVX-512: 8-lane ymm vectors, up to 2
//! a panel, whole vectors only (every Lite0 1×1 conv and the classifier have a multiple of 8
//! outputs). The same fused multiply-add chain per output as the AVX-512 tile, so the same bits.

use std::arch::x86_64::*;

use super::Tile;

/// f32 lanes per vector.
pub const LANES: usize = 8;
/// Vectors per panel at most.
pub const MAX_VECTORS: usize = 2;

/// Rows per tile for `nv` vectors per row: 12 accumulators of the 16 ymm registers, beside the
/// weight vectors and the broadcast.
pub const fn tile_rows(nv: usize) -> usize {
    match nv {
        1 => 12,
        _ => 6,
    }
}

/// Whether this CPU runs the tile on `output` channels.
pub fn available(output: usize) -> bool {
    output.is_multiple_of(LANES) && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// The tile kernel for `nv` vectors and `m ≤ tile_rows(nv)` rows.
///
/// # Safety
/// As [`tile`].
pub unsafe fn dispatch(nv: usize, m: usize, t: &Tile) {
    match nv {
        1 => tile_of_height!(t, m, 1; 1 2 3 4 5 6 7 8 9 10 11 12),
        2 => tile_of_height!(t, m, 2; 1 2 3 4 5 6),
        _ => unreachable!("panel vectors"),
    }
}

/// `MR` rows × `NV` vectors: accumulate `a · b` over `k` in registers, then bias (+ skip), ReLU6
/// and one store per vector.
///
/// # Safety
/// `t.a` points at `MR` rows of `t.k` floats, `t.b` at `t.k × 8·NV` floats, `t.bias` at `8·NV`,
/// `t.c` (and `t.skip` unless null) at `MR` rows `t.ldc` apart of `8·NV` floats; AVX2 and FMA
/// are available.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const MR: usize, const NV: usize>(t: &Tile) {
    let mut acc = [[_mm256_setzero_ps(); NV]; MR];
    if t.k0 > 0 {
        for (r, acc) in acc.iter_mut().enumerate() {
            for (v, acc) in acc.iter_mut().enumerate() {
                *acc = unsafe { _mm256_loadu_ps(t.c.add(r * t.ldc + v * 8)) };
            }
        }
    }
    for i in t.k0..t.k1 {
        // A hint: it never faults, and the line is inside `packed` anyway.
        let line = ((i - t.k0) * t.ahead_step).min(t.ahead_last);
        unsafe { _mm_prefetch::<_MM_HINT_T1>(t.ahead.add(line * 16).cast()) };
        // SAFETY (all reads below): inside the ranges of the contract above.
        let mut w = [_mm256_setzero_ps(); NV];
        for (v, w) in w.iter_mut().enumerate() {
            *w = unsafe { _mm256_loadu_ps(t.b.add(i * 8 * NV + v * 8)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm256_set1_ps(unsafe { *t.a.add(r * t.k + i) });
            for (acc, &w) in acc.iter_mut().zip(&w) {
                *acc = _mm256_fmadd_ps(x, w, *acc);
            }
        }
    }
    if t.k1 < t.k {
        for (r, acc) in acc.iter().enumerate() {
            for (v, &acc) in acc.iter().enumerate() {
                unsafe { _mm256_storeu_ps(t.c.add(r * t.ldc + v * 8), acc) };
            }
        }
        return;
    }
    let (zero, six) = (_mm256_setzero_ps(), _mm256_set1_ps(6.0));
    for v in 0..NV {
        let bias = unsafe { _mm256_loadu_ps(t.bias.add(v * 8)) };
        for (r, acc) in acc.iter().enumerate() {
            let at = r * t.ldc + v * 8;
            let mut o = _mm256_add_ps(acc[v], bias);
            if !t.skip.is_null() {
                o = _mm256_add_ps(o, unsafe { _mm256_loadu_ps(t.skip.add(at)) });
            }
            if t.relu6 {
                o = _mm256_min_ps(_mm256_max_ps(o, zero), six);
            }
            unsafe { _mm256_storeu_ps(t.c.add(at), o) };
        }
    }
}
