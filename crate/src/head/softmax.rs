//! The softmax head's training: `Linear(dim -> labels)`, cross-entropy, Adam, by a custom loop on
//! burn autodiff on the CPU (flex) device, so synchronous readback also works in wasm. Initial
//! weights and epoch shuffles come from the adapter's own ChaCha8 stream.

use burn::module::Param;
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation::log_softmax};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::HeadConfig;
use crate::shuffle::shuffle;
use crate::{Error, Result};

/// The burn autodiff training loop (CPU device, so synchronous readback also works in wasm).
pub(super) fn train(
    cfg: &HeadConfig,
    xs: &[&[f32]],
    targets: &[usize],
    c: usize,
    dim: usize,
    seed: u64,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // PyTorch/burn's default Linear init range, drawn from our own stream.
    let bound = (1.0 / dim as f32).sqrt();
    let w0: Vec<f32> = (0..dim * c).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound).collect();
    let b0: Vec<f32> = (0..c).map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound).collect();
    let mut head = Linear {
        weight: Param::from_tensor(Tensor::<2>::from_data(TensorData::new(w0, [dim, c]), &device)),
        bias: Some(Param::from_tensor(Tensor::<1>::from_data(TensorData::new(b0, [c]), &device))),
    };
    let mut optim = AdamConfig::new().init();
    let m = xs.len();
    let mut order: Vec<usize> = (0..m).collect();
    for _ in 0..cfg.epochs {
        // The adapter's own stream.
        shuffle(&mut order, &mut rng);
        for batch in order.chunks(cfg.batch_size) {
            let bs = batch.len();
            let mut x = Vec::with_capacity(bs * dim);
            let mut y = vec![0.0f32; bs * c];
            for (r, &i) in batch.iter().enumerate() {
                x.extend_from_slice(xs[i]);
                y[r * c + targets[i]] = 1.0;
            }
            let x = Tensor::<2>::from_data(TensorData::new(x, [bs, dim]), &device);
            let y = Tensor::<2>::from_data(TensorData::new(y, [bs, c]), &device);
            let loss = (log_softmax(head.forward(x), 1) * y).sum().mul_scalar(-1.0 / bs as f32);
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(cfg.learning_rate, head, grads);
        }
    }
    let read = |t: TensorData| t.try_into_vec::<f32>().map_err(|e| Error::Backend(format!("readback: {e:?}")));
    let weight = read(head.weight.val().into_data())?;
    let bias = read(head.bias.as_ref().expect("built with bias").val().into_data())?;
    Ok((weight, bias))
}
