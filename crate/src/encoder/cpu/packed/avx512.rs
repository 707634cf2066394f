//! The AVX-512 tile: 16-lane zmm vectors, up to 4 a panel, masked stores for a panel's last
//! vector (any output width).
use std::arch::x86_64::*;

use super::Tile;

/// f32 lanes per vector.
pub const LANES: usize = 16;
/// Vectors per panel at most.
pub const MAX_VECTORS: usize = 4;

/// Rows per tile for `nv` vectors per row: as many as the registers hold (each broadcast
/// then serves `nv` FMAs).
pub const fn tile_rows(nv: usize) -> usize {
    match nv {
        1 => 16,
        2 => 14,
        3 => 8,
        _ => 6,
    }
}

/// Whether this CPU runs the tile (on any number of channels: the last vector is masked).
pub fn available(_output: usize) -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// The tile kernel for `nv` vectors and `m ≤ tile_rows(nv)` rows.
///
/// # Safety
/// As [`tile`].
pub unsafe fn dispatch(nv: usize, m: usize, t: &Tile) {
    match nv {
        1 => tile_of_height!(t, m, 1; 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16),
        2 => tile_of_height!(t, m, 2; 1 2 3 4 5 6 7 8 9 10 11 12 13 14),
        3 => tile_of_height!(t, m, 3; 1 2 3 4 5 6 7 8),
        4 => tile_of_height!(t, m, 4; 1 2 3 4 5 6),
        _ => unreachable!("panel vectors"),
    }
}

/// `MR` rows × `NV` vectors: accumulate `a · b` over `k` in registers, then bias (+ skip),
/// ReLU6 and one masked store per vector.
///
/// # Safety
/// `t.a` points at `MR` rows of `t.k` floats, `t.b` at `t.k × LANES·NV` floats, `t.bias` at `LANES·NV`,
/// `t.c` (and `t.skip` unless null) at `MR` rows `t.ldc` apart of at least `LANES·(NV−1)` floats
/// plus the lanes set in `t.last`; AVX-512F is available.
#[target_feature(enable = "avx512f")]
unsafe fn tile<const MR: usize, const NV: usize>(t: &Tile) {
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    let mask = |v: usize| if v + 1 == NV { t.last } else { u16::MAX };
    if t.k0 > 0 {
        for (r, acc) in acc.iter_mut().enumerate() {
            for (v, acc) in acc.iter_mut().enumerate() {
                *acc = unsafe { _mm512_maskz_loadu_ps(mask(v), t.c.add(r * t.ldc + v * 16)) };
            }
        }
    }
    for i in t.k0..t.k1 {
        // A hint: it never faults, and the line is inside `packed` anyway.
        let line = ((i - t.k0) * t.ahead_step).min(t.ahead_last);
        unsafe { _mm_prefetch::<_MM_HINT_T1>(t.ahead.add(line * 16).cast()) };
        // SAFETY (all reads below): inside the ranges of the contract above.
        let mut w = [_mm512_setzero_ps(); NV];
        for (v, w) in w.iter_mut().enumerate() {
            *w = unsafe { _mm512_loadu_ps(t.b.add(i * 16 * NV + v * 16)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm512_set1_ps(unsafe { *t.a.add(r * t.k + i) });
            for (acc, &w) in acc.iter_mut().zip(&w) {
                *acc = _mm512_fmadd_ps(x, w, *acc);
            }
        }
    }
    if t.k1 < t.k {
        for (r, acc) in acc.iter().enumerate() {
            for (v, &acc) in acc.iter().enumerate() {
                unsafe { _mm512_mask_storeu_ps(t.c.add(r * t.ldc + v * 16), mask(v), acc) };
            }
        }
        return;
    }
    let (zero, six) = (_mm512_setzero_ps(), _mm512_set1_ps(6.0));
    for v in 0..NV {
        let mask = mask(v);
        let bias = unsafe { _mm512_loadu_ps(t.bias.add(v * 16)) };
        for (r, acc) in acc.iter().enumerate() {
            let at = r * t.ldc + v * 16;
            let mut o = _mm512_add_ps(acc[v], bias);
            if !t.skip.is_null() {
                o = _mm512_add_ps(o, unsafe { _mm512_maskz_loadu_ps(mask, t.skip.add(at)) });
            }
            if t.relu6 {
                o = _mm512_min_ps(_mm512_max_ps(o, zero), six);
            }
            unsafe { _mm512_mask_storeu_ps(t.c.add(at), mask, o) };
        }
    }
}
