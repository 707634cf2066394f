//! Deletion receipts: what a forget hands the person whose photos it removed, and what lets
//! anyone check, offline, that a saved model no longer holds them.
//!
//! A [`ForgetReceipt`] names the encoder, the keys and the configuration, the model hash before
//! and after the forget ([`crate::model::digest`]), a salted commitment to each forgotten example
//! and, for each adapter the forget retrained, its member-set hash before and after and its
//! weights hash after. Its own hash ([`ForgetReceipt::hash`]) is over canonical bytes of those
//! fields (not over any JSON rendering). Receipts chain: each names the hash of the receipt
//! before it, and the model carries the hash of its last receipt and their count in its snapshot,
//! so a saved model commits to the whole history of its forgets while staying small (the
//! receipts themselves are the person's to keep; a model never grows with its history).
//!
//! **The salt and who can open a commitment.** A commitment is
//! `SHA-256(tag, salt, id, encoding digest)`, where the encoding digest is the SHA-256 of the
//! encoding's bits. The salt is 32 fresh random bytes per forget, drawn from the browser's
//! CSPRNG by the package (the core takes it as an argument and draws no randomness itself; forgets
//! made without one, in the benchmarks, derive it: [`derived_salt`]), and it is *in the receipt*: a checker needs it to recompute the commitment of every
//! example the model still holds and find none among the forgotten ones. The receipt therefore
//! reveals neither an encoding (only a hash of a hash of it) nor an id, and the random salt makes
//! two receipts for the same example unlinkable. Opening a commitment needs the example's id
//! and the exact bits of its encoding, i.e. a copy of the model from before the forget (an
//! earlier `export()`): whoever kept such a copy — in practice the person who added the photo —
//! can show that a given commitment is their photo; nobody else can. Re-encoding the photo is
//! not enough, as encodings from another platform differ in the last bits (the photo audit,
//! [`crate::model::audit`], answers "is this photo in the model" instead, within a tolerance).
//!
//! Receipts are not signed: someone who rewrites a model *and* its receipts consistently is not
//! caught. What they prove is that the model in hand is the one the receipts name, holds none of
//! the committed examples, and equals training from scratch on what it holds.

use std::collections::{BTreeMap, BTreeSet};

use super::LegoNet;
use super::digest::{Fields, weights_digest};
use crate::head::HeadKind;
use crate::unlearner::ForgetReport;
use crate::{Error, Result};

/// The receipt format this build writes and checks.
pub const RECEIPT_VERSION: u32 = 1;

/// The configuration a receipt names (the model's after the forget).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiptConfig {
    /// n after the forget.
    pub adapters: usize,
    /// k after the forget.
    pub activated: usize,
    /// Whether n and k are fixed (expert option) rather than following the sample count.
    pub fixed: bool,
    /// The capacity levels as (from samples, n, k) (empty when fixed).
    pub capacity: Vec<[usize; 3]>,
    /// Model seed, in decimal (a string: JSON numbers lose u64 precision in JS).
    pub seed: String,
    /// `ridge` or `softmax`.
    pub head: String,
    /// Ridge penalty.
    pub ridge_lambda: f64,
    /// Softmax epochs.
    pub epochs: usize,
    /// Softmax learning rate.
    pub learning_rate: f64,
    /// Softmax batch size.
    pub batch_size: usize,
    /// Most members one ridge solve takes (an adapter over it is hash-sharded); 0 = no cap.
    pub member_cap: usize,
}

impl ReceiptConfig {
    fn of(m: &LegoNet) -> ReceiptConfig {
        let c = &m.config;
        let (n, k) = m.structure();
        ReceiptConfig {
            adapters: n,
            activated: k,
            fixed: !c.is_adaptive(),
            capacity: if c.is_adaptive() {
                c.schedule.0.iter().map(|l| [l.from, l.adapters, l.activated]).collect()
            } else {
                Vec::new()
            },
            seed: c.seed.to_string(),
            head: match c.head.kind {
                HeadKind::Ridge => "ridge",
                HeadKind::Softmax => "softmax",
            }
            .into(),
            ridge_lambda: c.head.ridge_lambda,
            epochs: c.head.epochs,
            learning_rate: c.head.learning_rate,
            batch_size: c.head.batch_size,
            member_cap: c.member_cap.unwrap_or(0),
        }
    }
}

/// One adapter a forget retrained (or cleared, or — when the forget crossed a capacity level —
/// dealt anew): hashes of its member set before and after and of its weights after. `None`
/// where the adapter did not exist (before or after a restructure) or has no parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdapterChange {
    /// Adapter index.
    pub adapter: usize,
    /// Member-set hash before the forget.
    pub members_before: Option<String>,
    /// Member-set hash after the forget.
    pub members_after: Option<String>,
    /// Weights hash after the forget (`None`: no member left, no parameters).
    pub weights_after: Option<String>,
}

/// What one forget did, in hashes (see the module documentation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForgetReceipt {
    /// [`RECEIPT_VERSION`].
    pub version: u32,
    /// 1 for the model's first forget, then one more per forget.
    pub sequence: u64,
    /// Hash of the receipt before this one in the model's chain (`None` for the first).
    pub previous_receipt: Option<String>,
    /// The encoder id.
    pub encoder_id: String,
    /// The key hash after the forget.
    pub key_hash: String,
    /// The configuration.
    pub config: ReceiptConfig,
    /// Model hash before the forget.
    pub model_before: String,
    /// Model hash after the forget.
    pub model_after: String,
    /// The commitments' salt (32 random bytes, hex).
    pub salt: String,
    /// One commitment per forgotten example (hex), sorted.
    pub forgotten: Vec<String>,
    /// The adapters the forget retrained, by index.
    pub adapters: Vec<AdapterChange>,
}

/// Most receipts one model may issue: sequence numbers stay exact as JavaScript numbers, and a
/// snapshot's count can never make the next sequence overflow.
pub const MAX_RECEIPTS: u64 = (1 << 53) - 1;

/// The chain position a model carries: how many receipts it has issued and the last one's hash.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ReceiptChain {
    pub(crate) count: u64,
    pub(crate) last: Option<[u8; 32]>,
}

/// What `check_receipts` found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptCheck {
    /// Receipts checked.
    pub receipts: usize,
    /// Forgotten-example commitments checked against every stored example.
    pub commitments: usize,
    /// Adapters replayed from their members and compared bit for bit.
    pub adapters_replayed: usize,
    /// What does not hold, one line each (empty: the receipts and the model agree).
    pub failures: Vec<String>,
}

impl ReceiptCheck {
    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The salt of a forget made without one ([`crate::Unlearner::forget`], `remove_class`: the
/// benchmarks and comparisons): derived from the model hash before the forget, the chain position
/// and the ids, so such receipts are reproducible. The package's forgets pass 32 random bytes
/// (`crypto.getRandomValues`) instead; the core itself draws no randomness.
pub fn derived_salt(m: &LegoNet, ids: &[&str]) -> [u8; 32] {
    let mut f = Fields::new("legonet-derived-salt-v1");
    f.str(&m.model_hash());
    f.u64(m.receipts.count);
    for id in ids {
        f.str(id);
    }
    f.finish()
}

/// The commitment to a forgotten example: `SHA-256(tag, salt, id, encoding digest)`.
pub fn commitment(salt: &[u8; 32], id: &str, encoding_digest: &[u8; 32]) -> [u8; 32] {
    let mut f = Fields::new("legonet-forget-commitment-v1");
    f.bytes(salt);
    f.str(id);
    f.bytes(encoding_digest);
    f.finish()
}

fn bad(msg: impl Into<String>) -> Error {
    Error::InvalidReceipt(msg.into())
}

/// 32 bytes from 64 lowercase hex digits.
fn hash32(field: &str, s: &str) -> Result<[u8; 32]> {
    let ok = s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let bytes = ok
        .then(|| hex::decode(s).ok())
        .flatten()
        .ok_or_else(|| bad(format!("{field}: not 64 lowercase hex digits")))?;
    Ok(bytes.try_into().expect("32 bytes"))
}

fn opt_hash32(field: &str, s: &Option<String>) -> Result<()> {
    s.as_deref().map(|s| hash32(field, s)).transpose().map(|_| ())
}

impl ForgetReceipt {
    /// Checks the form (version, hex fields, sorted commitments and adapters) without looking at
    /// any model: a receipt that fails is not a receipt (`INVALID_RECEIPT`).
    pub fn validate(&self) -> Result<()> {
        if self.version != RECEIPT_VERSION {
            return Err(bad(format!("version {} (this build reads {RECEIPT_VERSION})", self.version)));
        }
        if self.sequence == 0 {
            return Err(bad("sequence starts at 1"));
        }
        opt_hash32("previousReceipt", &self.previous_receipt)?;
        if (self.sequence == 1) != self.previous_receipt.is_none() {
            return Err(bad("the first receipt, and only it, has no previous receipt"));
        }
        for (field, v) in [
            ("keyHash", &self.key_hash),
            ("modelBefore", &self.model_before),
            ("modelAfter", &self.model_after),
            ("salt", &self.salt),
        ] {
            hash32(field, v)?;
        }
        if self.config.seed.parse::<u64>().map(|s| s.to_string()) != Ok(self.config.seed.clone()) {
            return Err(bad("config.seed: not a decimal u64"));
        }
        if !["ridge", "softmax"].contains(&self.config.head.as_str()) {
            return Err(bad("config.head: not ridge or softmax"));
        }
        for c in &self.forgotten {
            hash32("forgotten", c)?;
        }
        if !self.forgotten.windows(2).all(|w| w[0] < w[1]) {
            return Err(bad("forgotten: not sorted and unique"));
        }
        for a in &self.adapters {
            opt_hash32("membersBefore", &a.members_before)?;
            opt_hash32("membersAfter", &a.members_after)?;
            opt_hash32("weightsAfter", &a.weights_after)?;
        }
        if !self.adapters.windows(2).all(|w| w[0].adapter < w[1].adapter) {
            return Err(bad("adapters: not sorted by index and unique"));
        }
        Ok(())
    }

    /// SHA-256 (hex) of the receipt's canonical bytes: every field in a fixed order,
    /// length-prefixed, under a domain tag.
    pub fn hash(&self) -> String {
        let mut f = Fields::new("legonet-forget-receipt-v1");
        f.u64(self.version as u64);
        f.u64(self.sequence);
        f.str(self.previous_receipt.as_deref().unwrap_or(""));
        f.str(&self.encoder_id);
        f.str(&self.key_hash);
        let c = &self.config;
        f.u64(c.adapters as u64);
        f.u64(c.activated as u64);
        f.u64(c.fixed as u64);
        f.u64(c.capacity.len() as u64);
        for l in &c.capacity {
            l.iter().for_each(|&v| f.u64(v as u64));
        }
        f.str(&c.seed);
        f.str(&c.head);
        f.f64(c.ridge_lambda);
        f.u64(c.epochs as u64);
        f.f64(c.learning_rate);
        f.u64(c.batch_size as u64);
        f.u64(c.member_cap as u64);
        f.str(&self.model_before);
        f.str(&self.model_after);
        f.str(&self.salt);
        f.u64(self.forgotten.len() as u64);
        for x in &self.forgotten {
            f.str(x);
        }
        f.u64(self.adapters.len() as u64);
        for a in &self.adapters {
            f.u64(a.adapter as u64);
            for h in [&a.members_before, &a.members_after, &a.weights_after] {
                f.str(h.as_deref().unwrap_or(""));
            }
        }
        hex::encode(f.finish())
    }
}

impl LegoNet {
    /// How many receipts this model has issued (its forgets, `remove_class` included).
    pub fn receipt_count(&self) -> u64 {
        self.receipts.count
    }

    /// Hash of the model's last receipt (`None` before its first forget).
    pub fn last_receipt(&self) -> Option<String> {
        self.receipts.last.map(hex::encode)
    }

    /// [`crate::Unlearner::forget`] with a receipt whose commitments use `salt` (32 random bytes
    /// from the platform's CSPRNG); the model's receipt chain advances. All-or-nothing like `forget`.
    /// An empty `ids` is `INVALID_INPUT`: nothing would be forgotten, yet a receipt would be issued.
    pub fn forget_with_receipt(&mut self, ids: &[&str], salt: [u8; 32]) -> Result<(ForgetReport, ForgetReceipt)> {
        if ids.is_empty() {
            return Err(Error::InvalidInput("forget needs at least one id".into()));
        }
        self.forget_receipted(ids, salt)
    }

    /// [`LegoNet::forget_with_receipt`] of any number of ids (a class may have none left).
    fn forget_receipted(&mut self, ids: &[&str], salt: [u8; 32]) -> Result<(ForgetReport, ForgetReceipt)> {
        self.ledger.check_removable(ids)?;
        if self.receipts.count >= MAX_RECEIPTS {
            return Err(Error::InvalidInput(format!(
                "this model has issued {MAX_RECEIPTS} receipts, the most one may"
            )));
        }
        let model_before = self.model_hash();
        // Member sets before: of the adapters the forgotten samples activated or, when the forget
        // crosses a capacity level (every adapter is dealt anew), of all of them.
        let crosses = self.forget_crosses_level(ids.len());
        let touched: BTreeSet<usize> = if crosses {
            (0..self.keys.len()).collect()
        } else {
            ids.iter().flat_map(|id| self.ledger.get(id).expect("checked").adapters.iter().copied()).collect()
        };
        let before: BTreeMap<usize, String> =
            touched.iter().map(|&i| (i, hex::encode(self.member_set_digest(i)))).collect();
        let mut forgotten: Vec<String> = ids
            .iter()
            .map(|id| hex::encode(commitment(&salt, id, &self.ledger.get(id).expect("checked").digest)))
            .collect();
        forgotten.sort();
        let report = self.forget_samples(ids)?;
        let after: BTreeSet<usize> = if report.restructured {
            (0..self.keys.len()).collect()
        } else {
            report.adapters.iter().copied().collect()
        };
        let adapters = before
            .keys()
            .chain(&after)
            .copied()
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .map(|i| {
                let now = after.contains(&i);
                AdapterChange {
                    adapter: i,
                    members_before: before.get(&i).cloned(),
                    members_after: now.then(|| hex::encode(self.member_set_digest(i))),
                    weights_after: if now { self.weights_hash(i) } else { None },
                }
            })
            .collect();
        let receipt = ForgetReceipt {
            version: RECEIPT_VERSION,
            sequence: self.receipts.count + 1,
            previous_receipt: self.last_receipt(),
            encoder_id: self.encoder_id.clone(),
            key_hash: self.keys.hash().to_string(),
            config: ReceiptConfig::of(self),
            model_before,
            model_after: self.model_hash(),
            salt: hex::encode(salt),
            forgotten,
            adapters,
        };
        let hash = hash32("receipt", &receipt.hash()).expect("hex of a digest");
        self.receipts = ReceiptChain { count: receipt.sequence, last: Some(hash) };
        Ok((report, receipt))
    }

    /// [`LegoNet::remove_class`] with its receipt (see [`LegoNet::forget_with_receipt`]).
    pub fn remove_class_with_receipt(&mut self, name: &str, salt: [u8; 32]) -> Result<(ForgetReport, ForgetReceipt)> {
        if !self.has_class(name) {
            return Err(Error::UnknownClass(name.to_string()));
        }
        let ids = self.ledger.ids_with_label(name);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (report, mut receipt) = self.forget_receipted(&refs, salt)?;
        // The class goes too (a registered one; a label goes with its last sample): the receipt
        // names the model without it.
        self.registered.remove(name);
        receipt.model_after = self.model_hash();
        self.receipts.last = Some(hash32("receipt", &receipt.hash()).expect("hex of a digest"));
        Ok((report, receipt))
    }

    /// Checks `chain` (this model's receipts, oldest first; any tail of its chain) against this
    /// model, offline: every receipt well formed (else `INVALID_RECEIPT`) and linked to the one
    /// before; the last one the model's last receipt, naming exactly this model (model hash, key
    /// hash, configuration, the retrained adapters' member sets and weights); no example the
    /// model holds matches any commitment of any receipt; and every adapter replays bit for bit.
    pub fn check_receipts(&self, chain: &[ForgetReceipt]) -> Result<ReceiptCheck> {
        let last = chain.last().ok_or_else(|| bad("no receipt given"))?;
        for r in chain {
            r.validate()?;
        }
        let mut check = ReceiptCheck { receipts: chain.len(), ..Default::default() };
        let fail = |check: &mut ReceiptCheck, s: String| check.failures.push(s);
        for (i, r) in chain.iter().enumerate() {
            if r.encoder_id != self.encoder_id {
                fail(&mut check, format!("receipt {}: encoder {} is not the model's", r.sequence, r.encoder_id));
            }
            if i > 0 {
                let prev = &chain[i - 1];
                if r.previous_receipt.as_deref() != Some(prev.hash().as_str()) || r.sequence != prev.sequence + 1 {
                    fail(
                        &mut check,
                        format!("receipt {} does not follow receipt {} (chain broken)", r.sequence, prev.sequence),
                    );
                }
            }
        }
        if Some(last.hash()) != self.last_receipt() || last.sequence != self.receipts.count {
            fail(
                &mut check,
                format!(
                    "the last receipt (sequence {}, hash {}) is not the model's last (sequence {}, hash {})",
                    last.sequence,
                    last.hash(),
                    self.receipts.count,
                    self.last_receipt().unwrap_or_else(|| "none".into())
                ),
            );
        }
        let hash = self.model_hash();
        if last.model_after != hash {
            fail(&mut check, format!("the model hash is {hash}, the last receipt names {}", last.model_after));
        }
        if last.key_hash != self.keys.hash() || last.config != ReceiptConfig::of(self) {
            fail(&mut check, "the last receipt names other keys or another configuration".into());
        }
        for a in &last.adapters {
            let (members, weights) = if a.adapter < self.keys.len() {
                // From the parameters themselves, not the kept hashes.
                (
                    Some(hex::encode(self.member_set_digest(a.adapter))),
                    self.adapters[a.adapter].as_ref().map(|p| hex::encode(weights_digest(p))),
                )
            } else {
                (None, None)
            };
            if a.members_after != members || a.weights_after != weights {
                fail(&mut check, format!("adapter {}: members or weights differ from the last receipt", a.adapter));
            }
        }
        // No stored example may open any commitment.
        for r in chain {
            let salt = hash32("salt", &r.salt)?;
            let committed: BTreeSet<&str> = r.forgotten.iter().map(String::as_str).collect();
            check.commitments += committed.len();
            for (id, s) in self.ledger.iter() {
                if committed.contains(hex::encode(commitment(&salt, id, &s.digest)).as_str()) {
                    fail(
                        &mut check,
                        format!("receipt {}: example {id:?} was forgotten but is in the model", r.sequence),
                    );
                }
            }
        }
        match self.verify() {
            Ok(v) => {
                check.adapters_replayed = v.adapters_checked;
                if !v.ok() {
                    fail(&mut check, format!("adapters {:?} differ from their replay", v.mismatches));
                }
            }
            Err(e) => fail(&mut check, format!("cannot replay: {e}")),
        }
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LegoNetConfig;
    use crate::model::tests::{dataset, model};
    use crate::unlearner::Unlearner;

    fn trained(cfg: &LegoNetConfig, n: usize) -> LegoNet {
        let mut m = model(cfg, 3);
        for (id, x, l) in dataset(n, 3, 31) {
            m.add(&id, &x, &l).unwrap();
        }
        m.train().unwrap();
        m
    }

    /// Three forgets (one of them a whole class) on a fixed and on the capacity-levelled model;
    /// the receipts chain and check against the model, also after a snapshot round trip.
    #[test]
    fn receipts_chain_and_check_against_the_model() {
        for cfg in [LegoNetConfig::new().fixed(8, 2), LegoNetConfig::new()] {
            let mut m = trained(&cfg, 320);
            let mut chain = Vec::new();
            let before = m.model_hash();
            let (report, r) = m.forget_with_receipt(&["s0003", "s0100"], [7; 32]).unwrap();
            assert_eq!(r.model_before, before);
            assert_eq!(r.model_after, m.model_hash());
            assert_eq!((r.sequence, r.previous_receipt.as_deref()), (1, None));
            assert_eq!(r.forgotten.len(), 2);
            let indices: Vec<usize> = r.adapters.iter().map(|a| a.adapter).collect();
            assert_eq!(indices, report.adapters, "one entry per retrained adapter");
            assert!(r.adapters.iter().all(|a| a.members_before != a.members_after));
            chain.push(r);
            let (_, r) = m.forget_with_receipt(&["s0200"], [8; 32]).unwrap();
            chain.push(r);
            let (_, r) = m.remove_class_with_receipt("class2", [9; 32]).unwrap();
            assert_eq!(r.previous_receipt, Some(chain[1].hash()));
            chain.push(r);
            assert_eq!(m.receipt_count(), 3);
            assert_eq!(m.last_receipt(), Some(chain[2].hash()));
            let check = m.check_receipts(&chain).unwrap();
            assert!(check.ok(), "{:?}", check.failures);
            assert_eq!(check.commitments, chain.iter().map(|r| r.forgotten.len()).sum::<usize>());
            // Any tail of the chain checks too; the chain survives a snapshot.
            assert!(m.check_receipts(&chain[1..]).unwrap().ok());
            let back = LegoNet::import(&m.export(), "test-encoder", m.keys()).unwrap();
            assert_eq!(back, m);
            for i in 0..m.structure().0 {
                assert_eq!(m.weights_hash(i), back.weights_hash(i), "adapter {i}");
            }
            let c = back.check_receipts(&chain).unwrap();
            assert!(c.ok(), "{:?}", c.failures);
            // The receipt leaks neither an id nor the encoding's digest.
            let json = serde_json::to_string(&chain[0]).unwrap();
            assert!(!json.contains("s0003"));
            let digest = crate::ledger::encoding_digest(&dataset(320, 3, 31)[3].1);
            assert!(!json.contains(&hex::encode(digest)));
        }
    }

    #[test]
    fn a_tampered_receipt_or_model_fails_the_check() {
        let mut m = trained(&LegoNetConfig::new().fixed(8, 2), 60);
        let data = dataset(60, 3, 31);
        let (_, r1) = m.forget_with_receipt(&["s0001"], [1; 32]).unwrap();
        let (_, r2) = m.forget_with_receipt(&["s0002", "s0005"], [2; 32]).unwrap();
        let chain = vec![r1, r2];
        assert!(m.check_receipts(&chain).unwrap().ok());
        // Receipts changed in a field that stays well formed.
        let flip = |h: &str| format!("{}{}", if h.starts_with('0') { '1' } else { '0' }, &h[1..]);
        let mut tampered = Vec::new();
        let mut c = chain.clone();
        c[1].model_after = flip(&c[1].model_after);
        tampered.push(c);
        let mut c = chain.clone();
        c[1].forgotten[0] = flip(&c[1].forgotten[0]);
        c[1].forgotten.sort();
        tampered.push(c);
        let mut c = chain.clone();
        c[0].salt = flip(&c[0].salt);
        tampered.push(c);
        let mut c = chain.clone();
        c[1].adapters[0].weights_after = Some("0".repeat(64));
        tampered.push(c);
        for c in tampered {
            assert!(!m.check_receipts(&c).unwrap().ok());
        }
        // Malformed receipts are refused with the typed error.
        let mut c = chain.clone();
        c[1].salt = "xyz".into();
        assert!(matches!(m.check_receipts(&c), Err(Error::InvalidReceipt(_))));
        assert!(matches!(m.check_receipts(&[]), Err(Error::InvalidReceipt(_))));
        let mut c = chain.clone();
        c[0].version = 2;
        assert!(matches!(m.check_receipts(&c), Err(Error::InvalidReceipt(_))));
        // A forgotten example put back (same id, same encoding) and trained: the model hash and
        // the commitment both catch it, even with the chain head carried over.
        let mut back = m.clone();
        back.add("s0002", &data[2].1, &data[2].2).unwrap();
        back.train().unwrap();
        let check = back.check_receipts(&chain).unwrap();
        assert!(
            check.failures.iter().any(|f| f.contains("\"s0002\" was forgotten but is in the model")),
            "{:?}",
            check.failures
        );
        assert!(check.failures.iter().any(|f| f.contains("model hash")));
        // One flipped weight bit: other model hash, other weights hash, a replay mismatch.
        let mut bit = m.clone();
        let i = chain[1].adapters.iter().find(|a| a.weights_after.is_some()).unwrap().adapter;
        bit.corrupt_adapter_bit(i, 0, 3);
        let check = bit.check_receipts(&chain).unwrap();
        assert_eq!(check.failures.len(), 3, "{:?}", check.failures);
    }

    #[test]
    fn the_model_hash_ignores_history_but_not_state() {
        let cfg = LegoNetConfig::new().fixed(8, 2);
        let mut a = trained(&cfg, 60);
        a.forget(&["s0004"]).unwrap();
        let data: Vec<_> = dataset(60, 3, 31).into_iter().filter(|d| d.0 != "s0004").collect();
        let mut b = model(&cfg, 3);
        for (id, x, l) in &data {
            b.add(id, x, l).unwrap();
        }
        b.train().unwrap();
        assert_eq!(a.model_hash(), b.model_hash());
        assert_ne!(a, b, "the receipt chain is part of the model's state");
        b.add("late", &data[0].1, "class0").unwrap();
        assert_ne!(a.model_hash(), b.model_hash());
    }
}
