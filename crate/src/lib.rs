//! # legonet
//!
//! On-device image classification with exact, fast unlearning (LegoNet, arXiv 2210.16023):
//! a frozen EfficientNet-Lite0 [`encoder`] maps photos to 1280-d encodings; small independent
//! adapters, each owning a fixed key, are trained on the samples that activate them, so that
//! forgetting a sample retrains only the few adapters it touched.
//!
//! The core has no wasm dependencies and is tested natively; the wasm-bindgen facade lives in
//! `web` (wasm32 only).

pub mod backend;
pub mod encoder;
pub mod error;
pub mod imagenet;
pub mod preprocess;

pub use backend::Backend;
pub use encoder::{ENCODING_DIM, Encoder, EncoderOutput, WeightFile};
pub use error::{Error, Result};

#[cfg(target_arch = "wasm32")]
pub mod web;
