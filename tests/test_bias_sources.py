"""Bias by source (daec_viz.analysis.bias_sources) on noise-free simulated datasets with
known injected components, and ``daec-viz errors --json``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from daec_viz.analysis import analyse_errors
from daec_viz.analysis.bias_sources import COMPONENTS, bias_sources
from daec_viz.cli import main
from daec_viz.decoding import DecoderConfig
from daec_viz.io.datasets import load_dataset
from daec_viz.synthetic.demo import build_demo
from daec_viz.synthetic.pipeline import PipelineSettings, convention_offset
from daec_viz.synthetic.simulate import NetworkKnobs

METHODS = ["standard", "dark", "daec"]


def _sources(path):
    ds = load_dataset(path)
    ea = analyse_errors(ds, methods=METHODS, taxonomy=False, n_boot=10)
    cfgs = {m: DecoderConfig.from_dict(ea.info["configs"][m]) for m in ea.methods}
    return ea, bias_sources(ds, ea.methods, cfgs)


def _build(tmp_path_factory, name, pipeline, knobs=None, n_images=10):
    return build_demo(tmp_path_factory.mktemp(name) / "d", seed=7, n_images=n_images,
                      knobs=knobs or NetworkKnobs.noise_free(), pipeline=pipeline)


@pytest.fixture(scope="module")
def clean_hrnet_shift(tmp_path_factory):
    return _build(tmp_path_factory, "clean", PipelineSettings("hrnet", "shift"))


def test_components_add_up_and_noise_free_leaves_nothing_to_the_network(clean_hrnet_shift):
    ea, bs = _sources(clean_hrnet_shift)
    for m in METHODS:
        b = bs[m]
        assert tuple(b.components) == COMPONENTS
        np.testing.assert_allclose(sum(b.components.values()), b.total, atol=1e-12)
        np.testing.assert_allclose(b.total, ea.methods[m].bias["hm"].overall_mean,
                                   atol=1e-9)
        np.testing.assert_allclose(b.components["network"], 0.0, atol=2e-3)  # float16 cache
        assert b.components["convention"].tolist() == [0.0, 0.0]
        assert abs(b.components["flip_test"][1]) < 1e-6      # the flip test is left-right
    # DARK on HRNet's shifted flip test: about +1/(2s) = +0.125 px in x
    assert 0.08 < bs["dark"].components["flip_test"][0] < 0.17


def test_recovers_an_injected_network_bias(tmp_path_factory):
    knobs = NetworkKnobs.noise_free().replace(bias=(0.3, -0.2))
    path = _build(tmp_path_factory, "biased", PipelineSettings("dark", "noshift"), knobs)
    _, bs = _sources(path)
    np.testing.assert_allclose(bs["dark"].components["network"], [0.3, -0.2], atol=0.01)
    np.testing.assert_allclose(bs["dark"].components["flip_test"], 0.0, atol=1e-6)


def test_recovers_the_leak_and_the_convention_mismatch(tmp_path_factory):
    # HRNet checkpoints decoded in DarkPose's code: about +0.375 px in both axes (derived
    # per joint), and a full leak of the natural grid takes it back (counted as network)
    path = _build(tmp_path_factory, "mismatch",
                  PipelineSettings("hrnet", "none", leak=1.0, convention="dark"), n_images=30)
    ea, bs = _sources(path)
    d = bs["dark"].components
    ds = load_dataset(path)
    me = ea.methods["dark"]
    inst = ds.instances
    derived = convention_offset(me.gt_img, inst[["center_x", "center_y"]].to_numpy(),
                                inst[["scale_x", "scale_y"]].to_numpy(), "hrnet", "dark",
                                (192, 256), (48, 64))[me.usable].mean(0)
    assert 0.3 < derived[0] < 0.45 and 0.3 < derived[1] < 0.45   # ~ (s-1)/(2s) = 0.375
    # up to HRNet's rounding, which re-samples the sub-pixel phases of the shifted labels
    np.testing.assert_allclose(d["convention"], derived, atol=0.03)
    # the leak: -(s-1)/(2s) = -0.375 in the network's frame, up to the rounding's sampling
    np.testing.assert_allclose(d["network"], [-0.375, -0.375], atol=0.04)


def test_unknown_pipeline_is_said(tmp_path_factory):
    path = build_demo(tmp_path_factory.mktemp("legacy") / "d", seed=7, n_images=6,
                      knobs=NetworkKnobs.noise_free())      # exact targets: pipeline unknown
    ea, bs = _sources(path)
    b = bs["dark"]
    assert any("pipeline unknown" in n for n in b.notes)
    for c in ("encoding", "flip_test", "convention"):
        assert b.components[c].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(sum(b.components.values()), b.total, atol=1e-12)


def test_errors_json_has_bias_sources(clean_hrnet_shift, capsys):
    rc = main(["errors", str(clean_hrnet_shift), "--json", "--no-ap", "--bootstrap", "20",
               "--methods", "dark", "daec"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for m in ("dark", "daec"):
        b = out["methods"][m]["bias_sources"]
        assert set(b["components"]) == set(COMPONENTS) and b["units"] == "heatmap px"
        np.testing.assert_allclose(np.sum(list(b["components"].values()), axis=0), b["total"],
                                   atol=1e-9)
