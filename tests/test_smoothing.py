"""gaussian_blur's decoding view (exact_within): bit-identical to the full blur where a
decoder reads, so decoders on blurred maps give identical answers either way."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daec_viz.decoding import DecoderConfig, blur_read_radius, decode, gaussian_blur

H, W = 24, 20


def _maps(seed: int, kind: str, n: int = 6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    cx = rng.uniform(-2, W + 1, (n, 1, 1))
    cy = rng.uniform(-2, H + 1, (n, 1, 1))
    g = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * rng.uniform(1, 3) ** 2))
    if kind == "noisy":
        g = g + 0.05 * rng.standard_normal(g.shape)
    elif kind == "two_peaks":  # a second peak almost as high, far away
        g = g + 0.999 * np.exp(-((xx - (W - 1 - cx)) ** 2 + (yy - (H - 1 - cy)) ** 2) / 8.0)
    elif kind == "plateau":  # ties everywhere on a flat top
        g = np.minimum(g, 0.5)
    elif kind == "logits":  # mostly negative values
        g = 4.0 * g - 3.0
    elif kind == "uniform":
        g = rng.random(g.shape)
    return g[None].astype(np.float32)


def _first_argmax(m: np.ndarray) -> tuple[int, int]:
    i = int(np.argmax(m))
    return i % m.shape[-1], i // m.shape[-1]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2 ** 31 - 1),
       st.sampled_from(["clean", "noisy", "two_peaks", "plateau", "logits", "uniform"]),
       st.integers(0, 9), st.sampled_from([3, 5, 11]))
def test_view_equals_the_full_blur_where_it_is_read(seed, kind, radius, kernel):
    hm = _maps(seed, kind)
    full = gaussian_blur(hm, kernel)
    view = gaussian_blur(hm, kernel, exact_within=radius)
    for f, v in zip(full.reshape(-1, H, W), view.reshape(-1, H, W), strict=True):
        assert _first_argmax(v) == _first_argmax(f)
        assert v.max() == f.max()
        x, y = _first_argmax(f)
        win = np.s_[max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1]
        np.testing.assert_array_equal(v[win], f[win])
        # elsewhere: the full blur's value or 0, never anything else
        assert np.all((v == f) | (v == 0))


@pytest.mark.parametrize("kind", ["clean", "noisy", "two_peaks", "plateau", "logits"])
@pytest.mark.parametrize("cfg", [DecoderConfig("standard", blur_kernel=11),
                                 DecoderConfig("shifting", blur_kernel=11),
                                 DecoderConfig("daec", sigma=2, delta=3, blur_kernel=11),
                                 DecoderConfig("daec", sigma=2, delta=-2.5, blur_kernel=5),
                                 DecoderConfig("shifting", variant="second_max",
                                               blur_kernel=11)])
def test_decoding_blurred_maps_is_the_same_either_way(kind, cfg):
    hm = _maps(7, kind, n=40)
    got = decode(hm, cfg)
    ref = decode(gaussian_blur(hm, cfg.blur_kernel), cfg.replace(blur_kernel=None))
    np.testing.assert_array_equal(got.coords, ref.coords)
    np.testing.assert_array_equal(got.scores, ref.scores)
    np.testing.assert_array_equal(got.valid, ref.valid)


def test_non_finite_maps_are_blurred_in_full():
    hm = _maps(3, "clean")
    hm[0, 0, 5, 5] = np.nan
    np.testing.assert_array_equal(gaussian_blur(hm, 11, exact_within=2)[0, 0],
                                  gaussian_blur(hm, 11)[0, 0])


def test_read_radius_covers_what_each_decoder_reads():
    assert blur_read_radius([DecoderConfig("standard")]) == 0
    assert blur_read_radius([DecoderConfig("shifting")]) == 1
    assert blur_read_radius([DecoderConfig("shifting", variant="second_max")]) is None
    # DAEC σ = 2: e = 7, plus the grid's ring; a negative Δ widens the window
    assert blur_read_radius([DecoderConfig("daec", sigma=2, delta=3)]) == 8
    assert blur_read_radius([DecoderConfig("daec", sigma=2, delta=-2.5)]) == 11


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_radius_is_named(bad):
    from daec_viz.exceptions import InputError
    with pytest.raises(InputError) as info:
        gaussian_blur(np.zeros((2, 2), np.float32), 3, exact_within=bad)
    assert info.value.field == "exact_within"
