"""Figures of the Learn page."""

from __future__ import annotations

import numpy as np
import pytest

from daec_viz.decoding.daec import daec_window
from daec_viz.plots.learn import (
    delta_opt_figure,
    estimate_curve_figure,
    map_2d_animation,
    map_2d_figure,
    signal_noise_figure,
)
from daec_viz.synthetic.teaching import (
    DeltaCurve,
    animation_deltas,
    estimate_2d,
    estimate_2d_curve,
    illustrate_1d,
    illustrate_2d,
)


def test_signal_noise_figure():
    il = illustrate_1d(mu=20.3, sigma=2.0, delta=3.0, kind="both")
    fig = signal_noise_figure(il)
    by = {t.name: t for t in fig.data}
    np.testing.assert_array_equal(by["f = g + h"].y, il.g + il.h)
    np.testing.assert_array_equal(by["g (signal)"].y, il.g)
    shapes = {s.name: s for s in fig.layout.shapes}
    assert (shapes["window"].x0, shapes["window"].x1) == (il.x1, il.x2 - 3.0)
    assert (shapes["cut"].x0, shapes["cut"].x1) == (il.x2 - 3.0, il.x2)
    assert shapes["ν(Δ)"].x0 == pytest.approx(il.nu_at)
    assert shapes["μ"].x0 == pytest.approx(20.3)


def test_estimate_curve_figure():
    il = illustrate_1d(delta=1.5, kind="biased")
    fig = estimate_curve_figure(il)
    by = {t.name: t for t in fig.data}
    np.testing.assert_array_equal(by["ν(Δ)"].x, il.deltas)
    np.testing.assert_array_equal(by["ν(Δ)"].y, il.nu)
    assert (by["current"].x[0], by["current"].y[0]) == (1.5, pytest.approx(il.nu_at))
    assert by["Δ*: ν = μ"].x[0] == pytest.approx(il.delta_star)


def test_map_2d_figure():
    maps = illustrate_2d()
    arg, est = estimate_2d(maps["f"], 2.0, 2.0, "BR")
    fig = map_2d_figure(maps["f"], 2.0, 2.0, "BR", (12.3, 14.6), arg, est)
    win = daec_window((int(arg[0]), int(arg[1])), 2.0, 2.0, "BR", (28, 28))
    kept = next(s for s in fig.layout.shapes if s.name == "kept")
    assert (kept.x0, kept.x1, kept.y0, kept.y1) == win.kept
    by = {t.name: t for t in fig.data}
    assert (by["daec"].x[0], by["daec"].y[0]) == pytest.approx(tuple(est))


def test_delta_opt_figure():
    c = DeltaCurve(np.array([0.0, 1.0, 2.0]), np.array([0.5, 0.7, 0.6]), np.zeros(3), 1.0, 10)
    fig = delta_opt_figure(c)
    by = {t.name: t for t in fig.data}
    assert (by["Δ_opt"].x[0], by["Δ_opt"].y[0]) == (1.0, 0.7)


def test_signal_noise_figure_lower_side():
    il = illustrate_1d(mu=20.0, sigma=2.0, delta=2.0, kind="biased", shift=-0.6,
                       side="lower")
    shapes = {s.name: s for s in signal_noise_figure(il).layout.shapes}
    assert (shapes["window"].x0, shapes["window"].x1) == (il.x1 + 2.0, il.x2)
    assert (shapes["cut"].x0, shapes["cut"].x1) == (il.x1, il.x1 + 2.0)
    assert il.nu_at == pytest.approx(il.nu[np.flatnonzero(il.deltas == 2.0)[0]])


def test_map_2d_animation_frames_follow_the_decoder():
    maps = illustrate_2d()
    deltas = np.arange(-2.0, 10.5, 0.5)
    arg, _ = estimate_2d(maps["f"], 2.0, 0.0, "UL")
    est = np.array([estimate_2d(maps["f"], 2.0, d, "UL")[1] for d in deltas])
    fig = map_2d_animation(maps["f"], 2.0, deltas, "UL", (12.3, 14.6), arg, est)
    assert [fr.name for fr in fig.frames] == [f"{d:g}" for d in deltas]
    assert len(fig.layout.sliders[0].steps) == deltas.size
    for d, fr in zip(deltas, fig.frames, strict=True):
        _, want = estimate_2d(maps["f"], 2.0, d, "UL")
        assert (fr.data[0].x[0], fr.data[0].y[0]) == pytest.approx(tuple(want))
        kept = next(s for s in fr.layout.shapes if s.name == "kept")
        win = daec_window((int(arg[0]), int(arg[1])), 2.0, d, "UL", (28, 28))
        if win.kept[1] > win.kept[0] and win.kept[3] > win.kept[2]:
            assert (kept.x0, kept.x1, kept.y0, kept.y1) == win.kept
        else:  # an empty window: drawn as the centre point, and DAEC returns the argmax
            assert (kept.x0, kept.y0) == (arg[0], arg[1])
    daec_trace = [t.name for t in fig.data].index("daec")
    assert all(fr.traces == (daec_trace,) for fr in fig.frames)


@pytest.mark.parametrize("sigma,pattern", [(2.0, "BR"), (1.5, "UR"), (3.0, "BL")])
def test_map_2d_animation_one_frame_per_delta_of_the_page_grid(sigma, pattern):
    maps = illustrate_2d((12.3, 14.6), sigma, (0.6, -0.4), 0.5, 0.02)
    grid = animation_deltas(sigma)  # −2 … 2e + 1 every 0.5 px, as on the page
    arg, at3 = estimate_2d(maps["f"], sigma, 3.0, pattern)
    est = estimate_2d_curve(maps["f"], sigma, grid, pattern)
    active = int(np.flatnonzero(grid == 3.0)[0])
    fig = map_2d_animation(maps["f"], sigma, grid, pattern, (12.3, 14.6), arg, est,
                           active=active)
    assert len(fig.frames) == grid.size == len(fig.layout.sliders[0].steps)
    assert [s.label for s in fig.layout.sliders[0].steps] == [f"{d:g}" for d in grid]
    for d, fr in zip(grid, fig.frames, strict=True):
        _, want = estimate_2d(maps["f"], sigma, float(d), pattern)
        np.testing.assert_array_equal((fr.data[0].x[0], fr.data[0].y[0]), want)
        assert f"Δ = {d:g}:" in fr.layout.title.text
    # before play the figure shows the active frame: the page's Δ
    assert fig.layout.sliders[0].active == active
    by = {t.name: t for t in fig.data}
    np.testing.assert_array_equal((by["daec"].x[0], by["daec"].y[0]), at3)
    # the window empties at 2e + 1 whatever the pattern: DAEC returns the argmax
    np.testing.assert_array_equal(est[-1], arg)


def test_estimate_curve_figure_reaches_a_delta_star_beyond_the_default_grid():
    # a large bias needs a cut past e + 1 = 8: the plotted curve is stretched to hold it
    il = illustrate_1d(mu=20.0, sigma=2.0, delta=0.0, kind="biased", shift=2.0, weight=1.0)
    assert il.delta_star is not None and il.delta_star > 8.0
    by = {t.name: t for t in estimate_curve_figure(il).data}
    assert by["ν(Δ)"].x[0] <= il.delta_star <= by["ν(Δ)"].x[-1]
    assert by["Δ*: ν = μ"].x[0] == pytest.approx(il.delta_star)
