"""Verdicts that say what the data says: DAEC against the best baseline, with intervals.

:func:`compare` decodes a dataset with a DAEC configuration and every baseline (every
other decoder of :data:`daec_viz.decoding.ALL_METHODS`, each with and without smoothing
where it has a blur option: :func:`baseline_configs`), scores each on one split, bootstraps
every stat over images (paired: the same draws for every decoder,
:mod:`daec_viz.evaluation.bootstrap`), names the *best* baseline by AP, and calls the
difference DAEC − best baseline:

- ``better`` when the whole 95 % interval of the difference lies above 0,
- ``worse`` when it lies below 0,
- ``no detectable difference`` otherwise (with the number of persons and images, so the
  reader sees how little data that may be).

It also computes per-joint AP (COCO AP where OKS uses joint k alone: exactly pycocotools'
COCOeval on ground truth whose other joints have visibility 0 and whose
``num_keypoints`` is recounted) and collects the warnings a reader needs next to the
numbers (:func:`data_warnings`).

Examples
--------
>>> from daec_viz import load_dataset                       # doctest: +SKIP
>>> from daec_viz.evaluation.compare import compare          # doctest: +SKIP
>>> r = compare(load_dataset("my-run"), split="test")        # doctest: +SKIP
>>> r.verdict.call, r.best_baseline                          # doctest: +SKIP
('better', 'dark')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from daec_viz.decoding import DEFAULT_BLUR_KERNEL, DecoderConfig, half_width
from daec_viz.evaluation.bootstrap import (
    ImageMatches,
    bootstrap_stats,
    defined,
    image_matches,
    percentile_interval,
)
from daec_viz.evaluation.coco_eval import STAT_NAMES, coco_keypoint_stats
from daec_viz.evaluation.predict import Predictions, predict_many, resolve_config
from daec_viz.evaluation.scoring import submission
from daec_viz.evaluation.splits import split_indices
from daec_viz.evaluation.sweep import BASELINES, blurs_itself, can_smooth, sweep_config
from daec_viz.exceptions import InputError

__all__ = ["Verdict", "Comparison", "compare", "call_of", "baseline_configs", "best_of",
           "paired_verdict", "paired_comparison", "verdict_from_replicates",
           "per_joint_ap", "masked_gts", "data_warnings", "gt_persons", "MIN_PERSONS", "CALLS"]

CALLS: tuple[str, ...] = ("better", "worse", "no detectable difference")
#: Below this many persons a warning says that intervals will be wide.
MIN_PERSONS = 100
ProgressFn = Callable[[float, str], None]


def call_of(diff_ci: Sequence[float]) -> str:
    """The verdict of a difference from its interval ``[lo, hi]``: ``better`` when
    ``lo > 0``, ``worse`` when ``hi < 0``, else ``no detectable difference`` (also when
    the interval is undefined).

    >>> call_of([0.004, 0.02]), call_of([-0.03, -0.001]), call_of([-0.01, 0.02])
    ('better', 'worse', 'no detectable difference')
    """
    lo, hi = float(diff_ci[0]), float(diff_ci[1])
    if math.isfinite(lo) and lo > 0:
        return "better"
    if math.isfinite(hi) and hi < 0:
        return "worse"
    return "no detectable difference"


def baseline_configs(blur_kernel: int = DEFAULT_BLUR_KERNEL, beta: float | None = None,
                     methods: Sequence[str] = BASELINES) -> dict[str, DecoderConfig]:
    """The baselines every verdict is held against, named: the sweep's references
    (:data:`daec_viz.evaluation.sweep.BASELINES`, :func:`~daec_viz.evaluation.sweep.
    sweep_config`) of each of ``methods``:

    - standard and shifting with and without smoothing (``<m>+smooth``: maps blurred with
      ``blur_kernel`` first);
    - DARK and DARK-UDP as published (``<m>``: their own blur) and their Taylor step on
      the raw map (``<m>-raw``);
    - gauss3, integral and integral_debiased once (no blur option), the integral decoders
      with softmax sharpness ``beta`` (None: their default).

    >>> list(baseline_configs())  # doctest: +NORMALIZE_WHITESPACE
    ['standard', 'standard+smooth', 'shifting', 'shifting+smooth', 'dark', 'dark-raw',
     'dark_udp', 'dark_udp-raw', 'gauss3', 'integral', 'integral_debiased']
    """
    bad = [m for m in methods if m not in BASELINES]
    if bad:
        raise InputError(f"unknown baseline(s) {bad}; expected some of {BASELINES}",
                         field="baselines")
    beta_opt = {} if beta is None else {"beta": beta}
    out: dict[str, DecoderConfig] = {}
    for m in methods:
        if blurs_itself(m):
            variants = {m: True, f"{m}-raw": False}
        elif can_smooth(m):
            variants = {m: False, f"{m}+smooth": True}
        else:
            variants = {m: False}
        for name, smooth in variants.items():
            out[name] = sweep_config(m, smooth, blur_kernel=blur_kernel).replace(**beta_opt)
    return out


@dataclass(frozen=True)
class Verdict:
    """DAEC (``method``) minus the best baseline, on AP, with its interval and call."""

    method: str
    baseline: str
    diff: float
    diff_ci: tuple[float, float]
    call: str
    n_persons: int
    n_images: int
    ci: float

    @property
    def sentence(self) -> str:
        """One honest line, e.g. ``DAEC vs dark+smooth: +0.012 AP [+0.004, +0.020],
        better (542 persons, 300 images)``."""
        lo, hi = self.diff_ci
        what = {"better": "better", "worse": "worse",
                "no detectable difference": "no detectable difference"}[self.call]
        def num(v: float) -> str:  # an undefined AP (no GT) reads "n/a", never "+nan"
            return f"{v:+.4f}" if math.isfinite(v) else "n/a"

        return (f"{self.method} vs {self.baseline}: {num(self.diff)} AP "
                f"[{num(lo)}, {num(hi)}] ({self.ci:.0%} interval): {what} "
                f"({self.n_persons} persons, {self.n_images} images)")

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "baseline": self.baseline, "diff": self.diff,
                "diff_ci": list(self.diff_ci), "call": self.call,
                "n_persons": self.n_persons, "n_images": self.n_images, "ci": self.ci}


@dataclass
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    configs : name -> resolved config (``daec`` first, then the baselines).
    stats : name -> the 10 COCO stats.
    stats_ci : name -> stat -> [lo, hi] (NaN where undefined).
    per_joint_ap : name -> joint name -> AP (joint alone); empty when not computed.
    best_baseline : the baseline with the highest AP.
    verdict : DAEC minus the best baseline.
    warnings : what a reader must know next to these numbers.
    """

    split: str
    n_persons: int
    n_images: int
    configs: dict[str, DecoderConfig]
    stats: dict[str, dict[str, float]]
    stats_ci: dict[str, dict[str, list[float]]]
    per_joint_ap: dict[str, dict[str, float]]
    best_baseline: str
    verdict: Verdict
    warnings: list[str] = field(default_factory=list)
    n_boot: int = 1000
    seed: int | None = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``daec-viz compare --json``."""
        def num(v: float) -> float | None:
            return None if not math.isfinite(v) else float(v)

        methods = {}
        for name, cfg in self.configs.items():
            s = self.stats[name]
            methods[name] = {"config": cfg.to_dict(), "AP": s["AP"],
                             "AP_ci": [num(v) for v in self.stats_ci[name]["AP"]],
                             "stats": s,
                             "stats_ci": {k: [num(v) for v in ci]
                                          for k, ci in self.stats_ci[name].items()},
                             "per_joint_AP": self.per_joint_ap.get(name, {})}
        return {"config": self.configs["daec"].to_dict(), "split": self.split,
                "n_persons": self.n_persons, "n_images": self.n_images,
                "n_boot": self.n_boot, "seed": self.seed, "methods": methods,
                "best_baseline": self.best_baseline,
                "verdict": {**self.verdict.to_dict(),
                            "diff_ci": [num(v) for v in self.verdict.diff_ci]},
                "warnings": list(self.warnings)}


def masked_gts(coco_dataset: dict, k: int) -> list[dict]:
    """K copies of the GT dict, copy j keeping only joint j (others v = 0,
    ``num_keypoints`` recounted): the per-joint AP definition."""
    out = []
    anns = coco_dataset["annotations"]
    kp = np.array([a.get("keypoints", [0] * 3 * k) for a in anns], dtype=np.float64)
    kp = kp.reshape(len(anns), k, 3) if len(anns) else np.zeros((0, k, 3))
    for j in range(k):
        new_anns = []
        for i, a in enumerate(anns):
            m = np.zeros((k, 3))
            m[j] = kp[i, j]
            if m[j, 2] <= 0:
                m[j] = 0.0
            new_anns.append({**a, "keypoints": m.ravel().tolist(),
                             "num_keypoints": int(m[j, 2] > 0)})
        out.append({**coco_dataset, "annotations": new_anns})
    return out


def per_joint_ap(dataset: Any, results: list[dict], img_ids: list[int],
                 masked: list[dict] | None = None, engine: str = "hotcoco"
                 ) -> dict[str, float]:
    """joint name -> COCO AP where OKS uses that joint alone (see the module docstring;
    -1 where no GT person has the joint labelled)."""
    masked = masked_gts(dataset.coco.dataset, dataset.num_keypoints) if masked is None \
        else masked
    return {name: coco_keypoint_stats(masked[j], results, engine=engine, img_ids=img_ids,
                                      sigmas=dataset.oks_sigmas)["AP"]
            for j, name in enumerate(dataset.keypoint_names)}


def gt_persons(matches: ImageMatches) -> int:
    """Ground-truth persons COCOeval counts (non-crowd, with keypoints) in the evaluated
    images: the n behind every interval (detector boxes are more numerous)."""
    return int(matches.gt_count[0].sum())


def data_warnings(dataset: Any, preds: Mapping[str, Predictions], rows: np.ndarray,
                  stats: Mapping[str, Mapping[str, float]], n_images: int,
                  n_persons: int | None = None) -> list[str]:
    """Warnings a reader must see beside these numbers: few persons, invalid maps (they
    count as misses), a DAEC window emptied by a large Δ, undefined stats (no non-crowd
    GT), nothing submitted. ``n_persons``: GT persons (default: the instances)."""
    out: list[str] = []
    n = int(rows.size) if n_persons is None else int(n_persons)
    if n < MIN_PERSONS:
        out.append(f"only {n} persons in {n_images} images: intervals are wide and small "
                   f"differences cannot be detected")
    any_pred = next(iter(preds.values()))
    bad = ~any_pred.valid[rows]
    if bad.any():
        out.append(f"{int(bad.sum())} of {bad.size} maps are invalid (NaN/Inf or maximum "
                   f"<= 0): their keypoints get score 0 and count as misses")
    for name, p in preds.items():
        c = p.config
        if c.method == "daec" and max(c.delta) > 2 * half_width(c.sigma):
            out.append(f"{name}: Δ = {max(c.delta):g} empties the DAEC window (half-width "
                       f"{half_width(c.sigma)} at σ = {c.sigma:g}): it returns the argmax")
    for name, s in stats.items():
        if s["AP"] < 0:
            out.append(f"{name}: AP is undefined (-1): no non-crowd ground truth person "
                       f"in the evaluated images")
            break
    return out


def best_of(stats: Mapping[str, Mapping[str, float]]) -> str:
    """The name with the highest AP (the first one listed on a tie)."""
    names = list(stats)
    return max(names, key=lambda n: (stats[n]["AP"], -names.index(n)))


def verdict_from_replicates(method: str, baseline: str, diff: float,
                            diff_reps: np.ndarray, n_persons: int, n_images: int,
                            ci: float = 0.95) -> Verdict:
    """A :class:`Verdict` from the point difference and its paired bootstrap replicates
    (B,) (NaN where a replicate is undefined)."""
    lo, hi = percentile_interval(np.asarray(diff_reps, dtype=np.float64)[:, None], ci)[0]
    return Verdict(method, baseline, float(diff), (float(lo), float(hi)),
                   call_of((lo, hi)), n_persons, n_images, ci)


def paired_comparison(a: ImageMatches, b: ImageMatches, name_a: str, name_b: str,
                      n_boot: int = 1000, seed: int | None = 0, ci: float = 0.95
                      ) -> tuple[Verdict, dict[str, tuple[float, float]]]:
    """``name_a`` minus ``name_b`` on AP from their per-image matches (one paired
    bootstrap), and each side's own AP interval (``name -> (lo, hi)``, NaN when no
    replicate is defined): what the app's A/B page shows."""
    point, reps = bootstrap_stats([a, b], n_boot=n_boot, seed=seed)
    reps = defined(reps)
    ap_ci = percentile_interval(reps[:, :, :1], ci)[:, 0]  # (2, 2): AP of a and of b
    v = verdict_from_replicates(name_a, name_b, float(point[0, 0] - point[1, 0]),
                                reps[0, :, 0] - reps[1, :, 0], gt_persons(a),
                                int(a.img_ids.size), ci)
    return v, {name_a: (float(ap_ci[0, 0]), float(ap_ci[0, 1])),
               name_b: (float(ap_ci[1, 0]), float(ap_ci[1, 1]))}


def paired_verdict(a: ImageMatches, b: ImageMatches, name_a: str, name_b: str,
                   n_boot: int = 1000, seed: int | None = 0, ci: float = 0.95) -> Verdict:
    """``name_a`` minus ``name_b`` on AP, from their per-image matches (paired bootstrap);
    what the app recomputes when only one side changes."""
    return paired_comparison(a, b, name_a, name_b, n_boot, seed, ci)[0]


def compare(dataset: Any, daec: DecoderConfig | None = None, *, split: str = "all",
            baselines: Mapping[str, DecoderConfig] | None = None, n_boot: int = 1000,
            seed: int | None = 0, ci: float = 0.95, joints: bool = True,
            progress: ProgressFn | None = None) -> Comparison:
    """DAEC against every baseline on one split, with paired bootstrap intervals.

    Parameters
    ----------
    dataset : a :class:`~daec_viz.io.datasets.Dataset`.
    daec : the DAEC configuration (default: the dataset's σ and Δ = int(σ + 2)).
    split : the split to score (``all`` = every instance).
    baselines : name -> config (default :func:`baseline_configs`).
    n_boot, seed, ci : the bootstrap (replicates, seed, interval level).
    joints : also compute per-joint AP.
    """
    cfg = resolve_config(dataset, daec or DecoderConfig("daec"))
    if cfg.method != "daec":
        raise InputError(f"expected a DAEC configuration, got {cfg.method!r}", field="daec")
    bases = dict(baseline_configs() if baselines is None else baselines)
    if not bases:
        raise InputError("expected at least one baseline", field="baselines")
    names = ["daec", *bases]
    rows = split_indices(dataset, split)

    def report(f: float, label: str) -> None:
        if progress is not None:
            progress(f, label)

    preds = dict(zip(names, predict_many(dataset, [cfg, *bases.values()],
                                         progress=lambda f, lab: report(0.4 * f, lab)),
                     strict=True))
    matches, subs = [], {}
    for i, name in enumerate(names):
        p = preds[name]
        res, img_ids = submission(dataset, p.coords_img, p.maxvals, rows=rows)
        subs[name] = (res, img_ids)
        matches.append(image_matches(dataset.coco, res, img_ids, dataset.oks_sigmas))
        report(0.4 + 0.2 * (i + 1) / len(names), f"matching {name}")
    point, reps = bootstrap_stats(matches, n_boot=n_boot, seed=seed)
    report(0.7, "bootstrap")
    reps = defined(reps)
    lo_hi = percentile_interval(reps, ci)  # (C, 10, 2)
    stats = {n: dict(zip(STAT_NAMES, map(float, point[i]), strict=True))
             for i, n in enumerate(names)}
    stats_ci = {n: {s: [float(v) for v in lo_hi[i, j]] for j, s in enumerate(STAT_NAMES)}
                for i, n in enumerate(names)}
    base_names = names[1:]
    best = best_of({n: stats[n] for n in base_names})
    ib = names.index(best)
    n_images = int(matches[0].img_ids.size)
    verdict = verdict_from_replicates("daec", best, stats["daec"]["AP"] - stats[best]["AP"],
                                      reps[0, :, 0] - reps[ib, :, 0], gt_persons(matches[0]),
                                      n_images, ci)
    pj: dict[str, dict[str, float]] = {}
    if joints:
        masked = masked_gts(dataset.coco.dataset, dataset.num_keypoints)
        for i, name in enumerate(names):
            pj[name] = per_joint_ap(dataset, *subs[name], masked=masked)
            report(0.7 + 0.3 * (i + 1) / len(names), f"per-joint AP {name}")
    warns = data_warnings(dataset, preds, rows, stats, n_images, gt_persons(matches[0]))
    if not any(subs[n][0] for n in names):
        warns.append("no predictions were submitted (empty results): every stat is 0")
    report(1.0, "done")
    return Comparison(split, gt_persons(matches[0]), n_images, {n: preds[n].config for n in names},
                      stats, stats_ci, pj, best, verdict, warns, n_boot, seed)
