//! The frozen image encoder: EfficientNet-Lite0 (ImageNet-1k) exactly per the shared contract —
//! TF-"SAME" padding (asymmetric on the stride-2 convs), BatchNorm eps 1e-3, ReLU6, no
//! squeeze-excite — on any burn [`Device`], batched.
//!
//! Weights come from the project's converted safetensors file ([`WeightFile`]); its SHA-256 is
//! the *encoder id* every key set, model and snapshot records. Inference-mode BatchNorm is folded
//! into the preceding convolution at load time (`w' = w·γ/√(σ²+ε)`, `b' = β − μ·γ/√(σ²+ε)`,
//! computed in f64): one op per layer instead of four, and the encoder is never trained.

use std::collections::BTreeMap;

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use sha2::{Digest, Sha256};

mod cpu;
#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
mod packed;

pub use cpu::CpuLite0;

use crate::preprocess::{INPUT_LEN, INPUT_SIZE, validate_input};
use crate::{Backend, Error, Result, imagenet::NUM_CLASSES};

/// Length of an encoding (the pooled head features).
pub const ENCODING_DIM: usize = 1280;
/// BatchNorm epsilon of the TensorFlow Lite models (burn's default, 1e-5, is wrong here).
pub const BN_EPS: f64 = 1e-3;
/// Channels of the stem's output.
const STEM_CHANNELS: usize = 32;
/// Channels into the head conv (the last block's output).
const HEAD_INPUT: usize = LITE0_BLOCKS[LITE0_BLOCKS.len() - 1].output;

/// One MBConv block of the Lite0 architecture.
#[derive(Debug, Clone, Copy)]
pub struct BlockSpec {
    /// Expansion ratio of the first 1×1 conv (1 = no expansion conv).
    pub expand: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Depthwise stride.
    pub stride: usize,
    /// Input channels.
    pub input: usize,
    /// Output channels.
    pub output: usize,
}

const fn b(expand: usize, kernel: usize, stride: usize, input: usize, output: usize) -> BlockSpec {
    BlockSpec { expand, kernel, stride, input, output }
}

/// The 16 blocks of EfficientNet-Lite0 (stage strides 1,2,2,2,1,2,1 on each stage's first block).
pub const LITE0_BLOCKS: [BlockSpec; 16] = [
    b(1, 3, 1, 32, 16),
    b(6, 3, 2, 16, 24),
    b(6, 3, 1, 24, 24),
    b(6, 5, 2, 24, 40),
    b(6, 5, 1, 40, 40),
    b(6, 3, 2, 40, 80),
    b(6, 3, 1, 80, 80),
    b(6, 3, 1, 80, 80),
    b(6, 5, 1, 80, 112),
    b(6, 5, 1, 112, 112),
    b(6, 5, 1, 112, 112),
    b(6, 5, 2, 112, 192),
    b(6, 5, 1, 192, 192),
    b(6, 5, 1, 192, 192),
    b(6, 5, 1, 192, 192),
    b(6, 3, 1, 192, 320),
];

/// The converted weight file: named f32 tensors (PyTorch names and logical shapes) + its id.
#[derive(Debug, Clone)]
pub struct WeightFile {
    encoder_id: String,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl WeightFile {
    /// Parses safetensors bytes (all tensors must be F32) and hashes them into the encoder id.
    pub fn parse(bytes: impl AsRef<[u8]>) -> Result<WeightFile> {
        let bytes = bytes.as_ref();
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| Error::InvalidWeights(format!("not a safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(Error::InvalidWeights(format!("{name}: dtype {:?}, F32 expected", view.dtype())));
            }
            let data = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            tensors.insert(name, (view.shape().to_vec(), data));
        }
        let encoder_id = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
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

    /// Total number of values over all tensors.
    pub fn total_values(&self) -> usize {
        self.tensors.values().map(|(_, v)| v.len()).sum()
    }

    /// A tensor by PyTorch name: (shape, row-major values).
    pub fn tensor(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        self.tensors.get(name).cloned().ok_or_else(|| Error::InvalidWeights(format!("missing tensor {name}")))
    }

    fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32]> {
        let (s, v) = self.tensors.get(name).ok_or_else(|| Error::InvalidWeights(format!("missing tensor {name}")))?;
        if s != shape {
            return Err(Error::InvalidWeights(format!("{name}: shape {s:?}, {shape:?} expected")));
        }
        Ok(v)
    }

    /// Folds BatchNorm `bn` into conv `conv` of shape `[out, in_per_group, k, k]`:
    /// (weight in the same layout, bias `[out]`), computed in f64.
    fn folded(&self, conv: &str, bn: &str, shape: [usize; 4]) -> Result<(Vec<f32>, Vec<f32>)> {
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

    /// [`WeightFile::folded`] as a burn module on `device`.
    #[allow(clippy::too_many_arguments)]
    fn fused_conv(
        &self,
        conv: &str,
        bn: &str,
        shape: [usize; 4],
        stride: usize,
        groups: usize,
        relu6: bool,
        device: &Device,
    ) -> Result<FusedConv> {
        let (weight, bias) = self.folded(conv, bn, shape)?;
        Ok(FusedConv {
            weight: Param::from_tensor(Tensor::from_data(TensorData::new(weight, shape), device)),
            bias: Param::from_tensor(Tensor::from_data(TensorData::new(bias, [shape[0]]), device)),
            stride,
            groups,
            relu6,
        })
    }

    /// The classifier: (weight transposed to `[1280, 1000]` for `x · W`, bias `[1000]`).
    fn classifier(&self) -> Result<(Vec<f32>, Vec<f32>)> {
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

/// Where set-up puts the converted weights: `$LEGONET_WEIGHTS`, else
/// `$LEGONET_CACHE/weights/efficientnet-lite0.safetensors` (cache default `~/.cache/legonet`).
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

/// TF-"SAME" padding of one axis: `(before, after)`.
fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// A convolution with its BatchNorm folded in, optionally followed by ReLU6.
#[derive(Module, Debug)]
pub struct FusedConv {
    /// `[out, in / groups, k, k]`
    pub weight: Param<Tensor<4>>,
    /// `[out]`
    pub bias: Param<Tensor<1>>,
    /// Stride on both axes.
    pub stride: usize,
    /// Convolution groups (= channels for depthwise).
    pub groups: usize,
    /// Whether ReLU6 follows.
    pub relu6: bool,
}

impl FusedConv {
    /// `[B, in, H, W] -> [B, out, ceil(H/s), ceil(W/s)]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let k = self.weight.dims()[2];
        let options = ConvOptions::new_with_padding(
            [self.stride; 2],
            [same_padding(h, k, self.stride), same_padding(w, k, self.stride)],
            [1, 1],
            self.groups,
        );
        let y = conv2d(x, self.weight.val(), Some(self.bias.val()), options);
        if self.relu6 { y.clamp(0.0, 6.0) } else { y }
    }
}

/// MBConv: [expand 1×1 → ReLU6] → depthwise k×k → ReLU6 → project 1×1 [→ + input].
#[derive(Module, Debug)]
pub struct MbConv {
    /// Absent when the expansion ratio is 1.
    pub expand: Option<FusedConv>,
    /// Depthwise conv, carries the block's stride.
    pub depthwise: FusedConv,
    /// Linear projection (no activation).
    pub project: FusedConv,
    /// Residual connection (stride 1 and same channel count).
    pub skip: bool,
}

impl MbConv {
    /// `[B, in, H, W] -> [B, out, H / stride, W / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = match &self.expand {
            Some(e) => e.forward(x.clone()),
            None => x.clone(),
        };
        let h = self.project.forward(self.depthwise.forward(h));
        if self.skip { h + x } else { h }
    }
}

/// EfficientNet-Lite0 with BN folded.
#[derive(Module, Debug)]
pub struct EfficientNetLite0 {
    /// `[B, 3, 224, 224] -> [B, 32, 112, 112]`
    pub stem: FusedConv,
    /// `[B, 32, 112, 112] -> [B, 320, 7, 7]`
    pub blocks: Vec<MbConv>,
    /// `[B, 320, 7, 7] -> [B, 1280, 7, 7]`
    pub head: FusedConv,
    /// Classifier weight, stored transposed for `x · W`: `[1280, 1000]`
    pub fc_weight: Param<Tensor<2>>,
    /// `[1000]`
    pub fc_bias: Param<Tensor<1>>,
}

impl EfficientNetLite0 {
    /// Builds the network from the weight file, checking every tensor's shape.
    pub fn from_weights(w: &WeightFile, device: &Device) -> Result<Self> {
        let stem = w.fused_conv("_conv_stem", "_bn0", [STEM_CHANNELS, 3, 3, 3], 2, 1, true, device)?;
        let mut blocks = Vec::with_capacity(LITE0_BLOCKS.len());
        for (i, s) in LITE0_BLOCKS.iter().enumerate() {
            let p = format!("_blocks.{i}.");
            let mid = s.input * s.expand;
            let expand = if s.expand == 1 {
                None
            } else {
                Some(w.fused_conv(
                    &format!("{p}_expand_conv"),
                    &format!("{p}_bn0"),
                    [mid, s.input, 1, 1],
                    1,
                    1,
                    true,
                    device,
                )?)
            };
            let depthwise = w.fused_conv(
                &format!("{p}_depthwise_conv"),
                &format!("{p}_bn1"),
                [mid, 1, s.kernel, s.kernel],
                s.stride,
                mid,
                true,
                device,
            )?;
            let project = w.fused_conv(
                &format!("{p}_project_conv"),
                &format!("{p}_bn2"),
                [s.output, mid, 1, 1],
                1,
                1,
                false,
                device,
            )?;
            blocks.push(MbConv { expand, depthwise, project, skip: s.stride == 1 && s.input == s.output });
        }
        let head = w.fused_conv("_conv_head", "_bn1", [ENCODING_DIM, HEAD_INPUT, 1, 1], 1, 1, true, device)?;
        let (fc_t, fc_bias) = w.classifier()?;
        Ok(Self {
            stem,
            blocks,
            head,
            fc_weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(fc_t, [ENCODING_DIM, NUM_CLASSES]),
                device,
            )),
            fc_bias: Param::from_tensor(Tensor::from_data(TensorData::new(fc_bias, [NUM_CLASSES]), device)),
        })
    }

    /// `[B, 3, 224, 224] -> ([B, 1280] encodings, [B, 1000] ImageNet logits)`
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let mut h = self.stem.forward(x);
        for block in &self.blocks {
            h = block.forward(h);
        }
        let h = self.head.forward(h);
        let [b, c, hh, ww] = h.dims();
        let encoding = h.reshape([b, c, hh * ww]).mean_dim(2).reshape([b, c]);
        let logits = encoding.clone().matmul(self.fc_weight.val()) + self.fc_bias.val().unsqueeze::<2>();
        (encoding, logits)
    }
}

/// Encodings and logits of a batch, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderOutput {
    /// Number of images.
    pub batch: usize,
    /// `[batch, 1280]`
    pub encodings: Vec<f32>,
    /// `[batch, 1000]`
    pub logits: Vec<f32>,
}

/// Encodings are overwritten before their memory is freed (see [`crate::ledger::Sample`]).
impl Drop for EncoderOutput {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.encodings);
    }
}

impl EncoderOutput {
    /// The encoding of image `i`.
    pub fn encoding(&self, i: usize) -> &[f32] {
        &self.encodings[i * ENCODING_DIM..(i + 1) * ENCODING_DIM]
    }

    /// The logits of image `i`.
    pub fn logits(&self, i: usize) -> &[f32] {
        &self.logits[i * NUM_CLASSES..(i + 1) * NUM_CLASSES]
    }
}

/// The frozen encoder on one device.
#[derive(Debug)]
pub struct Encoder {
    net: Network,
    device: Device,
    encoder_id: String,
}

/// Which implementation runs the network.
#[derive(Debug)]
enum Network {
    /// burn tensor ops on any device (flex, ndarray, wgpu).
    Burn(Box<EfficientNetLite0>),
    /// The fused NHWC CPU kernels ([`CpuLite0`]).
    Cpu(Box<CpuLite0>),
}

impl Encoder {
    /// Loads the network from parsed weights as burn tensor ops on `device`.
    pub fn new(weights: &WeightFile, device: &Device) -> Result<Self> {
        Ok(Self {
            net: Network::Burn(Box::new(EfficientNetLite0::from_weights(weights, device)?)),
            device: device.clone(),
            encoder_id: weights.encoder_id().to_string(),
        })
    }

    /// Loads the network for the fused CPU kernels ([`Backend::Cpu`]); the device reported is
    /// burn-flex, where the adapters' tensor math runs.
    pub fn cpu(weights: &WeightFile) -> Result<Self> {
        Ok(Self {
            net: Network::Cpu(Box::new(CpuLite0::from_weights(weights)?)),
            device: Backend::Cpu.cpu_device()?,
            encoder_id: weights.encoder_id().to_string(),
        })
    }

    /// Loads the network for `backend` on its initialised `device` (see [`Backend::init`]).
    pub fn for_backend(weights: &WeightFile, backend: Backend, device: &Device) -> Result<Self> {
        match backend {
            Backend::Cpu => Self::cpu(weights),
            _ => Self::new(weights, device),
        }
    }

    /// Parses safetensors bytes and loads the network as burn ops on `device`.
    pub fn from_bytes(bytes: impl AsRef<[u8]>, device: &Device) -> Result<Self> {
        Self::new(&WeightFile::parse(bytes)?, device)
    }

    /// Hex SHA-256 of the weight file.
    pub fn id(&self) -> &str {
        &self.encoder_id
    }

    /// The device the network (or, for the CPU kernels, the adapters' math) lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The burn module, for callers composing their own tensor graph (`None` on the fused CPU
    /// kernels).
    pub fn network(&self) -> Option<&EfficientNetLite0> {
        match &self.net {
            Network::Burn(net) => Some(net),
            Network::Cpu(_) => None,
        }
    }

    /// Encodes a batch of preprocessed images (`B × [3,224,224]`, planar, see
    /// [`crate::preprocess`]). Asynchronous readback, so it works on WebGPU in browsers too.
    pub async fn encode(&self, input: &[f32]) -> Result<EncoderOutput> {
        let net = match &self.net {
            Network::Cpu(cpu) => return cpu.encode(input),
            Network::Burn(net) => net,
        };
        let batch = validate_input(input)?;
        let x =
            Tensor::<4>::from_data(TensorData::new(input.to_vec(), [batch, 3, INPUT_SIZE, INPUT_SIZE]), &self.device);
        let (encoding, logits) = net.forward(x);
        let read = |t: Tensor<2>| async move {
            t.into_data_async()
                .await
                .map_err(|e| Error::Backend(format!("readback failed: {e:?}")))?
                .try_into_vec::<f32>()
                .map_err(|e| Error::Backend(format!("readback failed: {e:?}")))
        };
        let encodings = read(encoding).await?;
        let logits = read(logits).await?;
        debug_assert_eq!(encodings.len(), batch * ENCODING_DIM);
        debug_assert_eq!(input.len(), batch * INPUT_LEN);
        Ok(EncoderOutput { batch, encodings, logits })
    }

    /// [`Encoder::encode`], blocking (native only).
    #[cfg(not(target_family = "wasm"))]
    pub fn encode_blocking(&self, input: &[f32]) -> Result<EncoderOutput> {
        burn::tensor::read_sync(self.encode(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_the_contract_table() {
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        assert_eq!(same_padding(112, 3, 2), (0, 1));
        assert_eq!(same_padding(56, 5, 2), (1, 2));
        assert_eq!(same_padding(28, 3, 2), (0, 1));
        assert_eq!(same_padding(14, 5, 2), (1, 2));
        assert_eq!(same_padding(14, 5, 1), (2, 2));
        assert_eq!(same_padding(7, 1, 1), (0, 0));
    }

    #[test]
    fn garbage_weights_are_a_typed_error() {
        assert!(matches!(WeightFile::parse(b"definitely not safetensors"), Err(Error::InvalidWeights(_))));
    }
}
