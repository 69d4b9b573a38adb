"""COCO keypoint evaluation: engines agree, hand-derived OKS/AP values, edge cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import brentq
from shared_data import SHARED_DATA

from daec_viz.evaluation.coco_eval import (
    COCO_SIGMAS,
    ENGINES,
    STAT_NAMES,
    clear_gt_cache,
    coco_keypoint_stats,
    instance_scores,
    load_gt,
    oks_nms,
    results_from_arrays,
)
from daec_viz.exceptions import InputError

DATA = SHARED_DATA
COCO_MINI = DATA / "coco-mini" / "person_keypoints.json"
needs_coco_mini = pytest.mark.skipif(not COCO_MINI.is_file(), reason="coco-mini absent")


def both(gt, results, **kw):
    """Stats from both engines; assert they agree to 1e-12 and return one."""
    a = coco_keypoint_stats(gt, results, engine="pycocotools", **kw)
    b = coco_keypoint_stats(gt, results, engine="hotcoco", **kw)
    assert list(a) == list(STAT_NAMES) == list(b)
    np.testing.assert_allclose([b[k] for k in STAT_NAMES], [a[k] for k in STAT_NAMES],
                               rtol=0, atol=1e-12)
    return a


# ------------------------------------------------------------------ synthetic datasets

def one_person_gt(area=10000.0, k=17, seed=0):
    rng = np.random.default_rng(seed)
    kp = np.c_[rng.uniform(100, 200, (k, 2)), np.full(k, 2.0)]
    d = {"images": [{"id": 1, "width": 640, "height": 480}],
         "categories": [{"id": 1, "name": "person"}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                          "area": area, "bbox": [90, 90, 120, 120], "num_keypoints": k,
                          "keypoints": kp.ravel().tolist()}]}
    return d, kp[:, :2]


def hand_oks(d, area, sigmas):
    """OKS of a prediction offset by distance d from every visible joint (COCO formula)."""
    return float(np.mean(np.exp(-d ** 2 / (2 * area * (2 * sigmas) ** 2))))


def synthetic_dataset(seed=1, n_img=60, k=17):
    """GT with varied areas, invisible joints, empty and crowd annotations + predictions."""
    rng = np.random.default_rng(seed)
    images, anns, preds = [], [], []
    aid = 0
    for img in range(1, n_img + 1):
        images.append({"id": img, "width": 640, "height": 480})
        for _ in range(rng.integers(0, 5)):
            aid += 1
            side = rng.uniform(20, 300)
            kp = np.c_[rng.uniform(0, side, (k, 2)) + rng.uniform(0, 300, 2),
                       rng.choice([0, 1, 2], size=k, p=[0.2, 0.3, 0.5])]
            kp[kp[:, 2] == 0, :2] = 0
            if rng.uniform() < 0.1:
                kp[:] = 0
            nk = int((kp[:, 2] > 0).sum())
            crowd = int(rng.uniform() < 0.05)
            x0, y0 = kp[kp[:, 2] > 0, :2].min(0) if nk else (10.0, 10.0)
            anns.append({"id": aid, "image_id": img, "category_id": 1, "iscrowd": crowd,
                         "area": float(side * side * rng.uniform(0.5, 0.9)),
                         "bbox": [float(x0), float(y0), side, side], "num_keypoints": nk,
                         "keypoints": kp.ravel().tolist()})
            if nk and rng.uniform() < 0.9:
                noise = rng.normal(0, rng.uniform(1, 0.15 * side), (k, 2))
                preds.append((img, kp[:, :2] + noise, rng.uniform()))
        for _ in range(rng.integers(0, 3)):  # false positives
            preds.append((img, rng.uniform(0, 600, (k, 2)), rng.uniform(0, 0.5)))
    gt = {"images": images, "annotations": anns,
          "categories": [{"id": 1, "name": "person"}]}
    ids = np.array([p[0] for p in preds])
    kps = np.stack([p[1] for p in preds])
    scores = np.array([p[2] for p in preds])
    return gt, ids, kps, scores


# ------------------------------------------------------------------------ the tests

@pytest.mark.parametrize("target,expected", [
    # OKS in (0.75, 0.80): matched at thresholds 0.50 ... 0.75 (6 of 10)
    (0.775, dict(AP=0.6, AP50=1.0, AP75=1.0, APM=-1.0, APL=0.6,
                 AR=0.6, AR50=1.0, AR75=1.0, ARM=-1.0, ARL=0.6)),
    # OKS in (0.50, 0.55): matched at 0.50 only
    (0.52, dict(AP=0.1, AP50=1.0, AP75=0.0, APM=-1.0, APL=0.1,
                AR=0.1, AR50=1.0, AR75=0.0, ARM=-1.0, ARL=0.1)),
    # OKS in (0.90, 0.95): matched at all but 0.95
    (0.93, dict(AP=0.9, AP50=1.0, AP75=1.0, APM=-1.0, APL=0.9,
                AR=0.9, AR50=1.0, AR75=1.0, ARM=-1.0, ARL=0.9)),
    # OKS below 0.5: no match anywhere
    (0.3, dict(AP=0.0, AP50=0.0, AP75=0.0, APM=-1.0, APL=0.0,
               AR=0.0, AR50=0.0, AR75=0.0, ARM=-1.0, ARL=0.0)),
])
def test_constant_offset_single_person_matches_hand_oks(target, expected):
    area = 10000.0  # > 96**2: "large"; no medium GT -> APM = ARM = -1
    gt, kp = one_person_gt(area)
    d = brentq(lambda t: hand_oks(t, area, COCO_SIGMAS) - target, 0.0, 500.0)
    assert hand_oks(d, area, COCO_SIGMAS) == pytest.approx(target, abs=1e-9)
    offset = np.array([d, 0.0])  # constant image-space offset of length d
    res = results_from_arrays([1], (kp + offset)[None], None, [0.9])
    stats = both(gt, res)
    for k, v in expected.items():
        assert stats[k] == pytest.approx(v, abs=1e-12), k


def test_false_positive_ranked_first_gives_exact_interpolated_ap():
    # two GT persons; a far-away FP with the higher score, then a perfect hit on GT 1.
    # precision at recall 0.5 is 0.5 for the 51 recall points 0.00..0.50 -> AP = 25.5/101.
    gt, kp = one_person_gt(10000.0)
    second = json.loads(json.dumps(gt["annotations"][0]))
    second.update(id=2, keypoints=(np.c_[kp + 250, np.full(17, 2.0)]).ravel().tolist())
    gt["annotations"].append(second)
    res = results_from_arrays([1, 1], np.stack([kp + 1000, kp]), None, [0.9, 0.8])
    stats = both(gt, res)
    for k in ("AP", "AP50", "AP75", "APL"):
        assert stats[k] == pytest.approx(25.5 / 101, abs=1e-12)
    for k in ("AR", "AR50", "AR75", "ARL"):
        assert stats[k] == pytest.approx(0.5, abs=1e-12)


def test_custom_sigmas_other_keypoint_set():
    k = 5
    sig = np.array([0.05, 0.08, 0.1, 0.03, 0.07])
    area = 5000.0  # medium
    gt, kp = one_person_gt(area, k=k)
    d = brentq(lambda t: hand_oks(t, area, sig) - 0.62, 0.0, 500.0)
    res = results_from_arrays([1], (kp + [0.0, d])[None], None, [1.0])
    stats = both(gt, res, sigmas=sig)
    assert stats["AP"] == pytest.approx(0.3, abs=1e-12)  # thresholds 0.50, 0.55, 0.60
    assert stats["APM"] == pytest.approx(0.3, abs=1e-12)
    assert stats["APL"] == -1.0
    with pytest.raises(InputError, match="keypoint"):
        coco_keypoint_stats(gt, res)  # 17 default sigmas vs 5 keypoints


def test_synthetic_dataset_engines_agree():
    gt, ids, kps, scores = synthetic_dataset()
    stats = both(gt, results_from_arrays(ids, kps, None, scores))
    assert 0.05 < stats["AP"] < 0.95  # a non-trivial case
    sub = sorted({int(i) for i in ids})[:20]
    both(gt, results_from_arrays(ids, kps, None, scores), img_ids=sub)


@needs_coco_mini
def test_coco_mini_gt_as_predictions_is_perfect():
    d = json.loads(COCO_MINI.read_text())
    anns = [a for a in d["annotations"] if a["num_keypoints"] > 0]
    kp = np.array([a["keypoints"] for a in anns], dtype=float).reshape(-1, 17, 3)
    res = results_from_arrays([a["image_id"] for a in anns], kp[..., :2], kp[..., 2])
    stats = both(COCO_MINI, res)
    assert all(v == 1.0 for v in stats.values())  # published: AP = 1.0


@needs_coco_mini
def test_coco_mini_noisy_and_detector_scores_engines_agree(tmp_path):
    d = json.loads(COCO_MINI.read_text())
    anns = [a for a in d["annotations"] if a["num_keypoints"] > 0]
    kp = np.array([a["keypoints"] for a in anns], dtype=float).reshape(-1, 17, 3)[..., :2]
    ids = np.array([a["image_id"] for a in anns])
    rng = np.random.default_rng(3)
    dets = json.loads((COCO_MINI.parent / "person_detections.json").read_text())
    for trial in range(3):
        noisy = kp + rng.normal(0, 3 + 3 * trial, kp.shape) + rng.uniform(-5, 5, 2)
        # extra detector-like duplicates with random scores, placed in detection boxes
        extra = [dd for dd in dets if rng.uniform() < 0.2]
        ex_kp = np.stack([np.asarray(e["bbox"][:2]) + rng.uniform(0, 1, (17, 2))
                          * np.asarray(e["bbox"][2:]) for e in extra])
        all_ids = np.r_[ids, [e["image_id"] for e in extra]]
        all_kp = np.concatenate([noisy, ex_kp])
        scores = np.r_[rng.uniform(0.3, 1.0, len(ids)), [e["score"] for e in extra]]
        res = results_from_arrays(all_ids, all_kp, rng.uniform(size=all_kp.shape[:2]), scores)
        stats = both(COCO_MINI, res)
        assert 0.0 < stats["AP"] < 1.0
    # a results file gives the same stats as the list
    path = tmp_path / "res.json"
    path.write_text(json.dumps(list(res)))
    assert coco_keypoint_stats(COCO_MINI, path) == coco_keypoint_stats(COCO_MINI, res)


@needs_coco_mini
def test_empty_results():
    stats = both(COCO_MINI, [])
    assert all(v == 0.0 for v in stats.values())  # GT has medium and large persons
    gt, _ = one_person_gt(10000.0)
    stats = both(gt, [])
    assert stats["APM"] == -1.0 and stats["ARM"] == -1.0 and stats["AP"] == 0.0


def test_gt_cache_reuses_loaded_gt(tmp_path):
    gt, kp = one_person_gt()
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    clear_gt_cache()
    a = load_gt(path)
    a.engine_object("hotcoco")
    assert load_gt(path) is a and load_gt(str(path)) is a
    assert a.engine_object("hotcoco") is a.engine_object("hotcoco")
    path.write_text(json.dumps(gt) + "\n")  # changed file (size) -> reloaded
    assert load_gt(path) is not a
    assert load_gt(gt) is load_gt(gt)


def test_bad_inputs_name_file_and_field(tmp_path):
    gt, kp = one_person_gt()
    with pytest.raises(InputError, match="file not found"):
        coco_keypoint_stats(tmp_path / "nope.json", [])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json.*not valid JSON"):
        coco_keypoint_stats(bad, [])
    no_ann = tmp_path / "noann.json"
    no_ann.write_text(json.dumps({"images": [], "categories": []}))
    with pytest.raises(InputError, match="field `annotations`"):
        coco_keypoint_stats(no_ann, [])
    res = tmp_path / "res.json"
    res.write_text(json.dumps([{"image_id": 1, "category_id": 1, "keypoints": [1, 2, 3],
                                 "score": 1.0}]))
    with pytest.raises(InputError, match=r"res.json: field `\[0\].keypoints`"):
        coco_keypoint_stats(gt, res)
    r = [{"image_id": 1, "category_id": 1, "keypoints": [1.0] * 51}]
    with pytest.raises(InputError, match=r"\[0\].score"):
        coco_keypoint_stats(gt, r)
    r[0]["score"] = 1.0
    r[0]["image_id"] = 7
    with pytest.raises(InputError, match="not in the ground truth"):
        coco_keypoint_stats(gt, r)
    with pytest.raises(InputError, match="non-finite"):
        results_from_arrays([1], np.full((1, 17, 2), np.nan))
    with pytest.raises(InputError, match="engine"):
        coco_keypoint_stats(gt, [], engine="nope")


def test_results_from_arrays_layout():
    kp = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    r = results_from_arrays(np.array([5, 6]), kp, [[0.1, 0.2, 0.3]] * 2, [0.5, 0.7],
                            category_id=3)
    assert r[1] == {"image_id": 6, "category_id": 3, "score": 0.7,
                    "keypoints": [6.0, 7.0, 0.1, 8.0, 9.0, 0.2, 10.0, 11.0, 0.3]}
    assert type(r[0]["image_id"]) is int
    assert results_from_arrays(np.zeros(0, int), np.zeros((0, 17, 2))) == []


def test_instance_scores_hrnet_rescoring():
    mv = np.array([[0.9, 0.1, 0.5, 0.2],    # joints above 0.2: 0.9, 0.5 -> mean 0.7
                   [0.1, 0.2, 0.0, 0.15]])  # none above -> 0
    np.testing.assert_allclose(instance_scores([0.5, 1.0], mv), [0.35, 0.0])
    np.testing.assert_allclose(instance_scores([1.0, 1.0], mv, threshold=0.0),
                               [0.425, 0.15])


def test_oks_nms_matches_greedy_reference():
    rng = np.random.default_rng(0)
    n, k = 40, 17
    base = rng.uniform(0, 300, (8, k, 2))
    kp = base[rng.integers(0, 8, n)] + rng.normal(0, 3, (n, k, 2))
    areas = rng.uniform(2000, 20000, n)
    ids = rng.integers(0, 3, n)

    def ref_one(idx):  # HRNet's loop, written plainly (stable order on score ties)
        order = idx[np.argsort(-scores[idx], kind="stable")]
        kept = []
        while order.size:
            i = order[0]
            kept.append(i)
            rest = order[1:]
            d2 = ((kp[rest] - kp[i]) ** 2).sum(-1)
            s = (areas[i] + areas[rest]) / 2 + np.spacing(1)
            oks = np.exp(-d2 / (2 * COCO_SIGMAS) ** 2 / s[:, None] / 2).mean(-1)
            order = rest[oks <= 0.9]
        return kept

    for scores in (rng.uniform(size=n), rng.choice([0.3, 0.6], size=n)):  # then many ties
        keep = oks_nms(kp, scores, areas, thr=0.9, image_ids=ids)
        expected = sorted(j for g in range(3) for j in ref_one(np.flatnonzero(ids == g)))
        assert keep.tolist() == expected
        assert 8 <= len(keep) < n  # duplicates were suppressed
    assert oks_nms(kp[:1], scores[:1], areas[:1]).tolist() == [0]
    assert oks_nms(kp[:0], scores[:0], areas[:0]).tolist() == []
    # two copies of one pose: the higher score is kept, in any input order
    assert oks_nms(kp[[0, 0]], [0.2, 0.7], areas[[0, 0]]).tolist() == [1]


def test_engines_listed():
    assert set(ENGINES) == {"hotcoco", "pycocotools"}


def test_more_than_20_detections_and_score_ties_engines_agree():
    # pycocotools keeps the 20 best-scored detections per image (stable sort on -score)
    gt, _, _, _ = synthetic_dataset(seed=7, n_img=3)
    rng = np.random.default_rng(7)
    ids, kps = [], []
    for a in gt["annotations"]:
        kp = np.asarray(a["keypoints"], dtype=float).reshape(-1, 3)[:, :2]
        for _ in range(12):
            ids.append(a["image_id"])
            kps.append(kp + rng.normal(0, 6, kp.shape))
    scores = rng.choice([0.2, 0.5, 0.9], size=len(ids))  # many ties
    stats = both(gt, results_from_arrays(ids, np.stack(kps), None, scores))
    assert 0.0 < stats["AP"] < 1.0
