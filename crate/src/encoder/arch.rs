//! The EfficientNet-Lite0 architecture as data, shared by both implementations of the network
//! (burn ops and the fused CPU kernels): block specs, channel counts, BatchNorm epsilon, padding.

/// Length of an encoding (the pooled head features).
pub const ENCODING_DIM: usize = 1280;
/// BatchNorm epsilon of the TensorFlow Lite models (burn's default, 1e-5, is wrong here).
pub const BN_EPS: f64 = 1e-3;
/// Channels of the stem's output.
pub(super) const STEM_CHANNELS: usize = 32;
/// Channels into the head conv (the last block's output).
pub(super) const HEAD_INPUT: usize = LITE0_BLOCKS[LITE0_BLOCKS.len() - 1].output;

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

/// TF-"SAME" padding of one axis: `(before, after)`.
pub(super) fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
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
}
