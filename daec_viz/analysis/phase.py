"""Sub-pixel phase: where the GT lies relative to the pixel centre, and the error there.

``φ = gt_hm - floor(gt_hm)`` in [0, 1) per axis (0 = on a pixel centre). Argmax on a
noise-free Gaussian returns the nearest pixel centre, so its error is the saw-tooth
``e(φ) = -φ`` for φ <= ½ and ``1 - φ`` for φ > ½ (:func:`argmax_sawtooth`); DARK and DAEC
should flatten it.

>>> import numpy as np
>>> argmax_sawtooth(np.array([0.0, 0.25, 0.75])).tolist()
[-0.0, -0.25, 0.25]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from daec_viz.analysis.jsonable import json_nums
from daec_viz.exceptions import InputError

# --------------------------------------------------------------------------- phase

def argmax_sawtooth(phase: np.ndarray) -> np.ndarray:
    """Analytic argmax error of a noise-free symmetric peak at sub-pixel phase ``phase``.

    The argmax lands on the nearest pixel centre (at φ = ½ exactly on the lower one, as
    ``argmax`` takes the first maximum), so ``e(φ) = -φ`` for φ <= ½ and ``1 - φ`` for
    φ > ½, in heatmap px.
    """
    p = np.asarray(phase, dtype=np.float64)
    return np.where(p > 0.5, 1.0 - p, -p)


def sawtooth_bin_means(edges: np.ndarray) -> np.ndarray:
    """Mean of :func:`argmax_sawtooth` over each bin ``[edges[i], edges[i+1])`` of [0, 1]
    (uniform phase): the analytic curve a binned phase plot of argmax converges to."""
    e = np.asarray(edges, dtype=np.float64)

    def prim(x: np.ndarray) -> np.ndarray:  # antiderivative of the saw-tooth from 0
        return np.where(x <= 0.5, -x ** 2 / 2,
                        -0.125 + (x - 0.5) - (x ** 2 - 0.25) / 2)

    return (prim(e[1:]) - prim(e[:-1])) / np.diff(e)


@dataclass(frozen=True)
class PhaseCurve:
    """Error as a function of the GT's sub-pixel phase, per axis.

    Attributes
    ----------
    edges : (B + 1,) bin edges of φ on [0, 1].
    mean, std : (2, B) mean and standard deviation of the error component along each axis
        (row 0: x error vs φ_x; row 1: y error vs φ_y), heatmap px; NaN for empty bins.
    count : (2, B) errors per bin.
    """

    edges: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    def amplitude(self) -> np.ndarray:
        """(2,) peak-to-peak of the binned mean per axis (≈ 1 for argmax, small when the
        decoder removes the saw-tooth)."""
        m = self.mean
        out = np.full(2, np.nan)
        for a in range(2):  # two axes, not a hot loop
            v = m[a][np.isfinite(m[a])]
            if v.size:
                out[a] = v.max() - v.min()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"centers": self.centers.tolist(), "mean": json_nums(self.mean),
                "std": json_nums(self.std), "count": self.count.tolist(),
                "amplitude": json_nums(self.amplitude())}


def subpixel_phase(gt_hm: np.ndarray, err_hm: np.ndarray, bins: int = 10) -> PhaseCurve:
    """Bin the error by the GT's fractional position inside its heatmap pixel.

    Parameters
    ----------
    gt_hm : (..., 2) GT positions, heatmap px (pixel centres at integers).
    err_hm : (..., 2) errors ``pred - gt``, heatmap px.
    bins : number of equal bins of φ on [0, 1).

    Returns
    -------
    PhaseCurve; φ = ``gt - floor(gt)``.
    """
    g = np.asarray(gt_hm, dtype=np.float64).reshape(-1, 2)
    e = np.asarray(err_hm, dtype=np.float64).reshape(-1, 2)
    if g.shape != e.shape:
        raise InputError(f"gt_hm and err_hm differ in shape: {g.shape} vs {e.shape}",
                         field="err_hm")
    ok = np.isfinite(g).all(1) & np.isfinite(e).all(1)
    g, e = g[ok], e[ok]
    phase = g - np.floor(g)
    b = np.minimum((phase * bins).astype(np.int64), bins - 1)
    axis = np.broadcast_to(np.arange(2), b.shape)
    flat = (axis * bins + b).ravel()
    cnt = np.bincount(flat, minlength=2 * bins).reshape(2, bins)
    s1 = np.bincount(flat, weights=e.ravel(), minlength=2 * bins).reshape(2, bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        dev = e - mean.T[b, np.arange(2)] if e.size else e
        s2 = np.bincount(flat, weights=(dev ** 2).ravel(), minlength=2 * bins).reshape(2,
                                                                                      bins)
        std = np.sqrt(s2 / cnt)
    return PhaseCurve(np.linspace(0.0, 1.0, bins + 1), mean, std, cnt)
