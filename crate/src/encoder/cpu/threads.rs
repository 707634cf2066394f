//! How many threads the kernels' parallel loops may use: rayon's natively, one in wasm (no
//! threads without cross-origin isolation; the package spreads photos over Workers instead).

/// Threads the parallel loops may use.
pub(super) fn threads() -> usize {
    #[cfg(not(target_family = "wasm"))]
    return rayon::current_num_threads();
    #[cfg(target_family = "wasm")]
    1
}
