"""App state: the app-wide controls and the cached loaders every page calls.

Caching rules (so a control change re-renders in well under a second):

- Every cached function takes the dataset as ``(path, key)`` where ``key`` =
  :func:`dataset_key` (path + size + mtime of the cache and the annotations), plus the
  decoder parameters; large arrays are never hashed (they are only returned, or passed
  as ``_``-prefixed arguments, which Streamlit does not hash).
- ``st.cache_resource`` holds arrays and objects (the dataset, its heatmaps in memory,
  decoded predictions, error analyses); ``st.cache_data`` holds small results (stats).
- The sweep also has its own disk cache (:func:`daec_viz.evaluation.sweep.run_sweep`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from daec_viz.decoding.config import (
    ALL_METHODS,
    DEFAULT_BETA,
    DEFAULT_BLUR_KERNEL,
    OPTIONS,
    DecoderConfig,
)
from daec_viz.evaluation.predict import Predictions, predict
from daec_viz.evaluation.splits import report_split, split_indices
from daec_viz.evaluation.sweep import BASELINES, blurs_itself, default_configs
from daec_viz.exceptions import DaecVizError, InputError
from daec_viz.io.datasets import Dataset, load_dataset

#: Heatmaps are held in memory (as float32) when they fit in this many MB (else streamed
#: from disk).
IN_MEMORY_MB = 768
ENV_DATASET = "DAEC_VIZ_DATASET"


# --------------------------------------------------------------------------- controls

@dataclass(frozen=True)
class Controls:
    """The app-wide decoder controls (read from ``st.session_state``): DAEC's Δ, pattern,
    σ and smoothing, the decoders every page shows (``methods``: DAEC and the chosen
    baselines, in :data:`~daec_viz.decoding.ALL_METHODS` order) and the integral
    decoders' softmax sharpness ``beta``."""

    delta: float
    pattern: str
    sigma: float
    smooth: bool
    methods: tuple[str, ...] = ALL_METHODS
    beta: float = DEFAULT_BETA

    def config(self, method: str) -> DecoderConfig:
        """The :class:`DecoderConfig` of ``method`` under these controls: DAEC reads every
        control; standard and shifting only the smoothing; DARK and DARK-UDP none (they
        always blur with their own kernel, as published); the integral decoders β;
        gauss3 nothing. The config drops what a method does not read, so the baselines'
        cache entries are shared across Δ/pattern/σ."""
        # DARK's kernel written out (as it resolves): one cache key with the baselines'
        kernel = DEFAULT_BLUR_KERNEL if (self.smooth or blurs_itself(method)) else None
        return DecoderConfig(method, sigma=self.sigma, delta=self.delta,
                             pattern=self.pattern, blur_kernel=kernel, beta=self.beta)

    @property
    def baselines(self) -> tuple[str, ...]:
        """The decoders shown besides DAEC."""
        return tuple(m for m in self.methods if m != "daec")

    @property
    def shows_beta(self) -> bool:
        """An integral decoder (one that reads β) is shown."""
        return any("beta" in OPTIONS[m] for m in self.methods)

    def label(self) -> str:
        s = ", smoothed" if self.smooth else ""
        return f"DAEC {self.pattern}, Δ = {self.delta:g}, σ = {self.sigma:g}{s}"


def shown_methods(baselines: Any) -> tuple[str, ...]:
    """DAEC and the chosen ``baselines`` (names of :data:`BASELINES`; others ignored), in
    :data:`~daec_viz.decoding.ALL_METHODS` order: the decoders every page shows."""
    chosen = set(baselines)
    return tuple(m for m in ALL_METHODS if m == "daec" or m in chosen)


def controls_of(ss: Any) -> Controls:
    """The controls held in a session-state mapping ``ss`` (``decoders``: the baselines
    shown; ``beta``, else the last β set while its control was shown, ``beta_keep``)."""
    beta = ss["beta"] if "beta" in ss else ss["beta_keep"] if "beta_keep" in ss \
        else DEFAULT_BETA
    return Controls(float(ss["delta"] if "delta" in ss else 4.0),
                    str(ss["pattern"] if "pattern" in ss else "BR"),
                    float(ss["sigma"] if "sigma" in ss else 2.0),
                    bool(ss["smooth"] if "smooth" in ss else False),
                    shown_methods(ss["decoders"] if "decoders" in ss else BASELINES),
                    float(beta))


def controls() -> Controls:
    """The current app-wide controls (set by the sidebar of :mod:`daec_viz_app.main`)."""
    return controls_of(st.session_state)


def request_delta(value: float, pattern: str | None = None,
                  smooth: bool | None = None) -> None:
    """Set the app-wide Δ (and, if given, the cut pattern and smoothing) from a page;
    applied to the sidebar controls on the next run, which starts now."""
    st.session_state["pending_controls"] = {"delta": float(value), "pattern": pattern,
                                            "smooth": smooth}
    st.rerun()


def delta_range(sigma: float, value: float | None = None) -> tuple[float, float]:
    """The Δ slider's range: −2 to 2e + 1 (e = int(3σ + 1), where the window is empty
    whatever the pattern), widened to hold ``value`` so nothing is ever clamped."""
    from daec_viz.decoding import half_width
    lo, hi = -2.0, float(2 * half_width(sigma) + 1)
    if value is not None and np.isfinite(value):
        lo, hi = min(lo, float(np.floor(value))), max(hi, float(np.ceil(value)))
    return lo, hi


# --------------------------------------------------------------------------- dataset

def dataset_key(path: str | Path) -> tuple:
    """A cheap cache key of a dataset folder: resolved path + size/mtime of its files."""
    p = Path(path).expanduser().resolve()
    parts: list[Any] = [str(p)]
    for name in ("annotations.json", "heatmaps.h5", "heatmaps.npz"):
        f = p / name
        if f.is_file():
            s = f.stat()
            parts.append((name, s.st_size, s.st_mtime_ns))
    return tuple(parts)


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def load(path: str, key: tuple) -> Dataset:
    """The dataset folder ``path`` (validated; :class:`DatasetError` on bad input)."""
    return load_dataset(path)


def current() -> tuple[Dataset, str, tuple]:
    """The dataset chosen in the sidebar: ``(dataset, path, key)``."""
    path = st.session_state.get("dataset_path")
    if not path:
        raise InputError("no dataset chosen; pick the demo or a folder in the sidebar",
                         field="dataset")
    key = dataset_key(path)
    return load(path, key), path, key


@st.cache_resource(max_entries=2, show_spinner="Reading the heatmaps…")
def heatmaps(path: str, key: tuple) -> np.ndarray | None:
    """All heatmaps (N, K, H, W) as float32 when they fit in :data:`IN_MEMORY_MB`, else
    None (then callers stream from disk). float32, not a float16 cache's own dtype: the
    decoders would otherwise convert every map on every Δ change (~8x slower)."""
    ds = load(path, key)
    n, k, h, w = ds.heatmaps.shape
    if n * k * h * w * 4 > IN_MEMORY_MB * 2 ** 20:
        return None
    return np.asarray(ds.heatmaps.read_rows(slice(0, n))).astype(np.float32, copy=False)


@st.cache_resource(max_entries=2, show_spinner="Smoothing the heatmaps…")
def blurred(path: str, key: tuple, kernel: int = DEFAULT_BLUR_KERNEL) -> np.ndarray | None:
    """All heatmaps blurred with the smoothing kernel (float32), or None if too large."""
    from daec_viz.decoding import gaussian_blur
    hm = heatmaps(path, key)
    if hm is None:
        return None
    out = np.empty(hm.shape, dtype=np.float32)
    for s in range(0, len(hm), 256):
        out[s:s + 256] = gaussian_blur(hm[s:s + 256], kernel)
    return out


# 16 entries: the 3 baselines × smoothing and the last ~10 DAEC settings (each entry is
# ~0.7 KB per instance, so a COCO-sized detection set stays well under 1 GB)
@st.cache_resource(max_entries=16, show_spinner=False)
def decoded(path: str, key: tuple, config_json: str) -> Predictions:
    """:func:`daec_viz.evaluation.predict.predict` of every instance with the config
    ``config_json`` (:meth:`DecoderConfig.to_json`, the cache key), reusing the maps held
    in memory (raw and blurred) when they fit, else streaming them from disk."""
    ds = load(path, key)
    cfg = DecoderConfig.from_json(config_json)
    hm = heatmaps(path, key)
    if hm is None:
        return predict(ds, cfg)
    pre = {}
    if cfg.smooth and not blurs_itself(cfg.method) and cfg.blur_kernel == DEFAULT_BLUR_KERNEL:
        pre[DEFAULT_BLUR_KERNEL] = blurred(path, key)
    return predict(ds, cfg, maps=hm, blurred=pre)


def decoded_all(path: str, key: tuple, ctl: Controls) -> dict[str, Predictions]:
    """:func:`decoded` of every decoder shown (``ctl.methods``) under the app-wide
    controls (cached per config)."""
    return {m: decoded(path, key, ctl.config(m).to_json()) for m in ctl.methods}


def eval_split(ds: Dataset) -> str:
    """The split the app reports (:func:`daec_viz.evaluation.splits.report_split`)."""
    return report_split(ds)


@st.cache_data(max_entries=256, show_spinner=False)
def stats(path: str, key: tuple, config_json: str, split: str) -> dict[str, float]:
    """The 10 COCO stats of one decoder config on ``split`` (``all`` = every instance)."""
    from daec_viz.evaluation.scoring import score_predictions
    ds = load(path, key)
    d = decoded(path, key, config_json)
    rows = None if split == "all" else split_indices(ds, split)
    return score_predictions(ds, d.coords_img, d.maxvals, rows=rows)


def stats_all(path: str, key: tuple, ctl: Controls, split: str) -> dict[str, dict[str, float]]:
    """:func:`stats` of the decoders shown (``ctl.methods``) at the app-wide controls."""
    return {m: stats(path, key, ctl.config(m).to_json(), split) for m in ctl.methods}


@st.cache_resource(max_entries=32, show_spinner=False)
def matches(path: str, key: tuple, config_json: str, split: str) -> Any:
    """COCOeval's per-image matches of one config on ``split`` (the bootstrap's input;
    cached so a Δ change recomputes DAEC's only)."""
    from daec_viz.evaluation.bootstrap import image_matches
    from daec_viz.evaluation.scoring import submission
    ds = load(path, key)
    d = decoded(path, key, config_json)
    rows = None if split == "all" else split_indices(ds, split)
    res, ids = submission(ds, d.coords_img, d.maxvals, rows=rows)
    return image_matches(ds.coco, res, ids, ds.oks_sigmas)


#: Bootstrap replicates of the app's verdicts (the CLI's default too).
N_BOOT = 1000


@st.cache_resource(max_entries=64, show_spinner=False)
def _replicates_of(path: str, key: tuple, config_json: str, split: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """One config's share of :func:`daec_viz.evaluation.bootstrap.bootstrap_stats`
    (seed 0, :data:`N_BOOT` replicates): its stats (10,) and replicate stats (B, 10) with
    undefined ones NaN (:func:`~daec_viz.evaluation.bootstrap.defined`). The image
    weights depend only on the image count and the seed, so caching each config alone
    gives the paired numbers, and a Δ change re-accumulates DAEC's only."""
    from daec_viz.evaluation.bootstrap import accumulate_stats, bootstrap_weights, defined
    m = matches(path, key, config_json, split)
    n = m.img_ids.size
    point = accumulate_stats(m, np.ones((1, n)))[0]
    return point, defined(accumulate_stats(m, bootstrap_weights(n, N_BOOT, 0)))


def replicates(path: str, key: tuple, configs_json: tuple[str, ...], split: str
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`_replicates_of` of each config, paired: every config must be evaluated on
    the same images (as :func:`~daec_viz.evaluation.bootstrap.bootstrap_stats` checks)."""
    ids = [matches(path, key, j, split).img_ids for j in configs_json]
    if any(not np.array_equal(i, ids[0]) for i in ids[1:]):
        raise InputError("paired bootstrap needs the same images for every configuration",
                         field="img_ids")
    return [_replicates_of(path, key, j, split) for j in configs_json]


@st.cache_data(max_entries=64, show_spinner=False)
def verdict(path: str, key: tuple, ctl: Controls, split: str) -> dict[str, Any]:
    """DAEC at the controls minus the best baseline (every other decoder, with and
    without smoothing where it has a blur option, the integral decoders at the controls'
    β: :func:`daec_viz.evaluation.compare.baseline_configs`; shown or not) on AP, with
    its paired 95 % interval and call, plus the data warnings:
    :class:`daec_viz.evaluation.compare.Verdict` as a dict with ``sentence`` and
    ``warnings``."""
    from daec_viz.evaluation.compare import (
        baseline_configs,
        best_of,
        data_warnings,
        gt_persons,
        verdict_from_replicates,
    )
    ds = load(path, key)
    bases = {n: c.to_json() for n, c in baseline_configs(beta=ctl.beta).items()}
    base_stats = {n: stats(path, key, j, split) for n, j in bases.items()}
    best = best_of(base_stats)
    daec = ctl.config("daec").to_json()
    rows = np.arange(len(ds)) if split == "all" else split_indices(ds, split)
    # paired_verdict's numbers from the per-config replicates (the baseline's are cached)
    (pa, ra), (pb, rb) = replicates(path, key, (daec, bases[best]), split)
    m = matches(path, key, daec, split)
    v = verdict_from_replicates("DAEC", best, float(pa[0] - pb[0]), ra[:, 0] - rb[:, 0],
                                gt_persons(m), int(m.img_ids.size))
    preds = {"daec": decoded(path, key, daec)}
    warns = data_warnings(ds, preds, rows, {"daec": stats(path, key, daec, split)},
                          v.n_images, v.n_persons)
    return {**v.to_dict(), "sentence": v.sentence, "warnings": warns}


@st.cache_data(max_entries=64, show_spinner="Bootstrapping the intervals…")
def stat_intervals(path: str, key: tuple, ctl: Controls, split: str) -> dict[str, Any]:
    """method -> stat -> [lo, hi]: the 95 % interval of each of the 10 COCO stats of the
    decoders shown at the controls (one paired bootstrap over images, N_BOOT replicates;
    NaN where a stat is undefined in the resamples)."""
    from daec_viz.evaluation.bootstrap import percentile_interval
    from daec_viz.evaluation.coco_eval import STAT_NAMES
    reps = np.stack([r for _, r in replicates(
        path, key, tuple(ctl.config(m).to_json() for m in ctl.methods), split)])
    lo_hi = percentile_interval(reps)  # (C, 10, 2)
    return {m: {s: [float(v) for v in lo_hi[i, j]] for j, s in enumerate(STAT_NAMES)}
            for i, m in enumerate(ctl.methods)}


@st.cache_data(max_entries=64, show_spinner="Bootstrapping A − B…")
def pair_verdict(path: str, key: tuple, a_json: str, b_json: str, split: str
                 ) -> dict[str, Any]:
    """Configuration A minus B on AP (:func:`daec_viz.evaluation.compare.paired_comparison`)
    as :func:`verdict` gives it, plus ``ap_ci`` (``{"A": [lo, hi], "B": [lo, hi]}``)."""
    from daec_viz.evaluation.compare import data_warnings, paired_comparison
    ds = load(path, key)
    v, ap_ci = paired_comparison(matches(path, key, a_json, split),
                                 matches(path, key, b_json, split), "A", "B", n_boot=N_BOOT)
    rows = np.arange(len(ds)) if split == "all" else split_indices(ds, split)
    preds = {"A": decoded(path, key, a_json), "B": decoded(path, key, b_json)}
    warns = data_warnings(ds, preds, rows, {"A": stats(path, key, a_json, split),
                                            "B": stats(path, key, b_json, split)},
                          v.n_images, v.n_persons)
    return {**v.to_dict(), "sentence": v.sentence, "warnings": warns,
            "ap_ci": {k: list(x) for k, x in ap_ci.items()}}


@st.cache_resource(max_entries=16, show_spinner="Bootstrapping Δ_opt…")
def delta_uncertainty(path: str, key: tuple, pattern: str, smooth: bool, sigma: float,
                      split: str, deltas: tuple[float, ...]) -> Any:
    """:func:`daec_viz.evaluation.delta_uncertainty.delta_uncertainty` of one curve."""
    from daec_viz.evaluation.delta_uncertainty import delta_uncertainty as du
    return du(load(path, key), pattern, smooth, list(deltas), split=split, n_boot=N_BOOT)


def results_json(path: str, key: tuple, config_json: str, split: str) -> str:
    """The COCO keypoint results file (JSON text) of one config on ``split``: what
    ``daec-viz predict`` writes and what the AP readout scores."""
    import json

    from daec_viz.evaluation.scoring import submission
    ds = load(path, key)
    d = decoded(path, key, config_json)
    rows = None if split == "all" else split_indices(ds, split)
    return json.dumps(list(submission(ds, d.coords_img, d.maxvals, rows=rows)[0]))


@st.cache_resource(max_entries=2, show_spinner=False)
def _masked_gts(path: str, key: tuple) -> list[dict]:
    from daec_viz.evaluation.compare import masked_gts
    ds = load(path, key)
    return masked_gts(ds.coco.dataset, ds.num_keypoints)


@st.cache_data(max_entries=64, show_spinner="Per-joint AP…")
def per_joint(path: str, key: tuple, config_json: str, split: str) -> dict[str, float]:
    """joint -> AP with OKS of that joint alone (:func:`daec_viz.evaluation.compare.
    per_joint_ap`) of one config on ``split``."""
    from daec_viz.evaluation.compare import per_joint_ap
    from daec_viz.evaluation.scoring import submission
    ds = load(path, key)
    d = decoded(path, key, config_json)
    rows = None if split == "all" else split_indices(ds, split)
    res, ids = submission(ds, d.coords_img, d.maxvals, rows=rows)
    return per_joint_ap(ds, res, ids, masked=_masked_gts(path, key))


@st.cache_resource(max_entries=8, show_spinner="Classifying the errors…")
def _taxonomy_of(path: str, key: tuple, configs_json: tuple[tuple[str, str], ...]) -> Any:
    from daec_viz.analysis import analyse_errors
    ds = load(path, key)
    configs = {m: DecoderConfig.from_json(j) for m, j in configs_json}
    return analyse_errors(ds, configs=configs, n_boot=1, taxonomy=True, ap=True,
                          maps=heatmaps(path, key))


def taxonomy(path: str, key: tuple, ctl: Controls) -> Any:
    """The error analysis with the Ronchi-Perona taxonomy and the AP with each error type
    corrected, for the decoders shown at the controls (in ``ctl.methods`` order): the
    baselines analysed once per smoothing setting (and β), DAEC per Δ/pattern/σ (each
    decoder's analysis is its own, so the parts are merged as they are)."""
    import dataclasses
    daec = _taxonomy_of(path, key, (("daec", ctl.config("daec").to_json()),))
    if not ctl.baselines:
        return daec
    base = _taxonomy_of(path, key, tuple((m, ctl.config(m).to_json())
                                         for m in ctl.baselines))
    both = {**base.methods, **daec.methods}
    return dataclasses.replace(daec, methods={m: both[m] for m in ctl.methods})


@st.cache_resource(max_entries=2, show_spinner=False)
def gt_table(path: str, key: tuple) -> dict[str, np.ndarray]:
    """Per instance: ``gt`` (N, K, 3) image px + visibility, ``gt_hm`` (N, K, 2) heatmap
    px (NaN where unlabelled), ``inside`` (N, K) whether it lies on the heatmap, ``area``
    (N,) GT area (image px², NaN without a GT)."""
    from daec_viz.analysis import labelled_xy
    from daec_viz.evaluation.ground_truth import gt_in_heatmap, inside_heatmap
    ds = load(path, key)
    gt = ds.gt_keypoints()
    anns = ds.coco.anns
    area = np.array([float(anns[a]["area"]) if a in anns else np.nan
                     for a in ds.instances["ann_id"].to_numpy().tolist()])
    gt_hm = gt_in_heatmap(labelled_xy(gt), ds.affines())
    return {"gt": gt, "gt_hm": gt_hm, "inside": inside_heatmap(gt_hm, ds.meta.heatmap_size),
            "area": area}


@st.cache_resource(max_entries=8, show_spinner=False)
def matched_gt(path: str, key: tuple, config_json: str) -> dict[str, Any]:
    """:func:`gt_table` where each detector box gets the ground truth it is matched to
    for this configuration's keypoints (OKS-NMS, then greedy OKS >= 0.1 per image, as the
    error analysis): the same keys, plus ``match`` (N,) row of ``gts`` (-1: none),
    ``suppressed`` (N,) bool (removed by OKS-NMS), ``gts`` (the GT table) and
    ``detector`` (any detector box)."""
    from daec_viz.analysis import match_to_ground_truth, matched_ground_truth
    from daec_viz.evaluation.ground_truth import inside_heatmap
    ds = load(path, key)
    own = gt_table(path, key)
    gts = gt_persons_table(path, key)
    d = decoded(path, key, config_json)
    match, keep = match_to_ground_truth(ds, d.coords_img, d.scores, gts)
    suppressed = np.zeros(len(ds), dtype=bool)
    if keep is None:  # GT boxes only: each instance is its own annotation
        return {**own, "match": match, "suppressed": suppressed, "gts": gts,
                "detector": False}
    suppressed[:] = True
    suppressed[keep] = False
    gt, area, gt_hm = matched_ground_truth(match, gts, ds.affines())
    det = ds.instances["ann_id"].to_numpy() == -1
    own_rows = ~det  # a GT box keeps its own annotation, matched or not
    gt[own_rows], area[own_rows], gt_hm[own_rows] = (own["gt"][own_rows], own["area"][own_rows],
                                                     own["gt_hm"][own_rows])
    return {"gt": gt, "gt_hm": gt_hm, "inside": inside_heatmap(gt_hm, ds.meta.heatmap_size),
            "area": area, "match": match, "suppressed": suppressed & det, "gts": gts,
            "detector": True}


@st.cache_resource(max_entries=2, show_spinner=False)
def gt_persons_table(path: str, key: tuple) -> Any:
    """The dataset's :func:`daec_viz.analysis.ground_truth_table` (built once, not per
    decoder configuration)."""
    from daec_viz.analysis import ground_truth_table
    ds = load(path, key)
    return ground_truth_table(ds.coco, ds.num_keypoints, ds.category_id)


@st.cache_resource(max_entries=16, show_spinner="Analysing the errors…")
def _errors_of(path: str, key: tuple, configs_json: tuple[tuple[str, str], ...]) -> Any:
    from daec_viz.analysis import analyse_errors
    ds = load(path, key)
    configs = {m: DecoderConfig.from_json(j) for m, j in configs_json}
    hm = heatmaps(path, key)
    pre = {DEFAULT_BLUR_KERNEL: blurred(path, key)} if hm is not None and any(
        c.smooth and not blurs_itself(c.method) for c in configs.values()) else {}
    # the page bootstraps its filtered errors itself: one replicate here is enough
    return analyse_errors(ds, configs=configs, maps=hm, blurred=pre, n_boot=1,
                          taxonomy=False)


def errors(path: str, key: tuple, ctl: Controls) -> dict[str, Any]:
    """:class:`daec_viz.analysis.MethodErrors` of the decoders shown under the controls
    (method -> errors, in ``ctl.methods`` order); the baselines are analysed once per
    smoothing setting (and β), DAEC per Δ/pattern/σ (smoothing = maps blurred first; DARK
    and DARK-UDP always with their own blur)."""
    out = dict(_errors_of(path, key, tuple((m, ctl.config(m).to_json())
                                           for m in ctl.baselines)).methods
               if ctl.baselines else {})
    out.update(_errors_of(path, key, (("daec", ctl.config("daec").to_json()),)).methods)
    return {m: out[m] for m in ctl.methods}


@st.cache_resource(show_spinner=False)
def _bias_sources_store() -> dict:
    """Process-wide memory of bias-source splits (filled outside any cached function, so
    a progress bar can be drawn while one is computed)."""
    return {}


def bias_sources(path: str, key: tuple, ctl: Controls, progress: Any = None) -> dict:
    """:func:`daec_viz.analysis.bias_sources.bias_sources` of the decoders shown (method
    -> :class:`~daec_viz.analysis.bias_sources.BiasSources`, heatmap px), on the same
    errors as :func:`errors`; from memory, else computed with ``progress(fraction)``."""
    from daec_viz.analysis.bias_sources import bias_sources as split
    from daec_viz.evaluation.predict import resolve_config
    ds = load(path, key)
    cfgs = {m: resolve_config(ds, ctl.config(m)) for m in ctl.methods}
    store = _bias_sources_store()
    k = (path, key, tuple((m, c.to_json()) for m, c in cfgs.items()))
    if k not in store:
        if len(store) >= 8:
            store.pop(next(iter(store)))
        store[k] = split(ds, errors(path, key, ctl), cfgs, progress=progress)
    return store[k]


@st.cache_resource(show_spinner=False)
def _sweep_store() -> dict:
    """Process-wide memory of computed sweeps (filled outside any cached function, so a
    progress bar can be drawn while a sweep runs)."""
    return {}


def sweep(path: str, key: tuple, sigma: float, beta: float = DEFAULT_BETA,
          progress: Any = None) -> Any:
    """The default sweep (:func:`daec_viz.evaluation.sweep.run_sweep` of
    :func:`~daec_viz.evaluation.sweep.default_configs`, the integral baselines at ``beta``):
    from memory, else from its disk cache, else computed with ``progress(fraction, label)``
    called as it runs."""
    from daec_viz.evaluation.sweep import run_sweep
    store = _sweep_store()
    k = (path, key, float(sigma), float(beta))
    if k not in store:
        if len(store) >= 4:
            store.pop(next(iter(store)))
        store[k] = run_sweep(load(path, key), default_configs(sigma, beta=beta),
                             progress=progress, decoder=_cluster_decoder())
    return store[k]


def _cluster_decoder() -> Any:
    """Decode sweeps on the Dask cluster at ``$DAEC_VIZ_SCHEDULER`` when it is set (the
    client kept for the server's life), else locally (None)."""
    from daec_viz.evaluation.distributed import scheduler_address
    address = scheduler_address()
    return None if address is None else _cluster(address)


@st.cache_resource(show_spinner="Connecting to the Dask scheduler…")
def _cluster(address: str) -> Any:
    from daec_viz.evaluation.distributed import cluster_decoder, connect
    return cluster_decoder(connect(address))


def learn_on(ds: Dataset, splits: list[str]) -> tuple[str, str]:
    """``(train, test)`` the app learns Δ_opt on and reports it on: the dataset's
    train/test split (:func:`daec_viz.evaluation.splits.learn_splits`), else the first of
    the sweep's ``splits`` for both (other split names)."""
    from daec_viz.evaluation.splits import learn_splits
    try:
        train, test, _ = learn_splits(ds)
    except DaecVizError:
        train = test = sorted(splits)[0]
    return train, test


def opening_delta(path: str, key: tuple, pattern: str, smooth: bool,
                  sigma: float | None = None, beta: float = DEFAULT_BETA
                  ) -> tuple[float, str]:
    """The Δ a dataset opens at, and why: Δ_opt (learned on the train split) when its
    default sweep is already computed (in memory or in the disk cache), else the
    decoder's default int(σ + 2), as the CLI."""
    from daec_viz.evaluation.sweep import cached_sweep, choose_delta
    ds = load(path, key)
    sigma = float(ds.meta.sigma if sigma is None else sigma)  # a link's σ picks its curve
    default = DecoderConfig("daec").resolved(sigma=sigma).delta[0]
    df = _sweep_store().get((path, key, sigma, float(beta)))
    if df is None:
        df = cached_sweep(ds, default_configs(sigma, beta=beta))
    if df is None:
        return default, f"Δ = int(σ + 2) = {default:g}"
    train, test = learn_on(ds, list(set(df["split"])))
    try:
        choice = choose_delta(df, pattern, smooth, train=train, test=test)
    except DaecVizError:
        return default, f"Δ = int(σ + 2) = {default:g}"
    return choice.delta, f"Δ_opt = {choice.delta:g} (learned on {train!r}, cached sweep)"


def cache_dir_note() -> str:
    from daec_viz.evaluation.sweep import default_cache_dir
    return str(default_cache_dir())


def resolve_initial_dataset(argv: list[str]) -> str | None:
    """The dataset folder given on the command line (``streamlit run app.py -- --dataset
    DIR``) or in ``$DAEC_VIZ_DATASET``; None for the demo."""
    chosen = None
    for i, a in enumerate(argv):
        if a == "--dataset" and i + 1 < len(argv):
            chosen = argv[i + 1]
        elif a.startswith("--dataset="):
            chosen = a.split("=", 1)[1]
    return chosen or os.environ.get(ENV_DATASET) or None


__all__ = ["Controls", "controls", "controls_of", "shown_methods", "request_delta",
           "delta_range", "dataset_key", "load",
           "current", "matched_gt", "learn_on", "opening_delta", "pair_verdict", "stat_intervals",
           "heatmaps", "blurred", "decoded", "decoded_all", "stats", "stats_all",
           "gt_table", "errors", "sweep", "eval_split", "resolve_initial_dataset",
           "DaecVizError"]
