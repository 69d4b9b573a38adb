"""The paper's comparison tables: Table 1 (methods × the 10 COCO stats), gains, PCKh, speed.

- :func:`table1_frame`: one row per method, columns ``Method, AP, AP↑, AP50 … ARL`` in
  percent (the paper's Table 1 layout; ``AP↑`` = the reference method's AP minus the
  row's, blank on the reference row).
- :func:`gains_frame`: the reference method's gain over each baseline on every stat.
- :func:`table_figure`: any such frame as a plotly table, rows coloured by method.
- :func:`pckh_frame`: PCKh@0.5 per group and method (MPII-style data).
- :func:`speed_figure`: µs per instance of each decoder from
  :func:`daec_viz.decoding.benchmark.run_benchmark`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from daec_viz.evaluation.coco_eval import STAT_NAMES
from daec_viz.exceptions import InputError
from daec_viz.plots.style import METHOD_LABELS, method_color, method_label

__all__ = ["table1_frame", "gains_frame", "table_figure", "pckh_frame", "speed_figure",
           "per_joint_frame"]

_HEADER_PX, _ROW_PX = 28, 26
_label = method_label  # one display name per decoder: daec_viz.plots.style.METHOD_LABELS


def table1_frame(stats: Mapping[str, Mapping[str, float]], reference: str = "daec",
                 percent: bool = True, model: str | None = None,
                 input_size: str | None = None) -> pd.DataFrame:
    """The paper's Table 1 layout from ``method -> {stat: value}`` (values in [0, 1]).

    Returns a DataFrame indexed by method key with columns (``Model``, ``Input`` when
    given) ``Method``, ``AP``, ``AP↑``, then ``AP50 … ARL``; values × 100 when
    ``percent``. ``AP↑`` = AP(reference) − AP(row) (NaN on the reference row, or when the
    reference is absent).
    """
    if not stats:
        raise InputError("expected the stats of at least one method", field="stats")
    f = 100.0 if percent else 1.0
    rows = []
    ref_ap = stats[reference]["AP"] * f if reference in stats else np.nan
    for m, s in stats.items():
        missing = [k for k in STAT_NAMES if k not in s]
        if missing:
            raise InputError(f"method {m!r} lacks {missing}", field="stats")
        row: dict[str, Any] = {}
        if model is not None:
            row["Model"] = model
        if input_size is not None:
            row["Input"] = input_size
        row.update({"Method": _label(m), "AP": s["AP"] * f,
                    "AP↑": np.nan if m == reference else ref_ap - s["AP"] * f})
        row.update({k: s[k] * f for k in STAT_NAMES[1:]})
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(list(stats), name="method"))


def gains_frame(stats: Mapping[str, Mapping[str, float]], reference: str = "daec",
                percent: bool = True) -> pd.DataFrame:
    """``stat(reference) − stat(baseline)`` for every other method (rows) and the 10 stats
    (columns), × 100 when ``percent``; rows indexed ``"vs <Method>"``."""
    if reference not in stats:
        raise InputError(f"expected {reference!r} among the methods, got {list(stats)}",
                         field="reference")
    f = 100.0 if percent else 1.0
    ref = stats[reference]
    rows = {f"vs {_label(m)}": {k: (ref[k] - s[k]) * f for k in STAT_NAMES}
            for m, s in stats.items() if m != reference}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(STAT_NAMES))


def table_figure(frame: pd.DataFrame, *, digits: int = 2, row_colors: Sequence[str] | None
                 = None, gains: bool = False, title: str | None = None) -> go.Figure:
    """A plotly ``Table`` of ``frame`` (index shown as the first column when it is not a
    plain range). Numbers are formatted with ``digits`` decimals (``+`` sign when
    ``gains``; NaN blank). ``row_colors``: one fill colour per row (default: each row's
    method colour, light, when the index holds method keys)."""
    df = frame.copy()
    show_index = not isinstance(df.index, pd.RangeIndex) and "Method" not in df.columns
    if show_index:  # method keys shown by their display names ("dark" -> "DARK")
        df.insert(0, df.index.name or "", [_label(str(i)) for i in df.index])
    fmt = "{:+." + str(digits) + "f}" if gains else "{:." + str(digits) + "f}"

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else fmt.format(v)
        return str(v)

    values = [[cell(v) for v in df[c]] for c in df.columns]
    if row_colors is None:
        row_colors = [_light(method_color(str(k))) if str(k) in METHOD_LABELS else "white"
                      for k in frame.index]
    # text columns get room for their longest entry (rows must stay one line high)
    widths = [max(1.0, 0.11 * max(len(str(c)), *(len(v) for v in vals)))
              if not pd.api.types.is_numeric_dtype(df[c]) else 1.0
              for c, vals in zip(df.columns, values, strict=True)]
    fig = go.Figure(go.Table(
        columnwidth=widths,
        header={"values": [f"<b>{c}</b>" for c in df.columns], "fill_color": "#e8e8e8",
                "align": "center", "height": _HEADER_PX},
        cells={"values": values, "fill_color": [list(row_colors)] * len(df.columns),
               "align": ["right" if pd.api.types.is_numeric_dtype(df[c]) else "left"
                         for c in df.columns], "height": _ROW_PX}))
    top = 40 if title else 5
    # as tall as the rows (no blank band under the table), a few px to spare
    fig.update_layout(title=title, height=top + _HEADER_PX + _ROW_PX * len(df) + 12,
                      margin={"l": 5, "r": 5, "t": top, "b": 5})
    return fig


def _light(hex_color: str, alpha: float = 0.18) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def pckh_frame(results: Mapping[str, Mapping[float, Mapping[str, Any]]],
               threshold: float = 0.5) -> pd.DataFrame:
    """PCKh table: rows = methods, columns Head … Ankle, Mean (percent) at ``threshold``.

    ``results``: method -> the output of :func:`daec_viz.evaluation.pckh.pckh`.
    """
    from daec_viz.evaluation.pckh import PCKH_GROUPS
    cols = [*PCKH_GROUPS, "Mean"]
    rows = {}
    for m, res in results.items():
        if threshold not in res:
            raise InputError(f"no PCKh@{threshold:g} for {m!r}", field="threshold")
        rows[m] = {c: float(res[threshold][c]) for c in cols}
    df = pd.DataFrame.from_dict(rows, orient="index", columns=cols)
    df.index.name = "method"
    return df


def speed_figure(result: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Horizontal bars of µs per instance for each row of a benchmark result
    (:func:`daec_viz.decoding.benchmark.run_benchmark`), coloured by method; the ratio to the
    numpy argmax as text."""
    rows = result["rows"]
    labels = [r["method"] + (f" ({r['options']})" if r["options"] else "") for r in rows]
    us = [float(r["us_per_instance"]) for r in rows]
    colors = [method_color(r["method"]) if r["method"] in METHOD_LABELS else "#bbbbbb"
              for r in rows]
    fig = go.Figure(go.Bar(x=us, y=labels, orientation="h", marker_color=colors,
                           text=[f"{r['ratio_to_argmax']:.2f}× argmax" for r in rows],
                           textposition="auto", name="µs / instance"))
    info = result.get("info", {})
    fig.update_layout(title=title or f"Decoding speed (N = {info.get('n', '?')}, "
                                     f"best of {info.get('repeats', '?')})",
                      xaxis_title="µs per instance (17 maps)",
                      yaxis={"autorange": "reversed"}, height=80 + 34 * len(rows),
                      margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def per_joint_frame(per_joint: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Per-joint AP side by side: rows = joints, columns = decoders (their labels), plus a
    ``best`` column naming the decoder(s) with the highest AP of each row (ties listed;
    ``-`` where no decoder has a defined AP, i.e. no labelled GT of that joint).

    >>> f = per_joint_frame({"dark": {"nose": 0.5, "eye": -1.0}, "daec": {"nose": 0.6,
    ...                                                               "eye": -1.0}})
    >>> f["best"].tolist()
    ['DAEC', '-']
    """
    methods = list(per_joint)
    joints = list(next(iter(per_joint.values()))) if methods else []
    data = {_label(m): [per_joint[m][j] for j in joints] for m in methods}
    frame = pd.DataFrame(data, index=pd.Index(joints, name="joint"))
    vals = frame.to_numpy(dtype=float)
    best = []
    for row in vals:
        ok = row > -1
        if not ok.any():
            best.append("-")
            continue
        top = row[ok].max()
        best.append(", ".join(c for c, v, d in zip(frame.columns, row, ok, strict=True)
                              if d and v == top))
    frame = frame.where(frame > -1)  # undefined (-1) shown empty, never as a number
    frame["best"] = best
    return frame
