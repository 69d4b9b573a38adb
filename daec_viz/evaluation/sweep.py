"""AP-vs-Δ sweeps and Δ learned on a train split (the paper's Figures 5, 6, 9; Tables 5-7).

A sweep decodes a dataset with DAEC over a Δ grid × cut patterns × smoothing off/on,
plus every other decoder as a reference (:data:`BASELINES`: each with and without
smoothing where it has a blur option; DARK or DARK-UDP "without smoothing" is its Taylor
step on the raw map, the paper's Table 4), and scores every configuration on every split
with the COCO evaluator.

Speed and memory: the cache is read once, slice by slice; each slice is converted from
float16 once, blurred once per kernel for all smoothed configurations and decoded with
every configuration (:func:`~daec_viz.evaluation.predict.decode_slice`). The decoded
keypoints go to a :class:`KeypointStore` (in memory when they fit in ``memory_mb``, else
a scratch file in the temp folder: about 5 GB for COCO val's 104,000 detector boxes and
the default grid, removed at the end), from which each configuration is scored with
hotcoco, one at a time: memory holds one slice of maps and one configuration's
keypoints, never N×K×H×W. The decoding step can run elsewhere (on Dask workers:
:mod:`daec_viz.evaluation.distributed`) with the same result. Results are cached on disk
(never in the dataset folder) keyed by the cache's content hash and every parameter.

:func:`learn_delta` picks Δ_opt on ``train`` and reports it on ``test`` with the gain over
each baseline, as the paper prescribes ("the Δ achieving the best model performance on
the training set is used in test scenarios").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from daec_viz.decoding import ALL_METHODS, DEFAULT_BLUR_KERNEL, PATTERNS, DecoderConfig
from daec_viz.decoding.config import MAX_ABS_DELTA, blurs_itself, can_smooth
from daec_viz.evaluation.coco_eval import STAT_NAMES
from daec_viz.evaluation.predict import (
    DecodePlan,
    decode_slices,
    plan_decoding,
    resolve_config,
)
from daec_viz.evaluation.scoring import NMS_THRESHOLD, RESCORE_THRESHOLD, score_predictions
from daec_viz.evaluation.splits import learn_splits, split_indices
from daec_viz.exceptions import InputError
from daec_viz.geometry import apply_affine
from daec_viz.io.atomic import atomic_write
from daec_viz.io.paths import cache_root

ProgressFn = Callable[[float, str], None]
#: ``decoder(dataset, plan, store, progress)``: decode every instance of ``dataset`` with
#: every configuration of ``plan`` into ``store`` (see :func:`decode_locally`).
DecodeFn = Callable[[Any, DecodePlan, "KeypointStore", "ProgressFn | None"], None]
SWEEP_VERSION = 3  # bump whenever decoding or scoring of a sweep changes
#: The references of every sweep, verdict and comparison: every decoder but DAEC.
BASELINES: tuple[str, ...] = tuple(m for m in ALL_METHODS if m != "daec")
#: One row per configuration and split: the config's method, pattern, smoothing and Δ
#: (empty / NaN where they do not apply), the split, the 10 stats, and the resolved
#: :class:`~daec_viz.decoding.DecoderConfig` as JSON.
COLUMNS: tuple[str, ...] = (("method", "pattern", "smooth", "delta", "split") + STAT_NAMES
                            + ("config",))


#: Most Δ values one sweep grid may hold (each is decoded and scored for every pattern
#: and smoothing; the default grid has 21).
MAX_GRID_DELTAS = 1000


def delta_grid(sigma: float = 2.0, start: float = -2.0, stop: float | None = None,
               step: float = 0.5) -> np.ndarray:
    """Δ values ``start, start + step, ..., stop`` (default stop σ + 6), inclusive.

    >>> delta_grid(2.0, step=1.0).tolist()
    [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    """
    stop = sigma + 6.0 if stop is None else stop
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise InputError(f"expected finite numbers, got {start}:{stop}:{step}", field="deltas")
    if not step > 0 or stop < start:
        raise InputError(f"expected step > 0 and stop >= start, got {start}:{stop}:{step}",
                         field="deltas")
    if (stop - start) / step + 1 > MAX_GRID_DELTAS:  # checked before allocating the grid
        raise InputError(f"expected at most {MAX_GRID_DELTAS} Δ values, got "
                         f"{(stop - start) / step + 1:.3g} from {start:g}:{stop:g}:{step:g}; "
                         f"use a larger STEP or a shorter range", field="deltas")
    if max(abs(start), abs(stop)) > MAX_ABS_DELTA:
        raise InputError(f"expected |Δ| <= {MAX_ABS_DELTA:g} heatmap px, got "
                         f"{start:g}:{stop:g}:{step:g}", field="deltas")
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

    ``smooth`` blurs the maps first with ``blur_kernel``; DARK and DARK-UDP always blur
    with their own kernel (:func:`blurs_itself`), so for them ``smooth=False`` is the
    Taylor step on the raw map (kernel 1, the paper's Table 4 ablation) and ``smooth=True``
    is the decoder as published. A decoder without a blur option (:func:`can_smooth`)
    ignores ``smooth``.

    >>> sweep_config("dark").label, sweep_config("daec", True, "UL", 3).label
    ('dark (raw map)', 'daec UL Δ=3 +smooth')
    """
    kernel = blur_kernel if smooth else (1 if blurs_itself(method) else None)
    return DecoderConfig(method, sigma=sigma, delta=delta, pattern=pattern,
                         blur_kernel=kernel)


def default_configs(sigma: float = 2.0, deltas: Sequence[float] | None = None,
                    patterns: Sequence[str] = PATTERNS,
                    smooth: Sequence[bool] = (False, True),
                    baselines: Sequence[str] = BASELINES,
                    blur_kernel: int = DEFAULT_BLUR_KERNEL,
                    beta: float | None = None) -> list[DecoderConfig]:
    """The default sweep: DAEC over ``deltas`` (default :func:`delta_grid`) × ``patterns``
    × ``smooth``, plus each baseline with and without smoothing (:func:`sweep_config`;
    once for a decoder without a blur option); ``beta``: the integral decoders' β
    (None: their default)."""
    grid = delta_grid(sigma) if deltas is None else np.asarray(deltas, dtype=np.float64)
    bad = [p for p in patterns if p not in PATTERNS]
    if bad:
        raise InputError(f"unknown pattern(s) {bad}; expected {PATTERNS}", field="patterns")
    bad = [m for m in baselines if m not in BASELINES]
    if bad:
        raise InputError(f"unknown baseline(s) {bad}; expected {BASELINES}", field="baselines")
    beta_opt = {} if beta is None else {"beta": beta}
    base = [sweep_config(m, s, blur_kernel=blur_kernel).replace(**beta_opt)
            for m in baselines for s in smooth]
    configs = list(dict.fromkeys(base))  # a decoder without a blur option: once
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


class KeypointStore:
    """The decoded keypoints of every configuration of a sweep, written slice by slice
    and read back one configuration at a time.

    Holds (C, n, K, 2) float64 heatmap px (x right, y down, pixel centres at integers) and
    the (n, K) map maxima of each configuration that has its own
    (:attr:`~daec_viz.evaluation.predict.DecodePlan.owners`). In memory when that fits in
    ``memory_mb``; else in one scratch file under ``scratch_dir`` (default: the temp
    folder) written and read with positioned I/O, never memory-mapped, so the resident
    memory stays at one slice or one configuration; the file is removed by :meth:`close`.
    """

    def __init__(self, plan: DecodePlan, n: int, k: int, memory_mb: float = 512.0,
                 scratch_dir: str | Path | None = None) -> None:
        self.plan, self.n, self.k = plan, n, k
        self._slot = {j: i for i, j in enumerate(plan.owners)}
        c, o = len(plan.configs), len(self._slot)
        self._coords_bytes = c * n * k * 2 * 8
        total = self._coords_bytes + o * n * k * 8
        self._dir: Path | None = None
        self._fd: int | None = None
        self._coords: np.ndarray | None = None
        self._maxv: np.ndarray | None = None
        #: True when the keypoints live in the scratch file.
        self.on_disk = total > memory_mb * 2 ** 20
        if not self.on_disk:
            self._coords = np.zeros((c, n, k, 2))
            self._maxv = np.zeros((o, n, k))
        else:
            self._dir = Path(tempfile.mkdtemp(prefix="daec-viz-sweep-", dir=scratch_dir))
            path = self._dir / "keypoints.f64"
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.ftruncate(self._fd, total)

    def write(self, start: int, coords: np.ndarray, owner_maxvals: np.ndarray) -> None:
        """Store rows ``start:start + b`` of every configuration: ``coords`` (C, b, K, 2)
        as :func:`~daec_viz.evaluation.predict.decode_slice` returns them, and
        ``owner_maxvals`` (O, b, K), the maxima of the configurations
        ``plan.owners`` (``maxvals[plan.owners]``)."""
        b = coords.shape[1]
        if coords.shape != (len(self.plan.configs), b, self.k, 2) or \
                owner_maxvals.shape != (len(self._slot), b, self.k) or start + b > self.n:
            raise InputError(f"expected rows {start}:{start + b} of (C, b, K, 2) keypoints "
                             f"and (O, b, K) maxima, got {coords.shape} and "
                             f"{owner_maxvals.shape}", field="keypoints")
        if self._fd is None:
            self._coords[:, start:start + b] = coords
            self._maxv[:, start:start + b] = owner_maxvals
            return
        row = self.k * 8
        for j in range(coords.shape[0]):
            self._pwrite(np.ascontiguousarray(coords[j]), (j * self.n + start) * row * 2)
        for i in range(owner_maxvals.shape[0]):
            self._pwrite(np.ascontiguousarray(owner_maxvals[i]),
                         self._coords_bytes + (i * self.n + start) * row)

    def coords(self, j: int) -> np.ndarray:
        """(n, K, 2) heatmap px of configuration ``j``."""
        if self._fd is None:
            return self._coords[j]
        size = self.n * self.k * 2 * 8
        return self._pread(size, j * size).reshape(self.n, self.k, 2)

    def maxvals(self, j: int) -> np.ndarray:
        """(n, K) map maxima of configuration ``j``."""
        i = self._slot[self.plan.maxval_owner[j]]
        if self._fd is None:
            return self._maxv[i]
        size = self.n * self.k * 8
        return self._pread(size, self._coords_bytes + i * size).reshape(self.n, self.k)

    def _pwrite(self, a: np.ndarray, offset: int) -> None:
        view = memoryview(a).cast("B")
        while view:
            done = os.pwrite(self._fd, view, offset)
            view, offset = view[done:], offset + done

    def _pread(self, size: int, offset: int) -> np.ndarray:
        out = np.empty(size // 8)
        view = memoryview(out).cast("B")
        pos = 0
        while pos < size:
            got = os.preadv(self._fd, [view[pos:]], offset + pos)
            if got <= 0:
                raise OSError(f"short read from the sweep's scratch file in {self._dir}")
            pos += got
        return out

    def close(self) -> None:
        """Free the arrays, or close and remove the scratch file."""
        self._coords = self._maxv = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> KeypointStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def decode_locally(dataset: Any, plan: DecodePlan, store: KeypointStore,
                   progress: ProgressFn | None = None, batch: int = 512) -> None:
    """Decode ``dataset`` in this process, one read of each slice for every configuration
    (:func:`~daec_viz.evaluation.predict.decode_slices`), into ``store``."""
    n, done = len(dataset), 0
    for rows, coords, maxv, _valid in decode_slices(dataset, plan, batch=batch):
        store.write(int(rows[0]), coords, maxv[plan.owners])
        done += len(rows)
        if progress is not None:
            progress(done / max(n, 1), "decoding")


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
              cache_dir: str | Path | None = None, use_cache: bool = True,
              decoder: DecodeFn | None = None,
              scratch_dir: str | Path | None = None) -> pd.DataFrame:
    """Score every configuration on every split.

    Every configuration is decoded from one read of the cache
    (:func:`~daec_viz.evaluation.predict.decode_slices`, the same keypoints as
    :func:`~daec_viz.evaluation.predict.predict`) and scored
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
    batch : instances per slice read from the cache.
    memory_mb : bound on the decoded keypoints held in memory; more go to a scratch
        file (:class:`KeypointStore`). The cache is read once either way.
    progress : ``progress(fraction, label)``.
    cache_dir : where results are cached (default :func:`default_cache_dir`); never
        written when it lies inside the dataset folder.
    use_cache : read and write that cache.
    decoder : the decoding step (default :func:`decode_locally`; e.g.
        :func:`daec_viz.evaluation.distributed.cluster_decoder` decodes on Dask workers).
        The scoring always runs here.
    scratch_dir : folder of the :class:`KeypointStore`'s scratch file (default: the temp
        folder).

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
    plan = plan_decoding(configs)
    # progress: decoding counts as much as a fifth of the scoring steps
    n_score = len(configs) * len(splits)
    w_dec = max(1.0, 0.2 * n_score)
    total = w_dec + n_score

    def decoding(fraction: float, label: str) -> None:
        if progress is not None:
            progress(w_dec * fraction / total, label)

    records: list[dict[str, Any]] = []
    with KeypointStore(plan, n, k, memory_mb, scratch_dir) as store:
        if decoder is None:
            decode_locally(dataset, plan, store, decoding, batch=batch)
        else:
            decoder(dataset, plan, store, decoding)
        aff = dataset.affines()
        step = 0
        for j, c in enumerate(configs):
            coords_img = apply_affine(store.coords(j), aff)
            maxv = store.maxvals(j)
            for s in splits:
                stats = score_predictions(dataset, coords_img, maxv, engine=engine,
                                          rows=split_rows[s])
                records.append({**row_fields(c), "split": s, **stats,
                                "config": c.to_json()})
                step += 1
                if progress is not None:
                    progress((w_dec + step) / total, c.label)
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    if use_cache:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(cache_file) as fh:
                df.to_csv(fh, index=False)
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
        the same smoothing as DAEC; DARK and DARK-UDP as published, with their own blur
        (the sweep's smoothed row; the raw-map variant only when the sweep has no smoothed
        one), as in the paper's Table 1; a decoder without a blur option, its one row.
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
        if blurs_itself(m):  # DARK(-UDP) always blurs; the raw-map one is Table 4's ablation
            own = sweep[(sweep["method"] == m) & smoothed & on_test]
            rows = own if not own.empty else rows
        elif rows.empty and not can_smooth(m):  # no "+smooth" variant: its one row
            rows = sweep[(sweep["method"] == m) & on_test]
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
