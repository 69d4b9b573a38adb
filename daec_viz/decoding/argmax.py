"""Maximum-based decoders: ``standard`` (argmax) and ``shifting`` (quarter-pixel step).

Both work on maps flattened to ``(M, H, W)`` with ``M = N * K`` and run one compiled loop
per map (blocks of maps on every core, :mod:`daec_viz.decoding.threads`), reading each
map once. The scan shared by every
decoder (:func:`scan_map`) returns the first maximum in row-major order, the maximum value
and whether every value of the map is finite.

Coordinates are heatmap px: x = column, y = row, pixel centres at integers.
"""

from __future__ import annotations

import numba as nb
import numpy as np

# ``reassoc`` lets LLVM vectorise the reductions; no ``nnan``/``ninf`` here, so the
# non-finite test below keeps its IEEE meaning.
_NONFINITE_FLAGS = {"reassoc", "contract"}
# The max reduction may assume finite values: maps with a NaN or Inf are flagged invalid
# by ``_all_finite`` anyway, whatever this returns for them.
_MAX_FLAGS = {"nnan", "ninf", "nsz", "reassoc", "contract"}


_LANES = 16  # independent running maxima: lets LLVM keep them in one SIMD register


@nb.njit(fastmath=_NONFINITE_FLAGS, cache=True, nogil=True)
def _all_finite(flat):
    zero = flat[0] * np.float32(0.0)
    acc = zero
    for j in range(flat.shape[0]):
        acc += flat[j] * np.float32(0.0)  # 0 for finite values, NaN for NaN or +-Inf
    return acc == zero


@nb.njit(fastmath=_MAX_FLAGS, cache=True, nogil=True)
def _first_argmax_finite(flat):
    # Maximum by lanes (vectorised), then the first index holding it (blocks of lanes
    # tested with a vectorised OR before the scalar scan of the block that hits).
    n = flat.shape[0]
    blocks = n // _LANES
    lanes = np.full(_LANES, flat[0])
    for b in range(blocks):
        base = b * _LANES
        for lane in range(_LANES):
            v = flat[base + lane]
            lanes[lane] = v if v > lanes[lane] else lanes[lane]
    m = lanes[0]
    for lane in range(1, _LANES):
        if lanes[lane] > m:
            m = lanes[lane]
    for j in range(blocks * _LANES, n):
        if flat[j] > m:
            m = flat[j]
    for b in range(blocks):
        base = b * _LANES
        hit = False
        for lane in range(_LANES):
            hit |= flat[base + lane] == m
        if hit:
            for lane in range(_LANES):
                if flat[base + lane] == m:
                    return base + lane, m
    for j in range(blocks * _LANES, n):
        if flat[j] == m:
            return j, m
    return 0, m


@nb.njit(cache=True, nogil=True)
def scan_map(flat):
    """First argmax, maximum and validity of one flattened map.

    Returns ``(idx, maxval, valid)``; ``valid`` is False when a value is NaN or Inf or
    the maximum is <= 0, and then ``maxval`` is 0. For maps with non-finite values
    ``idx`` is the first largest finite value (0 if there is none).
    """
    if _all_finite(flat):
        idx, m = _first_argmax_finite(flat)
        if m > 0:
            return idx, np.float64(m), True
        return idx, 0.0, False
    # Rare path: the largest finite value, first occurrence.
    best = -np.inf
    idx = 0
    for j in range(flat.shape[0]):
        v = flat[j]
        if np.isfinite(v) and v > best:
            best = v
            idx = j
    return idx, 0.0, False


@nb.njit(cache=True, nogil=True, inline="always")
def store_result(coords, scores, valid, i, fx, fy, mx, ok):
    """Write map ``i``'s result: coords (M, 2) heatmap px, scores (M,), valid (M,); the end
    of every decoder's kernel."""
    coords[i, 0] = fx
    coords[i, 1] = fy
    scores[i] = mx
    valid[i] = ok


@nb.njit(cache=True, nogil=True)
def map_peak(img):
    """:func:`scan_map` of one (H, W) map as ``(x, y, maxval, valid)``: the first argmax's
    column and row (heatmap px), the maximum and the validity; the start of every
    decoder's kernel."""
    h, w = img.shape
    idx, mx, ok = scan_map(img.reshape(h * w))
    return idx % w, idx // w, mx, ok


@nb.njit(cache=True, nogil=True)
def standard_kernel(hm, coords, scores, valid):
    """Argmax of every map. hm (M, H, W); outputs coords (M, 2), scores (M,), valid (M,)."""
    m_maps, h, w = hm.shape
    for i in range(m_maps):
        flat = hm[i].reshape(h * w)
        idx, mx, ok = scan_map(flat)
        coords[i, 0] = idx % w
        coords[i, 1] = idx // w
        scores[i] = mx
        valid[i] = ok


@nb.njit(cache=True, nogil=True)
def shifting_kernel(hm, coords, scores, valid):
    """Argmax plus a quarter-pixel step toward the higher neighbour on each axis.

    As in Simple Baselines / HRNet: the step is ``0.25 * sign(h[y, x+1] - h[y, x-1])``
    (likewise in y), only where ``1 < x < W-1`` and ``1 < y < H-1``.
    """
    m_maps, h, w = hm.shape
    for i in range(m_maps):
        img = hm[i]
        x, y, mx, ok = map_peak(img)
        fx = np.float64(x)
        fy = np.float64(y)
        if ok and 1 < x < w - 1 and 1 < y < h - 1:
            dx = img[y, x + 1] - img[y, x - 1]
            dy = img[y + 1, x] - img[y - 1, x]
            if dx > 0:
                fx += 0.25
            elif dx < 0:
                fx -= 0.25
            if dy > 0:
                fy += 0.25
            elif dy < 0:
                fy -= 0.25
        store_result(coords, scores, valid, i, fx, fy, mx, ok)


@nb.njit(cache=True, nogil=True)
def shifting_second_max_kernel(hm, coords, scores, valid):
    """Argmax moved 0.25 px along the unit vector toward the second-highest pixel.

    The paper's description of Newell et al. (and the DAEC code's ``SHIFTING`` mode): the
    second maximum is the highest pixel other than the maximum itself (first in row-major
    order on ties), so the direction is always defined and never NaN.
    """
    m_maps, h, w = hm.shape
    n = h * w
    for i in range(m_maps):
        flat = hm[i].reshape(n)
        idx, mx, ok = scan_map(flat)
        x = idx % w
        y = idx // w
        fx = np.float64(x)
        fy = np.float64(y)
        if ok and n > 1:
            best = -np.inf
            j2 = -1
            for j in range(n):
                if j != idx and flat[j] > best:
                    best = flat[j]
                    j2 = j
            if j2 >= 0:
                vx = np.float64(j2 % w - x)
                vy = np.float64(j2 // w - y)
                norm = np.sqrt(vx * vx + vy * vy)
                fx += 0.25 * vx / norm
                fy += 0.25 * vy / norm
        store_result(coords, scores, valid, i, fx, fy, mx, ok)
