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
from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from daec_viz.decoding.argmax import scan_map, store_result
from daec_viz.decoding.config import PATTERNS
from daec_viz.decoding.threads import over_maps, run_kernel
from daec_viz.exceptions import InputError

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


def read_radius(sigma: float, deltas: Sequence[float]) -> int:
    """How far from the argmax DAEC (single or grid) reads a map, in px (Chebyshev): the
    half-width ``e``, plus ``|floor(Δ)|`` for a negative Δ (the window then grows), plus
    the one-pixel ring of the grid's prefix tables.

    >>> read_radius(2.0, [4, 3.5]), read_radius(2.0, [-2.5])
    (8, 11)
    """
    low = min((math.floor(float(d)) for d in deltas), default=0)
    return half_width(sigma) + max(0, -low) + 1


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


@nb.njit(cache=True, nogil=True)
def _window_sums(img, x0, x1, px, wx, y0, y1, py, wy):
    # Weighted sums of max(v, 1e-10), v*x, v*y over [x0, x1] x [y0, y1]; column px and
    # row py (if >= 0) weighted by wx and wy.
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
                v *= wx
            row_s += v
            row_sx += v * x
        if y == py:
            row_s *= wy
            row_sx *= wy
        s += row_s
        sx += row_sx
        sy += row_s * y
    return s, sx, sy


@nb.njit(cache=True, nogil=True)
def daec_kernel(hm, e, whole_x, frac_x, whole_y, frac_y, cut_high_x, cut_high_y,
                coords, scores, valid):
    """DAEC on every map. hm (M, H, W); outputs coords (M, 2), scores (M,), valid (M,)."""
    m_maps, h, w = hm.shape
    for i in range(m_maps):
        img = hm[i]
        idx, mx, ok = scan_map(img.reshape(h * w))
        cx = idx % w
        cy = idx // w
        fx = np.float64(cx)
        fy = np.float64(cy)
        if ok:
            x0, x1, px = _bounds(cx, e, whole_x, frac_x, cut_high_x, w)
            y0, y1, py = _bounds(cy, e, whole_y, frac_y, cut_high_y, h)
            s, sx, sy = _window_sums(img, x0, x1, px, 1.0 - frac_x, y0, y1, py, 1.0 - frac_y)
            if s > 0.0:
                fx = sx / s
                fy = sy / s
        store_result(coords, scores, valid, i, fx, fy, mx, ok)


def run_daec(hm: np.ndarray, coords: np.ndarray, scores: np.ndarray, valid: np.ndarray,
             sigma: float, delta: tuple[float, float], pattern: str) -> None:
    """Fill ``coords`` (M, 2), ``scores`` (M,), ``valid`` (M,) from maps ``hm`` (M, H, W)."""
    cut_x, cut_y = _CUT_HIGH[pattern]
    dx, dy = float(delta[0]), float(delta[1])
    run_kernel(daec_kernel, hm, (half_width(sigma), math.floor(dx), dx - math.floor(dx),
                                 math.floor(dy), dy - math.floor(dy), cut_x, cut_y),
               coords, scores, valid)


@nb.njit(cache=True, nogil=True)
def _add_rect(p, x0, x1, y0, y1, weight, acc):
    # acc += weight * (sum over [y0, y1] x [x0, x1]) of each of the prefix tables p (T, Y, X)
    # (inclusive prefix-table indices; zero first row and column); empty ranges add 0.
    if x1 < x0 or y1 < y0:
        return
    for t in range(p.shape[0]):
        acc[t] += weight * (p[t, y1 + 1, x1 + 1] - p[t, y0, x1 + 1] - p[t, y1 + 1, x0]
                            + p[t, y0, x0])


@nb.njit(cache=True, nogil=True)
def _full_range(lo, hi, partial):
    # The full-weight part of [lo, hi]: the partial index (if any, >= 0) sits at one end.
    if partial < 0:
        return lo, hi
    if partial == hi:
        return lo, hi - 1
    return lo + 1, hi


@nb.njit(cache=True, nogil=True)
def daec_grid_kernel(hm, e, ext, whole_x, frac_x, whole_y, frac_y, cut_high_x, cut_high_y,
                     coords, scores, valid):
    """DAEC for many (Δ, pattern) configurations at once.

    hm (M, H, W); per configuration c: whole/frac parts of Δx, Δy and the cut sides;
    outputs coords (C, M, 2), scores (M,), valid (M,). Each map is scanned once; the
    window (widened by ``ext`` for negative Δ) is turned into prefix sums of v, v·x, v·y,
    so every configuration costs O(1): a few rectangle sums, the fractional boundary
    row/column weighted by 1 − frac.
    """
    m_maps, h, w = hm.shape
    n_cfg = whole_x.shape[0]
    # scratch, allocated once per block of maps: prefix tables of v, v*x, v*y (row 0 and
    # column 0 stay zero; each map uses the top-left (ny + 1, nx + 1) corner) and the sums
    side = 2 * (e + ext) + 2
    pre = np.zeros((3, side, side))
    acc = np.empty(3)
    for i in range(m_maps):
        img = hm[i]
        idx, mx, ok = scan_map(img.reshape(h * w))
        cx = idx % w
        cy = idx // w
        scores[i] = mx
        valid[i] = ok
        if not ok:
            for c in range(n_cfg):
                coords[c, i, 0] = cx
                coords[c, i, 1] = cy
            continue
        # region of every window, clipped to the map
        gx0 = max(0, cx - e - ext)
        gx1 = min(w - 1, cx + e + ext)
        gy0 = max(0, cy - e - ext)
        gy1 = min(h - 1, cy + e + ext)
        nx = gx1 - gx0 + 1
        ny = gy1 - gy0 + 1
        for a in range(ny):
            r0 = 0.0
            rx = 0.0
            ry = 0.0
            y = gy0 + a
            for b in range(nx):
                x = gx0 + b
                v = np.float64(img[y, x])
                if v < 1e-10:
                    v = 1e-10
                r0 += v
                rx += v * x
                ry += v * y
                pre[0, a + 1, b + 1] = pre[0, a, b + 1] + r0
                pre[1, a + 1, b + 1] = pre[1, a, b + 1] + rx
                pre[2, a + 1, b + 1] = pre[2, a, b + 1] + ry
        for c in range(n_cfg):
            x0, x1, pxc = _bounds(cx, e, whole_x[c], frac_x[c], cut_high_x[c], w)
            y0, y1, pyc = _bounds(cy, e, whole_y[c], frac_y[c], cut_high_y[c], h)
            fx0, fx1 = _full_range(x0, x1, pxc)
            fy0, fy1 = _full_range(y0, y1, pyc)
            wx = 1.0 - frac_x[c]
            wy = 1.0 - frac_y[c]
            # full block, then the partial column, row and corner (prefix-table indices)
            ax0, ax1, ay0, ay1 = fx0 - gx0, fx1 - gx0, fy0 - gy0, fy1 - gy0
            bx, by = pxc - gx0, pyc - gy0
            acc[:] = 0.0
            _add_rect(pre, ax0, ax1, ay0, ay1, 1.0, acc)
            if pxc >= 0:
                _add_rect(pre, bx, bx, ay0, ay1, wx, acc)
            if pyc >= 0:
                _add_rect(pre, ax0, ax1, by, by, wy, acc)
                if pxc >= 0:
                    _add_rect(pre, bx, bx, by, by, wx * wy, acc)
            s, sx, sy = acc[0], acc[1], acc[2]
            if s < 1e-4 * pre[0, ny, nx]:
                # a window far from the mass: differences of large prefix sums would lose
                # digits, so sum it directly (rare)
                s, sx, sy = _window_sums(img, x0, x1, pxc, wx, y0, y1, pyc, wy)
            if s > 0.0:
                coords[c, i, 0] = sx / s
                coords[c, i, 1] = sy / s
            else:
                coords[c, i, 0] = cx
                coords[c, i, 1] = cy


def run_daec_grid(hm: np.ndarray, sigma: float, deltas: list[tuple[float, float]],
                  patterns: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DAEC of maps ``hm`` (M, H, W) for every (Δ pair, pattern) configuration.

    Returns coords (C, M, 2) heatmap px, scores (M,), valid (M,); the same as running
    :func:`run_daec` once per configuration, at the cost of one scan (windows holding
    less than 1e-4 of the region's mass, where differences of prefix sums would lose
    digits, are summed directly), agreeing to ~1e-9 px.
    """
    m = hm.shape[0]
    dx = np.array([d[0] for d in deltas], dtype=np.float64)
    dy = np.array([d[1] for d in deltas], dtype=np.float64)
    cut = np.array([_CUT_HIGH[p] for p in patterns], dtype=np.bool_).reshape(-1, 2)
    whole_x, whole_y = np.floor(dx).astype(np.int64), np.floor(dy).astype(np.int64)
    ext = int(max(0, -min(whole_x.min(initial=0), whole_y.min(initial=0)))) + 1
    coords = np.empty((len(deltas), m, 2))
    scores = np.empty(m)
    valid = np.empty(m, dtype=np.bool_)
    shared = (half_width(sigma), ext, whole_x, dx - whole_x, whole_y, dy - whole_y,
              np.ascontiguousarray(cut[:, 0]), np.ascontiguousarray(cut[:, 1]))

    def block(a: int, b: int) -> None:
        daec_grid_kernel(hm[a:b], *shared, coords[:, a:b], scores[a:b], valid[a:b])

    over_maps(m, block)
    return coords, scores, valid


# --------------------------------------------------------------------------- the window, drawn
# The window as rectangles, for figures (plots/overlays.py) and teaching: it lives here, next
# to the kernel whose geometry it describes, so the two cannot drift apart.

@dataclass(frozen=True)
class DaecWindow:
    """DAEC's integral window around an argmax, as rectangles in heatmap px.

    Edges are continuous coordinates (pixel ``i`` covers ``[i − ½, i + ½]``), clipped to
    the map ``[−½, W − ½] × [−½, H − ½]``. ``full`` = the (6σ + 3)-wide window before
    the cut; ``kept`` = what is integrated after cutting Δ off the ``pattern`` corner (a
    fractional Δ keeps a fraction ``1 − frac(Δ)`` of the boundary pixel, drawn as that
    fraction of its width). Each rectangle is ``(x0, x1, y0, y1)``.
    """

    argmax: tuple[int, int]
    half_width: int
    delta: tuple[float, float]
    pattern: str
    full: tuple[float, float, float, float]
    kept: tuple[float, float, float, float]


def _edges(c: int, e: int, d: float, cut_high: bool, size: int) -> tuple[float, float]:
    lo, hi, _, weight = axis_bounds(c, e, d, cut_high)
    if cut_high:
        lo_e, hi_e = lo - 0.5, hi - 0.5 + weight
    else:
        lo_e, hi_e = lo + 0.5 - weight, hi + 0.5
    return max(lo_e, -0.5), min(hi_e, size - 0.5)


def daec_window(argmax: Sequence[int], sigma: float, delta: float | Sequence[float],
                pattern: str, size: Sequence[int]) -> DaecWindow:
    """The window of this module at integer ``argmax = (cx, cy)``.

    Parameters
    ----------
    argmax : (cx, cy) integer heatmap px.
    sigma : the window's σ (half-width ``int(3σ + 1)``).
    delta : Δ (or (Δx, Δy)) heatmap px.
    pattern : cut corner, ``BR``/``UR``/``BL``/``UL``.
    size : (W, H) of the map.

    Examples
    --------
    >>> w = daec_window((20, 30), 2.0, 4, "BR", (48, 64))
    >>> w.full, w.kept
    ((12.5, 27.5, 22.5, 37.5), (12.5, 23.5, 22.5, 33.5))
    """
    if pattern not in PATTERNS:
        raise InputError(f"expected one of {PATTERNS}, got {pattern!r}", field="pattern")
    dx, dy = (float(delta), float(delta)) if np.ndim(delta) == 0 else \
        (float(delta[0]), float(delta[1]))  # type: ignore[index]
    cx, cy = int(argmax[0]), int(argmax[1])
    w, h = int(size[0]), int(size[1])
    e = half_width(sigma)
    cut_x, cut_y = _CUT_HIGH[pattern]
    full = (max(cx - e - 0.5, -0.5), min(cx + e + 0.5, w - 0.5),
            max(cy - e - 0.5, -0.5), min(cy + e + 0.5, h - 0.5))
    kx = _edges(cx, e, dx, cut_x, w)
    ky = _edges(cy, e, dy, cut_y, h)
    return DaecWindow((cx, cy), e, (dx, dy), pattern, full, (*kx, *ky))
