"""PCKh for MPII-style single-person data (16 joints).

A joint is correct when its distance to the ground truth is below ``thr * normalize``
(strictly, as bearpaw's/HRNet's ``eval_PCKh.py``; MATLAB's ``evalMPII`` counts ``<=``,
which differs only for a distance exactly on the threshold),
where ``normalize`` is the head-size normaliser (0.6 x head-box diagonal, the
``normalize`` field of the usual ``valid.h5``). Joints whose ground truth is missing
(x <= 0, the convention of ``valid.h5``) are left out. Groups: Head is the head-top
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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from daec_viz.exceptions import InputError

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
    gt : (N, 16, 2) ground truth; a joint with x <= 0 is missing and left out.
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
    labelled = g[..., 0] > 0
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


def load_mpii_annotations(path_h5: str | Path) -> dict[str, np.ndarray]:
    """Read an MPII annotation file in the stacked-hourglass ``.h5`` format.

    Returns every dataset of the file as an array (``center`` (N,2), ``scale`` (N,),
    ``part`` (N,16,2), ``visible`` (N,16), ``normalize`` (N,), ``imgname`` (N,) str, and
    any others present). Raises InputError naming the file and the missing field.
    """
    import h5py
    path = Path(path_h5)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"not a readable HDF5 file ({exc})", path=path) from None
    with f:
        out: dict[str, np.ndarray] = {}
        for key, ds in f.items():
            if isinstance(ds, h5py.Dataset):
                out[key] = ds[()]
    for key in ("part", "normalize"):
        if key not in out:
            raise InputError("missing", field=key, path=path)
    part = out["part"]
    if part.ndim != 3 or part.shape[1:] != (16, 2):
        raise InputError(f"expected shape (N, 16, 2), got {part.shape}", field="part",
                         path=path)
    if out["normalize"].shape != (part.shape[0],):
        raise InputError(f"expected shape ({part.shape[0]},), got {out['normalize'].shape}",
                         field="normalize", path=path)
    if "imgname" in out:
        out["imgname"] = np.array([s.decode() if isinstance(s, bytes) else str(s)
                                   for s in out["imgname"]])
    return out


def load_mpii_predictions(path_mat: str | Path, field: str = "preds") -> np.ndarray:
    """Read predictions (N, 16, 2) float64 from a MATLAB ``.mat`` file (``preds``).

    Accepts the (N, 16, 2) layout and the transposed (2, 16, N) layout of some code
    bases. Coordinates are returned unchanged (see the module doc on 1-based pixels).
    """
    import scipy.io
    path = Path(path_mat)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        m = scipy.io.loadmat(str(path))
    except (ValueError, OSError, NotImplementedError) as exc:
        raise InputError(f"not a readable MATLAB .mat file ({exc})", path=path) from None
    if field not in m:
        raise InputError("missing", field=field, path=path)
    a = np.asarray(m[field], dtype=np.float64)
    if a.ndim == 3 and a.shape[0] == 2 and a.shape[1] == 16 and a.shape[2] != 2:
        a = a.transpose(2, 1, 0)
    if a.ndim != 3 or a.shape[1:] != (16, 2):
        raise InputError(f"expected shape (N, 16, 2), got {a.shape}", field=field, path=path)
    return a
