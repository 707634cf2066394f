//! The network as burn modules and tensor ops, for any burn device (flex, ndarray, wgpu/WebGPU).

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;

use super::WeightFile;
use super::arch::{ENCODING_DIM, HEAD_INPUT, LITE0_BLOCKS, STEM_CHANNELS, same_padding};
use crate::Result;
use crate::imagenet::NUM_CLASSES;

impl WeightFile {
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
