"""The Learn page, headless (streamlit.testing AppTest): its own Δ and pattern, Δ* for a
bias of either sign, and "Animate Δ"."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest_support import metric, no_errors  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

PAGE = "daec_viz_app/pages/learn.py"
MU2 = (12.3, 14.6)  # the page's 2-D truth, heatmap px
_metric, _no_errors = metric, no_errors


def _error_2d(at: AppTest, delta: float, pattern: str) -> str:
    """The page's "DAEC 2-D error" readout recomputed from its controls."""
    from daec_viz.synthetic.teaching import estimate_2d, illustrate_2d
    sigma = float(at.session_state["sigma"])
    maps = illustrate_2d(MU2, sigma, (at.slider(key="le_bx").value,
                                      at.slider(key="le_by").value), 0.5,
                         at.slider(key="le_std2").value)
    _, est = estimate_2d(maps["f"], sigma, delta, pattern)
    e = est - np.asarray(MU2)
    return f"({e[0]:+.3f}, {e[1]:+.3f})"


@pytest.mark.slow
def test_page_delta_moves_the_2d_error_and_leaves_the_app_wide_delta(app):
    app.sidebar.slider(key="delta").set_value(3.0).run()
    app.switch_page(PAGE).run()
    _no_errors(app)
    assert app.slider(key="le_delta").value == 3.0  # started from the app-wide Δ
    assert any("this page's own" in c.value for c in app.caption)
    pattern = app.selectbox(key="le_pattern").value
    before = _metric(app, "DAEC 2-D error (x, y) px")
    assert before == _error_2d(app, 3.0, pattern)

    app.slider(key="le_delta").set_value(0.0).run()
    _no_errors(app)
    after = _metric(app, "DAEC 2-D error (x, y) px")
    assert after != before
    assert after == _error_2d(app, 0.0, pattern)  # DAEC at the page's Δ
    assert app.session_state["delta"] == 3.0  # the app-wide Δ is untouched
    assert app.sidebar.slider(key="delta").value == 3.0


@pytest.mark.slow
def test_a_negative_bias_names_its_delta_star_and_delta_animates(app):
    from daec_viz.synthetic.teaching import animation_deltas, illustrate_1d
    app.switch_page(PAGE).run()
    app.selectbox(key="le_pattern").set_value("BR").run()
    app.selectbox(key="le_kind").set_value("biased").run()
    app.slider(key="le_shift").set_value(-0.6).run()
    _no_errors(app)
    sigma = float(app.session_state["sigma"])
    kw = dict(mu=app.slider(key="le_mu").value, sigma=sigma,
              delta=app.slider(key="le_delta").value, kind="biased", shift=-0.6,
              weight=app.slider(key="le_weight").value, std=app.slider(key="le_std").value)
    low = illustrate_1d(side="lower", **kw)
    assert low.delta_star is not None and low.delta_star > 0
    # BR cuts the upper end: no Δ* there, the BL metric and the hint name the lower end's
    assert _metric(app, "Δ* with ν(Δ*) = μ").startswith("none")
    assert _metric(app, "Δ* with BL") == f"{low.delta_star:.2f}"
    assert any("BL pattern" in i.value and f"{low.delta_star:.2f}" in i.value
               for i in app.info)
    app.selectbox(key="le_pattern").set_value("BL").run()
    assert _metric(app, "Δ* with ν(Δ*) = μ") == f"{low.delta_star:.2f}"
    assert not any("BL pattern" in i.value for i in app.info)

    app.toggle(key="le_animate").set_value(True).run()
    _no_errors(app)
    specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    anim = [s for s in specs if s.get("frames")]
    assert len(anim) == 1
    grid = animation_deltas(sigma)
    assert [f["name"] for f in anim[0]["frames"]] == [f"{d:g}" for d in grid]

