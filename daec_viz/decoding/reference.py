"""Reference decoders: slow per-map loops that follow the published code step by step.

These mirror the post-processing of Simple Baselines/HRNet (``shifting``), DarkPose
(``dark``) and the DAEC authors' code (``daec`` and the second-maximum ``shifting``),
written out for one map at a time in plain numpy. They are the oracle of the tests and
the naive baseline of the benchmarks; use :func:`daec_viz.decoding.decode` for real work.

All take ``hm`` (H, W) and return ``(x, y, maxval)`` in heatmap px.
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


def ref_blur(hm: np.ndarray, kernel: int) -> np.ndarray:
    """DarkPose ``gaussian_blur`` for one map: zero-pad, blur, rescale to the raw maximum."""
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


REFERENCE_DECODERS = {
    "standard": ref_argmax,
    "shifting": ref_shifting,
    "dark": ref_dark,
    "daec": ref_daec,
}


def reference_decode(heatmaps: np.ndarray, method: str, **kwargs) -> np.ndarray:
    """Loop a reference decoder over (N, K, H, W) maps; returns (N, K, 2) heatmap px."""
    fn = REFERENCE_DECODERS[method]
    n, k = heatmaps.shape[:2]
    out = np.zeros((n, k, 2))
    for i in range(n):
        for j in range(k):
            out[i, j, :2] = fn(heatmaps[i, j], **kwargs)[:2]
    return out
