"""Bias by source: split a decoder's mean error into what the pipeline, the decoder and
the network each contribute.

For one decoder on a dataset, the measured mean error ``total`` (heatmap px, [x, y],
``pred - GT`` over the joints the error analysis uses, i.e. the ``bias.hm`` mean of
:func:`~daec_viz.analysis.analyse_errors`) is written as

``total = decoder + encoding + flip_test + convention + network``

Every term but the last is derived from the cache's recorded pipeline (``pipeline``,
``flip_mode``, ``convention``, σ, sizes; :mod:`daec_viz.io.schema`) by decoding
*noise-free* maps rendered at the same ground-truth joints, never from the data's own
heatmaps. Stages, each the mean error of the decoder (same configuration) over the same
joints, every map rendered by :mod:`daec_viz.synthetic.pipeline` with exact σ-Gaussians
(``NetworkKnobs.noise_free``):

===== ================================================================ ================
stage maps                                                              component
===== ================================================================ ================
e0    exact Gaussian at the exact GT (the cache's heatmap frame)        ``decoder`` = e0
e1    the pipeline's training target (HRNet: rounded, cut at 3σ; UDP:   ``encoding`` =
      cut window; DarkPose: exact), cropped and decoded with the         e1 − e0
      pipeline's own convention, no flip test
e2    e1 with the recorded flip test (both passes' targets,             ``flip_test`` =
      :func:`~daec_viz.decoding.flip.combine_flip`)                      e2 − e1
e3    e2 cropped and decoded with the cache's convention (a network     ``convention`` =
      trained by one code base, tested in another)                      e3 − e2
—     the data's own mean error                                         ``network`` =
                                                                        total − e3
===== ================================================================ ================

So the components add up to ``total`` by construction; ``network`` is what the recorded
pipeline does not explain (what the network learnt or failed to learn: fit errors, a
leak of its natural output grid, the simulator's free ``bias`` knob, outliers). The
order matters for decoders that are not linear in the map (argmax snaps; the stages are
taken in the order above). Unknown parts of the record give 0 for their component and a
note (``pipeline == "unknown"``: encoding, flip test and convention are not separated;
``flip_mode == "unknown"``: the flip test is not separated). Cached per-instance
``affine`` maps replace the crop geometry: then only ``decoder`` is separated.

All values are heatmap px in the cache's convention frame, x right, y down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daec_viz.analysis.jsonable import json_nums
from daec_viz.decoding import DecoderConfig, decode
from daec_viz.geometry import heatmap_to_image_affine
from daec_viz.synthetic.pipeline import (
    PIPELINE_CONVENTION,
    PipelineSettings,
    simulate_pipeline_heatmaps,
)
from daec_viz.synthetic.simulate import NetworkKnobs, simulate_heatmaps

#: Component names, in the order of the stages.
COMPONENTS: tuple[str, ...] = ("decoder", "encoding", "flip_test", "convention", "network")


@dataclass
class BiasSources:
    """One decoder's mean error split by source (heatmap px, each ``[x, y]``).

    Attributes
    ----------
    method : the decoder's name.
    components : name -> (2,) array, names :data:`COMPONENTS`.
    total : (2,) the measured mean error; equals the sum of the components.
    n : number of joints averaged.
    notes : what could not be separated, and why.
    """

    method: str
    components: dict[str, np.ndarray]
    total: np.ndarray
    n: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"units": "heatmap px", "components": {name: [x, y]}, "total":
        [x, y], "n": ..., "notes": [...]}`` (None for undefined values)."""
        return {"units": "heatmap px",
                "components": {k: json_nums(v) for k, v in self.components.items()},
                "total": json_nums(self.total), "n": self.n, "notes": list(self.notes)}


def _stage_errors(kp_img: np.ndarray, gt_hm: np.ndarray, usable: np.ndarray,
                  center: np.ndarray, scale: np.ndarray, meta: Any,
                  configs: Mapping[str, DecoderConfig], flip_pairs: list,
                  stages: list[PipelineSettings | None], batch: int,
                  progress: Callable[[float], Any] | None) -> np.ndarray:
    """(len(stages), M, 2) summed errors per stage and method over the usable joints; a
    stage ``None`` is the exact Gaussian at ``gt_hm``."""
    names = list(configs)
    sums = np.zeros((len(stages), len(names), 2))
    rows = np.flatnonzero(usable.any(axis=1))
    knobs = NetworkKnobs.noise_free().replace(sigma_out=float(meta.sigma))
    vis = np.full(usable.shape[1], 2)
    for start in range(0, rows.size, batch):
        r = rows[start:start + batch]
        use = usable[r]
        kp = np.where(use[..., None], kp_img[r], np.nan)
        v = np.broadcast_to(vis, use.shape)
        for si, st in enumerate(stages):
            if st is None:
                maps = simulate_heatmaps(np.where(use[..., None], gt_hm[r], np.nan), v, knobs,
                                         0, heatmap_size=meta.heatmap_size)
                ref = gt_hm[r]
            else:
                maps, ref = simulate_pipeline_heatmaps(kp, v, center[r], scale[r], st, knobs,
                                                       0, flip_pairs=flip_pairs)
            for mi, name in enumerate(names):
                e = decode(maps, configs[name]).coords - ref
                sums[si, mi] += np.where(use[..., None], e, 0.0).sum(axis=(0, 1))
        if progress is not None:
            progress(min(1.0, (start + r.size) / rows.size))
    return sums


def bias_sources(dataset: Any, errors: Mapping[str, Any],
                 configs: Mapping[str, DecoderConfig], *, batch: int = 256,
                 progress: Callable[[float], Any] | None = None) -> dict[str, BiasSources]:
    """Split each decoder's mean heatmap-px error into its sources (module docstring).

    Parameters
    ----------
    dataset : the :class:`~daec_viz.io.datasets.Dataset` (or subset view) the errors were
        measured on (same rows, same order).
    errors : name -> :class:`~daec_viz.analysis.results.MethodErrors` (``gt_img``,
        ``gt_hm``, ``usable``, ``err_hm`` (N, K, 2)), e.g. ``analyse_errors(...).methods``.
    configs : name -> the *resolved* :class:`DecoderConfig` each was decoded with.
    batch : instances per rendered slice.
    progress : called with the fraction done.

    Returns
    -------
    name -> :class:`BiasSources`.
    """
    meta = dataset.meta
    inst = dataset.instances
    center = inst[["center_x", "center_y"]].to_numpy(dtype=np.float64)
    scale = inst[["scale_x", "scale_y"]].to_numpy(dtype=np.float64)
    own = heatmap_to_image_affine(center, scale, meta.heatmap_size, meta.convention)
    has_affine = not np.allclose(dataset.affines(), own, rtol=1e-9, atol=1e-6)
    notes: list[str] = []
    pipeline = meta.pipeline
    flip = meta.flip_mode
    if has_affine:
        notes.append("the cache stores per-instance affine maps: the crop geometry is not "
                     "the recorded convention's, so only the decoder's share is separated")
        pipeline = "unknown"
    elif pipeline == "unknown":
        notes.append("pipeline unknown: encoding, flip test and convention are counted in "
                     "'network'")
    if pipeline != "unknown" and flip == "unknown":
        notes.append("flip mode unknown: the flip test is counted in 'network'")
        flip = "none"
    stages: list[PipelineSettings | None] = [None]
    if pipeline != "unknown":
        base = PipelineSettings(pipeline=pipeline, flip_test="none",
                                convention=PIPELINE_CONVENTION[pipeline],
                                input_size=meta.input_size, heatmap_size=meta.heatmap_size,
                                sigma=float(meta.sigma))
        stages += [base, base.replace(flip_test=flip),
                   base.replace(flip_test=flip, convention=meta.convention)]

    # one usable mask over all methods' joints would change each one's mean: per method
    out: dict[str, BiasSources] = {}
    names = list(configs)
    for i, name in enumerate(names):
        me = errors[name]
        usable = np.asarray(me.usable) & np.isfinite(me.gt_hm).all(-1) \
            & np.isfinite(me.gt_img).all(-1)
        n = int(usable.sum())
        err = np.asarray(me.err_hm)
        total = np.nanmean(err[usable], axis=0) if n else np.full(2, np.nan)

        def sub(f: float, i: int = i) -> None:
            if progress is not None:
                progress((i + f) / len(names))

        sums = _stage_errors(np.asarray(me.gt_img), np.asarray(me.gt_hm), usable, center,
                             scale, meta, {name: configs[name]}, list(dataset.flip_pairs),
                             stages, batch, sub)[:, 0] / max(n, 1)
        if not n:
            sums[:] = np.nan
        e = list(sums) + [sums[0]] * (4 - len(sums))
        comps = {"decoder": e[0], "encoding": e[1] - e[0], "flip_test": e[2] - e[1],
                 "convention": e[3] - e[2], "network": total - e[3]}
        out[name] = BiasSources(name, comps, total, n, list(notes))
    return out
