"""The field's decoders in the app (AppTest on the small demo): every page shows the
decoders chosen in the sidebar, with the library's numbers; β where an integral decoder is
shown; the choice travels in a link."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest_support import APP, TIMEOUT, metric, no_errors  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from daec_viz.decoding import FIELD_METHODS, DecoderConfig, decode  # noqa: E402
from daec_viz.evaluation.scoring import evaluate  # noqa: E402
from daec_viz.evaluation.sweep import BASELINES  # noqa: E402
from daec_viz.io.datasets import load_dataset  # noqa: E402
from daec_viz.plots.style import method_label  # noqa: E402

pytestmark = pytest.mark.slow


def _test_split(app: AppTest):
    ds = load_dataset(app.session_state["dataset_path"])
    return ds.subset("test") if "test" in ds.splits else ds


def _ap(sub, cfg: DecoderConfig) -> str:
    """The library's AP of ``cfg`` as the app prints it (4 decimals)."""
    return f"{evaluate(sub, cfg)['AP']:.4f}"


def test_every_decoder_is_shown_with_the_library_ap(app):
    """By default every page shows all eight decoders; the AP readout of each field
    decoder is the library's AP of that configuration (the known answer)."""
    from daec_viz_app import state
    ctl = state.controls_of(app.session_state)
    assert ctl.methods == ("standard", "shifting", "dark", "daec", *FIELD_METHODS)
    assert app.sidebar.slider(key="beta").value == 10.0  # an integral decoder is shown
    sub = _test_split(app)
    for m in ("standard", "dark", *FIELD_METHODS):
        assert metric(app, f"{method_label(m)} AP") == _ap(sub, ctl.config(m)), m
    # the Explore page's estimates table and overlay list the field's decoders too
    est = next(d.value for d in app.dataframe if "x (hm px)" in getattr(d.value, "columns", []))
    assert [method_label(m) for m in ctl.methods] == list(est.index)
    assert set(app.get("button_group")[0].proto.options[i].content
               for i in range(9)) >= {"DARK-UDP", "Integral (debiased)"}


def test_compare_page_tables_hold_the_field_decoders(app):
    from daec_viz_app import state
    app.switch_page("daec_viz_app/pages/compare.py").run()
    no_errors(app)
    ctl = state.controls_of(app.session_state)
    sub = _test_split(app)
    ci = next(d.value for d in app.dataframe if "AP50" in getattr(d.value, "columns", []))
    pj = next(d.value for d in app.dataframe if "best" in getattr(d.value, "columns", []))
    for m in FIELD_METHODS:
        label = method_label(m)
        want = evaluate(sub, ctl.config(m))
        assert ci.loc[label, "AP"].startswith(f"{want['AP']:.3f} [")
        assert ci.loc[label, "AP50"].startswith(f"{want['AP50']:.3f} [")
        assert label in pj.columns
    text = " ".join(c.value for c in app.caption)
    assert "β = 10" in text


def test_sidebar_choice_and_beta_reach_every_page(app):
    """Fewer decoders: only those are shown and β disappears; an integral decoder at
    another β: its AP is the library's at that β on every page that shows it."""
    from daec_viz_app import state
    app.sidebar.multiselect(key="decoders").set_value(["dark"]).run()
    no_errors(app)
    assert state.controls_of(app.session_state).methods == ("dark", "daec")
    assert not [s for s in app.sidebar.slider if s.key == "beta"]
    assert {m.label for m in app.metric} == {"DAEC AP", "DARK AP"}

    app.sidebar.multiselect(key="decoders").set_value(["integral_debiased", "gauss3"]).run()
    app.sidebar.slider(key="beta").set_value(4.0).run()
    no_errors(app)
    sub = _test_split(app)
    want = _ap(sub, DecoderConfig("integral_debiased", beta=4.0))
    assert metric(app, "Integral (debiased) AP") == want
    assert metric(app, "Gauss 3-point AP") == _ap(sub, DecoderConfig("gauss3"))

    # Error direction: one mean-bias readout per decoder shown
    app.switch_page("daec_viz_app/pages/errors.py").run()
    no_errors(app)
    labels = {m.label for m in app.metric}
    assert {"Gauss 3-point mean bias (hm px)", "Integral (debiased) mean bias (hm px)",
            "DAEC mean bias (hm px)"} <= labels
    assert "Standard mean bias (hm px)" not in labels

    # AP vs Δ: the integral decoder's horizontal line at β = 4 (the sweep's own row)
    app.switch_page("daec_viz_app/pages/ap_vs_delta.py").run()
    no_errors(app)
    chart = next(c for c in app.get("plotly_chart")
                 if json.loads(c.proto.spec).get("layout", {}).get("title", {}))
    names = [t.get("name", "") for t in json.loads(chart.proto.spec)["data"]]
    split = app.selectbox(key="sw_split").value
    ds = load_dataset(app.session_state["dataset_path"])
    ap = evaluate(ds.subset(split) if split != "all" else ds,
                  DecoderConfig("integral_debiased", beta=4.0))["AP"]
    assert f"integral_debiased {ap:.3f}" in names
    assert f"gauss3 {evaluate(ds.subset(split), DecoderConfig('gauss3'))['AP']:.3f}" in names
    assert not any(n.startswith("standard") for n in names)

    # Learn: the decoders shown on the page's 2-D map, decoded by the library
    app.switch_page("daec_viz_app/pages/learn.py").run()
    no_errors(app)
    from daec_viz.synthetic.teaching import illustrate_2d
    others = next(d.value for d in app.dataframe
                  if "error x (px)" in getattr(d.value, "columns", []))
    sigma = float(app.session_state["sigma"])
    f = illustrate_2d((12.3, 14.6), sigma, (app.slider(key="le_bx").value,
                                            app.slider(key="le_by").value), 0.5,
                      app.slider(key="le_std2").value)["f"]
    xy = decode(f[None, None], DecoderConfig("integral_debiased", beta=4.0)).coords[0, 0]
    np.testing.assert_allclose(others.loc["Integral (debiased)"].to_numpy(float),
                               xy - (12.3, 14.6), atol=1e-12)


def test_ab_page_offers_every_decoder_and_beta(app):
    app.switch_page("daec_viz_app/pages/ab.py").run()
    app.selectbox(key="ab_B_method").set_value("integral").run()
    app.number_input(key="ab_B_beta").set_value(3.0).run()
    no_errors(app)
    assert not [t for t in app.toggle if t.key == "ab_B_smooth"]  # no blur option
    b = DecoderConfig("integral", beta=3.0)
    assert metric(app, f"B: {b.label} AP") == _ap(_test_split(app), b)
    app.selectbox(key="ab_B_method").set_value("dark_udp").run()
    app.toggle(key="ab_B_raw").set_value(True).run()  # its Taylor step on the raw map
    no_errors(app)
    b = DecoderConfig("dark_udp", blur_kernel=1)
    assert metric(app, f"B: {b.label} AP") == _ap(_test_split(app), b)


def test_a_link_keeps_the_decoders_and_beta(app_demo, tmp_path, monkeypatch):
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DAEC_VIZ_DATASET", raising=False)
    first = AppTest.from_file(APP, default_timeout=TIMEOUT)
    first.query_params["dataset"] = str(app_demo)
    first.run()
    assert "decoders" not in first.query_params  # the default (all) keeps links short
    first.sidebar.multiselect(key="decoders").set_value(["dark", "integral"]).run()
    first.sidebar.slider(key="beta").set_value(6.5).run()
    no_errors(first)
    link = {k: v[0] if isinstance(v, list) else v for k, v in first.query_params.items()}
    assert link["decoders"] == "dark,integral" and link["beta"] == "6.5"
    second = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in link.items():
        second.query_params[k] = v
    second.run()
    no_errors(second)
    assert second.session_state["decoders"] == ["dark", "integral"]
    assert second.session_state["beta"] == 6.5
    assert set(BASELINES) > set(second.session_state["decoders"])
