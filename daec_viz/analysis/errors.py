"""Error-bias analysis: where each decoder misses, and why.

The DAEC paper's claim is that heatmap decoding errors are biased toward the bottom-right
and that the Δ cut compensates it. This module measures that, on plain arrays first and
then on a whole :class:`~daec_viz.io.datasets.Dataset` (:func:`analyse_errors`, streamed in
slices).

Error vectors
    ``e = pred - GT`` per instance and joint, (N, K, 2) as (x, y): in heatmap px (GT
    mapped into the heatmap with the instance's affine), in image px, and normalised by
    the OKS scale ``s = sqrt(area)`` of the GT person (``e_img / s``, unitless).

Quadrants (image axes: x right, y down)
    BR = x > 0, y > 0 (prediction right of and below the truth); UR = x > 0, y < 0;
    BL = x < 0, y > 0; UL = x < 0, y < 0.
    **Zero rule**: an error with a component ``|e| <= zero_tol`` (default 1e-6 image px)
    lies on an axis and has no quadrant: it is counted in the separate bucket ``none``,
    and quadrant shares are taken over the four quadrants only (the ``none`` share is
    reported beside them). Why: argmax-type decoders return integer heatmap positions, so
    exact zeros in one axis are common whenever a GT sits on a pixel centre. Sending
    ``x == 0`` to "right" and ``y == 0`` to "down" (or any other side) would pour those
    errors into BR/UR/BL by decree and could create exactly the BR > UR > BL > UL
    ordering the check is meant to test. Excluding them is deterministic, keeps integer
    counts, and commutes with mirroring (a left/right or up/down mirrored error set gives
    mirrored counts), so the ordering comes from the data alone.

Mean bias
    The mean error per joint (and pooled over joints) with a percentile bootstrap
    confidence interval; instances are resampled (joints of one person stay together).
    Vectorised: a (B, N) matrix of resampled indices becomes a (B, N) count matrix that
    multiplies the (N, K) sums; seeded, so reproducible.

Sub-pixel phase
    ``φ = gt_hm - floor(gt_hm)`` in [0, 1) per axis: where the GT lies relative to the
    pixel centre at or before it (0 = on a pixel centre). Argmax on a noise-free Gaussian
    returns the nearest pixel centre, so its error is the saw-tooth
    ``e(φ) = -φ`` for φ <= ½ and ``1 - φ`` for φ > ½ (:func:`argmax_sawtooth`); DARK and
    DAEC should flatten it.

Taxonomy
    Good / jitter / inversion / swap / miss of Ronchi & Perona (ICCV 2017), and AP with
    each error type corrected: :mod:`daec_viz.analysis.taxonomy` (re-exported here).

Examples
--------
>>> import numpy as np
>>> err = np.array([[[0.4, 0.2], [0.3, -0.1], [0.0, 0.5], [-0.2, 0.1]]])
>>> q = quadrant_stats(err)
>>> q.counts
{'BR': 1, 'UR': 1, 'BL': 1, 'UL': 0, 'none': 1}
>>> argmax_sawtooth(np.array([0.0, 0.25, 0.75])).tolist()
[-0.0, -0.25, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daec_viz.analysis.taxonomy import (
    ERROR_TYPES,
    TAXONOMY,
    GroundTruthTable,
    KeypointTaxonomy,
    TaxonomyAP,
    classify_keypoints,
    corrected_keypoints,
    ground_truth_table,
    instance_oks,
    keypoint_similarity,
    match_detections,
    taxonomy_ap,
    taxonomy_summary,
)
from daec_viz.exceptions import InputError
from daec_viz.geometry import apply_affine, invert_affine

__all__ = [
    "QUADRANTS", "QUADRANT_BUCKETS", "PAPER_ORDER", "TAXONOMY", "ERROR_TYPES",
    "error_vectors", "quadrant_codes", "quadrant_stats", "QuadrantStats",
    "bootstrap_bias", "bootstrap_biases", "BiasEstimate", "error_histogram2d", "Histogram2D",
    "subpixel_phase", "PhaseCurve", "argmax_sawtooth", "sawtooth_bin_means",
    "normalise_by_oks_scale", "GroundTruthTable", "KeypointTaxonomy", "TaxonomyAP",
    "labelled_xy", "ground_truth_table", "keypoint_similarity", "instance_oks", "match_detections",
    "classify_keypoints", "corrected_keypoints", "taxonomy_ap", "taxonomy_summary",
    "MethodErrors", "ErrorAnalysis", "analyse_errors", "DEFAULT_ZERO_TOL",
]

QUADRANTS: tuple[str, ...] = ("BR", "UR", "BL", "UL")
"""Quadrant names in code order 0..3."""
QUADRANT_BUCKETS: tuple[str, ...] = QUADRANTS + ("none",)
"""Quadrants plus ``none`` (code 4: a zero component); code -1 = missing (NaN)."""
PAPER_ORDER: tuple[str, ...] = ("BR", "UR", "BL", "UL")
"""The ordering the DAEC paper reports (BR > UR > BL > UL)."""
DEFAULT_ZERO_TOL = 1e-6


# --------------------------------------------------------------------------- vectors

def labelled_xy(keypoints: np.ndarray) -> np.ndarray:
    """(..., K, 3) keypoints with visibility -> (..., K, 2) x, y with NaN where v <= 0."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[-1] == 2:
        return kp.copy()
    if kp.shape[-1] != 3:
        raise InputError(f"expected (..., K, 2) or (..., K, 3), got {kp.shape}",
                         field="keypoints")
    xy = kp[..., :2].copy()
    with np.errstate(invalid="ignore"):
        xy[~(kp[..., 2] > 0)] = np.nan
    return xy


def error_vectors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Error vectors ``pred - gt``.

    Parameters
    ----------
    pred : (N, K, 2) x, y (heatmap px or image px).
    gt : (N, K, 2), or (N, K, 3) with COCO visibility (v <= 0 -> missing), same units.

    Returns
    -------
    (N, K, 2) float64; NaN where the GT or the prediction is missing/non-finite (both
    components NaN together, never one alone).
    """
    p = np.asarray(pred, dtype=np.float64)
    g = labelled_xy(gt)
    if p.shape != g.shape or p.ndim < 1 or p.shape[-1] != 2:
        raise InputError(f"expected pred and gt of the same shape (N, K, 2), got {p.shape} "
                         f"and {g.shape}", field="pred")
    e = p - g
    bad = ~np.isfinite(e).all(-1)
    e[bad] = np.nan
    return e


def normalise_by_oks_scale(err_img: np.ndarray, area: np.ndarray) -> np.ndarray:
    """``err_img / sqrt(area)``: errors in units of the person's OKS scale ``s``.

    ``err_img`` (N, K, 2) image px, ``area`` (N,) image px² (the GT's COCO area). NaN where
    the area is not positive.
    """
    s = np.sqrt(np.asarray(area, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        s = np.where(s > 0, s, np.nan)
    return np.asarray(err_img, dtype=np.float64) / s[:, None, None]


# --------------------------------------------------------------------------- quadrants

def quadrant_codes(err: np.ndarray, zero_tol: float = DEFAULT_ZERO_TOL) -> np.ndarray:
    """Quadrant code of each error vector, image axes (x right, y down).

    Codes: 0 BR (x>0, y>0), 1 UR (x>0, y<0), 2 BL (x<0, y>0), 3 UL (x<0, y<0),
    4 ``none`` (a component with ``|e| <= zero_tol``: on an axis, see the module
    docstring), -1 missing (NaN).

    Parameters
    ----------
    err : (..., 2) errors, x and y.
    zero_tol : tolerance for "zero", in the units of ``err``.

    Returns
    -------
    (...) int8.
    """
    e = np.asarray(err, dtype=np.float64)
    x, y = e[..., 0], e[..., 1]
    finite = np.isfinite(x) & np.isfinite(y)
    with np.errstate(invalid="ignore"):
        right = x > 0
        down = y > 0
        zero = (np.abs(x) <= zero_tol) | (np.abs(y) <= zero_tol)
    code = np.where(right, np.where(down, 0, 1), np.where(down, 2, 3)).astype(np.int8)
    code[zero] = 4
    code[~finite] = -1
    return code


@dataclass(frozen=True)
class QuadrantStats:
    """Quadrant counts of a set of error vectors.

    Attributes
    ----------
    counts : ``{"BR", "UR", "BL", "UL", "none"}`` -> number of errors (missing excluded).
    per_joint : (K, 5) counts per joint in :data:`QUADRANT_BUCKETS` order (None if the
        errors had no joint axis).
    """

    counts: dict[str, int]
    per_joint: np.ndarray | None = None

    @property
    def n_labelled(self) -> int:
        """Errors counted (the four quadrants + none)."""
        return int(sum(self.counts.values()))

    @property
    def n_quadrant(self) -> int:
        """Errors that lie in a quadrant (not on an axis)."""
        return int(sum(self.counts[q] for q in QUADRANTS))

    @property
    def shares(self) -> dict[str, float]:
        """Share of each quadrant among the errors in a quadrant (sums to 1)."""
        n = self.n_quadrant
        return {q: (self.counts[q] / n if n else float("nan")) for q in QUADRANTS}

    @property
    def none_share(self) -> float:
        """Share of the counted errors lying on an axis."""
        n = self.n_labelled
        return self.counts["none"] / n if n else float("nan")

    @property
    def order(self) -> tuple[str, ...]:
        """Quadrants by decreasing count (ties in BR, UR, BL, UL order)."""
        return tuple(sorted(QUADRANTS, key=lambda q: -self.counts[q]))

    def follows(self, order: Sequence[str] = PAPER_ORDER) -> bool:
        """True when counts strictly decrease along ``order`` (default BR > UR > BL > UL)."""
        c = [self.counts[q] for q in order]
        return all(a > b for a, b in zip(c, c[1:], strict=False))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"counts": dict(self.counts),
                "shares": {k: _num(v) for k, v in self.shares.items()},
                "none_share": _num(self.none_share), "order": list(self.order),
                "follows_paper_order": self.follows()}


def quadrant_stats(err: np.ndarray, zero_tol: float = DEFAULT_ZERO_TOL) -> QuadrantStats:
    """Count error vectors per quadrant (see :func:`quadrant_codes`).

    Parameters
    ----------
    err : (N, K, 2) errors (or (n, 2)); NaN entries are skipped.
    """
    e = np.asarray(err, dtype=np.float64)
    codes = quadrant_codes(e, zero_tol)
    ok = codes >= 0
    c = np.bincount(codes[ok].ravel().astype(np.int64), minlength=5)
    per_joint = None
    if e.ndim == 3:
        k = e.shape[1]
        joint = np.broadcast_to(np.arange(k), codes.shape)
        per_joint = np.bincount(joint[ok] * 5 + codes[ok], minlength=5 * k).reshape(k, 5)
    return QuadrantStats({b: int(v) for b, v in zip(QUADRANT_BUCKETS, c, strict=True)},
                         per_joint)


# --------------------------------------------------------------------------- bias

@dataclass(frozen=True)
class BiasEstimate:
    """Mean error with a percentile bootstrap interval (K joints).

    Attributes
    ----------
    mean, lo, hi : (K, 2) per-joint mean error and interval bounds (x, y), NaN where a
        joint has no labelled error.
    count : (K,) errors per joint.
    overall_mean, overall_lo, overall_hi : (2,) the mean over all labelled (instance,
        joint) errors and its interval.
    n_boot, ci, seed : the bootstrap settings.
    units : "hm", "img" or "oks" (or what the caller says).
    """

    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray
    overall_mean: np.ndarray
    overall_lo: np.ndarray
    overall_hi: np.ndarray
    n_boot: int
    ci: float
    seed: int | None
    units: str = ""

    def contains(self, vector: Sequence[float], joint: int | None = None) -> bool:
        """Whether ``vector`` (x, y) lies inside the interval (overall, or of ``joint``)."""
        v = np.asarray(vector, dtype=np.float64)
        lo, hi = (self.overall_lo, self.overall_hi) if joint is None else \
            (self.lo[joint], self.hi[joint])
        return bool(np.all((lo <= v) & (v <= hi)))

    def to_dict(self, per_joint: bool = True) -> dict[str, Any]:
        """JSON-ready summary."""
        out: dict[str, Any] = {
            "units": self.units, "ci": self.ci, "n_boot": self.n_boot, "seed": self.seed,
            "overall": {"mean": _nums(self.overall_mean), "lo": _nums(self.overall_lo),
                        "hi": _nums(self.overall_hi),
                        "quadrant": _quadrant_name(self.overall_mean)}}
        if per_joint:
            out["per_joint"] = {"mean": _nums(self.mean), "lo": _nums(self.lo),
                                "hi": _nums(self.hi), "count": self.count.tolist()}
        return out


def _quadrant_name(v: np.ndarray) -> str | None:
    c = int(quadrant_codes(np.asarray(v, dtype=np.float64), 0.0))
    return None if c < 0 else QUADRANT_BUCKETS[c]


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _nums(a: np.ndarray) -> Any:
    """Array -> nested lists of floats, None where not finite (valid JSON)."""
    a = np.asarray(a, dtype=np.float64)
    obj = a.astype(object)
    obj[~np.isfinite(a)] = None
    return obj.tolist()


def bootstrap_biases(errors: Mapping[str, np.ndarray], n_boot: int = 1000, ci: float = 0.95,
                     seed: int | None = 0, max_cells: int = 4_000_000
                     ) -> dict[str, BiasEstimate]:
    """:func:`bootstrap_bias` of several error arrays on the **same** resamples.

    ``errors`` maps a units name to (N, K, 2) errors of the same N instances (e.g. heatmap
    px, image px, OKS-normalised). ``max_cells`` bounds the (block, N) resample matrix held
    at once (memory ~ 16 bytes per cell).
    """
    if not errors:
        return {}
    if not (0 < ci < 1):
        raise InputError(f"expected 0 < ci < 1, got {ci}", field="ci")
    if n_boot < 1:
        raise InputError(f"expected n_boot >= 1, got {n_boot}", field="n_boot")
    names = list(errors)
    arrs = [np.asarray(errors[k], dtype=np.float64) for k in names]
    n, k = arrs[0].shape[:2]
    for name, a in zip(names, arrs, strict=True):
        if a.shape != (n, k, 2):
            raise InputError(f"expected shape ({n}, {k}, 2), got {a.shape}", field=name)
    # columns per units: K sums of x, K sums of y, K counts
    cols = []
    for a in arrs:
        m = np.isfinite(a).all(-1)
        v = np.where(m[..., None], a, 0.0)
        cols += [v[..., 0], v[..., 1], m.astype(np.float64)]
    x = np.concatenate(cols, axis=1)  # (N, 3 K U)
    totals = x.sum(axis=0)
    boot = np.empty((n_boot, x.shape[1]))
    rng = np.random.default_rng(seed)
    block = max(1, min(n_boot, max_cells // max(n, 1)))
    for s in range(0, n_boot, block):
        b = min(block, n_boot - s)
        if n == 0:
            boot[s:s + b] = 0.0
            continue
        idx = rng.integers(0, n, size=(b, n))
        w = np.bincount((idx + n * np.arange(b)[:, None]).ravel(),
                        minlength=b * n).reshape(b, n).astype(np.float64)
        boot[s:s + b] = w @ x
    q = (100 * (1 - ci) / 2, 100 * (1 + ci) / 2)
    out = {}
    for u, name in enumerate(names):
        base = 3 * k * u
        sx, sy, sc = (slice(base + i * k, base + (i + 1) * k) for i in range(3))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.stack([totals[sx], totals[sy]], -1) / totals[sc][:, None]
            bm = np.stack([boot[:, sx], boot[:, sy]], -1) / boot[:, sc][..., None]
            om = np.array([totals[sx].sum(), totals[sy].sum()]) / totals[sc].sum()
            bo = np.stack([boot[:, sx].sum(1), boot[:, sy].sum(1)], -1) / \
                boot[:, sc].sum(1)[:, None]
        lo, hi = _nanpercentiles(bm, q)
        olo, ohi = _nanpercentiles(bo, q)
        out[name] = BiasEstimate(mean, lo, hi, totals[sc].astype(np.int64), om, olo, ohi,
                                 int(n_boot), float(ci), seed, name)
    return out


def _nanpercentiles(a: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Percentiles over axis 0 ignoring NaN; NaN where a column is all NaN (no warning)."""
    finite = np.isfinite(a)
    if finite.all():
        lo, hi = np.percentile(a, q, axis=0)
        return lo, hi
    cols = finite.any(axis=0)
    lo = np.full(a.shape[1:], np.nan)
    hi = np.full(a.shape[1:], np.nan)
    if cols.any():
        sub = a[:, cols]
        plo, phi = np.nanpercentile(sub, q, axis=0)
        lo[cols], hi[cols] = plo, phi
    return lo, hi


def bootstrap_bias(err: np.ndarray, n_boot: int = 1000, ci: float = 0.95,
                   seed: int | None = 0, units: str = "") -> BiasEstimate:
    """Mean bias per joint and overall, with a percentile bootstrap interval.

    Parameters
    ----------
    err : (N, K, 2) error vectors (NaN = missing), any units.
    n_boot : bootstrap replicates (instances resampled with replacement).
    ci : confidence level of the interval.
    seed : seed of ``numpy.random.default_rng`` (reproducible results).

    Returns
    -------
    BiasEstimate.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> err = rng.normal([0.4, 0.2], 0.1, size=(500, 3, 2))
    >>> b = bootstrap_bias(err, n_boot=200)
    >>> b.contains([0.4, 0.2]), b.overall_mean.round(2).tolist()
    (True, [0.4, 0.2])
    """
    return bootstrap_biases({units: err}, n_boot=n_boot, ci=ci, seed=seed)[units]


# --------------------------------------------------------------------------- histograms

@dataclass(frozen=True)
class Histogram2D:
    """2-D histogram of error vectors: ``counts[iy, ix]`` (rows = y, down), edges in the
    units of the errors."""

    counts: np.ndarray
    x_edges: np.ndarray
    y_edges: np.ndarray

    @property
    def x_centers(self) -> np.ndarray:
        return (self.x_edges[:-1] + self.x_edges[1:]) / 2

    @property
    def y_centers(self) -> np.ndarray:
        return (self.y_edges[:-1] + self.y_edges[1:]) / 2


def error_histogram2d(err: np.ndarray, bins: int = 41,
                      extent: float | None = None) -> Histogram2D:
    """Histogram of error vectors on a square grid centred on 0.

    Parameters
    ----------
    err : (..., 2) errors; NaN skipped.
    bins : bins per axis (odd keeps a bin centred on 0).
    extent : half-width of the grid; default: the 99th percentile of ``max(|x|, |y|)``
        (at least 1e-9). Errors outside are not counted.
    """
    e = np.asarray(err, dtype=np.float64).reshape(-1, 2)
    e = e[np.isfinite(e).all(1)]
    if extent is None:
        extent = float(np.percentile(np.abs(e).max(1), 99)) if e.size else 1.0
        extent = max(extent, 1e-9)
    edges = np.linspace(-extent, extent, bins + 1)
    counts, _, _ = np.histogram2d(e[:, 1], e[:, 0], bins=(edges, edges))
    return Histogram2D(counts.astype(np.int64), edges, edges.copy())


# --------------------------------------------------------------------------- phase

def argmax_sawtooth(phase: np.ndarray) -> np.ndarray:
    """Analytic argmax error of a noise-free symmetric peak at sub-pixel phase ``phase``.

    The argmax lands on the nearest pixel centre (at φ = ½ exactly on the lower one, as
    ``argmax`` takes the first maximum), so ``e(φ) = -φ`` for φ <= ½ and ``1 - φ`` for
    φ > ½, in heatmap px.
    """
    p = np.asarray(phase, dtype=np.float64)
    return np.where(p > 0.5, 1.0 - p, -p)


def sawtooth_bin_means(edges: np.ndarray) -> np.ndarray:
    """Mean of :func:`argmax_sawtooth` over each bin ``[edges[i], edges[i+1])`` of [0, 1]
    (uniform phase): the analytic curve a binned phase plot of argmax converges to."""
    e = np.asarray(edges, dtype=np.float64)

    def prim(x: np.ndarray) -> np.ndarray:  # antiderivative of the saw-tooth from 0
        return np.where(x <= 0.5, -x ** 2 / 2,
                        -0.125 + (x - 0.5) - (x ** 2 - 0.25) / 2)

    return (prim(e[1:]) - prim(e[:-1])) / np.diff(e)


@dataclass(frozen=True)
class PhaseCurve:
    """Error as a function of the GT's sub-pixel phase, per axis.

    Attributes
    ----------
    edges : (B + 1,) bin edges of φ on [0, 1].
    mean, std : (2, B) mean and standard deviation of the error component along each axis
        (row 0: x error vs φ_x; row 1: y error vs φ_y), heatmap px; NaN for empty bins.
    count : (2, B) errors per bin.
    """

    edges: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    def amplitude(self) -> np.ndarray:
        """(2,) peak-to-peak of the binned mean per axis (≈ 1 for argmax, small when the
        decoder removes the saw-tooth)."""
        m = self.mean
        out = np.full(2, np.nan)
        for a in range(2):  # two axes, not a hot loop
            v = m[a][np.isfinite(m[a])]
            if v.size:
                out[a] = v.max() - v.min()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"centers": self.centers.tolist(), "mean": _nums(self.mean),
                "std": _nums(self.std), "count": self.count.tolist(),
                "amplitude": _nums(self.amplitude())}


def subpixel_phase(gt_hm: np.ndarray, err_hm: np.ndarray, bins: int = 10) -> PhaseCurve:
    """Bin the error by the GT's fractional position inside its heatmap pixel.

    Parameters
    ----------
    gt_hm : (..., 2) GT positions, heatmap px (pixel centres at integers).
    err_hm : (..., 2) errors ``pred - gt``, heatmap px.
    bins : number of equal bins of φ on [0, 1).

    Returns
    -------
    PhaseCurve; φ = ``gt - floor(gt)``.
    """
    g = np.asarray(gt_hm, dtype=np.float64).reshape(-1, 2)
    e = np.asarray(err_hm, dtype=np.float64).reshape(-1, 2)
    if g.shape != e.shape:
        raise InputError(f"gt_hm and err_hm differ in shape: {g.shape} vs {e.shape}",
                         field="err_hm")
    ok = np.isfinite(g).all(1) & np.isfinite(e).all(1)
    g, e = g[ok], e[ok]
    phase = g - np.floor(g)
    b = np.minimum((phase * bins).astype(np.int64), bins - 1)
    axis = np.broadcast_to(np.arange(2), b.shape)
    flat = (axis * bins + b).ravel()
    cnt = np.bincount(flat, minlength=2 * bins).reshape(2, bins)
    s1 = np.bincount(flat, weights=e.ravel(), minlength=2 * bins).reshape(2, bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
        dev = e - mean.T[b, np.arange(2)] if e.size else e
        s2 = np.bincount(flat, weights=(dev ** 2).ravel(), minlength=2 * bins).reshape(2,
                                                                                      bins)
        std = np.sqrt(s2 / cnt)
    return PhaseCurve(np.linspace(0.0, 1.0, bins + 1), mean, std, cnt)


# --------------------------------------------------------------------------- one method

@dataclass
class MethodErrors:
    """Errors of one decoder on N instances (K joints); see :func:`analyse_errors`.

    Arrays (NaN where the GT joint is unlabelled or the instance has no GT):
    ``pred_hm``/``gt_hm`` (N, K, 2) heatmap px, ``pred_img``/``gt_img`` (N, K, 2) image px,
    ``area`` (N,) GT area (image px²), ``match`` (N,) GT-table row (-1 none), ``maxvals``
    (N, K) map maxima, ``scores`` (N,) instance scores (HRNet rescoring), ``usable`` (N, K)
    bool: the joints whose error is analysed (GT labelled, map valid, and unless asked
    otherwise GT inside the heatmap). The error properties are NaN elsewhere; the
    taxonomy and the AP use every labelled joint, as COCO does.
    """

    method: str
    options: dict[str, Any]
    pred_hm: np.ndarray
    gt_hm: np.ndarray
    pred_img: np.ndarray
    gt_img: np.ndarray
    area: np.ndarray
    match: np.ndarray
    maxvals: np.ndarray
    scores: np.ndarray
    usable: np.ndarray
    quadrants: QuadrantStats | None = None
    bias: dict[str, BiasEstimate] = field(default_factory=dict)
    phase: PhaseCurve | None = None
    hist_hm: Histogram2D | None = None
    taxonomy: KeypointTaxonomy | None = None
    taxonomy_ap: TaxonomyAP | None = None

    @property
    def err_hm(self) -> np.ndarray:
        """(N, K, 2) ``pred - GT`` in heatmap px (NaN where not ``usable``)."""
        e = error_vectors(self.pred_hm, self.gt_hm)
        e[~self.usable] = np.nan
        return e

    @property
    def err_img(self) -> np.ndarray:
        """(N, K, 2) ``pred - GT`` in image px (NaN where not ``usable``)."""
        e = error_vectors(self.pred_img, self.gt_img)
        e[~self.usable] = np.nan
        return e

    @property
    def err_oks(self) -> np.ndarray:
        """(N, K, 2) image-px error divided by the OKS scale ``sqrt(area)``."""
        return normalise_by_oks_scale(self.err_img, self.area)

    @property
    def magnitude_hm(self) -> np.ndarray:
        """(N, K) |error| in heatmap px."""
        return np.hypot(*np.moveaxis(self.err_hm, -1, 0))

    @property
    def magnitude_img(self) -> np.ndarray:
        """(N, K) |error| in image px."""
        return np.hypot(*np.moveaxis(self.err_img, -1, 0))

    def quadrant_codes(self, zero_tol: float = DEFAULT_ZERO_TOL) -> np.ndarray:
        """(N, K) codes of :func:`quadrant_codes` of the image-px errors."""
        return quadrant_codes(self.err_img, zero_tol)

    def summary(self, per_joint: bool = False) -> dict[str, Any]:
        """JSON-ready summary (no per-instance arrays)."""
        mag_hm = self.magnitude_hm
        mag_img = self.magnitude_img
        out: dict[str, Any] = {
            "method": self.method, "options": _jsonable(self.options),
            "analysed": int(np.isfinite(mag_hm).sum()),
            "labelled": int(np.isfinite(self.gt_img).all(-1).sum()),
            "mean_error_hm": _num(float(np.nanmean(mag_hm))) if np.isfinite(mag_hm).any()
            else None,
            "mean_error_img": _num(float(np.nanmean(mag_img))) if np.isfinite(mag_img).any()
            else None,
        }
        if self.quadrants is not None:
            out["quadrants"] = self.quadrants.to_dict()
            if per_joint and self.quadrants.per_joint is not None:
                out["quadrants"]["per_joint"] = self.quadrants.per_joint.tolist()
        out["bias"] = {u: b.to_dict(per_joint) for u, b in self.bias.items()}
        if self.phase is not None:
            out["phase"] = self.phase.to_dict()
        if self.taxonomy is not None:
            out["taxonomy"] = dict(taxonomy_summary(self.taxonomy, self.taxonomy_ap))
            if per_joint:
                out["taxonomy"]["per_joint"] = self.taxonomy.per_joint().tolist()
        return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclass
class ErrorAnalysis:
    """Result of :func:`analyse_errors`: one :class:`MethodErrors` per decoder.

    Attributes
    ----------
    methods : name -> MethodErrors (in the order asked).
    keypoint_names, skeleton, flip_pairs, sigmas : the dataset's keypoint set.
    image_ids : (N,) image of each instance.
    info : facts about the run (dataset path, N, settings).
    """

    methods: dict[str, MethodErrors]
    keypoint_names: tuple[str, ...]
    skeleton: list[tuple[int, int]]
    flip_pairs: list[tuple[int, int]]
    sigmas: np.ndarray
    image_ids: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def quadrants(self) -> dict[str, QuadrantStats]:
        """Method -> quadrant counts of its image-px errors."""
        return {m: e.quadrants for m, e in self.methods.items() if e.quadrants is not None}

    def bias(self, units: str = "hm") -> dict[str, BiasEstimate]:
        """Method -> mean bias in ``units``: ``"hm"`` (heatmap px), ``"img"`` (image px)
        or ``"oks"`` (image px / sqrt(area))."""
        return {m: e.bias[units] for m, e in self.methods.items() if units in e.bias}

    @property
    def phases(self) -> dict[str, PhaseCurve]:
        """Method -> sub-pixel phase curve (heatmap px)."""
        return {m: e.phase for m, e in self.methods.items() if e.phase is not None}

    @property
    def taxonomies(self) -> dict[str, KeypointTaxonomy]:
        """Method -> keypoint error taxonomy (when computed)."""
        return {m: e.taxonomy for m, e in self.methods.items() if e.taxonomy is not None}

    @property
    def taxonomy_aps(self) -> dict[str, TaxonomyAP]:
        """Method -> AP with each error type corrected (when computed)."""
        return {m: e.taxonomy_ap for m, e in self.methods.items()
                if e.taxonomy_ap is not None}

    def to_dict(self, per_joint: bool = True) -> dict[str, Any]:
        """JSON-ready summary of every method (what ``daec-viz errors --json`` prints)."""
        return {"info": _jsonable(self.info), "keypoint_names": list(self.keypoint_names),
                "methods": {m: e.summary(per_joint) for m, e in self.methods.items()}}


# --------------------------------------------------------------------------- dataset level

def _resolve_options(method: str, decode_options: Mapping[str, Any] | None,
                     sigma: float) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if decode_options:
        if method in decode_options and isinstance(decode_options[method], Mapping):
            opts.update(decode_options[method])
        shared = {k: v for k, v in decode_options.items() if not isinstance(v, Mapping)}
        for k, v in shared.items():
            opts.setdefault(k, v)
    if method == "daec":
        opts.setdefault("sigma", sigma)
    else:  # options that only DAEC / shifting understand are harmless but noisy: drop
        for k in ("sigma", "delta", "pattern"):
            opts.pop(k, None)
    if method != "shifting":
        opts.pop("variant", None)
    return opts


def analyse_errors(dataset: Any, methods: Iterable[str] = ("standard", "shifting", "dark",
                                                           "daec"),
                   decode_options: Mapping[str, Any] | None = None, batch: int = 256, *,
                   n_boot: int = 1000, ci: float = 0.95, seed: int | None = 0,
                   phase_bins: int = 10, hist_bins: int = 41,
                   zero_tol: float = DEFAULT_ZERO_TOL, taxonomy: bool = True,
                   ap: bool = True, engine: str = "hotcoco", correction: str = "gt",
                   include_outside: bool = False,
                   progress: bool | Callable[[float, str], Any] = False) -> ErrorAnalysis:
    """Error vectors, quadrants, bias, phase and taxonomy of decoders on a dataset.

    The heatmaps are streamed in slices of ``batch`` instances (each slice decoded by every
    method, then dropped); only the (N, K, 2) coordinates are kept.

    Parameters
    ----------
    dataset : a :class:`~daec_viz.io.datasets.Dataset` (or a subset view).
    methods : decoders, from :data:`daec_viz.decoding.METHODS`.
    decode_options : keyword arguments of :func:`~daec_viz.decoding.decode`: either shared
        (``{"delta": 3, "pattern": "BR"}``) or per method (``{"daec": {"delta": 3}}``), or
        both. DAEC's ``sigma`` defaults to the cache's sigma.
    batch : instances per slice.
    n_boot, ci, seed : bootstrap of the mean bias.
    phase_bins, hist_bins : bins of the phase curve and of the 2-D histogram.
    zero_tol : "zero" tolerance of the quadrant rule, image px.
    include_outside : also analyse the error of joints whose GT lies outside the heatmap
        (beyond half a pixel from its border) and of invalid maps (maximum <= 0). Off by
        default: no decoder can place a point there, so those errors say nothing about
        decoding bias and, being huge, would swamp the means. (They still count in the
        taxonomy and the AP.)
    taxonomy : compute the keypoint error taxonomy.
    ap : also recompute the COCO AP with each error type corrected (``engine``,
        ``correction`` as in :func:`~daec_viz.analysis.taxonomy.taxonomy_ap`).
    progress : True for a tqdm bar, or a callable ``progress(fraction, label)`` called
        after each slice and each method's analysis (the project's convention).

    Returns
    -------
    ErrorAnalysis.

    Notes
    -----
    Instances with a GT box (``ann_id != -1``) are compared with their own annotation.
    Detected boxes are matched per method by greedy OKS >= 0.1 per image
    (:func:`~daec_viz.analysis.taxonomy.match_detections`), so each decoder gets its own
    matches. The instance score is ``det_score * mean(maxvals > 0.2)`` (HRNet).
    """
    from daec_viz.decoding import METHODS, decode
    from daec_viz.evaluation.coco_eval import instance_scores, oks_nms
    from daec_viz.evaluation.scoring import NMS_THRESHOLD, RESCORE_THRESHOLD, box_areas

    methods = list(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise InputError(f"expected methods from {METHODS}, got {methods}", field="methods")
    if batch < 1:
        raise InputError(f"expected a positive batch size, got {batch}", field="batch")
    meta = dataset.meta
    n, k = len(dataset), dataset.num_keypoints
    opts = {m: _resolve_options(m, decode_options, float(meta.sigma)) for m in methods}
    coords = {m: np.empty((n, k, 2)) for m in methods}
    maxvals = {m: np.empty((n, k)) for m in methods}
    valid = {m: np.empty((n, k), dtype=bool) for m in methods}
    resolved = {m: dict(opts[m]) for m in methods}

    bar = None
    report: Callable[[float, str], Any] | None = None
    if progress is True:
        from tqdm import tqdm
        bar = tqdm(total=1000, desc="errors", leave=False)

        def report(fraction: float, label: str) -> None:
            bar.set_postfix_str(label, refresh=False)
            bar.update(max(0, int(fraction * 1000) - bar.n))
    elif callable(progress):
        report = progress
    decode_share = 0.6 if (taxonomy and ap) else 0.8
    done = 0
    for rows, hm in dataset.iter_slices(batch=batch):
        for m in methods:
            r = decode(hm, method=m, **opts[m])
            coords[m][rows] = r.coords
            maxvals[m][rows] = r.scores
            valid[m][rows] = r.valid
            resolved[m] = dict(r.options)
        done += len(rows)
        if report is not None:
            report(decode_share * done / max(n, 1), "decoding")

    inst = dataset.instances
    image_ids = inst["image_id"].to_numpy().astype(np.int64)
    ann_ids = inst["ann_id"].to_numpy().astype(np.int64)
    det_scores = inst["score"].to_numpy().astype(np.float64)
    aff = dataset.affines()
    inv_aff = invert_affine(aff)
    sigmas = np.asarray(dataset.oks_sigmas, dtype=np.float64)
    flip_pairs = list(dataset.flip_pairs)
    gts = ground_truth_table(dataset.coco, k, dataset.category_id)
    given = gts.index_of(ann_ids)
    need_match = ann_ids == -1
    detector = bool(need_match.any())

    results: dict[str, MethodErrors] = {}
    for m in methods:
        pred_hm = coords[m]
        pred_img = apply_affine(pred_hm, aff)
        scores = instance_scores(det_scores, maxvals[m], RESCORE_THRESHOLD)
        match = given.copy()
        keep = None
        if detector:  # as evaluation.evaluate: OKS-NMS, then match what is submitted
            keep = oks_nms(pred_img, scores, box_areas(dataset), NMS_THRESHOLD, sigmas,
                           image_ids)
            sub = np.intersect1d(keep, np.flatnonzero(need_match))
            match[np.setdiff1d(np.flatnonzero(need_match), sub)] = -1
            mm, _ = match_detections(pred_img[sub], image_ids[sub], scores[sub], gts,
                                     sigmas)
            match[sub] = mm
        has = match >= 0
        gt_kp = np.full((n, k, 3), np.nan)
        gt_kp[has] = gts.keypoints[match[has]]
        area = np.full(n, np.nan)
        area[has] = gts.area[match[has]]
        gt_img = labelled_xy(gt_kp)
        gt_hm = apply_affine(gt_img, inv_aff)
        usable = np.isfinite(gt_img).all(-1)
        if not include_outside:
            w, h = meta.heatmap_size
            with np.errstate(invalid="ignore"):
                inside = (gt_hm[..., 0] >= -0.5) & (gt_hm[..., 0] <= w - 0.5) & \
                    (gt_hm[..., 1] >= -0.5) & (gt_hm[..., 1] <= h - 0.5)
            usable &= inside & valid[m]
        me = MethodErrors(m, resolved[m], pred_hm, gt_hm, pred_img, gt_img, area, match,
                          maxvals[m], scores, usable)
        err_img = me.err_img
        err_hm = me.err_hm
        me.quadrants = quadrant_stats(err_img, zero_tol)
        me.bias = bootstrap_biases({"hm": err_hm, "img": err_img,
                                    "oks": normalise_by_oks_scale(err_img, area)},
                                   n_boot=n_boot, ci=ci, seed=seed)
        me.phase = subpixel_phase(gt_hm, err_hm, bins=phase_bins)
        me.hist_hm = error_histogram2d(err_hm, bins=hist_bins)
        if taxonomy:
            me.taxonomy = classify_keypoints(pred_img, image_ids, match, gts, sigmas,
                                             flip_pairs)
            if ap:
                me.taxonomy_ap = taxonomy_ap(dataset.coco, image_ids, pred_img, scores,
                                             me.taxonomy, sigmas, engine=engine,
                                             img_ids=dataset.image_ids,
                                             correction=correction,
                                             keypoint_scores=maxvals[m], keep=keep,
                                             category_id=dataset.category_id)
        results[m] = me
        if report is not None:
            report(decode_share + (1 - decode_share) * (len(results) / len(methods)),
                   f"analysed {m}")
    if bar is not None:
        bar.close()

    info = {"dataset": str(getattr(dataset, "path", "")), "num_instances": n,
            "num_keypoints": k, "gt_boxes": int((~need_match).sum()),
            "heatmap_size": list(meta.heatmap_size), "sigma": float(meta.sigma),
            "convention": meta.convention, "model": meta.model,
            "simulated": bool(meta.simulated), "n_boot": n_boot, "ci": ci, "seed": seed,
            "include_outside": include_outside,
            "zero_tol": zero_tol, "zero_rule": "components with |e| <= zero_tol count as "
            "'none' (no quadrant); quadrant shares exclude them",
            "correction": correction if (taxonomy and ap) else None}
    return ErrorAnalysis(results, tuple(dataset.keypoint_names), list(dataset.skeleton),
                         flip_pairs, sigmas, image_ids, info)
