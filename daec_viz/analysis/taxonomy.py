"""Keypoint error taxonomy of the COCO error-diagnosis study (Ronchi & Perona, ICCV 2017).

Every labelled keypoint of a detection matched to a ground-truth person (OKS >= 0.1) is
compared, by keypoint similarity ``ks = exp(-d² / (2 s² κ²))`` (``s²`` = the GT's area,
``κ = 2σ`` its OKS constant, ``d`` in image px), with every candidate location of its image:

- its own joint of the matched person (``own``),
- the left/right-mirrored joint of the matched person (``inv``),
- the same joint and the mirrored joint of every *other* person of the image (``other``).

The best candidate decides (ties: own, then inv, then other):

============= ======================================================================
``good``      best is ``own`` and ks >= 0.85
``jitter``    best is ``own`` and 0.5 <= ks < 0.85
``inversion`` best is ``inv`` (mirrored joint of the same person) and ks >= 0.5
``swap``      best is another person's joint (same or mirrored) and ks >= 0.5
``miss``      ks < 0.5 against every candidate
============= ======================================================================

This is coco-analyze's rule (``pycocotools/cocoanalyze.py``, ``_find_kpt_errors``), where
a swap is any joint of another person and good is ``ks > 0.85`` (here ``>= 0.85`` so
that no value falls between good and jitter). Joints whose own GT is unlabelled
(``v == 0``) and unmatched detections get no label (-1).

Matching (:func:`match_detections`) follows COCOeval at one OKS threshold: per image,
detections by decreasing score (stable), each takes the still unmatched eligible GT
(``num_keypoints > 0``, not crowd) of highest OKS, if that OKS >= 0.1 (ties: the later GT
in annotation order, as COCOeval's ``if iou < best: continue``). Unlike COCOeval's
``maxDets = 20`` there is no cap per image, and ineligible GTs are never matched.

"AP with an error type corrected" (:func:`taxonomy_ap`) replaces the keypoints of that
type by a corrected location and re-runs the COCO evaluation, keeping the instance
scores. ``correction="gt"`` (default) puts them on their own joint's GT; ``"ronchi"``
follows coco-analyze's placement (jitter at ks = 0.85, miss at ks = 0.5, inversion and
swap at the ks they reached on the wrong target, all measured from their own GT along +x).
coco-analyze computes that distance with ``σ²`` where the ks formula has ``(2σ)²``, so its
points land at ``ks ** (1/4)`` (0.85 -> 0.96); here they land at the stated ks.

All functions are vectorised over detections and joints; only the greedy matching walks
the (few) detections that have a candidate GT in Python, as COCOeval does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daec_viz.evaluation.oks import (
    OKS_EPS,
    flip_permutation,
    instance_oks,
    keypoint_similarity,
)
from daec_viz.exceptions import InputError

TAXONOMY: tuple[str, ...] = ("good", "jitter", "inversion", "swap", "miss")
"""Labels of :func:`classify_keypoints`, in code order 0..4 (-1 = not classified)."""
ERROR_TYPES: tuple[str, ...] = ("jitter", "inversion", "swap", "miss")
"""The error types that :func:`taxonomy_ap` corrects one at a time."""
GOOD_KS = 0.85
JITTER_KS = 0.5
MATCH_OKS = 0.1


# --------------------------------------------------------------------------- ground truth

@dataclass(frozen=True)
class GroundTruthTable:
    """Every GT person of the evaluated images, as arrays (G persons, K joints).

    Attributes
    ----------
    image_id : (G,) int64.
    ann_id : (G,) int64 COCO annotation ids, in annotation order.
    keypoints : (G, K, 3) float64: x, y image px and visibility v (0 = unlabelled).
    area : (G,) float64 image px² (the OKS scale is ``sqrt(area)``).
    eligible : (G,) bool, may be matched: ``num_keypoints > 0`` and not crowd.
    """

    image_id: np.ndarray
    ann_id: np.ndarray
    keypoints: np.ndarray
    area: np.ndarray
    eligible: np.ndarray

    def __len__(self) -> int:
        return int(self.ann_id.size)

    def index_of(self, ann_ids: Any) -> np.ndarray:
        """(n,) positions of COCO annotation ids in this table; -1 for -1 or unknown ids."""
        ids = np.asarray(ann_ids, dtype=np.int64).reshape(-1)
        order = np.argsort(self.ann_id, kind="stable")
        sorted_ids = self.ann_id[order]
        pos = np.searchsorted(sorted_ids, ids)
        pos_c = np.clip(pos, 0, max(sorted_ids.size - 1, 0))
        found = (sorted_ids.size > 0) & (ids != -1)
        if sorted_ids.size:
            found &= sorted_ids[pos_c] == ids
        out = np.full(ids.size, -1, dtype=np.int64)
        out[found] = order[pos_c[found]]
        return out


def ground_truth_table(coco: Any, num_keypoints: int,
                       category_id: int | None = None) -> GroundTruthTable:
    """A :class:`GroundTruthTable` of a pycocotools ``COCO`` (or its ``dataset`` dict).

    Annotations without keypoints of length ``3 * num_keypoints`` are skipped; with
    ``category_id`` only that category is kept.
    """
    data = coco.dataset if hasattr(coco, "dataset") else coco
    anns = [a for a in data.get("annotations", [])
            if len(a.get("keypoints") or ()) == 3 * num_keypoints
            and (category_id is None or a.get("category_id") == category_id)]
    g = len(anns)
    kp = np.asarray([a["keypoints"] for a in anns], dtype=np.float64).reshape(g, num_keypoints,
                                                                             3)
    image_id = np.asarray([a["image_id"] for a in anns], dtype=np.int64).reshape(g)
    ann_id = np.asarray([a["id"] for a in anns], dtype=np.int64).reshape(g)
    area = np.asarray([a.get("area", 0.0) for a in anns], dtype=np.float64).reshape(g)
    crowd = np.asarray([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool).reshape(g)
    nkp = (kp[:, :, 2] > 0).sum(axis=1)
    return GroundTruthTable(image_id, ann_id, kp, area, (nkp > 0) & ~crowd)


# --------------------------------------------------------------------------- similarity

def _image_pairs(query_image: np.ndarray, table_image: np.ndarray,
                 table_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (query, table row) pairs sharing an image id, vectorised.

    Returns (q (P,), t (P,)): query indices and table rows; within a query the rows keep
    the order of ``table_rows``.
    """
    order = np.argsort(table_image[table_rows], kind="stable")
    rows_sorted = table_rows[order]
    img_sorted = table_image[rows_sorted]
    start = np.searchsorted(img_sorted, query_image, side="left")
    stop = np.searchsorted(img_sorted, query_image, side="right")
    counts = stop - start
    q = np.repeat(np.arange(query_image.size), counts)
    offsets = np.cumsum(counts) - counts
    within = np.arange(q.size) - offsets[q]
    return q, rows_sorted[start[q] + within]


# --------------------------------------------------------------------------- matching

def match_detections(pred_img: np.ndarray, image_ids: np.ndarray, scores: np.ndarray,
                     gts: GroundTruthTable, sigmas: np.ndarray,
                     min_oks: float = MATCH_OKS) -> tuple[np.ndarray, np.ndarray]:
    """Greedy OKS matching of detections to GT persons, per image, as COCOeval does.

    Parameters
    ----------
    pred_img : (N, K, 2) predicted keypoints, image px.
    image_ids : (N,) image of each detection.
    scores : (N,) detection scores (higher first; ties keep input order).
    gts : the GT persons (only ``eligible`` ones are matched).
    sigmas : (K,) OKS sigmas.
    min_oks : the OKS threshold (0.1 for the taxonomy).

    Returns
    -------
    match (N,) int64 row of ``gts`` (-1 = unmatched) and oks (N,) float64 with it (NaN
    when unmatched).
    """
    pred = np.asarray(pred_img, dtype=np.float64)
    ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    sc = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = ids.size
    if pred.shape[:1] != (n,) or sc.shape != (n,):
        raise InputError(f"expected pred_img (N, K, 2), image_ids (N,), scores (N,); got "
                         f"{pred.shape}, {ids.shape}, {sc.shape}", field="pred_img")
    match = np.full(n, -1, dtype=np.int64)
    oks_out = np.full(n, np.nan)
    q, t = _image_pairs(ids, gts.image_id, np.flatnonzero(gts.eligible))
    if q.size == 0:
        return match, oks_out
    oks = instance_oks(pred[q], gts.keypoints[t], gts.area[t], sigmas)
    thr = min(min_oks, 1 - 1e-10)
    keep = oks >= thr
    q, t, oks = q[keep], t[keep], oks[keep]
    if q.size == 0:
        return match, oks_out
    # walk detections image by image, by decreasing score (stable), as COCOeval
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), -sc, ids))] = np.arange(n)
    order = np.lexsort((t, rank[q]))  # pairs grouped by detection rank, GTs in table order
    q, t, oks = q[order], t[order], oks[order]
    bounds = np.flatnonzero(np.diff(q)) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    stops = np.concatenate([bounds, [q.size]]).tolist()
    taken: set[int] = set()
    t_list = t.tolist()
    oks_list = oks.tolist()
    q_list = q.tolist()
    for a, b in zip(starts, stops, strict=True):
        best, best_oks = -1, -1.0
        for j in range(a, b):  # few candidates per detection
            g = t_list[j]
            if g in taken or oks_list[j] < best_oks:  # ties: the later GT, as COCOeval
                continue
            best, best_oks = g, oks_list[j]
        if best >= 0:
            taken.add(best)
            match[q_list[a]] = best
            oks_out[q_list[a]] = best_oks
    return match, oks_out


# --------------------------------------------------------------------------- taxonomy

@dataclass(frozen=True)
class KeypointTaxonomy:
    """Per-keypoint result of :func:`classify_keypoints` (N detections, K joints).

    Attributes
    ----------
    labels : (N, K) int8 code into :data:`TAXONOMY` (-1: unmatched detection or own GT
        joint unlabelled).
    ks_own : (N, K) ks to the own joint of the matched GT (NaN where not classified).
    ks_best : (N, K) ks of the best candidate (NaN where not classified).
    match : (N,) int64 row of the GT table (-1 unmatched).
    own_gt : (N, K, 3) the matched GT's keypoints (image px + v; NaN when unmatched).
    own_area : (N,) its area (NaN when unmatched).
    """

    labels: np.ndarray
    ks_own: np.ndarray
    ks_best: np.ndarray
    match: np.ndarray
    own_gt: np.ndarray
    own_area: np.ndarray

    def counts(self) -> dict[str, int]:
        """Number of keypoints of each label."""
        c = np.bincount(self.labels[self.labels >= 0].ravel(), minlength=len(TAXONOMY))
        return {name: int(v) for name, v in zip(TAXONOMY, c, strict=True)}

    def shares(self) -> dict[str, float]:
        """Fraction of the classified keypoints with each label (NaN when none)."""
        c = self.counts()
        tot = sum(c.values())
        return {k: (v / tot if tot else float("nan")) for k, v in c.items()}

    def mean_similarity(self) -> np.ndarray:
        """(K,) mean keypoint similarity (OKS of that joint alone, in [0, 1]) of each
        joint over the matched detections whose own GT joint is labelled; NaN for a joint
        no matched person has labelled."""
        ks = self.ks_own
        n = np.isfinite(ks).sum(axis=0)
        total = np.nansum(ks, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / np.maximum(n, 1), np.nan)

    def per_joint(self) -> np.ndarray:
        """(K, 5) counts of each label per joint."""
        k = self.labels.shape[1]
        joint = np.broadcast_to(np.arange(k), self.labels.shape)
        ok = self.labels >= 0
        return np.bincount(joint[ok] * len(TAXONOMY) + self.labels[ok],
                           minlength=k * len(TAXONOMY)).reshape(k, len(TAXONOMY))


def classify_keypoints(pred_img: np.ndarray, image_ids: np.ndarray, match: np.ndarray,
                       gts: GroundTruthTable, sigmas: np.ndarray,
                       flip_pairs: Sequence[Sequence[int]]) -> KeypointTaxonomy:
    """Label each keypoint good / jitter / inversion / swap / miss (see the module doc).

    Parameters
    ----------
    pred_img : (N, K, 2) predictions, image px.
    image_ids : (N,) image of each detection.
    match : (N,) row of ``gts`` each detection is matched to (-1 = none), e.g. from
        :func:`match_detections` or, for GT boxes, ``gts.index_of(ann_ids)``.
    gts : all GT persons of the images (candidates for swaps).
    sigmas : (K,) OKS sigmas.
    flip_pairs : (left, right) joint index pairs.

    Returns
    -------
    KeypointTaxonomy.

    Examples
    --------
    >>> import numpy as np
    >>> kp = np.array([[[10., 10., 2.], [30., 10., 2.]]])       # one person, 2 joints
    >>> gts = GroundTruthTable(np.array([1]), np.array([5]), kp, np.array([400.]),
    ...                        np.array([True]))
    >>> pred = np.array([[[30., 10.], [10., 10.]]])             # left and right swapped
    >>> t = classify_keypoints(pred, np.array([1]), np.array([0]), gts,
    ...                        np.array([.1, .1]), [(0, 1)])
    >>> [TAXONOMY[c] for c in t.labels[0]]
    ['inversion', 'inversion']
    """
    pred = np.asarray(pred_img, dtype=np.float64)
    n, k = pred.shape[:2]
    ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    match = np.asarray(match, dtype=np.int64).reshape(-1)
    if ids.shape != (n,) or match.shape != (n,):
        raise InputError(f"expected image_ids and match of shape ({n},), got {ids.shape} "
                         f"and {match.shape}", field="match")
    if gts.keypoints.shape[1:] != (k, 3) and len(gts):
        raise InputError(f"GT table has {gts.keypoints.shape[1]} joints, predictions {k}",
                         field="keypoints")
    sig = np.asarray(sigmas, dtype=np.float64)
    perm = flip_permutation(k, flip_pairs)
    matched = match >= 0
    own_gt = np.full((n, k, 3), np.nan)
    own_area = np.full(n, np.nan)
    own_gt[matched] = gts.keypoints[match[matched]]
    own_area[matched] = gts.area[match[matched]]

    own = np.full((n, k), -1.0)
    inv = np.full((n, k), -1.0)
    other = np.full((n, k), -1.0)
    det = np.flatnonzero(matched)
    q, t = _image_pairs(ids[det], gts.image_id, np.arange(len(gts)))
    if q.size:
        d = det[q]
        p = pred[d]                                          # (P, K, 2)
        g = gts.keypoints[t]                                 # (P, K, 3)
        area = gts.area[t]
        ks_same = np.where(g[..., 2] > 0, keypoint_similarity(p, g[..., :2], area, sig), -1.0)
        gm = g[:, perm]
        ks_mirr = np.where(gm[..., 2] > 0, keypoint_similarity(p, gm[..., :2], area, sig), -1.0)
        is_own = t == match[d]
        own[d[is_own]] = ks_same[is_own]
        inv[d[is_own]] = ks_mirr[is_own]
        np.maximum.at(other, d[~is_own], np.maximum(ks_same[~is_own], ks_mirr[~is_own]))
    best = np.maximum(np.maximum(own, inv), other)
    own_best = (own >= inv) & (own >= other)
    inv_best = ~own_best & (inv >= other)
    labels = np.full((n, k), 4, dtype=np.int8)  # miss
    strong = best >= JITTER_KS
    labels[strong & own_best & (own >= GOOD_KS)] = 0
    labels[strong & own_best & (own < GOOD_KS)] = 1
    labels[strong & inv_best] = 2
    labels[strong & ~own_best & ~inv_best] = 3
    classified = matched[:, None] & (np.nan_to_num(own_gt[..., 2]) > 0)
    labels[~classified] = -1
    ks_own = np.where(classified, own, np.nan)
    ks_best = np.where(classified, best, np.nan)
    return KeypointTaxonomy(labels, ks_own, ks_best, match, own_gt, own_area)


def corrected_keypoints(pred_img: np.ndarray, taxonomy: KeypointTaxonomy,
                        error_types: str | Sequence[str], sigmas: np.ndarray,
                        correction: str = "gt") -> np.ndarray:
    """Predictions with the keypoints of some error types corrected.

    Parameters
    ----------
    pred_img : (N, K, 2) image px.
    taxonomy : from :func:`classify_keypoints` on the same predictions.
    error_types : one or several of :data:`ERROR_TYPES`.
    sigmas : (K,) OKS sigmas (used by ``correction="ronchi"``).
    correction : ``"gt"``: move them onto their own joint's GT; ``"ronchi"``:
        coco-analyze's placement (see the module docstring).

    Returns
    -------
    (N, K, 2) float64 copy.
    """
    types = [error_types] if isinstance(error_types, str) else list(error_types)
    bad = [e for e in types if e not in ERROR_TYPES]
    if bad:
        raise InputError(f"expected error types from {ERROR_TYPES}, got {bad}",
                         field="error_types")
    if correction not in ("gt", "ronchi"):
        raise InputError(f"expected 'gt' or 'ronchi', got {correction!r}", field="correction")
    out = np.array(pred_img, dtype=np.float64, copy=True)
    codes = [TAXONOMY.index(e) for e in types]
    sel = np.isin(taxonomy.labels, codes)
    target = taxonomy.own_gt[..., :2].copy()
    if correction == "ronchi":
        ks = np.where(taxonomy.labels == 1, GOOD_KS,
                      np.where(taxonomy.labels == 4, JITTER_KS, taxonomy.ks_best))
        ks = np.clip(np.nan_to_num(ks, nan=1.0), OKS_EPS, 1.0 - OKS_EPS)
        sig = np.asarray(sigmas, dtype=np.float64)
        dist = np.sqrt(-np.log(ks) * 2.0 * taxonomy.own_area[:, None] * (2.0 * sig) ** 2)
        target[..., 0] += dist
    out[sel] = target[sel]
    return out


@dataclass(frozen=True)
class TaxonomyAP:
    """COCO stats of the original predictions and with each error type corrected.

    ``stats[name]`` is the 10-stat dict of :func:`daec_viz.evaluation.coco_eval.coco_keypoint_stats`
    for ``name`` in ``("original", "jitter", "inversion", "swap", "miss", "all")``.
    """

    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    correction: str = "gt"

    def ap(self) -> dict[str, float]:
        """AP of each variant."""
        return {k: v["AP"] for k, v in self.stats.items()}

    def gain(self) -> dict[str, float]:
        """AP gained by correcting each error type (vs ``original``)."""
        base = self.stats["original"]["AP"]
        return {k: v["AP"] - base for k, v in self.stats.items() if k != "original"}


def taxonomy_ap(gt: Any, image_ids: np.ndarray, pred_img: np.ndarray,
                instance_scores: np.ndarray, taxonomy: KeypointTaxonomy,
                sigmas: np.ndarray, *, engine: str = "hotcoco",
                img_ids: Sequence[int] | None = None, correction: str = "gt",
                keypoint_scores: np.ndarray | None = None,
                keep: np.ndarray | None = None, category_id: int = 1) -> TaxonomyAP:
    """AP of the predictions as they are and with each error type corrected.

    Parameters
    ----------
    gt : COCO GT (path, dict or COCO object) for
        :func:`~daec_viz.evaluation.coco_eval.coco_keypoint_stats`.
    image_ids : (N,) image of each detection.
    pred_img : (N, K, 2) image px.
    instance_scores : (N,) scores ranking the detections (kept unchanged by corrections).
    taxonomy : :func:`classify_keypoints` of these predictions.
    sigmas : (K,) OKS sigmas.
    engine, img_ids : passed to ``coco_keypoint_stats``.
    correction : ``"gt"`` or ``"ronchi"`` (see :func:`corrected_keypoints`).
    keypoint_scores : (N, K) written as the keypoints' third value (default 1).
    keep : indices of the detections submitted to the evaluation (e.g. the survivors of
        OKS-NMS on the original predictions); default all. The same set is submitted for
        every correction.
    category_id : category of the results.

    Returns
    -------
    TaxonomyAP with "original", each of :data:`ERROR_TYPES` alone and "all" four.
    """
    from daec_viz.evaluation.coco_eval import coco_keypoint_stats, results_from_arrays

    n = np.asarray(pred_img).shape[0]
    sel = np.arange(n) if keep is None else np.asarray(keep, dtype=np.int64)
    ids = np.asarray(image_ids)[sel]
    sc = np.asarray(instance_scores, dtype=np.float64)[sel]
    kps = None if keypoint_scores is None else np.asarray(keypoint_scores)[sel]
    variants: dict[str, np.ndarray] = {"original": np.asarray(pred_img, dtype=np.float64)}
    for e in ERROR_TYPES:
        variants[e] = corrected_keypoints(pred_img, taxonomy, e, sigmas, correction)
    variants["all"] = corrected_keypoints(pred_img, taxonomy, ERROR_TYPES, sigmas, correction)
    stats: dict[str, dict[str, float]] = {}
    for name, kp in variants.items():
        res = results_from_arrays(ids, kp[sel], kps, sc, category_id=category_id)
        stats[name] = coco_keypoint_stats(gt, res, engine=engine, img_ids=img_ids,
                                          sigmas=sigmas)
    return TaxonomyAP(stats, correction)


def taxonomy_summary(taxonomy: KeypointTaxonomy,
                     ap: TaxonomyAP | None = None) -> Mapping[str, Any]:
    """JSON-ready counts, shares (and AP per correction) of a taxonomy."""
    out: dict[str, Any] = {"counts": taxonomy.counts(),
                           "shares": {k: (None if np.isnan(v) else v)
                                      for k, v in taxonomy.shares().items()},
                           "matched": int((taxonomy.match >= 0).sum())}
    if ap is not None:
        out["ap"] = ap.ap()
        out["ap_gain"] = ap.gain()
        out["correction"] = ap.correction
    return out
