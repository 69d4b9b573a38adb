"""COCO keypoint evaluation: the 10 stats of pycocotools' ``COCOeval(iouType="keypoints")``.

Two engines give the same numbers (checked in ``tests/test_coco_eval.py`` to 1e-12):

- ``"hotcoco"`` (default): the Rust COCOeval of the ``hotcoco`` package, many times faster;
- ``"pycocotools"``: the reference implementation.

Results are fed to both engines as Python objects (no temporary JSON file). The ground
truth is loaded once and cached (small LRU keyed by path + mtime + size, or by the
identity of the object passed), so sweeping ~100 decoder configurations over the same
annotations does not reload them each time.

Coordinates of results are **image pixels**, (x, y) = (column, row), COCO convention.

Example
-------
>>> stats = coco_keypoint_stats("annotations.json",                    # doctest: +SKIP
...                             results_from_arrays(image_ids, coords_img, maxvals, scores))
>>> stats["AP"]                                                       # doctest: +SKIP
0.7512

Also here: :func:`instance_scores` (the usual top-down rescoring) and :func:`oks_nms`.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np

from daec_viz.evaluation.oks import COCO_OKS_SIGMAS, similarity
from daec_viz.exceptions import InputError

STAT_NAMES: tuple[str, ...] = ("AP", "AP50", "AP75", "APM", "APL",
                               "AR", "AR50", "AR75", "ARM", "ARL")
"""Names of the 10 keypoint stats, in pycocotools' ``COCOeval.stats`` order."""

ENGINES: tuple[str, ...] = ("hotcoco", "pycocotools")

#: COCO's 17 per-keypoint OKS sigmas (the constant of :mod:`daec_viz.evaluation.oks`).
COCO_SIGMAS = COCO_OKS_SIGMAS

_GT_CACHE_SIZE = 4


# --------------------------------------------------------------------------- results

class KeypointResults(list):
    """A ``list`` of COCO result dicts built by :func:`results_from_arrays`.

    It is an ordinary list (any code that takes COCO results takes it); it also keeps the
    already validated arrays so :func:`coco_keypoint_stats` need not re-check every dict.
    Do not mutate it after creation (build a new one instead).
    """

    image_ids: np.ndarray
    num_keypoints: int


def results_from_arrays(image_ids: Any, keypoints_img: Any, keypoint_scores: Any = None,
                        instance_scores: Any = None, category_id: int = 1
                        ) -> KeypointResults:
    """COCO keypoint results (one dict per instance) from arrays, built in one pass.

    Parameters
    ----------
    image_ids : (n,) int
        COCO image id of each instance.
    keypoints_img : (n, K, 2) float
        Keypoints in **image px**, (x, y).
    keypoint_scores : (n, K) float, optional
        Written as the third value of each keypoint triple (as HRNet does; COCOeval
        ignores it). Default 1.
    instance_scores : (n,) float, optional
        The ``score`` that ranks detections in COCOeval. Default 1.
    category_id : int
        Category of every result (1 = person).

    Returns
    -------
    KeypointResults (a list of ``{"image_id", "category_id", "keypoints": [x, y, v]*K,
    "score"}``).

    Raises
    ------
    InputError
        On shape mismatches, non-integer image ids, or non-finite values.
    """
    kp = np.asarray(keypoints_img, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise InputError(f"expected shape (n, K, 2), got {kp.shape}", field="keypoints_img")
    n, k = kp.shape[:2]
    ids = np.asarray(image_ids)
    if ids.shape != (n,):
        raise InputError(f"expected shape ({n},), got {ids.shape}", field="image_ids")
    if ids.dtype.kind == "f":
        if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
            raise InputError("expected integer image ids", field="image_ids")
    elif ids.dtype.kind not in "iu" and n:
        raise InputError(f"expected integer image ids, got dtype {ids.dtype}",
                         field="image_ids")
    ids = ids.astype(np.int64)
    ks = (np.ones((n, k)) if keypoint_scores is None
          else np.asarray(keypoint_scores, dtype=np.float64))
    if ks.shape != (n, k):
        raise InputError(f"expected shape ({n}, {k}), got {ks.shape}", field="keypoint_scores")
    sc = (np.ones(n) if instance_scores is None
          else np.asarray(instance_scores, dtype=np.float64))
    if sc.shape != (n,):
        raise InputError(f"expected shape ({n},), got {sc.shape}", field="instance_scores")
    for name, arr in (("keypoints_img", kp), ("keypoint_scores", ks),
                      ("instance_scores", sc)):
        if not np.all(np.isfinite(arr)):
            bad = int(np.argwhere(~np.isfinite(arr.reshape(n, -1)))[0, 0])
            raise InputError(f"non-finite value (NaN or inf) in instance {bad}", field=name)
    triples = np.concatenate([kp, ks[..., None]], axis=-1).reshape(n, 3 * k).tolist()
    cat = int(category_id)
    out = KeypointResults(
        {"image_id": i, "category_id": cat, "keypoints": t, "score": s}
        for i, t, s in zip(ids.tolist(), triples, sc.tolist(), strict=True))
    out.image_ids = ids
    out.num_keypoints = k
    return out


def load_results(path: str | Path, num_keypoints: int | None = None) -> list[dict]:
    """Read and validate a COCO keypoint results json (a list of result dicts).

    Raises InputError naming the file and the offending field (e.g. ``[3].keypoints``).
    """
    from daec_viz.io.annotations import read_json
    path = Path(path)
    data = read_json(path, "COCO keypoint results (a JSON list)", error=InputError)
    _validate_results(data, num_keypoints, path=path)
    return data


def _validate_results(results: Any, num_keypoints: int | None,
                      path: str | Path | None = None) -> np.ndarray:
    """Check a list of result dicts; return their image ids as an int64 array."""
    if not isinstance(results, list):
        raise InputError(f"expected a JSON list of result objects, got "
                         f"{type(results).__name__}", field="results", path=path)
    if isinstance(results, KeypointResults):
        if num_keypoints is not None and len(results) and results.num_keypoints != num_keypoints:
            raise InputError(f"expected {num_keypoints} keypoints per instance, got "
                             f"{results.num_keypoints}", field="keypoints", path=path)
        return results.image_ids
    ids = np.empty(len(results), dtype=np.int64)
    for i, r in enumerate(results):
        if not isinstance(r, Mapping):
            raise InputError(f"expected an object, got {type(r).__name__}",
                             field=f"[{i}]", path=path)
        for key in ("image_id", "category_id", "keypoints", "score"):
            if key not in r:
                raise InputError("missing", field=f"[{i}].{key}", path=path)
        iid = r["image_id"]
        if isinstance(iid, bool) or not isinstance(iid, (int, np.integer)):
            raise InputError(f"expected an integer, got {iid!r}", field=f"[{i}].image_id",
                             path=path)
        ids[i] = iid
        cid = r["category_id"]
        if isinstance(cid, bool) or not isinstance(cid, (int, np.integer)) or cid < 0:
            raise InputError(f"expected a non-negative integer, got {cid!r:.80}",
                             field=f"[{i}].category_id", path=path)
        kp = r["keypoints"]
        if not isinstance(kp, (list, tuple, np.ndarray)) or len(kp) % 3 or (
                num_keypoints is not None and len(kp) != 3 * num_keypoints):
            want = "3*K" if num_keypoints is None else str(3 * num_keypoints)
            got = len(kp) if hasattr(kp, "__len__") else type(kp).__name__
            raise InputError(f"expected a list of {want} numbers [x, y, v]*K, got {got}",
                             field=f"[{i}].keypoints", path=path)
        s = r["score"]
        if isinstance(s, bool) or not isinstance(s, (int, float, np.number)) \
                or not math.isfinite(s):
            raise InputError(f"expected a finite number, got {s!r}", field=f"[{i}].score",
                             path=path)
    if results:
        try:
            kps = np.asarray([r["keypoints"] for r in results])
        except (ValueError, TypeError):
            kps = np.empty(0, dtype=object)
        if kps.dtype.kind not in "iuf" or kps.ndim != 2:  # strings, null, lists, ...
            for i, r in enumerate(results):  # (only on this error path) which one
                bad = [v for v in r["keypoints"] if isinstance(v, bool)
                       or not isinstance(v, (int, float, np.number))]
                if bad:
                    raise InputError(f"expected numbers, got {bad[0]!r:.40} "
                                     f"({type(bad[0]).__name__})",
                                     field=f"[{i}].keypoints", path=path)
            raise InputError("expected numbers of equal count in every result",
                             field="keypoints", path=path)
        kps = kps.astype(np.float64, copy=False)
        if not np.all(np.isfinite(kps)):
            bad = int(np.argwhere(~np.isfinite(kps))[0, 0])
            raise InputError("non-finite value (NaN or inf)", field=f"[{bad}].keypoints",
                             path=path)
    return ids


# ----------------------------------------------------------------------- ground truth

class _GroundTruth:
    """A loaded GT: the dataset dict plus lazily built engine objects."""

    def __init__(self, dataset: dict, source: Any, origin: str | None) -> None:
        self.dataset = dataset
        self.source = source  # keeps the object alive so its id() stays unique
        self.origin = origin
        self.img_ids = np.array(sorted(img["id"] for img in dataset["images"]), dtype=np.int64)
        self.kp_lengths = {len(a["keypoints"]) for a in dataset["annotations"]
                           if "keypoints" in a}
        # images holding a person COCOeval can match (not a crowd, >= 1 labelled joint)
        self.scorable_img_ids = np.array(sorted(
            {a["image_id"] for a in dataset["annotations"]
             if not a.get("iscrowd") and a.get("num_keypoints", 1) > 0}), dtype=np.int64)
        self.engines: dict[str, Any] = {}

    def engine_object(self, engine: str) -> Any:
        obj = self.engines.get(engine)
        if obj is None:
            if engine == "pycocotools":
                from pycocotools.coco import COCO
                if isinstance(self.source, COCO):
                    obj = self.source
                else:
                    obj = COCO()
                    obj.dataset = self.dataset
                    with contextlib.redirect_stdout(io.StringIO()):
                        obj.createIndex()
            else:
                import hotcoco
                obj = self.source if isinstance(self.source, hotcoco.COCO) \
                    else hotcoco.COCO(self.dataset)
            self.engines[engine] = obj
        return obj


_GT_CACHE: OrderedDict[tuple, _GroundTruth] = OrderedDict()


def clear_gt_cache() -> None:
    """Forget every cached ground truth (e.g. after editing a GT dict in place)."""
    _GT_CACHE.clear()


def _validate_gt(d: Any, path: Path | None) -> dict:
    """The ground truth through the one COCO keypoints validator
    (:func:`daec_viz.io.annotations.validate_coco_keypoints`; missing ``iscrowd`` /
    ``num_keypoints`` filled in the copy it returns)."""
    from daec_viz.io.annotations import validate_coco_keypoints
    return validate_coco_keypoints(d, path, require_category=False)[0]


def load_gt(gt: Any) -> _GroundTruth:
    """Load (or fetch from the cache) a ground truth: path, dict, or COCO object.

    Paths are keyed by resolved path + mtime + size; dicts and COCO objects by identity
    (the cache holds a reference, so the id cannot be recycled while cached; if you edit
    a cached dict in place, call :func:`clear_gt_cache`).
    """
    if isinstance(gt, (str, Path)):
        path = Path(gt)
        try:
            st = path.stat()
        except OSError:
            st = None
        if st is None or not path.is_file():  # read_json says what is wrong with it
            from daec_viz.io.annotations import read_json
            read_json(path, "COCO keypoint annotations (JSON)", error=InputError)
            st = path.stat()
        key: tuple = ("path", str(path.resolve()), st.st_mtime_ns, st.st_size)
    else:
        path = None
        key = ("obj", id(gt))
    hit = _GT_CACHE.get(key)
    if hit is not None:
        _GT_CACHE.move_to_end(key)
        return hit
    if path is not None:
        from daec_viz.io.annotations import read_json
        d = read_json(path, "COCO keypoint annotations (JSON)", error=InputError)
        entry = _GroundTruth(_validate_gt(d, path), None, str(path))
    elif isinstance(gt, dict):
        entry = _GroundTruth(_validate_gt(gt, None), gt, None)
    elif hasattr(gt, "dataset"):  # a pycocotools or hotcoco COCO
        entry = _GroundTruth(_validate_gt(gt.dataset, None), gt, None)
    else:
        raise InputError(f"expected a path, a dict or a COCO object, got {type(gt).__name__}",
                         field="gt")
    _GT_CACHE[key] = entry
    while len(_GT_CACHE) > _GT_CACHE_SIZE:
        _GT_CACHE.popitem(last=False)
    return entry


# ------------------------------------------------------------------------- evaluation

def coco_keypoint_stats(gt: Any, results: Any, engine: str = "hotcoco",
                        img_ids: Sequence[int] | None = None,
                        sigmas: Sequence[float] | np.ndarray | None = None
                        ) -> dict[str, float]:
    """The 10 COCO keypoint stats (AP, AP50, AP75, APM, APL, AR, AR50, AR75, ARM, ARL).

    Semantics of pycocotools' ``COCOeval(gt, dt, "keypoints")``: OKS with per-keypoint
    sigmas, IoU thresholds 0.50:0.05:0.95, area ranges all/medium/large, 20 detections
    per image, 101 recall points. A stat whose area range holds no GT is -1, as in
    pycocotools. Evaluators' printing is silenced.

    Parameters
    ----------
    gt : path to a COCO keypoints json, its dict, or a pycocotools/hotcoco ``COCO``.
        Loaded once and cached (see :func:`load_gt`).
    results : path to a results json, or a list of result dicts (``image_id``,
        ``category_id``, ``keypoints`` [x, y, v]*K in image px, ``score``), e.g. from
        :func:`results_from_arrays`. Empty -> every stat 0 (or -1 where no GT).
    engine : "hotcoco" (fast) or "pycocotools" (reference).
    img_ids : evaluate only these images (default: every GT image).
    sigmas : (K,) OKS sigmas; default COCO's 17 (:data:`COCO_SIGMAS`).

    Returns
    -------
    dict mapping each name of :data:`STAT_NAMES` to a float.
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; expected one of {ENGINES}",
                         field="engine")
    sig = COCO_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise InputError("expected a 1-D array of positive OKS sigmas", field="sigmas")
    k = sig.size
    g = load_gt(gt)
    bad_len = {n for n in g.kp_lengths if n != 3 * k}
    if bad_len:
        raise InputError(f"GT annotations have keypoint lists of length {sorted(bad_len)}; "
                         f"expected {3 * k} for {k} sigmas", field="annotations.keypoints",
                         path=g.origin)
    if isinstance(results, (str, Path)):
        res_path: Path | None = Path(results)
        results = load_results(res_path, num_keypoints=k)
    else:
        res_path = None
    ids = _validate_results(results, k, path=res_path)
    unknown = np.setdiff1d(ids, g.img_ids)
    if unknown.size:
        raise InputError(f"{unknown.size} image id(s) not in the ground truth, e.g. "
                         f"{int(unknown[0])}", field="image_id", path=res_path)
    eval_ids = None
    if img_ids is not None:
        eval_ids = sorted({int(i) for i in img_ids})
        missing = np.setdiff1d(np.asarray(eval_ids, dtype=np.int64), g.img_ids)
        if missing.size:
            raise InputError(f"image id {int(missing[0])} not in the ground truth",
                             field="img_ids")
    _warn_undefined(g, results, eval_ids, res_path)
    if engine == "hotcoco":
        stats = _stats_hotcoco(g, results, eval_ids, sig)
    else:
        stats = _stats_pycocotools(g, results, eval_ids, sig)
    return {name: float(v) for name, v in zip(STAT_NAMES, stats, strict=True)}


def _warn_undefined(g: _GroundTruth, results: list, img_ids: list[int] | None,
                    res_path: Path | None) -> None:
    """A :class:`~daec_viz.exceptions.DataWarning` when the stats cannot mean anything:
    no person to match in the evaluated images (all crowd or unlabelled: AP/AR are -1),
    or no results at all (every stat 0)."""
    from daec_viz.exceptions import warn_data
    ids = g.img_ids if img_ids is None else np.asarray(img_ids, dtype=np.int64)
    if not np.isin(ids, g.scorable_img_ids).any():
        warn_data(f"none of the {ids.size} evaluated images holds a person to match "
                  f"(every annotation is a crowd or has no labelled keypoint): AP and AR "
                  f"are undefined (-1)", field="annotations.iscrowd", path=g.origin,
                  stacklevel=3)
    elif not len(results):
        warn_data("no results (no instance was submitted): every AP and AR is 0",
                  field="results", path=res_path, stacklevel=3)


def _stats_hotcoco(g: _GroundTruth, results: list, img_ids: list[int] | None,
                   sigmas: np.ndarray) -> np.ndarray:
    import hotcoco
    coco_gt = g.engine_object("hotcoco")
    dt = coco_gt.load_res(list(results))
    ev = hotcoco.COCOeval(coco_gt, dt, "keypoints")
    ev.params.kpt_oks_sigmas = sigmas.tolist()
    if img_ids is not None:
        ev.params.img_ids = img_ids
    ev.evaluate()
    ev.accumulate()
    ev.summary_lines()  # fills ev.stats without printing
    return np.asarray(ev.stats, dtype=np.float64)


def pycocotools_evaluated(g: _GroundTruth, results: list, img_ids: list[int] | None,
                          sigmas: np.ndarray) -> Any:
    """pycocotools' ``COCOeval(gt, dt, "keypoints")`` after ``evaluate()`` (the per-image
    matching, ``evalImgs``), silenced; ``g`` from :func:`load_gt`. The bootstrap
    (:mod:`daec_viz.evaluation.bootstrap`) resamples its accumulation step."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    coco_gt = g.engine_object("pycocotools")
    with contextlib.redirect_stdout(io.StringIO()):
        if results:
            # loadRes adds fields to the dicts it gets: give it shallow copies
            dt = coco_gt.loadRes([dict(r) for r in results])
        else:  # loadRes fails on an empty list; this is what it would build
            dt = COCO()
            dt.dataset = {"images": list(coco_gt.dataset["images"]),
                          "categories": copy.deepcopy(coco_gt.dataset["categories"]),
                          "annotations": []}
            dt.createIndex()
        ev = COCOeval(coco_gt, dt, "keypoints")
        ev.params.kpt_oks_sigmas = sigmas.copy()
        if img_ids is not None:
            ev.params.imgIds = img_ids
        ev.evaluate()
    return ev


def _stats_pycocotools(g: _GroundTruth, results: list, img_ids: list[int] | None,
                       sigmas: np.ndarray) -> np.ndarray:
    ev = pycocotools_evaluated(g, results, img_ids, sigmas)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64)


# --------------------------------------------------------------- rescoring and OKS-NMS

def instance_scores(det_scores: Any, keypoint_maxvals: Any, threshold: float = 0.2
                    ) -> np.ndarray:
    """Top-down instance score (HRNet / SimpleBaseline rescoring).

    ``score = det_score * mean(maxvals[maxvals > threshold])`` per instance, and 0 when no
    joint's maximum exceeds the threshold (HRNet's ``in_vis_thre`` = 0.2).

    Parameters
    ----------
    det_scores : (n,) detector (box) scores; 1 for GT boxes.
    keypoint_maxvals : (n, K) heatmap maxima of the joints.

    Returns
    -------
    (n,) float64.

    >>> instance_scores([0.5], [[0.9, 0.1, 0.5]]).tolist()
    [0.35]
    """
    det = np.asarray(det_scores, dtype=np.float64)
    mv = np.asarray(keypoint_maxvals, dtype=np.float64)
    if mv.ndim != 2 or det.shape != (mv.shape[0],):
        raise InputError(f"expected det_scores (n,) and keypoint_maxvals (n, K), got "
                         f"{det.shape} and {mv.shape}", field="keypoint_maxvals")
    above = mv > threshold
    cnt = above.sum(axis=1)
    total = np.where(above, mv, 0.0).sum(axis=1)
    mean = np.divide(total, cnt, out=np.zeros_like(total), where=cnt > 0)
    return det * mean


@nb.njit(cache=True, nogil=True)
def _greedy_oks_nms(kp: np.ndarray, areas: np.ndarray, order: np.ndarray,
                    starts: np.ndarray, var: np.ndarray, thr: float) -> np.ndarray:
    """HRNet's greedy loop per image. ``order``: instance indices by image, then by
    decreasing score; ``starts``: where each image's run begins (plus the end). OKS with
    a kept instance: mean over all K of the OKS similarity (daec_viz.evaluation.oks) with
    area (a_i + a_j) / 2."""
    n, k = kp.shape[0], kp.shape[1]
    alive = np.ones(n, dtype=np.bool_)
    for g in range(starts.size - 1):
        for a in range(starts[g], starts[g + 1]):
            i = order[a]
            if not alive[i]:
                continue
            for b in range(a + 1, starts[g + 1]):
                j = order[b]
                if not alive[j]:
                    continue
                s = (areas[i] + areas[j]) / 2.0
                acc = 0.0
                for q in range(k):
                    dx = kp[j, q, 0] - kp[i, q, 0]
                    dy = kp[j, q, 1] - kp[i, q, 1]
                    acc += similarity(dx * dx + dy * dy, var[q], s)
                if acc / k > thr:
                    alive[j] = False
    return alive


def oks_nms(keypoints: Any, scores: Any, areas: Any, thr: float = 0.9,
            sigmas: Sequence[float] | np.ndarray | None = None,
            image_ids: Any = None) -> np.ndarray:
    """Greedy OKS non-maximum suppression per image (HRNet's ``oks_nms``).

    Within each image, take instances by decreasing score and drop every remaining one
    whose OKS with a kept one exceeds ``thr``. OKS uses the mean of the two areas and all
    K joints (HRNet calls ``oks_nms`` without ``in_vis_thre``). Score ties keep input
    order (HRNet's ``argsort()[::-1]`` is not stable, so its order on exact ties is
    arbitrary). Off by default in pipelines that use GT boxes (one box per person:
    nothing to suppress). One compiled pass, no Python loop over images.

    Parameters
    ----------
    keypoints : (n, K, 2) image px.
    scores : (n,) instance scores.
    areas : (n,) areas (image px², e.g. box area ``scale_x*scale_y*200**2``).
    thr : suppression threshold on OKS.
    sigmas : (K,) OKS sigmas; default COCO's 17.
    image_ids : (n,) image of each instance; None = all in one image.

    Returns
    -------
    (m,) int64 indices of the kept instances, sorted ascending.
    """
    kp = np.ascontiguousarray(keypoints, dtype=np.float64)
    sc = np.asarray(scores, dtype=np.float64)
    ar = np.ascontiguousarray(areas, dtype=np.float64)
    n = kp.shape[0] if kp.ndim == 3 else -1
    if kp.ndim != 3 or kp.shape[-1] != 2 or sc.shape != (n,) or ar.shape != (n,):
        raise InputError(f"expected keypoints (n, K, 2), scores (n,), areas (n,); got "
                         f"{kp.shape}, {sc.shape}, {ar.shape}", field="keypoints")
    sig = COCO_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    if sig.shape != (kp.shape[1],):
        raise InputError(f"expected {kp.shape[1]} sigmas, got {sig.shape}", field="sigmas")
    ids = np.zeros(n, dtype=np.int64) if image_ids is None else np.asarray(image_ids)
    if ids.shape != (n,):
        raise InputError(f"expected shape ({n},), got {ids.shape}", field="image_ids")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-sc, ids))  # by image, then by decreasing score, stable
    starts = np.r_[0, np.flatnonzero(ids[order][1:] != ids[order][:-1]) + 1, n]
    alive = _greedy_oks_nms(kp, ar, order.astype(np.int64), starts.astype(np.int64),
                            (2.0 * sig) ** 2, float(thr))
    return np.flatnonzero(alive).astype(np.int64)
