"""Shared style of the figures: one colour per decoder (and one for the ground truth)."""

from __future__ import annotations

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
