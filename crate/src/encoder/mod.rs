//! The frozen image encoder: EfficientNet-Lite0 (ImageNet-1k) exactly per the shared contract —
//! TF-"SAME" padding (asymmetric on the stride-2 convs), BatchNorm eps 1e-3, ReLU6, no
//! squeeze-excite — on any burn [`Device`], batched.
//!
//! Weights come from the project's converted safetensors file ([`WeightFile`]); its SHA-256 is
//! the *encoder id* every key set, model and snapshot records. Inference-mode BatchNorm is folded
//! into the preceding convolution at load time (`w' = w·γ/√(σ²+ε)`, `b' = β − μ·γ/√(σ²+ε)`,
//! computed in f64): one op per layer instead of four, and the encoder is never trained.
//!
//! * [`arch`]: the architecture as data; [`weights`]: the weight file and BN folding;
//! * [`burn_net`]: the network as burn ops (any device, WebGPU included);
//! * `cpu`: the same network as fused NHWC CPU kernels (native and wasm).

use burn::prelude::*;

pub mod arch;
pub mod burn_net;
mod cpu;
pub mod weights;

pub use arch::{BN_EPS, ENCODING_DIM};
pub use burn_net::EfficientNetLite0;
pub use cpu::CpuLite0;
pub use weights::WeightFile;
#[cfg(not(target_family = "wasm"))]
pub use weights::{default_weights_path, f16_weights_path};

use crate::imagenet::NUM_CLASSES;
use crate::preprocess::{INPUT_LEN, INPUT_SIZE, validate_input};
use crate::{BackendKind, Error, Result};

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

/// Encodings and logits are overwritten before their memory is freed (see
/// [`crate::ledger::Sample`]): both describe the photo.
impl Drop for EncoderOutput {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.encodings);
        zeroize::Zeroize::zeroize(&mut self.logits);
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

    /// Loads the network for the fused CPU kernels ([`BackendKind::Cpu`]); the device reported is
    /// burn-flex, where the adapters' tensor math runs.
    pub fn cpu(weights: &WeightFile) -> Result<Self> {
        Ok(Self {
            net: Network::Cpu(Box::new(CpuLite0::from_weights(weights)?)),
            device: BackendKind::Cpu.cpu_device()?,
            encoder_id: weights.encoder_id().to_string(),
        })
    }

    /// Loads the network for `backend` on its initialised `device` (see [`BackendKind::init`]).
    pub fn for_backend(weights: &WeightFile, backend: BackendKind, device: &Device) -> Result<Self> {
        match backend {
            BackendKind::Cpu => Self::cpu(weights),
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

    /// Overwrites the activations the last images left in the fused CPU kernels' working
    /// memory ([`CpuLite0::wipe_scratch`]). burn's networks hold no such buffers of their own:
    /// their tensors are the backend's (on WebGPU, the GPU's memory, out of the wasm's reach).
    pub fn wipe_scratch(&self) {
        if let Network::Cpu(cpu) = &self.net {
            cpu.wipe_scratch();
        }
    }

    /// [`Encoder::encode`], blocking (native only).
    #[cfg(not(target_family = "wasm"))]
    pub fn encode_blocking(&self, input: &[f32]) -> Result<EncoderOutput> {
        burn::tensor::read_sync(self.encode(input))
    }
}
