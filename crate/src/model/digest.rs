//! Hashes that name a model's state without its bytes: the **model hash** (everything that
//! makes the model what it is: encoder id, keys, configuration, classes, every sample's id,
//! label, encoding digest and route, every adapter's parameters, pending adapters), an
//! adapter's **member-set hash** and its **weights hash**. Deletion receipts name models and
//! adapters by these.
//!
//! The model hash leaves out the receipt chain (the history of forgets): a receipt names the
//! model after its forget, so the hash cannot cover the receipt itself, and two models built by
//! different histories of adds and forgets are the same model, with the same hash. It hashes each
//! encoding through the digest computed once when the sample was stored, and each adapter through
//! the weights hash computed when it was trained, so it costs a pass over hashes, not over every
//! encoding and weight.

use sha2::{Digest, Sha256};

use super::{LegoNet, LegoNetConfig};
use crate::head::{AdapterParams, HeadKind};

/// SHA-256 with length-prefixed fields under a domain tag, so that no two field sequences hash
/// the same bytes.
pub(crate) struct Fields(Sha256);

impl Fields {
    pub(crate) fn new(domain: &str) -> Fields {
        let mut f = Fields(Sha256::new());
        f.str(domain);
        f
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.update(v.to_le_bytes());
    }
    pub(crate) fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.update(b);
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub(crate) fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// The configuration's fields, in a fixed order.
fn config_fields(f: &mut Fields, c: &LegoNetConfig) {
    f.u64(c.is_adaptive() as u64);
    if let (Some(n), Some(k)) = (c.adapters, c.activated) {
        f.u64(n as u64);
        f.u64(k as u64);
    } else {
        f.u64(c.schedule.0.len() as u64);
        for l in &c.schedule.0 {
            f.u64(l.from as u64);
            f.u64(l.adapters as u64);
            f.u64(l.activated as u64);
        }
    }
    f.u64(c.seed);
    f.u64(match c.head.kind {
        HeadKind::Ridge => 0,
        HeadKind::Softmax => 1,
    });
    f.f64(c.head.ridge_lambda);
    f.u64(c.head.epochs as u64);
    f.f64(c.head.learning_rate);
    f.u64(c.head.batch_size as u64);
    f.u64(c.member_cap.unwrap_or(0) as u64);
}

/// SHA-256 of one adapter's parameters: labels, head flag, every weight and bias bit.
pub fn weights_digest(p: &AdapterParams) -> [u8; 32] {
    let mut f = Fields::new("legonet-adapter-weights-v1");
    f.u64(p.dim as u64);
    f.u64(p.labels.len() as u64);
    for l in &p.labels {
        f.str(l);
    }
    f.u64(p.softmax as u64);
    f.u64(p.weight.len() as u64 + p.bias.len() as u64);
    // In blocks: per-float updates are slow.
    let (mut block, mut at) = ([0u8; 256], 0);
    for v in p.bits() {
        block[at..at + 4].copy_from_slice(&v.to_le_bytes());
        at += 4;
        if at == block.len() {
            f.0.update(block);
            at = 0;
        }
    }
    f.0.update(&block[..at]);
    f.finish()
}

impl LegoNet {
    /// SHA-256 (hex) of the model's state (see [`crate::model::digest`]): equal hashes mean
    /// equal models, bit for bit, whatever history of adds and forgets built them.
    pub fn model_hash(&self) -> String {
        let mut f = Fields::new("legonet-model-v1");
        f.str(&self.encoder_id);
        f.str(self.keys.hash());
        config_fields(&mut f, &self.config);
        f.u64(self.keys.len() as u64);
        f.u64(self.activated as u64);
        // The registered classes; the others are the samples' labels, hashed with each sample.
        f.u64(self.registered.len() as u64);
        for c in &self.registered {
            f.str(c);
        }
        f.u64(self.ledger.len() as u64);
        for (id, s) in self.ledger.iter() {
            f.str(id);
            f.str(&s.label);
            f.bytes(&s.digest);
            f.u64(s.adapters.len() as u64);
            for &a in &s.adapters {
                f.u64(a as u64);
            }
        }
        for d in &self.weight_digests.0 {
            match d {
                None => f.u64(0),
                Some(d) => {
                    f.u64(1);
                    f.bytes(d);
                }
            }
        }
        f.u64(self.pending.len() as u64);
        for &p in &self.pending {
            f.u64(p as u64);
        }
        hex::encode(f.finish())
    }

    /// SHA-256 of the stored samples: each id, label and encoding digest, in id order.
    pub(crate) fn ledger_digest(&self) -> [u8; 32] {
        let mut f = Fields::new("legonet-samples-v1");
        f.u64(self.ledger.len() as u64);
        for (id, s) in self.ledger.iter() {
            f.str(id);
            f.str(&s.label);
            f.bytes(&s.digest);
        }
        f.finish()
    }

    /// Weights hash of adapter `i` (`None` when it has no parameters or `i` is out of range).
    pub fn weights_hash(&self, i: usize) -> Option<String> {
        self.weight_digests.0.get(i).copied().flatten().map(hex::encode)
    }

    /// SHA-256 of adapter `i`'s member set: each member's id and encoding digest, in id order
    /// (what, with the seed and the configuration, determines the adapter's parameters).
    ///
    /// # Panics
    /// If `i` is not an adapter index (below `structure().0`), as indexing a slice does.
    pub fn member_set_digest(&self, i: usize) -> [u8; 32] {
        let mut f = Fields::new("legonet-member-set-v1");
        f.u64(self.ledger.members(i).count() as u64);
        for id in self.ledger.members(i) {
            f.str(id);
            f.bytes(&self.ledger.get(id).expect("indexed").digest);
        }
        f.finish()
    }
}
