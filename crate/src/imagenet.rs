//! The 1000 ImageNet-1k class names (index order) and top-k over logits.
//!
//! Names from the npm package `@tensorflow-models/mobilenet` 2.1.1 (Apache-2.0, Google LLC).

use serde::Serialize;
use std::sync::OnceLock;

const CLASSES_TXT: &str = include_str!("../assets/imagenet_classes.txt");

/// Number of ImageNet classes the encoder's classifier predicts.
pub const NUM_CLASSES: usize = 1000;

/// All class names, each the full synonym list (e.g. `"tiger cat"`, `"tabby, tabby cat"`).
pub fn class_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let names: Vec<&str> = CLASSES_TXT.lines().collect();
        assert_eq!(names.len(), NUM_CLASSES, "embedded class list is corrupt");
        names
    })
}

/// One ranked class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageNetClass {
    /// ImageNet class index, 0..1000.
    pub index: usize,
    /// The class's first (most common) name.
    pub label: String,
    /// Softmax probability.
    pub probability: f32,
}

/// The `k` most probable classes of one logit row, best first (ties by lower index).
pub fn top_k(logits: &[f32], k: usize) -> Vec<ImageNetClass> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // Sum in f64: 1000 terms, and the probabilities are printed.
    let denom: f64 = logits.iter().map(|&z| ((z - max) as f64).exp()).sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|index| ImageNetClass {
            index,
            label: class_names()
                .get(index)
                .map(|n| n.split(',').next().unwrap_or(n).trim().to_string())
                .unwrap_or_default(),
            probability: (((logits[index] - max) as f64).exp() / denom) as f32,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_top_k() {
        assert_eq!(class_names()[282], "tiger cat");
        let mut logits = vec![0.0f32; NUM_CLASSES];
        logits[967] = 5.0;
        logits[3] = 5.0;
        let top = top_k(&logits, 3);
        assert_eq!(top.iter().map(|p| p.index).collect::<Vec<_>>(), vec![3, 967, 0]);
        assert_eq!(top[1].label, "espresso");
        let total: f32 = top_k(&logits, NUM_CLASSES).iter().map(|p| p.probability).sum();
        assert!((total - 1.0).abs() < 1e-4);
    }
}
