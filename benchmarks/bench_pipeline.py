"""Pipeline x flip test -> mean bias, Δ_opt and AP of the decoders (the README table).

For every training pipeline (hrnet / dark / udp) and flip test (none / shift / noshift)
this builds the simulated demo (``daec_viz.synthetic.demo.build_demo`` with
``PipelineSettings``; the network's default knobs with the free bias knob at 0, so any
bias comes from the pipeline), then measures on the test split: the mean error of DARK
(heatmap px, x and y), Δ_opt learned on the train split (DAEC BR, Δ = -2 … 8 step 0.5),
and the COCO AP of standard, shifting, DARK, DARK-UDP, integral and DAEC at that Δ_opt.
Extra rows: the mechanistic leak (hrnet, leak 1) and the convention mismatch (HRNet
checkpoints cropped and decoded the DarkPose/DAEC way), with and without the leak, and
the classic demo (free bias knob 0.45, 0.25) for reference.

Usage: ``python benchmarks/bench_pipeline.py [--images 300] [--seed 0] [--out FILE.json]``
(about 10 s per row on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from daec_viz.decoding import DecoderConfig
from daec_viz.evaluation.scoring import evaluate
from daec_viz.io.datasets import load_dataset
from daec_viz.synthetic.demo import build_demo
from daec_viz.synthetic.pipeline import PipelineSettings
from daec_viz.synthetic.simulate import NetworkKnobs

DECODERS = ("standard", "shifting", "dark", "dark_udp", "integral")
DELTAS = np.arange(-2.0, 8.01, 0.5)


def _rows() -> list[tuple[str, PipelineSettings | None, NetworkKnobs]]:
    no_bias = NetworkKnobs().replace(bias=(0.0, 0.0))
    rows = [(f"{p} / {f}", PipelineSettings(p, f), no_bias)
            for p in ("hrnet", "dark", "udp") for f in ("none", "shift", "noshift")]
    rows += [("hrnet / none, leak 1", PipelineSettings("hrnet", "none", leak=1.0), no_bias),
             ("hrnet / shift, leak 1", PipelineSettings("hrnet", "shift", leak=1.0), no_bias),
             ("hrnet-trained, dark-decoded / none",
              PipelineSettings("hrnet", "none", convention="dark"), no_bias),
             ("hrnet-trained, dark-decoded / none, leak 1",
              PipelineSettings("hrnet", "none", leak=1.0, convention="dark"), no_bias),
             ("udp / none + free bias (0.45, 0.25)", PipelineSettings("udp", "none"),
              NetworkKnobs()),
             ("classic demo (free bias 0.45, 0.25)", None, NetworkKnobs())]
    return rows


def _ap(ds, cfg: DecoderConfig, split: str) -> float:
    return float(evaluate(ds.subset(split), cfg)["AP"])


def measure(path: Path) -> dict:
    from daec_viz.analysis import analyse_errors

    ds = load_dataset(path)
    train = [_ap(ds, DecoderConfig("daec", delta=float(d), pattern="BR"), "train")
             for d in DELTAS]
    d_opt = float(DELTAS[int(np.argmax(train))])
    test = ds.subset("test")
    ea = analyse_errors(test, configs={"dark": DecoderConfig("dark")}, taxonomy=False,
                        n_boot=10)
    bias = ea.methods["dark"].bias["hm"].overall_mean
    out = {"bias_dark_hm": [round(float(b), 3) for b in bias], "delta_opt": d_opt}
    for m in DECODERS:
        out[m] = round(_ap(ds, DecoderConfig(m), "test"), 4)
    out["daec"] = round(_ap(ds, DecoderConfig("daec", delta=d_opt, pattern="BR"), "test"), 4)
    out["daec_default"] = round(_ap(ds, DecoderConfig("daec", pattern="BR"), "test"), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the results as JSON")
    args = ap.parse_args(argv)
    results = []
    cols = ("standard", "shifting", "dark", "dark_udp", "integral", "daec")
    print("| pipeline / flip test | DARK bias x, y (hm px) | Δ_opt | "
          + " | ".join(cols) + " | DAEC − DARK |")
    print("|---|---|---:|" + "---:|" * len(cols) + "---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, st, knobs) in enumerate(_rows()):
            t0 = time.perf_counter()
            path = build_demo(Path(tmp) / f"d{i}", seed=args.seed, n_images=args.images,
                              knobs=knobs, pipeline=st)
            r = measure(path)
            r["name"] = name
            r["seconds"] = round(time.perf_counter() - t0, 1)
            results.append(r)
            bx, by = r["bias_dark_hm"]
            print(f"| {name} | {bx:+.3f}, {by:+.3f} | {r['delta_opt']:g} | "
                  + " | ".join(f"{100 * r[c]:.1f}" for c in cols)
                  + f" | {100 * (r['daec'] - r['dark']):+.1f} |", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
