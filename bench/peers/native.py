"""Native half of the peer benchmark: legonet's release CLI (`legonet bench-encoder`) vs native
onnxruntime (PyPI, CPUExecutionProvider) on the same graph, at the same thread count (1 and 2),
batch 1 and 8, on the shared fixture inputs. Prints one JSON object (ms/image, medians).

    ~/.cache/legonet/venv-peers/bin/python bench/peers/native.py [--reps 10] [--rounds 3] [--legonet PATH]

The machine is a shared VM whose speed drifts by ±10 % over seconds to minutes, so the two sides
are measured in interleaved rounds (onnxruntime then legonet, per thread count, `--rounds`
times) and each figure is the median of its rounds' medians: a slow stretch hits both.

legonet's thread count is set with RAYON_NUM_THREADS (burn's CPU backends use rayon natively);
the CPU time it actually used is recorded too (cpu_s / wall_s), so a backend that ignores the
setting shows up.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("LEGONET_CACHE", os.path.expanduser("~/.cache/legonet"))


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def ort_bench(onnx_path, x4, threads, reps):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    out = {"threads": threads}
    for batch in (1, 8):
        x = np.concatenate([x4] * 2)[:batch] if batch <= 8 else None
        sess.run(["embedding"], {"input": x})  # warm-up
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            sess.run(["embedding", "logits"], {"input": x})
            times.append((time.perf_counter() - t) * 1000 / batch)
        out[f"batch{batch}_ms_per_image"] = statistics.median(times)
        out[f"batch{batch}_runs"] = times
    return out


def legonet_bench(exe, threads, reps, backends):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.json")
        env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([exe, "bench-encoder", "--backends", backends, "--reps", str(reps), "--out", path],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        data = json.load(open(path))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    rows = []
    for row in data["native"]:
        rows.append({**row, "threads": threads, "cpu_s_over_wall_s": round(cpu / wall, 2)})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--legonet", default=os.environ.get("LEGONET_CLI", os.path.join(CACHE, "target", "release", "legonet")))
    ap.add_argument("--backends", default="cpu,flex,ndarray")
    ap.add_argument("--onnx", default=os.path.join(HERE, "cache", "efficientnet-lite0.onnx"))
    a = ap.parse_args(argv)
    import onnxruntime
    x4 = np.fromfile(os.path.join(HERE, "cache", "fixtures.input.f32"), "<f4").reshape(4, 3, 224, 224)
    res = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
                       "onnxruntime": onnxruntime.__version__},
           "reps": a.reps, "rounds": a.rounds, "onnxruntime": [], "legonet": []}
    if not os.path.exists(a.legonet):
        res["legonet_missing"] = a.legonet
    ort_rounds, legonet_rounds = [], []
    for r in range(a.rounds):
        for threads in (1, 2):
            print(f"round {r + 1}/{a.rounds}: native onnxruntime, {threads} thread(s) ...", file=sys.stderr, flush=True)
            ort_rounds.append(ort_bench(a.onnx, x4, threads, a.reps))
            if os.path.exists(a.legonet):
                print(f"round {r + 1}/{a.rounds}: native legonet bench-encoder, RAYON_NUM_THREADS={threads} ...", file=sys.stderr, flush=True)
                for backend in a.backends.split(","):
                    legonet_rounds.extend(legonet_bench(a.legonet, threads, a.reps, backend))
    res["onnxruntime"] = merge_rounds(ort_rounds, ("threads",))
    res["legonet"] = merge_rounds(legonet_rounds, ("threads", "backend"))
    print(json.dumps(res))


def merge_rounds(rows, key):
    """One row per `key`: ms/image = the median of the rounds' medians (each round's kept too)."""
    merged = {}
    for row in rows:
        merged.setdefault(tuple(row[k] for k in key), []).append(row)
    out = []
    for group in merged.values():
        row = dict(group[-1])
        for batch in (1, 8):
            k = f"batch{batch}_ms_per_image"
            row[f"batch{batch}_rounds"] = [g[k] for g in group]
            row[k] = statistics.median(row[f"batch{batch}_rounds"])
        if "cpu_s_over_wall_s" in row:
            row["cpu_s_over_wall_s"] = round(statistics.median(g["cpu_s_over_wall_s"] for g in group), 2)
        out.append(row)
    return out


if __name__ == "__main__":
    main()
