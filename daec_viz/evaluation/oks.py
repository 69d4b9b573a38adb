"""OKS, the COCO keypoint similarity: the formula and COCO's sigmas.

(The flip permutation lives with the flip test, :mod:`daec_viz.decoding.flip`; it is
re-exported here for older imports.)

One home for the rule every part of daec-viz scores keypoints with (COCOeval's matching
is pycocotools' or hotcoco's own; this module reproduces it for NMS, the error taxonomy,
the app's per-person OKS and the Learn page):

    ks_k = exp(−d_k² / (2 · s · (2σ_k)²)),  s = area + ε (image px²),  ε = np.spacing(1)

with ``d_k`` the distance of joint k to the ground truth in image px and ``σ_k`` the
joint's OKS sigma. An instance's OKS is the mean of ks over the ground truth's labelled
joints (v > 0), as pycocotools' ``computeOks``.

Examples
--------
>>> import numpy as np
>>> ks = keypoint_similarity(np.array([[3.0, 4.0]]), np.zeros((1, 2)), 100.0, [0.1])
>>> round(float(ks[0]), 6) == round(float(np.exp(-25 / (2 * 100 * 0.2 ** 2))), 6)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba as nb
import numpy as np

from daec_viz.decoding.flip import flip_permutation

__all__ = ["COCO_OKS_SIGMAS", "OKS_EPS", "similarity", "keypoint_similarity",
           "instance_oks", "flip_permutation"]

#: Per-keypoint OKS sigmas of the COCO keypoint evaluation (pycocotools' values).
COCO_OKS_SIGMAS: np.ndarray = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]
) / 10.0
COCO_OKS_SIGMAS.setflags(write=False)
#: pycocotools' ε in the scale (``np.spacing(1)``).
OKS_EPS = float(np.spacing(1))


@nb.vectorize(["float64(float64, float64, float64)"], cache=True)
def similarity(d2: float, var: float, area: float) -> float:  # pragma: no cover - numba
    """ks of a squared distance ``d2`` (px²), ``var = (2σ)²`` and ``area`` (px²). A numpy
    ufunc that compiled code (OKS-NMS) calls too, so there is one formula."""
    return math.exp(-d2 / var / (area + 2.220446049250313e-16) / 2.0)


def keypoint_similarity(pred_img: np.ndarray, gt_img: np.ndarray, area: np.ndarray | float,
                        sigmas: np.ndarray | Sequence[float]) -> np.ndarray:
    """COCO keypoint similarity of predictions and ground truth.

    Parameters
    ----------
    pred_img, gt_img : (..., K, 2) image px.
    area : (...) the ground truth's area, image px².
    sigmas : (K,) OKS sigmas.

    Returns
    -------
    (..., K) float64 in [0, 1]; NaN where a point is NaN.
    """
    d2 = ((np.asarray(pred_img, np.float64) - np.asarray(gt_img, np.float64)) ** 2).sum(-1)
    var = (2.0 * np.asarray(sigmas, np.float64)) ** 2
    return similarity(d2, var, np.asarray(area, np.float64)[..., None])


def instance_oks(pred_img: np.ndarray, gt_kpts: np.ndarray, area: np.ndarray,
                 sigmas: np.ndarray | Sequence[float]) -> np.ndarray:
    """OKS of predictions with ground-truth persons: mean ks over the GT's labelled joints.

    Parameters
    ----------
    pred_img : (..., K, 2) image px.
    gt_kpts : (..., K, 3) image px + visibility v.
    area : (...) image px².

    Returns
    -------
    (...) float64; 0 where the GT has no labelled joint.
    """
    ks = keypoint_similarity(pred_img, gt_kpts[..., :2], area, sigmas)
    lab = gt_kpts[..., 2] > 0
    cnt = lab.sum(-1)
    tot = np.where(lab, ks, 0.0).sum(-1)
    return np.divide(tot, cnt, out=np.zeros(np.shape(tot)), where=cnt > 0)
