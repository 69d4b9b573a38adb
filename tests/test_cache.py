"""Heatmap caches: writer -> reader round trips, lazy slicing, and every bad input."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from daec_viz.exceptions import DatasetError, InputError
from daec_viz.geometry import center_scale_to_box
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES
from daec_viz.io.reader import (
    H5_CHUNK_CACHE_BYTES,
    H5_CHUNK_CACHE_SLOTS,
    LazyHeatmaps,
    open_cache,
)
from daec_viz.io.schema import ATTRIBUTES, FORMAT_NAME, OPTIONAL_ATTRIBUTES, CacheMeta
from daec_viz.io.writer import HeatmapWriter

K, H, W = 17, 8, 6


def _batch(n: int, seed: int = 0, k: int = K) -> dict:
    rng = np.random.default_rng(seed)
    return dict(
        heatmaps=rng.random((n, k, H, W)).astype(np.float32),
        image_ids=rng.integers(1, 5, n),
        centers=rng.uniform(50, 150, (n, 2)),
        scales=rng.uniform(0.5, 2.0, (n, 2)),
        scores=rng.uniform(0, 1, n),
        ann_ids=np.arange(n) + 100,
        splits=np.where(np.arange(n) % 3 == 0, "test", "train"),
    )


def _write(path: Path, batches: list[dict], **kw) -> Path:
    opts = dict(input_size=(24, 32), sigma=2.0, model="unit", provenance={"seed": 0})
    opts.update(kw)
    with HeatmapWriter(path, **opts) as w:
        for b in batches:
            w.add(**b)
    return path


def _raises(exc_info, path: Path, field: str | None) -> str:
    msg = str(exc_info.value)
    assert str(path) in msg, msg
    if field is not None:
        assert f"`{field}`" in msg, msg
        assert exc_info.value.field == field
    return msg


# --------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("name,dtype,compression", [
    ("heatmaps.h5", "float32", None), ("heatmaps.h5", "float16", "gzip"),
    ("heatmaps.h5", "float32", "lzf"), ("heatmaps.npz", "float32", None),
    ("heatmaps.npz", "float16", "gzip"),
])
def test_round_trip(tmp_path, name, dtype, compression):
    b1, b2 = _batch(5, 1), _batch(4, 2)
    path = _write(tmp_path / name, [b1, b2], dtype=dtype, compression=compression,
                  flip_test=True, simulated=True, convention="udp", heatmap_kind="logit")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no .partial left over
    with open_cache(path) as c:
        expected = np.concatenate([b1["heatmaps"], b2["heatmaps"]]).astype(dtype)
        assert c.heatmaps.shape == (9, K, H, W)
        assert c.heatmaps.dtype == np.dtype(dtype)
        got = c.heatmaps[0:9]
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, expected)
        for key, arr in (("image_id", "image_ids"), ("center", "centers"),
                         ("scale", "scales"), ("score", "scores"), ("ann_id", "ann_ids")):
            np.testing.assert_array_equal(c.arrays[key], np.concatenate([b1[arr], b2[arr]]))
        assert c.arrays["split"].tolist() == b1["splits"].tolist() + b2["splits"].tolist()
        np.testing.assert_allclose(
            c.arrays["bbox"],
            center_scale_to_box(c.arrays["center"], c.arrays["scale"]))
        assert c.meta == CacheMeta(input_size=(24, 32), heatmap_size=(W, H), sigma=2.0,
                                   convention="udp", keypoint_names=COCO_KEYPOINT_NAMES,
                                   flip_test=True, model="unit", heatmap_kind="logit",
                                   simulated=True, provenance={"seed": 0})
        assert set(c.attrs) == set(ATTRIBUTES) | set(OPTIONAL_ATTRIBUTES)


def test_defaults_and_affines(tmp_path):
    rng = np.random.default_rng(3)
    hm = rng.random((3, 2, H, W)).astype(np.float32)
    aff = np.zeros((3, 2, 3))
    aff[:, 0, 0], aff[:, 1, 1] = 4.0, 5.0
    aff[:, :, 2] = [[10, 20], [30, 40], [50, 60]]
    path = _write(tmp_path / "heatmaps.h5", [dict(heatmaps=hm, image_ids=[1, 2, 3],
                                                  affines=aff)],
                  keypoint_names=["a", "b"])
    with open_cache(path) as c:
        np.testing.assert_array_equal(c.arrays["score"], 1.0)
        np.testing.assert_array_equal(c.arrays["ann_id"], -1)
        np.testing.assert_array_equal(c.arrays["affine"], aff)
        assert "split" not in c.arrays
        # centres derived from the affines: the image of the heatmap centre
        np.testing.assert_allclose(c.arrays["center"][0], [10 + 4 * 2.5, 20 + 5 * 3.5])
        np.testing.assert_allclose(c.arrays["scale"][0], [4 * W / 200, 5 * H / 200])
        assert c.meta.keypoint_names == ("a", "b")


def test_h5_layout_one_instance_per_chunk(tmp_path):
    path = _write(tmp_path / "heatmaps.h5", [_batch(4)], compression="gzip")
    with h5py.File(path, "r") as f:
        assert f["heatmaps"].chunks == (1, K, H, W)
        assert f["heatmaps"].compression == "gzip"
        assert f.attrs["schema_version"] == 1
        assert f.attrs["format"] == FORMAT_NAME
        assert list(f.attrs["heatmap_size"]) == [W, H]


@pytest.mark.parametrize("compression,nbytes", [(None, 0), ("gzip", H5_CHUNK_CACHE_BYTES),
                                                 ("lzf", H5_CHUNK_CACHE_BYTES)])
def test_h5_chunk_cache_follows_compression(tmp_path, compression, nbytes):
    """Uncompressed chunks bypass the chunk cache (read straight into the output);
    compressed ones keep 32 MB of inflated chunks for random re-reads."""
    path = _write(tmp_path / "heatmaps.h5", [_batch(4)], compression=compression)
    with open_cache(path) as c:
        dset = c.heatmaps._source.dset
        slots, got_bytes, w0 = dset.id.get_access_plist().get_chunk_cache()
        assert (got_bytes, w0) == (nbytes, 1.0)
        assert slots == (H5_CHUNK_CACHE_SLOTS if nbytes else 0)  # HDF5 zeroes unused slots
        np.testing.assert_array_equal(c.heatmaps[[3, 0]], _batch(4)["heatmaps"][[3, 0]])


@pytest.mark.parametrize("name", ["heatmaps.h5", "heatmaps.npz"])
def test_reading_a_closed_cache_says_so(tmp_path, name):
    path = _write(tmp_path / name, [_batch(3)])
    with open_cache(path) as c:
        lazy = c.heatmaps
        lazy[0]
    c.close()  # closing twice is fine
    with pytest.raises(ValueError, match="closed") as ei:
        lazy[1:3]
    assert str(path) in str(ei.value) and "corrupt" not in str(ei.value)


@pytest.mark.parametrize("name", ["heatmaps.h5", "heatmaps.npz"])
def test_big_endian_heatmaps_read_in_native_order(tmp_path, name):
    """Another tool's big-endian cache reads as native float32 (numba decoders refuse
    '>f4')."""
    b = _batch(3)
    path = _write(tmp_path / name, [b])
    if name.endswith(".h5"):
        _edit_h5(path, lambda f: (f.__delitem__("heatmaps"), f.create_dataset(
            "heatmaps", data=b["heatmaps"].astype(">f4"), chunks=(1, K, H, W))))
    else:
        arrays = _npz_arrays(path)
        arrays["heatmaps"] = arrays["heatmaps"].astype(">f4")
        np.savez(path, **arrays)
    with open_cache(path) as c:
        assert c.heatmaps.dtype == np.dtype("=f4") and c.heatmaps[:].dtype.isnative
        np.testing.assert_array_equal(c.heatmaps[[2, 0]], b["heatmaps"][[2, 0]])


def test_npz_uncompressed_is_memory_mapped(tmp_path):
    path = _write(tmp_path / "heatmaps.npz", [_batch(4)])
    with open_cache(path) as c:
        assert isinstance(c.heatmaps._source.array, np.memmap)
        assert c.heatmaps._source.array.mode == "r"
        out = c.heatmaps[1:3]
        assert not isinstance(out, np.memmap) and out.flags.writeable


# --------------------------------------------------------------------------- lazy indexing

@pytest.fixture(scope="module")
def cache_and_truth(tmp_path_factory):
    b = _batch(12, 7)
    path = _write(tmp_path_factory.mktemp("lazy") / "heatmaps.h5", [b])
    c = open_cache(path)
    yield c, b["heatmaps"]
    c.close()


@pytest.mark.parametrize("key", [
    3, -1, slice(2, 7), slice(None, None, 3), slice(10, 2, -2), [7, 2, 2, 11],
    np.array([[0, 5], [4, 1]]), (slice(1, 4), 5), (np.array([9, 3]), slice(None), 2),
    (Ellipsis, 0), slice(5, 5),
])
def test_lazy_indexing_matches_numpy(cache_and_truth, key):
    c, truth = cache_and_truth
    got = c.heatmaps[key]
    np.testing.assert_array_equal(got, truth[key])
    assert got.dtype == np.float32


def test_lazy_bool_mask_and_view(cache_and_truth):
    c, truth = cache_and_truth
    mask = np.arange(12) % 4 == 1
    np.testing.assert_array_equal(c.heatmaps[mask], truth[mask])
    v = c.heatmaps.view(np.array([10, 4, 5, 6]))
    assert v.shape == (4, K, H, W)
    np.testing.assert_array_equal(v[1:3], truth[[4, 5]])
    np.testing.assert_array_equal(v.view(np.array([3, 0]))[:], truth[[6, 10]])
    with pytest.raises(IndexError):
        c.heatmaps[[12]]


def test_fancy_rows_are_read_as_sorted_runs(cache_and_truth, monkeypatch):
    c, truth = cache_and_truth
    calls = []
    source = c.heatmaps._source
    orig = source.read_into

    def spy(out, pos, start, stop):
        calls.append((start, stop))
        return orig(out, pos, start, stop)

    monkeypatch.setattr(source, "read_into", spy)
    rows = [6, 5, 7, 10, 3, 6, 11]
    np.testing.assert_array_equal(c.heatmaps[rows], truth[rows])
    assert calls == [(3, 4), (5, 8), (10, 12)]


def test_lazy_heatmaps_repr_and_len(cache_and_truth):
    c, _ = cache_and_truth
    assert isinstance(c.heatmaps, LazyHeatmaps)
    assert len(c.heatmaps) == 12 and c.heatmaps.ndim == 4
    assert c.heatmaps.nbytes == 12 * K * H * W * 4


# --------------------------------------------------------------------------- writer errors

def test_writer_rejects_bad_input(tmp_path):
    path = tmp_path / "heatmaps.h5"
    with pytest.raises(InputError, match="keypoint_names"):
        _write(path, [_batch(2, k=5)])
    assert not path.exists() and not list(tmp_path.iterdir())  # aborted, nothing left
    with pytest.raises(InputError) as ei:
        _write(path, [_batch(2), dict(_batch(2), heatmaps=np.zeros((2, K, H + 1, W)))])
    assert ei.value.field == "heatmaps" and "first batch" in str(ei.value)
    with pytest.raises(InputError) as ei:
        _write(path, [dict(_batch(2), centers=np.zeros((3, 2)))])
    assert ei.value.field == "centers" and "(2, 2)" in str(ei.value)
    with pytest.raises(InputError) as ei:
        _write(path, [_batch(2), {k: v for k, v in _batch(2).items() if k != "splits"}])
    assert ei.value.field == "splits"
    with pytest.raises(InputError, match="float16 range"):
        _write(path, [dict(_batch(1), heatmaps=np.full((1, K, H, W), 1e6))], dtype="float16")
    with pytest.raises(InputError, match="no instances"):
        _write(path, [])
    with pytest.raises(InputError) as ei:
        _write(path, [_batch(1)], convention="opencv")
    assert ei.value.field == "convention"
    for field, bad in (("sigma", None), ("sigma", "wide"), ("sigma", -2.0),
                       ("input_size", (192,))):
        with pytest.raises(InputError) as ei:
            _write(path, [_batch(1)], **{field: bad})
        assert ei.value.field == field and "expected" in str(ei.value)
    with pytest.raises(InputError) as ei:
        _write(tmp_path / "heatmaps.pkl", [_batch(1)])
    assert ei.value.field == "path"
    with pytest.raises(InputError) as ei:
        _write(tmp_path / "heatmaps.npz", [_batch(1)], compression="lzf")
    assert ei.value.field == "compression"
    assert not list(tmp_path.iterdir())


def test_writer_refuses_to_overwrite(tmp_path):
    path = _write(tmp_path / "heatmaps.npz", [_batch(2)])
    with pytest.raises(InputError, match="overwrite=True"):
        _write(path, [_batch(3)])
    _write(path, [_batch(3)], overwrite=True)
    with open_cache(path) as c:
        assert len(c) == 3


def test_writer_removes_partial_file_on_error(tmp_path):
    path = tmp_path / "heatmaps.h5"
    with pytest.raises(RuntimeError), HeatmapWriter(path, input_size=(24, 32), sigma=2) as w:
        w.add(**_batch(3))
        assert w.partial.exists()
        raise RuntimeError("boom")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- bad caches

def _edit_h5(path: Path, fn) -> None:
    with h5py.File(path, "r+") as f:
        fn(f)


@pytest.fixture
def h5(tmp_path):
    return _write(tmp_path / "heatmaps.h5", [_batch(4)])


@pytest.mark.parametrize("edit,field,words", [
    (lambda f: f.__delitem__("score"), "score", "missing"),
    (lambda f: f.create_dataset("extra", data=np.zeros(4)), "extra", "unknown"),
    (lambda f: f.attrs.__delitem__("sigma"), "sigma", "missing attribute"),
    (lambda f: f.attrs.__setitem__("colour", "red"), "colour", "unknown attribute"),
    (lambda f: f.attrs.__setitem__("schema_version", 2), "schema_version", "newer"),
    (lambda f: f.attrs.__setitem__("convention", "opencv"), "convention", "dark"),
    (lambda f: f.attrs.__setitem__("sigma", -1.0), "sigma", "positive"),
    (lambda f: f.attrs.__setitem__("provenance", "{not json"), "provenance", "JSON"),
    (lambda f: f.attrs.__setitem__("heatmap_size", [W, H + 1]), "heatmaps", "heatmap_size"),
    (lambda f: (f.__delitem__("center"), f.create_dataset("center", data=np.zeros((4, 3)))),
     "center", "(N, 2)"),
    (lambda f: (f.__delitem__("score"), f.create_dataset("score", data=np.ones(3))),
     "score", "N = 4"),
    (lambda f: (f.__delitem__("image_id"), f.create_dataset("image_id", data=np.ones(4))),
     "image_id", "integer"),
    (lambda f: (f.__delitem__("heatmaps"),
                f.create_dataset("heatmaps", data=np.zeros((4, K, H, W)))),
     "heatmaps", "float16 or float32"),
    (lambda f: (f.__delitem__("heatmaps"),
                f.create_dataset("heatmaps", data=np.zeros((4, K, H), np.float32))),
     "heatmaps", "(N, K, H, W)"),
    (lambda f: (f.__delitem__("heatmaps"),
                f.create_dataset("heatmaps", data=np.zeros((4, 3, H, W), np.float32))),
     "heatmaps", "keypoint_names"),
    (lambda f: f["scale"].__setitem__(2, [0.0, 1.0]), "scale", "positive"),
    (lambda f: f["center"].__setitem__(1, [np.nan, 1.0]), "center", "finite"),
])
def test_bad_h5_names_file_and_field(h5, edit, field, words):
    _edit_h5(h5, edit)
    with pytest.raises(DatasetError) as ei:
        open_cache(h5)
    assert words in _raises(ei, h5, field)


def test_truncated_h5(h5):
    data = h5.read_bytes()
    h5.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError) as ei:
        open_cache(h5)
    assert "truncated" in _raises(ei, h5, None)


def test_garbage_h5(tmp_path):
    path = tmp_path / "heatmaps.h5"
    path.write_bytes(b"this is not hdf5" * 100)
    with pytest.raises(DatasetError) as ei:
        open_cache(path)
    assert "not an HDF5 file" in _raises(ei, path, None)


def test_corrupt_chunk_is_reported_on_read(tmp_path):
    path = _write(tmp_path / "heatmaps.h5", [_batch(4)], compression="gzip")
    with h5py.File(path, "r") as f:
        info = f["heatmaps"].id.get_chunk_info(2)
    raw = bytearray(path.read_bytes())
    raw[info.byte_offset:info.byte_offset + info.size] = b"\xff" * info.size
    path.write_bytes(bytes(raw))
    with open_cache(path) as c:
        c.heatmaps[0:2]  # intact chunks still read
        with pytest.raises(DatasetError) as ei:
            c.heatmaps[1:4]
        assert "corrupt" in _raises(ei, path, "heatmaps")


def test_missing_cache_file(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        open_cache(tmp_path / "heatmaps.h5")


# --------------------------------------------------------------------------- bad npz

def _npz_arrays(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


UNPICKLED: list[str] = []


class _Trap:
    """Records any attempt to unpickle it."""

    def __reduce__(self):
        return (UNPICKLED.append, ("unpickled!",))


def test_npz_object_array_is_never_unpickled(tmp_path):
    path = _write(tmp_path / "heatmaps.npz", [_batch(3)])
    arrays = _npz_arrays(path)
    arrays["split"] = np.array([_Trap(), "a", "b"], dtype=object)
    path.unlink()
    np.savez(path, **arrays)
    UNPICKLED.clear()
    with pytest.raises(DatasetError) as ei:
        open_cache(path)
    assert "object array" in _raises(ei, path, "split")
    assert UNPICKLED == []
    # and the attribute blob itself as a pickled object
    arrays["split"] = np.array(["a", "b", "c"])
    arrays["attrs"] = np.array(pickle.dumps({"x": 1}), dtype=object)
    path.unlink()
    np.savez(path, **arrays)
    with pytest.raises(DatasetError) as ei:
        open_cache(path)
    _raises(ei, path, "attrs")


@pytest.mark.parametrize("edit,field,words", [
    (lambda a: a.pop("attrs"), "attrs", "missing"),
    (lambda a: a.__setitem__("attrs", np.array("{oops")), "attrs", "JSON"),
    (lambda a: a.pop("bbox"), "bbox", "missing"),
    (lambda a: a.__setitem__("junk", np.zeros(3)), "junk", "unknown"),
    (lambda a: a.__setitem__("ann_id", a["ann_id"][:2]), "ann_id", "N = 3"),
    (lambda a: a.__setitem__("heatmaps", a["heatmaps"].astype(np.int32)), "heatmaps",
     "float16 or float32"),
    (lambda a: a.__setitem__("attrs", np.array(json.dumps(
        dict(json.loads(str(a["attrs"])), keypoint_names="nose")))), "keypoint_names",
     "list"),
])
def test_bad_npz_names_file_and_field(tmp_path, edit, field, words):
    path = _write(tmp_path / "heatmaps.npz", [_batch(3)])
    arrays = _npz_arrays(path)
    edit(arrays)
    path.unlink()
    np.savez(path, **arrays)
    with pytest.raises(DatasetError) as ei:
        open_cache(path)
    assert words in _raises(ei, path, field)


def test_truncated_npz(tmp_path):
    path = _write(tmp_path / "heatmaps.npz", [_batch(3)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    with pytest.raises(DatasetError) as ei:
        open_cache(path)
    assert "corrupt" in _raises(ei, path, None)


def test_copy_of_cache_reads_identically(tmp_path):
    """A cache is self-contained: a copied file reads the same (no absolute paths)."""
    path = _write(tmp_path / "a" / "heatmaps.h5", [_batch(3)])
    other = tmp_path / "b" / "heatmaps.h5"
    other.parent.mkdir()
    shutil.copy(path, other)
    with open_cache(path) as c1, open_cache(other) as c2:
        np.testing.assert_array_equal(c1.heatmaps[:], c2.heatmaps[:])
        assert c1.attrs == c2.attrs


@pytest.mark.parametrize("name", ["heatmaps.h5", "heatmaps.npz"])
@pytest.mark.parametrize("flip,pipeline,want_flag", [
    ("shift", "hrnet", True), ("noshift", "udp", True), ("none", "dark", False),
    (True, "unknown", True), (False, "unknown", False)])
def test_flip_mode_and_pipeline_round_trip(tmp_path, name, flip, pipeline, want_flag):
    path = _write(tmp_path / name, [_batch(2, 1)], flip_test=flip, pipeline=pipeline)
    with open_cache(path) as c:
        assert c.meta.flip_test is want_flag
        assert c.meta.flip_mode == (flip if isinstance(flip, str) else
                                    "unknown" if flip else "none")
        assert c.meta.pipeline == pipeline


def test_cache_without_the_optional_attributes_still_loads(tmp_path):
    """A cache written before flip_mode/pipeline existed: flip_test=True -> mode unknown."""
    path = _write(tmp_path / "heatmaps.h5", [_batch(2, 1)], flip_test=True)
    with h5py.File(path, "r+") as f:
        for key in OPTIONAL_ATTRIBUTES:
            del f.attrs[key]
    with open_cache(path) as c:
        assert (c.meta.flip_test, c.meta.flip_mode, c.meta.pipeline) == \
            (True, "unknown", "unknown")


@pytest.mark.parametrize("attrs,field", [({"flip_mode": "sideways"}, "flip_mode"),
                                         ({"pipeline": "openpose"}, "pipeline"),
                                         ({"flip_mode": "shift", "flip_test": False},
                                          "flip_mode")])
def test_bad_flip_mode_or_pipeline_is_named(tmp_path, attrs, field):
    path = _write(tmp_path / "heatmaps.h5", [_batch(2, 1)])
    with h5py.File(path, "r+") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
    with pytest.raises(DatasetError) as info:
        open_cache(path)
    assert info.value.field == field and "heatmaps.h5" in str(info.value)
