"""Figures of the error-bias analysis (:mod:`daec_viz.analysis`).

Every function returns a ``plotly.graph_objects.Figure`` and draws each decoder in its
colour of :data:`daec_viz.plots.style.METHOD_COLORS`. Image axes are kept: x right,
y **down** (y axes are reversed), so an arrow pointing to the lower right is a
bottom-right (BR) bias.

- :func:`quadrant_histogram`: counts and shares of BR/UR/BL/UL per decoder.
- :func:`error_density`: 2-D density of the error vectors with the mean-bias arrow.
- :func:`joint_bias_diagram`: per-joint mean bias as arrows on a body diagram, magnified
  ×k (:func:`auto_arrow_magnify`) against the person's height (:func:`person_height`),
  with a reference arrow of a round length.
- :func:`phase_plot`: error vs the GT's sub-pixel phase (argmax's saw-tooth).
- :func:`taxonomy_bars` and :func:`taxonomy_ap_bars`: the keypoint error taxonomy and
  the AP with each error type corrected.
- :func:`error_figures`: all of them from one :class:`~daec_viz.analysis.ErrorAnalysis`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from daec_viz.analysis import (
    QUADRANTS,
    BiasEstimate,
    ErrorAnalysis,
    PhaseCurve,
    QuadrantStats,
    argmax_sawtooth,
    error_histogram2d,
    labelled_xy,
)
from daec_viz.analysis.taxonomy import ERROR_TYPES, TAXONOMY, KeypointTaxonomy, TaxonomyAP
from daec_viz.exceptions import InputError
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES, COCO_SKELETON
from daec_viz.plots.style import METHOD_COLORS, fmt_num, legend_below, method_color

__all__ = ["COCO_BODY_LAYOUT", "METHOD_COLORS", "DEFAULT_PERSON_HEIGHT", "ARROW_TARGET",
           "quadrant_histogram", "error_density", "joint_bias_diagram", "auto_arrow_magnify",
           "person_height", "phase_plot", "taxonomy_bars", "taxonomy_ap_bars",
           "error_figures", "layout_from_keypoints"]

#: A canonical frontal layout of the 17 COCO joints (x right, y down; height about 1).
#: The person faces the viewer, so their left side is on the image's right.
COCO_BODY_LAYOUT: np.ndarray = np.array([
    [0.00, 0.10],                  # nose
    [0.035, 0.075], [-0.035, 0.075],  # left/right eye
    [0.075, 0.09], [-0.075, 0.09],    # left/right ear
    [0.15, 0.22], [-0.15, 0.22],      # shoulders
    [0.24, 0.39], [-0.24, 0.39],      # elbows
    [0.30, 0.55], [-0.30, 0.55],      # wrists
    [0.10, 0.55], [-0.10, 0.55],      # hips
    [0.11, 0.76], [-0.11, 0.76],      # knees
    [0.12, 0.96], [-0.12, 0.96],      # ankles
])
COCO_BODY_LAYOUT.setflags(write=False)

_TAXONOMY_COLORS = {"good": "#2ca02c", "jitter": "#8C4646", "inversion": "#D96459",
                    "swap": "#F2AE72", "miss": "#F2E394"}


def _methods_of(data: Mapping[str, Any]) -> list[str]:
    if not data:
        raise InputError("expected results of at least one method", field="methods")
    return list(data)


# --------------------------------------------------------------------------- quadrants

def quadrant_histogram(stats: Mapping[str, QuadrantStats], mode: str = "both",
                       title: str | None = None) -> go.Figure:
    """Grouped bars of the quadrant counts and/or shares, one colour per decoder.

    Parameters
    ----------
    stats : method -> :class:`~daec_viz.analysis.QuadrantStats`
        (``ErrorAnalysis.quadrants``).
    mode : ``"count"``, ``"share"`` (of the errors in a quadrant) or ``"both"`` (two
        panels).

    Returns
    -------
    Figure; traces are named by method (share traces end in ``" share"`` in mode
    ``"both"``); ``x`` is ``("BR", "UR", "BL", "UL")``. Errors on an axis (``none``) are
    not drawn; their count is in the hover text.
    """
    if mode not in ("count", "share", "both"):
        raise InputError(f"expected 'count', 'share' or 'both', got {mode!r}", field="mode")
    methods = _methods_of(stats)
    panels = ["count", "share"] if mode == "both" else [mode]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[
        "errors per quadrant" if p == "count" else "share of quadrant errors"
        for p in panels]) if len(panels) > 1 else go.Figure()
    for col, panel in enumerate(panels, start=1):
        for m in methods:
            q = stats[m]
            if panel == "count":
                y = [q.counts[k] for k in QUADRANTS]
                text = [str(v) for v in y]
            else:
                y = [q.shares[k] for k in QUADRANTS]
                # NaN when the filters leave no error in a quadrant: "–", not "nan%"
                text = [fmt_num(v, 1, percent=True) for v in y]
            bar = go.Bar(x=list(QUADRANTS), y=y, name=m if panel == "count" or len(panels) == 1
                         else f"{m} share", legendgroup=m, showlegend=col == 1,
                         marker_color=method_color(m), text=text, textposition="outside",
                         # vertical labels: four grouped bars side by side do not overlap
                         textangle=-90, textfont_size=10, cliponaxis=False,
                         hovertemplate=f"{m}<br>%{{x}}: %{{text}}<br>on an axis (none): "
                                       f"{q.counts['none']}<extra></extra>")
            if len(panels) > 1:
                fig.add_trace(bar, row=1, col=col)
            else:
                fig.add_trace(bar)
    fig.update_layout(barmode="group", title=title or "Error quadrants<br><sup>image axes: x "
                      "right, y down; paper: BR > UR > BL > UL</sup>",
                      legend_title_text="decoder")
    if "share" in panels:
        if len(panels) > 1:
            fig.update_yaxes(tickformat=".0%", row=1, col=2)
        else:
            fig.update_yaxes(tickformat=".0%")
    # headroom above the tallest bar for its vertical label
    for col, panel in enumerate(panels, start=1):
        vals = np.array([stats[m].counts[k] if panel == "count" else stats[m].shares[k]
                         for m in methods for k in QUADRANTS], dtype=np.float64)
        top = float(vals[np.isfinite(vals)].max()) if np.isfinite(vals).any() else 0.0
        rng = [0, 1.18 * top if top > 0 else 1.0]
        if len(panels) > 1:
            fig.update_yaxes(range=rng, row=1, col=col)
        else:
            fig.update_yaxes(range=rng)
    fig.update_layout(uniformtext_minsize=9, uniformtext_mode="show")
    return legend_below(fig)


# --------------------------------------------------------------------------- density

def error_density(err: np.ndarray, bias: BiasEstimate | Sequence[float] | None = None, *,
                  method: str = "", units: str = "heatmap px", bins: int = 41,
                  extent: float | None = None, arrow_scale: float = 1.0,
                  title: str | None = None) -> go.Figure:
    """2-D density of error vectors with the mean-bias arrow from the origin.

    Parameters
    ----------
    err : (..., 2) error vectors ``pred - GT`` (NaN skipped).
    bias : the mean bias: a :class:`BiasEstimate` (its overall mean; its interval is drawn
        as a rectangle) or an (x, y) pair; default the mean of ``err``.
    method : decoder name (arrow colour, title).
    units : axis unit label.
    bins, extent : of :func:`~daec_viz.analysis.error_histogram2d`.
    arrow_scale : draw the arrow this many times longer (the bias is often small against
        the spread; the scale is written in the legend).

    Returns
    -------
    Figure with a ``Heatmap`` trace (``z`` = the histogram counts, rows = y) and the
    arrow as a layout annotation from (0, 0) to ``arrow_scale * bias``; the y axis is
    reversed (down = +y).
    """
    e = np.asarray(err, dtype=np.float64).reshape(-1, 2)
    hist = error_histogram2d(e, bins=bins, extent=extent)
    lo = hi = None
    if bias is None:
        ok = np.isfinite(e).all(1)
        mean = e[ok].mean(0) if ok.any() else np.zeros(2)
    elif isinstance(bias, BiasEstimate):
        mean, lo, hi = bias.overall_mean, bias.overall_lo, bias.overall_hi
    else:
        mean = np.asarray(bias, dtype=np.float64).reshape(2)
    color = method_color(method) if method else "#d62728"
    fig = go.Figure(go.Heatmap(z=hist.counts, x=hist.x_centers, y=hist.y_centers,
                               colorscale="Greys", colorbar_title="errors",
                               name="density",
                               hovertemplate="dx %{x:.2f}, dy %{y:.2f}: %{z}<extra></extra>"))
    ext = float(hist.x_edges[-1])
    fig.add_shape(type="line", x0=-ext, x1=ext, y0=0, y1=0,
                  line=dict(color="rgba(0,0,0,0.3)", width=1))
    fig.add_shape(type="line", x0=0, x1=0, y0=-ext, y1=ext,
                  line=dict(color="rgba(0,0,0,0.3)", width=1))
    tip = arrow_scale * mean
    if lo is not None and hi is not None and np.all(np.isfinite(lo)) \
            and np.all(np.isfinite(hi)):
        fig.add_shape(type="rect", x0=arrow_scale * lo[0], x1=arrow_scale * hi[0],
                      y0=arrow_scale * lo[1], y1=arrow_scale * hi[1],
                      line=dict(color=color, width=1, dash="dot"),
                      fillcolor="rgba(0,0,0,0)")
    if np.all(np.isfinite(tip)):
        fig.add_annotation(x=float(tip[0]), y=float(tip[1]), ax=0, ay=0, xref="x", yref="y",
                           axref="x", ayref="y", showarrow=True, arrowhead=3, arrowsize=1.5,
                           arrowwidth=3, arrowcolor=color, text="", name="mean bias")
    # a legend entry describing the arrow
    label = f"mean bias ({fmt_num(mean[0], 3, True)}, {fmt_num(mean[1], 3, True)}) {units}"
    if arrow_scale != 1:
        label += f", arrow ×{arrow_scale:g}"
    fig.add_trace(go.Scatter(x=[float(tip[0])], y=[float(tip[1])], mode="markers",
                             marker=dict(color=color, size=8), name=label))
    fig.update_xaxes(title_text=f"x error ({units}), + = right", range=[-ext, ext],
                     zeroline=False)
    fig.update_yaxes(title_text=f"y error ({units}), + = down", range=[ext, -ext],
                     zeroline=False, scaleanchor="x", scaleratio=1)
    fig.update_layout(title=title or f"Error density{' of ' + method if method else ''} "
                                     f"(pred − GT)", showlegend=True)
    return legend_below(fig)


# --------------------------------------------------------------------------- body diagram

def layout_from_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """A body layout (K, 2) from GT keypoints: each person's labelled joints are scaled into
    a unit box (by height), centred, then averaged (NaN for never-labelled joints).

    ``keypoints`` (N, K, 2) with NaN for unlabelled joints (or (N, K, 3) with visibility).
    """
    xy = labelled_xy(keypoints)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(xy, axis=1)
        hi = np.nanmax(xy, axis=1)
        h = (hi - lo)[:, 1]
        h = np.where(h > 0, h, np.nan)
        mid = (lo + hi) / 2
        norm = (xy - mid[:, None]) / h[:, None, None]
        out = np.nanmean(norm, axis=0)
    return out - np.nanmin(out[:, 1]) * np.array([0.0, 1.0])


#: A person's height (heatmap px, top-most to bottom-most joint) assumed when none is
#: given: a COCO top-down crop pads the box 1.25× onto a 64 px tall heatmap, so a standing
#: person spans about 64 / 1.25 ≈ 51 px, its joints (eyes to ankles) a little less.
DEFAULT_PERSON_HEIGHT: float = 48.0

#: The automatic arrow magnification draws the longest bias about this fraction of the
#: body's height (0.15: ~40 px on a body ~270 px tall, so its direction shows past the
#: 10 px arrowhead; still shorter than a limb, so it does not reach the next joint).
ARROW_TARGET: float = 0.15


def person_height(keypoints: np.ndarray, min_labelled: float = 0.5) -> float:
    """Median height of the persons in ``keypoints``: top-most to bottom-most labelled
    joint, in the keypoints' units (heatmap px for ``MethodErrors.gt_hm``).

    Parameters
    ----------
    keypoints : (N, K, 2) positions with NaN for unlabelled joints, or (N, K, 3) with COCO
        visibility (v = 0: unlabelled).
    min_labelled : only persons with at least this share of their K joints labelled count
        (a person cut at the hips would shrink the median); if none has, every person
        with two labelled joints counts.

    Returns
    -------
    The median height, NaN when no person has two labelled joints.

    >>> kp = np.zeros((3, 5, 2))  # x = 0; y below
    >>> kp[0, :, 1], kp[1, :, 1] = [0, 10, 30, 40, 20], [5, 60, 70, 55, 9]
    >>> kp[2, :, 1], kp[2, 2:] = [0, 2, 0, 0, 0], np.nan  # 2 of 5 labelled: not counted
    >>> float(person_height(kp))  # persons 0 and 1: heights 40 and 65
    52.5
    """
    xy = labelled_xy(keypoints)
    xy = xy.reshape(-1, *xy.shape[-2:])
    y = np.where(np.isfinite(xy).all(-1), xy[..., 1], np.nan)  # (N, K)
    n_lab = np.isfinite(y).sum(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: NaN height
        h = np.nanmax(y, axis=-1) - np.nanmin(y, axis=-1)
    ok = (n_lab >= 2) & np.isfinite(h)
    full = ok & (n_lab >= min_labelled * y.shape[-1])
    use = full if full.any() else ok
    return float(np.median(h[use])) if use.any() else float("nan")


def _largest_bias(biases: Mapping[str, BiasEstimate]) -> float:
    """The longest per-joint mean bias (same units as the biases), 0 when none is finite."""
    mags = [np.hypot(*b.mean.T) for b in biases.values()]
    return max((float(np.nanmax(m)) for m in mags if np.isfinite(m).any()), default=0.0)


def _height_or_default(height: float | None) -> float:
    h = DEFAULT_PERSON_HEIGHT if height is None else float(height)
    return h if np.isfinite(h) and h > 0 else DEFAULT_PERSON_HEIGHT


def _nice(x: float) -> float:
    """The 1, 2, 3, 5 × 10^n value nearest to ``x`` on a log scale (x > 0): a factor
    that reads well ("×30"), at most √2 from ``x``."""
    p = 10.0 ** np.floor(np.log10(x))
    cands = [m * p for m in (1, 2, 3, 5, 10)]
    return float(min(cands, key=lambda c: abs(np.log(c / x))))


def auto_arrow_magnify(biases: Mapping[str, BiasEstimate],
                       person_height: float | None = None) -> float:
    """The arrow magnification :func:`joint_bias_diagram` uses by default: the round
    factor k (1, 2, 3, 5, 10, 20, 30, 50, …) that draws the longest mean bias closest to
    :data:`ARROW_TARGET` of the person's height, never below 1 (a bias that large is
    drawn at its true size).

    Parameters
    ----------
    biases : method -> :class:`BiasEstimate` of per-joint means (K, 2), heatmap px.
    person_height : the persons' height, heatmap px (:func:`person_height`); default
        :data:`DEFAULT_PERSON_HEIGHT`.

    >>> b = BiasEstimate(np.array([[0.3, 0.0], [0.0, -0.1]]), *[np.zeros((2, 2))] * 2,
    ...                  np.ones(2), *[np.zeros(2)] * 3, n_boot=0, ci=0.95, seed=None)
    >>> auto_arrow_magnify({"dark": b}, 40.0)  # 0.15 · 40 / 0.3 = 20
    20.0
    """
    big = _largest_bias(biases)
    if not big > 0:
        return 1.0
    return max(1.0, _nice(ARROW_TARGET * _height_or_default(person_height) / big))


def joint_bias_diagram(biases: Mapping[str, BiasEstimate],
                       keypoint_names: Sequence[str] | None = None,
                       skeleton: Sequence[Sequence[int]] | None = None,
                       layout: np.ndarray | None = None, *, magnify: float | None = None,
                       person_height: float | None = None, units: str = "heatmap px",
                       title: str | None = None) -> go.Figure:
    """Per-joint mean bias as arrows on a body diagram, one colour per decoder, magnified
    ×k so that sub-pixel biases can be read.

    The diagram is a person ``person_height`` heatmap px tall; an arrow ×k is drawn k
    times longer than the bias would be on that person (k = 1: true size). The factor is
    printed in the title and beside a reference arrow of a round length drawn at the same
    magnification.

    Parameters
    ----------
    biases : method -> :class:`BiasEstimate` (``ErrorAnalysis.bias("hm")``); per-joint
        means (K, 2), heatmap px.
    keypoint_names : K names (hover text); default COCO's.
    skeleton : limbs as 0-based pairs; default COCO's for K = 17, none otherwise.
    layout : (K, 2) joint positions of the diagram (x right, y down); default
        :data:`COCO_BODY_LAYOUT` for K = 17 (otherwise required, e.g. from
        :func:`layout_from_keypoints`).
    magnify : the arrow magnification k (> 0); default automatic
        (:func:`auto_arrow_magnify`: the longest arrow about :data:`ARROW_TARGET` of the
        body's height).
    person_height : the persons' height in heatmap px (:func:`person_height` of the GT in
        heatmap px), which the diagram's joint extent stands for; default
        :data:`DEFAULT_PERSON_HEIGHT`.
    units : the biases' unit, for labels.

    Returns
    -------
    Figure: a ``"skeleton"`` line trace, a ``"joints"`` marker trace, per method one trace
    named by the method whose points are (tail, head, None) triples with
    ``head = layout[j] + scale · bias.mean[j]``, ``scale = k · e / person_height`` diagram
    units per heatmap px (``e`` the layout's vertical joint extent), an arrow marker at
    each head, and a reference arrow (trace named ``"scale: <r> <units> (arrows ×<k>)"``,
    labelled ``"<r> <units> (arrows ×<k>)"`` in place, no legend entry; ``r`` the largest
    1-2-5 length not above the longest bias) from ``(x0, y0)`` to ``(x0 + scale · r, y0)``
    below the feet. ``fig.layout.meta`` holds ``arrow_scale`` (the scale), ``magnify``
    (k) and ``person_height``. The y axis is reversed (down = +y), so a BR bias points to
    the lower right.
    """
    methods = _methods_of(biases)
    k = biases[methods[0]].mean.shape[0]
    names = list(keypoint_names) if keypoint_names is not None else \
        (list(COCO_KEYPOINT_NAMES) if k == 17 else [str(i) for i in range(k)])
    if layout is None:
        if k != 17:
            raise InputError(f"a body layout is needed for K = {k} joints (only COCO's 17 "
                             f"have a default); see layout_from_keypoints", field="layout")
        layout = COCO_BODY_LAYOUT
    pos = np.asarray(layout, dtype=np.float64)
    if pos.shape != (k, 2):
        raise InputError(f"expected layout of shape ({k}, 2), got {pos.shape}", field="layout")
    if skeleton is None:
        skeleton = COCO_SKELETON if k == 17 else ()
    height = _height_or_default(person_height)
    mag = auto_arrow_magnify(biases, height) if magnify is None else float(magnify)
    if not (np.isfinite(mag) and mag > 0):
        raise InputError(f"expected an arrow magnification > 0, got {magnify!r}",
                         field="magnify")
    # the layout's joint extent stands for the person's height: diagram units per px
    lay_y = pos[np.isfinite(pos).all(1), 1]
    extent = float(lay_y.max() - lay_y.min()) if lay_y.size > 1 and np.ptp(lay_y) > 0 else 1.0
    arrow_scale = mag * extent / height
    fig = go.Figure()
    sx: list[float | None] = []
    sy: list[float | None] = []
    for a, b in skeleton:
        if np.isfinite(pos[[a, b]]).all():
            sx += [pos[a, 0], pos[b, 0], None]
            sy += [pos[a, 1], pos[b, 1], None]
    fig.add_trace(go.Scatter(x=sx, y=sy, mode="lines", name="skeleton", hoverinfo="skip",
                             line=dict(color="rgba(0,0,0,0.25)", width=6),
                             showlegend=False))
    fig.add_trace(go.Scatter(x=pos[:, 0], y=pos[:, 1], mode="markers", name="joints",
                             text=names, hovertemplate="%{text}<extra></extra>",
                             marker=dict(color="rgba(0,0,0,0.35)", size=9),
                             showlegend=False))
    for m in methods:
        b = biases[m]
        xs: list[float | None] = []
        ys: list[float | None] = []
        sizes: list[float] = []
        texts: list[str] = []
        for j in range(k):  # K joints: building plot data, not a hot path
            mx, my = b.mean[j]
            if not (np.isfinite(mx) and np.isfinite(my) and np.isfinite(pos[j]).all()):
                continue
            head = pos[j] + arrow_scale * b.mean[j]
            ci = ""
            if np.isfinite(b.lo[j]).all() and np.isfinite(b.hi[j]).all():
                ci = (f"<br>CI x [{fmt_num(b.lo[j, 0], 3, True)}, "
                      f"{fmt_num(b.hi[j, 0], 3, True)}], y [{fmt_num(b.lo[j, 1], 3, True)}, "
                      f"{fmt_num(b.hi[j, 1], 3, True)}]")
            tip = (f"{m} · {names[j]}<br>bias ({fmt_num(mx, 3, True)}, "
                   f"{fmt_num(my, 3, True)}) {units}{ci}<br>n = {int(b.count[j])}")
            xs += [pos[j, 0], head[0], None]
            ys += [pos[j, 1], head[1], None]
            sizes += [0, 10, 0]
            texts += [tip, tip, ""]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", name=m, text=texts,
            hovertemplate="%{text}<extra></extra>",
            line=dict(color=method_color(m), width=2.5),
            marker=dict(symbol="arrow", angleref="previous", size=sizes,
                        color=method_color(m))))
    # a reference arrow of a round length, at the same scale, under the diagram
    ref = _round_length(_largest_bias(biases))
    if ref > 0 and np.isfinite(pos).all(1).any():
        x0 = float(np.nanmin(pos[:, 0]))
        y0 = float(np.nanmax(pos[:, 1])) + 0.08 * extent
        label = f"{ref:g} {units} (arrows ×{mag:g})"
        # labelled in place, not in the legend: a long entry would take legend rows from
        # the diagram on a narrow column; the label is not clipped at the plot area's edge
        fig.add_trace(go.Scatter(
            x=[x0, x0 + arrow_scale * ref], y=[y0, y0], mode="lines+markers+text",
            name=f"scale: {label}", text=["", label], textposition="middle right",
            showlegend=False, cliponaxis=False, hoverinfo="skip",
            line=dict(color="black", width=2),
            marker=dict(symbol="arrow", angleref="previous", size=[0, 10], color="black")))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(
        # the factor goes on a second title line so narrow columns do not cut it off
        title=title or f"Mean bias per joint<br><sup>arrows ×{mag:g} (×1 = true size on a "
                       f"person {height:.0f} {units} tall)</sup>",
        legend_title_text="decoder", plot_bgcolor="white", height=540,
        # no axes to label: the body gets the width; plotly adds the legend's height to
        # the bottom margin (legend_below), 40 px keep a gap above a one-row legend
        margin={"l": 10, "r": 10, "t": 70, "b": 40},
        meta={"arrow_scale": arrow_scale, "magnify": mag, "person_height": height})
    return legend_below(fig)


def _round_length(x: float) -> float:
    """The largest of 1, 2, 5 × 10^n not above ``x`` (a scale bar's length); 0 for x <= 0."""
    if not (x > 0 and np.isfinite(x)):
        return 0.0
    p = 10.0 ** np.floor(np.log10(x))
    return float(max(m * p for m in (1, 2, 5) if m * p <= x * (1 + 1e-12)))


# --------------------------------------------------------------------------- phase

def phase_plot(phases: Mapping[str, PhaseCurve], axis: str = "both", analytic: bool = True,
               title: str | None = None) -> go.Figure:
    """Mean error vs the GT's sub-pixel phase, one line per decoder.

    Parameters
    ----------
    phases : method -> :class:`PhaseCurve` (``ErrorAnalysis.phases``).
    axis : ``"x"``, ``"y"`` or ``"both"`` (two panels: x error vs φx, y error vs φy).
    analytic : also draw argmax's analytic saw-tooth on noise-free peaks (dashed).

    Returns
    -------
    Figure; the trace of a method is named by it (``"<method> y"`` for the y panel in mode
    ``"both"``) with ``x`` = bin centres and ``y`` = the binned mean error.
    """
    if axis not in ("x", "y", "both"):
        raise InputError(f"expected 'x', 'y' or 'both', got {axis!r}", field="axis")
    methods = _methods_of(phases)
    axes = [0, 1] if axis == "both" else [0 if axis == "x" else 1]
    label = "xy"
    fig = make_subplots(rows=1, cols=len(axes), shared_yaxes=True, subplot_titles=[
        f"{label[a]} error vs φ{label[a]}" for a in axes]) if len(axes) > 1 else go.Figure()
    dense = np.linspace(0.0, 1.0, 401)
    saw = argmax_sawtooth(dense)
    jump = int(np.searchsorted(dense, 0.5, side="right"))
    sx = np.concatenate([dense[:jump], [np.nan], dense[jump:]])
    sy = np.concatenate([saw[:jump], [np.nan], saw[jump:]])
    for col, a in enumerate(axes, start=1):
        traces = []
        if analytic:
            traces.append(go.Scatter(
                x=sx, y=sy, mode="lines", name="argmax, analytic saw-tooth",
                legendgroup="analytic", showlegend=col == 1,
                line=dict(color="black", dash="dash", width=1)))
        for m in methods:
            pc = phases[m]
            traces.append(go.Scatter(
                x=pc.centers, y=pc.mean[a], mode="lines+markers",
                name=m if (len(axes) == 1 or col == 1) else f"{m} {label[a]}",
                legendgroup=m, showlegend=col == 1,
                line=dict(color=method_color(m)),
                error_y=dict(type="data", array=pc.std[a] / np.sqrt(np.maximum(pc.count[a], 1)),
                             visible=True, thickness=1),
                customdata=pc.count[a],
                hovertemplate=f"{m}<br>φ %{{x:.2f}}: %{{y:+.3f}} px (n = %{{customdata}})"
                              f"<extra></extra>"))
        for t in traces:
            if len(axes) > 1:
                fig.add_trace(t, row=1, col=col)
            else:
                fig.add_trace(t)
    fig.update_xaxes(range=[0, 1])
    if len(axes) > 1:  # short titles: two long ones run into each other side by side
        for col, a in enumerate(axes, start=1):
            fig.update_xaxes(title_text=f"φ{label[a]} (heatmap px)", row=1, col=col)
    else:
        fig.update_xaxes(title_text="sub-pixel phase φ = GT − floor(GT) (heatmap px)")
    if len(axes) > 1:
        fig.update_yaxes(title_text="mean error (heatmap px)", row=1, col=1)
    else:
        fig.update_yaxes(title_text="mean error (heatmap px)")
    # the definition of φ on a second title line, so narrow columns do not cut it off
    fig.update_layout(title=title or "Error vs sub-pixel phase of the GT<br><sup>φ = GT − "
                                     "floor(GT); dashed: argmax's saw-tooth</sup>",
                      legend_title_text="decoder")
    return legend_below(fig)


# --------------------------------------------------------------------------- taxonomy

def _taxonomy_counts(t: KeypointTaxonomy | Mapping[str, int]) -> dict[str, int]:
    if isinstance(t, KeypointTaxonomy):
        return t.counts()
    return {k: int(t[k]) for k in TAXONOMY}


def taxonomy_bars(taxonomies: Mapping[str, KeypointTaxonomy | Mapping[str, int]],
                  share: bool = True, title: str | None = None) -> go.Figure:
    """Grouped bars of the keypoint error taxonomy, one colour per decoder.

    Parameters
    ----------
    taxonomies : method -> :class:`KeypointTaxonomy` or a counts dict
        (``ErrorAnalysis.taxonomies``).
    share : plot shares of the classified keypoints (else counts).

    Returns
    -------
    Figure; one ``Bar`` per method with ``x`` = :data:`TAXONOMY` and ``y`` the shares or
    counts.
    """
    methods = _methods_of(taxonomies)
    fig = go.Figure()
    for m in methods:
        c = _taxonomy_counts(taxonomies[m])
        tot = sum(c.values())
        y = [(c[k] / tot if tot else 0.0) if share else c[k] for k in TAXONOMY]
        fig.add_trace(go.Bar(x=list(TAXONOMY), y=y, name=m, marker_color=method_color(m),
                             customdata=[c[k] for k in TAXONOMY],
                             hovertemplate=f"{m}<br>%{{x}}: %{{y:{'.1%' if share else 'd'}}}"
                                           f" (%{{customdata}} keypoints)<extra></extra>"))
    fig.update_layout(barmode="group", legend_title_text="decoder",
                      title=title or "Keypoint errors (Ronchi & Perona 2017): good ks ≥ .85, "
                                     "jitter .5–.85, inversion, swap, miss")
    if share:
        fig.update_yaxes(tickformat=".0%", title_text="share of labelled keypoints")
    else:
        fig.update_yaxes(title_text="keypoints")
    return legend_below(fig)


def taxonomy_ap_bars(aps: Mapping[str, TaxonomyAP], gain: bool = False,
                     title: str | None = None) -> go.Figure:
    """AP of each decoder as is and with each error type corrected.

    Parameters
    ----------
    aps : method -> :class:`TaxonomyAP` (``ErrorAnalysis.taxonomy_aps``).
    gain : plot the AP gained by each correction instead of the AP.

    Returns
    -------
    Figure; one ``Bar`` per method, ``x`` = ``original``, the error types and ``all``
    (without ``original`` when ``gain``).
    """
    methods = _methods_of(aps)
    cols = (() if gain else ("original",)) + ERROR_TYPES + ("all",)
    fig = go.Figure()
    for m in methods:
        vals = aps[m].gain() if gain else aps[m].ap()
        fig.add_trace(go.Bar(x=list(cols), y=[vals[c] for c in cols], name=m,
                             marker_color=method_color(m),
                             hovertemplate=f"{m}<br>%{{x}}: %{{y:.4f}}<extra></extra>"))
    fig.update_layout(barmode="group", legend_title_text="decoder",
                      title=title or ("AP gained by correcting each error type" if gain
                                      else "AP with each error type corrected"))
    fig.update_yaxes(title_text="Δ AP" if gain else "AP")
    return legend_below(fig)


# --------------------------------------------------------------------------- all at once

def error_figures(analysis: ErrorAnalysis, method: str | None = None) -> dict[str, go.Figure]:
    """Every figure of an :class:`ErrorAnalysis`.

    Keys: ``quadrants``, ``density`` (of ``method``, default the last one, heatmap px),
    ``joints`` (needs a layout: COCO's, else one from the GT; arrows magnified
    automatically against the GT persons' height in heatmap px), ``phase``, and when
    computed ``taxonomy`` and ``taxonomy_ap``.
    """
    names = list(analysis.methods)
    m = method or names[-1]
    if m not in analysis.methods:
        raise InputError(f"expected one of {names}, got {m!r}", field="method")
    me = analysis.methods[m]
    k = len(analysis.keypoint_names)
    layout = None
    if k != 17:
        layout = layout_from_keypoints(me.gt_img)
    figs = {
        "quadrants": quadrant_histogram(analysis.quadrants),
        "density": error_density(me.err_hm, me.bias.get("hm"), method=m),
        "joints": joint_bias_diagram(analysis.bias("hm"), analysis.keypoint_names,
                                     analysis.skeleton, layout,
                                     person_height=person_height(me.gt_hm)),
        "phase": phase_plot(analysis.phases),
    }
    if analysis.taxonomies:
        figs["taxonomy"] = taxonomy_bars(analysis.taxonomies)
    if analysis.taxonomy_aps:
        figs["taxonomy_ap"] = taxonomy_ap_bars(analysis.taxonomy_aps)
    return figs
