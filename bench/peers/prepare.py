"""Prepares the peer benchmark's inputs in bench/peers/cache/ (git-ignored; served to the page):

- efficientnet-lite0.onnx: built by tools/onnx_export.py from the converted weights (cached in
  ~/.cache/legonet/peers/, copied here);
- fixture inputs: the shared oracle's preprocessed photos ([1,3,224,224] f32) as one file;
- encodings of real photos for the training rows, computed once with native onnxruntime from the
  graph above (checked against the oracle by tools/test_onnx_export.py):
  `fmnist-2000` (Fashion-MNIST product photos, 10 classes, 200 per class), `fmnist-test-1000`
  (its held-out test images, for the rows' accuracy) and `photos-243` (all 243 GCompris photos,
  6 classes). Preprocessing is the encoder contract (Pillow).

    ~/.cache/legonet/venv-peers/bin/python bench/peers/prepare.py

Datasets come from /work/shared/datasets/build_benchmark_set.py (LEGONET_DATASETS, default
~/.cache/legonet/datasets). Idempotent: skips what exists.
"""

import json
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import onnx_export  # noqa: E402

CACHE_DIR = os.path.join(HERE, "cache")
DATASETS = os.environ.get("LEGONET_DATASETS", os.path.join(onnx_export.CACHE, "datasets"))
SHARED = os.environ.get("LEGONET_SHARED", os.path.join(ROOT, "..", "shared"))
FIXTURES = os.path.join(SHARED, "encoder-reference", "fixtures")
FIXTURE_NAMES = ["chelsea", "coffee", "rocket", "astronaut"]


def preprocess(img):
    """PIL image -> float32 [3,224,224] per the encoder contract."""
    img = img.convert("RGB")
    w, h = img.size
    nw, nh = (256, 256 * h // w) if w <= h else (256 * w // h, 256)
    from PIL import Image
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - 224) // 2, (nh - 224) // 2
    a = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32)
    return ((a - 127.0) / 128.0).transpose(2, 0, 1)


def encode(sess, images, batch=16):
    out = []
    for i in range(0, len(images), batch):
        x = np.stack([preprocess(im) for im in images[i:i + batch]])
        out.append(sess.run(["embedding"], {"input": x})[0])
    return np.concatenate(out).astype("<f4")


def main():
    import onnxruntime as ort
    from PIL import Image
    os.makedirs(CACHE_DIR, exist_ok=True)
    onnx_path = onnx_export.DEFAULT_OUT
    if not os.path.exists(onnx_path):
        onnx_export.export(out=onnx_path)
    dst = os.path.join(CACHE_DIR, "efficientnet-lite0.onnx")
    if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(onnx_path):
        shutil.copyfile(onnx_path, dst)
    fx = os.path.join(CACHE_DIR, "fixtures.input.f32")
    if not os.path.exists(fx):
        np.concatenate([np.fromfile(os.path.join(FIXTURES, f"{n}.input.f32"), "<f4") for n in FIXTURE_NAMES]).tofile(fx)

    sess = None
    sets = {}
    meta_path = os.path.join(CACHE_DIR, "sets.json")
    if os.path.exists(meta_path):
        sets = json.load(open(meta_path))
    todo = [s for s in ("fmnist-2000", "fmnist-test-1000", "photos-243") if s not in sets]
    for name in todo:
        sess = sess or ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        if name == "fmnist-2000":
            d = os.path.join(DATASETS, "fashion-mnist-5k")
            imgs = np.load(os.path.join(d, "train_images.npy"))
            labels = np.load(os.path.join(d, "train_labels.npy"))
            idx = np.concatenate([np.nonzero(labels == c)[0][:200] for c in range(10)])
            idx.sort()  # interleaved classes, deterministic
            images = [Image.fromarray(imgs[i], "L") for i in idx]
            y = labels[idx].astype(np.uint8)
            classes = [str(c) for c in range(10)]
            source = "Fashion-MNIST (dataset-fashion-mnist, MIT), first 200 train images per class"
        elif name == "fmnist-test-1000":
            # Held-out encodings for the accuracy beside each training row (never trained on).
            d = os.path.join(DATASETS, "fashion-mnist-5k")
            imgs = np.load(os.path.join(d, "test_images.npy"))
            y = np.load(os.path.join(d, "test_labels.npy")).astype(np.uint8)
            images = [Image.fromarray(im, "L") for im in imgs]
            classes = [str(c) for c in range(10)]
            source = "Fashion-MNIST (dataset-fashion-mnist, MIT), the 1,000-image test set of fashion-mnist-5k"
        else:
            d = os.path.join(DATASETS, "gcompris-photos")
            m = json.load(open(os.path.join(d, "manifest.json")))
            classes = m["classes"]
            entries = sorted(m["entries"], key=lambda e: e["file"])
            images = [Image.open(os.path.join(d, e["file"])) for e in entries]
            y = np.array([classes.index(e["class"]) for e in entries], np.uint8)
            source = "GCompris photos (gcompris-qt-data), all 243, per-image licences in the manifest"
        print(f"encoding {name}: {len(images)} images ...", flush=True)
        emb = encode(sess, images)
        # shuffle deterministically so that any prefix is class-mixed
        perm = np.random.default_rng(0).permutation(len(y))
        emb[perm].tofile(os.path.join(CACHE_DIR, f"{name}.enc.f32"))
        y[perm].tofile(os.path.join(CACHE_DIR, f"{name}.labels.u8"))
        sets[name] = {"n": int(len(y)), "dim": 1280, "classes": classes, "source": source,
                      "encoded_with": "native onnxruntime, tools/onnx_export.py graph"}
        json.dump(sets, open(meta_path, "w"), indent=1)
    print(json.dumps({k: {"n": v["n"], "classes": len(v["classes"])} for k, v in sets.items()}))


if __name__ == "__main__":
    main()
