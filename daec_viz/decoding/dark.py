"""DARK: distribution-aware coordinate representation (Zhang et al., CVPR 2020).

Reference semantics (DarkPose ``get_final_preds``): integer argmax on the raw map; blur
the map (OpenCV Gaussian kernel ``k``, zero padding) and rescale it to the raw maximum;
``L = log(max(h, 1e-10))``; where ``2 <= x <= W-3`` and ``2 <= y <= H-3`` take

    dx  = (L[y, x+1] - L[y, x-1]) / 2                         (dy likewise)
    dxx = (L[y, x+2] - 2 L[y, x] + L[y, x-2]) / 4             (dyy likewise)
    dxy = (L[y+1, x+1] - L[y-1, x+1] - L[y+1, x-1] + L[y-1, x-1]) / 4

and, if the Hessian's determinant is not 0, add the Newton step ``-H^-1 (dx, dy)``.

Why this is fast: only 13 blurred values around the argmax enter the step, so they are
blurred locally. The rescaling factor ``s = max(raw) / max(blurred)`` is >= 1 (the kernel
sums to 1 and zero padding only removes mass), and ``log(s b) = log s + log b`` cancels in
every difference above, so ``s`` matters only if one of the 13 blurred values is below
the 1e-10 clamp; for those rare maps the whole map is blurred to get ``s`` exactly.

Coordinates are heatmap px: x = column, y = row, pixel centres at integers.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from daec_viz.decoding.argmax import map_peak, store_result
from daec_viz.decoding.smoothing import opencv_gaussian_kernel
from daec_viz.decoding.threads import run_kernel

# Offsets (dy, dx) of the 13 points the Taylor step reads, in a fixed order.
_POINTS = np.array([(0, 0), (0, 1), (0, -1), (0, 2), (0, -2), (1, 0), (-1, 0), (2, 0),
                    (-2, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)], dtype=np.int64)
CLAMP = 1e-10


@nb.njit(cache=True, nogil=True)
def _blur_at(img, y, x, k, r):
    # Zero-padded separable Gaussian at one pixel (float64).
    h, w = img.shape
    acc = 0.0
    for a in range(-r, r + 1):
        yy = y + a
        if yy < 0 or yy >= h:
            continue
        row = 0.0
        for b in range(-r, r + 1):
            xx = x + b
            if 0 <= xx < w:
                row += k[b + r] * np.float64(img[yy, xx])
        acc += k[a + r] * row
    return acc


@nb.njit(cache=True, nogil=True)
def blurred_max(img, k, r):
    # Maximum of the whole blurred map (rare fallback path).
    h, w = img.shape
    tmp = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            acc = 0.0
            for b in range(-r, r + 1):
                xx = x + b
                if 0 <= xx < w:
                    acc += k[b + r] * np.float64(img[y, xx])
            tmp[y, x] = acc
    best = -np.inf
    for y in range(h):
        for x in range(w):
            acc = 0.0
            for a in range(-r, r + 1):
                yy = y + a
                if 0 <= yy < h:
                    acc += k[a + r] * tmp[yy, x]
            if acc > best:
                best = acc
    return best


@nb.njit(cache=True, nogil=True)
def newton_step(gx, gy, hxx, hyy, hxy):
    """The Newton step −H⁻¹·g of a 2-D Taylor expansion (gradient ``(gx, gy)``, Hessian
    ``[[hxx, hxy], [hxy, hyy]]``) as ``(sx, sy)``; no step (0, 0) where H is singular.
    DARK and DARK-UDP share it."""
    det = hxx * hyy - hxy * hxy
    if det == 0.0:
        return 0.0, 0.0
    return -(hyy * gx - hxy * gy) / det, -(hxx * gy - hxy * gx) / det


@nb.njit(cache=True, nogil=True)
def dark_kernel(hm, k, points, coords, scores, valid):
    """DARK on every map. hm (M, H, W); k: 1-D blur kernel (odd length, float64)."""
    m_maps, h, w = hm.shape
    r = (k.shape[0] - 1) // 2
    n_pts = points.shape[0]
    b = np.empty(n_pts)  # scratch, once per block of maps
    for i in range(m_maps):
        img = hm[i]
        x, y, mx, ok = map_peak(img)
        fx = np.float64(x)
        fy = np.float64(y)
        if ok and 2 <= x <= w - 3 and 2 <= y <= h - 3:
            low = False
            for p in range(n_pts):
                b[p] = _blur_at(img, y + points[p, 0], x + points[p, 1], k, r)
                if not b[p] >= CLAMP:
                    low = True
            if low:
                bmax = blurred_max(img, k, r)
                s = mx / bmax if bmax > 0 else 1.0
                for p in range(n_pts):
                    b[p] = max(b[p] * s, CLAMP)
            L = np.log(b)
            dx = 0.5 * (L[1] - L[2])
            dy = 0.5 * (L[5] - L[6])
            dxx = 0.25 * (L[3] - 2.0 * L[0] + L[4])
            dyy = 0.25 * (L[7] - 2.0 * L[0] + L[8])
            dxy = 0.25 * (L[9] - L[10] - L[11] + L[12])
            sx, sy = newton_step(dx, dy, dxx, dyy, dxy)
            fx += sx
            fy += sy
        store_result(coords, scores, valid, i, fx, fy, mx, ok)


def run_dark(hm: np.ndarray, coords: np.ndarray, scores: np.ndarray, valid: np.ndarray,
             blur_kernel: int = 11) -> None:
    """Fill ``coords`` (M, 2), ``scores`` (M,), ``valid`` (M,) from maps ``hm`` (M, H, W)."""
    run_kernel(dark_kernel, hm, (opencv_gaussian_kernel(blur_kernel), _POINTS), coords, scores,
               valid)
