//! Order statistics of the benchmarks' timings.

/// The `q` quantile of `v` (sorted in place) by the nearest rank `round((len - 1)·q)`; the
/// median is `q = 0.5` (the upper one for an even count). 0 for an empty slice.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}
