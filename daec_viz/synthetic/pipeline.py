"""Training/test pipelines of the reference code bases, and the offsets they imply.

A top-down network never sees image pixels directly: the image is cropped to an input
tensor of ``w x h`` px, the network is trained to put a Gaussian *target* at a label
position in its ``W x H`` heatmap, and at test time its heatmap (averaged with a flipped
input's, if the flip test is on) is decoded and mapped back to the image. The three code
bases differ in every one of those steps; the simulated network of this module renders,
for each input, the training target of the code base it stands for, so that a bias in
the decoded keypoints comes from the pipeline (not from a knob).

Notation: ``u`` input (tensor) px, ``p`` heatmap px, ``s = w / W`` the stride (4 for
192 -> 48), ``S`` the box size in image px, ``d = x_img - c`` the offset from the box
centre. Pixel centres at integers, x right, y down; everything per axis.

The pipelines (:data:`daec_viz.geometry.PIPELINES`)
----------------------------------------------------
========= ============================ =================================== ==================
pipeline  crop: image -> input u       label: input u -> heatmap p          target encoding
========= ============================ =================================== ==================
``hrnet`` ``w/2 + d·w/S``              ``u / s``                            Gaussian at the
          (``get_affine_transform``,   (``feat_stride = image/heatmap``)    integer
          centre -> ``w/2``)                                                ``int(p + 0.5)``,
                                                                            cut to
                                                                            ``[int(m - 3σ),
                                                                            int(m + 3σ + 1))``
``dark``  ``(w-1)/2 + d·(w-1)/(S-1)``  ``u·(W-1)/(w-1)`` (DarkPose maps the  Gaussian at the
          (DarkPose's affine with      joints with the same affine at       exact ``p`` over
          ``(size - 1)/2``)            heatmap size)                         the whole map
``udp``   ``(w-1)/2 + d·(w-1)/S``      ``u·(W-1)/(w-1)`` (mmpose UDP codec) Gaussian at the
          (``get_udp_warp_matrix``)                                         exact ``p``, cut
                                                                            to the window
                                                                            around
                                                                            ``int(p + 0.5)``
========= ============================ =================================== ==================

Each code base decodes with the inverse of its own crop at heatmap size, i.e. the
conventions ``hrnet``/``dark``/``udp`` of :mod:`daec_viz.geometry`; label and decoding
agree, so a noise-free target decodes to the exact ground truth (up to HRNet's
rounding). The crop is :func:`daec_viz.geometry.to_heatmap` with ``heatmap_size`` =
the input size (that is literally how the code bases build it). A test-time code base
other than the training one (``PipelineSettings.convention``; e.g. HRNet checkpoints
evaluated in DarkPose/DAEC's code, which crops and decodes with the ``dark``
convention) is modelled too.

The flip test (:mod:`daec_viz.decoding.flip`)
---------------------------------------------
The flipped input is the tensor mirrored, ``u -> w - 1 - u``; the network puts joint
``k``'s mirror image at the label of ``w - 1 - u``; ``flip_back`` maps column ``p`` to
``W - 1 - p``; ``shift`` then moves it one column right. Continuous label positions:

- ``hrnet``: flipped back ``W - 1 - (w - 1 - u)/s = u/s - (s - 1)/s``: the branch lands
  **(s - 1)/s heatmap px left** of the original (0.75 px = 3 input px for s = 4);
  with HRNet's shift it lands **1/s px right** (+0.25 px = +1 input px). With the
  rounding the branch sits at ``W - 1 - int((w - 1 - u)/s + 0.5)``, an integer offset
  from ``int(u/s + 0.5)``: for s = 4 it is −1 for three quarters of the sub-pixel
  phases and 0 for the rest (noshift), 0 or +1 likewise (shift): means exactly
  −(s − 1)/s and 1/s over uniformly spread positions.
- ``dark`` and ``udp``: ``W - 1 - (w - 1 - u)(W - 1)/(w - 1) = u(W - 1)/(w - 1)``: the
  branch lands **exactly on** the original (no shift needed, as DarkPose and UDP say);
  HRNet's shift would put it **1 px right**.

The flip-test map is the mean of the two branches; its centre of symmetry (its centroid,
which a full-map centroid decoder returns) is half the branch offset: hrnet −(s−1)/(2s)
(noshift) / +1/(2s) (shift), i.e. −0.375 / +0.125 heatmap px = −1.5 / +0.5 input px for
s = 4; dark/udp 0 / +0.5. Only x moves: the flip test is left-right. In image px an
offset multiplies by the convention's gain (``S/W`` hrnet, ``(S-1)/(W-1)`` dark,
``S/(W-1)`` udp; :func:`offset_to_image`). What a given decoder reports differs (argmax
snaps to a pixel: on HRNet's rounded targets a 1-px branch offset makes an exact tie,
resolved toward the first column); :mod:`daec_viz.analysis.bias_sources` decodes
noise-free maps to get each decoder's share.

The convention mismatch
-----------------------
A network trained with pipeline P and tested in a code base with convention C sees the
crop of C but labels as P taught it. For P = hrnet, C = dark (HRNet checkpoints in the
DarkPose/DAEC code): ``p - p_C = (1 - 1/s)·(1/2 + d/(S - 1))`` heatmap px, i.e.
**+(s-1)/(2s) = +0.375 px toward the bottom-right in both axes** at the box centre,
and a scale error of ``(s-1)/(w-s)`` (1.6 % for w = 192) away from it; the mean over
joints spread around the box centre stays at about +0.375 px (:func:`convention_offset`
computes it exactly). Measured on the noise-free simulator (DARK, 400 random joints):
hrnet-trained and dark- or udp-decoded +0.37..0.38 px in x and y.

The mechanistic leak
--------------------
A network's natural output grid puts heatmap pixel ``i`` at input px ``s·i + (s-1)/2``
(the centre of the ``s`` input px it summarises): natural position
``p_nat(u) = (u - (s-1)/2)/s``. The labels demand ``p_lab(u)``; a network that learns
only part of the difference outputs ``p = p_lab + leak·(p_nat - p_lab)``
(``leak`` in [0, 1]). For hrnet, ``p_nat - p_lab = -(s-1)/(2s)`` everywhere: the leak
moves peaks **up-left** by ``leak·0.375`` px for s = 4 when decoded with HRNet's own
convention (the opposite of the paper's bottom-right bias), and it cancels in x under
HRNet's shifted flip test (the flipped branch leaks the other way). For dark/udp the two
grids share their centre (``p_nat - p_lab = (u - (w-1)/2)(1/s - (W-1)/(w-1))``): the leak
is a scale error of 1.6 % with zero mean over a centred box. The leak *does* read as a
bottom-right bias only relative to a natural-grid decoder, which is the convention
mismatch above run backwards: with HRNet checkpoints decoded by the dark convention,
a leak of 1 removes the +0.375 px.

Examples
--------
>>> [flip_branch_offset("hrnet", 192, 48, shift=s) for s in (False, True)]
[-0.75, 0.25]
>>> flip_test_offset("udp", "shift", 192, 48), flip_test_offset("dark", "noshift", 192, 48)
(0.5, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from daec_viz.decoding.flip import check_flip_mode, combine_flip, flip_permutation
from daec_viz.exceptions import InputError
from daec_viz.geometry import CONVENTIONS, PIPELINES, heatmap_to_image_affine, to_heatmap
from daec_viz.io.coco_format import COCO_FLIP_PAIRS
from daec_viz.synthetic.simulate import (
    HEATMAP_SIZE,
    INPUT_SIZE,
    TARGET_SIGMA,
    NetworkKnobs,
    peak_centers,
    render_peaks,
)

#: The convention each pipeline crops and decodes with.
PIPELINE_CONVENTION: dict[str, str] = {"hrnet": "hrnet", "dark": "dark", "udp": "udp"}


def _check_pipeline(pipeline: str) -> str:
    if pipeline not in PIPELINES:
        raise InputError(f"expected one of {list(PIPELINES)}, got {pipeline!r}",
                         field="pipeline")
    return pipeline


@dataclass(frozen=True)
class PipelineSettings:
    """How the simulated network was trained and is tested.

    Attributes
    ----------
    pipeline : training code base, ``hrnet``, ``dark`` or ``udp`` (module docstring).
    flip_test : ``none``, ``shift`` or ``noshift`` (:mod:`daec_viz.decoding.flip`).
    leak : fraction in [0, 1] of the natural-grid offset the network did not learn.
    convention : test-time crop and decoding convention; None = the pipeline's own.
    input_size : (w, h) input px; heatmap_size : (W, H) heatmap px.
    sigma : σ of the training targets, heatmap px.
    """

    pipeline: str = "hrnet"
    flip_test: str = "none"
    leak: float = 0.0
    convention: str | None = None
    input_size: tuple[int, int] = INPUT_SIZE
    heatmap_size: tuple[int, int] = HEATMAP_SIZE
    sigma: float = TARGET_SIGMA

    def __post_init__(self) -> None:
        _check_pipeline(self.pipeline)
        check_flip_mode(self.flip_test)
        if not isinstance(self.leak, (int, float, np.number)) or not 0 <= float(self.leak) <= 1:
            raise InputError(f"expected a number in [0, 1], got {self.leak!r}", field="leak")
        object.__setattr__(self, "leak", float(self.leak))
        if self.convention is not None and self.convention not in CONVENTIONS:
            raise InputError(f"expected one of {list(CONVENTIONS)} or None, got "
                             f"{self.convention!r}", field="convention")
        for name in ("input_size", "heatmap_size"):
            v = getattr(self, name)
            if len(v) != 2 or any(int(x) != x or x < 2 for x in v):
                raise InputError(f"expected two integers >= 2, got {v!r}", field=name)
            object.__setattr__(self, name, (int(v[0]), int(v[1])))
        if not float(self.sigma) > 0:
            raise InputError(f"expected > 0, got {self.sigma!r}", field="sigma")

    @property
    def test_convention(self) -> str:
        """The convention the test code base crops and decodes with."""
        return self.convention or PIPELINE_CONVENTION[self.pipeline]

    def replace(self, **changes: Any) -> PipelineSettings:
        """A copy with some settings changed (validated)."""
        d = asdict(self)
        d.update(changes)
        return PipelineSettings(**d)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (sizes as lists)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineSettings:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InputError`."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputError(f"unknown pipeline settings {sorted(unknown)}", field="pipeline")
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


# --------------------------------------------------------------------------- geometry

def _sizes(input_size: Sequence[int], heatmap_size: Sequence[int]
           ) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(input_size, dtype=np.float64), np.asarray(heatmap_size, dtype=np.float64)


def input_coords(kp_img: np.ndarray, center: np.ndarray, scale: np.ndarray,
                 input_size: Sequence[int], convention: str) -> np.ndarray:
    """Image px (n, K, 2) -> input (tensor) px of the crop a code base makes: the inverse
    of its heatmap -> image convention taken at input size (module docstring)."""
    return to_heatmap(kp_img, center, scale, input_size, convention)


def label_coords(u: np.ndarray, pipeline: str, input_size: Sequence[int],
                 heatmap_size: Sequence[int]) -> np.ndarray:
    """Input px (..., 2) -> the (unrounded) label position in heatmap px of ``pipeline``:
    ``u/s`` (hrnet) or ``u(W-1)/(w-1)`` (dark, udp)."""
    _check_pipeline(pipeline)
    w, hm = _sizes(input_size, heatmap_size)
    u = np.asarray(u, dtype=np.float64)
    return u * hm / w if pipeline == "hrnet" else u * (hm - 1.0) / (w - 1.0)


def natural_coords(u: np.ndarray, input_size: Sequence[int], heatmap_size: Sequence[int]
                   ) -> np.ndarray:
    """Input px (..., 2) -> heatmap px on the natural output grid (pixel ``i`` at input
    ``s·i + (s-1)/2``): ``(u - (s-1)/2)/s``."""
    w, hm = _sizes(input_size, heatmap_size)
    s = w / hm
    return (np.asarray(u, dtype=np.float64) - (s - 1.0) / 2.0) / s


def network_coords(u: np.ndarray, pipeline: str, leak: float, input_size: Sequence[int],
                   heatmap_size: Sequence[int]) -> np.ndarray:
    """Where a network trained with ``pipeline`` puts the label of input px ``u`` (..., 2),
    with a ``leak`` fraction of its natural grid left in: ``p_lab + leak·(p_nat - p_lab)``
    (heatmap px, before the target encoding)."""
    lab = label_coords(u, pipeline, input_size, heatmap_size)
    if leak == 0:
        return lab
    return lab + leak * (natural_coords(u, input_size, heatmap_size) - lab)


def encoded_centers(p: np.ndarray, pipeline: str) -> np.ndarray:
    """The centre of ``pipeline``'s target for label ``p`` (heatmap px): HRNet's
    ``int(p + 0.5)`` (floor, as for every joint inside the map), else ``p`` itself."""
    _check_pipeline(pipeline)
    return np.floor(p + 0.5) if pipeline == "hrnet" else np.asarray(p, dtype=np.float64)


def target_windows(p: np.ndarray, pipeline: str, sigma: float) -> np.ndarray | None:
    """(..., 2, 2) integer windows ``[lo, hi)`` per axis ([..., axis, 0/1]) of the
    pipeline's cut Gaussian around ``m = int(p + 0.5)``: ``[int(m - 3σ), int(m + 3σ + 1))``
    (HRNet's ``ul``/``br``, mmpose UDP's ``left``/``right``); None for dark (the whole
    map)."""
    _check_pipeline(pipeline)
    if pipeline == "dark":
        return None
    m = np.floor(np.asarray(p, dtype=np.float64) + 0.5)
    r = 3.0 * float(sigma)
    return np.stack([np.trunc(m - r), np.trunc(m + r + 1.0)], axis=-1)


def mirror_input(u: np.ndarray, input_width: int) -> np.ndarray:
    """Input px (..., 2) of the left-right mirrored tensor: ``x -> w - 1 - x``."""
    out = np.array(u, dtype=np.float64, copy=True)
    out[..., 0] = input_width - 1.0 - out[..., 0]
    return out


# --------------------------------------------------------------------------- offsets

def flip_branch_offset(pipeline: str, input_width: int, heatmap_width: int, shift: bool
                       ) -> float:
    """Mean x offset (heatmap px) of the flipped-and-flipped-back label from the
    original's, over uniformly spread positions: hrnet ``1/s - 1`` (``+1`` with the
    shift), dark/udp ``0`` (``+1``). y never moves."""
    _check_pipeline(pipeline)
    base = heatmap_width / input_width - 1.0 if pipeline == "hrnet" else 0.0
    return base + (1.0 if shift else 0.0)


def flip_test_offset(pipeline: str, flip_test: str, input_width: int,
                     heatmap_width: int) -> float:
    """x offset (heatmap px) of the flip-test map's centre of symmetry from the
    original's target: half the branch offset; 0 without flip test."""
    if check_flip_mode(flip_test) == "none":
        return 0.0
    return 0.5 * flip_branch_offset(pipeline, input_width, heatmap_width,
                                    shift=flip_test == "shift")


def flip_branch_offsets_exact(u: np.ndarray, pipeline: str, input_size: Sequence[int],
                              heatmap_size: Sequence[int], shift: bool,
                              leak: float = 0.0) -> np.ndarray:
    """Per point (..., 2): the flipped-back *encoded* target centre minus the original's
    (heatmap px, y always 0), including HRNet's rounding."""
    w = int(input_size[0])
    orig = encoded_centers(network_coords(u, pipeline, leak, input_size, heatmap_size),
                           pipeline)
    flip = encoded_centers(network_coords(mirror_input(u, w), pipeline, leak, input_size,
                                          heatmap_size), pipeline)
    back = flip.copy()
    back[..., 0] = heatmap_size[0] - 1.0 - flip[..., 0] + (1.0 if shift else 0.0)
    return back - orig


def convention_offset(kp_img: np.ndarray, center: np.ndarray, scale: np.ndarray,
                      pipeline: str, convention: str, input_size: Sequence[int],
                      heatmap_size: Sequence[int]) -> np.ndarray:
    """(n, K, 2) heatmap px: where a ``pipeline``-trained network's (unrounded) label
    lands when the test code base crops and decodes with ``convention``, minus the GT in
    that convention's heatmap frame. Zero when ``convention`` is the pipeline's own."""
    u = input_coords(kp_img, center, scale, input_size, convention)
    p = label_coords(u, pipeline, input_size, heatmap_size)
    return p - to_heatmap(kp_img, center, scale, heatmap_size, convention)


def leak_offset(u: np.ndarray, pipeline: str, leak: float, input_size: Sequence[int],
                heatmap_size: Sequence[int]) -> np.ndarray:
    """(..., 2) heatmap px: ``leak·(p_nat - p_lab)``, the leak's shift of the label
    (hrnet: ``-leak·(s-1)/(2s)`` everywhere)."""
    lab = label_coords(u, pipeline, input_size, heatmap_size)
    return leak * (natural_coords(u, input_size, heatmap_size) - lab)


def offset_to_image(offset_hm: np.ndarray, scale: np.ndarray, heatmap_size: Sequence[int],
                    convention: str) -> np.ndarray:
    """Heatmap-px offsets (n, ..., 2) of boxes ``scale`` (n, 2) -> image px: times the
    convention's gain (S/W hrnet, (S-1)/(W-1) dark, S/(W-1) udp)."""
    scale = np.asarray(scale, dtype=np.float64)
    aff = heatmap_to_image_affine(np.zeros_like(scale), scale, heatmap_size, convention)
    gain = np.stack([aff[..., 0, 0], aff[..., 1, 1]], axis=-1)
    off = np.asarray(offset_hm, dtype=np.float64)
    return off * gain.reshape(gain.shape[:1] + (1,) * (off.ndim - 2) + (2,))


# --------------------------------------------------------------------------- simulation

def pass_centers(kp_img: np.ndarray, center: np.ndarray, scale: np.ndarray,
                 settings: PipelineSettings) -> dict[str, np.ndarray]:
    """The encoded target centres of the original and the mirrored input (heatmap px).

    Returns
    -------
    dict: ``gt_hm`` (n, K, 2) GT in the test convention's heatmap frame; ``label`` (n, K, 2)
    the network's unrounded label position (with the leak); ``orig`` (n, K, 2) its encoded
    centre; ``flip_label``/``flip`` the same for joint k in the *mirrored* input's frame
    (before channels are swapped and columns flipped back).
    """
    st = settings
    conv = st.test_convention
    u = input_coords(kp_img, center, scale, st.input_size, conv)
    lab = network_coords(u, st.pipeline, st.leak, st.input_size, st.heatmap_size)
    flab = network_coords(mirror_input(u, st.input_size[0]), st.pipeline, st.leak,
                          st.input_size, st.heatmap_size)
    return {"gt_hm": to_heatmap(kp_img, center, scale, st.heatmap_size, conv),
            "label": lab, "orig": encoded_centers(lab, st.pipeline),
            "flip_label": flab, "flip": encoded_centers(flab, st.pipeline)}


def _mirror_x(v: np.ndarray) -> np.ndarray:
    out = np.array(v, copy=True)
    out[..., 0] = -out[..., 0]
    return out


def simulate_pipeline_heatmaps(kp_img: np.ndarray, visibility: np.ndarray,
                               center: np.ndarray, scale: np.ndarray,
                               settings: PipelineSettings | None = None,
                               knobs: NetworkKnobs | None = None,
                               rng: np.random.Generator | int | None = None, *,
                               flip_pairs: Sequence[Sequence[int]] | None = None
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps of a simulated network trained and tested with ``settings``.

    The network renders, for the original crop and (with a flip test) the mirrored one,
    the target of its training pipeline at the label of the (leaked) position; the
    network's own errors (:class:`~daec_viz.synthetic.simulate.NetworkKnobs`: fit noise,
    the free ``bias`` knob, outliers, swaps, distractors) are image-frame errors shared by
    both passes (mirrored in the mirrored frame, so they come back unchanged), while the
    peak shape noise and background noise fields are drawn independently per pass. The
    flip test is :func:`daec_viz.decoding.flip.combine_flip`. With
    ``NetworkKnobs.noise_free()`` (σ_out = σ) the maps are exactly the code base's
    training targets of both passes, averaged as the code base's flip test does.

    Parameters
    ----------
    kp_img : (n, K, 2) exact GT keypoints, image px (NaN: no location, no peak).
    visibility : (n, K) COCO visibility (as :func:`simulate_heatmaps`).
    center, scale : (n, 2) boxes (image px; units of 200 px).
    settings : :class:`PipelineSettings` (default hrnet, no flip test).
    knobs : network knobs (default ``NetworkKnobs.noise_free()``: pure pipeline); their
        ``quantize_targets`` is ignored (the pipeline decides).
    rng : a Generator or a seed.
    flip_pairs : left/right pairs (default COCO's for K = 17).

    Returns
    -------
    heatmaps (n, K, H, W) float32 and ``gt_hm`` (n, K, 2): the GT in the test convention's
    heatmap px.
    """
    st = PipelineSettings() if settings is None else settings
    knobs = NetworkKnobs.noise_free() if knobs is None else knobs
    knobs = knobs.replace(quantize_targets=False)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    kp = np.asarray(kp_img, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[2] != 2:
        raise InputError(f"expected shape (n, K, 2), got {kp.shape}", field="kp_img")
    n, k = kp.shape[:2]
    center = np.asarray(center, dtype=np.float64).reshape(n, 2)
    scale = np.asarray(scale, dtype=np.float64).reshape(n, 2)
    vis = np.asarray(visibility)
    if vis.shape != (n, k):
        raise InputError(f"expected shape {(n, k)}, got {vis.shape}", field="visibility")
    if flip_pairs is None:
        flip_pairs = COCO_FLIP_PAIRS if k == 17 else ()
    width, height = st.heatmap_size
    missing = np.isnan(kp).any(axis=-1)
    c = pass_centers(np.where(missing[..., None], 0.0, kp), center, scale, st)

    peaks = peak_centers(c["orig"], vis, knobs, rng, flip_pairs)
    err = peaks["center"] - c["orig"]
    dis_off = peaks["distractor_center"] - peaks["center"]
    sig_t = st.sigma
    maps = render_peaks(peaks, knobs, rng, width, height, missing,
                        target_windows(c["label"], st.pipeline, sig_t))
    if st.flip_test == "none":
        return maps, c["gt_hm"]
    perm = flip_permutation(k, flip_pairs)
    fpeaks = dict(peaks)
    fpeaks["center"] = c["flip"] + _mirror_x(err)
    fpeaks["distractor_center"] = fpeaks["center"] + _mirror_x(dis_off)
    win = target_windows(c["flip_label"], st.pipeline, sig_t)
    flipped_joint = render_peaks(fpeaks, knobs, rng, width, height, missing, win)
    flipped = np.empty_like(flipped_joint)
    flipped[:, perm] = flipped_joint          # the mirrored joint k shows as channel perm[k]
    return combine_flip(maps, flipped, flip_pairs, st.flip_test), c["gt_hm"]
