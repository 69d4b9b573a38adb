"""PCKh for MPII-style single-person data (16 joints).

A joint is correct when its distance to the ground truth is below ``thr * normalize``
(strictly, as bearpaw's/HRNet's ``eval_PCKh.py``; MATLAB's ``evalMPII`` counts ``<=``,
which differs only for a distance exactly on the threshold),
where ``normalize`` is the head-size normaliser (0.6 x head-box diagonal, the
``normalize`` field of the usual ``valid.h5``). Joints whose ground truth is missing
(x <= 0 and y <= 0: ``valid.h5`` stores them as (0, 0), exactly the 3,088 joints that the
reference ``detections_our_format.mat`` flags missing; (-1, -1) of other conversions is
missing too) are left out. A labelled joint may lie at x = 0: ``valid.h5`` rounds the head
top of person 1856 (x = 0.27 in the reference) to (0, 121). Groups: Head is the head-top
joint (9); Shoulder, Elbow, Wrist, Hip, Knee, Ankle average their left and right joints;
Mean is the **unweighted** mean of the 14 per-joint values other than pelvis (6) and
thorax (7). ``MeanWeighted`` is the variant some code bases print (the same 14 joints
weighted by their number of labelled instances).

MPII joint order: 0 r-ankle, 1 r-knee, 2 r-hip, 3 l-hip, 4 l-knee, 5 l-ankle, 6 pelvis,
7 thorax, 8 upper-neck, 9 head-top, 10 r-wrist, 11 r-elbow, 12 r-shoulder,
13 l-shoulder, 14 l-elbow, 15 l-wrist.

Coordinates: predictions and ground truth must share one convention. ``valid.h5`` (from
the stacked-hourglass training code) holds the original MPII pixel coordinates, which are
MATLAB-style 1-based; the predictions ``.mat`` files of that code base (e.g.
``preds_hg_s2_b1.mat``) are in the same 1-based convention, so no offset is applied
(checked: shifting the predictions by ±1 px moves every published number away,
e.g. Head 95.84 -> 95.70 / 96.01). If your predictions are 0-based (Python pixel
centres) and the GT comes from ``valid.h5``, add 1 to them before calling :func:`pckh`.

Published numbers (tests/test_pckh.py): bearpaw's hourglass predictions against
``valid.h5`` give its published Shoulder, Elbow, Wrist, Hip, Knee and Mean exactly
(hg_s2_b1 Mean 86.76, hg_s8_b1 88.64); Head and Ankle differ by a few joints (hg_s2 95.84
vs 95.80, 77.47 vs 77.44) because the published table scores against bearpaw's
``detections_our_format.mat``, whose GT holds the original non-integer coordinates
(``valid.h5`` truncates them to integers, moving a head top by up to 1.4 px) and puts
person 682's right ankle at x = 0. Prediction files: :mod:`daec_viz.io.mpii`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from daec_viz.exceptions import InputError
from daec_viz.io.mpii import load_mpii_annotations, load_mpii_predictions

__all__ = ["MPII_JOINT_NAMES", "PCKH_GROUPS", "MEAN_JOINTS", "pckh", "load_mpii_annotations",
           "load_mpii_predictions"]

MPII_JOINT_NAMES: tuple[str, ...] = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow",
    "l_wrist")

PCKH_GROUPS: dict[str, tuple[int, ...]] = {
    "Head": (9,),
    "Shoulder": (12, 13),
    "Elbow": (11, 14),
    "Wrist": (10, 15),
    "Hip": (2, 3),
    "Knee": (1, 4),
    "Ankle": (0, 5),
}
"""Joint indices of each reported group (the group value is the mean of its joints)."""

MEAN_JOINTS: tuple[int, ...] = tuple(j for j in range(16) if j not in (6, 7))


def pckh(preds: Any, gt: Any, normalize: Any, visible: Any = None,
         thresholds: tuple[float, ...] = (0.5, 0.1)) -> dict[float, dict[str, Any]]:
    """PCKh (in %) at each threshold.

    Parameters
    ----------
    preds : (N, 16, 2) predicted (x, y), same pixel convention as ``gt``.
    gt : (N, 16, 2) ground truth; a joint with x <= 0 and y <= 0 is missing and left out.
    normalize : (N,) head-size normaliser, px.
    visible : (N, 16) bool, optional. If given, only joints with ``visible`` true (and
        GT present) count. The published MPII numbers do **not** use it (MPII's
        visibility flag marks occlusion, and occluded joints are evaluated).
    thresholds : fractions of ``normalize``.

    Returns
    -------
    ``{thr: {"per_joint": (16,) float (NaN where no joint is labelled),
    "count": (16,) int labelled joints, "Head", "Shoulder", "Elbow", "Wrist", "Hip",
    "Knee", "Ankle", "Mean", "MeanWeighted": float}}``.
    """
    p = np.asarray(preds, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    nrm = np.asarray(normalize, dtype=np.float64)
    if g.ndim != 3 or g.shape[1:] != (16, 2):
        raise InputError(f"expected shape (N, 16, 2), got {g.shape}", field="gt")
    if p.shape != g.shape:
        raise InputError(f"expected shape {g.shape} like gt, got {p.shape}", field="preds")
    n = g.shape[0]
    if nrm.shape != (n,):
        raise InputError(f"expected shape ({n},), got {nrm.shape}", field="normalize")
    labelled = (g[..., 0] > 0) | (g[..., 1] > 0)
    if not np.all(np.isfinite(g[labelled])):
        raise InputError("non-finite ground truth of a labelled joint", field="gt")
    if not np.all(np.isfinite(nrm)) or np.any(nrm <= 0):
        raise InputError("expected finite positive head sizes", field="normalize")
    if visible is not None:
        vis = np.asarray(visible)
        if vis.shape != (n, 16):
            raise InputError(f"expected shape ({n}, 16), got {vis.shape}", field="visible")
        labelled &= vis.astype(bool)
    # a NaN/inf prediction is simply wrong (never correct), not an error
    dist = np.linalg.norm(p - g, axis=-1) / nrm[:, None]
    dist = np.where(np.isfinite(dist), dist, np.inf)
    count = labelled.sum(axis=0)
    out: dict[float, dict[str, Any]] = {}
    for thr in thresholds:
        correct = ((dist < thr) & labelled).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_joint = np.where(count > 0, 100.0 * correct / np.maximum(count, 1), np.nan)
        res: dict[str, Any] = {"per_joint": per_joint, "count": count}
        for name, joints in PCKH_GROUPS.items():
            res[name] = float(np.mean(per_joint[list(joints)]))
        mj = list(MEAN_JOINTS)
        res["Mean"] = float(np.mean(per_joint[mj]))
        res["MeanWeighted"] = float(100.0 * correct[mj].sum() / max(int(count[mj].sum()), 1))
        out[float(thr)] = res
    return out
