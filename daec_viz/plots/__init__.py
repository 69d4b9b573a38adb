"""Plotly figure builders (no Streamlit import): each function takes results of the library
and returns a ``plotly.graph_objects.Figure``.

- :mod:`daec_viz.plots.style`: shared colours (:data:`~daec_viz.plots.style.METHOD_COLORS`).
- :mod:`daec_viz.plots.errors`: error-bias figures (quadrants, error density, per-joint
  bias on a body diagram, sub-pixel phase, keypoint error taxonomy).
"""
