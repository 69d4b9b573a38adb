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

from daec_viz.decoding import DEFAULT_BLUR_KERNEL, PATTERNS, DecoderConfig
from daec_viz.evaluation.coco_eval import STAT_NAMES
from daec_viz.evaluation.predict import predict_many, resolve_config
from daec_viz.evaluation.scoring import NMS_THRESHOLD, RESCORE_THRESHOLD, score_predictions
from daec_viz.evaluation.splits import learn_splits, split_indices
from daec_viz.exceptions import InputError
from daec_viz.io.paths import cache_root

ProgressFn = Callable[[float, str], None]
SWEEP_VERSION = 3  # bump whenever decoding or scoring of a sweep changes
BASELINES: tuple[str, ...] = ("standard", "shifting", "dark")
#: One row per configuration and split: the config's method, pattern, smoothing and Δ
#: (empty / NaN where they do not apply), the split, the 10 stats, and the resolved
#: :class:`~daec_viz.decoding.DecoderConfig` as JSON.
COLUMNS: tuple[str, ...] = (("method", "pattern", "smooth", "delta", "split") + STAT_NAMES
                            + ("config",))


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


def sweep_config(method: str, smooth: bool = False, pattern: str = "BR",
                 delta: float | None = None, sigma: float | None = None,
                 blur_kernel: int = DEFAULT_BLUR_KERNEL) -> DecoderConfig:
    """The :class:`~daec_viz.decoding.DecoderConfig` of one sweep row.

    ``smooth`` blurs the maps first with ``blur_kernel``; DARK always blurs with its own
    kernel, so for DARK ``smooth=False`` is its Taylor step on the raw map (kernel 1, the
    paper's Table 4 ablation) and ``smooth=True`` is DARK as published.

    >>> sweep_config("dark").label, sweep_config("daec", True, "UL", 3).label
    ('dark (raw map)', 'daec UL Δ=3 +smooth')
    """
    kernel = blur_kernel if smooth else (1 if method == "dark" else None)
    return DecoderConfig(method, sigma=sigma, delta=delta, pattern=pattern,
                         blur_kernel=kernel)


def default_configs(sigma: float = 2.0, deltas: Sequence[float] | None = None,
                    patterns: Sequence[str] = PATTERNS,
                    smooth: Sequence[bool] = (False, True),
                    baselines: Sequence[str] = BASELINES,
                    blur_kernel: int = DEFAULT_BLUR_KERNEL) -> list[DecoderConfig]:
    """The default sweep: DAEC over ``deltas`` (default :func:`delta_grid`) × ``patterns``
    × ``smooth``, plus each baseline with and without smoothing (:func:`sweep_config`)."""
    grid = delta_grid(sigma) if deltas is None else np.asarray(deltas, dtype=np.float64)
    bad = [p for p in patterns if p not in PATTERNS]
    if bad:
        raise InputError(f"unknown pattern(s) {bad}; expected {PATTERNS}", field="patterns")
    configs = [sweep_config(m, s, blur_kernel=blur_kernel) for m in baselines for s in smooth]
    configs += [sweep_config("daec", s, p, float(d), sigma, blur_kernel) for s in smooth
                for p in patterns for d in grid]
    return configs


def default_cache_dir() -> Path:
    """Where sweep results are cached (:func:`daec_viz.io.paths.cache_root`:
    ``$DAEC_VIZ_CACHE`` or ``~/.cache/daec-viz``)."""
    return cache_root()


def _cache_key(dataset: Any, configs: Sequence[DecoderConfig], splits: Sequence[str],
               engine: str) -> str:
    """Key of a sweep's results: the data (content hash of the cache, annotations and the
    view's rows), the code (package and sweep versions, rescoring/NMS thresholds) and
    every parameter that changes a number."""
    from daec_viz import __version__
    payload = {"v": SWEEP_VERSION, "package": __version__, "data": dataset.content_hash,
               "engine": engine, "splits": list(splits),
               "rescore": RESCORE_THRESHOLD, "nms": NMS_THRESHOLD,
               "configs": [c.to_dict() for c in configs]}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def _decode_groups(configs: Sequence[DecoderConfig], n: int, k: int,
                   memory_mb: float) -> list[list[int]]:
    """Consecutive groups of configuration indices whose decoded keypoints fit in
    ``memory_mb`` (float64 x, y per configuration, plus at most one maxval array)."""
    per_config = n * k * 3 * 8
    size = max(1, int(memory_mb * 2 ** 20 // max(per_config, 1)))
    idx = list(range(len(configs)))
    return [idx[i:i + size] for i in range(0, len(idx), size)]


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def _read_cached(path: Path) -> pd.DataFrame | None:
    """A cached sweep table, or None when it is unreadable or not a sweep table."""
    try:
        df = pd.read_csv(path, keep_default_na=True)
    except (OSError, ValueError):  # pandas' parser errors are ValueErrors
        return None
    if tuple(df.columns) != COLUMNS:
        return None
    df["pattern"] = df["pattern"].fillna("")
    return df


def _plan(dataset: Any, configs: Sequence[DecoderConfig] | None,
          splits: Sequence[str] | None, engine: str, sigma: float | None, blur_kernel: int,
          cache_dir: str | Path | None) -> tuple[list[DecoderConfig], list[str], Path]:
    """The resolved configurations and splits of a sweep, and its cache file."""
    sigma = float(dataset.meta.sigma if sigma is None else sigma)
    configs = list(default_configs(sigma, blur_kernel=blur_kernel) if configs is None
                   else configs)
    if not configs:
        raise InputError("expected at least one configuration", field="configs")
    configs = [resolve_config(dataset, c) for c in configs]
    splits = list(dataset.splits if splits is None else splits)
    key = _cache_key(dataset, configs, splits, engine)
    return configs, splits, Path(cache_dir or default_cache_dir()) / f"sweep-{key}.csv"


def cached_sweep(dataset: Any, configs: Sequence[DecoderConfig] | None = None, *,
                 splits: Sequence[str] | None = None, engine: str = "hotcoco",
                 sigma: float | None = None, blur_kernel: int = DEFAULT_BLUR_KERNEL,
                 cache_dir: str | Path | None = None) -> pd.DataFrame | None:
    """The table :func:`run_sweep` would return with these arguments, if it is already
    cached on disk; None otherwise (nothing is computed)."""
    cache_file = _plan(dataset, configs, splits, engine, sigma, blur_kernel, cache_dir)[2]
    if _is_inside(cache_file, dataset.path) or not cache_file.is_file():
        return None
    return _read_cached(cache_file)


def run_sweep(dataset: Any, configs: Sequence[DecoderConfig] | None = None, *,
              splits: Sequence[str] | None = None, engine: str = "hotcoco",
              sigma: float | None = None, blur_kernel: int = DEFAULT_BLUR_KERNEL,
              batch: int = 512, memory_mb: float = 512.0,
              progress: ProgressFn | None = None,
              cache_dir: str | Path | None = None, use_cache: bool = True) -> pd.DataFrame:
    """Score every configuration on every split.

    Each configuration is decoded by :func:`~daec_viz.evaluation.predict.predict_many`
    (the same keypoints as :func:`~daec_viz.evaluation.predict.predict`) and scored
    exactly as :func:`~daec_viz.evaluation.scoring.evaluate` scores it (see
    ``tests/test_sweep.py``).

    Parameters
    ----------
    dataset : a :class:`~daec_viz.io.datasets.Dataset`.
    configs : :class:`~daec_viz.decoding.DecoderConfig` values (resolved with the
        dataset's σ); default :func:`default_configs` for ``sigma`` and ``blur_kernel``.
    splits : split names (default: the dataset's splits; ``["all"]`` when it has none;
        ``"all"`` always means every instance).
    sigma : σ of the default grid's DAEC window (default: the cache's σ).
    blur_kernel : the default grid's smoothing kernel (OpenCV Gaussian, odd).
    memory_mb : bound on the decoded keypoints held at once (the cache is re-read, and
        re-blurred, once per group of configurations that fits).
    progress : ``progress(fraction, label)``.
    cache_dir : where results are cached (default :func:`default_cache_dir`); never
        written when it lies inside the dataset folder.
    use_cache : read and write that cache.

    Returns
    -------
    DataFrame with the :data:`COLUMNS` (method, pattern, smooth, delta, split, the 10
    COCO stats, config as JSON), one row per configuration and split, in the order of
    ``configs`` then ``splits``.
    """
    configs, splits, cache_file = _plan(dataset, configs, splits, engine, sigma, blur_kernel,
                                        cache_dir)
    use_cache = use_cache and not _is_inside(cache_file, dataset.path)
    if use_cache and cache_file.is_file():
        df = _read_cached(cache_file)
        if df is not None:
            if progress is not None:
                progress(1.0, "cached")
            return df

    n, k = len(dataset), dataset.num_keypoints
    split_rows = {s: split_indices(dataset, s) for s in splits}
    groups = _decode_groups(configs, n, k, memory_mb)
    n_steps = len(groups) + len(configs) * len(splits)  # one step per decode pass, per score
    step = 0
    records: list[dict[str, Any]] = []
    for group in groups:
        def decoding(fraction: float, label: str, _base: int = step) -> None:
            if progress is not None:
                progress((_base + fraction) / n_steps, label)

        preds = predict_many(dataset, [configs[i] for i in group], batch=batch,
                             progress=decoding)
        step += 1
        for pred in preds:
            c = pred.config
            for s in splits:
                stats = score_predictions(dataset, pred.coords_img, pred.maxvals,
                                          engine=engine, rows=split_rows[s])
                records.append({**row_fields(c), "split": s, **stats,
                                "config": c.to_json()})
                step += 1
                if progress is not None:
                    progress(step / n_steps, c.label)
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    if use_cache:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
            df.to_csv(tmp, index=False)
            tmp.replace(cache_file)
        except OSError:  # a read-only home must not break a sweep
            pass
    return df


def row_fields(config: DecoderConfig) -> dict[str, Any]:
    """The method / pattern / smooth / delta columns of a sweep row for ``config`` (Δ is
    Δx; a pair (Δx, Δy) with Δx != Δy is in the row's config JSON)."""
    daec = config.method == "daec"
    return {"method": config.method, "pattern": config.pattern if daec else "",
            "smooth": config.smooth, "delta": config.delta[0] if daec else math.nan}


@dataclass
class DeltaChoice:
    """Δ_opt learned on one split and reported on another.

    Attributes
    ----------
    delta : Δ_opt (heatmap px), the best ``stat`` on ``train_split``.
    pattern, smooth, stat : what was swept.
    train_value, test_value : ``stat`` of DAEC at Δ_opt on each split.
    baselines : ``stat`` of each baseline on the test split: standard and shifting with
        the same smoothing as DAEC; DARK as published, with its own blur (the sweep's
        smoothed DARK row; its raw-map variant only when the sweep has no smoothed one),
        as in the paper's Table 1.
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

    AP is a step function of Δ (a match flips at an OKS threshold), so exact ties are
    common on small splits: they go to the smallest tied Δ (deterministic; any tie-break
    is arbitrary on train).

    Raises
    ------
    InputError
        When ``stat`` is unknown, a split is not in the sweep, or the sweep has no DAEC
        rows of this pattern/smoothing (on ``train``, or at Δ_opt on ``test``).
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
    if te.empty:
        raise InputError(f"the sweep has no DAEC row at Δ = {delta:g} on split {test!r}",
                         field="delta")
    test_value = float(te[stat].iloc[0])
    base = {}
    on_test = sweep["split"] == test
    smoothed = sweep["smooth"].astype(bool)
    for m in BASELINES:
        rows = sweep[(sweep["method"] == m) & sm & on_test]
        if m == "dark":  # DARK always blurs; its raw-map variant is Table 4's ablation
            own = sweep[(sweep["method"] == m) & smoothed & on_test]
            rows = own if not own.empty else rows
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

    Without splits in the dataset, Δ is learned and reported on ``"all"``
    (``in_sample=True``: the gain is then optimistic). A dataset with splits must have
    ``train`` and ``test`` (``"all"`` is every instance).

    Raises
    ------
    InputError
        When the dataset has splits but not ``train`` or ``test``.

    Examples
    --------
    >>> choice = learn_delta(load_dataset("data/demo"))  # doctest: +SKIP
    >>> choice.delta, round(choice.gains["dark"], 3)      # doctest: +SKIP
    (4.0, 0.02)
    """
    train, test, _ = learn_splits(dataset, train, test)
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
