"""How the app's plotly figures are downloaded: every chart's camera button saves PNG
(at twice the screen resolution) or SVG (vector, for papers), as chosen once in the
sidebar (``st.session_state["fig_format"]``)."""

from __future__ import annotations

from typing import Any

import streamlit as st

FORMATS: tuple[str, ...] = ("png", "svg")


def chart_config(name: str) -> dict[str, Any]:
    """The ``config`` of ``st.plotly_chart`` for the figure ``name`` (the file is
    ``daec_viz_<name>.<format>``): no plotly logo, and the camera button in the chosen
    format.

    >>> chart_config("overlay")["toImageButtonOptions"]["filename"]
    'daec_viz_overlay'
    """
    fmt = st.session_state.get("fig_format", "png") if st.runtime.exists() else "png"
    fmt = fmt if fmt in FORMATS else "png"
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": fmt, "filename": f"daec_viz_{name}",
                                     "scale": 2 if fmt == "png" else 1}}


__all__ = ["FORMATS", "chart_config"]
