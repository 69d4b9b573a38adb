"""Bad input, heatmap caches (HDF5 and npz) and dataset folders: one line naming the file
and the field, or a visible warning for NaN/Inf/all-zero maps; inputs never modified."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
from bad_input_support import chmod_000, deny_reads, expect_error, no_dac_prefix, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import make_dataset

from daec_viz.exceptions import DatasetError
from daec_viz.io.reader import open_cache
from daec_viz.io.writer import HeatmapWriter


@pytest.fixture(scope="module")
def good_h5(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("c") / "h5", n_images=4, size=(20, 50))


@pytest.fixture(scope="module")
def good_npz(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("c") / "npz", n_images=4, size=(20, 50),
                        fmt="npz")


def _copy(src, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(src, folder)
    return folder


def _h5_case(good_h5, tmp_path, edit):
    folder = _copy(good_h5, tmp_path)
    with h5py.File(folder / "heatmaps.h5", "r+") as f:
        edit(f)
    return folder


def _replace(f, name, value):
    del f[name]
    f[name] = value


H5_CASES = [
    ("heatmaps-float64", lambda f: _replace(f, "heatmaps", f["heatmaps"][()].astype("f8")),
     "heatmaps", "float16 or float32"),
    ("heatmaps-int", lambda f: _replace(f, "heatmaps", f["heatmaps"][()].astype("i4")),
     "heatmaps", "float16 or float32"),
    ("heatmaps-3d", lambda f: _replace(f, "heatmaps", f["heatmaps"][()][:, 0]),
     "heatmaps", "(N, K, H, W)"),
    ("heatmaps-wrong-K", lambda f: _replace(f, "heatmaps", f["heatmaps"][()][:, :5]),
     "heatmaps", "keypoint_names"),
    ("heatmaps-wrong-size", lambda f: _replace(f, "heatmaps", f["heatmaps"][()][..., :40]),
     "heatmaps", "heatmap_size"),
    ("heatmaps-missing", lambda f: f.__delitem__("heatmaps"), "heatmaps", "missing"),
    ("heatmaps-group", lambda f: (f.__delitem__("heatmaps"), f.create_group("heatmaps")),
     "heatmaps", "group"),
    ("image-id-float", lambda f: _replace(f, "image_id", f["image_id"][()] + 0.5),
     "image_id", "integer"),
    ("image-id-strings", lambda f: _replace(f, "image_id", np.array(
        [b"a"] * len(f["image_id"]))), "image_id", "integer"),
    ("center-nan", lambda f: f["center"].__setitem__((0, 0), np.nan), "center", "finite"),
    ("bbox-inf", lambda f: f["bbox"].__setitem__((0, 2), np.inf), "bbox", "finite"),
    ("score-nan", lambda f: f["score"].__setitem__(0, np.nan), "score", "finite"),
    ("scale-zero", lambda f: f["scale"].__setitem__(0, [0.0, 1.0]), "scale", "positive"),
    ("scale-negative", lambda f: f["scale"].__setitem__(1, [-1.0, 1.0]), "scale", "positive"),
    ("rows-mismatch", lambda f: _replace(f, "score", f["score"][()][:-1]), "score", "rows"),
    ("center-wrong-shape", lambda f: _replace(f, "center", f["center"][()][:, :1]),
     "center", "(N, 2)"),
    ("unknown-array", lambda f: f.create_dataset("extra", data=[1]), "extra", "unknown"),
    ("attr-missing", lambda f: f.attrs.__delitem__("sigma"), "sigma", "missing"),
    ("attr-unknown", lambda f: f.attrs.__setitem__("colour", "red"), "colour", "unknown"),
    ("format-wrong", lambda f: f.attrs.__setitem__("format", "other"), "format", "expected"),
    ("schema-newer", lambda f: f.attrs.__setitem__("schema_version", 9), "schema_version",
     "newer"),
    ("sigma-nan", lambda f: f.attrs.__setitem__("sigma", np.nan), "sigma", "positive"),
    ("sigma-negative", lambda f: f.attrs.__setitem__("sigma", -2.0), "sigma", "positive"),
    ("sigma-string", lambda f: f.attrs.__setitem__("sigma", "two"), "sigma", "positive"),
    ("convention-unknown", lambda f: f.attrs.__setitem__("convention", "mine"),
     "convention", "expected one of"),
    ("heatmap-size-zero", lambda f: f.attrs.__setitem__("heatmap_size", [0, 64]),
     "heatmap_size", "positive integers"),
    ("input-size-float", lambda f: f.attrs.__setitem__("input_size", [191.5, 256]),
     "input_size", "integers"),
    ("keypoint-names-repeat", lambda f: f.attrs.__setitem__("keypoint_names",
                                                            ["nose"] * 17),
     "keypoint_names", "unique"),
    ("flip-test-string", lambda f: f.attrs.__setitem__("flip_test", "yes"), "flip_test",
     "true or false"),
    ("provenance-not-json", lambda f: f.attrs.__setitem__("provenance", "{oops"),
     "provenance", "JSON"),
    ("flip-mode-contradiction", lambda f: f.attrs.__setitem__("flip_mode", "shift"),
     "flip_mode", "contradicts"),
    ("pipeline-unknown", lambda f: f.attrs.__setitem__("pipeline", "mine"), "pipeline",
     "expected one of"),
    ("image-id-not-in-annotations", lambda f: f["image_id"].__setitem__(0, 424242),
     "image_id", "not in"),
    ("ann-id-unknown", lambda f: f["ann_id"].__setitem__(0, 424242), "ann_id", "not in"),
]


@pytest.mark.parametrize("edit, field, expected", [c[1:] for c in H5_CASES],
                         ids=[c[0] for c in H5_CASES])
def test_malformed_h5_cache(good_h5, tmp_path, edit, field, expected):
    folder = _h5_case(good_h5, tmp_path, edit)
    run_cli(["info", folder], inputs=(folder,),
            mentions=("heatmaps.h5", f"field `{field}`", expected))


def _npz_case(good_npz, tmp_path, edit):
    folder = _copy(good_npz, tmp_path)
    with np.load(good_npz / "heatmaps.npz", allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    edit(data)
    with open(folder / "heatmaps.npz", "wb") as fh:
        np.savez(fh, **data)
    return folder


def _attrs(edit):
    def f(data):
        a = json.loads(str(data["attrs"]))
        edit(a)
        data["attrs"] = np.array(json.dumps(a))
    return f


NPZ_CASES = [
    ("object-array", lambda d: d.__setitem__("score", d["score"].astype(object)), "score",
     "unpickling"),
    ("attrs-missing", lambda d: d.pop("attrs"), "attrs", "missing"),
    ("attrs-not-json", lambda d: d.__setitem__("attrs", np.array("{nope")), "attrs", "JSON"),
    ("attrs-list", lambda d: d.__setitem__("attrs", np.array("[1, 2]")), "attrs",
     "JSON object"),
    ("attrs-bytes", lambda d: d.__setitem__("attrs", np.array(b"{}")), "attrs", "unicode"),
    ("sigma-null", _attrs(lambda a: a.__setitem__("sigma", None)), "sigma", "positive"),
    ("heatmaps-float64", lambda d: d.__setitem__("heatmaps", d["heatmaps"].astype("f8")),
     "heatmaps", "float16 or float32"),
    ("split-int", lambda d: d.__setitem__("split", np.zeros(len(d["score"]), int)), "split",
     "strings"),
    ("affine-wrong-shape", lambda d: d.__setitem__("affine", np.zeros((len(d["score"]), 3))),
     "affine", "(N, 2, 3)"),
]


@pytest.mark.parametrize("edit, field, expected", [c[1:] for c in NPZ_CASES],
                         ids=[c[0] for c in NPZ_CASES])
def test_malformed_npz_cache(good_npz, tmp_path, edit, field, expected):
    folder = _npz_case(good_npz, tmp_path, edit)
    run_cli(["info", folder], inputs=(folder,),
            mentions=("heatmaps.npz", f"field `{field}`", expected))


@pytest.mark.parametrize("fmt", ["h5", "npz"])
@pytest.mark.parametrize("keep", [0, 7, 100, 2000, 0.5, 0.99])
def test_truncated_cache(good_h5, good_npz, tmp_path, fmt, keep):
    folder = _copy(good_h5 if fmt == "h5" else good_npz, tmp_path)
    cache = folder / f"heatmaps.{fmt}"
    data = cache.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    cache.write_bytes(data[:cut])
    # `info --scan` reads every heatmap too
    run_cli(["info", folder, "--scan"], inputs=(folder,), mentions=(f"heatmaps.{fmt}",))


@pytest.mark.parametrize("fmt", ["h5", "npz"])
def test_cache_of_random_bytes(good_h5, tmp_path, fmt):
    folder = _copy(good_h5, tmp_path)
    (folder / "heatmaps.h5").unlink()
    (folder / f"heatmaps.{fmt}").write_bytes(np.random.default_rng(0).bytes(5000))
    run_cli(["info", folder], inputs=(folder,), mentions=(f"heatmaps.{fmt}", "corrupt"))


@pytest.mark.parametrize("fmt", ["h5", "npz"])
def test_only_a_half_written_partial(good_h5, tmp_path, fmt):
    """A writer killed mid-way leaves ``heatmaps.FMT.partial``, never ``heatmaps.FMT``."""
    folder = _copy(good_h5, tmp_path)
    (folder / "heatmaps.h5").unlink()
    w = HeatmapWriter(folder / f"heatmaps.{fmt}", input_size=(192, 256), sigma=2.0)
    w.add(np.zeros((2, 17, 64, 48), np.float32), image_ids=[1000, 1000],
          centers=np.full((2, 2), 50.0), scales=np.ones((2, 2)))
    if fmt == "npz":  # the npz writer keeps parts in memory: emulate its half file
        (folder / "heatmaps.npz.partial").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    w._h5 = None if fmt == "npz" else w._h5  # (the h5 partial exists on disk already)
    assert (folder / f"heatmaps.{fmt}.partial").exists()
    run_cli(["info", folder], inputs=(folder,),
            mentions=(str(folder), "field `heatmaps`", "no heatmap cache"))
    w.abort()


def test_both_caches(good_h5, good_npz, tmp_path):
    folder = _copy(good_h5, tmp_path)
    shutil.copy(good_npz / "heatmaps.npz", folder / "heatmaps.npz")
    run_cli(["info", folder], inputs=(folder,), mentions=("both", "field `heatmaps`"))


def test_cache_is_a_folder(good_h5, tmp_path):
    folder = _copy(good_h5, tmp_path)
    expect_error(open_cache, folder, exc=DatasetError, mentions=(str(folder), "is a folder"))


def test_dataset_path_is_a_file(good_h5):
    run_cli(["info", good_h5 / "annotations.json"], inputs=(good_h5,),
            mentions=("annotations.json", "expected a dataset folder"))


def test_dataset_folder_missing(tmp_path):
    run_cli(["info", tmp_path / "nope"], mentions=("nope", "not found"))


def test_empty_dataset_folder(tmp_path):
    run_cli(["info", tmp_path], inputs=(tmp_path,), mentions=("annotations.json", "not found"))


def test_cache_unreadable_emulated(good_h5, tmp_path):
    folder = _copy(good_h5, tmp_path)
    with deny_reads(folder / "heatmaps.h5"):
        expect_error(open_cache, folder / "heatmaps.h5", exc=DatasetError,
                     mentions=("heatmaps.h5", "Permission denied"))


@pytest.mark.slow
def test_unreadable_cache_and_folder_real(good_h5, tmp_path):
    """Real permission checks in a subprocess: a cache that cannot be read, a dataset
    folder that cannot be listed, a symlinked cache inside an unreadable folder."""
    prefix = no_dac_prefix()
    folder = _copy(good_h5, tmp_path)
    with chmod_000(folder / "heatmaps.h5"):
        run_cli(["info", folder], inputs=(folder,), prefix=prefix,
                mentions=("heatmaps.h5", "Permission denied"))
    with chmod_000(folder):
        run_cli(["info", folder], prefix=prefix, mentions=(str(folder),))
    secret = tmp_path / "secret"
    secret.mkdir()
    (folder / "heatmaps.h5").rename(secret / "heatmaps.h5")
    (folder / "heatmaps.h5").symlink_to(secret / "heatmaps.h5")
    with chmod_000(secret):
        run_cli(["info", folder], inputs=(folder,), prefix=prefix,
                mentions=("heatmaps.h5",))


@pytest.mark.parametrize("kind, fill", [("nan", np.nan), ("inf", np.inf),
                                        ("zero", 0.0), ("negative", -1.0)])
def test_invalid_maps_run_with_a_warning(good_h5, tmp_path, kind, fill):
    """NaN/Inf/all-zero/all-negative maps are decoded as invalid and said so."""
    def edit(f):
        hm = f["heatmaps"][()]
        hm[0, 3] = fill
        hm[1] = fill
        _replace(f, "heatmaps", hm)
    folder = _h5_case(good_h5, tmp_path, edit)
    res = run_cli(["evaluate", folder, "--method", "daec", "--json"], inputs=(folder,),
                  code=0, warns=("heatmaps.h5", "field `heatmaps`", "18 of "))
    assert json.loads(res.out)["stats"]["AP"] <= 1.0


# ------------------------------------------------------------------------- fuzzing

@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fmt=st.sampled_from(["h5", "npz"]), cut=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4))
def test_fuzz_damaged_cache(good_h5, good_npz, tmp_path_factory, fmt, cut, flips):
    """Truncate and overwrite random bytes: opening and reading every map either works
    or raises DatasetError, never anything else."""
    src = (good_h5 if fmt == "h5" else good_npz) / f"heatmaps.{fmt}"
    data = bytearray(src.read_bytes())
    for pos, byte in flips:
        data[int(pos * (len(data) - 1))] = byte
    path = tmp_path_factory.mktemp("fz") / f"heatmaps.{fmt}"
    path.write_bytes(bytes(data[:max(0, int(cut * len(data)))]) if cut < 1 else bytes(data))
    try:
        with open_cache(path) as cache:
            cache.heatmaps[0:len(cache)]
    except DatasetError as exc:
        assert str(path) in str(exc)


def _secret(tmp_path):
    """An HDF5 file outside the dataset folder, holding an array a link could reach."""
    other = tmp_path / "elsewhere.h5"
    with h5py.File(other, "w") as g:
        g["score"] = np.ones(4)
    return other


def _external_link(tmp_path):
    def edit(f):
        n = f["score"].shape[0]
        with h5py.File(_secret(tmp_path), "r+") as g:
            del g["score"]
            g["score"] = np.ones(n)
        del f["score"]
        f["score"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "score")
    return edit


def _external_storage(tmp_path):
    def edit(f):
        n = f["score"].shape[0]
        raw = tmp_path / "raw.bin"
        np.ones(n).tofile(raw)
        del f["score"]
        f.create_dataset("score", shape=(n,), dtype="f8", external=[(str(raw), 0, 8 * n)])
    return edit


@pytest.mark.parametrize("make_edit", [_external_link, _external_storage],
                         ids=["external-link", "external-storage"])
def test_h5_arrays_must_live_in_the_file(good_h5, tmp_path, make_edit):
    """A cache whose arrays are stored in other files (an external link or external raw
    storage) would read files anywhere: refused, naming the array."""
    folder = _h5_case(good_h5, tmp_path, make_edit(tmp_path))
    run_cli(["info", folder], inputs=(folder,),
            mentions=("heatmaps.h5", "field `score`", "stored in this file"))
