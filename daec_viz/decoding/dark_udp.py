"""DARK-UDP: the DARK refinement as mmpose's UDP codec decodes Gaussian heatmaps.

Reference semantics: mmpose 1.x ``UDPHeatmap.decode`` (``heatmap_type='gaussian'``), i.e.
``get_heatmap_maximum`` on the **raw** map, then
``mmpose/codecs/utils/refinement.py::refine_keypoints_dark_udp``:

1. blur the map with OpenCV's Gaussian kernel ``k`` on a zero-padded copy and rescale it so
   its maximum equals the raw maximum (``post_processing.py::gaussian_blur``);
2. clip to [1e-3, 50] and take the log, ``L``;
3. pad ``L`` by one pixel with edge values (so the derivatives exist on the border);
4. at the raw argmax ``(x, y)``, with step-1 differences,

       dx  = (L[y, x+1] - L[y, x-1]) / 2                      (dy likewise)
       dxx = L[y, x+1] - 2 L[y, x] + L[y, x-1]                 (dyy likewise)
       dxy = (L[y+1, x+1] - L[y, x+1] - L[y+1, x] + 2 L[y, x]
              - L[y, x-1] - L[y-1, x] + L[y-1, x-1]) / 2

   move by ``-(H + eps I)^-1 (dx, dy)`` with ``H = [[dxx, dxy], [dxy, dyy]]`` and ``eps``
   the float32 machine epsilon (``np.finfo(np.float32).eps``), at every argmax: no border
   exclusion, no clamp of the step. (So a maximum on the first or last column moves half a
   pixel outward: the padded neighbour equals it, dx = (L1 - L0)/2 and dxx = L1 - L0.)

mmpose then maps to the input image with ``· input_size / (W - 1, H - 1)`` (UDP); here the
result stays in heatmap px (x = column, y = row, pixel centres at integers): use
``daec_viz.geometry.to_image(..., convention="udp")`` for the image.

Where this differs from mmpose, on purpose:

* Sums are in float64 (mmpose blurs and takes logs in float32), so results agree with
  mmpose to float32 rounding, not bit for bit.
* ``blur_kernel=1`` is accepted and means "no blur" (mmpose's ``gaussian_blur`` fails on
  a 1-px kernel: its ``[border:-border]`` slice is empty).
* A map whose blurred maximum is <= 0 is not rescaled (mmpose would multiply it by a
  negative factor); all its values are then clipped to 1e-3 and the step is 0.
* If ``H + eps I`` is exactly singular the step is skipped (``np.linalg.inv`` raises).
* Maps with a maximum <= 0 or a NaN/Inf are marked invalid and keep their integer argmax,
  as every daec-viz decoder does (mmpose refines its -1 placeholder).

Why this is fast: only the 3x3 blurred values around the argmax enter the step, so only
those are blurred (the ``k + 2`` rows the vertical taps reach, at 3 columns each). The
rescaling factor ``s = max(raw) / max(blurred)`` is >= 1 (the kernel is non-negative and
sums to 1, the zero padding is below the positive maximum), and
``log(s b) = log s + log b`` cancels in every difference above, so ``s`` matters only if a
clip bound is reached: if one of the 9 blurred values is below 1e-3 or the raw maximum is
above 50 (then ``s b`` may reach 50). Only for those maps is the whole map blurred to get
``s`` exactly.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from daec_viz.decoding.argmax import map_peak, store_result
from daec_viz.decoding.dark import blurred_max, newton_step
from daec_viz.decoding.smoothing import opencv_gaussian_kernel
from daec_viz.decoding.threads import run_kernel

LOW, HIGH = 1e-3, 50.0
#: The regulariser mmpose adds to the Hessian's diagonal (float32 machine epsilon).
EPS = float(np.finfo(np.float32).eps)


@nb.njit(cache=True, nogil=True)
def _clampi(v, hi):
    # Index clamped to [0, hi]: the edge padding of the log map.
    if v < 0:
        return 0
    if v > hi:
        return hi
    return v


@nb.njit(cache=True, nogil=True)
def _row_blur(img, yy, xc, k, r):
    # Horizontal zero-padded blur of row yy at column xc.
    w = img.shape[1]
    acc = 0.0
    for c in range(-r, r + 1):
        xx = xc + c
        if 0 <= xx < w:
            acc += k[c + r] * np.float64(img[yy, xx])
    return acc


@nb.njit(cache=True, nogil=True)
def _tap(k, r, t):
    # Kernel weight at offset t (0 outside the kernel).
    return k[t + r] if -r <= t <= r else 0.0


@nb.njit(cache=True, nogil=True)
def _blur_3x3(img, y, x, k, r, out):
    # out[a, b] = zero-padded blur at (clamp(y + a - 1), clamp(x + b - 1)): the 3x3
    # neighbourhood of the edge-padded blurred map. Separable: each row the vertical taps
    # reach is blurred horizontally at the 3 columns once and added, weighted, to the
    # 3 outputs of each column. Scalars only: no allocation per map in the hot loop.
    h, w = img.shape
    x0 = _clampi(x - 1, w - 1)
    x2 = _clampi(x + 1, w - 1)
    y0 = _clampi(y - 1, h - 1)
    y2 = _clampi(y + 1, h - 1)
    b00 = b01 = b02 = b10 = b11 = b12 = b20 = b21 = b22 = 0.0
    for yy in range(max(y0 - r, 0), min(y2 + r, h - 1) + 1):
        r0 = _row_blur(img, yy, x0, k, r)
        r1 = _row_blur(img, yy, x, k, r)
        r2 = _row_blur(img, yy, x2, k, r)
        k0 = _tap(k, r, yy - y0)
        k1 = _tap(k, r, yy - y)
        k2 = _tap(k, r, yy - y2)
        b00 += k0 * r0
        b01 += k0 * r1
        b02 += k0 * r2
        b10 += k1 * r0
        b11 += k1 * r1
        b12 += k1 * r2
        b20 += k2 * r0
        b21 += k2 * r1
        b22 += k2 * r2
    out[0, 0], out[0, 1], out[0, 2] = b00, b01, b02
    out[1, 0], out[1, 1], out[1, 2] = b10, b11, b12
    out[2, 0], out[2, 1], out[2, 2] = b20, b21, b22


@nb.njit(cache=True, nogil=True)
def dark_udp_kernel(hm, k, eps, coords, scores, valid):
    """DARK-UDP on every map. hm (M, H, W); k: 1-D blur kernel (odd length, float64);
    outputs coords (M, 2), scores (M,), valid (M,)."""
    m_maps, h, w = hm.shape
    r = (k.shape[0] - 1) // 2
    b = np.empty((3, 3))  # scratch, once per block of maps
    for i in range(m_maps):
        img = hm[i]
        x, y, mx, ok = map_peak(img)
        fx = np.float64(x)
        fy = np.float64(y)
        if ok:
            _blur_3x3(img, y, x, k, r, b)
            clip = mx > HIGH
            for a in range(3):
                for c in range(3):
                    if not b[a, c] >= LOW:
                        clip = True
            if clip:  # a clip bound may be reached: the rescaling factor matters
                bmax = blurred_max(img, k, r)
                s = mx / bmax if bmax > 0 else 1.0
                for a in range(3):
                    for c in range(3):
                        b[a, c] = min(max(b[a, c] * s, LOW), HIGH)
            # L[1 + dy, 1 + dx] = log b
            l00 = math.log(b[0, 0])
            l01 = math.log(b[0, 1])
            l10 = math.log(b[1, 0])
            l11 = math.log(b[1, 1])
            l12 = math.log(b[1, 2])
            l21 = math.log(b[2, 1])
            l22 = math.log(b[2, 2])
            dx = 0.5 * (l12 - l10)
            dy = 0.5 * (l21 - l01)
            dxx = l12 - 2.0 * l11 + l10
            dyy = l21 - 2.0 * l11 + l01
            dxy = 0.5 * (l22 - l12 - l21 + 2.0 * l11 - l10 - l01 + l00)
            sx, sy = newton_step(dx, dy, dxx + eps, dyy + eps, dxy)
            fx += sx
            fy += sy
        store_result(coords, scores, valid, i, fx, fy, mx, ok)


def run_dark_udp(hm: np.ndarray, coords: np.ndarray, scores: np.ndarray, valid: np.ndarray,
                 blur_kernel: int = 11) -> None:
    """Fill ``coords`` (M, 2) heatmap px, ``scores`` (M,), ``valid`` (M,) from maps ``hm``
    (M, H, W) float32/float64 with mmpose's DARK-UDP refinement.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:32, 0:24]
    >>> hm = np.exp(-((xx - 10.3) ** 2 + (yy - 20.8) ** 2) / 8.0)[None]
    >>> c, s, v = np.empty((1, 2)), np.empty(1), np.empty(1, bool)
    >>> run_dark_udp(hm, c, s, v, blur_kernel=1)  # log of a Gaussian: one exact step
    >>> c.round(5).tolist()
    [[10.3, 20.8]]
    """
    run_kernel(dark_udp_kernel, hm, (opencv_gaussian_kernel(blur_kernel), EPS), coords, scores,
               valid)
