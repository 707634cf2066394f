//! # legonet
//!
//! On-device image classification with exact, fast unlearning (LegoNet, arXiv 2210.16023):
//! a frozen EfficientNet-Lite0 [`encoder`] maps photos to 1280-d encodings; small independent
//! adapters, each owning a fixed key, are trained on the samples that activate them, so that
//! forgetting a sample retrains only the few adapters it touched.
//!
//! The core has no wasm dependencies and is tested natively; the wasm-bindgen facade lives in
//! `web` (wasm32 only).

#![warn(missing_docs)]

pub mod activation;
pub mod backend;
pub mod baselines;
pub mod capacity;
pub mod compare;
pub mod encoder;
pub mod error;
pub mod head;
pub mod imagenet;
pub mod keys;
mod lanes;
pub mod le;
pub mod ledger;
pub mod model;
pub mod preprocess;
pub mod shards;
pub mod shuffle;
pub mod unlearner;

pub use backend::BackendKind;
pub use baselines::{Knn, Ncm, Sharded};
pub use capacity::{Level, Schedule};
pub use encoder::{ENCODING_DIM, Encoder, EncoderOutput, WeightFile};
pub use error::{Error, Result};
pub use head::{AdapterParams, Gram, HeadConfig, HeadKind};
pub use keys::{Anchors, EncoderHead, KeySet};
pub use model::{
    AUDIT_TOLERANCE, AdapterChange, AuditMatch, Checkpoint, ExampleSummary, ForgetReceipt, LegoNet, LegoNetConfig,
    MemoryReport, ModelSummary, PhotoAudit, RECEIPT_VERSION, ReceiptCheck, ReceiptConfig,
};
pub use unlearner::{ForgetReport, Prediction, TrainReport, Unlearner, VerifyReport};

#[cfg(target_arch = "wasm32")]
pub mod web;
