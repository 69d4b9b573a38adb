"""Heatmap decoding: ``decode(heatmaps, method=...)`` for every decoder of the paper.

Methods (see each module for the exact semantics):

============ ================================ =========================================
method       module                            idea
============ ================================ =========================================
``standard`` :mod:`daec_viz.decoding.argmax`   integer argmax (optional Gaussian blur first)
``shifting`` :mod:`daec_viz.decoding.argmax`   argmax + 0.25 px toward the higher neighbour
``dark``     :mod:`daec_viz.decoding.dark`     Taylor step on the log of the blurred map
``daec``     :mod:`daec_viz.decoding.daec`     windowed centroid with a Δ-cut corner
============ ================================ =========================================

Coordinates are heatmap px: x = column, y = row, pixel centres at integers. Use
:func:`daec_viz.geometry.to_image` to go to image px.

Examples
--------
>>> import numpy as np
>>> from daec_viz.decoding import decode
>>> yy, xx = np.mgrid[0:64, 0:48]
>>> hm = np.exp(-((xx - 20.3) ** 2 + (yy - 30.6) ** 2) / (2 * 2.0 ** 2))[None, None]
>>> decode(hm, method="standard").coords.round(3).tolist()
[[[20.0, 31.0]]]
>>> decode(hm, method="dark", blur_kernel=1).coords.round(3).tolist()
[[[20.3, 30.6]]]
>>> r = decode(hm, method="daec", sigma=2.0, delta=0)
>>> bool(abs(r.coords[0, 0, 0] - 20.3) < 0.05)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daec_viz.decoding.argmax import shifting_kernel, shifting_second_max_kernel, standard_kernel
from daec_viz.decoding.daec import PATTERNS, default_delta, half_width, run_daec, run_daec_grid
from daec_viz.decoding.dark import run_dark
from daec_viz.decoding.smoothing import check_kernel_size, gaussian_blur, opencv_gaussian_kernel
from daec_viz.exceptions import InputError

METHODS: tuple[str, ...] = ("standard", "shifting", "dark", "daec")
SHIFTING_VARIANTS: tuple[str, ...] = ("sign", "second_max")
_FLOAT_DTYPES = (np.float16, np.float32, np.float64)
# Instances converted at a time when the input must be converted or blurred first; keeps
# memory bounded (a float32 chunk of 256 x 17 x 64 x 48 is 53 MB).
CHUNK = 256

__all__ = [
    "METHODS", "PATTERNS", "SHIFTING_VARIANTS", "DecodeResult", "decode", "gaussian_blur",
    "opencv_gaussian_kernel", "half_width", "default_delta", "decode_daec_grid",
]


@dataclass(frozen=True)
class DecodeResult:
    """Result of :func:`decode`.

    Attributes
    ----------
    coords : (N, K, 2) float64, x and y in heatmap px (x = column, y = row, pixel centres
        at integers).
    scores : (N, K) float64, each map's maximum value (0 for invalid maps).
    valid : (N, K) bool, False where the map's maximum is <= 0 or a value is not finite.
        Invalid maps get the integer position of their largest finite value (0, 0 if
        none), never NaN.
    method : the decoder's name.
    options : the resolved options (sigma, delta, pattern, blur_kernel, variant).
    """

    coords: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    method: str
    options: dict[str, Any] = field(default_factory=dict)


def _as_maps(heatmaps: Any) -> np.ndarray:
    hm = np.asarray(heatmaps)
    if hm.dtype not in _FLOAT_DTYPES:
        raise InputError(f"expected a float16, float32 or float64 array, got dtype {hm.dtype}",
                         field="heatmaps")
    if hm.ndim == 3:
        hm = hm[None]
    if hm.ndim != 4:
        raise InputError(f"expected shape (N, K, H, W) or (K, H, W), got {hm.shape}",
                         field="heatmaps")
    if hm.shape[2] < 1 or hm.shape[3] < 1:
        raise InputError(f"expected H >= 1 and W >= 1, got {hm.shape}", field="heatmaps")
    return hm


def _resolve_delta(delta: float | Sequence[float] | None, sigma: float) -> tuple[float, float]:
    if delta is None:
        d = float(default_delta(sigma))
        return d, d
    if np.ndim(delta) == 0:
        d = float(delta)  # type: ignore[arg-type]
        pair = (d, d)
    else:
        vals = [float(v) for v in delta]  # type: ignore[union-attr]
        if len(vals) != 2:
            raise InputError(f"expected a number or a pair (dx, dy), got {delta!r}",
                             field="delta")
        pair = (vals[0], vals[1])
    if not all(math.isfinite(v) for v in pair):
        raise InputError(f"expected finite values, got {delta!r}", field="delta")
    return pair


def decode(heatmaps: np.ndarray, method: str = "standard", *, sigma: float = 2.0,
           delta: float | Sequence[float] | None = None, pattern: str = "BR",
           blur_kernel: int | None = None, variant: str = "sign") -> DecodeResult:
    """Decode keypoint heatmaps into coordinates.

    Parameters
    ----------
    heatmaps : (N, K, H, W) or (K, H, W) float16/float32/float64 array; not copied to
        float64 (float16 is converted to float32 in chunks of ``CHUNK`` instances).
    method : one of :data:`METHODS`.
    sigma : ``daec`` only: the training Gaussian's σ in heatmap px (window half-width
        ``int(3σ + 1)``, default Δ ``int(σ + 2)``).
    delta : ``daec`` only: the cut Δ in heatmap px; a number, or a pair (Δx, Δy);
        fractional and negative values allowed.
    pattern : ``daec`` only: the cut corner, one of ``"BR"``, ``"UR"``, ``"BL"``, ``"UL"``.
    blur_kernel : odd Gaussian kernel size (OpenCV's kernel, zero padding, rescaled to
        the original maximum). ``dark`` always blurs (default 11; the argmax is taken on
        the raw map as in DarkPose). For the other methods, if given, the maps are blurred
        first and decoded as if the network had output them.
    variant : ``shifting`` only: ``"sign"`` (HRNet/Simple Baselines quarter-pixel step
        toward the higher neighbour on each axis) or ``"second_max"`` (0.25 px toward the
        second-highest pixel).

    Returns
    -------
    DecodeResult with coords (N, K, 2) heatmap px, scores (N, K), valid (N, K).
    """
    if method not in METHODS:
        raise InputError(f"expected one of {METHODS}, got {method!r}", field="method")
    hm = _as_maps(heatmaps)
    n, k, h, w = hm.shape
    options: dict[str, Any] = {}
    if method == "daec":
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
            raise InputError(f"expected a positive number, got {sigma!r}", field="sigma")
        if pattern not in PATTERNS:
            raise InputError(f"expected one of {PATTERNS}, got {pattern!r}", field="pattern")
        dpair = _resolve_delta(delta, sigma)
        options.update(sigma=float(sigma), delta=dpair, pattern=pattern)
    if method == "shifting":
        if variant not in SHIFTING_VARIANTS:
            raise InputError(f"expected one of {SHIFTING_VARIANTS}, got {variant!r}",
                             field="variant")
        options["variant"] = variant
    if method == "dark":
        blur = check_kernel_size(11 if blur_kernel is None else blur_kernel)
        options["blur_kernel"] = blur
    else:
        blur = None if blur_kernel is None else check_kernel_size(blur_kernel)
        options["blur_kernel"] = blur

    coords = np.empty((n * k, 2), dtype=np.float64)
    scores = np.empty(n * k, dtype=np.float64)
    valid = np.empty(n * k, dtype=np.bool_)

    def run(maps: np.ndarray, sl: slice) -> None:
        c, s, v = coords[sl], scores[sl], valid[sl]
        if method == "standard":
            standard_kernel(maps, c, s, v)
        elif method == "shifting":
            kern = shifting_kernel if variant == "sign" else shifting_second_max_kernel
            kern(maps, c, s, v)
        elif method == "dark":
            run_dark(maps, c, s, v, blur_kernel=blur)  # type: ignore[arg-type]
        else:
            run_daec(maps, c, s, v, sigma=sigma, delta=dpair, pattern=pattern)

    prepare = hm.dtype == np.float16 or (blur is not None and method != "dark")
    if not prepare:
        maps = np.ascontiguousarray(hm).reshape(n * k, h, w)
        if n * k:
            run(maps, slice(0, n * k))
    else:
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            chunk = hm[start:stop].astype(np.float32 if hm.dtype == np.float16 else hm.dtype)
            if blur is not None and method != "dark":
                with np.errstate(invalid="ignore", over="ignore"):
                    chunk = gaussian_blur(chunk, blur)
            run(np.ascontiguousarray(chunk).reshape(-1, h, w), slice(start * k, stop * k))

    return DecodeResult(coords.reshape(n, k, 2), scores.reshape(n, k), valid.reshape(n, k),
                        method, options)


def decode_daec_grid(heatmaps: np.ndarray, *, sigma: float = 2.0,
                     deltas: Sequence[float | Sequence[float]] = (4,),
                     patterns: Sequence[str] | str = "BR"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DAEC for many (Δ, pattern) configurations in one pass over the maps.

    Equivalent to ``decode(heatmaps, "daec", sigma=sigma, delta=d, pattern=p)`` for each
    pair ``(deltas[c], patterns[c])`` (a single pattern applies to all Δ), but each map
    is read once and each configuration costs a few rectangle sums of a prefix table:
    the Δ sweeps use it.

    Returns
    -------
    coords (C, N, K, 2) float64 heatmap px, scores (N, K), valid (N, K).
    """
    hm = _as_maps(heatmaps)
    n, k, h, w = hm.shape
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise InputError(f"expected a positive number, got {sigma!r}", field="sigma")
    pats = [patterns] * len(deltas) if isinstance(patterns, str) else list(patterns)
    if len(pats) != len(deltas):
        raise InputError(f"expected {len(deltas)} patterns, got {len(pats)}", field="patterns")
    for p in pats:
        if p not in PATTERNS:
            raise InputError(f"expected one of {PATTERNS}, got {p!r}", field="patterns")
    pairs = [_resolve_delta(d, sigma) for d in deltas]
    coords = np.empty((len(pairs), n * k, 2))
    scores = np.empty(n * k)
    valid = np.empty(n * k, dtype=np.bool_)
    if n * k and pairs:
        step = n if hm.dtype != np.float16 else CHUNK
        for start in range(0, n, step):
            stop = min(n, start + step)
            maps = np.ascontiguousarray(hm[start:stop], dtype=np.float32
                                        if hm.dtype == np.float16 else hm.dtype)
            c, s, v = run_daec_grid(maps.reshape(-1, h, w), sigma, pairs, pats)
            sl = slice(start * k, stop * k)
            coords[:, sl], scores[sl], valid[sl] = c, s, v
    return coords.reshape(len(pairs), n, k, 2), scores.reshape(n, k), valid.reshape(n, k)
