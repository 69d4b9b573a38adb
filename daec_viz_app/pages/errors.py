"""Error direction: quadrant histogram, error density with the mean bias, per-joint bias
arrows on a body diagram and the sub-pixel phase plot, per decoder shown, with filters."""

from __future__ import annotations

import numpy as np
import streamlit as st

from daec_viz.analysis import bootstrap_bias, quadrant_stats, subpixel_phase
from daec_viz.plots.bias_sources import bias_waterfall
from daec_viz.plots.errors import (
    ARROW_TARGET,
    DEFAULT_PERSON_HEIGHT,
    auto_arrow_magnify,
    error_density,
    joint_bias_diagram,
    layout_from_keypoints,
    person_height,
    phase_plot,
    quadrant_histogram,
)
from daec_viz.plots.style import fmt_num, method_label
from daec_viz_app import state
from daec_viz_app.figures import chart_config
from daec_viz_app.ui import (
    SIMULATED_TEXT,
    ap_metrics,
    page_header,
    progress_after,
    run_page,
)

SIZES = {"small (< 32²)": (0.0, 32.0 ** 2), "medium (32²–96²)": (32.0 ** 2, 96.0 ** 2),
         "large (> 96²)": (96.0 ** 2, np.inf)}
VIS = {2: "visible (v=2)", 1: "occluded (v=1)"}
#: Arrow magnifications offered for the per-joint bias diagram ("auto" first: the default).
ARROW_MAGNIFY: tuple[str | int, ...] = ("auto", 1, 2, 5, 10, 20, 50)


def _render() -> None:
    ds, path, key, ctl = page_header("Error direction")
    ap_metrics(path, key, ds, ctl)
    methods = state.errors(path, key, ctl)
    names = list(ds.keypoint_names)
    vis_all = np.nan_to_num(state.gt_table(path, key)["gt"][..., 2], nan=-1).astype(int)

    c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
    joints = c1.multiselect("Joints", names, default=[], key="er_joints",
                            placeholder="all joints")
    vis = c2.multiselect("Visibility", [2, 1], default=[2, 1], format_func=VIS.get,
                         key="er_vis")
    sizes = c3.multiselect("Person size (GT area, px²)", list(SIZES), default=list(SIZES),
                           key="er_size")
    focus = c4.selectbox("Density of", list(methods), index=list(methods).index("daec"),
                         key="er_focus", format_func=method_label)

    jmask = np.isin(np.arange(len(names)), [names.index(j) for j in joints]) if joints \
        else np.ones(len(names), bool)
    # visibility of the instance's own GT (detector boxes without one: kept)
    vmask = np.isin(vis_all, vis) | (vis_all < 0)

    quads, biases, phases = {}, {}, {}
    for m, me in methods.items():
        area = me.area
        smask = np.zeros(len(area), bool)
        for s in sizes:
            lo, hi = SIZES[s]
            with np.errstate(invalid="ignore"):
                smask |= (area >= lo) & (area < hi)
        mask = me.usable & jmask[None, :] & vmask & smask[:, None]
        e_img = np.where(mask[..., None], me.err_img, np.nan)
        e_hm = np.where(mask[..., None], me.err_hm, np.nan)
        quads[m] = quadrant_stats(e_img)
        biases[m] = bootstrap_bias(e_hm, n_boot=200, seed=0, units="hm")
        phases[m] = subpixel_phase(np.where(mask[..., None], me.gt_hm, np.nan), e_hm)
        if m == focus:
            focus_err, focus_n = e_hm, int(mask.sum())

    # one metric per decoder shown, four a row
    cols = [c for _ in range(0, len(methods), 4) for c in st.columns(4)]
    for c, m in zip(cols, methods, strict=False):
        b = biases[m].overall_mean  # (x, y) heatmap px
        mag = float(np.hypot(b[0], b[1]))
        c.metric(f"{method_label(m)} mean bias (hm px)",
                 f"{fmt_num(b[0], 2, True)}, {fmt_num(b[1], 2, True)}"
                 if np.isfinite(b).all() else "n/a: no error left by the filters",
                 help=f"mean (x, y) = ({fmt_num(b[0], 4, True)}, {fmt_num(b[1], 4, True)}) "
                      f"heatmap px, |bias| = {fmt_num(mag, 4)}; {quads[m].n_quadrant} errors "
                      "in a quadrant")
    if focus_n == 0:
        st.warning("No joint matches these filters: select more joints, visibility levels "
                   "or sizes.")
        return
    st.plotly_chart(quadrant_histogram(quads), key="er_quad", config=chart_config("er_quad"))
    left, right = st.columns(2)
    with left:
        st.plotly_chart(error_density(focus_err, biases[focus], method=focus,
                                      units="heatmap px", extent=4.0),
                        key="er_density", config=chart_config("er_density"))
    with right:
        first = next(iter(methods.values()))
        layout = None if len(names) == 17 else layout_from_keypoints(first.gt_img)
        # the scale is the persons' own height in heatmap px (all of them, not the
        # filtered ones), so ×1 is the true size and the factor means the same as filters move
        height = person_height(first.gt_hm)
        if not (np.isfinite(height) and height > 0):  # no person with two labelled joints
            height = DEFAULT_PERSON_HEIGHT
        auto = auto_arrow_magnify(biases, height)
        mag = st.select_slider(
            "Arrow magnification", options=list(ARROW_MAGNIFY), value="auto",
            key="er_arrow_mag",
            format_func=lambda z: f"auto (×{auto:g})" if z == "auto" else f"×{z:g}",
            help=f"Bias arrows are drawn this many times longer than the bias on a person "
                 f"{height:.0f} heatmap px tall (the GT's median; ×1: true size). auto: "
                 f"the longest arrow about {ARROW_TARGET:.0%} of the body's height. The "
                 "title and the reference arrow's label give the factor.")
        st.plotly_chart(joint_bias_diagram(biases, names, ds.skeleton, layout,
                                           magnify=None if mag == "auto" else float(mag),
                                           person_height=height),
                        key="er_joints_fig", config=chart_config("er_joints_fig"))
    st.plotly_chart(phase_plot(phases), key="er_phase", config=chart_config("er_phase"))
    _bias_sources_section(path, key, ds, ctl)
    st.caption("Errors are pred − GT in image axes (x right, y down); BR = right and below "
               "the truth. Joints whose GT lies outside the heatmap and invalid maps are "
               "left out (no decoder can place a point there).")


def _bias_sources_section(path: str, key: tuple, ds, ctl) -> None:
    """Where the bias comes from: the waterfall of each decoder's mean error by source."""
    st.subheader("Where the bias comes from")
    st.caption(
        "Each decoder's mean error (heatmap px, all joints, no filters) split into what the "
        "recorded pipeline explains and the rest: **decoder** (an exact Gaussian at the "
        "exact GT), **target encoding** (the training target of the cache's pipeline: "
        "HRNet rounds it to a heatmap pixel), **flip test** (the recorded flip mode, HRNet's "
        "one-pixel shift included), **convention** (cropping and decoding with the cache's "
        "convention when training used another) and **network**, what the pipeline does not "
        "explain (what the network learnt, or failed to). Every part but the last comes "
        "from decoding noise-free maps of the recorded pipeline at the same GT joints, "
        "never from these heatmaps; the parts add up to the measured total.")
    if ds.meta.simulated:
        knobs = ds.meta.provenance.get("knobs")  # free JSON: used only when well-formed
        knob = knobs.get("bias") if isinstance(knobs, dict) else None
        known = isinstance(knob, list) and len(knob) == 2 and all(
            isinstance(v, int | float) and np.isfinite(v) for v in knob) and any(knob)
        st.caption(SIMULATED_TEXT + (f" Its free bias knob, ({knob[0]:+g}, {knob[1]:+g}) "
                                     "heatmap px, is counted in 'network'." if known else ""))
    with progress_after("Splitting the mean error by source (cached afterwards)…") as bar:
        src = state.bias_sources(path, key, ctl, progress=bar)
    notes = sorted({n for b in src.values() for n in b.notes})
    for n in notes:
        st.info(n)
    st.plotly_chart(bias_waterfall(src), key="er_sources", config=chart_config("er_sources"))


run_page(_render)
