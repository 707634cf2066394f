//! 1×1 convolutions as a register-tiled GEMM on packed weights: the encoder's hot loop, with a
//! tile per instruction set, one file each — AVX-512 or else AVX2 + FMA natively (picked at run
//! time), simd128 in wasm.
//!
//! Why not the `gemm` crate here (it stays the path on CPUs with neither, and on other
//! architectures): it packs both operands on every call, and the encoder's 1×1 convs are
//! skinny — inner dimensions of 16–192 in the expansions — so packing cost as much as it saved
//! (the expansions ran at 21–28 GMAC/s natively, docs/peers.md). Here the weights are packed
//! once, at load, into panels of up to 4 (AVX-512) or 2 (AVX2, simd128) vectors of output
//! channels (`[input][panel width]`, zero-padded to whole vectors); activations are used in
//! place (NHWC rows, one broadcast per row and input channel); and the folded-BN bias, the
//! residual and ReLU6 are applied to the accumulators before the only store, so the output is
//! written once and never re-read.
//!
//! A tile is `MR` rows × `NV` vectors held in registers (AVX-512: `MR·NV ≤ 28` of 32 zmm; AVX2:
//! 12 of 16 ymm; simd128: 8, as V8 spills beyond that with its 16 xmm); each output is one
//! multiply-add chain over the inputs in ascending order, so a row's result does not depend on
//! the tiling, the batch or the thread count — nor, natively, on the instruction set: the AVX2
//! and AVX-512 tiles give the same bits (tested), where the `gemm` crate's did not.

use super::Floats;
use super::threads::SendPtr;

/// Inputs per chunk of a long 1×1 conv (see `panel_rows`): 128 × 64 floats = 32 KB of weights,
/// which fit L1 beside the tiles' activations. Natively only: wasm's tiles are narrower.
#[cfg(not(target_family = "wasm"))]
const K_CHUNK: usize = 128;
#[cfg(target_family = "wasm")]
const K_CHUNK: usize = usize::MAX / 2;

/// Rows per task: 336 = a multiple of every tile height (16, 14, 12, 8, 6, 4), so only a matrix's
/// last block has a short tile; a block of activations stays in L2 across the panels.
const ROW_BLOCK: usize = 336;

/// The tile a [`PackedPointwise`] is packed for: its vector width and kernels, one file each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 16-lane zmm vectors, natively where the CPU has AVX-512F.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// 8-lane ymm vectors, natively where the CPU has AVX2 and FMA but no AVX-512.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// 4-lane v128 vectors in wasm.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128,
}

impl Isa {
    /// Every tile this build has, fastest first.
    const ALL: &[Isa] = &[
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2,
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Isa::Simd128,
    ];

    /// The fastest tile this CPU runs on `output` channels.
    pub fn best(output: usize) -> Option<Isa> {
        Self::ALL.iter().copied().find(|isa| isa.available(output))
    }

    /// Whether this CPU runs the tile on `output` channels.
    pub fn available(self, output: usize) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512::available(output),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::available(output),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => simd128::available(output),
        }
    }

    /// f32 lanes per vector.
    fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512::LANES,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::LANES,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => simd128::LANES,
        }
    }

    /// Vectors per panel at most.
    fn max_vectors(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512::MAX_VECTORS,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::MAX_VECTORS,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => simd128::MAX_VECTORS,
        }
    }

    /// Rows per tile for `nv` vectors per row.
    fn tile_rows(self, nv: usize) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512::tile_rows(nv),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::tile_rows(nv),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => simd128::tile_rows(nv),
        }
    }

    /// The tile kernel for `nv` vectors and `m ≤ tile_rows(nv)` rows.
    ///
    /// # Safety
    /// As the ISA's `tile`; the ISA is available (checked when packing).
    unsafe fn dispatch(self, nv: usize, m: usize, t: &Tile) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { avx512::dispatch(nv, m, t) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::dispatch(nv, m, t) },
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => unsafe { simd128::dispatch(nv, m, t) },
        }
    }
}

/// One panel: output channels `col..col + lanes·nv` (the last vector masked to `n`).
#[derive(Debug, Clone, Copy)]
struct Panel {
    col: usize,
    nv: usize,
    /// Offset of the panel's packed `[input][lanes·nv]` weights.
    offset: usize,
    /// Lanes of the last vector that are real channels.
    last: u16,
}

/// A 1×1 conv's weights packed for [`PackedPointwise::forward`].
#[derive(Debug)]
pub struct PackedPointwise {
    isa: Isa,
    input: usize,
    output: usize,
    panels: Vec<Panel>,
    /// Each panel from a 64-byte boundary (its width is whole vectors).
    packed: Floats,
    /// The bias, zero-padded to whole vectors.
    bias: Floats,
}

impl PackedPointwise {
    /// Packs `weight: [input, output]` (row-major) and `bias: [output]` for the fastest tile
    /// this CPU runs ([`Isa::best`]); `None` where none runs (neither AVX-512 nor AVX2 + FMA,
    /// or an output that is not whole vectors where the tile needs them): the caller keeps its
    /// portable path.
    pub fn new(weight: &[f32], bias: &[f32], input: usize, output: usize) -> Option<Self> {
        Isa::best(output).map(|isa| Self::for_isa(isa, weight, bias, input, output))
    }

    /// [`Self::new`] for a given tile, which must be available (see [`Isa::available`]).
    pub fn for_isa(isa: Isa, weight: &[f32], bias: &[f32], input: usize, output: usize) -> Self {
        assert!(isa.available(output), "{isa:?} tiles do not run here on {output} channels");
        let (lanes, max_vectors) = (isa.lanes(), isa.max_vectors());
        assert!(weight.len() == input * output && bias.len() == output, "packed pointwise shapes");
        let mut panels = Vec::new();
        let mut packed = Floats::new(64);
        let mut col = 0;
        while col < output {
            let left = output - col;
            let nv = if left >= lanes * max_vectors { max_vectors } else { left.div_ceil(lanes) };
            let width = lanes * nv;
            let real = width.min(left);
            let offset = packed.len();
            for i in 0..input {
                let row = &weight[i * output + col..i * output + col + real];
                packed.extend_from_slice(row);
                packed.resize(packed.len() + width - real, 0.0);
            }
            let tail = real - lanes * (nv - 1);
            panels.push(Panel { col, nv, offset, last: ((1u32 << tail) - 1) as u16 });
            col += width;
        }
        let mut padded = Floats::from_slice(64, bias);
        padded.resize(output.next_multiple_of(lanes), 0.0);
        Self { isa, input, output, panels, packed, bias: padded }
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
    /// `output` floats; the tile's instructions are available (checked in [`Self::for_isa`]).
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
        let mr = self.isa.tile_rows(p.nv);
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
        let width = self.isa.lanes() * p.nv;
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
                    // Lines of 16 floats; with none left (the last chunk of the last panel), the
                    // tile's own first weights, which are in L1 already.
                    ahead: if hi > lo {
                        self.packed[lo..].as_ptr()
                    } else {
                        self.packed[p.offset + k0 * width..].as_ptr()
                    },
                    ahead_step: (hi - lo).div_ceil(16).div_ceil(k1 - k0).max(1),
                    ahead_last: (hi - lo).div_ceil(16).saturating_sub(1),
                };
                // SAFETY: `m` rows from `r` are inside `r0..r1`; the panel's packed weights hold
                // `input × lanes·nv` floats and the padded bias `lanes·nv` from `col`; the ISA was
                // checked when packing.
                unsafe { self.isa.dispatch(p.nv, m, &args) };
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
    /// The panel's packed weights, `[k][lanes·NV]`.
    b: *const f32,
    /// The panel's bias, `lanes·NV` floats.
    bias: *const f32,
    /// Residual rows (`ldc` apart), or null.
    skip: *const f32,
    /// Output rows, `ldc` apart.
    c: *mut f32,
    ldc: usize,
    /// Lanes of the last vector to store (the AVX2 and simd128 tiles store whole vectors only).
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    last: u16,
    relu6: bool,
    /// Weights the next tiles will need, to prefetch while this tile runs (at batch 1 the late
    /// layers' weights come from L3 and the hardware prefetcher alone left the first tile of
    /// each chunk waiting on them): input `i` fetches line `min((i − k0)·ahead_step,
    /// ahead_last)` of them — one instruction, no branch, beside `MR·NV` FMAs.
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    ahead: *const f32,
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    ahead_step: usize,
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    ahead_last: usize,
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

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// The shape packed for every tile this CPU runs on it; none (and a printed skip) only
    /// where the CPU has none of them, so the encoder runs on `gemm` instead (tested by the
    /// encoder fixtures).
    fn packed_for_every_isa(w: &[f32], bias: &[f32], input: usize, output: usize) -> Vec<PackedPointwise> {
        let all: Vec<_> = Isa::ALL
            .iter()
            .filter(|isa| isa.available(output))
            .map(|&isa| PackedPointwise::for_isa(isa, w, bias, input, output))
            .collect();
        assert_eq!(PackedPointwise::new(w, bias, input, output).map(|p| p.isa), all.first().map(|p| p.isa));
        if all.is_empty() {
            eprintln!("skipped: this CPU runs none of the packed tiles on {output} channels");
        }
        all
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
            for p in packed_for_every_isa(&w, &bias, input, output) {
                for (with_skip, relu6) in [(false, true), (true, false), (false, false)] {
                    let mut y = vec![f32::NAN; rows * output];
                    p.forward(&x, &mut y, with_skip.then_some(&skip[..]), relu6, true);
                    for r in 0..rows {
                        for o in 0..output {
                            let mut s: f64 =
                                (0..input).map(|i| x[r * input + i] as f64 * w[i * output + o] as f64).sum();
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
                                "{:?} {rows}×{input}→{output} at ({r}, {o}): {got} vs {s}",
                                p.isa
                            );
                        }
                    }
                }
            }
        }
    }

    /// Every tile gives the same bits (one fused multiply-add chain per output, the same order):
    /// an encoding does not depend on whether the CPU has AVX-512.
    #[test]
    fn every_tile_gives_the_same_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        for &(rows, input, output) in &[(37, 16, 24), (350, 27, 32), (61, 144, 40), (49, 1152, 192), (1, 1280, 1000)] {
            let x: Vec<f32> = (0..rows * input).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
            let w: Vec<f32> = (0..input * output).map(|_| rng.random::<f32>() - 0.5).collect();
            let bias: Vec<f32> = (0..output).map(|_| rng.random::<f32>()).collect();
            let skip: Vec<f32> = (0..rows * output).map(|_| rng.random::<f32>() * 8.0 - 4.0).collect();
            let all = packed_for_every_isa(&w, &bias, input, output);
            if all.len() < 2 {
                eprintln!("skipped: this CPU runs {} packed tile(s) on {output} channels", all.len());
                continue;
            }
            for (with_skip, relu6) in [(false, true), (true, false)] {
                let run = |p: &PackedPointwise| {
                    let mut y = vec![f32::NAN; rows * output];
                    p.forward(&x, &mut y, with_skip.then_some(&skip[..]), relu6, false);
                    y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                };
                let first = run(&all[0]);
                for p in &all[1..] {
                    assert!(run(p) == first, "{:?} and {:?} differ on {rows}×{input}→{output}", p.isa, all[0].isa);
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
        for p in packed_for_every_isa(&w, &bias, input, output) {
            let mut y = vec![0.0; rows * output];
            p.forward(&x, &mut y, None, false, false);
            for r in 0..rows {
                for o in 0..output {
                    // The kernel's own order: one fused multiply-add per input, ascending, then bias.
                    let chain = (0..input).fold(0f32, |acc, i| x[r * input + i].mul_add(w[i * output + o], acc));
                    assert_eq!(y[r * output + o], chain + bias[o], "{:?} row {r}, output {o}", p.isa);
                }
            }
        }
    }

    #[test]
    fn rows_do_not_depend_on_the_batch() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let (rows, input, output) = (500, 24, 144);
        let x: Vec<f32> = (0..rows * input).map(|_| rng.random::<f32>()).collect();
        let w: Vec<f32> = (0..input * output).map(|_| rng.random::<f32>() - 0.5).collect();
        for p in packed_for_every_isa(&w, &vec![0.1; output], input, output) {
            let mut all = vec![0.0; rows * output];
            p.forward(&x, &mut all, None, true, true);
            let mut one = vec![0.0; 3 * output];
            p.forward(&x[333 * input..336 * input], &mut one, None, true, false);
            assert_eq!(one, all[333 * output..336 * output], "{:?}", p.isa);
        }
    }
}
