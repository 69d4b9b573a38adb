"""Decoders against theory (noise-free Gaussians), the published code and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic import noisy_maps

from daec_viz.decoding import ALL_METHODS, METHODS, decode, gaussian_blur, opencv_gaussian_kernel
from daec_viz.decoding.reference import (
    ref_shifting_second_max,
    reference_decode,
)
from daec_viz.exceptions import InputError

H, W = 64, 48


def gaussian_map(mu_x: float, mu_y: float, sigma: float, h: int = H, w: int = W,
                 amp: float = 1.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return amp * np.exp(-((xx - mu_x) ** 2 + (yy - mu_y) ** 2) / (2.0 * sigma ** 2))


# ---------------------------------------------------------------- theory

@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_noise_free_gaussian_recovered(sigma):
    rng = np.random.default_rng(int(sigma * 10))
    for mu_x, mu_y in rng.uniform([12, 12], [W - 13, H - 13], size=(25, 2)):
        hm = gaussian_map(mu_x, mu_y, sigma)[None, None]
        truth = np.array([mu_x, mu_y])
        dark = decode(hm, "dark").coords[0, 0]
        assert np.abs(dark - truth).max() < 1e-3
        std = decode(hm, "standard").coords[0, 0]
        assert np.abs(std - truth).max() <= 0.5 + 1e-12
        # argmax error f per axis, then a quarter step toward the truth: |f - sign(f)/4| <= 1/4
        shift = decode(hm, "shifting").coords[0, 0]
        assert np.abs(shift - truth).max() <= 0.25 + 1e-12
        assert np.hypot(*(shift - truth)) < 0.75


def test_dark_without_blur_is_exact_on_gaussian():
    # log of a sampled Gaussian is exactly quadratic: one Newton step lands on the centre
    hm = gaussian_map(20.37, 33.81, 2.0)[None, None]
    np.testing.assert_allclose(decode(hm, "dark", blur_kernel=1).coords[0, 0],
                               [20.37, 33.81], atol=1e-9)


def test_daec_delta_zero_on_centred_gaussian_returns_the_pixel():
    for sigma in (1.0, 2.0, 3.0):
        hm = gaussian_map(21, 30, sigma)[None, None]
        c = decode(hm, "daec", sigma=sigma, delta=0).coords[0, 0]
        np.testing.assert_allclose(c, [21, 30], atol=1e-12)


@pytest.mark.parametrize("pattern,sx,sy", [("BR", -1, -1), ("UR", -1, 1), ("BL", 1, -1),
                                           ("UL", 1, 1)])
def test_daec_cut_moves_estimate_monotonically_away_from_cut_corner(pattern, sx, sy):
    hm = gaussian_map(21.3, 30.6, 2.0)[None, None]
    deltas = np.arange(0, 8)
    c = np.array([decode(hm, "daec", delta=d, pattern=pattern).coords[0, 0] for d in deltas])
    assert np.all(sx * np.diff(c[:, 0]) > 0)
    assert np.all(sy * np.diff(c[:, 1]) > 0)


def test_daec_fractional_delta_between_integer_neighbours():
    hm = noisy_maps(3, n=2, k=3)
    hm = np.maximum(hm, 0)
    for d in (-1.5, 0.25, 2.5, 3.7):
        lo = decode(hm, "daec", delta=np.floor(d)).coords
        hi = decode(hm, "daec", delta=np.ceil(d)).coords
        mid = decode(hm, "daec", delta=d).coords
        assert np.all(mid <= np.maximum(lo, hi) + 1e-12)
        assert np.all(mid >= np.minimum(lo, hi) - 1e-12)
    # integer-valued floats give the integer result exactly
    np.testing.assert_array_equal(decode(hm, "daec", delta=4.0).coords,
                                  decode(hm, "daec", delta=4).coords)


def test_daec_delta_pair_acts_per_axis():
    hm = gaussian_map(21.3, 30.6, 2.0)[None, None]
    both = decode(hm, "daec", delta=(4, 4)).coords[0, 0]
    only_x = decode(hm, "daec", delta=(4, 0)).coords[0, 0]
    only_y = decode(hm, "daec", delta=(0, 4)).coords[0, 0]
    np.testing.assert_allclose([only_x[0], only_y[1]], both, atol=1e-12)


def test_daec_default_delta_is_sigma_plus_two():
    hm = noisy_maps(5)
    np.testing.assert_array_equal(decode(hm, "daec", sigma=3.0).coords,
                                  decode(hm, "daec", sigma=3.0, delta=5).coords)


# ---------------------------------------------------------------- reference implementations

@pytest.mark.parametrize("method,kwargs", [
    ("standard", {}), ("shifting", {}), ("dark", {}), ("dark", {"kernel": 7}),
    ("daec", {}), ("daec", {"delta": 0}), ("daec", {"delta": 6}), ("daec", {"delta": -2}),
    ("daec", {"sigma": 3.0, "delta": 5}), ("daec", {"sigma": 1.0, "delta": 3}),
])
def test_matches_published_code(method, kwargs):
    hm = noisy_maps(7, n=8, k=6)
    hm[0, 0] = 0.0  # an all-zero map: the reference zeroes those coordinates
    ours = dict(kwargs)
    if "kernel" in ours:
        ours["blur_kernel"] = ours.pop("kernel")
    r = decode(hm, method, **ours)
    ref = reference_decode(hm, method, **kwargs)
    ok = r.valid
    np.testing.assert_allclose(r.coords[ok], ref[ok], atol=1e-6)
    assert not ok[0, 0]


def test_maps_near_borders_match_published_code():
    rng = np.random.default_rng(11)
    hm = np.zeros((1, 8, 20, 16), np.float32)
    spots = [(0, 0), (15, 0), (0, 19), (15, 19), (1, 10), (14, 10), (8, 1), (8, 18)]
    for j, (x, y) in enumerate(spots):
        hm[0, j] = gaussian_map(x + 0.3, y - 0.2, 2.0, h=20, w=16) + rng.uniform(0, .01, (20, 16))
    for method in METHODS:
        np.testing.assert_allclose(decode(hm, method).coords[0],
                                   reference_decode(hm, method)[0], atol=1e-6)


def test_second_max_shifting_matches_published_code():
    hm = noisy_maps(8)
    r = decode(hm, "shifting", variant="second_max").coords
    n, k = hm.shape[:2]
    ref = np.array([[ref_shifting_second_max(hm[i, j])[:2] for j in range(k)] for i in range(n)])
    np.testing.assert_allclose(r, ref, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(r - np.round(r * 0 + decode(hm).coords), axis=-1),
                               0.25, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 5, 7, 11, 13, 17])
def test_blur_matches_opencv(k):
    cv2 = pytest.importorskip("cv2")
    if k > 7:
        np.testing.assert_allclose(opencv_gaussian_kernel(k),
                                   cv2.getGaussianKernel(k, 0).ravel(), atol=1e-12)
    hm = noisy_maps(9, n=1, k=2)[0].astype(np.float64)
    b = (k - 1) // 2
    for m in hm:
        padded = np.pad(m, b)
        ref = cv2.GaussianBlur(padded, (k, k), 0)[b:b + H, b:b + W] if b else m.copy()
        ref *= m.max() / ref.max()
        np.testing.assert_allclose(gaussian_blur(m, k), ref, atol=1e-9)


def test_blur_option_decodes_the_blurred_maps():
    hm = noisy_maps(10)
    blurred = gaussian_blur(hm, 5)
    for method in ("standard", "shifting", "daec"):
        np.testing.assert_allclose(decode(hm, method, blur_kernel=5).coords,
                                   decode(blurred, method).coords, atol=1e-12)


# ---------------------------------------------------------------- properties (hypothesis)

map_seeds = st.integers(0, 2 ** 31 - 1)


@settings(max_examples=40, deadline=None)
@given(seed=map_seeds, tx=st.integers(-6, 6), ty=st.integers(-6, 6),
       method=st.sampled_from(METHODS), pattern=st.sampled_from(["BR", "UR", "BL", "UL"]))
def test_translation_equivariance(seed, tx, ty, method, pattern):
    rng = np.random.default_rng(seed)
    mu = rng.uniform(22, 26, size=2)
    base = gaussian_map(mu[0], mu[1] + 8, rng.uniform(1.5, 2.5))
    base += rng.uniform(0, 0.05, size=base.shape) * (base > 1e-3)  # noise near the peak only
    moved = np.roll(base, (ty, tx), axis=(0, 1))
    kw = {"pattern": pattern, "delta": 3} if method == "daec" else {}
    a = decode(base[None, None], method, **kw).coords[0, 0]
    b = decode(moved[None, None], method, **kw).coords[0, 0]
    np.testing.assert_allclose(b - a, [tx, ty], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=map_seeds, delta=st.floats(-3, 8), sigma=st.sampled_from([1.0, 2.0, 3.0]))
def test_mirrored_patterns(seed, delta, sigma):
    hm = noisy_maps(seed, n=2, k=3)
    flipped = hm[..., ::-1, ::-1]
    br = decode(hm, "daec", sigma=sigma, delta=delta, pattern="BR").coords
    ul = decode(flipped, "daec", sigma=sigma, delta=delta, pattern="UL").coords
    np.testing.assert_allclose(ul, np.array([W - 1, H - 1]) - br, atol=1e-9)
    ur = decode(hm[..., ::-1, :], "daec", sigma=sigma, delta=delta, pattern="UR").coords
    np.testing.assert_allclose(ur[..., 1], H - 1 - br[..., 1], atol=1e-9)
    np.testing.assert_allclose(ur[..., 0], br[..., 0], atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=map_seeds, method=st.sampled_from(METHODS))
def test_dtypes_agree(seed, method):
    hm16 = noisy_maps(seed, n=3, k=4).astype(np.float16)
    c16 = decode(hm16, method).coords
    c32 = decode(hm16.astype(np.float32), method).coords
    c64 = decode(hm16.astype(np.float64), method).coords
    np.testing.assert_allclose(c16, c32, atol=1e-3)
    np.testing.assert_allclose(c32, c64, atol=1e-3)


@settings(max_examples=40, deadline=None)
@given(seed=map_seeds, method=st.sampled_from(ALL_METHODS), n=st.integers(1, 5))
def test_batch_equals_loop(seed, method, n):
    hm = noisy_maps(seed, n=n, k=3)
    batch = decode(hm, method)
    for i in range(n):
        one = decode(hm[i], method)  # (K, H, W) is treated as N = 1
        np.testing.assert_array_equal(one.coords[0], batch.coords[i])
        np.testing.assert_array_equal(one.scores[0], batch.scores[i])
        np.testing.assert_array_equal(one.valid[0], batch.valid[i])


# ---------------------------------------------------------------- edge cases

def _all_methods(hm, field: bool = True):
    out = [decode(hm, m) for m in METHODS]
    out.append(decode(hm, "shifting", variant="second_max"))
    out += [decode(hm, "daec", pattern=p, delta=d) for p in ("UR", "BL", "UL") for d in (-3, 50)]
    if field:  # the field's decoders (dark_udp may leave the map by ½ px, as mmpose)
        out += [decode(hm, m) for m in ALL_METHODS if m not in METHODS]
    return out


def test_invalid_maps_never_nan():
    hm = np.zeros((1, 6, H, W), np.float32)
    hm[0, 1] = -1.0
    hm[0, 2, 5, 5] = np.nan
    hm[0, 2, 10, 10] = 3.0
    hm[0, 3, 7, 9] = np.inf
    hm[0, 4] = np.nan
    hm[0, 5, 3, 4] = -np.inf
    hm[0, 5, 30, 20] = 1.0
    with np.errstate(all="raise"):
        results = _all_methods(hm)
    for r in results:
        assert not r.valid.any()
        assert np.isfinite(r.coords).all()
        np.testing.assert_array_equal(r.scores, 0.0)
    # the integer position of the largest finite value is kept
    np.testing.assert_array_equal(results[0].coords[0, 2], [10, 10])
    np.testing.assert_array_equal(results[0].coords[0, 5], [20, 30])


def test_single_spike():
    hm = np.zeros((1, 1, H, W))
    hm[0, 0, 20, 13] = 1.0
    for r in _all_methods(hm)[:5]:
        assert r.valid.all()
        assert r.scores[0, 0] == 1.0
    np.testing.assert_allclose(decode(hm, "dark").coords[0, 0], [13, 20], atol=1e-9)
    np.testing.assert_allclose(decode(hm, "daec", delta=0).coords[0, 0], [13, 20], atol=1e-6)
    np.testing.assert_array_equal(decode(hm, "shifting").coords[0, 0], [13, 20])


def test_maxima_on_borders_and_corners():
    pts = [(0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1), (0, 30), (W - 1, 30), (20, 0),
           (20, H - 1), (1, 1), (W - 2, H - 2)]
    hm = np.stack([gaussian_map(x, y, 2.0) for x, y in pts])[None].astype(np.float32)
    for r in _all_methods(hm, field=False):  # the field's: tests/test_decoding_field.py
        assert r.valid.all() and np.isfinite(r.coords).all()
        assert (r.coords[..., 0] >= 0).all() and (r.coords[..., 0] <= W - 1).all()
        assert (r.coords[..., 1] >= 0).all() and (r.coords[..., 1] <= H - 1).all()
    np.testing.assert_array_equal(decode(hm, "standard").coords[0], np.array(pts, float))


@pytest.mark.parametrize("h,w", [(1, 1), (1, 4), (3, 2), (4, 4), (2, 7)])
def test_tiny_maps(h, w):
    rng = np.random.default_rng(h * 10 + w)
    hm = rng.uniform(0.1, 1, size=(2, 3, h, w))
    for r in _all_methods(hm):
        assert r.coords.shape == (2, 3, 2)
        assert np.isfinite(r.coords).all() and r.valid.all()
    np.testing.assert_array_equal(decode(hm).coords, reference_decode(hm, "standard"))


def test_ties_take_first_maximum_in_row_major_order():
    hm = np.zeros((1, 1, 8, 8))
    hm[0, 0, 5, 2] = hm[0, 0, 3, 6] = hm[0, 0, 3, 7] = 1.0
    np.testing.assert_array_equal(decode(hm).coords[0, 0], [6, 3])


def test_empty_batch():
    r = decode(np.zeros((0, 17, 64, 48), np.float32), "daec")
    assert r.coords.shape == (0, 17, 2) and r.valid.shape == (0, 17)


@pytest.mark.parametrize("kwargs,field", [
    ({"heatmaps": np.zeros((4, 4))}, "heatmaps"),
    ({"heatmaps": np.zeros((1, 2, 4, 4), int)}, "heatmaps"),
    ({"method": "argmax"}, "method"),
    ({"method": "daec", "pattern": "BX"}, "pattern"),
    ({"method": "daec", "sigma": -1}, "sigma"),
    ({"method": "daec", "delta": (1, 2, 3)}, "delta"),
    ({"method": "daec", "delta": float("nan")}, "delta"),
    ({"method": "dark", "blur_kernel": 4}, "blur_kernel"),
    ({"method": "shifting", "variant": "third"}, "variant"),
])
def test_bad_input_names_the_field(kwargs, field):
    kwargs = {"heatmaps": np.zeros((1, 2, 8, 8), np.float32), **kwargs}
    with pytest.raises(InputError) as exc:
        decode(**kwargs)
    assert exc.value.field == field
    assert field in str(exc.value)


@settings(max_examples=60, deadline=None)
@given(seed=map_seeds, pattern=st.sampled_from(["BR", "UR", "BL", "UL"]),
       sigma=st.sampled_from([1.0, 2.0, 3.0]))
def test_daec_grid_equals_single_decodes(seed, pattern, sigma):
    from daec_viz.decoding import decode_daec_grid

    hm = noisy_maps(seed, n=3, k=4)
    hm[0, 0] = 0.0
    hm[0, 1, 3, 3] = np.nan
    deltas = [-2.5, -1, 0, 0.5, 3.7, 4, sigma + 6, (2, 5), (-1.5, 3.25), 40]
    coords, scores, valid = decode_daec_grid(hm, sigma=sigma, deltas=deltas, patterns=pattern)
    for c, d in zip(coords, deltas, strict=True):
        r = decode(hm, "daec", sigma=sigma, delta=d, pattern=pattern)
        np.testing.assert_allclose(c, r.coords, atol=1e-9)
        np.testing.assert_array_equal(scores, r.scores)
        np.testing.assert_array_equal(valid, r.valid)
