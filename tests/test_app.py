"""The Streamlit app, headless (streamlit.testing AppTest): every page on a small demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from apptest_support import APP, TIMEOUT, metric, no_errors  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from synthetic import detector_copy  # noqa: E402

# Streamlit/AppTest, whole demo sweeps or BlazePose runs: `pytest -m "not slow"` skips them
pytestmark = pytest.mark.slow

PAGES = ["explore", "ap_vs_delta", "errors", "compare", "ab", "learn"]


@pytest.fixture()
def dataset(app_demo) -> Path:
    return app_demo


_metric, _no_errors = metric, no_errors


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_and_follows_delta(app, page):
    app.switch_page(f"daec_viz_app/pages/{page}.py").run()
    _no_errors(app)
    if page == "ab":  # A/B starts from the sidebar's DAEC, then keeps its own controls
        label = next(m.label for m in app.metric if m.label.startswith("A: daec"))
    else:
        label = "ν(Δ) (px)" if page == "learn" else "DAEC AP"
    before = _metric(app, label)
    app.sidebar.slider(key="delta").set_value(0.0).run()
    _no_errors(app)
    assert app.session_state["delta"] == 0.0
    if page in ("ab", "learn"):  # their own Δ controls
        assert _metric(app, label) == before
    else:
        assert _metric(app, label) != before
    if page != "learn":  # the simulated demo is labelled as such on every data page
        assert any("Simulated data" in c.value for c in app.caption)


def test_pattern_and_smoothing_change_the_ap(app):
    before = _metric(app, "DAEC AP")
    app.sidebar.selectbox(key="pattern").set_value("UL").run()
    _no_errors(app)
    after_pattern = _metric(app, "DAEC AP")
    app.sidebar.toggle(key="smooth").set_value(True).run()
    _no_errors(app)
    assert len({before, after_pattern, _metric(app, "DAEC AP")}) >= 2


def test_use_delta_opt_button_sets_the_app_wide_delta(app):
    app.switch_page("daec_viz_app/pages/ap_vs_delta.py").run()
    app.sidebar.slider(key="delta").set_value(-2.0).run()
    opt = float(_metric(app, "Δ_opt (learned on train)"))
    assert opt != -2.0
    app.button(key="sw_use_opt").click().run()
    _no_errors(app)
    assert app.session_state["delta"] == opt
    assert app.sidebar.slider(key="delta").value == opt
    snippets = " ".join(c.value for c in app.code)
    assert f"DELTA: {opt:g}" in snippets


def test_bad_folder_shows_an_error_not_a_traceback(app, tmp_path):
    (tmp_path / "empty").mkdir()
    app.sidebar.radio(key="dataset_choice").set_value("Another dataset folder").run()
    app.sidebar.text_input(key="folder_input").input(str(tmp_path / "empty")).run()
    assert not app.exception
    msgs = " ".join(e.value for e in app.error)
    assert "annotations.json" in msgs and "What to do" in msgs


def test_errors_page_filters(app):
    app.switch_page("daec_viz_app/pages/errors.py").run()
    before = _metric(app, "DAEC mean bias (hm px)")
    app.multiselect(key="er_joints").set_value(["left_wrist", "right_wrist"]).run()
    _no_errors(app)
    assert _metric(app, "DAEC mean bias (hm px)") != before


def test_compare_runs_the_live_benchmark(app):
    app.switch_page("daec_viz_app/pages/compare.py").run()
    app.button(key="cmp_bench").click().run()
    _no_errors(app)
    table = " ".join(m.value for m in app.markdown)
    assert "| daec |" in table and "µs / instance" in table


@pytest.mark.parametrize("smooth", [False, True])
def test_in_memory_and_streamed_decoding_agree(dataset, monkeypatch, smooth):
    """The app's cached predictions are the same whether the maps are held in memory
    (float32, blurred once) or streamed from disk slice by slice (blurred per slice)."""
    from daec_viz.decoding import decode
    from daec_viz_app import state

    path = str(dataset)
    key = state.dataset_key(path)
    ds = state.load(path, key)
    ref = decode(ds.heatmaps.read_rows(slice(0, len(ds))), "daec", sigma=2.0, delta=3.0,
                 pattern="UR", blur_kernel=11 if smooth else None).coords
    caches = (state.heatmaps, state.blurred, state.decoded)
    out = []
    try:
        for budget in (state.IN_MEMORY_MB, 0):
            monkeypatch.setattr(state, "IN_MEMORY_MB", budget)
            for f in caches:
                f.clear()
            cfg = state.Controls(3.0, "UR", 2.0, smooth).config("daec")
            d = state.decoded(path, key, cfg.to_json())
            out.append(d.coords_hm)
            np.testing.assert_allclose(d.coords_img, ds.to_image(d.coords_hm))
        assert state.heatmaps(path, key) is None  # budget 0: streamed
    finally:  # the process-wide caches must not keep the streamed variant
        for f in caches:
            f.clear()
    np.testing.assert_allclose(out[0], ref, atol=1e-4)
    np.testing.assert_allclose(out[1], ref, atol=1e-4)


def test_headline_is_a_verdict_with_an_interval(app):
    """The AP readout compares DAEC with the best baseline, gives the paired interval and
    colours the arrow only when the interval excludes 0 (16 images: often a tie)."""
    from daec_viz_app import state
    md = [m.value for m in app.markdown if m.value.startswith("Verdict:")]
    assert md, "no verdict line"
    metric = next(m for m in app.metric if m.label == "DAEC AP")
    v = state.verdict(str(app.session_state["dataset_path"]),
                      state.dataset_key(app.session_state["dataset_path"]),
                      state.controls_of(app.session_state), "test")
    lo, hi = v["diff_ci"]
    assert f"[{lo:+.4f}, {hi:+.4f}]" in metric.delta and v["baseline"] in metric.delta
    from streamlit.proto.Metric_pb2 import Metric
    assert (metric.proto.color == Metric.GRAY) == (lo <= 0 <= hi)  # no green/red arrow
    assert v["call"] in md[0]
    assert any("only" in w.value for w in app.warning)  # few persons: said next to it


def test_delta_opt_band_on_the_sweep_page(app):
    app.switch_page("daec_viz_app/pages/ap_vs_delta.py").run()
    app.toggle(key="sw_band").set_value(True).run()
    _no_errors(app)
    assert any("resamples" in c.value and "Δ_opt =" in c.value for c in app.caption)


def _image_id(option: str) -> int:
    return int(option.split()[1])  # "image 9 (worst error ...)"


def test_explore_keeps_the_chosen_image_person_and_joint_when_controls_change(app):
    images = [_image_id(o) for o in app.selectbox(key="ex_image").options]
    assert len(images) > 2
    pick = images[-1]  # not the first: a re-sort would move it
    app.selectbox(key="ex_image").set_value(pick).run()
    app.selectbox(key="ex_zoom_joint").set_value("left_knee").run()
    for delta in (0.0, 6.0):  # the "largest error first" order changes with Δ
        app.sidebar.slider(key="delta").set_value(delta).run()
        _no_errors(app)
        assert app.selectbox(key="ex_image").value == pick
        assert app.selectbox(key="ex_zoom_joint").value == "left_knee"
    app.sidebar.toggle(key="smooth").set_value(True).run()
    assert app.selectbox(key="ex_zoom_joint").value == "left_knee"
    # a new joint filter: the enlarged joint follows it
    app.selectbox(key="ex_joint").set_value("right_wrist").run()
    assert app.selectbox(key="ex_zoom_joint").value == "right_wrist"


def test_explore_detector_boxes_score_threshold_gt_and_matches(dataset, tmp_path,
                                                              monkeypatch):
    """Detector boxes: every GT person of the image is drawn, each box says which GT
    person it was matched to, and a score threshold hides low-score boxes."""
    from daec_viz.io.datasets import load_dataset
    det = detector_copy(load_dataset(dataset), tmp_path / "det")
    monkeypatch.setenv("DAEC_VIZ_DATASET", str(det))
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    _no_errors(at)
    ds = load_dataset(det)
    first_image = int(ds.instances["image_id"].iloc[0])  # holds the far-off duplicate
    at.selectbox(key="ex_image").set_value(first_image).run()
    _no_errors(at)
    n_boxes = int((ds.instances["image_id"] == first_image).sum())
    n_gt = sum(1 for a in ds.coco.anns.values() if a["image_id"] == first_image)
    people = at.selectbox(key="ex_person").options
    assert len(people) == n_boxes
    # the exact copies of the GT boxes are matched (the copies decode like the GT boxes),
    # the far-off low-score duplicate is not
    assert sum("→ GT" in p for p in people) == n_boxes - 1
    assert sum("score 0.10" in p and "→ GT" not in p for p in people) == 1
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    gt_trace = next(t for t in spec["data"] if t.get("name") == "gt")
    assert {h.split(":")[0] for h in gt_trace["text"]} == {f"GT {i}" for i in range(n_gt)}
    assert len([sh for sh in spec["layout"]["shapes"] if sh["type"] == "rect"]) == n_boxes
    # a score threshold above the duplicate's score hides it
    at.slider(key="ex_score").set_value(0.5).run()
    _no_errors(at)
    assert len(at.selectbox(key="ex_person").options) == n_boxes - 1


def test_a_dataset_opens_at_delta_opt_when_its_sweep_is_cached(dataset, tmp_path,
                                                               monkeypatch):
    from daec_viz.evaluation.splits import learn_splits
    from daec_viz.evaluation.sweep import choose_delta, run_sweep
    from daec_viz.io.datasets import load_dataset
    # a copy of its own: the app process remembers sweeps of the shared demo path
    dataset = Path(shutil.copytree(dataset, tmp_path / "demo"))
    monkeypatch.setenv("DAEC_VIZ_DATASET", str(dataset))
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    ds = load_dataset(dataset)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert at.session_state["delta"] == int(ds.meta.sigma + 2)  # nothing cached yet
    train, test, _ = learn_splits(ds)
    want = choose_delta(run_sweep(ds), "BR", False, train=train, test=test).delta
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    _no_errors(at)
    assert at.session_state["delta"] == want
    assert any(f"Δ_opt = {want:g}" in c.value for c in at.sidebar.caption)


def test_ab_page_two_configurations_with_the_paired_interval(app):
    from daec_viz.evaluation.compare import per_joint_ap
    from daec_viz.evaluation.predict import predict
    from daec_viz.evaluation.scoring import evaluate, submission
    from daec_viz.io.datasets import load_dataset
    from daec_viz_app import state
    app.switch_page("daec_viz_app/pages/ab.py").run()
    _no_errors(app)
    ds = load_dataset(app.session_state["dataset_path"])
    split = "test" if "test" in ds.splits else "all"
    sub = ds.subset(split) if split != "all" else ds
    ctl = state.controls_of(app.session_state)
    a, b = ctl.config("daec"), ctl.config("dark")
    want_a, want_b = evaluate(sub, a)["AP"], evaluate(sub, b)["AP"]
    assert float(_metric(app, f"A: {a.label} AP")) == pytest.approx(want_a, abs=5e-5)
    assert float(_metric(app, f"B: {b.label} AP")) == pytest.approx(want_b, abs=5e-5)
    assert float(_metric(app, "A − B")) == pytest.approx(want_a - want_b, abs=1e-4)
    # the delta text leads with the signed difference (Streamlit colours by its sign)
    d = next(m.delta for m in app.metric if m.label == "A − B")
    assert d.startswith(f"{want_a - want_b:+.4f}"[:2])
    pj = next(d.value for d in app.dataframe if "best" in getattr(d.value, "columns", []))
    p = predict(sub, b)
    ref = per_joint_ap(sub, *submission(sub, p.coords_img, p.maxvals))
    got = pj[f"B: {b.label}"]
    for joint, ap in ref.items():
        assert (np.isnan(got[joint]) and ap < 0) or abs(got[joint] - ap) < 1e-12, joint
    # B set to A's configuration: exactly no difference, and said so
    app.selectbox(key="ab_B_method").set_value("daec").run()
    app.toggle(key="ab_B_smooth").set_value(ctl.smooth).run()
    _no_errors(app)
    assert float(_metric(app, "A − B")) == 0.0
    text = " ".join(m.value for m in app.markdown)
    assert "no detectable difference" in text
    assert any("same configuration" in i.value for i in app.info)


def test_learn_page_has_its_own_delta_pattern_and_animation(app):
    from daec_viz.synthetic.teaching import estimate_2d, illustrate_2d
    app.sidebar.slider(key="delta").set_value(3.0).run()
    app.switch_page("daec_viz_app/pages/learn.py").run()
    _no_errors(app)
    assert app.slider(key="le_delta").value == 3.0  # starts at the app-wide Δ
    err = _metric(app, "DAEC 2-D error (x, y) px")
    app.slider(key="le_delta").set_value(0.0).run()
    _no_errors(app)
    assert app.session_state["delta"] == 3.0  # the app-wide Δ stays
    # and the page's Δ survives a visit to another page
    app.switch_page("daec_viz_app/pages/explore.py").run()
    app.switch_page("daec_viz_app/pages/learn.py").run()
    assert app.slider(key="le_delta").value == 0.0
    assert _metric(app, "DAEC 2-D error (x, y) px") != err
    # the metric is DAEC's error on the page's map at the page's Δ and pattern
    app.selectbox(key="le_pattern").set_value("UL").run()
    sigma = float(app.session_state["sigma"])
    maps = illustrate_2d((12.3, 14.6), sigma, (app.slider(key="le_bx").value,
                                                app.slider(key="le_by").value), 0.5,
                         app.slider(key="le_std2").value)
    _, est = estimate_2d(maps["f"], sigma, 0.0, "UL")
    e = est - (12.3, 14.6)
    assert _metric(app, "DAEC 2-D error (x, y) px") == f"({e[0]:+.3f}, {e[1]:+.3f})"
    # a bias toward smaller x: no upper-end cut compensates it, the lower end does
    app.selectbox(key="le_pattern").set_value("BR").run()
    app.slider(key="le_shift").set_value(-0.6).run()
    _no_errors(app)
    assert any("BL pattern" in i.value for i in app.info)
    app.selectbox(key="le_pattern").set_value("BL").run()
    assert _metric(app, "Δ* with ν(Δ*) = μ") != "none in range"
    # animate Δ: one frame per Δ of the grid
    app.toggle(key="le_animate").set_value(True).run()
    _no_errors(app)
    spec = json.loads(next(c for c in app.get("plotly_chart")
                           if "frames" in json.loads(c.proto.spec)).proto.spec)
    assert len(spec["frames"]) >= 10


def test_error_direction_arrow_magnification(app):
    app.switch_page("daec_viz_app/pages/errors.py").run()
    _no_errors(app)

    def meta() -> dict:
        specs = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
        return next(sp["layout"]["meta"] for sp in specs
                    if "magnify" in (sp["layout"].get("meta") or {}))
    auto = meta()
    assert app.select_slider(key="er_arrow_mag").value == "auto"
    app.select_slider(key="er_arrow_mag").set_value(20).run()
    _no_errors(app)
    m = meta()
    assert m["magnify"] == 20 and m["person_height"] == auto["person_height"]
    assert m["arrow_scale"] == pytest.approx(auto["arrow_scale"] * 20 / auto["magnify"])
    assert not any("nan" in x.value.lower() for x in app.metric)


def test_figures_download_as_png_or_svg(app):
    def formats() -> set[str]:
        return {json.loads(c.proto.config)["toImageButtonOptions"]["format"]
                for c in app.get("plotly_chart")}
    assert formats() == {"png"}
    app.sidebar.radio(key="fig_format").set_value("svg").run()
    _no_errors(app)
    assert formats() == {"svg"}
    names = {json.loads(c.proto.config)["toImageButtonOptions"]["filename"]
             for c in app.get("plotly_chart")}
    assert "daec_viz_ex_overlay" in names


def test_a_link_reopens_the_same_view(dataset, tmp_path, monkeypatch):
    """The URL holds dataset, Δ, pattern, σ, smoothing, image, person and joint; opening
    it in a new session restores them (and the dataset's defaults do not overwrite)."""
    monkeypatch.setenv("DAEC_VIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DAEC_VIZ_DATASET", raising=False)
    first = AppTest.from_file(APP, default_timeout=TIMEOUT)
    first.query_params["dataset"] = str(dataset)
    first.run()
    first.sidebar.slider(key="delta").set_value(2.5).run()
    first.sidebar.selectbox(key="pattern").select("UL").run()
    first.sidebar.toggle(key="smooth").set_value(True).run()
    image = _image_id(first.selectbox(key="ex_image").options[-1])
    first.selectbox(key="ex_image").set_value(image).run()
    first.selectbox(key="ex_zoom_joint").set_value("nose").run()
    _no_errors(first)
    link = {k: v[0] if isinstance(v, list) else v for k, v in first.query_params.items()}
    assert link["delta"] == "2.5" and link["pattern"] == "UL" and link["smooth"] == "1"
    assert link["image"] == str(image) and link["joint"] == "nose"

    second = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in link.items():
        second.query_params[k] = v
    second.run()
    _no_errors(second)
    ss = second.session_state
    assert (ss["delta"], ss["pattern"], ss["smooth"]) == (2.5, "UL", True)
    assert second.selectbox(key="ex_image").value == image
    assert second.selectbox(key="ex_zoom_joint").value == "nose"


def test_delta_range_follows_sigma_and_never_clamps():
    from daec_viz_app.state import delta_range
    assert delta_range(2.0) == (-2.0, 15.0)   # e = int(3σ + 1) = 7: 2e + 1
    assert delta_range(1.45) == (-2.0, 11.0)  # e = 5
    assert delta_range(2.0, 22.5) == (-2.0, 23.0)  # a requested Δ widens the range


def test_compare_page_per_joint_error_types_and_downloads(app):
    from daec_viz.evaluation.compare import per_joint_ap
    from daec_viz.evaluation.scoring import submission
    from daec_viz.io.datasets import load_dataset
    from daec_viz_app import state
    app.switch_page("daec_viz_app/pages/compare.py").run()
    _no_errors(app)
    frames = [d.value for d in app.dataframe]
    pj = next(f for f in frames if "best" in getattr(f, "columns", []))
    assert len(pj) == 17 and {"Standard", "Shifting", "DARK", "DAEC"} <= set(pj.columns)
    # the DAEC column is the library's per-joint AP of the same predictions
    ds = load_dataset(app.session_state["dataset_path"]).subset("test")
    ctl = state.controls_of(app.session_state)
    from daec_viz.evaluation.predict import predict
    p = predict(ds, ctl.config("daec"))
    ref = per_joint_ap(ds, *submission(ds, p.coords_img, p.maxvals))
    for joint, ap in ref.items():
        got = pj.loc[joint, "DAEC"]
        assert (np.isnan(got) and ap < 0) or abs(got - ap) < 1e-12, joint
    labels = [b.proto.label for b in app.get("download_button")]
    assert any("COCO results json" in label for label in labels)
    assert any("Per-joint AP as CSV" in label for label in labels)
    assert any("Error types" in s.value for s in app.subheader)
    # every AP compared comes with its interval: the DAEC row equals compare()'s
    from daec_viz.evaluation.compare import compare
    ci = next(d.value for d in app.dataframe if "AP50" in getattr(d.value, "columns", []))
    r = compare(ds, ctl.config("daec"), baselines={"dark": ctl.config("dark")},
                n_boot=state.N_BOOT, joints=False)
    lo, hi = r.stats_ci["daec"]["AP"]
    assert ci.loc["DAEC", "AP"] == f"{r.stats['daec']['AP']:.3f} [{lo:.3f}, {hi:.3f}]"

    # mean keypoint similarity per joint: every instance against its own GT (GT boxes)
    app.radio(key="cmp_pj_view").set_value("mean keypoint similarity").run()
    _no_errors(app)
    pj = next(d.value for d in app.dataframe if "best" in getattr(d.value, "columns", []))
    from daec_viz.evaluation.oks import keypoint_similarity
    full = load_dataset(app.session_state["dataset_path"])
    gt = full.gt_keypoints()
    area = np.array([full.coco.anns[a]["area"] for a in full.instances["ann_id"]])
    ks = keypoint_similarity(predict(full, ctl.config("daec")).coords_img, gt[..., :2],
                             area, full.oks_sigmas)
    ks = np.where(gt[..., 2] > 0, ks, np.nan)
    np.testing.assert_allclose(pj["DAEC"].to_numpy(float), np.nanmean(ks, axis=0),
                               rtol=1e-9)
    # and the error types per joint: shares of each row sum to 1
    app.radio(key="cmp_pj_view").set_value("error types").run()
    _no_errors(app)
    tax = next(d.value for d in app.dataframe if "jitter" in getattr(d.value, "columns", []))
    np.testing.assert_allclose(tax.dropna(how="all").sum(axis=1).to_numpy(float), 1.0)

