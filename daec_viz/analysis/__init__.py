"""Error-bias analysis: where each decoder misses, and why.

The DAEC paper's claim is that heatmap decoding errors are biased toward the bottom-right
and that the Δ cut compensates it. This package measures that, on plain arrays first
(:mod:`~daec_viz.analysis.vectors`, :mod:`~daec_viz.analysis.bias`,
:mod:`~daec_viz.analysis.phase`, :mod:`~daec_viz.analysis.taxonomy`) and then on a whole
:class:`~daec_viz.io.datasets.Dataset` (:func:`analyse_errors` in
:mod:`~daec_viz.analysis.pipeline`; results in :mod:`~daec_viz.analysis.results`).

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

from daec_viz.analysis.bias import BiasEstimate, bootstrap_bias, bootstrap_biases
from daec_viz.analysis.bias_sources import COMPONENTS, BiasSources, bias_sources
from daec_viz.analysis.phase import PhaseCurve, argmax_sawtooth, sawtooth_bin_means, subpixel_phase
from daec_viz.analysis.pipeline import (
    analyse_errors,
    configs_of,
    match_to_ground_truth,
    matched_ground_truth,
)
from daec_viz.analysis.results import ErrorAnalysis, MethodErrors
from daec_viz.analysis.taxonomy import (
    ERROR_TYPES,
    TAXONOMY,
    GroundTruthTable,
    KeypointTaxonomy,
    TaxonomyAP,
    classify_keypoints,
    corrected_keypoints,
    ground_truth_table,
    match_detections,
    taxonomy_ap,
    taxonomy_summary,
)
from daec_viz.analysis.vectors import (
    DEFAULT_ZERO_TOL,
    PAPER_ORDER,
    QUADRANT_BUCKETS,
    QUADRANTS,
    Histogram2D,
    QuadrantStats,
    error_histogram2d,
    error_vectors,
    labelled_xy,
    normalise_by_oks_scale,
    quadrant_codes,
    quadrant_stats,
)

__all__ = [
    "QUADRANTS", "QUADRANT_BUCKETS", "PAPER_ORDER", "TAXONOMY", "ERROR_TYPES",
    "error_vectors", "quadrant_codes", "quadrant_stats", "QuadrantStats",
    "bootstrap_bias", "bootstrap_biases", "BiasEstimate", "error_histogram2d", "Histogram2D",
    "subpixel_phase", "PhaseCurve", "argmax_sawtooth", "sawtooth_bin_means",
    "normalise_by_oks_scale", "GroundTruthTable", "KeypointTaxonomy", "TaxonomyAP",
    "labelled_xy", "ground_truth_table", "match_detections", "classify_keypoints",
    "corrected_keypoints", "taxonomy_ap", "taxonomy_summary", "MethodErrors",
    "ErrorAnalysis", "analyse_errors", "configs_of", "match_to_ground_truth",
    "matched_ground_truth", "DEFAULT_ZERO_TOL", "bias_sources", "BiasSources", "COMPONENTS",
]
