"""Heatmap caches: the on-disk schema, a writer, and a validating lazy reader.

A cache holds the heatmaps a network produced for N person instances plus, per
instance, the box that placed its input crop. It is ``heatmaps.h5`` (HDF5, any size) or
``heatmaps.npz`` (small caches) inside a dataset folder next to ``annotations.json``.

Schema, version 1
-----------------
Arrays (N = number of instances, K = keypoints, H x W = heatmap height x width):

=============  ===============  ==========  ===============================================
name           shape            dtype       meaning
=============  ===============  ==========  ===============================================
``heatmaps``   (N, K, H, W)     float16 or  the network output, row y, column x, heatmap px
                                float32
``image_id``   (N,)             integer     COCO image id of the instance (must exist in
                                            ``annotations.json``)
``ann_id``     (N,)             integer     id of the instance's own COCO annotation (its
                                            ground truth), -1 for detected boxes
``center``     (N, 2)           float       box centre x, y in image px
``scale``      (N, 2)           float       box width, height in units of 200 image px
                                            (the HRNet convention)
``bbox``       (N, 4)           float       box x, y, w, h in image px (the person box)
``score``      (N,)             float       detection score (1 for ground-truth boxes)
``split``      (N,)             string      optional: split of each instance ("train",
                                            "test", ...); absent means one split "all"
``affine``     (N, 2, 3)        float       optional: heatmap px -> image px affine maps;
                                            when present they replace center/scale and
                                            ``convention`` for the mapping to image px
=============  ===============  ==========  ===============================================

Attributes (HDF5: attributes of the root group; npz: the key ``attrs``, a 0-d unicode
array holding a JSON object with the same fields):

==================  ===========  ==========================================================
name                type         meaning
==================  ===========  ==========================================================
``format``          str          always ``"daec-viz heatmap cache"``
``schema_version``  int          ``1``
``input_size``      [int, int]   network input width, height (px), e.g. [192, 256]
``heatmap_size``    [int, int]   heatmap width, height (px) = (W, H) of ``heatmaps``
``sigma``           float        Gaussian sigma of the training targets, heatmap px
``convention``      str          heatmap -> image mapping: ``dark``, ``hrnet`` or ``udp``
                                 (see :mod:`daec_viz.geometry`)
``keypoint_names``  [str] * K    joint names, in heatmap channel order (HDF5: a string
                                 array)
``flip_test``       bool         heatmaps are the average with the flipped input's
``model``           str          name of the network
``heatmap_kind``    str          what the values are: ``probability`` (Gaussian-target
                                 maps, peak about 1), ``logit``, ...
``simulated``       bool         heatmaps come from the simulator, not a real network
``provenance``      str (JSON)   free JSON object: weights, commit, command line, ...
==================  ===========  ==========================================================

HDF5 layout: each array is a dataset of the root group; ``heatmaps`` is chunked one
instance per chunk, (1, K, H, W), optionally gzip- or lzf-compressed (with shuffle);
``split`` is a variable-length UTF-8 string dataset. npz layout: one ``.npy`` member per
array (unicode ``<U`` for ``split``), never object arrays; stored uncompressed it is
memory-mapped, so slices are read lazily too. Readers reject missing or unknown arrays
and attributes, other shapes or dtypes, and arrays of different N.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "heatmaps.h5"
>>> with HeatmapWriter(path, input_size=(192, 256), sigma=2.0, model="demo") as w:
...     w.add(np.zeros((3, 17, 64, 48), np.float32), image_ids=[1, 1, 2],
...           centers=np.full((3, 2), 100.0), scales=np.ones((3, 2)))
>>> cache = open_cache(path)
>>> cache.heatmaps.shape, str(cache.heatmaps[1:3].dtype), cache.meta.heatmap_size
((3, 17, 64, 48), 'float32', (48, 64))
>>> cache.close()
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from daec_viz.exceptions import DatasetError, InputError
from daec_viz.geometry import CONVENTIONS, center_scale_to_box
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES

SCHEMA_VERSION = 1
FORMAT_NAME = "daec-viz heatmap cache"
HEATMAP_DTYPES: tuple[str, ...] = ("float16", "float32")

REQUIRED_ARRAYS: tuple[str, ...] = ("heatmaps", "image_id", "ann_id", "center", "scale",
                                    "bbox", "score")
OPTIONAL_ARRAYS: tuple[str, ...] = ("split", "affine")
ATTRIBUTES: tuple[str, ...] = ("format", "schema_version", "input_size", "heatmap_size",
                               "sigma", "convention", "keypoint_names", "flip_test",
                               "model", "heatmap_kind", "simulated", "provenance")
# trailing shape of each per-instance array (after N)
_TRAILING: dict[str, tuple[int, ...]] = {"image_id": (), "ann_id": (), "center": (2,),
                                         "scale": (2,), "bbox": (4,), "score": (),
                                         "split": (), "affine": (2, 3)}
_INT_ARRAYS = ("image_id", "ann_id")
_FLOAT_ARRAYS = ("center", "scale", "bbox", "score", "affine")

# HDF5 chunk cache of the reader's ``heatmaps`` dataset (one instance per chunk).
# Compressed: 32 MB keeps a few hundred inflated chunks (17 x 64 x 48 float16 = 104 kB),
# so re-reading an instance (the app going back to a person) skips the inflate (measured
# 540 -> 40 us per instance); prime slot count, w0 = 1: chunks read completely go first.
# Uncompressed: no chunk cache (0 bytes), so HDF5 reads each chunk straight into the
# output array instead of through the cache (one memcpy less: 12.4 -> 10.1 us per float16
# instance into a reused buffer; within noise when each slice is a fresh array); re-reads
# hit the OS page cache either way. Readers only ever read whole chunks (instances).
H5_CHUNK_CACHE_BYTES = 32 * 1024 * 1024
H5_CHUNK_CACHE_SLOTS = 10007
H5_CHUNK_CACHE_W0 = 1.0


@dataclass(frozen=True)
class CacheMeta:
    """Attributes of a heatmap cache (see the module docstring for the schema).

    Sizes are (width, height) in px; ``sigma`` is in heatmap px.
    """

    input_size: tuple[int, int]
    heatmap_size: tuple[int, int]
    sigma: float
    convention: str
    keypoint_names: tuple[str, ...]
    flip_test: bool
    model: str
    heatmap_kind: str
    simulated: bool
    provenance: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_attrs(self) -> dict[str, Any]:
        """The attributes as JSON-compatible Python values (the npz ``attrs`` object)."""
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["heatmap_size"] = list(self.heatmap_size)
        d["keypoint_names"] = list(self.keypoint_names)
        d["provenance"] = json.dumps(self.provenance, sort_keys=True)
        d["format"] = FORMAT_NAME
        return {k: d[k] for k in ATTRIBUTES}


# --------------------------------------------------------------------------- validation

def _fail(path: Path | str, field_: str | None, message: str) -> DatasetError:
    return DatasetError(message, field=field_, path=path)


def _pair_of_ints(value: Any, path: Path, name: str) -> tuple[int, int]:
    try:
        arr = np.asarray(value)
        ok = arr.shape == (2,) and arr.dtype.kind in "iuf" and np.all(arr == np.round(arr)) \
            and np.all(arr >= 1)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise _fail(path, name, f"expected [width, height], two positive integers, "
                                f"got {value!r}")
    return int(arr[0]), int(arr[1])


def _meta_from_attrs(attrs: dict[str, Any], path: Path) -> CacheMeta:
    """Validate raw attributes (already plain Python values) into a :class:`CacheMeta`."""
    missing = [k for k in ATTRIBUTES if k not in attrs]
    if missing:
        raise _fail(path, missing[0], f"missing attribute(s) {missing}; a version-"
                                      f"{SCHEMA_VERSION} cache has {list(ATTRIBUTES)}")
    extra = sorted(set(attrs) - set(ATTRIBUTES))
    if extra:
        raise _fail(path, extra[0], f"unknown attribute(s) {extra}; expected only "
                                    f"{list(ATTRIBUTES)} (put free information in "
                                    f"`provenance`)")
    if attrs["format"] != FORMAT_NAME:
        raise _fail(path, "format", f"expected {FORMAT_NAME!r}, got {attrs['format']!r}")
    version = attrs["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version != SCHEMA_VERSION:
        hint = " (written by a newer daec-viz?)" if isinstance(version, int) and \
            version > SCHEMA_VERSION else ""
        raise _fail(path, "schema_version", f"expected {SCHEMA_VERSION}, got {version!r}{hint}")
    input_size = _pair_of_ints(attrs["input_size"], path, "input_size")
    heatmap_size = _pair_of_ints(attrs["heatmap_size"], path, "heatmap_size")
    sigma = attrs["sigma"]
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) \
            or not math.isfinite(sigma) or sigma <= 0:
        raise _fail(path, "sigma", f"expected a positive number (heatmap px), got {sigma!r}")
    if attrs["convention"] not in CONVENTIONS:
        raise _fail(path, "convention", f"expected one of {list(CONVENTIONS)}, "
                                        f"got {attrs['convention']!r}")
    names = attrs["keypoint_names"]
    if not isinstance(names, list) or not names or \
            not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise _fail(path, "keypoint_names", f"expected a list of K unique non-empty strings, "
                                            f"got {names!r}")
    for key in ("flip_test", "simulated"):
        if not isinstance(attrs[key], bool):
            raise _fail(path, key, f"expected true or false, got {attrs[key]!r}")
    for key in ("model", "heatmap_kind"):
        if not isinstance(attrs[key], str):
            raise _fail(path, key, f"expected a string, got {attrs[key]!r}")
    prov = attrs["provenance"]
    try:
        prov = json.loads(prov) if isinstance(prov, str) else None
    except json.JSONDecodeError:
        prov = None
    if not isinstance(prov, dict):
        raise _fail(path, "provenance", f"expected a JSON object in a string, "
                                        f"got {attrs['provenance']!r}")
    return CacheMeta(input_size=input_size, heatmap_size=heatmap_size, sigma=float(sigma),
                     convention=attrs["convention"], keypoint_names=tuple(names),
                     flip_test=attrs["flip_test"], model=attrs["model"],
                     heatmap_kind=attrs["heatmap_kind"], simulated=attrs["simulated"],
                     provenance=prov, schema_version=version)


def _plain(value: Any) -> Any:
    """HDF5 attribute value -> plain Python (str, int, float, bool, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value[()])
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- lazy arrays

class _H5Source:
    """Reads contiguous instance runs from an HDF5 ``heatmaps`` dataset."""

    def __init__(self, dset: h5py.Dataset, path: Path, file: h5py.File) -> None:
        self.dset = dset
        self.path = path
        self.shape = tuple(dset.shape)
        self.dtype = dset.dtype.newbyteorder("=")  # HDF5 swaps big-endian files on read
        self._space = dset.id.get_space()  # file dataspace, copied per read
        self._file = file

    def close(self) -> None:
        """Close the HDF5 file; later reads raise ``ValueError``."""
        self._file.close()

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as a new array in the stored dtype."""
        out = np.empty((stop - start,) + self.shape[1:], dtype=self.dtype)
        self.read_into(out, 0, start, stop)
        return out

    def read_into(self, out: np.ndarray, pos: int, start: int, stop: int) -> None:
        """Read rows [start, stop) into ``out[pos:pos + stop - start]`` (no extra copy).

        ``out`` is C-contiguous in the stored dtype. One H5Dread per run through the
        low-level API (h5py's ``read_direct`` costs ~12 us more per call, which
        dominates when a subset's rows come in short runs).
        """
        if stop <= start:
            return
        if not self.dset.id.valid:
            raise ValueError(f"{self.path}: the heatmap cache is closed (read before "
                             f"closing it or leaving its `with` block)")
        n = stop - start
        try:
            fspace = self._space.copy()
            fspace.select_hyperslab((start,) + (0,) * (len(self.shape) - 1),
                                    (n,) + self.shape[1:])
            mspace = h5py.h5s.create_simple((n,) + self.shape[1:])
            self.dset.id.read(mspace, fspace, out[pos:pos + n])
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise _fail(self.path, "heatmaps",
                        f"cannot read instances {start}:{stop} ({exc}); the file is "
                        f"truncated or corrupt") from exc


class _ArraySource:
    """Reads instance runs from an in-memory or memory-mapped array (npz caches)."""

    def __init__(self, array: np.ndarray, path: Path) -> None:
        self.array = array
        self.path = path
        self.shape = tuple(array.shape)
        self.dtype = array.dtype.newbyteorder("=")  # reads swap a big-endian file

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as a new array, detached from the file."""
        out = np.empty((max(stop - start, 0),) + self.shape[1:], dtype=self.dtype)
        self.read_into(out, 0, start, stop)
        return out

    def read_into(self, out: np.ndarray, pos: int, start: int, stop: int) -> None:
        """Copy rows [start, stop) into ``out[pos:pos + stop - start]``."""
        if self.array is None:
            raise ValueError(f"{self.path}: the heatmap cache is closed (read before "
                             f"closing it or leaving its `with` block)")
        if stop > start:
            out[pos:pos + stop - start] = self.array[start:stop]

    def close(self) -> None:
        """Drop the array (a memory map is unmapped once no one else holds it)."""
        self.array = None


def _runs(sorted_unique: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs [start, stop) of a sorted unique integer array."""
    if sorted_unique.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(sorted_unique) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [sorted_unique.size]])
    return [(int(sorted_unique[a]), int(sorted_unique[b - 1]) + 1)
            for a, b in zip(starts, stops, strict=True)]


class LazyHeatmaps:
    """Read-only (N, K, H, W) heatmaps that read only the rows asked for.

    ``lazy[i:j]``, ``lazy[i]``, ``lazy[[3, 1, 7]]``, ``lazy[mask]`` and
    ``lazy[rows, k]`` return numpy arrays in the stored dtype (float16 or float32, never
    converted; in native byte order, which the decoders need). Row lists are sorted and
    read as contiguous runs, then put back in the requested order. ``rows`` (optional)
    maps this array's rows to the cache's rows (the view of a
    :meth:`Dataset.subset <daec_viz.io.datasets.Dataset.subset>`).
    """

    def __init__(self, source: _H5Source | _ArraySource, rows: np.ndarray | None = None):
        self._source = source
        self._rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        n = source.shape[0] if rows is None else len(self._rows)
        self.shape: tuple[int, ...] = (n,) + tuple(source.shape[1:])
        self.dtype: np.dtype = np.dtype(source.dtype)

    ndim = 4

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __repr__(self) -> str:
        return f"LazyHeatmaps(shape={self.shape}, dtype={self.dtype})"

    def view(self, rows: np.ndarray) -> LazyHeatmaps:
        """A lazy array of the given rows of this one."""
        rows = np.asarray(rows, dtype=np.int64)
        return LazyHeatmaps(self._source, rows if self._rows is None else self._rows[rows])

    def _read_cache_rows(self, cache_rows: np.ndarray) -> np.ndarray:
        """Read cache rows (any order) as contiguous runs of the sorted unique rows."""
        if cache_rows.size == 0:
            return np.empty((0,) + self._source.shape[1:], dtype=self.dtype)
        uniq, inverse = np.unique(cache_rows, return_inverse=True)
        runs = _runs(uniq)
        if len(runs) == 1:
            block = self._source.read(*runs[0])
        else:
            block = np.empty((uniq.size,) + self._source.shape[1:], dtype=self.dtype)
            pos = 0
            for a, b in runs:
                self._source.read_into(block, pos, a, b)
                pos += b - a
        if uniq.size == cache_rows.size and np.array_equal(uniq, cache_rows):
            return block
        return block[inverse.reshape(-1)]

    def read_rows(self, rows: np.ndarray | slice) -> np.ndarray:
        """Heatmaps (n, K, H, W) of rows of this array (a slice or integer indices)."""
        if isinstance(rows, slice):
            start, stop, step = rows.indices(self.shape[0])
            if self._rows is None and step == 1:
                return self._source.read(start, max(start, stop))
            rows = np.arange(start, stop, step)
        rows = np.asarray(rows, dtype=np.int64)
        n = self.shape[0]
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"row index out of range for {n} instances")
        rows = np.where(rows < 0, rows + n, rows)
        return self._read_cache_rows(rows if self._rows is None else self._rows[rows])

    def __getitem__(self, key: Any) -> np.ndarray:
        rest: tuple = ()
        if isinstance(key, tuple):
            key, rest = (key[0], key[1:]) if key else (slice(None), ())
        if key is Ellipsis:
            key, rest = slice(None), (Ellipsis,) + rest
        if isinstance(key, (int, np.integer)):
            return self.read_rows(np.array([key]))[(0,) + rest]
        if isinstance(key, slice):
            return self.read_rows(key)[(slice(None),) + rest]
        arr = np.asarray(key)
        if arr.dtype == bool:
            if arr.shape != (self.shape[0],):
                raise IndexError(f"boolean index of shape {arr.shape}, expected "
                                 f"({self.shape[0]},)")
            arr = np.flatnonzero(arr)
        elif arr.dtype.kind not in "iu":
            raise IndexError(f"rows must be integers, a slice or a boolean mask, got {arr.dtype}")
        # read each needed row once, then index the block with numpy's own semantics
        uniq, inverse = np.unique(arr.reshape(-1), return_inverse=True)
        block = self.read_rows(uniq)
        return block[(inverse.reshape(arr.shape),) + rest]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.read_rows(slice(None))
        return out if dtype is None else out.astype(dtype)


# --------------------------------------------------------------------------- reading

class HeatmapCache:
    """An opened, validated cache: :class:`CacheMeta`, lazy heatmaps and the small arrays.

    Attributes
    ----------
    path : the cache file.
    meta : :class:`CacheMeta`.
    heatmaps : :class:`LazyHeatmaps` (N, K, H, W).
    arrays : dict of the per-instance arrays other than ``heatmaps`` (loaded eagerly:
        image_id, ann_id int64; center, scale, bbox, score, affine float64; split str).
    attrs : the raw attributes (plain Python values), as hashed by ``content_hash``.
    """

    def __init__(self, path: Path, meta: CacheMeta, heatmaps: LazyHeatmaps,
                 arrays: dict[str, np.ndarray], attrs: dict[str, Any],
                 compression: str | None = None) -> None:
        self.path = path
        self.meta = meta
        self.heatmaps = heatmaps
        self.arrays = arrays
        self.attrs = attrs
        self.compression = compression

    @property
    def format(self) -> str:
        """``"hdf5"`` or ``"npz"``."""
        return "npz" if self.path.suffix == ".npz" else "hdf5"

    def __len__(self) -> int:
        return self.heatmaps.shape[0]

    def close(self) -> None:
        """Close the underlying file (HDF5 file or npz memory map); idempotent. Reading
        the heatmaps afterwards raises ``ValueError``."""
        self.heatmaps._source.close()

    def __enter__(self) -> HeatmapCache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _check_arrays(path: Path, shapes: dict[str, tuple[int, ...]],
                  dtypes: dict[str, np.dtype], meta: CacheMeta) -> None:
    """Validate names, shapes and dtypes of the cache's arrays (before reading them)."""
    names = set(shapes)
    missing = [k for k in REQUIRED_ARRAYS if k not in names]
    if missing:
        raise _fail(path, missing[0], f"missing array(s) {missing}; a cache has "
                                      f"{list(REQUIRED_ARRAYS)} and optionally "
                                      f"{list(OPTIONAL_ARRAYS)}")
    extra = sorted(names - set(REQUIRED_ARRAYS) - set(OPTIONAL_ARRAYS))
    if extra:
        raise _fail(path, extra[0], f"unknown array(s) {extra}; expected only "
                                    f"{list(REQUIRED_ARRAYS + OPTIONAL_ARRAYS)}")
    hm_shape = shapes["heatmaps"]
    if len(hm_shape) != 4:
        raise _fail(path, "heatmaps", f"expected shape (N, K, H, W), got {hm_shape}")
    if dtypes["heatmaps"].name not in HEATMAP_DTYPES:
        raise _fail(path, "heatmaps", f"expected dtype float16 or float32, "
                                      f"got {dtypes['heatmaps']}")
    n, k, h, w = hm_shape
    if k != len(meta.keypoint_names):
        raise _fail(path, "heatmaps", f"has K = {k} channels but attribute `keypoint_names` "
                                      f"lists {len(meta.keypoint_names)} joints")
    if (w, h) != meta.heatmap_size:
        raise _fail(path, "heatmaps", f"has H x W = {h} x {w} but attribute `heatmap_size` "
                                      f"(width, height) is {list(meta.heatmap_size)}")
    for name, shape in shapes.items():
        if name == "heatmaps":
            continue
        expected = (n,) + _TRAILING[name]
        if shape[:1] != (n,) and len(shape) == len(expected):
            raise _fail(path, name, f"has {shape[0] if shape else 0} rows but `heatmaps` has "
                                    f"N = {n}: every array needs one row per instance")
        if shape != expected:
            raise _fail(path, name, f"expected shape {_shape_str(name)} = {expected}, "
                                    f"got {shape}")
        kind = dtypes[name].kind
        if name in _INT_ARRAYS and kind not in "iu":
            raise _fail(path, name, f"expected an integer array, got dtype {dtypes[name]}")
        if name in _FLOAT_ARRAYS and kind not in "fiu":
            raise _fail(path, name, f"expected a float array, got dtype {dtypes[name]}")
        if name == "split" and kind not in "USO":
            raise _fail(path, name, f"expected strings, got dtype {dtypes[name]}")


def _shape_str(name: str) -> str:
    return "(" + ", ".join(["N"] + [str(d) for d in _TRAILING[name]]) + ")"


def _check_values(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Finite boxes and scores, positive scales."""
    for name in ("center", "scale", "bbox", "score", "affine"):
        if name not in arrays:
            continue
        bad = ~np.isfinite(arrays[name])
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise _fail(path, name, f"expected finite numbers; row {row} has "
                                    f"{arrays[name][row].tolist()}")
    bad = np.flatnonzero(np.any(arrays["scale"] <= 0, axis=1))
    if bad.size and "affine" not in arrays:
        raise _fail(path, "scale", f"expected positive box scales; row {int(bad[0])} has "
                                   f"{arrays['scale'][bad[0]].tolist()}")


def _open_heatmaps_dataset(f: h5py.File) -> h5py.Dataset:
    """``f["heatmaps"]`` with the chunk cache its access pattern needs (see
    ``H5_CHUNK_CACHE_BYTES``): 32 MB when compressed, none when not."""
    compressed = f["heatmaps"].id.get_create_plist().get_nfilters() > 0  # any filter
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    dapl.set_chunk_cache(H5_CHUNK_CACHE_SLOTS, H5_CHUNK_CACHE_BYTES if compressed else 0,
                         H5_CHUNK_CACHE_W0)
    return h5py.Dataset(h5py.h5d.open(f.id, b"heatmaps", dapl))


def _open_h5(path: Path) -> HeatmapCache:
    try:
        # read-only; "best-effort" locking still opens on file systems without locks
        # (read-only NFS/Lustre mounts), where HDF5's default would refuse
        f = h5py.File(path, "r", locking="best-effort")
    except OSError as exc:
        raise _fail(path, None, f"cannot open as HDF5 ({exc}); the file is truncated, "
                                f"corrupt or not an HDF5 file") from exc
    try:
        try:
            attrs = {k: _plain(v) for k, v in f.attrs.items()}
            shapes: dict[str, tuple[int, ...]] = {}
            dtypes: dict[str, np.dtype] = {}
            kinds: dict[str, bool] = {}
            for name, obj in f.items():
                kinds[name] = isinstance(obj, h5py.Dataset)
                if kinds[name]:
                    shapes[name] = tuple(obj.shape)
                    dtypes[name] = (np.dtype("O") if h5py.check_string_dtype(obj.dtype)
                                    else obj.dtype)
        except (OSError, RuntimeError, KeyError) as exc:
            raise _fail(path, None, f"cannot read the file's attributes or array list "
                                    f"({exc}); the file is truncated or corrupt") from exc
        meta = _meta_from_attrs(attrs, path)
        for name, is_dataset in kinds.items():
            if not is_dataset:
                raise _fail(path, name, "expected an array (HDF5 dataset), found a group")
        _check_arrays(path, shapes, dtypes, meta)
        arrays: dict[str, np.ndarray] = {}
        for name in shapes:
            if name == "heatmaps":
                continue
            try:
                if name == "split":
                    arrays[name] = f[name].asstr()[()].astype(str)
                else:
                    dt = np.int64 if name in _INT_ARRAYS else np.float64
                    arrays[name] = f[name][()].astype(dt, copy=False)
            except (OSError, RuntimeError) as exc:
                raise _fail(path, name, f"cannot read ({exc}); the file is truncated or "
                                        f"corrupt") from exc
        _check_values(path, arrays)
        dset = _open_heatmaps_dataset(f)
        heatmaps = LazyHeatmaps(_H5Source(dset, path, f))
        return HeatmapCache(path, meta, heatmaps, arrays, attrs,
                            compression=dset.compression)
    except BaseException:
        f.close()
        raise


def _npz_member_memmap(path: Path, zf: zipfile.ZipFile, name: str) -> np.ndarray | None:
    """Memory-map an uncompressed ``.npy`` member of a zip, read-only; None if impossible."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            return None
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        start = info.header_offset + 30 + name_len + extra_len
        fh.seek(start)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            return None
        offset = fh.tell()
    if fortran or dtype.hasobject:
        return None
    if offset + int(np.prod(shape)) * dtype.itemsize > path.stat().st_size:
        raise _fail(path, name[:-4], "the array data runs past the end of the file; "
                                     "the file is truncated")
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _open_npz(path: Path) -> HeatmapCache:
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise _fail(path, None, f"cannot open as npz ({exc}); the file is truncated, corrupt "
                                f"or not an npz file") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise _fail(path, None, "expected an npz archive (np.savez), found a single .npy array")
    try:
        files = list(npz.files)
        if "attrs" not in files:
            raise _fail(path, "attrs", "missing: an npz cache stores its attributes as a JSON "
                                       "object in the 0-d unicode array `attrs`")

        def load(name: str) -> np.ndarray:
            try:
                return npz[name]
            except ValueError as exc:  # object arrays need pickle, which is never allowed
                raise _fail(path, name, f"cannot be read without unpickling ({exc}); expected "
                                        f"a numeric or unicode array, not an object array") \
                    from exc
            except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
                raise _fail(path, name, f"cannot read ({exc}); the file is truncated or "
                                        f"corrupt") from exc

        raw = load("attrs")
        if raw.dtype.kind != "U" or raw.ndim != 0:
            raise _fail(path, "attrs", f"expected a 0-d unicode array holding a JSON object, "
                                       f"got dtype {raw.dtype} shape {raw.shape}")
        try:
            attrs = json.loads(str(raw))
        except json.JSONDecodeError as exc:
            raise _fail(path, "attrs", f"expected a JSON object, got invalid JSON ({exc})") \
                from exc
        if not isinstance(attrs, dict):
            raise _fail(path, "attrs", f"expected a JSON object, got {type(attrs).__name__}")
        meta = _meta_from_attrs(attrs, path)
        names = [f for f in files if f != "attrs"]
        zf = npz.zip
        hm = None
        if "heatmaps" in names:
            try:
                hm = _npz_member_memmap(path, zf, "heatmaps.npy")
            except (OSError, ValueError) as exc:
                raise _fail(path, "heatmaps", f"cannot read ({exc})") from exc
        small = {name: load(name) for name in names if name != "heatmaps"}
        if "heatmaps" in names and hm is None:
            hm = load("heatmaps")  # compressed: must be decompressed (npz is for small caches)
        shapes = {name: tuple(a.shape) for name, a in small.items()}
        dtypes = {name: a.dtype for name, a in small.items()}
        if hm is not None:
            shapes["heatmaps"] = tuple(hm.shape)
            dtypes["heatmaps"] = hm.dtype
        _check_arrays(path, shapes, dtypes, meta)
        arrays: dict[str, np.ndarray] = {}
        for name, a in small.items():
            if name == "split":
                arrays[name] = a.astype(str)
            else:
                dt = np.int64 if name in _INT_ARRAYS else np.float64
                arrays[name] = a.astype(dt)
        _check_values(path, arrays)
        compressed = zf.getinfo("heatmaps.npy").compress_type != zipfile.ZIP_STORED
    finally:
        npz.close()
    heatmaps = LazyHeatmaps(_ArraySource(hm, path))
    return HeatmapCache(path, meta, heatmaps, arrays, attrs,
                        compression="deflate" if compressed else None)


def open_cache(path: str | Path) -> HeatmapCache:
    """Open and validate a heatmap cache (``.h5``/``.hdf5`` or ``.npz``), read-only.

    The small per-instance arrays are read; the heatmaps stay on disk
    (:class:`LazyHeatmaps`). Raises :class:`~daec_viz.exceptions.DatasetError` naming the
    file and the field on any deviation from the schema (module docstring).
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, None, "heatmap cache not found")
    if path.suffix == ".npz":
        return _open_npz(path)
    if path.suffix in (".h5", ".hdf5"):
        return _open_h5(path)
    raise _fail(path, None, f"unknown cache format {path.suffix!r}; expected .h5, .hdf5 or .npz")


# --------------------------------------------------------------------------- writing

class HeatmapWriter:
    """Write a heatmap cache instance batch by instance batch (schema in the module doc).

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
    flip_test : the heatmaps average the flipped input's.
    heatmap_kind : ``"probability"`` (default), ``"logit"``, ...
    simulated : heatmaps come from the simulator.
    provenance : free JSON-serialisable dict.
    dtype : stored heatmap dtype, ``"float32"`` (default) or ``"float16"``.
    compression : ``None``, ``"gzip"`` or ``"lzf"`` (HDF5); ``None`` or ``"gzip"`` (npz).
    overwrite : replace an existing file at ``path`` (default: refuse).
    """

    def __init__(self, path: str | Path, *, input_size: Sequence[int], sigma: float,
                 convention: str = "dark", model: str = "", keypoint_names:
                 Sequence[str] | None = None, flip_test: bool = False,
                 heatmap_kind: str = "probability", simulated: bool = False,
                 provenance: dict | None = None, dtype: str = "float32",
                 compression: str | None = None, overwrite: bool = False) -> None:
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
                "input_size": list(_pair_of_ints(input_size, self.path, "input_size")),
                "heatmap_size": None, "sigma": sigma, "convention": convention,
                "keypoint_names": list(names), "flip_test": bool(flip_test),
                "model": str(model), "heatmap_kind": str(heatmap_kind),
                "simulated": bool(simulated), "provenance": provenance_json,
            }
            _meta_from_attrs(dict(self._attrs, heatmap_size=[1, 1]), self.path)
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
