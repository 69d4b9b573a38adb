"""AP-vs-Δ sweeps and Δ learned on a train split (the paper's Figures 5, 6, 9; Tables 5-7).

A sweep decodes a dataset with DAEC over a Δ grid × cut patterns × smoothing off/on,
plus the standard, shifting and DARK decoders as references (each with and without
smoothing; DARK "without smoothing" is its Taylor step on the raw map, the paper's
Table 4), and scores every configuration on every split with the COCO evaluator.

Speed: the cache is read once per group of configurations (memory stays under
``memory_mb``), each slice is blurred once for all smoothed configurations, and the
decoded keypoints of all configurations are scored with hotcoco. Results are cached on
disk (never in the dataset folder) keyed by the cache's content hash and every
parameter.

:func:`learn_delta` picks Δ_opt on ``train`` and reports it on ``test`` with the gain over
each baseline, as the paper prescribes ("the Δ achieving the best model performance on
the training set is used in test scenarios").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .coco_eval import STAT_NAMES
from .decoding import PATTERNS, decode, decode_daec_grid
from .decoding.smoothing import gaussian_blur
from .evaluation import score_predictions
from .exceptions import InputError

ProgressFn = Callable[[float, str], None]
SWEEP_VERSION = 1
DEFAULT_BLUR = 11
BASELINES: tuple[str, ...] = ("standard", "shifting", "dark")
COLUMNS: tuple[str, ...] = ("method", "pattern", "smooth", "delta", "split") + STAT_NAMES


@dataclass(frozen=True)
class SweepConfig:
    """One decoder configuration of a sweep.

    ``pattern`` and ``delta`` apply to DAEC only (empty / NaN otherwise). ``smooth``
    means the maps are blurred first with the sweep's kernel (for DARK: its own blur;
    ``smooth=False`` is DARK's Taylor step on the raw map).
    """

    method: str
    smooth: bool = False
    pattern: str = ""
    delta: float = math.nan

    def decode_options(self, sigma: float, blur_kernel: int) -> dict[str, Any]:
        """Keyword arguments of :func:`daec_viz.decoding.decode` for maps that are
        already blurred when ``smooth`` is set (DARK blurs on its own)."""
        if self.method == "dark":
            return {"blur_kernel": blur_kernel if self.smooth else 1}
        if self.method == "daec":
            return {"sigma": sigma, "delta": self.delta, "pattern": self.pattern}
        return {}

    @property
    def label(self) -> str:
        s = " +smooth" if self.smooth else ""
        if self.method == "daec":
            return f"daec {self.pattern} Δ={self.delta:g}{s}"
        return f"{self.method}{s}"


def delta_grid(sigma: float = 2.0, start: float = -2.0, stop: float | None = None,
               step: float = 0.5) -> np.ndarray:
    """Δ values ``start, start + step, ..., stop`` (default stop σ + 6), inclusive.

    >>> delta_grid(2.0, step=1.0).tolist()
    [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    """
    stop = sigma + 6.0 if stop is None else stop
    if not step > 0 or stop < start:
        raise InputError(f"expected step > 0 and stop >= start, got {start}:{stop}:{step}",
                         field="deltas")
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    return np.round(start + step * np.arange(n), 10)


def parse_deltas(text: str, sigma: float = 2.0) -> np.ndarray:
    """Parse ``"A:B:STEP"`` (or ``"A:B"``, step 0.5) into a Δ grid."""
    parts = text.split(":")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"expected A:B:STEP with numbers, got {text!r}",
                         field="deltas") from None
    if len(nums) not in (2, 3):
        raise InputError(f"expected A:B:STEP, got {text!r}", field="deltas")
    return delta_grid(sigma, nums[0], nums[1], nums[2] if len(nums) == 3 else 0.5)


def default_configs(sigma: float = 2.0, deltas: Sequence[float] | None = None,
                    patterns: Sequence[str] = PATTERNS,
                    smooth: Sequence[bool] = (False, True),
                    baselines: Sequence[str] = BASELINES) -> list[SweepConfig]:
    """The default sweep: DAEC over ``deltas`` × ``patterns`` × ``smooth``, plus baselines."""
    grid = delta_grid(sigma) if deltas is None else np.asarray(deltas, dtype=np.float64)
    bad = [p for p in patterns if p not in PATTERNS]
    if bad:
        raise InputError(f"unknown pattern(s) {bad}; expected {PATTERNS}", field="patterns")
    configs = [SweepConfig(m, s) for m in baselines for s in smooth]
    configs += [SweepConfig("daec", s, p, float(d)) for s in smooth for p in patterns
                for d in grid]
    return configs


def default_cache_dir() -> Path:
    """Where sweep results are cached: ``$DAEC_VIZ_CACHE`` or ``~/.cache/daec-viz``."""
    env = os.environ.get("DAEC_VIZ_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "daec-viz"


def _cache_key(dataset: Any, configs: Sequence[SweepConfig], splits: Sequence[str],
               engine: str, sigma: float, blur_kernel: int) -> str:
    payload = {"v": SWEEP_VERSION, "data": dataset.content_hash, "engine": engine,
               "sigma": sigma, "blur": blur_kernel, "splits": list(splits),
               "configs": [asdict(c) for c in configs]}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def _decode_groups(configs: Sequence[SweepConfig], n: int, k: int,
                   memory_mb: float) -> list[list[int]]:
    per_config = n * k * 3 * 4  # float32 x, y and maxval
    size = max(1, int(memory_mb * 2 ** 20 // max(per_config, 1)))
    idx = list(range(len(configs)))
    return [idx[i:i + size] for i in range(0, len(idx), size)]


def run_sweep(dataset: Any, configs: Sequence[SweepConfig] | None = None, *,
              splits: Sequence[str] | None = None, engine: str = "hotcoco",
              sigma: float | None = None, blur_kernel: int = DEFAULT_BLUR,
              batch: int = 512, memory_mb: float = 512.0,
              progress: ProgressFn | None = None,
              cache_dir: str | Path | None = None, use_cache: bool = True) -> pd.DataFrame:
    """Score every configuration on every split.

    Parameters
    ----------
    dataset : a :class:`~daec_viz.datasets.Dataset`.
    configs : default :func:`default_configs` for the cache's σ.
    splits : split names (default: the dataset's splits; ``["all"]`` when it has none).
    sigma : σ of the DAEC window (default: the cache's σ).
    blur_kernel : the smoothing kernel (OpenCV Gaussian, odd).
    memory_mb : bound on the decoded keypoints held at once (the cache is re-read once per
        group of configurations that fits).
    progress : ``progress(fraction, label)``.
    cache_dir : where results are cached (default :func:`default_cache_dir`).

    Returns
    -------
    DataFrame with columns method, pattern, smooth, delta, split and the 10 COCO stats,
    one row per configuration and split.
    """
    sigma = float(dataset.meta.sigma if sigma is None else sigma)
    configs = list(default_configs(sigma) if configs is None else configs)
    splits = list(dataset.splits if splits is None else splits)
    if not configs:
        raise InputError("expected at least one configuration", field="configs")
    key = _cache_key(dataset, configs, splits, engine, sigma, blur_kernel)
    cache_file = Path(cache_dir or default_cache_dir()) / f"sweep-{key}.csv"
    if use_cache and cache_file.is_file():
        df = pd.read_csv(cache_file, keep_default_na=True)
        df["pattern"] = df["pattern"].fillna("")
        if progress is not None:
            progress(1.0, "cached")
        return df

    n, k = len(dataset), dataset.num_keypoints
    split_rows = {s: (np.arange(n) if s == "all" and "all" not in dataset.splits
                      else np.flatnonzero(dataset.instances["split"].to_numpy() == s))
                  for s in splits}
    for s, r in split_rows.items():
        if r.size == 0:
            raise InputError(f"split {s!r} has no instances; this dataset has "
                             f"{dataset.splits}", field="splits")
    affines = dataset.affines()
    groups = _decode_groups(configs, n, k, memory_mb)
    n_steps = len(groups) * max(1, math.ceil(n / batch)) + len(configs) * len(splits)
    step = 0
    records: list[dict[str, Any]] = []
    for group in groups:
        coords = np.zeros((len(group), n, k, 2), dtype=np.float32)
        maxv = np.zeros((len(group), n, k), dtype=np.float32)
        need_blur = any(configs[i].smooth and configs[i].method != "dark" for i in group)
        # DAEC configurations on the same maps (raw or smoothed) share one grid pass
        daec_sets = {sm: [j for j, ci in enumerate(group)
                          if configs[ci].method == "daec" and configs[ci].smooth == sm]
                     for sm in (False, True)}
        for rows, hm in dataset.iter_slices(batch=batch):
            if hm.dtype == np.float16:
                hm = hm.astype(np.float32)
            blurred = gaussian_blur(hm, blur_kernel) if need_blur else None
            for sm, members in daec_sets.items():
                if not members:
                    continue
                cs = [configs[group[j]] for j in members]
                c_all, sc, _ = decode_daec_grid(blurred if sm else hm, sigma=sigma,
                                                deltas=[c.delta for c in cs],
                                                patterns=[c.pattern for c in cs])
                for jj, j in enumerate(members):
                    coords[j, rows] = c_all[jj]
                    maxv[j, rows] = sc
            for j, ci in enumerate(group):
                c = configs[ci]
                if c.method == "daec":
                    continue
                maps = blurred if (c.smooth and c.method != "dark") else hm
                r = decode(maps, c.method, **c.decode_options(sigma, blur_kernel))
                coords[j, rows] = r.coords
                maxv[j, rows] = r.scores
            step += 1
            if progress is not None:
                progress(step / n_steps, "decoding")
        for j, ci in enumerate(group):
            c = configs[ci]
            img = _apply(affines, coords[j])
            for s in splits:
                stats = score_predictions(dataset, img, maxv[j].astype(np.float64),
                                          engine=engine, rows=split_rows[s])
                records.append({"method": c.method, "pattern": c.pattern,
                                "smooth": c.smooth, "delta": c.delta, "split": s, **stats})
                step += 1
                if progress is not None:
                    progress(step / n_steps, c.label)
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    if use_cache:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            df.to_csv(tmp, index=False)
            tmp.replace(cache_file)
        except OSError:  # a read-only home must not break a sweep
            pass
    return df


def _apply(affines: np.ndarray, coords: np.ndarray) -> np.ndarray:
    from .geometry import apply_affine
    return apply_affine(coords.astype(np.float64), affines)


@dataclass
class DeltaChoice:
    """Δ_opt learned on one split and reported on another.

    Attributes
    ----------
    delta : Δ_opt (heatmap px), the best ``stat`` on ``train_split``.
    pattern, smooth, stat : what was swept.
    train_value, test_value : ``stat`` of DAEC at Δ_opt on each split.
    baselines : ``stat`` of each baseline on the test split (same smoothing).
    gains : test_value − baseline, per baseline.
    curve : the sweep rows of this pattern/smoothing (both splits).
    in_sample : True when train and test are the same split (no held-out data).
    """

    delta: float
    pattern: str
    smooth: bool
    stat: str
    train_split: str
    test_split: str
    train_value: float
    test_value: float
    baselines: dict[str, float] = field(default_factory=dict)
    gains: dict[str, float] = field(default_factory=dict)
    curve: pd.DataFrame | None = None
    in_sample: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("curve")
        return d


def choose_delta(sweep: pd.DataFrame, pattern: str = "BR", smooth: bool = False,
                 stat: str = "AP", train: str = "train", test: str = "test") -> DeltaChoice:
    """Pick Δ_opt from a sweep table (see :func:`run_sweep`) on ``train``; report ``test``.

    Ties on the train stat go to the smallest Δ (the cheaper, larger window is not
    preferred; any tie-break is arbitrary, this one is deterministic).
    """
    if stat not in STAT_NAMES:
        raise InputError(f"expected one of {STAT_NAMES}, got {stat!r}", field="stat")
    for s in (train, test):
        if s not in set(sweep["split"]):
            raise InputError(f"split {s!r} is not in the sweep (has "
                             f"{sorted(set(sweep['split']))})", field="split")
    sm = sweep["smooth"].astype(bool) == bool(smooth)
    curve = sweep[(sweep["method"] == "daec") & (sweep["pattern"] == pattern) & sm]
    tr = curve[curve["split"] == train].sort_values("delta")
    if tr.empty:
        raise InputError(f"the sweep has no DAEC rows for pattern {pattern!r} and "
                         f"smooth={smooth}", field="pattern")
    best = tr.loc[tr[stat].idxmax()]
    delta = float(best["delta"])
    te = curve[(curve["split"] == test) & np.isclose(curve["delta"], delta)]
    test_value = float(te[stat].iloc[0])
    base = {}
    for m in BASELINES:
        rows = sweep[(sweep["method"] == m) & sm & (sweep["split"] == test)]
        if not rows.empty:
            base[m] = float(rows[stat].iloc[0])
    return DeltaChoice(delta=delta, pattern=pattern, smooth=bool(smooth), stat=stat,
                       train_split=train, test_split=test,
                       train_value=float(best[stat]), test_value=test_value,
                       baselines=base, gains={m: test_value - v for m, v in base.items()},
                       curve=curve.reset_index(drop=True), in_sample=train == test)


def learn_delta(dataset: Any, pattern: str = "BR", smooth: bool = False, stat: str = "AP",
                train: str = "train", test: str = "test",
                sweep: pd.DataFrame | None = None, **sweep_options: Any) -> DeltaChoice:
    """Learn Δ_opt on ``train`` and report it on ``test`` with the gain over each baseline.

    Without train/test splits in the dataset, Δ is learned and reported on ``"all"``
    (``in_sample=True``: the gain is then optimistic).

    Examples
    --------
    >>> choice = learn_delta(load_dataset("data/demo"))  # doctest: +SKIP
    >>> choice.delta, round(choice.gains["dark"], 3)      # doctest: +SKIP
    (4.0, 0.02)
    """
    if train not in dataset.splits or test not in dataset.splits:
        train = test = "all"
    if sweep is None:
        sweep_options.setdefault("splits", sorted({train, test}))
        sweep = run_sweep(dataset, **sweep_options)
    return choose_delta(sweep, pattern=pattern, smooth=smooth, stat=stat, train=train,
                        test=test)


def compare_patterns(sweep: pd.DataFrame, delta: float, split: str = "test",
                     stat: str = "AP", smooth: bool = False) -> pd.Series:
    """``stat`` of each cut pattern at one Δ (the paper's Tables 6-7 layout).

    The paper compares the patterns at the same Δ (its Δ_opt); with a bias toward the
    bottom-right, BR > UR > BL > UL, UR ahead of BL when the bias is larger in x.
    """
    sm = sweep["smooth"].astype(bool) == bool(smooth)
    rows = sweep[(sweep["method"] == "daec") & sm & (sweep["split"] == split)
                 & np.isclose(sweep["delta"], delta)]
    if rows.empty:
        raise InputError(f"the sweep has no DAEC rows at Δ = {delta:g} on split {split!r}",
                         field="delta")
    return rows.set_index("pattern")[stat].reindex(list(PATTERNS)).dropna()
