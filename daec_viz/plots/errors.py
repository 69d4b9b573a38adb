"""Figures of the error-bias analysis (:mod:`daec_viz.analysis`).

Every function returns a ``plotly.graph_objects.Figure`` and draws each decoder in its
colour of :data:`daec_viz.plots.style.METHOD_COLORS`. Image axes are kept: x right,
y **down** (y axes are reversed), so an arrow pointing to the lower right is a
bottom-right (BR) bias.

- :func:`quadrant_histogram`: counts and shares of BR/UR/BL/UL per decoder.
- :func:`error_density`: 2-D density of the error vectors with the mean-bias arrow.
- :func:`joint_bias_diagram`: per-joint mean bias as arrows on a body diagram.
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

__all__ = ["COCO_BODY_LAYOUT", "METHOD_COLORS", "quadrant_histogram", "error_density",
           "joint_bias_diagram", "phase_plot", "taxonomy_bars", "taxonomy_ap_bars",
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
                text = [f"{v:.1%}" for v in y]
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
    fig.update_layout(barmode="group", title=title or "Error quadrants (image axes: x right, "
                      "y down). Paper: BR > UR > BL > UL", legend_title_text="decoder")
    if "share" in panels:
        if len(panels) > 1:
            fig.update_yaxes(tickformat=".0%", row=1, col=2)
        else:
            fig.update_yaxes(tickformat=".0%")
    # headroom above the tallest bar for its vertical label
    for col, panel in enumerate(panels, start=1):
        top = max((stats[m].counts[k] if panel == "count" else stats[m].shares[k])
                  for m in methods for k in QUADRANTS) if methods else 1.0
        rng = [0, 1.18 * top if top > 0 else 1.0]
        if len(panels) > 1:
            fig.update_yaxes(range=rng, row=1, col=col)
        else:
            fig.update_yaxes(range=rng)
    fig.update_layout(uniformtext_minsize=9, uniformtext_mode="show")
    return fig


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


def joint_bias_diagram(biases: Mapping[str, BiasEstimate],
                       keypoint_names: Sequence[str] | None = None,
                       skeleton: Sequence[Sequence[int]] | None = None,
                       layout: np.ndarray | None = None, *, arrow_scale: float | None = None,
                       magnify: float = 1.0, units: str = "heatmap px",
                       title: str | None = None) -> go.Figure:
    """Per-joint mean bias as arrows on a body diagram, one colour per decoder.

    Parameters
    ----------
    biases : method -> :class:`BiasEstimate` (``ErrorAnalysis.bias("hm")``).
    keypoint_names : K names (hover text); default COCO's.
    skeleton : limbs as 0-based pairs; default COCO's for K = 17, none otherwise.
    layout : (K, 2) joint positions of the diagram (x right, y down); default
        :data:`COCO_BODY_LAYOUT` for K = 17 (otherwise required, e.g. from
        :func:`layout_from_keypoints`).
    arrow_scale : diagram units per bias unit; default: the largest bias is drawn 0.08
        long (body height ≈ 1).
    magnify : multiplies ``arrow_scale`` (the page's "arrow length" control) so small
        biases stay readable; the drawn scale is ``arrow_scale * magnify``.

    Returns
    -------
    Figure: a ``"skeleton"`` line trace, a ``"joints"`` marker trace, and per method one
    trace named by the method whose points are (tail, head, None) triples with
    ``head = layout[j] + arrow_scale * magnify * bias.mean[j]`` (an arrow marker at each
    head), and a reference arrow (trace named ``"scale: <r> <units>"``, ``r`` a round
    length near the largest bias) drawn at the same scale below the feet. The y axis is
    reversed (down = +y), so a BR bias points to the lower right.
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
    if arrow_scale is None:
        mags = [np.hypot(*b.mean.T) for b in biases.values()]
        big = max((float(np.nanmax(m)) for m in mags if np.isfinite(m).any()), default=0.0)
        arrow_scale = 0.08 / big if big > 0 else 1.0
    arrow_scale = float(arrow_scale) * float(magnify)
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
            if np.isfinite(b.lo[j]).all():
                ci = (f"<br>CI x [{b.lo[j, 0]:+.3f}, {b.hi[j, 0]:+.3f}], "
                      f"y [{b.lo[j, 1]:+.3f}, {b.hi[j, 1]:+.3f}]")
            tip = f"{m} · {names[j]}<br>bias ({mx:+.3f}, {my:+.3f}) {units}{ci}" \
                  f"<br>n = {int(b.count[j])}"
            xs += [pos[j, 0], head[0], None]
            ys += [pos[j, 1], head[1], None]
            sizes += [0, 11, 0]
            texts += [tip, tip, ""]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", name=m, text=texts,
            hovertemplate="%{text}<extra></extra>",
            line=dict(color=method_color(m), width=2.5),
            marker=dict(symbol="arrow", angleref="previous", size=sizes,
                        color=method_color(m))))
    # a reference arrow of a round length, at the same scale, under the diagram
    ref = _round_length(0.08 / arrow_scale * float(magnify)) if arrow_scale > 0 else 0.0
    if ref > 0 and np.isfinite(pos).any():
        x0 = float(np.nanmin(pos[:, 0]))
        y0 = float(np.nanmax(pos[:, 1])) + 0.08
        fig.add_trace(go.Scatter(
            x=[x0, x0 + arrow_scale * ref], y=[y0, y0], mode="lines+markers+text",
            name=f"scale: {ref:g} {units}", text=["", f"{ref:g} {units}"],
            textposition="middle right", hoverinfo="skip", line=dict(color="black", width=2),
            marker=dict(symbol="arrow", angleref="previous", size=[0, 10], color="black")))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(
        # the scale goes on a second title line so narrow columns do not cut it off
        title=title or f"Mean bias per joint<br><sup>arrow: 1 {units} of bias = "
                       f"{arrow_scale:.3g} body heights</sup>",
        legend_title_text="decoder", plot_bgcolor="white", meta={"arrow_scale": arrow_scale})
    return fig


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
    fig.update_xaxes(title_text="sub-pixel phase φ = GT − floor(GT) (heatmap px)",
                     range=[0, 1])
    if len(axes) > 1:
        fig.update_yaxes(title_text="mean error (heatmap px)", row=1, col=1)
    else:
        fig.update_yaxes(title_text="mean error (heatmap px)")
    fig.update_layout(title=title or "Error vs sub-pixel phase of the GT (argmax: saw-tooth)",
                      legend_title_text="decoder")
    return fig


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
    return fig


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
    return fig


# --------------------------------------------------------------------------- all at once

def error_figures(analysis: ErrorAnalysis, method: str | None = None) -> dict[str, go.Figure]:
    """Every figure of an :class:`ErrorAnalysis`.

    Keys: ``quadrants``, ``density`` (of ``method``, default the last one, heatmap px),
    ``joints`` (needs a layout: COCO's, else one from the GT), ``phase``, and when
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
                                     analysis.skeleton, layout),
        "phase": phase_plot(analysis.phases),
    }
    if analysis.taxonomies:
        figs["taxonomy"] = taxonomy_bars(analysis.taxonomies)
    if analysis.taxonomy_aps:
        figs["taxonomy_ap"] = taxonomy_ap_bars(analysis.taxonomy_aps)
    return figs
