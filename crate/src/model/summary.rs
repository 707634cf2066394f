//! What an app shows of a model: labels, examples, occupancy, memory.

use super::LegoNet;
use crate::head::AdapterParams;

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

impl LegoNet {
    /// Labels, examples and adapter occupancy, for display.
    pub fn summary(&self) -> ModelSummary {
        ModelSummary {
            labels: self.classes().cloned().collect(),
            examples: self
                .ledger
                .iter()
                .map(|(id, s)| ExampleSummary { id: id.clone(), label: s.label.clone(), adapters: s.adapters.clone() })
                .collect(),
            pending_adapters: self.pending(),
            adapters: self.keys.len(),
            activated: self.activated,
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
            snapshot_bytes: self.snapshot_len(),
        }
    }
}
