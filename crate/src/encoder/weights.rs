//! The converted weight file: named tensors (PyTorch names, logical shapes), its id (the
//! SHA-256 every key set, model and snapshot records), BatchNorm folded into the convolutions at
//! load time, and the encoder head the adapter keys are derived from.
//!
//! A tensor is stored as F32 or F16: the package ships the f16 copy (half the download) and it
//! is widened to f32 exactly here, so everything after loading computes in f32 either way. The
//! two files hash to different ids, so a model made on one is refused by the other.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::arch::{BN_EPS, ENCODING_DIM};
use crate::imagenet::NUM_CLASSES;
use crate::keys::{EncoderHead, KeySet};
use crate::{Error, Result};

/// The converted weight file: named tensors (PyTorch names and logical shapes), held as f32
/// whatever their stored precision, + its id.
#[derive(Debug, Clone)]
pub struct WeightFile {
    encoder_id: String,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl WeightFile {
    /// Parses safetensors bytes (every tensor F32 or F16; F16 is widened to f32 exactly) and
    /// hashes them into the encoder id.
    pub fn parse(bytes: impl AsRef<[u8]>) -> Result<WeightFile> {
        let bytes = bytes.as_ref();
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| Error::InvalidWeights(format!("not a safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            let data = match view.dtype() {
                safetensors::Dtype::F32 => crate::le::f32s(view.data()),
                safetensors::Dtype::F16 => crate::le::f16s(view.data()),
                other => return Err(Error::InvalidWeights(format!("{name}: dtype {other:?}, F32 or F16 expected"))),
            };
            tensors.insert(name, (view.shape().to_vec(), data));
        }
        let encoder_id = hex::encode(Sha256::digest(bytes));
        Ok(WeightFile { encoder_id, tensors })
    }

    /// Hex SHA-256 of the weight file: identifies the encoder (and so the encoding space).
    pub fn encoder_id(&self) -> &str {
        &self.encoder_id
    }

    /// Number of tensors in the file.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file holds no tensor at all.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The tensors' names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Total number of values over all tensors.
    pub fn total_values(&self) -> usize {
        self.tensors.values().map(|(_, v)| v.len()).sum()
    }

    /// A tensor by PyTorch name: (shape, row-major values).
    pub fn tensor(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        self.tensors.get(name).cloned().ok_or_else(|| Error::InvalidWeights(format!("missing tensor {name}")))
    }

    pub(super) fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32]> {
        let (s, v) = self.tensors.get(name).ok_or_else(|| Error::InvalidWeights(format!("missing tensor {name}")))?;
        if s != shape {
            return Err(Error::InvalidWeights(format!("{name}: shape {s:?}, {shape:?} expected")));
        }
        Ok(v)
    }

    /// Folds BatchNorm `bn` into conv `conv` of shape `[out, in_per_group, k, k]`:
    /// (weight in the same layout, bias `[out]`), computed in f64.
    pub(super) fn folded(&self, conv: &str, bn: &str, shape: [usize; 4]) -> Result<(Vec<f32>, Vec<f32>)> {
        let w = self.get(&format!("{conv}.weight"), &shape)?;
        let out = shape[0];
        let gamma = self.get(&format!("{bn}.weight"), &[out])?;
        let beta = self.get(&format!("{bn}.bias"), &[out])?;
        let mean = self.get(&format!("{bn}.running_mean"), &[out])?;
        let var = self.get(&format!("{bn}.running_var"), &[out])?;
        let per_out = w.len() / out;
        let mut weight = Vec::with_capacity(w.len());
        let mut bias = Vec::with_capacity(out);
        for o in 0..out {
            let scale = gamma[o] as f64 / (var[o] as f64 + BN_EPS).sqrt();
            weight.extend(w[o * per_out..(o + 1) * per_out].iter().map(|&x| (x as f64 * scale) as f32));
            bias.push((beta[o] as f64 - mean[o] as f64 * scale) as f32);
        }
        Ok((weight, bias))
    }

    /// The classifier: (weight transposed to `[1280, 1000]` for `x · W`, bias `[1000]`).
    pub(super) fn classifier(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let fc = self.get("_fc.weight", &[NUM_CLASSES, ENCODING_DIM])?;
        let mut fc_t = vec![0f32; fc.len()];
        for o in 0..NUM_CLASSES {
            for i in 0..ENCODING_DIM {
                fc_t[i * NUM_CLASSES + o] = fc[o * ENCODING_DIM + i];
            }
        }
        Ok((fc_t, self.get("_fc.bias", &[NUM_CLASSES])?.to_vec()))
    }
}

impl WeightFile {
    /// Derives the keys of `n` adapters from this encoder's head (`_fc.weight`, `_bn1.weight`,
    /// `_bn1.bias`), hashed with its encoder id (see [`crate::keys`]).
    pub fn key_set(&self, n: usize, seed: u64) -> Result<KeySet> {
        let (fc_shape, fc) = self.tensor("_fc.weight")?;
        let (_, bn_weight) = self.tensor("_bn1.weight")?;
        let (_, bn_bias) = self.tensor("_bn1.bias")?;
        let dim = *fc_shape.last().unwrap_or(&0);
        let head = EncoderHead { fc_weight: &fc, bn_weight: &bn_weight, bn_bias: &bn_bias, dim };
        KeySet::derive(head, n, seed, self.encoder_id())
    }
}

/// Where set-up puts the converted f32 weights (the native tools' default):
/// `$LEGONET_WEIGHTS`, else `$LEGONET_CACHE/weights/efficientnet-lite0.safetensors` (cache
/// default `~/.cache/legonet`).
#[cfg(not(target_family = "wasm"))]
pub fn default_weights_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("LEGONET_WEIGHTS") {
        return p.into();
    }
    let cache = std::env::var_os("LEGONET_CACHE").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache/legonet")
    });
    cache.join("weights/efficientnet-lite0.safetensors")
}

/// Where set-up puts the half-precision copy that the npm package and the demo ship:
/// `$LEGONET_WEIGHTS_F16`, else [`default_weights_path`] with `-f16` before `.safetensors`.
#[cfg(not(target_family = "wasm"))]
pub fn f16_weights_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("LEGONET_WEIGHTS_F16") {
        return p.into();
    }
    let full = default_weights_path();
    let stem = full.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    full.with_file_name(format!("{stem}-f16.safetensors"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_weights_are_a_typed_error() {
        assert!(matches!(WeightFile::parse(b"definitely not safetensors"), Err(Error::InvalidWeights(_))));
    }

    fn file(dtype: safetensors::Dtype, raw: &[u8], shape: Vec<usize>) -> Vec<u8> {
        let view = safetensors::tensor::TensorView::new(dtype, shape, raw).unwrap();
        safetensors::serialize([("w", view)], None).unwrap()
    }

    /// An F16 tensor loads as each stored value widened to f32: every finite f16 bit pattern,
    /// and the same values stored as F32 load identically but under another id.
    #[test]
    fn f16_tensors_load_as_each_value_widened() {
        let bits: Vec<u16> = (0..=u16::MAX).filter(|&b| crate::le::widen_f16(b).is_finite()).collect();
        let raw: Vec<u8> = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
        let half = WeightFile::parse(file(safetensors::Dtype::F16, &raw, vec![bits.len()])).unwrap();
        let (shape, values) = half.tensor("w").unwrap();
        assert_eq!(shape, vec![bits.len()]);
        let widened: Vec<f32> = bits.iter().map(|&b| crate::le::widen_f16(b)).collect();
        assert_eq!(
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            widened.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );

        let raw32: Vec<u8> = widened.iter().flat_map(|v| v.to_le_bytes()).collect();
        let full = WeightFile::parse(file(safetensors::Dtype::F32, &raw32, vec![bits.len()])).unwrap();
        assert_eq!(full.tensor("w").unwrap(), half.tensor("w").unwrap());
        assert_ne!(full.encoder_id(), half.encoder_id());
    }

    #[test]
    fn other_dtypes_are_a_typed_error() {
        let err = WeightFile::parse(file(safetensors::Dtype::BF16, &[0, 0x3f], vec![1])).unwrap_err();
        assert!(matches!(&err, Error::InvalidWeights(m) if m.contains("F32 or F16")), "{err}");
    }
}
