"""Verdicts, per-joint AP and the predict/compare commands against known answers."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from synthetic import make_dataset

from daec_viz.cli import main
from daec_viz.decoding import ALL_METHODS, DecoderConfig
from daec_viz.evaluation.coco_eval import coco_keypoint_stats
from daec_viz.evaluation.compare import baseline_configs, call_of, compare, per_joint_ap
from daec_viz.evaluation.predict import predict
from daec_viz.evaluation.scoring import evaluate, submission
from daec_viz.io.datasets import load_dataset


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    # a strong known bias toward the bottom-right: DAEC BR at Δ = 4 compensates it
    return make_dataset(tmp_path_factory.mktemp("cmp") / "ds", n_images=60, jitter=0.6,
                        noise=0.02, bias=(1.2, 1.2), size=(20, 50), seed=2)


@pytest.fixture(scope="module")
def ds(folder):
    return load_dataset(folder)


@pytest.mark.parametrize("ci,call", [((0.001, 0.03), "better"), ((-0.04, -1e-9), "worse"),
                                     ((-0.01, 0.02), "no detectable difference"),
                                     ((0.0, 0.02), "no detectable difference"),
                                     ((float("nan"), float("nan")),
                                      "no detectable difference")])
def test_call_follows_the_interval(ci, call):
    assert call_of(ci) == call


def test_clear_win_clear_loss_and_a_tie(ds):
    # win: DAEC BR Δ=4 against a BR bias of 1.2 heatmap px
    win = compare(ds, DecoderConfig("daec", delta=4, pattern="BR"), n_boot=300, joints=False)
    assert win.verdict.call == "better" and win.verdict.diff_ci[0] > 0
    # loss: cutting the opposite corner doubles the bias
    loss = compare(ds, DecoderConfig("daec", delta=4, pattern="UL"), n_boot=300,
                   joints=False)
    assert loss.verdict.call == "worse" and loss.verdict.diff_ci[1] < 0
    # tie: DAEC held against a "baseline" that is the very same DAEC configuration
    same = DecoderConfig("daec", delta=4, pattern="BR")
    tie = compare(ds, same, baselines={"same daec": same}, n_boot=300, joints=False)
    assert tie.verdict.diff == 0 and tie.verdict.call == "no detectable difference"
    assert tie.best_baseline == "same daec"


def test_best_baseline_is_the_highest_ap(ds):
    r = compare(ds, n_boot=50, joints=False)
    assert set(r.stats) == {"daec", *baseline_configs()}
    # every decoder is a baseline (the field's too), with its variants
    assert {c.method for c in r.configs.values()} == set(ALL_METHODS)
    assert list(baseline_configs()) == [
        "standard", "standard+smooth", "shifting", "shifting+smooth", "dark", "dark-raw",
        "dark_udp", "dark_udp-raw", "gauss3", "integral", "integral_debiased"]
    assert r.configs["dark_udp"].blur_kernel == 11 and r.configs["integral"].beta == 10.0
    best = max((n for n in r.stats if n != "daec"), key=lambda n: r.stats[n]["AP"])
    assert r.best_baseline == best
    assert r.verdict.diff == pytest.approx(r.stats["daec"]["AP"] - r.stats[best]["AP"])
    for name, s in r.stats.items():  # the point stats are evaluate's
        assert s["AP"] == pytest.approx(evaluate(ds, r.configs[name])["AP"], abs=1e-12)
        lo, hi = r.stats_ci[name]["AP"]
        assert lo <= s["AP"] <= hi
    assert any("only" in w for w in r.warnings)  # 60 images < 100 persons


def test_paired_comparison_of_any_two_configurations(ds):
    """A/B: the difference, its interval and each side's AP interval come from one paired
    bootstrap, and agree with compare() for the same pair and seed."""
    from daec_viz.evaluation.bootstrap import image_matches
    from daec_viz.evaluation.compare import paired_comparison, paired_verdict

    a, b = DecoderConfig("daec", delta=4, pattern="BR"), DecoderConfig("dark")

    def matches(cfg):
        p = predict(ds, cfg)
        return image_matches(ds.coco, *submission(ds, p.coords_img, p.maxvals),
                             ds.oks_sigmas)

    ma, mb = matches(a), matches(b)
    v, ap_ci = paired_comparison(ma, mb, "A", "B", n_boot=300, seed=3)
    r = compare(ds, a, baselines={"dark": b}, n_boot=300, seed=3, joints=False)
    assert v.diff == pytest.approx(r.verdict.diff, abs=1e-12)
    assert v.diff_ci == pytest.approx(r.verdict.diff_ci, abs=1e-12)
    assert v.call == r.verdict.call == "better"
    assert ap_ci["A"] == pytest.approx(tuple(r.stats_ci["daec"]["AP"]), abs=1e-12)
    assert ap_ci["B"] == pytest.approx(tuple(r.stats_ci["dark"]["AP"]), abs=1e-12)
    assert paired_verdict(ma, mb, "A", "B", n_boot=300, seed=3) == v
    # a configuration against itself: exactly 0, interval [0, 0], no detectable difference
    same, _ = paired_comparison(ma, ma, "A", "A", n_boot=100)
    assert same.diff == 0 and same.diff_ci == (0.0, 0.0)
    assert same.call == "no detectable difference"


def test_per_joint_ap_is_cocoeval_on_masked_ground_truth(ds):
    p = predict(ds, "dark")
    res, ids = submission(ds, p.coords_img, p.maxvals)
    got = per_joint_ap(ds, res, ids)
    gt = ds.coco.dataset
    for j in (0, 9, 16):
        masked = copy.deepcopy(gt)
        for a in masked["annotations"]:
            kp = np.asarray(a["keypoints"], dtype=float).reshape(-1, 3)
            keep = kp[j].copy()
            kp[:] = 0
            if keep[2] > 0:
                kp[j] = keep
            a["keypoints"] = kp.ravel().tolist()
            a["num_keypoints"] = int(keep[2] > 0)
        ref = coco_keypoint_stats(masked, res, engine="pycocotools", img_ids=ids,
                                  sigmas=ds.oks_sigmas)["AP"]
        assert got[ds.keypoint_names[j]] == pytest.approx(ref, abs=1e-12)


def test_predict_file_scores_like_evaluate_with_pycocotools(folder, tmp_path, capsys):
    out = tmp_path / "res" / "daec.json"
    assert main(["predict", str(folder), "--method", "daec", "--delta", "3", "--split",
                 "test", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["delta"] == 3.0
    ds = load_dataset(folder)
    stats = coco_keypoint_stats(ds.coco, str(out), engine="pycocotools",
                                img_ids=ds.subset("test").image_ids, sigmas=ds.oks_sigmas)
    expected = evaluate(ds.subset("test"), "daec", delta=3)
    assert stats == pytest.approx(expected, abs=1e-12)
    assert not list(out.parent.glob("*.partial"))


def test_compare_json_has_the_documented_fields(folder, capsys):
    assert main(["compare", str(folder), "--bootstrap", "100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"config", "n_persons", "n_images", "methods", "best_baseline", "verdict",
            "warnings"} <= set(d)
    assert d["split"] == "test"  # the dataset has one
    m = d["methods"]["daec"]
    assert {"AP", "AP_ci", "per_joint_AP"} <= set(m) and len(m["per_joint_AP"]) == 17
    assert d["verdict"]["call"] in ("better", "worse", "no detectable difference")
    assert d["config"]["delta"] == 4.0  # int(σ + 2) for σ = 2
    assert main(["compare", str(folder), "--bootstrap", "50", "--no-joints"]) == 0
    text = capsys.readouterr().out
    assert "verdict: DAEC" in text and "best baseline" in text
    assert "integral_debiased" in text and "dark_udp-raw" in text
    # some baselines only, the integral one at another β: recorded in the JSON
    assert main(["compare", str(folder), "--bootstrap", "20", "--no-joints", "--json",
                 "--baselines", "dark", "integral", "--beta", "4"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert list(d["methods"]) == ["daec", "dark", "dark-raw", "integral"]
    assert d["methods"]["integral"]["config"] == {"method": "integral", "beta": 4.0}
    assert d["methods"]["integral"]["AP"] == pytest.approx(
        evaluate(load_dataset(folder).subset("test"), "integral", beta=4.0)["AP"], abs=1e-12)
