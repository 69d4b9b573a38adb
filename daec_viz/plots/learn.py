"""Figures of the "Learn" page: the paper's eq. (3)-(10) in 1-D and 2-D, and live Δ_opt.

- :func:`signal_noise_figure`: g, h, f = g + h on the 1-D grid, the integral window
  ``[x1, x2 − Δ]`` shaded, the cut ``[x2 − Δ, x2]`` hatched, μ, ν(0) and ν(Δ) as
  vertical lines (:class:`daec_viz.synthetic.teaching.Illustration1D`).
- :func:`estimate_curve_figure`: ν(Δ) against Δ with μ and the compensating Δ.
- :func:`map_2d_figure`: a 2-D map with DAEC's window, the argmax, μ and the estimate.
- :func:`map_2d_animation`: the same over a Δ grid as plotly frames (play/pause and a
  Δ slider inside the figure, so no Streamlit rerun per frame).
- :func:`delta_opt_figure`: mean OKS against Δ for the simulated network, Δ_opt marked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from daec_viz.decoding.daec import daec_window
from daec_viz.plots.style import METHOD_COLORS, legend_below
from daec_viz.synthetic.teaching import DeltaCurve, Illustration1D

__all__ = ["signal_noise_figure", "estimate_curve_figure", "map_2d_figure", "map_2d_animation",
           "delta_opt_figure"]

_G, _H, _F = "#2ca02c", "#7f7f7f", "#1f77b4"


def signal_noise_figure(il: Illustration1D, title: str | None = None) -> go.Figure:
    """g (signal), h (noise), f = g + h and the DAEC window of eq. (10).

    Traces: ``"g (signal)"``, ``"h (noise)"``, ``"f = g + h"``; shapes: ``"window"``
    (``[x1, x2 − Δ]``, shaded; ``[x1 + Δ, x2]`` when ``il.side == "lower"``) and ``"cut"``
    (the part cut off, when Δ > 0); vertical lines
    ``"μ"``, ``"ν(0)"`` and ``"ν(Δ)"`` (shape names).
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=il.x, y=il.g, name="g (signal)", line={"color": _G}))
    fig.add_trace(go.Scatter(x=il.x, y=il.h, name="h (noise)", line={"color": _H,
                                                                      "dash": "dot"}))
    fig.add_trace(go.Scatter(x=il.x, y=il.f, name="f = g + h", line={"color": _F,
                                                                      "width": 3}))
    # the kept window and the cut: [x1, x2 − Δ] and [x2 − Δ, x2], or at the lower end
    # [x1 + Δ, x2] and [x1, x1 + Δ] (il.side)
    if il.side == "lower":
        keep = (min(il.x1 + il.delta, il.x2), il.x2)
        cut, label, pos = (il.x1, keep[0]), "∫ over [x1 + Δ, x2]", "top right"
    else:
        keep = (il.x1, max(il.x1, il.x2 - il.delta))
        cut, label, pos = (keep[1], il.x2), "∫ over [x1, x2 − Δ]", "top left"
    fig.add_vrect(x0=keep[0], x1=keep[1], fillcolor="rgba(214, 39, 40, 0.12)",
                  line_width=0, name="window", annotation_text=label,
                  annotation_position=pos)
    if il.delta > 0:
        fig.add_vrect(x0=cut[0], x1=cut[1], fillcolor="rgba(0, 0, 0, 0.08)", line_width=0,
                      name="cut", annotation_text=f"cut Δ = {il.delta:g}",
                      annotation_position="top left" if il.side == "lower" else "top right")
    for name, v, color, dash in (("μ", il.mu, _G, "solid"), ("ν(0)", il.nu_full, _F, "dot"),
                                 ("ν(Δ)", il.nu_at, METHOD_COLORS["daec"], "dash")):
        if np.isfinite(v):
            fig.add_vline(x=v, line={"color": color, "dash": dash, "width": 2}, name=name)
    lo, hi = il.x1 - 4, il.x2 + 4
    fig.update_xaxes(range=[lo, hi], title="x (heatmap px)")
    fig.update_layout(title=title or f"f = g + h; μ = {il.mu:.2f}, ν(0) = {il.nu_full:.3f}, "
                                     f"ν(Δ={il.delta:g}) = {il.nu_at:.3f}",
                      height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return legend_below(fig)


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
                      height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return legend_below(fig)


def _window_shapes(argmax: Sequence[float], sigma: float, delta: float, pattern: str,
                   size: tuple[int, int]) -> list[dict]:
    """The DAEC window around ``argmax`` as plotly rectangles: the full (6σ+3) window
    (``"window"``, dashed) and the region kept after the Δ-cut (``"kept"``; an empty
    window draws as a point at its centre, so animation frames keep two shapes)."""
    win = daec_window((int(argmax[0]), int(argmax[1])), sigma, delta, pattern, size)
    x0, x1, y0, y1 = win.full
    k0, k1, l0, l1 = win.kept
    if not (k1 > k0 and l1 > l0):
        k0 = k1 = float(argmax[0])
        l0 = l1 = float(argmax[1])
    return [{"type": "rect", "x0": x0, "x1": x1, "y0": y0, "y1": y1, "name": "window",
             "line": {"color": "white", "dash": "dash", "width": 2}},
            {"type": "rect", "x0": k0, "x1": k1, "y0": l0, "y1": l1, "name": "kept",
             "line": {"color": METHOD_COLORS["daec"], "width": 3},
             "fillcolor": "rgba(214, 39, 40, 0.15)"}]


def map_2d_animation(f: np.ndarray, sigma: float, deltas: Sequence[float], pattern: str,
                     mu: Sequence[float], argmax: Sequence[float],
                     estimates: np.ndarray, active: int = 0) -> go.Figure:
    """:func:`map_2d_figure` animated over Δ: one frame per Δ of ``deltas`` (named
    ``f"{Δ:g}"``) moving the kept region and DAEC's estimate, with play/pause buttons and
    a Δ slider inside the figure (no server round trip per frame).

    Parameters
    ----------
    f : (H, W) map, heatmap px.
    sigma : the Gaussian σ of the window's half-width ``int(3σ + 1)``, heatmap px.
    deltas : (D,) Δ values, heatmap px.
    pattern : the cut corner (BR, UR, BL, UL).
    mu, argmax : (2,) the truth and the integer argmax, (x, y) heatmap px.
    estimates : (D, 2) DAEC's (x, y) at each Δ (e.g. :func:`~daec_viz.synthetic.teaching.
        estimate_2d_curve`), heatmap px.
    active : index into ``deltas`` of the frame shown before play (the slider's start).

    Returns
    -------
    A figure whose ``frames`` (D) each update the ``"daec"`` trace and the two window
    shapes; ``layout.sliders[0].steps`` (D) jump to them.
    """
    deltas = [float(d) for d in deltas]
    est = np.asarray(estimates, dtype=np.float64).reshape(len(deltas), 2)
    if not 0 <= active < len(deltas):
        active = 0
    h, w = f.shape
    fig = map_2d_figure(f, sigma, deltas[active], pattern, mu, argmax, est[active],
                        title=f"2-D: {pattern} cut, Δ from {deltas[0]:g} to {deltas[-1]:g}")
    idx = [t.name for t in fig.data].index("daec")
    names = [f"{d:g}" for d in deltas]
    # frames carry only the estimate trace and the window shapes: the (H, W) heatmap
    # stays in fig.data once instead of D times in the page's JSON
    fig.frames = [go.Frame(name=n, traces=[idx],
                           data=[go.Scatter(x=[e[0]], y=[e[1]])],
                           layout={"shapes": _window_shapes(argmax, sigma, d, pattern, (w, h)),
                                   "title": {"text": f"2-D: {pattern} cut, Δ = {d:g}: "
                                             f"error ({e[0] - mu[0]:+.2f}, "
                                             f"{e[1] - mu[1]:+.2f}) px"}})
                  for n, d, e in zip(names, deltas, est, strict=True)]
    step_args = {"frame": {"duration": 400, "redraw": True}, "mode": "immediate",
                 "transition": {"duration": 0}}
    fig.update_layout(
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0, "y": -0.08,
                      "xanchor": "left", "yanchor": "top", "showactive": False,
                      "buttons": [{"label": "▶ play", "method": "animate",
                                   "args": [None, {**step_args, "fromcurrent": True}]},
                                  {"label": "❚❚ pause", "method": "animate",
                                   "args": [[None], {**step_args, "frame": {"duration": 0}}]}]}],
        sliders=[{"active": active, "x": 0.2, "len": 0.8, "y": -0.08, "yanchor": "top",
                  "currentvalue": {"prefix": "Δ = "},
                  "steps": [{"label": n, "method": "animate",
                             "args": [[n], step_args]} for n in names]}],
        margin={"l": 10, "r": 10, "t": 50, "b": 90}, height=540)
    return fig


def map_2d_figure(f: np.ndarray, sigma: float, delta: float, pattern: str,
                  mu: Sequence[float], argmax: Sequence[float], estimate: Sequence[float],
                  title: str | None = None) -> go.Figure:
    """A 2-D map ``f`` (H, W) with DAEC's full window (dashed, shape ``"window"``), the kept
    region (shape ``"kept"``), the argmax, the truth μ (trace ``"μ"``) and DAEC's estimate
    (trace ``"daec"``)."""
    h, w = f.shape
    fig = go.Figure(go.Heatmap(z=f, colorscale="Viridis", name="f",
                               colorbar={"thickness": 12},
                               hovertemplate="x=%{x}, y=%{y}: %{z:.3f}<extra></extra>"))
    for shape in _window_shapes(argmax, sigma, delta, pattern, (w, h)):
        fig.add_shape(**shape)
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
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return legend_below(fig)


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
