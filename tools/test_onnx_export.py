"""Tests of the ONNX export: `python -m unittest tools/test_onnx_export.py` (in a venv with numpy,
onnx and onnxruntime, e.g. ~/.cache/legonet/venv-peers; see docs/peers.md).

Runs the exported graph (BN folded, and with BatchNormalization nodes) with native onnxruntime on
every fixture of the shared oracle (LEGONET_SHARED, default ../shared): embedding cosine >= 0.999
and the same top-5 order as the oracle's logits; a batch of all fixtures equals the single runs.
"""

import glob
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import onnx_export  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("LEGONET_SHARED", os.path.join(ROOT, "..", "shared"))
FIXTURES = os.path.join(SHARED, "encoder-reference", "fixtures")


def f32(path):
    return np.fromfile(path, dtype="<f4")


def cosine(a, b):
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))


def top5(logits):
    return [int(i) for i in sorted(range(len(logits)), key=lambda i: (-logits[i], i))[:5]]


@unittest.skipUnless(os.path.exists(onnx_export.DEFAULT_WEIGHTS), "converted weights not found (run ./dev set-up)")
@unittest.skipUnless(os.path.isdir(FIXTURES), "shared encoder fixtures not found")
class OnnxExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import onnxruntime as ort
        cls.tmp = tempfile.TemporaryDirectory()
        cls.sessions = {}
        for keep_bn in (False, True):
            path = onnx_export.export(out=os.path.join(cls.tmp.name, f"lite0-{keep_bn}.onnx"), keep_bn=keep_bn)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            cls.sessions[keep_bn] = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        cls.names = sorted(os.path.basename(p)[: -len(".input.f32")] for p in glob.glob(os.path.join(FIXTURES, "*.input.f32")))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_fixture_count(self):
        self.assertGreaterEqual(len(self.names), 4)

    def test_every_fixture(self):
        for keep_bn, sess in self.sessions.items():
            for name in self.names:
                with self.subTest(name=name, keep_bn=keep_bn):
                    x = f32(os.path.join(FIXTURES, f"{name}.input.f32")).reshape(1, 3, 224, 224)
                    emb, logits = sess.run(["embedding", "logits"], {"input": x})
                    self.assertEqual(emb.shape, (1, 1280))
                    self.assertEqual(logits.shape, (1, 1000))
                    want = f32(os.path.join(FIXTURES, f"{name}.embedding.f32"))
                    want_logits = f32(os.path.join(FIXTURES, f"{name}.logits.f32"))
                    self.assertGreaterEqual(cosine(emb[0], want), 0.999)
                    self.assertLess(float(np.abs(emb[0] - want).max()), 0.05)
                    self.assertEqual(top5(logits[0]), top5(want_logits))

    def test_dynamic_batch(self):
        sess = self.sessions[False]
        xs = np.concatenate([f32(os.path.join(FIXTURES, f"{n}.input.f32")).reshape(1, 3, 224, 224) for n in self.names])
        emb, logits = sess.run(["embedding", "logits"], {"input": xs})
        self.assertEqual(emb.shape, (len(self.names), 1280))
        for i in range(len(self.names)):
            one, _ = sess.run(["embedding", "logits"], {"input": xs[i:i + 1]})
            np.testing.assert_allclose(emb[i], one[0], atol=1e-4)

    def test_same_padding(self):
        self.assertEqual(onnx_export.same_pads(224, 3, 2), (0, 1, 112))
        self.assertEqual(onnx_export.same_pads(56, 5, 2), (1, 2, 28))
        self.assertEqual(onnx_export.same_pads(14, 5, 1), (2, 2, 14))


if __name__ == "__main__":
    unittest.main()
