"""Shared style of the figures: one colour and one display name per decoder (and one
colour for the ground truth), one legend placement for every figure
(:func:`legend_below`) and one way to print a number that may be undefined
(:func:`fmt_num`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from daec_viz.exceptions import InputError

METHOD_COLORS: dict[str, str] = {
    "standard": "#7f7f7f",
    "shifting": "#1f77b4",
    "dark": "#ff7f0e",
    "daec": "#d62728",
    "dark_udp": "#17becf",
    "gauss3": "#bcbd22",
    "integral": "#8c6d31",
    "integral_debiased": "#393b79",
    "gt": "#2ca02c",
}
"""Colour of each decoder of :data:`daec_viz.decoding.ALL_METHODS` (and ``gt``), used by
every figure of daec-viz (distinct from the cut patterns' colours of
:data:`daec_viz.plots.sweep.PATTERN_COLORS`)."""

METHOD_LABELS: dict[str, str] = {
    "standard": "Standard",
    "shifting": "Shifting",
    "dark": "DARK",
    "daec": "DAEC",
    "dark_udp": "DARK-UDP",
    "gauss3": "Gauss 3-point",
    "integral": "Integral",
    "integral_debiased": "Integral (debiased)",
}
"""Display name of each decoder of :data:`daec_viz.decoding.ALL_METHODS`: the one name a
decoder has in every table, metric and selector of the figures and the app."""

_FALLBACK: tuple[str, ...] = ("#9467bd", "#8c564b", "#e377c2", "#aec7e8", "#ffbb78")


def method_color(name: str) -> str:
    """Colour of a decoder, also for labels that start with its name (``"daec Δ=3"``;
    the longest matching name wins: ``"dark_udp-raw"`` is DARK-UDP's, not DARK's).

    Unknown names get a stable colour from a fallback palette.

    >>> method_color("dark"), method_color("daec (BR, Δ=4)"), method_color("dark_udp-raw")
    ('#ff7f0e', '#d62728', '#17becf')
    """
    if name in METHOD_COLORS:
        return METHOD_COLORS[name]
    low = name.lower()
    for key in sorted(METHOD_COLORS, key=len, reverse=True):
        if low.startswith(key):
            return METHOD_COLORS[key]
    return _FALLBACK[sum(map(ord, name)) % len(_FALLBACK)]


def method_label(name: str) -> str:
    """Display name of a decoder (:data:`METHOD_LABELS`); a name that is not a decoder
    (``"dark-raw"``, ``"A"``) is returned as it is.

    >>> method_label("dark_udp"), method_label("integral_debiased"), method_label("dark-raw")
    ('DARK-UDP', 'Integral (debiased)', 'dark-raw')
    """
    return METHOD_LABELS.get(name, name)


# --------------------------------------------------------------------------- legend

#: Where every figure's legend goes (:func:`legend_below`): horizontal, at the bottom edge
#: of the figure (container coordinates, not the plot area's), its title (if any) above
#: the entries: plotly.js wraps a row without counting a title beside it, so a title on
#: the left pushes a full row past the figure's right edge on a narrow column.
LEGEND_BELOW: dict[str, Any] = {"orientation": "h", "yref": "container", "y": 0,
                                "yanchor": "bottom", "x": 0, "xanchor": "left",
                                "title": {"side": "top left"}}


def legend_below(fig: Any, axis_title: bool = True) -> Any:
    """Put ``fig``'s legend in one place for every figure: horizontal, at the bottom edge of
    the figure (:data:`LEGEND_BELOW`), below the x tick labels and axis title, so it never
    lies over the plot area, ticks, titles or a colour bar.

    No margin is guessed for it: plotly.js (since container-anchored legends, plotly.js
    #6589; the builds bundled with plotly and Streamlit) reserves such a legend's own
    height at the bottom of the figure and lays the automargined x axis out above it,
    however many rows the legend wraps into at the width the figure is finally drawn
    (``tests/test_app_e2e.py`` checks the drawn boxes in Chromium). A margin from an
    estimate would only add blank space or, on a narrow column, still fall short.
    ``axis_title`` is accepted for older callers and not needed. Returns ``fig``.
    """
    fig.update_layout(legend=LEGEND_BELOW)
    return fig


# --------------------------------------------------------------------------- numbers

def fmt_num(value: Any, digits: int = 3, signed: bool = False, missing: str = "–", *,
            percent: bool = False) -> str:
    """A number for display with ``digits`` decimals (``+`` sign when ``signed``, as a
    percentage when ``percent``), or ``missing`` when it is None, not a number, NaN or
    infinite: the app and the figures never print "nan", "+nan" or "inf". Pass the reason
    as ``missing`` where the reader needs it (``"n/a: no GT"``).

    A value that rounds to zero prints without a minus sign (``+0.00``, not ``-0.00``).

    >>> fmt_num(0.12345), fmt_num(-0.5, 2, signed=True), fmt_num(float("nan"), signed=True)
    ('0.123', '-0.50', '–')
    >>> fmt_num(float("-inf"), 4, True, missing="n/a"), fmt_num(0.125, 1, percent=True)
    ('n/a', '12.5%')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return missing
    v *= 100.0 if percent else 1.0
    if not math.isfinite(v):
        return missing
    # round first, then add 0.0: -0.0004 -> -0.0 -> 0.0, so no "-0.000" next to "+0.000"
    v = round(v, digits) + 0.0
    text = f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
    return text + ("%" if percent else "")


def methods_of(data: Mapping[str, Any]) -> list[str]:
    """The decoder names of a per-method mapping, refusing an empty one (every figure
    needs at least one decoder)."""
    if not data:
        raise InputError("expected results of at least one method", field="methods")
    return list(data)
