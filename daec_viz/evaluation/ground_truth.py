"""Ground truth in heatmap px, and the "outside the heatmap" rule: one home for both.

A joint's ground truth (image px) is mapped into its instance's heatmap with the inverse
of the heatmap -> image affine. Pixel centres are at integers, so the map covers
``[-0.5, W - 0.5] × [-0.5, H - 0.5]``; a ground truth beyond that cannot be reached by
any decoder, so the error analysis and the app's error filters leave it out (it still
counts in AP: the network missed it).

>>> import numpy as np
>>> inside_heatmap(np.array([[[-0.5, 0.0], [47.6, 3.0]]]), (48, 64)).tolist()
[[True, False]]
"""

from __future__ import annotations

import numpy as np

from daec_viz.geometry import apply_affine, invert_affine

__all__ = ["gt_in_heatmap", "inside_heatmap"]


def gt_in_heatmap(gt_img: np.ndarray, affines: np.ndarray) -> np.ndarray:
    """(n, K, 2) ground-truth x, y in heatmap px from ``gt_img`` (n, K, 2) image px (NaN
    stays NaN) and the instances' heatmap -> image ``affines`` (n, 2, 3)."""
    return apply_affine(np.asarray(gt_img, dtype=np.float64), invert_affine(affines))


def inside_heatmap(xy_hm: np.ndarray, heatmap_size: tuple[int, int]) -> np.ndarray:
    """(...) bool: the points ``xy_hm`` (..., 2) heatmap px lie on the map of size
    ``(W, H)`` (within half a pixel of its border pixels' centres); False for NaN."""
    w, h = heatmap_size
    x, y = xy_hm[..., 0], xy_hm[..., 1]
    with np.errstate(invalid="ignore"):
        return (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
