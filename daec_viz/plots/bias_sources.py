"""Where a decoder's mean error comes from: a waterfall of its bias sources.

:func:`bias_waterfall` draws :func:`daec_viz.analysis.bias_sources` results: per axis
(x right, y down; heatmap px) the components ``decoder``, ``encoding``, ``flip_test``,
``convention`` and ``network`` as steps that add up to the measured ``total``, one
waterfall per decoder in its colour.

Examples
--------
>>> import numpy as np
>>> from daec_viz.analysis.bias_sources import BiasSources
>>> comps = {"decoder": np.array([0.0, 0.0]), "encoding": np.array([0.1, 0.1]),
...          "flip_test": np.array([0.125, 0.0]), "convention": np.array([0.0, 0.0]),
...          "network": np.array([0.2, 0.15])}
>>> fig = bias_waterfall({"dark": BiasSources("dark", comps, np.array([0.425, 0.25]), 10)})
>>> [t.type for t in fig.data], list(fig.data[0].x)[-1]
(['waterfall', 'waterfall'], 'total')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from daec_viz.analysis.bias_sources import COMPONENTS
from daec_viz.plots.style import fmt_num, legend_below, method_color, method_label, methods_of

__all__ = ["bias_waterfall", "COMPONENT_LABELS"]

#: How each component is named on the chart.
COMPONENT_LABELS: dict[str, str] = {"decoder": "decoder", "encoding": "target encoding",
                                    "flip_test": "flip test", "convention": "convention",
                                    "network": "network (rest)"}


def _faded(color: str) -> str:
    # negative steps: the decoder's colour at half opacity (plotly's waterfall markers
    # take no opacity of their own)
    h = color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, 0.45)"


def bias_waterfall(sources: Mapping[str, Any], title: str | None = None) -> go.Figure:
    """Waterfalls of the bias sources, x and y side by side (heatmap px).

    Parameters
    ----------
    sources : decoder name -> :class:`~daec_viz.analysis.bias_sources.BiasSources` (or
        its ``to_dict()``), e.g. ``bias_sources(ds, analysis.methods, configs)``.
    title : figure title.

    Returns
    -------
    A figure with one ``waterfall`` trace per decoder and axis; each trace's steps are
    the components in :data:`~daec_viz.analysis.bias_sources.COMPONENTS` order and its
    last bar the measured total (``meta["totals"]``: decoder -> [x, y]).
    """
    names = methods_of(sources)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=["x (+ = right)", "y (+ = down)"])
    labels = [COMPONENT_LABELS[c] for c in COMPONENTS] + ["total"]
    totals: dict[str, list[float]] = {}
    for name in names:
        s = sources[name]
        comps = s["components"] if isinstance(s, Mapping) else s.components
        total = np.asarray(s["total"] if isinstance(s, Mapping) else s.total, dtype=float)
        totals[name] = total.tolist()
        for axis in (0, 1):
            vals = [float(np.asarray(comps[c], dtype=float)[axis]) for c in COMPONENTS]
            fig.add_trace(go.Waterfall(
                x=labels, y=vals + [float(total[axis])],
                measure=["relative"] * len(COMPONENTS) + ["total"],
                name=method_label(name), legendgroup=name, showlegend=axis == 0,
                offsetgroup=name, text=[fmt_num(v, 3, signed=True) for v in vals + [total[axis]]],
                textposition="outside", connector={"line": {"width": 1, "dash": "dot"}},
                increasing={"marker": {"color": method_color(name)}},
                decreasing={"marker": {"color": _faded(method_color(name)),
                                       "line": {"color": method_color(name), "width": 1}}},
                totals={"marker": {"color": method_color(name),
                                   "line": {"color": "black", "width": 1}}},
                hovertemplate="%{x}: %{y:+.3f} heatmap px<extra>" + method_label(name)
                              + "</extra>"),
                row=1, col=axis + 1)
    fig.update_yaxes(title_text="mean error (heatmap px)", zeroline=True, row=1, col=1)
    fig.update_layout(title=title or "Where the mean error comes from (pred − GT)",
                      waterfallgroupgap=0.15, meta={"totals": totals})
    return legend_below(fig)
