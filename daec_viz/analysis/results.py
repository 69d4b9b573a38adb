"""Result containers of the error analysis: one decoder (:class:`MethodErrors`) and all
of them (:class:`ErrorAnalysis`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daec_viz.analysis.bias import BiasEstimate
from daec_viz.analysis.jsonable import json_num, json_nums, jsonable
from daec_viz.analysis.phase import PhaseCurve
from daec_viz.analysis.taxonomy import KeypointTaxonomy, TaxonomyAP, taxonomy_summary
from daec_viz.analysis.vectors import (
    DEFAULT_ZERO_TOL,
    Histogram2D,
    QuadrantStats,
    error_vectors,
    normalise_by_oks_scale,
    quadrant_codes,
)

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
            "method": self.method, "options": jsonable(self.options),
            "analysed": int(np.isfinite(mag_hm).sum()),
            "labelled": int(np.isfinite(self.gt_img).all(-1).sum()),
            "mean_error_hm": json_num(float(np.nanmean(mag_hm))) if np.isfinite(mag_hm).any()
            else None,
            "mean_error_img": json_num(float(np.nanmean(mag_img))) if np.isfinite(mag_img).any()
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
                out["taxonomy"]["per_joint_ks"] = json_nums(self.taxonomy.mean_similarity())
        return out


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
        return {"info": jsonable(self.info), "keypoint_names": list(self.keypoint_names),
                "methods": {m: e.summary(per_joint) for m, e in self.methods.items()}}
