//! Closed-form ridge regression onto one-hot labels with an unpenalised intercept, in f64 with
//! fixed-lane dot products ([`crate::lanes`]) and a Cholesky solve: dual `m x m` when the
//! adapter has at most `dim` members (its Gram matrix cached between trainings), primal
//! `dim x dim` otherwise. Plain loops in a fixed order, so bitwise reproducible everywhere.

use multiversion::multiversion;

use crate::lanes::reduce;

/// f64 accumulator lanes of every dot product in the ridge solver (see [`crate::lanes`]).
const LANES: usize = 8;

/// `<a, b>` in fixed f64 lanes, of f64 or f32 vectors (f32 → f64 is exact, and so is the
/// product of two f32s in f64); symmetric bit for bit.
#[inline(always)]
fn dot<T: Copy + Into<f64>>(a: &[T], b: &[T]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    for (x, y) in ac.iter().zip(bc) {
        step(&mut acc, x, y);
    }
    for (l, (&x, &y)) in at.iter().zip(bt).enumerate() {
        acc[l] += x.into() * y.into();
    }
    reduce(acc)
}

/// One lane step of [`dot`]: `acc[l] += x[l] · y[l]`.
#[inline(always)]
fn step<T: Copy + Into<f64>>(acc: &mut [f64; LANES], x: &[T; LANES], y: &[T; LANES]) {
    for l in 0..LANES {
        acc[l] += x[l].into() * y[l].into();
    }
}

/// `[dot(a, b[0]), …, dot(a, b[3])]`, bit for bit, in one pass over `a`.
#[inline(always)]
fn dot_f32_x4(a: &[f32], b: [&[f32]; 4]) -> [f64; 4] {
    let (ac, at) = a.as_chunks::<LANES>();
    let (b0, b1, b2, b3) = (
        b[0].as_chunks::<LANES>().0,
        b[1].as_chunks::<LANES>().0,
        b[2].as_chunks::<LANES>().0,
        b[3].as_chunks::<LANES>().0,
    );
    let (mut a0, mut a1, mut a2, mut a3) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
    for ((((x, y0), y1), y2), y3) in ac.iter().zip(b0).zip(b1).zip(b2).zip(b3) {
        step(&mut a0, x, y0);
        step(&mut a1, x, y1);
        step(&mut a2, x, y2);
        step(&mut a3, x, y3);
    }
    let acc = [a0, a1, a2, a3];
    let tail = ac.len() * LANES;
    std::array::from_fn(|t| {
        let mut lanes = acc[t];
        for (l, (x, y)) in at.iter().zip(&b[t][tail..]).enumerate() {
            lanes[l] += *x as f64 * *y as f64;
        }
        reduce(lanes)
    })
}

/// Rows of the panel tile in [`factor`]: 4 rows x 4 columns of dot products share their loads.
const TILE: usize = 4;

/// `L[i][j] = (A[i][j] - <L_i[..j], L_j[..j]>) / L[j][j]`, the dot exactly as [`dot`].
#[inline(always)]
fn entry(a: &mut [f64], n: usize, i: usize, j: usize) {
    let (upper, lower) = a.split_at_mut(i * n);
    let (row_j, row_i) = (&upper[j * n..j * n + j + 1], &mut lower[..n]);
    row_i[j] = (row_i[j] - dot(&row_i[..j], &row_j[..j])) / row_j[j];
}

/// In-place Cholesky factor (lower triangle) of a symmetric positive-definite `n x n` matrix.
/// False, part way, when a pivot falls below `floor`: for `K + lambda I` with `K` positive
/// semi-definite every pivot is at least `lambda` in exact arithmetic, so a computed one below
/// `lambda / 2` means round-off has taken over and the factor would be meaningless.
///
/// Every entry has the bits of the plain column-by-column loop (`L[j][j]` from `dot(L_j, L_j)`,
/// then `L[i][j]` for `i > j`), which is what makes a forget's re-solve equal a fresh one. The
/// speed comes from the order only: columns go in blocks of [`TILE`] starting at a multiple of
/// [`TILE`], and below the block [`TILE`] rows at a time, whose dots over the shared full lane
/// chunks (`< 8 * floor(j0 / 8)`, all final) run together in registers; each entry then adds its
/// own tail of fewer than [`LANES`] terms in lane order and is reduced as [`dot`] reduces it.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn factor(a: &mut [f64], n: usize, floor: f64) -> bool {
    for j0 in (0..n).step_by(TILE) {
        let jb = TILE.min(n - j0);
        for j in j0..j0 + jb {
            let row_j = &a[j * n..j * n + j];
            let pivot = a[j * n + j] - dot(row_j, row_j);
            if pivot.is_nan() || pivot < floor {
                return false;
            }
            a[j * n + j] = pivot.sqrt();
            for i in j + 1..j0 + jb {
                entry(a, n, i, j);
            }
        }
        let shared = j0 / LANES;
        let mut i0 = j0 + jb;
        while i0 + TILE <= n && jb == TILE {
            let mut acc = [[[0.0f64; LANES]; TILE]; TILE];
            for q in 0..shared {
                let span = q * LANES..(q + 1) * LANES;
                let ri: [&[f64; LANES]; TILE] =
                    std::array::from_fn(|r| a[(i0 + r) * n..][span.clone()].try_into().expect("lane chunk"));
                let rj: [&[f64; LANES]; TILE] =
                    std::array::from_fn(|s| a[(j0 + s) * n..][span.clone()].try_into().expect("lane chunk"));
                for r in 0..TILE {
                    for s in 0..TILE {
                        step(&mut acc[r][s], ri[r], rj[s]);
                    }
                }
            }
            for s in 0..TILE {
                let j = j0 + s;
                for (r, lanes) in acc.iter_mut().enumerate() {
                    let i = i0 + r;
                    let lanes = &mut lanes[s];
                    for (l, t) in (shared * LANES..j).enumerate() {
                        lanes[l] += a[i * n + t] * a[j * n + t];
                    }
                    a[i * n + j] = (a[i * n + j] - reduce(*lanes)) / a[j * n + j];
                }
            }
            i0 += TILE;
        }
        for j in j0..j0 + jb {
            for i in i0.max(j + 1)..n {
                entry(a, n, i, j);
            }
        }
    }
    true
}

/// In-place Cholesky of a symmetric positive-definite `n x n` matrix (lower triangle), then
/// solves `A X = B` for `B` of shape `[n, c]` in place. False when the factor fails (`factor`).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(super) fn cholesky_solve(a: &mut [f64], n: usize, b: &mut [f64], c: usize, floor: f64) -> bool {
    if !factor(a, n, floor) {
        return false;
    }
    // All c right-hand sides per row, each still summed over k in ascending order (the bits of
    // one column at a time); the upper triangle takes L^T so the back substitution reads rows.
    let mut s = vec![0.0f64; c];
    for i in 0..n {
        s.copy_from_slice(&b[i * c..(i + 1) * c]);
        for k in 0..i {
            let l = a[i * n + k];
            for (v, &x) in s.iter_mut().zip(&b[k * c..(k + 1) * c]) {
                *v -= l * x;
            }
        }
        let d = a[i * n + i];
        for (x, v) in b[i * c..(i + 1) * c].iter_mut().zip(&s) {
            *x = v / d;
        }
    }
    for i in 0..n {
        for k in i + 1..n {
            a[i * n + k] = a[k * n + i];
        }
    }
    for i in (0..n).rev() {
        s.copy_from_slice(&b[i * c..(i + 1) * c]);
        for k in i + 1..n {
            let l = a[i * n + k];
            for (v, &x) in s.iter_mut().zip(&b[k * c..(k + 1) * c]) {
                *v -= l * x;
            }
        }
        let d = a[i * n + i];
        for (x, v) in b[i * c..(i + 1) * c].iter_mut().zip(&s) {
            *x = v / d;
        }
    }
    true
}

/// Raw (uncentred) Gram matrix `K[i][j] = <x_i, x_j>` of an adapter's members in canonical
/// order, with their ids, kept between trainings (a cache, never part of the model's state).
#[derive(Debug, Clone, Default)]
pub struct Gram {
    ids: Vec<String>,
    pub(super) k: Vec<f64>,
}

impl Gram {
    /// The Gram matrix of `xs`, copying entries for ids already in `cache` (when `ids` is
    /// given) and computing the rest.
    #[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
    pub(super) fn build(xs: &[&[f32]], ids: &[&str], cache: Option<&Gram>) -> Gram {
        let m = xs.len();
        let old: std::collections::HashMap<&str, usize> = match cache {
            Some(g) if ids.len() == m => g.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect(),
            _ => Default::default(),
        };
        let pos: Vec<Option<usize>> = (0..m).map(|i| ids.get(i).and_then(|id| old.get(id).copied())).collect();
        let om = cache.map_or(0, |g| g.ids.len());
        let mut k = vec![0.0f64; m * m];
        let mut todo = Vec::with_capacity(m);
        for i in 0..m {
            todo.clear();
            for j in 0..=i {
                match (pos[i], pos[j], cache) {
                    (Some(a), Some(b), Some(g)) => k[i * m + j] = g.k[a * om + b],
                    _ => todo.push(j),
                }
            }
            // Four dot products per pass over x_i (independent accumulators); each is computed
            // exactly as `dot` computes it alone.
            let mut quads = todo.chunks_exact(4);
            for q in &mut quads {
                let v = dot_f32_x4(xs[i], [xs[q[0]], xs[q[1]], xs[q[2]], xs[q[3]]]);
                for (&j, v) in q.iter().zip(v) {
                    k[i * m + j] = v;
                }
            }
            for &j in quads.remainder() {
                k[i * m + j] = dot(xs[i], xs[j]);
            }
            for j in 0..i {
                k[j * m + i] = k[i * m + j];
            }
        }
        Gram { ids: ids.iter().map(|s| s.to_string()).collect(), k }
    }
}

/// The smallest lambda worth a retry after an unsound solve: 1e-10 of the members' summed
/// squared norms, the scale of every entry of the raw Gram matrix and of the round-off that
/// centring it leaves (and a bound on every entry of the primal matrix). Cholesky's round-off in
/// a pivot stays below about `n * 1.1e-16` of it, `n <= dim`: far below 1e-10 for any encoding
/// size here.
pub(super) fn round_off_lambda(xs: &[&[f32]]) -> f64 {
    1e-10 * xs.iter().map(|x| x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>()).sum::<f64>()
}

/// Member mean, label frequencies and centred one-hot targets `[m, c]`.
pub(super) fn centre(xs: &[&[f32]], targets: &[usize], c: usize, dim: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let m = xs.len();
    let mut mean = vec![0.0f64; dim];
    for x in xs {
        for (s, &v) in mean.iter_mut().zip(x.iter()) {
            *s += v as f64;
        }
    }
    mean.iter_mut().for_each(|s| *s /= m as f64);
    let mut ybar = vec![0.0f64; c];
    for &t in targets {
        ybar[t] += 1.0 / m as f64;
    }
    let mut yc = vec![0.0f64; m * c];
    for (i, &t) in targets.iter().enumerate() {
        for j in 0..c {
            yc[i * c + j] = if j == t { 1.0 } else { 0.0 } - ybar[j];
        }
    }
    (mean, ybar, yc)
}

/// Intercept `b = ybar - mean W`, and both to f32; None when any of them is not finite in f32.
fn finish(w: Vec<f64>, mean: &[f64], ybar: &[f64], c: usize) -> Option<(Vec<f32>, Vec<f32>)> {
    let dim = mean.len();
    let b: Vec<f32> =
        (0..c).map(|j| (ybar[j] - (0..dim).map(|f| mean[f] * w[f * c + j]).sum::<f64>()) as f32).collect();
    let w: Vec<f32> = w.into_iter().map(|v| v as f32).collect();
    w.iter().chain(&b).all(|v| v.is_finite()).then_some((w, b))
}

/// Ridge regression with intercept onto one-hot targets, its system assembled once — the costly
/// part, O(m^2 d) or O(m d^2) — so that [`RidgeSystem::solve`] can be called again at a larger
/// lambda without rebuilding it. In one of two forms:
/// * dual (for m <= dim): `(Kc + lambda I) A = Yc`, `W = Xc^T A`, where `Kc = H K H` is the
///   centred raw Gram matrix;
/// * primal (for m > dim): `(Xc^T Xc + lambda I) W = Xc^T Yc` on feature columns.
pub(super) struct RidgeSystem<'a> {
    xs: &'a [&'a [f32]],
    mean: Vec<f64>,
    ybar: Vec<f64>,
    c: usize,
    /// The matrix without lambda on its diagonal, `n x n`.
    matrix: Vec<f64>,
    n: usize,
    /// The right-hand sides, `[n, c]`: `Yc` (dual) or `Xc^T Yc` (primal).
    rhs: Vec<f64>,
    dual: bool,
}

impl<'a> RidgeSystem<'a> {
    /// The dual system, centred from the raw Gram matrix `gram` of `xs`.
    pub(super) fn dual(xs: &'a [&'a [f32]], targets: &[usize], c: usize, dim: usize, gram: &Gram) -> Self {
        let raw = &gram.k;
        let m = xs.len();
        let (mean, ybar, yc) = centre(xs, targets, c, dim);
        // Centring from K itself keeps the O(m^2 d) part cacheable: Kc_ij = K_ij - r_i - r_j + t.
        let r: Vec<f64> = (0..m).map(|i| raw[i * m..(i + 1) * m].iter().sum::<f64>() / m as f64).collect();
        let t = r.iter().sum::<f64>() / m as f64;
        let mut k = vec![0.0f64; m * m];
        for i in 0..m {
            for j in 0..m {
                k[i * m + j] = raw[i * m + j] - r[i] - r[j] + t;
            }
        }
        RidgeSystem { xs, mean, ybar, c, matrix: k, n: m, rhs: yc, dual: true }
    }

    /// The primal system of `xs`.
    pub(super) fn primal(xs: &'a [&'a [f32]], targets: &[usize], c: usize, dim: usize) -> Self {
        let (mean, ybar, yc) = centre(xs, targets, c, dim);
        let (matrix, rhs) = primal_parts(xs, &mean, &yc, c);
        RidgeSystem { xs, mean, ybar, c, matrix, n: dim, rhs, dual: false }
    }

    /// (W `[dim, c]`, b `[c]`) at `lambda`; None when the solve is not numerically sound there
    /// (see [`factor`]).
    pub(super) fn solve(&self, lambda: f64) -> Option<(Vec<f32>, Vec<f32>)> {
        let (n, c) = (self.n, self.c);
        let mut a = self.matrix.clone();
        for i in 0..n {
            a[i * n + i] += lambda;
        }
        let mut b = self.rhs.clone();
        if !cholesky_solve(&mut a, n, &mut b, c, lambda / 2.0) {
            return None;
        }
        let w = if self.dual { dual_weights(self.xs, &self.mean, &b, c) } else { b };
        finish(w, &self.mean, &self.ybar, c)
    }
}

/// `W = Xc^T A` as `[dim, c]`: label-major axpys over the feature axis (vectorised), each entry
/// still summed over members in order — the same bits as the plain triple loop.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(super) fn dual_weights(xs: &[&[f32]], mean: &[f64], a: &[f64], c: usize) -> Vec<f64> {
    let dim = mean.len();
    let mut wt = vec![0.0f64; c * dim];
    let mut xc = vec![0.0f64; dim];
    for (i, x) in xs.iter().enumerate() {
        for ((d, &v), &mu) in xc.iter_mut().zip(x.iter()).zip(mean) {
            *d = v as f64 - mu;
        }
        for (j, row) in wt.chunks_exact_mut(dim).enumerate() {
            let aij = a[i * c + j];
            for (w, &v) in row.iter_mut().zip(&xc) {
                *w += v * aij;
            }
        }
    }
    let mut w = vec![0.0f64; dim * c];
    for (j, row) in wt.chunks_exact(dim).enumerate() {
        for (f, &v) in row.iter().enumerate() {
            w[f * c + j] = v;
        }
    }
    w
}

/// `Xc^T Xc` and `Xc^T Yc` of the primal form, feature by feature.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn primal_parts(xs: &[&[f32]], mean: &[f64], yc: &[f64], c: usize) -> (Vec<f64>, Vec<f64>) {
    let dim = mean.len();
    let cols: Vec<Vec<f64>> = (0..dim).map(|f| xs.iter().map(|x| x[f] as f64 - mean[f]).collect()).collect();
    let mut g = vec![0.0f64; dim * dim];
    for a in 0..dim {
        for b in 0..=a {
            let v = dot(&cols[a], &cols[b]);
            g[a * dim + b] = v;
            g[b * dim + a] = v;
        }
    }
    let mut w = vec![0.0f64; dim * c];
    for f in 0..dim {
        for (i, &v) in cols[f].iter().enumerate() {
            for j in 0..c {
                w[f * c + j] += v * yc[i * c + j];
            }
        }
    }
    (g, w)
}

/// Ridge regression with intercept onto one-hot targets; returns (W `[dim, c]`, b `[c]`).
#[cfg(test)]
pub(super) fn ridge(
    xs: &[&[f32]],
    targets: &[usize],
    c: usize,
    dim: usize,
    lambda: f64,
) -> Option<(Vec<f32>, Vec<f32>)> {
    if xs.len() <= dim {
        RidgeSystem::dual(xs, targets, c, dim, &Gram::build(xs, &[], None)).solve(lambda)
    } else {
        RidgeSystem::primal(xs, targets, c, dim).solve(lambda)
    }
}
