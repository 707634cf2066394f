"""Builds an ONNX graph of EfficientNet-Lite0 from the converted safetensors weights (no torch).

The graph is the yardstick of the peer benchmark (docs/peers.md): the same network and the same
weights as legonet's encoder, run by onnxruntime (native, PyPI) and onnxruntime-web.

Contract (../shared/encoder-reference/README.md): input `input` float32 NCHW [B,3,224,224]
(dynamic batch, preprocessed (v-127)/128); TF-"SAME" padding (asymmetric on the five stride-2
convs: pads are static because the spatial size is fixed at 224); inference BatchNorm with eps
1e-3, folded into the convolutions in float64 (or kept as BatchNormalization nodes with
`--keep-bn`); ReLU6 as Clip(0, 6); GlobalAveragePool; outputs `embedding` [B,1280] and
`logits` [B,1000].

    python tools/onnx_export.py [--weights FILE] [--out FILE] [--keep-bn] [--opset 17]

Defaults: weights from $LEGONET_WEIGHTS or ~/.cache/legonet/weights/efficientnet-lite0.safetensors,
output ~/.cache/legonet/peers/efficientnet-lite0.onnx. Needs numpy and onnx.
"""

import argparse
import os
import sys

import numpy as np

from convert_weights import read_safetensors  # the writer's own reader (tools/ is on sys.path)

CACHE = os.environ.get("LEGONET_CACHE", os.path.expanduser("~/.cache/legonet"))
DEFAULT_WEIGHTS = os.environ.get("LEGONET_WEIGHTS", os.path.join(CACHE, "weights", "efficientnet-lite0.safetensors"))
DEFAULT_OUT = os.path.join(CACHE, "peers", "efficientnet-lite0.onnx")

# (expand_ratio, kernel, stride, in_ch, out_ch) of the 16 MBConv blocks (the encoder README's table)
BLOCKS = [
    (1, 3, 1, 32, 16), (6, 3, 2, 16, 24), (6, 3, 1, 24, 24), (6, 5, 2, 24, 40),
    (6, 5, 1, 40, 40), (6, 3, 2, 40, 80), (6, 3, 1, 80, 80), (6, 3, 1, 80, 80),
    (6, 5, 1, 80, 112), (6, 5, 1, 112, 112), (6, 5, 1, 112, 112), (6, 5, 2, 112, 192),
    (6, 5, 1, 192, 192), (6, 5, 1, 192, 192), (6, 5, 1, 192, 192), (6, 3, 1, 192, 320),
]
BN_EPS = 1e-3
INPUT_SIZE = 224


def read_f32_weights(path):
    """name -> float32 ndarray (row-major, PyTorch shapes) from the f32 safetensors file."""
    tensors, _, _ = read_safetensors(path)
    for name, a in tensors.items():
        if a.dtype != np.dtype("<f4"):
            raise ValueError(f"{name}: dtype {a.dtype}, expected float32 (the f32 weight file)")
    return {name: a.copy() for name, a in tensors.items()}


def same_pads(size, k, s):
    """TF "SAME" padding along one axis: (before, after, output size)."""
    o = -(-size // s)
    total = max((o - 1) * s + k - size, 0)
    return total // 2, total - total // 2, o


class Builder:
    def __init__(self, W, keep_bn=False):
        from onnx import helper, numpy_helper  # noqa: F401
        self.W = W
        self.keep_bn = keep_bn
        self.nodes = []
        self.inits = []
        self.n = 0

    def _name(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, name, arr):
        from onnx import numpy_helper
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op, inputs, hint, **attrs):
        from onnx import helper
        out = self._name(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv_bn(self, x, conv, bn, size, stride, groups=1, act=True):
        """conv (no bias) + inference BN (+ ReLU6). Returns (output name, output spatial size)."""
        w = self.W[f"{conv}.weight"].astype(np.float64)
        k = w.shape[-1]
        before, after, o = same_pads(size, k, stride)
        gamma, beta = self.W[f"{bn}.weight"].astype(np.float64), self.W[f"{bn}.bias"].astype(np.float64)
        mean, var = self.W[f"{bn}.running_mean"].astype(np.float64), self.W[f"{bn}.running_var"].astype(np.float64)
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], pads=[before, before, after, after], group=groups)
        if self.keep_bn:
            y = self.node("Conv", [x, self.const(f"{conv}.weight", w.astype(np.float32))], "conv", **attrs)
            y = self.node("BatchNormalization",
                          [y, self.const(f"{bn}.weight", gamma.astype(np.float32)),
                           self.const(f"{bn}.bias", beta.astype(np.float32)),
                           self.const(f"{bn}.running_mean", mean.astype(np.float32)),
                           self.const(f"{bn}.running_var", var.astype(np.float32))],
                          "bn", epsilon=BN_EPS)
        else:
            scale = gamma / np.sqrt(var + BN_EPS)
            wf = (w * scale[:, None, None, None]).astype(np.float32)
            bf = (beta - mean * scale).astype(np.float32)
            y = self.node("Conv", [x, self.const(f"{conv}.weight", wf), self.const(f"{conv}.bias", bf)],
                          "conv", **attrs)
        if act:
            y = self.node("Clip", [y, "relu6_min", "relu6_max"], "relu6")
        return y, o


def build_model(W, keep_bn=False, opset=17):
    from onnx import TensorProto, checker, helper
    b = Builder(W, keep_bn)
    b.const("relu6_min", np.array(0.0, np.float32))
    b.const("relu6_max", np.array(6.0, np.float32))
    x, size = b.conv_bn("input", "_conv_stem", "_bn0", INPUT_SIZE, 2)
    for i, (e, k, s, cin, cout) in enumerate(BLOCKS):
        p = f"_blocks.{i}"
        inp = x
        assert W[f"{p}._depthwise_conv.weight"].shape == (cin * e, 1, k, k), p
        if e != 1:
            x, _ = b.conv_bn(x, f"{p}._expand_conv", f"{p}._bn0", size, 1)
        x, size_out = b.conv_bn(x, f"{p}._depthwise_conv", f"{p}._bn1", size, s, groups=cin * e)
        x, _ = b.conv_bn(x, f"{p}._project_conv", f"{p}._bn2", size_out, 1, act=False)
        if s == 1 and cin == cout:
            x = b.node("Add", [x, inp], "skip")
        size = size_out
    x, size = b.conv_bn(x, "_conv_head", "_bn1", size, 1)
    pooled = b.node("GlobalAveragePool", [x], "gap")
    b.const("flat_shape", np.array([0, -1], np.int64))
    b.nodes.append(helper.make_node("Reshape", [pooled, "flat_shape"], ["embedding"], name="embedding"))
    b.const("_fc.weight_t", W["_fc.weight"].T.copy())  # [1280, 1000]
    b.const("_fc.bias", W["_fc.bias"])
    b.nodes.append(helper.make_node("Gemm", ["embedding", "_fc.weight_t", "_fc.bias"], ["logits"], name="logits"))
    graph = helper.make_graph(
        b.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 1280]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000])],
        b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="legonet tools/onnx_export.py")
    model.ir_version = 8  # readable by onnxruntime-web and older runtimes
    checker.check_model(model)
    return model


def export(weights=DEFAULT_WEIGHTS, out=DEFAULT_OUT, keep_bn=False, opset=17):
    import onnx
    W = read_f32_weights(weights)
    if len(W) != 247:
        raise ValueError(f"{weights}: {len(W)} tensors, expected 247")
    model = build_model(W, keep_bn, opset)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, out)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--keep-bn", action="store_true", help="BatchNormalization nodes instead of folding")
    ap.add_argument("--opset", type=int, default=17)
    a = ap.parse_args(argv)
    path = export(a.weights, a.out, a.keep_bn, a.opset)
    print(f"wrote {path} ({os.path.getsize(path):,} bytes)")


if __name__ == "__main__":
    sys.exit(main())
