//! 1×1 convolutions as a register-tiled GEMM on packed weights: the encoder's hot loop, with an
//! AVX-512 tile natively (picked at run time) and a simd128 tile in wasm.
//!
//! Why not the `gemm` crate here (it stays the path on CPUs without AVX-512): it packs both
//! operands on every call, and the encoder's 1×1 convs are skinny — inner dimensions of 16–192
//! in the expansions — so packing cost as much as it saved (the expansions ran at 21–28 GMAC/s
//! natively, docs/peers.md). Here the weights are packed once, at load, into panels of up to
//! 4 vectors of output channels (`[input][panel width]`, zero-padded to whole vectors);
//! activations are used in place (NHWC rows, one broadcast per row and input channel); and the
//! folded-BN bias, the residual and ReLU6 are applied to the accumulators before the only store,
//! so the output is written once and never re-read.
//!
//! A tile is `MR` rows × `NV` vectors held in registers (AVX-512: `MR·NV ≤ 28` of 32 zmm;
//! simd128: 8, as V8 spills beyond that with its 16 xmm); each output is one multiply-add chain
//! over the inputs in ascending order, so a row's result does not depend on the tiling, the
//! batch or the thread count.

use super::Floats;
use super::threads::SendPtr;
use isa::{LANES, MAX_VECTORS, dispatch, tile_rows};

/// Inputs per chunk of a long 1×1 conv (see `panel_rows`): 128 × 64 floats = 32 KB of weights,
/// which fit L1 beside the tiles' activations. Natively only: wasm's tiles are narrower.
#[cfg(not(target_family = "wasm"))]
const K_CHUNK: usize = 128;
#[cfg(target_family = "wasm")]
const K_CHUNK: usize = usize::MAX / 2;

/// Rows per task: 336 = a multiple of every tile height (16, 14, 8, 6), so only a matrix's last
/// block has a short tile; a block of activations stays in L2 across the panels.
const ROW_BLOCK: usize = 336;

/// One panel: output channels `col..col + LANES·nv` (the last vector masked to `n`).
#[derive(Debug, Clone, Copy)]
struct Panel {
    col: usize,
    nv: usize,
    /// Offset of the panel's packed `[input][LANES·nv]` weights.
    offset: usize,
    /// Lanes of the last vector that are real channels.
    last: u16,
}

/// A 1×1 conv's weights packed for [`PackedPointwise::forward`].
#[derive(Debug)]
pub struct PackedPointwise {
    input: usize,
    output: usize,
    panels: Vec<Panel>,
    /// Each panel from a 64-byte boundary (its width is whole vectors).
    packed: Floats,
    /// The bias, zero-padded to whole vectors.
    bias: Floats,
}

impl PackedPointwise {
    /// Packs `weight: [input, output]` (row-major) and `bias: [output]`; `None` where the tile
    /// cannot run (no AVX-512; in wasm, an output that is not whole vectors): the caller keeps
    /// its portable path.
    pub fn new(weight: &[f32], bias: &[f32], input: usize, output: usize) -> Option<Self> {
        if !isa::available(output) {
            return None;
        }
        assert!(weight.len() == input * output && bias.len() == output, "packed pointwise shapes");
        let mut panels = Vec::new();
        let mut packed = Floats::new(64);
        let mut col = 0;
        while col < output {
            let left = output - col;
            let nv = if left >= LANES * MAX_VECTORS { MAX_VECTORS } else { left.div_ceil(LANES) };
            let width = LANES * nv;
            let real = width.min(left);
            let offset = packed.len();
            for i in 0..input {
                let row = &weight[i * output + col..i * output + col + real];
                packed.extend_from_slice(row);
                packed.resize(packed.len() + width - real, 0.0);
            }
            let tail = real - LANES * (nv - 1);
            panels.push(Panel { col, nv, offset, last: ((1u32 << tail) - 1) as u16 });
            col += width;
        }
        let mut padded = Floats::from_slice(64, bias);
        padded.resize(output.next_multiple_of(LANES), 0.0);
        Some(Self { input, output, panels, packed, bias: padded })
    }

    /// `y[rows, output] = x[rows, input] · W + b (+ skip)`, then ReLU6 if asked. With
    /// `parallel`, the (row block, panel) tasks run in parallel natively ([`super::threads`]).
    pub fn forward(&self, x: &[f32], y: &mut [f32], skip: Option<&[f32]>, relu6: bool, parallel: bool) {
        let rows = x.len() / self.input;
        assert!(x.len() == rows * self.input && y.len() == rows * self.output, "pointwise shapes");
        if let Some(s) = skip {
            assert_eq!(s.len(), y.len(), "skip shape");
        }
        let panels = self.panels.len();
        let split = if parallel { RowBlocks::parallel(rows, panels) } else { RowBlocks::uniform(rows, ROW_BLOCK) };
        let tasks = split.blocks * panels;
        let out = SendPtr(y.as_mut_ptr());
        let skip = SendPtr(skip.map_or(std::ptr::null(), |s| s.as_ptr()) as *mut f32);
        let run = |t: usize| {
            let (b, p) = (t / panels, t % panels);
            let (r0, r1) = (split.start(b), split.start(b + 1));
            // SAFETY: rows r0..r1 of `x`, `y` and `skip` exist (shapes asserted above); each task
            // writes only its own rows × its panel's columns of `y`, disjoint from every other
            // task's, and reads `skip`, which `y` does not alias (both are borrowed from the
            // caller, one mutably).
            unsafe { self.panel_rows(&self.panels[p], x.as_ptr(), r0, r1, skip.get(), out.get(), relu6) }
        };
        if parallel {
            super::threads::for_each_task(tasks, run);
        } else {
            (0..tasks).for_each(run);
        }
    }

    /// Rows `r0..r1` of one panel, a tile at a time.
    ///
    /// # Safety
    /// `x` holds rows `..r1` of `input` floats, `y` (and `skip` unless null) rows `..r1` of
    /// `output` floats; the tile's instructions are available (checked in [`Self::new`]).
    #[allow(clippy::too_many_arguments)]
    unsafe fn panel_rows(
        &self,
        p: &Panel,
        x: *const f32,
        r0: usize,
        r1: usize,
        skip: *const f32,
        y: *mut f32,
        relu6: bool,
    ) {
        let mr = tile_rows(p.nv);
        let k = self.input;
        // Long inputs in chunks, each over every tile of the block, so that the chunk's weights
        // stay in L1 while the tiles reuse them (a whole panel of the late 1×1 convs, up to
        // 1152 × 64 floats, streamed from L2 once per tile). Partial sums wait in `y`, exactly,
        // so each output is still one chain in ascending input order: the same bits.
        let chunk = if k > K_CHUNK + K_CHUNK / 4 { K_CHUNK } else { k };
        // Tiles as even as the rows allow (25 rows: five of 5, not four of 6 and one of 1 — a
        // one-row tile has too few independent sums to hide the FMA latency and costs a third
        // of a full one, which made a 25-row share of the 7×7 layers 8 % slower than a 24-row one).
        let tiles = (r1 - r0).div_ceil(mr);
        let height = |t: usize| (r1 - r0) / tiles + usize::from(t < (r1 - r0) % tiles);
        let width = LANES * p.nv;
        for k0 in (0..k).step_by(chunk) {
            let k1 = (k0 + chunk).min(k);
            // The weights that come next in `packed` (the panel's next chunk, or the next
            // panel's first): the tiles of this chunk fetch a share each into L2 as they run.
            let next = (p.offset + k1 * width).min(self.packed.len());
            let next_len = (chunk * width).min(self.packed.len() - next);
            let mut r = r0;
            for t in 0..tiles {
                let m = height(t);
                let (lo, hi) = (next + t * next_len / tiles, next + (t + 1) * next_len / tiles);
                let args = Tile {
                    a: unsafe { x.add(r * k) },
                    k,
                    k0,
                    k1,
                    b: self.packed[p.offset..].as_ptr(),
                    bias: self.bias[p.col..].as_ptr(),
                    skip: if skip.is_null() { skip } else { unsafe { skip.add(r * self.output + p.col) } },
                    c: unsafe { y.add(r * self.output + p.col) },
                    ldc: self.output,
                    last: p.last,
                    relu6,
                    ahead: self.packed[lo..].as_ptr(),
                    ahead_lines: (hi - lo).div_ceil(16),
                };
                // SAFETY: `m` rows from `r` are inside `r0..r1`; the panel's packed weights hold
                // `input × LANES·nv` floats and the padded bias `LANES·nv` from `col`.
                unsafe { dispatch(p.nv, m, &args) };
                r += m;
            }
        }
    }
}

/// How a call splits its rows into blocks (tasks are (block, panel), block-major).
#[derive(Debug, Clone, Copy)]
struct RowBlocks {
    rows: usize,
    blocks: usize,
    /// Rows per block, or `None`: `blocks` nearly equal blocks cut at whole 6-row tiles.
    size: Option<usize>,
}

impl RowBlocks {
    fn uniform(rows: usize, size: usize) -> Self {
        Self { rows, blocks: rows.div_ceil(size), size: Some(size) }
    }

    /// The split of a parallel call. On a team (one image) every thread takes a fixed share of
    /// the tasks, so the blocks are a multiple of the team's size and nearly equal: each thread
    /// then computes the same fraction of the image's rows in every layer (threads.rs); a call
    /// of a few rows (the classifier's one) is one block, shared by panels. On rayon's threads
    /// (images of a batch, stolen work) small layers — 49 rows an image, 2–3 panels — are split
    /// until there are ≥ 8 tasks per thread (whole 6-row tiles, so the widest tile still runs
    /// full).
    fn parallel(rows: usize, panels: usize) -> Self {
        if let Some(team) = super::threads::team_size() {
            // Too few rows to share (the classifier's one): one block, the threads taking
            // shares of the panels instead.
            if rows < 6 * team {
                return Self::uniform(rows, rows.max(1));
            }
            let blocks = team * rows.div_ceil(team * ROW_BLOCK).max(1);
            return Self { rows, blocks, size: None };
        }
        let threads = super::threads::threads();
        let want = 8 * threads;
        if threads > 1 && rows.div_ceil(ROW_BLOCK) * panels < want {
            return Self::uniform(rows, rows.div_ceil(want.div_ceil(panels)).next_multiple_of(6).min(ROW_BLOCK));
        }
        Self::uniform(rows, ROW_BLOCK)
    }

    /// First row of block `b` (`b = blocks` gives `rows`).
    fn start(&self, b: usize) -> usize {
        match self.size {
            Some(size) => (b * size).min(self.rows),
            None if b >= self.blocks => self.rows,
            None => b * self.rows / self.blocks / 6 * 6,
        }
    }
}

/// Operands of one tile.
struct Tile {
    /// First row of the activations (`k` floats per row).
    a: *const f32,
    k: usize,
    /// The inputs this call sums, `k0..k1`: from `k0 > 0` on, the tile starts from the partial
    /// sums in `c`; below `k1 = k` it stores partial sums there instead of finished outputs.
    k0: usize,
    k1: usize,
    /// The panel's packed weights, `[k][LANES·NV]`.
    b: *const f32,
    /// The panel's bias, `LANES·NV` floats.
    bias: *const f32,
    /// Residual rows (`ldc` apart), or null.
    skip: *const f32,
    /// Output rows, `ldc` apart.
    c: *mut f32,
    ldc: usize,
    /// Lanes of the last vector to store (the simd128 tile stores whole vectors only).
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    last: u16,
    relu6: bool,
    /// Weights the next tiles will need, `ahead_lines` cache lines of them, to prefetch while
    /// this tile runs (at batch 1 the late layers' weights come from L3 and the hardware
    /// prefetcher alone left the first tile of each chunk waiting on them).
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    ahead: *const f32,
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    ahead_lines: usize,
}

/// `tile::<m, NV>(t)` for a run-time `m` among the listed tile heights (the kernels are
/// monomorphised per height so the accumulators stay in registers).
macro_rules! tile_of_height {
    ($t:expr, $m:expr, $nv:literal; $($rows:literal)*) => {
        match $m {
            $($rows => unsafe { tile::<$rows, $nv>($t) },)*
            _ => unreachable!("tile rows"),
        }
    };
}

/// The AVX-512 tile.
#[cfg(target_arch = "x86_64")]
mod isa {
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
        let per = t.ahead_lines.div_ceil(t.k1 - t.k0);
        for i in t.k0..t.k1 {
            for j in 0..per {
                let line = (i - t.k0) * per + j;
                if line < t.ahead_lines {
                    // A hint: it never faults, and the lines are inside `packed` anyway.
                    unsafe { _mm_prefetch::<_MM_HINT_T1>(t.ahead.add(line * 16).cast()) };
                }
            }
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
}

/// The simd128 tile (no FMA in wasm: multiply, then add).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod isa {
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

    /// Whole vectors only (every Lite0 layer is a multiple of 8 channels): no masked stores.
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
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// The packed kernels of a shape, or — only where the CPU lacks their ISA, so the encoder
    /// runs on `gemm` instead (tested by the encoder fixtures) — a printed skip.
    fn packed_or_skip(w: &[f32], bias: &[f32], input: usize, output: usize) -> Option<PackedPointwise> {
        let p = PackedPointwise::new(w, bias, input, output);
        assert_eq!(p.is_some(), isa::available(output), "packed kernels refused on a CPU that has their ISA");
        if p.is_none() {
            eprintln!("skipped: this CPU lacks the packed kernels' ISA (AVX-512F natively)");
        }
        p
    }

    /// Every panel shape (full 64-wide panels, 1–3 vector tails, masked lanes), short last
    /// tiles and inputs long enough to be summed in chunks, against a plain f64 reference.
    #[test]
    fn matches_reference_on_every_panel_and_tile_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for &(rows, input, output) in &[
            (1, 3, 1),
            (37, 16, 24),
            (350, 27, 32),
            (29, 40, 112),
            (61, 144, 40),
            (9, 5, 200),
            (23, 300, 70),
            (49, 1152, 192),
        ] {
            let x: Vec<f32> = (0..rows * input).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
            let w: Vec<f32> = (0..input * output).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
            let bias: Vec<f32> = (0..output).map(|_| rng.random::<f32>()).collect();
            let skip: Vec<f32> = (0..rows * output).map(|_| rng.random::<f32>() * 8.0 - 4.0).collect();
            let Some(p) = packed_or_skip(&w, &bias, input, output) else { return };
            for (with_skip, relu6) in [(false, true), (true, false), (false, false)] {
                let mut y = vec![f32::NAN; rows * output];
                p.forward(&x, &mut y, with_skip.then_some(&skip[..]), relu6, true);
                for r in 0..rows {
                    for o in 0..output {
                        let mut s: f64 = (0..input).map(|i| x[r * input + i] as f64 * w[i * output + o] as f64).sum();
                        s += bias[o] as f64;
                        if with_skip {
                            s += skip[r * output + o] as f64;
                        }
                        if relu6 {
                            s = s.clamp(0.0, 6.0);
                        }
                        let got = y[r * output + o] as f64;
                        assert!(
                            (got - s).abs() <= 1e-4 * (1.0 + s.abs()),
                            "{rows}×{input}→{output} at ({r}, {o}): {got} vs {s}"
                        );
                    }
                }
            }
        }
    }

    /// Summing a long input in chunks (partial sums stored and reloaded) gives the bits of one
    /// unbroken chain.
    #[test]
    fn chunked_sums_equal_one_chain() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (rows, input, output) = (13, 2 * K_CHUNK + 37, 80);
        let x: Vec<f32> = (0..rows * input).map(|_| rng.random::<f32>() - 0.5).collect();
        let w: Vec<f32> = (0..input * output).map(|_| rng.random::<f32>() - 0.5).collect();
        let bias: Vec<f32> = (0..output).map(|_| rng.random::<f32>()).collect();
        let Some(p) = packed_or_skip(&w, &bias, input, output) else { return };
        let mut y = vec![0.0; rows * output];
        p.forward(&x, &mut y, None, false, false);
        for r in 0..rows {
            for o in 0..output {
                // The kernel's own order: one fused multiply-add per input, ascending, then bias.
                let chain = (0..input).fold(0f32, |acc, i| x[r * input + i].mul_add(w[i * output + o], acc));
                assert_eq!(y[r * output + o], chain + bias[o], "row {r}, output {o}");
            }
        }
    }

    #[test]
    fn rows_do_not_depend_on_the_batch() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (rows, input, output) = (500, 24, 144);
        let x: Vec<f32> = (0..rows * input).map(|_| rng.random::<f32>()).collect();
        let w: Vec<f32> = (0..input * output).map(|_| rng.random::<f32>() - 0.5).collect();
        let Some(p) = packed_or_skip(&w, &vec![0.1; output], input, output) else { return };
        let mut all = vec![0.0; rows * output];
        p.forward(&x, &mut all, None, true, true);
        let mut one = vec![0.0; 3 * output];
        p.forward(&x[333 * input..336 * input], &mut one, None, true, false);
        assert_eq!(one, all[333 * output..336 * output]);
    }
}
