"""Plotly figure builders (no Streamlit import): each function takes results of the library
and returns a ``plotly.graph_objects.Figure`` (or a table as a DataFrame), so the app, a
notebook or a script draw the same figures.

- :mod:`daec_viz.plots.style`: one colour per decoder, shared by every figure
  (:data:`~daec_viz.plots.style.METHOD_COLORS`, :func:`~daec_viz.plots.style.method_color`).
- :mod:`daec_viz.plots.overlays`: an image with GT and every decoder's keypoints, a
  person's K heatmaps as one grid, one joint enlarged with DAEC's window and Δ-cut.
- :mod:`daec_viz.plots.sweep`: AP (or any of the 10 COCO stats) against Δ with Δ_opt,
  and the chosen Δ as JSON / HRNet / mmpose config snippets.
- :mod:`daec_viz.plots.compare`: the paper's Table 1 layout, gains over each baseline,
  PCKh and the decoder speed figure.
- :mod:`daec_viz.plots.errors`: error-bias figures (quadrants, error density, per-joint
  bias on a body diagram, sub-pixel phase, keypoint error taxonomy).
- :mod:`daec_viz.plots.learn`: the paper's eq. (3)-(10) in 1-D and 2-D, and Δ_opt of the
  simulated network.
"""
