"""Speed of the two COCO keypoint evaluators on a COCO-val-sized synthetic problem.

Run:  python benchmarks/bench_coco_eval.py [--images 5000] [--persons 6000] [--repeats 3]

Builds ~6,000 GT persons with 17 keypoints spread over 5,000 images (varied sizes,
about 20 % of joints unlabelled, some persons without keypoints), and noisy predictions
(one per labelled person, plus a few false positives) with random scores, then times
``coco_keypoint_stats`` with each engine (best of ``--repeats``; the GT is loaded and
cached before timing, as in a Δ sweep) and prints seconds per evaluation and the ratio.
Also times building the results list from arrays and a cold (uncached) GT load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from daec_viz.evaluation.coco_eval import (
    clear_gt_cache,
    coco_keypoint_stats,
    load_gt,
    results_from_arrays,
)


def synthetic_problem(n_img: int, n_person: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    img_of = np.sort(rng.integers(1, n_img + 1, n_person))
    side = rng.uniform(25, 400, n_person)
    origin = rng.uniform(0, 300, (n_person, 2))
    kp = origin[:, None, :] + rng.uniform(0, 1, (n_person, 17, 2)) * side[:, None, None]
    vis = rng.choice([0, 1, 2], size=(n_person, 17), p=[0.2, 0.2, 0.6])
    vis[rng.uniform(size=n_person) < 0.05] = 0
    kp_gt = np.where(vis[..., None] > 0, kp, 0.0)
    num = (vis > 0).sum(1)
    anns = [{"id": i + 1, "image_id": int(img_of[i]), "category_id": 1, "iscrowd": 0,
             "area": float(side[i] ** 2 * 0.6),
             "bbox": [float(origin[i, 0]), float(origin[i, 1]), float(side[i]),
                      float(side[i])],
             "num_keypoints": int(num[i]),
             "keypoints": np.c_[kp_gt[i], vis[i]].ravel().tolist()}
            for i in range(n_person)]
    gt = {"images": [{"id": i, "width": 640, "height": 480} for i in range(1, n_img + 1)],
          "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
    has = num > 0
    pred = kp[has] + rng.normal(0, 1, (int(has.sum()), 17, 2)) * (0.05 * side[has, None, None])
    n_fp = n_person // 10
    fp = rng.uniform(0, 600, (n_fp, 17, 2))
    ids = np.r_[img_of[has], rng.integers(1, n_img + 1, n_fp)]
    kps = np.concatenate([pred, fp])
    scores = np.r_[rng.uniform(0.3, 1.0, int(has.sum())), rng.uniform(0, 0.5, n_fp)]
    maxvals = rng.uniform(0, 1, (len(ids), 17))
    return gt, ids, kps, maxvals, scores


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--persons", type=int, default=6000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    gt, ids, kps, maxvals, scores = synthetic_problem(a.images, a.persons)
    print(f"{a.images} images, {a.persons} GT persons, {len(ids)} predictions, 17 keypoints")

    t_build, res = best_of(lambda: results_from_arrays(ids, kps, maxvals, scores), a.repeats)
    print(f"results_from_arrays: {t_build * 1e3:.1f} ms")
    for engine in ("hotcoco", "pycocotools"):
        clear_gt_cache()
        t = time.perf_counter()
        load_gt(gt).engine_object(engine)
        print(f"GT load ({engine}, cold): {time.perf_counter() - t:.3f} s")

    times, stats = {}, {}
    for engine in ("hotcoco", "pycocotools"):
        load_gt(gt).engine_object(engine)
        times[engine], stats[engine] = best_of(
            lambda e=engine: coco_keypoint_stats(gt, res, engine=e), a.repeats)
    diff = max(abs(stats["hotcoco"][k] - stats["pycocotools"][k]) for k in stats["hotcoco"])
    print(f"AP = {stats['hotcoco']['AP']:.4f}  (max |hotcoco - pycocotools| over the "
          f"10 stats: {diff:.1e})")
    print("| engine | s / evaluation |")
    print("|---|---|")
    for engine, t in times.items():
        print(f"| {engine} | {t:.3f} |")
    print(f"pycocotools / hotcoco = {times['pycocotools'] / times['hotcoco']:.1f}x")


if __name__ == "__main__":
    main()
