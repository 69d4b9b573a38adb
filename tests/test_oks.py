"""The OKS rule (daec_viz.evaluation.oks) against pycocotools' computeOks."""

from __future__ import annotations

import contextlib
import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from daec_viz.evaluation.oks import (
    COCO_OKS_SIGMAS,
    flip_permutation,
    instance_oks,
    keypoint_similarity,
)
from daec_viz.io.coco_format import COCO_FLIP_PAIRS


def test_instance_oks_equals_pycocotools_compute_oks():
    rng = np.random.default_rng(0)
    gt_xy = rng.uniform(50, 150, (17, 2))
    vis = rng.choice([0, 1, 2], 17)
    vis[0] = 2
    pred = gt_xy + rng.normal(0, 4, (3, 17, 2))  # three detections of one person
    gt_kp = np.column_stack([gt_xy * (vis[:, None] > 0), vis]).ravel().tolist()
    gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "person"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                           "area": 5000.0, "bbox": [40, 40, 120, 120], "keypoints": gt_kp,
                           "num_keypoints": int((vis > 0).sum())}]}
    coco = COCO()
    coco.dataset = gt
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        dets = coco.loadRes([{"image_id": 1, "category_id": 1, "score": 1.0 - 0.1 * i,
                              "keypoints": np.column_stack([p, np.ones(17)]).ravel().tolist()}
                             for i, p in enumerate(pred)])
        ev = COCOeval(coco, dets, "keypoints")
        ev.params.imgIds = [1]
        ev._prepare()
        ref = np.asarray(ev.computeOks(1, 1))[:, 0]
    gt_kpts = np.column_stack([gt_xy, vis])[None].repeat(3, 0)
    np.testing.assert_allclose(instance_oks(pred, gt_kpts, np.full(3, 5000.0),
                                            COCO_OKS_SIGMAS), ref, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 50), st.floats(1, 1e5), st.floats(0.01, 0.2))
def test_constant_offset_has_the_closed_form(d, area, sigma):
    ks = keypoint_similarity(np.array([[d, 0.0]]), np.zeros((1, 2)), area, [sigma])
    assert np.isclose(ks[0], np.exp(-d * d / (2 * area * (2 * sigma) ** 2)), rtol=1e-9)


def test_flip_permutation_is_an_involution_on_coco():
    perm = flip_permutation(17, COCO_FLIP_PAIRS)
    np.testing.assert_array_equal(perm[perm], np.arange(17))
    assert perm[0] == 0 and perm[5] == 6  # nose stays, left shoulder <-> right shoulder
