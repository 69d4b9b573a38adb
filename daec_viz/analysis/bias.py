"""Mean error per joint with a seeded, vectorised percentile bootstrap over instances.

Instances are resampled (joints of one person stay together): a (B, N) matrix of
resampled indices becomes a (B, N) count matrix that multiplies the (N, K) sums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from daec_viz.analysis.jsonable import json_nums
from daec_viz.analysis.vectors import quadrant_name
from daec_viz.exceptions import InputError

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
            "overall": {"mean": json_nums(self.overall_mean), "lo": json_nums(self.overall_lo),
                        "hi": json_nums(self.overall_hi),
                        "quadrant": quadrant_name(self.overall_mean)}}
        if per_joint:
            out["per_joint"] = {"mean": json_nums(self.mean), "lo": json_nums(self.lo),
                                "hi": json_nums(self.hi), "count": self.count.tolist()}
        return out


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
