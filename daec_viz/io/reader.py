"""Reading heatmap caches: lazy, validating, bounded in memory.

:func:`open_cache` opens an HDF5 (``.h5``/``.hdf5``) or npz cache (schema:
:mod:`daec_viz.io.schema`), checks every array and attribute, and returns a
:class:`HeatmapCache` whose :class:`LazyHeatmaps` read only the instances asked for.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from daec_viz.io.schema import (
    INT_ARRAYS,
    CacheMeta,
    cache_error,
    check_arrays,
    check_values,
    meta_from_attrs,
    plain_attr,
)

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
            raise cache_error(self.path, "heatmaps",
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


def _open_heatmaps_dataset(f: h5py.File) -> h5py.Dataset:
    """``f["heatmaps"]`` with the chunk cache its access pattern needs (see
    ``H5_CHUNK_CACHE_BYTES``): 32 MB when compressed, none when not."""
    compressed = f["heatmaps"].id.get_create_plist().get_nfilters() > 0  # any filter
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    dapl.set_chunk_cache(H5_CHUNK_CACHE_SLOTS, H5_CHUNK_CACHE_BYTES if compressed else 0,
                         H5_CHUNK_CACHE_W0)
    return h5py.Dataset(h5py.h5d.open(f.id, b"heatmaps", dapl))


def _refuse_outside_data(f: h5py.File, path: Path) -> None:
    """Every array's data must live in the file itself: an external link, an external
    raw-data file or a virtual dataset would make a cache read other files (anywhere on
    the machine, e.g. through the app served to a browser)."""
    for name in f:
        link = f.get(name, getlink=True)
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            raise cache_error(path, name, "expected an array stored in this file, found a "
                                          f"link to {getattr(link, 'filename', '') or ''}"
                                          f"{link.path}")
        dset = f[name]
        if isinstance(dset, h5py.Dataset) and (dset.external or dset.is_virtual):
            raise cache_error(path, name, "expected an array stored in this file, found "
                                          "one whose data lies in other files (external "
                                          "storage or a virtual dataset)")


def _open_h5(path: Path) -> HeatmapCache:
    try:
        # read-only; "best-effort" locking still opens on file systems without locks
        # (read-only NFS/Lustre mounts), where HDF5's default would refuse
        f = h5py.File(path, "r", locking="best-effort")
    except OSError as exc:
        raise cache_error(path, None, f"cannot open as HDF5 ({exc}); the file is truncated, "
                                f"corrupt or not an HDF5 file") from exc
    try:
        try:
            attrs = {k: plain_attr(v) for k, v in f.attrs.items()}
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
            raise cache_error(path, None, f"cannot read the file's attributes or array list "
                                    f"({exc}); the file is truncated or corrupt") from exc
        meta = meta_from_attrs(attrs, path)
        for name, is_dataset in kinds.items():
            if not is_dataset:
                raise cache_error(path, name, "expected an array (HDF5 dataset), found a group")
        _refuse_outside_data(f, path)
        check_arrays(path, shapes, dtypes, meta)
        arrays: dict[str, np.ndarray] = {}
        for name in shapes:
            if name == "heatmaps":
                continue
            try:
                if name == "split":
                    arrays[name] = f[name].asstr()[()].astype(str)
                else:
                    dt = np.int64 if name in INT_ARRAYS else np.float64
                    arrays[name] = f[name][()].astype(dt, copy=False)
            except (OSError, RuntimeError) as exc:
                raise cache_error(path, name, f"cannot read ({exc}); the file is truncated or "
                                        f"corrupt") from exc
        check_values(path, arrays)
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
        raise cache_error(path, name[:-4], "the array data runs past the end of the file; "
                                     "the file is truncated")
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _open_npz(path: Path) -> HeatmapCache:
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise cache_error(path, None, f"cannot open as npz ({exc}); the file is truncated, corrupt "
                                f"or not an npz file") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise cache_error(path, None,
                          "expected an npz archive (np.savez), found a single .npy array")
    try:
        files = list(npz.files)
        if "attrs" not in files:
            raise cache_error(path, "attrs",
                              "missing: an npz cache stores its attributes as a JSON "
                                       "object in the 0-d unicode array `attrs`")

        def load(name: str) -> np.ndarray:
            try:
                return npz[name]
            except ValueError as exc:  # object arrays need pickle, which is never allowed
                raise cache_error(path, name,
                                  f"cannot be read without unpickling ({exc}); expected "
                                        f"a numeric or unicode array, not an object array") \
                    from exc
            except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
                raise cache_error(path, name, f"cannot read ({exc}); the file is truncated or "
                                        f"corrupt") from exc

        raw = load("attrs")
        if raw.dtype.kind != "U" or raw.ndim != 0:
            raise cache_error(path, "attrs", f"expected a 0-d unicode array holding a JSON object, "
                                       f"got dtype {raw.dtype} shape {raw.shape}")
        try:
            attrs = json.loads(str(raw))
        except json.JSONDecodeError as exc:
            raise cache_error(path, "attrs", f"expected a JSON object, got invalid JSON ({exc})") \
                from exc
        if not isinstance(attrs, dict):
            raise cache_error(path, "attrs", f"expected a JSON object, got {type(attrs).__name__}")
        meta = meta_from_attrs(attrs, path)
        names = [f for f in files if f != "attrs"]
        zf = npz.zip
        hm = None
        if "heatmaps" in names:
            try:
                hm = _npz_member_memmap(path, zf, "heatmaps.npy")
            except (OSError, ValueError) as exc:
                raise cache_error(path, "heatmaps", f"cannot read ({exc})") from exc
        small = {name: load(name) for name in names if name != "heatmaps"}
        if "heatmaps" in names and hm is None:
            hm = load("heatmaps")  # compressed: must be decompressed (npz is for small caches)
        shapes = {name: tuple(a.shape) for name, a in small.items()}
        dtypes = {name: a.dtype for name, a in small.items()}
        if hm is not None:
            shapes["heatmaps"] = tuple(hm.shape)
            dtypes["heatmaps"] = hm.dtype
        check_arrays(path, shapes, dtypes, meta)
        arrays: dict[str, np.ndarray] = {}
        for name, a in small.items():
            if name == "split":
                arrays[name] = a.astype(str)
            else:
                dt = np.int64 if name in INT_ARRAYS else np.float64
                arrays[name] = a.astype(dt)
        check_values(path, arrays)
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
        raise cache_error(path, None, "heatmap cache not found" if not path.is_dir() else
                          "is a folder; expected a heatmap cache file (.h5 or .npz)")
    try:  # a permission error is not a corrupt file: say which it is
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise cache_error(path, None, f"cannot read it ({exc.strerror or exc})") from None
    if path.suffix == ".npz":
        return _open_npz(path)
    if path.suffix in (".h5", ".hdf5"):
        return _open_h5(path)
    raise cache_error(path, None,
                      f"unknown cache format {path.suffix!r}; expected .h5, .hdf5 or .npz")
