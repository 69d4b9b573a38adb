"""The per-joint bias diagram: mean error arrows on a body layout.

:func:`joint_bias_diagram` draws each decoder's mean bias per joint as an arrow on a body
(COCO's canonical frontal layout :data:`COCO_BODY_LAYOUT`, or one made from ground-truth
keypoints by :func:`layout_from_keypoints`), magnified ×k (:func:`auto_arrow_magnify`)
against the person's height (:func:`person_height`), with a reference arrow of a round
length. Image axes are kept: x right, y **down**, so an arrow to the lower right is a
bottom-right bias. Part of :mod:`daec_viz.plots.errors`, which re-exports these names.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from daec_viz.analysis import BiasEstimate, labelled_xy
from daec_viz.exceptions import InputError
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES, COCO_SKELETON
from daec_viz.plots.style import fmt_num, legend_below, method_color, methods_of

__all__ = ["COCO_BODY_LAYOUT", "DEFAULT_PERSON_HEIGHT", "ARROW_TARGET", "joint_bias_diagram",
           "auto_arrow_magnify", "person_height", "layout_from_keypoints"]

#: The person faces the viewer, so their left side is on the image's right.
COCO_BODY_LAYOUT: np.ndarray = np.array([
    [0.00, 0.10],                  # nose
    [0.035, 0.075], [-0.035, 0.075],  # left/right eye
    [0.075, 0.09], [-0.075, 0.09],    # left/right ear
    [0.15, 0.22], [-0.15, 0.22],      # shoulders
    [0.24, 0.39], [-0.24, 0.39],      # elbows
    [0.30, 0.55], [-0.30, 0.55],      # wrists
    [0.10, 0.55], [-0.10, 0.55],      # hips
    [0.11, 0.76], [-0.11, 0.76],      # knees
    [0.12, 0.96], [-0.12, 0.96],      # ankles
])
COCO_BODY_LAYOUT.setflags(write=False)


def layout_from_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """A body layout (K, 2) from GT keypoints: each person's labelled joints are scaled into
    a unit box (by height), centred, then averaged (NaN for never-labelled joints).

    ``keypoints`` (N, K, 2) with NaN for unlabelled joints (or (N, K, 3) with visibility).
    """
    xy = labelled_xy(keypoints)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(xy, axis=1)
        hi = np.nanmax(xy, axis=1)
        h = (hi - lo)[:, 1]
        h = np.where(h > 0, h, np.nan)
        mid = (lo + hi) / 2
        norm = (xy - mid[:, None]) / h[:, None, None]
        out = np.nanmean(norm, axis=0)
    return out - np.nanmin(out[:, 1]) * np.array([0.0, 1.0])


#: A person's height (heatmap px, top-most to bottom-most joint) assumed when none is
#: given: a COCO top-down crop pads the box 1.25× onto a 64 px tall heatmap, so a standing
#: person spans about 64 / 1.25 ≈ 51 px, its joints (eyes to ankles) a little less.
DEFAULT_PERSON_HEIGHT: float = 48.0

#: The automatic arrow magnification draws the longest bias about this fraction of the
#: body's height (0.15: ~40 px on a body ~270 px tall, so its direction shows past the
#: 10 px arrowhead; still shorter than a limb, so it does not reach the next joint).
ARROW_TARGET: float = 0.15


def person_height(keypoints: np.ndarray, min_labelled: float = 0.5) -> float:
    """Median height of the persons in ``keypoints``: top-most to bottom-most labelled
    joint, in the keypoints' units (heatmap px for ``MethodErrors.gt_hm``).

    Parameters
    ----------
    keypoints : (N, K, 2) positions with NaN for unlabelled joints, or (N, K, 3) with COCO
        visibility (v = 0: unlabelled).
    min_labelled : only persons with at least this share of their K joints labelled count
        (a person cut at the hips would shrink the median); if none has, every person
        with two labelled joints counts.

    Returns
    -------
    The median height, NaN when no person has two labelled joints.

    >>> kp = np.zeros((3, 5, 2))  # x = 0; y below
    >>> kp[0, :, 1], kp[1, :, 1] = [0, 10, 30, 40, 20], [5, 60, 70, 55, 9]
    >>> kp[2, :, 1], kp[2, 2:] = [0, 2, 0, 0, 0], np.nan  # 2 of 5 labelled: not counted
    >>> float(person_height(kp))  # persons 0 and 1: heights 40 and 65
    52.5
    """
    xy = labelled_xy(keypoints)
    xy = xy.reshape(-1, *xy.shape[-2:])
    y = np.where(np.isfinite(xy).all(-1), xy[..., 1], np.nan)  # (N, K)
    n_lab = np.isfinite(y).sum(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: NaN height
        h = np.nanmax(y, axis=-1) - np.nanmin(y, axis=-1)
    ok = (n_lab >= 2) & np.isfinite(h)
    full = ok & (n_lab >= min_labelled * y.shape[-1])
    use = full if full.any() else ok
    return float(np.median(h[use])) if use.any() else float("nan")


def _largest_bias(biases: Mapping[str, BiasEstimate]) -> float:
    """The longest per-joint mean bias (same units as the biases), 0 when none is finite."""
    mags = [np.hypot(*b.mean.T) for b in biases.values()]
    return max((float(np.nanmax(m)) for m in mags if np.isfinite(m).any()), default=0.0)


def _height_or_default(height: float | None) -> float:
    h = DEFAULT_PERSON_HEIGHT if height is None else float(height)
    return h if np.isfinite(h) and h > 0 else DEFAULT_PERSON_HEIGHT


def _nice(x: float) -> float:
    """The 1, 2, 3, 5 × 10^n value nearest to ``x`` on a log scale (x > 0): a factor
    that reads well ("×30"), at most √2 from ``x``."""
    p = 10.0 ** np.floor(np.log10(x))
    cands = [m * p for m in (1, 2, 3, 5, 10)]
    return float(min(cands, key=lambda c: abs(np.log(c / x))))


def auto_arrow_magnify(biases: Mapping[str, BiasEstimate],
                       person_height: float | None = None) -> float:
    """The arrow magnification :func:`joint_bias_diagram` uses by default: the round
    factor k (1, 2, 3, 5, 10, 20, 30, 50, …) that draws the longest mean bias closest to
    :data:`ARROW_TARGET` of the person's height, never below 1 (a bias that large is
    drawn at its true size).

    Parameters
    ----------
    biases : method -> :class:`BiasEstimate` of per-joint means (K, 2), heatmap px.
    person_height : the persons' height, heatmap px (:func:`person_height`); default
        :data:`DEFAULT_PERSON_HEIGHT`.

    >>> b = BiasEstimate(np.array([[0.3, 0.0], [0.0, -0.1]]), *[np.zeros((2, 2))] * 2,
    ...                  np.ones(2), *[np.zeros(2)] * 3, n_boot=0, ci=0.95, seed=None)
    >>> auto_arrow_magnify({"dark": b}, 40.0)  # 0.15 · 40 / 0.3 = 20
    20.0
    """
    big = _largest_bias(biases)
    if not big > 0:
        return 1.0
    return max(1.0, _nice(ARROW_TARGET * _height_or_default(person_height) / big))


def joint_bias_diagram(biases: Mapping[str, BiasEstimate],
                       keypoint_names: Sequence[str] | None = None,
                       skeleton: Sequence[Sequence[int]] | None = None,
                       layout: np.ndarray | None = None, *, magnify: float | None = None,
                       person_height: float | None = None, units: str = "heatmap px",
                       title: str | None = None) -> go.Figure:
    """Per-joint mean bias as arrows on a body diagram, one colour per decoder, magnified
    ×k so that sub-pixel biases can be read.

    The diagram is a person ``person_height`` heatmap px tall; an arrow ×k is drawn k
    times longer than the bias would be on that person (k = 1: true size). The factor is
    printed in the title and beside a reference arrow of a round length drawn at the same
    magnification.

    Parameters
    ----------
    biases : method -> :class:`BiasEstimate` (``ErrorAnalysis.bias("hm")``); per-joint
        means (K, 2), heatmap px.
    keypoint_names : K names (hover text); default COCO's.
    skeleton : limbs as 0-based pairs; default COCO's for K = 17, none otherwise.
    layout : (K, 2) joint positions of the diagram (x right, y down); default
        :data:`COCO_BODY_LAYOUT` for K = 17 (otherwise required, e.g. from
        :func:`layout_from_keypoints`).
    magnify : the arrow magnification k (> 0); default automatic
        (:func:`auto_arrow_magnify`: the longest arrow about :data:`ARROW_TARGET` of the
        body's height).
    person_height : the persons' height in heatmap px (:func:`person_height` of the GT in
        heatmap px), which the diagram's joint extent stands for; default
        :data:`DEFAULT_PERSON_HEIGHT`.
    units : the biases' unit, for labels.

    Returns
    -------
    Figure: a ``"skeleton"`` line trace, a ``"joints"`` marker trace, per method one trace
    named by the method whose points are (tail, head, None) triples with
    ``head = layout[j] + scale · bias.mean[j]``, ``scale = k · e / person_height`` diagram
    units per heatmap px (``e`` the layout's vertical joint extent), an arrow marker at
    each head, and a reference arrow (trace named ``"scale: <r> <units> (arrows ×<k>)"``,
    labelled ``"<r> <units> (arrows ×<k>)"`` in place, no legend entry; ``r`` the largest
    1-2-5 length not above the longest bias) from ``(x0, y0)`` to ``(x0 + scale · r, y0)``
    below the feet. ``fig.layout.meta`` holds ``arrow_scale`` (the scale), ``magnify``
    (k) and ``person_height``. The y axis is reversed (down = +y), so a BR bias points to
    the lower right.
    """
    methods = methods_of(biases)
    k = biases[methods[0]].mean.shape[0]
    names = list(keypoint_names) if keypoint_names is not None else \
        (list(COCO_KEYPOINT_NAMES) if k == 17 else [str(i) for i in range(k)])
    if layout is None:
        if k != 17:
            raise InputError(f"a body layout is needed for K = {k} joints (only COCO's 17 "
                             f"have a default); see layout_from_keypoints", field="layout")
        layout = COCO_BODY_LAYOUT
    pos = np.asarray(layout, dtype=np.float64)
    if pos.shape != (k, 2):
        raise InputError(f"expected layout of shape ({k}, 2), got {pos.shape}", field="layout")
    if skeleton is None:
        skeleton = COCO_SKELETON if k == 17 else ()
    height = _height_or_default(person_height)
    mag = auto_arrow_magnify(biases, height) if magnify is None else float(magnify)
    if not (np.isfinite(mag) and mag > 0):
        raise InputError(f"expected an arrow magnification > 0, got {magnify!r}",
                         field="magnify")
    # the layout's joint extent stands for the person's height: diagram units per px
    lay_y = pos[np.isfinite(pos).all(1), 1]
    extent = float(lay_y.max() - lay_y.min()) if lay_y.size > 1 and np.ptp(lay_y) > 0 else 1.0
    arrow_scale = mag * extent / height
    fig = go.Figure()
    sx: list[float | None] = []
    sy: list[float | None] = []
    for a, b in skeleton:
        if np.isfinite(pos[[a, b]]).all():
            sx += [pos[a, 0], pos[b, 0], None]
            sy += [pos[a, 1], pos[b, 1], None]
    fig.add_trace(go.Scatter(x=sx, y=sy, mode="lines", name="skeleton", hoverinfo="skip",
                             line=dict(color="rgba(0,0,0,0.25)", width=6),
                             showlegend=False))
    fig.add_trace(go.Scatter(x=pos[:, 0], y=pos[:, 1], mode="markers", name="joints",
                             text=names, hovertemplate="%{text}<extra></extra>",
                             marker=dict(color="rgba(0,0,0,0.35)", size=9),
                             showlegend=False))
    for m in methods:
        b = biases[m]
        xs: list[float | None] = []
        ys: list[float | None] = []
        sizes: list[float] = []
        texts: list[str] = []
        for j in range(k):  # K joints: building plot data, not a hot path
            mx, my = b.mean[j]
            if not (np.isfinite(mx) and np.isfinite(my) and np.isfinite(pos[j]).all()):
                continue
            head = pos[j] + arrow_scale * b.mean[j]
            ci = ""
            if np.isfinite(b.lo[j]).all() and np.isfinite(b.hi[j]).all():
                ci = (f"<br>CI x [{fmt_num(b.lo[j, 0], 3, True)}, "
                      f"{fmt_num(b.hi[j, 0], 3, True)}], y [{fmt_num(b.lo[j, 1], 3, True)}, "
                      f"{fmt_num(b.hi[j, 1], 3, True)}]")
            tip = (f"{m} · {names[j]}<br>bias ({fmt_num(mx, 3, True)}, "
                   f"{fmt_num(my, 3, True)}) {units}{ci}<br>n = {int(b.count[j])}")
            xs += [pos[j, 0], head[0], None]
            ys += [pos[j, 1], head[1], None]
            sizes += [0, 10, 0]
            texts += [tip, tip, ""]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", name=m, text=texts,
            hovertemplate="%{text}<extra></extra>",
            line=dict(color=method_color(m), width=2.5),
            marker=dict(symbol="arrow", angleref="previous", size=sizes,
                        color=method_color(m))))
    # a reference arrow of a round length, at the same scale, under the diagram
    ref = _round_length(_largest_bias(biases))
    if ref > 0 and np.isfinite(pos).all(1).any():
        x0 = float(np.nanmin(pos[:, 0]))
        y0 = float(np.nanmax(pos[:, 1])) + 0.08 * extent
        label = f"{ref:g} {units} (arrows ×{mag:g})"
        # labelled in place, not in the legend: a long entry would take legend rows from
        # the diagram on a narrow column; the label is not clipped at the plot area's edge
        fig.add_trace(go.Scatter(
            x=[x0, x0 + arrow_scale * ref], y=[y0, y0], mode="lines+markers+text",
            name=f"scale: {label}", text=["", label], textposition="middle right",
            showlegend=False, cliponaxis=False, hoverinfo="skip",
            line=dict(color="black", width=2),
            marker=dict(symbol="arrow", angleref="previous", size=[0, 10], color="black")))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(
        # the factor goes on a second title line so narrow columns do not cut it off
        title=title or f"Mean bias per joint<br><sup>arrows ×{mag:g} (×1 = true size on a "
                       f"person {height:.0f} {units} tall)</sup>",
        legend_title_text="decoder", plot_bgcolor="white", height=540,
        # no axes to label: the body gets the width; plotly adds the legend's height to
        # the bottom margin (legend_below), 40 px keep a gap above a one-row legend
        margin={"l": 10, "r": 10, "t": 70, "b": 40},
        meta={"arrow_scale": arrow_scale, "magnify": mag, "person_height": height})
    return legend_below(fig)


def _round_length(x: float) -> float:
    """The largest of 1, 2, 5 × 10^n not above ``x`` (a scale bar's length); 0 for x <= 0."""
    if not (x > 0 and np.isfinite(x)):
        return 0.0
    p = 10.0 ** np.floor(np.log10(x))
    return float(max(m * p for m in (1, 2, 5) if m * p <= x * (1 + 1e-12)))
