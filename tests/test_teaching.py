"""The 1-D/2-D illustration of the paper's eq. (3)-(10) against closed forms and decode."""

from __future__ import annotations

import numpy as np
import pytest

from daec_viz.decoding import decode
from daec_viz.synthetic.simulate import DEFAULT_KNOBS
from daec_viz.synthetic.teaching import (
    biased_noise,
    compensating_delta,
    estimate_2d,
    estimate_curve,
    gaussian,
    illustrate_1d,
    illustrate_2d,
    integral,
    paper_delta,
    random_noise,
    simulated_delta_curve,
    truncated_gaussian_mean,
    window_mean,
)

X = np.linspace(0.0, 40.0, 40001)


@pytest.mark.parametrize("lo,hi", [(13.0, 27.0), (12.3, 24.1), (18.0, 30.0), (5.0, 21.0)])
def test_window_mean_is_the_truncated_gaussian_mean(lo, hi):
    f = gaussian(X, 20.3, 2.0)
    assert window_mean(X, f, lo, hi) == pytest.approx(truncated_gaussian_mean(20.3, 2.0, lo, hi),
                                                      abs=1e-6)


def test_estimate_curve_moves_left_as_delta_grows():
    f = gaussian(X, 20.0, 2.0)
    deltas = np.arange(0.0, 8.0, 0.5)
    nu = estimate_curve(X, f, 12.5, 27.5, deltas)
    assert nu[0] == pytest.approx(20.0, abs=1e-9)  # symmetric window
    assert np.all(np.diff(nu) < 0)
    expected = [truncated_gaussian_mean(20.0, 2.0, 12.5, 27.5 - d) for d in deltas]
    np.testing.assert_allclose(nu, expected, atol=1e-6)
    assert np.isnan(estimate_curve(X, f, 12.5, 27.5, [20.0])[0])  # empty window


def test_biased_noise_integrates_to_zero_and_shifts_the_mean():
    h = biased_noise(X, 20.0, 2.0, shift=0.8, weight=0.5)
    assert integral(X, h, 0.0, 40.0) == pytest.approx(0.0, abs=1e-9)
    f = gaussian(X, 20.0, 2.0) + h
    # the mixture's mean on a wide window: μ + weight · shift
    assert window_mean(X, f, 0.0, 40.0) == pytest.approx(20.4, abs=1e-6)
    # eq. (9) with ∫h = 0 and a wide window is exact: δ = ν − μ
    assert paper_delta(X, gaussian(X, 20.0, 2.0), h, 0.0, 40.0) == pytest.approx(0.4, abs=1e-6)


def test_compensating_delta_recovers_mu():
    il = illustrate_1d(mu=20.3, sigma=2.0, delta=0.0, kind="biased", shift=0.6, weight=0.5)
    assert il.nu_full > il.mu  # biased to the right
    d = il.delta_star
    assert d is not None and d > 0
    assert window_mean(il.x, il.f, il.x1, il.x2 - d) == pytest.approx(il.mu, abs=0.01)
    assert compensating_delta(np.array([0, 1, 2.0]), np.array([3.0, 2.0, 1.0]), 1.5) == 1.5
    assert compensating_delta(np.array([0, 1.0]), np.array([3.0, 2.0]), 0.0) is None


def test_random_noise_is_seeded_and_scaled():
    a, b = random_noise(X[::10], 0.05, seed=3), random_noise(X[::10], 0.05, seed=3)
    np.testing.assert_array_equal(a, b)
    assert 0.03 < a.std() < 0.07
    assert not np.array_equal(a, random_noise(X[::10], 0.05, seed=4))


def test_illustration_window_is_daec_window():
    il = illustrate_1d(mu=20.3, sigma=2.0, delta=2.0, kind="none")
    assert (il.x1, il.x2) == (12.5, 27.5)  # argmax 20, half-width int(3σ+1) = 7
    assert il.nu_at == pytest.approx(truncated_gaussian_mean(20.3, 2.0, 12.5, 25.5), abs=1e-6)


def test_estimate_2d_is_the_decoder():
    maps = illustrate_2d((12.3, 14.6), 2.0, (0.6, 0.4), 0.5, 0.02)
    assert np.allclose(maps["f"], maps["g"] + maps["h"])
    arg, est = estimate_2d(maps["f"], 2.0, 3.0, "BR")
    ref = decode(maps["f"][None, None], "daec", sigma=2.0, delta=3.0, pattern="BR").coords[0, 0]
    np.testing.assert_array_equal(est, ref)
    np.testing.assert_array_equal(arg, decode(maps["f"][None, None], "standard").coords[0, 0])


def test_delta_opt_tracks_the_bias():
    low = simulated_delta_curve(DEFAULT_KNOBS.replace(bias=(0.0, 0.0)), n=120)
    high = simulated_delta_curve(DEFAULT_KNOBS.replace(bias=(1.0, 1.0)), n=120)
    assert high.delta_opt > low.delta_opt
    assert low.mean_oks.shape == low.deltas.shape
    i = int(np.argmax(high.mean_oks))
    assert high.deltas[i] == high.delta_opt


# (shift 1 would put f's peak half-way between two pixels, where argmax ties break toward
# the lower index and the mirror image picks another window)
@pytest.mark.parametrize("shift", [0.3, 0.6, 0.8])
def test_a_bias_of_either_sign_is_compensated_on_its_side(shift):
    # μ on a pixel centre of a grid symmetric about it: the setting with bias −b is the
    # mirror image (x -> 2μ − x) of the one with +b, so cutting the lower end by Δ does
    # for −b exactly what cutting the upper end by Δ does for +b
    kw = dict(mu=20.0, sigma=2.0, kind="biased", weight=0.5, length=40.0)
    up = illustrate_1d(shift=shift, side="upper", **kw)
    low = illustrate_1d(shift=-shift, side="lower", **kw)
    assert up.delta_star is not None and low.delta_star is not None
    assert up.delta_star > 0
    assert low.delta_star == pytest.approx(up.delta_star, abs=1e-9)
    np.testing.assert_allclose(low.nu, 2 * 20.0 - up.nu, atol=1e-9)
    for il in (up, low):
        nu_star = estimate_curve(il.x, il.f, il.x1, il.x2, [il.delta_star], il.side)[0]
        assert nu_star == pytest.approx(20.0, abs=1e-3)  # linear interpolation on the grid
    # the wrong side moves the estimate further away: no Δ ≥ 0 compensates
    wrong = illustrate_1d(shift=shift, side="lower", **kw)
    assert wrong.delta_star is None or wrong.delta_star < 0


def test_no_bias_needs_no_cut():
    il = illustrate_1d(mu=20.0, sigma=2.0, kind="biased", shift=0.0, length=40.0)
    assert il.delta_star == pytest.approx(0.0, abs=1e-6)
