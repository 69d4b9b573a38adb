"""The ``coco-eval`` and ``pckh`` sub-commands, through ``daec_viz.cli.main``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shared_data import COCO_MINI as COCO_MINI_DIR
from shared_data import MPII_VALID as MPII

import daec_viz.cli as cli

COCO_MINI = COCO_MINI_DIR / "person_keypoints.json"


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    """Make sure both modules are registered (until they are in SUBCOMMAND_MODULES)."""
    mods = tuple(cli.SUBCOMMAND_MODULES)
    extra = tuple(m for m in ("coco_eval_cmd", "pckh_cmd") if m not in mods)
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", mods + extra)


def one_person(tmp_path):
    kp = np.c_[np.linspace(100, 200, 17), np.linspace(150, 250, 17), np.full(17, 2.0)]
    gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "person"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                           "area": 10000.0, "bbox": [100, 150, 100, 100],
                           "num_keypoints": 17, "keypoints": kp.ravel().tolist()}]}
    res = [{"image_id": 1, "category_id": 1, "keypoints": kp.ravel().tolist(), "score": 1.0}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    return tmp_path / "gt.json", tmp_path / "res.json"


@pytest.mark.parametrize("engine", ["hotcoco", "pycocotools"])
def test_coco_eval_json(tmp_path, capsys, engine):
    gt, res = one_person(tmp_path)
    assert cli.main(["coco-eval", str(gt), str(res), "--engine", engine, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # 1/(1 + eps): pycocotools divides tp by (tp + fp + np.spacing(1))
    assert out["AP"] == pytest.approx(1.0, abs=1e-12) and out["APM"] == -1.0
    assert len(out) == 10


def test_coco_eval_table(tmp_path, capsys):
    gt, res = one_person(tmp_path)
    assert cli.main(["coco-eval", str(gt), str(res)]) == 0
    out = capsys.readouterr().out
    assert "AP50" in out and "1.0000" in out and "-1.0000" in out
    assert "Average Precision" not in out  # the evaluators' own printing is silenced


def test_coco_eval_bad_inputs(tmp_path, capsys):
    gt, res = one_person(tmp_path)
    assert cli.main(["coco-eval", str(tmp_path / "missing.json"), str(res)]) == 2
    assert "missing.json" in capsys.readouterr().err
    res.write_text('[{"image_id": 1, "category_id": 1, "keypoints": [1, 2], "score": 1}]')
    assert cli.main(["coco-eval", str(gt), str(res)]) == 2
    err = capsys.readouterr().err
    assert "res.json" in err and "[0].keypoints" in err
    res.write_text("[{")
    assert cli.main(["coco-eval", str(gt), str(res)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


@pytest.mark.skipif(not COCO_MINI.is_file(), reason="coco-mini absent")
def test_coco_eval_real_gt(tmp_path, capsys):
    d = json.loads(COCO_MINI.read_text())
    res = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
            "score": 1.0} for a in d["annotations"] if a["num_keypoints"] > 0]
    (tmp_path / "r.json").write_text(json.dumps(res))
    assert cli.main(["coco-eval", str(COCO_MINI), str(tmp_path / "r.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["AP"] == 1.0


@pytest.mark.skipif(not (MPII / "valid.h5").is_file(), reason="mpii-valid absent")
def test_pckh_cli(capsys):
    args = ["pckh", str(MPII / "valid.h5"), str(MPII / "preds_hg_s2_b1.mat")]
    assert cli.main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["PCKh@0.5"]["Mean"] == pytest.approx(86.76, abs=0.01)
    assert out["PCKh@0.5"]["per_joint"]["head_top"] == pytest.approx(95.84, abs=0.01)
    assert cli.main(args) == 0
    assert "86.76" in capsys.readouterr().out


def test_pckh_cli_bad_input(tmp_path, capsys):
    (tmp_path / "a.h5").write_text("not hdf5")
    assert cli.main(["pckh", str(tmp_path / "a.h5"), str(tmp_path / "p.mat")]) == 2
    assert "a.h5" in capsys.readouterr().err
