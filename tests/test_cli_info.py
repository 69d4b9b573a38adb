"""``daec-viz info``: summary text, --json, and clean failures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from daec_viz import cli
from daec_viz.io.coco_format import make_coco_annotations
from daec_viz.io.writer import HeatmapWriter


@pytest.fixture
def run_cli(monkeypatch):
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("info_cmd",))
    return cli.main


@pytest.fixture
def dataset(tmp_path):
    imgs = [{"id": 5, "file_name": "5.jpg", "width": 64, "height": 64}]
    anns = [{"image_id": 5, "keypoints": np.full((17, 3), 2.0)}]
    (tmp_path / "annotations.json").write_text(json.dumps(make_coco_annotations(imgs, anns)))
    with HeatmapWriter(tmp_path / "heatmaps.h5", input_size=(192, 256), sigma=2.0,
                       model="hrnet-w32", dtype="float16", simulated=True,
                       provenance={"seed": 7}) as w:
        w.add(np.zeros((3, 17, 64, 48)), image_ids=[5, 5, 5], centers=np.full((3, 2), 32.0),
              scales=np.ones((3, 2)), ann_ids=[1, -1, -1], splits=["train", "test", "test"])
    return tmp_path


def test_info_text(run_cli, dataset, capsys):
    assert run_cli(["info", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "instances    3 on 1 images (1 with ground-truth boxes)" in out
    assert "48 x 64 (W x H) from input 192 x 256, sigma 2" in out
    assert "float16" in out and "hrnet-w32" in out and "simulated yes" in out
    assert "train 1, test 2" in out and "seed: 7" in out
    assert "none (overlays off)" in out and "warning:" in out
    assert run_cli(["info", str(dataset), "--scan"]) == 0
    assert "non-finite   none (every value is finite)" in capsys.readouterr().out


def test_info_json(run_cli, dataset, capsys):
    assert run_cli(["info", str(dataset), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["num_instances"] == 3 and s["num_keypoints"] == 17
    assert s["heatmap_size"] == [48, 64] and s["cache"]["dtype"] == "float16"
    assert s["splits"] == {"train": 1, "test": 2} and s["simulated"] is True
    assert s["provenance"] == {"seed": 7} and s["convention"] == "dark"


def test_info_bad_input_exits_nonzero(run_cli, dataset, capsys):
    (dataset / "heatmaps.h5").write_bytes(b"garbage")
    assert run_cli(["info", str(dataset)]) == 2
    err = capsys.readouterr().err
    assert str(dataset / "heatmaps.h5") in err and "Traceback" not in err
    assert run_cli(["info", str(dataset / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_info_scan_reports_nonfinite_maps(run_cli, tmp_path, capsys):
    imgs = [{"id": 5, "file_name": "5.jpg", "width": 64, "height": 64}]
    (tmp_path / "annotations.json").write_text(json.dumps(make_coco_annotations(imgs, [])))
    hm = np.zeros((3, 17, 8, 6), np.float32)
    hm[1, 0, 2, 2] = np.nan
    hm[1, 16, 0, 0] = np.inf
    hm[2, 16, 1, 1] = -np.inf
    with HeatmapWriter(tmp_path / "heatmaps.h5", input_size=(24, 32), sigma=1.0) as w:
        w.add(hm, image_ids=[5, 5, 5], centers=np.full((3, 2), 32.0), scales=np.ones((3, 2)))
    assert run_cli(["info", str(tmp_path), "--scan", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["nonfinite"] == {"maps": 3, "instances": 2,
                              "by_joint": {"nose": 1, "right_ankle": 2}}
    assert run_cli(["info", str(tmp_path), "--scan"]) == 0
    assert ("non-finite   3 maps in 2 instances hold NaN/Inf, decoded as invalid "
            "(nose 1, right_ankle 2)") in capsys.readouterr().out
    assert run_cli(["info", str(tmp_path)]) == 0
    assert "non-finite" not in capsys.readouterr().out  # only scanned on request
