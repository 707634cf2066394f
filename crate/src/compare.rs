//! The same data and the same forget under LegoNet and each baseline (Retrain, FixSISA, KNN),
//! so an app can show why LegoNet exists: what a forget costs and what accuracy each keeps.
//!
//! Held-out fold: a sample is a test sample when SHA-256 of its id falls in fold 0 of 5 (stable
//! whatever the insertion order); the samples to forget are always training samples. Every
//! method trains from scratch on the training samples, is scored on the test fold, then forgets.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::baselines::{Knn, Sharded};
use crate::model::LegoNet;
use crate::unlearner::{Unlearner, now_ms};
use crate::{Error, Result};

/// Number of folds; one of them is held out.
const FOLDS: u8 = 5;
/// Fewest FixSISA shards compared (small models have a single adapter).
const FIXSISA_MIN_SHARDS: usize = 8;
/// Neighbours of the KNN baseline.
pub const KNN_K: usize = 3;

/// One method's costs and accuracy on the shared data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompareRow {
    /// `legonet`, `retrain`, `fixsisa` or `knn`.
    pub method: String,
    /// Training samples.
    pub n_train: usize,
    /// Held-out samples scored.
    pub n_test: usize,
    /// Accuracy on the held-out fold (None when the fold is empty).
    pub accuracy: Option<f64>,
    /// Wall time of training from scratch.
    pub train_ms: f64,
    /// Wall time of the forget.
    pub forget_ms: f64,
    /// Adapters / shards retrained by the forget.
    pub adapters_retrained: usize,
    /// Samples replayed by the forget.
    pub samples_replayed: usize,
    /// Parameters retrained by the forget.
    pub params_retrained: usize,
}

fn held_out(id: &str) -> bool {
    Sha256::digest(id.as_bytes())[0] % FOLDS == 0
}

/// Runs the four methods on `model`'s stored samples and forgets `forget` under each (no forget,
/// and forget costs of 0, when `forget` is empty: training and accuracy only).
pub fn compare(model: &LegoNet, forget: &[&str]) -> Result<Vec<CompareRow>> {
    for id in forget {
        if model.sample(id).is_none() {
            return Err(Error::UnknownId(id.to_string()));
        }
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for id in model.ids() {
        let s = model.sample(id).expect("listed id");
        let row = (id.as_str(), s.encoding.as_slice(), s.label.as_str());
        if held_out(id) && !forget.contains(&id.as_str()) { test.push(row) } else { train.push(row) }
    }
    let cfg = model.config();
    let dim = model.keys().dim();
    let mut legonet = cfg.init(model.keys().clone())?;
    for c in model.classes() {
        legonet.add_class(c)?;
    }
    let mut methods: Vec<Box<dyn Unlearner>> = vec![
        Box::new(legonet),
        Box::new(Sharded::retrain(cfg.head.clone(), dim, cfg.seed)?),
        // As many shards as the model has adapters, but never one (that would be Retrain again).
        Box::new(Sharded::fixsisa(cfg.head.clone(), dim, model.structure().0.max(FIXSISA_MIN_SHARDS), cfg.seed)?),
        Box::new(Knn::new(KNN_K, dim)?),
    ];
    let mut rows = Vec::with_capacity(methods.len());
    for m in &mut methods {
        for &(id, x, l) in &train {
            m.add(id, x, l)?;
        }
        let t0 = now_ms();
        m.train()?;
        let train_ms = now_ms() - t0;
        let correct = test.iter().filter(|(_, x, l)| m.predict(x).is_ok_and(|p| p.label == *l)).count();
        let r = if forget.is_empty() { Default::default() } else { m.forget(forget)? };
        rows.push(CompareRow {
            method: m.method().to_string(),
            n_train: train.len(),
            n_test: test.len(),
            accuracy: (!test.is_empty()).then(|| correct as f64 / test.len() as f64),
            train_ms,
            forget_ms: r.elapsed_ms,
            adapters_retrained: r.adapters_retrained,
            samples_replayed: r.samples_replayed,
            params_retrained: r.params_retrained,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LegoNetConfig;
    use crate::model::tests::{dataset, model};

    #[test]
    fn compares_the_four_methods_on_the_same_forget() {
        let cfg = LegoNetConfig::new().fixed(8, 1);
        let mut m = model(&cfg, 3);
        let data = dataset(90, 3, 2);
        for (id, x, l) in &data {
            m.add(id, x, l).unwrap();
        }
        m.train().unwrap();
        let before = m.clone();
        let rows = compare(&m, &["s0001"]).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
            ["legonet", "retrain", "fixsisa", "knn"]
        );
        for r in &rows {
            assert_eq!(r.n_train + r.n_test, 90);
            assert!(r.n_test > 5 && r.accuracy.unwrap() > 0.8, "{r:?}");
        }
        // Retrain replays every surviving training sample; LegoNet only the touched adapters'.
        assert_eq!(rows[1].samples_replayed, rows[1].n_train - 1);
        assert!(rows[0].samples_replayed < rows[1].samples_replayed);
        assert_eq!(rows[3].samples_replayed, 0);
        assert_eq!(m, before, "the model itself is untouched");
        assert!(matches!(compare(&m, &["nope"]), Err(Error::UnknownId(_))));
        // No forget: the same training and accuracy, and no forget cost.
        let plain = compare(&m, &[]).unwrap();
        assert_eq!(plain.len(), 4);
        for p in &plain {
            assert_eq!(p.n_train + p.n_test, 90);
            assert_eq!((p.forget_ms, p.adapters_retrained, p.samples_replayed, p.params_retrained), (0.0, 0, 0, 0));
        }
    }
}
