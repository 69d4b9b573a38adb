"""The error-analysis figures build and show the computed values (daec_viz.plots.errors)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from daec_viz.analysis import (
    QUADRANTS,
    TAXONOMY,
    bootstrap_bias,
    classify_keypoints,
    error_histogram2d,
    quadrant_stats,
    subpixel_phase,
)
from daec_viz.analysis.bias import BiasEstimate
from daec_viz.analysis.taxonomy import GroundTruthTable, TaxonomyAP
from daec_viz.evaluation.oks import COCO_OKS_SIGMAS
from daec_viz.io.coco_format import COCO_FLIP_PAIRS
from daec_viz.plots.errors import (
    ARROW_TARGET,
    COCO_BODY_LAYOUT,
    DEFAULT_PERSON_HEIGHT,
    auto_arrow_magnify,
    error_density,
    error_figures,
    joint_bias_diagram,
    layout_from_keypoints,
    person_height,
    phase_plot,
    quadrant_histogram,
    taxonomy_ap_bars,
    taxonomy_bars,
)
from daec_viz.plots.style import LEGEND_BELOW, METHOD_COLORS, fmt_num, method_color

SIG = np.asarray(COCO_OKS_SIGMAS)


def _errors(seed: int, bias: tuple[float, float]) -> np.ndarray:
    return np.random.default_rng(seed).normal(bias, 0.5, size=(120, 17, 2))


@pytest.fixture(scope="module")
def per_method():
    errs = {"standard": _errors(0, (0.5, 0.3)), "dark": _errors(1, (0.3, 0.2)),
            "daec": _errors(2, (0.0, 0.0))}
    errs["standard"][0, 0] = [0.0, 1.0]                     # one error on an axis
    return errs


def test_style_colours():
    from daec_viz.decoding import ALL_METHODS
    from daec_viz.plots.style import METHOD_LABELS, method_label
    from daec_viz.plots.sweep import PATTERN_COLORS
    assert {k: METHOD_COLORS[k] for k in ("standard", "shifting", "dark", "daec", "gt")} == {
        "standard": "#7f7f7f", "shifting": "#1f77b4", "dark": "#ff7f0e", "daec": "#d62728",
        "gt": "#2ca02c"}
    # every decoder has one colour and one display name, all distinct, and no decoder
    # shares a colour with the GT or a cut pattern's curve
    assert set(METHOD_COLORS) == {*ALL_METHODS, "gt"} and set(METHOD_LABELS) == set(ALL_METHODS)
    assert len(set(METHOD_COLORS.values())) == len(METHOD_COLORS)
    assert len(set(METHOD_LABELS.values())) == len(METHOD_LABELS)
    assert not set(METHOD_COLORS.values()) & (set(PATTERN_COLORS.values()) - {"#d62728"})
    assert method_color("daec BR Δ=3") == "#d62728"
    assert method_color("dark_udp-raw") == METHOD_COLORS["dark_udp"]  # not DARK's
    assert method_color("unknown") == method_color("unknown")
    assert method_label("dark_udp") == "DARK-UDP" and method_label("dark-raw") == "dark-raw"


def test_quadrant_histogram_bar_heights_are_the_counts(per_method):
    stats = {m: quadrant_stats(e) for m, e in per_method.items()}
    fig = quadrant_histogram(stats)
    assert isinstance(fig, go.Figure)
    bars = {t.name: t for t in fig.data}
    assert set(bars) == {"standard", "dark", "daec", "standard share", "dark share",
                         "daec share"}
    for m, q in stats.items():
        assert list(bars[m].x) == list(QUADRANTS)
        assert list(bars[m].y) == [q.counts[k] for k in QUADRANTS]
        np.testing.assert_allclose(bars[f"{m} share"].y, [q.shares[k] for k in QUADRANTS])
        assert bars[m].marker.color == METHOD_COLORS[m]
    assert stats["standard"].counts["none"] == 1
    assert sum(bars["standard"].y) == 120 * 17 - 1
    only = quadrant_histogram(stats, mode="count")
    assert [t.name for t in only.data] == ["standard", "dark", "daec"]
    with pytest.raises(ValueError):
        quadrant_histogram(stats, mode="pie")


def test_error_density_histogram_and_bias_arrow(per_method):
    err = per_method["dark"]
    b = bootstrap_bias(err, n_boot=100)
    fig = error_density(err, b, method="dark", bins=21, extent=2.0)
    heat = [t for t in fig.data if isinstance(t, go.Heatmap)][0]
    want = error_histogram2d(err, bins=21, extent=2.0)
    np.testing.assert_array_equal(np.asarray(heat.z), want.counts)
    np.testing.assert_allclose(heat.x, want.x_centers)
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 1
    a = arrows[0]
    assert (a.ax, a.ay) == (0, 0)
    np.testing.assert_allclose([a.x, a.y], b.overall_mean)
    assert a.arrowcolor == METHOD_COLORS["dark"]
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # y down
    rect = [s for s in fig.layout.shapes if s.type == "rect"][0]
    np.testing.assert_allclose([rect.x0, rect.x1], [b.overall_lo[0], b.overall_hi[0]])
    scaled = error_density(err, b.overall_mean, method="dark", arrow_scale=3)
    a3 = [a for a in scaled.layout.annotations if a.showarrow][0]
    np.testing.assert_allclose([a3.x, a3.y], 3 * b.overall_mean)


#: vertical joint extent of the COCO body layout (eyes to ankles), diagram units
_EXTENT = float(COCO_BODY_LAYOUT[:, 1].max() - COCO_BODY_LAYOUT[:, 1].min())


def _bias(mean: np.ndarray) -> BiasEstimate:
    """A BiasEstimate with the given per-joint means (K, 2) and a ±0.05 interval."""
    mean = np.asarray(mean, dtype=np.float64)
    k = len(mean)
    return BiasEstimate(mean, mean - 0.05, mean + 0.05, np.full(k, 10), np.zeros(2),
                        np.zeros(2), np.zeros(2), n_boot=0, ci=0.95, seed=None)


def _known_biases() -> dict[str, BiasEstimate]:
    dark = np.tile([0.01, -0.02], (17, 1))
    dark[0], dark[1], dark[16] = (0.3, 0.0), (0.0, -0.1), np.nan  # longest 0.3; 16 unlabelled
    return {"dark": _bias(dark), "daec": _bias(np.full((17, 2), 0.02))}


def _heads(fig: go.Figure, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = {tr.name: tr for tr in fig.data}[name]
    xs = np.array(t.x, dtype=float).reshape(-1, 3)
    ys = np.array(t.y, dtype=float).reshape(-1, 3)
    assert np.isnan(xs[:, 2]).all() and np.isnan(ys[:, 2]).all()  # (tail, head, gap)
    return np.stack([xs[:, 0], ys[:, 0]], -1), np.stack([xs[:, 1], ys[:, 1]], -1)


def test_joint_bias_diagram_arrow_end_is_start_plus_scale_times_bias():
    biases = _known_biases()
    # ×10 on a person 50 heatmap px tall: 10 · 0.885 / 50 diagram units per heatmap px
    fig = joint_bias_diagram(biases, magnify=10, person_height=50.0)
    scale = 10 * _EXTENT / 50.0
    assert fig.layout.meta["arrow_scale"] == pytest.approx(scale)
    assert fig.layout.meta["magnify"] == 10 and fig.layout.meta["person_height"] == 50.0
    for m, b in biases.items():
        tails, heads = _heads(fig, m)
        ok = np.isfinite(b.mean).all(1)
        np.testing.assert_allclose(tails, COCO_BODY_LAYOUT[ok])
        np.testing.assert_allclose(heads, COCO_BODY_LAYOUT[ok] + scale * b.mean[ok])
    assert len(_heads(fig, "dark")[0]) == 16  # the unlabelled joint draws no arrow
    assert _heads(fig, "dark")[1][0] == pytest.approx(COCO_BODY_LAYOUT[0] + [0.3 * scale, 0])
    # the factor is printed (title and legend); the reference arrow is 0.2 px at that scale
    assert "arrows ×10" in fig.layout.title.text
    assert fig.layout.legend.title.text == "decoder"
    ref = next(tr for tr in fig.data if tr.name.startswith("scale: "))
    assert ref.name == "scale: 0.2 heatmap px (arrows ×10)"
    assert ref.text[1] == "0.2 heatmap px (arrows ×10)"  # printed beside the arrow
    assert ref.x[1] - ref.x[0] == pytest.approx(0.2 * scale)
    assert ref.y[0] == ref.y[1] > COCO_BODY_LAYOUT[:, 1].max()  # below the feet
    assert fig.layout.yaxis.autorange == "reversed"  # y down: a BR bias points lower right
    named = {t.name: t for t in fig.data}
    np.testing.assert_allclose(named["joints"].x, COCO_BODY_LAYOUT[:, 0])
    assert named["dark"].line.color == METHOD_COLORS["dark"]


def test_joint_bias_diagram_automatic_magnification():
    biases = _known_biases()
    # the longest bias (0.3 px) drawn ARROW_TARGET = 0.15 of the body: 0.15 · 40 / 0.3 = 20
    fig = joint_bias_diagram(biases, person_height=40.0)
    assert fig.layout.meta["magnify"] == 20
    scale = fig.layout.meta["arrow_scale"]
    assert scale == pytest.approx(20 * _EXTENT / 40.0)
    _, heads = _heads(fig, "dark")
    assert heads[0, 0] - COCO_BODY_LAYOUT[0, 0] == pytest.approx(ARROW_TARGET * _EXTENT)
    assert "arrows ×20" in fig.layout.title.text
    # the default person height, and a magnification set by hand
    assert joint_bias_diagram(biases).layout.meta["person_height"] == DEFAULT_PERSON_HEIGHT
    x5 = joint_bias_diagram(biases, magnify=5, person_height=40.0)
    assert x5.layout.meta["arrow_scale"] == pytest.approx(scale / 4)
    with pytest.raises(ValueError, match="magnification"):
        joint_bias_diagram(biases, magnify=0)
    # unbiased decoders: true size, no reference arrow (no length to show)
    flat = joint_bias_diagram({"daec": _bias(np.zeros((17, 2)))})
    assert flat.layout.meta["magnify"] == 1
    assert not any(t.name.startswith("scale: ") for t in flat.data)


@pytest.mark.parametrize(("largest", "height", "want"), [
    (0.3, 40.0, 20.0),      # 0.15 · 40 / 0.3 = 20 exactly
    (0.05, 48.0, 200.0),    # 144: nearer 200 than 100 on a log scale
    (0.2, 48.0, 30.0),      # 36: nearer 30 than 50
    (10.0, 48.0, 1.0),      # a bias that large is drawn at its true size, never shrunk
    (0.0, 48.0, 1.0),       # nothing to magnify
])
def test_auto_arrow_magnify_known_answers(largest, height, want):
    mean = np.zeros((17, 2))
    mean[3] = (0.0, largest)
    assert auto_arrow_magnify({"dark": _bias(mean)}, height) == want


def test_person_height_known_answers():
    kp = np.zeros((4, 17, 3))
    kp[..., 2] = 2
    kp[0, :, 1] = np.linspace(10, 50, 17)        # 40 px tall
    kp[1, :, 1] = np.linspace(0, 60, 17)         # 60 px
    kp[2, :, 1] = np.linspace(5, 55, 17)         # 50 px
    kp[2, 8:, 2] = 0                             # ... cut: 8 of 17 labelled, not counted
    kp[3, :, 2] = 0                              # no labelled joint
    assert person_height(kp) == pytest.approx(50.0)  # median of 40 and 60
    assert np.isnan(person_height(kp[3:]))
    assert person_height(kp[2:3]) == pytest.approx(50 * 7 / 16)  # only cut persons: used


def test_joint_bias_diagram_other_keypoint_sets(per_method):
    # other keypoint sets need a layout
    b16 = {"dark": bootstrap_bias(_errors(3, (0.1, 0.1))[:, :16], n_boot=20)}
    with pytest.raises(ValueError):
        joint_bias_diagram(b16)
    lay = layout_from_keypoints(np.random.default_rng(0).uniform(0, 50, (10, 16, 2)))
    fig = joint_bias_diagram(b16, layout=lay, magnify=10, person_height=30.0)
    assert len(fig.data) == 4  # skeleton, joints, dark, the reference arrow
    ext = np.nanmax(lay[:, 1]) - np.nanmin(lay[:, 1])
    assert fig.layout.meta["arrow_scale"] == pytest.approx(10 * ext / 30.0)
    tails, heads = _heads(fig, "dark")
    np.testing.assert_allclose(heads - tails, 10 * ext / 30.0 * b16["dark"].mean)


def test_layout_from_keypoints_known_answer():
    # two people, one a scaled and shifted copy of the other; joint 4 never labelled
    base = np.array([[0.0, 0.0], [2.0, 4.0], [-2.0, 4.0], [0.0, 8.0], [9.0, 9.0]])
    kp = np.zeros((2, 5, 3))
    kp[0, :, :2], kp[1, :, :2] = base, base * 3 + [50.0, 20.0]
    kp[:, :4, 2] = 2
    lay = layout_from_keypoints(kp)
    np.testing.assert_allclose(lay[:4], [[0, 0], [0.25, 0.5], [-0.25, 0.5], [0, 1]])
    assert np.isnan(lay[4]).all()


def test_phase_plot_lines_are_the_curves():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 40, size=(200, 17, 2))
    err = np.round(gt) - gt
    curves = {"standard": subpixel_phase(gt, err, bins=8),
              "dark": subpixel_phase(gt, np.zeros_like(err), bins=8)}
    fig = phase_plot(curves)
    named = {t.name: t for t in fig.data}
    assert {"standard", "dark", "standard y", "dark y", "argmax, analytic saw-tooth"} <= \
        set(named)
    np.testing.assert_allclose(named["standard"].y, curves["standard"].mean[0])
    np.testing.assert_allclose(named["standard y"].y, curves["standard"].mean[1])
    np.testing.assert_allclose(named["dark"].x, curves["dark"].centers)
    saw = named["argmax, analytic saw-tooth"]
    sx, sy = np.array(saw.x, float), np.array(saw.y, float)
    ok = np.isfinite(sx)
    np.testing.assert_allclose(sy[ok], np.where(sx[ok] > 0.5, 1 - sx[ok], -sx[ok]))
    one = phase_plot(curves, axis="y", analytic=False)
    assert [t.name for t in one.data] == ["standard", "dark"]
    np.testing.assert_allclose(one.data[0].y, curves["standard"].mean[1])


def _taxonomy():
    rng = np.random.default_rng(4)
    kp = np.zeros((2, 17, 3))
    base = rng.uniform(0, 100, size=(17, 2))
    kp[0, :, :2], kp[1, :, :2], kp[..., 2] = base + 100, base + [400, 100], 2
    gts = GroundTruthTable(np.array([1, 1]), np.array([1, 2]), kp, np.array([1e4, 1e4]),
                           np.array([True, True]))
    pred = kp[:1, :, :2].copy()
    pred[0, [5, 6]] = kp[0, [6, 5], :2]
    pred[0, 15] = -1000
    return classify_keypoints(pred, np.array([1]), np.array([0]), gts, SIG, COCO_FLIP_PAIRS)


def test_taxonomy_bars_and_ap_bars():
    t = _taxonomy()
    fig = taxonomy_bars({"dark": t, "daec": t.counts()}, share=False)
    assert [tr.name for tr in fig.data] == ["dark", "daec"]
    assert list(fig.data[0].x) == list(TAXONOMY)
    assert list(fig.data[0].y) == [t.counts()[k] for k in TAXONOMY]
    shares = taxonomy_bars({"dark": t})
    np.testing.assert_allclose(shares.data[0].y, [t.shares()[k] for k in TAXONOMY])
    stats = {name: {"AP": v} for name, v in zip(
        ("original", "jitter", "inversion", "swap", "miss", "all"),
        (0.5, 0.6, 0.55, 0.5, 0.7, 0.9), strict=True)}
    ap = TaxonomyAP(stats)
    fig = taxonomy_ap_bars({"daec": ap})
    assert list(fig.data[0].x) == ["original", "jitter", "inversion", "swap", "miss", "all"]
    np.testing.assert_allclose(fig.data[0].y, [0.5, 0.6, 0.55, 0.5, 0.7, 0.9])
    gain = taxonomy_ap_bars({"daec": ap}, gain=True)
    np.testing.assert_allclose(gain.data[0].y, [0.1, 0.05, 0.0, 0.2, 0.4])
    assert fig.data[0].marker.color == METHOD_COLORS["daec"]


def test_error_figures_from_an_analysis(tmp_path):
    try:
        from daec_viz.synthetic.demo import build_demo
    except ImportError as exc:  # pragma: no cover
        pytest.skip(f"daec_viz.synthetic.demo is not available yet ({exc})")
    from daec_viz.analysis import analyse_errors
    from daec_viz.io.datasets import load_dataset

    ds = load_dataset(build_demo(tmp_path / "demo", seed=0, n_images=6))
    ea = analyse_errors(ds, methods=["standard", "daec"], n_boot=30)
    figs = error_figures(ea)
    assert set(figs) == {"quadrants", "density", "joints", "phase", "taxonomy", "taxonomy_ap"}
    q = {t.name: t for t in figs["quadrants"].data}
    assert list(q["daec"].y) == [ea.methods["daec"].quadrants.counts[k] for k in QUADRANTS]
    assert figs["joints"].layout.meta["person_height"] == \
        pytest.approx(person_height(ea.methods["daec"].gt_hm))
    tax = {t.name: t for t in figs["taxonomy"].data}
    np.testing.assert_allclose(tax["standard"].y,
                               [ea.methods["standard"].taxonomy.shares()[k] for k in TAXONOMY])
    for f in figs.values():
        f.to_json()  # serialisable (what Streamlit sends to the browser)
        _assert_legend_below(f)


# --------------------------------------------------------------------------- readability

def _assert_legend_below(fig: go.Figure) -> None:
    """The legend is horizontal at the figure's bottom edge (container coordinates), where
    plotly reserves its height below the x tick labels and title: never over them or the
    plot area."""
    lg = fig.layout.legend
    assert (lg.orientation, lg.yref, lg.y, lg.yanchor, lg.x, lg.xanchor) == \
        ("h", "container", 0, "bottom", 0, "left")
    assert lg.title.side == "top left"  # a title beside the entries would widen a row
    assert all(lg[k] == v for k, v in LEGEND_BELOW.items() if k != "title")


def test_every_error_figure_puts_its_legend_below(per_method):
    stats = {m: quadrant_stats(e) for m, e in per_method.items()}
    biases = {m: bootstrap_bias(e, n_boot=20) for m, e in per_method.items()}
    gt = np.random.default_rng(0).uniform(0, 40, size=(50, 17, 2))
    phases = {m: subpixel_phase(gt, e[:50]) for m, e in per_method.items()}
    t = _taxonomy()
    aps = {m: TaxonomyAP({k: {"AP": v} for k in ("original", "jitter", "inversion", "swap",
                                                 "miss", "all")})
           for m, v in (("dark", 0.5), ("daec", 0.6))}
    figs = [quadrant_histogram(stats), quadrant_histogram(stats, mode="share"),
            error_density(per_method["dark"], biases["dark"], method="dark"),
            joint_bias_diagram(biases), phase_plot(phases),
            taxonomy_bars({"dark": t, "daec": t}), taxonomy_ap_bars(aps)]
    for f in figs:
        _assert_legend_below(f)


def test_quadrant_shares_of_an_emptied_filter_print_a_dash(per_method):
    stats = {"dark": quadrant_stats(per_method["dark"]),
             "daec": quadrant_stats(np.full((4, 17, 2), np.nan))}  # filters left nothing
    fig = quadrant_histogram(stats)
    share = {t.name: t for t in fig.data}["daec share"]
    assert list(share.text) == ["–"] * 4
    assert all("nan" not in str(t.text).lower() for t in fig.data)
    assert np.isfinite(fig.layout.yaxis2.range).all()


@pytest.mark.parametrize(("value", "kwargs", "want"), [
    (0.12345, {}, "0.123"),
    (0.12345, {"digits": 4, "signed": True}, "+0.1235"),
    (-0.5, {"digits": 2, "signed": True}, "-0.50"),
    (-0.00004, {"digits": 4, "signed": True}, "+0.0000"),   # no "-0.0000"
    (np.float32(2.5), {"digits": 1}, "2.5"),
    (0.125, {"digits": 1, "percent": True}, "12.5%"),
    (float("nan"), {"signed": True}, "–"),
    (np.nan, {"digits": 4, "missing": "n/a: no GT"}, "n/a: no GT"),
    (float("inf"), {"signed": True}, "–"),
    (-np.inf, {"signed": True}, "–"),
    (1e308, {"percent": True}, "–"),                         # overflows to inf as a percent
    (None, {}, "–"),
    ("abc", {}, "–"),
])
def test_fmt_num_never_prints_nan_or_inf(value, kwargs, want):
    got = fmt_num(value, **kwargs)
    assert got == want
    assert "nan" not in got.lower() and "inf" not in got.lower()
