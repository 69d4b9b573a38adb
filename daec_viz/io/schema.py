"""The heatmap cache schema: what a cache holds, its metadata, and the checks on both.

The reader is :mod:`daec_viz.io.reader` (lazy, validating), the writer
:mod:`daec_viz.io.writer` (:class:`~daec_viz.io.writer.HeatmapWriter`).

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
``flip_mode``       str          optional (added in 0.2; older caches load): how the flip
                                 test was done, ``none``, ``shift`` (HRNet's one-pixel
                                 shift) or ``noshift`` (see :mod:`daec_viz.decoding.flip`),
                                 ``unknown`` when only ``flip_test`` is known
``pipeline``        str          optional (added in 0.2): the code base whose target
                                 encoding and label convention trained the network,
                                 ``hrnet``, ``dark``, ``udp`` or ``unknown`` (see
                                 :data:`daec_viz.geometry.PIPELINES`)
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
>>> from daec_viz.io.reader import open_cache
>>> from daec_viz.io.writer import HeatmapWriter
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from daec_viz.decoding.flip import FLIP_MODES
from daec_viz.exceptions import DatasetError
from daec_viz.geometry import CONVENTIONS, PIPELINES

SCHEMA_VERSION = 1
FORMAT_NAME = "daec-viz heatmap cache"
HEATMAP_DTYPES: tuple[str, ...] = ("float16", "float32")

REQUIRED_ARRAYS: tuple[str, ...] = ("heatmaps", "image_id", "ann_id", "center", "scale",
                                    "bbox", "score")
OPTIONAL_ARRAYS: tuple[str, ...] = ("split", "affine")
ATTRIBUTES: tuple[str, ...] = ("format", "schema_version", "input_size", "heatmap_size",
                               "sigma", "convention", "keypoint_names", "flip_test",
                               "model", "heatmap_kind", "simulated", "provenance")
# attributes added after version 1 shipped: a cache without them still loads, with these
# values (``unknown`` flip mode when only ``flip_test`` is true)
OPTIONAL_ATTRIBUTES: dict[str, str] = {"flip_mode": "unknown", "pipeline": "unknown"}
# trailing shape of each per-instance array (after N)
TRAILING: dict[str, tuple[int, ...]] = {"image_id": (), "ann_id": (), "center": (2,),
                                         "scale": (2,), "bbox": (4,), "score": (),
                                         "split": (), "affine": (2, 3)}
INT_ARRAYS = ("image_id", "ann_id")
FLOAT_ARRAYS = ("center", "scale", "bbox", "score", "affine")


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
    flip_mode: str = "unknown"
    pipeline: str = "unknown"

    def to_attrs(self) -> dict[str, Any]:
        """The attributes as JSON-compatible Python values (the npz ``attrs`` object)."""
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["heatmap_size"] = list(self.heatmap_size)
        d["keypoint_names"] = list(self.keypoint_names)
        d["provenance"] = json.dumps(self.provenance, sort_keys=True)
        d["format"] = FORMAT_NAME
        return {k: d[k] for k in (*ATTRIBUTES, *OPTIONAL_ATTRIBUTES)}


# --------------------------------------------------------------------------- validation

def cache_error(path: Path | str, field_: str | None, message: str) -> DatasetError:
    return DatasetError(message, field=field_, path=path)


def pair_of_ints(value: Any, path: Path, name: str) -> tuple[int, int]:
    try:
        arr = np.asarray(value)
        ok = arr.shape == (2,) and arr.dtype.kind in "iuf" and np.all(arr == np.round(arr)) \
            and np.all(arr >= 1)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise cache_error(path, name, f"expected [width, height], two positive integers, "
                                f"got {value!r}")
    return int(arr[0]), int(arr[1])


def meta_from_attrs(attrs: dict[str, Any], path: Path) -> CacheMeta:
    """Validate raw attributes (already plain Python values) into a :class:`CacheMeta`."""
    missing = [k for k in ATTRIBUTES if k not in attrs]
    if missing:
        raise cache_error(path, missing[0], f"missing attribute(s) {missing}; a version-"
                                      f"{SCHEMA_VERSION} cache has {list(ATTRIBUTES)}")
    extra = sorted(set(attrs) - set(ATTRIBUTES) - set(OPTIONAL_ATTRIBUTES))
    if extra:
        raise cache_error(path, extra[0], f"unknown attribute(s) {extra}; expected only "
                                    f"{list(ATTRIBUTES)} (put free information in "
                                    f"`provenance`)")
    if attrs["format"] != FORMAT_NAME:
        raise cache_error(path, "format", f"expected {FORMAT_NAME!r}, got {attrs['format']!r}")
    version = attrs["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version != SCHEMA_VERSION:
        hint = " (written by a newer daec-viz?)" if isinstance(version, int) and \
            version > SCHEMA_VERSION else ""
        raise cache_error(path, "schema_version",
                          f"expected {SCHEMA_VERSION}, got {version!r}{hint}")
    input_size = pair_of_ints(attrs["input_size"], path, "input_size")
    heatmap_size = pair_of_ints(attrs["heatmap_size"], path, "heatmap_size")
    sigma = attrs["sigma"]
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) \
            or not math.isfinite(sigma) or sigma <= 0:
        raise cache_error(path, "sigma", f"expected a positive number (heatmap px), got {sigma!r}")
    if attrs["convention"] not in CONVENTIONS:
        raise cache_error(path, "convention", f"expected one of {list(CONVENTIONS)}, "
                                        f"got {attrs['convention']!r}")
    names = attrs["keypoint_names"]
    if not isinstance(names, list) or not names or \
            not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise cache_error(path, "keypoint_names", f"expected a list of K unique non-empty strings, "
                                            f"got {names!r}")
    for key in ("flip_test", "simulated"):
        if not isinstance(attrs[key], bool):
            raise cache_error(path, key, f"expected true or false, got {attrs[key]!r}")
    for key in ("model", "heatmap_kind"):
        if not isinstance(attrs[key], str):
            raise cache_error(path, key, f"expected a string, got {attrs[key]!r}")
    flip_mode = attrs.get("flip_mode", "unknown" if attrs["flip_test"] else "none")
    if flip_mode not in (*FLIP_MODES, "unknown"):
        raise cache_error(path, "flip_mode", f"expected one of {[*FLIP_MODES, 'unknown']}, "
                                             f"got {flip_mode!r}")
    if (flip_mode != "none") != attrs["flip_test"]:
        raise cache_error(path, "flip_mode", f"flip mode {flip_mode!r} contradicts flip_test="
                                             f"{attrs['flip_test']}")
    pipeline = attrs.get("pipeline", "unknown")
    if pipeline not in (*PIPELINES, "unknown"):
        raise cache_error(path, "pipeline", f"expected one of {[*PIPELINES, 'unknown']}, "
                                            f"got {pipeline!r}")
    prov = attrs["provenance"]
    try:
        prov = json.loads(prov) if isinstance(prov, str) else None
    except json.JSONDecodeError:
        prov = None
    if not isinstance(prov, dict):
        raise cache_error(path, "provenance", f"expected a JSON object in a string, "
                                        f"got {attrs['provenance']!r}")
    return CacheMeta(input_size=input_size, heatmap_size=heatmap_size, sigma=float(sigma),
                     convention=attrs["convention"], keypoint_names=tuple(names),
                     flip_test=attrs["flip_test"], model=attrs["model"],
                     heatmap_kind=attrs["heatmap_kind"], simulated=attrs["simulated"],
                     provenance=prov, schema_version=version, flip_mode=flip_mode,
                     pipeline=pipeline)


def plain_attr(value: Any) -> Any:
    """HDF5 attribute value -> plain Python (str, int, float, bool, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [plain_attr(v) for v in value.tolist()] if value.ndim else plain_attr(value[()])
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- lazy arrays


def check_arrays(path: Path, shapes: dict[str, tuple[int, ...]],
                  dtypes: dict[str, np.dtype], meta: CacheMeta) -> None:
    """Validate names, shapes and dtypes of the cache's arrays (before reading them)."""
    names = set(shapes)
    missing = [k for k in REQUIRED_ARRAYS if k not in names]
    if missing:
        raise cache_error(path, missing[0], f"missing array(s) {missing}; a cache has "
                                      f"{list(REQUIRED_ARRAYS)} and optionally "
                                      f"{list(OPTIONAL_ARRAYS)}")
    extra = sorted(names - set(REQUIRED_ARRAYS) - set(OPTIONAL_ARRAYS))
    if extra:
        raise cache_error(path, extra[0], f"unknown array(s) {extra}; expected only "
                                    f"{list(REQUIRED_ARRAYS + OPTIONAL_ARRAYS)}")
    hm_shape = shapes["heatmaps"]
    if len(hm_shape) != 4:
        raise cache_error(path, "heatmaps", f"expected shape (N, K, H, W), got {hm_shape}")
    if dtypes["heatmaps"].name not in HEATMAP_DTYPES:
        raise cache_error(path, "heatmaps", f"expected dtype float16 or float32, "
                                      f"got {dtypes['heatmaps']}")
    n, k, h, w = hm_shape
    if k != len(meta.keypoint_names):
        raise cache_error(path, "heatmaps", f"has K = {k} channels but attribute `keypoint_names` "
                                      f"lists {len(meta.keypoint_names)} joints")
    if (w, h) != meta.heatmap_size:
        raise cache_error(path, "heatmaps", f"has H x W = {h} x {w} but attribute `heatmap_size` "
                                      f"(width, height) is {list(meta.heatmap_size)}")
    for name, shape in shapes.items():
        if name == "heatmaps":
            continue
        expected = (n,) + TRAILING[name]
        if shape[:1] != (n,) and len(shape) == len(expected):
            raise cache_error(path, name, f"has {shape[0] if shape else 0} rows but `heatmaps` has "
                                    f"N = {n}: every array needs one row per instance")
        if shape != expected:
            raise cache_error(path, name, f"expected shape {shape_str(name)} = {expected}, "
                                    f"got {shape}")
        kind = dtypes[name].kind
        if name in INT_ARRAYS and kind not in "iu":
            raise cache_error(path, name, f"expected an integer array, got dtype {dtypes[name]}")
        if name in FLOAT_ARRAYS and kind not in "fiu":
            raise cache_error(path, name, f"expected a float array, got dtype {dtypes[name]}")
        if name == "split" and kind not in "USO":
            raise cache_error(path, name, f"expected strings, got dtype {dtypes[name]}")


def shape_str(name: str) -> str:
    return "(" + ", ".join(["N"] + [str(d) for d in TRAILING[name]]) + ")"


def check_values(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Finite boxes and scores, positive scales."""
    for name in ("center", "scale", "bbox", "score", "affine"):
        if name not in arrays:
            continue
        bad = ~np.isfinite(arrays[name])
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise cache_error(path, name, f"expected finite numbers; row {row} has "
                                    f"{arrays[name][row].tolist()}")
    bad = np.flatnonzero(np.any(arrays["scale"] <= 0, axis=1))
    if bad.size and "affine" not in arrays:
        raise cache_error(path, "scale", f"expected positive box scales; row {int(bad[0])} has "
                                   f"{arrays['scale'][bad[0]].tolist()}")
