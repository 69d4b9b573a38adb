"""The one COCO keypoints validator (daec_viz.io.annotations) and everyone who calls it."""

from __future__ import annotations

import json
import shutil

import pytest
from synthetic import make_dataset

from daec_viz.cli import main
from daec_viz.evaluation.coco_eval import clear_gt_cache, coco_keypoint_stats
from daec_viz.evaluation.predict import predict
from daec_viz.evaluation.scoring import evaluate, submission
from daec_viz.exceptions import DatasetError
from daec_viz.io.annotations import validate_coco_keypoints
from daec_viz.io.datasets import load_dataset


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The same dataset twice: with and without `iscrowd` / `num_keypoints`."""
    full = make_dataset(tmp_path_factory.mktemp("a") / "full", n_images=12, jitter=0.8,
                        noise=0.02, size=(20, 60), splits=False)
    bare = tmp_path_factory.mktemp("a") / "bare"
    shutil.copytree(full, bare)
    data = json.loads((bare / "annotations.json").read_text())
    for a in data["annotations"]:
        del a["iscrowd"], a["num_keypoints"]
    (bare / "annotations.json").write_text(json.dumps(data))
    return full, bare


def test_missing_iscrowd_and_num_keypoints_are_filled_the_same_everywhere(folders, tmp_path,
                                                                          capsys):
    full, bare = folders
    before = (bare / "annotations.json").read_bytes()
    a, b = load_dataset(full), load_dataset(bare)
    assert evaluate(b, "dark") == evaluate(a, "dark")  # load_dataset -> evaluate
    p = predict(a, "dark")
    res, ids = submission(a, p.coords_img, p.maxvals)
    (tmp_path / "res.json").write_text(json.dumps(list(res)))
    clear_gt_cache()
    assert coco_keypoint_stats(bare / "annotations.json", tmp_path / "res.json",
                               img_ids=ids) == coco_keypoint_stats(a.coco, res, img_ids=ids)
    assert main(["coco-eval", str(bare / "annotations.json"), str(tmp_path / "res.json"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["AP"] == pytest.approx(
        evaluate(a, "dark")["AP"], abs=1e-12)
    assert (bare / "annotations.json").read_bytes() == before  # never written


def test_filled_values_follow_coco():
    data = {"images": [{"id": 1}], "categories": [{"id": 1, "keypoints": ["a", "b"]}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "area": 10.0,
                             "bbox": [0, 0, 1, 1], "keypoints": [1, 2, 2, 0, 0, 0]}]}
    out, cat = validate_coco_keypoints(data)
    assert out["annotations"][0]["num_keypoints"] == 1 and out["annotations"][0]["iscrowd"] == 0
    assert "iscrowd" not in data["annotations"][0]  # the caller's dict is left alone
    assert cat["keypoints"] == ["a", "b"]


@pytest.mark.parametrize("change,field", [
    ({"keypoints": ["1", 2, 2, 0, 0, 0]}, "annotations.keypoints"),
    ({"keypoints": [1, 2, 2]}, "annotations.keypoints"),
    ({"bbox": [0, 0, 1]}, "annotations.bbox"),
    ({"area": "big"}, "annotations.area"),
    ({"iscrowd": 2}, "annotations.iscrowd"),
    ({"num_keypoints": -1}, "annotations.num_keypoints"),
    ({"image_id": 99}, "annotations.image_id"),
])
def test_errors_name_the_file_the_field_and_the_annotation(tmp_path, change, field, capsys):
    ann = {"id": 5, "image_id": 1, "category_id": 1, "area": 10.0, "bbox": [0, 0, 1, 1],
           "keypoints": [1, 2, 2, 0, 0, 0], **change}
    data = {"images": [{"id": 1}], "categories": [{"id": 1, "keypoints": ["a", "b"]}],
            "annotations": [ann]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError) as exc:
        validate_coco_keypoints(data, path)
    assert exc.value.field == field and "id 5" in str(exc.value)
    assert str(path) in str(exc.value)
    (tmp_path / "r.json").write_text("[]")
    assert main(["coco-eval", str(path), str(tmp_path / "r.json")]) == 2  # one line, exit 2
    err = capsys.readouterr().err
    assert field in err and str(path) in err and "Traceback" not in err
