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
from daec_viz.synthetic.teaching import DeltaCurve, estimate_2d, illustrate_1d, illustrate_2d


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
