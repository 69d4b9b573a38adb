"""Three-point Gaussian peak fit: the classic sub-pixel estimator, one axis at a time.

Semantics (on the raw map, no blur): with ``(cx, cy)`` the integer argmax (first maximum
in row-major order) and ``l(v) = log(max(v, 1e-10))``,

    x = cx + (l(h[cy, cx-1]) - l(h[cy, cx+1]))
             / (2 (l(h[cy, cx-1]) - 2 l(h[cy, cx]) + l(h[cy, cx+1])))

and likewise for y along the column. This is the vertex of the parabola through the three
log values, so it is exact for a noise-free sampled Gaussian (whose log is a parabola)
whatever its σ, as long as none of the three values is clamped. An axis keeps its integer
position where the argmax lies on that axis's first or last pixel (no neighbour on one
side) or where the denominator is not negative (all three log values equal: no peak to
fit). At the maximum the denominator is never positive, so the step is always within
±0.5 px.

Coordinates are heatmap px: x = column, y = row, pixel centres at integers. This is the
3-point log-Gaussian estimator of PIV/laser-line sub-pixel peak fitting (the field notes
cite LaserMat ``subfilters/gaussian.m``); no pose-specific reference code exists.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from daec_viz.decoding.argmax import map_peak, store_result
from daec_viz.decoding.threads import run_kernel

CLAMP = 1e-10


@nb.njit(cache=True, nogil=True)
def _axis_step(lo, mid, hi):
    # Vertex offset of the parabola through (-1, l(lo)), (0, l(mid)), (1, l(hi)); 0 where
    # the three points have no strict maximum (denominator >= 0).
    a = math.log(max(np.float64(lo), CLAMP))
    b = math.log(max(np.float64(mid), CLAMP))
    c = math.log(max(np.float64(hi), CLAMP))
    den = 2.0 * (a - 2.0 * b + c)
    if den < 0.0:
        return (a - c) / den
    return 0.0


@nb.njit(cache=True, nogil=True)
def gauss3_kernel(hm, coords, scores, valid):
    """Three-point Gaussian fit on every map. hm (M, H, W); outputs coords (M, 2),
    scores (M,), valid (M,)."""
    m_maps, h, w = hm.shape
    for i in range(m_maps):
        img = hm[i]
        x, y, mx, ok = map_peak(img)
        fx = np.float64(x)
        fy = np.float64(y)
        if ok:
            if 0 < x < w - 1:
                fx += _axis_step(img[y, x - 1], img[y, x], img[y, x + 1])
            if 0 < y < h - 1:
                fy += _axis_step(img[y - 1, x], img[y, x], img[y + 1, x])
        store_result(coords, scores, valid, i, fx, fy, mx, ok)


def run_gauss3(hm: np.ndarray, coords: np.ndarray, scores: np.ndarray,
               valid: np.ndarray) -> None:
    """Fill ``coords`` (M, 2) heatmap px, ``scores`` (M,), ``valid`` (M,) from maps ``hm``
    (M, H, W) float32/float64 with the three-point Gaussian fit.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:32, 0:24]
    >>> hm = np.exp(-((xx - 10.3) ** 2 + (yy - 20.8) ** 2) / 8.0)[None]
    >>> c, s, v = np.empty((1, 2)), np.empty(1), np.empty(1, bool)
    >>> run_gauss3(hm, c, s, v)
    >>> c.round(9).tolist(), bool(v[0])
    ([[10.3, 20.8]], True)
    """
    run_kernel(gauss3_kernel, hm, (), coords, scores, valid)
