"""AP-vs-Δ figure and the Δ export snippets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from daec_viz.evaluation.coco_eval import STAT_NAMES
from daec_viz.evaluation.sweep import choose_delta
from daec_viz.plots.style import METHOD_COLORS
from daec_viz.plots.sweep import PATTERN_COLORS, delta_snippets, sweep_figure

DELTAS = np.arange(-1.0, 6.5, 0.5)


def _sweep() -> pd.DataFrame:
    """A sweep table whose AP peaks at Δ = 3 (train) / 3.5 (test) for BR."""
    rows = []
    for split, peak in (("train", 3.0), ("test", 3.5)):
        for smooth in (False, True):
            for p, off in (("BR", 0.0), ("UR", 0.02), ("BL", 0.04), ("UL", 0.06)):
                for d in DELTAS:
                    ap = 0.75 - off - 0.01 * (d - peak) ** 2 - (0.005 if smooth else 0)
                    rows.append({"method": "daec", "pattern": p, "smooth": smooth,
                                 "delta": d, "split": split,
                                 **{s: ap + 0.001 * i for i, s in enumerate(STAT_NAMES)}})
            for m, ap in (("standard", 0.6), ("shifting", 0.65), ("dark", 0.7)):
                rows.append({"method": m, "pattern": "", "smooth": smooth, "delta": np.nan,
                             "split": split,
                             **{s: ap + 0.001 * i for i, s in enumerate(STAT_NAMES)}})
    return pd.DataFrame(rows)


def test_curves_baselines_and_delta_opt():
    df = _sweep()
    choice = choose_delta(df, "BR", False, "AP")
    assert choice.delta == 3.0
    fig = sweep_figure(df, "AP", "test", choice=choice, current_delta=2.5)
    by = {t.name: t for t in fig.data}
    assert {"BR", "UR", "BL", "UL", "BR +smooth", "UL +smooth", "train BR", "Δ_opt"} <= set(by)
    np.testing.assert_allclose(by["BR"].x, DELTAS)
    np.testing.assert_allclose(by["BR"].y, 0.75 - 0.01 * (DELTAS - 3.5) ** 2)
    assert by["BR"].line.dash == "solid" and by["BR +smooth"].line.dash == "dash"
    assert by["UR"].line.color == PATTERN_COLORS["UR"]
    np.testing.assert_allclose(by["train BR"].y, 0.75 - 0.01 * (DELTAS - 3.0) ** 2)
    assert (by["Δ_opt"].x[0], by["Δ_opt"].y[0]) == (3.0, pytest.approx(0.75))
    assert "0.7475" in by["Δ_opt"].text[0]  # its test AP
    ann = [a for a in fig.layout.annotations if a.name == "Δ_opt"]
    assert len(ann) == 1 and ann[0].x == 3.0 and "0.7475" in ann[0].text  # readable label
    hl = [s for s in fig.layout.shapes if s.name in ("standard", "shifting", "dark")]
    # DARK once (from its +smooth row: 0.7 − 0 here), standard/shifting per smoothing
    assert {s.name: s.y0 for s in hl} == {"standard": 0.6, "shifting": 0.65, "dark": 0.7}
    assert "dark 0.700" in by and "standard 0.600" in by
    assert len([s for s in fig.layout.shapes if s.name and s.name.startswith("dark")]) == 1
    assert {s.name: s.line.color for s in hl}["dark"] == METHOD_COLORS["dark"]
    vl = [s for s in fig.layout.shapes if s.name == "current Δ"]
    assert vl and vl[0].x0 == 2.5


def test_other_stat_and_subset():
    df = _sweep()
    fig = sweep_figure(df, "AR75", "train", patterns=["UL"], smooth=(True,))
    assert [t.name for t in fig.data] == ["UL +smooth", "standard +smooth 0.607",
                                          "shifting +smooth 0.657", "dark 0.707"]
    np.testing.assert_allclose(fig.data[0].y,
                               0.75 - 0.06 - 0.01 * (DELTAS - 3.0) ** 2 - 0.005 + 0.007)
    with pytest.raises(Exception, match="expected one of"):
        sweep_figure(df, "XX")


def test_delta_snippets():
    s = delta_snippets(3.5, "UR", 2.0, smooth=True, extra={"test_value": 0.7})
    d = json.loads(s["json"])
    assert d == {"delta": 3.5, "pattern": "UR", "sigma": 2.0, "smooth": True,
                 "test_value": 0.7,
                 "config": {"method": "daec", "sigma": 2.0, "delta": 3.5, "pattern": "UR",
                            "blur_kernel": 11}}
    # the exported config is one daec-viz reads back
    from daec_viz.decoding import DecoderConfig
    assert DecoderConfig.from_dict(d["config"]).delta == (3.5, 3.5)
    assert "TEST:\n  DAEC:\n    DELTA: 3.5\n    PATTERN: UR" in s["hrnet"]
    assert "BLUR_KERNEL: 11" in s["hrnet"]
    assert "delta=3.5" in s["mmpose"] and "pattern='UR'" in s["mmpose"]
    compile(s["mmpose"], "<mmpose>", "exec")
    assert "input_size=(192, 256), heatmap_size=(48, 64)" in s["mmpose"]
    big = delta_snippets(2, "BR", input_size=(288, 384), heatmap_size=(72, 96))["mmpose"]
    assert "input_size=(288, 384), heatmap_size=(72, 96)" in big
    with pytest.raises(Exception, match="pattern"):
        delta_snippets(1, "XX")


def test_uncertainty_band_and_wins():
    from types import SimpleNamespace

    df = _sweep()
    u = SimpleNamespace(deltas=np.array([0.0, 2.0, 4.0]), ap=np.array([0.5, 0.6, 0.55]),
                        band=np.array([[0.45, 0.55], [0.55, 0.65], [0.5, 0.6]]),
                        wins=np.array([0.0, 0.7, 0.3]), ci=0.95, split="train", pattern="BR",
                        smooth=False, n_boot=100)
    fig = sweep_figure(df, "AP", "test", uncertainty=u)
    band = next(t for t in fig.data if t.name.startswith("95 % band"))
    assert list(band.y) == [0.55, 0.65, 0.6, 0.5, 0.55, 0.45]  # upper, then lower reversed
    wins = next(t for t in fig.data if t.name == "Δ_opt wins")
    assert "70%" in wins.text[1]
