"""The paired image bootstrap against a direct resample-and-re-evaluate loop."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from synthetic import make_dataset

from daec_viz.evaluation.bootstrap import (
    accumulate_stats,
    bootstrap_stats,
    bootstrap_weights,
    defined,
    image_matches,
    percentile_interval,
)
from daec_viz.evaluation.coco_eval import STAT_NAMES, coco_keypoint_stats
from daec_viz.evaluation.predict import predict
from daec_viz.evaluation.scoring import score_predictions, submission
from daec_viz.exceptions import InputError
from daec_viz.io.datasets import load_dataset


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(make_dataset(tmp_path_factory.mktemp("boot") / "ds", n_images=24,
                                     jitter=1.5, noise=0.05, bias=(0.6, 0.3), size=(20, 60),
                                     seed=11, splits=False))


def _matches(ds, config, **opts):
    p = predict(ds, config, **opts)
    res, ids = submission(ds, p.coords_img, p.maxvals)
    return p, res, ids, image_matches(ds.coco, res, ids, ds.oks_sigmas)


def _resampled(gt: dict, results: list[dict], img_ids: list[int], w: np.ndarray):
    """GT and results with image ``img_ids[i]`` copied ``w[i]`` times under new ids."""
    g = {"images": [], "annotations": [], "categories": copy.deepcopy(gt["categories"])}
    r: list[dict] = []
    imgs = {im["id"]: im for im in gt["images"]}
    anns: dict[int, list] = {}
    for a in gt["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    dets: dict[int, list] = {}
    for d in results:
        dets.setdefault(d["image_id"], []).append(d)
    new_id = 0
    for i, iid in enumerate(img_ids):
        for _ in range(int(w[i])):
            new_id += 1
            g["images"].append({**imgs[iid], "id": new_id})
            for a in anns.get(iid, []):
                g["annotations"].append({**a, "id": len(g["annotations"]) + 1,
                                         "image_id": new_id})
            r += [{**d, "image_id": new_id} for d in dets.get(iid, [])]
    return g, r


def test_all_ones_weights_give_pycocotools_stats(ds):
    p, _, _, m = _matches(ds, "standard")
    ref = score_predictions(ds, p.coords_img, p.maxvals, engine="pycocotools")
    got = accumulate_stats(m, np.ones((1, m.img_ids.size)))[0]
    np.testing.assert_allclose(got, [ref[s] for s in STAT_NAMES], atol=1e-12)


def test_replicates_equal_a_direct_resample_and_reevaluate_loop(ds):
    _, res, ids, m = _matches(ds, "daec", delta=3)
    w = bootstrap_weights(len(ids), 6, seed=3)
    reps = accumulate_stats(m, w)
    for b in range(w.shape[0]):
        g, r = _resampled(ds.coco.dataset, res, list(m.img_ids), w[b])
        direct = coco_keypoint_stats(g, r, engine="pycocotools", sigmas=ds.oks_sigmas)
        np.testing.assert_allclose(reps[b], [direct[s] for s in STAT_NAMES], atol=1e-12,
                                   err_msg=f"replicate {b}")


def test_paired_replicates_share_their_draws_and_are_seeded(ds):
    a = _matches(ds, "standard")[3]
    b = _matches(ds, "dark")[3]
    point, reps = bootstrap_stats([a, b], n_boot=200, seed=5)
    point2, reps2 = bootstrap_stats([a, b], n_boot=200, seed=5)
    np.testing.assert_array_equal(reps, reps2)
    # a configuration against itself: every paired difference is exactly 0
    _, same = bootstrap_stats([a, a], n_boot=50, seed=1)
    assert np.all(same[0] == same[1])
    # the point estimate lies inside its interval
    lo, hi = percentile_interval(defined(reps), 0.95)[0, STAT_NAMES.index("AP")]
    assert lo <= point[0, 0] <= hi and lo < hi


def test_interval_ignores_undefined_replicates():
    reps = np.array([[[0.5], [-1.0], [0.7], [0.6]]])  # (C=1, B=4, S=1)
    lo, hi = percentile_interval(defined(reps), 0.5)[0, 0]
    assert 0.5 < lo < hi < 0.7
    assert np.isnan(percentile_interval(defined(-np.ones((1, 3, 1))))[0, 0]).all()


def test_bad_inputs():
    with pytest.raises(InputError):
        bootstrap_weights(0, 10)
    with pytest.raises(InputError):
        percentile_interval(np.zeros((2, 1)), ci=1.5)
