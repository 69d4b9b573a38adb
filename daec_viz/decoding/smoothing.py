"""Gaussian smoothing of heatmaps, exactly as the reference decoders do it.

The reference code (DarkPose, DAEC) pads each map with ``(k-1)//2`` zeros, calls OpenCV's
``GaussianBlur(map, (k, k), 0)`` and rescales the result to the original map's maximum.
OpenCV's kernel for ``sigma = 0`` is ``sigma = 0.3 * ((k - 1) / 2 - 1) + 0.8``, except for
``k <= 7``, where it uses fixed binomial-like tables; both are reproduced here so daec-viz
needs no OpenCV. (OpenCV 5 added a fixed table for ``k = 9`` too; daec-viz follows the
OpenCV 3/4 kernels that the published DarkPose/DAEC results were computed with. The
default DARK kernel, 11, is the same in every OpenCV version.)
"""

from __future__ import annotations

import numba as nb
import numpy as np

from daec_viz.decoding.argmax import scan_map
from daec_viz.decoding.threads import over_maps
from daec_viz.exceptions import InputError

# OpenCV's fixed small kernels (getGaussianKernel with sigma <= 0 and ksize <= 7).
_OPENCV_SMALL_KERNELS: dict[int, tuple[float, ...]] = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
}


def check_kernel_size(kernel: int) -> int:
    """Validate a Gaussian kernel size: a positive odd integer."""
    if isinstance(kernel, bool) or int(kernel) != kernel or kernel < 1 or kernel % 2 == 0:
        raise InputError(f"expected a positive odd integer, got {kernel!r}",
                         field="blur_kernel")
    return int(kernel)


def opencv_sigma(kernel: int) -> float:
    """The sigma OpenCV derives from a kernel size when asked for ``sigma = 0``."""
    kernel = check_kernel_size(kernel)
    return 0.3 * ((kernel - 1) * 0.5 - 1.0) + 0.8


def opencv_gaussian_kernel(kernel: int) -> np.ndarray:
    """1-D Gaussian kernel of OpenCV's ``getGaussianKernel(kernel, 0)``, float64, sums to 1.

    Examples
    --------
    >>> opencv_gaussian_kernel(3).tolist()
    [0.25, 0.5, 0.25]
    >>> round(float(opencv_gaussian_kernel(11)[5]), 6)
    0.200565
    """
    kernel = check_kernel_size(kernel)
    if kernel in _OPENCV_SMALL_KERNELS:
        return np.array(_OPENCV_SMALL_KERNELS[kernel], dtype=np.float64)
    sigma = opencv_sigma(kernel)
    x = np.arange(kernel, dtype=np.float64) - (kernel - 1) / 2.0
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return k / k.sum()


def gaussian_blur(heatmaps: np.ndarray, kernel: int = 11, rescale: bool = True,
                  exact_within: int | None = None) -> np.ndarray:
    """Blur every map with OpenCV's Gaussian kernel and zero padding.

    Parameters
    ----------
    heatmaps : (..., H, W) float array (heatmap px).
    kernel : odd kernel size; the kernel is ``opencv_gaussian_kernel(kernel)``.
    rescale : multiply each blurred map by ``max(original) / max(blurred)`` as DarkPose
        does (skipped for maps whose blurred maximum is not positive).
    exact_within : ``None`` (default): every value is blurred. An integer ``R``: a view
        for a decoder that reads only the blurred argmax and the pixels within ``R`` px of
        it (Chebyshev distance): those values, each map's argmax (first in row-major
        order) and maximum are exactly those of the full blur, every other value is 0.
        Much faster (a map's blurred maximum lies where the raw map is at least that
        high, so only a box around the raw peak is blurred). Maps with NaN/Inf, or
        whose blurred value at the raw argmax is not positive, are blurred in full.

    Returns
    -------
    Blurred maps, same shape, float32 for float16/float32 input, else float64 (the sums
    are accumulated in float64 either way). Maps with NaN/Inf stay non-finite, and so are
    reported invalid by the decoders.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:32, 0:24]
    >>> hm = np.exp(-((xx - 9.3) ** 2 + (yy - 20.6) ** 2) / 8.0)[None]
    >>> full, view = gaussian_blur(hm, 11), gaussian_blur(hm, 11, exact_within=7)
    >>> bool((full[0, 14:29, 2:17] == view[0, 14:29, 2:17]).all()), float(view[0, 0, 0])
    (True, 0.0)
    """
    hm = np.asarray(heatmaps)
    out_dtype = np.float64 if hm.dtype == np.float64 else np.float32
    k = opencv_gaussian_kernel(kernel)
    shape = hm.shape
    if hm.ndim < 2:
        raise InputError(f"expected (..., H, W) maps, got shape {shape}", field="heatmaps")
    if exact_within is not None and (isinstance(exact_within, bool) or
                                     int(exact_within) != exact_within or exact_within < 0):
        raise InputError(f"expected None or a non-negative integer, got {exact_within!r}",
                         field="exact_within")
    radius = -1 if exact_within is None else int(exact_within)
    maps = np.ascontiguousarray(hm).reshape((-1,) + shape[-2:])
    out = np.empty(maps.shape, dtype=out_dtype)
    if maps.shape[0]:
        def block(a: int, b: int) -> None:
            _blur_maps_kernel(maps[a:b], k, bool(rescale), radius, out[a:b])

        over_maps(maps.shape[0], block)
    return out.reshape(shape)


# The box path and the full path both call _blur_box, one compiled function, so each value
# is the same sequence k[r]·v + Σ_t k[r+t]·(left + right) in both (FMA contraction
# allowed, no reassociation: the order over t is fixed).

@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _blur_box(img, k, y0, y1, x0, x1, line, rows, res):
    # Blurred values of rows y0..y1, columns x0..x1 (inclusive, inside the map) into
    # res[y, x]. Scratch: line (W + 2r), rows (H + 2r, W) whose r top and bottom rows are
    # zero (never written). Taps are the outer loop, pixels the inner one over zero-based
    # slices (so it vectorises: no negative-index checks); the symmetric kernel shares
    # one multiply per tap pair.
    h, w = img.shape
    r = (k.shape[0] - 1) // 2
    n = x1 - x0 + 1
    k0 = k[r]
    for yy in range(max(0, y0 - r), min(h - 1, y1 + r) + 1):
        src = img[yy]
        for j in range(n + 2 * r):  # line[j] = map value at x0 - r + j (0 off the map)
            x = x0 - r + j
            line[j] = np.float64(src[x]) if 0 <= x < w else 0.0
        acc = rows[yy + r, x0:x1 + 1]
        mid = line[r:r + n]
        for j in range(n):
            acc[j] = k0 * mid[j]
        for t in range(1, r + 1):
            kt = k[r + t]
            left = line[r - t:r - t + n]
            right = line[r + t:r + t + n]
            for j in range(n):
                acc[j] += kt * (left[j] + right[j])
    for y in range(y0, y1 + 1):
        acc = res[y, x0:x1 + 1]
        centre = rows[y + r, x0:x1 + 1]
        for j in range(n):
            acc[j] = k0 * centre[j]
        for t in range(1, r + 1):
            kt = k[r + t]
            up = rows[y + r - t, x0:x1 + 1]
            down = rows[y + r + t, x0:x1 + 1]
            for j in range(n):
                acc[j] += kt * (up[j] + down[j])


@nb.njit(cache=True, nogil=True)
def _box_argmax(res, y0, y1, x0, x1):
    # First maximum of res over the box in row-major order: (value, x, y).
    best = res[y0, x0]
    bx = x0
    by = y0
    for y in range(y0, y1 + 1):
        for x in range(x0, x1 + 1):
            if res[y, x] > best:
                best = res[y, x]
                bx = x
                by = y
    return best, bx, by


@nb.njit(cache=True, nogil=True)
def _blur_maps_kernel(hm, k, rescale, radius, out):
    # Blur of each (H, W) map of hm (M, H, W), optionally rescaled to the map's original
    # maximum; float64 accumulation, output in out's dtype. radius < 0: every value.
    # radius >= 0: exact values within `radius` of the blurred argmax, 0 elsewhere.
    # Why the box is enough: with a kernel of non-negative taps summing to 1 and zero
    # padding, blurred(p) <= max(0, max of the raw map over p's window), so if
    # b0 = blurred(raw argmax) > 0, no pixel whose window holds no raw value >= b0 can
    # reach b0, let alone the maximum (a 1e-9 margin covers rounding). Scratch is
    # allocated once per block of maps, not per map.
    m_maps, h, w = hm.shape
    r = (k.shape[0] - 1) // 2
    line = np.zeros(w + 2 * r)
    rows = np.zeros((h + 2 * r, w))
    res = np.zeros((h, w))
    for i in range(m_maps):
        img = hm[i]
        idx, omax, finite = scan_map(img.reshape(h * w))  # finite: all finite, max > 0
        px = idx % w
        py = idx // w
        y0, y1, x0, x1 = 0, h - 1, 0, w - 1
        box = False
        if radius >= 0 and finite:
            _blur_box(img, k, py, py, px, px, line, rows, res)
            b0 = res[py, px]
            if b0 > 0.0:
                thr = b0 * (1.0 - 1e-9)
                qy0, qy1, qx0, qx1 = h, -1, w, -1
                for y in range(h):
                    row = img[y]
                    hits = 0
                    for x in range(w):  # vectorised count; the rare rows with hits
                        hits += row[x] >= thr  # are scanned again for their extent
                    if hits:
                        qy0 = min(qy0, y)
                        qy1 = y
                        for x in range(w):
                            if row[x] >= thr:
                                qx0 = min(qx0, x)
                                qx1 = max(qx1, x)
                # the candidates, and the decoder's window around the raw peak (the
                # blurred peak is usually there, which saves a second pass)
                y0 = max(0, min(qy0 - r, py - radius - 1))
                y1 = min(h - 1, max(qy1 + r, py + radius + 1))
                x0 = max(0, min(qx0 - r, px - radius - 1))
                x1 = min(w - 1, max(qx1 + r, px + radius + 1))
                box = True
        _blur_box(img, k, y0, y1, x0, x1, line, rows, res)
        bmax, bx, by = _box_argmax(res, y0, y1, x0, x1)
        f = 1.0  # maps with NaN/Inf are invalid for every decoder: left unscaled
        if rescale and finite and bmax > 0:
            f = omax / bmax
        if box:
            # the decoder's reading window around the blurred argmax; where it leaves the
            # box, blur the union (the box's values come out the same)
            wy0, wy1 = max(0, by - radius), min(h - 1, by + radius)
            wx0, wx1 = max(0, bx - radius), min(w - 1, bx + radius)
            if wy0 < y0 or wy1 > y1 or wx0 < x0 or wx1 > x1:
                y0, y1, x0, x1 = min(y0, wy0), max(y1, wy1), min(x0, wx0), max(x1, wx1)
                _blur_box(img, k, y0, y1, x0, x1, line, rows, res)
            flat = out[i].reshape(h * w)
            for j in range(h * w):  # a plain loop: a memset (out[i] = 0.0 is 10x slower)
                flat[j] = 0.0
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                out[i, y, x] = res[y, x] * f
