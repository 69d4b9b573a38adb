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


def gaussian_blur(heatmaps: np.ndarray, kernel: int = 11, rescale: bool = True) -> np.ndarray:
    """Blur every map with OpenCV's Gaussian kernel and zero padding.

    Parameters
    ----------
    heatmaps : (..., H, W) float array (heatmap px).
    kernel : odd kernel size; the kernel is ``opencv_gaussian_kernel(kernel)``.
    rescale : multiply each blurred map by ``max(original) / max(blurred)`` as DarkPose
        does (skipped for maps whose blurred maximum is not positive).

    Returns
    -------
    Blurred maps, same shape, float32 for float16/float32 input, else float64 (the sums
    are accumulated in float64 either way). Maps with NaN/Inf stay non-finite, and so are
    reported invalid by the decoders.
    """
    hm = np.asarray(heatmaps)
    out_dtype = np.float64 if hm.dtype == np.float64 else np.float32
    k = opencv_gaussian_kernel(kernel)
    shape = hm.shape
    if hm.ndim < 2:
        raise InputError(f"expected (..., H, W) maps, got shape {shape}", field="heatmaps")
    maps = np.ascontiguousarray(hm).reshape((-1,) + shape[-2:])
    out = np.empty(maps.shape, dtype=out_dtype)
    if maps.shape[0]:
        def block(a: int, b: int) -> None:
            _blur_maps_kernel(maps[a:b], k, bool(rescale), out[a:b])

        over_maps(maps.shape[0], block)
    return out.reshape(shape)


@nb.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _blur_maps_kernel(hm, k, rescale, out):
    # Zero-padded separable blur of each (H, W) map of hm (M, H, W), optionally rescaled
    # to the map's original maximum; float64 accumulation, output in out's dtype.
    # Why it is shaped like this (12x -> ~4x argmax): the scratch rows are allocated once
    # per block of maps, not per map; the kernel is symmetric, so tap pairs share one
    # multiply; taps are the outer loop and pixels the inner one, so the inner loop
    # vectorises; the vertical pass streams over the row-blurred rows without a padded
    # copy of the map.
    m_maps, h, w = hm.shape
    r = (k.shape[0] - 1) // 2
    line = np.zeros(w + 2 * r)  # one padded row of the map
    rows = np.zeros((h + 2 * r, w))  # row-blurred map, r zero rows above and below
    res = np.empty((h, w))
    for i in range(m_maps):
        img = hm[i]
        omax = -np.inf
        for y in range(h):
            for x in range(w):
                v = np.float64(img[y, x])
                line[x + r] = v
                omax = max(omax, v)
            acc = rows[y + r]
            for x in range(w):
                acc[x] = k[r] * line[x + r]
            for t in range(1, r + 1):
                kt = k[r + t]
                for x in range(w):
                    acc[x] += kt * (line[x + r - t] + line[x + r + t])
        bmax = -np.inf
        for y in range(h):
            acc = res[y]
            centre = rows[y + r]
            for x in range(w):
                acc[x] = k[r] * centre[x]
            for t in range(1, r + 1):
                kt = k[r + t]
                up = rows[y + r - t]
                down = rows[y + r + t]
                for x in range(w):
                    acc[x] += kt * (up[x] + down[x])
            for x in range(w):
                bmax = max(bmax, acc[x])
        f = 1.0
        if rescale and bmax > 0 and np.isfinite(omax) and np.isfinite(bmax):
            f = omax / bmax
        for y in range(h):
            for x in range(w):
                out[i, y, x] = res[y, x] * f
