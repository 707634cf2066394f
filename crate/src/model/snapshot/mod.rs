//! Versioned, checksummed bytes of a whole [`LegoNet`].
//!
//! Layout (all integers little-endian, strings as u32 length + UTF-8, floats as IEEE bits):
//!
//! ```text
//! "LEGONET\0"  u32 version (= 5; 3 = the lane-summed f32 activation distance, 4 = capacity levels, 5 = member cap and receipt chain)  u64 body length  body  SHA-256(everything before it)
//! body: encoder id, key hash, config (current n, current k, seed, capacity flag u8 then
//!       (when adaptive) u64 level count and (from, n, k) per level, head kind u8, ridge lambda f64, epochs,
//!       learning rate f64, batch size, member cap (0 = none)), dim, anchor owners (u32 each),
//!       registered classes (those of add_class; version 5 files of earlier builds list every
//!       class here, which then stay registered), samples in id order
//!       (id, label, dim floats, activated adapters), per adapter a presence byte then
//!       labels, softmax flag, weights, biases; pending (changed, untrained) adapter indices;
//!       the receipt chain: receipts issued (u64) and the last one's hash (hex, empty when none).
//! ```
//!
//! The anchors themselves (1000 × 1280 floats, 5 MB) are not stored: they are a function of the
//! encoder alone, so the reader supplies them from its own key set, and the key hash (over
//! anchors, owners, n, seed and encoder id) proves they are the ones the model was built on.
//!
//! `decode` checks the bytes — magic, version, length, checksum, the encoder id against the
//! caller's, the key hash against the keys, the config ranges, counts against the bytes left,
//! every float finite — and hands the parts to the model's own constructor, which checks the
//! model's invariants (routes, labels, adapter shapes, structure) where the verbs keep them.
//! The output is canonical (ordered maps), so equal models give equal bytes.
//!
//! The model never imports this module: `export`, `import` and `restore` are defined here, and
//! the model calls only `snapshot_len` (for `memory()`).

use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use super::{LegoNet, LegoNetConfig};
use crate::capacity::{Level, Schedule};
use crate::head::{AdapterParams, HeadConfig, HeadKind};
use crate::keys::KeySet;
use crate::ledger::Sample;
use crate::{Error, Result};

/// File magic.
pub const MAGIC: &[u8; 8] = b"LEGONET\0";
/// The format version this build writes and reads (5: the member cap and the receipt chain).
pub const VERSION: u32 = 5;

const HEADER: usize = 8 + 4 + 8;
const CHECKSUM: usize = 32;

/// One field of a written body and where it starts (recorded in test builds only: the
/// structure-aware fuzz mutates snapshots field by field).
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Field {
    U8(usize),
    U32(usize),
    U64(usize),
    F64(usize),
    /// u32 length at `.0`, then `.1` bytes.
    Str(usize, usize),
    /// u64 count at `.0`, then `.1` floats.
    F32s(usize, usize),
}

/// Writes a body, or with `count_only` only measures it (for [`LegoNet::snapshot_len`]).
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
    count_only: bool,
    len: usize,
    #[cfg(test)]
    fields: Vec<Field>,
}

impl Writer {
    fn trace(&mut self, f: impl FnOnce(usize) -> Field) {
        #[cfg(test)]
        {
            let at = self.buf.len();
            self.fields.push(f(at));
        }
        #[cfg(not(test))]
        let _ = f;
    }

    /// Appends, growing by hand: a plain `Vec` growth would free its old buffer, encodings
    /// included, without overwriting it.
    fn put(&mut self, bytes: &[u8]) {
        self.len += bytes.len();
        if self.count_only {
            return;
        }
        if self.buf.len() + bytes.len() > self.buf.capacity() {
            let mut grown = Vec::with_capacity((self.buf.capacity() * 2).max(self.buf.len() + bytes.len()).max(4096));
            grown.extend_from_slice(&self.buf);
            self.buf.zeroize();
            self.buf = grown;
        }
        self.buf.extend_from_slice(bytes);
    }
    fn put_u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    fn u8(&mut self, v: u8) {
        self.trace(Field::U8);
        self.put(&[v]);
    }
    fn u32(&mut self, v: u32) {
        self.trace(Field::U32);
        self.put_u32(v);
    }
    fn u64(&mut self, v: u64) {
        self.trace(Field::U64);
        self.put_u64(v);
    }
    fn f64(&mut self, v: f64) {
        self.trace(Field::F64);
        self.put_u64(v.to_bits());
    }
    fn str(&mut self, s: &str) {
        self.trace(|at| Field::Str(at, s.len()));
        self.put_u32(s.len() as u32);
        self.put(s.as_bytes());
    }
    fn f32s(&mut self, v: &[f32]) {
        self.trace(|at| Field::F32s(at, v.len()));
        self.put_u64(v.len() as u64);
        if self.count_only {
            self.len += v.len() * 4;
            return;
        }
        for x in v {
            self.put_u32(x.to_bits());
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn corrupt(msg: impl Into<String>) -> Error {
    Error::CorruptSnapshot(msg.into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| corrupt("truncated body"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| corrupt("count out of range"))
    }
    /// A count of items each at least `min_bytes` long: bounded by what is left.
    fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let n = self.usize()?;
        if n.saturating_mul(min_bytes.max(1)) > self.buf.len() - self.pos {
            return Err(corrupt("count exceeds the remaining bytes"));
        }
        Ok(n)
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| corrupt("invalid UTF-8"))
    }
    fn f32s(&mut self) -> Result<Vec<f32>> {
        let n = self.count(4)?;
        let b = self.take(n * 4)?;
        Ok(crate::le::f32s(b))
    }
}

/// Serialises the whole model.
pub fn encode(m: &LegoNet) -> Vec<u8> {
    let mut w = body(m);
    let out = seal(&w.buf);
    w.buf.zeroize();
    out
}

/// The bytes of a model and its fields, positions relative to the whole snapshot.
#[cfg(test)]
pub(crate) fn encode_traced(m: &LegoNet) -> (Vec<u8>, Vec<Field>) {
    let w = body(m);
    let shift = |f: Field| match f {
        Field::U8(a) => Field::U8(a + HEADER),
        Field::U32(a) => Field::U32(a + HEADER),
        Field::U64(a) => Field::U64(a + HEADER),
        Field::F64(a) => Field::F64(a + HEADER),
        Field::Str(a, n) => Field::Str(a + HEADER, n),
        Field::F32s(a, n) => Field::F32s(a + HEADER, n),
    };
    (seal(&w.buf), w.fields.into_iter().map(shift).collect())
}

/// Magic, version, body length, body, checksum.
pub(crate) fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len() + CHECKSUM);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

fn body(m: &LegoNet) -> Writer {
    let mut w = Writer::default();
    write_body(m, &mut w);
    w
}

fn write_body(m: &LegoNet, w: &mut Writer) {
    w.str(&m.encoder_id);
    w.str(m.keys.hash());
    let c = &m.config;
    w.u64(m.keys.len() as u64);
    w.u64(m.activated as u64);
    w.u64(c.seed);
    w.u8(c.is_adaptive() as u8);
    if c.is_adaptive() {
        w.u64(c.schedule.0.len() as u64);
        for l in &c.schedule.0 {
            w.u64(l.from as u64);
            w.u64(l.adapters as u64);
            w.u64(l.activated as u64);
        }
    }
    w.u8(match c.head.kind {
        HeadKind::Ridge => 0,
        HeadKind::Softmax => 1,
    });
    w.f64(c.head.ridge_lambda);
    w.u64(c.head.epochs as u64);
    w.f64(c.head.learning_rate);
    w.u64(c.head.batch_size as u64);
    w.u64(c.member_cap.unwrap_or(0) as u64);
    w.u64(m.keys.dim() as u64);
    w.u64(m.keys.owners().len() as u64);
    for &o in m.keys.owners() {
        w.u32(o);
    }
    w.u64(m.registered.len() as u64);
    for cl in &m.registered {
        w.str(cl);
    }
    w.u64(m.ledger.len() as u64);
    for (id, s) in m.ledger.iter() {
        w.str(id);
        w.str(&s.label);
        w.f32s(&s.encoding);
        w.u64(s.adapters.len() as u64);
        for &a in &s.adapters {
            w.u64(a as u64);
        }
    }
    for a in &m.adapters {
        match a {
            None => w.u8(0),
            Some(p) => {
                w.u8(1);
                w.u64(p.labels.len() as u64);
                for l in &p.labels {
                    w.str(l);
                }
                w.u8(p.softmax as u8);
                w.f32s(&p.weight);
                w.f32s(&p.bias);
            }
        }
    }
    w.u64(m.pending.len() as u64);
    for &d in &m.pending {
        w.u64(d as u64);
    }
    w.u64(m.receipts.count);
    w.str(&m.last_receipt().unwrap_or_default());
}

/// Reads a snapshot made with encoder `encoder_id`; `anchors_from` is any key set derived from
/// that encoder (anchors do not depend on n or seed), which supplies the anchors.
pub fn decode(bytes: &[u8], encoder_id: &str, anchors_from: &KeySet) -> Result<LegoNet> {
    if bytes.len() < HEADER + CHECKSUM {
        return Err(corrupt("shorter than header + checksum"));
    }
    if &bytes[..8] != MAGIC {
        return Err(corrupt("not a legonet snapshot (bad magic)"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(Error::SnapshotVersion { found: version, supported: VERSION });
    }
    let body_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    if body_len != (bytes.len() - HEADER - CHECKSUM) as u64 {
        return Err(corrupt(format!(
            "length field says {body_len} body bytes, found {}",
            bytes.len() - HEADER - CHECKSUM
        )));
    }
    let (content, sum) = bytes.split_at(bytes.len() - CHECKSUM);
    if Sha256::digest(content).as_slice() != sum {
        return Err(corrupt("checksum mismatch"));
    }
    let mut r = Reader { buf: &content[HEADER..], pos: 0 };
    let found = r.str()?;
    if found != encoder_id {
        return Err(Error::EncoderMismatch { expected: encoder_id.to_string(), found });
    }
    let key_hash = r.str()?;
    let n_adapters = r.usize()?;
    let k = r.usize()?;
    let seed = r.u64()?;
    let schedule = match r.u8()? {
        0 => None,
        1 => {
            let mut levels = Vec::new();
            for _ in 0..r.count(24)? {
                levels.push(Level { from: r.usize()?, adapters: r.usize()?, activated: r.usize()? });
            }
            Some(Schedule(levels))
        }
        _ => return Err(corrupt("bad capacity flag")),
    };
    let kind = match r.u8()? {
        0 => HeadKind::Ridge,
        1 => HeadKind::Softmax,
        other => return Err(corrupt(format!("unknown head kind {other}"))),
    };
    let head = HeadConfig::new()
        .with_kind(kind)
        .with_ridge_lambda(r.f64()?)
        .with_epochs(r.usize()?)
        .with_learning_rate(r.f64()?)
        .with_batch_size(r.usize()?);
    let member_cap = Some(r.usize()?).filter(|&c| c != 0);
    let config = match schedule {
        Some(s) => LegoNetConfig::new().with_schedule(s),
        None => LegoNetConfig::new().fixed(n_adapters, k),
    }
    .with_seed(seed)
    .with_member_cap(member_cap)
    .with_head(head);
    config.validate(anchors_from.num_anchors()).map_err(|e| corrupt(format!("config: {e}")))?;
    if n_adapters == 0 || n_adapters > anchors_from.num_anchors() {
        return Err(corrupt(format!("structure n = {n_adapters} out of range")));
    }
    let dim = r.usize()?;
    if dim != anchors_from.dim() {
        return Err(corrupt(format!("encoding dimension {dim}, the encoder's is {}", anchors_from.dim())));
    }
    let anchors = anchors_from.shared_anchors();
    let mut owners = Vec::new();
    for _ in 0..r.count(4)? {
        owners.push(r.u32()?);
    }
    // The owners are a function of (anchors, n, seed): a file that deals them otherwise would
    // verify against its own members yet not be the model trained from scratch.
    if owners != crate::keys::deal(owners.len(), n_adapters, seed) {
        return Err(corrupt("anchor owners are not the deal of the model's seed"));
    }
    let keys = KeySet::from_parts(dim, n_adapters, anchors, owners, seed, &found)
        .map_err(|e| corrupt(format!("keys: {e}")))?;
    if keys.hash() != key_hash {
        return Err(corrupt("key hash does not match the keys (different anchors, owners, n or seed)"));
    }
    let mut registered = Vec::new();
    for _ in 0..r.count(4)? {
        registered.push(r.str()?);
    }
    let mut samples = Vec::new();
    for _ in 0..r.count(8)? {
        let id = r.str()?;
        let label = r.str()?;
        // A Sample at once: on any error below it is dropped, which overwrites the encoding.
        let mut sample = Sample::new(label, r.f32s()?, Vec::new());
        for _ in 0..r.count(8)? {
            sample.adapters.push(r.usize()?);
        }
        samples.push((id, sample));
    }
    let mut params = Vec::with_capacity(n_adapters);
    for _ in 0..n_adapters {
        params.push(match r.u8()? {
            0 => None,
            1 => {
                let mut labels = Vec::new();
                for _ in 0..r.count(4)? {
                    labels.push(r.str()?);
                }
                let softmax = match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(corrupt("bad softmax flag")),
                };
                let weight = r.f32s()?;
                let bias = r.f32s()?;
                Some(AdapterParams { dim, labels, weight, bias, softmax })
            }
            _ => return Err(corrupt("bad adapter presence byte")),
        });
    }
    let mut dirty = Vec::new();
    for _ in 0..r.count(8)? {
        dirty.push(r.usize()?);
    }
    let receipts = r.u64()?;
    if receipts > crate::model::receipt::MAX_RECEIPTS {
        return Err(corrupt("receipt count out of range"));
    }
    let last = r.str()?;
    let last = match (receipts, last.as_str()) {
        (0, "") => None,
        (1.., h) if h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => {
            Some(hex::decode(h).expect("hex").try_into().expect("32 bytes"))
        }
        _ => return Err(corrupt("bad receipt chain (count and last hash disagree)")),
    };
    if r.pos != r.buf.len() {
        return Err(corrupt("trailing bytes after the body"));
    }
    let mut m = LegoNet::from_parts(config, keys, k, registered, samples, params, dirty).map_err(corrupt)?;
    m.receipts = super::receipt::ReceiptChain { count: receipts, last };
    Ok(m)
}

impl LegoNet {
    /// `export().len()`, measured without writing the bytes.
    pub fn snapshot_len(&self) -> usize {
        let mut w = Writer { count_only: true, ..Default::default() };
        write_body(self, &mut w);
        HEADER + w.len + CHECKSUM
    }

    /// The whole state as versioned, checksummed bytes (see [`crate::model::snapshot`]).
    pub fn export(&self) -> Vec<u8> {
        encode(self)
    }

    /// Reads a snapshot; `encoder_id` is the encoder the caller runs (must match).
    /// `anchors_from`: any key set derived from that encoder (e.g. `WeightFile::key_set`):
    /// snapshots leave the encoder-derived anchors out and check them by the key hash.
    pub fn import(bytes: &[u8], encoder_id: &str, anchors_from: &KeySet) -> Result<LegoNet> {
        decode(bytes, encoder_id, anchors_from)
    }

    /// Replaces this model's state by a snapshot made with the same encoder; on any error the
    /// model is left exactly as it was.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<()> {
        *self = decode(bytes, &self.encoder_id, &self.keys)?;
        Ok(())
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::{dataset, model};
    use crate::unlearner::Unlearner;

    fn trained() -> LegoNet {
        let mut m = model(&LegoNetConfig::new().fixed(8, 2), 3);
        for (id, x, l) in dataset(50, 3, 2) {
            m.add(&id, &x, &l).unwrap();
        }
        m.train().unwrap();
        m
    }

    #[test]
    fn round_trip_is_exact() {
        let m = trained();
        let bytes = m.export();
        let back = LegoNet::import(&bytes, "test-encoder", m.keys()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.export(), bytes);
        assert!(back.verify().unwrap().ok());
        assert_eq!(m.snapshot_len(), bytes.len());
        let mut pending = m.clone();
        pending.add("late", &dataset(1, 3, 99)[0].1, "class0").unwrap();
        assert_eq!(pending.snapshot_len(), pending.export().len());
    }

    #[test]
    fn damaged_snapshots_are_rejected_and_state_untouched() {
        let mut m = trained();
        let before = m.clone();
        let bytes = m.export();
        // Truncated at several points.
        for cut in [0, 7, 19, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(matches!(m.restore(&bytes[..cut]), Err(Error::CorruptSnapshot(_))), "cut {cut}");
        }
        // One flipped bit anywhere (sampled) fails the magic or the checksum.
        for pos in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
            if (8..12).contains(&pos) {
                continue; // the version field is checked by its own test
            }
            let mut b = bytes.clone();
            b[pos] ^= 0x10;
            assert!(matches!(m.restore(&b), Err(Error::CorruptSnapshot(_))), "bit at {pos}");
        }
        // Wrong versions: v2 routed with the f64 distance, v4 has no member cap or receipt
        // chain; they are refused, not misread.
        for other in [1u32, 2, 3, 4, VERSION + 1] {
            let mut b = bytes.clone();
            b[8..12].copy_from_slice(&other.to_le_bytes());
            assert!(
                matches!(m.restore(&b), Err(Error::SnapshotVersion { found, supported: VERSION }) if found == other)
            );
        }
        // Wrong encoder.
        assert!(matches!(LegoNet::import(&bytes, "other", m.keys()), Err(Error::EncoderMismatch { .. })));
        assert_eq!(m, before);
    }

    #[test]
    fn checksummed_but_inconsistent_content_is_rejected() {
        // A well-formed file whose adapter disagrees with its members: re-checksummed after
        // tampering, so only the semantic checks can catch it.
        let mut m = trained();
        let i = (0..8).find(|&i| m.adapter(i).is_some()).unwrap();
        m.adapters[i].as_mut().unwrap().labels.push("zzz".into());
        assert!(matches!(LegoNet::import(&m.export(), "test-encoder", m.keys()), Err(Error::CorruptSnapshot(_))));
    }

    #[test]
    fn a_deal_other_than_the_seed_s_and_an_overflowing_receipt_count_are_refused() {
        let m = trained();
        let import = |t: &LegoNet| LegoNet::import(&t.export(), "test-encoder", m.keys());
        // One anchor changes hands; every adapter still owns one and the key hash is recomputed,
        // so the file is consistent with itself: only the deal check can tell.
        let mut owners = m.keys().owners().to_vec();
        let n = m.keys().len() as u32;
        let j = (0..owners.len()).find(|&j| owners.iter().filter(|&&o| o == owners[j]).count() > 1).unwrap();
        owners[j] = (owners[j] + 1) % n;
        let mut t = m.clone();
        t.keys = KeySet::from_parts(m.keys().dim(), n as usize, m.keys().shared_anchors(), owners, 0, "test-encoder")
            .unwrap();
        assert!(matches!(import(&t), Err(Error::CorruptSnapshot(m)) if m.contains("anchor owners")));
        let mut t = m.clone();
        t.receipts.count = crate::model::receipt::MAX_RECEIPTS + 1;
        t.receipts.last = Some([7; 32]);
        assert!(matches!(import(&t), Err(Error::CorruptSnapshot(m)) if m.contains("receipt count")));
        // At the most a model may issue, it imports, refuses to forget, and is left as it was.
        t.receipts.count -= 1;
        let mut full = import(&t).unwrap();
        let before = full.clone();
        assert!(matches!(full.forget(&["s0001"]), Err(Error::InvalidInput(_))));
        assert_eq!(full, before);
        assert!(import(&m).is_ok());
    }

    #[test]
    fn snapshots_leave_out_the_anchors_and_restore_other_configs() {
        let m = trained();
        // 120 anchors x 24 floats would be 11,520 bytes; the snapshot is far smaller than
        // samples + anchors.
        let bytes = m.export();
        let anchor_bytes = m.keys().anchors().len() * 4;
        assert!(bytes.len() < anchor_bytes + 50 * 24 * 4, "{} bytes", bytes.len());
        // A model with another n and seed restores it: it only lends its anchors.
        let mut other = model(&LegoNetConfig::new().fixed(4, 1).with_seed(7), 0);
        other.restore(&bytes).unwrap();
        assert_eq!(other, m);
        // Anchors from another encoder fail the key hash.
        let foreign = crate::keys::KeySet::from_parts(
            m.keys().dim(),
            m.keys().len(),
            crate::keys::Anchors::new(m.keys().anchors().iter().map(|v| v + 1.0).collect()),
            m.keys().owners().to_vec(),
            0,
            "test-encoder",
        )
        .unwrap();
        assert!(matches!(LegoNet::import(&bytes, "test-encoder", &foreign), Err(Error::CorruptSnapshot(_))));
    }
}
