"""The flip test's heatmap arithmetic (daec_viz.decoding.flip): known geometric answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daec_viz.decoding.flip import (
    FLIP_MODES,
    combine_flip,
    flip_back,
    flip_permutation,
    shift_right,
)
from daec_viz.exceptions import InputError
from daec_viz.io.coco_format import COCO_FLIP_PAIRS


def _gauss(x0: float, y0: float, h: int = 32, w: int = 24, sigma: float = 2.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma ** 2))


def _centroid_x(m: np.ndarray) -> float:
    return float((m * np.arange(m.shape[-1])).sum() / m.sum())


def test_flip_back_mirrors_columns_and_swaps_partners():
    hm = np.zeros((1, 17, 32, 24))
    hm[0, 5] = _gauss(7.25, 10.0)                      # left shoulder at x = 7.25
    back = flip_back(hm, COCO_FLIP_PAIRS)
    assert back[0, 5].max() == 0                       # moved to its partner, right shoulder
    assert _centroid_x(back[0, 6]) == pytest.approx(24 - 1 - _centroid_x(hm[0, 5]), abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9), st.integers(0, 2 ** 31 - 1))
def test_flip_back_is_an_involution(n, h, w, seed):
    hm = np.random.default_rng(seed).random((n, 17, h, w))
    np.testing.assert_array_equal(flip_back(flip_back(hm, COCO_FLIP_PAIRS), COCO_FLIP_PAIRS), hm)


def test_noshift_of_an_exactly_mirrored_network_returns_the_original():
    hm = np.stack([_gauss(9.3, 12.6), _gauss(4.0, 20.2)])[None]
    mirrored_output = flip_back(hm, [(0, 1)])           # what a mirror-exact network gives
    np.testing.assert_allclose(combine_flip(hm, mirrored_output, [(0, 1)], "noshift"), hm,
                               atol=1e-15)


def test_shift_moves_the_average_half_a_pixel_right():
    """Averaging a map with a copy one column to the right puts its centroid +0.5 px."""
    x0 = 11.4
    hm = _gauss(x0, 15.0)[None, None]
    out = combine_flip(hm, flip_back(hm, []), [], "shift")
    assert _centroid_x(out[0, 0]) == pytest.approx(x0 + 0.5, abs=1e-6)
    assert _centroid_x(combine_flip(hm, flip_back(hm, []), [], "noshift")[0, 0]) == \
        pytest.approx(x0, abs=1e-6)


def test_none_ignores_the_flipped_maps_and_keeps_dtype():
    hm = np.random.default_rng(0).random((2, 3, 4, 5)).astype(np.float16)
    out = combine_flip(hm, None, [], "none")
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, hm)


def test_shift_right_keeps_column_zero():
    np.testing.assert_array_equal(shift_right(np.arange(4.0)), [0.0, 0.0, 1.0, 2.0])


@pytest.mark.parametrize("call,field", [
    (lambda: combine_flip(np.zeros((1, 1, 2, 2)), None, [], "shift"), "flip_test"),
    (lambda: combine_flip(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 3)), [], "noshift"),
     "heatmaps"),
    (lambda: combine_flip(np.zeros((1, 1, 2, 2)), None, [], "mirror"), "flip_test"),
    (lambda: flip_back(np.zeros((2, 2)), []), "heatmaps"),
    (lambda: flip_permutation(3, [(0, 3)]), "flip_pairs"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field


def test_modes_are_the_documented_three():
    assert FLIP_MODES == ("none", "shift", "noshift")
