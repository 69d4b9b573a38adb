"""Speed of the simulated network: what the Learn page recomputes on every knob change.

Run:  python benchmarks/bench_simulate.py [--persons 200] [--repeats 5]

Simulates ``--persons`` people (17 joints, 64x48 maps, default knobs) and prints the
best of ``--repeats`` runs after one warm-up (numba compiled). The Learn page's budget
is about 0.2 s for 200 people; this is where that is measured (not in a unit test: CI
runs on a busy 2-core machine).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from daec_viz.synthetic.simulate import NetworkKnobs, simulate_heatmaps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(8)
    n = args.persons
    kp = np.stack([rng.uniform(8, 40, (n, 17)), rng.uniform(8, 56, (n, 17))], axis=-1)
    vis = np.full((n, 17), 2)
    knobs = NetworkKnobs()
    simulate_heatmaps(kp, vis, knobs, 0)  # warm-up: compile / load numba's cache
    times = []
    for seed in range(args.repeats):
        t = time.perf_counter()
        simulate_heatmaps(kp, vis, knobs, seed + 1)
        times.append(time.perf_counter() - t)
    print(f"simulate_heatmaps, {n} persons x 17 joints, 64x48: best {min(times):.3f} s, "
          f"median {float(np.median(times)):.3f} s over {args.repeats} runs")


if __name__ == "__main__":
    main()
