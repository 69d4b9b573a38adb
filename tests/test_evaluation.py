"""Dataset-level decoding and COCO scoring against known answers."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import make_dataset

from daec_viz.decoding import METHODS
from daec_viz.evaluation.scoring import evaluate, predict, score_predictions
from daec_viz.io.datasets import load_dataset


@pytest.fixture(scope="module")
def exact_ds(tmp_path_factory):
    return load_dataset(make_dataset(tmp_path_factory.mktemp("exact") / "ds", n_images=30,
                                     size=(20, 60)))


@pytest.fixture(scope="module")
def noisy_ds(tmp_path_factory):
    return load_dataset(make_dataset(tmp_path_factory.mktemp("noisy") / "ds", n_images=60,
                                     jitter=0.8, noise=0.01, size=(20, 50), seed=3))


def test_exact_gaussians_decode_to_ground_truth(exact_ds):
    gt = exact_ds.gt_keypoints()
    pred = predict(exact_ds, "dark", blur_kernel=1)
    # 1 heatmap px is (S - 1) / 47 image px here; DARK on exact Gaussians is exact
    np.testing.assert_allclose(pred.coords_img, gt[..., :2], atol=1e-6)
    assert evaluate(exact_ds, "dark")["AP"] == pytest.approx(1.0)
    assert evaluate(exact_ds, "daec", delta=0)["AP"] == pytest.approx(1.0)


def test_instance_scores_are_mean_keypoint_maxima(exact_ds):
    pred = predict(exact_ds, "standard")
    expected = np.where(pred.maxvals > 0.2, pred.maxvals, 0).sum(1) / (pred.maxvals > 0.2).sum(1)
    np.testing.assert_allclose(pred.scores, expected)


@pytest.mark.parametrize("method", METHODS)
def test_engines_agree_on_dataset(noisy_ds, method):
    a = evaluate(noisy_ds, method, engine="hotcoco")
    b = evaluate(noisy_ds, method, engine="pycocotools")
    assert a == pytest.approx(b, abs=1e-12)
    assert 0.2 < a["AP"] < 1.0


def test_split_subset_equals_rows(noisy_ds):
    test = noisy_ds.subset("test")
    pred = predict(noisy_ds, "daec", delta=3)
    rows = np.flatnonzero(noisy_ds.instances["split"].to_numpy() == "test")
    direct = score_predictions(noisy_ds, pred.coords_img, pred.maxvals, rows=rows)
    assert evaluate(test, "daec", delta=3) == pytest.approx(direct, abs=1e-12)


def test_better_decoder_on_jittered_gaussians(noisy_ds):
    # peaks displaced at random: argmax loses its sub-pixel part, DARK keeps it
    ap = {m: evaluate(noisy_ds, m)["AP"] for m in ("standard", "dark")}
    assert ap["dark"] > ap["standard"]
