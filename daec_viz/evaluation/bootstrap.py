"""Is the difference real? A paired bootstrap over images for the 10 COCO keypoint stats.

COCOeval works in two steps: ``evaluate`` matches detections to ground truth *per image*
(OKS, 10 thresholds, 3 area ranges, 20 detections per image), and ``accumulate`` sorts
all detections by score and turns the matches into precision/recall curves. Resampling
images with replacement changes only the second step: an image drawn ``w`` times adds
``w`` times its matches and its ground-truth count. So the matching is computed once per
decoder configuration (pycocotools' own ``evaluate``) and every bootstrap replicate
re-runs only the accumulation, with image weights, in a compiled kernel.

That weighted accumulation equals pycocotools on the resampled image set (images copied
``w`` times under new ids) whenever no two detections of different images share a score
(true for rescored continuous scores): the ``w`` copies of a detection are adjacent in the
score order, and COCO's interpolated precision at any recall threshold is the same
whether they enter one by one or at once (``tests/test_bootstrap.py`` checks this
against a direct resample-and-re-evaluate loop).

*Paired*: every configuration is resampled with the same image draws, so the interval
of a difference reflects how the two decoders differ on the same people, not how hard
the people are.

Intervals are percentile intervals of the replicates (default 95 %, 1000 replicates,
seeded). A replicate whose stat is undefined (no ground truth in its area range: -1 in
pycocotools) is left out of that stat's interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np

from daec_viz.evaluation.coco_eval import STAT_NAMES, load_gt, pycocotools_evaluated
from daec_viz.exceptions import InputError

__all__ = ["ImageMatches", "image_matches", "bootstrap_weights", "bootstrap_stats",
           "percentile_interval", "accumulate_stats", "defined"]

_AREAS = ("all", "medium", "large")
# the stat -> (area index, threshold index or -1 for every threshold, AP or AR) of
# pycocotools' summarize() for keypoints
_STAT_SPEC: dict[str, tuple[int, int, bool]] = {
    "AP": (0, -1, True), "AP50": (0, 0, True), "AP75": (0, 5, True),
    "APM": (1, -1, True), "APL": (2, -1, True),
    "AR": (0, -1, False), "AR50": (0, 0, False), "AR75": (0, 5, False),
    "ARM": (1, -1, False), "ARL": (2, -1, False),
}
_REC_THRS = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class ImageMatches:
    """Per-image COCOeval matches of one configuration, ready for weighted accumulation.

    Attributes
    ----------
    img_ids : (I,) the evaluated images (COCOeval's order).
    det_image : per area range, (D,) image index (into ``img_ids``) of each detection,
        detections in COCOeval's accumulation order (score descending, stable).
    tp, fp : per area range, (T, D) uint8: detection ``d`` is a true / false positive at
        OKS threshold ``t`` (ignored detections are neither).
    gt_count : per area range, (I,) number of non-ignored GT persons per image.
    """

    img_ids: np.ndarray
    det_image: tuple[np.ndarray, ...]
    tp: tuple[np.ndarray, ...]
    fp: tuple[np.ndarray, ...]
    gt_count: tuple[np.ndarray, ...]


def image_matches(gt: Any, results: list[dict], img_ids: Sequence[int],
                  sigmas: np.ndarray) -> ImageMatches:
    """Run pycocotools' per-image matching once and keep what accumulation reads.

    Parameters
    ----------
    gt : the COCO ground truth (path, dict or COCO object).
    results : COCO keypoint results (image px), e.g. from
        :func:`daec_viz.evaluation.scoring.submission`.
    img_ids : the images to evaluate (the resampling units).
    sigmas : (K,) OKS sigmas.
    """
    ids = sorted({int(i) for i in img_ids})
    if not ids:
        raise InputError("expected at least one image to evaluate", field="img_ids")
    ev = pycocotools_evaluated(load_gt(gt), results, ids, np.asarray(sigmas, np.float64))
    p = ev.params
    n_img, n_area, max_det = len(p.imgIds), len(p.areaRng), p.maxDets[-1]
    index = {int(i): j for j, i in enumerate(p.imgIds)}
    det_image, tps, fps, counts = [], [], [], []
    for a in range(n_area):
        evs = [ev.evalImgs[a * n_img + i] for i in range(n_img)]  # one category
        score, img, dtm, dtig = [], [], [], []
        gt_count = np.zeros(n_img, dtype=np.int64)
        for i, e in enumerate(evs):
            if e is None:
                continue
            gt_count[i] = int(np.count_nonzero(np.asarray(e["gtIgnore"]) == 0))
            s = np.asarray(e["dtScores"][:max_det], dtype=np.float64)
            score.append(s)
            img.append(np.full(s.size, index[int(e["image_id"])], dtype=np.int64))
            dtm.append(np.asarray(e["dtMatches"])[:, :max_det])
            dtig.append(np.asarray(e["dtIgnore"])[:, :max_det])
        t_n = len(p.iouThrs)
        if score:
            sc = np.concatenate(score)
            order = np.argsort(-sc, kind="mergesort")  # COCOeval's order
            m = np.concatenate(dtm, axis=1)[:, order] != 0
            ig = np.concatenate(dtig, axis=1)[:, order].astype(bool)
            im = np.concatenate(img)[order]
        else:
            m = ig = np.zeros((t_n, 0), dtype=bool)
            im = np.zeros(0, dtype=np.int64)
        det_image.append(np.ascontiguousarray(im))
        tps.append(np.ascontiguousarray(m & ~ig, dtype=np.uint8))
        fps.append(np.ascontiguousarray(~m & ~ig, dtype=np.uint8))
        counts.append(gt_count)
    if n_area != len(_AREAS):
        raise InputError(f"expected COCO keypoints' {len(_AREAS)} area ranges, got {n_area}",
                         field="areaRng")
    return ImageMatches(np.asarray(p.imgIds, dtype=np.int64), tuple(det_image), tuple(tps),
                        tuple(fps), tuple(counts))


def bootstrap_weights(n_images: int, n_boot: int = 1000, seed: int | None = 0) -> np.ndarray:
    """(B, I) float64 multiplicities of ``n_boot`` resamples of ``n_images`` images drawn
    with replacement (row ``b`` is replicate ``b``; each row sums to ``n_images``).

    >>> w = bootstrap_weights(5, 3, seed=1)
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 5), [5.0, 5.0, 5.0])
    """
    if n_images < 1 or n_boot < 1:
        raise InputError(f"expected >= 1 image and >= 1 replicate, got {n_images}, {n_boot}",
                         field="n_boot")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_images, size=(n_boot, n_images))
    w = np.zeros((n_boot, n_images))
    np.add.at(w, (np.repeat(np.arange(n_boot), n_images), draws.ravel()), 1.0)
    return w


@nb.njit(cache=True, parallel=True, nogil=True)
def _accumulate(weights, det_image, tp, fp, gt_count, rec_thrs, prec_out, rec_out):
    # For each replicate b and threshold t: weighted cumulative TP/FP in score order,
    # pycocotools' precision envelope, precision at the 101 recall thresholds, and the
    # final recall. prec_out (B, T, R), rec_out (B, T); -1 where no GT counts.
    n_b = weights.shape[0]
    n_t, n_d = tp.shape
    n_r = rec_thrs.shape[0]
    eps = np.spacing(1.0)
    for b in nb.prange(n_b):
        w = weights[b]
        npig = 0.0
        for i in range(gt_count.shape[0]):
            npig += w[i] * gt_count[i]
        if npig == 0.0:
            for t in range(n_t):
                rec_out[b, t] = -1.0
                for r in range(n_r):
                    prec_out[b, t, r] = -1.0
            continue
        rc = np.empty(n_d)
        pr = np.empty(n_d)
        for t in range(n_t):
            ctp = 0.0
            cfp = 0.0
            for d in range(n_d):
                wd = w[det_image[d]]
                ctp += wd * tp[t, d]
                cfp += wd * fp[t, d]
                rc[d] = ctp / npig
                pr[d] = ctp / (cfp + ctp + eps)
            rec_out[b, t] = rc[n_d - 1] if n_d > 0 else 0.0
            for d in range(n_d - 1, 0, -1):
                if pr[d] > pr[d - 1]:
                    pr[d - 1] = pr[d]
            pos = 0
            for r in range(n_r):
                while pos < n_d and rc[pos] < rec_thrs[r]:
                    pos += 1
                prec_out[b, t, r] = pr[pos] if pos < n_d else 0.0


def accumulate_stats(matches: ImageMatches, weights: np.ndarray) -> np.ndarray:
    """(B, 10) COCO stats (:data:`STAT_NAMES` order) of each row of image ``weights``
    (B, I); a row of ones gives pycocotools' own stats. -1 where undefined."""
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != matches.img_ids.size:
        raise InputError(f"expected weights of shape (B, {matches.img_ids.size}), got "
                         f"{w.shape}", field="weights")
    n_b = w.shape[0]
    out = np.empty((n_b, len(STAT_NAMES)))
    per_area = []
    for a in range(len(_AREAS)):
        n_t = matches.tp[a].shape[0]
        prec = np.empty((n_b, n_t, _REC_THRS.size))
        rec = np.empty((n_b, n_t))
        _accumulate(w, matches.det_image[a], matches.tp[a], matches.fp[a],
                    matches.gt_count[a].astype(np.float64), _REC_THRS, prec, rec)
        per_area.append((prec, rec))
    for j, name in enumerate(STAT_NAMES):
        a, t, is_ap = _STAT_SPEC[name]
        prec, rec = per_area[a]
        v = prec if is_ap else rec
        v = v if t < 0 else v[:, t:t + 1]
        defined = (v.reshape(n_b, -1) > -1).all(axis=1)  # all or nothing per replicate
        out[:, j] = np.where(defined, v.reshape(n_b, -1).mean(axis=1), -1.0)
    return out


def bootstrap_stats(matches: Sequence[ImageMatches], n_boot: int = 1000,
                    seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Paired bootstrap of several configurations evaluated on the same images.

    Returns
    -------
    ``(point, reps)``: point (C, 10) the stats on the data as they are, and reps
    (C, B, 10) the stats of each replicate, every configuration drawn with the same image
    weights (so ``reps[0] - reps[1]`` are paired differences).
    """
    if not matches:
        raise InputError("expected at least one configuration", field="configs")
    ids = matches[0].img_ids
    for m in matches[1:]:
        if not np.array_equal(m.img_ids, ids):
            raise InputError("paired bootstrap needs the same images for every "
                             "configuration", field="img_ids")
    w = bootstrap_weights(ids.size, n_boot, seed)
    ones = np.ones((1, ids.size))
    point = np.stack([accumulate_stats(m, ones)[0] for m in matches])
    reps = np.stack([accumulate_stats(m, w) for m in matches])
    return point, reps


def defined(reps: np.ndarray) -> np.ndarray:
    """``reps`` with undefined stats (pycocotools' -1) as NaN."""
    return np.where(np.asarray(reps) > -1, reps, np.nan)


def percentile_interval(values: np.ndarray, ci: float = 0.95) -> np.ndarray:
    """(..., 2) percentile interval along axis -2 of ``values`` (..., B, S), NaN left out
    (NaN when no replicate is defined). Pass stats through :func:`defined` first."""
    if not 0 < ci < 1:
        raise InputError(f"expected 0 < ci < 1, got {ci}", field="ci")
    q = 100 * np.array([(1 - ci) / 2, (1 + ci) / 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        lo_hi = np.nanpercentile(np.asarray(values, dtype=np.float64), q, axis=-2)
    return np.moveaxis(lo_hi, 0, -1)
