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

import numpy as np
from scipy.ndimage import correlate1d

from ..exceptions import InputError

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
    Blurred maps, same shape, float32 for float16/float32 input, else float64.
    """
    hm = np.asarray(heatmaps)
    out_dtype = np.float64 if hm.dtype == np.float64 else np.float32
    hm = hm.astype(out_dtype, copy=False)
    k = opencv_gaussian_kernel(kernel).astype(out_dtype)
    out = correlate1d(hm, k, axis=-1, mode="constant", cval=0.0)
    out = correlate1d(out, k, axis=-2, mode="constant", cval=0.0)
    if rescale:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            omax = hm.max(axis=(-2, -1), keepdims=True)
            bmax = out.max(axis=(-2, -1), keepdims=True)
            ok = (bmax > 0) & np.isfinite(omax) & np.isfinite(bmax)
            factor = np.where(ok, omax / np.where(ok, bmax, 1), 1).astype(out_dtype)
        out *= factor
    return out
