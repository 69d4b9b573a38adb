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
from daec_viz.analysis.taxonomy import GroundTruthTable, TaxonomyAP
from daec_viz.evaluation.oks import COCO_OKS_SIGMAS
from daec_viz.io.coco_format import COCO_FLIP_PAIRS
from daec_viz.plots.errors import (
    COCO_BODY_LAYOUT,
    error_density,
    error_figures,
    joint_bias_diagram,
    layout_from_keypoints,
    phase_plot,
    quadrant_histogram,
    taxonomy_ap_bars,
    taxonomy_bars,
)
from daec_viz.plots.style import METHOD_COLORS, method_color

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
    assert METHOD_COLORS == {"standard": "#7f7f7f", "shifting": "#1f77b4", "dark": "#ff7f0e",
                             "daec": "#d62728", "gt": "#2ca02c"}
    assert method_color("daec BR Δ=3") == "#d62728"
    assert method_color("unknown") == method_color("unknown")


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


def test_joint_bias_diagram_arrow_heads(per_method):
    biases = {m: bootstrap_bias(e, n_boot=50) for m, e in per_method.items()}
    fig = joint_bias_diagram(biases, arrow_scale=0.1)
    named = {t.name: t for t in fig.data}
    assert {"skeleton", "joints", "standard", "dark", "daec"} <= set(named)
    np.testing.assert_allclose(named["joints"].x, COCO_BODY_LAYOUT[:, 0])
    for m, b in biases.items():
        t = named[m]
        xs = np.array(t.x, dtype=float).reshape(-1, 3)
        ys = np.array(t.y, dtype=float).reshape(-1, 3)
        np.testing.assert_allclose(xs[:, 0], COCO_BODY_LAYOUT[:, 0])          # tails
        np.testing.assert_allclose(xs[:, 1], COCO_BODY_LAYOUT[:, 0] + 0.1 * b.mean[:, 0])
        np.testing.assert_allclose(ys[:, 1], COCO_BODY_LAYOUT[:, 1] + 0.1 * b.mean[:, 1])
        assert np.isnan(xs[:, 2]).all()
        assert t.line.color == METHOD_COLORS[m]
    assert fig.layout.yaxis.autorange == "reversed"
    # the automatic scale draws the largest bias 0.08 long
    auto = joint_bias_diagram(biases)
    scale = auto.layout.meta["arrow_scale"]
    big = max(np.hypot(*b.mean.T).max() for b in biases.values())
    np.testing.assert_allclose(scale * big, 0.08)
    # magnified ×4: heads at layout + 4 · scale · bias; the reference arrow at that scale
    big4 = joint_bias_diagram(biases, magnify=4.0)
    assert big4.layout.meta["arrow_scale"] == pytest.approx(4 * scale)
    t = {tr.name: tr for tr in big4.data}["daec"]
    xs = np.array(t.x, dtype=float).reshape(-1, 3)
    np.testing.assert_allclose(xs[:, 1], COCO_BODY_LAYOUT[:, 0]
                               + 4 * scale * biases["daec"].mean[:, 0])
    ref = next(tr for tr in big4.data if tr.name.startswith("scale: "))
    length = float(ref.name.split()[1])
    assert length > 0 and ref.x[1] - ref.x[0] == pytest.approx(4 * scale * length)
    assert length <= big * (1 + 1e-9) and length > big / 10  # a round length near the largest
    # other keypoint sets need a layout
    b16 = {"dark": bootstrap_bias(_errors(3, (0.1, 0.1))[:, :16], n_boot=20)}
    with pytest.raises(ValueError):
        joint_bias_diagram(b16)
    lay = layout_from_keypoints(np.random.default_rng(0).uniform(0, 50, (10, 16, 2)))
    assert len(joint_bias_diagram(b16, layout=lay).data) == 4  # + the reference arrow


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
    tax = {t.name: t for t in figs["taxonomy"].data}
    np.testing.assert_allclose(tax["standard"].y,
                               [ea.methods["standard"].taxonomy.shares()[k] for k in TAXONOMY])
    for f in figs.values():
        f.to_json()  # serialisable (what Streamlit sends to the browser)
