"""The field's decoders (dark_udp, gauss3, integral, integral_debiased): against their
per-map reference loops, against theory (noise-free Gaussians) and their edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import noisy_maps

from daec_viz.decoding import (
    ALL_METHODS,
    DEFAULT_BETA,
    FIELD_METHODS,
    METHODS,
    DecoderConfig,
    decode,
)
from daec_viz.decoding.benchmark import FIELD_CONFIGS, realistic_heatmaps, run_benchmark
from daec_viz.decoding.config import DEFAULT_BLUR_KERNEL, OPTIONS
from daec_viz.decoding.dark_udp import EPS
from daec_viz.decoding.reference import reference_decode
from daec_viz.exceptions import InputError

H, W = 64, 48


def mmpose_c_minus_1(hm: np.ndarray) -> np.ndarray:
    """C - 1 of mmpose's debiasing, C = Σ exp(h) over each map (no β), shape hm[..., 0, 0]."""
    return np.exp(hm.astype(np.float64)).sum(axis=(-1, -2)) - 1.0


def gaussian_map(mu_x: float, mu_y: float, sigma: float, h: int = H, w: int = W,
                 amp: float = 1.0, sigma_y: float | None = None) -> np.ndarray:
    sy = sigma if sigma_y is None else sigma_y
    yy, xx = np.mgrid[0:h, 0:w]
    return amp * np.exp(-(xx - mu_x) ** 2 / (2.0 * sigma ** 2) - (yy - mu_y) ** 2
                        / (2.0 * sy ** 2))


# (method, reference kwargs); decode takes blur_kernel where the reference takes kernel
CASES = [
    ("dark_udp", {}), ("dark_udp", {"kernel": 1}), ("dark_udp", {"kernel": 3}),
    ("dark_udp", {"kernel": 7}), ("dark_udp", {"kernel": 17}),
    ("gauss3", {}),
    ("integral", {}), ("integral", {"beta": 1.0}), ("integral", {"beta": 40.0}),
    ("integral_debiased", {}), ("integral_debiased", {"beta": 3.0}),
    ("integral_debiased", {"beta": 25.0}),
]


def _ours(kwargs: dict) -> dict:
    out = dict(kwargs)
    if "kernel" in out:
        out["blur_kernel"] = out.pop("kernel")
    return out


def _assert_matches_reference(hm: np.ndarray, method: str, kwargs: dict) -> np.ndarray:
    r = decode(hm, method, **_ours(kwargs))
    ref = reference_decode(hm, method, **kwargs)
    ok = r.valid
    # 1e-6 px; the relative term only matters where a near-singular Hessian or a nearly
    # flat map (C -> 1) throws the estimate far off the map, where both loops compute the
    # same ill-conditioned number with different rounding
    np.testing.assert_allclose(r.coords[ok], ref[ok], atol=1e-6, rtol=1e-9)
    return ok


# ---------------------------------------------------------------- reference loops

@pytest.mark.parametrize("method,kwargs", CASES)
def test_matches_reference_on_noisy_maps(method, kwargs):
    hm = noisy_maps(7, n=8, k=6)
    hm[0, 0] = 0.0  # all zero: invalid
    hm[0, 1] = -np.abs(hm[0, 1])  # max <= 0: invalid
    hm[1, 0] *= 80.0  # maxima above DARK-UDP's clip at 50
    hm[1, 1] *= 1e-3  # values below its clip at 1e-3
    ok = _assert_matches_reference(hm, method, kwargs)
    assert not ok[0, 0] and not ok[0, 1] and ok[1].all()


@pytest.mark.parametrize("method,kwargs", CASES)
def test_matches_reference_on_realistic_maps(method, kwargs):
    hm = realistic_heatmaps(12, seed=3)
    assert _assert_matches_reference(hm, method, kwargs).all()


def test_maps_near_borders_match_reference():
    rng = np.random.default_rng(11)
    hm = np.zeros((1, 10, 20, 16), np.float32)
    spots = [(0, 0), (15, 0), (0, 19), (15, 19), (1, 10), (14, 10), (8, 1), (8, 18),
             (0, 7), (7, 0)]
    for j, (x, y) in enumerate(spots):
        hm[0, j] = gaussian_map(x + 0.3, y - 0.2, 2.0, h=20, w=16) + rng.uniform(0, .01, (20, 16))
    for method, kwargs in CASES:
        assert _assert_matches_reference(hm, method, kwargs).all()


map_seeds = st.integers(0, 2 ** 31 - 1)


@settings(max_examples=60, deadline=None)
@given(seed=map_seeds, h=st.integers(1, 24), w=st.integers(1, 24), n=st.integers(1, 3),
       k=st.integers(1, 3), case=st.sampled_from(CASES),
       dtype=st.sampled_from([np.float32, np.float64]),
       style=st.sampled_from(["uniform", "peak", "signed", "tiny", "huge"]))
def test_random_maps_match_reference(seed, h, w, n, k, case, dtype, style):
    rng = np.random.default_rng(seed)
    shape = (n, k, h, w)
    if style == "uniform":
        hm = rng.uniform(0, 1, shape)
    elif style == "signed":
        hm = rng.uniform(-1, 0.2, shape)
    elif style == "tiny":
        hm = rng.uniform(0, 2e-3, shape)
    elif style == "huge":
        hm = rng.uniform(0, 120, shape)
    else:
        mu = rng.uniform(-1, [w, h], size=(n, k, 2))
        yy, xx = np.mgrid[0:h, 0:w]
        hm = np.exp(-((xx - mu[..., 0, None, None]) ** 2
                      + (yy - mu[..., 1, None, None]) ** 2) / (2 * rng.uniform(0.7, 3) ** 2))
        hm = hm + rng.normal(0, 0.02, shape)
    method, kwargs = case
    _assert_matches_reference(hm.astype(dtype), method, kwargs)


# ---------------------------------------------------------------- theory

@pytest.mark.parametrize("sigma,sigma_y", [(0.7, 0.7), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0),
                                           (1.5, 2.5), (3.0, 1.2)])
def test_gauss3_is_exact_on_noise_free_gaussians(sigma, sigma_y):
    # log of an axis-aligned sampled Gaussian is a parabola along each axis: the vertex
    # of the three-point fit is the centre, whatever the width
    rng = np.random.default_rng(int(sigma * 10 + sigma_y))
    for mu_x, mu_y in rng.uniform([2, 2], [W - 3, H - 3], size=(25, 2)):
        hm = gaussian_map(mu_x, mu_y, sigma, sigma_y=sigma_y)[None, None]
        np.testing.assert_allclose(decode(hm, "gauss3").coords[0, 0], [mu_x, mu_y],
                                   atol=1e-9)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_dark_udp_on_the_raw_map_is_one_regularised_newton_step(sigma):
    # with blur_kernel=1 the log map is exactly quadratic: H = -I/σ², D = (μ - p)/σ², so
    # the regularised step -(H + εI)^-1 D is (μ - p) / (1 - εσ²) exactly
    rng = np.random.default_rng(int(sigma))
    for mu_x, mu_y in rng.uniform([4, 4], [W - 5, H - 5], size=(25, 2)):
        hm = gaussian_map(mu_x, mu_y, sigma)[None, None]
        p = np.array([np.floor(mu_x + 0.5), np.floor(mu_y + 0.5)])
        expected = p + (np.array([mu_x, mu_y]) - p) / (1.0 - EPS * sigma ** 2)
        got = decode(hm, "dark_udp", blur_kernel=1).coords[0, 0]
        np.testing.assert_allclose(got, expected, atol=1e-9)
        np.testing.assert_allclose(got, [mu_x, mu_y], atol=1e-6)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_dark_udp_recovers_noise_free_gaussians_after_its_blur(sigma):
    # blurring a Gaussian gives (nearly) a wider Gaussian with the same centre
    rng = np.random.default_rng(int(sigma) + 5)
    for mu_x, mu_y in rng.uniform([12, 12], [W - 13, H - 13], size=(25, 2)):
        hm = gaussian_map(mu_x, mu_y, sigma)[None, None]
        np.testing.assert_allclose(decode(hm, "dark_udp").coords[0, 0], [mu_x, mu_y],
                                   atol=1e-4)


def test_dark_udp_starts_from_the_raw_argmax():
    # a raw maximum that the blur moves: a 1-px spike beside a broad bump. mmpose's
    # UDPHeatmap takes the argmax before refine_keypoints_dark_udp blurs, so the step
    # starts at the spike (and the reference loop agrees).
    hm = gaussian_map(30.0, 20.0, 3.0, amp=0.9)
    hm[40, 10] = 1.0
    r = decode(hm[None, None], "dark_udp")
    assert np.abs(r.coords[0, 0] - [10, 40]).max() < 1.0
    np.testing.assert_allclose(r.coords[0, 0], reference_decode(hm[None, None],
                                                                "dark_udp")[0, 0], atol=1e-9)


@pytest.mark.parametrize("beta", [1.0, DEFAULT_BETA, 30.0])
def test_integral_on_symmetric_maps_gives_the_centre(beta):
    rng = np.random.default_rng(int(beta))
    for h, w in [(64, 48), (17, 9), (8, 8)]:
        centred = gaussian_map((w - 1) / 2, (h - 1) / 2, 2.0, h=h, w=w)
        noise = rng.uniform(0, 0.5, (h, w))
        symmetric = noise + noise[::-1, ::-1]  # point-symmetric about the centre
        for hm in (centred, symmetric):
            centre = np.array([(w - 1) / 2, (h - 1) / 2])
            np.testing.assert_allclose(decode(hm[None, None], "integral", beta=beta)
                                       .coords[0, 0], centre, atol=1e-9)
            # mmpose's debiasing moves the centre by (centre - size/2)/(C - 1) = -0.5/(C - 1)
            np.testing.assert_allclose(decode(hm[None, None], "integral_debiased", beta=beta)
                                       .coords[0, 0], centre - 0.5 / mmpose_c_minus_1(hm),
                                       atol=1e-9)


# the sampled softmax's pull toward the pixel grid (heatmap px, measured on 200 centres):
# the softmax of a σ-wide peak is about σ/√β wide, and the narrower it is the more its
# sampled mean sticks to the grid
GRID_PULL = {(1.5, 5.0): 3e-3, (1.5, 10.0): 4e-2, (2.0, 5.0): 1e-4, (2.0, 10.0): 4e-3,
             (3.0, 5.0): 1e-4, (3.0, 10.0): 2e-5}


@pytest.mark.parametrize("sigma,beta", sorted(GRID_PULL))
def test_integral_bias_toward_the_centre_matches_theory_and_mmpose_debias_barely_moves_it(
        sigma, beta):
    # Background pixels keep exp(0) = 1 in the softmax, so with c_mean = mean(exp(βh)) the
    # expectation is ((c_mean - 1) μ + c) / c_mean: a pull of (c - μ)/c_mean toward the
    # centre c (up to the grid pull). mmpose's debiasing uses C = Σ exp(h) (no β, summed:
    # about H·W), so it moves the estimate by (x̂ - size/2)/(C - 1) only, < 0.01 px here:
    # the pull stays (the decoder is mmpose's, not the paper's derivation).
    centre = np.array([(W - 1) / 2, (H - 1) / 2])
    tol = GRID_PULL[sigma, beta]
    rng = np.random.default_rng(int(sigma * 10))
    for mu in rng.uniform([3 * sigma + 2] * 2, [W - 3 * sigma - 3, H - 3 * sigma - 3],
                          size=(12, 2)):
        hm = gaussian_map(mu[0], mu[1], sigma)[None, None]
        c_mean = np.exp(beta * hm).mean()
        plain = decode(hm, "integral", beta=beta).coords[0, 0]
        debiased = decode(hm, "integral_debiased", beta=beta).coords[0, 0]
        np.testing.assert_allclose(plain, mu + (centre - mu) / c_mean, atol=tol)
        c1 = mmpose_c_minus_1(hm)[0, 0]
        assert H * W - 1 < c1 < H * W * np.e
        np.testing.assert_allclose(debiased, plain + (plain - [W / 2, H / 2]) / c1,
                                   atol=1e-9)
        assert np.abs(debiased - plain).max() < 0.01


def test_debias_is_mmpose_formula_in_normalised_coordinates():
    # mmpose IntegralRegressionHead.forward, debias=True: x̂_n = Σ softmax(βh)·arange(W)/W,
    # C = Σ exp(h) (feats.exp().sum(), no β), x_n = C/(C-1) (x̂_n - 1/(2C)), x = W x_n
    hm = noisy_maps(4, n=2, k=3)
    beta = 12.0
    plain = decode(hm, "integral", beta=beta).coords
    ours = decode(hm, "integral_debiased", beta=beta).coords
    c = np.exp(hm.astype(np.float64)).sum(axis=(-1, -2))[..., None]
    size = np.array([W, H])
    x_hat_n = plain / size
    expected = (c / (c - 1) * (x_hat_n - 1 / (2 * c))) * size
    np.testing.assert_allclose(ours, expected, atol=1e-9)
    # β = 1: C is the softmax's own normaliser (the kernel's one-pass path)
    plain1 = decode(hm, "integral", beta=1.0).coords
    np.testing.assert_allclose(decode(hm, "integral_debiased", beta=1.0).coords,
                               (c / (c - 1) * (plain1 / size - 1 / (2 * c))) * size,
                               atol=1e-9)


@pytest.mark.parametrize("method", FIELD_METHODS)
def test_mirrored_maps_give_mirrored_coordinates(method):
    # also pins mmpose's debias centre to W/2 (its arange(W)/W grid with the 1/(2C) term),
    # half a pixel off the map's centre (W-1)/2: a + b = W - 1 - 1/(C - 1)
    hm = noisy_maps(12, n=3, k=4).astype(np.float64)
    hm += gaussian_map(17.3, 41.8, 2.0)  # a clear, unique maximum
    a = decode(hm, method).coords
    b = decode(hm[..., ::-1, ::-1], method).coords
    shift = 1.0 / mmpose_c_minus_1(hm)[..., None] if method == "integral_debiased" else 0.0
    np.testing.assert_allclose(b, np.array([W - 1, H - 1]) - shift - a, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=map_seeds, tx=st.integers(-6, 6), ty=st.integers(-6, 6),
       method=st.sampled_from(["dark_udp", "gauss3"]))
def test_translation_equivariance(seed, tx, ty, method):
    rng = np.random.default_rng(seed)
    mu = rng.uniform(22, 26, size=2)
    base = gaussian_map(mu[0], mu[1] + 8, rng.uniform(1.5, 2.5))
    base += rng.uniform(0, 0.05, size=base.shape) * (base > 1e-3)
    moved = np.roll(base, (ty, tx), axis=(0, 1))
    a = decode(base[None, None], method).coords[0, 0]
    b = decode(moved[None, None], method).coords[0, 0]
    np.testing.assert_allclose(b - a, [tx, ty], atol=1e-9)


# ---------------------------------------------------------------- borders and edge cases

def test_gauss3_keeps_the_integer_on_a_border_axis_only():
    pts = [(0, 30.4), (W - 1, 30.4), (20.3, 0), (20.3, H - 1), (0, 0), (W - 1, H - 1)]
    hm = np.stack([gaussian_map(x, y, 2.0) for x, y in pts])[None]
    c = decode(hm, "gauss3").coords[0]
    np.testing.assert_allclose(c, np.array(pts), atol=1e-9)
    # a peak centred beyond the border: argmax on the first column, no fit along x
    beyond = gaussian_map(-0.4, 30.3, 2.0)[None, None]
    np.testing.assert_allclose(decode(beyond, "gauss3").coords[0, 0], [0, 30.3], atol=1e-9)


def test_dark_udp_refines_on_the_border():
    # no border exclusion: the edge padding gives one-sided differences there
    hm = gaussian_map(0.3, 30.4, 2.0)[None, None]
    c = decode(hm, "dark_udp", blur_kernel=1).coords[0, 0]
    assert c[0] != 0.0 and abs(c[1] - 30.4) < 1e-6
    np.testing.assert_allclose(c, reference_decode(hm, "dark_udp", kernel=1)[0, 0],
                               atol=1e-9)


@pytest.mark.parametrize("method", FIELD_METHODS)
def test_maxima_on_borders_and_corners_stay_finite(method):
    pts = [(0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1), (0, 30), (W - 1, 30), (20, 0),
           (20, H - 1), (1, 1), (W - 2, H - 2)]
    hm = np.stack([gaussian_map(x, y, 2.0) for x, y in pts])[None].astype(np.float32)
    r = decode(hm, method)
    assert r.valid.all() and np.isfinite(r.coords).all()
    # DARK-UDP's edge padding makes the outer neighbour of a border maximum equal to it:
    # dx = (L1 - L0)/2, dxx = L1 - L0, so the step is -1/2, half a pixel outward
    m = 0.5 + 1e-6 if method == "dark_udp" else 0.0
    assert (r.coords[..., 0] >= -m).all() and (r.coords[..., 0] <= W - 1 + m).all()
    assert (r.coords[..., 1] >= -m).all() and (r.coords[..., 1] <= H - 1 + m).all()
    if method == "dark_udp":
        np.testing.assert_allclose(r.coords[0, :4], [[-0.5, -0.5], [W - 0.5, -0.5],
                                                     [-0.5, H - 0.5], [W - 0.5, H - 0.5]],
                                   atol=1e-6)


def test_single_spike():
    hm = np.zeros((1, 1, H, W))
    hm[0, 0, 20, 13] = 1.0
    for method in FIELD_METHODS:
        r = decode(hm, method, beta=100.0) if "integral" in method else decode(hm, method)
        assert r.valid.all() and r.scores[0, 0] == 1.0
        want = np.array([13.0, 20.0])
        if method == "integral_debiased":  # mmpose: + (x - size/2)/(C - 1), C = Σ exp(h)
            want += (want - [W / 2, H / 2]) / mmpose_c_minus_1(hm)[0, 0]
        np.testing.assert_allclose(r.coords[0, 0], want, atol=1e-6)


@pytest.mark.parametrize("h,w", [(1, 1), (1, 4), (3, 2), (4, 4), (2, 7)])
def test_tiny_maps(h, w):
    rng = np.random.default_rng(h * 10 + w)
    hm = rng.uniform(0.1, 1, size=(2, 3, h, w))
    for method, kwargs in CASES:
        r = decode(hm, method, **_ours(kwargs))
        assert r.coords.shape == (2, 3, 2)
        assert np.isfinite(r.coords).all() and r.valid.all()
        np.testing.assert_allclose(r.coords, reference_decode(hm, method, **kwargs),
                                   atol=1e-6, rtol=1e-9)


def test_empty_batch():
    for method in FIELD_METHODS:
        r = decode(np.zeros((0, 17, 64, 48), np.float32), method)
        assert r.coords.shape == (0, 17, 2) and r.valid.shape == (0, 17)


@settings(max_examples=25, deadline=None)
@given(seed=map_seeds, method=st.sampled_from(FIELD_METHODS))
def test_dtypes_agree(seed, method):
    hm16 = noisy_maps(seed, n=3, k=4).astype(np.float16)
    c16 = decode(hm16, method).coords
    c32 = decode(hm16.astype(np.float32), method).coords
    c64 = decode(hm16.astype(np.float64), method).coords
    # float16 is decoded as float32; every kernel sums in float64
    np.testing.assert_array_equal(c16, c32)
    np.testing.assert_allclose(c32, c64, atol=1e-9)


# (batch = loop for these decoders: tests/test_decoding.py, over ALL_METHODS)


# ---------------------------------------------------------------- configuration

def test_method_lists():
    assert METHODS == ("standard", "shifting", "dark", "daec")  # the app loops over these
    assert FIELD_METHODS == ("dark_udp", "gauss3", "integral", "integral_debiased")
    assert ALL_METHODS == METHODS + FIELD_METHODS
    assert set(OPTIONS) == set(ALL_METHODS)


def test_options_defaults_and_labels():
    assert DecoderConfig("gauss3", blur_kernel=5, beta=3, delta=2) == DecoderConfig("gauss3")
    assert DecoderConfig("integral", blur_kernel=5).blur_kernel is None
    assert DecoderConfig("dark", beta=3).beta is None
    assert DecoderConfig("dark_udp", blur_kernel=1).blur_kernel == 1  # its raw-map variant
    assert DecoderConfig("dark_udp").resolved().blur_kernel == DEFAULT_BLUR_KERNEL
    assert DecoderConfig("integral").resolved().beta == DEFAULT_BETA
    assert DecoderConfig("integral", beta=np.float32(4)).beta == 4.0
    assert type(DecoderConfig("integral", beta=np.int64(4)).beta) is float
    assert not DecoderConfig("integral").is_resolved
    assert DecoderConfig("integral").resolved().is_resolved
    assert DecoderConfig("gauss3").is_resolved
    assert not DecoderConfig("dark_udp").is_resolved
    assert DecoderConfig("integral", beta=25).label == "integral β=25"
    assert DecoderConfig("integral_debiased").label == "integral_debiased β=10"
    assert DecoderConfig("dark_udp").label == "dark_udp"
    assert DecoderConfig("dark_udp", blur_kernel=1).label == "dark_udp (raw map)"
    assert DecoderConfig("gauss3").label == "gauss3"
    assert DecoderConfig("integral", beta=7).options() == {"beta": 7.0}
    assert DecoderConfig("gauss3").to_dict() == {"method": "gauss3"}
    # the paper's decoders are unchanged
    assert DecoderConfig("daec", beta=3) == DecoderConfig("daec")
    assert DecoderConfig("dark").resolved().to_dict() == {"method": "dark", "blur_kernel": 11}


@pytest.mark.parametrize("kwargs,field", [
    ({"method": "integral", "beta": 0}, "beta"),
    ({"method": "integral", "beta": -1.0}, "beta"),
    ({"method": "integral_debiased", "beta": float("nan")}, "beta"),
    ({"method": "integral_debiased", "beta": float("inf")}, "beta"),
    ({"method": "integral", "beta": "2"}, "beta"),
    ({"method": "integral", "beta": True}, "beta"),
    ({"method": "dark_udp", "blur_kernel": 4}, "blur_kernel"),
    ({"method": "dark_udp", "blur_kernel": 0}, "blur_kernel"),
    ({"method": "gauss_3"}, "method"),
])
def test_bad_options_name_their_field(kwargs, field):
    with pytest.raises(InputError) as exc:
        DecoderConfig(**kwargs)
    assert exc.value.field == field
    with pytest.raises(InputError) as exc:
        decode(np.zeros((1, 2, 8, 8), np.float32), **kwargs)
    assert exc.value.field == field


# (JSON round trip, canonical keys and decode(hm, cfg) == decode(hm, method=..., **opts)
# of every decoder: tests/test_config.py, over ALL_METHODS)


# ---------------------------------------------------------------- benchmark

def test_benchmark_times_the_field_decoders():
    res = run_benchmark(n=4, repeats=1, ref_n=2, configs=FIELD_CONFIGS)
    rows = res["rows"]
    assert [r["method"] for r in rows] == ["numpy argmax", *FIELD_METHODS]
    assert all(r["ratio_to_argmax"] > 0 and r["reference_us_per_instance"] for r in rows[1:])
