"""Learn: the paper's eq. (3)-(10) in 1-D and 2-D, Δ_opt of the simulated network
recomputed live from its knobs (bias, blur, noise), and where the bottom-right bias comes
from (training/testing pipelines, flip test, grid-offset leak) with Δ_opt live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from daec_viz.decoding import PATTERNS, decode
from daec_viz.plots.learn import (
    delta_opt_figure,
    estimate_curve_figure,
    map_2d_animation,
    map_2d_figure,
    signal_noise_figure,
)
from daec_viz.plots.style import fmt_num, method_label
from daec_viz.synthetic.simulate import DEFAULT_KNOBS
from daec_viz.synthetic.teaching import (
    NOISE_KINDS,
    OTHER_SIDE,
    PATTERN_SIDE,
    animation_deltas,
    estimate_2d,
    estimate_2d_curve,
    illustrate_1d,
    illustrate_2d,
    pipeline_delta_curve,
    pipeline_maps,
    pipeline_offsets,
    simulated_delta_curve,
)
from daec_viz_app import state
from daec_viz_app.figures import chart_config
from daec_viz_app.ui import run_page

N_SIM = 200


@st.cache_data(max_entries=64, show_spinner=False)
def _delta_curve(bias_x: float, bias_y: float, blur: float, fit_noise: float,
                 noise_std: float, pattern: str, sigma: float) -> dict:
    knobs = DEFAULT_KNOBS.replace(bias=(bias_x, bias_y), sigma_out=blur, fit_noise=fit_noise,
                                  noise_std=noise_std)
    c = simulated_delta_curve(knobs, n=N_SIM, pattern=pattern, sigma=sigma)
    return {"curve": c}


#: People simulated per pipeline setting (17 joints each): the simulation is most of a
#: setting's cost (0.1-0.3 s for 60 on the busy 2-core machine), so kept small.
N_PIPE = 60


@st.cache_resource(max_entries=8, show_spinner=False)
def _pipeline_maps(pipeline: str, flip_test: str, leak: float, convention: str | None
                   ) -> tuple:
    """(settings, (heatmaps, gt)) of one pipeline setting: simulated once, then every Δ,
    pattern and σ decodes the same maps (about 12 MB each)."""
    from daec_viz.synthetic.pipeline import PipelineSettings
    st_ = PipelineSettings(pipeline, flip_test=flip_test, leak=leak, convention=convention)
    return st_, pipeline_maps(st_, n=N_PIPE)


@st.cache_data(max_entries=64, show_spinner=False)
def _pipeline_curve(pipeline: str, flip_test: str, leak: float, convention: str | None,
                    pattern: str, sigma: float) -> dict:
    st_, maps = _pipeline_maps(pipeline, flip_test, leak, convention)
    curve, dark_err = pipeline_delta_curve(st_, n=N_PIPE, pattern=pattern, sigma=sigma,
                                           maps=maps)
    return {"curve": curve, "dark": dark_err, "offsets": pipeline_offsets(st_, n=N_PIPE)}


@st.cache_data(max_entries=64, show_spinner=False)
def _pipeline_daec_at(pipeline: str, flip_test: str, leak: float, convention: str | None,
                      pattern: str, sigma: float, delta: float) -> np.ndarray:
    """DAEC's mean error [x, y] (heatmap px) at one Δ on the same simulated maps."""
    st_, maps = _pipeline_maps(pipeline, flip_test, leak, convention)
    curve, _ = pipeline_delta_curve(st_, n=N_PIPE, pattern=pattern, sigma=sigma,
                                    deltas=[delta], maps=maps)
    return curve.mean_bias[0]


#: The other x side of each pattern (what to try when the bias points the other way).
_MIRROR = {"BR": "BL", "UR": "UL", "BL": "BR", "UL": "UR"}


def _page_controls(sigma: float) -> tuple[float, str, bool]:
    """The page's own Δ and pattern (started from the app-wide ones, then independent:
    a teacher can slide them without touching the data pages), and "animate Δ"."""
    ss = st.session_state
    app = state.controls()
    # Streamlit drops a widget's key while its page is not shown: the page's values live
    # on in le_keep_* and seed the widgets when the page comes back
    ss.setdefault("le_delta", float(ss.get("le_keep_delta", app.delta)))
    ss.setdefault("le_pattern", ss.get("le_keep_pattern", app.pattern))
    lo, hi = state.delta_range(sigma, float(ss["le_delta"]))
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    delta = c1.slider("Δ on this page (heatmap px)", lo, hi, step=0.25, key="le_delta",
                      help="This page's own Δ; the sidebar's Δ stays the one of the data "
                           "pages.")
    pattern = c2.selectbox("Cut pattern", PATTERNS, key="le_pattern",
                           help="The corner cut in 2-D; in 1-D its x side: BR/UR cut the "
                                "upper end, BL/UL the lower end.")
    animate = c3.toggle("Animate Δ", key="le_animate",
                        help="Play the 2-D window and estimate over every Δ.")

    def reset() -> None:
        ss["le_delta"], ss["le_pattern"] = float(app.delta), app.pattern

    c4.button("Sidebar's Δ and pattern", on_click=reset, key="le_reset")
    ss["le_keep_delta"], ss["le_keep_pattern"] = float(delta), str(pattern)
    st.caption("Δ and the pattern above are this page's own: copied from the sidebar the "
               "first time (and by the button), they leave the sidebar's Δ, the app-wide "
               "one of the data pages, alone.")
    return float(delta), str(pattern), bool(animate)


def _render() -> None:
    st.title("Learn: why cutting Δ compensates the error")
    ctl = state.controls()
    st.markdown(
        "A predicted heatmap is **f = g + h** (eq. 3): the signal **g** (the training "
        "Gaussian, mean μ) plus noise **h** (random and biased errors). Its mean over the "
        "window, **ν** (eq. 5), misses μ by **δ ≈ ∫x h / ∫g** (eq. 8-9). Cutting **Δ** off "
        "the window's upper bound, **ν(Δ) = ∫ x f / ∫ f over [x1, x2 − Δ]** (eq. 10), "
        "moves the estimate back toward μ. A bias toward smaller x is compensated by cutting the "
        "lower end instead (patterns BL/UL). Δ and the pattern below are this page's own; "
        "σ is the sidebar's.")
    delta, pattern, animate = _page_controls(ctl.sigma)
    side = PATTERN_SIDE[pattern]

    st.subheader("1-D (eq. 3-10)")
    c1, c2, c3, c4, c5 = st.columns(5)
    kind = c1.selectbox("Noise h", NOISE_KINDS, index=NOISE_KINDS.index("both"),
                        key="le_kind")
    mu = c2.slider("μ (truth, px)", 15.0, 25.0, 20.3, step=0.1, key="le_mu")
    shift = c3.slider("bias of h (px)", -2.0, 2.0, 0.6, step=0.1, key="le_shift")
    weight = c4.slider("bias weight", 0.0, 1.0, 0.5, step=0.05, key="le_weight")
    std = c5.slider("random noise std", 0.0, 0.1, 0.02, step=0.005, key="le_std")
    il = illustrate_1d(mu=mu, sigma=ctl.sigma, delta=delta, kind=kind, shift=shift,
                       weight=weight, std=std, side=side)
    m = st.columns(5)
    m[0].metric("ν(Δ) (px)", fmt_num(il.nu_at, 3, missing="n/a: Δ empties the window"),
                delta=f"{fmt_num(il.nu_at - il.mu, 3, True)} vs μ",
                delta_color="off")
    m[1].metric("ν(0) (eq. 5)", fmt_num(il.nu_full),
                delta=f"{fmt_num(il.nu_full - il.mu, 3, True)} vs μ",
                delta_color="off")
    m[2].metric("δ (eq. 9)", fmt_num(il.delta_paper, 3, True))
    reach = f"none in ±{il.search[1]:g}"
    search_help = (f"Searched on Δ ∈ [{il.search[0]:g}, {il.search[1]:g}] px; a negative Δ "
                   "widens that end of the window, as the decoder does.")
    m[3].metric("Δ* with ν(Δ*) = μ", reach if il.delta_star is None
                else f"{il.delta_star:.2f}", help=f"At the {side} end ({pattern}). "
                + search_help)
    mirror = _MIRROR[pattern]
    m[4].metric(f"Δ* with {mirror}", reach if il.delta_star_other is None
                else f"{il.delta_star_other:.2f}",
                help=f"Cutting the {OTHER_SIDE[side]} end instead (the {mirror} pattern): "
                     "a bias of the other sign is compensated there. " + search_help)
    # the bias points the other way when this end has no cut (Δ* > 0) that compensates
    # it but the other end has one; a widening Δ* < 0 here only reaches the noise of the
    # tails beyond the (6σ + 3) window, not the bias
    cut_here = il.delta_star is not None and il.delta_star > 0
    cut_there = il.delta_star_other is not None and il.delta_star_other > 0
    if kind != "random" and not cut_here and cut_there:
        widening = ("" if il.delta_star is None else
                    f" (Δ* = {il.delta_star:.2f} here widens the window: it only reaches "
                    "the noise in the tail, not the bias.)")
        st.info(f"No cut at the {side} end compensates this bias: it points the other way. "
                f"Try the {mirror} pattern: cutting the {OTHER_SIDE[side]} end by "
                f"Δ* = {il.delta_star_other:.2f} px brings ν back to μ.{widening}",
                icon=":material/swap_horiz:")
    left, right = st.columns(2)
    left.plotly_chart(signal_noise_figure(il), key="le_1d", config=chart_config("le_1d"))
    right.plotly_chart(estimate_curve_figure(il), key="le_curve",
                       config=chart_config("le_curve"))

    st.subheader(f"2-D (the same cut on both axes, pattern {pattern})")
    c1, c2, c3 = st.columns(3)
    bx = c1.slider("bias x (px)", -2.0, 2.0, 0.6, step=0.1, key="le_bx")
    by = c2.slider("bias y (px)", -2.0, 2.0, 0.4, step=0.1, key="le_by")
    n2 = c3.slider("random noise std (2-D)", 0.0, 0.1, 0.02, step=0.005, key="le_std2")
    mu2 = (12.3, 14.6)
    maps = illustrate_2d(mu2, ctl.sigma, (bx, by), 0.5, n2)
    arg, est = estimate_2d(maps["f"], ctl.sigma, delta, pattern)
    err = est - mu2
    left, right = st.columns([3, 2])
    right.metric("DAEC 2-D error (x, y) px", f"({err[0]:+.3f}, {err[1]:+.3f})")
    right.caption("The red box is what DAEC integrates: the dashed (6σ+3) window with Δ "
                  "cut off the pattern's corner. Slide Δ above (or press play with "
                  "\"Animate Δ\"): at the right Δ the estimate (✕) lands on the truth "
                  "μ (★).")
    if ctl.baselines:  # the decoders shown in the sidebar, on the same biased map
        f4 = np.asarray(maps["f"], dtype=np.float64)[None, None]
        other = {method_label(m): dict(zip(("error x (px)", "error y (px)"),
                                           decode(f4, ctl.config(m)).coords[0, 0] - mu2,
                                           strict=True))
                 for m in ctl.baselines}
        right.dataframe(pd.DataFrame(other).T.style.format("{:+.3f}"), width="stretch",
                        key="le_others")
        right.caption("The other decoders shown (sidebar) on the same map, at the "
                      "sidebar's settings: none has a Δ to cut against the bias of h.")
    if animate:
        grid = animation_deltas(ctl.sigma)
        ests = estimate_2d_curve(maps["f"], ctl.sigma, grid, pattern)
        # the slider starts at the grid's Δ nearest the page's Δ
        fig2 = map_2d_animation(maps["f"], ctl.sigma, grid, pattern, mu2, arg, ests,
                                active=int(np.argmin(np.abs(grid - delta))))
    else:
        fig2 = map_2d_figure(maps["f"], ctl.sigma, delta, pattern, mu2, arg, est)
    left.plotly_chart(fig2, key="le_2d", config=chart_config("le_2d"))

    st.subheader("Δ_opt of the simulated network tracks its bias")
    st.caption(f"{N_SIM} simulated people (fixed GT and seed); DAEC with this page's "
               "pattern and the sidebar's σ over Δ ∈ [−2, 8]; Δ_opt maximises the mean "
               "keypoint OKS.")
    c1, c2, c3, c4, c5 = st.columns(5)
    sbx = c1.slider("network bias x (px)", -1.5, 1.5, float(DEFAULT_KNOBS.bias[0]),
                    step=0.05, key="le_nbx")
    sby = c2.slider("network bias y (px)", -1.5, 1.5, float(DEFAULT_KNOBS.bias[1]),
                    step=0.05, key="le_nby")
    blur = c3.slider("blur: output σ (px)", 1.5, 4.0, float(DEFAULT_KNOBS.sigma_out),
                     step=0.1, key="le_blur")
    fit = c4.slider("position noise (px)", 0.0, 2.0, float(DEFAULT_KNOBS.fit_noise),
                    step=0.1, key="le_fit")
    bg = c5.slider("background noise", 0.0, 0.1, float(DEFAULT_KNOBS.noise_std),
                   step=0.005, key="le_bg")
    curve = _delta_curve(sbx, sby, blur, fit, bg, pattern, ctl.sigma)["curve"]
    mm = st.columns(3)
    mm[0].metric("Δ_opt (simulated)", f"{curve.delta_opt:g}")
    mm[1].metric("mean OKS at Δ_opt", f"{curve.mean_oks.max():.4f}")
    mm[2].metric("bias (x, y) px", f"({sbx:+.2f}, {sby:+.2f})")
    st.plotly_chart(delta_opt_figure(curve), key="le_opt", config=chart_config("le_opt"))
    st.caption("Simulated: the simulated network of daec_viz.synthetic.simulate, "
               "not a trained model.")
    _pipeline_section(delta, pattern, ctl.sigma)


def _pipeline_section(delta: float, pattern: str, sigma: float) -> None:
    """Where the bottom-right bias comes from: pipeline settings -> offsets and Δ_opt."""
    st.subheader("Where the bottom-right bias comes from")
    st.caption(
        "The same simulated network, now without a free bias knob: its heatmaps are the "
        "training targets of a code base (HRNet rounds the target to a heatmap pixel; "
        "DarkPose and UDP do not), run with that code base's flip test, optionally "
        "failing to learn the offset of its natural output grid (leak) or tested in "
        "another code base's convention. The first row is derived from the pipeline alone "
        "(daec_viz.synthetic.pipeline's offset helpers, no heatmaps decoded); the second "
        f"is measured on {N_PIPE} simulated people (17 joints each, fixed seed): DARK's "
        "mean error, DAEC's at this page's Δ and pattern (the sidebar's σ), and Δ_opt, "
        "the Δ of the highest mean keypoint OKS on the grid below (as in the section "
        "above), recomputed for every setting.")
    c1, c2, c3, c4 = st.columns(4)
    pipeline = c1.selectbox("training pipeline", ["hrnet", "dark", "udp"], key="le_pipe")
    flip = c2.selectbox("flip test", ["none", "shift", "noshift"], key="le_flip",
                        help="shift: HRNet's one-pixel shift of the flipped-back map")
    leak = c3.slider("grid-offset leak", 0.0, 1.0, 0.0, step=0.25, key="le_leak",
                     help="the fraction of its natural grid's offset (stride·i + "
                          "(stride − 1)/2 input px) the network did not unlearn")
    conv = c4.selectbox("tested in the convention of", ["(its own)", "hrnet", "dark", "udp"],
                        key="le_conv")
    setting = (pipeline, flip, float(leak), None if conv == "(its own)" else conv)
    r = _pipeline_curve(*setting, pattern, float(sigma))
    curve, dark, off = r["curve"], r["dark"], r["offsets"]
    at = _pipeline_daec_at(*setting, pattern, float(sigma), float(delta))
    at_opt = curve.mean_bias[int(np.flatnonzero(curve.deltas == curve.delta_opt)[0])]

    def xy(v: np.ndarray) -> str:
        return f"({fmt_num(v[0], 3, True)}, {fmt_num(v[1], 3, True)})"

    mm = st.columns(4)
    mm[0].metric("flip test (derived)", xy(off["flip_test"]),
                 help="the flip-test map's centre relative to the truth (flip_test_offset)")
    mm[1].metric("convention (derived)", xy(off["convention"]),
                 help="testing in another code base's convention (convention_offset)")
    mm[2].metric("leak (derived)", xy(off["leak"]), help="leak_offset")
    mm[3].metric("sum (derived)", xy(off["sum"]),
                 help="what a decoder without error of its own would measure, before "
                      "HRNet's rounding and the simulated network's noise")
    mm = st.columns(4)
    mm[0].metric("DARK mean error (measured)", xy(dark))
    mm[1].metric(f"DAEC mean error at Δ = {delta:g} (measured)", xy(at),
                 help=f"pattern {pattern}, σ = {sigma:g}; Δ is this page's (top)")
    mm[2].metric("Δ_opt of this pipeline", f"{curve.delta_opt:g}",
                 help="the Δ of the highest mean keypoint OKS (first on ties), Δ ∈ "
                      f"[{curve.deltas[0]:g}, {curve.deltas[-1]:g}] every 0.5")
    mm[3].metric("DAEC mean error at Δ_opt (measured)", xy(at_opt))
    st.plotly_chart(delta_opt_figure(curve), key="le_pipe_opt",
                    config=chart_config("le_pipe_opt"))
    st.caption("Simulated. Heatmap px, x right, y down. The measured means are of "
               f"{N_PIPE * 17} joints: with another seed they move by about ±0.05 px "
               "(Δ_opt by up to one 0.5 step). Same training and testing code "
               "base: almost no bias and Δ_opt near 0-1.5; HRNet's shift on unbiased labels "
               "or an HRNet-trained network tested as DarkPose does: a bottom-right bias and "
               "a larger Δ_opt (README, 'Why is it biased?').")


run_page(_render)
