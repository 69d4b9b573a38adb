"""PCKh: hand-made cases and the published numbers of real MPII predictions."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.io
from shared_data import MPII_VALID as MPII

from daec_viz.evaluation.pckh import load_mpii_annotations, load_mpii_predictions, pckh
from daec_viz.exceptions import InputError

ANNOT = MPII / "valid.h5"
PREDS = MPII / "preds_hg_s2_b1.mat"


def test_hand_made_case():
    gt = np.full((4, 16, 2), 100.0)
    nrm = np.array([10.0, 10.0, 20.0, 10.0])
    pred = gt.copy()
    pred[0, :, 0] += 4.9   # < 0.5*10: correct at 0.5, wrong at 0.1
    pred[1, :, 1] += 5.1   # wrong at 0.5
    pred[2, :, 0] += 1.9   # < 0.1*20: correct at both
    pred[3] = np.nan       # NaN prediction: wrong, no error
    gt[3, 9] = [0.0, 50.0]  # missing head top in person 3 (x <= 0): left out
    r = pckh(pred, gt, nrm)
    assert r[0.5]["count"][9] == 3 and r[0.5]["count"][0] == 4
    assert r[0.5]["Head"] == pytest.approx(100 * 2 / 3)
    assert r[0.5]["Ankle"] == pytest.approx(50.0)
    assert r[0.5]["Mean"] == pytest.approx((100 * 2 / 3 + 13 * 50) / 14)
    assert r[0.5]["MeanWeighted"] == pytest.approx(100 * (2 + 13 * 2) / (3 + 13 * 4))
    assert r[0.1]["Ankle"] == pytest.approx(25.0)
    # visibility restricts further
    vis = np.ones((4, 16), bool)
    vis[1] = False
    assert pckh(pred, gt, nrm, visible=vis)[0.5]["Ankle"] == pytest.approx(100 * 2 / 3)
    with pytest.raises(InputError, match="normalize"):
        pckh(pred, gt, nrm[:3])


def test_loaders_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_mpii_annotations(tmp_path / "x.h5")
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["part"] = np.zeros((3, 16, 2))
    with pytest.raises(InputError, match="field `normalize`"):
        load_mpii_annotations(tmp_path / "a.h5")
    scipy.io.savemat(tmp_path / "p.mat", {"preds": np.ones((2, 16, 5))})
    assert load_mpii_predictions(tmp_path / "p.mat").shape == (5, 16, 2)
    scipy.io.savemat(tmp_path / "q.mat", {"other": np.ones((5, 16, 2))})
    with pytest.raises(InputError, match="q.mat: field `preds`"):
        load_mpii_predictions(tmp_path / "q.mat")


@pytest.mark.skipif(not (ANNOT.is_file() and PREDS.is_file()), reason="mpii-valid absent")
def test_published_numbers_of_real_predictions():
    a = load_mpii_annotations(ANNOT)
    p = load_mpii_predictions(PREDS)
    assert p.shape == (2958, 16, 2) and a["part"].shape == (2958, 16, 2)
    assert a["imgname"][0] == "005808361.jpg"
    r = pckh(p, a["part"], a["normalize"])[0.5]
    published = {"Shoulder": 94.57, "Elbow": 88.12, "Wrist": 83.31, "Hip": 86.24,
                 "Knee": 80.88, "Mean": 86.76, "MeanWeighted": 87.30}
    for k, v in published.items():
        assert r[k] == pytest.approx(v, abs=0.01), k
    # The published table was made by bearpaw's eval_PCKh.py from
    # detections_our_format.mat (its own missing flags and head boxes), not valid.h5;
    # from valid.h5, Head is 95.84 = 2809/2931 (published 95.80 = 2808/2931) and Ankle
    # 77.47 (published 77.44 = one right or left ankle fewer correct): exactly one joint
    # each, with Mean and MeanWeighted unchanged at two decimals. valid.h5 holds integer
    # GT coordinates and its own head sizes; the reference GT comes from the original
    # annotations. Hence the looser bound on those two.
    assert round(r["per_joint"][9] * 2931 / 100) == 2809
    assert r["Head"] == pytest.approx(95.80, abs=0.05)
    assert r["Ankle"] == pytest.approx(77.44, abs=0.05)
    # the predictions and valid.h5 share the (1-based) pixel convention: ±1 px is worse
    for off in (-1.0, 1.0):
        shifted = pckh(p + off, a["part"], a["normalize"])[0.5]
        assert abs(shifted["Mean"] - 86.76) > 0.15
