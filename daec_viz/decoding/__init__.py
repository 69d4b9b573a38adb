"""Heatmap decoding: ``decode(heatmaps, method=...)`` for every decoder of the paper and
four from the field.

The paper's decoders (:data:`METHODS`; see each module for the exact semantics):

===================== ================================== ==================================
method                module                              idea
===================== ================================== ==================================
``standard``          :mod:`daec_viz.decoding.argmax`     integer argmax (optional blur first)
``shifting``          :mod:`daec_viz.decoding.argmax`     argmax + 0.25 px toward the higher
                                                          neighbour
``dark``              :mod:`daec_viz.decoding.dark`       Taylor step on the log of the
                                                          blurred map
``daec``              :mod:`daec_viz.decoding.daec`       windowed centroid with a Δ-cut
                                                          corner
===================== ================================== ==================================

Decoders from the field (:data:`FIELD_METHODS`; :data:`ALL_METHODS` is both):

===================== ================================== ==================================
method                module                              idea
===================== ================================== ==================================
``dark_udp``          :mod:`daec_viz.decoding.dark_udp`   mmpose's DARK-UDP: step-1 Newton
                                                          step on the clipped log, edge-padded
``gauss3``            :mod:`daec_viz.decoding.gauss3`     three-point log-parabola per axis
``integral``          :mod:`daec_viz.decoding.integral`   soft-argmax, softmax(β h) expectation
``integral_debiased`` :mod:`daec_viz.decoding.integral`   soft-argmax with Gu et al.'s bias
                                                          compensation
===================== ================================== ==================================

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
>>> decode(hm, method="gauss3").coords.round(6).tolist()
[[[20.3, 30.6]]]
>>> decode(hm, DecoderConfig("integral_debiased", beta=10)).coords.round(2).tolist()
[[[20.45, 30.64]]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from daec_viz.decoding.argmax import (
    shifting_kernel,
    shifting_second_max_kernel,
    standard_kernel,
)
from daec_viz.decoding.config import (
    ALL_METHODS,
    DEFAULT_BETA,
    DEFAULT_BLUR_KERNEL,
    FIELD_METHODS,
    METHODS,
    PATTERNS,
    SHIFTING_VARIANTS,
    DecoderConfig,
    default_delta,
)
from daec_viz.decoding.daec import half_width, read_radius, run_daec, run_daec_grid
from daec_viz.decoding.dark import run_dark
from daec_viz.decoding.dark_udp import run_dark_udp
from daec_viz.decoding.gauss3 import run_gauss3
from daec_viz.decoding.integral import run_integral
from daec_viz.decoding.smoothing import gaussian_blur, opencv_gaussian_kernel
from daec_viz.decoding.threads import run_kernel
from daec_viz.exceptions import InputError

_FLOAT_DTYPES = (np.float16, np.float32, np.float64)
# Instances converted at a time when the input must be converted or blurred first; keeps
# memory bounded (a float32 chunk of 256 x 17 x 64 x 48 is 53 MB).
CHUNK = 256

__all__ = [
    "METHODS", "FIELD_METHODS", "ALL_METHODS", "DEFAULT_BETA", "PATTERNS",
    "SHIFTING_VARIANTS", "DecodeResult", "DecoderConfig", "decode",
    "gaussian_blur", "opencv_gaussian_kernel", "half_width", "default_delta",
    "decode_daec_grid", "DEFAULT_BLUR_KERNEL", "blur_read_radius",
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
    config : the resolved :class:`DecoderConfig` that produced them.
    """

    coords: np.ndarray
    scores: np.ndarray
    valid: np.ndarray
    config: DecoderConfig

    @property
    def method(self) -> str:
        return self.config.method

    @property
    def options(self) -> dict[str, Any]:
        """The resolved options the decoder read (sigma, delta, pattern, blur_kernel,
        variant, beta: those that apply)."""
        return self.config.options()


def blur_read_radius(configs: Sequence[DecoderConfig]) -> int | None:
    """How far from the blurred argmax these decoders read maps that were blurred first
    (px, Chebyshev), for :func:`gaussian_blur`'s ``exact_within``; ``None`` when one of
    them reads the whole map (shifting's ``second_max`` variant, or an unknown method).

    Standard reads the argmax alone (0), shifting its four neighbours (1), DAEC its window
    (:func:`daec_viz.decoding.daec.read_radius`).

    >>> blur_read_radius([DecoderConfig("standard"), DecoderConfig("shifting")])
    1
    """
    radius = 0
    for c in configs:
        if c.method == "standard":
            r = 0
        elif c.method == "shifting" and c.resolved().variant == "sign":
            r = 1
        elif c.method == "daec":
            rc = c.resolved()
            r = read_radius(rc.sigma, rc.delta)  # type: ignore[arg-type]
        else:
            return None
        radius = max(radius, r)
    return radius


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


def decode(heatmaps: np.ndarray, config: DecoderConfig | str | None = None, *,
           method: str | None = None, **options: Any) -> DecodeResult:
    """Decode keypoint heatmaps into coordinates.

    ``decode(hm, config)`` with a :class:`DecoderConfig`, or ``decode(hm, "daec",
    delta=3)`` / ``decode(hm, method="daec", delta=3)`` with the same options as keyword
    arguments: both build the same config and give identical results.

    Parameters
    ----------
    heatmaps : (N, K, H, W) or (K, H, W) float16/float32/float64 array; not copied to
        float64 (float16 is converted to float32 in chunks of ``CHUNK`` instances).
    config : a :class:`DecoderConfig`, or a method name (one of :data:`ALL_METHODS`);
        default ``"standard"``.
    options : the config's options (see :class:`DecoderConfig`): ``sigma`` (DAEC window
        σ, heatmap px, default 2), ``delta`` (DAEC cut, number or (Δx, Δy), default
        ``int(σ + 2)``), ``pattern`` (``BR``/``UR``/``BL``/``UL``), ``blur_kernel``
        (odd OpenCV Gaussian kernel: DARK's and DARK-UDP's own blur, default 11, the
        argmax taken on the raw map as in DarkPose and mmpose; for ``standard``,
        ``shifting`` and ``daec``, if given, the maps are blurred first and decoded as if
        the network had output them), ``variant`` (shifting: ``"sign"`` or
        ``"second_max"``), ``beta`` (``integral``/``integral_debiased``: softmax
        sharpness per unit of heatmap value, default :data:`DEFAULT_BETA`). ``gauss3``
        reads no option. Options a decoder does not read are ignored.

    Returns
    -------
    DecodeResult with coords (N, K, 2) heatmap px, scores (N, K), valid (N, K) and the
    resolved config.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:64, 0:48]
    >>> hm = np.exp(-((xx - 12.25) ** 2 + (yy - 40.5) ** 2) / 8.0)[None, None]
    >>> r = decode(hm, "dark_udp", blur_kernel=1)
    >>> r.coords.round(4).tolist(), r.config.label
    ([[[12.25, 40.5]]], 'dark_udp (raw map)')
    >>> a = decode(hm, DecoderConfig("integral", beta=5))
    >>> b = decode(hm, method="integral", beta=5)
    >>> bool((a.coords == b.coords).all()), a.config == b.config
    (True, True)
    """
    if method is not None:
        if config is not None:
            raise InputError("give the method once (positionally or as method=)",
                             field="method")
        config = method
    cfg = DecoderConfig.of("standard" if config is None else config, **options).resolved()
    hm = _as_maps(heatmaps)
    n, k, h, w = hm.shape
    m = cfg.method
    # DARK and DARK-UDP blur inside their kernels (locally, exactly); the others decode
    # blurred maps
    pre_blur = cfg.blur_kernel if (cfg.smooth and m not in ("dark", "dark_udp")) else None

    coords = np.empty((n * k, 2), dtype=np.float64)
    scores = np.empty(n * k, dtype=np.float64)
    valid = np.empty(n * k, dtype=np.bool_)

    def run(maps: np.ndarray, sl: slice) -> None:
        c, s, v = coords[sl], scores[sl], valid[sl]
        if m == "standard":
            run_kernel(standard_kernel, maps, (), c, s, v)
        elif m == "shifting":
            kern = shifting_kernel if cfg.variant == "sign" else shifting_second_max_kernel
            run_kernel(kern, maps, (), c, s, v)
        elif m == "dark":
            run_dark(maps, c, s, v, blur_kernel=cfg.blur_kernel)  # type: ignore[arg-type]
        elif m == "dark_udp":
            run_dark_udp(maps, c, s, v, blur_kernel=cfg.blur_kernel)  # type: ignore[arg-type]
        elif m == "gauss3":
            run_gauss3(maps, c, s, v)
        elif m in ("integral", "integral_debiased"):
            run_integral(maps, c, s, v, beta=cfg.beta,  # type: ignore[arg-type]
                         debias=m == "integral_debiased")
        else:
            run_daec(maps, c, s, v, sigma=cfg.sigma, delta=cfg.delta,  # type: ignore[arg-type]
                     pattern=cfg.pattern)  # type: ignore[arg-type]

    if hm.dtype != np.float16 and pre_blur is None:
        maps = np.ascontiguousarray(hm).reshape(n * k, h, w)
        if n * k:
            run(maps, slice(0, n * k))
    else:
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            chunk = hm[start:stop].astype(np.float32 if hm.dtype == np.float16 else hm.dtype)
            if pre_blur is not None:
                with np.errstate(invalid="ignore", over="ignore"):
                    chunk = gaussian_blur(chunk, pre_blur,
                                          exact_within=blur_read_radius([cfg]))
            run(np.ascontiguousarray(chunk).reshape(-1, h, w), slice(start * k, stop * k))

    return DecodeResult(coords.reshape(n, k, 2), scores.reshape(n, k), valid.reshape(n, k),
                        cfg)


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
    pats = [patterns] * len(deltas) if isinstance(patterns, str) else list(patterns)
    if len(pats) != len(deltas):
        raise InputError(f"expected {len(deltas)} patterns, got {len(pats)}", field="patterns")
    # every (Δ, pattern) validated exactly as a single DAEC config is
    cfgs = [DecoderConfig("daec", sigma=sigma, delta=d, pattern=p)
            for d, p in zip(deltas, pats, strict=True)]
    sigma = cfgs[0].sigma if cfgs else DecoderConfig("daec", sigma=sigma).sigma
    pairs = [c.delta for c in cfgs]
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
