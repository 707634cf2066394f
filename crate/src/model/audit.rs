//! The photo audit: does this model hold an example of this photo?
//!
//! The caller encodes the photo with the same encoder (its id is checked by whoever built the
//! model) and [`LegoNet::audit`] compares that encoding with every stored one. Encodings of one
//! photo computed on another platform or backend differ in their last bits (WebGPU against the
//! CPU kernels, wasm against native: measured max-abs differences of a few 1e-6, README "The
//! encoder"), so an exact comparison would miss the photo; the audit matches within
//! [`AUDIT_TOLERANCE`] of relative Euclidean distance, `‖x − s‖ / ‖x‖`, and always reports the
//! nearest stored example and its distance, so a reader sees how far the call was from going the
//! other way. Together with `verify()` (every adapter equals training from scratch on the
//! examples it holds) a miss means: no adapter was trained on this photo.

use super::LegoNet;
use crate::Result;
use crate::ledger::validate_encoding;

/// Relative Euclidean distance under which a stored encoding counts as the same photo.
///
/// Measured (docs/core.md, *Photo audit and deletion receipts*): the same photo encoded natively
/// on the fused CPU kernels and on burn-flex lies at 1.2e-6 … 1.4e-6 of relative distance; the
/// nearest distinct images of the benchmark sets lie at 9.8e-2 (fashion-mnist-5k) and 0.61
/// (gcompris-photos) and more. 1e-3 sits between them.
pub const AUDIT_TOLERANCE: f64 = 1e-3;

/// A stored example and its distance to the audited photo.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditMatch {
    /// Sample id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// `‖x − s‖ / ‖x‖` (x: the audited encoding, s: the stored one).
    pub distance: f64,
    /// Adapters the example activates (those trained on it).
    pub adapters: Vec<usize>,
}

/// What [`LegoNet::audit`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhotoAudit {
    /// Whether any stored example lies within `tolerance` of the photo.
    pub held: bool,
    /// Every stored example within `tolerance`, nearest first.
    pub matches: Vec<AuditMatch>,
    /// The nearest stored example, matching or not (`None` when the model holds none).
    pub nearest: Option<AuditMatch>,
    /// The tolerance used ([`AUDIT_TOLERANCE`]).
    pub tolerance: f64,
    /// Stored examples compared.
    pub examples: usize,
}

impl LegoNet {
    /// Compares `encoding` (the photo encoded by this model's encoder) with every stored example.
    pub fn audit(&self, encoding: &[f32]) -> Result<PhotoAudit> {
        validate_encoding(encoding, self.keys.dim())?;
        let norm = encoding.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
        let mut all: Vec<AuditMatch> = self
            .ledger
            .iter()
            .map(|(id, s)| {
                let d2: f64 = encoding.iter().zip(&s.encoding).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum();
                AuditMatch {
                    id: id.clone(),
                    label: s.label.clone(),
                    distance: d2.sqrt() / norm,
                    adapters: s.adapters.clone(),
                }
            })
            .collect();
        all.sort_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| a.id.cmp(&b.id)));
        let nearest = all.first().cloned();
        all.retain(|m| m.distance <= AUDIT_TOLERANCE);
        Ok(PhotoAudit {
            held: !all.is_empty(),
            matches: all,
            nearest,
            tolerance: AUDIT_TOLERANCE,
            examples: self.ledger.len(),
        })
    }
}
