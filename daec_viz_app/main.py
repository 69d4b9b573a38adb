"""The app's entry: page navigation (``st.navigation``) and the sidebar.

Sidebar: the dataset (the bundled simulated demo, built on first launch with a progress
bar, or any dataset folder; ``daec-viz app DATASET`` / ``streamlit run app.py --
--dataset DATASET`` / ``$DAEC_VIZ_DATASET`` preselect one) and the app-wide decoder
controls Δ, pattern, σ and smoothing, the decoders every page shows besides DAEC and the
integral decoders' β (shown while one of them is), kept in ``st.session_state`` (keys
``delta``, ``pattern``, ``sigma``, ``smooth``, ``decoders``, ``beta``) so every page
updates live.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import streamlit as st

from daec_viz.decoding.config import DEFAULT_BETA, DEFAULT_BLUR_KERNEL, DecoderConfig
from daec_viz.evaluation.sweep import BASELINES
from daec_viz.exceptions import DaecVizError
from daec_viz.plots.style import method_label
from daec_viz_app import state
from daec_viz_app.figures import FORMATS
from daec_viz_app.paths_policy import allowed_roots, check_dataset_folder
from daec_viz_app.server import start_warmup
from daec_viz_app.ui import guarded, simulated_badge

PAGES_DIR = Path(__file__).resolve().parent / "pages"
DEMO = "Bundled demo (simulated)"
FOLDER = "Another dataset folder"
#: Query parameters of a shareable link (page is the URL path); see :func:`_read_url`.
URL_KEYS = ("dataset", "delta", "pattern", "sigma", "smooth", "decoders", "beta", "image",
            "person", "joint")


def _pages() -> list:
    return [
        st.Page(PAGES_DIR / "explore.py", title="Explore", icon=":material/image_search:",
                url_path="explore", default=True),
        st.Page(PAGES_DIR / "ap_vs_delta.py", title="AP vs Δ", icon=":material/show_chart:",
                url_path="ap_vs_delta"),
        st.Page(PAGES_DIR / "errors.py", title="Error direction", icon=":material/explore:",
                url_path="errors"),
        st.Page(PAGES_DIR / "compare.py", title="Compare", icon=":material/table_chart:",
                url_path="compare"),
        st.Page(PAGES_DIR / "ab.py", title="A/B", icon=":material/compare:",
                url_path="ab"),
        st.Page(PAGES_DIR / "learn.py", title="Learn", icon=":material/school:",
                url_path="learn"),
    ]


def _init_state() -> None:
    ss = st.session_state
    if "dataset_choice" not in ss:
        given = state.resolve_initial_dataset(sys.argv[1:])
        ss["dataset_choice"] = FOLDER if given else DEMO
        ss["folder_input"] = given or ""
        _read_url()
    ss.setdefault("delta", 4.0)
    ss.setdefault("pattern", "BR")
    ss.setdefault("sigma", 2.0)
    ss.setdefault("smooth", False)
    ss.setdefault("decoders", list(BASELINES))
    ss.setdefault("beta", float(ss.get("beta_keep", DEFAULT_BETA)))
    ss.setdefault("fig_format", "png")
    pending = ss.pop("pending_controls", None)
    if pending:  # a page asked for other controls (a click on a curve, the Δ_opt button)
        ss["delta"] = float(pending["delta"])
        if pending.get("pattern") in ("BR", "UR", "BL", "UL"):
            ss["pattern"] = pending["pattern"]
        if pending.get("smooth") is not None:
            ss["smooth"] = bool(pending["smooth"])


def _read_url() -> None:
    """Seed the state from a shared link's query parameters (first run of a session);
    values that do not parse are ignored, the URL's controls win over the dataset's
    defaults."""
    qp, ss = st.query_params, st.session_state
    if qp.get("dataset"):
        if qp["dataset"] == "demo":
            ss["dataset_choice"], ss["folder_input"] = DEMO, ""
        else:
            ss["dataset_choice"], ss["folder_input"] = FOLDER, qp["dataset"]
    given: dict = {}
    for name, conv in (("delta", float), ("sigma", float), ("beta", float)):
        try:
            v = conv(qp[name])
            if np.isfinite(v) and (name == "delta" or v > 0):
                given[name] = v
        except (KeyError, ValueError):
            pass
    if "decoders" in qp:  # the baselines shown ("" = DAEC alone); unknown names dropped
        given["decoders"] = [m for m in BASELINES if m in qp["decoders"].split(",")]
    if qp.get("pattern") in ("BR", "UR", "BL", "UL"):
        given["pattern"] = qp["pattern"]
    if qp.get("smooth") in ("0", "1"):
        given["smooth"] = qp["smooth"] == "1"
    ss.update(given)
    ss["url_controls"] = set(given)  # kept when the dataset's defaults are applied
    for name in ("image", "person"):
        try:
            ss[f"ex_keep_{name}"] = int(qp[name])
        except (KeyError, ValueError):
            pass
    if qp.get("joint"):
        ss["ex_keep_joint"] = qp["joint"]


def _write_url() -> None:
    """The current view as query parameters, so a copied link reopens it."""
    ss = st.session_state
    params: dict[str, str] = {}
    if ss.get("dataset_choice") == DEMO:
        params["dataset"] = "demo"
    elif ss.get("dataset_path"):
        params["dataset"] = str(ss["dataset_path"])
    params.update(delta=f"{float(ss['delta']):g}", pattern=str(ss["pattern"]),
                  sigma=f"{float(ss['sigma']):g}", smooth="1" if ss["smooth"] else "0")
    ctl = state.controls_of(ss)
    if ctl.baselines != BASELINES:  # the default (every decoder) keeps the link short
        params["decoders"] = ",".join(ctl.baselines)
    if ctl.beta != DEFAULT_BETA:
        params["beta"] = f"{ctl.beta:g}"
    for name in ("image", "person", "joint"):
        if ss.get(f"ex_keep_{name}") is not None:
            params[name] = str(ss[f"ex_keep_{name}"])
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def _demo_path() -> str:
    from daec_viz.synthetic.demo import ensure_demo
    bar = st.sidebar.progress(0.0, text="Building the demo dataset (first launch only)…")
    try:
        path = ensure_demo(progress=lambda f, msg="": bar.progress(
            min(1.0, max(0.0, float(f))), text=f"Building the demo: {msg}"))
    finally:
        bar.empty()
    return str(path)


def _sidebar_dataset() -> None:
    ss = st.session_state
    sb = st.sidebar
    sb.header("Dataset")
    choice = sb.radio("Source", (DEMO, FOLDER), key="dataset_choice",
                      label_visibility="collapsed")
    if choice == DEMO:
        if not ss.get("demo_path"):
            ss["demo_path"] = _demo_path()
        ss["dataset_path"] = ss["demo_path"]
    else:
        folder = sb.text_input("Dataset folder", key="folder_input",
                               placeholder="/path/to/folder with annotations.json + "
                                           "heatmaps.h5",
                               help="A daec-viz dataset folder: annotations.json (COCO "
                                    "keypoints), heatmaps.h5 or .npz, optional images/.")
        folder = folder.strip()
        if not folder:
            ss["dataset_path"] = None
            sb.info("Type a dataset folder, or choose the demo.")
            return
        try:  # resolved, inside the data root (paths_policy), a folder
            resolved = check_dataset_folder(folder, allowed_roots(
                state.resolve_initial_dataset(sys.argv[1:])))
        except DaecVizError as exc:
            ss["dataset_path"] = None
            sb.error(str(exc), icon=":material/error:")
            return
        ss["dataset_path"] = str(resolved)
    try:
        ds, path, dkey = state.current()
    except DaecVizError as exc:  # the data pages show it with what to do: no 2nd red box
        sb.warning(f"Cannot open this dataset: {exc}")
        return
    ss.setdefault("sigma_for", None)
    if ss["sigma_for"] != path:  # a new dataset opens at its own defaults, as the CLI does
        ss["sigma_for"] = path
        default = DecoderConfig("daec").resolved(sigma=float(ds.meta.sigma))
        keep = ss.pop("url_controls", set())  # a shared link's controls win, once
        if "sigma" not in keep:
            ss["sigma"] = default.sigma
        if "delta" not in keep:
            ss["delta"], ss["opened_at"] = state.opening_delta(
                path, dkey, str(ss["pattern"]), bool(ss["smooth"]), float(ss["sigma"]),
                float(ss["beta"]))
        else:
            ss["opened_at"] = "Δ from the link"
    sb.caption(f"{Path(path).name}: {len(ds)} people, {len(ds.image_ids)} images, "
               f"{ds.num_keypoints} joints, maps {ds.meta.heatmap_size[0]}×"
               f"{ds.meta.heatmap_size[1]}, σ = {ds.meta.sigma:g}, model "
               f"`{ds.meta.model}`. Opened at {ss.get('opened_at', '')}.")
    with sb:
        simulated_badge(ds)


def _sidebar_controls() -> None:
    sb = st.sidebar
    sb.header("Decoder (app-wide)")
    ss = st.session_state
    lo, hi = state.delta_range(float(ss["sigma"]), float(ss["delta"]))
    sb.slider("Δ (heatmap px)", lo, hi, step=0.5, key="delta",
              help="DAEC's error-compensation cut: Δ px off the pattern's corner of the "
                   f"(6σ+3) window; up to {hi:g} = 2e + 1, where the window is empty.")
    sb.selectbox("Cut pattern", ("BR", "UR", "BL", "UL"), key="pattern",
                 help="The corner of the window that is cut (BR compensates a "
                      "bottom-right bias).")
    sb.slider("σ (window, heatmap px)", 0.5, 5.0, step=0.5, key="sigma",
              help="DAEC window half-width int(3σ+1); defaults to the cache's σ.")
    sb.toggle(f"Smoothing (Gaussian blur {DEFAULT_BLUR_KERNEL} first)", key="smooth",
              help="Blur every map before standard, shifting and DAEC (DARK and DARK-UDP "
                   "always use their own blur; gauss3 and the integral decoders never "
                   "blur).")
    sb.multiselect("Compared with (every page)", BASELINES, key="decoders",
                   format_func=method_label, placeholder="DAEC alone",
                   help="The decoders every page shows beside DAEC: the paper's baselines "
                        "and the field's (DARK-UDP, the three-point Gaussian fit, integral "
                        "regression with and without Gu et al.'s debiasing, as mmpose). "
                        "The verdict holds DAEC against the best of all of them, shown or "
                        "not.")
    if state.controls_of(ss).shows_beta:
        b = float(ss["beta"])  # a link's β outside the usual range widens it
        sb.slider("β (integral decoders' softmax sharpness)", min(1.0, b),
                  max(40.0, b), step=0.5,
                  key="beta", help="softmax(β·h) over the map; default "
                  f"{DEFAULT_BETA:g} (mmpose's Debias-IPR setting, for maps with maxima "
                  "near 1).")
        ss["beta_keep"] = float(ss["beta"])  # kept while the slider is hidden
    sb.radio("Figure downloads (each chart's camera button)", FORMATS, key="fig_format",
             horizontal=True, format_func=str.upper,
             help="PNG at twice the screen resolution, or SVG (vector, for papers).")
    t = st.session_state.get("last_render_s")
    if t is not None:
        sb.caption(f"last page render: {t * 1000:.0f} ms")


def run() -> None:
    """Build the app (called by ``app.py`` and ``daec_viz_app/entry/app.py``; this file
    is not a main script itself: Streamlit would treat its sibling ``pages/`` folder as
    old-style pages)."""
    st.set_page_config(page_title="daec-viz", page_icon=":material/my_location:",
                       layout="wide")
    start_warmup(sys.argv[1:])  # once per server (``streamlit run``: from the 1st session)
    _init_state()
    nav = st.navigation(_pages())
    st.sidebar.title("daec-viz")
    guarded(_sidebar_dataset)
    _sidebar_controls()
    nav.run()
    _write_url()

