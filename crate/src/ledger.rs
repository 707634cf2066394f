//! The samples (id, label, encoding) and the adapter membership inverse index: which
//! adapters a sample activated, and which samples each adapter owns. This is what tells a
//! forget exactly which adapters it touches. Ordered maps give the canonical member order
//! (sorted by id) that makes training independent of insertion history.

use std::collections::{BTreeMap, BTreeSet};

use zeroize::Zeroize;

use crate::{Error, Result};

/// One stored sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Class label (a registered class name).
    pub label: String,
    /// The cached encoding.
    pub encoding: Vec<f32>,
    /// Adapters this sample activated, nearest first.
    pub adapters: Vec<usize>,
    /// SHA-256 of the encoding's bits ([`encoding_digest`]), computed once at construction: the
    /// model hash, member-set hashes and deletion receipts name encodings by it.
    pub digest: [u8; 32],
}

impl Sample {
    /// A sample and its encoding's digest.
    pub fn new(label: String, encoding: Vec<f32>, adapters: Vec<usize>) -> Sample {
        let digest = encoding_digest(&encoding);
        Sample { label, encoding, adapters, digest }
    }
}

/// SHA-256 of an encoding's IEEE bits (little-endian), under its own domain tag: names an
/// encoding without revealing it.
pub fn encoding_digest(encoding: &[f32]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"legonet-encoding-v1");
    h.update((encoding.len() as u64).to_le_bytes());
    // In blocks (per-float updates are slow); the block is overwritten after use.
    let mut block = [0u8; 256];
    for chunk in encoding.chunks(64) {
        for (b, v) in block.chunks_exact_mut(4).zip(chunk) {
            b.copy_from_slice(&v.to_bits().to_le_bytes());
        }
        h.update(&block[..chunk.len() * 4]);
    }
    block.zeroize();
    h.finalize().into()
}

/// A sample's encoding is overwritten when the sample is dropped — forgotten, replaced by an
/// import, or a rollback copy — so freed memory never holds it.
impl Drop for Sample {
    fn drop(&mut self) {
        self.encoding.zeroize();
    }
}

/// Samples plus the per-adapter inverse index.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    samples: BTreeMap<String, Sample>,
    members: Vec<BTreeSet<String>>,
}

/// Largest magnitude an encoding value may have. The encoder's lie in [0, 6] (its last layer is
/// a ReLU6, then an average); far larger finite values (1e8) make the ridge solve's Gram matrix
/// so ill-conditioned that training yields NaN weights, which a snapshot could not hold.
pub const MAX_ENCODING_VALUE: f32 = 1e4;

/// Longest sample id, label or class name, in UTF-8 bytes. The ledger holds a copy of an id per
/// adapter it activates, so without a bound a small crafted snapshot could take gigabytes.
pub const MAX_NAME_BYTES: usize = 1024;

/// Rejects an empty or over-long (beyond [`MAX_NAME_BYTES`]) sample id, label or class name;
/// `what` names it in the error.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidInput(format!("a {what} must not be empty")));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::InvalidInput(format!(
            "a {what} has at most {MAX_NAME_BYTES} UTF-8 bytes (got {})",
            name.len()
        )));
    }
    Ok(())
}

/// Rejects encodings of the wrong length, with NaN/inf, or with values beyond
/// ±[`MAX_ENCODING_VALUE`].
pub fn validate_encoding(encoding: &[f32], dim: usize) -> Result<()> {
    if encoding.len() != dim {
        return Err(Error::InvalidEncoding(format!("expected {dim} values, got {}", encoding.len())));
    }
    if let Some(i) = encoding.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidEncoding(format!("value {i} is not finite")));
    }
    if let Some(i) = encoding.iter().position(|v| v.abs() > MAX_ENCODING_VALUE) {
        return Err(Error::InvalidEncoding(format!(
            "value {i} is {}, beyond ±{MAX_ENCODING_VALUE} (the encoder's lie in [0, 6])",
            encoding[i]
        )));
    }
    Ok(())
}

impl Ledger {
    /// An empty ledger over `n_adapters` adapters.
    pub fn new(n_adapters: usize) -> Self {
        Self { samples: BTreeMap::new(), members: vec![BTreeSet::new(); n_adapters] }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample is stored.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Whether `id` is stored.
    pub fn contains(&self, id: &str) -> bool {
        self.samples.contains_key(id)
    }

    /// The sample stored under `id`.
    pub fn get(&self, id: &str) -> Option<&Sample> {
        self.samples.get(id)
    }

    /// All samples in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Sample)> {
        self.samples.iter()
    }

    /// Inserts a sample routed to `sample.adapters`; the caller has validated it.
    pub fn insert(&mut self, id: String, sample: Sample) -> Result<()> {
        if self.samples.contains_key(&id) {
            return Err(Error::DuplicateId(id));
        }
        for &a in &sample.adapters {
            self.members[a].insert(id.clone());
        }
        self.samples.insert(id, sample);
        Ok(())
    }

    /// Removes a sample; returns it (with the adapters it leaves).
    pub fn remove(&mut self, id: &str) -> Result<Sample> {
        let s = self.samples.remove(id).ok_or_else(|| Error::UnknownId(id.to_string()))?;
        for &a in &s.adapters {
            self.members[a].remove(id);
        }
        Ok(s)
    }

    /// Routes every sample anew over `n_adapters` adapters (`route` maps encodings to their
    /// activated adapters, in order) and rebuilds the inverse index; encodings are not copied.
    pub fn reroute(&mut self, n_adapters: usize, route: impl FnOnce(&[&[f32]]) -> Vec<Vec<usize>>) {
        let encodings: Vec<&[f32]> = self.samples.values().map(|s| s.encoding.as_slice()).collect();
        let routes = route(&encodings);
        let mut members = vec![BTreeSet::new(); n_adapters];
        for ((id, s), adapters) in self.samples.iter_mut().zip(routes) {
            for &a in &adapters {
                members[a].insert(id.clone());
            }
            s.adapters = adapters;
        }
        self.members = members;
    }

    /// Member ids of adapter `a`, in canonical (sorted) order.
    pub fn members(&self, a: usize) -> impl Iterator<Item = &String> {
        self.members[a].iter()
    }

    /// Member count per adapter.
    pub fn member_counts(&self) -> Vec<usize> {
        self.members.iter().map(|m| m.len()).collect()
    }

    /// Ids carrying `label`, sorted.
    pub fn ids_with_label(&self, label: &str) -> Vec<String> {
        self.samples.iter().filter(|(_, s)| s.label == label).map(|(id, _)| id.clone()).collect()
    }

    /// Checks that `ids` are all stored and pairwise distinct (nothing is changed).
    pub fn check_removable(&self, ids: &[&str]) -> Result<()> {
        check_removable(ids, |id| self.samples.contains_key(id))
    }
}

/// The all-or-nothing precondition of every forget, LegoNet's and the baselines': each id stored
/// (`has`) and listed once; the first offending id, in the order given, is the error.
pub(crate) fn check_removable(ids: &[&str], has: impl Fn(&str) -> bool) -> Result<()> {
    let mut seen = BTreeSet::new();
    for &id in ids {
        if !has(id) {
            return Err(Error::UnknownId(id.to_string()));
        }
        if !seen.insert(id) {
            return Err(Error::DuplicateId(id.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(label: &str, adapters: Vec<usize>) -> Sample {
        Sample::new(label.into(), vec![0.0; 4], adapters)
    }

    #[test]
    fn inverse_index_follows_inserts_and_removes() {
        let mut l = Ledger::new(3);
        l.insert("b".into(), sample("x", vec![0, 2])).unwrap();
        l.insert("a".into(), sample("y", vec![2, 1])).unwrap();
        assert_eq!(l.members(2).cloned().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(l.member_counts(), vec![1, 1, 2]);
        assert!(matches!(l.insert("a".into(), sample("y", vec![0])), Err(Error::DuplicateId(_))));
        let s = l.remove("b").unwrap();
        assert_eq!(s.adapters, vec![0, 2]);
        assert_eq!(l.member_counts(), vec![0, 1, 1]);
        assert!(matches!(l.remove("b"), Err(Error::UnknownId(_))));
        assert_eq!(l.ids_with_label("y"), vec!["a"]);
    }

    #[test]
    fn check_removable_rejects_unknown_and_repeated() {
        let mut l = Ledger::new(1);
        l.insert("a".into(), sample("x", vec![0])).unwrap();
        assert!(l.check_removable(&["a"]).is_ok());
        assert!(matches!(l.check_removable(&["a", "a"]), Err(Error::DuplicateId(_))));
        assert!(matches!(l.check_removable(&["z"]), Err(Error::UnknownId(_))));
    }

    #[test]
    fn encoding_validation() {
        assert!(validate_encoding(&[0.0, 1.0], 2).is_ok());
        assert!(matches!(validate_encoding(&[0.0], 2), Err(Error::InvalidEncoding(_))));
        assert!(matches!(validate_encoding(&[0.0, f32::NAN], 2), Err(Error::InvalidEncoding(_))));
        assert!(matches!(validate_encoding(&[f32::INFINITY, 0.0], 2), Err(Error::InvalidEncoding(_))));
    }
}
