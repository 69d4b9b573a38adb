"""A small synthetic dataset folder with known answers, for tests.

People are random 17-joint skeletons inside random boxes; their heatmaps are exact
Gaussians (σ = 2, heatmap px) at the GT position mapped into the heatmap with the
``dark`` convention, optionally moved by a known bias (heatmap px) and perturbed with a
known noise. With ``bias=(0, 0)`` and ``noise=0`` DARK (and DAEC at Δ = 0) recover the GT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from daec_viz.geometry import box_to_center_scale, to_heatmap
from daec_viz.io.coco_format import make_coco_annotations
from daec_viz.io.writer import HeatmapWriter

K, H, W = 17, 64, 48


def gaussian_maps(mu: np.ndarray, sigma: float = 2.0, h: int = H, w: int = W) -> np.ndarray:
    """(n, K, h, w) float32 Gaussians of peak 1 centred at mu (n, K, 2) heatmap px."""
    ys = np.arange(h, dtype=np.float64)
    xs = np.arange(w, dtype=np.float64)
    gx = np.exp(-((xs - mu[..., :1]) ** 2) / (2 * sigma ** 2))
    gy = np.exp(-((ys - mu[..., 1:]) ** 2) / (2 * sigma ** 2))
    return (gy[..., :, None] * gx[..., None, :]).astype(np.float32)


def make_dataset(folder: Path, *, n_images: int = 40, seed: int = 0,
                 bias: tuple[float, float] = (0.0, 0.0), noise: float = 0.0,
                 jitter: float = 0.0, fmt: str = "h5", splits: bool = True,
                 size: tuple[float, float] = (60.0, 200.0)) -> Path:
    """Write a dataset folder: annotations.json + heatmaps.<fmt>; returns the folder.

    ``bias``: added to every peak position (heatmap px). ``jitter``: std of a random
    per-joint displacement of the peak (heatmap px). ``noise``: std of white noise added
    to the maps. ``size``: range of box widths, image px (heights are 1.5-2x).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images, anns, boxes, img_of = [], [], [], []
    for i in range(n_images):
        img_id = 1000 + i
        images.append({"id": img_id, "file_name": f"{img_id}.jpg", "width": 640,
                       "height": 480, "split": "train" if i % 2 == 0 else "test"})
        for _ in range(rng.integers(1, 3)):
            w = rng.uniform(*size)
            h = w * rng.uniform(1.5, 2.0)
            x0, y0 = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            kp = np.column_stack([rng.uniform(x0, x0 + w, K), rng.uniform(y0, y0 + h, K),
                                  np.full(K, 2.0)])
            anns.append({"image_id": img_id, "keypoints": kp, "bbox": [x0, y0, w, h],
                         "area": w * h * 0.6})
            boxes.append([x0, y0, w, h])
            img_of.append(i)
    coco = make_coco_annotations(images, anns)
    import json
    (folder / "annotations.json").write_text(json.dumps(coco))
    boxes_a = np.array(boxes)
    center, scale = box_to_center_scale(boxes_a)
    gt = np.array([a["keypoints"] for a in coco["annotations"]], dtype=np.float64).reshape(-1, K, 3)
    gt_hm = to_heatmap(gt[..., :2], center, scale, (W, H), "dark")
    mu = gt_hm + np.asarray(bias) + rng.normal(0, jitter, gt_hm.shape) * (jitter > 0)
    hm = gaussian_maps(mu)
    if noise:
        hm += rng.normal(0, noise, hm.shape).astype(np.float32)
    n = len(anns)
    with HeatmapWriter(folder / f"heatmaps.{fmt}", input_size=(192, 256), sigma=2.0,
                       convention="dark", model="synthetic-test",
                       provenance={"bias": list(bias), "noise": noise, "jitter": jitter,
                                   "seed": seed}) as wr:
        wr.add(hm, image_ids=[a["image_id"] for a in coco["annotations"]], centers=center,
               scales=scale, ann_ids=[a["id"] for a in coco["annotations"]],
               splits=[images[i]["split"] for i in img_of] if splits else None,
               bboxes=boxes_a, scores=np.ones(n))
    return folder


def detector_copy(ds, folder: Path, score: float = 0.9) -> Path:
    """Write ``ds``'s instances again as detector boxes (``ann_id = -1``, box score
    ``score``) plus a duplicate of instance 0 shifted 500 image px away with score 0.1
    (which no GT person can match), into ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "annotations.json").write_text(ds.annotations_path.read_text())
    inst = ds.instances
    n = len(ds)
    hm = ds.heatmaps[0:n]
    centers = inst[["center_x", "center_y"]].to_numpy()
    scales = inst[["scale_x", "scale_y"]].to_numpy()
    with HeatmapWriter(folder / "heatmaps.h5", input_size=ds.meta.input_size,
                       sigma=ds.meta.sigma, convention=ds.meta.convention,
                       model="copy", simulated=True) as w:
        w.add(hm, image_ids=inst["image_id"].to_numpy(), centers=centers, scales=scales,
              scores=np.full(n, score))
        w.add(hm[:1], image_ids=inst["image_id"].to_numpy()[:1],
              centers=centers[:1] + [500.0, 500.0], scales=scales[:1], scores=[0.1])
    return folder


def noisy_maps(seed: int, n: int = 6, k: int = 5, h: int = 64, w: int = 48) -> np.ndarray:
    """(n, k, h, w) float32 Gaussian peaks (σ 1.5-3, amplitude 0.05-1) with white noise of
    std 0.03: a trained network's look, for the decoder tests."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform([3, 3], [w - 4, h - 4], size=(n, k, 2))
    sig = rng.uniform(1.5, 3.0, size=(n, k))
    yy, xx = np.mgrid[0:h, 0:w]
    hm = np.exp(-((xx - mu[..., 0, None, None]) ** 2 + (yy - mu[..., 1, None, None]) ** 2)
                / (2 * sig[..., None, None] ** 2))
    hm *= rng.uniform(0.05, 1.0, size=(n, k, 1, 1))
    hm += rng.normal(0, 0.03, size=hm.shape)
    return hm.astype(np.float32)
