"""Where the bias comes from, in the app (streamlit.testing AppTest on small demos): the
Error direction page's waterfall, the Learn page's pipeline section and the AP vs Δ
page's other datasets, each held to the library's own answer."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest_support import metric, no_errors  # noqa: E402

pytestmark = pytest.mark.slow  # Streamlit AppTest runs

ERRORS, LEARN, SWEEP = (f"daec_viz_app/pages/{p}.py" for p in ("errors", "learn",
                                                                "ap_vs_delta"))
N_PIPE = 60  # people the Learn page simulates per pipeline setting (learn.N_PIPE)


def _figure(at, has) -> dict:
    """The spec of the first plotly chart on the page whose data satisfies ``has``."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [sp for sp in specs if any(has(t) for t in sp["data"])]
    assert found, "no such chart on the page"
    return found[0]


def _xy(v) -> str:
    """A metric's "(x, y)" text, as the Learn page formats it (no "−0.000")."""
    from daec_viz.plots.style import fmt_num
    return f"({fmt_num(v[0], 3, True)}, {fmt_num(v[1], 3, True)})"


# --------------------------------------------------------------------- Error direction

def test_errors_page_waterfall_is_the_librarys_bias_sources(app, app_demo):
    """The waterfall of each decoder shown (DAEC at the sidebar's Δ, DARK) is the
    library's bias_sources for the same configurations: the same steps, and a total equal
    to the measured mean error, which the steps add up to."""
    from daec_viz import load_dataset
    from daec_viz.analysis import analyse_errors
    from daec_viz.analysis.bias_sources import COMPONENTS, bias_sources
    from daec_viz.decoding import DecoderConfig

    app.sidebar.multiselect(key="decoders").set_value(["dark"]).run()
    app.sidebar.slider(key="delta").set_value(3.0).run()
    app.switch_page(ERRORS).run()
    no_errors(app)
    assert any(h.value == "Where the bias comes from" for h in app.subheader)
    fig = _figure(app, lambda t: t.get("type") == "waterfall")
    ds = load_dataset(app_demo)
    sigma = float(app.session_state["sigma"])
    cfgs = {"dark": DecoderConfig("dark").resolved(ds.meta.sigma),
            "daec": DecoderConfig("daec", sigma=sigma, delta=3.0, pattern=str(
                app.session_state["pattern"])).resolved(ds.meta.sigma)}
    ref = bias_sources(ds, analyse_errors(ds, configs=cfgs, n_boot=1).methods, cfgs)
    totals = fig["layout"]["meta"]["totals"]
    assert set(totals) == {"dark", "daec"}
    for m in cfgs:
        assert totals[m] == pytest.approx(ref[m].total.tolist(), abs=1e-9)
        assert sum(ref[m].components[c] for c in COMPONENTS) == pytest.approx(ref[m].total)
        for axis in (0, 1):  # x then y: one trace per decoder and axis
            steps = next(t["y"] for t in fig["data"] if t["legendgroup"] == m
                         and t["xaxis"] == ("x" if axis == 0 else "x2"))
            assert steps == pytest.approx([float(ref[m].components[c][axis])
                                           for c in COMPONENTS]
                                          + [float(ref[m].total[axis])], abs=1e-9)
    # the demo is simulated, and the section says so with the knob it was built with
    knob = ds.meta.provenance["knobs"]["bias"]
    assert any("Simulated data" in c.value and f"({knob[0]:+g}, {knob[1]:+g})" in c.value
               for c in app.caption)


def test_errors_page_shows_the_librarys_notes(app, tmp_path_factory):
    """A cache that records no pipeline: the library's note ("pipeline unknown: …") is
    shown as an info box, and the waterfall is still drawn."""
    from daec_viz import load_dataset
    from daec_viz.analysis import analyse_errors
    from daec_viz.analysis.bias_sources import bias_sources
    from daec_viz.decoding import DecoderConfig
    from daec_viz.synthetic.demo import build_demo
    from daec_viz.synthetic.simulate import DEFAULT_KNOBS

    folder = build_demo(tmp_path_factory.mktemp("unknown") / "exact", seed=3, n_images=8,
                        knobs=DEFAULT_KNOBS.replace(quantize_targets=False))
    app.sidebar.radio(key="dataset_choice").set_value("Another dataset folder").run()
    app.sidebar.text_input(key="folder_input").set_value(str(folder)).run()
    app.sidebar.multiselect(key="decoders").set_value([]).run()
    app.switch_page(ERRORS).run()
    no_errors(app)
    ds = load_dataset(folder)
    cfgs = {"daec": DecoderConfig("daec", sigma=float(app.session_state["sigma"]),
                                  delta=float(app.session_state["delta"]),
                                  pattern=str(app.session_state["pattern"])
                                  ).resolved(ds.meta.sigma)}
    notes = bias_sources(ds, analyse_errors(ds, configs=cfgs, n_boot=1).methods,
                         cfgs)["daec"].notes
    assert any(n.startswith("pipeline unknown") for n in notes)
    assert sorted(i.value for i in app.info) == sorted(notes)
    fig = _figure(app, lambda t: t.get("type") == "waterfall")
    assert list(fig["layout"]["meta"]["totals"]) == ["daec"]


# --------------------------------------------------------------------------- Learn

def _learn_expected(at, settings) -> dict:
    """What the Learn page's pipeline section must show for ``settings`` (library)."""
    from daec_viz.synthetic.pipeline import (
        convention_offset,
        flip_test_offset,
        input_coords,
        leak_offset,
    )
    from daec_viz.synthetic.teaching import _pipeline_sample, pipeline_delta_curve

    sigma = float(at.session_state["sigma"])
    pattern = at.selectbox(key="le_pattern").value
    delta = float(at.slider(key="le_delta").value)
    curve, dark = pipeline_delta_curve(settings, n=N_PIPE, pattern=pattern, sigma=sigma)
    at_delta, _ = pipeline_delta_curve(settings, n=N_PIPE, pattern=pattern, sigma=sigma,
                                       deltas=[delta])
    # the derived offsets straight from the pipeline module's helpers, on the same people
    kp, c, s, _ = _pipeline_sample(settings, N_PIPE, 0)
    w_in, w = settings.input_size[0], settings.heatmap_size[0]
    conv = convention_offset(kp, c, s, settings.pipeline, settings.test_convention,
                             settings.input_size, settings.heatmap_size)
    u = input_coords(kp, c, s, settings.input_size, settings.test_convention)
    leak = leak_offset(u, settings.pipeline, settings.leak, settings.input_size,
                       settings.heatmap_size)
    return {"flip": np.array([flip_test_offset(settings.pipeline, settings.flip_test,
                                               w_in, w), 0.0]),
            "conv": conv.reshape(-1, 2).mean(0), "leak": leak.reshape(-1, 2).mean(0),
            "d": (kp - c[:, None]).reshape(-1, 2).mean(0), "box": s[0] * 200.0,
            "curve": curve, "dark": dark, "daec": at_delta.mean_bias[0], "delta": delta}


def _learn_check(at, exp: dict) -> None:
    assert metric(at, "flip test (derived)") == _xy(exp["flip"])
    assert metric(at, "convention (derived)") == _xy(exp["conv"])
    assert metric(at, "leak (derived)") == _xy(exp["leak"])
    assert metric(at, "sum (derived)") == _xy(exp["flip"] + exp["conv"] + exp["leak"])
    assert metric(at, "DARK mean error (measured)") == _xy(exp["dark"])
    assert metric(at, f"DAEC mean error at Δ = {exp['delta']:g} (measured)") == \
        _xy(exp["daec"])
    assert metric(at, "Δ_opt of this pipeline") == f"{exp['curve'].delta_opt:g}"


def test_learn_pipeline_section_is_the_library_and_delta_opt_follows_it(app):
    """The derived offsets are the pipeline helpers' values, DARK's and DAEC's measured
    errors and Δ_opt the library's on the same simulated people, for the settings
    chosen; Δ_opt moves as the library says: an HRNet-trained network tested in DarkPose's
    convention is biased bottom-right by ≈ +0.375 px (derived), so BR's Δ_opt grows, and
    DarkPose with HRNet's shifted flip test moves x alone by +0.5 px."""
    from daec_viz.synthetic.pipeline import PipelineSettings

    app.switch_page(LEARN).run()
    no_errors(app)
    app.selectbox(key="le_pattern").set_value("BR").run()
    app.slider(key="le_delta").set_value(2.5).run()
    assert any(h.value == "Where the bottom-right bias comes from" for h in app.subheader)

    app.selectbox(key="le_pipe").set_value("hrnet").run()
    own = _learn_expected(app, PipelineSettings("hrnet"))
    _learn_check(app, own)
    np.testing.assert_array_equal(own["flip"] + own["conv"] + own["leak"], 0.0)

    app.selectbox(key="le_conv").set_value("dark").run()
    no_errors(app)
    mismatch = _learn_expected(app, PipelineSettings("hrnet", convention="dark"))
    _learn_check(app, mismatch)
    # theory (pipeline module): p − p_C = (1 − 1/s)(1/2 + d/(S − 1)), d = x_img − c, S the
    # box in image px, s = 4: +0.375 px at the box centre, the mean over these joints
    np.testing.assert_allclose(mismatch["conv"], 0.75 * (0.5 + mismatch["d"] / (
        np.asarray(mismatch["box"]) - 1)), rtol=1e-9)
    assert mismatch["curve"].delta_opt > own["curve"].delta_opt

    app.selectbox(key="le_pipe").set_value("dark").run()
    app.selectbox(key="le_conv").set_value("(its own)").run()
    app.selectbox(key="le_flip").set_value("shift").run()
    app.slider(key="le_leak").set_value(0.5).run()
    no_errors(app)
    shifted = _learn_expected(app, PipelineSettings("dark", flip_test="shift", leak=0.5))
    _learn_check(app, shifted)
    assert shifted["flip"].tolist() == [0.5, 0.0]
    # the page's Δ moves DAEC's measured error and nothing else
    app.slider(key="le_delta").set_value(4.0).run()
    moved = _learn_expected(app, PipelineSettings("dark", flip_test="shift", leak=0.5))
    _learn_check(app, moved)
    assert moved["curve"].delta_opt == shifted["curve"].delta_opt
    assert not np.allclose(moved["daec"], shifted["daec"])


# ---------------------------------------------------------------------- AP vs Δ

def _own_curve(folder, split: str, pattern: str, stat: str = "AP"):
    """A dataset's own sweep (its σ), the DAEC curve of ``pattern`` without smoothing on
    ``split``, and its Δ choice learned on its own train split."""
    from daec_viz import load_dataset
    from daec_viz.evaluation.sweep import choose_delta, default_configs, run_sweep
    ds = load_dataset(folder)
    df = run_sweep(ds, default_configs(ds.meta.sigma), use_cache=False)
    cur = df[(df["method"] == "daec") & (df["pattern"] == pattern)
             & ~df["smooth"].astype(bool) & (df["split"] == split)].sort_values("delta")
    return cur, choose_delta(df, pattern=pattern, smooth=False, stat=stat)


def _check_line(at, name: str, folder, stat: str = "AP") -> None:
    """The page draws ``name``'s line as that dataset's own sweep, its Δ_opt marked."""
    split = at.selectbox(key="sw_split").value
    pattern = str(at.session_state["pattern"])
    fig = _figure(at, lambda t: t.get("name") == name)
    line = next(t for t in fig["data"] if t.get("name") == name)
    cur, ch = _own_curve(folder, split, pattern, stat)
    assert line["x"] == pytest.approx(cur["delta"].tolist())
    assert line["y"] == pytest.approx(cur[stat].tolist())
    mark = next(t for t in fig["data"] if t.get("name") == f"Δ_opt {name}")
    assert mark["x"] == pytest.approx([ch.delta])
    assert mark["y"] == pytest.approx(cur.loc[np.isclose(cur["delta"], ch.delta),
                                              stat].tolist())
    assert mark["marker"]["color"] == line["line"]["color"]
    assert f"{name}: Δ_opt = {ch.delta:g}" in " ".join(c.value for c in at.caption)


def test_sweep_page_lists_other_datasets_and_draws_their_own_sweeps(app, app_demo,
                                                                     tmp_path_factory):
    """Other dataset folders inside the data root are offered (not the one open); each
    chosen one is drawn as its own sweep's curve of the same statistic, one colour each,
    legend = folder name, its Δ_opt marked; a typed folder outside the data root is
    refused with an error and the page stays usable."""
    from daec_viz.synthetic.demo import build_demo

    a = build_demo(tmp_path_factory.mktemp("other") / "model_a", seed=2, n_images=8)
    b = build_demo(tmp_path_factory.mktemp("other") / "model_b", seed=4, n_images=8)
    app.switch_page(SWEEP).run()
    no_errors(app)
    ms = app.multiselect(key="sw_others")
    assert {str(a), str(b)} <= set(ms.options) or \
        {f"model_a ({a})", f"model_b ({b})"} <= set(ms.options)
    assert not any(str(app_demo) in o for o in ms.options)  # the open one is not offered
    ms.set_value([str(a), str(b)]).run()
    no_errors(app)
    _check_line(app, "model_a", a)
    _check_line(app, "model_b", b)
    fig = _figure(app, lambda t: t.get("name") == "model_a")
    colours = {t["name"]: t["line"]["color"] for t in fig["data"]
               if t.get("name") in ("model_a", "model_b")}
    assert len(set(colours.values())) == 2
    # the same statistic as the page's curves
    app.selectbox(key="sw_stat").set_value("AP50").run()
    no_errors(app)
    _check_line(app, "model_a", a, stat="AP50")
    # a folder typed outside the data root: refused, named, the rest still drawn
    app.multiselect(key="sw_others").set_value([str(a), "/definitely/not/allowed"]).run()
    assert not app.exception
    assert any("/definitely/not/allowed" in e.value and "outside" in e.value
               for e in app.error)
    _check_line(app, "model_a", a, stat="AP50")


def test_sweep_page_other_datasets_on_a_dask_scheduler(app_demo, tmp_path_factory,
                                                       tmp_path, monkeypatch):
    """With $DAEC_VIZ_SCHEDULER set, the sweeps decode on that cluster (its scheduler
    runs the decoding tasks) and the other dataset's line still equals its local sweep."""
    distributed = pytest.importorskip("distributed")
    from apptest_support import APP, TIMEOUT
    from streamlit.testing.v1 import AppTest

    from daec_viz.synthetic.demo import build_demo
    from daec_viz_app import state

    other = build_demo(tmp_path_factory.mktemp("dask") / "model_c", seed=5, n_images=8)
    # workers as threads of this process (quick to start), reached over TCP as a remote
    # scheduler would be
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        monkeypatch.setenv("DAEC_VIZ_SCHEDULER", cluster.scheduler_address)
        monkeypatch.setenv("DAEC_VIZ_DATASET", str(app_demo))
        monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
        try:
            at = AppTest.from_file(APP, default_timeout=TIMEOUT)
            at.run()
            at.switch_page(SWEEP).run()
            at.multiselect(key="sw_others").set_value([str(other)]).run()
            no_errors(at)
            _check_line(at, "model_c", other)
            assert "decode_rows" in cluster.scheduler.task_prefixes
        finally:
            state._cluster.clear()  # the app's client of this (now closing) cluster
