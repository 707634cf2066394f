#!/usr/bin/env python3
"""The f16 weights against the f32 ones on real photos: both encoders run through
`legonet encode` over the same photos; prints, per photo set, how often the ImageNet top-1 and
top-5 agree and how close the 1280-d encodings are (cosine, max abs difference).

The encoder oracle's fixtures (four photos with float64 reference outputs) are checked by
crate/tests/encoder_fixtures.rs; this covers the benchmark's photo sets, which have no ImageNet
labels, so agreement with the f32 encoder is what it measures.

With `--bench F32.json F16.json` it instead compares two `legonet bench --out` files of the same
command run with `--weights` on each file: accuracy per set, size or shots, and method.

Usage: weight_precision.py [--cli target/release/legonet] [--datasets ~/.cache/legonet/datasets]
                           [--f32 FILE] [--f16 FILE] [SET ...]   (default sets: gcompris-photos tuxpaint-photos)
       weight_precision.py --bench F32.json F16.json
"""

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np

CACHE = os.environ.get("LEGONET_CACHE", os.path.expanduser("~/.cache/legonet"))
WEIGHTS = os.environ.get("LEGONET_WEIGHTS", os.path.join(CACHE, "weights", "efficientnet-lite0.safetensors"))


def encode(cli, weights, photos, tmp):
    """(top-5 index lists, [N,1280] encodings) of `photos` through the encoder of `weights`."""
    emb = os.path.join(tmp, "emb.f32")
    out = subprocess.run([cli, "encode", "--json", "--weights", weights, "--embedding-out", emb, *photos],
                         check=True, capture_output=True, text=True).stdout
    top5 = [[p["index"] for p in json.loads(line)["top5"]] for line in out.splitlines()]
    return top5, np.fromfile(emb, dtype="<f4").reshape(len(photos), -1)


def compare_bench(f32_json, f16_json):
    """Markdown rows: accuracy with the f32 and the f16 weights, and the difference in points."""
    runs = []
    for path in (f32_json, f16_json):
        with open(path) as f:
            runs.append(json.load(f))
    if runs[0]["encoder_id"] == runs[1]["encoder_id"]:
        raise SystemExit("both files were made with the same weights")

    def key(r):
        method = r["method"]
        if method == "legonet":
            method += " default" if r["default"] else f" {r['n']}:{r['k']}"
        return r["set"], r["shots"] or str(r["n_train"]), method

    full = {key(r): r["accuracy"] for r in runs[0]["rows"]}
    print("| set | shots / N | method | f32 | f16 | f16 − f32 (points) |")
    print("|---|---|---|---|---|---|")
    for r in runs[1]["rows"]:
        k = key(r)
        if k in full:
            print(f"| {k[0]} | {k[1]} | {k[2]} | {full[k]:.3f} | {r['accuracy']:.3f} | {100 * (r['accuracy'] - full[k]):+.1f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=os.path.join(CACHE, "target", "release", "legonet"))
    ap.add_argument("--datasets", default=os.path.join(CACHE, "datasets"))
    ap.add_argument("--f32", default=WEIGHTS)
    ap.add_argument("--f16", default=os.environ.get("LEGONET_WEIGHTS_F16", WEIGHTS.removesuffix(".safetensors") + "-f16.safetensors"))
    ap.add_argument("--bench", nargs=2, metavar=("F32_JSON", "F16_JSON"))
    ap.add_argument("sets", nargs="*", default=["gcompris-photos", "tuxpaint-photos"])
    args = ap.parse_args()
    if args.bench:
        return compare_bench(*args.bench)
    print("| set | photos | top-1 same | top-5 same set | top-5 same order | encoding cosine min / median | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets:
        root = os.path.join(args.datasets, name, "images")
        photos = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
        with tempfile.TemporaryDirectory() as tmp:
            t32, e32 = encode(args.cli, args.f32, photos, tmp)
            t16, e16 = encode(args.cli, args.f16, photos, tmp)
        cos = (e32 * e16).sum(1) / np.linalg.norm(e32, axis=1) / np.linalg.norm(e16, axis=1)
        n = len(photos)
        top1 = sum(a[0] == b[0] for a, b in zip(t32, t16))
        set5 = sum(set(a) == set(b) for a, b in zip(t32, t16))
        order5 = sum(a == b for a, b in zip(t32, t16))
        print(f"| {name} | {n} | {top1}/{n} | {set5}/{n} | {order5}/{n} | {cos.min():.6f} / {np.median(cos):.6f} "
              f"| {np.abs(e32 - e16).max():.2e} |")


if __name__ == "__main__":
    main()
