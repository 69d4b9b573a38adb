"""Heatmap <-> image mappings and HRNet box handling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daec_viz.exceptions import InputError
from daec_viz.geometry import (
    CONVENTIONS,
    box_to_center_scale,
    center_scale_to_box,
    to_heatmap,
    to_image,
)

HM = (48, 64)  # (W, H)
C = np.array([[300.0, 200.0]])
S = np.array([[0.96, 1.28]])  # a 192 x 256 px box


def pts(*xy):
    return np.array([list(xy)], dtype=float)


def test_known_values_per_convention():
    # hrnet: the map centre W/2 is the box centre; one heatmap px = S/W image px
    np.testing.assert_allclose(to_image(pts((24, 32)), C, S, HM, "hrnet"), [[[300, 200]]])
    np.testing.assert_allclose(to_image(pts((25, 32)), C, S, HM, "hrnet"), [[[304, 200]]])
    # dark: pixel centres (W-1)/2 -> centre; first and last pixel centres -> box pixel centres
    np.testing.assert_allclose(to_image(pts((23.5, 31.5)), C, S, HM, "dark"), [[[300, 200]]])
    np.testing.assert_allclose(to_image(pts((0, 0), (47, 63)), C, S, HM, "dark"),
                               [[[300 - 191 / 2, 200 - 255 / 2], [300 + 191 / 2, 200 + 255 / 2]]])
    # udp: x = 0 -> c - S/2 and x = W-1 -> c + S/2
    np.testing.assert_allclose(to_image(pts((0, 0), (47, 63)), C, S, HM, "udp"),
                               [[[300 - 96, 200 - 128], [300 + 96, 200 + 128]]])


@settings(max_examples=50, deadline=None)
@given(conv=st.sampled_from(CONVENTIONS), x=st.floats(-10, 60), y=st.floats(-10, 80),
       cx=st.floats(0, 1000), sx=st.floats(0.1, 5), sy=st.floats(0.1, 5))
def test_round_trip(conv, x, y, cx, sx, sy):
    c, s = np.array([[cx, cx / 2]]), np.array([[sx, sy]])
    p = np.array([[[x, y]]])
    np.testing.assert_allclose(to_heatmap(to_image(p, c, s, HM, conv), c, s, HM, conv), p,
                               atol=1e-7)


def test_vectorised_over_instances():
    rng = np.random.default_rng(0)
    c, s = rng.uniform(0, 500, (5, 2)), rng.uniform(0.2, 3, (5, 2))
    p = rng.uniform(0, 48, (5, 17, 2))
    batch = to_image(p, c, s, HM)
    for i in range(5):
        np.testing.assert_allclose(batch[i], to_image(p[i:i + 1], c[i:i + 1], s[i:i + 1], HM)[0])


def test_box_to_center_scale_matches_hrnet():
    # wide box: height grows to w / 0.75; tall box: width grows to h * 0.75; then x1.25
    c, s = box_to_center_scale(np.array([[10, 20, 150, 100], [0, 0, 30, 200]]))
    np.testing.assert_allclose(c, [[85, 70], [15, 100]])
    np.testing.assert_allclose(s, [[150 / 200 * 1.25, 200 / 200 * 1.25],
                                   [150 / 200 * 1.25, 200 / 200 * 1.25]])
    box = center_scale_to_box(c, s)
    np.testing.assert_allclose(box[:, 2:], s * 200)
    np.testing.assert_allclose(box[:, :2] + box[:, 2:] / 2, c)


def test_unknown_convention():
    with pytest.raises(InputError, match="convention"):
        to_image(pts((0, 0)), C, S, HM, "mmpose")
