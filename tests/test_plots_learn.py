"""Figures of the Learn page."""

from __future__ import annotations

import numpy as np
import pytest

from daec_viz.decoding.daec import daec_window
from daec_viz.plots.learn import (
    delta_opt_figure,
    estimate_curve_figure,
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
