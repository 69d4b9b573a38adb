"""The error analysis of a dataset: :func:`analyse_errors`.

Decodes every instance with each decoder configuration through
:func:`~daec_viz.evaluation.predict.predict_many` (the one heatmaps -> keypoints path),
finds each prediction's ground truth (its own annotation, or a greedy OKS match for
detector boxes after the same OKS-NMS as the evaluation), and measures error vectors,
quadrants, bias, sub-pixel phase and the keypoint taxonomy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from daec_viz.analysis.bias import bootstrap_biases
from daec_viz.analysis.phase import subpixel_phase
from daec_viz.analysis.results import ErrorAnalysis, MethodErrors
from daec_viz.analysis.taxonomy import (
    GroundTruthTable,
    classify_keypoints,
    ground_truth_table,
    match_detections,
    taxonomy_ap,
)
from daec_viz.analysis.vectors import (
    DEFAULT_ZERO_TOL,
    error_histogram2d,
    labelled_xy,
    normalise_by_oks_scale,
    quadrant_stats,
)
from daec_viz.decoding import ALL_METHODS, DecoderConfig
from daec_viz.evaluation.coco_eval import oks_nms
from daec_viz.evaluation.ground_truth import gt_in_heatmap, inside_heatmap
from daec_viz.evaluation.predict import predict_many
from daec_viz.evaluation.scoring import NMS_THRESHOLD, box_areas
from daec_viz.exceptions import InputError


def configs_of(methods: Iterable[str], decode_options: Mapping[str, Any] | None = None
               ) -> dict[str, DecoderConfig]:
    """name -> :class:`DecoderConfig` of ``methods`` with shared and per-method options
    (``{"delta": 3}`` or ``{"daec": {"delta": 3}}``); options a method does not read are
    dropped by the config itself."""
    methods = list(methods)
    bad = [m for m in methods if m not in ALL_METHODS]
    if bad or not methods:
        raise InputError(f"expected methods from {ALL_METHODS}, got {methods}",
                         field="methods")
    opts = dict(decode_options or {})
    shared = {k: v for k, v in opts.items() if not isinstance(v, Mapping)}
    return {m: DecoderConfig.of(m, **{**shared, **dict(opts.get(m) or {})})
            for m in methods}


def match_to_ground_truth(dataset: Any, pred_img: np.ndarray, scores: np.ndarray,
                          gts: GroundTruthTable | None = None
                          ) -> tuple[np.ndarray, np.ndarray | None]:
    """Each instance's ground-truth person: its own annotation for a GT box; for a
    detector box (``ann_id == -1``), the greedy OKS >= 0.1 match per image among the boxes
    that survive the evaluation's OKS-NMS (:func:`match_detections`).

    Parameters
    ----------
    dataset : a :class:`~daec_viz.io.datasets.Dataset` (N instances).
    pred_img : (N, K, 2) one decoder's keypoints, image px.
    scores : (N,) their instance scores (the HRNet rescoring of ``predict``).
    gts : the dataset's :func:`ground_truth_table` (built when None).

    Returns
    -------
    match : (N,) int64 row of ``gts`` (-1: none, or suppressed by OKS-NMS).
    keep : (M,) rows kept by OKS-NMS, None when every instance is a GT box.
    """
    if gts is None:
        gts = ground_truth_table(dataset.coco, dataset.num_keypoints, dataset.category_id)
    inst = dataset.instances
    image_ids = inst["image_id"].to_numpy().astype(np.int64)
    ann_ids = inst["ann_id"].to_numpy().astype(np.int64)
    match = gts.index_of(ann_ids)
    need_match = ann_ids == -1
    if not need_match.any():
        return match, None
    sigmas = np.asarray(dataset.oks_sigmas, dtype=np.float64)
    # as evaluation.evaluate: OKS-NMS, then match only what is submitted
    keep = oks_nms(pred_img, scores, box_areas(dataset), NMS_THRESHOLD, sigmas, image_ids)
    sub = np.intersect1d(keep, np.flatnonzero(need_match))
    match[np.setdiff1d(np.flatnonzero(need_match), sub)] = -1
    match[sub], _ = match_detections(pred_img[sub], image_ids[sub], scores[sub], gts, sigmas)
    return match, keep


def matched_ground_truth(match: np.ndarray, gts: GroundTruthTable, affines: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ground truth of each instance's matched person (:func:`match_to_ground_truth`).

    Parameters
    ----------
    match : (N,) rows of ``gts`` (-1: none).
    gts : the GT table (K joints).
    affines : (N, 2, 3) the instances' heatmap -> image affines (``dataset.affines()``).

    Returns
    -------
    ``gt_kp`` (N, K, 3) image px + visibility, ``area`` (N,) image px², ``gt_hm`` (N, K, 2)
    heatmap px (through each instance's own affine); NaN where unmatched or unlabelled.
    """
    match = np.asarray(match, dtype=np.int64).reshape(-1)
    n, k = match.size, gts.keypoints.shape[1]
    has = match >= 0
    gt_kp = np.full((n, k, 3), np.nan)
    gt_kp[has] = gts.keypoints[match[has]]
    area = np.full(n, np.nan)
    area[has] = gts.area[match[has]]
    return gt_kp, area, gt_in_heatmap(labelled_xy(gt_kp), affines)


def analyse_errors(dataset: Any, methods: Iterable[str] = ALL_METHODS,
                   decode_options: Mapping[str, Any] | None = None, batch: int = 256, *,
                   configs: Mapping[str, DecoderConfig] | None = None,
                   maps: np.ndarray | None = None,
                   blurred: Mapping[int, np.ndarray] | None = None,
                   n_boot: int = 1000, ci: float = 0.95, seed: int | None = 0,
                   phase_bins: int = 10, hist_bins: int = 41,
                   zero_tol: float = DEFAULT_ZERO_TOL, taxonomy: bool = True,
                   ap: bool = True, engine: str = "hotcoco", correction: str = "gt",
                   include_outside: bool = False,
                   progress: bool | Callable[[float, str], Any] = False) -> ErrorAnalysis:
    """Error vectors, quadrants, bias, phase and taxonomy of decoders on a dataset.

    The heatmaps are streamed in slices of ``batch`` instances (each slice decoded by every
    method, then dropped); only the (N, K, 2) coordinates are kept.

    Parameters
    ----------
    dataset : a :class:`~daec_viz.io.datasets.Dataset` (or a subset view).
    methods : decoders, from :data:`daec_viz.decoding.ALL_METHODS` (the result's keys;
        default: every decoder).
    decode_options : options of each method's :class:`~daec_viz.decoding.DecoderConfig`:
        either shared (``{"delta": 3, "pattern": "BR"}``) or per method
        (``{"daec": {"delta": 3}}``), or both; an option a method does not read is dropped.
    configs : instead of ``methods`` and ``decode_options``: name -> config (e.g.
        ``{"dark": DecoderConfig("dark"), "daec": DecoderConfig("daec", delta=3)}``).
        Either way the keypoints come from :func:`~daec_viz.evaluation.predict.predict_many`
        and configs are resolved with the dataset's σ.
    maps, blurred : heatmaps already in memory (raw, and ``{kernel: blurred}``), passed to
        :func:`~daec_viz.evaluation.predict.predict_many` instead of reading the cache.
    batch : instances per slice.
    n_boot, ci, seed : bootstrap of the mean bias.
    phase_bins, hist_bins : bins of the phase curve and of the 2-D histogram.
    zero_tol : "zero" tolerance of the quadrant rule, image px.
    include_outside : also analyse the error of joints whose GT lies outside the heatmap
        (beyond half a pixel from its border) and of invalid maps (maximum <= 0). Off by
        default: no decoder can place a point there, so those errors say nothing about
        decoding bias and, being huge, would swamp the means. (They still count in the
        taxonomy and the AP.)
    taxonomy : compute the keypoint error taxonomy.
    ap : also recompute the COCO AP with each error type corrected (``engine``,
        ``correction`` as in :func:`~daec_viz.analysis.taxonomy.taxonomy_ap`).
    progress : True for a tqdm bar, or a callable ``progress(fraction, label)`` called
        after each slice and each method's analysis (the project's convention).

    Returns
    -------
    ErrorAnalysis.

    Notes
    -----
    Instances with a GT box (``ann_id != -1``) are compared with their own annotation.
    Detected boxes are matched per method by greedy OKS >= 0.1 per image
    (:func:`~daec_viz.analysis.taxonomy.match_detections`), so each decoder gets its own
    matches. The instance score is ``det_score * mean(maxvals > 0.2)`` (HRNet).
    """
    cfgs = dict(configs) if configs is not None else configs_of(methods, decode_options)
    if not cfgs:
        raise InputError("expected at least one decoder", field="configs")
    methods = list(cfgs)
    if batch < 1:
        raise InputError(f"expected a positive batch size, got {batch}", field="batch")
    meta = dataset.meta
    n, k = len(dataset), dataset.num_keypoints

    bar = None
    report: Callable[[float, str], Any] | None = None
    if progress is True:
        from tqdm import tqdm
        bar = tqdm(total=1000, desc="errors", leave=False)

        def report(fraction: float, label: str) -> None:
            bar.set_postfix_str(label, refresh=False)
            bar.update(max(0, int(fraction * 1000) - bar.n))
    elif callable(progress):
        report = progress
    decode_share = 0.6 if (taxonomy and ap) else 0.8
    preds = dict(zip(methods, predict_many(
        dataset, list(cfgs.values()), maps=maps, blurred=blurred, batch=batch,
        progress=None if report is None else (lambda f, lab: report(decode_share * f, lab))),
        strict=True))

    inst = dataset.instances
    image_ids = inst["image_id"].to_numpy().astype(np.int64)
    aff = dataset.affines()
    sigmas = np.asarray(dataset.oks_sigmas, dtype=np.float64)
    flip_pairs = list(dataset.flip_pairs)
    gts = ground_truth_table(dataset.coco, k, dataset.category_id)

    results: dict[str, MethodErrors] = {}
    for m in methods:
        p = preds[m]
        pred_hm, pred_img, scores = p.coords_hm, p.coords_img, p.scores
        match, keep = match_to_ground_truth(dataset, pred_img, scores, gts)
        gt_kp, area, gt_hm = matched_ground_truth(match, gts, aff)
        gt_img = labelled_xy(gt_kp)
        usable = np.isfinite(gt_img).all(-1)
        if not include_outside:
            usable &= inside_heatmap(gt_hm, meta.heatmap_size) & p.valid
        me = MethodErrors(m, p.config.options(), pred_hm, gt_hm, pred_img, gt_img, area,
                          match, p.maxvals, scores, usable)
        err_img = me.err_img
        err_hm = me.err_hm
        me.quadrants = quadrant_stats(err_img, zero_tol)
        me.bias = bootstrap_biases({"hm": err_hm, "img": err_img,
                                    "oks": normalise_by_oks_scale(err_img, area)},
                                   n_boot=n_boot, ci=ci, seed=seed)
        me.phase = subpixel_phase(gt_hm, err_hm, bins=phase_bins)
        me.hist_hm = error_histogram2d(err_hm, bins=hist_bins)
        if taxonomy:
            me.taxonomy = classify_keypoints(pred_img, image_ids, match, gts, sigmas,
                                             flip_pairs)
            if ap:
                me.taxonomy_ap = taxonomy_ap(dataset.coco, image_ids, pred_img, scores,
                                             me.taxonomy, sigmas, engine=engine,
                                             img_ids=dataset.image_ids,
                                             correction=correction,
                                             keypoint_scores=p.maxvals, keep=keep,
                                             category_id=dataset.category_id)
        results[m] = me
        if report is not None:
            report(decode_share + (1 - decode_share) * (len(results) / len(methods)),
                   f"analysed {m}")
    if bar is not None:
        bar.close()

    info = {"dataset": str(getattr(dataset, "path", "")), "num_instances": n,
            "num_keypoints": k, "gt_boxes": int((inst["ann_id"].to_numpy() != -1).sum()),
            "heatmap_size": list(meta.heatmap_size), "sigma": float(meta.sigma),
            "convention": meta.convention, "model": meta.model,
            "simulated": bool(meta.simulated), "n_boot": n_boot, "ci": ci, "seed": seed,
            "include_outside": include_outside,
            "configs": {m: preds[m].config.to_dict() for m in methods},
            "zero_tol": zero_tol, "zero_rule": "components with |e| <= zero_tol count as "
            "'none' (no quadrant); quadrant shares exclude them",
            "correction": correction if (taxonomy and ap) else None}
    return ErrorAnalysis(results, tuple(dataset.keypoint_names), list(dataset.skeleton),
                         flip_pairs, sigmas, image_ids, info)
