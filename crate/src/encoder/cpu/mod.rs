//! EfficientNet-Lite0 on the CPU with fused kernels: the encoder's fast path.
//!
//! Why not burn's tensor ops here: the profile of the burn-flex path (docs/peers.md) spent ≈ 16 %
//! in a separate ReLU6 pass, ≈ 29 % in NCHW depthwise and grouped-conv plumbing, and a few % in
//! per-op allocation and padding copies. The encoder is frozen and its graph fixed, so it pays to
//! run it as a handful of fused loops over reused buffers instead:
//!
//! - one image at a time (a batch's activations would not fit the last-level cache; natively a
//!   batch's images run on different threads), activations NHWC (`[H·W, C]` row-major);
//! - every 1×1 conv — ≈ 90 % of the FLOPs — a register-tiled GEMM on weights packed at load
//!   ([`packed`]: AVX-512 or AVX2 + FMA natively, simd128 in wasm; the `gemm` crate on CPUs
//!   with neither), the folded-BN bias, the residual and ReLU6 applied before the single store;
//! - the depthwise conv in channel blocks with the pixels inside (a block's inputs are reused
//!   from L1 as the window slides), up to 64 accumulators in registers, four pixels per pass at
//!   stride 1, FMA where the CPU has it, bias and ReLU6 before the single store, padding by
//!   skipping taps instead of copying;
//! - one pass per block: each task convolves its pixels depthwise, projects them and runs the
//!   next block's expansion on them while they are in L2; the first blocks' big expansions
//!   computed a band of rows at a time, just before the depthwise conv reads them, never whole;
//! - the loops that are not GEMMs compiled for AVX-512 and AVX2 too and picked at run time
//!   (`multiversion`), since the crate itself is built for baseline x86-64.
//!
//! Natively the loops run in parallel ([`threads`]: a batch on rayon's threads, a single image on
//! a team whose threads keep to the same rows in every layer); in wasm everything is one thread.
//! Results match the burn path within float rounding (tests/encoder_fixtures.rs checks both
//! against the shared numpy oracle) and do not depend on the thread count.

use std::sync::Mutex;

use gemm::Parallelism;
use multiversion::multiversion;

#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
mod packed;
mod threads;

use super::arch::{ENCODING_DIM, HEAD_INPUT, LITE0_BLOCKS, STEM_CHANNELS, same_padding};
use super::{EncoderOutput, WeightFile};
use crate::Result;
use crate::imagenet::NUM_CLASSES;
use crate::preprocess::{INPUT_LEN, INPUT_SIZE, validate_input};
use threads::SendPtr;

/// Stem output side (224 / 2).
const STEM_SIZE: usize = INPUT_SIZE / 2;
/// Stem taps per output pixel: 3 input channels × 3 × 3.
const STEM_TAPS: usize = 27;
/// Rows of a 1×1 conv the portable (`gemm`) path computes at a time: big enough for the GEMM to
/// amortise packing its weights, small enough that the block is still in cache for the epilogue
/// (512 and 1,024 measured no faster).
const ROW_BLOCK: usize = 256;

/// A 1×1 convolution with BN folded in.
#[derive(Debug)]
struct Pointwise {
    input: usize,
    output: usize,
    kernel: Kernel,
}

/// How a [`Pointwise`] multiplies.
#[derive(Debug)]
enum Kernel {
    /// Through the `gemm` crate (x86-64 CPUs without AVX2 + FMA, other architectures, wasm
    /// without simd128): `weight: [input, output]`
    /// (transposed for `x · W`), `bias: [output]`.
    Gemm { weight: Vec<f32>, bias: Vec<f32> },
    /// The weights packed for the register-tiled kernel (AVX-512 or AVX2 + FMA natively,
    /// simd128 in wasm).
    #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
    Packed(packed::PackedPointwise),
}

impl Pointwise {
    fn load(w: &WeightFile, conv: &str, bn: &str, input: usize, output: usize) -> Result<Self> {
        let (weight, bias) = w.folded(conv, bn, [output, input, 1, 1])?;
        Ok(Self::new(transpose(&weight, output, input), bias, input, output))
    }

    /// From `weight: [input, output]` and `bias: [output]`: the packed kernel where it runs, else
    /// [`Self::portable`].
    fn new(weight: Vec<f32>, bias: Vec<f32>, input: usize, output: usize) -> Self {
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        if let Some(packed) = packed::PackedPointwise::new(&weight, &bias, input, output) {
            return Self { input, output, kernel: Kernel::Packed(packed) };
        }
        Self::portable(weight, bias, input, output)
    }

    /// Through the `gemm` crate on any CPU.
    fn portable(weight: Vec<f32>, bias: Vec<f32>, input: usize, output: usize) -> Self {
        Self { input, output, kernel: Kernel::Gemm { weight, bias } }
    }

    /// `y[rows, output] = x[rows, input] · W + b (+ skip)`, then ReLU6 if asked. Row blocks are
    /// independent, so natively they run in parallel.
    fn forward(&self, x: &[f32], y: &mut [f32], skip: Option<&[f32]>, relu6: bool) {
        let (weight, bias) = match &self.kernel {
            Kernel::Gemm { weight, bias } => (weight, bias),
            #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
            Kernel::Packed(p) => return p.forward(x, y, skip, relu6, true),
        };
        let rows = x.len() / self.input;
        debug_assert_eq!(y.len(), rows * self.output);
        let single = rows <= ROW_BLOCK;
        for_each_chunk(y, ROW_BLOCK * self.output, |block, out| {
            let (start, n) = (block * ROW_BLOCK, out.len() / self.output);
            // A lone block (the small late layers) may still split the GEMM itself.
            let threads = if single { parallelism(n * self.input * self.output) } else { Parallelism::None };
            matmul(out, &x[start * self.input..(start + n) * self.input], weight, n, self.input, self.output, threads);
            // Bias (+ residual) and ReLU6 in one pass while the block is in cache.
            epilogue(out, bias, skip.map(|s| &s[start * self.output..(start + n) * self.output]), relu6);
        });
    }

    /// [`Self::forward`] on the calling thread alone (for a caller that is one of many tasks).
    fn forward_serial(&self, x: &[f32], y: &mut [f32], skip: Option<&[f32]>, relu6: bool) {
        match &self.kernel {
            Kernel::Gemm { weight, bias } => {
                matmul(y, x, weight, x.len() / self.input, self.input, self.output, Parallelism::None);
                epilogue(y, bias, skip, relu6);
            }
            #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
            Kernel::Packed(p) => p.forward(x, y, skip, relu6, false),
        }
    }
}

/// A depthwise k×k convolution with BN folded in, followed by ReLU6.
#[derive(Debug)]
struct Depthwise {
    channels: usize,
    kernel: usize,
    stride: usize,
    /// `[k, k, channels]`
    weight: Floats,
    /// `[channels]`
    bias: Floats,
}

impl Depthwise {
    fn load(w: &WeightFile, conv: &str, bn: &str, channels: usize, kernel: usize, stride: usize) -> Result<Self> {
        let (weight, bias) = w.folded(conv, bn, [channels, 1, kernel, kernel])?;
        let weight = transpose(&weight, channels, kernel * kernel);
        Ok(Self { channels, kernel, stride, weight: floats(&weight), bias: floats(&bias) })
    }

    /// Output pixels `pixels` (row-major, of `side'²`) of one image, `x: [side, side, C]`, into
    /// `out: [pixels, C]`, with TF-SAME padding.
    fn forward_pixels(&self, x: &[f32], side: usize, pixels: std::ops::Range<usize>, out: &mut [f32]) {
        let (c, out_side) = (self.channels, side.div_ceil(self.stride));
        let (mut p, mut out) = (pixels.start, &mut out[..pixels.len() * c]);
        while p < pixels.end {
            // The part of the range in one output row.
            let (oy, ox) = (p / out_side, p % out_side);
            let n = (out_side - ox).min(pixels.end - p);
            let (here, rest) = out.split_at_mut(n * c);
            depthwise_row(self, &x[..side * side * c], side, 0, oy, ox..ox + n, here);
            out = rest;
            p += n;
        }
    }
}

/// Pixels `range` of output row `oy` of a depthwise conv over one NHWC image (`side × side ×
/// C`, of which `image` holds the rows from `row0` on), bias and ReLU6 included. Compiled for
/// AVX-512 / AVX2 and picked at run time (the rest of the crate is built for baseline x86-64);
/// in wasm, simd128 is on for the whole build.
///
/// Channel blocks are the outer loop and pixels the inner one: consecutive pixels' windows
/// overlap, so a block's inputs are reused from L1 as the window slides (pixel-outer order
/// streamed all channels of every tap from L2: 2–3× slower on every layer).
#[multiversion(targets("x86_64+avx2+fma+avx512f", "x86_64+avx2+fma"))]
#[allow(clippy::too_many_arguments)]
fn depthwise_row(
    dw: &Depthwise,
    image: &[f32],
    side: usize,
    row0: usize,
    oy: usize,
    range: std::ops::Range<usize>,
    out: &mut [f32],
) {
    // Fused multiply-add where the CPU has it (one rounding instead of two, half the ops); wasm
    // has none (a software `fmaf` would be far slower), nor does baseline x86-64.
    let fma = multiversion::target::target_cfg_f!(target_feature = "fma");
    let (c, k, s) = (dw.channels, dw.kernel, dw.stride);
    let (pad, _) = same_padding(side, k, s);
    // Rows of the window inside the image (TF-SAME padding = the taps left out).
    let (y0, ky_lo) = match (oy * s).checked_sub(pad) {
        Some(y0) => (y0, 0),
        None => (0, pad - oy * s),
    };
    let ky_hi = k.min(side + pad - oy * s);
    // The window's rows inside the image: (input row offset, weight row offset); Lite0's
    // kernels are 3×3 and 5×5.
    let mut rows = [(0usize, 0usize); 5];
    for (i, ky) in (ky_lo..ky_hi).enumerate() {
        rows[i] = ((y0 - row0 + ky - ky_lo) * side * c, ky * k * c);
    }
    let rows = &rows[..ky_hi - ky_lo];
    // Taps of a full-width window, relative to its top-left input pixel: (input offset, weight
    // offset, kx), and the same without kx.
    let (mut rel, mut full) = ([(0usize, 0usize, 0usize); 25], [(0usize, 0usize); 25]);
    let mut n = 0;
    for &(r, w) in rows {
        for kx in 0..k {
            rel[n] = (r + kx * c, w + kx * c, kx);
            full[n] = (r + kx * c, w + kx * c);
            n += 1;
        }
    }
    let (rel, full) = (&rel[..n], &full[..n]);
    // Pixels `lo..hi` have every column of their window inside the image.
    let out_side = side.div_ceil(s);
    let lo = pad.div_ceil(s).min(out_side);
    let hi = if side + pad >= k { ((side + pad - k) / s + 1).clamp(lo, out_side) } else { lo };
    // Within `range` (output pixel `ox` is at `out[(ox − start)·c..]`).
    let (start, end) = (range.start, range.end);
    let (lo, hi) = (lo.clamp(start, end), hi.clamp(start, end));
    let out = &mut out[..(end - start) * c];
    // A border pixel keeps the taps whose column is inside the image.
    let border = |ox: usize, buf: &mut [(usize, usize); 25]| {
        let mut m = 0;
        for &(r, w, kx) in rel {
            if let Some(ix) = (ox * s + kx).checked_sub(pad).filter(|&ix| ix < side) {
                buf[m] = (r + (ix - kx) * c, w);
                m += 1;
            }
        }
        m
    };
    let mut buf = [(0usize, 0usize); 25];
    let mut ch = 0;
    while ch < c {
        // Blocks of 64 channels (with two pixels, 8 AVX-512 add chains: enough to hide the FMA
        // latency; 48-channel blocks measured slower), then 32 and 16 for the rest.
        let width = [64, 32, 16].into_iter().find(|w| ch + w <= c).unwrap_or(1);
        // Natively, stride 1: four pixels at once, each input column loaded once for all the
        // windows it is in (≈ 0.7 loads per FMA instead of 1.5) — border pixels too, skipping
        // the columns outside the image (on the 7×7 and 14×14 layers most pixels are border
        // pixels). (At stride 2 the same scheme measured no faster: 3×3 even, 5×5 1.4× slower.)
        #[cfg(not(target_family = "wasm"))]
        let quads_end = if s == 1 && width >= 16 && (k == 3 || k == 5) {
            let mut ox = start;
            // The row's last one to three pixels too, as a shorter quad (one at a time, they
            // loaded an input and a weight per FMA: on the 7×7 layers that was 3 pixels of 7).
            while ox < end {
                let n = (end - ox).min(4);
                let o = &mut out[(ox - start) * c..(ox - start + n) * c];
                // Window column j of these pixels is input column ox − pad + j.
                let cols = pad.saturating_sub(ox)..(n - 1 + k).min(side + pad - ox);
                let base = (ox * c).wrapping_sub(pad * c);
                for half in (0..width).step_by(32) {
                    let q = Quad { rows, base, cols: cols.clone(), ch: ch + half };
                    match (k, width, n) {
                        (3, 16, 4) => quad_lanes::<3, 16, 4>(dw, image, &q, o, fma),
                        (5, 16, 4) => quad_lanes::<5, 16, 4>(dw, image, &q, o, fma),
                        (3, _, 4) => quad_lanes::<3, 32, 4>(dw, image, &q, o, fma),
                        (5, _, 4) => quad_lanes::<5, 32, 4>(dw, image, &q, o, fma),
                        (3, 16, _) => quad_of::<3, 16>(n, dw, image, &q, o, fma),
                        (5, 16, _) => quad_of::<5, 16>(n, dw, image, &q, o, fma),
                        (3, _, _) => quad_of::<3, 32>(n, dw, image, &q, o, fma),
                        _ => quad_of::<5, 32>(n, dw, image, &q, o, fma),
                    }
                }
                ox += n;
            }
            ox
        } else {
            start
        };
        #[cfg(target_family = "wasm")]
        let quads_end = start;
        let (lo, hi) = (lo.max(quads_end), hi.max(quads_end));
        for ox in (quads_end..lo).chain(hi..end) {
            let m = border(ox, &mut buf);
            let o = ox - start;
            channels_at(width, dw, image, &buf[..m], 0, ch, &mut out[o * c..(o + 1) * c], fma);
        }
        let mut ox = lo;
        // Two pixels at once: each weight load serves both.
        while ox + 2 <= hi {
            let (o0, o1) = out[(ox - start) * c..(ox - start + 2) * c].split_at_mut(c);
            pair_at(width, dw, image, full, (ox * s - pad) * c, s * c, ch, o0, o1, fma);
            ox += 2;
        }
        if ox < hi {
            let o = ox - start;
            channels_at(width, dw, image, full, (ox * s - pad) * c, ch, &mut out[o * c..(o + 1) * c], fma);
        }
        ch += width;
    }
}

/// Up to four adjacent output pixels of a stride-1 conv, for [`quad_lanes`].
#[cfg(not(target_family = "wasm"))]
struct Quad<'a> {
    /// The window's rows inside the image: (input row offset, weight row offset).
    rows: &'a [(usize, usize)],
    /// Offset of window column 0 of the first pixel (wrapping: it may lie left of the image).
    base: usize,
    /// The window columns inside the image (of `0..P − 1 + K` for `P` pixels).
    cols: std::ops::Range<usize>,
    /// First of the `L` channels.
    ch: usize,
}

/// [`channels_at`] for `P` (≤ 4) adjacent pixels of a stride-1 `K×K` conv, `L` channels: per
/// window row, each of the `P − 1 + K` input columns inside the image is loaded once and feeds
/// every pixel whose window holds it. Each pixel is summed in the same (ky, kx) order as
/// `channels_at`, skipping the same taps, so the bits are the same.
#[cfg(not(target_family = "wasm"))]
#[inline(always)]
fn quad_lanes<const K: usize, const L: usize, const P: usize>(
    dw: &Depthwise,
    image: &[f32],
    q: &Quad,
    out: &mut [f32],
    fma: bool,
) {
    let (c, ch) = (dw.channels, q.ch);
    let bias: &[f32; L] = dw.bias[ch..ch + L].try_into().expect("L channels");
    let mut acc = [*bias; P];
    for &(r, wr) in q.rows {
        let mut w = [[0f32; L]; K];
        for (kx, w) in w.iter_mut().enumerate() {
            *w = dw.weight[wr + kx * c + ch..][..L].try_into().expect("L channels");
        }
        let row = q.base.wrapping_add(r + ch);
        for j in 0..P - 1 + K {
            if !q.cols.contains(&j) {
                continue;
            }
            let x: &[f32; L] = image[row.wrapping_add(j * c)..][..L].try_into().expect("L channels");
            for (p, acc) in acc.iter_mut().enumerate() {
                if j >= p && j - p < K {
                    madd(acc, x, &w[j - p], fma);
                }
            }
        }
    }
    for (p, a) in acc.iter().enumerate() {
        for (o, &v) in out[p * c + ch..p * c + ch + L].iter_mut().zip(a) {
            *o = relu6(v);
        }
    }
}

/// [`quad_lanes`] for `n` (1–3) pixels: a row's last ones.
#[cfg(not(target_family = "wasm"))]
#[inline(always)]
fn quad_of<const K: usize, const L: usize>(
    n: usize,
    dw: &Depthwise,
    image: &[f32],
    q: &Quad,
    out: &mut [f32],
    fma: bool,
) {
    match n {
        3 => quad_lanes::<K, L, 3>(dw, image, q, out, fma),
        2 => quad_lanes::<K, L, 2>(dw, image, q, out, fma),
        _ => quad_lanes::<K, L, 1>(dw, image, q, out, fma),
    }
}

/// [`channels_at`] for two horizontally adjacent pixels (the second's taps are the first's
/// shifted by `shift` floats), each summed exactly as `channels_at` would.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pair_at(
    width: usize,
    dw: &Depthwise,
    image: &[f32],
    taps: &[(usize, usize)],
    base: usize,
    shift: usize,
    ch: usize,
    o0: &mut [f32],
    o1: &mut [f32],
    fma: bool,
) {
    match width {
        64 => pair_lanes::<64>(dw, image, taps, base, shift, ch, o0, o1, fma),
        32 => pair_lanes::<32>(dw, image, taps, base, shift, ch, o0, o1, fma),
        16 => pair_lanes::<16>(dw, image, taps, base, shift, ch, o0, o1, fma),
        _ => pair_lanes::<1>(dw, image, taps, base, shift, ch, o0, o1, fma),
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pair_lanes<const L: usize>(
    dw: &Depthwise,
    image: &[f32],
    taps: &[(usize, usize)],
    base: usize,
    shift: usize,
    ch: usize,
    o0: &mut [f32],
    o1: &mut [f32],
    fma: bool,
) {
    let bias: &[f32; L] = dw.bias[ch..ch + L].try_into().expect("L channels");
    let (mut a0, mut a1) = (*bias, *bias);
    for &(i, w) in taps {
        let i = base + i;
        let w: &[f32; L] = dw.weight[w + ch..w + ch + L].try_into().expect("L channels");
        let x0: &[f32; L] = image[i + ch..i + ch + L].try_into().expect("L channels");
        let x1: &[f32; L] = image[i + shift + ch..i + shift + ch + L].try_into().expect("L channels");
        madd(&mut a0, x0, w, fma);
        madd(&mut a1, x1, w, fma);
    }
    for (o, a) in [(o0, a0), (o1, a1)] {
        for (o, &v) in o[ch..ch + L].iter_mut().zip(&a) {
            *o = relu6(v);
        }
    }
}

/// Output channels `ch..ch + width` of one pixel: bias + Σ taps (in tap order, each at
/// `base + offset`), then ReLU6, with the accumulators in registers across all taps (one store
/// per channel instead of one per tap).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn channels_at(
    width: usize,
    dw: &Depthwise,
    image: &[f32],
    taps: &[(usize, usize)],
    base: usize,
    ch: usize,
    out: &mut [f32],
    fma: bool,
) {
    match width {
        64 => channel_lanes::<64>(dw, image, taps, base, ch, out, fma),
        32 => channel_lanes::<32>(dw, image, taps, base, ch, out, fma),
        16 => channel_lanes::<16>(dw, image, taps, base, ch, out, fma),
        _ => channel_lanes::<1>(dw, image, taps, base, ch, out, fma),
    }
}

#[inline(always)]
fn channel_lanes<const L: usize>(
    dw: &Depthwise,
    image: &[f32],
    taps: &[(usize, usize)],
    base: usize,
    ch: usize,
    out: &mut [f32],
    fma: bool,
) {
    let mut acc: [f32; L] = dw.bias[ch..ch + L].try_into().expect("L channels");
    for &(i, w) in taps {
        let i = base + i;
        let x: &[f32; L] = image[i + ch..i + ch + L].try_into().expect("L channels");
        let w: &[f32; L] = dw.weight[w + ch..w + ch + L].try_into().expect("L channels");
        madd(&mut acc, x, w, fma);
    }
    for a in &mut acc {
        *a = relu6(*a);
    }
    out[ch..ch + L].copy_from_slice(&acc);
}

/// `acc += x · w` lane by lane, fused where `fma` (a constant in each compiled version).
#[inline(always)]
fn madd<const L: usize>(acc: &mut [f32; L], x: &[f32; L], w: &[f32; L], fma: bool) {
    if fma {
        for j in 0..L {
            acc[j] = x[j].mul_add(w[j], acc[j]);
        }
    } else {
        for j in 0..L {
            acc[j] += x[j] * w[j];
        }
    }
}

/// One MBConv block.
#[derive(Debug)]
struct Block {
    expand: Option<Pointwise>,
    depthwise: Depthwise,
    project: Pointwise,
    skip: bool,
    /// Whether the block runs a band at a time ([`Block::forward`]): its expansion is bigger
    /// than [`BAND_FLOATS`].
    in_bands: bool,
}

/// Expansions bigger than this (floats; the first three blocks' 1.8–4.8 MB) are computed a band
/// at a time, never whole.
const BAND_FLOATS: usize = 1 << 18;

/// Output pixels per task of a pass ([`pixel_tasks`]): each task's depthwise output (≤ 336 ×
/// 240 floats) stays in L2 for the projection that reads it next.
const TASK_PIXELS: usize = 336;

thread_local! {
    /// Per thread: a band of an expansion (or the stem's patches), and a task's depthwise output.
    static SCRATCH: std::cell::RefCell<[Floats; 2]> = std::cell::RefCell::new([zeros(0), zeros(0)]);
}

/// The first `n` floats of a scratch buffer, grown if need be (never shrunk: zeroing what the
/// next pass overwrites anyway would cost a memset per pass). Zeroed before it grows: growing
/// moves it and frees the old block, which would keep what the image left in it (the stem's
/// patches are its pixels) where `wipe_scratch` cannot reach.
fn at_least(buf: &mut Floats, n: usize) -> &mut [f32] {
    if buf.len() < n {
        buf.fill(0.0);
        buf.resize(n, 0.0);
    }
    &mut buf[..n]
}

/// Tasks for a pass over `pixels` output pixels, task `i` taking pixels `i·pixels/n ..
/// (i + 1)·pixels/n`: chunks of about [`TASK_PIXELS`], on a team a multiple of its size so that
/// each thread takes an equal contiguous share — the same share of the image in every pass.
fn pixel_tasks(pixels: usize) -> usize {
    let tasks = pixels.div_ceil(TASK_PIXELS).max(1);
    threads::team_size().map_or(tasks, |team| tasks.next_multiple_of(team))
}

/// Pixels of task `i` of `n` over `pixels`.
fn task_pixels(i: usize, n: usize, pixels: usize) -> std::ops::Range<usize> {
    i * pixels / n..(i + 1) * pixels / n
}

/// An output of a pass, written by its tasks a disjoint range of pixels each.
#[derive(Clone, Copy)]
struct Rows {
    ptr: SendPtr,
    pixels: usize,
    width: usize,
}

impl Rows {
    fn new(y: &mut [f32], pixels: usize, width: usize) -> Self {
        assert!(y.len() >= pixels * width, "pass output");
        Self { ptr: SendPtr(y.as_mut_ptr()), pixels, width }
    }

    /// The rows of `pixels`.
    ///
    /// # Safety
    /// No other live slice from this `Rows` overlaps `pixels` (each task takes its own range).
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self, pixels: &std::ops::Range<usize>) -> &mut [f32] {
        assert!(pixels.end <= self.pixels, "pixels of the pass");
        // SAFETY: inside the buffer (asserted here and in `new`), which is borrowed mutably for
        // the pass; disjoint from every other task's rows by the contract above.
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.get().add(pixels.start * self.width), pixels.len() * self.width)
        }
    }
}

/// What runs on a pass's pixels after it, before the next depthwise conv needs its neighbours'
/// rows: the next block's expansion or the head (1×1 convs + ReLU6, pixel by pixel).
struct Tail<'a> {
    conv: &'a Pointwise,
    out: Rows,
}

impl Tail<'_> {
    fn new<'a>(conv: Option<&'a Pointwise>, out: &mut [f32], pixels: usize) -> Option<Tail<'a>> {
        conv.map(|conv| Tail { conv, out: Rows::new(out, pixels, conv.output) })
    }

    /// # Safety
    /// As [`Rows::get`].
    unsafe fn run(&self, y: &[f32], pixels: &std::ops::Range<usize>) {
        self.conv.forward_serial(y, unsafe { self.out.get(pixels) }, None, true);
    }
}

impl Block {
    /// One image through the block, `x: [side², input] -> out: [side'², output]`, then `tail` on
    /// the same pixels; `expanded` holds the block's expansion (the previous pass's tail) unless
    /// it runs in bands. Returns `side'`.
    ///
    /// One pass, natively in parallel: each task convolves its pixels depthwise, projects them
    /// (+ the residual) and runs the tail while its depthwise output is still in L2 (on a team,
    /// one synchronisation a block instead of three). A block in bands expands just the input
    /// rows each band's windows read (≤ 0.5 MB, so they stay in L2) instead of writing its
    /// 1.8–4.8 MB expansion out and reading it back; neighbouring bands both expand the rows
    /// they share.
    fn forward(&self, x: &[f32], expanded: &[f32], side: usize, out: &mut [f32], tail: Option<&Tail>) -> usize {
        let dw = &self.depthwise;
        let (mid, k, s) = (dw.channels, dw.kernel, dw.stride);
        let out_side = side.div_ceil(s);
        let out = Rows::new(out, out_side * out_side, self.project.output);
        // Projects the depthwise output of `pixels`, then runs the tail on them.
        let finish = |convolved: &[f32], pixels: std::ops::Range<usize>| {
            // SAFETY: each task passes its own pixels.
            let y = unsafe { out.get(&pixels) };
            let skip = self.skip.then(|| &x[pixels.start * self.project.output..pixels.end * self.project.output]);
            self.project.forward_serial(convolved, y, skip, false);
            if let Some(tail) = tail {
                // SAFETY: as above.
                unsafe { tail.run(y, &pixels) };
            }
        };
        match &self.expand {
            Some(e) if self.in_bands => {
                let (pad, _) = same_padding(side, k, s);
                let row_floats = side * mid;
                // Output rows per band: as many as keep the band's input rows within 0.5 MB.
                let max_rows = ((1 << 17) / row_floats).max(k);
                let mut bands = out_side.div_ceil(((max_rows - k) / s + 1).min(out_side));
                // On a team each thread takes a fixed share of the bands: a multiple of its size,
                // cut evenly below so that every thread gets the same number of rows.
                if let Some(team) = threads::team_size() {
                    bands = bands.next_multiple_of(team);
                }
                threads::for_each_task(bands, |i| {
                    let (oy0, oy1) = (i * out_side / bands, (i + 1) * out_side / bands);
                    if oy0 == oy1 {
                        return;
                    }
                    let y_lo = (oy0 * s).saturating_sub(pad);
                    let y_hi = ((oy1 - 1) * s + k).saturating_sub(pad).min(side);
                    SCRATCH.with_borrow_mut(|[band, convolved]| {
                        let band = at_least(band, (y_hi - y_lo) * row_floats);
                        let convolved = at_least(convolved, (oy1 - oy0) * out_side * mid);
                        e.forward_serial(&x[y_lo * side * e.input..y_hi * side * e.input], band, None, true);
                        for (r, o) in convolved.chunks_exact_mut(out_side * mid).enumerate() {
                            depthwise_row(dw, band, side, y_lo, oy0 + r, 0..out_side, o);
                        }
                        finish(convolved, oy0 * out_side..oy1 * out_side);
                    });
                });
            }
            _ => {
                let input = if self.expand.is_some() { expanded } else { x };
                let pixels = out_side * out_side;
                let tasks = pixel_tasks(pixels);
                threads::for_each_task(tasks, |i| {
                    let pixels = task_pixels(i, tasks, pixels);
                    SCRATCH.with_borrow_mut(|[_, convolved]| {
                        let convolved = at_least(convolved, pixels.len() * mid);
                        dw.forward_pixels(input, side, pixels.clone(), convolved);
                        finish(convolved, pixels);
                    });
                });
            }
        }
        out_side
    }
}

/// EfficientNet-Lite0 as plain arrays for the fused kernels.
#[derive(Debug)]
pub struct CpuLite0 {
    /// The stride-2 3×3 stem as a 1×1 conv over im2col patches: 27 inputs in (channel, ky, kx)
    /// order → 32.
    stem: Pointwise,
    blocks: Vec<Block>,
    head: Pointwise,
    /// The ImageNet classifier, 1280 → 1000, as a 1×1 conv over the pooled features.
    fc: Pointwise,
    /// Sets of four activation buffers kept between calls, one per image in flight (the
    /// allocations and page faults of fresh ones cost a few % of an image).
    scratch: Mutex<Vec<Vec<Floats>>>,
}

impl CpuLite0 {
    /// Folds and lays out every weight, checking shapes.
    pub fn from_weights(w: &WeightFile) -> Result<Self> {
        let (stem, stem_bias) = w.folded("_conv_stem", "_bn0", [STEM_CHANNELS, 3, 3, 3])?;
        let stem = Pointwise::new(transpose(&stem, STEM_CHANNELS, STEM_TAPS), stem_bias, STEM_TAPS, STEM_CHANNELS);
        let mut blocks = Vec::with_capacity(LITE0_BLOCKS.len());
        // Each block's input side (for which ones run in bands).
        let mut side = STEM_SIZE;
        for (i, s) in LITE0_BLOCKS.iter().enumerate() {
            let p = format!("_blocks.{i}.");
            let mid = s.input * s.expand;
            let expand = match s.expand {
                1 => None,
                _ => Some(Pointwise::load(w, &format!("{p}_expand_conv"), &format!("{p}_bn0"), s.input, mid)?),
            };
            blocks.push(Block {
                expand,
                depthwise: Depthwise::load(
                    w,
                    &format!("{p}_depthwise_conv"),
                    &format!("{p}_bn1"),
                    mid,
                    s.kernel,
                    s.stride,
                )?,
                project: Pointwise::load(w, &format!("{p}_project_conv"), &format!("{p}_bn2"), mid, s.output)?,
                skip: s.stride == 1 && s.input == s.output,
                in_bands: s.expand > 1 && side * side * mid > BAND_FLOATS,
            });
            side = side.div_ceil(s.stride);
        }
        let (fc_weight, fc_bias) = w.classifier()?;
        let head = Pointwise::load(w, "_conv_head", "_bn1", HEAD_INPUT, ENCODING_DIM)?;
        let fc = Pointwise::new(fc_weight, fc_bias, ENCODING_DIM, NUM_CLASSES);
        Ok(Self { stem, blocks, head, fc, scratch: Mutex::new(Vec::new()) })
    }

    /// Encodes a batch of preprocessed planar images (`B × [3, 224, 224]`).
    pub fn encode(&self, input: &[f32]) -> Result<EncoderOutput> {
        // Natively a batch runs on one of rayon's workers: its images' parallel passes each
        // then start there instead of each waking the pool from outside and blocking on it (≈ 4 %
        // of a one-thread encode went to those wake-ups). A single image on a team needs no
        // rayon loop, so it runs on the calling thread as the team's leader.
        #[cfg(not(target_family = "wasm"))]
        if !self.on_team(input.len() / INPUT_LEN) {
            return rayon::scope(|_| self.encode_here(input));
        }
        self.encode_here(input)
    }

    /// Whether a batch of `images` runs on a team (threads.rs: no fork-join per pass): a single
    /// image (a batch spreads its images over rayon's threads instead).
    fn on_team(&self, images: usize) -> bool {
        images == 1
    }

    fn encode_here(&self, input: &[f32]) -> Result<EncoderOutput> {
        let batch = validate_input(input)?;
        let mut encodings = vec![0f32; batch * ENCODING_DIM];
        // One image at a time per thread: an image's activations (≤ 4.8 MB) stay in the
        // last-level cache, a batch's would not (batch 8 ran ≈ 20 % slower per image than batch
        // 1 when batched). Natively, a batch spreads its images over the threads (each image's
        // loops then rarely need to split), which scales better than splitting every layer.
        let one = |(image, encoding): (&[f32], &mut [f32])| {
            let mut buffers = self.take_scratch();
            self.features(image, &mut buffers, encoding);
            self.scratch.lock().unwrap_or_else(|e| e.into_inner()).push(buffers);
        };
        let mut logits = vec![0f32; batch * NUM_CLASSES];
        if self.on_team(batch) {
            threads::with_team(|| {
                one((input, &mut encodings[..]));
                self.fc.forward(&encodings, &mut logits, None, false);
            });
            return Ok(EncoderOutput { batch, encodings, logits });
        }
        #[cfg(not(target_family = "wasm"))]
        {
            use rayon::prelude::*;
            input.par_chunks_exact(INPUT_LEN).zip(encodings.par_chunks_exact_mut(ENCODING_DIM)).for_each(one);
        }
        #[cfg(target_family = "wasm")]
        input.chunks_exact(INPUT_LEN).zip(encodings.chunks_exact_mut(ENCODING_DIM)).for_each(one);
        self.fc.forward(&encodings, &mut logits, None, false);
        Ok(EncoderOutput { batch, encodings, logits })
    }

    /// Overwrites what the last images left in this encoder's working memory: the kept
    /// activation buffers (every layer of an image, down to its stem output, and the head
    /// activations whose mean is its encoding) and this thread's band scratch. The next image
    /// overwrites the same regions anyway; the wasm engine calls this after each photo, so that
    /// a photo encoded last and then forgotten leaves nothing behind (one thread there; natively
    /// a team's other threads keep their last band until their next pass).
    pub fn wipe_scratch(&self) {
        for set in self.scratch.lock().unwrap_or_else(|e| e.into_inner()).iter_mut() {
            set.iter_mut().for_each(|b| b.fill(0.0));
        }
        SCRATCH.with_borrow_mut(|bufs| bufs.iter_mut().for_each(|b| b.fill(0.0)));
    }

    /// A set of four activation buffers: a kept one, or fresh ones.
    fn take_scratch(&self) -> Vec<Floats> {
        let kept = self.scratch.lock().unwrap_or_else(|e| e.into_inner()).pop();
        kept.unwrap_or_else(|| (0..4).map(|_| zeros(self.largest_activation())).collect())
    }

    /// The pooled head features of one preprocessed image, through the four scratch buffers:
    /// one pass for the stem and one per block, each ending with what the next pass reads (the
    /// next expansion, or the head).
    fn features(&self, image: &[f32], scratch: &mut [Floats], encoding: &mut [f32]) {
        // `a` holds a block's input, `d` its output (then swapped into `a`), `b` its expansion
        // and `c` the next block's (then swapped into `b`); the head's output ends in `b`.
        let [a, b, c, d] = scratch else { unreachable!("four buffers") };
        // The 1×1 conv that ends the pass before block `i`: its expansion (unless it runs in
        // bands, which expand for themselves), or after the last block the head.
        let tail = |i: usize| match self.blocks.get(i) {
            Some(block) => block.expand.as_ref().filter(|_| !block.in_bands),
            None => Some(&self.head),
        };
        let mut side = STEM_SIZE;
        self.stem_forward(image, a, Tail::new(tail(0), b, side * side).as_ref());
        for (i, block) in self.blocks.iter().enumerate() {
            let out_side = side.div_ceil(block.depthwise.stride);
            let next = Tail::new(tail(i + 1), c, out_side * out_side);
            side = block.forward(a, b, side, d, next.as_ref());
            std::mem::swap(a, d);
            std::mem::swap(b, c);
        }
        // The global average pool, in pixel order (the same bits on any number of threads).
        let pixels = side * side;
        for p in b[..pixels * ENCODING_DIM].chunks_exact(ENCODING_DIM) {
            for (e, &v) in encoding.iter_mut().zip(p) {
                *e += v;
            }
        }
        encoding.iter_mut().for_each(|v| *v /= pixels as f32);
    }

    /// The stride-2 3×3 stem + ReLU6 (`image` → `out: [112², 32]`), then `tail`: per task,
    /// im2col of its pixels (TF-SAME padding = zeros) and a 1×1 conv over those patches.
    fn stem_forward(&self, image: &[f32], out: &mut [f32], tail: Option<&Tail>) {
        let pixels = STEM_SIZE * STEM_SIZE;
        let out = Rows::new(out, pixels, STEM_CHANNELS);
        // About one output row a task (on a team, a multiple of its size): its patches (12 KB)
        // and outputs (14 KB) stay in L1 from the im2col to the 1×1 conv — tasks of 330 pixels
        // (36 + 42 KB) ran the stem ≈ 1.5× slower.
        let tasks = threads::team_size().map_or(STEM_SIZE, |team| STEM_SIZE.next_multiple_of(team));
        threads::for_each_task(tasks, |i| {
            let pixels = task_pixels(i, tasks, pixels);
            SCRATCH.with_borrow_mut(|[cols, _]| {
                let cols = at_least(cols, pixels.len() * STEM_TAPS);
                im2col_stem(image, pixels.clone(), cols);
                // SAFETY: each task passes its own pixels.
                let y = unsafe { out.get(&pixels) };
                self.stem.forward_serial(cols, y, None, true);
                if let Some(tail) = tail {
                    // SAFETY: as above.
                    unsafe { tail.run(y, &pixels) };
                }
            });
        });
    }

    /// Floats of the largest activation of one image (stem im2col or block 1's expansion).
    fn largest_activation(&self) -> usize {
        let mut side = STEM_SIZE;
        let mut most = side * side * STEM_TAPS.max(STEM_CHANNELS);
        for block in &self.blocks {
            most = most.max(side * side * block.depthwise.channels);
            side = side.div_ceil(block.depthwise.stride);
        }
        most.max(side * side * ENCODING_DIM)
    }
}

/// Floats from a 64-byte boundary: a cache line, and an AVX-512 vector. Every Lite0 depthwise
/// layer and most 1×1 outputs have a multiple of 16 channels, so each vector load of their
/// activations and weights is then one cache line; from malloc's 16-byte boundaries most loads
/// spanned two (the depthwise convs ran 1.2–1.7× slower).
type Floats = aligned_vec::AVec<f32, aligned_vec::ConstAlign<64>>;

/// `values` in [`Floats`].
fn floats(values: &[f32]) -> Floats {
    Floats::from_slice(64, values)
}

/// `n` zeros in [`Floats`].
fn zeros(n: usize) -> Floats {
    let mut v = Floats::new(64);
    v.resize(n, 0.0);
    v
}

/// `[rows, cols]` row-major → `[cols, rows]` row-major.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// The `[pixels, 27]` patches of output pixels `pixels` (of `112²`, row-major) of the stride-2
/// 3×3 stem over one planar `[3, 224, 224]` image (TF-SAME: no padding before, one zero row and
/// column after).
fn im2col_stem(image: &[f32], pixels: std::ops::Range<usize>, cols: &mut [f32]) {
    let (pad, _) = same_padding(INPUT_SIZE, 3, 2);
    let plane = INPUT_SIZE * INPUT_SIZE;
    let (mut p, mut cols) = (pixels.start, &mut cols[..pixels.len() * STEM_TAPS]);
    while p < pixels.end {
        // The part of the range in output row `oy`.
        let (oy, ox0) = (p / STEM_SIZE, p % STEM_SIZE);
        let n = (STEM_SIZE - ox0).min(pixels.end - p);
        let (row, rest) = cols.split_at_mut(n * STEM_TAPS);
        // The nine input rows this output row reads (a channel and a window row; `None` in the
        // padding), so each patch is filled front to back with three contiguous reads per row.
        let mut rows: [Option<&[f32]>; 9] = [None; 9];
        for (i, r) in rows.iter_mut().enumerate() {
            let (ch, ky) = (i / 3, i % 3);
            let iy = (oy * 2 + ky).wrapping_sub(pad);
            *r = (iy < INPUT_SIZE).then(|| &image[ch * plane + iy * INPUT_SIZE..][..INPUT_SIZE]);
        }
        for (j, patch) in row.chunks_exact_mut(STEM_TAPS).enumerate() {
            let x0 = ((ox0 + j) * 2).wrapping_sub(pad);
            let inside = x0.wrapping_add(2) < INPUT_SIZE && x0 < INPUT_SIZE;
            for (taps, r) in patch.chunks_exact_mut(3).zip(&rows) {
                match r {
                    Some(r) if inside => taps.copy_from_slice(&r[x0..x0 + 3]),
                    Some(r) => {
                        for (kx, v) in taps.iter_mut().enumerate() {
                            let ix = x0.wrapping_add(kx);
                            *v = if ix < INPUT_SIZE { r[ix] } else { 0.0 };
                        }
                    }
                    None => taps.fill(0.0),
                }
            }
        }
        cols = rest;
        p += n;
    }
}

/// ReLU6, written so that it compiles to vector min/max (`f32::clamp` keeps NaN semantics that
/// block that).
#[inline(always)]
fn relu6(x: f32) -> f32 {
    let y = if x < 0.0 { 0.0 } else { x };
    if y > 6.0 { 6.0 } else { y }
}

/// Every `bias.len()`-float row of `out` += bias (+ the same row of `skip`), then ReLU6 if asked.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn epilogue(out: &mut [f32], bias: &[f32], skip: Option<&[f32]>, relu: bool) {
    let c = bias.len();
    match (skip, relu) {
        (Some(skip), _) => {
            for (o, s) in out.chunks_exact_mut(c).zip(skip.chunks_exact(c)) {
                for ((o, &s), &b) in o.iter_mut().zip(s).zip(bias) {
                    *o = (*o + b) + s;
                }
            }
        }
        (None, true) => {
            for o in out.chunks_exact_mut(c) {
                for (o, &b) in o.iter_mut().zip(bias) {
                    *o = relu6(*o + b);
                }
            }
        }
        (None, false) => {
            for o in out.chunks_exact_mut(c) {
                for (o, &b) in o.iter_mut().zip(bias) {
                    *o += b;
                }
            }
        }
    }
}

/// `out[m, n] = a[m, k] · b[k, n]`, all row-major.
#[allow(clippy::too_many_arguments)]
fn matmul(out: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize, threads: Parallelism) {
    assert!(out.len() == m * n && a.len() == m * k && b.len() == k * n, "matmul shapes");
    // SAFETY: the three slices hold exactly the m×n, m×k and k×n row-major matrices the pointers
    // and strides describe (checked above), `out` is borrowed mutably and so aliases neither.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            threads,
        )
    }
}

/// Threads for a GEMM of `flops / 2` multiply-adds: rayon's natively once it is worth it, unless
/// on a team (whose threads are busy with it).
fn parallelism(work: usize) -> Parallelism {
    #[cfg(not(target_family = "wasm"))]
    if work >= 1 << 20 && threads::team_size().is_none() {
        return Parallelism::Rayon(rayon::current_num_threads());
    }
    let _ = work;
    Parallelism::None
}

/// Runs `f(index, chunk)` over the `len`-float chunks of `y` (the last may be shorter): in
/// parallel natively ([`threads`]), in order in wasm.
fn for_each_chunk(y: &mut [f32], len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let (total, out) = (y.len(), SendPtr(y.as_mut_ptr()));
    threads::for_each_task(total.div_ceil(len), |i| {
        let start = i * len;
        // SAFETY: `start..start + n` lies inside `y`, which is borrowed mutably for this call,
        // and each task index (so each chunk) is handed out exactly once.
        let chunk = unsafe { std::slice::from_raw_parts_mut(out.get().add(start), len.min(total - start)) };
        f(i, chunk);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an image leaves in the kept buffers and this thread's bands, and that
    /// `wipe_scratch` overwrites all of it (the wasm engine's promise for a forgotten photo).
    #[test]
    fn wipe_scratch_leaves_no_activation_behind() {
        let bytes = std::fs::read(crate::encoder::default_weights_path()).expect("converted weights (./dev setup)");
        let net = CpuLite0::from_weights(&WeightFile::parse(bytes).unwrap()).unwrap();
        let image: Vec<f32> = (0..INPUT_LEN).map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0).collect();
        let out = net.encode(&image).unwrap();
        let nonzero = |net: &CpuLite0| {
            let kept: usize =
                net.scratch.lock().unwrap().iter().flatten().map(|b| b.iter().filter(|v| **v != 0.0).count()).sum();
            let bands: usize =
                SCRATCH.with_borrow(|bufs| bufs.iter().map(|b| b.iter().filter(|v| **v != 0.0).count()).sum());
            (kept, bands)
        };
        let (kept, bands) = nonzero(&net);
        assert!(kept > 100_000 && bands > 0, "the image left activations ({kept} kept, {bands} in bands)");
        // The last layer's activations are the encoding before its mean: find them.
        let head = net.scratch.lock().unwrap()[0][1][..49 * ENCODING_DIM].to_vec();
        let mean = (0..ENCODING_DIM).map(|c| (0..49).map(|p| head[p * ENCODING_DIM + c]).sum::<f32>() / 49.0);
        assert!(mean.zip(out.encoding(0)).all(|(m, e)| m == *e), "the kept buffers hold the encoding's activations");
        net.wipe_scratch();
        assert_eq!(nonzero(&net), (0, 0));
    }

    #[test]
    fn relu6_clamps_both_ends() {
        let v: Vec<f32> = [-1.0, 0.0, 3.5, 6.0, 7.25].into_iter().map(relu6).collect();
        assert_eq!(v, [0.0, 0.0, 3.5, 6.0, 6.0]);
    }

    #[test]
    fn epilogue_adds_bias_then_skip_or_clamps() {
        let mut out = vec![1.0, 7.0, -3.0, 2.0];
        epilogue(&mut out, &[0.5, -0.5], None, true);
        assert_eq!(out, [1.5, 6.0, 0.0, 1.5]);
        let mut out = vec![1.0, 7.0, -3.0, 2.0];
        epilogue(&mut out, &[0.5, -0.5], Some(&[10.0, 20.0, 30.0, 40.0]), false);
        assert_eq!(out, [11.5, 26.5, 27.5, 41.5]);
    }

    #[test]
    fn matmul_overwrites_the_output() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]; what was in `out` is gone.
        let mut out = vec![1.0; 4];
        matmul(&mut out, &[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 2, 2, Parallelism::None);
        assert_eq!(out, [19.0, 22.0, 43.0, 50.0]);
    }

    /// Every pixel path (border, one, two and four at a time) and channel block (64, 32, 16, 1)
    /// against a plain f64 reference with TF-SAME padding.
    #[test]
    fn depthwise_matches_reference_on_every_path() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for &(c, k, s, side) in &[(112, 3, 1, 11), (48, 5, 1, 9), (17, 5, 2, 13), (96, 3, 2, 10), (64, 5, 1, 7)] {
            let x: Vec<f32> = (0..side * side * c).map(|_| rng.random::<f32>() * 2.0 - 0.5).collect();
            let weight: Vec<f32> = (0..k * k * c).map(|_| rng.random::<f32>() - 0.5).collect();
            let bias: Vec<f32> = (0..c).map(|_| rng.random::<f32>() - 0.5).collect();
            let dw = Depthwise { channels: c, kernel: k, stride: s, weight: floats(&weight), bias: floats(&bias) };
            let out_side = side.div_ceil(s);
            let mut y = vec![f32::NAN; out_side * out_side * c];
            // In two ranges, cut inside a row.
            let cut = out_side * out_side / 2 + 1;
            let (first, second) = y.split_at_mut(cut * c);
            dw.forward_pixels(&x, side, 0..cut, first);
            dw.forward_pixels(&x, side, cut..out_side * out_side, second);
            let (pad, _) = same_padding(side, k, s);
            for oy in 0..out_side {
                for ox in 0..out_side {
                    for ch in 0..c {
                        let mut want = dw.bias[ch] as f64;
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = ((oy * s + ky).wrapping_sub(pad), (ox * s + kx).wrapping_sub(pad));
                                if iy < side && ix < side {
                                    want +=
                                        x[(iy * side + ix) * c + ch] as f64 * dw.weight[(ky * k + kx) * c + ch] as f64;
                                }
                            }
                        }
                        let got = y[(oy * out_side + ox) * c + ch] as f64;
                        assert!(
                            (got - want.clamp(0.0, 6.0)).abs() < 1e-5,
                            "c{c} k{k} s{s} side{side} ({oy}, {ox}, {ch}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// A block's one pass — a band at a time or not, and its tail — gives the same bits as its
    /// layers one after the other (bands of 10 and 18 rows here, with shared input rows; with and
    /// without a residual; packed and portable kernels), on one thread and on teams of two and
    /// three.
    #[test]
    fn a_block_pass_equals_its_layers() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let (side, input, mid, next) = (60, 8, 96, 40);
        let x: Vec<f32> = (0..side * side * input).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        for (k, s, output, in_bands) in [(3, 2, 24, true), (5, 1, input, true), (5, 1, input, false), (3, 2, 24, false)]
        {
            let mut r = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random::<f32>() - 0.5).collect() };
            // The packed kernels with the 3×3 cases, the portable ones (CPUs without them) with 5×5.
            let conv = |w, b, i, o| if k == 3 { Pointwise::new(w, b, i, o) } else { Pointwise::portable(w, b, i, o) };
            let expand = conv(r(input * mid), r(mid), input, mid);
            let depthwise = Depthwise {
                channels: mid,
                kernel: k,
                stride: s,
                weight: floats(&r(k * k * mid)),
                bias: floats(&r(mid)),
            };
            let project = conv(r(mid * output), r(output), mid, output);
            let tail = conv(r(output * next), r(next), output, next);
            let block = Block { expand: Some(expand), depthwise, project, skip: s == 1, in_bands };
            let out_side = side.div_ceil(s);
            let out_pixels = out_side * out_side;
            let mut expanded = vec![0.0; side * side * mid];
            block.expand.as_ref().unwrap().forward(&x, &mut expanded, None, true);
            let mut convolved = vec![0.0; out_pixels * mid];
            block.depthwise.forward_pixels(&expanded, side, 0..out_pixels, &mut convolved);
            let mut want = vec![0.0; out_pixels * output];
            block.project.forward(&convolved, &mut want, block.skip.then_some(&x[..]), false);
            let mut want_tail = vec![0.0; out_pixels * next];
            tail.forward(&want, &mut want_tail, None, true);
            let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
            for size in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(size).build().expect("thread pool");
                let (mut got, mut got_tail) = (vec![f32::NAN; want.len()], vec![f32::NAN; want_tail.len()]);
                let got_side = pool.install(|| {
                    threads::with_team(|| {
                        let tail = Tail::new(Some(&tail), &mut got_tail, out_pixels);
                        block.forward(&x, &expanded, side, &mut got, tail.as_ref())
                    })
                });
                assert_eq!(got_side, out_side);
                let case = format!("k{k} s{s} in bands {in_bands}, {size} threads");
                assert!(same(&got, &want) && same(&got_tail, &want_tail), "{case}");
            }
        }
    }

    /// The portable `gemm` path (CPUs without the packed tiles) and the default kernel agree, in
    /// parallel and serially, with a skip connection and with ReLU6.
    #[test]
    fn portable_and_default_pointwise_agree() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        for &(rows, input, output) in &[(700, 24, 144), (49, 1152, 192), (3, 1280, 1000)] {
            let mut r =
                |n: usize, scale: f32| -> Vec<f32> { (0..n).map(|_| (rng.random::<f32>() - 0.5) * scale).collect() };
            let (w, b, x, skip) = (r(input * output, 0.2), r(output, 1.0), r(rows * input, 2.0), r(rows * output, 4.0));
            let (default, portable) =
                (Pointwise::new(w.clone(), b.clone(), input, output), Pointwise::portable(w, b, input, output));
            for (with_skip, relu6) in [(true, false), (false, true)] {
                let mut y = [vec![0.0; rows * output], vec![0.0; rows * output]];
                default.forward(&x, &mut y[0], with_skip.then_some(&skip[..]), relu6);
                portable.forward(&x, &mut y[1], with_skip.then_some(&skip[..]), relu6);
                let close = y[0].iter().zip(&y[1]).all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + b.abs()));
                assert!(close, "{rows}×{input}→{output} skip {with_skip} relu6 {relu6}");
                if !with_skip {
                    let mut serial = vec![0.0; rows * output];
                    portable.forward_serial(&x, &mut serial, None, relu6);
                    assert_eq!(serial, y[1]);
                    default.forward_serial(&x, &mut serial, None, relu6);
                    assert_eq!(serial, y[0]);
                }
            }
        }
    }

    #[test]
    fn depthwise_pads_tf_same_by_skipping_taps() {
        // One channel, 3×3 kernel of 0.5, stride 2 on a 4×4 input of ones: TF-SAME pads 0 before
        // and 1 after, so the output windows hold 9, 6, 6 and 4 real taps.
        let dw = Depthwise { channels: 1, kernel: 3, stride: 2, weight: floats(&[0.5; 9]), bias: floats(&[0.0]) };
        let x = vec![1.0; 16];
        let mut y = vec![0.0; 4];
        dw.forward_pixels(&x, 4, 0..4, &mut y);
        assert_eq!(y, [4.5, 3.0, 3.0, 2.0]);
    }
}
