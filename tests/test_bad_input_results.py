"""Bad input, results and detection files (``coco-eval``, ``predict --out``): one line
naming the file and the field; empty results and crowd-only ground truth run with a
warning; files the CLI writes appear atomically."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from bad_input_support import deny_reads, expect_error, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import make_dataset

from daec_viz.evaluation.coco_eval import load_results
from daec_viz.exceptions import InputError
from daec_viz.io.atomic import atomic_write, write_json_atomic


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("res") / "ds", n_images=4, size=(20, 50))


@pytest.fixture(scope="module")
def good_results(ds, tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "results.json"
    run_cli(["predict", ds, "--method", "standard", "--out", out], code=0, inputs=(ds,))
    return json.loads(out.read_text())


def _write(tmp_path, obj, name="results.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def _r(edit):
    def f(results):
        r = copy.deepcopy(results)
        edit(r)
        return r
    return f


RESULT_CASES = [
    ("keypoints-strings", _r(lambda r: r[0].__setitem__(
        "keypoints", [str(v) for v in r[0]["keypoints"]])), "keypoints"),
    ("keypoints-short", _r(lambda r: r[0]["keypoints"].pop()), "[0].keypoints"),
    ("keypoints-long", _r(lambda r: r[1]["keypoints"].extend([1, 2, 3])), "[1].keypoints"),
    ("keypoints-number", _r(lambda r: r[0].__setitem__("keypoints", 5)), "[0].keypoints"),
    ("keypoints-null", _r(lambda r: r[0].__setitem__("keypoints", None)), "[0].keypoints"),
    ("keypoints-dict", _r(lambda r: r[0].__setitem__("keypoints", {"x": 1})),
     "[0].keypoints"),
    ("keypoints-nested", _r(lambda r: r[0].__setitem__("keypoints", [[1, 2, 3]] * 17)),
     "keypoints"),
    ("keypoint-null-value", _r(lambda r: r[0]["keypoints"].__setitem__(4, None)),
     "keypoints"),
    ("score-string", _r(lambda r: r[0].__setitem__("score", "0.9")), "[0].score"),
    ("score-bool", _r(lambda r: r[0].__setitem__("score", True)), "[0].score"),
    ("image-id-string", _r(lambda r: r[0].__setitem__("image_id", "1000")), "[0].image_id"),
    ("image-id-float", _r(lambda r: r[0].__setitem__("image_id", 1000.0)), "[0].image_id"),
    ("image-id-unknown", _r(lambda r: r[0].__setitem__("image_id", 5)), "image_id"),
    ("missing-score", _r(lambda r: r[0].pop("score")), "[0].score"),
    ("missing-keypoints", _r(lambda r: r[2].pop("keypoints")), "[2].keypoints"),
    ("entry-not-object", _r(lambda r: r.__setitem__(0, [1, 2])), "[0]"),
    ("top-level-object", lambda r: {"results": r}, "results"),
]


@pytest.mark.parametrize("make, field", [c[1:] for c in RESULT_CASES],
                         ids=[c[0] for c in RESULT_CASES])
def test_malformed_results(ds, good_results, tmp_path, make, field):
    res = _write(tmp_path, make(good_results))
    run_cli(["coco-eval", ds / "annotations.json", res], inputs=(ds, res),
            mentions=(str(res), f"{field}`"))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["keypoints", "score"])
def test_non_finite_results(ds, good_results, tmp_path, literal, where):
    r = copy.deepcopy(good_results)
    if where == "keypoints":
        r[1]["keypoints"][3] = "@@"
    else:
        r[1]["score"] = "@@"
    res = _write(tmp_path, json.dumps(r).replace('"@@"', literal))
    run_cli(["coco-eval", ds / "annotations.json", res], inputs=(ds, res),
            mentions=(str(res), "[1]", "non-finite" if where == "keypoints" else "finite"))


@pytest.mark.parametrize("text, expected", [
    ("", "not valid JSON"), ("[{", "not valid JSON"), ("[" * 100_000, "nested too deeply"),
    ("\udcff", "not valid JSON")], ids=["empty", "truncated", "deep", "not-utf8"])
def test_unparseable_results(ds, tmp_path, text, expected):
    res = tmp_path / "results.json"
    res.write_bytes(text.encode("utf-8", "surrogateescape"))
    run_cli(["coco-eval", ds / "annotations.json", res], inputs=(ds, res),
            mentions=(str(res), expected))


def test_results_is_a_folder(ds, tmp_path):
    run_cli(["coco-eval", ds / "annotations.json", tmp_path], inputs=(ds,),
            mentions=(str(tmp_path), "is a folder"))


def test_results_missing(ds, tmp_path):
    run_cli(["coco-eval", ds / "annotations.json", tmp_path / "none.json"], inputs=(ds,),
            mentions=("none.json", "not found"))


def test_gt_is_a_folder(ds, good_results, tmp_path):
    res = _write(tmp_path, good_results)
    run_cli(["coco-eval", tmp_path, res], inputs=(ds, res),
            mentions=(str(tmp_path), "is a folder"))


def test_results_unreadable_emulated(tmp_path, good_results):
    res = _write(tmp_path, good_results)
    with deny_reads(res):
        expect_error(load_results, res, exc=InputError,
                     mentions=(str(res), "Permission denied"))


def test_empty_results_warn(ds, tmp_path):
    res = _write(tmp_path, [])
    out = run_cli(["coco-eval", ds / "annotations.json", res, "--json"], inputs=(ds, res),
                  code=0, warns=("field `results`", "no results"))
    assert json.loads(out.out)["AP"] == 0.0


def test_crowd_only_ground_truth_warns(ds, good_results, tmp_path):
    gt = json.loads((ds / "annotations.json").read_text())
    for a in gt["annotations"]:
        a["iscrowd"] = 1
    gt_path = _write(tmp_path, gt, "gt.json")
    res = _write(tmp_path, good_results)
    out = run_cli(["coco-eval", gt_path, res, "--json"], inputs=(gt_path, res), code=0,
                  warns=("gt.json", "field `annotations.iscrowd`", "undefined"))
    assert json.loads(out.out)["AP"] == -1.0


def test_unlabelled_only_ground_truth_warns(ds, good_results, tmp_path):
    gt = json.loads((ds / "annotations.json").read_text())
    for a in gt["annotations"]:
        a["keypoints"] = [0] * 51
        a["num_keypoints"] = 0
    gt_path = _write(tmp_path, gt, "gt.json")
    res = _write(tmp_path, good_results)
    run_cli(["coco-eval", gt_path, res], inputs=(gt_path, res), code=0,
            warns=("gt.json", "undefined"))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["image_id", "category_id", "keypoints", "score"]),
       value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats()
                          | st.text(max_size=3), lambda x: st.lists(x, max_size=60),
                          max_leaves=80))
def test_fuzz_result_field(ds, good_results, tmp_path_factory, field, value):
    """Any value in any field of one result: clean stats or one InputError."""
    from daec_viz.evaluation.coco_eval import coco_keypoint_stats
    r = copy.deepcopy(good_results)
    r[0][field] = value
    try:
        coco_keypoint_stats(ds / "annotations.json", r)
    except InputError as exc:
        assert "\n" not in str(exc)


# ------------------------------------------------------------------------ detections

DETECTION_CASES = [
    ("not-a-list", {"a": 1}, "list of detections"),
    ("entry-without-bbox", [{"image_id": 1000, "score": 0.9}], "bbox"),
    ("bbox-strings", [{"image_id": 1000, "bbox": ["1", "2", "3", "4"], "score": 0.9,
                       "category_id": 1}], "bbox"),
    ("unknown-image", [{"image_id": 5, "bbox": [1, 2, 3, 4], "score": 0.9,
                        "category_id": 1}], "image"),
    ("parse-error", "[{", "parse error"),
]


@pytest.mark.parametrize("obj, expected", [c[1:] for c in DETECTION_CASES],
                         ids=[c[0] for c in DETECTION_CASES])
def test_malformed_detections(tmp_path, obj, expected):
    from daec_viz.realnet.boxes import detection_boxes
    p = _write(tmp_path, obj, "dets.json")
    expect_error(detection_boxes, p, {1000}, 1, 0.0, exc=InputError, inputs=(p,),
                 mentions=("dets.json", expected))


# --------------------------------------------------------------------- atomic writes

def test_atomic_write_leaves_nothing_on_error(tmp_path):
    out = tmp_path / "table.csv"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(out) as fh:
        fh.write("half")
        raise RuntimeError("interrupted")
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_atomic_write_follows_umask(tmp_path):
    import os
    mask = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(mask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("cmd", ["predict", "sweep"])
def test_interrupted_cli_write_leaves_no_half_file(ds, tmp_path, monkeypatch, cmd):
    """A crash while the output is written: the old file stays, no half file appears."""
    import pandas as pd

    def boom(*args, **kwargs):  # write half the output, then Ctrl-C
        target = next((a for a in args if hasattr(a, "write") or isinstance(a, (str, Path))),
                      None)
        if hasattr(target, "write"):
            target.write("half")
            target.flush()
        elif target is not None:
            Path(target).write_text("half")
        raise KeyboardInterrupt
    monkeypatch.setattr(json, "dump", boom)
    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    out = tmp_path / ("r.json" if cmd == "predict" else "s.csv")
    out.write_text("previous")
    args = (["predict", ds, "--method", "standard", "--out", out] if cmd == "predict" else
            ["sweep", ds, "--deltas", "0:1:1", "--patterns", "BR", "--smooth", "off",
             "--bootstrap", "0", "--no-cache", "--out", out])
    res = run_cli(args, inputs=(ds,), code=130)
    assert "interrupted" in res.err
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == [out.name]


@pytest.mark.parametrize("cmd", ["predict", "sweep"])
def test_out_is_a_folder(ds, tmp_path, cmd):
    out = tmp_path / ("r.json" if cmd == "predict" else "s.csv")
    out.mkdir()
    args = (["predict", ds, "--method", "standard", "--out", out] if cmd == "predict" else
            ["sweep", ds, "--out", out])
    run_cli(args, inputs=(ds, out), mentions=(str(out), "field `--out`", "is a folder"))


def test_out_in_unwritable_place(ds, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run_cli(["predict", ds, "--method", "standard", "--out", blocker / "r.json"],
            inputs=(ds, blocker), mentions=(str(blocker),))


def test_copy_of_dataset_unchanged_by_every_reading_command(ds, tmp_path, monkeypatch):
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "ds"
    shutil.copytree(ds, folder)
    for args in (["info", folder, "--scan"], ["evaluate", folder, "--method", "dark"],
                 ["errors", folder, "--no-ap", "--bootstrap", "10"]):
        run_cli(args, inputs=(folder,), code=0)
