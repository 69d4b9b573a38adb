"""Full default Δ sweep on a COCO-val-sized dataset, against the naive loop.

Run:  python benchmarks/bench_sweep.py [--images 5000] [--persons 6000] [--naive-configs 5]

Builds (once, in a temp folder) a synthetic dataset the size of COCO val2017 with GT
boxes: ``--images`` images, ``--persons`` people, 17×64×48 float16 heatmaps (Gaussian
peaks at the GT with a bottom-right bias, jitter and noise), split train/test by image.
Then times:

* the full default sweep of :func:`daec_viz.evaluation.sweep.run_sweep` (DAEC over Δ = −2…σ+6 in
  steps of 0.5 × 4 patterns × smoothing off/on, plus every other decoder
  (:data:`daec_viz.evaluation.sweep.BASELINES`: standard/shifting/DARK/DARK-UDP with and
  without smoothing, gauss3, integral, integral_debiased); every configuration scored on
  both splits with hotcoco), cache off;
* the naive loop: for each configuration, the published per-map decoders
  (:mod:`daec_viz.decoding.reference`) over every instance and a pycocotools evaluation
  per split. It is timed on ``--naive-configs`` representative configurations (default:
  one per decoder and smoothing the sweep uses) and
  extrapolated to the full grid by method (per-configuration cost × count), since
  running it whole takes tens of minutes.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from daec_viz.decoding import DecoderConfig, gaussian_blur
from daec_viz.decoding.reference import REFERENCE_DECODERS
from daec_viz.evaluation.coco_eval import coco_keypoint_stats, instance_scores, results_from_arrays
from daec_viz.evaluation.predict import resolve_config
from daec_viz.evaluation.sweep import (
    BASELINES,
    blurs_itself,
    default_configs,
    run_sweep,
    sweep_config,
)
from daec_viz.geometry import box_to_center_scale, to_heatmap
from daec_viz.io.coco_format import make_coco_annotations
from daec_viz.io.datasets import load_dataset
from daec_viz.io.writer import HeatmapWriter

K, H, W = 17, 64, 48


def build(folder: Path, n_images: int, n_persons: int, seed: int = 0) -> Path:
    """Write the synthetic COCO-val-sized dataset folder (skipped when present)."""
    if (folder / "heatmaps.h5").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    img_of = np.sort(np.concatenate([np.arange(n_images),
                                     rng.integers(0, n_images, n_persons - n_images)]))
    images = [{"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "width": 640, "height": 480,
               "split": "train" if i % 2 == 0 else "test"} for i in range(n_images)]
    w = rng.uniform(30, 250, n_persons)
    h = w * rng.uniform(1.5, 2.5, n_persons)
    x0, y0 = rng.uniform(0, 640 - w), rng.uniform(0, 480 - np.minimum(h, 470))
    kp = np.stack([x0[:, None] + rng.uniform(0, 1, (n_persons, K)) * w[:, None],
                   y0[:, None] + rng.uniform(0, 1, (n_persons, K)) * h[:, None],
                   np.where(rng.uniform(size=(n_persons, K)) < 0.85, 2.0, 0.0)], axis=-1)
    boxes = np.stack([x0, y0, w, h], axis=-1)
    anns = [{"image_id": int(img_of[i]) + 1, "keypoints": kp[i], "bbox": boxes[i].tolist(),
             "area": float(w[i] * h[i] * 0.55)} for i in range(n_persons)]
    coco = make_coco_annotations(images, anns)
    (folder / "annotations.json").write_text(json.dumps(coco))
    center, scale = box_to_center_scale(boxes)
    mu = to_heatmap(kp[..., :2], center, scale, (W, H), "dark")
    mu += np.array([0.5, 0.5]) + rng.normal(0, 0.8, mu.shape)
    ys, xs = np.arange(H, dtype=np.float32), np.arange(W, dtype=np.float32)
    with HeatmapWriter(folder / "heatmaps.h5", input_size=(192, 256), sigma=2.0,
                       convention="dark", model="bench-synthetic", dtype="float16") as wr:
        for s in tqdm(range(0, n_persons, 500), desc="building", leave=False):
            e = min(n_persons, s + 500)
            m = mu[s:e].astype(np.float32)
            g = (np.exp(-((ys - m[..., 1:]) ** 2) / 8.0)[..., :, None]
                 * np.exp(-((xs - m[..., :1]) ** 2) / 8.0)[..., None, :])
            g *= rng.uniform(0.3, 1.0, (e - s, K, 1, 1)).astype(np.float32)
            g += rng.normal(0, 0.02, g.shape).astype(np.float32)
            wr.add(g, image_ids=img_of[s:e] + 1, centers=center[s:e], scales=scale[s:e],
                   ann_ids=np.arange(s, e) + 1,
                   splits=[images[i]["split"] for i in img_of[s:e]])
    return folder


def naive_config(ds, cfg: DecoderConfig, splits: list[str], blur: int = 11) -> float:
    """Seconds for one configuration the naive way (per-map loops + pycocotools)."""
    t0 = time.perf_counter()
    n = len(ds)
    coords = np.zeros((n, K, 2))
    maxv = np.zeros((n, K))
    fn = REFERENCE_DECODERS[cfg.method]
    cfg = resolve_config(ds, cfg)
    kwargs = {"delta": int(cfg.delta[0])} if cfg.method == "daec" else {}
    if blurs_itself(cfg.method):  # DARK, DARK-UDP: their own blur (kernel 1 = raw map)
        kwargs = {"kernel": blur if cfg.smooth else 1}
    if cfg.beta is not None:  # the integral decoders
        kwargs = {"beta": cfg.beta}
    for rows, hm in ds.iter_slices(batch=256):
        hm = hm.astype(np.float32)
        if cfg.smooth and not blurs_itself(cfg.method):
            hm = gaussian_blur(hm, blur)
        for i, r in enumerate(rows):
            for j in range(K):
                x, y, mv = fn(hm[i, j], **kwargs)
                coords[r, j] = x, y
                maxv[r, j] = mv
    img = ds.to_image(coords)
    inst = ds.instances
    scores = instance_scores(inst["score"].to_numpy(), maxv)
    ids = inst["image_id"].to_numpy()
    for s in splits:
        sel = np.flatnonzero(inst["split"].to_numpy() == s)
        res = results_from_arrays(ids[sel], img[sel], maxv[sel], scores[sel])
        coco_keypoint_stats(ds.coco, res, engine="pycocotools",
                            img_ids=np.unique(ids[sel]).tolist())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--persons", type=int, default=6000)
    ap.add_argument("--folder", default=None, help="where to build (default: a temp dir)")
    ap.add_argument("--naive-configs", type=int, default=None,
                    help="configurations timed the naive way (default: all of the sample, "
                         "one per decoder and smoothing; 0 skips it)")
    args = ap.parse_args()
    folder = Path(args.folder or Path(tempfile.gettempdir()) / "daec-viz-bench-sweep")
    ds = load_dataset(build(folder, args.images, args.persons))
    configs = default_configs(2.0)
    splits = ds.splits
    bar = tqdm(total=1000, desc="sweep", leave=False)
    t0 = time.perf_counter()
    df = run_sweep(ds, configs, use_cache=False,
                   progress=lambda f, _l: bar.update(int(f * 1000) - bar.n))
    fast = time.perf_counter() - t0
    bar.close()
    print(f"dataset: {len(ds)} instances in {len(ds.image_ids)} images, float16 17x64x48, "
          f"splits {splits}")
    print(f"full default sweep: {len(configs)} configurations x {len(splits)} splits = "
          f"{len(df)} evaluations in {fast:.1f} s ({fast / len(configs) * 1000:.0f} ms per "
          f"configuration)")
    br = df[(df.method == "daec") & (df.pattern == "BR") & (~df.smooth) & (df.split == "train")]
    print(f"Δ_opt (BR, raw, train) = {br.loc[br.AP.idxmax(), 'delta']:g}")
    if args.naive_configs is not None and args.naive_configs <= 0:
        return
    # one configuration per decoder (and per smoothing DAEC and the DARKs are swept with)
    sample = [sweep_config("daec", False, "BR", 4.0), sweep_config("daec", True, "BR", 3.0)]
    sample += [sweep_config(m, s) for m in BASELINES
               for s in ((False, True) if blurs_itself(m) else (False,))]
    sample = sample[:args.naive_configs]
    per = {}
    for cfg in tqdm(sample, desc="naive", leave=False):
        per[(cfg.method, cfg.smooth)] = naive_config(ds, cfg, splits)
    est = 0.0
    for c in configs:  # extrapolate: same cost per method (and smoothing) as the sample
        key = (c.method, c.smooth) if (c.method, c.smooth) in per else next(
            (k for k in per if k[0] == c.method), next(iter(per)))
        est += per[key]
    print("naive per-configuration seconds (measured): "
          + ", ".join(f"{m}{' +smooth' if s else ''} {t:.1f}" for (m, s), t in per.items()))
    print(f"naive loop, full grid (extrapolated from those): {est:.0f} s = {est / 60:.1f} min")
    print(f"ratio naive / daec-viz: {est / fast:.0f}x")


if __name__ == "__main__":
    main()
