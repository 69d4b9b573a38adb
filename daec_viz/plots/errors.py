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

from collections.abc import Mapping, Sequence

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
)
from daec_viz.analysis.taxonomy import ERROR_TYPES, TAXONOMY, KeypointTaxonomy, TaxonomyAP
from daec_viz.exceptions import InputError
from daec_viz.plots.body_diagram import (
    ARROW_TARGET,
    COCO_BODY_LAYOUT,
    DEFAULT_PERSON_HEIGHT,
    auto_arrow_magnify,
    joint_bias_diagram,
    layout_from_keypoints,
    person_height,
)
from daec_viz.plots.style import METHOD_COLORS, fmt_num, legend_below, method_color, methods_of

__all__ = ["COCO_BODY_LAYOUT", "METHOD_COLORS", "DEFAULT_PERSON_HEIGHT", "ARROW_TARGET",
           "quadrant_histogram", "error_density", "joint_bias_diagram", "auto_arrow_magnify",
           "person_height", "phase_plot", "taxonomy_bars", "taxonomy_ap_bars",
           "error_figures", "layout_from_keypoints"]

#: A canonical frontal layout of the 17 COCO joints (x right, y down; height about 1).

_TAXONOMY_COLORS = {"good": "#2ca02c", "jitter": "#8C4646", "inversion": "#D96459",
                    "swap": "#F2AE72", "miss": "#F2E394"}


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
    methods = methods_of(stats)
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
    methods = methods_of(phases)
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
    methods = methods_of(taxonomies)
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
    methods = methods_of(aps)
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
