"""Score a dataset's predictions: the 10 COCO keypoint stats of a decoder configuration.

The glue between :func:`~daec_viz.evaluation.predict.predict` (the one path from
heatmaps to image-px keypoints) and the COCO evaluator
(:mod:`daec_viz.evaluation.coco_eval`). Instance scores follow the usual top-down
rescoring (HRNet / Simple Baselines): detection score × mean of the keypoint maxima
above 0.2 (0 when none is). OKS-NMS (threshold 0.9) is applied for detector boxes only:
caches of GT boxes (every ``ann_id`` set) have one box per person and nothing to
suppress.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from daec_viz.decoding import DecoderConfig
from daec_viz.evaluation.coco_eval import (
    coco_keypoint_stats,
    instance_scores,
    oks_nms,
    results_from_arrays,
)
from daec_viz.evaluation.predict import RESCORE_THRESHOLD, ProgressFn, predict

#: OKS threshold of the NMS applied to detector boxes (HRNet's 0.9).
NMS_THRESHOLD = 0.9


def uses_detected_boxes(dataset: Any) -> bool:
    """True when some instance has no GT annotation of its own (detector boxes)."""
    return bool((dataset.instances["ann_id"].to_numpy() == -1).any())


def box_areas(dataset: Any) -> np.ndarray:
    """(n,) areas of the instances' padded boxes in image px² (HRNet's NMS area)."""
    inst = dataset.instances
    return (inst["scale_x"].to_numpy() * inst["scale_y"].to_numpy()) * 200.0 ** 2


def submission(dataset: Any, coords_img: np.ndarray, maxvals: np.ndarray,
               nms: bool | None = None, rows: np.ndarray | None = None
               ) -> tuple[list[dict], list[int]]:
    """What is submitted to COCOeval for predictions of ``dataset``'s instances.

    Rescores the instances, applies OKS-NMS (``nms`` None = on exactly when detector
    boxes are used) and builds the COCO keypoint results list.

    Parameters
    ----------
    coords_img : (n, K, 2) image px, one row per instance of ``dataset``.
    maxvals : (n, K) keypoint maxima (the keypoint scores and the rescoring input).
    rows : submit only these rows (and evaluate only their images); default all.

    Returns
    -------
    ``(results, img_ids)``: the result dicts, and the images COCOeval runs on: those
    that hold at least one of the evaluated instances (``dataset.image_ids`` for all
    rows), so GT persons in images without any cached instance are not counted.
    """
    inst = dataset.instances
    image_ids = inst["image_id"].to_numpy().astype(np.int64)
    scores = instance_scores(inst["score"].to_numpy(), maxvals, RESCORE_THRESHOLD)
    sel = np.arange(len(inst)) if rows is None else np.asarray(rows)
    if nms is None:
        nms = uses_detected_boxes(dataset)
    if nms and sel.size:
        keep = oks_nms(coords_img[sel], scores[sel], box_areas(dataset)[sel],
                       NMS_THRESHOLD, dataset.oks_sigmas, image_ids[sel])
        kept = sel[keep]
    else:
        kept = sel
    results = results_from_arrays(image_ids[kept], coords_img[kept], maxvals[kept],
                                  scores[kept], category_id=dataset.category_id)
    img_ids = np.unique(image_ids[sel]).tolist() if rows is not None else dataset.image_ids
    return results, list(img_ids)


def score_predictions(dataset: Any, coords_img: np.ndarray, maxvals: np.ndarray,
                      engine: str = "hotcoco", nms: bool | None = None,
                      rows: np.ndarray | None = None) -> dict[str, float]:
    """The 10 COCO keypoint stats of image-px predictions of ``dataset``'s instances
    (see :func:`submission` for ``coords_img``, ``maxvals``, ``nms`` and ``rows``)."""
    results, img_ids = submission(dataset, coords_img, maxvals, nms=nms, rows=rows)
    return coco_keypoint_stats(dataset.coco, results, engine=engine, img_ids=img_ids,
                               sigmas=dataset.oks_sigmas)


def evaluate(dataset: Any, config: DecoderConfig | str = "standard", engine: str = "hotcoco",
             *, nms: bool | None = None, batch: int = 512, progress: ProgressFn | None = None,
             **options: Any) -> dict[str, float]:
    """COCO keypoint stats (AP, AP50, AP75, APM, APL, AR, AR50, AR75, ARM, ARL) of a decoder.

    Decodes every instance with :func:`~daec_viz.evaluation.predict.predict` (streamed;
    ``config`` a :class:`~daec_viz.decoding.DecoderConfig` or a method name plus
    ``options``), maps the keypoints to image px, rescores instances and runs the COCO
    evaluator.

    Examples
    --------
    >>> from daec_viz import load_dataset, evaluate            # doctest: +SKIP
    >>> evaluate(load_dataset("data/demo"), "daec", delta=4)   # doctest: +SKIP
    {'AP': 0.83..., 'AP50': ..., ...}
    """
    pred = predict(dataset, config, batch=batch, progress=progress, **options)
    return score_predictions(dataset, pred.coords_img, pred.maxvals, engine=engine, nms=nms)
