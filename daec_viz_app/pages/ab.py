"""A/B: any two decoder configurations side by side: AP of each with its interval, the
paired difference and its call, a per-joint table, and both on the same image."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from daec_viz.decoding.config import (
    ALL_METHODS,
    DEFAULT_BLUR_KERNEL,
    OPTIONS,
    PATTERNS,
    SHIFTING_VARIANTS,
    DecoderConfig,
)
from daec_viz.evaluation.sweep import blurs_itself
from daec_viz.plots.compare import per_joint_frame
from daec_viz.plots.overlays import image_overlay
from daec_viz.plots.style import fmt_num, method_label
from daec_viz_app import state
from daec_viz_app.figures import chart_config
from daec_viz_app.paths_policy import allowed_file, allowed_roots
from daec_viz_app.ui import ap_text, page_header, run_page, verdict_block

#: Starting points: A = DAEC at the app-wide controls, B = DARK as published.
DEFAULTS = {"A": "daec", "B": "dark"}


def config_editor(side: str, ctl: state.Controls) -> DecoderConfig:
    """The widgets of one side (keys ``ab_<side>_*``): any decoder of
    :data:`~daec_viz.decoding.ALL_METHODS`, and only the options it reads
    (:data:`daec_viz.decoding.config.OPTIONS`) are offered."""
    st.markdown(f"**{side}**")
    method = st.selectbox("Decoder", ALL_METHODS, index=ALL_METHODS.index(DEFAULTS[side]),
                          key=f"ab_{side}_method", format_func=method_label)
    opts = OPTIONS[method]
    kw: dict = {}
    if "delta" in opts:
        # σ first: the Δ range (to 2e + 1) follows this side's window, not the sidebar's
        kw["sigma"] = st.number_input("σ (window, heatmap px)", 0.5, 10.0, ctl.sigma,
                                      step=0.5, key=f"ab_{side}_sigma")
        d0 = float(st.session_state.get(f"ab_{side}_delta", ctl.delta))
        lo, hi = state.delta_range(kw["sigma"], d0)
        kw["delta"] = st.slider("Δ (heatmap px)", lo, hi, d0, step=0.5,
                                key=f"ab_{side}_delta")
        kw["pattern"] = st.selectbox("Cut pattern", PATTERNS,
                                     index=PATTERNS.index(ctl.pattern),
                                     key=f"ab_{side}_pattern")
    if "variant" in opts:
        kw["variant"] = st.selectbox("Shifting variant", SHIFTING_VARIANTS,
                                     key=f"ab_{side}_variant")
    if "beta" in opts:  # the integral decoders: softmax sharpness, from the sidebar's
        kw["beta"] = st.number_input("β (softmax sharpness)", min(0.1, ctl.beta),
                                     max(1000.0, ctl.beta), ctl.beta,
                                     step=0.5, key=f"ab_{side}_beta")
    if blurs_itself(method):  # DARK(-UDP) blur as published; raw-map step is Table 4's
        raw = st.toggle("Taylor step on the raw map (no blur)", key=f"ab_{side}_raw")
        kw["blur_kernel"] = 1 if raw else DEFAULT_BLUR_KERNEL
    elif "blur_kernel" in opts:  # (gauss3 and the integral decoders have no blur option)
        smooth = st.toggle(f"Smoothing (Gaussian blur {DEFAULT_BLUR_KERNEL} first)",
                           value=ctl.smooth and method == "daec", key=f"ab_{side}_smooth")
        kw["blur_kernel"] = DEFAULT_BLUR_KERNEL if smooth else None
    return DecoderConfig(method, **kw)


def _render() -> None:
    ds, path, key, ctl = page_header("A/B")
    st.caption("Any two decoder configurations on the same heatmaps: their AP with 95 % "
               "intervals and the paired bootstrap of the difference (the same images "
               "resampled for both).")
    left, right = st.columns(2)
    with left:
        a = config_editor("A", ctl)
    with right:
        b = config_editor("B", ctl)
    a_json, b_json = a.to_json(), b.to_json()
    split = state.eval_split(ds)

    v = state.pair_verdict(path, key, a_json, b_json, split)
    sa, sb = state.stats(path, key, a_json, split), state.stats(path, key, b_json, split)
    ci = v["ap_ci"]
    cols = st.columns(3)
    for col, side, cfg, s in ((cols[0], "A", a, sa), (cols[1], "B", b, sb)):
        lo, hi = ci[side]
        interval = (f"[{fmt_num(lo, 4)}, {fmt_num(hi, 4)}]" if np.isfinite([lo, hi]).all()
                    else "undefined (no ground truth in a resample)")
        col.metric(f"{side}: {cfg.label} AP", ap_text(s["AP"]),
                   help=f"COCO AP on the {split!r} split; 95 % interval {interval} "
                        "(bootstrap over images)")
        col.caption(f"95 % interval {interval}")
    lo, hi = v["diff_ci"]
    known = v["call"] != "no detectable difference"
    # the delta text starts with the signed difference: Streamlit colours and points the
    # arrow by its leading sign
    cols[2].metric("A − B", fmt_num(v["diff"], 4, True, missing="n/a"),
                   delta=(f"{fmt_num(v['diff'], 4, True)} [{fmt_num(lo, 4, True)}, "
                          f"{fmt_num(hi, 4, True)}]") if np.isfinite([lo, hi]).all() else None,
                   delta_color="normal" if known else "off",
                   help=f"paired bootstrap over images, {state.N_BOOT} replicates")
    verdict_block(v)

    st.subheader("Per-joint AP")
    per = {f"A: {a.label}": state.per_joint(path, key, a_json, split),
           f"B: {b.label}": state.per_joint(path, key, b_json, split)}
    if a.resolved(ds.meta.sigma) == b.resolved(ds.meta.sigma):
        st.info("A and B are the same configuration: pick another decoder or option.")
    pj = per_joint_frame(per)
    cols_pj = [c for c in pj.columns if c != "best"]
    st.dataframe(pj.style.format("{:.3f}", subset=cols_pj, na_rep="–")
                 .highlight_max(subset=cols_pj, axis=1, color="#d5f5d5"),
                 width="stretch", key="ab_per_joint")
    st.download_button("Per-joint AP (A/B) as CSV", pj.to_csv(),
                       file_name="daec_viz_ab_per_joint.csv", mime="text/csv",
                       key="ab_dl_per_joint")

    st.subheader("On an image")
    pa, pb = state.decoded(path, key, a_json), state.decoded(path, key, b_json)
    image_ids = ds.instances["image_id"].to_numpy()
    # the images where A and B disagree most come first (largest keypoint distance)
    gap = np.nan_to_num(np.linalg.norm(pa.coords_img - pb.coords_img, axis=-1), nan=0.0)
    worst = pd.Series(gap.max(axis=1)).groupby(image_ids).max().sort_values(
        ascending=False, kind="stable")
    img_id = st.selectbox("Image (largest A/B disagreement first)", worst.index.tolist(),
                          key="ab_image", format_func=lambda i: f"image {i} (A and B up to "
                          f"{worst[i]:.1f} image px apart)")
    rows = np.flatnonzero(image_ids == img_id)
    gt = state.matched_gt(path, key, a_json)["gt"][rows]
    # an image file that resolves outside the dataset folder and the data root is not read
    ipath = allowed_file(ds.image_path(int(img_id)), path, allowed_roots())
    info = ds.coco.imgs.get(int(img_id), {})
    image = None
    if ipath is not None:
        from PIL import Image
        with Image.open(ipath) as im:
            image = np.asarray(im.convert("RGB"))
    fig = image_overlay(image, gt, {"A": pa.coords_img[rows], "B": pb.coords_img[rows]},
                        ds.skeleton, keypoint_names=list(ds.keypoint_names),
                        image_size=(info.get("width", 640), info.get("height", 480)),
                        person_labels=[f"person {p}" for p in range(len(rows))])
    st.plotly_chart(fig, key="ab_overlay", config=chart_config("ab_overlay"))
    st.caption(f"A = {a.label}, B = {b.label}; gt = the ground truth (for detector boxes, "
               "the person each box is matched to under A). Click a legend entry to hide "
               "it.")


run_page(_render)
