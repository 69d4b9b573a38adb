"""Overlays: an image with GT and every decoder's keypoints, a person's heatmaps, one joint.

Every function returns a ``plotly.graph_objects.Figure``; each decoder is drawn in its
colour of :data:`daec_viz.plots.style.METHOD_COLORS` (GT in ``METHOD_COLORS["gt"]``).
Image axes are kept: x right, y down (the y axis is reversed), pixel centres at integers.

- :func:`image_overlay`: the image, GT and each method's keypoints with skeleton lines;
  one trace per method (``name`` = method), toggled by trace visibility.
- :func:`heatmap_grid`: a person's K heatmaps with each decoder's estimate and the GT
  (one palette PNG of all maps, :class:`GridLayout`, so it is quick to send and draw).
- :func:`joint_zoom`: one heatmap enlarged with the argmax, every decoder's estimate, the
  GT and DAEC's integral window with the Δ-cut (:func:`daec_window`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from daec_viz.decoding.daec import daec_window
from daec_viz.evaluation.ground_truth import inside_heatmap
from daec_viz.exceptions import InputError
from daec_viz.plots.style import METHOD_COLORS, legend_below, method_color

__all__ = ["image_overlay", "heatmap_grid", "GridLayout",
           "joint_zoom", "skeleton_xy", "viridis_lut"]

#: Marker symbol of each decoder (GT and unknown names: circles), the same in every figure.
_SYMBOLS = {"gt": "circle", "standard": "square", "shifting": "diamond",
            "dark": "triangle-up", "daec": "x"}


# --------------------------------------------------------------------------- helpers

def skeleton_xy(xy: np.ndarray, skeleton: Sequence[Sequence[int]]
                ) -> tuple[list[float | None], list[float | None]]:
    """Line coordinates of the limbs of every person: ``xy`` (n, K, 2); segments separated
    by None; limbs with a NaN end are left out."""
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, *np.shape(xy)[-2:])
    limbs = np.asarray(skeleton, dtype=np.intp).reshape(-1, 2)
    a, b = pts[:, limbs[:, 0]], pts[:, limbs[:, 1]]  # (n, L, 2) each end
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    out = []
    for i in (0, 1):  # (n_ok, 3): start, end, gap
        seg = np.stack([a[..., i][ok], b[..., i][ok], np.full(int(ok.sum()), np.nan)], -1)
        out.append([None if v != v else v for v in seg.ravel().tolist()])
    return out[0], out[1]


def _data_uri(img: np.ndarray, quality: int = 90) -> str:
    """A JPEG data URI of an (H, W, 3) uint8 image: ~20x smaller in the figure's JSON than
    the pixel array (``go.Image(z=...)``), so the browser gets it quickly."""
    import base64
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img, dtype=np.uint8)).convert("RGB").save(
        buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _visibility(name: str, visible: Sequence[str] | None) -> bool | str:
    return True if visible is None or name in visible else "legendonly"


def _image_axes(fig: go.Figure, width: float, height: float) -> None:
    """Image axes: pixel centres at integers, y down, square pixels."""
    fig.update_xaxes(range=[-0.5, width - 0.5], showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(range=[height - 0.5, -0.5], showgrid=False, zeroline=False,
                     scaleanchor="x")


# --------------------------------------------------------------------------- image

def image_overlay(image: np.ndarray | None, gt: np.ndarray | None,
                  predictions: Mapping[str, np.ndarray],
                  skeleton: Sequence[Sequence[int]] = (), *,
                  keypoint_names: Sequence[str] | None = None,
                  visible: Sequence[str] | None = None,
                  image_size: Sequence[int] | None = None,
                  person_labels: Sequence[str] | None = None,
                  gt_labels: Sequence[str] | None = None,
                  boxes: np.ndarray | None = None,
                  box_labels: Sequence[str] | None = None,
                  title: str | None = None) -> go.Figure:
    """An image with GT and each method's keypoints (markers + skeleton lines).

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB, or None (a blank canvas of ``image_size``).
    gt : (n, K, 3) GT keypoints image px + COCO visibility (joints with v = 0 or NaN are
        not drawn), or None.
    predictions : method -> (n, K, 2) image px (same n persons as ``gt``).
    skeleton : limbs, 0-based joint pairs.
    visible : methods (and ``"gt"``) drawn at first; the others start hidden in the legend
        (``visible="legendonly"``); None = all.
    image_size : (W, H) when ``image`` is None.
    person_labels : hover names of the predicted persons (default their index).
    gt_labels : hover names of the GT persons (default ``person_labels``: GT and
        predictions are the same persons, as with GT boxes).
    boxes : (n, 4) x, y, w, h image px of the predicted persons' boxes (detector boxes),
        drawn as dotted rectangles with ``box_labels`` above them; None draws none.

    Returns
    -------
    Figure with, in order: the image (``go.Image`` with a JPEG data URI, if any), then for
    the GT (if given) and each method two traces of one legend group: the limbs
    (``name="<m> limbs"``, lines separated by None) and the keypoints (``name`` = ``"gt"``
    or the method, markers), so the legend toggles both. Hover shows person, joint and coordinates.
    """
    fig = go.Figure()
    if image is not None:
        img = np.asarray(image)
        fig.add_trace(go.Image(source=_data_uri(img), name="image", hoverinfo="skip"))
        height, width = img.shape[:2]
    elif image_size is not None:
        width, height = int(image_size[0]), int(image_size[1])
    else:
        raise InputError("expected an image or image_size", field="image")
    names = list(keypoint_names) if keypoint_names is not None else None

    def add(name: str, xy: np.ndarray, mask: np.ndarray | None, color: str, symbol: str,
            labels: Sequence[str] | None) -> None:
        xy = np.asarray(xy, dtype=np.float64)
        if xy.ndim == 2:
            xy = xy[None]
        pts = xy.copy()
        if mask is not None:
            pts[~mask] = np.nan
        lx, ly = skeleton_xy(pts, skeleton)
        n, k = pts.shape[:2]
        px, py = pts[..., 0].reshape(-1), pts[..., 1].reshape(-1)
        keep = np.isfinite(px) & np.isfinite(py)
        persons = np.repeat(np.arange(n), k)[keep]
        joints = np.tile(np.arange(k), n)[keep]
        label = [f"{labels[p] if labels else p}: "
                 f"{names[j] if names else j}" for p, j in zip(persons, joints, strict=True)]
        vis = _visibility(name, visible)
        fig.add_trace(go.Scatter(
            x=lx, y=ly, mode="lines", name=f"{name} limbs", legendgroup=name,
            showlegend=False, line={"color": color, "width": 2}, hoverinfo="skip",
            visible=vis))
        fig.add_trace(go.Scatter(
            x=px[keep], y=py[keep], mode="markers", name=name, legendgroup=name,
            marker={"color": color, "size": 7, "symbol": symbol,
                    "line": {"color": "white", "width": 1}},
            text=label, hovertemplate="%{text}<br>x=%{x:.2f}, y=%{y:.2f}<extra>" + name
            + "</extra>", visible=vis))

    if gt is not None:
        g = np.asarray(gt, dtype=np.float64)
        if g.ndim == 2:
            g = g[None]
        mask = np.isfinite(g[..., :2]).all(-1) & (np.nan_to_num(g[..., 2]) > 0)
        add("gt", g[..., :2], mask, METHOD_COLORS["gt"], "circle",
            gt_labels if gt_labels is not None else person_labels)
    for m, xy in predictions.items():
        add(m, xy, None, method_color(m), _SYMBOLS.get(m, "circle"), person_labels)
    if boxes is not None:
        for i, (x, y, w, h) in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
            if not np.isfinite([x, y, w, h]).all():
                continue
            fig.add_shape(type="rect", x0=x, y0=y, x1=x + w, y1=y + h, layer="above",
                          line={"color": "#f5f5f5", "width": 1.5, "dash": "dot"})
            if box_labels is not None:
                fig.add_annotation(x=x, y=y, text=box_labels[i], showarrow=False,
                                   xanchor="left", yanchor="bottom", font={"size": 11,
                                   "color": "#111"}, bgcolor="rgba(255,255,255,0.75)")
    _image_axes(fig, width, height)
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 40 if title else 10,
                                           "b": 10},
                      height=max(360, min(720, int(620 * height / max(width, 1)))))
    return legend_below(fig, axis_title=False)


# --------------------------------------------------------------------------- heatmaps

def viridis_lut(levels: int = 255) -> np.ndarray:
    """(levels, 3) uint8 RGB of plotly's Viridis colour scale at ``levels`` evenly spaced
    values of [0, 1] (linear between the scale's stops, as plotly draws a heatmap)."""
    from plotly.colors import get_colorscale, hex_to_rgb
    scale = get_colorscale("Viridis")
    pos = np.array([float(p) for p, _ in scale])
    rgb = np.array([hex_to_rgb(c) for _, c in scale], dtype=np.float64)
    t = np.linspace(0.0, 1.0, levels)
    return np.rint(np.stack([np.interp(t, pos, rgb[:, i]) for i in range(3)], axis=-1)
                   ).astype(np.uint8)


@dataclass(frozen=True)
class GridLayout:
    """Where :func:`heatmap_grid` puts each of K (H, W) maps on its single image axis.

    Tile ``j`` sits at row ``j // cols``, column ``j % cols``; its pixel (0, 0) is centred
    at ``origins[j]`` (axis units = heatmap px), so a heatmap point ``(x, y)`` of joint
    ``j`` is drawn at ``(x, y) + origins[j]``. Tiles are ``gap`` px apart horizontally and
    ``title_band`` px apart vertically (the band above each row holds the joint names);
    ``size`` = (width, height) of the mosaic image in px.
    """

    origins: np.ndarray
    size: tuple[int, int]
    gap: int
    title_band: int
    rows: int
    cols: int

    @classmethod
    def of(cls, k: int, w: int, h: int, cols: int = 6) -> GridLayout:
        cols = max(1, min(int(cols), k))
        rows = math.ceil(k / cols)
        gap, band = max(2, round(0.06 * w)), max(6, round(0.16 * h))
        j = np.arange(k)
        origins = np.stack([(j % cols) * (w + gap), (j // cols) * (h + band)], axis=-1)
        return cls(origins.astype(np.float64), (cols * w + (cols - 1) * gap,
                                                rows * h + (rows - 1) * band),
                   gap, band, rows, cols)


def _grid_png(hm: np.ndarray, layout: GridLayout, vmax: float) -> str:
    """A palette PNG data URI of the (K, H, W) maps tiled by ``layout``: value ``v`` gets
    Viridis colour ``round(clip(v / vmax, 0, 1) · 254)`` (255 levels, as ``zmin = 0``,
    ``zmax = vmax``); NaN pixels and the gaps between tiles are transparent (index 255).
    ~15x smaller than the float heatmaps in a figure's JSON, and one image to draw."""
    import base64
    import io

    from PIL import Image
    k, h, w = hm.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.rint(np.clip(hm / vmax, 0.0, 1.0) * 254.0)
    idx = np.where(np.isfinite(hm), q, 255).astype(np.uint8)
    mosaic = np.full(layout.size[::-1], 255, dtype=np.uint8)
    for j in range(k):  # K tiles (a copy each, no per-pixel work)
        ox, oy = (int(v) for v in layout.origins[j])
        mosaic[oy:oy + h, ox:ox + w] = idx[j]
    palette = np.vstack([viridis_lut(255), [[255, 255, 255]]]).astype(np.uint8)
    im = Image.fromarray(mosaic)
    im.putpalette(palette.ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG", transparency=255)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def heatmap_grid(heatmaps: np.ndarray, predictions_hm: Mapping[str, np.ndarray] | None = None,
                 gt_hm: np.ndarray | None = None,
                 keypoint_names: Sequence[str] | None = None, *, cols: int = 6,
                 selected: int | None = None, title: str | None = None) -> go.Figure:
    """A person's K heatmaps (K, H, W) as a grid, with each method's estimate and the GT.

    ``predictions_hm``: method -> (K, 2) heatmap px; ``gt_hm`` (K, 2) heatmap px (NaN =
    unlabelled). The maps share one colour scale (Viridis, 0 to the largest value) and
    are sent as a single palette PNG on one image axis (:class:`GridLayout`: joint ``j``
    in row ``j // cols``, column ``j % cols``, its name above it), which the browser
    draws in a few ms, unlike K plotly heatmaps. Aspect ratio kept, y down.

    Traces: ``go.Image`` ``"heatmaps"`` (the mosaic), then one marker trace for the GT
    (``"gt"``) and for each method (``name`` = method) holding every joint's point at
    ``(x, y) + layout.origins[j]`` with ``customdata`` = (joint index, x, y) in heatmap
    px; points outside their map are left out. ``selected`` gets a bold title and a
    frame (shape ``"selected"``). ``fig.layout.meta`` holds ``origins`` and ``vmax``.
    """
    hm = np.asarray(heatmaps, dtype=np.float32)
    if hm.ndim != 3 or 0 in hm.shape:
        raise InputError(f"expected shape (K, H, W) with K, H, W > 0, got {hm.shape}",
                         field="heatmaps")
    k, h, w = hm.shape
    lay = GridLayout.of(k, w, h, cols)
    names = list(keypoint_names) if keypoint_names is not None else [str(j) for j in range(k)]
    finite = np.isfinite(hm)
    vmax = float(hm[finite].max()) if finite.any() else 1.0
    vmax = vmax if vmax > 0 else 1.0
    fig = go.Figure(go.Image(source=_grid_png(hm, lay, vmax), name="heatmaps",
                             hoverinfo="skip"))
    marks: list[tuple[str, np.ndarray]] = []
    if gt_hm is not None:
        marks.append(("gt", np.asarray(gt_hm, dtype=np.float64)))
    marks += [(m, np.asarray(xy, dtype=np.float64)) for m, xy in (predictions_hm or {}).items()]
    for m, p in marks:
        j = np.flatnonzero(inside_heatmap(p, (w, h)))
        xy = p[j] + lay.origins[j]
        fig.add_trace(go.Scatter(
            x=xy[:, 0], y=xy[:, 1], mode="markers", name=m, legendgroup=m,
            marker={"color": method_color(m), "size": 7, "symbol": _SYMBOLS.get(m, "circle"),
                    "line": {"color": "white", "width": 1}},
            customdata=np.column_stack([j, p[j]]),
            text=[names[i] for i in j],
            hovertemplate="%{text}: x=%{customdata[1]:.2f}, y=%{customdata[2]:.2f} "
                          "(heatmap px)<extra>" + m + "</extra>"))
    # the K titles in one assignment (add_annotation re-validates every earlier one: K²)
    fig.update_layout(annotations=[
        {"x": ox + (w - 1) / 2, "y": oy - 0.5, "text": f"<b>{n}</b>" if j == selected else n,
         "showarrow": False, "yanchor": "bottom", "xref": "x", "yref": "y",
         "font": {"size": 11, "color": "#000" if j == selected else "#444"}}
        for j, (n, (ox, oy)) in enumerate(zip(names, lay.origins, strict=False))])
    if selected is not None and 0 <= selected < k:
        ox, oy = lay.origins[selected]
        fig.add_shape(type="rect", x0=ox - 1, x1=ox + w, y0=oy - 1, y1=oy + h, name="selected",
                      line={"color": "black", "width": 2}, layer="above")
    full_w, full_h = lay.size
    fig.update_xaxes(range=[-1.5, full_w + 0.5], visible=False, constrain="domain")
    fig.update_yaxes(range=[full_h + 0.5, -lay.title_band - 1.5], visible=False,
                     scaleanchor="x", constrain="domain")
    # plotly adds the legend's height to the bottom margin (legend_below); 40 px keep a
    # gap between the last row of tiles and a one-row legend
    fig.update_layout(title=title, height=210 * lay.rows + 80, plot_bgcolor="white",
                      margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 40},
                      meta={"origins": lay.origins.tolist(), "vmax": vmax},
                      hovermode="closest")
    return legend_below(fig)


def joint_zoom(heatmap: np.ndarray, sigma: float, delta: float | Sequence[float],
               pattern: str, predictions_hm: Mapping[str, np.ndarray] | None = None,
               gt_hm: np.ndarray | None = None, *, argmax: Sequence[int] | None = None,
               margin: int = 3, title: str | None = None) -> go.Figure:
    """One heatmap (H, W) enlarged around its argmax with DAEC's window and Δ-cut.

    Drawn: the map (cropped to the window plus ``margin`` px), the full (6σ + 3) window
    (dashed rectangle, shape ``name="window"``), the kept integration region (filled
    rectangle, ``name="kept"``), the argmax (trace ``"argmax"``), the GT (``"gt"``) and
    each method's estimate (trace ``name`` = method). ``predictions_hm``: method -> (2,).
    ``argmax`` defaults to the first maximum of the map (row-major, as the decoders).
    """
    hm = np.asarray(heatmap, dtype=np.float64)
    if hm.ndim != 2:
        raise InputError(f"expected shape (H, W), got {hm.shape}", field="heatmap")
    h, w = hm.shape
    if argmax is None:
        finite = np.where(np.isfinite(hm), hm, -np.inf)
        idx = int(np.argmax(finite))
        argmax = (idx % w, idx // w)
    win = daec_window(argmax, sigma, delta, pattern, (w, h))
    fx0, fx1, fy0, fy1 = win.full
    x_lo = max(0, int(math.floor(fx0)) - margin + 1)
    x_hi = min(w - 1, int(math.ceil(fx1)) + margin - 1)
    y_lo = max(0, int(math.floor(fy0)) - margin + 1)
    y_hi = min(h - 1, int(math.ceil(fy1)) + margin - 1)
    xs = np.arange(x_lo, x_hi + 1)
    ys = np.arange(y_lo, y_hi + 1)
    fig = go.Figure(go.Heatmap(z=hm[y_lo:y_hi + 1, x_lo:x_hi + 1], x=xs, y=ys,
                               colorscale="Viridis", name="heatmap",
                               colorbar={"title": "value", "thickness": 12},
                               # NaN pixels (an invalid map) get no hover, not "NaN"
                               hoverongaps=False,
                               hovertemplate="x=%{x}, y=%{y}: %{z:.4f}<extra></extra>"))
    kx0, kx1, ky0, ky1 = win.kept
    fig.add_shape(type="rect", x0=fx0, x1=fx1, y0=fy0, y1=fy1, name="window",
                  line={"color": "white", "width": 2, "dash": "dash"})
    if kx1 > kx0 and ky1 > ky0:
        fig.add_shape(type="rect", x0=kx0, x1=kx1, y0=ky0, y1=ky1, name="kept",
                      line={"color": METHOD_COLORS["daec"], "width": 3},
                      fillcolor="rgba(214, 39, 40, 0.15)")
    fig.add_trace(go.Scatter(x=[win.argmax[0]], y=[win.argmax[1]], mode="markers",
                             name="argmax", marker={"symbol": "circle-open", "size": 16,
                                                    "color": "black",
                                                    "line": {"width": 2.5}}))
    if gt_hm is not None and np.all(np.isfinite(gt_hm)):
        fig.add_trace(go.Scatter(x=[float(gt_hm[0])], y=[float(gt_hm[1])], mode="markers",
                                 name="gt", marker={"symbol": "star", "size": 16,
                                                    "color": METHOD_COLORS["gt"],
                                                    "line": {"color": "white", "width": 1}}))
    for m, p in (predictions_hm or {}).items():
        p = np.asarray(p, dtype=np.float64)
        fig.add_trace(go.Scatter(x=[p[0]], y=[p[1]], mode="markers", name=m,
                                 marker={"size": 12, "color": method_color(m),
                                         "line": {"color": "white", "width": 1.5}},
                                 hovertemplate=f"{m}: " + "x=%{x:.3f}, y=%{y:.3f}"
                                 "<extra></extra>"))
    fig.update_xaxes(range=[x_lo - 0.5, x_hi + 0.5], title="x (heatmap px)",
                     constrain="domain")
    fig.update_yaxes(range=[y_hi + 0.5, y_lo - 0.5], title="y (heatmap px)",
                     scaleanchor="x", constrain="domain")
    dx, dy = win.delta
    dtxt = f"{dx:g}" if dx == dy else f"({dx:g}, {dy:g})"
    fig.update_layout(title=title or f"DAEC window: {pattern} cut, Δ = {dtxt}, "
                                     f"half-width {win.half_width}",
                      height=500, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return legend_below(fig)
