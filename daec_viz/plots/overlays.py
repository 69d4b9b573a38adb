"""Overlays: an image with GT and every decoder's keypoints, a person's heatmaps, one joint.

Every function returns a ``plotly.graph_objects.Figure``; each decoder is drawn in its
colour of :data:`daec_viz.plots.style.METHOD_COLORS` (GT in ``METHOD_COLORS["gt"]``).
Image axes are kept: x right, y down (the y axis is reversed), pixel centres at integers.

- :func:`image_overlay`: the image, GT and each method's keypoints with skeleton lines;
  one trace per method (``name`` = method), toggled by trace visibility.
- :func:`heatmap_grid`: a person's K heatmaps with each decoder's estimate and the GT.
- :func:`joint_zoom`: one heatmap enlarged with the argmax, every decoder's estimate, the
  GT and DAEC's integral window with the Δ-cut (:func:`daec_window`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..decoding.daec import _CUT_HIGH, PATTERNS, axis_bounds, half_width
from ..exceptions import InputError
from .style import METHOD_COLORS, method_color

__all__ = ["DaecWindow", "daec_window", "image_overlay", "heatmap_grid", "joint_zoom",
           "skeleton_xy"]


# --------------------------------------------------------------------------- DAEC window

@dataclass(frozen=True)
class DaecWindow:
    """DAEC's integral window around an argmax, as rectangles in heatmap px.

    Edges are continuous coordinates (pixel ``i`` covers ``[i − ½, i + ½]``), clipped to
    the map ``[−½, W − ½] × [−½, H − ½]``. ``full`` = the (6σ + 3)-wide window before
    the cut; ``kept`` = what is integrated after cutting Δ off the ``pattern`` corner (a
    fractional Δ keeps a fraction ``1 − frac(Δ)`` of the boundary pixel, drawn as that
    fraction of its width). Each rectangle is ``(x0, x1, y0, y1)``.
    """

    argmax: tuple[int, int]
    half_width: int
    delta: tuple[float, float]
    pattern: str
    full: tuple[float, float, float, float]
    kept: tuple[float, float, float, float]


def _edges(c: int, e: int, d: float, cut_high: bool, size: int) -> tuple[float, float]:
    lo, hi, _, weight = axis_bounds(c, e, d, cut_high)
    if cut_high:
        lo_e, hi_e = lo - 0.5, hi - 0.5 + weight
    else:
        lo_e, hi_e = lo + 0.5 - weight, hi + 0.5
    return max(lo_e, -0.5), min(hi_e, size - 0.5)


def daec_window(argmax: Sequence[int], sigma: float, delta: float | Sequence[float],
                pattern: str, size: Sequence[int]) -> DaecWindow:
    """The window of :mod:`daec_viz.decoding.daec` at integer ``argmax = (cx, cy)``.

    Parameters
    ----------
    argmax : (cx, cy) integer heatmap px.
    sigma : the window's σ (half-width ``int(3σ + 1)``).
    delta : Δ (or (Δx, Δy)) heatmap px.
    pattern : cut corner, ``BR``/``UR``/``BL``/``UL``.
    size : (W, H) of the map.

    Examples
    --------
    >>> w = daec_window((20, 30), 2.0, 4, "BR", (48, 64))
    >>> w.full, w.kept
    ((12.5, 27.5, 22.5, 37.5), (12.5, 23.5, 22.5, 33.5))
    """
    if pattern not in PATTERNS:
        raise InputError(f"expected one of {PATTERNS}, got {pattern!r}", field="pattern")
    dx, dy = (float(delta), float(delta)) if np.ndim(delta) == 0 else \
        (float(delta[0]), float(delta[1]))  # type: ignore[index]
    cx, cy = int(argmax[0]), int(argmax[1])
    w, h = int(size[0]), int(size[1])
    e = half_width(sigma)
    cut_x, cut_y = _CUT_HIGH[pattern]
    full = (max(cx - e - 0.5, -0.5), min(cx + e + 0.5, w - 0.5),
            max(cy - e - 0.5, -0.5), min(cy + e + 0.5, h - 0.5))
    kx = _edges(cx, e, dx, cut_x, w)
    ky = _edges(cy, e, dy, cut_y, h)
    return DaecWindow((cx, cy), e, (dx, dy), pattern, full, (*kx, *ky))


# --------------------------------------------------------------------------- helpers

def skeleton_xy(xy: np.ndarray, skeleton: Sequence[Sequence[int]]
                ) -> tuple[list[float | None], list[float | None]]:
    """Line coordinates of the limbs of every person: ``xy`` (n, K, 2); segments separated
    by None; limbs with a NaN end are left out."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, *np.shape(xy)[-2:])
    for person in pts:
        for a, b in skeleton:
            pa, pb = person[a], person[b]
            if np.all(np.isfinite(pa)) and np.all(np.isfinite(pb)):
                xs += [float(pa[0]), float(pb[0]), None]
                ys += [float(pa[1]), float(pb[1]), None]
    return xs, ys


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


def _image_axes(fig: go.Figure, width: float, height: float, row: int | None = None,
                col: int | None = None) -> None:
    kw = {} if row is None else {"row": row, "col": col}
    fig.update_xaxes(range=[-0.5, width - 0.5], showgrid=False, zeroline=False,
                     constrain="domain", **kw)
    fig.update_yaxes(range=[height - 0.5, -0.5], showgrid=False, zeroline=False,
                     scaleanchor="x" if row is None else None, **kw)


# --------------------------------------------------------------------------- image

def image_overlay(image: np.ndarray | None, gt: np.ndarray | None,
                  predictions: Mapping[str, np.ndarray],
                  skeleton: Sequence[Sequence[int]] = (), *,
                  keypoint_names: Sequence[str] | None = None,
                  visible: Sequence[str] | None = None,
                  image_size: Sequence[int] | None = None,
                  person_labels: Sequence[str] | None = None,
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

    def add(name: str, xy: np.ndarray, mask: np.ndarray | None, color: str, symbol: str
            ) -> None:
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
        label = [f"{person_labels[p] if person_labels else p}: "
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
        add("gt", g[..., :2], mask, METHOD_COLORS["gt"], "circle")
    symbols = {"standard": "square", "shifting": "diamond", "dark": "triangle-up",
               "daec": "x"}
    for m, xy in predictions.items():
        add(m, xy, None, method_color(m), symbols.get(m, "circle"))
    _image_axes(fig, width, height)
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 40 if title else 10,
                                           "b": 10},
                      legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
                      height=max(360, min(720, int(620 * height / max(width, 1)))))
    return fig


# --------------------------------------------------------------------------- heatmaps

def heatmap_grid(heatmaps: np.ndarray, predictions_hm: Mapping[str, np.ndarray] | None = None,
                 gt_hm: np.ndarray | None = None,
                 keypoint_names: Sequence[str] | None = None, *, cols: int = 6,
                 selected: int | None = None, title: str | None = None) -> go.Figure:
    """A person's K heatmaps (K, H, W) as a grid, with each method's estimate and the GT.

    ``predictions_hm``: method -> (K, 2) heatmap px; ``gt_hm`` (K, 2) heatmap px (NaN =
    unlabelled). Subplot ``j`` (row-major) shows joint ``j``; ``selected`` gets a red
    title. Traces: one heatmap per joint, then per joint the GT and each method's marker
    (``legendgroup`` = method; only joint 0's appear in the legend).
    """
    hm = np.asarray(heatmaps, dtype=np.float32)
    if hm.ndim != 3:
        raise InputError(f"expected shape (K, H, W), got {hm.shape}", field="heatmaps")
    k, h, w = hm.shape
    rows = math.ceil(k / cols)
    names = list(keypoint_names) if keypoint_names is not None else [str(j) for j in range(k)]
    titles = [f"<b>{n}</b>" if j == selected else n for j, n in enumerate(names)]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.01, vertical_spacing=0.06)
    vmax = float(np.nanmax(hm)) if np.isfinite(hm).any() else 1.0
    for j in range(k):
        r, c = j // cols + 1, j % cols + 1
        fig.add_trace(go.Heatmap(z=hm[j], colorscale="Viridis", zmin=0, zmax=vmax,
                                 showscale=False, name=names[j],
                                 hovertemplate="x=%{x}, y=%{y}: %{z:.3f}<extra></extra>"),
                      row=r, col=c)
        marks: list[tuple[str, np.ndarray, str]] = []
        if gt_hm is not None:
            marks.append(("gt", np.asarray(gt_hm)[j], METHOD_COLORS["gt"]))
        for m, xy in (predictions_hm or {}).items():
            marks.append((m, np.asarray(xy)[j], method_color(m)))
        for m, p, color in marks:
            if not np.all(np.isfinite(p)):
                continue
            fig.add_trace(go.Scatter(x=[p[0]], y=[p[1]], mode="markers", name=m,
                                     legendgroup=m, showlegend=j == 0,
                                     marker={"color": color, "size": 6,
                                             "line": {"color": "white", "width": 1}}),
                          row=r, col=c)
        fig.update_xaxes(range=[-0.5, w - 0.5], showticklabels=False, row=r, col=c)
        fig.update_yaxes(range=[h - 0.5, -0.5], showticklabels=False, row=r, col=c)
    fig.update_annotations(font_size=10)
    fig.update_layout(title=title, height=190 * rows + 60,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.02, "yanchor": "top"})
    return fig


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
                                                    "color": "white",
                                                    "line": {"width": 3}}))
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
                     scaleanchor="x")
    dx, dy = win.delta
    dtxt = f"{dx:g}" if dx == dy else f"({dx:g}, {dy:g})"
    fig.update_layout(title=title or f"DAEC window: {pattern} cut, Δ = {dtxt}, "
                                     f"half-width {win.half_width}",
                      height=460, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.15, "yanchor": "top"})
    return fig
