"""Tests of the simulated top-down network (daec_viz.synthetic.simulate)."""

from __future__ import annotations

import numpy as np
import pytest

from daec_viz.decoding import decode
from daec_viz.exceptions import InputError
from daec_viz.synthetic.simulate import DEFAULT_KNOBS, NetworkKnobs, simulate_heatmaps


def _keypoints(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kp = np.stack([rng.uniform(8, 40, (n, 17)), rng.uniform(8, 56, (n, 17))], axis=-1)
    vis = np.full((n, 17), 2)
    return kp, vis


def test_shape_dtype_and_seed_determinism():
    kp, vis = _keypoints(5)
    a = simulate_heatmaps(kp, vis, DEFAULT_KNOBS, np.random.default_rng(7))
    b = simulate_heatmaps(kp, vis, DEFAULT_KNOBS, np.random.default_rng(7))
    c = simulate_heatmaps(kp, vis, DEFAULT_KNOBS, np.random.default_rng(8))
    assert a.shape == (5, 17, 64, 48) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.isfinite(a).all()


def test_noise_free_is_exact_gaussian_and_dark_recovers_gt():
    kp, vis = _keypoints(40, seed=1)
    hm = simulate_heatmaps(kp, vis, NetworkKnobs.noise_free(), 0)
    yy, xx = np.mgrid[0:64, 0:48]
    ref = np.exp(-((xx - kp[3, 5, 0]) ** 2 + (yy - kp[3, 5, 1]) ** 2) / (2 * 2.0 ** 2))
    np.testing.assert_allclose(hm[3, 5], ref, atol=1e-6)
    err = np.abs(decode(hm, "dark").coords - kp)
    assert err.max() < 0.05
    # DAEC without a cut recovers it too (window fully inside the map)
    inner = (kp[..., 0] > 8) & (kp[..., 0] < 39) & (kp[..., 1] > 8) & (kp[..., 1] < 55)
    err_daec = np.abs(decode(hm, "daec", sigma=2.0, delta=0).coords - kp)[inner]
    assert err_daec.max() < 0.05


def test_quantized_targets_peak_at_rounded_location():
    kp = np.array([[[10.4, 20.6], [30.5, 40.49]]])
    knobs = NetworkKnobs.noise_free().replace(quantize_targets=True)
    hm = simulate_heatmaps(kp, np.full((1, 2), 2), knobs, 0)
    r = decode(hm, "dark", blur_kernel=1)
    np.testing.assert_allclose(r.coords[0], [[10, 21], [31, 40]], atol=1e-6)


@pytest.mark.parametrize("bias", [(0.5, 0.3), (-0.4, 0.6)])
def test_bias_knob_shifts_mean_error(bias):
    # known answer: with rounding + bias + fit noise only, the mean of (pred - GT) of
    # DARK is the injected bias (rounding and noise have zero mean)
    kp, vis = _keypoints(300, seed=2)
    knobs = NetworkKnobs.noise_free().replace(quantize_targets=True, bias=bias,
                                              sigma_out=2.3, fit_noise=0.5)
    hm = simulate_heatmaps(kp, vis, knobs, np.random.default_rng(3))
    for method, kw in (("dark", {}), ("daec", {"sigma": 2.0, "delta": 0})):
        err = decode(hm, method, **kw).coords - kp
        np.testing.assert_allclose(err.reshape(-1, 2).mean(axis=0), bias, atol=0.05)


def test_default_knobs_bias_shows_in_dark_and_daec_compensates():
    kp, vis = _keypoints(200, seed=4)
    hm = simulate_heatmaps(kp, vis, DEFAULT_KNOBS, np.random.default_rng(5))
    e_dark = np.median((decode(hm, "dark").coords - kp).reshape(-1, 2), axis=0)
    e_daec = np.median((decode(hm, "daec", sigma=2.0, delta=4).coords - kp).reshape(-1, 2),
                       axis=0)
    bx, by = DEFAULT_KNOBS.bias
    assert abs(e_dark[0] - bx) < 0.1 and abs(e_dark[1] - by) < 0.1
    assert np.all(np.abs(e_daec) < np.abs(e_dark))       # the BR cut pulls up-left


def test_occluded_joints_have_weaker_peaks():
    kp, _ = _keypoints(100, seed=6)
    vis = np.tile(np.array([2, 1] * 8 + [2]), (100, 1))
    hm = simulate_heatmaps(kp, vis, DEFAULT_KNOBS, 0)
    peak = hm.reshape(100, 17, -1).max(-1)
    assert peak[vis == 1].mean() < 0.75 * peak[vis == 2].mean()


def test_outlier_rate():
    kp, vis = _keypoints(400, seed=7)
    knobs = NetworkKnobs.noise_free().replace(outlier_rate=0.1, outlier_distance=(5, 6))
    hm = simulate_heatmaps(kp, vis, knobs, 0)
    err = np.linalg.norm(decode(hm, "dark").coords - kp, axis=-1)
    far = (err > 4).mean()
    assert 0.08 < far < 0.12
    assert (err[err <= 4] < 0.05).all()


def test_knobs_validation_and_roundtrip():
    with pytest.raises(InputError):
        NetworkKnobs(sigma_out=0)
    with pytest.raises(InputError):
        NetworkKnobs(outlier_rate=1.5)
    with pytest.raises(InputError):
        NetworkKnobs(bias=(1.0,))
    with pytest.raises(InputError):
        NetworkKnobs.from_dict({"nope": 1})
    k = DEFAULT_KNOBS.replace(bias=(0.1, -0.2))
    assert NetworkKnobs.from_dict(k.to_dict()) == k
    with pytest.raises(InputError):
        simulate_heatmaps(np.zeros((2, 17)), np.zeros((2, 17)), DEFAULT_KNOBS, 0)


def test_no_swap_onto_a_joint_without_location():
    # left shoulder (5) has no location: its partner (6) can never be "swapped" onto it,
    # while the located pair 11/12 swaps about half of the time (swap_rate capped at 0.5)
    kp, vis = _keypoints(200, seed=9)
    kp[:, 5] = np.nan
    knobs = NetworkKnobs.noise_free().replace(swap_rate=0.5, outlier_concentration=0.0)
    hm = simulate_heatmaps(kp, vis, knobs, 0)
    assert (hm[:, 5] == 0).all()
    err = np.linalg.norm(decode(hm, "dark").coords - kp, axis=-1)
    assert err[:, 6].max() < 0.05
    assert 0.35 < (err[:, 11] > 0.05).mean() < 0.65
