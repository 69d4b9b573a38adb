"""Dataset folders: COCO keypoint annotations + a heatmap cache (+ optional images).

A dataset folder holds

- ``annotations.json``: COCO keypoints annotations (the official format, read with
  pycocotools). One category carries ``keypoints`` (and ``skeleton``, 1-based); its OKS
  sigmas are COCO's for the 17 COCO joints, otherwise the category's ``sigmas`` field
  (K numbers).
- ``heatmaps.h5`` or ``heatmaps.npz``: the heatmap cache (schema: :mod:`daec_viz.io.schema`).
- ``images/`` (optional): the images, by the ``file_name`` of the annotations. Only
  overlays need them.

:func:`load_dataset` validates all of it and opens every file read-only; nothing is ever
written into the folder. Heatmaps stay on disk and are read in slices.

Examples
--------
>>> ds = load_dataset("data/demo")                                  # doctest: +SKIP
>>> for rows, hm in ds.iter_slices(batch=256):                      # doctest: +SKIP
...     coords_img = ds.to_image(decode(hm, "daec").coords, rows)
>>> test = ds.subset("test"); test.image_ids[:3]                    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pycocotools.coco import COCO

from daec_viz.exceptions import DatasetError, InputError
from daec_viz.geometry import apply_affine, heatmap_to_image_affine
from daec_viz.io.annotations import (
    load_annotations,
    make_coco,
    oks_sigmas_of,
    skeleton_of,
)
from daec_viz.io.coco_format import (
    flip_pairs_from_names,
)
from daec_viz.io.reader import HeatmapCache, LazyHeatmaps, open_cache
from daec_viz.io.schema import CacheMeta

ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"
CACHE_FILES: tuple[str, ...] = ("heatmaps.h5", "heatmaps.npz")
INSTANCE_COLUMNS: tuple[str, ...] = ("image_id", "ann_id", "center_x", "center_y", "scale_x",
                                     "scale_y", "bbox_x", "bbox_y", "bbox_w", "bbox_h",
                                     "score", "split", "cache_row")


# --------------------------------------------------------------------------- dataset

class _Base:
    """State shared by a dataset and all its subset views."""

    def __init__(self, folder: Path, cache: HeatmapCache, coco: COCO, category: dict,
                 ann_path: Path, oks_sigmas: np.ndarray, skeleton: list[tuple[int, int]],
                 table: pd.DataFrame, warnings: list[str], images_dir: Path | None,
                 present_files: set[str] | None) -> None:
        self.folder = folder
        self.cache = cache
        self.coco = coco
        self.category = category
        self.ann_path = ann_path
        self.oks_sigmas = oks_sigmas
        self.skeleton = skeleton
        self.table = table
        self.warnings = warnings
        self.images_dir = images_dir
        self.present_files = present_files

    @cached_property
    def gt_lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """GT keypoints without an (N, K, 3) table: ``(table, index)`` with ``table``
        (U, K, 3) float64 holding the keypoints of the U distinct ``ann_id`` values (a NaN
        entry for -1) and ``index`` (N,) the entry of each cache row. 100k detector rows
        cost 0.8 MB here instead of 41 MB."""
        k = len(self.category["keypoints"])
        uniq, index = np.unique(self.table["ann_id"].to_numpy(), return_inverse=True)
        table = np.full((uniq.size, k, 3), np.nan)
        have = uniq != -1
        if have.any():
            anns = self.coco.anns
            table[have] = np.array([anns[int(a)]["keypoints"] for a in uniq[have]],
                                   dtype=np.float64).reshape(-1, k, 3)
        table.setflags(write=False)
        return table, index.reshape(-1)


class Dataset:
    """A dataset folder (or a view of some of its instances): see :func:`load_dataset`.

    Rows are this view's instance indices 0..n-1 (``instances["cache_row"]`` gives the row
    in the cache file). Heatmap coordinates are heatmap px, (x, y); image coordinates
    image px.

    Attributes
    ----------
    path : the dataset folder.
    meta : :class:`~daec_viz.io.schema.CacheMeta` of the cache.
    heatmaps : lazy (n, K, H, W); ``ds.heatmaps[i:j]`` reads only those rows, in the
        stored dtype.
    instances : DataFrame, one row per instance: image_id, ann_id, center_x, center_y,
        scale_x, scale_y (units of 200 px), bbox_x, bbox_y, bbox_w, bbox_h (image px), score,
        split, cache_row.
    warnings : messages about what degrades (missing images); empty when all is there.
    """

    def __init__(self, base: _Base, rows: np.ndarray | None = None) -> None:
        self._base = base
        self._rows = rows
        self.heatmaps: LazyHeatmaps = (base.cache.heatmaps if rows is None
                                       else base.cache.heatmaps.view(rows))
        table = base.table if rows is None else base.table.iloc[rows]
        self.instances: pd.DataFrame = table.reset_index(drop=True).rename_axis("row")

    # -- basic facts
    @property
    def path(self) -> Path:
        """The dataset folder."""
        return self._base.folder

    @property
    def cache_path(self) -> Path:
        """The heatmap cache file."""
        return self._base.cache.path

    @property
    def annotations_path(self) -> Path:
        """The ``annotations.json`` file."""
        return self._base.ann_path

    @property
    def meta(self) -> CacheMeta:
        return self._base.cache.meta

    @property
    def warnings(self) -> list[str]:
        return list(self._base.warnings)

    def __len__(self) -> int:
        return len(self.instances)

    @property
    def num_instances(self) -> int:
        return len(self.instances)

    @property
    def num_keypoints(self) -> int:
        return len(self.meta.keypoint_names)

    @property
    def keypoint_names(self) -> tuple[str, ...]:
        return self.meta.keypoint_names

    @property
    def oks_sigmas(self) -> np.ndarray:
        """(K,) OKS sigmas of the keypoint category."""
        return self._base.oks_sigmas.copy()

    @property
    def skeleton(self) -> list[tuple[int, int]]:
        """Limbs as 0-based joint index pairs."""
        return list(self._base.skeleton)

    @property
    def flip_pairs(self) -> list[tuple[int, int]]:
        """(left, right) 0-based joint index pairs, from the keypoint names."""
        return flip_pairs_from_names(self.keypoint_names)

    @property
    def category_id(self) -> int:
        """COCO category id of the keypoint category (for result files)."""
        return int(self._base.category["id"])

    @property
    def splits(self) -> list[str]:
        """Split names present, in order of first appearance (``["all"]`` without splits)."""
        return [str(s) for s in pd.unique(self.instances["split"])]

    @property
    def image_ids(self) -> list[int]:
        """Sorted unique image ids of this view's instances (pass as ``imgIds``)."""
        return [int(i) for i in np.unique(self.instances["image_id"].to_numpy())]

    @cached_property
    def coco(self) -> COCO:
        """pycocotools COCO: the whole ``annotations.json`` for the full dataset; for a
        subset, restricted to the images of its instances (all their annotations)."""
        if self._rows is None:
            return self._base.coco
        keep = set(self.image_ids)
        full = self._base.coco.dataset
        data = {key: value for key, value in full.items()
                if key not in ("images", "annotations")}
        data["images"] = [im for im in full["images"] if im["id"] in keep]
        data["annotations"] = [a for a in full["annotations"] if a["image_id"] in keep]
        return make_coco(data)

    @cached_property
    def content_hash(self) -> str:
        """sha1 hex of the cache's and annotations' size + mtime, the cache attributes and
        (for a subset) its rows: a cheap key for results computed from this dataset."""
        h = hashlib.sha1()
        for p in (self.cache_path, self.annotations_path):
            st = os.stat(p)
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
        h.update(json.dumps(self._base.cache.attrs, sort_keys=True, default=str).encode())
        if self._rows is not None:
            h.update(b"rows:" + np.ascontiguousarray(self._rows, dtype=np.int64).tobytes())
        return h.hexdigest()

    # -- rows
    def _view_rows(self, rows: Any) -> np.ndarray:
        """Normalise ``rows`` (None, slice, ints, bool mask) to view row indices."""
        n = len(self)
        if rows is None:
            return np.arange(n)
        if isinstance(rows, slice):
            return np.arange(n)[rows]
        r = np.asarray(rows)
        if r.size == 0:
            return np.empty(0, dtype=np.int64)
        if r.dtype == bool:
            if r.shape != (n,):
                raise InputError(f"boolean mask of shape {r.shape}, expected ({n},)",
                                 field="rows")
            return np.flatnonzero(r)
        if r.dtype.kind not in "iu":
            raise InputError(f"expected integer row indices, got dtype {r.dtype}", field="rows")
        r = r.reshape(-1).astype(np.int64)
        if r.size and (r.min() < 0 or r.max() >= n):
            raise InputError(f"row indices must lie in [0, {n}), got {r.min()}..{r.max()}",
                             field="rows")
        return r

    def _cache_rows(self, rows: np.ndarray) -> np.ndarray:
        return rows if self._rows is None else self._rows[rows]

    def subset(self, split_or_rows: str | Sequence[str] | Sequence[int] | np.ndarray) -> Dataset:
        """A view restricted to some instances.

        Parameters
        ----------
        split_or_rows : a split name (``"train"``; ``"all"`` is every row), a list of split
            names, integer row indices of this view (no duplicates, order kept) or a
            boolean mask (n,).

        Returns
        -------
        Dataset sharing this one's files; its rows are renumbered 0..m-1, its ``coco``
        holds only the images of those instances, ``image_ids`` lists them.
        """
        sel = split_or_rows
        if isinstance(sel, str):
            sel = [sel]
        arr = np.asarray(sel)
        flat = arr.reshape(-1).tolist()
        if arr.size and arr.dtype.kind in "UO" and all(isinstance(s, str) for s in flat):
            names = [str(s) for s in flat]
            present = self.splits
            if "all" in names and "all" not in present:
                return Dataset(self._base, self._rows)
            unknown = [s for s in names if s not in present]
            if unknown:
                raise InputError(f"unknown split(s) {unknown}; this dataset has {present}",
                                 field="split", path=self.path)
            rows = np.flatnonzero(self.instances["split"].isin(names).to_numpy())
        else:
            rows = self._view_rows(sel)
            if np.unique(rows).size != rows.size:
                raise InputError("row indices must not repeat", field="rows")
        return Dataset(self._base, self._cache_rows(rows))

    # -- heatmaps
    def iter_slices(self, batch: int = 512, rows: Any = None
                    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stream the heatmaps in slices of at most ``batch`` instances.

        Yields ``(rows, heatmaps)``: view row indices (n,) int64 and their heatmaps
        (n, K, H, W) in the stored dtype. Contiguous rows are read as one slice; other
        rows are sorted into contiguous runs. Memory stays at one slice.
        """
        if batch < 1:
            raise InputError(f"expected a positive batch size, got {batch}", field="batch")
        view_rows = self._view_rows(rows)
        for start in range(0, view_rows.size, batch):
            r = view_rows[start:start + batch]
            yield r, self.heatmaps.read_rows(r)

    # -- geometry
    def affines(self, rows: Any = None) -> np.ndarray:
        """(n, 2, 3) heatmap px -> image px affine maps of the rows (default all)."""
        cache_rows = self._cache_rows(self._view_rows(rows))
        arrays = self._base.cache.arrays
        if "affine" in arrays:
            return arrays["affine"][cache_rows].copy()
        return heatmap_to_image_affine(arrays["center"][cache_rows],
                                       arrays["scale"][cache_rows], self.meta.heatmap_size,
                                       self.meta.convention)

    def to_image(self, coords_hm: np.ndarray, rows: Any = None) -> np.ndarray:
        """Heatmap coordinates (n, K, 2) of ``rows`` (default all) -> image px (n, K, 2)."""
        aff = self.affines(rows)
        coords_hm = np.asarray(coords_hm, dtype=np.float64)
        if coords_hm.ndim != 3 or coords_hm.shape[0] != len(aff) or coords_hm.shape[2] != 2:
            raise InputError(f"expected shape ({len(aff)}, K, 2) for {len(aff)} rows, got "
                             f"{coords_hm.shape}", field="coords_hm")
        return apply_affine(coords_hm, aff)

    def gt_keypoints(self, rows: Any = None) -> np.ndarray:
        """(n, K, 3) ground truth of each instance's own annotation: x, y image px and the
        COCO visibility v (0 unlabelled, 1 occluded, 2 visible); NaN rows where
        ``ann_id == -1`` (detected boxes)."""
        table, index = self._base.gt_lookup
        return table[index[self._cache_rows(self._view_rows(rows))]]

    # -- images
    def image_path(self, image_id: int) -> Path | None:
        """Path of the image file, or None when ``images/`` or the file is missing."""
        base = self._base
        if base.images_dir is None:
            return None
        img = base.coco.imgs.get(int(image_id))
        if img is None or "file_name" not in img:
            return None
        name = str(img["file_name"])
        if base.present_files is not None and name not in base.present_files:
            return None
        p = base.images_dir / name
        return p if p.is_file() else None

    def image(self, image_id: int) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB of the image (:func:`read_image`), or None when there is no
        file for it (no ``images/`` folder or no such file: overlays are off). A file that
        is there but cannot be read raises :class:`~daec_viz.exceptions.DatasetError`."""
        path = self.image_path(image_id)
        return None if path is None else read_image(path)

    # -- summary
    def summary(self) -> dict[str, Any]:
        """JSON-serialisable facts about the dataset (what ``daec-viz info`` prints)."""
        m = self.meta
        cache = self._base.cache
        split_counts = self.instances["split"].value_counts(sort=False)
        return {
            "path": str(self.path),
            "cache": {"file": cache.path.name, "format": cache.format,
                      "dtype": str(self.heatmaps.dtype), "compression": cache.compression,
                      "schema_version": m.schema_version, "size_bytes":
                          cache.path.stat().st_size},
            "num_instances": len(self),
            "num_images": len(self.image_ids),
            "annotations": {"file": self.annotations_path.name,
                            "images": len(self.coco.dataset["images"]),
                            "annotations": len(self.coco.dataset["annotations"])},
            "num_keypoints": self.num_keypoints,
            "keypoint_names": list(m.keypoint_names),
            "heatmap_size": list(m.heatmap_size),
            "input_size": list(m.input_size),
            "sigma": m.sigma,
            "convention": m.convention,
            "has_affines": "affine" in cache.arrays,
            "heatmap_kind": m.heatmap_kind,
            "model": m.model,
            "flip_test": m.flip_test,
            "flip_mode": m.flip_mode,
            "pipeline": m.pipeline,
            "simulated": m.simulated,
            "splits": {str(k): int(v) for k, v in split_counts.items()},
            "gt_boxes": int((self.instances["ann_id"] != -1).sum()),
            "images_dir": None if self._base.images_dir is None else str(self._base.images_dir),
            "provenance": m.provenance,
            "content_hash": self.content_hash,
            "warnings": self.warnings,
        }

    def close(self) -> None:
        """Close the cache file (all views of this dataset share it)."""
        self._base.cache.close()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Dataset({str(self.path)!r}, n={len(self)}, K={self.num_keypoints}, "
                f"heatmaps={self.heatmaps.shape[2:]}, model={self.meta.model!r})")


#: Largest image read (pixels); checked from the header, before decoding.
MAX_IMAGE_PIXELS = 1 << 26  # 8192 x 8192, below Pillow's own bomb warning


def read_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file (any format Pillow reads; x right, y down).

    The one image reader of dataset images. A file that cannot be opened (permission
    denied, a symlink into an unreadable folder), is not an image, is truncated, or
    holds more than :data:`MAX_IMAGE_PIXELS` pixels raises
    :class:`~daec_viz.exceptions.DatasetError` naming the file.
    """
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise DatasetError(f"is {w} x {h} px; expected an image of at most "
                                   f"{MAX_IMAGE_PIXELS} pixels", field="images", path=path)
            return np.asarray(im.convert("RGB"))
    except DatasetError:
        raise
    except Image.DecompressionBombError as exc:
        raise DatasetError(f"expected an image of at most {MAX_IMAGE_PIXELS} pixels ({exc})",
                           field="images", path=path) from None
    except FileNotFoundError:
        raise DatasetError("image not found", field="images", path=path) from None
    except Image.UnidentifiedImageError:
        raise DatasetError("not an image Pillow can read; expected a JPEG/PNG/... file",
                           field="images", path=path) from None
    except (OSError, ValueError, SyntaxError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise DatasetError(f"cannot read the image ({why}); expected a complete "
                           f"JPEG/PNG/... file", field="images", path=path) from None


def _find_cache(folder: Path) -> Path:
    found = [folder / name for name in CACHE_FILES if (folder / name).is_file()]
    if not found:
        raise DatasetError(f"no heatmap cache; expected {' or '.join(CACHE_FILES)}",
                           field="heatmaps", path=folder)
    if len(found) > 1:
        raise DatasetError(f"both {CACHE_FILES[0]} and {CACHE_FILES[1]} exist; keep one or "
                           f"pass cache=...", field="heatmaps", path=folder)
    return found[0]


def _instance_table(cache: HeatmapCache) -> pd.DataFrame:
    a = cache.arrays
    n = len(cache)
    split = a["split"] if "split" in a else np.full(n, "all")
    return pd.DataFrame({
        "image_id": a["image_id"], "ann_id": a["ann_id"],
        "center_x": a["center"][:, 0], "center_y": a["center"][:, 1],
        "scale_x": a["scale"][:, 0], "scale_y": a["scale"][:, 1],
        "bbox_x": a["bbox"][:, 0], "bbox_y": a["bbox"][:, 1],
        "bbox_w": a["bbox"][:, 2], "bbox_h": a["bbox"][:, 3],
        "score": a["score"], "split": pd.Series(split, dtype=object),
        "cache_row": np.arange(n, dtype=np.int64),
    }, columns=list(INSTANCE_COLUMNS))


def _check_against_annotations(cache: HeatmapCache, coco: COCO, cat: dict,
                               ann_path: Path) -> None:
    meta = cache.meta
    names = list(cat["keypoints"])
    if list(meta.keypoint_names) != names:
        raise DatasetError(f"the cache's keypoint_names {list(meta.keypoint_names)} differ "
                           f"from the annotations' {names} ({ann_path.name}, category "
                           f"`keypoints`)", field="keypoint_names", path=cache.path)
    img_ids = cache.arrays["image_id"]
    known = np.fromiter(coco.imgs.keys(), dtype=np.int64, count=len(coco.imgs))
    missing = np.flatnonzero(~np.isin(img_ids, known))
    if missing.size:
        ids = np.unique(img_ids[missing])
        raise DatasetError(f"{ids.size} image id(s) are not in {ann_path} (`images`), e.g. "
                           f"{ids[:5].tolist()} (row {int(missing[0])})", field="image_id",
                           path=cache.path)
    ann_ids = cache.arrays["ann_id"]
    rows = np.flatnonzero(ann_ids != -1)
    if rows.size:
        anns = coco.anns
        uniq = np.unique(ann_ids[rows])
        unknown = [int(a) for a in uniq if int(a) not in anns]
        if unknown:
            raise DatasetError(f"{len(unknown)} annotation id(s) are not in {ann_path} "
                               f"(`annotations`), e.g. {unknown[:5]}; use -1 for detected "
                               f"boxes", field="ann_id", path=cache.path)
        other_cat = [int(a) for a in uniq if anns[int(a)]["category_id"] != cat["id"]]
        if other_cat:
            raise DatasetError(f"{len(other_cat)} annotation id(s) are not of the keypoint "
                               f"category {cat['id']} in {ann_path}, e.g. {other_cat[:5]}",
                               field="ann_id", path=cache.path)
        ann_img = np.array([anns[int(a)]["image_id"] for a in uniq], dtype=np.int64)
        expect = ann_img[np.searchsorted(uniq, ann_ids[rows])]  # (n,) image of each row
        bad = np.flatnonzero(expect != img_ids[rows])
        if bad.size:
            i, r = int(bad[0]), int(rows[bad[0]])
            raise DatasetError(f"row {r}: annotation {int(ann_ids[r])} belongs to image "
                               f"{int(expect[i])} in {ann_path}, but the row's image_id "
                               f"is {int(img_ids[r])}", field="ann_id", path=cache.path)


def load_dataset(folder: str | Path, *, cache: str | Path | None = None) -> Dataset:
    """Open and validate a dataset folder, read-only.

    Parameters
    ----------
    folder : folder with ``annotations.json``, ``heatmaps.h5`` or ``heatmaps.npz``, and
        optionally ``images/``.
    cache : a cache file to use instead of the folder's (e.g. a second model's).

    Returns
    -------
    :class:`Dataset`. Raises :class:`~daec_viz.exceptions.DatasetError` naming the file,
    the field and what was expected when anything is malformed or inconsistent. Missing
    images only degrade overlays: ``image_path`` returns None and ``warnings`` says so.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError("dataset folder not found" if not folder.exists() else
                           "is a file; expected a dataset folder (annotations.json + "
                           "heatmaps.h5 or heatmaps.npz)", path=folder)
    ann_path = folder / ANNOTATIONS_FILE
    coco, cat = load_annotations(ann_path)
    cache_path = Path(cache) if cache is not None else _find_cache(folder)
    hc = open_cache(cache_path)
    try:
        _check_against_annotations(hc, coco, cat, ann_path)
        sigmas = oks_sigmas_of(cat, ann_path)
        skeleton = skeleton_of(cat, ann_path)
        warnings: list[str] = []
        images_dir: Path | None = folder / IMAGES_DIR
        present: set[str] | None = None
        needed = {str(coco.imgs[int(i)].get("file_name", ""))
                  for i in np.unique(hc.arrays["image_id"])}
        if not images_dir.is_dir():
            images_dir = None
            warnings.append(f"{folder / IMAGES_DIR}: not found; image overlays are off "
                            f"(everything else works)")
        else:
            present = set()
            for root, _dirs, files in os.walk(images_dir):
                rel = os.path.relpath(root, images_dir)
                prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
                present.update(prefix + f for f in files)
            missing = sorted(needed - present)
            if missing:
                warnings.append(f"{images_dir}: {len(missing)} of {len(needed)} image files "
                                f"missing (e.g. {missing[0]}); their overlays are off")
        base = _Base(folder, hc, coco, cat, ann_path, sigmas, skeleton, _instance_table(hc),
                     warnings, images_dir, present)
    except BaseException:
        hc.close()
        raise
    return Dataset(base)
