"""Overlay figures: the drawn coordinates are the decoded ones; the window is DAEC's."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from daec_viz.decoding import METHODS, PATTERNS, decode
from daec_viz.plots.overlays import (
    GridLayout,
    daec_window,
    heatmap_grid,
    image_overlay,
    joint_zoom,
    skeleton_xy,
    viridis_lut,
)
from daec_viz.plots.style import METHOD_COLORS


def _markers(trace: go.Scatter) -> np.ndarray:
    return np.array([trace.x, trace.y], dtype=float).T


def test_daec_window_known_answers():
    w = daec_window((20, 30), 2.0, 4, "BR", (48, 64))
    assert w.half_width == 7
    assert w.full == (12.5, 27.5, 22.5, 37.5)
    assert w.kept == (12.5, 23.5, 22.5, 33.5)
    assert daec_window((20, 30), 2.0, 4, "UL", (48, 64)).kept == (16.5, 27.5, 26.5, 37.5)
    assert daec_window((20, 30), 2.0, 4, "UR", (48, 64)).kept == (12.5, 23.5, 26.5, 37.5)
    assert daec_window((20, 30), 2.0, 4, "BL", (48, 64)).kept == (16.5, 27.5, 22.5, 33.5)
    # fractional Δ: the boundary pixel enters with weight 1 - frac, drawn as that width
    assert daec_window((20, 30), 2.0, 3.5, "BR", (48, 64)).kept[1] == pytest.approx(24.0)
    # clipped at the border
    assert daec_window((2, 1), 2.0, 0, "BR", (48, 64)).full == (-0.5, 9.5, -0.5, 8.5)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("delta", [0, 2, 5, -1])
def test_window_is_what_decode_integrates(pattern, delta):
    # flat map with a unique maximum: DAEC's centroid is the centre of the kept rectangle
    hm = np.ones((1, 1, 64, 48))
    cx, cy = 21, 33
    hm[0, 0, cy, cx] += 1e-7
    est = decode(hm, "daec", sigma=2.0, delta=delta, pattern=pattern).coords[0, 0]
    x0, x1, y0, y1 = daec_window((cx, cy), 2.0, delta, pattern, (48, 64)).kept
    assert est[0] == pytest.approx((x0 + x1) / 2, abs=1e-5)
    assert est[1] == pytest.approx((y0 + y1) / 2, abs=1e-5)


def _maps(rng, n=2, k=17):
    yy, xx = np.mgrid[0:64, 0:48]
    mu = rng.uniform([8, 8], [40, 56], size=(n, k, 2))
    return np.exp(-((xx - mu[..., 0, None, None]) ** 2 + (yy - mu[..., 1, None, None]) ** 2)
                  / 8.0).astype(np.float32), mu


def test_image_overlay_traces_hold_the_decoded_coordinates():
    rng = np.random.default_rng(0)
    hm, mu = _maps(rng)
    preds = {m: decode(hm, m).coords * 4.0 + 10.0 for m in METHODS}
    gt = np.concatenate([mu * 4.0 + 10.0, np.full((2, 17, 1), 2.0)], axis=-1)
    gt[0, 3, 2] = 0  # unlabelled: not drawn
    skel = [(0, 1), (1, 2), (5, 6)]
    fig = image_overlay(np.zeros((300, 220, 3), np.uint8), gt, preds, skel,
                        visible=["gt", "daec"])
    names = [t.name for t in fig.data]
    assert names == ["image"] + [n for m in ["gt", *METHODS] for n in (f"{m} limbs", m)]
    by = {t.name: t for t in fig.data}
    for m in METHODS:
        np.testing.assert_allclose(_markers(by[m]), preds[m].reshape(-1, 2))
        assert by[m].marker.color == by[f"{m} limbs"].line.color == METHOD_COLORS[m]
    g = _markers(by["gt"])
    assert len(g) == 2 * 17 - 1
    assert by["gt"].visible is True and by["daec"].visible is True
    assert by["standard"].visible == "legendonly"
    assert by["standard limbs"].visible == "legendonly"
    assert by["standard limbs"].legendgroup == by["standard"].legendgroup == "standard"
    assert by["standard"].mode == "markers" and by["standard limbs"].mode == "lines"
    # limbs: 3 per person, each (a, b, None)
    lx, _ = skeleton_xy(preds["dark"], skel)
    assert len(lx) == 2 * 3 * 3
    assert list(by["dark limbs"].x) == lx
    assert tuple(fig.layout.yaxis.range) == (299.5, -0.5)  # y down
    assert by["image"].source.startswith("data:image/jpeg;base64,")


def test_image_overlay_without_image_needs_size():
    fig = image_overlay(None, None, {"daec": np.array([[[1.0, 2.0]]])}, image_size=(64, 48))
    assert [t.name for t in fig.data] == ["daec limbs", "daec"]
    with pytest.raises(Exception, match="image"):
        image_overlay(None, None, {})


def _png_pixels(uri: str) -> np.ndarray:
    """(H, W, 4) RGBA of a PNG data URI."""
    import base64
    import io

    from PIL import Image
    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
                      .convert("RGBA"))


def test_heatmap_grid_shows_every_joint_and_marker():
    rng = np.random.default_rng(1)
    hm, mu = _maps(rng, n=1)
    hm[0, 2, 5, 7] = np.nan  # a NaN pixel: transparent
    hm[0, 3] *= 0.5
    preds = {m: decode(np.nan_to_num(hm), m).coords[0] for m in METHODS}
    gt = mu[0].copy()
    gt[6] = np.nan        # unlabelled: not drawn
    gt[7] = (-3.0, 10.0)  # outside its map: not drawn (would land in the neighbour tile)
    fig = heatmap_grid(hm[0], preds, gt, [f"j{j}" for j in range(17)], selected=4)
    assert not [t for t in fig.data if isinstance(t, go.Heatmap)]  # one image, not 17
    assert [t.name for t in fig.data] == ["heatmaps", "gt", *METHODS]
    lay = GridLayout.of(17, 48, 64, 6)
    assert (lay.rows, lay.cols) == (3, 6)
    np.testing.assert_array_equal(lay.origins[7], [1 * (48 + lay.gap), 1 * (64 + lay.title_band)])
    assert np.asarray(fig.layout.meta["origins"]).tolist() == lay.origins.tolist()
    # the image: tile j holds joint j in Viridis, 0 → first colour, the max → last
    px = _png_pixels(fig.data[0].source)
    assert px.shape[:2] == lay.size[::-1]
    lut = viridis_lut(255)
    vmax = float(np.nanmax(hm))
    assert fig.layout.meta["vmax"] == pytest.approx(vmax)
    for j in (0, 3, 16):
        ox, oy = lay.origins[j].astype(int)
        tile = px[oy:oy + 64, ox:ox + 48]
        expect = lut[np.rint(np.clip(hm[0, j] / vmax, 0, 1) * 254).astype(int)]
        np.testing.assert_array_equal(tile[..., :3], expect)
        assert (tile[..., 3] == 255).all()
    ox, oy = lay.origins[2].astype(int)
    assert px[oy + 5, ox + 7, 3] == 0                       # NaN
    assert px[0, 48 + lay.gap // 2, 3] == 0                 # gap between tiles
    # markers: map coordinates + the tile origin; customdata = (joint, x, y) heatmap px
    by = {t.name: t for t in fig.data}
    np.testing.assert_allclose(_markers(by["daec"]), preds["daec"] + lay.origins)
    np.testing.assert_allclose(np.asarray(by["daec"].customdata, float)[:, 1:], preds["daec"])
    # the standard (argmax) marker sits on the brightest pixel of its own tile
    for j, (x, y) in enumerate(_markers(by["standard"]).astype(int)):
        ox, oy = lay.origins[j].astype(int)
        assert (x - ox, y - oy) == np.unravel_index(np.nanargmax(hm[0, j]), (64, 48))[::-1]
    g = np.asarray(by["gt"].customdata, float)
    assert sorted(set(range(17)) - set(g[:, 0].astype(int))) == [6, 7]
    assert by["daec"].marker.color == METHOD_COLORS["daec"]
    assert "<b>j4</b>" in [a.text for a in fig.layout.annotations]
    sel = [s for s in fig.layout.shapes if s.name == "selected"]
    assert len(sel) == 1 and sel[0].x0 == lay.origins[4][0] - 1
    assert fig.layout.yaxis.scaleanchor == "x"  # square pixels
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # y down
    # what the browser gets: a fraction of the 17 float maps (~330 KB as plotly heatmaps)
    assert len(fig.to_json()) < 60_000


def test_viridis_lut_ends():
    lut = viridis_lut(255)
    assert lut.shape == (255, 3) and lut.dtype == np.uint8
    assert tuple(lut[0]) == (0x44, 0x01, 0x54) and tuple(lut[-1]) == (0xFD, 0xE7, 0x25)


def test_joint_zoom_draws_the_daec_window_and_estimates():
    rng = np.random.default_rng(2)
    hm, mu = _maps(rng, n=1, k=1)
    m = hm[0, 0]
    preds = {meth: decode(m[None, None], meth, sigma=2.0, delta=3, pattern="UR").coords[0, 0]
             for meth in METHODS}
    fig = joint_zoom(m, 2.0, 3, "UR", preds, mu[0, 0])
    arg = np.unravel_index(np.argmax(m), m.shape)
    win = daec_window((arg[1], arg[0]), 2.0, 3, "UR", (48, 64))
    shapes = {s.name: s for s in fig.layout.shapes}
    assert (shapes["window"].x0, shapes["window"].x1, shapes["window"].y0,
            shapes["window"].y1) == win.full
    assert (shapes["kept"].x0, shapes["kept"].x1, shapes["kept"].y0,
            shapes["kept"].y1) == win.kept
    by = {t.name: t for t in fig.data}
    assert (by["argmax"].x[0], by["argmax"].y[0]) == (arg[1], arg[0])
    for meth in METHODS:
        assert (by[meth].x[0], by[meth].y[0]) == pytest.approx(tuple(preds[meth]))
    assert (by["gt"].x[0], by["gt"].y[0]) == pytest.approx(tuple(mu[0, 0]))


def test_heatmap_grid_and_joint_zoom_legends_sit_below_the_plot():
    """Both legends are horizontal at the figure's bottom edge (container coordinates),
    where plotly reserves their height below the tick labels and axis title
    (plots.style.legend_below)."""
    from daec_viz.plots.style import LEGEND_BELOW
    rng = np.random.default_rng(3)
    hm, mu = _maps(rng, n=1)
    preds = {m: decode(hm, m, sigma=2.0, delta=3, pattern="BR").coords[0] for m in METHODS}
    zoom = joint_zoom(hm[0, 0], 2.0, 3, "BR", {m: p[0] for m, p in preds.items()}, mu[0, 0])
    grid = heatmap_grid(hm[0], preds, mu[0])
    for fig in (zoom, grid):
        lg = fig.layout.legend
        assert (lg.orientation, lg.yref, lg.y, lg.yanchor) == ("h", "container", 0, "bottom")
        assert lg.title.side == LEGEND_BELOW["title"]["side"]
    assert zoom.layout.xaxis.title.text == "x (heatmap px)"  # the title plotly keeps above it
    # NaN pixels of the enlarged map have no hover label
    assert zoom.data[0].hoverongaps is False
