"""Table 1 layout, gains, PCKh table and speed figure."""

from __future__ import annotations

import numpy as np
import pytest

from daec_viz.evaluation.coco_eval import STAT_NAMES
from daec_viz.evaluation.pckh import pckh
from daec_viz.plots.compare import (
    gains_frame,
    pckh_frame,
    speed_figure,
    table1_frame,
    table_figure,
)
from daec_viz.plots.style import METHOD_COLORS

# the paper's Table 1, ResNet-50 256x192 (values / 100)
PAPER = {
    "standard": [65.34, 90.37, 74.48, 63.25, 68.59, 69.32, 91.85, 77.96, 66.57, 73.48],
    "shifting": [66.80, 90.43, 75.74, 65.15, 70.28, 70.84, 91.99, 78.90, 68.09, 75.00],
    "dark": [68.40, 91.38, 76.89, 66.60, 71.59, 72.01, 92.07, 79.72, 69.30, 76.14],
    "daec": [70.63, 91.40, 78.17, 68.27, 74.66, 74.11, 92.24, 80.81, 70.98, 78.85],
}
STATS = {m: dict(zip(STAT_NAMES, np.array(v) / 100, strict=True)) for m, v in PAPER.items()}


def test_table1_reproduces_the_papers_ap_gains():
    df = table1_frame(STATS, model="ResNet-50", input_size="256×192")
    assert list(df.columns) == ["Model", "Input", "Method", "AP", "AP↑", *STAT_NAMES[1:]]
    assert list(df["Method"]) == ["Standard", "Shifting", "DARK", "DAEC"]
    # the paper prints 5.29, 3.83, 2.24 in the AP↑ column
    np.testing.assert_allclose(df["AP↑"].iloc[:3], [5.29, 3.83, 2.23], atol=0.011)
    assert np.isnan(df.loc["daec", "AP↑"])
    assert df.loc["dark", "AR75"] == pytest.approx(79.72)


def test_gains_frame_and_figure():
    g = gains_frame(STATS)
    assert list(g.index) == ["vs Standard", "vs Shifting", "vs DARK"]
    assert g.loc["vs DARK", "APL"] == pytest.approx(74.66 - 71.59)
    fig = table_figure(g, gains=True)
    cells = fig.data[0].cells.values
    assert list(cells[0]) == ["vs Standard", "vs Shifting", "vs DARK"]
    assert cells[1][2] == "+2.23"  # AP of DAEC − DARK
    fig1 = table_figure(table1_frame(STATS))
    assert fig1.data[0].cells.values[2][3] == ""  # AP↑ blank on DAEC's row
    assert "214, 39, 40" in fig1.data[0].cells.fill.color[0][3]  # DAEC's colour
    with pytest.raises(Exception, match="daec"):
        gains_frame({"dark": STATS["dark"]})


def test_pckh_frame():
    rng = np.random.default_rng(0)
    gt = rng.uniform(10, 100, (50, 16, 2))
    res = {"daec": pckh(gt + 1.0, gt, np.full(50, 10.0)),
           "standard": pckh(gt + 6.0, gt, np.full(50, 10.0))}
    df = pckh_frame(res)
    assert df.loc["daec", "Mean"] == 100.0 and df.loc["standard", "Mean"] == 0.0
    assert list(df.columns)[-1] == "Mean"
    cells = table_figure(df).data[0].cells.values
    assert list(cells[0]) == ["DAEC", "Standard"] and cells[-1][0] == "100.00"


def test_speed_figure():
    res = {"info": {"n": 10, "repeats": 1}, "rows": [
        {"method": "numpy argmax", "options": "", "us_per_instance": 7.0,
         "ratio_to_argmax": 1.0},
        {"method": "daec", "options": "delta=4", "us_per_instance": 11.0,
         "ratio_to_argmax": 11 / 7}]}
    fig = speed_figure(res)
    assert list(fig.data[0].x) == [7.0, 11.0]
    assert fig.data[0].marker.color[1] == METHOD_COLORS["daec"]
    assert fig.data[0].text[1] == "1.57× argmax"
