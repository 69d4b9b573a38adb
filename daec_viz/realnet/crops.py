"""Person crops: bilinear sampling of an image through axis-aligned input -> image affines.

The one crop sampler of :mod:`daec_viz.realnet` (BlazePose's square crops and the
top-down models' convention crops both go through :func:`warp_crops`). Pixel centres at
integers, x right, y down: input px ``(u, v)`` of crop ``i`` samples the image at
``x = A[i, 0, 0] u + A[i, 0, 2]``, ``y = A[i, 1, 1] v + A[i, 1, 2]`` (bilinear, zeros
outside the image), which is what ``cv2.warpAffine(img, inv(A), ..., INTER_LINEAR,
BORDER_CONSTANT)`` computes for the same affine (mmpose / HRNet build their crops so,
without rotation).

Examples
--------
>>> import numpy as np
>>> img = np.arange(12, dtype=np.float32).reshape(3, 4, 1).repeat(3, axis=2)
>>> A = np.array([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]]])   # half a pixel right
>>> warp_crops(img, A, (2, 1))[0, 0, :, 0].tolist()
[0.5, 1.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daec_viz.exceptions import InputError

__all__ = ["warp_crops"]


def warp_crops(image: np.ndarray, input_affines: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Bilinear crops of one image, one per affine (vectorised over crops and pixels).

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB (or float values in [0, 255]).
    input_affines : (n, 2, 3) maps from input px to image px; axis-aligned (no rotation
        or shear: the off-diagonal entries of the 2x2 part are 0).
    size : (w, h) of the crops, input px.

    Returns
    -------
    (n, h, w, 3) float32 in the image's units (0..255 for uint8); zeros outside the image.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise InputError(f"expected an (H, W, 3) RGB image, got shape {img.shape}",
                         field="image")
    a = np.asarray(input_affines, dtype=np.float64).reshape(-1, 2, 3)
    if np.any(a[:, 0, 1] != 0) or np.any(a[:, 1, 0] != 0):
        raise InputError("expected axis-aligned affines (no rotation)", field="input_affines")
    w_out, h_out = (int(v) for v in size)
    h, w = img.shape[:2]
    xs = a[:, 0, 0:1] * np.arange(w_out)[None] + a[:, 0, 2:3]  # (n, w) image x per column
    ys = a[:, 1, 1:2] * np.arange(h_out)[None] + a[:, 1, 2:3]  # (n, h) image y per row
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    wx = (xs - x0).astype(np.float32)
    wy = (ys - y0).astype(np.float32)
    src = img.astype(np.float32, copy=False)
    out = np.zeros((len(a), h_out, w_out, 3), np.float32)
    for dy, fy in ((0, 1.0 - wy), (1, wy)):
        yi = y0 + dy
        fy = np.where((yi >= 0) & (yi < h), fy, 0.0).astype(np.float32)
        yi = np.clip(yi, 0, h - 1)
        for dx, fx in ((0, 1.0 - wx), (1, wx)):
            xi = x0 + dx
            fx = np.where((xi >= 0) & (xi < w), fx, 0.0).astype(np.float32)
            xi = np.clip(xi, 0, w - 1)
            wgt = fy[:, :, None] * fx[:, None, :]  # (n, h, w)
            out += wgt[..., None] * src[yi[:, :, None], xi[:, None, :]]
    return out
