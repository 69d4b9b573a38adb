"""Geometry of top-down pose estimation: boxes, center/scale, heatmap <-> image mappings.

Conventions (everywhere in daec-viz): x = column, y = row, image axes x right and y down,
pixel centres at integer coordinates. A top-down box is a ``center`` (image px) and a
``scale`` in units of 200 image px (the HRNet/Simple-Baselines convention), one value
per axis, so the box is ``S = 200 * scale`` image px wide/high.

Three mappings from heatmap pixels (x, y) to image pixels are supported; ``W`` is the
heatmap width (``H`` its height, used the same way for y) and ``S`` the box size:

========== ============================================= ==========================
convention  x_img                                         used by
========== ============================================= ==========================
``dark``    c + (x - (W-1)/2) * (S-1)/(W-1)               DarkPose, DAEC (default)
``hrnet``   c + (x - W/2) * S/W                           HRNet, Simple Baselines
``udp``     x * S/(W-1) + c - S/2                         UDP (Huang et al. 2020)
========== ============================================= ==========================

HRNet derives its y scale from the x scale; both coincide when the box has the input's
aspect ratio (as ``box_to_center_scale`` guarantees), and daec-viz uses each axis' own
scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daec_viz.exceptions import InputError

CONVENTIONS: tuple[str, ...] = ("dark", "hrnet", "udp")
#: Training pipelines a heatmap network comes from: each fixes how targets are encoded
#: and which convention maps its heatmaps back (``hrnet``: MSRA targets rounded to an
#: integer heatmap px, ``hrnet`` convention; ``dark``: Gaussian at the exact sub-pixel
#: target, ``dark`` convention; ``udp``: unit-length scale (input − 1)/(heatmap − 1),
#: sub-pixel target, ``udp`` convention). The simulator models them
#: (:mod:`daec_viz.synthetic`).
PIPELINES: tuple[str, ...] = ("hrnet", "dark", "udp")
PIXEL_STD = 200.0


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise InputError(f"expected one of {CONVENTIONS}, got {convention!r}",
                         field="convention")


def heatmap_to_image_affine(center: np.ndarray, scale: np.ndarray,
                            heatmap_size: Sequence[int],
                            convention: str = "dark") -> np.ndarray:
    """Affine maps from heatmap pixels to image pixels, one per box.

    Parameters
    ----------
    center : (..., 2) box centres, image px.
    scale : (..., 2) box sizes in units of 200 image px.
    heatmap_size : (W, H) heatmap width and height, heatmap px.
    convention : ``"dark"``, ``"hrnet"`` or ``"udp"`` (see module docstring).

    Returns
    -------
    (..., 2, 3) float64 matrices ``A`` with ``[x_img, y_img] = A @ [x_hm, y_hm, 1]``.
    """
    _check_convention(convention)
    center = np.asarray(center, dtype=np.float64)
    size = np.asarray(scale, dtype=np.float64) * PIXEL_STD
    hm = np.asarray(heatmap_size, dtype=np.float64)
    if convention == "dark":
        gain = (size - 1.0) / (hm - 1.0)
        offset = center - gain * (hm - 1.0) / 2.0
    elif convention == "hrnet":
        gain = size / hm
        offset = center - gain * hm / 2.0
    else:  # udp
        gain = size / (hm - 1.0)
        offset = center - size / 2.0
    out = np.zeros(center.shape[:-1] + (2, 3))
    out[..., 0, 0] = gain[..., 0]
    out[..., 1, 1] = gain[..., 1]
    out[..., :, 2] = offset
    return out


def apply_affine(coords: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Apply per-instance affines.

    Parameters
    ----------
    coords : (N, K, 2) points.
    affine : (N, 2, 3) or (2, 3) matrices.

    Returns
    -------
    (N, K, 2) float64 transformed points.
    """
    coords = np.asarray(coords, dtype=np.float64)
    affine = np.asarray(affine, dtype=np.float64)
    if affine.ndim == 2:
        affine = affine[None]
    lin = affine[:, None, :, :2]  # (N, 1, 2, 2)
    return (lin @ coords[..., None])[..., 0] + affine[:, None, :, 2]


def invert_affine(affine: np.ndarray) -> np.ndarray:
    """Invert (..., 2, 3) affine maps; returns (..., 2, 3)."""
    affine = np.asarray(affine, dtype=np.float64)
    lin = np.linalg.inv(affine[..., :2])
    t = -(lin @ affine[..., 2:])
    return np.concatenate([lin, t], axis=-1)


def to_image(coords: np.ndarray, center: np.ndarray, scale: np.ndarray,
             heatmap_size: Sequence[int], convention: str = "dark") -> np.ndarray:
    """Map heatmap coordinates to image coordinates.

    Parameters
    ----------
    coords : (N, K, 2) x, y in heatmap px.
    center : (N, 2) box centres, image px.
    scale : (N, 2) box sizes / 200.
    heatmap_size : (W, H) in heatmap px.
    convention : ``"dark"`` (default), ``"hrnet"`` or ``"udp"``.

    Returns
    -------
    (N, K, 2) float64 x, y in image px.

    Examples
    --------
    >>> import numpy as np
    >>> to_image(np.array([[[23.5, 31.5]]]), np.array([[100., 50.]]),
    ...          np.array([[0.96, 1.28]]), (48, 64), "hrnet")
    array([[[98., 48.]]])
    """
    return apply_affine(coords, heatmap_to_image_affine(center, scale, heatmap_size, convention))


def to_heatmap(coords_img: np.ndarray, center: np.ndarray, scale: np.ndarray,
               heatmap_size: Sequence[int], convention: str = "dark") -> np.ndarray:
    """Inverse of :func:`to_image`: image px (N, K, 2) -> heatmap px (N, K, 2)."""
    aff = heatmap_to_image_affine(center, scale, heatmap_size, convention)
    return apply_affine(coords_img, invert_affine(aff))


def box_to_center_scale(boxes: np.ndarray, aspect_ratio: float = 0.75,
                        padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """COCO boxes (x, y, w, h) -> (center, scale) as in HRNet's ``_box2cs``.

    The box is grown to the input's ``aspect_ratio`` = width / height (0.75 for 192x256),
    then padded by ``padding``.

    Parameters
    ----------
    boxes : (N, 4) x, y, w, h in image px.

    Returns
    -------
    center (N, 2) image px and scale (N, 2) in units of 200 px.

    Examples
    --------
    >>> c, s = box_to_center_scale(np.array([[10., 20., 60., 100.]]))
    >>> c.tolist(), s.round(4).tolist()
    ([[40.0, 70.0]], [[0.4688, 0.625]])
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x, y, w, h = boxes.T
    center = np.stack([x + w * 0.5, y + h * 0.5], axis=-1)
    w2 = np.where(w > aspect_ratio * h, w, h * aspect_ratio)
    h2 = np.where(w > aspect_ratio * h, w / aspect_ratio, h)
    scale = np.stack([w2, h2], axis=-1) / PIXEL_STD * padding
    return center, scale


def center_scale_to_box(center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(center, scale) -> (N, 4) boxes x, y, w, h in image px (the padded crop box)."""
    center = np.asarray(center, dtype=np.float64)
    size = np.asarray(scale, dtype=np.float64) * PIXEL_STD
    return np.concatenate([center - size / 2.0, size], axis=-1)
