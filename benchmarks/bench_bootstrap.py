"""Speed of the paired image bootstrap: is the difference between two decoders real?

Run:  python benchmarks/bench_bootstrap.py [--images 5000] [--persons 6000] [--boot 1000]

On the COCO-val-sized synthetic dataset of ``bench_sweep.py`` (built once in a temp
folder), times a two-configuration comparison (DARK vs DAEC BR at Δ = int(σ + 2)) as the
CLI and the app run it: decode both (``predict_many``), submit both (rescoring), match
each once per image (pycocotools' ``evaluate``), then ``--boot`` paired replicates of the
weighted accumulation (numba). The issue's bar is 10 s on 2 cores for 1000 replicates on
6,000 persons. Also prints the resulting interval and call.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_sweep import build

from daec_viz.decoding import DecoderConfig
from daec_viz.evaluation.bootstrap import bootstrap_stats, defined, image_matches
from daec_viz.evaluation.compare import verdict_from_replicates
from daec_viz.evaluation.predict import predict_many
from daec_viz.evaluation.scoring import submission
from daec_viz.io.datasets import load_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--persons", type=int, default=6000)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--folder", default=None, help="where to build (default: a temp dir)")
    args = ap.parse_args()
    folder = Path(args.folder or Path(tempfile.gettempdir()) / "daec-viz-bench-sweep")
    ds = load_dataset(build(folder, args.images, args.persons))
    cfgs = [DecoderConfig("dark"), DecoderConfig("daec")]
    # warm-up: numba kernels compiled / loaded from the cache outside the timing
    w = load_dataset(build(Path(tempfile.gettempdir()) / "daec-viz-bench-warm", 20, 30))
    p = predict_many(w, cfgs)
    m = [image_matches(w.coco, *submission(w, q.coords_img, q.maxvals), w.oks_sigmas)
         for q in p]
    bootstrap_stats(m, n_boot=10)

    t0 = time.perf_counter()
    preds = predict_many(ds, cfgs)
    t1 = time.perf_counter()
    matches = [image_matches(ds.coco, *submission(ds, q.coords_img, q.maxvals),
                             ds.oks_sigmas) for q in preds]
    t2 = time.perf_counter()
    point, reps = bootstrap_stats(matches, n_boot=args.boot, seed=0)
    t3 = time.perf_counter()
    reps = defined(reps)
    v = verdict_from_replicates("daec", "dark", float(point[1, 0] - point[0, 0]),
                                reps[1, :, 0] - reps[0, :, 0], len(ds),
                                int(matches[0].img_ids.size))
    print(f"dataset: {len(ds)} persons in {len(ds.image_ids)} images")
    print(f"decode both: {t1 - t0:.2f} s; per-image matching of both: {t2 - t1:.2f} s; "
          f"{args.boot} paired replicates: {t3 - t2:.2f} s; total {t3 - t0:.2f} s")
    print(v.sentence)


if __name__ == "__main__":
    main()
