"""COCO keypoints constants and the annotation builder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from shared_data import COCO_MINI

from daec_viz.evaluation.oks import COCO_OKS_SIGMAS
from daec_viz.exceptions import InputError
from daec_viz.io.annotations import load_annotations
from daec_viz.io.coco_format import (
    COCO_FLIP_PAIRS,
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    flip_pairs_from_names,
    make_coco_annotations,
)


def test_constants_match_pycocotools_and_coco():
    # pycocotools' COCOeval keypoint sigmas
    from pycocotools.cocoeval import Params
    np.testing.assert_allclose(COCO_OKS_SIGMAS, Params(iouType="keypoints").kpt_oks_sigmas)
    assert len(COCO_KEYPOINT_NAMES) == 17
    assert flip_pairs_from_names(COCO_KEYPOINT_NAMES) == list(COCO_FLIP_PAIRS)
    for left, right in COCO_FLIP_PAIRS:
        assert COCO_KEYPOINT_NAMES[left].replace("left", "right") == COCO_KEYPOINT_NAMES[right]
        assert COCO_OKS_SIGMAS[left] == COCO_OKS_SIGMAS[right]


@pytest.mark.skipif(not (COCO_MINI / "person_keypoints.json").is_file(),
                    reason="shared coco-mini data not available")
def test_constants_match_the_official_category():
    cat = json.loads((COCO_MINI / "person_keypoints.json").read_text())["categories"][0]
    assert tuple(cat["keypoints"]) == COCO_KEYPOINT_NAMES
    assert [[a + 1, b + 1] for a, b in COCO_SKELETON] == cat["skeleton"]
    built = make_coco_annotations([], [])["categories"][0]
    assert built["skeleton"] == cat["skeleton"] and built["keypoints"] == cat["keypoints"]


def test_flip_pairs_from_other_names():
    names = ["Head", "LeftHand", "RightHand", "left foot", "right foot", "l_knee"]
    assert flip_pairs_from_names(names) == [(1, 2), (3, 4)]
    # upper case pairs; an odd case has no partner (never paired with itself)
    assert flip_pairs_from_names(["LEFT_EYE", "RIGHT_EYE", "LeFt_ear"]) == [(0, 1)]


def test_make_coco_annotations_is_loadable(tmp_path):
    kp = np.zeros((17, 3))
    kp[[0, 5, 16]] = [[10, 20, 2], [30, 5, 1], [12.5, 60, 2]]
    d = make_coco_annotations(
        [{"id": np.int64(3), "file_name": "a.jpg", "width": 100, "height": 80}],
        [{"image_id": 3, "keypoints": kp}, {"image_id": 3, "keypoints": kp.reshape(-1),
                                            "id": 1, "bbox": [0, 0, 50, 50]}])
    a0, a1 = d["annotations"]
    assert a1["id"] == 1 and a0["id"] == 2  # free ids avoid the given one
    assert a0["bbox"] == [10.0, 5.0, 20.0, 55.0] and a0["area"] == 1100.0
    assert a0["num_keypoints"] == 3 and a0["iscrowd"] == 0 and a0["category_id"] == 1
    assert a0["keypoints"][48:51] == [12.5, 60, 2]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(d))  # plain Python types only
    coco, cat = load_annotations(path)
    assert isinstance(coco, COCO) and coco.getAnnIds(imgIds=[3]) == [2, 1]
    assert cat["keypoints"] == list(COCO_KEYPOINT_NAMES)


def test_make_coco_annotations_rejects_bad_input():
    img = [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}]
    with pytest.raises(InputError) as ei:
        make_coco_annotations(img, [{"image_id": 1, "keypoints": [1, 2, 2]}])
    assert ei.value.field == "annotations.keypoints" and "51" in str(ei.value)
    with pytest.raises(InputError) as ei:
        make_coco_annotations(img, [{"image_id": 2, "keypoints": [0] * 51}])
    assert ei.value.field == "annotations.image_id"
    with pytest.raises(InputError) as ei:
        make_coco_annotations(img, [], keypoint_names=["a", "b"])
    assert ei.value.field == "sigmas"
    with pytest.raises(InputError) as ei:
        make_coco_annotations(img, [], keypoint_names=["a", "b"], sigmas=[1.0, 1.0],
                              skeleton=[(0, 2)])
    assert ei.value.field == "skeleton"
    with pytest.raises(InputError) as ei:
        make_coco_annotations([{"id": 1}], [])
    assert ei.value.field == "images.file_name"
    d = make_coco_annotations(img, [], keypoint_names=["a", "b"], sigmas=[0.5, 0.25],
                              skeleton=[(0, 1)])
    assert d["categories"][0]["skeleton"] == [[1, 2]]
    assert d["categories"][0]["sigmas"] == [0.5, 0.25]
