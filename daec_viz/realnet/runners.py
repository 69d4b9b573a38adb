"""The networks ``daec-viz infer`` runs, behind one interface: BlazePose or a model file.

A runner knows its crop geometry (:meth:`Runner.geometry`: centre, scale, input -> image
and heatmap -> image affines of each box), turns crops into heatmaps with the flip
test when asked (:meth:`Runner.heatmaps`, through :func:`daec_viz.decoding.flip.
combine_flip`), and says what the cache records (:meth:`Runner.writer_options`,
:meth:`Runner.provenance`) and what keys a resumable run (:meth:`Runner.key`).

- :class:`BlazePoseRunner`: MediaPipe's BlazePose (:mod:`daec_viz.realnet.blazepose`):
  square crops, sigmoid probabilities of COCO's 17 joints.
- :class:`TopDownRunner`: any ``.onnx`` / ``.tflite`` top-down heatmap model
  (:mod:`daec_viz.realnet.heatmap_model`), crops and mapping of the chosen convention,
  optionally a keypoint map (:mod:`daec_viz.realnet.keypoint_map`).

The flip test mirrors the crop tensor (input px ``u -> w - 1 - u``), runs it in the same
batch as the original, and combines the two as ``flip_test`` says (``none``, ``shift``
for HRNet / mmpose ``shift_heatmap=True``, ``noshift`` for DarkPose / UDP). For
BlazePose, whose heatmap px ``i`` sits at input px ``4 i - 0.5``, the mirrored branch
comes back exactly one heatmap px left of the original (``63 - (255 - u + 0.5)/4 =
(u + 0.5)/4 - 1``), so ``shift`` is the consistent mode there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daec_viz.decoding.flip import check_flip_mode, combine_flip
from daec_viz.exceptions import InputError
from daec_viz.geometry import box_to_center_scale, heatmap_to_image_affine
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES, flip_pairs_from_names
from daec_viz.realnet import blazepose as bp
from daec_viz.realnet.heatmap_model import HeatmapModel, TopDownOptions
from daec_viz.realnet.keypoint_map import KeypointMap, load_flip_pairs, load_keypoint_map

__all__ = ["Geometry", "Runner", "BlazePoseRunner", "TopDownRunner", "is_blazepose_file"]


def is_blazepose_file(path: str | Path | None) -> bool:
    """True for the default model (None) and for a file named ``pose_landmark_full.tflite``:
    those run as BlazePose; any other ``.onnx`` / ``.tflite`` runs as a top-down model."""
    return path is None or Path(path).name == bp.MODEL_FILE


@dataclass(frozen=True)
class Geometry:
    """Crops of n boxes: ``center`` (n, 2) image px, ``scale`` (n, 2) box size / 200 px,
    ``input_affine`` (n, 2, 3) input px -> image px, ``heatmap_affine`` (n, 2, 3)
    heatmap px -> image px."""

    center: np.ndarray
    scale: np.ndarray
    input_affine: np.ndarray
    heatmap_affine: np.ndarray


class Runner:
    """Base: the flip test and the shared records; subclasses give the network."""

    name: str
    input_size: tuple[int, int]
    keypoint_names: tuple[str, ...]
    flip_test: str
    flip_pairs: list[tuple[int, int]]
    keypoint_map: KeypointMap | None = None

    def _set_flip(self, flip_test: str, flip_pairs: str | Path | None) -> None:
        self.flip_test = check_flip_mode(flip_test)
        self.flip_pairs_file = None if flip_pairs is None else str(Path(flip_pairs).resolve())
        self.flip_pairs = (flip_pairs_from_names(self.keypoint_names) if flip_pairs is None
                           else load_flip_pairs(flip_pairs, self.keypoint_names))

    def network_heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """Crops (n, h, w, 3) RGB 0..255 -> the stored kind of heatmaps (n, K, H, W)."""
        raise NotImplementedError

    def heatmaps(self, crops: np.ndarray) -> np.ndarray:
        """Heatmaps (n, K, H, W) float32 of crops (n, h, w, 3) RGB 0..255, with the flip
        test (the mirrored crops run in the same batch)."""
        if self.flip_test == "none":
            return self.network_heatmaps(crops)
        n = len(crops)
        both = self.network_heatmaps(np.concatenate([crops, crops[:, :, ::-1]]))
        return combine_flip(both[:n], both[n:], self.flip_pairs, self.flip_test)

    def geometry(self, bbox: np.ndarray) -> Geometry:
        """The crops of boxes (n, 4) x, y, w, h image px."""
        raise NotImplementedError

    def _flip_record(self) -> dict[str, Any]:
        return {"flip_test": self.flip_test, "flip_pairs": [list(p) for p in self.flip_pairs],
                "flip_pairs_file": self.flip_pairs_file}


class BlazePoseRunner(Runner):
    """BlazePose GHUM full (square crops, 17 COCO channels, sigmoid probabilities).

    Parameters
    ----------
    model_path, num_threads : see :class:`~daec_viz.realnet.blazepose.BlazePose`.
    flip_test : ``none``, ``shift`` or ``noshift`` (module docstring: ``shift`` fits).
    flip_pairs : a ``--flip-pairs`` file; default: pairs of BlazePose's own landmark names
        on the kept channels (COCO's pairs).
    """

    name = bp.MODEL_NAME
    input_size = (bp.INPUT_SIZE, bp.INPUT_SIZE)

    def __init__(self, model_path: str | Path | None = None, num_threads: int | None = None,
                 flip_test: str = "none", flip_pairs: str | Path | None = None) -> None:
        self.keypoint_names = tuple(bp.BLAZEPOSE_NAMES[i] for i in bp.COCO_FROM_BLAZEPOSE)
        self._set_flip(flip_test, flip_pairs)
        self.net = bp.BlazePose(model_path=model_path, num_threads=num_threads)
        self.sha256 = bp.file_sha256(self.net.model_path)

    def check_annotations(self, names: Sequence[str], path: Path) -> None:
        if tuple(names) != COCO_KEYPOINT_NAMES:
            raise InputError(f"BlazePose gives COCO's 17 joints {list(COCO_KEYPOINT_NAMES)}; "
                             f"the keypoint category lists {list(names)}",
                             field="categories.keypoints", path=path)

    def network_heatmaps(self, crops: np.ndarray) -> np.ndarray:
        return self.net.heatmaps(np.asarray(crops, np.float32) * np.float32(1.0 / 255.0))

    def geometry(self, bbox: np.ndarray) -> Geometry:
        center, side = bp.square_crops(bbox)
        c, s = bp.center_scale_of_crops(center, side)
        return Geometry(c, s, bp.input_affines(center, side), bp.heatmap_affines(center, side))

    def key(self) -> dict[str, Any]:
        return {"model_sha256": self.sha256, "grid_offset": bp.GRID_OFFSET,
                "padding": bp.PADDING, "channels": list(bp.COCO_FROM_BLAZEPOSE),
                **({} if self.flip_test == "none" else self._flip_record())}

    def writer_options(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "sigma": bp.MEASURED_SIGMA,
                "convention": "hrnet", "model": self.name, "heatmap_kind": "probability",
                "keypoint_names": self.keypoint_names, "flip_test": self.flip_test}

    def provenance(self) -> dict[str, Any]:
        def version(d: str) -> str | None:
            import importlib.metadata
            try:
                return importlib.metadata.version(d)
            except importlib.metadata.PackageNotFoundError:
                return None
        return {
            "network": bp.MODEL_NAME, "model_file": str(self.net.model_path),
            "model_sha256": self.sha256,
            "model_distribution": next((f"{d} {version(d)}" for d in bp.MODEL_DISTRIBUTIONS
                                        if version(d)), None),
            "runtime": f"ai-edge-litert {version('ai-edge-litert')}",
            "output": bp.HEATMAP_OUTPUT, "blazepose_channels": list(bp.COCO_FROM_BLAZEPOSE),
            "stored": "sigmoid(logits) of the network's heatmap logits (probabilities in "
                      "[0, 1])" + ("" if self.flip_test == "none" else
                                   f", flip test {self.flip_test!r} (probabilities averaged)"),
            "daec_sigma": bp.MEASURED_SIGMA,
            "sigma_note": "Gaussian fit to the sigmoid peaks of real COCO people (heatmap "
                          "px); the DAEC window should assume it",
            "crop": {"shape": "square, side = padding * max(w, h), centred on the box, no "
                              "rotation", "padding": bp.PADDING, "input_size": bp.INPUT_SIZE,
                     "input_range": [0.0, 1.0], "interpolation": "bilinear",
                     "border": "zeros", "input_px_to_image": "x = c + (u - 127.5) * S / 256"},
            "grid_offset_input_px": bp.GRID_OFFSET,
            "heatmap_to_image": "x = c + (i - 32) * S / 64 (the hrnet convention with "
                                "scale = S / 200); exact per-instance affines stored",
            **self._flip_record(),
        }


class TopDownRunner(Runner):
    """An ``.onnx`` / ``.tflite`` top-down heatmap model.

    Parameters
    ----------
    path : the model file.
    options : :class:`~daec_viz.realnet.heatmap_model.TopDownOptions`.
    annotation_names : the annotations' keypoint names (what the channels are, without a
        keypoint map: the model's K must then equal their number, same order).
    flip_test, flip_pairs : as :class:`BlazePoseRunner`; default pairs from the channel
        names.
    keypoint_map : a ``--keypoint-map`` file (:mod:`daec_viz.realnet.keypoint_map`).
    annotations_path : for messages.
    """

    def __init__(self, path: str | Path, options: TopDownOptions | None,
                 annotation_names: Sequence[str], *, flip_test: str = "none",
                 flip_pairs: str | Path | None = None,
                 keypoint_map: str | Path | None = None,
                 annotations_path: str | Path | None = None) -> None:
        self.model = HeatmapModel(path, options)
        self.options = self.model.options
        self.input_size = self.model.input_size
        k = self.model.heatmap_shape[0]
        if keypoint_map is not None:
            self.keypoint_map = load_keypoint_map(keypoint_map, k)
            self.keypoint_names = self.keypoint_map.channel_names(annotation_names)
        elif k != len(annotation_names):
            raise InputError(f"the model gives K = {k} heatmap channels but the annotations' "
                             f"keypoint category lists {len(annotation_names)} keypoints; "
                             f"pass --keypoint-map FILE.json to say which channel is which "
                             f"keypoint", field="categories.keypoints", path=annotations_path)
        else:
            self.keypoint_names = tuple(annotation_names)
        self._set_flip(flip_test, flip_pairs)
        self.name = Path(path).name

    def network_heatmaps(self, crops: np.ndarray) -> np.ndarray:
        return self.model.heatmaps(crops)

    def geometry(self, bbox: np.ndarray) -> Geometry:
        w, h = self.input_size
        conv = self.options.convention
        c, s = box_to_center_scale(bbox, aspect_ratio=w / h, padding=self.options.padding)
        k, hh, ww = self.model.heatmap_shape
        return Geometry(c, s, heatmap_to_image_affine(c, s, (w, h), conv),
                        heatmap_to_image_affine(c, s, (ww, hh), conv))

    def key(self) -> dict[str, Any]:
        opts = self.options.to_dict()
        opts.pop("num_threads")
        return {"model_sha256": self.model.sha256, "options": opts,
                "layout": self.model.layout, "input_size": list(self.input_size),
                "output": self.model.output, "keypoint_names": list(self.keypoint_names),
                "keypoint_map": None if self.keypoint_map is None
                else self.keypoint_map.to_dict(), **self._flip_record()}

    def writer_options(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "sigma": self.options.sigma,
                "convention": self.options.convention, "model": self.name,
                "heatmap_kind": "heatmap", "keypoint_names": self.keypoint_names,
                "flip_test": self.flip_test, "pipeline": self.options.pipeline}

    def provenance(self) -> dict[str, Any]:
        o = self.options
        w, h = self.input_size
        return {
            "network": self.name, **self.model.describe(),
            "stored": "the model's heatmap output as it is (no activation)"
                      + ("" if self.flip_test == "none"
                         else f", flip test {self.flip_test!r} (maps averaged)"),
            "daec_sigma": o.sigma, "pipeline": o.pipeline,
            "crop": {"box": f"grown to the input's aspect {w}/{h}, padded x{o.padding} "
                            f"(box_to_center_scale)", "padding": o.padding,
                     "convention": o.convention, "input_size": [w, h],
                     "input_px_to_image": f"the {o.convention!r} convention at input size",
                     "interpolation": "bilinear", "border": "zeros",
                     "normalisation": {"mean_rgb": list(o.mean), "std_rgb": list(o.std),
                                       "channel_order": "BGR" if o.bgr else "RGB",
                                       "input_range": "(x - mean) / std, x in [0, 255]"}},
            "heatmap_to_image": f"the {o.convention!r} convention (daec_viz.geometry); "
                                f"exact per-instance affines stored",
            "keypoint_map": None if self.keypoint_map is None else {
                "file": self.keypoint_map.path, **self.keypoint_map.to_dict()},
            **self._flip_record(),
        }
