"""Integral regression (soft-argmax) and Gu et al.'s bias-compensated version.

``integral`` (Sun et al., ECCV 2018, "Integral Human Pose Regression"; mmpose
``models/heads/regression_heads/integral_regression_head.py``, ``_flat_softmax`` and
``_linear_expectation``): over the whole map,

    p = softmax(β h),    x = Σ p · x,    y = Σ p · y        (heatmap px)

computed stably (``exp(β (h - max h))``). mmpose takes the expectation of the normalised
grid ``arange(W) / W``; times ``W`` that is this project's grid (pixel centres at
integers), so the two agree exactly.

``integral_debiased`` (Gu, Yang & Yao, ICCV 2021, "Removing the Bias of Integral Pose
Regression") exactly as mmpose implements it: ``IntegralRegressionHead.forward`` in
``mmpose/models/heads/regression_heads/integral_regression_head.py`` (``if
self.debias:``; ``DSNTHead`` inherits it), checked against mmpose's main branch of
2025-08 (commit 759b39c). With ``x̂_n`` the softmax expectation on mmpose's normalised
grid ``arange(W) / W`` (``x̂_n = x̂ / W``, ``x̂`` in heatmap px) and

    C = Σ exp(h)   over the H·W pixels of the map, *without* β (mmpose sums
                   ``feats.exp()`` while its softmax uses ``feats · β``),

per axis

    x_n = C / (C - 1) · (x̂_n - 1 / (2C)),    x = W · x_n = x̂ + (x̂ - W/2) / (C - 1)

(heatmap px; likewise y with H). Why the plain expectation is biased: every background
pixel (h ≈ 0) keeps a softmax weight exp(0) = 1, so the expectation mixes the peak's
position with the map centre. Gu et al.'s formula undoes that mix when C counts the
background as 1 (the map taken as the unit square, C the mean of exp(β h)); mmpose's C
counts it as H·W and drops β, so on decoded heatmaps (h in [0, 1]) C ≈ H·W and the
correction is at most about W / (2 H W) px (< 0.01 px on 64x48): ``integral_debiased``
is then, as in mmpose, almost the plain soft-argmax. The W/2 centre (not (W-1)/2) is
mmpose's too: its grid puts pixel centres at i/W while the 1/(2C) term assumes the
background's mean is 1/2. ``C - 1`` is computed as ``expm1(log C)``; ``C`` is summed as
``exp(max h) · Σ exp(h - max h)``, one more exponential pass over the map unless β = 1;
where ``C <= 1`` (impossible for a valid map, whose maximum is > 0) the plain expectation
is kept.

Choice of β (option ``beta``, default :data:`~daec_viz.decoding.config.DEFAULT_BETA` =
10): the softmax acts on ``β h``, so β only makes sense relative to the maps' maxima, which
are near 1 for networks trained on unit-amplitude Gaussian targets. mmpose's integral heads
default to β = 1, but they are trained end to end and learn large logits; on a heatmap
with a unit peak β = 1 leaves the softmax almost uniform (on 64x48 the background's mass is
90 times the peak's) and the expectation sits near the map centre. β = 10 is mmpose's
Debias-IPR configuration (Gu et al.'s setting): the softmax near a σ = 2 peak is then
``exp(β) exp(-β r²/(2σ²))``, about a Gaussian of σ/√β ≈ 0.6 px, and its mass outweighs
the background about 20 to 1: the plain integral keeps ~5 % of the offset from the map
centre (mmpose's debiasing, with its summed C, leaves that almost whole; see above), and
the narrower the softmax, the more its sampled mean is pulled toward the pixel grid.
For maps whose peaks are about
``a`` rather than 1, β ≈ 10/a gives the same concentration.

The exponentials are the hot path (every pixel of every map), so they are computed with a
vectorisable float64 ``exp`` (Cody–Waite range reduction, a degree-12 polynomial and the
power of two written into the exponent bits): relative error ~1e-16, like ``np.exp``, but
SIMD instead of one libm call per pixel. Arguments below -700 are raised to -700: those
weights (< 1e-304, against the peak's 1) cannot change a float64 sum.

Coordinates are heatmap px: x = column, y = row, pixel centres at integers.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from daec_viz.decoding.argmax import scan_map, store_result
from daec_viz.decoding.threads import run_kernel

_LOG2E = 1.4426950408889634
# ln 2 split so that k * _LN2_HI is exact for |k| < 2**20 (fdlibm's constants)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_MIN = -700.0
# 1/n! for n = 0..12: Taylor series of exp on |r| <= ln(2)/2 (truncation error < 2e-16)
_INV_FACT = tuple(1.0 / math.factorial(n) for n in range(13))
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12 = _INV_FACT


@nb.njit(fastmath={"contract"}, cache=True, nogil=True)
def _exp_row(row, m, beta, mant, bits):
    # exp(beta * (row[j] - m)) = mant[j] * 2**k[j]; bits[j] holds 2**k[j] as float64 bits.
    # No ``reassoc`` here: it could undo the two-step (Cody-Waite) range reduction.
    for j in range(row.shape[0]):
        t = beta * (np.float64(row[j]) - m)
        t = t if t > _EXP_MIN else _EXP_MIN
        kf = np.floor(t * _LOG2E + 0.5)
        r = (t - kf * _LN2_HI) - kf * _LN2_LO
        p = _C12
        p = p * r + _C11
        p = p * r + _C10
        p = p * r + _C9
        p = p * r + _C8
        p = p * r + _C7
        p = p * r + _C6
        p = p * r + _C5
        p = p * r + _C4
        p = p * r + _C3
        p = p * r + _C2
        p = p * r + _C1
        mant[j] = p * r + _C0
        bits[j] = (np.int64(kf) + 1023) << 52


@nb.njit(fastmath={"reassoc", "contract"}, cache=True, nogil=True)
def _row_sums(mant, scale):
    # (Σ e, Σ e·x) over one row, e = mant * scale; ``reassoc`` lets the sums vectorise.
    s = 0.0
    sx = 0.0
    for j in range(mant.shape[0]):
        e = mant[j] * scale[j]
        s += e
        sx += e * j
    return s, sx


@nb.njit(cache=True, nogil=True)
def _expectation(img, m, beta, mant, bits):
    # (Σ e, Σ e·x, Σ e·y) of e = exp(beta * (img - m)) over one map.
    h = img.shape[0]
    scale = bits.view(np.float64)
    s = 0.0
    sx = 0.0
    sy = 0.0
    for y in range(h):
        _exp_row(img[y], m, beta, mant, bits)
        rs, rx = _row_sums(mant, scale)
        s += rs
        sx += rx
        sy += rs * y
    return s, sx, sy


@nb.njit(cache=True, nogil=True)
def _sum_exp(img, m, mant, bits):
    # Σ exp(img - m) over one map to ~1e-7 relative: a degree-6 Taylor polynomial after
    # the range reduction to |r| <= ln2/2 (exp = mant * 2**k as in _exp_row). Enough for
    # C, which enters only through 1/(C - 1) ~ 1/(H W) (an error of 1e-7 in C moves x by
    # < 1e-9 px), at about half the cost of the exact exp pass.
    h = img.shape[0]
    scale = bits.view(np.float64)
    s = 0.0
    for y in range(h):
        row = img[y]
        for j in range(row.shape[0]):
            t = np.float64(row[j]) - m
            t = t if t > _EXP_MIN else _EXP_MIN
            kf = np.floor(t * _LOG2E + 0.5)
            r = (t - kf * _LN2_HI) - kf * _LN2_LO
            mant[j] = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (
                1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))))
            bits[j] = (np.int64(kf) + 1023) << 52
        s += _row_sums(mant, scale)[0]
    return s


@nb.njit(cache=True, nogil=True)
def integral_kernel(hm, beta, debias, coords, scores, valid):
    """Soft-argmax of every map, optionally bias-compensated (Gu et al.).

    hm (M, H, W); beta > 0; outputs coords (M, 2), scores (M,), valid (M,). Invalid maps
    keep their integer argmax.
    """
    m_maps, h, w = hm.shape
    cx = 0.5 * w  # mmpose's 1/(2C) term on its arange(W)/W grid: centre W/2 in heatmap px
    cy = 0.5 * h
    mant = np.empty(w)  # scratch, once per block of maps
    bits = np.empty(w, np.int64)
    for i in range(m_maps):
        img = hm[i]
        idx, mx, ok = scan_map(img.reshape(h * w))
        fx = np.float64(idx % w)
        fy = np.float64(idx // w)
        if ok:
            s, sx, sy = _expectation(img, mx, beta, mant, bits)
            fx = sx / s
            fy = sy / s
            if debias:
                # log C, C = sum(exp(h)) without beta (mmpose: feats.exp().sum()); one more
                # (cheaper) exp pass unless beta == 1
                log_c = mx + math.log(s if beta == 1.0 else _sum_exp(img, mx, mant, bits))
                if log_c > 0.0:
                    inv = 1.0 / math.expm1(log_c)  # 1 / (C - 1); 0 when C overflows
                    fx += (fx - cx) * inv
                    fy += (fy - cy) * inv
        store_result(coords, scores, valid, i, fx, fy, mx, ok)


def run_integral(hm: np.ndarray, coords: np.ndarray, scores: np.ndarray, valid: np.ndarray,
                 beta: float = 10.0, debias: bool = False) -> None:
    """Fill ``coords`` (M, 2) heatmap px, ``scores`` (M,), ``valid`` (M,) from maps ``hm``
    (M, H, W) float32/float64: the soft-argmax with sharpness ``beta``, bias-compensated
    when ``debias``.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:32, 0:24]
    >>> hm = np.exp(-((xx - 6.0) ** 2 + (yy - 20.0) ** 2) / 8.0)[None]
    >>> c, s, v = np.empty((1, 2)), np.empty(1), np.empty(1, bool)
    >>> run_integral(hm, c, s, v)  # pulled toward the centre (11.5, 15.5)
    >>> c.round(2).tolist()
    [[6.07, 19.95]]
    >>> run_integral(hm, c, s, v, debias=True)  # mmpose's C = Σ exp(h) ≈ 801: 0.007 px
    >>> c.round(3).tolist()
    [[6.059, 19.951]]
    """
    run_kernel(integral_kernel, hm, (float(beta), bool(debias)), coords, scores, valid)
