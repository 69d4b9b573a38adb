"""Decoder speed: every method against a plain numpy argmax and the reference loops.

Used by ``benchmarks/bench_decode.py`` (the paper's decoders and the field's:
:data:`ALL_CONFIGS`), ``daec-viz bench`` and the app's Compare page (the paper's:
:data:`CONFIGS`).
:func:`realistic_heatmaps` makes float32 maps that look like a trained network's output
(Gaussian peaks of σ 2-3 at random sub-pixel positions, amplitude 0.3-1, spatially smooth
noise and a little white noise); :func:`run_benchmark` times each method (best of
``repeats`` after a warm-up call that compiles it) and ``hm.reshape(N, K, -1).argmax(-1)``
on the same array in the same process.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any

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
#: The field's decoders at their defaults (targets: DARK-UDP and gauss3 within 3x numpy
#: argmax, the integral decoders within 10x).
FIELD_CONFIGS = [
    ("dark_udp", {}),
    ("gauss3", {}),
    ("integral", {}),
    ("integral_debiased", {}),
]
ALL_CONFIGS = CONFIGS + FIELD_CONFIGS


def run_benchmark(n: int = 2000, repeats: int = 5, ref_n: int = 100,
                  configs: list[tuple[str, dict[str, Any]]] | None = None,
                  progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Time every decoder on ``n`` realistic (n, 17, 64, 48) float32 maps.

    ``configs``: (method, options) pairs, default :data:`CONFIGS` (the paper's decoders;
    :data:`ALL_CONFIGS` adds the field's).

    Returns ``{"info": {...}, "rows": [...]}``; each row has ``method``, ``options``,
    ``us_per_instance``, ``ratio_to_argmax`` and ``reference_us_per_instance`` (the
    published code's per-map loop on the first ``ref_n`` instances; None where it has no
    reference, i.e. smoothed or fractional-Δ variants). ``progress(fraction, label)`` is
    called before each configuration.
    """
    configs = CONFIGS if configs is None else configs
    hm = realistic_heatmaps(n)
    k = hm.shape[1]
    argmax_s = best_time(lambda: hm.reshape(n, k, -1).argmax(-1), repeats)
    rows: list[dict[str, Any]] = [{"method": "numpy argmax", "options": "",
                                   "us_per_instance": argmax_s / n * 1e6,
                                   "ratio_to_argmax": 1.0, "reference_us_per_instance": None}]
    sub = hm[:ref_n]
    for i, (method, opts) in enumerate(configs):
        if progress is not None:
            progress(i / len(configs), method)
        decode(hm[:2], method, **opts)  # compile (or load the cached machine code)
        t = best_time(lambda m=method, o=opts: decode(hm, m, **o), repeats)
        ref = None
        has_ref = "blur_kernel" not in opts and not isinstance(opts.get("delta", 0), float)
        if has_ref and ref_n > 0:
            # the references take the options that change their result (DAEC's, β)
            ref_opts = dict(opts) if method in ("daec", "integral", "integral_debiased") \
                else {}
            t_ref = best_time(lambda m=method, o=ref_opts: reference_decode(sub, m, **o), 1)
            ref = t_ref / len(sub) * 1e6
        rows.append({"method": method,
                     "options": ", ".join(f"{a}={b}" for a, b in opts.items()),
                     "us_per_instance": t / n * 1e6, "ratio_to_argmax": t / argmax_s,
                     "reference_us_per_instance": ref})
    if progress is not None:
        progress(1.0, "done")
    info = {"n": n, "shape": list(hm.shape), "dtype": str(hm.dtype), "repeats": repeats,
            "cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version()}
    return {"info": info, "rows": rows}


def format_table(result: dict[str, Any]) -> str:
    """Markdown table of :func:`run_benchmark`'s result."""
    info = result["info"]
    n, k, h, w = info["shape"]
    lines = [f"N = {n} instances of {k}x{h}x{w} {info['dtype']}, {info['cpus']} CPUs "
             f"({info['machine']}), best of {info['repeats']}", "",
             "| method | options | µs / instance | × numpy argmax | reference loop µs / instance |",
             "|---|---|---:|---:|---:|"]
    for r in result["rows"]:
        ref_us = r["reference_us_per_instance"]
        ref = "" if ref_us is None else f"{ref_us:.0f}"
        lines.append(f"| {r['method']} | {r['options']} | {r['us_per_instance']:.1f} | "
                     f"{r['ratio_to_argmax']:.2f} | {ref} |")
    return "\n".join(lines)
