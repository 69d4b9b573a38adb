"""The flip test: average a network's heatmaps with those of the mirrored input.

Top-down pose estimators usually run each crop twice, once mirrored left-right, and
average the two outputs. The mirrored input's heatmaps must first be brought back into
the original frame: columns reversed and left/right channels swapped
(:func:`flip_back`). Code bases then differ in one detail (``mode``):

============ ======================================================================
mode          what happens to the flipped-back maps before averaging
============ ======================================================================
``none``      no flip test: the original's maps are used alone
``shift``     HRNet / Simple Baselines (``TEST.SHIFT_HEATMAP``, mmpose
              ``shift_heatmap=True``): shifted one pixel right, column ``x`` takes
              column ``x - 1`` (column 0 keeps its value)
``noshift``   DarkPose, UDP, mmpose's UDP configs: averaged as they are
============ ======================================================================

Why a shift exists at all: with HRNet's label convention a mirrored keypoint's heatmap
position is not the mirror of the original's around the heatmap centre, and the one
pixel shift is a coarse fix for that (see :mod:`daec_viz.synthetic` for the offsets
each pipeline implies). Heatmap coordinates: x = column, y = row, pixel centres at
integers; arrays are ``(N, K, H, W)``.

Examples
--------
>>> import numpy as np
>>> hm = np.zeros((1, 3, 1, 4)); hm[0, 1, 0, 0] = 1.0      # joint 1 at column 0
>>> flip_back(hm, [(1, 2)])[0, :, 0].tolist()              # -> joint 2 at column 3
[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
>>> shift_right(np.array([[[[1.0, 2.0, 3.0]]]]))[0, 0, 0].tolist()
[1.0, 1.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daec_viz.exceptions import InputError

FLIP_MODES: tuple[str, ...] = ("none", "shift", "noshift")

__all__ = ["FLIP_MODES", "flip_permutation", "flip_back", "shift_right", "combine_flip",
           "check_flip_mode"]


def check_flip_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`FLIP_MODES`, else an :class:`InputError`."""
    if mode not in FLIP_MODES:
        raise InputError(f"expected one of {list(FLIP_MODES)}, got {mode!r}", field="flip_test")
    return mode


def flip_permutation(num_keypoints: int, flip_pairs: Sequence[Sequence[int]]) -> np.ndarray:
    """(K,) index of each joint's left/right mirror (itself for unpaired joints): what a
    horizontal flip does to the channel order. Pairs must lie in ``[0, K)``.

    >>> flip_permutation(5, [(1, 2), (3, 4)]).tolist()
    [0, 2, 1, 4, 3]
    """
    perm = np.arange(num_keypoints)
    for a, b in flip_pairs:
        a, b = int(a), int(b)
        if not (0 <= a < num_keypoints and 0 <= b < num_keypoints):
            raise InputError(f"flip pair {(a, b)} out of range for K={num_keypoints}",
                             field="flip_pairs")
        perm[a], perm[b] = b, a
    return perm


def flip_back(heatmaps: np.ndarray, flip_pairs: Sequence[Sequence[int]]) -> np.ndarray:
    """Heatmaps of the mirrored input, brought back to the original's frame.

    Parameters
    ----------
    heatmaps : (N, K, H, W) maps the network gave for the left-right mirrored crops.
    flip_pairs : left/right channel index pairs, e.g. ``COCO_FLIP_PAIRS``.

    Returns
    -------
    (N, K, H, W) new array: columns reversed (column x -> W - 1 - x) and each paired
    channel swapped with its partner.
    """
    hm = np.asarray(heatmaps)
    if hm.ndim != 4:
        raise InputError(f"expected heatmaps of shape (N, K, H, W), got {hm.shape}",
                         field="heatmaps")
    perm = flip_permutation(hm.shape[1], flip_pairs)
    return np.ascontiguousarray(hm[:, perm, :, ::-1])


def shift_right(heatmaps: np.ndarray) -> np.ndarray:
    """HRNet's one-pixel shift: column x takes column x - 1; column 0 keeps its value.

    (..., W) -> new array of the same shape.
    """
    hm = np.asarray(heatmaps)
    out = hm.copy()
    out[..., 1:] = hm[..., :-1]
    return out


def combine_flip(heatmaps: np.ndarray, flipped: np.ndarray | None,
                 flip_pairs: Sequence[Sequence[int]], mode: str) -> np.ndarray:
    """The flip test's output: the original's maps averaged with the flipped-back ones.

    Parameters
    ----------
    heatmaps : (N, K, H, W) maps of the original crops.
    flipped : (N, K, H, W) maps of the mirrored crops (as the network gave them, not yet
        flipped back); ignored (may be None) when ``mode == "none"``.
    flip_pairs : left/right channel pairs.
    mode : ``"none"``, ``"shift"`` or ``"noshift"`` (module docstring).

    Returns
    -------
    (N, K, H, W) float array in the dtype of ``heatmaps`` (float32 for integer input).
    """
    check_flip_mode(mode)
    hm = np.asarray(heatmaps)
    dtype = hm.dtype if hm.dtype.kind == "f" else np.dtype(np.float32)
    if mode == "none":
        return hm.astype(dtype, copy=False)
    if flipped is None:
        raise InputError(f"flip test {mode!r} needs the mirrored input's heatmaps",
                         field="flip_test")
    back = flip_back(flipped, flip_pairs)
    if back.shape != hm.shape:
        raise InputError(f"expected the mirrored input's heatmaps to have the shape "
                         f"{hm.shape}, got {np.shape(flipped)}", field="heatmaps")
    if mode == "shift":
        back = shift_right(back)
    return ((hm.astype(np.float64) + back) * 0.5).astype(dtype)
