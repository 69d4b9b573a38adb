"""The DAEC paper's error-compensation argument (its eq. (3)-(10)) as plain numpy functions.

The paper models a predicted heatmap as ``f = g + h``: ``g`` the signal (the training
Gaussian of mean ``μ``), ``h`` the noise (random and biased errors). The mean of ``f``
over an integral window ``[x1, x2]``,

    ν = ∫ x f dx / ∫ f dx                                          (5)

differs from ``μ`` by ``δ ≈ ∫ x h dx / ∫ g dx`` (eq. (8)-(9)), and sliding the upper bound
to ``x2 − Δ`` moves the estimate until it meets ``μ`` (eq. (10)):

    ν(Δ) = ∫_{x1}^{x2−Δ} x f dx / ∫_{x1}^{x2−Δ} f dx.

A negative Δ widens the window at ``x2`` (as the paper's Δ ∈ {…, −2, −1, 0, 1, 2, …} and
the decoder do); a bias toward smaller x is compensated by cutting the other end,
``[x1 + Δ, x2]`` (the BL/UL patterns), not by a negative Δ at ``x2``.

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
from typing import Any

import numpy as np
from scipy.optimize import brentq
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
    patterns' x axis), which compensates a bias toward smaller x.

    As in the decoder (:mod:`daec_viz.decoding.daec`), a negative Δ widens the same end
    (``[x1, x2 + |Δ|]`` or ``[x1 − |Δ|, x2]``), and the window is clipped to the grid
    ``x`` as the decoder clips it to the map (beyond the grid there is no ``f``).
    """
    ds = np.asarray(deltas, float)
    xa = np.asarray(x, float)
    left, right = float(xa[0]), float(xa[-1])
    if side == "upper":
        return np.array([window_mean(xa, f, max(x1, left), min(x2 - float(d), right))
                         for d in ds])
    if side == "lower":
        return np.array([window_mean(xa, f, max(x1 + float(d), left), min(x2, right))
                         for d in ds])
    raise InputError(f"expected side 'upper' or 'lower', got {side!r}", field="side")


#: Which end of the x window each cut pattern shortens (as the decoder's ``_CUT_HIGH``).
PATTERN_SIDE: dict[str, str] = {"BR": "upper", "UR": "upper", "BL": "lower", "UL": "lower"}


#: The other end of the window (the x side of the mirrored pattern: BR <-> BL, UR <-> UL).
OTHER_SIDE: dict[str, str] = {"upper": "lower", "lower": "upper"}


def _crossings(d: np.ndarray, r: np.ndarray) -> list[tuple[float, float]]:
    """Where ``r(Δ)`` (finite samples at the sorted grid ``d``) is 0: an exact zero as
    ``(Δ, Δ)``, a sign change as the bracket ``(Δ_i, Δ_i+1)``."""
    found = [(float(v), float(v)) for v in d[r == 0]]
    for i in np.flatnonzero(np.sign(r[:-1]) * np.sign(r[1:]) < 0):
        found.append((float(d[i]), float(d[i + 1])))
    return found


def _pick(roots: list[float]) -> float | None:
    """The cut (Δ ≥ 0) nearest 0, else the widening (Δ < 0) nearest 0: the paper's
    compensation is the cut, and a crossing among the widenings comes from the noise in
    the tails beyond the (6σ + 3) window, where the signal is ~0. A root within 1e-9 px
    of 0 counts as Δ = 0 whichever side round-off put it."""
    return min(roots, key=lambda d: (d < -1e-9, abs(d))) if roots else None


def compensating_delta(deltas: np.ndarray, nu: np.ndarray, mu: float) -> float | None:
    """The Δ of the grid where ``ν(Δ)`` crosses ``μ`` (linear interpolation between grid
    points; unsorted grids are sorted): the cut (Δ ≥ 0) nearest 0, else the widening
    (Δ < 0) nearest 0; None when ``ν`` never crosses ``μ``.

    Not simply the smallest crossing: over a range with negative Δ (a widened window) that
    may be a far-off wiggle of the noise in the tails, not the compensating cut.
    """
    d = np.asarray(deltas, float)
    r = np.asarray(nu, float) - mu
    ok = np.isfinite(r)
    d, r = d[ok], r[ok]
    order = np.argsort(d, kind="stable")
    d, r = d[order], r[order]
    roots = []
    for a, b in _crossings(d, r):
        ra, rb = float(np.interp(a, d, r)), float(np.interp(b, d, r))
        roots.append(a if a == b else a + (b - a) * ra / (ra - rb))
    return _pick(roots)


def find_compensating_delta(x: np.ndarray, f: np.ndarray, x1: float, x2: float, mu: float,
                            side: str = "upper", lo: float = -15.0, hi: float = 15.0,
                            step: float = 0.25, xtol: float = 1e-10) -> float | None:
    """Δ* with ``ν(Δ*) = μ`` (eq. (10)) at the ``side`` end of ``[x1, x2]``, searched on
    ``[lo, hi]`` (heatmap px): ``ν`` sampled every ``step`` px to bracket the crossings,
    each refined by Brent's method to ``xtol`` px (``ν`` is continuous in Δ: the window's
    end moves continuously over the interpolated ``f``), then picked as in
    :func:`compensating_delta` (the cut nearest Δ = 0, else the widening nearest 0). None
    when ``ν − μ`` keeps its sign on the whole range.

    Negative Δ follows the decoder: it widens the ``side`` end (:func:`estimate_curve`).
    That is why a bias toward the other side has no Δ* here: widening only adds the thin
    tail beyond the (6σ + 3)-px window, which moves ``ν`` by far less than the bias; the
    other end has it (:data:`OTHER_SIDE`).
    """
    def resid(d: float) -> float:
        return float(estimate_curve(x, f, x1, x2, [d], side)[0]) - mu

    def holds_mu(d: float) -> bool:
        # the kept window (clipped as in estimate_curve) contains μ
        if side == "upper":
            return max(x1, float(x[0])) <= mu <= min(x2 - d, float(x[-1]))
        return max(x1 + d, float(x[0])) <= mu <= min(x2, float(x[-1]))

    grid = np.round(np.arange(lo, hi + step / 2, step), 10)
    r = estimate_curve(x, f, x1, x2, grid, side) - mu
    ok = np.isfinite(r)
    roots = []
    for a, b in _crossings(grid[ok], r[ok]):
        d = a if a == b else float(brentq(resid, a, b, xtol=xtol))
        # With noise, f can be negative far from the peak; where ∫ f over the window
        # nears 0, ν runs off to ±∞ and passes μ (or jumps across it at the pole, where
        # Brent converges leaving a large residual). A mean of non-negative weights stays
        # inside its window, so a "Δ*" whose window excludes μ is such an artefact.
        if holds_mu(d) and abs(resid(d)) <= 1e-6:
            roots.append(d)
    return _pick(roots)


@dataclass(frozen=True)
class Illustration1D:
    """Everything the 1-D figure shows (heatmap px).

    ``x`` fine grid; ``g``, ``h``, ``f`` = g + h on it; the window ``[x1, x2]`` (6σ + 3
    wide around the argmax of ``f`` sampled at integers, as DAEC does); ``deltas`` and
    ``nu`` = ν(Δ); ``nu_at`` = ν at the chosen ``delta``; ``nu_full`` = ν(0) (eq. (5));
    ``delta_paper`` = eq. (9)'s δ; ``delta_star`` = the Δ with ν(Δ) = μ at ``side``
    (or None), searched on ``search`` = ``[−(2e + 1), 2e + 1]`` (negative Δ widens that end,
    as in the decoder); ``delta_star_other`` = the same at the other end (what the
    mirrored pattern, BR <-> BL, UR <-> UL, would need); ``side`` = the end of the window
    Δ cuts (``upper``: ``[x1, x2 − Δ]``, ``lower``: ``[x1 + Δ, x2]``).

    A bias of either sign has a Δ* at one end: toward larger x at the upper end, toward
    smaller x at the lower end (the mirror image, same Δ* for ``shift`` and ``−shift``).
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
    delta_star_other: float | None = None
    search: tuple[float, float] = (-15.0, 15.0)


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
    Δ* is found at both ends (:func:`find_compensating_delta` on ``[−(2e + 1), 2e + 1]``),
    so the page can name the end that compensates whichever the sign of the bias. The
    plotted ``deltas`` default to −2 … e + 1 every 0.25 px, stretched to reach Δ*.
    """
    x = np.arange(0.0, length + step / 2, step)
    g = gaussian(x, mu, sigma)
    h = noise(x, kind, mu, sigma, shift=shift, weight=weight, std=std, seed=seed)
    f = g + h
    pix = np.arange(0, int(length) + 1)
    c = int(pix[np.argmax(np.interp(pix, x, f))])
    e = half_width(sigma)
    x1, x2 = max(0.0, c - e - 0.5), min(length, c + e + 0.5)
    # Δ = 2e + 1 empties a window of 2e + 1 px, so ±(2e + 1) holds every cut and a
    # widening as large
    search = (-float(2 * e + 1), float(2 * e + 1))
    star = find_compensating_delta(x, f, x1, x2, mu, side, *search)
    other = find_compensating_delta(x, f, x1, x2, mu, OTHER_SIDE[side], *search)
    if deltas is None:
        # the plotted curve: −2 … e + 1, stretched to show a Δ* beyond either end
        bottom, top = -2.0, e + 1.0
        if star is not None:
            bottom, top = min(bottom, math.floor(star) - 1.0), max(top, math.ceil(star) + 1.0)
        grid = np.round(np.arange(bottom, top + 1e-9, 0.25), 10)
    else:
        grid = np.asarray(deltas, float)
    nu = estimate_curve(x, f, x1, x2, grid, side)
    at = estimate_curve(x, f, x1, x2, [delta], side)[0]
    return Illustration1D(x, g, h, f, float(mu), float(sigma), x1, x2, float(delta), grid,
                          nu, float(at), window_mean(x, f, x1, x2),
                          paper_delta(x, g, h, x1, x2), star, side, other, search)


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


def animation_deltas(sigma: float, step: float = 0.5) -> np.ndarray:
    """The Δ grid of the Learn page's "Animate Δ": −2 … 2e + 1 every ``step`` heatmap px
    (``e = int(3σ + 1)``; at 2e + 1 every pattern empties the window)."""
    return np.round(np.arange(-2.0, 2 * half_width(sigma) + 1.0 + step / 2, step), 10)


def estimate_2d_curve(f: np.ndarray, sigma: float, deltas: Sequence[float] | np.ndarray,
                      pattern: str = "BR") -> np.ndarray:
    """DAEC's (x, y) on one (H, W) map at every Δ of ``deltas`` (D,): (D, 2) heatmap px,
    a loop of :func:`estimate_2d` (the page's grids hold a few dozen Δ: ~1 ms each)."""
    return np.array([estimate_2d(f, sigma, float(d), pattern)[1] for d in deltas],
                    dtype=np.float64).reshape(-1, 2)


# --------------------------------------------------------------------------- live Δ_opt

@dataclass(frozen=True)
class DeltaCurve:
    """Δ_opt of the simulated network: ``mean_oks`` (and ``mean_error``, heatmap px) of
    DAEC at each Δ of ``deltas``; ``delta_opt`` maximises the mean OKS (ties: smallest Δ);
    ``mean_bias`` (D, 2) DAEC's mean error pred − GT [x, y] at each Δ, heatmap px.
    """

    deltas: np.ndarray
    mean_oks: np.ndarray
    mean_error: np.ndarray
    delta_opt: float
    n: int
    mean_bias: np.ndarray | None = None


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
    from daec_viz.synthetic.simulate import HEATMAP_SIZE, simulate_heatmaps

    w, h = HEATMAP_SIZE
    k = 17
    rng = np.random.default_rng(seed)
    gt = np.stack([rng.uniform(6, w - 7, (n, k)), rng.uniform(6, h - 7, (n, k))], axis=-1)
    vis = np.full((n, k), 2)
    hm = simulate_heatmaps(gt, vis, knobs, np.random.default_rng(seed + 1))
    return _delta_curve(hm, gt, pattern, deltas, sigma, area_hm)


def _delta_curve(hm: np.ndarray, gt: np.ndarray, pattern: str,
                 deltas: Sequence[float] | None, sigma: float, area_hm: float) -> DeltaCurve:
    # DAEC's mean OKS and mean error over Δ on maps hm (n, K, H, W) with GT gt (n, K, 2),
    # both heatmap px; Δ_opt = the first Δ of the highest mean OKS
    from daec_viz.evaluation.oks import COCO_OKS_SIGMAS, keypoint_similarity

    n = gt.shape[0]
    grid = np.round(np.arange(-2.0, 8.0 + 1e-9, 0.5), 10) if deltas is None \
        else np.asarray(deltas, float)
    oks = np.empty(grid.size)
    err = np.empty(grid.size)
    bias = np.empty((grid.size, 2))
    for i, d in enumerate(grid):
        c = decode(hm, "daec", sigma=sigma, delta=float(d), pattern=pattern).coords
        oks[i] = float(keypoint_similarity(c, gt, np.full(n, area_hm), COCO_OKS_SIGMAS).mean())
        err[i] = float(np.sqrt(((c - gt) ** 2).sum(-1)).mean())
        bias[i] = (c - gt).reshape(-1, 2).mean(axis=0)
    best = int(np.flatnonzero(oks == oks.max())[0])
    return DeltaCurve(grid, oks, err, float(grid[best]), n, bias)


def pipeline_delta_curve(settings: object = None, knobs: object = None, *, n: int = 200,
                         pattern: str = "BR", deltas: Sequence[float] | None = None,
                         seed: int = 0, sigma: float | None = None,
                         area_hm: float = DEFAULT_AREA_HM,
                         maps: tuple[np.ndarray, np.ndarray] | None = None
                         ) -> tuple[DeltaCurve, np.ndarray]:
    """:func:`simulated_delta_curve` for a network simulated with a training/testing
    pipeline (:class:`daec_viz.synthetic.pipeline.PipelineSettings`: target encoding, flip
    test, grid-offset leak, test convention), and DARK's mean error on the same maps.

    GT: 17 joints uniform inside one box that fills the crop (at least 6 heatmap px from
    the border), in the test convention's heatmap frame; ``knobs`` default to the
    simulator's noise with no free bias (``bias=(0, 0)``), so any bias comes from the
    pipeline. Returns ``(curve, dark_mean_error)``, the latter (2,) heatmap px [x, y].
    ``maps``: the ``(heatmaps, gt)`` of :func:`pipeline_maps` for the same settings, knobs,
    ``n`` and ``seed`` (computed here when None), so a caller that keeps them decodes
    other Δ without simulating again.

    >>> from daec_viz.synthetic.pipeline import PipelineSettings
    >>> c, e = pipeline_delta_curve(PipelineSettings("dark", flip_test="shift"), n=50)
    >>> bool(e[0] > 0.3), c.delta_opt > 1
    (True, True)
    """
    from daec_viz.synthetic.pipeline import PipelineSettings

    st = settings if settings is not None else PipelineSettings()
    hm, gt = maps if maps is not None else pipeline_maps(st, knobs, n=n, seed=seed)
    s = float(st.sigma if sigma is None else sigma)
    dark_err = (decode(hm, "dark").coords - gt).reshape(-1, 2).mean(axis=0)
    return _delta_curve(hm, gt, pattern, deltas, s, area_hm), dark_err


def pipeline_maps(settings: object = None, knobs: object = None, *, n: int = 200,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The simulated maps :func:`pipeline_delta_curve` decodes: ``(heatmaps, gt)``,
    (n, 17, H, W) float32 and (n, 17, 2) GT in the test convention's heatmap px [x, y]
    (x right, y down), for ``settings`` (a
    :class:`~daec_viz.synthetic.pipeline.PipelineSettings`) and ``knobs`` (default: the
    simulator's noise without its free bias), fixed by ``seed``."""
    from daec_viz.synthetic.pipeline import PipelineSettings, simulate_pipeline_heatmaps
    from daec_viz.synthetic.simulate import NetworkKnobs

    st = settings if settings is not None else PipelineSettings()
    kn = knobs if knobs is not None else NetworkKnobs().replace(bias=(0.0, 0.0))
    kp_img, center, scale, gt = _pipeline_sample(st, n, seed)
    hm, _ = simulate_pipeline_heatmaps(kp_img, np.full((n, 17), 2), center, scale, st, kn,
                                       np.random.default_rng(seed + 1))
    return hm, gt


def _pipeline_sample(st: Any, n: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # n people of 17 joints uniform inside one box that fills the crop, at least 6 heatmap
    # px from the border: (kp_img, center, scale, GT in the test convention's heatmap px)
    from daec_viz.geometry import PIXEL_STD, to_heatmap, to_image
    w_in, h_in = st.input_size
    w, h = st.heatmap_size
    rng = np.random.default_rng(seed)
    center = np.tile([500.0, 400.0], (n, 1))
    scale = np.tile([w_in / PIXEL_STD, h_in / PIXEL_STD], (n, 1))
    gt_hm = np.stack([rng.uniform(6, w - 7, (n, 17)), rng.uniform(6, h - 7, (n, 17))], -1)
    kp_img = to_image(gt_hm, center, scale, (w, h), st.test_convention)
    return kp_img, center, scale, to_heatmap(kp_img, center, scale, (w, h), st.test_convention)


def pipeline_offsets(settings: object, *, n: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """The offsets a pipeline implies, derived (no heatmaps decoded), heatmap px [x, y],
    averaged over the same people as :func:`pipeline_delta_curve`: ``flip_test`` (the
    flip-test map's centre, :func:`~daec_viz.synthetic.pipeline.flip_test_offset`),
    ``convention`` (a test convention other than the training one,
    :func:`~daec_viz.synthetic.pipeline.convention_offset`), ``leak``
    (:func:`~daec_viz.synthetic.pipeline.leak_offset`) and their ``sum``.

    >>> from daec_viz.synthetic.pipeline import PipelineSettings
    >>> o = pipeline_offsets(PipelineSettings("hrnet", convention="dark"))
    >>> [round(float(v), 2) for v in o["convention"]]
    [0.37, 0.37]
    """
    from daec_viz.synthetic.pipeline import (
        convention_offset,
        flip_test_offset,
        input_coords,
        leak_offset,
    )
    st = settings
    kp_img, center, scale, _ = _pipeline_sample(st, n, seed)
    flip = np.array([flip_test_offset(st.pipeline, st.flip_test, st.input_size[0],
                                      st.heatmap_size[0]), 0.0])
    conv = convention_offset(kp_img, center, scale, st.pipeline, st.test_convention,
                             st.input_size, st.heatmap_size).reshape(-1, 2).mean(axis=0)
    u = input_coords(kp_img, center, scale, st.input_size, st.test_convention)
    leak = leak_offset(u, st.pipeline, st.leak, st.input_size,
                       st.heatmap_size).reshape(-1, 2).mean(axis=0)
    return {"flip_test": flip, "convention": conv, "leak": leak,
            "sum": flip + conv + leak}
