"""Cold-start cost: compiling every decoder's numba kernels, per method and dtype.

Each measurement runs in a fresh subprocess with an empty numba cache folder, so it is
what a new install (or CI, or the app's first page) pays once. CPU seconds are the
honest number on a busy machine; wall seconds are shown beside them.

    python benchmarks/bench_compile.py            # all decoders, float32 and float64
    python benchmarks/bench_compile.py --src DIR  # another checkout, for a before/after
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np
t0, c0 = time.perf_counter(), time.process_time()
from daec_viz.decoding import ALL_METHODS, decode
imp = (time.perf_counter() - t0, time.process_time() - c0)
rows = []
for dtype in (np.float32, np.float64):
    hm = np.random.default_rng(0).random((2, 3, 16, 12)).astype(dtype)
    for method in ALL_METHODS:
        for opts in ({},) + (({"blur_kernel": 5},) if method in ("standard", "daec") else ()):
            t, c = time.perf_counter(), time.process_time()
            decode(hm, method, **opts)
            rows.append([method + ("+blur" if opts else ""), np.dtype(dtype).name,
                         time.process_time() - c, time.perf_counter() - t])
print(json.dumps({"import": imp, "rows": rows}))
"""


def measure(src: Path | None) -> dict:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        if src is not None:
            env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True,
                             capture_output=True, text=True, cwd=src or None).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=None,
                    help="checkout to measure (default: the installed daec_viz)")
    args = ap.parse_args()
    r = measure(args.src)
    print(f"import daec_viz.decoding: {r['import'][1]:.2f} s CPU ({r['import'][0]:.2f} s wall)")
    print(f"{'decoder':<20} {'dtype':<8} {'CPU s':>7} {'wall s':>7}")
    for name, dtype, cpu, wall in r["rows"]:
        print(f"{name:<20} {dtype:<8} {cpu:7.2f} {wall:7.2f}")
    cpu = sum(row[2] for row in r["rows"])
    wall = sum(row[3] for row in r["rows"])
    print(f"{'total':<29} {cpu:7.2f} {wall:7.2f}")


if __name__ == "__main__":
    main()
