"""AP vs Δ: the sweep curves, Δ_opt learned on train, export of the chosen Δ."""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from pathlib import Path

import numpy as np
import streamlit as st

from daec_viz.decoding import PATTERNS
from daec_viz.evaluation.coco_eval import STAT_NAMES
from daec_viz.evaluation.sweep import choose_delta
from daec_viz.exceptions import DaecVizError
from daec_viz.plots.sweep import add_dataset_curves, delta_snippets, sweep_figure
from daec_viz_app import state
from daec_viz_app.figures import chart_config
from daec_viz_app.paths_policy import allowed_roots, check_dataset_folder
from daec_viz_app.ui import page_header, progress_after, run_page, verdict_block


def _sweep(path: str, key: tuple, sigma: float, beta: float):
    """The sweep with a progress bar while it runs > 1 s (then cached in memory and on
    disk)."""
    with progress_after(f"Sweeping {Path(path).name}: Δ × patterns × smoothing (cached "
                        "afterwards)…") as bar:
        return state.sweep(path, key, sigma, beta, progress=bar)


def _render() -> None:
    ds, path, key, ctl = page_header("AP vs Δ")
    df = _sweep(path, key, ctl.sigma, ctl.beta)
    splits = sorted(set(df["split"]))
    train, test = state.learn_on(ds, splits)

    c1, c2, c3, c4 = st.columns(4)
    stat = c1.selectbox("Statistic", STAT_NAMES, key="sw_stat")
    split = c2.selectbox("Curves of split", splits, key="sw_split",
                         index=splits.index(test))
    patterns = c3.multiselect("Patterns", PATTERNS, default=list(PATTERNS), key="sw_pat")
    smooth_opts = c4.multiselect("Smoothing", ["off", "on"], default=["off", "on"],
                                 key="sw_smooth")
    smooth = tuple(s == "on" for s in smooth_opts)

    choice = choose_delta(df, pattern=ctl.pattern, smooth=ctl.smooth, stat=stat,
                          train=train, test=test)
    # the current Δ's value on the test split: from the sweep when on its grid, else live
    cur = choice.curve[(choice.curve["split"] == test)
                       & np.isclose(choice.curve["delta"], ctl.delta)]
    if not cur.empty:
        cur_val = float(cur[stat].iloc[0])
    else:
        cur_val = state.stats(path, key, ctl.config("daec").to_json(), test)[stat]
    m = st.columns(4)
    m[0].metric(f"DAEC {stat}", f"{cur_val:.4f}", help=f"{test!r} split at {ctl.label()}")
    m[1].metric("Δ_opt (learned on " + train + ")", f"{choice.delta:g}")
    m[2].metric(f"{test} {stat} at Δ_opt", f"{choice.test_value:.4f}")
    m[3].metric(f"train {stat} at Δ_opt", f"{choice.train_value:.4f}")
    verdict_block(state.verdict(path, key, ctl, test))
    if choice.in_sample:
        st.warning("No train/test split: Δ_opt is learned and reported on the same data "
                   "(the gain is optimistic).", icon=":material/warning:")

    band = None
    if st.toggle("Δ_opt uncertainty (paired bootstrap over the train images)", key="sw_band",
                 help="Re-matches every Δ of the current pattern once (a few seconds), then "
                      "resamples images: a 95 % AP band and how often each Δ wins."):
        grid = tuple(sorted(set(choice.curve["delta"].tolist())))
        band = state.delta_uncertainty(path, key, ctl.pattern, ctl.smooth, ctl.sigma, train,
                                       grid)
        st.caption(f"{ctl.pattern}{' +smooth' if ctl.smooth else ''}, {train!r} split: "
                   f"{band.line()}. Bubbles on the train curve grow with the share of "
                   "resamples each Δ wins.")
    fig = sweep_figure(df, stat, split, patterns=patterns, smooth=smooth, choice=choice,
                       current_delta=ctl.delta, baselines=ctl.baselines,
                       uncertainty=band if stat == "AP" else None)
    others = _other_datasets(path, stat, ctl)
    if others:
        add_dataset_curves(fig, {n: o[0] for n, o in others.items()}, stat, split,
                           ctl.pattern, ctl.smooth, {n: o[1] for n, o in others.items()})
    ev = st.plotly_chart(fig, key="sw_chart", on_select="rerun", selection_mode="points",
                         config=chart_config("sw_chart"))
    st.caption("Click a point of a curve to set the app-wide Δ, pattern and smoothing. "
               "Solid: raw maps; dashed: "
               "smoothed; dotted: the train curve of the current pattern. Horizontal lines: "
               "the other decoders shown (DARK and DARK-UDP always with their own blur; "
               "gauss3 and the integral decoders have no smoothing"
               + (f"; integral at β = {ctl.beta:g}" if ctl.shows_beta else "") + ").")
    pts = (ev or {}).get("selection", {}).get("points", []) if ev else []
    if pts:
        x = float(pts[0].get("x"))
        curve = pts[0].get("curve_number")
        sel_id = json.dumps([round(x, 4), curve])
        if st.session_state.get("sw_last_sel") != sel_id:
            st.session_state["sw_last_sel"] = sel_id
            # the clicked curve names its pattern and smoothing: "<pattern>[ +smooth]"
            name = fig.data[curve].name if isinstance(curve, int) and \
                0 <= curve < len(fig.data) else ""
            pattern = name.split(" ")[0] if name.split(" ")[0] in PATTERNS else None
            smooth = name.endswith("+smooth") if pattern else None
            if not np.isclose(x, ctl.delta) or (pattern and pattern != ctl.pattern) or \
                    (smooth is not None and smooth != ctl.smooth):
                state.request_delta(x, pattern, smooth)
    b1, b2 = st.columns([1, 3])
    if b1.button(f"Use Δ_opt = {choice.delta:g}", key="sw_use_opt",
                 disabled=bool(np.isclose(choice.delta, ctl.delta))):
        state.request_delta(choice.delta)

    st.subheader("Export the chosen Δ")
    which = st.radio("Δ to export", ("current", "Δ_opt"), horizontal=True, key="sw_which")
    d = ctl.delta if which == "current" else choice.delta
    snips = delta_snippets(d, ctl.pattern, ctl.sigma, ctl.smooth,
                           extra={"learned_on": train, "stat": stat,
                                  "test_value": choice.test_value if which != "current"
                                  else cur_val, "dataset": str(path)},
                           input_size=ds.meta.input_size, heatmap_size=ds.meta.heatmap_size)
    st.download_button("Download JSON", snips["json"], file_name="daec_delta.json",
                       mime="application/json", key="sw_dl")
    t1, t2, t3 = st.tabs(["JSON", "HRNet config (TEST.DAEC.DELTA)", "mmpose decode"])
    t1.code(snips["json"], language="json")
    t2.code(snips["hrnet"], language="yaml")
    t3.code(snips["mmpose"], language="python")
    with st.expander("Sweep table"):
        st.dataframe(df, width="stretch", hide_index=True)
        st.caption(f"Cached on disk in {state.cache_dir_note()}")


#: How far below each allowed root the page looks for dataset folders, and how many
#: folders it visits at most (a home folder as data root stays cheap to scan).
SCAN_DEPTH, SCAN_VISITS = 2, 4000


@st.cache_data(ttl=30, max_entries=4, show_spinner=False)
def _dataset_folders(roots: tuple[str, ...]) -> list[str]:
    """Dataset folders (``annotations.json`` + ``heatmaps.h5``/``.npz``) in the allowed
    ``roots`` and up to :data:`SCAN_DEPTH` levels below them, sorted: hidden folders and
    symlinks are not entered, unreadable folders skipped, at most :data:`SCAN_VISITS`
    folders visited; each one found still passes the data-root policy
    (:func:`~daec_viz_app.paths_policy.check_dataset_folder`) before it is listed."""
    from daec_viz.io.datasets import ANNOTATIONS_FILE, CACHE_FILES
    found: set[str] = set()
    todo = deque((Path(r), 0) for r in roots)  # breadth first: shallow folders first
    visits = 0
    while todo and visits < SCAN_VISITS:
        folder, depth = todo.popleft()
        visits += 1
        try:
            with os.scandir(folder) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False),
                            e.is_file()) for e in it]
        except OSError:  # unreadable or vanished: not listed
            continue
        files = {n for n, _, is_file in entries if is_file}
        if ANNOTATIONS_FILE in files and files & set(CACHE_FILES):
            try:
                found.add(str(check_dataset_folder(folder, [Path(r) for r in roots])))
            except DaecVizError:
                pass
        if depth < SCAN_DEPTH:
            todo.extend((folder / n, depth + 1) for n, is_dir, _ in sorted(entries)
                        if is_dir and not n.startswith("."))
    return sorted(found)


def _other_datasets(path: str, stat: str, ctl) -> dict:
    """Other dataset folders chosen by the user (those the app may open, or any typed),
    each swept through the cached sweep at its own σ (decoded on the Dask cluster with
    $DAEC_VIZ_SCHEDULER set) with its Δ_opt learned on its own train split ->
    ``{legend name: (sweep table, Δ choice)}``; refused or unreadable folders show an
    error, the page stays usable."""
    roots = allowed_roots(state.resolve_initial_dataset(sys.argv[1:]))
    here = str(Path(path).resolve())
    options = [f for f in _dataset_folders(tuple(str(r) for r in roots)) if f != here]
    chosen = st.multiselect(
        "Compare with other datasets", options, key="sw_others", accept_new_options=True,
        # a listed folder shows its name first; a typed one exactly as typed
        format_func=lambda f: f"{Path(f).name} ({f})" if f in options else f,
        placeholder="dataset folders the app may open (or type a path)",
        help="Other models or checkpoints on the same task: each folder's DAEC curve (the "
             "current pattern, smoothing and statistic, its own σ) is drawn beside this "
             "one's, one colour per dataset, its Δ_opt (learned on its own train split) "
             "marked ◆. Listed: the dataset folders inside the app's data root "
             f"(up to {SCAN_DEPTH} levels down), the demo and the dataset the app was "
             "started with; a typed folder must lie inside them too. With "
             "$DAEC_VIZ_SCHEDULER set, sweeps decode on that Dask cluster.")
    out: dict = {}
    for typed in chosen:
        try:
            folder = str(check_dataset_folder(typed, roots))
            key2 = state.dataset_key(folder)
            ds2 = state.load(folder, key2)
            df2 = _sweep(folder, key2, ds2.meta.sigma, ctl.beta)
            train2, test2 = state.learn_on(ds2, sorted(set(df2["split"])))
            ch = choose_delta(df2, pattern=ctl.pattern, smooth=ctl.smooth, stat=stat,
                              train=train2, test=test2)
        except DaecVizError as exc:
            st.error(str(exc), icon=":material/error:")  # it names the folder
            continue
        name = Path(folder).name
        out[name if name not in out else folder] = (df2, ch)
    if out:
        st.caption(" · ".join(f"{n}: Δ_opt = {ch.delta:g}, {stat} {ch.test_value:.4f}"
                              for n, (_, ch) in out.items()))
    return out


run_page(_render)
