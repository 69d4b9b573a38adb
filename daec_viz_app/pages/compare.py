"""Compare: the paper's Table 1 layout, per-joint AP, error types, downloads, PCKh for
MPII-style data, decoder speed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from daec_viz.analysis.taxonomy import TAXONOMY
from daec_viz.decoding.benchmark import ALL_CONFIGS, format_table, run_benchmark
from daec_viz.evaluation.pckh import MPII_JOINT_NAMES, pckh
from daec_viz.plots.compare import (
    gains_frame,
    pckh_frame,
    per_joint_frame,
    speed_figure,
    table1_frame,
    table_figure,
)
from daec_viz.plots.errors import taxonomy_ap_bars, taxonomy_bars
from daec_viz.plots.style import fmt_num, method_label
from daec_viz_app import state
from daec_viz_app.figures import chart_config
from daec_viz_app.ui import ap_metrics, page_header, run_page

BENCH_N = 500


@st.cache_resource(show_spinner=False)
def _bench_store() -> dict:
    return {}


def _benchmark(n: int, methods: tuple[str, ...], progress: Any = None) -> dict:
    """A live benchmark of the decoders ``methods`` (their configurations of
    :data:`~daec_viz.decoding.benchmark.ALL_CONFIGS`), kept in memory for the process (no
    element inside a cached function, so the progress bar can be drawn)."""
    store = _bench_store()
    if (n, methods) not in store:
        store[n, methods] = run_benchmark(n=n, repeats=3, ref_n=20, progress=progress,
                                          configs=[c for c in ALL_CONFIGS
                                                   if c[0] in methods])
    return store[n, methods]


def _head_sizes(ds: Any) -> np.ndarray | None:
    """(N,) head-size normalisers from the annotations (``head_size`` or ``normalize``),
    None when absent."""
    anns = ds.coco.anns
    out = []
    for a in ds.instances["ann_id"].to_numpy().tolist():
        ann = anns.get(a, {})
        v = ann.get("head_size", ann.get("normalize"))
        if v is None:
            return None
        out.append(float(v))
    return np.asarray(out)


def _render() -> None:
    ds, path, key, ctl = page_header("Compare")
    ap_metrics(path, key, ds, ctl)
    split = state.eval_split(ds)
    stats = state.stats_all(path, key, ctl, split)

    st.subheader("COCO keypoint stats (the paper's Table 1 layout)")
    w, h = ds.meta.input_size
    t1 = table1_frame(stats, model=ds.meta.model, input_size=f"{h}×{w}")
    st.plotly_chart(table_figure(t1), key="cmp_table1", config=chart_config("cmp_table1"))
    st.caption(f"{split!r} split, percent. AP↑ = DAEC's AP minus the row's. DAEC at "
               f"{ctl.label()}; DARK and DARK-UDP with their own blur; smoothing "
               f"{'on' if ctl.smooth else 'off'} for standard and shifting"
               + (f"; integral decoders at β = {ctl.beta:g}." if ctl.shows_beta else "."))
    ci = state.stat_intervals(path, key, ctl, split)
    ci_rows = {method_label(m): {
        s: (f"{fmt_num(stats[m][s], 3)} [{fmt_num(ci[m][s][0], 3)}, "
            f"{fmt_num(ci[m][s][1], 3)}]" if stats[m][s] >= 0 else "n/a: no GT")
        for s in ("AP", "AP50", "AP75", "AR")}
        for m in ctl.methods}
    st.markdown("**With 95 % intervals** (paired bootstrap over images, "
                f"{state.N_BOOT} replicates)")
    st.dataframe(pd.DataFrame(ci_rows).T, width="stretch", key="cmp_ci")
    st.markdown("**DAEC's gain over each baseline** (percentage points)")
    st.plotly_chart(table_figure(gains_frame(stats), gains=True), key="cmp_gains",
                    config=chart_config("cmp_gains"))
    with st.expander("As a table (copy / download)"):
        st.dataframe(t1, width="stretch")
        st.download_button("Table as CSV", t1.to_csv(), file_name="daec_viz_table1.csv",
                           mime="text/csv", key="cmp_dl_table1")
    daec_cfg = ctl.config("daec")
    st.download_button(f"COCO results json of {daec_cfg.label} ({split!r} split)",
                       state.results_json(path, key, daec_cfg.to_json(), split),
                       file_name="daec_results.json", mime="application/json",
                       key="cmp_dl_results",
                       help="The file `daec-viz predict` writes and the AP above scores; "
                            "pycocotools gives the same stats on it.")

    st.subheader("Per joint")
    ea = state.taxonomy(path, key, ctl)
    names = list(ds.keypoint_names)
    view = st.radio("Per-joint measure", ("AP (joint alone)", "mean keypoint similarity",
                                          "error types"), horizontal=True, key="cmp_pj_view")
    if view == "error types":
        m = st.selectbox("Decoder", list(ea.methods), key="cmp_pj_tax_method",
                         format_func=method_label)
        counts = ea.methods[m].taxonomy.per_joint()
        pj = pd.DataFrame(counts, index=pd.Index(names, name="joint"),
                          columns=list(TAXONOMY))
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = pj.div(pj.sum(axis=1).replace(0, np.nan), axis=0)
        st.dataframe(shares.style.format("{:.1%}", na_rep="–"), width="stretch",
                     key="cmp_per_joint")
        st.caption(f"{method_label(m)}: share of each joint's labelled keypoints "
                   "(matched people, every instance) that are good, jitter, inversion, "
                   "swap or miss (Ronchi & Perona).")
        csv, fname = pj.to_csv(), "daec_viz_per_joint_error_types.csv"
    else:
        if view.startswith("AP"):
            per = {m: state.per_joint(path, key, ctl.config(m).to_json(), split)
                   for m in ctl.methods}
            caption = ("COCO AP with OKS of that joint alone (COCOeval on ground truth "
                       f"whose other joints are unlabelled), {split!r} split")
        else:
            per = {m: dict(zip(names, map(float, e.taxonomy.mean_similarity()),
                               strict=True)) for m, e in ea.methods.items()}
            caption = ("mean keypoint similarity (OKS of that joint alone, 0-1) over the "
                       "matched people whose joint is labelled, every instance")
        pj = per_joint_frame(per)
        cols = [c for c in pj.columns if c != "best"]
        st.dataframe(pj.style.format("{:.3f}", subset=cols, na_rep="–")
                     .highlight_max(subset=cols, axis=1, color="#d5f5d5"),
                     width="stretch", key="cmp_per_joint")
        st.caption(f"{caption}; the best decoder of each row is highlighted and named; "
                   "empty where no person has the joint labelled.")
        csv = pj.to_csv()
        fname = ("daec_viz_per_joint.csv" if view.startswith("AP")
                 else "daec_viz_per_joint_similarity.csv")
    what = "AP" if view.startswith("AP") else view
    st.download_button(f"Per-joint {what} as CSV", csv, file_name=fname, mime="text/csv",
                       key="cmp_dl_per_joint")

    st.subheader("Error types (Ronchi & Perona)")
    c1, c2 = st.columns(2)
    c1.plotly_chart(taxonomy_bars(ea.taxonomies), key="cmp_tax",
                    config=chart_config("cmp_tax"))
    c2.plotly_chart(taxonomy_ap_bars(ea.taxonomy_aps), key="cmp_tax_ap",
                    config=chart_config("cmp_tax_ap"))
    tax = pd.DataFrame({method_label(m): {**{f"{k} share": v for k, v in
                                                   e.taxonomy.shares().items()},
                                                **{f"AP, {k} fixed": v for k, v in
                                                   e.taxonomy_ap.ap().items()}}
                        for m, e in ea.methods.items()}).T
    st.dataframe(tax.style.format("{:.3f}", na_rep="–"), width="stretch")
    st.caption("Share of the labelled keypoints of matched people that are good, jitter, "
               "inversion (left/right), swap (another person) or miss, and the AP when "
               "each type is corrected (every instance, all splits).")
    st.download_button("Error types as CSV", tax.to_csv(), file_name="daec_viz_error_types.csv",
                       mime="text/csv", key="cmp_dl_tax")

    st.subheader("PCKh (MPII-style data)")
    heads = _head_sizes(ds) if tuple(ds.keypoint_names) == MPII_JOINT_NAMES else None
    if heads is None:
        st.info("PCKh needs MPII's 16 joints and a head size per annotation "
                "(`head_size` or `normalize`, px) in annotations.json; this dataset has "
                f"{ds.num_keypoints} joints. For MPII "
                "prediction files use `daec-viz pckh valid.h5 preds.mat`.")
    else:
        gt = state.gt_table(path, key)["gt"]
        xy = np.where((np.nan_to_num(gt[..., 2]) > 0)[..., None], gt[..., :2], -1.0)
        res = {m: pckh(d.coords_img, xy, heads)
               for m, d in state.decoded_all(path, key, ctl).items()}
        st.plotly_chart(table_figure(pckh_frame(res)), key="cmp_pckh",
                        config=chart_config("cmp_pckh"))

    st.subheader("Speed (live benchmark)")
    st.caption(f"{BENCH_N} realistic 17×64×48 float32 maps, best of 3, on this machine: "
               "the decoders shown.")
    if st.button("Run the benchmark", key="cmp_bench") or st.session_state.get("cmp_bench_done"):
        bar = st.progress(0.0, text="Timing the decoders…")
        try:
            res = _benchmark(BENCH_N, ctl.methods, progress=lambda f, label="": bar.progress(
                min(1.0, float(f)), text=f"Timing {label}"))
        finally:
            bar.empty()
        st.session_state["cmp_bench_done"] = True
        st.plotly_chart(speed_figure(res), key="cmp_speed", config=chart_config("cmp_speed"))
        st.markdown(format_table(res))


run_page(_render)
