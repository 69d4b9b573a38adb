"""The bias-sources waterfall (daec_viz.plots.bias_sources)."""

from __future__ import annotations

import numpy as np
import pytest

from daec_viz.analysis.bias_sources import COMPONENTS, BiasSources
from daec_viz.exceptions import InputError
from daec_viz.plots.bias_sources import COMPONENT_LABELS, bias_waterfall
from daec_viz.plots.style import method_color


def _sources(seed: int) -> BiasSources:
    rng = np.random.default_rng(seed)
    comps = {c: rng.normal(0, 0.2, 2) for c in COMPONENTS}
    return BiasSources("x", comps, sum(comps.values()), 100)


def test_steps_add_up_to_the_total_bar_per_axis_and_decoder():
    src = {"dark": _sources(0), "daec": _sources(1)}
    fig = bias_waterfall(src)
    assert len(fig.data) == 4  # 2 decoders x 2 axes
    for tr in fig.data:
        steps, total = np.array(tr.y[:-1]), tr.y[-1]
        assert list(tr.measure) == ["relative"] * len(COMPONENTS) + ["total"]
        assert steps.sum() == pytest.approx(total, abs=1e-12)
        assert list(tr.x) == [COMPONENT_LABELS[c] for c in COMPONENTS] + ["total"]
    assert fig.data[0].totals.marker.color == method_color("dark")
    assert fig.layout.meta["totals"]["daec"] == pytest.approx(src["daec"].total.tolist())


def test_json_form_draws_the_same():
    s = _sources(2)
    a, b = bias_waterfall({"dark": s}), bias_waterfall({"dark": s.to_dict()})
    assert [list(t.y) for t in a.data] == [list(t.y) for t in b.data]


def test_no_decoder_is_refused():
    with pytest.raises(InputError):
        bias_waterfall({})
