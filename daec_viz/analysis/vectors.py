"""Error vectors and their quadrants (image axes: x right, y down).

``e = pred - GT`` per instance and joint, (N, K, 2) as (x, y): in heatmap px, in image
px, and normalised by the OKS scale ``s = sqrt(area)`` of the GT person (unitless).
Quadrants: BR = x > 0, y > 0; UR = x > 0, y < 0; BL = x < 0, y > 0; UL = x < 0, y < 0.
**Zero rule**: a component ``|e| <= zero_tol`` (default 1e-6 image px) lies on an axis
and has no quadrant: it is counted in the separate bucket ``none`` and left out of the
shares (argmax decoders return integer positions, so exact zeros are common; sending
them to one side by decree could manufacture the very BR > UR > BL > UL ordering the
check tests). Also the 2-D error histogram.

>>> import numpy as np
>>> err = np.array([[[0.4, 0.2], [0.3, -0.1], [0.0, 0.5], [-0.2, 0.1]]])
>>> quadrant_stats(err).counts
{'BR': 1, 'UR': 1, 'BL': 1, 'UL': 0, 'none': 1}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from daec_viz.analysis.jsonable import json_num
from daec_viz.exceptions import InputError

QUADRANTS: tuple[str, ...] = ("BR", "UR", "BL", "UL")
"""Quadrant names in code order 0..3."""
QUADRANT_BUCKETS: tuple[str, ...] = QUADRANTS + ("none",)
"""Quadrants plus ``none`` (code 4: a zero component); code -1 = missing (NaN)."""
PAPER_ORDER: tuple[str, ...] = ("BR", "UR", "BL", "UL")
"""The ordering the DAEC paper reports (BR > UR > BL > UL)."""
DEFAULT_ZERO_TOL = 1e-6


# --------------------------------------------------------------------------- vectors

def labelled_xy(keypoints: np.ndarray) -> np.ndarray:
    """(..., K, 3) keypoints with visibility -> (..., K, 2) x, y with NaN where v <= 0."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[-1] == 2:
        return kp.copy()
    if kp.shape[-1] != 3:
        raise InputError(f"expected (..., K, 2) or (..., K, 3), got {kp.shape}",
                         field="keypoints")
    xy = kp[..., :2].copy()
    with np.errstate(invalid="ignore"):
        xy[~(kp[..., 2] > 0)] = np.nan
    return xy


def error_vectors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Error vectors ``pred - gt``.

    Parameters
    ----------
    pred : (N, K, 2) x, y (heatmap px or image px).
    gt : (N, K, 2), or (N, K, 3) with COCO visibility (v <= 0 -> missing), same units.

    Returns
    -------
    (N, K, 2) float64; NaN where the GT or the prediction is missing/non-finite (both
    components NaN together, never one alone).
    """
    p = np.asarray(pred, dtype=np.float64)
    g = labelled_xy(gt)
    if p.shape != g.shape or p.ndim < 1 or p.shape[-1] != 2:
        raise InputError(f"expected pred and gt of the same shape (N, K, 2), got {p.shape} "
                         f"and {g.shape}", field="pred")
    e = p - g
    bad = ~np.isfinite(e).all(-1)
    e[bad] = np.nan
    return e


def normalise_by_oks_scale(err_img: np.ndarray, area: np.ndarray) -> np.ndarray:
    """``err_img / sqrt(area)``: errors in units of the person's OKS scale ``s``.

    ``err_img`` (N, K, 2) image px, ``area`` (N,) image px² (the GT's COCO area). NaN where
    the area is not positive.
    """
    s = np.sqrt(np.asarray(area, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        s = np.where(s > 0, s, np.nan)
    return np.asarray(err_img, dtype=np.float64) / s[:, None, None]


# --------------------------------------------------------------------------- quadrants

def quadrant_codes(err: np.ndarray, zero_tol: float = DEFAULT_ZERO_TOL) -> np.ndarray:
    """Quadrant code of each error vector, image axes (x right, y down).

    Codes: 0 BR (x>0, y>0), 1 UR (x>0, y<0), 2 BL (x<0, y>0), 3 UL (x<0, y<0),
    4 ``none`` (a component with ``|e| <= zero_tol``: on an axis, see the module
    docstring), -1 missing (NaN).

    Parameters
    ----------
    err : (..., 2) errors, x and y.
    zero_tol : tolerance for "zero", in the units of ``err``.

    Returns
    -------
    (...) int8.
    """
    e = np.asarray(err, dtype=np.float64)
    x, y = e[..., 0], e[..., 1]
    finite = np.isfinite(x) & np.isfinite(y)
    with np.errstate(invalid="ignore"):
        right = x > 0
        down = y > 0
        zero = (np.abs(x) <= zero_tol) | (np.abs(y) <= zero_tol)
    code = np.where(right, np.where(down, 0, 1), np.where(down, 2, 3)).astype(np.int8)
    code[zero] = 4
    code[~finite] = -1
    return code


@dataclass(frozen=True)
class QuadrantStats:
    """Quadrant counts of a set of error vectors.

    Attributes
    ----------
    counts : ``{"BR", "UR", "BL", "UL", "none"}`` -> number of errors (missing excluded).
    per_joint : (K, 5) counts per joint in :data:`QUADRANT_BUCKETS` order (None if the
        errors had no joint axis).
    """

    counts: dict[str, int]
    per_joint: np.ndarray | None = None

    @property
    def n_labelled(self) -> int:
        """Errors counted (the four quadrants + none)."""
        return int(sum(self.counts.values()))

    @property
    def n_quadrant(self) -> int:
        """Errors that lie in a quadrant (not on an axis)."""
        return int(sum(self.counts[q] for q in QUADRANTS))

    @property
    def shares(self) -> dict[str, float]:
        """Share of each quadrant among the errors in a quadrant (sums to 1)."""
        n = self.n_quadrant
        return {q: (self.counts[q] / n if n else float("nan")) for q in QUADRANTS}

    @property
    def none_share(self) -> float:
        """Share of the counted errors lying on an axis."""
        n = self.n_labelled
        return self.counts["none"] / n if n else float("nan")

    @property
    def order(self) -> tuple[str, ...]:
        """Quadrants by decreasing count (ties in BR, UR, BL, UL order)."""
        return tuple(sorted(QUADRANTS, key=lambda q: -self.counts[q]))

    def follows(self, order: Sequence[str] = PAPER_ORDER) -> bool:
        """True when counts strictly decrease along ``order`` (default BR > UR > BL > UL)."""
        c = [self.counts[q] for q in order]
        return all(a > b for a, b in zip(c, c[1:], strict=False))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"counts": dict(self.counts),
                "shares": {k: json_num(v) for k, v in self.shares.items()},
                "none_share": json_num(self.none_share), "order": list(self.order),
                "follows_paper_order": self.follows()}


def quadrant_stats(err: np.ndarray, zero_tol: float = DEFAULT_ZERO_TOL) -> QuadrantStats:
    """Count error vectors per quadrant (see :func:`quadrant_codes`).

    Parameters
    ----------
    err : (N, K, 2) errors (or (n, 2)); NaN entries are skipped.
    """
    e = np.asarray(err, dtype=np.float64)
    codes = quadrant_codes(e, zero_tol)
    ok = codes >= 0
    c = np.bincount(codes[ok].ravel().astype(np.int64), minlength=5)
    per_joint = None
    if e.ndim == 3:
        k = e.shape[1]
        joint = np.broadcast_to(np.arange(k), codes.shape)
        per_joint = np.bincount(joint[ok] * 5 + codes[ok], minlength=5 * k).reshape(k, 5)
    return QuadrantStats({b: int(v) for b, v in zip(QUADRANT_BUCKETS, c, strict=True)},
                         per_joint)


def quadrant_name(v: np.ndarray) -> str | None:
    c = int(quadrant_codes(np.asarray(v, dtype=np.float64), 0.0))
    return None if c < 0 else QUADRANT_BUCKETS[c]


# --------------------------------------------------------------------------- histograms

@dataclass(frozen=True)
class Histogram2D:
    """2-D histogram of error vectors: ``counts[iy, ix]`` (rows = y, down), edges in the
    units of the errors."""

    counts: np.ndarray
    x_edges: np.ndarray
    y_edges: np.ndarray

    @property
    def x_centers(self) -> np.ndarray:
        return (self.x_edges[:-1] + self.x_edges[1:]) / 2

    @property
    def y_centers(self) -> np.ndarray:
        return (self.y_edges[:-1] + self.y_edges[1:]) / 2


def error_histogram2d(err: np.ndarray, bins: int = 41,
                      extent: float | None = None) -> Histogram2D:
    """Histogram of error vectors on a square grid centred on 0.

    Parameters
    ----------
    err : (..., 2) errors; NaN skipped.
    bins : bins per axis (odd keeps a bin centred on 0).
    extent : half-width of the grid; default: the 99th percentile of ``max(|x|, |y|)``
        (at least 1e-9). Errors outside are not counted.
    """
    e = np.asarray(err, dtype=np.float64).reshape(-1, 2)
    e = e[np.isfinite(e).all(1)]
    if extent is None:
        extent = float(np.percentile(np.abs(e).max(1), 99)) if e.size else 1.0
        extent = max(extent, 1e-9)
    edges = np.linspace(-extent, extent, bins + 1)
    counts, _, _ = np.histogram2d(e[:, 1], e[:, 0], bins=(edges, edges))
    return Histogram2D(counts.astype(np.int64), edges, edges.copy())
