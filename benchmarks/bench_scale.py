"""Full COCO val on one machine: build a COCO-val-sized cache, sweep it, analyse it, open it.

Run:  python benchmarks/bench_scale.py [--folder /tmp/daec-viz-scale] [--clean]
      python benchmarks/bench_scale.py --instances 20000 --images 1000   # a smaller run

Steps, each in its own subprocess (``resource.getrusage`` of that process gives its peak
resident memory, so one step's memory does not hide another's):

``build``
    Writes ``FOLDER/coco-val-scale/`` with :class:`~daec_viz.io.writer.HeatmapWriter`:
    ``--images`` images (default 5,000), about 1.27 labelled people per image (COCO
    val2017 has 6,352), and ``--instances`` detector boxes (default 104,000, as HRNet's
    ``COCO_val2017_detections_AP_H_56_person.json``): one to three jittered boxes with a
    high score around each person, the rest false positives with low scores. Heatmaps are
    17×64×48 float16 from the project's simulated network
    (:func:`~daec_viz.synthetic.simulate.simulate_heatmaps`, vectorised in batches of
    500 instances; false positives get weak unlabelled peaks), in the ``hrnet``
    convention; no split (as COCO val). About 11 GB. Skipped when the folder exists.
``sweep``
    :func:`~daec_viz.evaluation.sweep.run_sweep` with its default configurations
    (DAEC over Δ = −2…σ+6 step 0.5 × 4 patterns × smoothing off/on, plus every baseline),
    the result cache off.
``errors``
    :func:`~daec_viz.analysis.pipeline.analyse_errors` with its defaults (every decoder,
    taxonomy and the corrected-AP table).
``app``
    Streamlit's ``AppTest`` on ``app.py`` with ``DAEC_VIZ_DATASET=FOLDER``: the first
    run (Explore), the AP-vs-Δ page's first run (its sweep, in a fresh result cache),
    then one interaction there (a Δ step on the sidebar slider), each timed until the
    script run ends (AppTest has no browser: rendering is not included).
``cluster`` (not run by default; use it on a mid-size cache)
    The default sweep decoded in this process, then on a Dask ``LocalCluster`` of
    ``--workers`` processes (one thread each) on 127.0.0.1
    (:func:`~daec_viz.evaluation.distributed.cluster_decoder`); the two tables must be
    equal. Reports both sweep times and the decoding step's alone.
``naive``
    The naive way for scale: the published per-map decoders
    (:mod:`daec_viz.decoding.reference`) over ``--naive-sample`` instances for a few
    representative configurations, extrapolated to every instance and every
    configuration of the default sweep (per-configuration cost by method; pycocotools
    per configuration timed on the whole dataset once).

Prints one markdown table (seconds and peak RSS per step; targets: sweep ≤ 120 s, every
step ≤ 1.5 GB) and writes it as JSON next to the data (``FOLDER/bench_scale.json``).
``--clean`` removes the built folder at the end. Timings depend on the machine's load:
report them with that caveat.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
K, H, W = 17, 64, 48
STEPS = ("build", "sweep", "errors", "app", "naive", "cluster")
DEFAULT_STEPS = ("build", "sweep", "errors", "app", "naive")
SWEEP_TARGET_S = 120.0
MEMORY_TARGET_MB = 1536.0


def _peak_rss_mb() -> float:
    """This process's peak resident set size, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------ build

def build(folder: Path, n_images: int, n_instances: int, seed: int = 0,
          batch: int = 500) -> dict:
    """Write the COCO-val-sized dataset folder (annotations.json + heatmaps.h5)."""
    from tqdm import tqdm

    from daec_viz.geometry import box_to_center_scale, to_heatmap
    from daec_viz.io.coco_format import make_coco_annotations
    from daec_viz.io.writer import HeatmapWriter
    from daec_viz.synthetic.simulate import (
        CONVENTION,
        HEATMAP_SIZE,
        INPUT_SIZE,
        NetworkKnobs,
        simulate_heatmaps,
    )

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    img_w, img_h = 640, 480
    # people: ~1.27 per image (COCO val2017: 6,352 with keypoints in 5,000 images)
    n_people = int(round(1.27 * n_images))
    person_img = np.sort(rng.integers(0, n_images, n_people))
    pw = rng.uniform(40, 260, n_people)
    ph = np.minimum(pw * rng.uniform(1.6, 2.6, n_people), img_h - 10)
    px, py = rng.uniform(0, img_w - pw), rng.uniform(0, img_h - ph)
    # a standing pose template in box units (x, y in [0, 1]), jittered per person
    template = np.array([[.5, .08], [.54, .05], [.46, .05], [.6, .07], [.4, .07],
                         [.68, .22], [.32, .22], [.76, .38], [.24, .38], [.8, .52],
                         [.2, .52], [.62, .55], [.38, .55], [.64, .75], [.36, .75],
                         [.65, .95], [.35, .95]])
    rel = np.clip(template + rng.normal(0, 0.04, (n_people, K, 2)), 0.01, 0.99)
    kp_img = np.stack([px[:, None] + rel[..., 0] * pw[:, None],
                       py[:, None] + rel[..., 1] * ph[:, None]], axis=-1)
    vis = rng.choice([0, 1, 2], size=(n_people, K), p=[0.15, 0.1, 0.75])
    images = [{"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": img_w,
               "height": img_h} for i in range(n_images)]
    anns = [{"image_id": int(person_img[i]) + 1,
             "keypoints": np.concatenate([kp_img[i], vis[i][:, None]], axis=1),
             "bbox": [float(px[i]), float(py[i]), float(pw[i]), float(ph[i])],
             "area": float(pw[i] * ph[i] * 0.55)} for i in range(n_people)]
    coco = make_coco_annotations(images, anns)
    with open(folder / "annotations.json", "w", encoding="utf-8") as fh:
        json.dump(coco, fh, separators=(",", ":"))

    # detector boxes: 1-3 true positives per person, the rest false positives
    n_tp = min(n_instances, int(n_people * 2))
    tp_person = np.sort(rng.integers(0, n_people, n_tp))
    n_fp = n_instances - n_tp
    fp_img = rng.integers(0, n_images, n_fp)
    fw = rng.uniform(20, 200, n_fp)
    fh_ = np.minimum(fw * rng.uniform(1.0, 2.5, n_fp), img_h - 10)
    fx, fy = rng.uniform(0, img_w - fw), rng.uniform(0, img_h - fh_)
    jit = rng.normal(0, 0.06, (n_tp, 4))
    tb = np.stack([px[tp_person] + jit[:, 0] * pw[tp_person],
                   py[tp_person] + jit[:, 1] * ph[tp_person],
                   pw[tp_person] * (1 + jit[:, 2]), ph[tp_person] * (1 + jit[:, 3])], -1)
    boxes = np.concatenate([tb, np.stack([fx, fy, fw, fh_], -1)])
    img_of = np.concatenate([person_img[tp_person], fp_img]) + 1
    det = np.concatenate([rng.uniform(0.6, 1.0, n_tp), rng.beta(1.2, 6.0, n_fp)])
    is_tp = np.arange(n_instances) < n_tp
    order = np.lexsort((-det, img_of))  # by image, then score, as detector files are
    boxes, img_of, det, is_tp = boxes[order], img_of[order], det[order], is_tp[order]
    src = np.where(is_tp, np.concatenate([tp_person, np.zeros(n_fp, int)])[order], -1)
    center, scale = box_to_center_scale(boxes, aspect_ratio=INPUT_SIZE[0] / INPUT_SIZE[1])
    knobs = NetworkKnobs()
    writer = HeatmapWriter(folder / "heatmaps.h5", input_size=INPUT_SIZE, sigma=2.0,
                           convention=CONVENTION, model="bench-scale-simulated",
                           simulated=True, dtype="float16",
                           provenance={"benchmark": "bench_scale", "seed": seed})
    with writer as wr:
        for s in tqdm(range(0, n_instances, batch), desc="build", unit_scale=batch):
            e = min(n_instances, s + batch)
            tp, who = is_tp[s:e], src[s:e]
            kp_i = np.where(tp[:, None, None], kp_img[np.maximum(who, 0)],
                            rng.uniform([0, 0], [img_w, img_h], (e - s, K, 2)))
            kp_hm = to_heatmap(kp_i, center[s:e], scale[s:e], HEATMAP_SIZE, CONVENTION)
            v = np.where(tp[:, None], np.maximum(vis[np.maximum(who, 0)], 1), 0)
            hm = simulate_heatmaps(kp_hm, v, knobs, rng)
            wr.add(hm.astype(np.float16), image_ids=img_of[s:e], centers=center[s:e],
                   scales=scale[s:e], scores=det[s:e], bboxes=boxes[s:e])
    size = (folder / "heatmaps.h5").stat().st_size
    return {"instances": n_instances, "images": n_images, "people": n_people,
            "cache_gb": size / 1e9}


# ------------------------------------------------------------------------------ steps

def step_sweep(folder: Path, cache_dir: Path) -> dict:
    from daec_viz.evaluation.sweep import default_configs, run_sweep
    from daec_viz.io.datasets import load_dataset
    ds = load_dataset(folder)
    configs = default_configs(float(ds.meta.sigma))
    t0 = time.perf_counter()
    df = run_sweep(ds, configs, use_cache=False, cache_dir=cache_dir)
    dt = time.perf_counter() - t0
    br = df[(df.method == "daec") & (df.pattern == "BR") & (~df.smooth.astype(bool))]
    return {"seconds": dt, "configs": len(configs), "rows": len(df),
            "best_BR_delta": float(br.loc[br.AP.idxmax(), "delta"]),
            "best_BR_AP": float(br.AP.max())}


def step_errors(folder: Path, cache_dir: Path) -> dict:
    from daec_viz.analysis.pipeline import analyse_errors
    from daec_viz.io.datasets import load_dataset
    ds = load_dataset(folder)
    t0 = time.perf_counter()
    ea = analyse_errors(ds)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "methods": list(ea.methods)}


def step_app(folder: Path, cache_dir: Path) -> dict:
    """The app in Streamlit's AppTest: first run (Explore), the AP-vs-Δ page's first run
    (its sweep, result cache empty), then one Δ step on the sidebar slider there."""
    from streamlit.testing.v1 import AppTest
    os.environ["DAEC_VIZ_DATASET"] = str(folder)
    os.environ["DAEC_VIZ_CACHE"] = str(cache_dir)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=3600)

    def timed(fn: Any) -> float:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if at.exception:
            raise RuntimeError(f"the app failed: {at.exception[0].message}")
        return dt

    first = timed(at.run)
    sweep = timed(lambda: at.switch_page("daec_viz_app/pages/ap_vs_delta.py").run())
    slider = at.sidebar.slider(key="delta")
    value = float(slider.value)
    target = value + (slider.step or 0.5) if value + (slider.step or 0.5) <= slider.max \
        else value - (slider.step or 0.5)
    step = timed(lambda: at.sidebar.slider(key="delta").set_value(target).run())
    return {"seconds": first + sweep, "explore_first_s": first, "first_sweep_s": sweep,
            "interaction_s": step, "interaction": f"Δ {value:g} -> {target:g}"}


def step_naive(folder: Path, cache_dir: Path, sample: int = 2000) -> dict:
    """The published per-map loops on ``sample`` instances, extrapolated."""
    from daec_viz.decoding import gaussian_blur
    from daec_viz.decoding.reference import REFERENCE_DECODERS
    from daec_viz.evaluation.scoring import score_predictions
    from daec_viz.evaluation.sweep import default_configs, sweep_config
    from daec_viz.io.datasets import load_dataset
    ds = load_dataset(folder)
    n = len(ds)
    rows = np.arange(min(sample, n))
    hm = ds.heatmaps[rows].astype(np.float32)
    per_map: dict[tuple[str, bool], float] = {}
    reps = [sweep_config("standard"), sweep_config("shifting"), sweep_config("dark", True),
            sweep_config("daec", False, "BR", 4.0), sweep_config("daec", True, "BR", 3.0)]
    for cfg in reps:
        fn = REFERENCE_DECODERS[cfg.method]
        kw = ({"delta": 4} if not cfg.smooth else {"delta": 3}) if cfg.method == "daec" \
            else ({"kernel": 11} if cfg.method == "dark" else {})
        t0 = time.perf_counter()
        maps = gaussian_blur(hm, 11) if (cfg.smooth and cfg.method != "dark") else hm
        for i in range(len(rows)):
            for j in range(K):
                fn(maps[i, j], **kw)
        per_map[(cfg.method, cfg.smooth)] = (time.perf_counter() - t0) / len(rows)
    # one pycocotools evaluation on every instance (the naive loop does one per config)
    coords = ds.to_image(np.full((n, K, 2), 20.0))
    t0 = time.perf_counter()
    score_predictions(ds, coords, np.full((n, K), 0.5), engine="pycocotools")
    eval_s = time.perf_counter() - t0
    configs = default_configs(float(ds.meta.sigma))
    total = 0.0
    for c in configs:
        key = (c.method, c.smooth) if (c.method, c.smooth) in per_map else next(
            (k for k in per_map if k[0] == c.method), ("daec", c.smooth))
        total += per_map[key] * n + eval_s
    return {"seconds": total, "estimated": True, "sample": int(len(rows)),
            "per_instance_us": {f"{m}{' +smooth' if s else ''}": v * 1e6
                                for (m, s), v in per_map.items()},
            "pycocotools_eval_s": eval_s, "configs": len(configs)}


def step_cluster(folder: Path, cache_dir: Path, workers: int = 2) -> dict:
    """The default sweep decoded here, then on a LocalCluster of ``workers`` processes
    (one thread each) on 127.0.0.1; both tables must be equal."""
    import pandas as pd
    from distributed import Client, LocalCluster

    from daec_viz.evaluation.distributed import cluster_decoder
    from daec_viz.evaluation.sweep import default_configs, run_sweep
    from daec_viz.io.datasets import load_dataset
    ds = load_dataset(folder)
    configs = default_configs(float(ds.meta.sigma))
    timings: dict[str, float] = {}

    def timed_decode(decoder: Any, label: str) -> Any:
        def wrapped(*a: Any) -> None:
            t0 = time.perf_counter()
            decoder(*a)
            timings[label] = time.perf_counter() - t0
        return wrapped

    from daec_viz.evaluation.sweep import decode_locally
    t0 = time.perf_counter()
    here = run_sweep(ds, configs, use_cache=False,
                     decoder=timed_decode(decode_locally, "decode_here"))
    t_here = time.perf_counter() - t0
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("daec_viz.evaluation.distributed"))  # warm imports
        t0 = time.perf_counter()
        there = run_sweep(ds, configs, use_cache=False, decoder=timed_decode(
            cluster_decoder(client), "decode_cluster"))
        t_there = time.perf_counter() - t0
    pd.testing.assert_frame_equal(here, there)
    return {"seconds": t_there, "sweep_here_s": t_here, "sweep_cluster_s": t_there,
            "speedup": t_here / t_there, "workers": workers, **timings,
            "decode_speedup": timings["decode_here"] / timings["decode_cluster"],
            "configs": len(configs), "instances": len(ds)}


def run_step(name: str, folder: Path, cache_dir: Path, args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    if name == "build":
        out = build(folder, args.images, args.instances, seed=args.seed)
        out["seconds"] = time.perf_counter() - t0
    elif name == "naive":
        out = step_naive(folder, cache_dir, args.naive_sample)
    elif name == "cluster":
        out = step_cluster(folder, cache_dir, args.workers)
    else:
        out = {"sweep": step_sweep, "errors": step_errors, "app": step_app}[name](
            folder, cache_dir)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


# ------------------------------------------------------------------------------ main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "daec-viz-scale"),
                    help="where the dataset is built (default: $TMPDIR/daec-viz-scale)")
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--instances", type=int, default=104_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", nargs="+", choices=STEPS, default=list(DEFAULT_STEPS))
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers (cluster)")
    ap.add_argument("--naive-sample", type=int, default=2000,
                    help="instances the per-map loops are timed on (then extrapolated)")
    ap.add_argument("--clean", action="store_true", help="remove the folder at the end")
    ap.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # child process
    args = ap.parse_args()
    root = Path(args.folder)
    folder = root / "coco-val-scale"
    cache_dir = root / "sweep-cache"
    if args.step:  # the child: one step, one JSON line on stdout
        out = run_step(args.step, folder, cache_dir, args)
        print("RESULT " + json.dumps(out), flush=True)
        return
    results: dict[str, dict] = {}
    try:
        for name in args.steps:
            if name == "build" and (folder / "heatmaps.h5").exists():
                print(f"build: {folder} exists, skipped", flush=True)
                continue
            if name != "build" and cache_dir.exists():
                shutil.rmtree(cache_dir)
            cmd = [sys.executable, __file__, "--step", name, "--folder", str(root),
                   "--images", str(args.images), "--instances", str(args.instances),
                   "--seed", str(args.seed), "--naive-sample", str(args.naive_sample),
                   "--workers", str(args.workers)]
            print(f"{name} ...", flush=True)
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")),
                        None)
            if proc.returncode or line is None:
                print(proc.stdout)
                raise SystemExit(f"step {name} failed (exit {proc.returncode})")
            results[name] = json.loads(line[len("RESULT "):])
            r = results[name]
            print(f"{name}: {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MiB",
                  flush=True)
        if results:
            root.mkdir(parents=True, exist_ok=True)
            (root / "bench_scale.json").write_text(json.dumps(results, indent=1))
        print(f"\n{args.instances} instances in {args.images} images, 17x64x48 float16, "
              f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")
        print("| step | seconds | peak RSS (MiB) | target |")
        print("|---|---:|---:|---|")
        for name, r in results.items():
            target = {"sweep": f"≤ {SWEEP_TARGET_S:.0f} s"}.get(name, "")
            if name == "naive":
                secs = f"{r['seconds']:.0f} (extrapolated: {r['seconds'] / 3600:.1f} h)"
            else:
                secs = f"{r['seconds']:.1f}"
            if name == "cluster":
                secs += (f" (here {r['sweep_here_s']:.1f} s: ×{r['speedup']:.2f}; decoding "
                         f"alone {r['decode_here']:.1f} -> {r['decode_cluster']:.1f} s: "
                         f"×{r['decode_speedup']:.2f}, {r['workers']} workers)")
            if name == "app":
                secs += (f" (Explore {r['explore_first_s']:.1f} s, AP vs Δ with its sweep "
                         f"{r['first_sweep_s']:.1f} s; then a Δ step {r['interaction_s']:.2f} s)")
            mem = f"{r['peak_rss_mb']:.0f}"
            print(f"| {name} | {secs} | {mem} | {target}{', ' if target else ''}"
                  f"≤ {MEMORY_TARGET_MB:.0f} MiB |")
    finally:
        if args.clean and root.exists():
            shutil.rmtree(root)
            print(f"removed {root}")


if __name__ == "__main__":
    main()
