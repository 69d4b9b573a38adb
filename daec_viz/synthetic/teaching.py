"""The DAEC paper's error-compensation argument (its eq. (3)-(10)) as plain numpy functions.

The paper models a predicted heatmap as ``f = g + h``: ``g`` the signal (the training
Gaussian of mean ``μ``), ``h`` the noise (random and biased errors). The mean of ``f``
over an integral window ``[x1, x2]``,

    ν = ∫ x f dx / ∫ f dx                                          (5)

differs from ``μ`` by ``δ ≈ ∫ x h dx / ∫ g dx`` (eq. (8)-(9)), and sliding the upper bound
to ``x2 − Δ`` moves the estimate until it meets ``μ`` (eq. (10)):

    ν(Δ) = ∫_{x1}^{x2−Δ} x f dx / ∫_{x1}^{x2−Δ} f dx.

Everything here is 1-D on a fine uniform grid ``x`` (continuous integrals by the
trapezoid rule with the window's end points interpolated), except :func:`estimate_2d`
(the 2-D DAEC decoder of :mod:`daec_viz.decoding` on one map) and
:func:`simulated_delta_curve` (Δ_opt of the simulated network of
:mod:`daec_viz.synthetic.simulate`, which is what the app's "Learn" page recomputes live).

Units: heatmap px throughout.

Example
-------
>>> x = np.linspace(0, 40, 4001)
>>> g = gaussian(x, 20.0, 2.0)
>>> round(window_mean(x, g, 13.0, 27.0), 6)            # a symmetric window: ν = μ
20.0
>>> nu = estimate_curve(x, g, 13.0, 27.0, [0.0, 2.0])  # cutting the top pulls ν left
>>> bool(nu[1] < nu[0])
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from daec_viz.decoding import decode
from daec_viz.decoding.daec import half_width
from daec_viz.exceptions import InputError

NOISE_KINDS: tuple[str, ...] = ("none", "random", "biased", "both")


# --------------------------------------------------------------------------- 1-D signals

def gaussian(x: np.ndarray, mu: float, sigma: float, amplitude: float = 1.0) -> np.ndarray:
    """``amplitude · exp(−(x − μ)² / 2σ²)`` (peak ``amplitude``, like a training target)."""
    if not sigma > 0:
        raise InputError(f"expected sigma > 0, got {sigma}", field="sigma")
    x = np.asarray(x, dtype=np.float64)
    return amplitude * np.exp(-((x - mu) ** 2) / (2.0 * sigma ** 2))


def random_noise(x: np.ndarray, std: float, corr: float = 1.5, seed: int = 0) -> np.ndarray:
    """Smooth zero-mean random noise of standard deviation ``std`` (correlation ``corr`` px).

    White noise on an integer-px lattice, interpolated with Gaussian weights of width
    ``corr``; the same seed gives the same noise.
    """
    x = np.asarray(x, dtype=np.float64)
    if std == 0 or x.size == 0:
        return np.zeros_like(x)
    rng = np.random.default_rng(seed)
    nodes = np.arange(math.floor(x.min()) - 3 * corr, math.ceil(x.max()) + 3 * corr + 1)
    white = rng.standard_normal(nodes.size)
    w = np.exp(-0.5 * ((x[:, None] - nodes[None, :]) / corr) ** 2)
    w /= np.sqrt((w ** 2).sum(axis=1, keepdims=True))
    return std * (w @ white)


def biased_noise(x: np.ndarray, mu: float, sigma: float, shift: float,
                 weight: float = 0.5, amplitude: float = 1.0) -> np.ndarray:
    """Biased error ``h = weight · (G(x; μ + shift) − G(x; μ))``.

    ``f = g + h`` is then the mixture ``(1 − weight)·G(μ) + weight·G(μ + shift)``: a peak
    pulled toward ``μ + shift`` (positive ``shift`` = to the right / down, the paper's
    bottom-right bias). ``∫ h = 0``, so eq. (7) holds exactly.
    """
    return weight * (gaussian(x, mu + shift, sigma, amplitude) - gaussian(x, mu, sigma, amplitude))


def noise(x: np.ndarray, kind: str, mu: float, sigma: float, *, shift: float = 0.6,
          weight: float = 0.5, std: float = 0.03, corr: float = 1.5, seed: int = 0
          ) -> np.ndarray:
    """The noise ``h`` of eq. (3): ``"none"``, ``"random"``, ``"biased"`` or ``"both"``."""
    if kind not in NOISE_KINDS:
        raise InputError(f"expected one of {NOISE_KINDS}, got {kind!r}", field="kind")
    h = np.zeros_like(np.asarray(x, dtype=np.float64))
    if kind in ("random", "both"):
        h = h + random_noise(x, std, corr, seed)
    if kind in ("biased", "both"):
        h = h + biased_noise(x, mu, sigma, shift, weight)
    return h


# --------------------------------------------------------------------------- integrals

def _window(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The samples of ``y(x)`` on ``[lo, hi]`` with both end points interpolated."""
    inner = (x > lo) & (x < hi)
    xs = np.concatenate([[lo], x[inner], [hi]])
    return xs, np.interp(xs, x, y)


def integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """``∫_lo^hi y dx`` by the trapezoid rule on the grid ``x`` (0 when ``hi <= lo``)."""
    if hi <= lo:
        return 0.0
    xs, ys = _window(np.asarray(x, float), np.asarray(y, float), lo, hi)
    return float(np.trapezoid(ys, xs))


def window_mean(x: np.ndarray, f: np.ndarray, lo: float, hi: float) -> float:
    """Eq. (5): ``ν = ∫ x f / ∫ f`` over ``[lo, hi]`` (NaN when the window is empty or
    ``∫ f = 0``)."""
    if hi <= lo:
        return math.nan
    xs, fs = _window(np.asarray(x, float), np.asarray(f, float), lo, hi)
    den = float(np.trapezoid(fs, xs))
    if den == 0:
        return math.nan
    return float(np.trapezoid(xs * fs, xs)) / den


def truncated_gaussian_mean(mu: float, sigma: float, lo: float, hi: float) -> float:
    """Closed form of eq. (5) for ``f = G(μ, σ)`` on ``[lo, hi]`` (truncated normal mean):
    ``μ + σ (φ(a) − φ(b)) / (Φ(b) − Φ(a))`` with ``a = (lo − μ)/σ``, ``b = (hi − μ)/σ``."""
    a, b = (lo - mu) / sigma, (hi - mu) / sigma
    pdf = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)  # noqa: E731
    return mu + sigma * (pdf(a) - pdf(b)) / float(ndtr(b) - ndtr(a))


def paper_delta(x: np.ndarray, g: np.ndarray, h: np.ndarray, lo: float, hi: float) -> float:
    """Eq. (9): ``δ = ∫ x h dx / ∫ g dx`` over ``[lo, hi]`` (the first-order error of ν)."""
    den = integral(x, g, lo, hi)
    return integral(x, np.asarray(x, float) * np.asarray(h, float), lo, hi) / den \
        if den else math.nan


def estimate_curve(x: np.ndarray, f: np.ndarray, x1: float, x2: float,
                   deltas: Sequence[float] | np.ndarray, side: str = "upper") -> np.ndarray:
    """Eq. (10): ``ν(Δ)`` over ``[x1, x2 − Δ]`` for every Δ (NaN where the window is
    empty); ``side="lower"`` cuts the other end instead, ``[x1 + Δ, x2]`` (the BL/UL
    patterns' x axis), which compensates a bias toward smaller x."""
    ds = np.asarray(deltas, float)
    if side == "upper":
        return np.array([window_mean(x, f, x1, x2 - float(d)) for d in ds])
    if side == "lower":
        return np.array([window_mean(x, f, x1 + float(d), x2) for d in ds])
    raise InputError(f"expected side 'upper' or 'lower', got {side!r}", field="side")


#: Which end of the x window each cut pattern shortens (as the decoder's ``_CUT_HIGH``).
PATTERN_SIDE: dict[str, str] = {"BR": "upper", "UR": "upper", "BL": "lower", "UL": "lower"}


def compensating_delta(deltas: np.ndarray, nu: np.ndarray, mu: float) -> float | None:
    """The smallest Δ of the grid where ``ν(Δ)`` crosses ``μ`` (linear interpolation
    between grid points), or None when it never does."""
    d = np.asarray(deltas, float)
    r = np.asarray(nu, float) - mu
    ok = np.isfinite(r)
    d, r = d[ok], r[ok]
    if r.size == 0:
        return None
    zero = np.flatnonzero(r == 0)
    cross = np.flatnonzero(np.sign(r[:-1]) * np.sign(r[1:]) < 0)
    cands = []
    if zero.size:
        cands.append(float(d[zero[0]]))
    if cross.size:
        i = int(cross[0])
        cands.append(float(d[i] + (d[i + 1] - d[i]) * r[i] / (r[i] - r[i + 1])))
    return min(cands) if cands else None


@dataclass(frozen=True)
class Illustration1D:
    """Everything the 1-D figure shows (heatmap px).

    ``x`` fine grid; ``g``, ``h``, ``f`` = g + h on it; the window ``[x1, x2]`` (6σ + 3
    wide around the argmax of ``f`` sampled at integers, as DAEC does); ``deltas`` and
    ``nu`` = ν(Δ); ``nu_at`` = ν at the chosen ``delta``; ``nu_full`` = ν(0) (eq. (5));
    ``delta_paper`` = eq. (9)'s δ; ``delta_star`` = the Δ with ν(Δ) = μ (or None);
    ``side`` = the end of the window Δ cuts (``upper``: ``[x1, x2 − Δ]``, ``lower``:
    ``[x1 + Δ, x2]``).
    """

    x: np.ndarray
    g: np.ndarray
    h: np.ndarray
    f: np.ndarray
    mu: float
    sigma: float
    x1: float
    x2: float
    delta: float
    deltas: np.ndarray
    nu: np.ndarray
    nu_at: float
    nu_full: float
    delta_paper: float
    delta_star: float | None
    side: str = "upper"


def illustrate_1d(mu: float = 20.3, sigma: float = 2.0, delta: float = 2.0,
                  kind: str = "biased", *, shift: float = 0.6, weight: float = 0.5,
                  std: float = 0.03, seed: int = 0, length: float = 40.0,
                  step: float = 0.01, deltas: Sequence[float] | None = None,
                  side: str = "upper") -> Illustration1D:
    """Build the 1-D illustration of eq. (3)-(10) for one setting of the controls.

    The window is DAEC's: the argmax ``c`` of ``f`` on the integer pixels, then
    ``[c − e, c + e]`` with ``e = int(3σ + 1)`` (:func:`daec_viz.decoding.daec.half_width`),
    and the continuous window reaches half a pixel beyond the end pixels. ``side``: the
    end Δ cuts (:data:`PATTERN_SIDE`): a bias toward larger x (``shift`` > 0) is
    compensated by cutting the upper end, one toward smaller x by cutting the lower end.
    """
    x = np.arange(0.0, length + step / 2, step)
    g = gaussian(x, mu, sigma)
    h = noise(x, kind, mu, sigma, shift=shift, weight=weight, std=std, seed=seed)
    f = g + h
    pix = np.arange(0, int(length) + 1)
    c = int(pix[np.argmax(np.interp(pix, x, f))])
    e = half_width(sigma)
    x1, x2 = max(0.0, c - e - 0.5), min(length, c + e + 0.5)
    grid = np.round(np.arange(-2.0, e + 1.0 + 1e-9, 0.25), 10) if deltas is None \
        else np.asarray(deltas, float)
    nu = estimate_curve(x, f, x1, x2, grid, side)
    at = estimate_curve(x, f, x1, x2, [delta], side)[0]
    return Illustration1D(x, g, h, f, float(mu), float(sigma), x1, x2, float(delta), grid,
                          nu, float(at), window_mean(x, f, x1, x2),
                          paper_delta(x, g, h, x1, x2), compensating_delta(grid, nu, mu), side)


# --------------------------------------------------------------------------- 2-D

def gaussian_2d(width: int, height: int, mu: Sequence[float], sigma: float) -> np.ndarray:
    """(H, W) float64 peak-1 Gaussian at ``mu = (x, y)`` heatmap px."""
    xs = np.arange(width, dtype=np.float64)
    ys = np.arange(height, dtype=np.float64)
    return np.exp(-((ys[:, None] - mu[1]) ** 2 + (xs[None, :] - mu[0]) ** 2)
                  / (2.0 * sigma ** 2))


def illustrate_2d(mu: Sequence[float] = (12.3, 14.6), sigma: float = 2.0,
                  bias: Sequence[float] = (0.6, 0.4), weight: float = 0.5,
                  std: float = 0.02, size: tuple[int, int] = (28, 28), seed: int = 0
                  ) -> dict[str, np.ndarray]:
    """A 2-D map ``f = g + h``: signal at ``mu``, biased noise toward ``mu + bias`` (the
    mixture of :func:`biased_noise` per axis) and smooth random noise of std ``std``.

    Returns ``{"g", "h", "f"}`` (H, W) float64 heatmap arrays.
    """
    w, h = size
    g = gaussian_2d(w, h, mu, sigma)
    shifted = gaussian_2d(w, h, (mu[0] + bias[0], mu[1] + bias[1]), sigma)
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((h + 8, w + 8))
    ker = np.exp(-0.5 * (np.arange(-4, 5) / 1.5) ** 2)
    ker /= np.sqrt((ker ** 2).sum())
    sm = np.apply_along_axis(lambda r: np.convolve(r, ker, "same"), 1, white)
    sm = np.apply_along_axis(lambda c: np.convolve(c, ker, "same"), 0, sm)[4:-4, 4:-4]
    hh = weight * (shifted - g) + std * sm
    return {"g": g, "h": hh, "f": g + hh}


def estimate_2d(f: np.ndarray, sigma: float, delta: float, pattern: str = "BR"
                ) -> tuple[np.ndarray, np.ndarray]:
    """DAEC on one (H, W) map: returns ``(argmax (2,), estimate (2,))`` as (x, y) heatmap px."""
    a = np.asarray(f, dtype=np.float64)[None, None]
    est = decode(a, "daec", sigma=sigma, delta=delta, pattern=pattern).coords[0, 0]
    arg = decode(a, "standard").coords[0, 0]
    return arg, est


# --------------------------------------------------------------------------- live Δ_opt

@dataclass(frozen=True)
class DeltaCurve:
    """Δ_opt of the simulated network: ``mean_oks`` (and ``mean_error``, heatmap px) of
    DAEC at each Δ of ``deltas``; ``delta_opt`` maximises the mean OKS (ties: smallest Δ).
    """

    deltas: np.ndarray
    mean_oks: np.ndarray
    mean_error: np.ndarray
    delta_opt: float
    n: int


#: Area of a person filling the crop (heatmap px², 48x64 map, padding 1.25, 60% fill).
DEFAULT_AREA_HM = (48 / 1.25) * (64 / 1.25) * 0.6


def simulated_delta_curve(knobs: object = None, *, n: int = 200, pattern: str = "BR",
                          deltas: Sequence[float] | None = None, seed: int = 0,
                          sigma: float = 2.0, area_hm: float = DEFAULT_AREA_HM
                          ) -> DeltaCurve:
    """DAEC's mean OKS against Δ on ``n`` instances of the simulated network.

    The GT (17 COCO joints, all visible, uniform inside the 48x64 map at least 6 px from
    its border) and the network's randomness are fixed by ``seed``, so only ``knobs``
    (a :class:`daec_viz.synthetic.simulate.NetworkKnobs`) moves the curve. The keypoint similarity
    is COCO's (:func:`daec_viz.evaluation.oks.keypoint_similarity`) in heatmap px with a
    fixed ``area_hm``.
    About 0.2 s for n = 200 and 30 Δ values.
    """
    from daec_viz.evaluation.oks import COCO_OKS_SIGMAS, keypoint_similarity
    from daec_viz.synthetic.simulate import HEATMAP_SIZE, simulate_heatmaps

    w, h = HEATMAP_SIZE
    k = 17
    rng = np.random.default_rng(seed)
    gt = np.stack([rng.uniform(6, w - 7, (n, k)), rng.uniform(6, h - 7, (n, k))], axis=-1)
    vis = np.full((n, k), 2)
    hm = simulate_heatmaps(gt, vis, knobs, np.random.default_rng(seed + 1))
    grid = np.round(np.arange(-2.0, 8.0 + 1e-9, 0.5), 10) if deltas is None \
        else np.asarray(deltas, float)
    oks = np.empty(grid.size)
    err = np.empty(grid.size)
    for i, d in enumerate(grid):
        c = decode(hm, "daec", sigma=sigma, delta=float(d), pattern=pattern).coords
        oks[i] = float(keypoint_similarity(c, gt, np.full(n, area_hm), COCO_OKS_SIGMAS).mean())
        err[i] = float(np.sqrt(((c - gt) ** 2).sum(-1)).mean())
    best = int(np.flatnonzero(oks == oks.max())[0])
    return DeltaCurve(grid, oks, err, float(grid[best]), n)
