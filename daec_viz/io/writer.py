"""Writing heatmap caches: :class:`HeatmapWriter` (schema: :mod:`daec_viz.io.schema`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from daec_viz.exceptions import DatasetError, InputError
from daec_viz.geometry import center_scale_to_box
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES
from daec_viz.io.schema import (
    FORMAT_NAME,
    HEATMAP_DTYPES,
    SCHEMA_VERSION,
    meta_from_attrs,
    pair_of_ints,
)


class HeatmapWriter:
    """Write a heatmap cache instance batch by instance batch (schema: :mod:`daec_viz.io.schema`).

    The file is written to ``<path>.partial`` and renamed into place on a clean
    :meth:`close` (leaving the ``with`` block); on an exception it is removed, so a cache
    is never left half-written. ``.h5``/``.hdf5`` paths write HDF5 (streamed to disk,
    one instance per chunk); ``.npz`` paths collect the batches in memory and write an
    npz at the end (uncompressed, memory-mappable, unless ``compression`` is given).

    Parameters
    ----------
    path : the cache file to create.
    input_size : network input (width, height) px.
    sigma : Gaussian sigma of the training targets, heatmap px.
    convention : heatmap -> image mapping, ``"dark"``, ``"hrnet"`` or ``"udp"``.
    model : network name.
    keypoint_names : K joint names in channel order; default the 17 COCO joints.
    flip_test : the heatmaps average the flipped input's: ``True``/``False``, or how,
        one of :data:`~daec_viz.decoding.flip.FLIP_MODES` (``"none"``, ``"shift"``,
        ``"noshift"``).
    pipeline : training pipeline, one of :data:`~daec_viz.geometry.PIPELINES` or
        ``"unknown"`` (default).
    heatmap_kind : ``"probability"`` (default), ``"logit"``, ...
    simulated : heatmaps come from the simulator.
    provenance : free JSON-serialisable dict.
    dtype : stored heatmap dtype, ``"float32"`` (default) or ``"float16"``.
    compression : ``None``, ``"gzip"`` or ``"lzf"`` (HDF5); ``None`` or ``"gzip"`` (npz).
    overwrite : replace an existing file at ``path`` (default: refuse).
    """

    def __init__(self, path: str | Path, *, input_size: Sequence[int], sigma: float,
                 convention: str = "dark", model: str = "", keypoint_names:
                 Sequence[str] | None = None, flip_test: bool | str = False,
                 heatmap_kind: str = "probability", simulated: bool = False,
                 provenance: dict | None = None, dtype: str = "float32",
                 compression: str | None = None, overwrite: bool = False,
                 pipeline: str = "unknown") -> None:
        self.path = Path(path)
        if self.path.suffix not in (".h5", ".hdf5", ".npz"):
            raise InputError(f"expected a .h5, .hdf5 or .npz file name, got {self.path.name!r}",
                             field="path", path=self.path)
        if self.path.exists() and not overwrite:
            raise InputError("exists already; pass overwrite=True to replace it",
                             field="path", path=self.path)
        if dtype not in HEATMAP_DTYPES:
            raise InputError(f"expected one of {HEATMAP_DTYPES}, got {dtype!r}", field="dtype")
        allowed = (None, "gzip") if self.path.suffix == ".npz" else (None, "gzip", "lzf")
        if compression not in allowed:
            raise InputError(f"expected one of {allowed} for {self.path.suffix} caches, "
                             f"got {compression!r}", field="compression")
        names = tuple(COCO_KEYPOINT_NAMES if keypoint_names is None else keypoint_names)
        try:
            provenance_json = json.dumps(provenance or {}, sort_keys=True)
        except TypeError as exc:
            raise InputError(f"expected a JSON-serialisable dict ({exc})",
                             field="provenance") from exc
        try:
            sigma = float(sigma)
        except (TypeError, ValueError):
            raise InputError(f"expected a positive number (heatmap px), got {sigma!r}",
                             field="sigma") from None
        try:  # validates every attribute up front
            self._attrs: dict[str, Any] = {
                "format": FORMAT_NAME, "schema_version": SCHEMA_VERSION,
                "input_size": list(pair_of_ints(input_size, self.path, "input_size")),
                "heatmap_size": None, "sigma": sigma, "convention": convention,
                "keypoint_names": list(names),
                "flip_test": flip_test if isinstance(flip_test, bool) else flip_test != "none",
                "flip_mode": ("unknown" if flip_test else "none")
                if isinstance(flip_test, bool) else flip_test,
                "pipeline": pipeline,
                "model": str(model), "heatmap_kind": str(heatmap_kind),
                "simulated": bool(simulated), "provenance": provenance_json,
            }
            meta_from_attrs(dict(self._attrs, heatmap_size=[1, 1]), self.path)
        except DatasetError as exc:
            raise InputError(exc.message, field=exc.field) from None
        self.dtype = np.dtype(dtype)
        self.compression = compression
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.count = 0
        self._h5: h5py.File | None = None
        self._parts: list[dict[str, np.ndarray]] = []
        self._has_split: bool | None = None
        self._has_affine: bool | None = None
        self._khw: tuple[int, int, int] | None = None
        self._closed = False

    # -- context manager
    def __enter__(self) -> HeatmapWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- adding
    def add(self, heatmaps: np.ndarray, image_ids: Sequence[int] | np.ndarray,
            centers: np.ndarray | None = None, scales: np.ndarray | None = None,
            scores: np.ndarray | None = None, bboxes: np.ndarray | None = None,
            ann_ids: np.ndarray | None = None, splits: Sequence[str] | None = None,
            affines: np.ndarray | None = None) -> None:
        """Append n instances.

        Parameters
        ----------
        heatmaps : (n, K, H, W) float heatmaps (NaN/Inf are stored as they are).
        image_ids : (n,) COCO image ids.
        centers, scales : (n, 2) box centre (image px) and size / 200 px. May be omitted
            when ``affines`` is given (then derived from the affines).
        scores : (n,) detection scores; default 1.0 (ground-truth boxes).
        bboxes : (n, 4) x, y, w, h image px; default the crop box of center/scale.
        ann_ids : (n,) ids of the instances' own COCO annotations; default -1.
        splits : (n,) split names; give them for every batch or for none.
        affines : (n, 2, 3) heatmap px -> image px maps; every batch or none.
        """
        if self._closed:
            raise InputError("the writer is closed", field="add", path=self.path)
        hm = np.asarray(heatmaps)
        if hm.ndim != 4 or hm.dtype.kind not in "fiu":
            raise InputError(f"expected a numeric (n, K, H, W) array, got shape {hm.shape} "
                             f"dtype {hm.dtype}", field="heatmaps")
        n, k, h, w = hm.shape
        if self._khw is None:
            if k != len(self._attrs["keypoint_names"]):
                raise InputError(f"has K = {k} channels but keypoint_names lists "
                                 f"{len(self._attrs['keypoint_names'])} joints",
                                 field="heatmaps")
            self._khw = (k, h, w)
            self._attrs["heatmap_size"] = [w, h]
        elif (k, h, w) != self._khw:
            raise InputError(f"expected (n, {', '.join(map(str, self._khw))}) like the first "
                             f"batch, got {hm.shape}", field="heatmaps")
        with np.errstate(over="ignore", invalid="ignore"):
            stored = hm.astype(self.dtype, copy=False)
        if self.dtype == np.float16 and hm.dtype != np.float16:
            overflow = np.isinf(stored) & np.isfinite(hm)
            if overflow.any():
                raise InputError("values beyond the float16 range (65504); write with "
                                 "dtype='float32'", field="heatmaps")

        def arr(value: Any, name: str, trailing: tuple[int, ...], dtype: Any) -> np.ndarray:
            try:
                a = np.asarray(value, dtype=dtype)
            except (TypeError, ValueError) as exc:
                raise InputError(f"expected numbers ({exc})", field=name) from exc
            if a.shape != (n,) + trailing:
                raise InputError(f"expected shape {(n,) + trailing} (one row per heatmap), "
                                 f"got {a.shape}", field=name)
            return a

        affine = None
        if affines is not None:
            affine = arr(affines, "affines", (2, 3), np.float64)
        elif centers is None or scales is None:
            raise InputError("give centers and scales (or affines)", field="centers")
        if (affine is not None) != bool(self._has_affine) and self._has_affine is not None:
            raise InputError("give affines for every batch or for none", field="affines")
        self._has_affine = affine is not None
        if centers is None or scales is None:
            lin = np.abs(affine[:, [0, 1], [0, 1]])  # (n, 2) gain image px per heatmap px
            mid = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
            centers = affine[:, :, :2] @ mid + affine[:, :, 2]
            scales = lin * np.array([w, h]) / 200.0
        center = arr(centers, "centers", (2,), np.float64)
        scale = arr(scales, "scales", (2,), np.float64)
        bbox = (center_scale_to_box(center, scale) if bboxes is None
                else arr(bboxes, "bboxes", (4,), np.float64))
        score = np.ones(n) if scores is None else arr(scores, "scores", (), np.float64)
        image_id = arr(image_ids, "image_ids", (), np.float64)
        ann_id = np.full(n, -1.0) if ann_ids is None else arr(ann_ids, "ann_ids", (),
                                                               np.float64)
        for name, a in (("image_ids", image_id), ("ann_ids", ann_id)):
            if not np.all(a == np.round(a)):
                raise InputError("expected integers", field=name)
        for name, a in (("centers", center), ("scales", scale), ("bboxes", bbox),
                        ("scores", score)):
            if not np.all(np.isfinite(a)):
                raise InputError("expected finite numbers", field=name)
        if affine is None and np.any(scale <= 0):
            raise InputError("expected positive box scales", field="scales")
        if (splits is not None) != bool(self._has_split) and self._has_split is not None:
            raise InputError("give splits for every batch or for none", field="splits")
        self._has_split = splits is not None
        part: dict[str, np.ndarray] = {
            "heatmaps": stored, "image_id": image_id.astype(np.int64),
            "ann_id": ann_id.astype(np.int64), "center": center, "scale": scale,
            "bbox": bbox, "score": score,
        }
        if splits is not None:
            split = np.asarray(splits)
            if split.dtype.kind == "O" and all(isinstance(s, str) for s in split.tolist()):
                split = split.astype(str)
            if split.shape != (n,) or split.dtype.kind != "U" or not all(split.tolist()):
                raise InputError(f"expected {n} non-empty strings, got {split.shape} "
                                 f"{split.dtype}",
                                 field="splits")
            part["split"] = split.astype(str)
        if affine is not None:
            part["affine"] = affine
        if self.path.suffix == ".npz":
            self._parts.append(part)
        else:
            self._append_h5(part)
        self.count += n

    def _append_h5(self, part: dict[str, np.ndarray]) -> None:
        n = len(part["image_id"])
        if self._h5 is None:
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            f = h5py.File(self.partial, "w")
            self._h5 = f
            k, h, w = self._khw
            opts: dict[str, Any] = {}
            if self.compression is not None:
                opts = {"compression": self.compression, "shuffle": True}
            f.create_dataset("heatmaps", shape=(0, k, h, w), maxshape=(None, k, h, w),
                             dtype=self.dtype, chunks=(1, k, h, w), **opts)
            for name, a in part.items():
                if name == "heatmaps":
                    continue
                trailing = a.shape[1:]
                dt = h5py.string_dtype("utf-8") if name == "split" else a.dtype
                f.create_dataset(name, shape=(0,) + trailing, maxshape=(None,) + trailing,
                                 dtype=dt, chunks=(4096,) + trailing)
        f = self._h5
        for name, a in part.items():
            dset = f[name]
            dset.resize(self.count + n, axis=0)
            dset[self.count:self.count + n] = a.astype(object) if name == "split" else a

    # -- finishing
    def close(self) -> Path:
        """Finish the file and move it into place; returns the cache path."""
        if self._closed:
            return self.path
        if self.count == 0:
            self.abort()
            raise InputError("no instances were added; a cache needs at least one",
                             field="heatmaps", path=self.path)
        attrs = self._attrs
        try:
            if self.path.suffix == ".npz":
                data = {name: np.concatenate([p[name] for p in self._parts])
                        for name in self._parts[0]}
                data["attrs"] = np.array(json.dumps(attrs, sort_keys=True))
                self.partial.parent.mkdir(parents=True, exist_ok=True)
                saver = np.savez_compressed if self.compression else np.savez
                with open(self.partial, "wb") as fh:
                    saver(fh, **data)
                self._parts = []
            else:
                f = self._h5
                for key, value in attrs.items():
                    if key == "keypoint_names":
                        f.attrs.create(key, value, dtype=h5py.string_dtype("utf-8"))
                    elif key in ("input_size", "heatmap_size"):
                        f.attrs[key] = np.asarray(value, dtype=np.int64)
                    else:
                        f.attrs[key] = value
                f.close()
                self._h5 = None
            os.replace(self.partial, self.path)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Discard everything written so far."""
        if self._h5 is not None:
            try:
                self._h5.close()
            finally:
                self._h5 = None
        self._parts = []
        self.partial.unlink(missing_ok=True)
        self._closed = True
