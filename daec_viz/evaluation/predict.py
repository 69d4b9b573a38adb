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

from daec_viz.decoding import DecoderConfig, decode, decode_daec_grid, gaussian_blur
from daec_viz.evaluation.coco_eval import instance_scores
from daec_viz.exceptions import InputError
from daec_viz.geometry import apply_affine

ProgressFn = Callable[[float, str], None]
#: Keypoint maxima below this do not count in the instance score (HRNet's 0.2).
RESCORE_THRESHOLD = 0.2

__all__ = ["Predictions", "predict", "predict_many", "resolve_config", "RESCORE_THRESHOLD"]


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
    if not cfgs:
        raise InputError("expected at least one configuration", field="configs")
    if batch < 1:
        raise InputError(f"expected a positive batch size, got {batch}", field="batch")
    blurred = dict(blurred or {})
    if maps is not None:
        _check_maps(dataset, "maps", maps)
    for kern, b in blurred.items():
        _check_maps(dataset, f"blurred[{kern}]", b)
    n, k = len(dataset), dataset.num_keypoints
    # which maps each configuration decodes: the raw maps (kernel None; DARK blurs inside
    # its own kernel) or the maps pre-blurred with its kernel
    source = [c.blur_kernel if (c.smooth and c.method != "dark") else None for c in cfgs]
    daec_groups: dict[tuple[Any, float], list[int]] = {}
    for j, c in enumerate(cfgs):
        if c.method == "daec":
            daec_groups.setdefault((source[j], c.sigma), []).append(j)
    coords = [np.zeros((n, k, 2)) for _ in cfgs]
    maxv: list[np.ndarray] = [np.zeros((n, k)) for _ in cfgs]
    valid = [np.zeros((n, k), dtype=bool) for _ in cfgs]
    for members in daec_groups.values():  # one grid pass -> one set of maxima
        for j in members[1:]:
            maxv[j], valid[j] = maxv[members[0]], valid[members[0]]
    kernels = {s for s in source if s is not None}

    done = 0
    for rows, hm, pre in _slices(dataset, maps, blurred, batch):
        if hm.dtype == np.float16:  # what decode would do, done once for every config
            hm = hm.astype(np.float32)
        views: dict[Any, np.ndarray] = {None: hm}
        for kern in kernels:
            if kern in pre:
                views[kern] = np.asarray(pre[kern], dtype=np.float32)
            else:
                with np.errstate(invalid="ignore", over="ignore"):
                    views[kern] = gaussian_blur(hm, kern)
        for (src, sigma), members in daec_groups.items():
            c_all, sc, ok = decode_daec_grid(views[src], sigma=sigma,
                                             deltas=[cfgs[j].delta for j in members],
                                             patterns=[cfgs[j].pattern for j in members])
            for jj, j in enumerate(members):
                coords[j][rows] = c_all[jj]
            maxv[members[0]][rows], valid[members[0]][rows] = sc, ok
        for j, c in enumerate(cfgs):
            if c.method == "daec":
                continue
            # maps already blurred with the config's kernel: decode them as they are
            cfg = c if source[j] is None else c.replace(blur_kernel=None)
            r = decode(views[source[j]], cfg)
            coords[j][rows], maxv[j][rows], valid[j][rows] = r.coords, r.scores, r.valid
        done += len(rows)
        if progress is not None:
            progress(done / max(n, 1), "decoding")

    inst = dataset.instances
    det = inst["score"].to_numpy()
    image_ids = inst["image_id"].to_numpy().astype(np.int64)
    aff = dataset.affines()
    return [Predictions(coords[j], apply_affine(coords[j], aff), maxv[j], valid[j],
                        instance_scores(det, maxv[j], RESCORE_THRESHOLD), image_ids, c)
            for j, c in enumerate(cfgs)]


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
