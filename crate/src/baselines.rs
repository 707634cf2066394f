//! Baselines behind the same [`Unlearner`] trait as LegoNet:
//! * [`Sharded`] with one shard = **Retrain**: one head of the same kind on all samples;
//!   forget retrains it on the survivors.
//! * [`Sharded`] with S shards = **FixSISA**: shard = seeded SHA-256 of the sample id mod S,
//!   one head per shard; prediction averages every trained shard (the LegoNet ensemble rule
//!   over all shards); forget retrains the shards it touched.
//! * [`Knn`]: k nearest stored encodings (Euclidean, ties by id), score = vote share; forget
//!   deletes rows.
//! * [`Ncm`]: nearest class mean (Euclidean); a class mean is summed over its members in id
//!   order, so a forget re-sums only the classes it touched.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::activation::squared_distance;
use crate::head::{AdapterParams, HeadConfig};
use crate::ledger::{check_removable, validate_encoding, validate_name};
use crate::unlearner::{ForgetReport, Prediction, TrainReport, Unlearner, ensemble, now_ms};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// An encoding is overwritten when its row is dropped (as the model's own samples are).
type Row = (Zeroizing<Vec<f32>>, String);

/// The checks LegoNet's own add makes of a new sample: id and label names, the encoding.
fn validate_sample(dim: usize, id: &str, encoding: &[f32], label: &str) -> Result<()> {
    validate_name("sample id", id)?;
    validate_name("label", label)?;
    validate_encoding(encoding, dim)
}

/// Stores one validated row of a one-row-per-sample baseline (KNN, NCM).
fn insert_row(rows: &mut BTreeMap<String, Row>, dim: usize, id: &str, encoding: &[f32], label: &str) -> Result<()> {
    validate_sample(dim, id, encoding, label)?;
    if rows.contains_key(id) {
        return Err(Error::DuplicateId(id.to_string()));
    }
    rows.insert(id.to_string(), (Zeroizing::new(encoding.to_vec()), label.to_string()));
    Ok(())
}

/// Heads over a fixed partition of samples by id hash (Retrain when there is one shard).
#[derive(Debug, Clone)]
pub struct Sharded {
    head: HeadConfig,
    dim: usize,
    seed: u64,
    shards: Vec<BTreeMap<String, Row>>,
    params: Vec<Option<AdapterParams>>,
    /// Shards changed since they were last trained.
    pending: BTreeSet<usize>,
}

impl Sharded {
    /// Retrain: one head on everything.
    pub fn retrain(head: HeadConfig, dim: usize, seed: u64) -> Result<Self> {
        Self::fixsisa(head, dim, 1, seed)
    }

    /// FixSISA with `shards` shards.
    pub fn fixsisa(head: HeadConfig, dim: usize, shards: usize, seed: u64) -> Result<Self> {
        head.validate()?;
        if shards == 0 {
            return Err(Error::InvalidConfig("shards must be >= 1".into()));
        }
        Ok(Self {
            head,
            dim,
            seed,
            shards: vec![BTreeMap::new(); shards],
            params: vec![None; shards],
            pending: BTreeSet::new(),
        })
    }

    fn shard_of(&self, id: &str) -> usize {
        if self.shards.len() == 1 {
            return 0;
        }
        let mut h = Sha256::new();
        h.update(self.seed.to_le_bytes());
        h.update(id.as_bytes());
        let d = h.finalize();
        (u64::from_le_bytes(d[..8].try_into().expect("8 bytes")) % self.shards.len() as u64) as usize
    }

    fn find(&self, id: &str) -> Option<usize> {
        let s = self.shard_of(id);
        self.shards[s].contains_key(id).then_some(s)
    }

    /// Retrains the shards `batch` into scratch space, then commits: all of them or none.
    fn train_shards(&mut self, batch: &[usize]) -> Result<TrainReport> {
        let start = now_ms();
        let mut report = TrainReport::default();
        let mut fresh = Vec::with_capacity(batch.len());
        for &s in batch {
            let members: Vec<(&[f32], &str)> =
                self.shards[s].values().map(|(x, l)| (x.as_slice(), l.as_str())).collect();
            let p = if members.is_empty() {
                None
            } else {
                let p = self.head.train(&members, self.dim, self.seed.wrapping_add(s as u64))?;
                report.adapters_trained += 1;
                report.samples_replayed += members.len();
                report.params_trained += p.num_params();
                Some(p)
            };
            fresh.push((s, p));
        }
        for (s, p) in fresh {
            self.params[s] = p;
            self.pending.remove(&s);
        }
        report.elapsed_ms = now_ms() - start;
        Ok(report)
    }
}

impl Unlearner for Sharded {
    fn method(&self) -> &'static str {
        if self.shards.len() == 1 { "retrain" } else { "fixsisa" }
    }

    fn add(&mut self, id: &str, encoding: &[f32], label: &str) -> Result<()> {
        validate_sample(self.dim, id, encoding, label)?;
        if self.find(id).is_some() {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let s = self.shard_of(id);
        self.shards[s].insert(id.to_string(), (Zeroizing::new(encoding.to_vec()), label.to_string()));
        self.pending.insert(s);
        Ok(())
    }

    fn train(&mut self) -> Result<TrainReport> {
        let batch: Vec<usize> = self.pending.iter().copied().collect();
        self.train_shards(&batch)
    }

    fn predict(&self, encoding: &[f32]) -> Result<Prediction> {
        validate_encoding(encoding, self.dim)?;
        if !self.pending.is_empty() {
            return Err(Error::NotTrained(self.pending.len()));
        }
        let used: Vec<usize> = (0..self.params.len()).filter(|&s| self.params[s].is_some()).collect();
        let weights = vec![1.0; used.len()];
        ensemble(&self.params, used, &weights, encoding)
    }

    fn forget(&mut self, ids: &[&str]) -> Result<ForgetReport> {
        let start = now_ms();
        check_removable(ids, |id| self.find(id).is_some())?;
        let mut removed = Vec::with_capacity(ids.len());
        for &id in ids {
            let s = self.shard_of(id);
            let row = self.shards[s].remove(id).expect("checked removable");
            removed.push((s, id.to_string(), row));
        }
        let touched: Vec<usize> = removed.iter().map(|r| r.0).collect::<BTreeSet<_>>().into_iter().collect();
        let t = match self.train_shards(&touched) {
            Ok(t) => t,
            Err(e) => {
                for (s, id, row) in removed {
                    self.shards[s].insert(id, row);
                }
                return Err(e);
            }
        };
        Ok(ForgetReport {
            forgotten: ids.len(),
            adapters_retrained: t.adapters_trained,
            adapters: touched,
            samples_replayed: t.samples_replayed,
            params_retrained: t.params_trained,
            restructured: false,
            elapsed_ms: now_ms() - start,
        })
    }

    fn len(&self) -> usize {
        self.shards.iter().map(BTreeMap::len).sum()
    }

    fn members_per_adapter(&self) -> Vec<usize> {
        self.shards.iter().map(BTreeMap::len).collect()
    }
}

/// k-nearest-neighbour vote on the stored encodings.
#[derive(Debug, Clone)]
pub struct Knn {
    k: usize,
    dim: usize,
    rows: BTreeMap<String, Row>,
}

impl Knn {
    /// A KNN over `dim`-d encodings voting with the `k` nearest rows.
    pub fn new(k: usize, dim: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::InvalidConfig("knn k must be >= 1".into()));
        }
        Ok(Self { k, dim, rows: BTreeMap::new() })
    }
}

impl Unlearner for Knn {
    fn method(&self) -> &'static str {
        "knn"
    }

    fn add(&mut self, id: &str, encoding: &[f32], label: &str) -> Result<()> {
        insert_row(&mut self.rows, self.dim, id, encoding, label)?;
        Ok(())
    }

    fn train(&mut self) -> Result<TrainReport> {
        Ok(TrainReport::default())
    }

    fn predict(&self, encoding: &[f32]) -> Result<Prediction> {
        validate_encoding(encoding, self.dim)?;
        if self.rows.is_empty() {
            return Err(Error::EmptyModel);
        }
        // Rows iterate in id order and the sort is stable: ties go to the smaller id.
        let mut d: Vec<(f32, &str)> =
            self.rows.values().map(|(x, l)| (squared_distance(x, encoding), l.as_str())).collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0));
        let near = &d[..self.k.min(d.len())];
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, l) in near {
            *votes.entry(l).or_default() += 1;
        }
        let mut scores: Vec<(String, f32)> =
            votes.into_iter().map(|(l, v)| (l.to_string(), v as f32 / near.len() as f32)).collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(Prediction { label: scores[0].0.clone(), scores, adapters: Vec::new() })
    }

    fn forget(&mut self, ids: &[&str]) -> Result<ForgetReport> {
        let start = now_ms();
        check_removable(ids, |id| self.rows.contains_key(id))?;
        for &id in ids {
            self.rows.remove(id);
        }
        Ok(ForgetReport { forgotten: ids.len(), elapsed_ms: now_ms() - start, ..Default::default() })
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn members_per_adapter(&self) -> Vec<usize> {
        vec![1; self.rows.len()]
    }
}

/// Nearest class mean: each class is the mean of its members' encodings.
#[derive(Debug, Clone)]
pub struct Ncm {
    dim: usize,
    rows: BTreeMap<String, Row>,
    means: BTreeMap<String, Vec<f32>>,
    /// Labels whose rows changed since their mean was last computed.
    pending: BTreeSet<String>,
}

impl Ncm {
    /// An NCM over `dim`-d encodings.
    pub fn new(dim: usize) -> Self {
        Self { dim, rows: BTreeMap::new(), means: BTreeMap::new(), pending: BTreeSet::new() }
    }

    /// The mean of `label`'s members, summed in f64 in id order (`None` when it has none).
    fn mean(&self, label: &str) -> Option<Vec<f32>> {
        let mut sum = vec![0.0f64; self.dim];
        let mut n = 0usize;
        for (x, _) in self.rows.values().filter(|(_, l)| l == label) {
            for (s, &v) in sum.iter_mut().zip(x.iter()) {
                *s += v as f64;
            }
            n += 1;
        }
        (n > 0).then(|| sum.iter().map(|s| (s / n as f64) as f32).collect())
    }
}

impl Unlearner for Ncm {
    fn method(&self) -> &'static str {
        "ncm"
    }

    fn add(&mut self, id: &str, encoding: &[f32], label: &str) -> Result<()> {
        insert_row(&mut self.rows, self.dim, id, encoding, label)?;
        self.pending.insert(label.to_string());
        Ok(())
    }

    fn train(&mut self) -> Result<TrainReport> {
        let start = now_ms();
        let mut report = TrainReport::default();
        for label in std::mem::take(&mut self.pending) {
            match self.mean(&label) {
                Some(m) => {
                    report.adapters_trained += 1;
                    report.samples_replayed += self.rows.values().filter(|(_, l)| *l == label).count();
                    report.params_trained += m.len();
                    self.means.insert(label, m);
                }
                None => {
                    self.means.remove(&label);
                }
            }
        }
        report.elapsed_ms = now_ms() - start;
        Ok(report)
    }

    fn predict(&self, encoding: &[f32]) -> Result<Prediction> {
        validate_encoding(encoding, self.dim)?;
        if self.means.is_empty() {
            return Err(Error::EmptyModel);
        }
        // Score: a softmax-free similarity, exp(-d²/d²min), so the nearest mean scores 1.
        let d: Vec<(&String, f32)> = self.means.iter().map(|(l, m)| (l, squared_distance(m, encoding))).collect();
        let best = d.iter().map(|x| x.1).fold(f32::INFINITY, f32::min).max(f32::MIN_POSITIVE);
        let mut scores: Vec<(String, f32)> = d.iter().map(|(l, v)| ((*l).clone(), (-(v / best) + 1.0).exp())).collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(Prediction { label: scores[0].0.clone(), scores, adapters: Vec::new() })
    }

    fn forget(&mut self, ids: &[&str]) -> Result<ForgetReport> {
        let start = now_ms();
        check_removable(ids, |id| self.rows.contains_key(id))?;
        for &id in ids {
            let (_, l) = self.rows.remove(id).expect("checked above");
            self.pending.insert(l);
        }
        let t = self.train()?;
        Ok(ForgetReport {
            forgotten: ids.len(),
            adapters_retrained: t.adapters_trained,
            samples_replayed: t.samples_replayed,
            params_retrained: t.params_trained,
            elapsed_ms: now_ms() - start,
            ..Default::default()
        })
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn members_per_adapter(&self) -> Vec<usize> {
        self.means.keys().map(|c| self.rows.values().filter(|(_, l)| l == c).count()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{DIM, dataset};

    fn fill(u: &mut dyn Unlearner, data: &[(String, Vec<f32>, String)]) {
        for (id, x, l) in data {
            u.add(id, x, l).unwrap();
        }
        u.train().unwrap();
    }

    fn accuracy(u: &dyn Unlearner, data: &[(String, Vec<f32>, String)]) -> f32 {
        let ok = data.iter().filter(|(_, x, l)| &u.predict(x).unwrap().label == l).count();
        ok as f32 / data.len() as f32
    }

    #[test]
    fn all_baselines_learn_and_forget() {
        let train = dataset(90, 3, 30);
        let test = dataset(30, 3, 30);
        let mut methods: Vec<Box<dyn Unlearner>> = vec![
            Box::new(Sharded::retrain(HeadConfig::new(), DIM, 0).unwrap()),
            Box::new(Sharded::fixsisa(HeadConfig::new(), DIM, 3, 0).unwrap()),
            Box::new(Knn::new(3, DIM).unwrap()),
            Box::new(Ncm::new(DIM)),
        ];
        for u in &mut methods {
            fill(u.as_mut(), &train);
            assert!(accuracy(u.as_ref(), &test) > 0.9, "{}", u.method());
            let r = u.forget(&["s0001", "s0002"]).unwrap();
            assert_eq!(r.forgotten, 2);
            assert_eq!(u.len(), 88);
            assert!(matches!(u.forget(&["s0001"]), Err(Error::UnknownId(_))));
            assert!(matches!(u.add("s0003", &train[3].1, "class0"), Err(Error::DuplicateId(_))));
            // The names LegoNet refuses, refused alike.
            let long = "x".repeat(5_000);
            for (id, label) in [("", "class0"), ("new", ""), (long.as_str(), "class0")] {
                assert!(u.add(id, &train[3].1, label).is_err(), "{}: id {:.8?}, label {label:?}", u.method(), id);
            }
            assert_eq!(u.len(), 88);
        }
        assert_eq!(methods[0].members_per_adapter(), vec![88]);
        assert_eq!(methods[1].members_per_adapter().iter().sum::<usize>(), 88);
    }

    #[test]
    fn retrain_forget_equals_training_on_survivors() {
        let data = dataset(40, 2, 31);
        let mut a = Sharded::retrain(HeadConfig::new(), DIM, 0).unwrap();
        fill(&mut a, &data);
        let r = a.forget(&["s0005"]).unwrap();
        assert_eq!(r.samples_replayed, 39);
        let mut b = Sharded::retrain(HeadConfig::new(), DIM, 0).unwrap();
        fill(&mut b, &data.iter().filter(|d| d.0 != "s0005").cloned().collect::<Vec<_>>());
        assert_eq!(a.params, b.params);
    }

    #[test]
    fn ncm_forget_equals_training_on_survivors() {
        let data = dataset(40, 2, 32);
        let mut a = Ncm::new(DIM);
        fill(&mut a, &data);
        a.forget(&["s0005", "s0010"]).unwrap();
        let mut b = Ncm::new(DIM);
        fill(&mut b, &data.iter().filter(|d| d.0 != "s0005" && d.0 != "s0010").cloned().collect::<Vec<_>>());
        assert_eq!(a.means, b.means);
    }
}
