"""Speed of every decoder against a plain numpy argmax, and against the reference loops.

Run:  python benchmarks/bench_decode.py [--n 2000] [--repeats 5] [--ref-n 100]

Makes N realistic float32 heatmaps (17 x 64 x 48: Gaussian peaks of σ 2-3 at random
sub-pixel positions, amplitude 0.3-1, spatially smooth noise and a little white noise),
then times each method (best of ``--repeats`` after a warm-up call that compiles it) and
``hm.reshape(N, K, -1).argmax(-1)`` on the same array in the same process. The
reference per-map loops (the published code, :mod:`daec_viz.decoding.reference`) are
timed on the first ``--ref-n`` instances. Prints a markdown table (µs per instance).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from daec_viz.decoding import decode
from daec_viz.decoding.reference import reference_decode


def realistic_heatmaps(n: int, k: int = 17, h: int = 64, w: int = 48,
                       seed: int = 0) -> np.ndarray:
    """(n, k, h, w) float32 maps that look like a trained network's output."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, k, h, w), dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    xs = np.arange(w, dtype=np.float32)
    step = 250
    for s in range(0, n, step):  # chunks keep the temporaries small
        m = min(step, n - s)
        mu = rng.uniform([3, 3], [w - 4, h - 4], size=(m, k, 2)).astype(np.float32)
        sig = rng.uniform(2.0, 3.0, size=(m, k, 1)).astype(np.float32)
        amp = rng.uniform(0.3, 1.0, size=(m, k, 1, 1)).astype(np.float32)
        gx = np.exp(-((xs - mu[..., :1]) ** 2) / (2 * sig ** 2))
        gy = np.exp(-((ys - mu[..., 1:]) ** 2) / (2 * sig ** 2))
        maps = amp * gy[..., :, None] * gx[..., None, :]
        # smooth noise: a coarse random grid upsampled, plus white noise
        coarse = rng.normal(0, 0.02, size=(m, k, h // 8, w // 8)).astype(np.float32)
        maps += np.repeat(np.repeat(coarse, 8, axis=2), 8, axis=3)
        maps += rng.normal(0, 0.005, size=maps.shape).astype(np.float32)
        out[s:s + m] = maps
    return out


def best_time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


CONFIGS = [
    ("standard", {}),
    ("shifting", {}),
    ("dark", {}),
    ("daec", {"sigma": 2.0, "delta": 4}),
    ("daec", {"sigma": 2.0, "delta": 3.5}),
    ("standard", {"blur_kernel": 11}),
    ("daec", {"sigma": 2.0, "delta": 3, "blur_kernel": 11}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ref-n", type=int, default=100)
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()

    hm = realistic_heatmaps(args.n)
    n, k = hm.shape[:2]
    argmax_s = best_time(lambda: hm.reshape(n, k, -1).argmax(-1), args.repeats)
    rows = [{"method": "numpy argmax", "options": "", "us_per_instance": argmax_s / n * 1e6,
             "ratio_to_argmax": 1.0, "reference_us_per_instance": None}]
    sub = hm[: args.ref_n]
    for method, opts in CONFIGS:
        decode(hm[:2], method, **opts)  # compile (or load the cached machine code)
        t = best_time(lambda m=method, o=opts: decode(hm, m, **o), args.repeats)
        ref = None
        if "blur_kernel" not in opts and not isinstance(opts.get("delta", 0), float):
            ref_opts = {kk: v for kk, v in opts.items() if method == "daec"}
            t_ref = best_time(lambda m=method, o=ref_opts: reference_decode(sub, m, **o), 1)
            ref = t_ref / len(sub) * 1e6
        rows.append({"method": method, "options": ", ".join(f"{a}={b}" for a, b in opts.items()),
                     "us_per_instance": t / n * 1e6, "ratio_to_argmax": t / argmax_s,
                     "reference_us_per_instance": ref})
    info = {"n": n, "shape": list(hm.shape), "dtype": str(hm.dtype), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version()}
    if args.json:
        print(json.dumps({"info": info, "rows": rows}, indent=2))
        return
    print(f"N = {n} instances of {k}x{hm.shape[2]}x{hm.shape[3]} float32, "
          f"{info['cpus']} CPUs ({info['machine']}), best of {args.repeats}\n")
    print("| method | options | µs / instance | × numpy argmax | reference loop µs / instance |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        ref_us = r["reference_us_per_instance"]
        ref = "" if ref_us is None else f"{ref_us:.0f}"
        print(f"| {r['method']} | {r['options']} | {r['us_per_instance']:.1f} | "
              f"{r['ratio_to_argmax']:.2f} | {ref} |")


if __name__ == "__main__":
    main()
