"""AP (or any of the 10 COCO stats) against DAEC's Δ, from a sweep table.

:func:`sweep_figure` draws the table of :func:`daec_viz.evaluation.sweep.run_sweep`: one
line per cut pattern on the evaluated split (smoothing as the line style: solid raw,
dashed smoothed), the baselines (every other decoder in the table,
:data:`daec_viz.evaluation.sweep.BASELINES`) as horizontal lines in their method
colours, the train curve of the chosen pattern (dotted) with Δ_opt marked on it and
labelled with its test value, and the current app-wide Δ as a vertical line.

:func:`delta_snippets` gives the chosen Δ as JSON and as configuration snippets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from daec_viz.decoding import DEFAULT_BLUR_KERNEL, PATTERNS, DecoderConfig
from daec_viz.evaluation.coco_eval import STAT_NAMES
from daec_viz.evaluation.sweep import BASELINES, blurs_itself, can_smooth
from daec_viz.exceptions import InputError
from daec_viz.plots.style import legend_below, method_color

__all__ = ["PATTERN_COLORS", "sweep_figure", "delta_snippets"]

#: One colour per cut pattern (DAEC's red for BR, the paper's recommended corner).
PATTERN_COLORS: dict[str, str] = {"BR": "#d62728", "UR": "#9467bd", "BL": "#8c564b",
                                  "UL": "#e377c2"}
_DASH = {False: "solid", True: "dash"}


def _curve(sweep: pd.DataFrame, pattern: str, smooth: bool, split: str) -> pd.DataFrame:
    sm = sweep["smooth"].astype(bool) == bool(smooth)
    return sweep[(sweep["method"] == "daec") & (sweep["pattern"] == pattern) & sm
                 & (sweep["split"] == split)].sort_values("delta")


def sweep_figure(sweep: pd.DataFrame, stat: str = "AP", split: str = "test", *,
                 patterns: Sequence[str] = PATTERNS, smooth: Sequence[bool] = (False, True),
                 choice: Any = None, current_delta: float | None = None,
                 baselines: Sequence[str] = BASELINES,
                 uncertainty: Any = None,
                 title: str | None = None) -> go.Figure:
    """``stat`` against Δ: one line per pattern × smoothing, baselines as horizontal lines.

    Parameters
    ----------
    sweep : the table of :func:`daec_viz.evaluation.sweep.run_sweep` (method, pattern,
        smooth, delta, split and the 10 stats).
    stat : one of :data:`daec_viz.evaluation.coco_eval.STAT_NAMES`.
    split : the split whose curves are drawn.
    patterns, smooth : which DAEC curves to draw.
    choice : a :class:`daec_viz.evaluation.sweep.DeltaChoice`: its train curve is drawn dotted
        (trace ``"train <pattern>"``), Δ_opt marked on it (trace ``"Δ_opt"``) and labelled
        with the test value (annotation ``"Δ_opt"`` on a white box, above the curves).
    current_delta : a vertical line at the app-wide Δ.
    uncertainty : a :class:`daec_viz.evaluation.delta_uncertainty.DeltaUncertainty`: its
        95 % AP band is drawn around its curve (trace ``"band"``, filled), and the share of
        resamples each Δ wins is in the hover text of trace ``"Δ_opt wins"``.

    Traces are named ``"<pattern>"`` or ``"<pattern> +smooth"`` (x = Δ, y = ``stat``); each
    baseline is a horizontal shape (name = method or ``"<method> +smooth"``) with a
    legend-only trace ``"<name> <value>"``. DARK and DARK-UDP are drawn once, from their
    ``+smooth`` row when present (as published they blur the map themselves), named
    ``"dark"`` / ``"dark_udp"``; a decoder without a blur option (gauss3, the integral
    decoders) once, from its one row, whatever ``smooth``. Baselines absent from the table
    are skipped. The y range
    is set to the band around the curves' maxima and the baselines.
    """
    if stat not in STAT_NAMES:
        raise InputError(f"expected one of {STAT_NAMES}, got {stat!r}", field="stat")
    if sweep.empty:
        raise InputError("the sweep table is empty", field="sweep")
    fig = go.Figure()
    for s in smooth:
        for p in patterns:
            c = _curve(sweep, p, s, split)
            if c.empty:
                continue
            name = p + (" +smooth" if s else "")
            fig.add_trace(go.Scatter(
                x=c["delta"].to_numpy(float), y=c[stat].to_numpy(float), mode="lines+markers",
                name=name, line={"color": PATTERN_COLORS.get(p), "dash": _DASH[bool(s)]},
                marker={"size": 5}, customdata=np.full(len(c), p),
                hovertemplate=f"{name}: Δ=%{{x:g}}, {stat}=%{{y:.4f}}<extra></extra>"))
    base_vals: list[float] = []
    for s in smooth:
        for m in baselines:
            own = blurs_itself(m)
            if own and not s and True in smooth:
                continue  # DARK(-UDP) as published blurs on its own: drawn once, from +smooth
            if not can_smooth(m) and s != smooth[0]:
                continue  # no blur option: one row, drawn once
            sm = sweep["smooth"].astype(bool) == bool(s) if can_smooth(m) else True
            rows = sweep[(sweep["method"] == m) & sm & (sweep["split"] == split)]
            if rows.empty:
                continue
            v = float(rows[stat].iloc[0])
            base_vals.append(v)
            name = m + (" +smooth" if s and can_smooth(m) and not own else "")
            dash = "solid" if own or not can_smooth(m) else _DASH[bool(s)]
            fig.add_hline(y=v, line={"color": method_color(m), "dash": dash, "width": 1.5},
                          name=name)
            # the legend entry (a shape has none): value in the label
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{name} {v:.3f}",
                                     line={"color": method_color(m), "dash": dash}))
    if choice is not None and choice.curve is not None:
        tr = choice.curve[choice.curve["split"] == choice.train_split].sort_values("delta")
        lab = f"train {choice.pattern}" + (" +smooth" if choice.smooth else "")
        fig.add_trace(go.Scatter(x=tr["delta"].to_numpy(float), y=tr[stat].to_numpy(float),
                                 mode="lines", name=lab,
                                 line={"color": PATTERN_COLORS.get(choice.pattern),
                                       "dash": "dot", "width": 1.5}, opacity=0.7))
        label = (f"Δ_opt = {choice.delta:g} · {choice.test_split} {stat} "
                 f"{choice.test_value:.4f}")
        fig.add_trace(go.Scatter(
            x=[choice.delta], y=[choice.train_value], mode="markers", name="Δ_opt",
            marker={"symbol": "star", "size": 16, "color": "black"}, text=[label],
            hovertemplate="%{text}<extra></extra>"))
        # the label on a white box above the star, readable over the curves
        fig.add_annotation(x=choice.delta, y=choice.train_value, text=label, name="Δ_opt",
                           showarrow=True, arrowhead=0, ax=0, ay=-40,
                           bgcolor="rgba(255, 255, 255, 0.9)", bordercolor="#444",
                           borderwidth=1, font={"size": 12})
    if uncertainty is not None:
        u = uncertainty
        x = np.asarray(u.deltas, float)
        lo, hi = np.asarray(u.band, float)[:, 0], np.asarray(u.band, float)[:, 1]
        name = f"{int(u.ci * 100)} % band, {u.split} {u.pattern}" + (
            " +smooth" if u.smooth else "")
        fig.add_trace(go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[hi, lo[::-1]], fill="toself",
                                 mode="lines", line={"width": 0}, name=name,
                                 fillcolor="rgba(120, 120, 120, 0.18)", hoverinfo="skip",
                                 legendgroup="band"))
        fig.add_trace(go.Scatter(
            x=x, y=np.asarray(u.ap, float), mode="markers", name="Δ_opt wins",
            marker={"size": 4 + 14 * np.sqrt(np.asarray(u.wins, float)), "color": "#444",
                    "symbol": "circle-open"},
            text=[f"Δ = {d:g}: Δ_opt in {w:.0%} of {u.n_boot} resamples"
                  for d, w in zip(x, u.wins, strict=True)],
            hovertemplate="%{text}<extra></extra>", legendgroup="band"))
    if current_delta is not None:
        fig.add_vline(x=float(current_delta), line={"color": "#444", "width": 1,
                                                    "dash": "dashdot"},
                      name="current Δ", annotation_text=f"Δ = {current_delta:g}",
                      annotation_position="bottom right",
                      annotation={"bgcolor": "rgba(255, 255, 255, 0.9)"})
    # focus on the interesting band (the curves fall off at large |Δ|); double-click the
    # plot to see everything
    tops = [float(np.nanmax(t.y)) for t in fig.data if t.y is not None and len(t.y)
            and t.y[0] is not None and np.isfinite(np.asarray(t.y, float)).any()]
    if tops:
        hi = max(tops + base_vals)
        lo = min([*base_vals, *tops])
        pad = max(0.02, 0.6 * (hi - lo))
        fig.update_yaxes(range=[lo - pad, hi + 0.25 * pad])
    fig.update_layout(title=title or f"{stat} vs Δ ({split} split)",
                      xaxis_title="Δ (heatmap px)", yaxis_title=stat, height=480,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      hovermode="closest")
    return legend_below(fig)


#: Line colours of other datasets' curves (distinct from the pattern colours).
DATASET_COLORS: tuple[str, ...] = ("#6a3d9a", "#b15928", "#1b9e77", "#e7298a", "#666666")


def add_dataset_curves(fig: go.Figure, others: Mapping[str, pd.DataFrame], stat: str,
                       split: str, pattern: str, smooth: bool,
                       choices: Mapping[str, Any] | None = None) -> go.Figure:
    """Draw other datasets' DAEC curves (``pattern``, ``smooth``, ``split``) on a
    :func:`sweep_figure`, one colour per dataset (trace name = the dataset's name), each
    with its own Δ_opt (``choices[name].delta``) marked as a diamond.

    Parameters
    ----------
    fig : the figure to add to (returned).
    others : dataset name -> its sweep table (:func:`~daec_viz.evaluation.sweep.run_sweep`).
    stat, split, pattern, smooth : which curve of each table.
    choices : dataset name -> :class:`~daec_viz.evaluation.sweep.DeltaChoice`.
    """
    for i, (name, df) in enumerate(others.items()):
        color = DATASET_COLORS[i % len(DATASET_COLORS)]
        c = _curve(df, pattern, smooth, split)
        fig.add_trace(go.Scatter(x=c["delta"].tolist(), y=c[stat].tolist(), mode="lines+markers",
                                 name=name, line={"color": color, "dash": "dashdot"},
                                 marker={"size": 4},
                                 hovertemplate=f"{name}<br>Δ=%{{x}}<br>{stat}=%{{y:.4f}}"
                                               "<extra></extra>"))
        ch = (choices or {}).get(name)
        if ch is not None:
            at = c[np.isclose(c["delta"], ch.delta)]
            if not at.empty:
                fig.add_trace(go.Scatter(x=[ch.delta], y=[float(at[stat].iloc[0])],
                                         mode="markers", name=f"Δ_opt {name}",
                                         marker={"symbol": "diamond", "size": 11,
                                                 "color": color},
                                         showlegend=False,
                                         hovertemplate=f"{name}: Δ_opt = {ch.delta:g}"
                                                       "<extra></extra>"))
    return fig


def delta_snippets(delta: float, pattern: str = "BR", sigma: float = 2.0,
                   smooth: bool = False, extra: dict[str, Any] | None = None, *,
                   input_size: Sequence[int] = (192, 256),
                   heatmap_size: Sequence[int] = (48, 64)) -> dict[str, str]:
    """The chosen Δ as ``json``, an HRNet-style ``hrnet`` YAML block (``TEST.DAEC.DELTA``)
    and an ``mmpose``-style decode setting (a Python dict for the codec's test config;
    ``input_size`` and ``heatmap_size`` are the model's (width, height) in px).

    >>> print(delta_snippets(4, "BR")["hrnet"])
    TEST:
      DAEC:
        DELTA: 4
        PATTERN: BR
        SIGMA: 2
        BLUR_KERNEL: 0
    """
    if pattern not in PATTERNS:
        raise InputError(f"expected one of {PATTERNS}, got {pattern!r}", field="pattern")
    d = float(delta)
    config = DecoderConfig("daec", sigma=sigma, delta=d, pattern=pattern,
                           blur_kernel=DEFAULT_BLUR_KERNEL if smooth else None)
    payload = {"delta": d, "pattern": pattern, "sigma": float(sigma), "smooth": bool(smooth),
               "config": config.to_dict(), **(extra or {})}
    blur = DEFAULT_BLUR_KERNEL if smooth else 0
    hrnet = (f"TEST:\n  DAEC:\n    DELTA: {d:g}\n    PATTERN: {pattern}\n"
             f"    SIGMA: {float(sigma):g}\n    BLUR_KERNEL: {blur}")
    mmpose = ("# mmpose-style codec setting (test_cfg); decode with daec_viz.decode\n"
              "codec = dict(\n"
              f"    type='MSRAHeatmap', input_size={tuple(int(v) for v in input_size)}, "
              f"heatmap_size={tuple(int(v) for v in heatmap_size)},\n"
              f"    sigma={float(sigma):g},\n"
              f"    decode=dict(type='DAEC', delta={d:g}, pattern='{pattern}', "
              f"blur_kernel_size={blur if smooth else 'None'}))")
    return {"json": json.dumps(payload, indent=2), "hrnet": hrnet, "mmpose": mmpose}
