"""Known answers of the error-bias analysis (daec_viz.analysis)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json

import numpy as np
import pytest
from shared_data import COCO_MINI, SHARED_DATA
from synthetic import detector_copy

from daec_viz.analysis import (
    QUADRANT_BUCKETS,
    TAXONOMY,
    analyse_errors,
    argmax_sawtooth,
    bootstrap_bias,
    bootstrap_biases,
    classify_keypoints,
    corrected_keypoints,
    error_histogram2d,
    error_vectors,
    ground_truth_table,
    match_detections,
    quadrant_codes,
    quadrant_stats,
    sawtooth_bin_means,
    subpixel_phase,
    taxonomy_ap,
)
from daec_viz.analysis.taxonomy import GroundTruthTable
from daec_viz.decoding import decode
from daec_viz.evaluation.oks import COCO_OKS_SIGMAS, instance_oks, keypoint_similarity
from daec_viz.io.coco_format import COCO_FLIP_PAIRS

DATA = SHARED_DATA
SIG = np.asarray(COCO_OKS_SIGMAS)


def _gaussians(mu: np.ndarray, h: int = 64, w: int = 48, sigma: float = 2.0) -> np.ndarray:
    """(n, K, h, w) float64 noise-free Gaussians of peak 1 at mu (n, K, 2) heatmap px."""
    ys, xs = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    gx = np.exp(-((xs - mu[..., :1]) ** 2) / (2 * sigma ** 2))
    gy = np.exp(-((ys - mu[..., 1:]) ** 2) / (2 * sigma ** 2))
    return gy[..., :, None] * gx[..., None, :]


# --------------------------------------------------------------------------- vectors

def test_error_vectors_mask_unlabelled_and_nonfinite():
    pred = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, np.inf]]])
    gt = np.array([[[0.5, 1.0, 2], [3.0, 4.0, 0], [1.0, 1.0, 1]]])
    e = error_vectors(pred, gt)
    np.testing.assert_array_equal(e[0, 0], [0.5, 1.0])
    assert np.isnan(e[0, 1]).all() and np.isnan(e[0, 2]).all()


# --------------------------------------------------------------------------- quadrants

def test_quadrant_rule_and_zero_bucket():
    err = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1],      # BR UR BL UL
                    [0, 1], [1, 0], [0, 0], [1e-9, 2],       # on an axis -> none
                    [np.nan, np.nan]], dtype=float)           # missing
    codes = quadrant_codes(err)
    assert codes.tolist() == [0, 1, 2, 3, 4, 4, 4, 4, -1]
    q = quadrant_stats(err)
    assert q.counts == {"BR": 1, "UR": 1, "BL": 1, "UL": 1, "none": 4}
    assert q.n_labelled == 8 and q.n_quadrant == 4
    assert q.shares == {"BR": 0.25, "UR": 0.25, "BL": 0.25, "UL": 0.25}
    assert q.none_share == 0.5


def test_zero_rule_commutes_with_mirroring():
    """Mirroring the errors mirrors the counts: the rule favours no quadrant, so axis-lying
    argmax errors cannot manufacture a BR > UR > BL > UL ordering."""
    rng = np.random.default_rng(3)
    err = rng.integers(-2, 3, size=(200, 17, 2)).astype(float)  # many exact zeros
    base = quadrant_stats(err).counts
    flip_x = quadrant_stats(err * [-1, 1]).counts
    flip_y = quadrant_stats(err * [1, -1]).counts
    assert base["none"] > 0
    assert flip_x == {"BR": base["BL"], "BL": base["BR"], "UR": base["UL"], "UL": base["UR"],
                      "none": base["none"]}
    assert flip_y == {"BR": base["UR"], "UR": base["BR"], "BL": base["UL"], "UL": base["BL"],
                      "none": base["none"]}


def test_per_joint_counts_sum_to_totals():
    rng = np.random.default_rng(0)
    err = rng.normal(size=(50, 5, 2))
    err[3, 2] = np.nan
    q = quadrant_stats(err)
    assert q.per_joint.shape == (5, 5)
    assert q.per_joint.sum(0).tolist() == [q.counts[b] for b in QUADRANT_BUCKETS]
    assert q.per_joint[2].sum() == 49


def test_paper_order_check():
    rng = np.random.default_rng(1)
    err = rng.normal([0.4, 0.2], 0.3, size=(400, 17, 2))
    q = quadrant_stats(err)
    # P(x>0) = Φ(4/3) ≈ .91, P(y>0) = Φ(2/3) ≈ .75: BR .68 > UR .23 > BL .07 > UL .02
    assert q.follows() and q.order == ("BR", "UR", "BL", "UL")
    np.testing.assert_allclose(q.shares["BR"], 0.9088 * 0.7475, atol=0.02)
    assert not quadrant_stats(-err).follows()


# --------------------------------------------------------------------------- bias

def test_bootstrap_matches_naive_loop():
    rng = np.random.default_rng(0)
    err = rng.normal([0.3, -0.1], 0.5, size=(60, 4, 2))
    err[rng.random((60, 4)) < 0.2] = np.nan
    b = bootstrap_bias(err, n_boot=50, ci=0.9, seed=7)
    # reference: explicit loop over replicates with the same resampled indices
    rs = np.random.default_rng(7)
    idx = rs.integers(0, 60, size=(50, 60))
    reps = np.array([np.nanmean(err[i], axis=0) for i in idx])            # (B, K, 2)
    over = np.array([np.nanmean(err[i].reshape(-1, 2), axis=0) for i in idx])
    np.testing.assert_allclose(b.mean, np.nanmean(err, axis=0), rtol=1e-12)
    np.testing.assert_allclose(b.lo, np.percentile(reps, 5, axis=0), rtol=1e-12)
    np.testing.assert_allclose(b.hi, np.percentile(reps, 95, axis=0), rtol=1e-12)
    np.testing.assert_allclose(b.overall_lo, np.percentile(over, 5, axis=0), rtol=1e-12)
    np.testing.assert_allclose(b.overall_hi, np.percentile(over, 95, axis=0), rtol=1e-12)
    # independent of the block size of the resample matrix (here 3 replicates per block)
    b2 = bootstrap_biases({"hm": err}, n_boot=50, ci=0.9, seed=7, max_cells=3 * 60)["hm"]
    np.testing.assert_allclose(b2.lo, b.lo, rtol=1e-12)
    np.testing.assert_allclose(b2.overall_hi, b.overall_hi, rtol=1e-12)


def test_injected_bias_recovered_array_level():
    rng = np.random.default_rng(5)
    err = rng.normal([0.4, 0.2], 0.5, size=(300, 17, 2))
    b = bootstrap_bias(err, n_boot=400, seed=0)
    assert b.contains([0.4, 0.2])
    assert quadrant_codes(b.overall_mean, 0.0) == 0  # BR
    # the interval has the width theory says: 2 * 1.96 * 0.5 / sqrt(300 * 17)
    np.testing.assert_allclose(b.overall_hi - b.overall_lo, 3.92 * 0.5 / np.sqrt(5100),
                               rtol=0.2)


def test_histogram_counts_and_orientation():
    err = np.array([[0.5, -0.5], [0.5, -0.5], [-0.5, 0.5]])
    h = error_histogram2d(err, bins=3, extent=1.5)
    # rows = y: y = -0.5 lies in row 1 of edges [-1.5, -0.5, 0.5, 1.5]? -> bin 1
    assert h.counts.sum() == 3
    iy = np.searchsorted(h.y_edges, -0.5, side="right") - 1
    ix = np.searchsorted(h.x_edges, 0.5, side="right") - 1
    assert h.counts[iy, ix] == 2


# --------------------------------------------------------------------------- phase

def test_argmax_phase_is_the_analytic_sawtooth():
    rng = np.random.default_rng(2)
    mu = rng.uniform([8, 8], [40, 56], size=(300, 2, 2))
    mu = np.where(np.abs(mu - np.floor(mu) - 0.5) < 1e-3, mu + 0.01, mu)  # avoid exact ties
    hm = _gaussians(mu)
    err = decode(hm, "standard").coords - mu
    phase = mu - np.floor(mu)
    np.testing.assert_allclose(err, argmax_sawtooth(phase), atol=1e-12)
    curve = subpixel_phase(mu, err, bins=10)
    # each bin's mean is the mean of the saw-tooth at that bin's phases
    for a in range(2):
        p = phase[..., a].ravel()
        b = np.minimum((p * 10).astype(int), 9)
        want = np.array([argmax_sawtooth(p[b == i]).mean() for i in range(10)])
        np.testing.assert_allclose(curve.mean[a], want, atol=1e-12)
        # and converges to the analytic bin means of a uniform phase
        np.testing.assert_allclose(curve.mean[a], sawtooth_bin_means(curve.edges), atol=0.05)
    np.testing.assert_allclose(curve.amplitude(), 0.9, atol=0.06)
    assert curve.count.sum() == 2 * 600
    # DARK flattens it
    dark = decode(hm, "dark", blur_kernel=1).coords - mu
    assert np.all(subpixel_phase(mu, dark, bins=10).amplitude() < 0.02)


def test_sawtooth_bin_means_against_numeric_integral():
    edges = np.array([0.0, 0.2, 0.45, 0.55, 0.9, 1.0])
    fine = [argmax_sawtooth(np.linspace(a, b, 200001)[1:-1]).mean()
            for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_allclose(sawtooth_bin_means(edges), fine, atol=1e-4)


# --------------------------------------------------------------------------- taxonomy

def _two_people() -> GroundTruthTable:
    """Two people side by side in image 1 (17 COCO joints, all visible), area 100²."""
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 100, size=(17, 2))
    kp = np.zeros((2, 17, 3))
    kp[0, :, :2] = base + [100, 100]
    kp[1, :, :2] = base + [400, 100]
    kp[..., 2] = 2
    return GroundTruthTable(np.array([1, 1]), np.array([10, 11]), kp,
                            np.array([1e4, 1e4]), np.array([True, True]))


def test_taxonomy_good_jitter_inversion_swap_miss():
    gts = _two_people()
    pred = gts.keypoints[:1, :, :2].copy()             # person 0, perfect
    s = np.sqrt(1e4)
    k = 2 * SIG
    # joint 0 (nose): jitter, ks = 0.7 exactly: d² = -2 ln(0.7) s² k²
    pred[0, 0, 0] += np.sqrt(-2 * np.log(0.7)) * s * k[0]
    # joints 5/6 (shoulders): left/right exchanged -> inversion
    pred[0, [5, 6]] = gts.keypoints[0, [6, 5], :2]
    # joint 9 (left wrist) on person 1's left wrist -> swap
    pred[0, 9] = gts.keypoints[1, 9, :2]
    # joint 15 (left ankle) far from everything -> miss
    pred[0, 15] = [-1000.0, -1000.0]
    t = classify_keypoints(pred, np.array([1]), np.array([0]), gts, SIG, COCO_FLIP_PAIRS)
    labels = [TAXONOMY[c] for c in t.labels[0]]
    assert labels[0] == "jitter"
    np.testing.assert_allclose(t.ks_own[0, 0], 0.7, rtol=1e-9)
    assert labels[5] == labels[6] == "inversion"
    assert labels[9] == "swap"
    assert labels[15] == "miss"
    others = [j for j in range(17) if j not in (0, 5, 6, 9, 15)]
    assert all(labels[j] == "good" for j in others)
    assert t.counts() == {"good": 12, "jitter": 1, "inversion": 2, "swap": 1, "miss": 1}


def test_taxonomy_thresholds_and_unlabelled():
    gts = _two_people()
    kp = gts.keypoints.copy()
    kp[0, 3, 2] = 0                                   # left ear unlabelled
    gts = GroundTruthTable(gts.image_id, gts.ann_id, kp, gts.area, gts.eligible)
    pred = kp[:1, :, :2].copy()
    s, k = 100.0, 2 * SIG
    for j, ks in ((11, 0.86), (12, 0.84), (13, 0.51), (14, 0.49)):
        pred[0, j, 1] += np.sqrt(-2 * np.log(ks)) * s * k[j]
    t = classify_keypoints(pred, np.array([1]), np.array([0]), gts, SIG, COCO_FLIP_PAIRS)
    lab = t.labels[0]
    assert lab[3] == -1
    assert [TAXONOMY[c] for c in lab[[11, 12, 13]]] == ["good", "jitter", "jitter"]
    # ks 0.49 on the own knee: a miss unless a mirrored or other person's knee is >= 0.5
    np.testing.assert_allclose(t.ks_own[0, 14], 0.49, rtol=1e-9)
    cands = kp[[0, 1, 1], [13, 14, 13], :2]           # mirrored own, other's same/mirrored
    ks_alt = keypoint_similarity(np.broadcast_to(pred[0, 14], (3, 1, 2)), cands[:, None],
                                 gts.area[[0, 1, 1]], SIG[[14]])[:, 0]
    assert ks_alt.shape == (3,)
    want = "miss" if ks_alt.max() < 0.5 else ("inversion" if ks_alt.argmax() == 0 else "swap")
    assert TAXONOMY[lab[14]] == want
    # unmatched detections are not classified
    t2 = classify_keypoints(pred, np.array([1]), np.array([-1]), gts, SIG, COCO_FLIP_PAIRS)
    assert (t2.labels == -1).all()


def test_mean_similarity_per_joint():
    # two detections of the same person: joint 11 at ks 0.86 and 0.5 (mean 0.68), joint 3
    # unlabelled (NaN), the others exact (1)
    gts = _two_people()
    kp = gts.keypoints.copy()
    kp[0, 3, 2] = 0
    gts = GroundTruthTable(gts.image_id, gts.ann_id, kp, gts.area, gts.eligible)
    pred = np.repeat(kp[:1, :, :2], 2, axis=0)
    s, k = 100.0, 2 * SIG
    for i, ks in ((0, 0.86), (1, 0.5)):
        pred[i, 11, 1] += np.sqrt(-2 * np.log(ks)) * s * k[11]
    t = classify_keypoints(pred, np.array([1, 1]), np.array([0, 0]), gts, SIG,
                           COCO_FLIP_PAIRS)
    m = t.mean_similarity()
    assert m.shape == (17,)
    assert np.isnan(m[3])
    np.testing.assert_allclose(m[11], (0.86 + 0.5) / 2, rtol=1e-9)
    np.testing.assert_allclose(np.delete(m, [3, 11]), 1.0)


def test_corrections():
    gts = _two_people()
    pred = gts.keypoints[:1, :, :2].copy()
    pred[0, 0, 0] += 3.0                               # jitter-size error on the nose
    pred[0, [5, 6]] = gts.keypoints[0, [6, 5], :2]     # inversion
    t = classify_keypoints(pred, np.array([1]), np.array([0]), gts, SIG, COCO_FLIP_PAIRS)
    assert TAXONOMY[t.labels[0, 0]] == "jitter"
    fixed = corrected_keypoints(pred, t, "jitter", SIG)
    np.testing.assert_array_equal(fixed[0, 0], gts.keypoints[0, 0, :2])
    np.testing.assert_array_equal(fixed[0, 5:7], pred[0, 5:7])        # untouched
    fixed = corrected_keypoints(pred, t, ["jitter", "inversion"], SIG)
    np.testing.assert_array_equal(fixed[0], gts.keypoints[0, :, :2])
    # coco-analyze's placement: jitter lands at ks = 0.85 from its own GT
    ron = corrected_keypoints(pred, t, "jitter", SIG, correction="ronchi")
    ks = keypoint_similarity(ron[:, :1], gts.keypoints[:1, :1, :2], gts.area[:1], SIG[:1])
    np.testing.assert_allclose(ks, 0.85, rtol=1e-9)


def _coco_mini_gt():
    from daec_viz.io.annotations import load_annotations

    if not (COCO_MINI / "person_keypoints.json").is_file():
        pytest.skip(f"shared test data not found at {COCO_MINI}")
    coco, _ = load_annotations(COCO_MINI / "person_keypoints.json")
    return coco


def test_matching_equals_cocoeval_on_coco_mini():
    from pycocotools.cocoeval import COCOeval

    coco = _coco_mini_gt()
    gts = ground_truth_table(coco, 17)
    dets = json.loads((COCO_MINI / "person_detections.json").read_text())
    rng = np.random.default_rng(0)
    # detections: noisy copies of GT people (some duplicated) + boxes with random keypoints
    preds, ids = [], []
    for g in np.flatnonzero(gts.eligible):
        for _ in range(int(rng.integers(1, 3))):
            s = np.sqrt(gts.area[g])
            preds.append(gts.keypoints[g, :, :2] + rng.normal(0, 0.08 * s, size=(17, 2)))
            ids.append(gts.image_id[g])
    for d in dets[:40]:
        x, y, w, h = d["bbox"]
        preds.append(np.column_stack([x + rng.uniform(0, w, 17), y + rng.uniform(0, h, 17)]))
        ids.append(d["image_id"])
    pred = np.asarray(preds)
    ids = np.asarray(ids, dtype=np.int64)
    scores = rng.uniform(0.1, 1.0, ids.size)
    match, oks = match_detections(pred, ids, scores, gts, SIG, min_oks=0.1)

    res = [{"image_id": int(i), "category_id": 1, "score": float(s),
            "keypoints": np.column_stack([p, np.ones(17)]).ravel().tolist(), "id": n + 1}
           for n, (i, p, s) in enumerate(zip(ids, pred, scores, strict=True))]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco.loadRes(res)
        ev = COCOeval(coco, dt, "keypoints")
        ev.params.iouThrs = np.array([0.1])
        ev.params.areaRng = [[0, 1e10]]
        ev.params.areaRngLbl = ["all"]
        ev.params.maxDets = [1000]
        ev.evaluate()
    want = np.full(ids.size, -1)
    for e in ev.evalImgs:
        if e is None:
            continue
        for did, gid, ign in zip(e["dtIds"], e["dtMatches"][0], e["dtIgnore"][0],
                                 strict=True):
            if gid and not ign:
                want[did - 1] = gts.index_of([int(gid)])[0]
    assert (want >= 0).sum() > 10
    np.testing.assert_array_equal(match, want)
    got = match >= 0
    np.testing.assert_allclose(oks[got], instance_oks(pred[got], gts.keypoints[match[got]],
                                                      gts.area[match[got]], SIG))


def test_taxonomy_ap_fixing_jitter_restores_perfect_ap():
    """GT as predictions scores AP = 1 (README); with jitter injected AP drops, and
    correcting jitter restores exactly 1."""
    coco = _coco_mini_gt()
    gts = ground_truth_table(coco, 17)
    rows = np.flatnonzero(gts.eligible)
    pred = np.nan_to_num(gts.keypoints[rows, :, :2]).copy()
    s = np.sqrt(gts.area[rows])[:, None]
    lab = gts.keypoints[rows, :, 2] > 0
    jit = lab & (np.random.default_rng(0).random(lab.shape) < 0.5)
    # ks = 0.6 on the chosen joints, along x
    pred[..., 0] += np.where(jit, np.sqrt(-2 * np.log(0.6)) * s * 2 * SIG, 0.0)
    image_ids = gts.image_id[rows]
    match = rows.astype(np.int64)
    t = classify_keypoints(pred, image_ids, match, gts, SIG, COCO_FLIP_PAIRS)
    c = t.counts()
    assert c["jitter"] == jit.sum() - c["inversion"] - c["swap"]
    assert c["jitter"] > 0.8 * jit.sum()
    res = taxonomy_ap(coco, image_ids, pred, np.ones(rows.size), t, SIG)
    ap = res.ap()
    assert ap["original"] < 0.9
    assert ap["all"] == pytest.approx(1.0)
    if c["inversion"] == c["swap"] == 0:
        assert ap["jitter"] == pytest.approx(1.0)
    assert res.gain()["jitter"] > 0.1
    assert ap["miss"] == pytest.approx(ap["original"])  # no misses to fix


# --------------------------------------------------------------------------- dataset level

@pytest.fixture(scope="module")
def demo_builder():
    try:
        from daec_viz.synthetic.demo import build_demo
        from daec_viz.synthetic.simulate import NetworkKnobs
    except ImportError as exc:  # pragma: no cover - depends on the other helpers' modules
        pytest.skip(f"daec_viz.synthetic.demo is not available yet ({exc})")
    return build_demo, NetworkKnobs


@pytest.fixture(scope="module")
def noise_free_demo(tmp_path_factory, demo_builder):
    from daec_viz.io.datasets import load_dataset

    build_demo, knobs = demo_builder
    path = build_demo(tmp_path_factory.mktemp("nf") / "demo", seed=1, n_images=12,
                      knobs=knobs.noise_free())
    return load_dataset(path)


def test_noise_free_demo_every_keypoint_is_good(noise_free_demo):
    ds = noise_free_demo
    ea = analyse_errors(ds, methods=["standard", "dark", "daec"],
                        decode_options={"daec": {"delta": 0}}, n_boot=50, ap=False)
    w, h = ds.meta.heatmap_size
    for m in ("dark", "daec"):
        me = ea.methods[m]
        lab = me.taxonomy.labels
        gh = me.gt_hm
        inside = (gh[..., 0] >= -0.5) & (gh[..., 0] <= w - 0.5) & (gh[..., 1] >= -0.5) & \
            (gh[..., 1] <= h - 0.5)
        # GT joints outside the heatmap have no peak: no decoder can find them
        assert lab[inside].size > 100
        assert (lab[inside] == 0).all(), m
        assert np.all(np.abs(me.bias["hm"].overall_mean) < 0.02)
    # argmax: the rounding error alone (<= 0.71 hm px) keeps almost every keypoint good
    std = ea.methods["standard"].taxonomy.shares()
    assert std["good"] > 0.95
    # and its phase curve is the saw-tooth
    curve = ea.methods["standard"].phase
    np.testing.assert_allclose(curve.mean, sawtooth_bin_means(curve.edges)[None].repeat(2, 0),
                               atol=0.12)


def test_injected_bias_recovered_end_to_end(tmp_path, demo_builder):
    """Simulated network with an image-space bias of (+0.4, +0.2) heatmap px and random
    position noise: DARK's mean error recovers it inside the bootstrap interval, in BR."""
    from daec_viz.io.datasets import load_dataset

    build_demo, knobs = demo_builder
    nk = knobs.noise_free().replace(bias=(0.4, 0.2), fit_noise=0.3)
    ds = load_dataset(build_demo(tmp_path / "biased", seed=3, n_images=12, knobs=nk))
    # a 99% interval: a fixed seed, and a 1-in-100 miss is what such an interval allows
    ea = analyse_errors(ds, methods=["dark", "standard"], n_boot=500, ci=0.99, ap=False)
    b = ea.methods["dark"].bias["hm"]
    assert b.contains([0.4, 0.2]), (b.overall_lo, b.overall_hi)
    assert b.to_dict()["overall"]["quadrant"] == "BR"
    assert ea.methods["dark"].quadrants.follows()      # BR > UR > BL > UL
    # image px: the same bias times the heatmap -> image gain of each instance
    aff = ds.affines()
    want = (aff[:, None, [0, 1], [0, 1]] * [0.4, 0.2])  # (N, 1, 2)
    img = ea.methods["dark"].bias["img"]
    gain_mean = np.nanmean(np.where(np.isfinite(ea.methods["dark"].err_img),
                                    np.broadcast_to(want, ea.methods["dark"].err_img.shape),
                                    np.nan).reshape(-1, 2), axis=0)
    assert np.all(img.overall_lo <= gain_mean) and np.all(gain_mean <= img.overall_hi)


def test_streaming_does_not_change_results(noise_free_demo):
    a = analyse_errors(noise_free_demo, methods=["shifting"], batch=5, n_boot=30, ap=False)
    b = analyse_errors(noise_free_demo, methods=["shifting"], batch=1000, n_boot=30,
                       ap=False)
    np.testing.assert_array_equal(a.methods["shifting"].pred_hm, b.methods["shifting"].pred_hm)
    assert a.to_dict() == b.to_dict()


def test_detector_boxes_match_like_gt_boxes(tmp_path, noise_free_demo):
    """The same instances stored as detector boxes (ann_id = -1, plus a low-score
    duplicate far off) are matched back to their own annotations."""
    from daec_viz.io.datasets import load_dataset

    ds = noise_free_demo
    n = len(ds)
    inst = ds.instances
    folder = detector_copy(ds, tmp_path / "det")
    det = load_dataset(folder)
    ea_det = analyse_errors(det, methods=["dark"], n_boot=20, ap=True)
    ea_gt = analyse_errors(ds, methods=["dark"], n_boot=20, ap=True)
    gts = ground_truth_table(ds.coco, 17)
    want = gts.index_of(inst["ann_id"].to_numpy())
    got = ea_det.methods["dark"].match
    np.testing.assert_array_equal(got[:n], want)
    assert got[n] == -1
    np.testing.assert_allclose(ea_det.methods["dark"].err_hm[:n], ea_gt.methods["dark"].err_hm)
    assert ea_det.methods["dark"].taxonomy.counts() == ea_gt.methods["dark"].taxonomy.counts()


def test_to_dict_is_json_and_cli(noise_free_demo, capsys):
    from daec_viz.cli import errors_cmd

    ea = analyse_errors(noise_free_demo, methods=["standard", "daec"], n_boot=20)
    d = json.loads(json.dumps(ea.to_dict()))
    assert set(d["methods"]) == {"standard", "daec"}
    q = d["methods"]["standard"]["quadrants"]
    assert sum(q["counts"].values()) == d["methods"]["standard"]["analysed"]
    assert set(d["methods"]["daec"]["taxonomy"]["ap"]) == {"original", "jitter", "inversion",
                                                           "swap", "miss", "all"}

    parser = argparse.ArgumentParser()
    errors_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["errors", str(noise_free_demo.path), "--methods", "standard",
                              "daec", "--delta", "0", "--pattern", "UL", "--bootstrap", "20",
                              "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["methods"]["daec"]["options"]["delta"] == [0.0, 0.0]
    assert out["methods"]["daec"]["options"]["pattern"] == "UL"
    assert out["methods"]["standard"]["quadrants"] == q
    args = parser.parse_args(["errors", str(noise_free_demo.path), "--methods", "dark",
                              "--bootstrap", "20", "--no-ap"])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "BR>UR>BL>UL" in text and "good" in text and "AP with" not in text


def test_matching_ties_go_to_the_later_gt_as_cocoeval():
    """Two identical GT people (a duplicated annotation): COCOeval's ``if iou < best:
    continue`` hands a detection on both to the later one, and so does match_detections."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    kp = np.column_stack([np.linspace(100, 180, 17), np.linspace(50, 250, 17),
                          np.full(17, 2)])
    anns = [{"id": i, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 1e4,
             "num_keypoints": 17, "bbox": [100, 50, 80, 200], "keypoints": kp.ravel().tolist()}
            for i in (10, 11)]
    data = {"images": [{"id": 1, "width": 400, "height": 400}], "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = data
        coco.createIndex()
        pred = kp[None, :, :2] + 1.0
        dt = coco.loadRes([{"image_id": 1, "category_id": 1, "score": 0.9, "keypoints":
                            np.column_stack([pred[0], np.ones(17)]).ravel().tolist()}])
        ev = COCOeval(coco, dt, "keypoints")
        ev.params.iouThrs = np.array([0.1])
        ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
        ev.evaluate()
    want = int(next(e for e in ev.evalImgs if e is not None)["dtMatches"][0][0])
    gts = ground_truth_table(coco, 17)
    match, _ = match_detections(pred, np.array([1]), np.array([0.9]), gts, SIG)
    assert want == 11 and gts.ann_id[match[0]] == want


def test_every_decoder_is_analysed_by_default(noise_free_demo):
    """The field's decoders are analysed like the paper's (the default is every decoder);
    their errors are predict's keypoints minus the GT."""
    from daec_viz.analysis.pipeline import configs_of
    from daec_viz.decoding import ALL_METHODS, DecoderConfig
    from daec_viz.evaluation.predict import predict
    assert list(configs_of(ALL_METHODS, {"beta": 4.0, "daec": {"delta": 3}})) == \
        list(ALL_METHODS)
    assert configs_of(["integral", "gauss3"], {"beta": 4.0}) == {
        "integral": DecoderConfig("integral", beta=4.0), "gauss3": DecoderConfig("gauss3")}
    ea = analyse_errors(noise_free_demo, n_boot=5, ap=False, taxonomy=False)
    assert list(ea.methods) == list(ALL_METHODS)
    for m in ("dark_udp", "integral_debiased"):
        me = ea.methods[m]
        p = predict(noise_free_demo, DecoderConfig(m))
        np.testing.assert_array_equal(me.pred_hm, p.coords_hm)
        np.testing.assert_allclose(me.err_hm, np.where(me.usable[..., None],
                                                       p.coords_hm - me.gt_hm, np.nan))
