"""Reference decoders: slow per-map loops that follow the published code step by step.

These mirror the post-processing of Simple Baselines/HRNet (``shifting``), DarkPose
(``dark``) and the DAEC authors' code (``daec`` and the second-maximum ``shifting``),
and, for the decoders from the field, mmpose's ``refine_keypoints_dark_udp``
(``dark_udp``), the textbook three-point Gaussian fit (``gauss3``) and mmpose's
``IntegralRegressionHead`` (``integral``, and ``integral_debiased``: its ``debias``
branch, see :mod:`daec_viz.decoding.integral`), written out for one map at a time in plain
numpy. They are the oracle of the tests and the naive baseline of the benchmarks; use
:func:`daec_viz.decoding.decode` for real work.

All take ``hm`` (H, W) and return ``(x, y, maxval)`` in heatmap px. The references of
the field's decoders leave maps whose maximum is <= 0 at their integer argmax (``decode``
marks those invalid; mmpose would refine its -1 placeholder).
"""

from __future__ import annotations

import numpy as np

from daec_viz.decoding.smoothing import opencv_gaussian_kernel


def ref_argmax(hm: np.ndarray) -> tuple[float, float, float]:
    """HRNet ``get_max_preds`` for one map (coordinates zeroed when the max is <= 0)."""
    w = hm.shape[1]
    idx = int(np.argmax(hm.reshape(-1)))
    maxval = float(hm.reshape(-1)[idx])
    x, y = float(idx % w), float(idx // w)
    if not maxval > 0:
        x, y = 0.0, 0.0
    return x, y, maxval


def ref_blur(hm: np.ndarray, kernel: int, rescale: bool = True) -> np.ndarray:
    """DarkPose ``gaussian_blur`` for one map: zero-pad, blur, rescale to the raw maximum
    (``rescale=False``: the blurred map as it is)."""
    border = (kernel - 1) // 2
    h, w = hm.shape
    origin_max = np.max(hm)
    padded = np.zeros((h + 2 * border, w + 2 * border))
    padded[border:border + h, border:border + w] = hm
    try:
        import cv2  # the reference code's own blur, when available

        blurred = cv2.GaussianBlur(padded, (kernel, kernel), 0)
    except ImportError:  # same kernel, applied separably with numpy
        k = opencv_gaussian_kernel(kernel)
        blurred = np.apply_along_axis(lambda r: np.convolve(r, k, mode="same"), 1, padded)
        blurred = np.apply_along_axis(lambda c: np.convolve(c, k, mode="same"), 0, blurred)
    out = blurred[border:border + h, border:border + w].copy()
    if not rescale:
        return out
    with np.errstate(invalid="ignore", divide="ignore"):  # all-zero maps: 0/0, as upstream
        out *= origin_max / np.max(out)
    return out


def ref_shifting(hm: np.ndarray) -> tuple[float, float, float]:
    """Simple Baselines / HRNet: quarter-pixel step toward the higher neighbour."""
    h, w = hm.shape
    x, y, maxval = ref_argmax(hm)
    px, py = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
    if 1 < px < w - 1 and 1 < py < h - 1:
        diff = np.array([hm[py][px + 1] - hm[py][px - 1], hm[py + 1][px] - hm[py - 1][px]])
        x, y = x + np.sign(diff[0]) * 0.25, y + np.sign(diff[1]) * 0.25
    return float(x), float(y), maxval


def ref_shifting_second_max(hm: np.ndarray) -> tuple[float, float, float]:
    """DAEC code's SHIFTING mode: 0.25 px toward the second maximum (max pixel excluded)."""
    w = hm.shape[1]
    x, y, maxval = ref_argmax(hm)
    flat = hm.reshape(-1).astype(np.float64).copy()
    idx = int(np.argmax(flat))
    flat[idx] = -np.inf
    j2 = int(np.argmax(flat))
    x2, y2 = float(j2 % w), float(j2 // w)
    dist = np.hypot(x2 - x, y2 - y)
    return x + 0.25 * (x2 - x) / dist, y + 0.25 * (y2 - y) / dist, maxval


def ref_dark(hm: np.ndarray, kernel: int = 11) -> tuple[float, float, float]:
    """DarkPose: argmax on the raw map, Taylor step on log of the blurred map."""
    h, w = hm.shape
    x, y, maxval = ref_argmax(hm)
    lg = np.log(np.maximum(ref_blur(hm, kernel), 1e-10))
    px, py = int(x), int(y)
    if 1 < px < w - 2 and 1 < py < h - 2:
        dx = 0.5 * (lg[py][px + 1] - lg[py][px - 1])
        dy = 0.5 * (lg[py + 1][px] - lg[py - 1][px])
        dxx = 0.25 * (lg[py][px + 2] - 2 * lg[py][px] + lg[py][px - 2])
        dxy = 0.25 * (lg[py + 1][px + 1] - lg[py - 1][px + 1] - lg[py + 1][px - 1]
                      + lg[py - 1][px - 1])
        dyy = 0.25 * (lg[py + 2][px] - 2 * lg[py][px] + lg[py - 2][px])
        hess = np.array([[dxx, dxy], [dxy, dyy]])
        if dxx * dyy - dxy ** 2 != 0:
            off = -np.linalg.inv(hess) @ np.array([dx, dy])
            x, y = x + off[0], y + off[1]
    return float(x), float(y), maxval


def ref_daec(hm: np.ndarray, sigma: float = 2.0, delta: int | None = None
             ) -> tuple[float, float, float]:
    """The DAEC authors' ``calibrate_coord_with_DAEC`` (bottom-right cut, integer Δ)."""
    expand = int(3 * sigma + 1)
    delta = int(sigma + 2) if delta is None else int(delta)
    x, y, maxval = ref_argmax(hm)
    heat = np.maximum(hm, 1e-10)
    cx, cy = int(x), int(y)
    h, w = heat.shape
    x_min, x_max = max(cx - expand, 0), min(cx + expand + 1 - delta, w)
    y_min, y_max = max(cy - expand, 0), min(cy + expand + 1 - delta, h)
    if x_max <= x_min or y_max <= y_min:
        return float(cx), float(cy), maxval
    xs, ys = np.meshgrid(np.arange(x_min, x_max), np.arange(y_min, y_max))
    win = heat[y_min:y_max, x_min:x_max].astype(np.float64)
    score = win.sum()
    if score == 0:
        return float(cx), float(cy), maxval
    return float((xs * win).sum() / score), float((ys * win).sum() / score), maxval


def ref_dark_udp(hm: np.ndarray, kernel: int = 11) -> tuple[float, float, float]:
    """mmpose ``UDPHeatmap.decode`` + ``refine_keypoints_dark_udp`` for one map.

    Argmax on the raw map; blur and rescale to the raw maximum (not rescaled when the
    blurred maximum is <= 0); clip to [1e-3, 50]; log; edge-pad by 1; step-1 derivatives;
    ``-(H + eps I)^-1 D`` with the float32 eps; no border exclusion.

    >>> yy, xx = np.mgrid[0:20, 0:16]
    >>> hm = np.exp(-((xx - 5.4) ** 2 + (yy - 9.7) ** 2) / 8.0)
    >>> [round(v, 5) for v in ref_dark_udp(hm, kernel=1)]
    [5.4, 9.7, 0.96923]
    """
    x, y, maxval = ref_argmax(hm)
    if not maxval > 0:
        return x, y, maxval
    blurred = ref_blur(hm.astype(np.float64), kernel, rescale=False)
    bmax = blurred.max()
    if bmax > 0:
        blurred *= hm.max() / bmax
    lg = np.pad(np.log(np.clip(blurred, 1e-3, 50.0)), 1, mode="edge")
    px, py = int(x) + 1, int(y) + 1  # indices in the padded map
    i0 = lg[py, px]
    ix1, ix1_ = lg[py, px + 1], lg[py, px - 1]
    iy1, iy1_ = lg[py + 1, px], lg[py - 1, px]
    ix1y1, ix1_y1_ = lg[py + 1, px + 1], lg[py - 1, px - 1]
    dx, dy = 0.5 * (ix1 - ix1_), 0.5 * (iy1 - iy1_)
    dxx = ix1 - 2 * i0 + ix1_
    dyy = iy1 - 2 * i0 + iy1_
    dxy = 0.5 * (ix1y1 - ix1 - iy1 + i0 + i0 - ix1_ - iy1_ + ix1_y1_)
    hess = np.array([[dxx, dxy], [dxy, dyy]]) + np.finfo(np.float32).eps * np.eye(2)
    if np.linalg.det(hess) != 0:
        off = np.linalg.inv(hess) @ np.array([dx, dy])
        x, y = x - off[0], y - off[1]
    return float(x), float(y), maxval


def ref_gauss3(hm: np.ndarray) -> tuple[float, float, float]:
    """Three-point Gaussian (log-parabola) peak fit per axis at the raw argmax.

    >>> yy, xx = np.mgrid[0:20, 0:16]
    >>> hm = np.exp(-((xx - 5.4) ** 2 + (yy - 9.7) ** 2) / 8.0)
    >>> [round(v, 9) for v in ref_gauss3(hm)[:2]]
    [5.4, 9.7]
    """
    h, w = hm.shape
    x, y, maxval = ref_argmax(hm)
    if not maxval > 0:
        return x, y, maxval
    cx, cy = int(x), int(y)
    out = [x, y]
    for axis, (c, n) in enumerate(((cx, w), (cy, h))):
        if not 0 < c < n - 1:
            continue  # the argmax on the first/last pixel of this axis: no fit
        trio = hm[cy, cx - 1:cx + 2] if axis == 0 else hm[cy - 1:cy + 2, cx]
        lm, l0, lp = np.log(np.maximum(trio.astype(np.float64), 1e-10))
        den = 2.0 * (lm - 2.0 * l0 + lp)
        if den < 0:
            out[axis] = c + (lm - lp) / den
    return float(out[0]), float(out[1]), maxval


def _ref_softmax_expectation(hm: np.ndarray, beta: float) -> tuple[float, float, float]:
    # mmpose IntegralRegressionHead: softmax(beta * h) over the flattened map, expectation
    # of linspace = arange(W) / W (and arange(H) / H); returns the normalised (x, y) and
    # log C with mmpose's C = sum(exp(h)) (feats.exp().sum(): no beta), summed as
    # exp(max h) * sum(exp(h - max h)) so that no exp overflows.
    h, w = hm.shape
    f = beta * hm.astype(np.float64).reshape(-1)
    e = np.exp(f - f.max())
    p = (e / e.sum()).reshape(h, w)
    xn = float((p * (np.arange(w) / w)[None, :]).sum())
    yn = float((p * (np.arange(h) / h)[:, None]).sum())
    g = hm.astype(np.float64).reshape(-1)
    log_c = float(g.max() + np.log(np.exp(g - g.max()).sum()))
    return xn, yn, log_c


def ref_integral(hm: np.ndarray, beta: float = 10.0) -> tuple[float, float, float]:
    """mmpose integral regression (soft-argmax) for one map, converted to heatmap px.

    >>> hm = np.zeros((5, 7)); hm[2, 3] = 1.0
    >>> [round(v, 9) for v in ref_integral(hm, beta=1.0)]
    [3.0, 2.0, 1.0]
    """
    h, w = hm.shape
    x, y, maxval = ref_argmax(hm)
    if not maxval > 0:
        return x, y, maxval
    xn, yn, _ = _ref_softmax_expectation(hm, beta)
    return xn * w, yn * h, maxval  # mmpose's grid arange(W)/W times W: pixel centres at ints


def ref_integral_debiased(hm: np.ndarray, beta: float = 10.0) -> tuple[float, float, float]:
    """Gu et al.'s bias-compensated integral regression for one map (heatmap px), as
    mmpose's ``IntegralRegressionHead.forward`` (``debias=True``) computes it.

    ``x_n = C/(C-1) (x̂_n - 1/(2C))`` per axis on mmpose's grid ``x̂_n = x̂ / W``, with
    ``C = Σ exp(h)`` over the map (without β), then ``x = W x_n``; kept as ``x̂`` where
    ``C <= 1``. ``C - 1`` is ``expm1(log C)`` and ``1/C`` is ``exp(-log C)`` so that
    neither a nearly flat map nor an overflowing C loses digits.

    >>> yy, xx = np.mgrid[0:32, 0:24]
    >>> hm = np.exp(-((xx - 6.0) ** 2 + (yy - 20.0) ** 2) / 8.0)
    >>> [round(v, 3) for v in ref_integral_debiased(hm)[:2]]
    [6.059, 19.951]
    """
    h, w = hm.shape
    x, y, maxval = ref_argmax(hm)
    if not maxval > 0:
        return x, y, maxval
    xn, yn, log_c = _ref_softmax_expectation(hm, beta)
    out = []
    for v_n, n in ((xn, w), (yn, h)):
        if log_c > 0:
            with np.errstate(over="ignore"):  # C overflows: C/(C-1) = 1, 1/(2C) = 0
                v_n = (1.0 + 1.0 / np.expm1(log_c)) * (v_n - 0.5 * np.exp(-log_c))
        out.append(float(v_n * n))  # mmpose's arange(n)/n grid times n: heatmap px
    return out[0], out[1], maxval


REFERENCE_DECODERS = {
    "standard": ref_argmax,
    "shifting": ref_shifting,
    "dark": ref_dark,
    "daec": ref_daec,
    "dark_udp": ref_dark_udp,
    "gauss3": ref_gauss3,
    "integral": ref_integral,
    "integral_debiased": ref_integral_debiased,
}


def reference_decode(heatmaps: np.ndarray, method: str, **kwargs) -> np.ndarray:
    """Loop a reference decoder over (N, K, H, W) maps; returns (N, K, 2) heatmap px.

    >>> hm = np.zeros((1, 2, 5, 7)); hm[0, 0, 1, 2] = hm[0, 1, 3, 4] = 1.0
    >>> reference_decode(hm, "gauss3").tolist()
    [[[2.0, 1.0], [4.0, 3.0]]]
    """
    fn = REFERENCE_DECODERS[method]
    n, k = heatmaps.shape[:2]
    out = np.zeros((n, k, 2))
    for i in range(n):
        for j in range(k):
            out[i, j, :2] = fn(heatmaps[i, j], **kwargs)[:2]
    return out
