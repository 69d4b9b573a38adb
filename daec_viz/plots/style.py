"""Shared style of the figures: one colour per decoder (and one for the ground truth)."""

from __future__ import annotations

from typing import Any

METHOD_COLORS: dict[str, str] = {
    "standard": "#7f7f7f",
    "shifting": "#1f77b4",
    "dark": "#ff7f0e",
    "daec": "#d62728",
    "gt": "#2ca02c",
}
"""Colour of each decoder (and ``gt``), used by every figure of daec-viz."""

_FALLBACK: tuple[str, ...] = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")


def method_color(name: str) -> str:
    """Colour of a decoder, also for labels that start with its name (``"daec Δ=3"``).

    Unknown names get a stable colour from a fallback palette.

    >>> method_color("dark"), method_color("daec (BR, Δ=4)")
    ('#ff7f0e', '#d62728')
    """
    if name in METHOD_COLORS:
        return METHOD_COLORS[name]
    low = name.lower()
    for key in sorted(METHOD_COLORS, key=len, reverse=True):
        if low.startswith(key):
            return METHOD_COLORS[key]
    return _FALLBACK[sum(map(ord, name)) % len(_FALLBACK)]


def legend_below(fig: Any, axis_title: bool = True) -> Any:
    """Put ``fig``'s legend in one place for every figure: horizontal, at the bottom of the
    figure (container coordinates), below the x tick labels and axis title, with the bottom
    margin grown to hold it, so it never lies over ticks, titles or a colour bar
    (``tests/test_app_e2e.py`` checks the drawn boxes). Returns ``fig``."""
    entries = sum(1 for t in fig.data if getattr(t, "showlegend", False) is not False
                  and getattr(t, "name", None))
    rows = max(1, -(-entries // 6))  # about six entries fit a row of a page-wide chart
    bottom = 30 + (22 if axis_title else 0) + 24 * rows
    margin = fig.layout.margin
    fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 0,
                              "yanchor": "bottom", "x": 0, "xanchor": "left"},
                      margin={"b": max(bottom, margin.b or 0)})
    return fig


def fmt_num(value: Any, digits: int = 3, signed: bool = False, missing: str = "–") -> str:
    """A number for display with ``digits`` decimals (``+`` sign when ``signed``), or
    ``missing`` when it is None, NaN or infinite: the app and the figures never print
    "nan" or "+nan".

    >>> fmt_num(0.12345), fmt_num(-0.5, 2, signed=True), fmt_num(float("nan"), signed=True)
    ('0.123', '-0.50', '–')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return missing
    if v != v or v in (float("inf"), float("-inf")):
        return missing
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
