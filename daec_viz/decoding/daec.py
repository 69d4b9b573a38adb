"""DAEC: Distribution-Aware and Error-Compensation coordinate decoding.

The estimate is the value-weighted centroid of the heatmap (clamped at 1e-10) over a
window of half-width ``e = int(3 * sigma + 1)`` (6σ+3 wide) around the integer argmax
``(cx, cy)``, with ``delta`` pixels cut off one corner (the paper's eq. (10) in 2-D).

Cut patterns name the corner that is cut; each pulls the estimate toward the opposite
corner and so compensates an error biased toward the cut corner:

======= ========================================== =========================================
pattern x range (inclusive)                         y range (inclusive)
======= ========================================== =========================================
``BR``  ``[cx - e, cx + e - Δx]``                   ``[cy - e, cy + e - Δy]``
``UR``  ``[cx - e, cx + e - Δx]``                   ``[cy - e + Δy, cy + e]``
``BL``  ``[cx - e + Δx, cx + e]``                   ``[cy - e, cy + e - Δy]``
``UL``  ``[cx - e + Δx, cx + e]``                   ``[cy - e + Δy, cy + e]``
======= ========================================== =========================================

The window is clipped to the map after the cut; negative Δ widens the cut side. Beyond
the paper, Δ may be fractional: the boundary column (row) enters with weight
``1 - frac(Δ)``, so integer Δ gives exactly the paper's result and the estimate moves
continuously in between. An empty window leaves the argmax unchanged (as the reference
code does).

Coordinates are heatmap px: x = column, y = row, pixel centres at integers.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .argmax import scan_map

PATTERNS: tuple[str, ...] = ("BR", "UR", "BL", "UL")
# (cut high x?, cut high y?) for each pattern; otherwise the low side is cut.
_CUT_HIGH: dict[str, tuple[bool, bool]] = {
    "BR": (True, True),
    "UR": (True, False),
    "BL": (False, True),
    "UL": (False, False),
}
CLAMP = 1e-10


def half_width(sigma: float) -> int:
    """``e = int(3σ + 1)``: the window spans ``[c - e, c + e]`` (6σ + 3 px for integer σ)."""
    return int(3.0 * sigma + 1.0)


def default_delta(sigma: float) -> int:
    """The paper's empirical optimum without smoothing, ``Δ = int(σ + 2)``."""
    return int(sigma + 2.0)


def axis_bounds(center: int, e: int, delta: float, cut_high: bool) -> tuple[int, int, int, float]:
    """Window extent along one axis before clipping.

    Returns ``(lo, hi, partial, weight)``: every index in ``[lo, hi]`` has weight 1 except
    ``partial`` (``lo`` or ``hi``), whose weight is ``weight`` (1.0 for integer Δ).
    """
    whole = math.floor(delta)
    frac = delta - whole
    if cut_high:
        lo, hi = center - e, center + e - whole
        return lo, hi, hi, 1.0 - frac
    lo, hi = center - e + whole, center + e
    return lo, hi, lo, 1.0 - frac


@nb.njit(cache=True, nogil=True)
def _bounds(c, e, whole, frac, cut_high, size):
    # Same as axis_bounds, then clipped to [0, size - 1]; partial = -1 if clipped away.
    if cut_high:
        lo = c - e
        hi = c + e - whole
        partial = hi
    else:
        lo = c - e + whole
        hi = c + e
        partial = lo
    if frac == 0.0:
        partial = -1
    if lo < 0:
        lo = 0
    if hi > size - 1:
        hi = size - 1
    if partial < lo or partial > hi:
        partial = -1
    return lo, hi, partial


@nb.njit(parallel=True, cache=True)
def daec_kernel(hm, e, whole_x, frac_x, whole_y, frac_y, cut_high_x, cut_high_y,
                coords, scores, valid):
    """DAEC on every map. hm (M, H, W); outputs coords (M, 2), scores (M,), valid (M,)."""
    m_maps, h, w = hm.shape
    for i in nb.prange(m_maps):
        img = hm[i]
        idx, mx, ok = scan_map(img.reshape(h * w))
        cx = idx % w
        cy = idx // w
        fx = np.float64(cx)
        fy = np.float64(cy)
        if ok:
            x0, x1, px = _bounds(cx, e, whole_x, frac_x, cut_high_x, w)
            y0, y1, py = _bounds(cy, e, whole_y, frac_y, cut_high_y, h)
            s = 0.0
            sx = 0.0
            sy = 0.0
            for y in range(y0, y1 + 1):
                row_s = 0.0
                row_sx = 0.0
                for x in range(x0, x1 + 1):
                    v = np.float64(img[y, x])
                    if v < 1e-10:
                        v = 1e-10
                    if x == px:
                        v *= 1.0 - frac_x
                    row_s += v
                    row_sx += v * x
                if y == py:
                    wy = 1.0 - frac_y
                    row_s *= wy
                    row_sx *= wy
                s += row_s
                sx += row_sx
                sy += row_s * y
            if s > 0.0:
                fx = sx / s
                fy = sy / s
        coords[i, 0] = fx
        coords[i, 1] = fy
        scores[i] = mx
        valid[i] = ok


def run_daec(hm: np.ndarray, coords: np.ndarray, scores: np.ndarray, valid: np.ndarray,
             sigma: float, delta: tuple[float, float], pattern: str) -> None:
    """Fill ``coords`` (M, 2), ``scores`` (M,), ``valid`` (M,) from maps ``hm`` (M, H, W)."""
    cut_x, cut_y = _CUT_HIGH[pattern]
    dx, dy = float(delta[0]), float(delta[1])
    daec_kernel(hm, half_width(sigma), math.floor(dx), dx - math.floor(dx),
                math.floor(dy), dy - math.floor(dy), cut_x, cut_y, coords, scores, valid)
