"""Explore: browse images with GT and the keypoints of every decoder shown; a person's heatmaps; one
joint enlarged with DAEC's integral window and the Δ-cut."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from daec_viz.evaluation.oks import instance_oks
from daec_viz.plots.overlays import heatmap_grid, image_overlay, joint_zoom
from daec_viz.plots.style import method_label
from daec_viz_app import state
from daec_viz_app.figures import chart_config
from daec_viz_app.paths_policy import allowed_file, allowed_roots
from daec_viz_app.ui import ap_metrics, page_header, run_page

VIS_LABELS = {2: "visible (v=2)", 1: "occluded (v=1)"}


@st.cache_data(max_entries=32, show_spinner=False)
def _image(path: str, mtime_ns: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file (cached by path + modification time)."""
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _instance_table(path: str, key: tuple, d: state.Predictions, gt: dict
                    ) -> dict[str, np.ndarray]:
    """Per instance, for DAEC's predictions ``d`` and their ground truth ``gt``
    (:func:`state.matched_gt`: a detector box has the GT person it is matched to):
    ``oks`` (N,), ``err`` (N, K) heatmap px (NaN where unlabelled or outside the heatmap),
    ``vis`` (N, K) int and ``has_gt`` (N,) (False for a box matched to no GT)."""
    ds = state.load(path, key)
    oks = instance_oks(d.coords_img, np.nan_to_num(gt["gt"], nan=0.0),
                       np.nan_to_num(gt["area"], nan=1.0), ds.oks_sigmas)
    err = np.linalg.norm(d.coords_hm - gt["gt_hm"], axis=-1)
    # joints whose GT lies outside the heatmap cannot be placed by any decoder: leave them
    # out of the error filters and the "largest error" order (as the Error direction page)
    err = np.where(gt["inside"], err, np.nan)
    return {"oks": oks, "err": err, "vis": np.nan_to_num(gt["gt"][..., 2]).astype(int),
            "has_gt": np.isfinite(gt["gt"][..., 2]).any(axis=1)}


def _box_note(p: int, row: int, gt: dict, local: dict[int, int], score: np.ndarray,
              oks: np.ndarray) -> str:
    """"box p (score s) → GT j, OKS o" for a detector box (or its own GT for a GT box):
    which ground-truth person of the image this box was matched to."""
    head = f"box {p} (score {score[row]:.2f})"
    m = int(gt["match"][row])
    if gt["suppressed"][row]:
        return f"{head}: removed by OKS-NMS"
    if m < 0:
        return f"{head}: matched to no GT"
    return f"{head} → GT {local.get(m, '?')}, OKS {oks[row]:.2f}"


def _person_maps(path: str, key: tuple, rows: np.ndarray, smooth: bool) -> np.ndarray:
    """(n, K, H, W) float32 maps of ``rows`` as the decoders saw them (blurred when
    ``smooth``), from the in-memory cache when there is one."""
    full = state.blurred(path, key) if smooth else state.heatmaps(path, key)
    if full is not None:
        return np.asarray(full[rows], dtype=np.float32)
    maps = state.load(path, key).heatmaps.read_rows(rows).astype(np.float32)
    if smooth:
        from daec_viz.decoding import DEFAULT_BLUR_KERNEL, gaussian_blur
        maps = gaussian_blur(maps, DEFAULT_BLUR_KERNEL)
    return maps


def kept_selectbox(label: str, options: list, name: str, *, key: str, default: Any = None,
                   format_func: Callable[[Any], str] = str) -> Any:
    """A selectbox whose choice survives changes of the controls: the options may be
    re-sorted or filtered (the "largest error first" order changes with Δ), but the
    chosen value, kept in ``ex_keep_<name>`` (and the URL), stays selected while it is
    offered; else ``default``, else the first option."""
    ss = st.session_state
    keep = f"ex_keep_{name}"

    def chosen() -> None:  # a user's pick (callbacks run before the page is redrawn)
        ss[keep] = ss[key]

    want = ss.get(keep, default)
    if want not in options:
        want = default if default in options else (options[0] if options else None)
    if ss.get(key) != want:
        ss[key] = want  # set before the widget is drawn: no default/state conflict
    value = st.selectbox(label, options, key=key, format_func=format_func, on_change=chosen)
    ss[keep] = value
    return value


def _render() -> None:
    ds, path, key, ctl = page_header("Explore")
    ap_metrics(path, key, ds, ctl)

    names = list(ds.keypoint_names)
    # every decoder shown on every instance, cached (the AP readout above needed them too)
    methods = ctl.methods
    decoded = state.decoded_all(path, key, ctl)
    gt_all = state.matched_gt(path, key, ctl.config("daec").to_json())
    table = _instance_table(path, key, decoded["daec"], gt_all)
    detector = bool(gt_all["detector"])
    box_score = ds.instances["score"].to_numpy(dtype=float)
    with st.expander("Filter images", expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        oks_rng = c1.slider("DAEC instance OKS", 0.0, 1.0, (0.0, 1.0), step=0.05,
                            key="ex_oks")
        joint = c2.selectbox("Joint", ["any"] + names, key="ex_joint")
        min_err = c3.slider("Error ≥ (heatmap px)", 0.0, 10.0, 0.0, step=0.25,
                            key="ex_err", help="DAEC error of the joint (any joint: the "
                                               "largest)")
        vis = c4.multiselect("Visibility", [2, 1], default=[2, 1],
                             format_func=VIS_LABELS.get, key="ex_vis")
        min_score = 0.0
        if detector:
            min_score = st.slider("Detector box score ≥", 0.0, 1.0, 0.0, step=0.05,
                                  key="ex_score", help="Hide detector boxes below this "
                                  "score (the evaluation keeps every box).")
    err, v = table["err"], table["vis"]
    vis_ok = np.isin(v, vis) if vis else np.zeros_like(v, bool)
    if joint == "any":
        e = np.where(vis_ok, np.nan_to_num(err, nan=-1.0), -1.0).max(axis=1)
        keep = vis_ok.any(axis=1)
    else:
        j = names.index(joint)
        e = np.where(vis_ok[:, j], np.nan_to_num(err[:, j], nan=-1.0), -1.0)
        keep = vis_ok[:, j]
    keep &= (e >= min_err) & (table["oks"] >= oks_rng[0]) & (table["oks"] <= oks_rng[1])
    # boxes matched to no GT person pass unfiltered filters only
    if min_err <= 0 and tuple(oks_rng) == (0.0, 1.0):
        keep |= ~table["has_gt"]
    is_det = ds.instances["ann_id"].to_numpy() == -1
    keep &= ~is_det | (box_score >= min_score)
    rows_kept = np.flatnonzero(keep)
    image_ids = ds.instances["image_id"].to_numpy()
    if rows_kept.size == 0:
        st.warning("No person matches these filters. Widen the OKS range, lower the error "
                   "threshold or select more visibility levels.")
        return
    worst = pd.Series(e[rows_kept]).groupby(image_ids[rows_kept]).max()  # image -> px
    order = st.radio("Order", ("largest error first", "image id"), horizontal=True,
                     key="ex_order")
    imgs = [int(i) for i in (worst.sort_values(ascending=False, kind="stable").index
                             if order.startswith("largest") else worst.index)]
    st.caption(f"{rows_kept.size} people in {len(imgs)} images match.")
    img_id = kept_selectbox("Image", imgs, "image", key="ex_image",
                            format_func=lambda i: f"image {i} (worst error "
                            + (f"{worst[i]:.2f} px)" if worst[i] >= 0 else "n/a: no GT)"))
    if img_id is None:
        return
    rows = np.flatnonzero((image_ids == img_id) & (~is_det | (box_score >= min_score)))

    # this image's people: the cached predictions, and their maps as decoded (blurred
    # when smoothing is on; DARK blurs on its own)
    maps = _person_maps(path, key, rows, ctl.smooth)
    pred_hm = {m: decoded[m].coords_hm[rows] for m in methods}
    pred_img = {m: decoded[m].coords_img[rows] for m in methods}
    gt = gt_all["gt"][rows]
    labels = [f"box {p}" if is_det[r] else f"person {p}" for p, r in enumerate(rows)]
    gt_labels, boxes, box_labels = None, None, None
    if detector:  # every GT person of the image, and which box found which
        gts = gt_all["gts"]
        g_rows = np.flatnonzero((gts.image_id == img_id) & gts.eligible)
        gt = gts.keypoints[g_rows]
        gt_labels = [f"GT {i}" for i in range(len(g_rows))]
        local = {int(g): i for i, g in enumerate(g_rows)}
        boxes = ds.instances[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]].to_numpy(float)[rows]
        box_labels = [_box_note(p, int(r), gt_all, local, box_score, table["oks"])
                      for p, r in enumerate(rows)]

    left, right = st.columns([3, 2])
    with left:
        # one pills widget per set of decoders (its options follow the sidebar's choice)
        shown = st.pills("Show", ["gt", *methods], selection_mode="multi",
                         default=["gt", *methods], key="ex_show_" + "-".join(methods),
                         format_func=lambda m: "GT" if m == "gt" else method_label(m))
        # an image file that resolves outside the dataset folder and the data root is not read
        ipath = allowed_file(ds.image_path(int(img_id)), path, allowed_roots())
        info = ds.coco.imgs.get(int(img_id), {})
        image = _image(str(ipath), ipath.stat().st_mtime_ns) if ipath is not None else None
        size = (info.get("width", 640), info.get("height", 480))
        fig = image_overlay(image, gt, pred_img, ds.skeleton, keypoint_names=names,
                            visible=shown, image_size=size,
                            person_labels=labels, gt_labels=gt_labels, boxes=boxes,
                            box_labels=box_labels)
        if image is None:
            st.caption("No image file for this id: keypoints on a blank canvas.")
        st.plotly_chart(fig, key="ex_overlay", config=chart_config("ex_overlay"))
    with right:
        person = kept_selectbox("Person", list(range(len(rows))), "person", key="ex_person",
                                format_func=lambda p: box_labels[p] if box_labels else
                                f"person {p} (OKS {table['oks'][rows[p]]:.3f})"
                                if table["has_gt"][rows[p]] else f"person {p} (no GT)")
        person = 0 if person is None or person >= len(rows) else person
        perr = table["err"][rows[person]]
        worst_joint = names[int(np.nanargmax(perr))] if np.isfinite(perr).any() else names[0]
        ss = st.session_state
        if joint != "any" and ss.get("ex_joint_seen") != joint:
            ss["ex_keep_joint"] = joint  # the enlarged joint follows a new joint filter
        ss["ex_joint_seen"] = joint
        jsel = kept_selectbox("Joint to enlarge", names, "joint", key="ex_zoom_joint",
                              default=joint if joint != "any" else worst_joint)
        j = names.index(jsel)
        gt_hm = gt_all["gt_hm"][rows[person]]
        zoom = joint_zoom(maps[person, j], ctl.sigma, ctl.delta, ctl.pattern,
                          {m: pred_hm[m][person, j] for m in methods}, gt_hm[j])
        st.plotly_chart(zoom, key="ex_zoom", config=chart_config("ex_zoom"))
        est = {method_label(m): {
            "x (hm px)": pred_hm[m][person, j, 0], "y (hm px)": pred_hm[m][person, j, 1],
            "error (hm px)": float(np.hypot(*(pred_hm[m][person, j] - gt_hm[j])))}
            for m in methods}
        st.dataframe(pd.DataFrame(est).T, width="stretch")
    st.subheader(f"Person {person}: the {ds.num_keypoints} heatmaps")
    grid = heatmap_grid(maps[person], {m: pred_hm[m][person] for m in methods}, gt_hm,
                        names, selected=j)
    st.plotly_chart(grid, key="ex_grid", config=chart_config("ex_grid"))


run_page(_render)
