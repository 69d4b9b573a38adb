"""A simulated top-down pose network: heatmaps with the errors trained networks make.

The demo dataset (:mod:`daec_viz.synthetic.demo`) and the app's "Learn" page need heatmaps that
behave like those of a trained HRNet/SimpleBaseline at 256x192 without shipping a
network. :func:`simulate_heatmaps` produces them from ground-truth keypoints; every
effect is a documented knob of :class:`NetworkKnobs`.

The pipeline it stands in for
-----------------------------
1. **Crop.** The ground-truth box ``(x, y, w, h)`` becomes a centre and a scale with
   :func:`daec_viz.geometry.box_to_center_scale` (aspect ratio 3:4, padding 1.25); the
   crop is resized to the 192 x 256 (W x H) input; heatmaps are 48 x 64 (stride 4).
2. **Targets (MSRA/HRNet encoding).** A joint at input px ``u`` has its training target,
   a Gaussian of σ = 2 heatmap px and peak 1, centred at the *rounded* heatmap location
   ``mu = int(u / 4 + 0.5)`` (computed as ``floor(u / 4 + 0.5)``, the same for every
   joint inside the map; HRNet gives joints outside it no target). The heatmap <->
   image mapping is the ``"hrnet"`` convention of :mod:`daec_viz.geometry`
   (``x_hm = W/2 + (x_img - c) * W / S``), the one the encoding implies; the demo cache
   stores ``convention="hrnet"``.
3. **What a trained network adds** (the simulator's output for joint k of instance i,
   all lengths in heatmap px):

   ``f(x, y) = a * (1 + ε(x, y)) * G(x, y; m, σ_out) + b * G(x, y; m + d, σ_out) + η(x, y)``

   - ``m = q(p) + bias + n_fit (+ n_occ)``: ``p`` the exact GT location, ``q`` the
     rounding of step 2 (``quantize_targets``), ``bias`` a systematic sub-pixel offset
     (default toward the bottom-right, +x and +y, as the DAEC paper reports),
     ``n_fit ~ N(0, (fit_noise * D * s_k)²)`` per axis and per joint (``s_k`` the joint's
     ``joint_noise_scale``, ``D`` the instance's difficulty: log-normal with
     ``difficulty_spread``), and for occluded joints (visibility 1) an extra
     ``n_occ ~ N(0, occluded_noise²)``; unlabelled joints (visibility 0) get an extra
     ``N(0, unlabelled_noise²)`` instead of ``n_occ``.
   - ``G`` a Gaussian with peak 1 and a width ``σ_out`` wider than the target's σ (the
     output is blurrier than the targets), jittered per joint by a log-normal factor
     (``sigma_out_jitter``).
   - ``a`` the peak height, uniform in ``amplitude``, divided by ``sqrt(D)`` and times
     ``occluded_amplitude`` (visibility 1) or ``unlabelled_amplitude`` (visibility 0):
     occluded joints and hard instances give weaker peaks, which also lowers the
     instance score.
   - ``ε`` spatially correlated multiplicative noise on the peak (``peak_noise``, relative),
     which distorts the peak's shape; ``η`` spatially correlated additive background
     noise (``noise_std``, correlation length ``noise_corr``). Both are unit-variance
     Gaussian fields built from a coarse grid of white noise interpolated with Gaussian
     weights, so they are smooth over about ``noise_corr`` px. The map is not clipped:
     values can be slightly negative, as for a network trained with an MSE loss.
   - Outliers: with probability ``swap_rate`` a left/right joint's peak sits at its
     partner's peak centre (left/right confusion, both joints of a pair are drawn
     independently; never onto a partner without a location); with probability
     ``outlier_rate`` it is displaced by a random vector of length uniform in
     ``outlier_distance`` (a wrong-joint peak). Both rates are scaled by
     ``D^g / E[D^g]`` (``g = outlier_concentration``) and by ``occluded_outlier_factor``
     for occluded joints, capped at 0.5. With the defaults about 3% of the joints of
     the demo are swapped or displaced.
   - Distractors: with probability ``distractor_rate`` a second, weaker peak (height
     ``b = a * U(distractor_amplitude)``) at a distance uniform in
     ``distractor_distance`` in a random direction (a nearby person's or limb's
     response). It can win the argmax when it is close to the main peak's height.

   All random draws use the ``numpy.random.Generator`` passed in, in a fixed order, so
   the same seed gives the same maps.

:meth:`NetworkKnobs.noise_free` turns all of step 3 off: exact Gaussians of σ = 2 and
peak 1 at the exact (unrounded) GT location. DARK recovers the GT from those to
< 0.05 heatmap px (away from the map's border).

Calibration (300-image demo, GT boxes, instance score = mean of the keypoint maxima
above 0.2, COCO AP on the test split, seeds 0 / 1): with the defaults DARK gives
0.79 / 0.77 and DAEC (BR cut, Δ = 4 = σ + 2, the best Δ of 0..6) 0.825 / 0.81, i.e. a
gain of about 3 AP; the cut patterns rank BR > UR > BL > UL as in the paper's Table 6
(Δ = 4: 0.825 > 0.77 > 0.72 > 0.67 for seed 0). With ``bias=(0, 0)`` DARK gives
0.84 / 0.82, shifting and DAEC (Δ = 0..3) are within 1.2 AP below it and any cut of
Δ >= 3 hurts. About 3.5% of the labelled joints end up > 3 hm px off (outliers).

Example
-------
>>> import numpy as np
>>> from daec_viz.decoding import decode
>>> kp = np.array([[[20.3, 30.6], [10.0, 12.0]]])          # (n=1, K=2, 2) heatmap px
>>> vis = np.array([[2, 2]])
>>> hm = simulate_heatmaps(kp, vis, NetworkKnobs.noise_free(), np.random.default_rng(0))
>>> hm.shape, hm.dtype
((1, 2, 64, 48), dtype('float32'))
>>> bool(np.abs(decode(hm, "dark").coords - kp).max() < 0.05)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from daec_viz.evaluation.oks import COCO_OKS_SIGMAS, flip_permutation
from daec_viz.exceptions import InputError
from daec_viz.io.coco_format import COCO_FLIP_PAIRS

#: Network input (width, height) in px and heatmap (width, height) in heatmap px.
INPUT_SIZE: tuple[int, int] = (192, 256)
HEATMAP_SIZE: tuple[int, int] = (48, 64)
#: σ of the training targets, heatmap px.
TARGET_SIGMA = 2.0
#: Name stored as the cache's ``model``.
MODEL_NAME = "simulated-topdown-v1"
#: Heatmap <-> image mapping of the simulated network (see :mod:`daec_viz.geometry`).
CONVENTION = "hrnet"
#: Default per-joint factors on the fit noise for the 17 COCO joints: sqrt of the COCO
#: OKS sigmas normalised to mean 1 (face points 0.6-0.7, hips 1.25): joints that humans
#: locate precisely are also located precisely by networks.
COCO_JOINT_NOISE_SCALE: tuple[float, ...] = tuple(
    float(v) for v in np.round(np.sqrt(COCO_OKS_SIGMAS) / np.sqrt(COCO_OKS_SIGMAS).mean(), 3))


@dataclass(frozen=True)
class NetworkKnobs:
    """Every knob of the simulated network. Lengths in heatmap px (1 hm px = 4 input px).

    Attributes
    ----------
    sigma_out : σ of the output peaks, hm px (the targets have σ = 2; trained networks
        output wider peaks).
    sigma_out_jitter : relative per-joint spread of ``sigma_out`` (log-normal, std of
        the log).
    quantize_targets : centre the peaks at the rounded location ``floor(x + 0.5)`` of the
        MSRA/HRNet target encoding (False: at the exact location).
    bias : (bx, by) systematic offset of every peak, hm px; +x = right, +y = down.
    fit_noise : std of the per-joint Gaussian position noise on each axis, hm px, for an
        instance of average difficulty and a joint of ``joint_noise_scale`` 1.
    joint_noise_scale : K factors on ``fit_noise`` per joint (default
        :data:`COCO_JOINT_NOISE_SCALE`, used when K = 17; 1 for other K), or None (all 1).
    difficulty_spread : std of the log of a per-instance difficulty factor ``D``: the fit
        noise of an instance is multiplied by ``D`` and its peak heights divided by
        ``sqrt(D)`` (hard instances are both less precise and less confident, so the
        instance score ranks them lower). 0 turns it off.
    amplitude : (low, high) range of the peak height of a visible joint.
    occluded_amplitude : factor on the peak height of occluded joints (visibility 1).
    occluded_noise : extra position noise std of occluded joints, hm px.
    unlabelled_amplitude : factor on the peak height of unlabelled joints (visibility 0).
    unlabelled_noise : extra position noise std of unlabelled joints, hm px.
    peak_noise : std of the multiplicative, spatially correlated noise on the peak
        (relative to the peak: 0.05 = 5%).
    noise_std : std of the additive, spatially correlated background noise (map units;
        the targets' peak is 1).
    noise_corr : correlation length of both noise fields, hm px.
    swap_rate : probability that a left/right joint's peak is at its partner's location,
        for a visible joint of an instance of average difficulty (see below).
    outlier_rate : probability that a peak is displaced far from the joint (same basis).
    occluded_outlier_factor : factor on both rates for occluded joints. Both rates also
        scale with ``D^g / E[D^g]`` (``D`` the instance difficulty, ``g`` =
        ``outlier_concentration``), so outliers gather on hard instances as they do for
        real networks (capped at 0.5 each).
    outlier_concentration : the exponent ``g`` above (0: outliers hit every instance
        alike).
    outlier_distance : (low, high) length of an outlier's displacement, hm px.
    distractor_rate : probability of a second, weaker peak near the joint.
    distractor_amplitude : (low, high) height of a distractor relative to the main peak.
    distractor_distance : (low, high) distance of a distractor from the main peak, hm px.
    """

    sigma_out: float = 2.3
    sigma_out_jitter: float = 0.08
    quantize_targets: bool = True
    bias: tuple[float, float] = (0.45, 0.25)
    fit_noise: float = 0.5
    joint_noise_scale: tuple[float, ...] | None = COCO_JOINT_NOISE_SCALE
    difficulty_spread: float = 0.35
    amplitude: tuple[float, float] = (0.7, 1.0)
    occluded_amplitude: float = 0.55
    occluded_noise: float = 0.5
    unlabelled_amplitude: float = 0.35
    unlabelled_noise: float = 2.0
    peak_noise: float = 0.05
    noise_std: float = 0.015
    noise_corr: float = 2.0
    swap_rate: float = 0.01
    outlier_rate: float = 0.02
    occluded_outlier_factor: float = 2.0
    outlier_concentration: float = 2.0
    outlier_distance: tuple[float, float] = (2.5, 8.0)
    distractor_rate: float = 0.03
    distractor_amplitude: tuple[float, float] = (0.2, 0.7)
    distractor_distance: tuple[float, float] = (8.0, 18.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            vals = [v] if np.ndim(v) == 0 else list(v)
            if f.name == "quantize_targets":
                if not isinstance(v, (bool, np.bool_)):
                    raise InputError(f"expected a bool, got {v!r}", field=f.name)
                continue
            if f.name == "joint_noise_scale":
                if v is None:
                    continue
                a = np.asarray(v, dtype=np.float64)
                if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
                    raise InputError(f"expected K numbers >= 0 or None, got {v!r}",
                                     field=f.name)
                object.__setattr__(self, f.name, tuple(float(x) for x in a))
                continue
            if np.ndim(v) != 0 and len(vals) != 2:
                raise InputError(f"expected a pair, got {v!r}", field=f.name)
            if not all(isinstance(x, (int, float, np.number)) and math.isfinite(x)
                       for x in vals):
                raise InputError(f"expected finite numbers, got {v!r}", field=f.name)
            if f.name != "bias" and any(x < 0 for x in vals):
                raise InputError(f"expected values >= 0, got {v!r}", field=f.name)
            if np.ndim(v) != 0:
                object.__setattr__(self, f.name, (float(vals[0]), float(vals[1])))
        if self.sigma_out <= 0:
            raise InputError(f"expected > 0, got {self.sigma_out}", field="sigma_out")
        for name in ("swap_rate", "outlier_rate", "distractor_rate"):
            if getattr(self, name) > 1:
                raise InputError(f"expected a probability in [0, 1], got "
                                 f"{getattr(self, name)}", field=name)
        if self.swap_rate + self.outlier_rate > 1:
            raise InputError("expected swap_rate + outlier_rate <= 1", field="outlier_rate")
        if self.noise_corr <= 0 and (self.noise_std > 0 or self.peak_noise > 0):
            raise InputError(f"expected > 0, got {self.noise_corr}", field="noise_corr")

    @classmethod
    def noise_free(cls) -> NetworkKnobs:
        """Exact Gaussians of σ = 2 and peak 1 at the exact GT location, nothing else."""
        return cls(sigma_out=TARGET_SIGMA, sigma_out_jitter=0.0, quantize_targets=False,
                   bias=(0.0, 0.0), fit_noise=0.0, difficulty_spread=0.0,
                   amplitude=(1.0, 1.0),
                   occluded_amplitude=1.0, occluded_noise=0.0, unlabelled_amplitude=1.0,
                   unlabelled_noise=0.0, peak_noise=0.0, noise_std=0.0, swap_rate=0.0,
                   outlier_rate=0.0, distractor_rate=0.0)

    def replace(self, **changes: Any) -> NetworkKnobs:
        """A copy with some knobs changed (validated)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict of every knob (pairs as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkKnobs:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputError(f"unknown knobs {sorted(unknown)}", field="knobs")
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


DEFAULT_KNOBS = NetworkKnobs()


@dataclass
class _NoiseBasis:
    """Separable interpolation matrices of a unit-variance smooth random field."""

    ux: np.ndarray = field(repr=False)  # (W, gx)
    uy: np.ndarray = field(repr=False)  # (H, gy)


def _interp_matrix(size: int, corr: float) -> np.ndarray:
    # Grid nodes every `corr` px from -2 corr to size - 1 + 2 corr; Gaussian weights of
    # width corr; rows normalised so sum(w^2) = 1 (unit variance from unit white noise).
    step = max(corr, 0.5)
    nodes = np.arange(-2 * step, size - 1 + 2 * step + 1e-9, step)
    x = np.arange(size, dtype=np.float64)[:, None]
    w = np.exp(-0.5 * ((x - nodes[None, :]) / step) ** 2)
    w /= np.sqrt((w ** 2).sum(axis=1, keepdims=True))
    return w.astype(np.float32)


def _noise_basis(width: int, height: int, corr: float) -> _NoiseBasis:
    return _NoiseBasis(_interp_matrix(width, corr), _interp_matrix(height, corr))


def _smooth_noise(rng: np.random.Generator, m: int, basis: _NoiseBasis) -> np.ndarray:
    """(m, H, W) float32 unit-variance Gaussian fields, smooth over ~corr px."""
    (h, gy), (w, gx) = basis.uy.shape, basis.ux.shape
    # white noise is i.i.d., so draw it directly in the layout of the first GEMM
    white = rng.standard_normal((gy, m * gx), dtype=np.float32)
    a = (basis.uy @ white).reshape(h, m, gx).transpose(1, 0, 2).reshape(m * h, gx)
    return (a @ basis.ux.T).reshape(m, h, w)


def _unit_vectors(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    ang = rng.uniform(0.0, 2.0 * np.pi, shape)
    return np.stack([np.cos(ang), np.sin(ang)], axis=-1)


def peak_centers(keypoints_hm: np.ndarray, visibility: np.ndarray, knobs: NetworkKnobs,
                 rng: np.random.Generator,
                 flip_pairs: Sequence[Sequence[int]] | None = None
                 ) -> dict[str, np.ndarray]:
    """Draw where the simulated network puts each peak, and how high and wide it is.

    Parameters and randomness as :func:`simulate_heatmaps` (which calls this first).

    Returns
    -------
    dict with ``center`` (n, K, 2) float64 main-peak centre, hm px; ``amplitude`` (n, K);
    ``sigma`` (n, K) peak σ, hm px; ``outlier`` (n, K) bool (swapped or displaced);
    ``distractor`` (n, K) bool; ``distractor_center`` (n, K, 2); ``distractor_amplitude``
    (n, K) (0 where there is none).
    """
    kp = np.asarray(keypoints_hm, dtype=np.float64)
    n, k = kp.shape[:2]
    vis = np.asarray(visibility)
    if flip_pairs is None:
        flip_pairs = COCO_FLIP_PAIRS if k == 17 else ()
    partner = flip_permutation(k, flip_pairs)
    located = ~np.isnan(kp).any(axis=-1)                 # (n, K): NaN = no location
    kp = np.where(located[..., None], kp, 0.0)

    base = np.floor(kp + 0.5) if knobs.quantize_targets else kp.copy()
    # fixed draw order (do not reorder: it defines the seeded output)
    fit = rng.standard_normal((n, k, 2))
    extra = rng.standard_normal((n, k, 2))
    u_out = rng.random((n, k))
    out_dir = _unit_vectors(rng, (n, k))
    out_len = rng.uniform(*knobs.outlier_distance, (n, k))
    amp = rng.uniform(*knobs.amplitude, (n, k))
    sig = knobs.sigma_out * np.exp(knobs.sigma_out_jitter * rng.standard_normal((n, k)))
    u_dis = rng.random((n, k))
    log_d = rng.standard_normal(n) * knobs.difficulty_spread
    dis_dir = _unit_vectors(rng, (n, k))
    dis_len = rng.uniform(*knobs.distractor_distance, (n, k))
    dis_amp = rng.uniform(*knobs.distractor_amplitude, (n, k))

    occluded = vis == 1
    unlabelled = vis <= 0
    extra_std = np.where(occluded, knobs.occluded_noise,
                         np.where(unlabelled, knobs.unlabelled_noise, 0.0))
    difficulty = np.exp(log_d)
    scale = knobs.joint_noise_scale
    if scale is None or len(scale) != k:
        if scale is not None and k == 17:
            raise InputError(f"expected {k} factors, got {len(scale)}",
                             field="joint_noise_scale")
        scale = np.ones(k)
    fit_std = knobs.fit_noise * difficulty[:, None] * np.asarray(scale)[None, :]   # (n, K)
    center = base + np.asarray(knobs.bias) + fit_std[..., None] * fit \
        + extra_std[..., None] * extra

    # outliers concentrate on hard instances and occluded joints: the base rates scale
    # with D^g / E[D^g] and, for occluded joints, with occluded_outlier_factor
    g = knobs.outlier_concentration
    w = difficulty[:, None] ** g / math.exp(0.5 * (g * knobs.difficulty_spread) ** 2) \
        * np.where(occluded, knobs.occluded_outlier_factor, 1.0)
    p_swap = np.minimum(knobs.swap_rate * w, 0.5)
    p_out = np.minimum(knobs.outlier_rate * w, 0.5)
    has_partner = partner != np.arange(k)
    swapped = (u_out < p_swap) & has_partner[None, :] & located[:, partner]
    displaced = (u_out >= p_swap) & (u_out < p_swap + p_out)
    center = np.where(swapped[..., None], center[:, partner], center)
    center = np.where(displaced[..., None], center + out_len[..., None] * out_dir, center)

    amp = amp / np.sqrt(difficulty)[:, None] * np.where(occluded, knobs.occluded_amplitude,
                         np.where(unlabelled, knobs.unlabelled_amplitude, 1.0))
    distractor = u_dis < knobs.distractor_rate
    return {
        "center": center,
        "amplitude": amp,
        "sigma": sig,
        "outlier": swapped | displaced,
        "distractor": distractor,
        "distractor_center": center + dis_len[..., None] * dis_dir,
        "distractor_amplitude": np.where(distractor, amp * dis_amp, 0.0),
    }


def _gaussians(center: np.ndarray, sigma: np.ndarray, width: int, height: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Separable factors gx (m, W), gy (m, H) of peak-1 Gaussians, float32."""
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)
    inv = (-0.5 / sigma ** 2).astype(np.float32)[:, None]
    cx = center[:, 0].astype(np.float32)[:, None]
    cy = center[:, 1].astype(np.float32)[:, None]
    return np.exp(inv * (xs - cx) ** 2), np.exp(inv * (ys - cy) ** 2)


def simulate_heatmaps(keypoints_hm: np.ndarray, visibility: np.ndarray,
                      knobs: NetworkKnobs | None = None,
                      rng: np.random.Generator | int | None = None, *,
                      heatmap_size: Sequence[int] = HEATMAP_SIZE,
                      flip_pairs: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Heatmaps of the simulated network for ground-truth keypoints (see module docstring).

    Parameters
    ----------
    keypoints_hm : (n, K, 2) exact GT keypoints x, y in heatmap px (``"hrnet"``
        convention: :func:`daec_viz.geometry.to_heatmap` of the image coordinates). Give
        the true location of every joint, also unlabelled ones; NaN marks a joint with
        no location (its map gets no peak, only noise).
    visibility : (n, K) COCO visibility: 2 visible, 1 occluded (weaker, displaced peak),
        0 unlabelled (weak peak).
    knobs : :class:`NetworkKnobs` (default :data:`DEFAULT_KNOBS`).
    rng : a ``numpy.random.Generator`` or a seed.
    heatmap_size : (W, H) heatmap px.
    flip_pairs : left/right index pairs for the left/right confusions (default COCO's
        for K = 17, none otherwise).

    Returns
    -------
    (n, K, H, W) float32 heatmaps (H = 64 rows, W = 48 columns by default).

    Vectorised over instances and joints: about 0.1 s for 200 COCO instances.
    """
    knobs = DEFAULT_KNOBS if knobs is None else knobs
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    kp = np.asarray(keypoints_hm, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[2] != 2:
        raise InputError(f"expected shape (n, K, 2), got {kp.shape}", field="keypoints_hm")
    vis = np.asarray(visibility)
    if vis.shape != kp.shape[:2]:
        raise InputError(f"expected shape {kp.shape[:2]}, got {vis.shape}", field="visibility")
    if np.isinf(kp).any():
        raise InputError("expected finite values or NaN, got inf", field="keypoints_hm")
    width, height = (int(v) for v in heatmap_size)
    missing = np.isnan(kp).any(axis=-1)

    p = peak_centers(kp, vis, knobs, rng, flip_pairs)
    return render_peaks(p, knobs, rng, width, height, missing)


def render_peaks(p: dict[str, np.ndarray], knobs: NetworkKnobs, rng: np.random.Generator,
                 width: int, height: int, missing: np.ndarray,
                 windows: np.ndarray | None = None) -> np.ndarray:
    """Render the peaks of :func:`peak_centers` into heatmaps (step 3 of the module
    docstring: main peak, peak-shape noise, distractor, background noise).

    Parameters
    ----------
    p : the dict of :func:`peak_centers` (arrays (n, K, ...), heatmap px).
    knobs, rng : as :func:`simulate_heatmaps` (the noise fields are drawn from ``rng``).
    width, height : heatmap W, H.
    missing : (n, K) bool: joints without a location (no peak, only noise).
    windows : optional (n, K, 2, 2) integer windows ``[lo, hi)`` per axis outside which
        the main peak is cut to 0 (a cut training target, as HRNet's and UDP's;
        :func:`daec_viz.synthetic.pipeline.target_windows`); None: no cut.

    Returns
    -------
    (n, K, H, W) float32.
    """
    n, k = missing.shape
    m = n * k
    amp = np.where(missing, 0.0, p["amplitude"]).reshape(m).astype(np.float32)
    gx, gy = _gaussians(p["center"].reshape(m, 2), p["sigma"].reshape(m), width, height)
    if windows is not None:
        win = np.asarray(windows).reshape(m, 2, 2)
        xs = np.arange(width)[None, :]
        ys = np.arange(height)[None, :]
        gx = gx * ((xs >= win[:, 0, :1]) & (xs < win[:, 0, 1:]))
        gy = gy * ((ys >= win[:, 1, :1]) & (ys < win[:, 1, 1:]))
    out = (gy * amp[:, None])[:, :, None] * gx[:, None, :]           # (m, H, W)

    field_ = None
    if knobs.peak_noise > 0 or knobs.noise_std > 0:
        field_ = _smooth_noise(rng, m, _noise_basis(width, height, knobs.noise_corr))
    if knobs.peak_noise > 0:
        # the multiplicative field is the additive one rolled by half the map (H/2, W/2):
        # at every pixel the two values are ~independent, at half the cost of a new field
        eps = np.float32(knobs.peak_noise)
        h2, w2 = height // 2, width // 2
        for ys, yd in ((slice(0, height - h2), slice(h2, None)),
                       (slice(height - h2, None), slice(0, h2))):
            for xs, xd in ((slice(0, width - w2), slice(w2, None)),
                           (slice(width - w2, None), slice(0, w2))):
                out[:, ys, xs] *= 1.0 + eps * field_[:, yd, xd]
    dis = (p["distractor"] & ~missing).reshape(m)
    if dis.any():
        idx = np.flatnonzero(dis)
        dx, dy = _gaussians(p["distractor_center"].reshape(m, 2)[idx], p["sigma"].reshape(m)[idx],
                            width, height)
        damp = p["distractor_amplitude"].reshape(m)[idx].astype(np.float32)
        out[idx] += (dy * damp[:, None])[:, :, None] * dx[:, None, :]
    if knobs.noise_std > 0:
        out += np.float32(knobs.noise_std) * field_
    return np.ascontiguousarray(out.reshape(n, k, height, width), dtype=np.float32)
