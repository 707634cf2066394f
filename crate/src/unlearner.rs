//! The verbs every unlearning method here shares ([`Unlearner`]), what they report, and the
//! ensemble rule, so one benchmark (and the demo's comparison) drives LegoNet and the baselines
//! the same way.

use crate::head::AdapterParams;
use crate::{Error, Result};

/// What a `train` call did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainReport {
    /// Adapters retrained (empty adapters are cleared, not counted).
    pub adapters_trained: usize,
    /// Samples fed to training (a sample in k retrained adapters counts k times; of an adapter
    /// over the member cap, only the shards re-solved count).
    pub samples_replayed: usize,
    /// Parameters produced by the retraining.
    pub params_trained: usize,
    /// Whether the sample count crossed a capacity level, so the keys were re-dealt, every
    /// sample re-routed and every adapter retrained.
    pub restructured: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: f64,
}

/// What a `forget` (or `remove_class`) call cost.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForgetReport {
    /// Samples removed.
    pub forgotten: usize,
    /// Adapters retrained from scratch on their surviving members.
    pub adapters_retrained: usize,
    /// Which adapters were touched (retrained, or cleared when no member survived), ascending.
    pub adapters: Vec<usize>,
    /// Samples replayed by that retraining (of an adapter over the member cap, those of the
    /// shards re-solved: the forgotten sample's, or all of them when the shard count changed).
    pub samples_replayed: usize,
    /// Parameters retrained.
    pub params_retrained: usize,
    /// Whether the forget crossed a capacity level (every adapter retrained, all counted above).
    pub restructured: bool,
    /// Wall time in milliseconds (removal + retraining).
    pub elapsed_ms: f64,
}

/// Result of `verify`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Adapters replayed and compared.
    pub adapters_checked: usize,
    /// Indices of adapters whose stored parameters differ (in any bit) from the replay.
    pub mismatches: Vec<usize>,
}

impl VerifyReport {
    /// True when every adapter matched bitwise.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A prediction: the winning label and every candidate label's ensemble score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// The label with the highest score.
    pub label: String,
    /// (label, score), highest first, ties by label.
    pub scores: Vec<(String, f32)>,
    /// Adapters that voted.
    pub adapters: Vec<usize>,
}

/// The verbs shared by LegoNet and the baselines, so one benchmark (and the demo) drives them
/// all the same way.
pub trait Unlearner {
    /// Short method name (`legonet`, `retrain`, `fixsisa`, `knn`).
    fn method(&self) -> &'static str;
    /// Stores a sample (not trained until `train`).
    fn add(&mut self, id: &str, encoding: &[f32], label: &str) -> Result<()>;
    /// Brings every part of the model up to date with the stored samples.
    fn train(&mut self) -> Result<TrainReport>;
    /// Classifies one encoding.
    fn predict(&self, encoding: &[f32]) -> Result<Prediction>;
    /// Removes samples and retrains what they touched; all-or-nothing.
    fn forget(&mut self, ids: &[&str]) -> Result<ForgetReport>;
    /// Number of stored samples.
    fn len(&self) -> usize;
    /// True when no sample is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Members per trained unit (adapter, shard; one row per sample for KNN).
    fn members_per_adapter(&self) -> Vec<usize>;
    /// (trained units, units each sample activates): (n, k) for LegoNet, (shards, 1) for
    /// Retrain and FixSISA, (classes, 1) for NCM, (rows, 1) for KNN.
    fn structure(&self) -> (usize, usize) {
        (self.members_per_adapter().len(), 1)
    }
}

/// Milliseconds since the first call, from a monotonic clock (`web_time` maps it to
/// `performance.now()` in browsers, where `std::time::Instant` panics).
pub(crate) fn now_ms() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<web_time::Instant> = OnceLock::new();
    START.get_or_init(web_time::Instant::now).elapsed().as_secs_f64() * 1e3
}

/// Ensemble rule shared with the baselines: the trained units `used` (indices into `params`)
/// score `encoding`; each label's score is their weighted mean, `weights` parallel to `used`
/// (0 where a unit lacks the label). Unit weights give the plain mean, bit for bit.
pub(crate) fn ensemble(
    params: &[Option<AdapterParams>],
    used: Vec<usize>,
    weights: &[f64],
    encoding: &[f32],
) -> Result<Prediction> {
    let mut sums: std::collections::BTreeMap<&str, f64> = Default::default();
    for (&i, &w) in used.iter().zip(weights) {
        let p = params[i].as_ref().expect("only trained units vote");
        for (l, v) in p.labels.iter().zip(p.predict(encoding)) {
            *sums.entry(l.as_str()).or_default() += w * v as f64;
        }
    }
    if used.is_empty() {
        return Err(Error::EmptyModel);
    }
    let n: f64 = weights[..used.len()].iter().sum();
    let mut scores: Vec<(String, f32)> = sums.into_iter().map(|(l, s)| (l.to_string(), (s / n) as f32)).collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Prediction { label: scores[0].0.clone(), scores, adapters: used })
}
