//! The LegoNet: n independent adapters behind fixed keys, with exact forgetting.
//!
//! * `add` routes a sample to its k nearest keys ([`crate::activation`]) and marks those
//!   adapters changed; `train` retrains only changed adapters.
//! * Each adapter is trained from scratch on its members sorted by id, with a seed derived
//!   from (model seed, adapter index, key hash, encoder id): its parameters are a pure function
//!   of its member set, so after `forget` the model is bitwise the model trained from scratch on
//!   the survivors (see the tests), and `verify` can replay every adapter and compare bits.
//! * `predict` (the ensemble rule): take the k activated adapters of the encoding; drop those
//!   with no members; if none is left, use the single nearest adapter that has members. The
//!   score of a label is the sum of the used adapters' scores for it divided by the number of
//!   used adapters (an adapter that never saw the label contributes 0). The prediction is the
//!   highest score, ties broken by the smaller label.

use std::collections::BTreeSet;

use burn::config::Config;
use sha2::{Digest, Sha256};

use crate::activation;
use crate::adapter::{AdapterParams, Gram, HeadConfig};
use crate::capacity::Schedule;
use crate::keys::KeySet;
use crate::ledger::{Ledger, Sample, validate_encoding};
use crate::{Error, Result};

/// LegoNet hyper-parameters.
#[derive(Config, Debug, PartialEq)]
pub struct LegoNetConfig {
    /// Expert option: a fixed number of adapters n (with `k`). `None` (the default): n follows
    /// the number of stored samples through `schedule`.
    #[config(default = "None")]
    pub n_adapters: Option<usize>,
    /// Expert option: a fixed number of adapters each sample activates (and each prediction
    /// consults), k; set with `n_adapters` or not at all.
    #[config(default = "None")]
    pub k: Option<usize>,
    /// (n, k) by stored-sample count, used when `n_adapters` and `k` are `None`.
    #[config(default = "Schedule::default()")]
    pub schedule: Schedule,
    /// Model seed (anchor deal and per-adapter seeds).
    #[config(default = 0)]
    pub seed: u64,
    /// The adapter head.
    #[config(default = "HeadConfig::new()")]
    pub head: HeadConfig,
}

impl LegoNetConfig {
    /// A fixed structure of `n` adapters, `k` activated per sample (expert option).
    pub fn fixed(self, n: usize, k: usize) -> Self {
        self.with_n_adapters(Some(n)).with_k(Some(k))
    }

    /// Checks ranges; `max_adapters` is the number of anchors of the keys.
    pub fn validate(&self, max_adapters: usize) -> Result<()> {
        match (self.n_adapters, self.k) {
            (Some(n), Some(k)) => {
                if n == 0 || n > max_adapters {
                    return Err(Error::InvalidConfig(format!("n_adapters must be in 1..={max_adapters} (got {n})")));
                }
                if k == 0 || k > n {
                    return Err(Error::InvalidConfig(format!("k must be in 1..={n}")));
                }
            }
            (None, None) => self.schedule.validate(max_adapters)?,
            _ => return Err(Error::InvalidConfig("set both n_adapters and k, or neither".into())),
        }
        self.head.validate()
    }

    /// Whether the structure follows the data (no fixed n, k).
    pub fn is_adaptive(&self) -> bool {
        self.n_adapters.is_none()
    }

    /// (n, k) for a model holding `samples` samples: fixed, or from the schedule.
    pub fn structure(&self, samples: usize) -> (usize, usize) {
        match (self.n_adapters, self.k) {
            (Some(n), Some(k)) => (n, k),
            _ => self.schedule.at(samples),
        }
    }

    /// An empty LegoNet over the anchors of `keys` (derived by [`KeySet::derive`] from encoder
    /// `encoder_id`), dealt to the adapters of the empty model's structure.
    pub fn init(&self, keys: KeySet, encoder_id: &str) -> Result<LegoNet> {
        self.validate(keys.num_anchors())?;
        let (n, k) = self.structure(0);
        let keys = if keys.len() == n { keys } else { keys.with_adapters(n)? };
        Ok(LegoNet {
            config: self.clone(),
            encoder_id: encoder_id.to_string(),
            ledger: Ledger::new(n),
            adapters: vec![None; n],
            keys,
            k,
            classes: BTreeSet::new(),
            dirty: BTreeSet::new(),
            grams: GramCache::new(n),
        })
    }
}

/// What a `train` call did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainReport {
    /// Adapters retrained (empty adapters are cleared, not counted).
    pub adapters_trained: usize,
    /// Samples fed to training (a sample in k retrained adapters counts k times).
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
    /// Samples replayed by that retraining.
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
/// score `encoding`; each label's score is averaged over them (0 where a unit lacks the label).
pub(crate) fn ensemble(params: &[Option<AdapterParams>], used: Vec<usize>, encoding: &[f32]) -> Result<Prediction> {
    let mut sums: std::collections::BTreeMap<&str, f64> = Default::default();
    for &i in &used {
        let p = params[i].as_ref().expect("only trained units vote");
        for (l, v) in p.labels.iter().zip(p.predict(encoding)) {
            *sums.entry(l.as_str()).or_default() += v as f64;
        }
    }
    if used.is_empty() {
        return Err(Error::EmptyModel);
    }
    let n = used.len() as f64;
    let mut scores: Vec<(String, f32)> = sums.into_iter().map(|(l, s)| (l.to_string(), (s / n) as f32)).collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Prediction { label: scores[0].0.clone(), scores, adapters: used })
}

/// Per-adapter raw Gram matrices kept between trainings: speed only, never state, so they
/// are ignored by equality and not exported (a restored model rebuilds them on first retrain).
#[derive(Debug, Clone)]
pub(crate) struct GramCache(Vec<Option<Gram>>);

impl GramCache {
    pub(crate) fn new(n: usize) -> Self {
        Self(vec![None; n])
    }
}

impl PartialEq for GramCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The LegoNet model: plain data (no device, no threads), so a wasm facade can own it.
#[derive(Debug, Clone, PartialEq)]
pub struct LegoNet {
    pub(crate) config: LegoNetConfig,
    pub(crate) encoder_id: String,
    pub(crate) keys: KeySet,
    pub(crate) k: usize,
    pub(crate) classes: BTreeSet<String>,
    pub(crate) ledger: Ledger,
    pub(crate) adapters: Vec<Option<AdapterParams>>,
    pub(crate) dirty: BTreeSet<usize>,
    pub(crate) grams: GramCache,
}

impl LegoNet {
    /// The configuration.
    pub fn config(&self) -> &LegoNetConfig {
        &self.config
    }

    /// Id of the encoder whose encodings this model holds.
    pub fn encoder_id(&self) -> &str {
        &self.encoder_id
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Registered classes, sorted.
    pub fn classes(&self) -> impl Iterator<Item = &String> {
        self.classes.iter()
    }

    /// Trained parameters of adapter `i` (`None` when it has no members).
    pub fn adapter(&self, i: usize) -> Option<&AdapterParams> {
        self.adapters[i].as_ref()
    }

    /// Stored sample ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.ledger.iter().map(|(id, _)| id)
    }

    /// The stored sample under `id`.
    pub fn sample(&self, id: &str) -> Option<&Sample> {
        self.ledger.get(id)
    }

    /// Adapters with changed members not yet retrained (all of the next structure's when the
    /// sample count has crossed a capacity level since the last train).
    pub fn pending(&self) -> usize {
        if self.structure_is_current() { self.dirty.len() } else { self.target_structure().0 }
    }

    /// Registers a class name (labels passed to `add` must be registered).
    pub fn add_class(&mut self, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(Error::InvalidInput("class name must not be empty".into()));
        }
        if self.classes.contains(name) {
            return Err(Error::DuplicateClass(name.to_string()));
        }
        self.classes.insert(name.to_string());
        Ok(())
    }

    /// Forgets every sample of class `name` (retraining what they touched) and unregisters it.
    pub fn remove_class(&mut self, name: &str) -> Result<ForgetReport> {
        if !self.classes.contains(name) {
            return Err(Error::UnknownClass(name.to_string()));
        }
        let ids = self.ledger.ids_with_label(name);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let report = self.forget(&refs)?;
        self.classes.remove(name);
        Ok(report)
    }

    /// Seed of adapter `i`: SHA-256 of (model seed, index, key hash, encoder id).
    pub fn adapter_seed(&self, i: usize) -> u64 {
        let mut h = Sha256::new();
        h.update(b"legonet-adapter-seed-v1");
        h.update(self.config.seed.to_le_bytes());
        h.update((i as u64).to_le_bytes());
        h.update(self.keys.hash().as_bytes());
        h.update(self.encoder_id.as_bytes());
        let d = h.finalize();
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
    }

    /// Trains adapter `i` from scratch on its current members (`None` if it has none);
    /// `cache` only skips recomputing Gram entries (the result is bitwise the same).
    fn replay(&self, i: usize, cache: Option<&Gram>) -> Result<(Option<AdapterParams>, Option<Gram>)> {
        let ids: Vec<&str> = self.ledger.members(i).map(String::as_str).collect();
        let members: Vec<(&[f32], &str)> = ids
            .iter()
            .map(|id| {
                let s = self.ledger.get(id).expect("inverse index points at stored samples");
                (s.encoding.as_slice(), s.label.as_str())
            })
            .collect();
        if members.is_empty() {
            return Ok((None, None));
        }
        let (p, g) = self.config.head.train_cached(&members, &ids, cache, self.keys.dim(), self.adapter_seed(i))?;
        Ok((Some(p), g))
    }

    /// Members per adapter (index order).
    pub fn member_counts(&self) -> Vec<usize> {
        self.ledger.member_counts()
    }

    /// Verifies every adapter: replays it from its members and seed and compares bitwise.
    pub fn verify(&self) -> Result<VerifyReport> {
        if !self.dirty.is_empty() {
            return Err(Error::NotTrained(self.dirty.len()));
        }
        if !self.structure_is_current() {
            // Samples were added across a capacity level and not yet trained.
            return Err(Error::NotTrained(self.target_structure().0));
        }
        let mut report = VerifyReport::default();
        for i in 0..self.adapters.len() {
            // No cache: an independent replay from the raw encodings.
            let (replayed, _) = self.replay(i, None)?;
            report.adapters_checked += 1;
            let same = match (&replayed, &self.adapters[i]) {
                (None, None) => true,
                (Some(a), Some(b)) => a.labels == b.labels && a.softmax == b.softmax && a.bits().eq(b.bits()),
                _ => false,
            };
            if !same {
                report.mismatches.push(i);
            }
        }
        Ok(report)
    }

    /// SHA-256 (hex) of the canonical snapshot: equal hashes mean equal models, bit for bit.
    pub fn model_hash(&self) -> String {
        crate::keys::hex(&Sha256::digest(self.export()))
    }

    /// The whole state as versioned, checksummed bytes (see [`crate::snapshot`]).
    pub fn export(&self) -> Vec<u8> {
        crate::snapshot::encode(self)
    }

    /// Reads a snapshot; `encoder_id` is the encoder the caller runs (must match).
    /// `anchors_from`: any key set derived from that encoder (e.g. `KeySet::from_weights`):
    /// snapshots leave the encoder-derived anchors out and check them by the key hash.
    pub fn import(bytes: &[u8], encoder_id: &str, anchors_from: &KeySet) -> Result<LegoNet> {
        crate::snapshot::decode(bytes, encoder_id, anchors_from)
    }

    /// Replaces this model's state by a snapshot made with the same encoder; on any error the
    /// model is left exactly as it was.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<()> {
        *self = crate::snapshot::decode(bytes, &self.encoder_id, &self.keys)?;
        Ok(())
    }

    /// Flips one bit of one adapter weight (testing `verify`).
    #[cfg(test)]
    pub(crate) fn corrupt_adapter_bit(&mut self, i: usize, weight: usize, bit: u32) {
        let p = self.adapters[i].as_mut().expect("trained adapter");
        p.weight[weight] = f32::from_bits(p.weight[weight].to_bits() ^ (1 << bit));
    }
}

impl Unlearner for LegoNet {
    fn method(&self) -> &'static str {
        "legonet"
    }

    /// Validates everything before changing anything; the label must be a registered class.
    fn add(&mut self, id: &str, encoding: &[f32], label: &str) -> Result<()> {
        if id.is_empty() {
            return Err(Error::InvalidInput("sample id must not be empty".into()));
        }
        validate_encoding(encoding, self.keys.dim())?;
        if !self.classes.contains(label) {
            return Err(Error::UnknownClass(label.to_string()));
        }
        if self.ledger.contains(id) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let adapters = activation::activate(&self.keys, encoding, self.k);
        self.insert_routed(id, encoding, label, adapters)
    }

    fn train(&mut self) -> Result<TrainReport> {
        self.train_some(usize::MAX)
    }

    fn predict(&self, encoding: &[f32]) -> Result<Prediction> {
        validate_encoding(encoding, self.keys.dim())?;
        // Adapters with pending (untrained) members answer with their last trained parameters:
        // adds take effect at train(); forgets never wait (forget retrains at once).
        let ranked = activation::ranked(&self.keys, encoding);
        let mut used: Vec<usize> = ranked[..self.k].iter().copied().filter(|&i| self.adapters[i].is_some()).collect();
        if used.is_empty() {
            used.extend(ranked.iter().copied().find(|&i| self.adapters[i].is_some()));
        }
        ensemble(&self.adapters, used, encoding)
    }

    fn forget(&mut self, ids: &[&str]) -> Result<ForgetReport> {
        let start = now_ms();
        self.ledger.check_removable(ids)?;
        // A forget that crosses a capacity level rebuilds everything: keep the whole model to
        // roll back to (rare). Otherwise training writes into scratch space first, so putting
        // the removed samples back is enough.
        let crosses = self.config.structure(self.ledger.len() - ids.len()) != self.structure();
        let backup = crosses.then(|| self.clone());
        let dirty_before = self.dirty.clone();
        let mut removed = Vec::with_capacity(ids.len());
        for &id in ids {
            let s = self.ledger.remove(id)?;
            self.dirty.extend(s.adapters.iter().copied());
            removed.push((id.to_string(), s));
        }
        let touched: Vec<usize> = self.dirty.iter().copied().collect();
        match self.train() {
            Ok(t) => Ok(ForgetReport {
                forgotten: ids.len(),
                adapters_retrained: t.adapters_trained,
                adapters: if t.restructured { (0..self.keys.len()).collect() } else { touched },
                samples_replayed: t.samples_replayed,
                params_retrained: t.params_trained,
                restructured: t.restructured,
                elapsed_ms: now_ms() - start,
            }),
            Err(e) => {
                if let Some(b) = backup {
                    *self = b;
                } else {
                    for (id, s) in removed {
                        self.ledger.insert(id, s).expect("was stored a moment ago");
                    }
                    self.dirty = dirty_before;
                }
                Err(e)
            }
        }
    }

    fn len(&self) -> usize {
        self.ledger.len()
    }

    fn members_per_adapter(&self) -> Vec<usize> {
        self.member_counts()
    }

    fn structure(&self) -> (usize, usize) {
        LegoNet::structure(self)
    }
}

/// One row of [`LegoNet::summary`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExampleSummary {
    /// Sample id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Adapters it activates, nearest first.
    pub adapters: Vec<usize>,
}

/// What an app shows of a model (labels, examples, adapter occupancy).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSummary {
    /// Registered classes, sorted.
    pub labels: Vec<String>,
    /// Stored examples, sorted by id.
    pub examples: Vec<ExampleSummary>,
    /// Adapters with changed members not yet retrained.
    pub pending_adapters: usize,
    /// n.
    pub adapters: usize,
    /// k.
    pub activated: usize,
    /// Members per adapter.
    pub member_counts: Vec<usize>,
}

/// Memory held by a model, in bytes and counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryReport {
    /// Stored samples.
    pub samples: usize,
    /// Bytes of cached encodings.
    pub encoding_bytes: usize,
    /// Trained adapter parameters (floats).
    pub adapter_params: usize,
    /// Bytes of the key anchors.
    pub key_bytes: usize,
    /// Bytes of `export()`.
    pub snapshot_bytes: usize,
}

impl LegoNetConfig {
    /// An empty LegoNet whose keys are derived from the encoder weight file itself.
    pub fn init_from_weights(&self, weights: &crate::encoder::WeightFile) -> Result<LegoNet> {
        let keys = KeySet::from_weights(weights, self.structure(0).0, self.seed)?;
        self.init(keys, weights.encoder_id())
    }
}

impl LegoNet {
    /// Stores a validated sample with its activated adapters and marks them for training.
    fn insert_routed(&mut self, id: &str, encoding: &[f32], label: &str, adapters: Vec<usize>) -> Result<()> {
        self.dirty.extend(adapters.iter().copied());
        let sample = Sample { label: label.to_string(), encoding: encoding.to_vec(), adapters };
        self.ledger.insert(id.to_string(), sample)
    }

    /// Adds a batch all-or-nothing: every item is checked (id free and unique in the batch,
    /// encoding valid, label non-empty) before anything changes. Unknown labels are registered
    /// as classes.
    pub fn add_many(&mut self, items: &[(&str, &[f32], &str)]) -> Result<()> {
        let mut seen = BTreeSet::new();
        for &(id, encoding, label) in items {
            if id.is_empty() || label.is_empty() {
                return Err(Error::InvalidInput("sample ids and labels must not be empty".into()));
            }
            if self.ledger.contains(id) || !seen.insert(id) {
                return Err(Error::DuplicateId(id.to_string()));
            }
            validate_encoding(encoding, self.keys.dim())?;
        }
        let encodings: Vec<&[f32]> = items.iter().map(|&(_, e, _)| e).collect();
        let routes = activation::activate_many(&self.keys, &encodings, self.k);
        for (&(id, encoding, label), adapters) in items.iter().zip(routes) {
            if !self.classes.contains(label) {
                self.classes.insert(label.to_string());
            }
            self.insert_routed(id, encoding, label, adapters).expect("validated above");
        }
        Ok(())
    }

    /// Trains at most `max` pending adapters (lowest index first), so a caller can interleave
    /// progress reports and cancellation; `train()` is `train_some(usize::MAX)`.
    pub fn train_some(&mut self, max: usize) -> Result<TrainReport> {
        let start = now_ms();
        let mut report = TrainReport { restructured: self.restructure()?, ..Default::default() };
        let batch: Vec<usize> = self.dirty.iter().copied().take(max).collect();
        // Train into a scratch list first so a failure leaves the model as it was.
        let mut fresh = Vec::with_capacity(batch.len());
        for &i in &batch {
            let (p, g) = self.replay(i, self.grams.0[i].as_ref())?;
            if let Some(p) = &p {
                report.adapters_trained += 1;
                report.samples_replayed += self.ledger.members(i).count();
                report.params_trained += p.num_params();
            }
            fresh.push((i, p, g));
        }
        for (i, p, g) in fresh {
            self.adapters[i] = p;
            self.grams.0[i] = g;
            self.dirty.remove(&i);
        }
        report.elapsed_ms = now_ms() - start;
        Ok(report)
    }

    /// The current (n, k): what the keys route to and how many adapters a sample activates.
    pub fn structure(&self) -> (usize, usize) {
        (self.keys.len(), self.k)
    }

    /// Whether the structure is the one the configuration gives for the stored samples.
    fn structure_is_current(&self) -> bool {
        self.target_structure() == self.structure()
    }

    /// The (n, k) the configuration gives for the stored samples.
    fn target_structure(&self) -> (usize, usize) {
        self.config.structure(self.ledger.len())
    }

    /// Brings the structure in line with the sample count: the anchors re-dealt to the new n,
    /// every sample re-routed, every adapter cleared and pending. Returns whether it changed.
    fn restructure(&mut self) -> Result<bool> {
        let (n, k) = self.target_structure();
        if (n, k) == self.structure() {
            return Ok(false);
        }
        if n != self.keys.len() {
            self.keys = self.keys.with_adapters(n)?;
        }
        let keys = &self.keys;
        self.ledger.reroute(n, |encodings| activation::activate_many(keys, encodings, k));
        self.k = k;
        self.adapters = vec![None; n];
        self.grams = GramCache::new(n);
        self.dirty = (0..n).collect();
        Ok(true)
    }

    /// Labels, examples and adapter occupancy, for display.
    pub fn summary(&self) -> ModelSummary {
        ModelSummary {
            labels: self.classes.iter().cloned().collect(),
            examples: self
                .ledger
                .iter()
                .map(|(id, s)| ExampleSummary { id: id.clone(), label: s.label.clone(), adapters: s.adapters.clone() })
                .collect(),
            pending_adapters: self.pending(),
            adapters: self.keys.len(),
            activated: self.k,
            member_counts: self.member_counts(),
        }
    }

    /// Memory held by the model.
    pub fn memory(&self) -> MemoryReport {
        MemoryReport {
            samples: self.ledger.len(),
            encoding_bytes: self.ledger.iter().map(|(_, s)| s.encoding.len() * 4).sum(),
            adapter_params: self.adapters.iter().flatten().map(AdapterParams::num_params).sum(),
            key_bytes: self.keys.anchors().len() * 4 + self.keys.owners().len() * 4,
            snapshot_bytes: self.export().len(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::adapter::HeadKind;
    use crate::keys::{EncoderHead, tests::synthetic_head};

    pub(crate) const DIM: usize = 24;

    pub(crate) fn keys(n: usize) -> KeySet {
        let (fc, w, b) = synthetic_head(DIM, 120, 11);
        let head = EncoderHead { fc_weight: &fc, bn_weight: &w, bn_bias: &b, dim: DIM };
        KeySet::derive(head, n, 0, "test-encoder").unwrap()
    }

    /// Random labelled encodings around class centres.
    pub(crate) fn dataset(n: usize, classes: usize, seed: u64) -> Vec<(String, Vec<f32>, String)> {
        crate::adapter::tests::blobs(n, DIM, classes, seed)
            .into_iter()
            .enumerate()
            .map(|(i, (x, l))| (format!("s{i:04}"), x, l))
            .collect()
    }

    pub(crate) fn model(cfg: &LegoNetConfig, classes: usize) -> LegoNet {
        let mut m = cfg.init(keys(cfg.structure(0).0), "test-encoder").unwrap();
        for c in 0..classes {
            m.add_class(&format!("class{c}")).unwrap();
        }
        m
    }

    fn trained(cfg: &LegoNetConfig, data: &[(String, Vec<f32>, String)], classes: usize) -> LegoNet {
        let mut m = model(cfg, classes);
        for (id, x, l) in data {
            m.add(id, x, l).unwrap();
        }
        m.train().unwrap();
        m
    }

    fn configs() -> Vec<LegoNetConfig> {
        vec![
            LegoNetConfig::new().fixed(8, 2),
            LegoNetConfig::new().fixed(6, 2).with_head(HeadConfig::new().with_kind(HeadKind::Softmax).with_epochs(3)),
        ]
    }

    /// After forgetting, every adapter equals the from-scratch model on the survivors.
    fn assert_exact_forget(cfg: &LegoNetConfig, data: &[(String, Vec<f32>, String)], forget: &[&str]) {
        let mut m = trained(cfg, data, 4);
        let report = m.forget(forget).unwrap();
        assert_eq!(report.forgotten, forget.len());
        let survivors: Vec<_> = data.iter().filter(|d| !forget.contains(&d.0.as_str())).cloned().collect();
        let scratch = trained(cfg, &survivors, 4);
        for i in 0..m.structure().0 {
            assert_eq!(m.adapter(i), scratch.adapter(i), "adapter {i}");
            if let (Some(a), Some(b)) = (m.adapter(i), scratch.adapter(i)) {
                assert!(a.bits().eq(b.bits()), "adapter {i} differs in bits");
            }
        }
        assert_eq!(m.model_hash(), scratch.model_hash());
        assert!(m.verify().unwrap().ok());
    }

    #[test]
    fn forget_is_exact_for_random_sets_one_adapter_and_a_class() {
        let data = dataset(80, 4, 21);
        for cfg in configs() {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            // A random set.
            let pick: Vec<&str> = data.iter().filter(|_| rng.random::<f32>() < 0.15).map(|d| d.0.as_str()).collect();
            assert!(!pick.is_empty());
            assert_exact_forget(&cfg, &data, &pick);
            // Every member of one adapter (the first non-empty one).
            let m = trained(&cfg, &data, 4);
            let a = (0..m.structure().0).find(|&i| m.member_counts()[i] > 0).unwrap();
            let members: Vec<String> = m.ledger.members(a).cloned().collect();
            let refs: Vec<&str> = members.iter().map(String::as_str).collect();
            assert_exact_forget(&cfg, &data, &refs);
            // A whole class.
            let class: Vec<&str> = data.iter().filter(|d| d.2 == "class2").map(|d| d.0.as_str()).collect();
            assert_exact_forget(&cfg, &data, &class);
        }
    }

    #[test]
    fn forget_retrains_only_touched_adapters() {
        let cfg = LegoNetConfig::new().fixed(8, 2);
        let data = dataset(80, 4, 3);
        let mut m = trained(&cfg, &data, 4);
        let touched = m.sample("s0007").unwrap().adapters.clone();
        let expected_replay: usize = touched.iter().map(|&a| m.member_counts()[a] - 1).sum();
        let r = m.forget(&["s0007"]).unwrap();
        assert!(r.adapters_retrained <= 2);
        assert_eq!(r.samples_replayed, expected_replay);
    }

    #[test]
    fn history_independence_three_orders_same_hash() {
        let cfg = LegoNetConfig::new().fixed(8, 2);
        let data = dataset(60, 3, 9);
        let extra = dataset(70, 3, 10)[60..].to_vec();
        let extra: Vec<_> = extra.into_iter().map(|(id, x, l)| (format!("x{id}"), x, l)).collect();
        // Order 1: add everything in order, train.
        let a = trained(&cfg, &data, 3);
        // Order 2: reversed adds interleaved with extras that are later forgotten.
        let mut b = model(&cfg, 3);
        for ((id, x, l), e) in data.iter().rev().zip(extra.iter().cycle()) {
            b.add(id, x, l).unwrap();
            if !b.ledger.contains(&e.0) {
                b.add(&e.0, &e.1, &e.2).unwrap();
            }
        }
        b.train().unwrap();
        let ex: Vec<&str> = extra.iter().map(|e| e.0.as_str()).collect();
        b.forget(&ex).unwrap();
        // Order 3: add half, train, forget some, add the rest plus the forgotten back.
        let mut c = model(&cfg, 3);
        for (id, x, l) in &data[30..] {
            c.add(id, x, l).unwrap();
        }
        c.train().unwrap();
        c.forget(&["s0040", "s0041"]).unwrap();
        for (id, x, l) in data[..30].iter().chain(&data[40..42]) {
            c.add(id, x, l).unwrap();
        }
        c.train().unwrap();
        assert_eq!(a.model_hash(), b.model_hash());
        assert_eq!(a.model_hash(), c.model_hash());
    }

    #[test]
    fn verify_catches_one_flipped_bit() {
        let cfg = LegoNetConfig::new().fixed(8, 2);
        let mut m = trained(&cfg, &dataset(80, 4, 4), 4);
        assert!(m.verify().unwrap().ok());
        let i = (0..8).find(|&i| m.adapter(i).is_some_and(|p| p.labels.len() > 1)).unwrap();
        m.corrupt_adapter_bit(i, 5, 0);
        assert_eq!(m.verify().unwrap().mismatches, vec![i]);
    }

    #[test]
    fn bad_inputs_are_rejected_and_state_untouched() {
        let cfg = LegoNetConfig::new().fixed(8, 2);
        let data = dataset(40, 2, 6);
        let mut m = trained(&cfg, &data, 2);
        let before = m.clone();
        let x = data[0].1.clone();
        assert!(matches!(m.add("s0000", &x, "class0"), Err(Error::DuplicateId(_))));
        assert!(matches!(m.add("new", &x[..5], "class0"), Err(Error::InvalidEncoding(_))));
        let mut nan = x.clone();
        nan[3] = f32::NAN;
        assert!(matches!(m.add("new", &nan, "class0"), Err(Error::InvalidEncoding(_))));
        assert!(matches!(m.add("new", &x, "nope"), Err(Error::UnknownClass(_))));
        assert!(matches!(m.add("", &x, "class0"), Err(Error::InvalidInput(_))));
        assert!(matches!(m.forget(&["s0001", "missing"]), Err(Error::UnknownId(_))));
        assert!(matches!(m.forget(&["s0001", "s0001"]), Err(Error::DuplicateId(_))));
        assert!(matches!(m.remove_class("nope"), Err(Error::UnknownClass(_))));
        assert!(matches!(m.add_class("class1"), Err(Error::DuplicateClass(_))));
        assert!(matches!(m.predict(&nan), Err(Error::InvalidEncoding(_))));
        assert_eq!(m, before);
        assert!(matches!(LegoNetConfig::new().fixed(8, 9).init(keys(8), "e"), Err(Error::InvalidConfig(_))));
        assert!(matches!(LegoNetConfig::new().fixed(2000, 1).init(keys(8), "e"), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn predict_learns_only_from_trained_adapters() {
        let cfg = LegoNetConfig::new().fixed(4, 2);
        let train = dataset(120, 3, 8);
        let test = dataset(60, 3, 8);
        let mut m = model(&cfg, 3);
        assert!(matches!(m.predict(&train[0].1), Err(Error::EmptyModel)));
        for (id, x, l) in &train {
            m.add(id, x, l).unwrap();
        }
        // Untrained additions are not used until train().
        assert!(matches!(m.predict(&train[0].1), Err(Error::EmptyModel)));
        m.train().unwrap();
        let ok = test.iter().filter(|(_, x, l)| &m.predict(x).unwrap().label == l).count();
        assert!(ok as f32 / test.len() as f32 > 0.9, "{ok}");
        let p = m.predict(&test[0].1).unwrap();
        assert!(p.scores.windows(2).all(|w| w[0].1 >= w[1].1));
    }

    #[test]
    fn remove_class_forgets_all_its_samples() {
        let cfg = LegoNetConfig::new().fixed(8, 2);
        let data = dataset(60, 3, 12);
        let mut m = trained(&cfg, &data, 3);
        let r = m.remove_class("class1").unwrap();
        assert_eq!(r.forgotten, 20);
        assert!(m.classes().all(|c| c != "class1"));
        assert!(m.ledger.iter().all(|(_, s)| s.label != "class1"));
        for i in 0..8 {
            assert!(m.adapter(i).is_none_or(|p| !p.labels.contains(&"class1".to_string())));
        }
        let survivors: Vec<_> = data.iter().filter(|d| d.2 != "class1").cloned().collect();
        let mut scratch = model(&cfg, 3);
        for (id, x, l) in &survivors {
            scratch.add(id, x, l).unwrap();
        }
        scratch.train().unwrap();
        for i in 0..8 {
            assert_eq!(m.adapter(i), scratch.adapter(i));
        }
    }

    #[test]
    fn add_many_is_all_or_nothing_and_train_some_matches_train() {
        let cfg = LegoNetConfig::new().fixed(8, 2);
        let data = dataset(40, 3, 17);
        let items: Vec<(&str, &[f32], &str)> =
            data.iter().map(|(id, x, l)| (id.as_str(), x.as_slice(), l.as_str())).collect();
        let mut m = cfg.init(keys(8), "test-encoder").unwrap();
        // A duplicate inside the batch, or a bad encoding at the end: nothing is added.
        let mut dup = items.clone();
        dup.push(items[0]);
        assert!(matches!(m.add_many(&dup), Err(Error::DuplicateId(_))));
        let mut bad = items.clone();
        bad.push(("late", &data[0].1[..3], "class0"));
        assert!(matches!(m.add_many(&bad), Err(Error::InvalidEncoding(_))));
        assert_eq!(m.len(), 0);
        assert_eq!(m.classes().count(), 0);
        m.add_many(&items).unwrap();
        assert_eq!(m.classes().count(), 3, "labels are registered");
        // Chunked training gives the same bits as one train().
        let mut whole = m.clone();
        whole.train().unwrap();
        let mut chunks = 0;
        while m.pending() > 0 {
            m.train_some(3).unwrap();
            chunks += 1;
        }
        assert!(chunks > 1);
        assert_eq!(m.model_hash(), whole.model_hash());
        let s = m.summary();
        assert_eq!(s.examples.len(), 40);
        assert_eq!(s.member_counts.iter().sum::<usize>(), 80);
        let mem = m.memory();
        assert_eq!(mem.encoding_bytes, 40 * DIM * 4);
        assert_eq!(mem.snapshot_bytes, m.export().len());
        // The forget report names the adapters it touched.
        let touched = m.sample("s0003").unwrap().adapters.clone();
        let mut sorted = touched.clone();
        sorted.sort();
        assert_eq!(m.forget(&["s0003"]).unwrap().adapters, sorted);
    }

    fn small_levels() -> LegoNetConfig {
        let l = |from, adapters, activated| crate::capacity::Level { from, adapters, activated };
        LegoNetConfig::new().with_schedule(Schedule(vec![l(0, 1, 1), l(20, 4, 2), l(40, 8, 3)]))
    }

    #[test]
    fn capacity_levels_are_a_function_of_the_sample_set_alone() {
        let cfg = small_levels();
        let data = dataset(50, 3, 40);
        let extra: Vec<_> =
            dataset(60, 3, 41)[50..].iter().map(|(id, x, l)| (format!("x{id}"), x.clone(), l.clone())).collect();
        let a = trained(&cfg, &data, 3);
        assert_eq!(a.structure(), (8, 3));
        // Up through every level, down through two of them by forgets, and up again.
        let mut b = model(&cfg, 3);
        let add = |m: &mut LegoNet, rows: &[(String, Vec<f32>, String)]| {
            for (id, x, l) in rows {
                m.add(id, x, l).unwrap();
            }
        };
        add(&mut b, &data[..15]);
        assert!(!b.train().unwrap().restructured);
        assert_eq!(b.structure(), (1, 1));
        add(&mut b, &data[15..30]);
        add(&mut b, &extra);
        assert_eq!(b.pending(), 8, "the next structure's adapters are pending");
        assert!(matches!(b.verify(), Err(Error::NotTrained(_))));
        assert!(b.train().unwrap().restructured);
        assert_eq!(b.structure(), (8, 3));
        let ids: Vec<&str> = data[5..25].iter().map(|d| d.0.as_str()).collect();
        let r = b.forget(&ids).unwrap();
        assert!(r.restructured);
        assert_eq!(b.structure(), (4, 2));
        assert_eq!(r.adapters, vec![0, 1, 2, 3]);
        assert_eq!(r.adapters_retrained, b.member_counts().iter().filter(|&&c| c > 0).count());
        assert_eq!(r.samples_replayed, b.member_counts().iter().sum::<usize>());
        let ex: Vec<&str> = extra.iter().map(|d| d.0.as_str()).collect();
        assert!(b.forget(&ex).unwrap().restructured);
        assert_eq!(b.structure(), (1, 1));
        assert!(b.verify().unwrap().ok());
        add(&mut b, &data[5..25]);
        add(&mut b, &data[30..]);
        assert!(b.train().unwrap().restructured);
        assert_eq!(a.model_hash(), b.model_hash());
        assert!(b.verify().unwrap().ok());
        // One forget right at a boundary: 40 -> 39 samples leaves level (8, 3).
        let mut c = trained(&cfg, &data[..40], 3);
        assert_eq!(c.structure(), (8, 3));
        let r = c.forget(&["s0003"]).unwrap();
        assert!(r.restructured);
        let survivors: Vec<_> = data[..40].iter().filter(|d| d.0 != "s0003").cloned().collect();
        assert_eq!(c.model_hash(), trained(&cfg, &survivors, 3).model_hash());
        // Snapshots carry the levels; a trained structure that disagrees with them is refused.
        let back = LegoNet::import(&c.export(), "test-encoder", c.keys()).unwrap();
        assert_eq!(back, c);
        let mut wrong = c.clone();
        wrong.k = 1;
        assert!(matches!(LegoNet::import(&wrong.export(), "test-encoder", c.keys()), Err(Error::CorruptSnapshot(_))));
    }

    #[test]
    fn the_default_starts_as_one_head_on_everything() {
        let cfg = LegoNetConfig::new();
        let data = dataset(60, 3, 42);
        let m = trained(&cfg, &data, 3);
        assert_eq!(m.structure(), (1, 1));
        let mut retrain = crate::baselines::Sharded::retrain(HeadConfig::new(), DIM, 0).unwrap();
        for (id, x, l) in &data {
            retrain.add(id, x, l).unwrap();
        }
        retrain.train().unwrap();
        for (_, x, _) in dataset(20, 3, 43) {
            assert_eq!(m.predict(&x).unwrap().scores, retrain.predict(&x).unwrap().scores);
        }
        assert!(matches!(cfg.clone().with_k(Some(2)).validate(100), Err(Error::InvalidConfig(_))));
    }
}
