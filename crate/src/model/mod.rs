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
//!   score of a label is the weighted mean of the used adapters' scores for it, the r-th used
//!   adapter (nearest first, r from 0) weighing 1 / (r + 1) (an adapter that never saw the
//!   label contributes 0). The prediction is the highest score, ties broken by the smaller
//!   label.

pub mod audit;
mod config;
pub mod digest;
pub mod receipt;
pub mod snapshot;
mod summary;

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

pub use audit::{AUDIT_TOLERANCE, AuditMatch, PhotoAudit};
pub use config::LegoNetConfig;
pub use receipt::{AdapterChange, ForgetReceipt, RECEIPT_VERSION, ReceiptCheck, ReceiptConfig, derived_salt};
pub use summary::{ExampleSummary, MemoryReport, ModelSummary};

use crate::activation;
use crate::head::AdapterParams;
use crate::keys::KeySet;
use crate::ledger::{Ledger, Sample, validate_encoding, validate_name};
use crate::shards::{self, ShardCache};
use crate::unlearner::{ForgetReport, Prediction, TrainReport, Unlearner, VerifyReport, ensemble, now_ms};
use crate::{Error, Result};

/// Per-adapter shard solutions and raw Gram matrices kept between trainings: speed only, never
/// state, so they are ignored by equality and not exported (a restored model rebuilds them on
/// first retrain).
#[derive(Debug, Clone)]
struct SolveCache(Vec<Option<ShardCache>>);

impl SolveCache {
    fn new(n: usize) -> Self {
        Self(vec![None; n])
    }
}

impl PartialEq for SolveCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Each adapter's weights hash ([`digest::weights_digest`]), kept beside its parameters so that
/// the model hash a forget's receipt needs costs a pass over hashes, not over every weight.
/// Derived from the adapters (ignored by equality, not exported); set wherever they change.
#[derive(Debug, Clone)]
struct WeightDigests(Vec<Option<[u8; 32]>>);

impl WeightDigests {
    fn of(adapters: &[Option<AdapterParams>]) -> Self {
        Self(adapters.iter().map(|a| a.as_ref().map(digest::weights_digest)).collect())
    }
}

impl PartialEq for WeightDigests {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A model's trainable state at one moment (see [`LegoNet::checkpoint`]).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The samples' digest ([`LegoNet::ledger_digest`]): a rollback after an add or a forget
    /// would bring back adapters trained on other members.
    samples: [u8; 32],
    /// The keys' hash then. When the keys are not kept (the structure was current), the keys
    /// and k must still be those at rollback: a forget across a level and the same samples
    /// added back leave the digest as it was but change them.
    key_hash: String,
    keys: Option<KeySet>,
    activated: usize,
    routes: Option<Vec<Vec<usize>>>,
    adapters: Vec<Option<AdapterParams>>,
    pending: BTreeSet<usize>,
}

/// The LegoNet model: plain data (no device, no threads), so a wasm facade can own it.
#[derive(Debug, Clone, PartialEq)]
pub struct LegoNet {
    config: LegoNetConfig,
    encoder_id: String,
    keys: KeySet,
    /// k: adapters each sample activates and each prediction consults.
    activated: usize,
    /// Classes registered by [`LegoNet::add_class`]. The model's classes are these and the labels
    /// of its stored samples ([`LegoNet::classes`]), so a label that only forgotten samples
    /// carried goes with them, as it would from a model trained without them.
    registered: BTreeSet<String>,
    ledger: Ledger,
    adapters: Vec<Option<AdapterParams>>,
    /// Adapters whose members changed since they were last trained ("pending").
    pending: BTreeSet<usize>,
    solves: SolveCache,
    weight_digests: WeightDigests,
    /// Where the model's deletion receipts stand (count and last hash; see [`receipt`]).
    receipts: receipt::ReceiptChain,
}

impl LegoNet {
    /// An empty model of `config` over `keys` (already dealt to the empty model's n).
    fn new(config: LegoNetConfig, keys: KeySet, k: usize) -> LegoNet {
        let n = keys.len();
        LegoNet {
            config,
            encoder_id: keys.encoder_id().to_string(),
            ledger: Ledger::new(n),
            adapters: vec![None; n],
            keys,
            activated: k,
            registered: BTreeSet::new(),
            pending: BTreeSet::new(),
            solves: SolveCache::new(n),
            weight_digests: WeightDigests(vec![None; n]),
            receipts: Default::default(),
        }
    }

    /// A model from stored parts (a snapshot), checking every invariant the verbs keep:
    /// registered classes non-empty and unique, every sample's id and label non-empty and its
    /// route what the keys give, every adapter's parameters well formed (labels sorted, unique
    /// and non-empty, shapes and head kind those of the configuration, finite), every trained
    /// adapter's labels those of its members, pending indices in range, and a fully trained
    /// structure the one the configuration gives for the sample count (any structure one of its
    /// levels). Returns the first
    /// violated invariant.
    fn from_parts(
        config: LegoNetConfig,
        keys: KeySet,
        k: usize,
        registered: Vec<String>,
        samples: Vec<(String, Sample)>,
        adapters: Vec<Option<AdapterParams>>,
        dirty: Vec<usize>,
    ) -> std::result::Result<LegoNet, String> {
        let (n, dim) = (keys.len(), keys.dim());
        // Any other (n, k) would be a structure no train gives, and could cost far more than the
        // bounds promise (k copies of every id in the inverse index).
        if !config.reaches(n, k) || adapters.len() != n {
            return Err(format!("structure n = {n}, k = {k} is none the configuration gives"));
        }
        let mut class_set = BTreeSet::new();
        for c in registered {
            validate_name("class name", &c).map_err(|e| e.to_string())?;
            if !class_set.insert(c) {
                return Err("repeated class".into());
            }
        }
        for (id, s) in &samples {
            validate_name("sample id", id).map_err(|e| e.to_string())?;
            validate_name("label", &s.label).map_err(|e| format!("sample {id:?}: {e}"))?;
            validate_encoding(&s.encoding, dim).map_err(|e| format!("sample {id:?}: {e}"))?;
        }
        // Every stored route must be what the keys give (routed in one batched pass).
        let encodings: Vec<&[f32]> = samples.iter().map(|(_, s)| s.encoding.as_slice()).collect();
        let routes = activation::activate_many(&keys, &encodings, k);
        let mut ledger = Ledger::new(n);
        for ((id, sample), route) in samples.into_iter().zip(routes) {
            if sample.adapters != route {
                return Err(format!("sample {id:?}: adapters disagree with the keys"));
            }
            ledger.insert(id, sample).map_err(|e| e.to_string())?;
        }
        let mut pending = BTreeSet::new();
        for d in dirty {
            if d >= n || !pending.insert(d) {
                return Err("bad pending adapter index".into());
            }
        }
        let softmax = config.head.kind == crate::head::HeadKind::Softmax;
        for (i, p) in adapters.iter().enumerate() {
            // Every adapter's parameters, pending ones too: predict consults those as they are.
            if let Some(p) = p {
                let c = p.labels.len();
                let sorted = p.labels.windows(2).all(|w| w[0] < w[1]);
                if c == 0 || !sorted || p.labels.iter().any(String::is_empty) {
                    return Err(format!("adapter {i}: labels empty, repeated or unsorted"));
                }
                if p.dim != dim || p.weight.len() != dim * c || p.bias.len() != c || p.softmax != softmax {
                    return Err(format!("adapter {i}: shapes or head kind disagree with the configuration"));
                }
                if !p.weight.iter().chain(&p.bias).all(|v| v.is_finite()) {
                    return Err(format!("adapter {i}: non-finite parameter"));
                }
            }
            if pending.contains(&i) {
                continue; // its labels may be stale by design until the next train()
            }
            let member_labels: BTreeSet<&str> =
                ledger.members(i).map(|id| ledger.get(id).expect("indexed").label.as_str()).collect();
            match p {
                None if member_labels.is_empty() => {}
                Some(p) => {
                    let labels: Vec<&str> = p.labels.iter().map(String::as_str).collect();
                    let expected: Vec<&str> = member_labels.into_iter().collect();
                    if labels != expected {
                        return Err(format!("adapter {i}: labels disagree with members"));
                    }
                }
                None => return Err(format!("adapter {i}: members but no parameters")),
            }
        }
        if pending.is_empty() && config.structure(ledger.len()) != (n, k) {
            return Err("trained structure disagrees with the capacity schedule for the stored samples".into());
        }
        Ok(LegoNet {
            config,
            encoder_id: keys.encoder_id().to_string(),
            keys,
            activated: k,
            registered: class_set,
            ledger,
            weight_digests: WeightDigests::of(&adapters),
            adapters,
            pending,
            solves: SolveCache::new(n),
            receipts: Default::default(),
        })
    }

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

    /// The classes, sorted: those registered by [`LegoNet::add_class`] and the labels of the
    /// stored samples.
    pub fn classes(&self) -> impl Iterator<Item = &String> {
        let labels = self.ledger.iter().map(|(_, s)| &s.label);
        self.registered.iter().chain(labels).collect::<BTreeSet<&String>>().into_iter()
    }

    /// Whether `name` is one of [`LegoNet::classes`].
    fn has_class(&self, name: &str) -> bool {
        self.registered.contains(name) || self.ledger.iter().any(|(_, s)| s.label == name)
    }

    /// Trained parameters of adapter `i` (`None` when it has none or `i` is out of range).
    pub fn adapter(&self, i: usize) -> Option<&AdapterParams> {
        self.adapters.get(i)?.as_ref()
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
        if self.structure_is_current() { self.pending.len() } else { self.target_structure().0 }
    }

    /// Registers a class, which stays until [`LegoNet::remove_class`] (a label that samples
    /// bring is a class only while a sample carries it).
    pub fn add_class(&mut self, name: &str) -> Result<()> {
        validate_name("class name", name)?;
        if self.has_class(name) {
            return Err(Error::DuplicateClass(name.to_string()));
        }
        self.registered.insert(name.to_string());
        Ok(())
    }

    /// Forgets every sample of class `name` (retraining what they touched) and unregisters it
    /// (its receipt: [`LegoNet::remove_class_with_receipt`]).
    pub fn remove_class(&mut self, name: &str) -> Result<ForgetReport> {
        let ids = self.ledger.ids_with_label(name);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let salt = receipt::derived_salt(self, &refs);
        self.remove_class_with_receipt(name, salt).map(|(r, _)| r)
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

    /// Trains adapter `i` from scratch on its current members (`None` if it has none), in shards
    /// when it holds more than the member cap ([`crate::shards`]); `cache` only skips re-solving
    /// unchanged shards and recomputing Gram entries (the result is bitwise the same).
    fn replay(&self, i: usize, cache: Option<ShardCache>) -> Result<Option<shards::Trained>> {
        let ids: Vec<&str> = self.ledger.members(i).map(String::as_str).collect();
        let members: Vec<(&[f32], &str)> = ids
            .iter()
            .map(|id| {
                let s = self.ledger.get(id).expect("inverse index points at stored samples");
                (s.encoding.as_slice(), s.label.as_str())
            })
            .collect();
        if members.is_empty() {
            return Ok(None);
        }
        let c = &self.config;
        shards::train(&c.head, &members, &ids, c.member_cap, cache, self.keys.dim(), self.adapter_seed(i)).map(Some)
    }

    /// Members per adapter (index order).
    pub fn member_counts(&self) -> Vec<usize> {
        self.ledger.member_counts()
    }

    /// Verifies every adapter: replays it from its members and seed and compares bitwise.
    pub fn verify(&self) -> Result<VerifyReport> {
        if !self.pending.is_empty() {
            return Err(Error::NotTrained(self.pending.len()));
        }
        if !self.structure_is_current() {
            // Samples were added across a capacity level and not yet trained.
            return Err(Error::NotTrained(self.target_structure().0));
        }
        let mut report = VerifyReport::default();
        for i in 0..self.adapters.len() {
            // No cache: an independent replay from the raw encodings.
            let replayed = self.replay(i, None)?.map(|t| t.params);
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

    /// Flips one bit of one adapter weight (testing `verify`).
    #[cfg(test)]
    pub(crate) fn corrupt_adapter_bit(&mut self, i: usize, weight: usize, bit: u32) {
        let p = self.adapters[i].as_mut().expect("trained adapter");
        p.weight[weight] = f32::from_bits(p.weight[weight].to_bits() ^ (1 << bit));
        self.weight_digests = WeightDigests::of(&self.adapters);
    }
}

impl Unlearner for LegoNet {
    fn method(&self) -> &'static str {
        "legonet"
    }

    /// [`LegoNet::add_many`] of one sample: validated before anything changes; a new label
    /// becomes a class.
    fn add(&mut self, id: &str, encoding: &[f32], label: &str) -> Result<()> {
        self.add_many(&[(id, encoding, label)])
    }

    fn train(&mut self) -> Result<TrainReport> {
        self.train_some(usize::MAX)
    }

    fn predict(&self, encoding: &[f32]) -> Result<Prediction> {
        validate_encoding(encoding, self.keys.dim())?;
        // Adapters with pending (untrained) members answer with their last trained parameters:
        // adds take effect at train(); forgets never wait (forget retrains at once).
        let ranked = activation::ranked(&self.keys, encoding);
        let mut used: Vec<usize> =
            ranked[..self.activated].iter().copied().filter(|&i| self.adapters[i].is_some()).collect();
        if used.is_empty() {
            used.extend(ranked.iter().copied().find(|&i| self.adapters[i].is_some()));
        }
        // Nearer adapters weigh more: the r-th used adapter (nearest first) has weight 1 / (r + 1).
        let weights: Vec<f64> = (0..used.len()).map(|r| 1.0 / (r as f64 + 1.0)).collect();
        ensemble(&self.adapters, used, &weights, encoding)
    }

    /// Forgets with a derived salt ([`receipt::derived_salt`]); the receipt is recorded in the
    /// chain and dropped (ask [`LegoNet::forget_with_receipt`] for it, with a random salt).
    fn forget(&mut self, ids: &[&str]) -> Result<ForgetReport> {
        let salt = receipt::derived_salt(self, ids);
        self.forget_with_receipt(ids, salt).map(|(r, _)| r)
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

impl LegoNet {
    /// Removes `ids` and retrains what they touched, all-or-nothing (the receipt is made around
    /// it, in [`receipt`]).
    fn forget_samples(&mut self, ids: &[&str]) -> Result<ForgetReport> {
        let start = now_ms();
        self.ledger.check_removable(ids)?;
        // A forget that crosses a capacity level rebuilds everything: keep the whole model to
        // roll back to (rare). Otherwise training writes into scratch space first, so putting
        // the removed samples back is enough.
        let crosses = self.forget_crosses_level(ids.len());
        let backup = crosses.then(|| self.clone());
        let pending_before = self.pending.clone();
        let mut removed = Vec::with_capacity(ids.len());
        let mut touched = BTreeSet::new();
        for &id in ids {
            let s = self.ledger.remove(id)?;
            touched.extend(s.adapters.iter().copied());
            removed.push((id.to_string(), s));
        }
        // Only what the forgotten samples touched is retrained (adapters pending from earlier
        // adds stay pending until train()), unless the structure changes, which retrains all.
        let result = if crosses {
            self.train()
        } else {
            self.pending.extend(touched.iter().copied());
            self.retrain(touched.iter().copied().collect())
        };
        match result {
            Ok(t) => Ok(ForgetReport {
                forgotten: ids.len(),
                adapters_retrained: t.adapters_trained,
                adapters: if t.restructured { (0..self.keys.len()).collect() } else { touched.into_iter().collect() },
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
                    self.pending = pending_before;
                }
                Err(e)
            }
        }
    }
}

impl LegoNet {
    /// Stores a validated sample with its activated adapters and marks them for training.
    fn insert_routed(&mut self, id: &str, encoding: &[f32], label: &str, adapters: Vec<usize>) -> Result<()> {
        self.pending.extend(adapters.iter().copied());
        let sample = Sample::new(label.to_string(), encoding.to_vec(), adapters);
        self.ledger.insert(id.to_string(), sample)
    }

    /// Adds a batch all-or-nothing: every item is checked (id free and unique in the batch,
    /// encoding valid, label non-empty) before anything changes. A new label is a class for as
    /// long as a sample carries it.
    pub fn add_many(&mut self, items: &[(&str, &[f32], &str)]) -> Result<()> {
        let mut seen = BTreeSet::new();
        for &(id, encoding, label) in items {
            validate_name("sample id", id)?;
            validate_name("label", label)?;
            if self.ledger.contains(id) || !seen.insert(id) {
                return Err(Error::DuplicateId(id.to_string()));
            }
            validate_encoding(encoding, self.keys.dim())?;
        }
        let encodings: Vec<&[f32]> = items.iter().map(|&(_, e, _)| e).collect();
        let routes = activation::activate_many(&self.keys, &encodings, self.activated);
        for (&(id, encoding, label), adapters) in items.iter().zip(routes) {
            self.insert_routed(id, encoding, label, adapters).expect("validated above");
        }
        Ok(())
    }

    /// Trains at most `max` pending adapters (lowest index first), so a caller can interleave
    /// progress reports and cancellation; `train()` is `train_some(usize::MAX)`.
    pub fn train_some(&mut self, max: usize) -> Result<TrainReport> {
        let start = now_ms();
        // A restructure clears every adapter before any trains: what to put back should the
        // training fail, so that a failed train changes nothing (without one, retrain is
        // all-or-nothing itself).
        let before = (!self.structure_is_current()).then(|| self.checkpoint());
        let restructured = self.restructure()?;
        let batch: Vec<usize> = self.pending.iter().copied().take(max).collect();
        let mut report = match self.retrain(batch) {
            Ok(report) => report,
            Err(e) => {
                if let Some(before) = before {
                    self.rollback(before)?;
                }
                return Err(e);
            }
        };
        report.restructured = restructured;
        report.elapsed_ms = now_ms() - start;
        Ok(report)
    }

    /// Retrains the pending adapters `batch` from scratch; all of them or, on error, none.
    fn retrain(&mut self, batch: Vec<usize>) -> Result<TrainReport> {
        let start = now_ms();
        let mut report = TrainReport::default();
        // Train into a scratch list first so a failure leaves the model as it was.
        let mut fresh = Vec::with_capacity(batch.len());
        // The caches are taken out (a failed train only loses them: they are speed, not state).
        let caches: Vec<Option<ShardCache>> = batch.iter().map(|&i| self.solves.0[i].take()).collect();
        for (&i, cache) in batch.iter().zip(caches) {
            #[cfg(test)]
            if tests::FAIL_ADAPTER.get() == Some(i) {
                return Err(Error::Internal(format!("adapter {i}: failure injected by a test")));
            }
            let trained = self.replay(i, cache)?;
            if let Some(t) = &trained
                && !t.params.weight.iter().chain(&t.params.bias).all(|v| v.is_finite())
            {
                // A ridge solve retries until sound (head); should a head still give non-finite
                // parameters, no snapshot could hold them (it refuses them), so nothing is kept.
                return Err(Error::Internal(format!("adapter {i}: training gave non-finite parameters")));
            }
            let (p, g) = match trained {
                Some(t) => {
                    report.adapters_trained += 1;
                    report.samples_replayed += t.replayed;
                    report.params_trained += t.params.num_params();
                    (Some(t.params), Some(t.cache))
                }
                None => (None, None),
            };
            fresh.push((i, p, g));
        }
        for (i, p, g) in fresh {
            self.weight_digests.0[i] = p.as_ref().map(digest::weights_digest);
            self.adapters[i] = p;
            self.solves.0[i] = g;
            self.pending.remove(&i);
        }
        report.elapsed_ms = now_ms() - start;
        Ok(report)
    }

    /// What a train can change, to put back if the caller abandons the train between
    /// [`LegoNet::train_some`] chunks: the adapters' parameters and pending set, and — when the
    /// next train restructures — the keys and every sample's route. No encoding is copied.
    pub fn checkpoint(&self) -> Checkpoint {
        let routes = (!self.structure_is_current())
            .then(|| self.ledger.iter().map(|(_, s)| s.adapters.clone()).collect::<Vec<_>>());
        Checkpoint {
            samples: self.ledger_digest(),
            key_hash: self.keys.hash().to_string(),
            keys: routes.as_ref().map(|_| self.keys.clone()),
            activated: self.activated,
            routes,
            adapters: self.adapters.clone(),
            pending: self.pending.clone(),
        }
    }

    /// Puts the model back as it was at `checkpoint`; only `train_some` may have run since.
    pub fn rollback(&mut self, checkpoint: Checkpoint) -> Result<()> {
        if checkpoint.samples != self.ledger_digest() {
            return Err(Error::Internal("rollback after samples were added or forgotten".into()));
        }
        if checkpoint.keys.is_none()
            && (checkpoint.key_hash != self.keys.hash() || checkpoint.activated != self.activated)
        {
            return Err(Error::Internal("rollback after the structure changed".into()));
        }
        if let (Some(keys), Some(routes)) = (checkpoint.keys, checkpoint.routes) {
            let n = keys.len();
            self.keys = keys;
            self.ledger.reroute(n, |_| routes);
            self.solves = SolveCache::new(n);
        }
        self.activated = checkpoint.activated;
        self.adapters = checkpoint.adapters;
        self.weight_digests = WeightDigests::of(&self.adapters);
        self.pending = checkpoint.pending;
        Ok(())
    }

    /// The current (n, k): what the keys route to and how many adapters a sample activates.
    pub fn structure(&self) -> (usize, usize) {
        (self.keys.len(), self.activated)
    }

    /// Whether the structure is the one the configuration gives for the stored samples.
    fn structure_is_current(&self) -> bool {
        self.target_structure() == self.structure()
    }

    /// Whether forgetting `count` samples changes the structure (every adapter dealt anew). Nothing
    /// to forget (a class with no samples left) changes none, even with adds pending across a
    /// level: those wait for train().
    fn forget_crosses_level(&self, count: usize) -> bool {
        count > 0 && self.config.structure(self.ledger.len() - count) != self.structure()
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
        self.activated = k;
        self.adapters = vec![None; n];
        self.weight_digests = WeightDigests(vec![None; n]);
        self.solves = SolveCache::new(n);
        self.pending = (0..n).collect();
        Ok(true)
    }
}

#[cfg(test)]
pub(crate) mod tests;
