"""Dataset folders: loading, views, streaming, geometry, read-only access, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from shared_data import COCO_MINI

from daec_viz.evaluation.oks import COCO_OKS_SIGMAS
from daec_viz.exceptions import DatasetError, InputError
from daec_viz.geometry import box_to_center_scale, to_heatmap, to_image
from daec_viz.io.coco_format import (
    COCO_FLIP_PAIRS,
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    make_coco_annotations,
)
from daec_viz.io.datasets import INSTANCE_COLUMNS, Dataset, load_dataset
from daec_viz.io.reader import _H5Source
from daec_viz.io.scan import scan_nonfinite
from daec_viz.io.writer import HeatmapWriter

H, W = 16, 12


def build(folder: Path, *, fmt: str = "h5", images: bool = True, splits: bool = True,
          n_images: int = 3, persons: int = 2, keypoint_names=None, sigmas=None,
          heatmaps=None, convention: str = "dark", affines=None, seed: int = 0) -> dict:
    """A small dataset folder: GT rows (ann_id set) and one detection per image."""
    rng = np.random.default_rng(seed)
    names = list(keypoint_names or COCO_KEYPOINT_NAMES)
    k = len(names)
    folder.mkdir(parents=True, exist_ok=True)
    imgs = [{"id": 10 * (i + 1), "file_name": f"{10 * (i + 1):012d}.jpg", "width": 320,
             "height": 240} for i in range(n_images)]
    anns = []
    for im in imgs:
        for _ in range(persons):
            xy = rng.uniform([20, 20], [300, 220], (k, 2)).round(1)
            v = rng.choice([0, 1, 2], k, p=[0.2, 0.2, 0.6])
            xy[v == 0] = 0
            anns.append({"image_id": im["id"], "keypoints": np.c_[xy, v]})
    data = make_coco_annotations(imgs, anns, names, sigmas=sigmas)
    (folder / "annotations.json").write_text(json.dumps(data))
    gt_boxes = np.array([a["bbox"] for a in data["annotations"]])
    gt_boxes[:, 2:] = np.maximum(gt_boxes[:, 2:], 10)
    det_boxes = rng.uniform([0, 0, 30, 60], [200, 100, 90, 130], (n_images, 4))
    boxes = np.concatenate([gt_boxes, det_boxes])
    n = len(boxes)
    center, scale = box_to_center_scale(boxes)
    table = {
        "image_ids": np.array([a["image_id"] for a in data["annotations"]]
                              + [im["id"] for im in imgs]),
        "ann_ids": np.array([a["id"] for a in data["annotations"]] + [-1] * n_images),
        "scores": np.r_[np.ones(len(gt_boxes)), rng.uniform(0.3, 0.9, n_images)],
        "centers": center, "scales": scale, "bboxes": boxes,
    }
    if splits:
        table["splits"] = np.where(table["image_ids"] == 10, "test", "train")
    if affines is not None:
        table["affines"] = affines
    hm = (rng.random((n, k, H, W)).astype(np.float32) if heatmaps is None else heatmaps)
    with HeatmapWriter(folder / f"heatmaps.{fmt}", input_size=(48, 64), sigma=2.0,
                       convention=convention, model="unit-net", keypoint_names=names,
                       provenance={"note": "test"}) as w:
        w.add(hm, **table)
    if images:
        (folder / "images").mkdir()
        for im in imgs:
            (folder / "images" / im["file_name"]).write_bytes(b"\xff\xd8 not really a jpeg")
    return {"coco": data, "heatmaps": hm, **table}


def snapshot(folder: Path) -> dict:
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            st = p.stat()
            digest = hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else None
            out[str(p.relative_to(folder))] = (st.st_mtime_ns, st.st_size, st.st_mode, digest)
    st = folder.stat()
    out["."] = (st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture(params=["h5", "npz"])
def folder(request, tmp_path):
    truth = build(tmp_path / "ds", fmt=request.param)
    return tmp_path / "ds", truth


def _raises(exc_info, path: Path, field: str | None) -> str:
    msg = str(exc_info.value)
    assert str(path) in msg, msg
    if field is not None:
        assert f"`{field}`" in msg, msg
    return msg


# --------------------------------------------------------------------------- basics

def test_load_dataset_contract(folder):
    path, truth = folder
    with load_dataset(path) as ds:
        n = len(truth["image_ids"])
        assert isinstance(ds, Dataset) and len(ds) == ds.num_instances == n
        assert ds.path == path
        assert ds.heatmaps.shape == (n, 17, H, W)
        np.testing.assert_array_equal(ds.heatmaps[2:5], truth["heatmaps"][2:5])
        assert list(ds.instances.columns) == list(INSTANCE_COLUMNS)
        np.testing.assert_array_equal(ds.instances["image_id"], truth["image_ids"])
        np.testing.assert_array_equal(ds.instances["ann_id"], truth["ann_ids"])
        np.testing.assert_allclose(ds.instances[["center_x", "center_y"]], truth["centers"])
        np.testing.assert_allclose(ds.instances[["scale_x", "scale_y"]], truth["scales"])
        np.testing.assert_allclose(ds.instances[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]],
                                   truth["bboxes"])
        np.testing.assert_allclose(ds.instances["score"], truth["scores"])
        assert ds.num_keypoints == 17 and ds.keypoint_names == COCO_KEYPOINT_NAMES
        np.testing.assert_array_equal(ds.oks_sigmas, COCO_OKS_SIGMAS)
        assert ds.skeleton == list(COCO_SKELETON)
        assert ds.flip_pairs == list(COCO_FLIP_PAIRS)
        assert ds.splits == ["test", "train"]
        assert ds.image_ids == [10, 20, 30]
        assert ds.category_id == 1
        assert ds.meta.model == "unit-net" and ds.meta.heatmap_size == (W, H)
        assert ds.meta.provenance == {"note": "test"}
        assert ds.warnings == []
        assert ds.image_path(20) == path / "images" / "000000000020.jpg"
        assert ds.image_path(999) is None
        assert len(ds.coco.getAnnIds()) == 6


def test_no_split_column_means_all(tmp_path):
    build(tmp_path, splits=False)
    ds = load_dataset(tmp_path)
    assert ds.splits == ["all"]
    assert len(ds.subset("all")) == len(ds)
    with pytest.raises(InputError, match="unknown split"):
        ds.subset("train")


def test_to_image_and_affines_follow_the_convention(tmp_path):
    truth = build(tmp_path, convention="hrnet")
    ds = load_dataset(tmp_path)
    rng = np.random.default_rng(1)
    rows = np.array([4, 0, 7])
    coords = rng.uniform(0, W - 1, (3, 17, 2))
    expected = to_image(coords, truth["centers"][rows], truth["scales"][rows], (W, H), "hrnet")
    np.testing.assert_allclose(ds.to_image(coords, rows), expected)
    assert ds.affines().shape == (len(ds), 2, 3)
    with pytest.raises(InputError) as ei:
        ds.to_image(coords, [0, 1])
    assert ei.value.field == "coords_hm"


def test_stored_affines_override_center_scale(tmp_path):
    n = 3 * 2 + 3
    aff = np.zeros((n, 2, 3))
    aff[:, 0, 0], aff[:, 1, 1] = 3.0, 2.0
    aff[:, :, 2] = np.arange(2 * n).reshape(n, 2)
    build(tmp_path, affines=aff)
    ds = load_dataset(tmp_path)
    np.testing.assert_array_equal(ds.affines([2]), aff[[2]])
    np.testing.assert_allclose(ds.to_image(np.array([[[1.0, 1.0]]]), [2]), [[[7.0, 7.0]]])


def test_gt_keypoints(folder):
    path, truth = folder
    ds = load_dataset(path)
    gt = ds.gt_keypoints()
    assert gt.shape == (len(ds), 17, 3)
    for row, ann_id in enumerate(truth["ann_ids"]):
        if ann_id == -1:
            assert np.isnan(gt[row]).all()
        else:
            ann = ds.coco.anns[int(ann_id)]
            np.testing.assert_array_equal(gt[row].reshape(-1), ann["keypoints"])
    np.testing.assert_array_equal(ds.gt_keypoints([3, 1]), gt[[3, 1]])


# --------------------------------------------------------------------------- subsets

def test_subset_by_split_and_rows(folder):
    path, truth = folder
    ds = load_dataset(path)
    test = ds.subset("test")
    rows = np.flatnonzero(truth["image_ids"] == 10)
    assert len(test) == rows.size and test.splits == ["test"]
    np.testing.assert_array_equal(test.instances["cache_row"], rows)
    assert list(test.instances.index) == list(range(rows.size))
    np.testing.assert_array_equal(test.heatmaps[:], truth["heatmaps"][rows])
    np.testing.assert_array_equal(test.gt_keypoints(), ds.gt_keypoints(rows))
    np.testing.assert_allclose(test.affines(), ds.affines(rows))
    assert test.image_ids == [10]
    assert test.coco.getImgIds() == [10]
    assert sorted(test.coco.getAnnIds()) == sorted(ds.coco.getAnnIds(imgIds=[10]))
    assert test.content_hash != ds.content_hash
    assert test.content_hash == ds.subset(["test"]).content_hash

    picked = ds.subset([7, 1, 4])
    np.testing.assert_array_equal(picked.heatmaps[:], truth["heatmaps"][[7, 1, 4]])
    nested = picked.subset([2, 0])
    np.testing.assert_array_equal(nested.instances["cache_row"], [4, 7])
    np.testing.assert_array_equal(nested.heatmaps[:], truth["heatmaps"][[4, 7]])
    seen = [(r.tolist(), hm) for r, hm in nested.iter_slices(batch=1)]
    assert [r for r, _ in seen] == [[0], [1]]
    np.testing.assert_array_equal(seen[1][1], truth["heatmaps"][[7]])

    mask = np.zeros(len(ds), bool)
    mask[[0, 8]] = True
    assert ds.subset(mask).instances["cache_row"].tolist() == [0, 8]
    assert len(ds.subset(np.array([], dtype=int))) == 0
    with pytest.raises(InputError, match="repeat"):
        ds.subset([1, 1])
    with pytest.raises(InputError) as ei:
        ds.subset([0, len(ds)])
    assert ei.value.field == "rows"
    with pytest.raises(InputError, match="unknown split"):
        ds.subset("val")


def test_iter_slices_covers_rows_in_order(folder):
    path, truth = folder
    ds = load_dataset(path)
    got_rows, got = [], []
    for rows, hm in ds.iter_slices(batch=4):
        assert len(rows) <= 4 and hm.dtype == np.float32
        got_rows.append(rows)
        got.append(hm)
    np.testing.assert_array_equal(np.concatenate(got_rows), np.arange(len(ds)))
    np.testing.assert_array_equal(np.concatenate(got), truth["heatmaps"])
    sel = [rows for rows, _ in ds.iter_slices(batch=2, rows=[8, 3, 2])]
    assert [r.tolist() for r in sel] == [[8, 3], [2]]
    with pytest.raises(InputError):
        next(ds.iter_slices(batch=0))


def test_streaming_never_materialises_the_cache(tmp_path, monkeypatch):
    """Walk a cache much larger than the slice: every HDF5 read stays one slice big and
    the peak of traced memory stays far below the cache size."""
    n, k, h, w = 240, 4, 64, 48
    names = ["a", "b", "c", "d"]
    rng = np.random.default_rng(0)
    imgs = [{"id": 1, "file_name": "x.jpg", "width": 640, "height": 480}]
    (tmp_path / "annotations.json").write_text(json.dumps(
        make_coco_annotations(imgs, [], names, sigmas=[0.5] * 4)))
    with HeatmapWriter(tmp_path / "heatmaps.h5", input_size=(192, 256), sigma=2.0,
                       keypoint_names=names) as wr:
        for _ in range(0, n, 60):
            wr.add(rng.random((60, k, h, w), dtype=np.float32), image_ids=np.ones(60),
                   centers=np.full((60, 2), 100.0), scales=np.ones((60, 2)))
    total_bytes = n * k * h * w * 4  # 11.8 MB

    reads = []  # rows of every read of the heatmaps dataset, whatever the h5py call
    orig_get, orig_direct = h5py.Dataset.__getitem__, h5py.Dataset.read_direct

    def spy_get(self, key):
        out = orig_get(self, key)
        if self.name == "/heatmaps":
            reads.append(out.shape[0] if out.ndim == 4 else 1)
        return out

    def spy_direct(self, dest, source_sel=None, dest_sel=None):
        if self.name == "/heatmaps":
            sel = source_sel if isinstance(source_sel, slice) else slice(0, self.shape[0])
            reads.append(len(range(*sel.indices(self.shape[0]))))
        return orig_direct(self, dest, source_sel, dest_sel)

    def spy_runs(self, out, pos, start, stop):  # the reader's own (low-level) H5Dread
        if self.dset.name == "/heatmaps":
            reads.append(stop - start)
        return orig_runs(self, out, pos, start, stop)

    orig_runs = _H5Source.read_into
    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy_get)
    monkeypatch.setattr(h5py.Dataset, "read_direct", spy_direct)
    monkeypatch.setattr(_H5Source, "read_into", spy_runs)
    ds = load_dataset(tmp_path)
    assert reads == []  # loading reads no heatmap
    tracemalloc.start()
    try:
        acc = 0.0
        for _rows, hm in ds.iter_slices(batch=8):
            acc += float(hm[:, :, 0, 0].sum())
        nonfinite = scan_nonfinite(ds, batch=8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    slice_bytes = 8 * k * h * w * 4
    assert max(reads) <= 8 and sum(reads) == 2 * n
    assert peak < 4 * slice_bytes < total_bytes / 7, (peak, slice_bytes, total_bytes)
    assert nonfinite.empty and acc > 0
    ds.close()


def test_loading_never_writes_into_the_folder(folder):
    path, _ = folder
    (path / "images" / "ignored.txt").write_text("x")
    before = snapshot(path)
    ds = load_dataset(path)
    for _ in ds.iter_slices(batch=3):
        pass
    ds.heatmaps[[5, 1]]
    sub = ds.subset("train")
    sub.coco  # noqa: B018 - builds the restricted index
    sub.gt_keypoints()
    scan_nonfinite(ds)
    ds.summary()
    _ = ds.content_hash
    ds.close()
    assert snapshot(path) == before


def test_content_hash_is_stable_and_tracks_the_files(folder):
    path, _ = folder
    h1 = load_dataset(path).content_hash
    assert h1 == load_dataset(path).content_hash and len(h1) == 40
    cache = next(path.glob("heatmaps.*"))
    st = cache.stat()
    os.utime(cache, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert load_dataset(path).content_hash != h1


# --------------------------------------------------------------------------- degradations

def test_missing_images_folder_degrades(tmp_path):
    build(tmp_path, images=False)
    ds = load_dataset(tmp_path)
    assert ds.image_path(10) is None
    assert len(ds.warnings) == 1 and "images" in ds.warnings[0]
    assert ds.gt_keypoints().shape[0] == len(ds)  # metrics still work
    assert sum(len(r) for r, _ in ds.iter_slices()) == len(ds)


def test_missing_image_file_degrades(tmp_path):
    build(tmp_path)
    (tmp_path / "images" / "000000000020.jpg").unlink()
    ds = load_dataset(tmp_path)
    assert ds.image_path(20) is None
    assert ds.image_path(10) == tmp_path / "images" / "000000000010.jpg"
    assert "1 of 3" in ds.warnings[0] and "000000000020.jpg" in ds.warnings[0]


def test_scan_nonfinite_reports_rows_and_joints(tmp_path):
    hm = np.random.default_rng(2).random((9, 17, H, W)).astype(np.float32)
    hm[2, 5, 3, 4] = np.nan
    hm[2, 5, 0, 0] = np.inf
    hm[7, 16, 1, 1] = -np.inf
    build(tmp_path, heatmaps=hm)
    ds = load_dataset(tmp_path)
    df = scan_nonfinite(ds, batch=4)
    assert df[["row", "joint", "count"]].values.tolist() == [[2, 5, 2], [7, 16, 1]]
    assert df["joint_name"].tolist() == ["left_shoulder", "right_ankle"]
    sub = ds.subset([7, 0])
    assert scan_nonfinite(sub)[["row", "joint"]].values.tolist() == [[0, 16]]


# --------------------------------------------------------------------------- bad input

def _edit_json(folder: Path, fn) -> Path:
    p = folder / "annotations.json"
    data = json.loads(p.read_text())
    fn(data)
    p.write_text(json.dumps(data))
    return p


def test_non_coco_keypoints_use_category_sigmas(tmp_path):
    names = ["head", "left_hand", "right_hand"]
    build(tmp_path, keypoint_names=names, sigmas=[0.1, 0.2, 0.3])
    ds = load_dataset(tmp_path)
    np.testing.assert_allclose(ds.oks_sigmas, [0.1, 0.2, 0.3])
    assert ds.flip_pairs == [(1, 2)] and ds.skeleton == []
    p = _edit_json(tmp_path, lambda d: d["categories"][0].pop("sigmas"))
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert "3 OKS sigmas" in _raises(ei, p, "categories.sigmas")
    p = _edit_json(tmp_path, lambda d: d["categories"][0].update(sigmas=[0.1, 0.2]))
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert "3 positive numbers" in _raises(ei, p, "categories.sigmas")


@pytest.mark.parametrize("edit,field,words", [
    (lambda d: d.pop("categories"), "categories", "missing"),
    (lambda d: d["categories"][0].pop("keypoints"), "categories", "exactly one"),
    (lambda d: d["annotations"][1].update(keypoints=[1, 2, 2]), "annotations.keypoints",
     "expected 51 numbers"),
    (lambda d: d["annotations"][0].pop("area"), "annotations.area", "number"),
    (lambda d: d["annotations"][0].pop("bbox"), "annotations.bbox", "x, y, w, h"),
    (lambda d: d["annotations"][2].update(id=d["annotations"][0]["id"]), "annotations.id",
     "unique"),
    (lambda d: d["images"][0].pop("id"), "images.id", "lacks"),
    (lambda d: d["images"][1].update(id=d["images"][0]["id"]), "images.id", "e.g. 10 repeats"),
    (lambda d: d["annotations"][3].update(image_id=99), "annotations.image_id",
     "image_id 99 is not in `images`"),
    (lambda d: d["categories"][0].update(skeleton=[[0, 18]]), "categories.skeleton",
     "1-based"),
])
def test_bad_annotations_name_file_and_field(tmp_path, edit, field, words):
    build(tmp_path)
    p = _edit_json(tmp_path, edit)
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert words in _raises(ei, p, field)


def test_annotations_not_json(tmp_path):
    build(tmp_path)
    p = tmp_path / "annotations.json"
    p.write_text("{ truncated")
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert "JSON" in _raises(ei, p, None)
    p.unlink()
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert "not found" in _raises(ei, p, None)


@pytest.mark.parametrize("fmt", ["h5", "npz"])
def test_image_ids_missing_from_annotations(tmp_path, fmt):
    build(tmp_path, fmt=fmt)
    ann = _edit_json(tmp_path, lambda d: (d.__setitem__(
        "images", [im for im in d["images"] if im["id"] != 30]), d.__setitem__(
        "annotations", [a for a in d["annotations"] if a["image_id"] != 30])))
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    msg = _raises(ei, tmp_path / f"heatmaps.{fmt}", "image_id")
    assert "[30]" in msg and str(ann) in msg


def test_ann_ids_must_exist_and_match_their_image(tmp_path):
    build(tmp_path)
    first = json.loads((tmp_path / "annotations.json").read_text())["annotations"][0]["id"]
    _edit_json(tmp_path, lambda d: d["annotations"].pop(0))
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert f"[{first}]" in _raises(ei, tmp_path / "heatmaps.h5", "ann_id")

    shutil.rmtree(tmp_path)
    build(tmp_path)
    _edit_json(tmp_path, lambda d: d["annotations"][0].update(image_id=30))
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert "belongs to image 30" in _raises(ei, tmp_path / "heatmaps.h5", "ann_id")


def test_keypoint_names_must_match_annotations(tmp_path):
    build(tmp_path)
    _edit_json(tmp_path, lambda d: d["categories"][0]["keypoints"].reverse())
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    _raises(ei, tmp_path / "heatmaps.h5", "keypoint_names")


def test_cache_presence(tmp_path):
    build(tmp_path)
    shutil.copy(tmp_path / "heatmaps.h5", tmp_path / "other.h5")
    (tmp_path / "heatmaps.h5").unlink()
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert "heatmaps.h5 or heatmaps.npz" in _raises(ei, tmp_path, "heatmaps")
    assert len(load_dataset(tmp_path, cache=tmp_path / "other.h5")) == 9
    shutil.copy(tmp_path / "other.h5", tmp_path / "heatmaps.h5")
    build(tmp_path / "b", fmt="npz")
    shutil.copy(tmp_path / "b" / "heatmaps.npz", tmp_path / "heatmaps.npz")
    with pytest.raises(DatasetError, match="both"):
        load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope")


def test_truncated_cache_through_load_dataset(tmp_path):
    build(tmp_path)
    p = tmp_path / "heatmaps.h5"
    p.write_bytes(p.read_bytes()[:3000])
    with pytest.raises(DatasetError) as ei:
        load_dataset(tmp_path)
    assert "truncated" in _raises(ei, p, None)


# --------------------------------------------------------------------------- real data

@pytest.mark.skipif(not (COCO_MINI / "person_keypoints.json").is_file(),
                    reason="shared coco-mini data not available")
def test_real_coco_mini_annotations(tmp_path):
    """The 12 real GT persons of coco-mini: Gaussians rendered at their GT joints and
    decoded by argmax come back within half a heatmap pixel of the truth."""
    data = json.loads((COCO_MINI / "person_keypoints.json").read_text())
    persons = [a for a in data["annotations"] if a["num_keypoints"] > 0]
    assert len(persons) == 12
    shutil.copy(COCO_MINI / "person_keypoints.json", tmp_path / "annotations.json")
    (tmp_path / "images").symlink_to(COCO_MINI / "images")
    center, scale = box_to_center_scale(np.array([a["bbox"] for a in persons]))
    gt = np.array([a["keypoints"] for a in persons], dtype=np.float64).reshape(12, 17, 3)
    hw, hh, sigma = 48, 64, 2.0
    gt_hm = to_heatmap(gt[..., :2], center, scale, (hw, hh), "dark")
    ys, xs = np.mgrid[0:hh, 0:hw]
    d2 = (xs - gt_hm[..., 0, None, None]) ** 2 + (ys - gt_hm[..., 1, None, None]) ** 2
    hm = np.exp(-d2 / (2 * sigma**2)).astype(np.float32)
    with HeatmapWriter(tmp_path / "heatmaps.h5", input_size=(192, 256), sigma=sigma,
                       model="rendered-gt", simulated=True) as w:
        w.add(hm, image_ids=[a["image_id"] for a in persons], centers=center, scales=scale,
              ann_ids=[a["id"] for a in persons], bboxes=[a["bbox"] for a in persons])
    before = snapshot(tmp_path)
    ds = load_dataset(tmp_path)
    assert len(ds) == 12 and ds.image_ids == sorted({a["image_id"] for a in persons})
    assert len(ds.coco.getAnnIds()) == 14
    assert ds.coco.loadCats(1)[0]["keypoints"] == list(COCO_KEYPOINT_NAMES)
    assert ds.skeleton == [(a - 1, b - 1) for a, b in data["categories"][0]["skeleton"]]
    assert ds.warnings == []
    assert all(ds.image_path(i).is_file() for i in ds.image_ids)
    np.testing.assert_array_equal(ds.gt_keypoints(), gt)
    coords = []
    for _rows, h in ds.iter_slices(batch=5):
        flat = h.reshape(*h.shape[:2], -1).argmax(-1)
        coords.append(np.stack([flat % hw, flat // hw], -1).astype(np.float64))
    pred = ds.to_image(np.concatenate(coords))
    labelled = gt[..., 2] > 0
    gain = (scale * 200 - 1) / (np.array([hw, hh]) - 1)  # image px per heatmap px
    err = np.abs(pred - gt[..., :2])[labelled]
    bound = np.broadcast_to(gain[:, None, :], gt[..., :2].shape)[labelled] * 0.5 + 1e-6
    assert np.all(err <= bound)
    ds.close()
    assert snapshot(tmp_path) == before
