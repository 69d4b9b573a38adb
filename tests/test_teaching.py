"""The 1-D/2-D illustration of the paper's eq. (3)-(10) against closed forms and decode."""

from __future__ import annotations

import numpy as np
import pytest

from daec_viz.decoding import decode
from daec_viz.synthetic.simulate import DEFAULT_KNOBS
from daec_viz.synthetic.teaching import (
    animation_deltas,
    biased_noise,
    compensating_delta,
    estimate_2d,
    estimate_2d_curve,
    estimate_curve,
    find_compensating_delta,
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


# Δ* is refined by Brent's method to xtol = 1e-10 px, and the ±b settings are exact mirror
# images up to the float rounding of the grid x (~1e-14 px in ν, ~1e-12 px in Δ at the
# slope of ν(Δ)), so 1e-9 px holds the mirror relation with room to spare while a
# wrong window (one pixel off) or a wrong end would miss it by ~0.1 px or more.
MIRROR_TOL = 1e-9


@pytest.mark.parametrize("b", [0.3, 0.6, 0.8, 1.5])
def test_delta_star_of_either_sign_mirrors(b):
    # noise-free and symmetric: μ on a pixel centre of a grid symmetric about it, so the
    # setting with bias −b is the one with +b under x -> 2μ − x. Mirroring swaps the
    # window's ends and keeps the cut's length: −b is compensated by cutting the *lower*
    # end by the same Δ* (BL/UL), not by a negative Δ at the upper end, which in the
    # decoder's convention (and eq. (10)'s) widens the window there
    kw = dict(mu=20.0, sigma=2.0, kind="biased", weight=0.5, length=40.0)
    up_pos = illustrate_1d(shift=b, side="upper", **kw)
    up_neg = illustrate_1d(shift=-b, side="upper", **kw)
    low_neg = illustrate_1d(shift=-b, side="lower", **kw)
    e = 7  # int(3σ + 1)
    assert up_pos.search == (-(2 * e + 1), 2 * e + 1)
    assert up_pos.delta_star is not None and up_pos.delta_star > 0
    assert low_neg.delta_star == pytest.approx(up_pos.delta_star, abs=MIRROR_TOL)
    # found for either sign: each setting names the end that compensates it
    assert up_neg.delta_star_other == pytest.approx(up_pos.delta_star, abs=MIRROR_TOL)
    assert up_pos.delta_star_other is None and up_neg.delta_star is None
    for il in (up_pos, low_neg):
        nu = estimate_curve(il.x, il.f, il.x1, il.x2, [il.delta_star], il.side)[0]
        assert nu == pytest.approx(20.0, abs=1e-8)  # ν(Δ*) = μ to the root finder's xtol
    # why a negative Δ at the upper end cannot compensate −b: widening the (6σ + 3)
    # window (±3.75σ around the argmax) only adds the thin tail, which moves ν by a few
    # thousandths of a px, not the weight · b = 0.15 … 0.75 px of the bias; ν stays
    # below μ on the whole range of widenings
    d = np.arange(-15.0, 0.25, 0.25)
    nu = estimate_curve(up_neg.x, up_neg.f, up_neg.x1, up_neg.x2, d, "upper")
    assert np.all(np.abs(nu - up_neg.nu_full) < 0.05 * 0.5 * b)
    assert np.all(nu < 20.0 - 0.9 * 0.5 * b)


def test_no_bias_needs_no_cut_at_either_end():
    il = illustrate_1d(mu=20.0, sigma=2.0, kind="biased", shift=0.0, length=40.0)
    assert il.delta_star == pytest.approx(0.0, abs=1e-9)
    assert il.delta_star_other == pytest.approx(0.0, abs=1e-9)


def test_find_compensating_delta_closed_form():
    # f = G(μ = 20.3, σ = 2) on [12.5, 27.5]: ν(Δ) is the truncated normal mean, which is
    # monotone in Δ, so Δ* solves truncated_gaussian_mean(..., 27.5 − Δ) = target exactly
    f = gaussian(X, 20.3, 2.0)
    target = truncated_gaussian_mean(20.3, 2.0, 12.5, 27.5 - 3.3)
    d = find_compensating_delta(X, f, 12.5, 27.5, target, "upper")
    assert d == pytest.approx(3.3, abs=1e-6)  # the grid's trapezoid rule: ~1e-8 px in ν
    # a negative Δ* is a widening at that end: ν(Δ) is the same formula with 27.5 + |Δ|
    target = truncated_gaussian_mean(20.3, 2.0, 12.5, 27.5 + 0.5)
    d = find_compensating_delta(X, f, 12.5, 27.5, target, "upper")
    assert d == pytest.approx(-0.5, abs=1e-3)
    assert find_compensating_delta(X, f, 12.5, 27.5, 25.0, "upper") is None


def test_compensating_delta_prefers_the_cut_nearest_zero():
    d = np.array([-4.0, -3.0, -1.0, 0.0, 1.0, 2.0])
    nu = np.array([0.0, 2.0, 2.0, 3.0, 2.0, 1.0])
    assert compensating_delta(d, nu, 1.5) == pytest.approx(1.5)  # not the smallest, −3.75
    assert compensating_delta(d[::-1], nu[::-1], 1.5) == pytest.approx(1.5)  # any order
    # a cut before a nearer widening (−0.75 here); a widening only when no cut crosses
    nu = np.array([3.0, 3.0, 1.0, 3.0, 2.0, 1.0])
    assert compensating_delta(d, nu, 1.5) == pytest.approx(1.5)
    assert compensating_delta(d[:4], nu[:4], 1.5) == pytest.approx(-0.75)


def test_estimate_curve_clips_a_widened_window_to_the_grid():
    f = gaussian(X, 20.0, 2.0)
    # widening past the grid's end is the same window as stopping at it
    assert estimate_curve(X, f, 12.5, 38.0, [-5.0])[0] == window_mean(X, f, 12.5, 40.0)
    assert estimate_curve(X, f, 2.0, 27.5, [-5.0], "lower")[0] == window_mean(X, f, 0.0, 27.5)


def test_animation_grid_and_2d_curve():
    grid = animation_deltas(2.0)
    assert grid[0] == -2.0 and grid[-1] == 15.0 and np.all(np.diff(grid) == 0.5)
    maps = illustrate_2d()
    est = estimate_2d_curve(maps["f"], 2.0, grid[:5], "BL")
    assert est.shape == (5, 2)
    for d, e in zip(grid[:5], est, strict=True):
        np.testing.assert_array_equal(e, estimate_2d(maps["f"], 2.0, d, "BL")[1])


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("shift", [-1.5, -0.6, 0.6, 1.5])
def test_delta_star_with_noise_is_a_root_whose_window_holds_mu(sigma, shift):
    # with random noise f goes negative in the tails, and a cut that leaves only a few
    # px of tail makes ∫ f ≈ 0 and ν run off past μ (σ = 3, shift −0.6 at the upper end
    # has such a crossing near Δ = 16.8, with the kept window [9.5, 13.7] far from
    # μ = 20.3): that is not a Δ* — a mean of non-negative weights stays in its window
    il = illustrate_1d(mu=20.3, sigma=sigma, kind="both", shift=shift, std=0.02)
    for d, side in ((il.delta_star, il.side), (il.delta_star_other, "lower")):
        if d is None:
            continue
        lo, hi = (il.x1, il.x2 - d) if side == "upper" else (il.x1 + d, il.x2)
        assert lo <= il.mu <= hi
        nu = estimate_curve(il.x, il.f, il.x1, il.x2, [d], side)[0]
        assert nu == pytest.approx(il.mu, abs=1e-6)
    # the bias's own end always has a cut that compensates it
    cut = il.delta_star if shift > 0 else il.delta_star_other
    assert cut is not None and cut > 0
