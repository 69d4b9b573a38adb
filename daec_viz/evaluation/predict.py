"""The one path from heatmaps to image-px keypoints: :func:`predict` and :func:`predict_many`.

Everything that needs a dataset's keypoints (evaluation, sweeps, error analysis, the
app, ``daec-viz predict``) calls these, so a :class:`~daec_viz.decoding.DecoderConfig`
gives the same keypoints wherever it is used.

Per instance and joint: the decoded point in heatmap px (x right, y down, pixel centres
at integers), mapped to image px with the instance's affine (the dataset's convention or
its stored affines), the map's maximum (the keypoint score), and whether the map was
valid. Instance scores follow the usual top-down rescoring (HRNet / Simple Baselines):
detection score × mean of the keypoint maxima above :data:`RESCORE_THRESHOLD` (0 when
none is).

:func:`predict_many` decodes several configurations from one read of the heatmaps: each
slice is converted from float16 once, blurred once per smoothing kernel, and all DAEC
configurations on the same maps share one prefix-sum pass
(:func:`~daec_viz.decoding.decode_daec_grid`). Its keypoints equal :func:`predict`'s for
each configuration (tests/test_predict.py).

Examples
--------
>>> from daec_viz import load_dataset, predict, DecoderConfig     # doctest: +SKIP
>>> pred = predict(load_dataset("my-run"), DecoderConfig("daec"))  # doctest: +SKIP
>>> pred.coords_img.shape, pred.config.delta                       # doctest: +SKIP
((6000, 17, 2), (4.0, 4.0))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from daec_viz.decoding import (
    DecoderConfig,
    blur_read_radius,
    decode,
    decode_daec_grid,
    gaussian_blur,
)
from daec_viz.evaluation.coco_eval import instance_scores
from daec_viz.exceptions import InputError
from daec_viz.geometry import apply_affine

ProgressFn = Callable[[float, str], None]
#: Keypoint maxima below this do not count in the instance score (HRNet's 0.2).
RESCORE_THRESHOLD = 0.2

__all__ = ["Predictions", "predict", "predict_many", "resolve_config", "RESCORE_THRESHOLD",
           "DecodePlan", "plan_decoding", "decode_slice", "decode_slices"]


@dataclass(frozen=True)
class Predictions:
    """Decoded keypoints of every instance of a dataset (or view), one configuration.

    Attributes
    ----------
    coords_hm : (n, K, 2) float64, heatmap px.
    coords_img : (n, K, 2) float64, image px.
    maxvals : (n, K) float64 heatmap maxima (0 for invalid maps): the keypoint scores.
    valid : (n, K) bool, False for maps without a positive finite maximum.
    scores : (n,) instance scores (detection score × mean keypoint maxima above 0.2).
    image_ids : (n,) int64.
    config : the resolved :class:`~daec_viz.decoding.DecoderConfig`.
    """

    coords_hm: np.ndarray
    coords_img: np.ndarray
    maxvals: np.ndarray
    valid: np.ndarray
    scores: np.ndarray
    image_ids: np.ndarray
    config: DecoderConfig


def resolve_config(dataset: Any, config: DecoderConfig | str, **options: Any) -> DecoderConfig:
    """``config`` (a config or a method name, plus options) with the dataset's defaults:
    DAEC's σ from the cache, Δ = int(σ + 2), DARK's kernel."""
    return DecoderConfig.of(config, **options).resolved(sigma=float(dataset.meta.sigma))


def _slices(dataset: Any, maps: np.ndarray | None, blurred: Mapping[int, np.ndarray],
            batch: int) -> Iterator[tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]]:
    """(rows, maps, {kernel: blurred maps}) per slice: from memory when given, else read."""
    n = len(dataset)
    if maps is None:
        for rows, hm in dataset.iter_slices(batch=batch):
            yield rows, hm, {k: b[rows] for k, b in blurred.items()}
        return
    for start in range(0, n, batch):
        sl = slice(start, min(n, start + batch))
        yield np.arange(sl.start, sl.stop), maps[sl], {k: b[sl] for k, b in blurred.items()}


def _check_maps(dataset: Any, name: str, maps: np.ndarray) -> None:
    want = (len(dataset), dataset.num_keypoints, *reversed(dataset.meta.heatmap_size))
    if tuple(np.shape(maps)) != want:
        raise InputError(f"expected in-memory maps of shape {want} (one row per instance "
                         f"of the dataset), got {tuple(np.shape(maps))}", field=name)


@dataclass(frozen=True)
class DecodePlan:
    """How :func:`decode_slice` decodes several configurations from one read of a slice.

    Attributes
    ----------
    configs : the resolved configurations, in order.
    source : per configuration, the maps it decodes: None for the raw maps (DARK and
        DARK-UDP, whose config resolves to a blur, blur inside their own kernel), else the
        kernel the maps are pre-blurred with (once per slice for all such configs).
    daec_groups : ``{(source, sigma): [config indices]}``: DAEC configurations sharing
        one prefix-sum pass (:func:`~daec_viz.decoding.decode_daec_grid`).
    maxval_owner : per configuration, the index of the configuration whose maxima and
        validity it shares (itself, or the first of its DAEC group): same maps, same
        maxima.
    """

    configs: tuple[DecoderConfig, ...]
    source: tuple[int | None, ...]
    daec_groups: Mapping[tuple[Any, float], tuple[int, ...]]
    maxval_owner: tuple[int, ...]

    @property
    def kernels(self) -> set[int]:
        """The smoothing kernels a slice is pre-blurred with."""
        return {s for s in self.source if s is not None}

    @property
    def owners(self) -> list[int]:
        """Configurations with maxima of their own (sorted)."""
        return sorted(set(self.maxval_owner))


def plan_decoding(configs: Sequence[DecoderConfig]) -> DecodePlan:
    """The :class:`DecodePlan` of resolved ``configs`` (see :func:`resolve_config`)."""
    cfgs = tuple(configs)
    if not cfgs:
        raise InputError("expected at least one configuration", field="configs")
    source = tuple(c.blur_kernel if (c.smooth and not DecoderConfig(c.method).resolved().smooth)
                   else None for c in cfgs)
    groups: dict[tuple[Any, float], list[int]] = {}
    for j, c in enumerate(cfgs):
        if c.method == "daec":
            groups.setdefault((source[j], c.sigma), []).append(j)
    owner = list(range(len(cfgs)))
    for members in groups.values():  # one grid pass -> one set of maxima
        for j in members[1:]:
            owner[j] = members[0]
    return DecodePlan(cfgs, source, {g: tuple(m) for g, m in groups.items()}, tuple(owner))


def decode_slice(plan: DecodePlan, hm: np.ndarray,
                 pre: Mapping[int, np.ndarray] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one slice of maps with every configuration of ``plan`` (one conversion from
    float16, one blur per kernel, one DAEC grid pass per group).

    Parameters
    ----------
    plan : from :func:`plan_decoding`.
    hm : (b, K, H, W) heatmaps, any float dtype.
    pre : optional ``{kernel: (b, K, H, W) maps}`` already blurred with that kernel.

    Returns
    -------
    ``(coords, maxvals, valid)``: (C, b, K, 2) float64 heatmap px (x right, y down, pixel
    centres at integers), (C, b, K) float64 map maxima, (C, b, K) bool, one row per
    configuration (rows of configurations sharing maxima are equal copies).
    """
    pre = pre or {}
    cfgs = plan.configs
    b, k = hm.shape[:2]
    if hm.dtype == np.float16:  # what decode would do, done once for every config
        hm = hm.astype(np.float32)
    views: dict[Any, np.ndarray] = {None: hm}
    for kern in plan.kernels:
        if kern in pre:
            views[kern] = np.asarray(pre[kern], dtype=np.float32)
        else:  # blurred only as far as the configs on these maps read them
            radius = blur_read_radius([c for c, s in zip(cfgs, plan.source, strict=True)
                                       if s == kern])
            with np.errstate(invalid="ignore", over="ignore"):
                views[kern] = gaussian_blur(hm, kern, exact_within=radius)
    coords = np.empty((len(cfgs), b, k, 2))
    maxv = np.empty((len(cfgs), b, k))
    valid = np.empty((len(cfgs), b, k), dtype=bool)
    for (src, sigma), members in plan.daec_groups.items():
        c_all, sc, ok = decode_daec_grid(views[src], sigma=sigma,
                                         deltas=[cfgs[j].delta for j in members],
                                         patterns=[cfgs[j].pattern for j in members])
        coords[list(members)] = c_all
        maxv[list(members)], valid[list(members)] = sc, ok
    for j, c in enumerate(cfgs):
        if c.method == "daec":
            continue
        # maps already blurred with the config's kernel: decode them as they are
        cfg = c if plan.source[j] is None else c.replace(blur_kernel=None)
        r = decode(views[plan.source[j]], cfg)
        coords[j], maxv[j], valid[j] = r.coords, r.scores, r.valid
    return coords, maxv, valid


def decode_slices(dataset: Any, plan: DecodePlan, *, maps: np.ndarray | None = None,
                  blurred: Mapping[int, np.ndarray] | None = None, batch: int = 512
                  ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Stream ``dataset`` (or in-memory ``maps``) in slices of ``batch`` instances and
    decode each with every configuration of ``plan`` (:func:`decode_slice`).

    Yields ``(rows, coords, maxvals, valid)``: the slice's view rows (b,) and the arrays of
    :func:`decode_slice`. Memory stays at one slice (plus its blurred copies)."""
    if batch < 1:
        raise InputError(f"expected a positive batch size, got {batch}", field="batch")
    blurred = dict(blurred or {})
    if maps is not None:
        _check_maps(dataset, "maps", maps)
    for kern, b in blurred.items():
        _check_maps(dataset, f"blurred[{kern}]", b)
    for rows, hm, pre in _slices(dataset, maps, blurred, batch):
        yield (rows, *decode_slice(plan, hm, pre))


def predict_many(dataset: Any, configs: Sequence[DecoderConfig | str], *,
                 maps: np.ndarray | None = None,
                 blurred: Mapping[int, np.ndarray] | None = None, batch: int = 512,
                 progress: ProgressFn | None = None) -> list[Predictions]:
    """Decode every instance of ``dataset`` with each configuration (one read of the maps).

    Parameters
    ----------
    dataset : a :class:`~daec_viz.io.datasets.Dataset` (or a subset view).
    configs : configurations (or method names); resolved with the dataset's σ.
    maps : optional (n, K, H, W) heatmaps of the dataset's rows already in memory
        (any float dtype); default: streamed from the cache in slices of ``batch``.
    blurred : optional ``{kernel: (n, K, H, W) maps}`` already blurred with that kernel
        (as :func:`~daec_viz.decoding.gaussian_blur` does), reused instead of blurring.
    progress : ``progress(fraction, label)`` after each slice.

    Returns
    -------
    One :class:`Predictions` per configuration, in order. DAEC configurations decoded
    on the same maps share their ``maxvals`` array (the same map maxima).
    """
    cfgs = [resolve_config(dataset, c) for c in configs]
    plan = plan_decoding(cfgs)
    n, k = len(dataset), dataset.num_keypoints
    coords = [np.zeros((n, k, 2)) for _ in cfgs]
    maxv = {j: np.zeros((n, k)) for j in plan.owners}
    valid = {j: np.zeros((n, k), dtype=bool) for j in plan.owners}
    done = 0
    for rows, c_s, m_s, v_s in decode_slices(dataset, plan, maps=maps, blurred=blurred,
                                             batch=batch):
        for j in range(len(cfgs)):
            coords[j][rows] = c_s[j]
        for j in plan.owners:
            maxv[j][rows], valid[j][rows] = m_s[j], v_s[j]
        done += len(rows)
        if progress is not None:
            progress(done / max(n, 1), "decoding")

    _warn_invalid(dataset, [cfgs[j] for j in plan.owners], [valid[j] for j in plan.owners])
    inst = dataset.instances
    det = inst["score"].to_numpy()
    image_ids = inst["image_id"].to_numpy().astype(np.int64)
    aff = dataset.affines()
    own = plan.maxval_owner
    return [Predictions(coords[j], apply_affine(coords[j], aff), maxv[own[j]], valid[own[j]],
                        instance_scores(det, maxv[own[j]], RESCORE_THRESHOLD), image_ids, c)
            for j, c in enumerate(cfgs)]


def _warn_invalid(dataset: Any, cfgs: Sequence[DecoderConfig],
                  valid: Sequence[np.ndarray]) -> None:
    """One :class:`~daec_viz.exceptions.DataWarning` when some maps were decoded as
    invalid (NaN/Inf or no positive value): their keypoints score 0 but still count."""
    if not valid:
        return
    j = int(np.argmax([int((~v).sum()) for v in valid]))
    bad = ~valid[j]
    if bad.any():
        from daec_viz.exceptions import warn_data
        n_bad, n_inst = int(bad.sum()), int(bad.any(axis=1).sum())
        warn_data(f"{n_bad} of {bad.size} maps ({n_inst} of {bad.shape[0]} instances) hold "
                  f"NaN/Inf or no positive value; decoded as invalid with score 0 "
                  f"({cfgs[j].label}); see `daec-viz info --scan`", field="heatmaps",
                  path=getattr(dataset, "cache_path", None), stacklevel=4)


def predict(dataset: Any, config: DecoderConfig | str = "standard", *,
            maps: np.ndarray | None = None, blurred: Mapping[int, np.ndarray] | None = None,
            batch: int = 512, progress: ProgressFn | None = None,
            **options: Any) -> Predictions:
    """Decode every instance of ``dataset`` with one configuration.

    ``predict(ds, DecoderConfig("daec", delta=3))`` and ``predict(ds, "daec", delta=3)``
    are the same. See :func:`predict_many` for ``maps``, ``blurred`` and ``progress``.

    Returns
    -------
    :class:`Predictions`: heatmap px and image px coordinates, maxima, validity, instance
    scores and the resolved config.
    """
    cfg = DecoderConfig.of(config, **options)
    return predict_many(dataset, [cfg], maps=maps, blurred=blurred, batch=batch,
                        progress=progress)[0]
