"""Figures of the "Learn" page: the paper's eq. (3)-(10) in 1-D and 2-D, and live Δ_opt.

- :func:`signal_noise_figure`: g, h, f = g + h on the 1-D grid, the integral window
  ``[x1, x2 − Δ]`` shaded, the cut ``[x2 − Δ, x2]`` hatched, μ, ν(0) and ν(Δ) as
  vertical lines (:class:`daec_viz.synthetic.teaching.Illustration1D`).
- :func:`estimate_curve_figure`: ν(Δ) against Δ with μ and the compensating Δ.
- :func:`map_2d_figure`: a 2-D map with DAEC's window, the argmax, μ and the estimate.
- :func:`delta_opt_figure`: mean OKS against Δ for the simulated network, Δ_opt marked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from daec_viz.decoding.daec import daec_window
from daec_viz.plots.style import METHOD_COLORS
from daec_viz.synthetic.teaching import DeltaCurve, Illustration1D

__all__ = ["signal_noise_figure", "estimate_curve_figure", "map_2d_figure",
           "delta_opt_figure"]

_G, _H, _F = "#2ca02c", "#7f7f7f", "#1f77b4"


def signal_noise_figure(il: Illustration1D, title: str | None = None) -> go.Figure:
    """g (signal), h (noise), f = g + h and the DAEC window of eq. (10).

    Traces: ``"g (signal)"``, ``"h (noise)"``, ``"f = g + h"``; shapes: ``"window"``
    (``[x1, x2 − Δ]``, shaded) and ``"cut"`` (``[x2 − Δ, x2]``, when Δ > 0); vertical lines
    ``"μ"``, ``"ν(0)"`` and ``"ν(Δ)"`` (shape names).
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=il.x, y=il.g, name="g (signal)", line={"color": _G}))
    fig.add_trace(go.Scatter(x=il.x, y=il.h, name="h (noise)", line={"color": _H,
                                                                      "dash": "dot"}))
    fig.add_trace(go.Scatter(x=il.x, y=il.f, name="f = g + h", line={"color": _F,
                                                                      "width": 3}))
    top = il.x2 - il.delta
    fig.add_vrect(x0=il.x1, x1=max(il.x1, top), fillcolor="rgba(214, 39, 40, 0.12)",
                  line_width=0, name="window", annotation_text="∫ over [x1, x2 − Δ]",
                  annotation_position="top left")
    if il.delta > 0:
        fig.add_vrect(x0=top, x1=il.x2, fillcolor="rgba(0, 0, 0, 0.08)", line_width=0,
                      name="cut", annotation_text=f"cut Δ = {il.delta:g}",
                      annotation_position="top right")
    for name, v, color, dash in (("μ", il.mu, _G, "solid"), ("ν(0)", il.nu_full, _F, "dot"),
                                 ("ν(Δ)", il.nu_at, METHOD_COLORS["daec"], "dash")):
        if np.isfinite(v):
            fig.add_vline(x=v, line={"color": color, "dash": dash, "width": 2}, name=name)
    lo, hi = il.x1 - 4, il.x2 + 4
    fig.update_xaxes(range=[lo, hi], title="x (heatmap px)")
    fig.update_layout(title=title or f"f = g + h; μ = {il.mu:.2f}, ν(0) = {il.nu_full:.3f}, "
                                     f"ν(Δ={il.delta:g}) = {il.nu_at:.3f}",
                      height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.2, "yanchor": "top"})
    return fig


def estimate_curve_figure(il: Illustration1D, title: str | None = None) -> go.Figure:
    """ν(Δ) (eq. (10)) against Δ, μ as a horizontal line, the current Δ and the
    compensating Δ* (where ν(Δ*) = μ) marked. Trace ``"ν(Δ)"`` has x = ``il.deltas``,
    y = ``il.nu``; the current point is trace ``"current"``."""
    fig = go.Figure(go.Scatter(x=il.deltas, y=il.nu, name="ν(Δ)", mode="lines",
                               line={"color": METHOD_COLORS["daec"], "width": 3}))
    fig.add_hline(y=il.mu, line={"color": _G, "width": 2}, name="μ",
                  annotation_text="μ (truth)", annotation_position="bottom right")
    fig.add_trace(go.Scatter(x=[il.delta], y=[il.nu_at], name="current", mode="markers",
                             marker={"size": 12, "color": METHOD_COLORS["daec"],
                                     "line": {"color": "black", "width": 1}}))
    if il.delta_star is not None:
        fig.add_trace(go.Scatter(x=[il.delta_star], y=[il.mu], name="Δ*: ν = μ",
                                 mode="markers+text", text=[f"Δ* = {il.delta_star:.2f}"],
                                 textposition="top right",
                                 marker={"symbol": "star", "size": 14, "color": "black"}))
    fig.update_layout(title=title or "The estimate moves as Δ slides (eq. 10)",
                      xaxis_title="Δ (heatmap px)", yaxis_title="ν(Δ) (heatmap px)",
                      height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.2, "yanchor": "top"})
    return fig


def map_2d_figure(f: np.ndarray, sigma: float, delta: float, pattern: str,
                  mu: Sequence[float], argmax: Sequence[float], estimate: Sequence[float],
                  title: str | None = None) -> go.Figure:
    """A 2-D map ``f`` (H, W) with DAEC's full window (dashed, shape ``"window"``), the kept
    region (shape ``"kept"``), the argmax, the truth μ (trace ``"μ"``) and DAEC's estimate
    (trace ``"daec"``)."""
    h, w = f.shape
    win = daec_window((int(argmax[0]), int(argmax[1])), sigma, delta, pattern, (w, h))
    fig = go.Figure(go.Heatmap(z=f, colorscale="Viridis", name="f",
                               colorbar={"thickness": 12},
                               hovertemplate="x=%{x}, y=%{y}: %{z:.3f}<extra></extra>"))
    x0, x1, y0, y1 = win.full
    fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, name="window",
                  line={"color": "white", "dash": "dash", "width": 2})
    k0, k1, l0, l1 = win.kept
    if k1 > k0 and l1 > l0:
        fig.add_shape(type="rect", x0=k0, x1=k1, y0=l0, y1=l1, name="kept",
                      line={"color": METHOD_COLORS["daec"], "width": 3},
                      fillcolor="rgba(214, 39, 40, 0.15)")
    for name, p, sym, color in (("argmax", argmax, "circle-open", "black"),
                                ("μ", mu, "star", METHOD_COLORS["gt"]),
                                ("daec", estimate, "x", METHOD_COLORS["daec"])):
        fig.add_trace(go.Scatter(x=[float(p[0])], y=[float(p[1])], mode="markers", name=name,
                                 marker={"symbol": sym, "size": 14, "color": color,
                                         "line": {"width": 2, "color": color}}))
    fig.update_xaxes(range=[-0.5, w - 0.5], constrain="domain", title="x (heatmap px)")
    fig.update_yaxes(range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain",
                     title="y (heatmap px)")
    fig.update_layout(title=title or f"2-D: {pattern} cut, Δ = {delta:g}", height=460,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "yref": "container", "y": 0,
                              "yanchor": "bottom"})
    return fig


def delta_opt_figure(curve: DeltaCurve, title: str | None = None) -> go.Figure:
    """Mean OKS of DAEC against Δ on the simulated network (trace ``"mean OKS"``), with
    Δ_opt (trace ``"Δ_opt"``)."""
    i = int(np.flatnonzero(curve.deltas == curve.delta_opt)[0])
    fig = go.Figure(go.Scatter(x=curve.deltas, y=curve.mean_oks, mode="lines+markers",
                               name="mean OKS", line={"color": METHOD_COLORS["daec"]}))
    fig.add_trace(go.Scatter(x=[curve.delta_opt], y=[curve.mean_oks[i]], name="Δ_opt",
                             mode="markers+text", text=[f"Δ_opt = {curve.delta_opt:g}"],
                             textposition="top center",
                             marker={"symbol": "star", "size": 16, "color": "black"}))
    fig.update_layout(title=title or f"Simulated network ({curve.n} people): mean OKS vs Δ",
                      xaxis_title="Δ (heatmap px)", yaxis_title="mean keypoint OKS",
                      height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      showlegend=False)
    return fig
