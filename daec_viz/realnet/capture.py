"""Capture heatmaps from your own model into a daec-viz cache.

Two helpers, neither imports torch or mmpose at module level:

- :class:`TorchHeatmapCapture`: a forward hook on a PyTorch top-down model (or one of
  its sub-modules) that hands every output batch of heatmaps, with the box metadata you
  set before the forward, to a :class:`~daec_viz.io.writer.HeatmapWriter`.
- :func:`mmpose_center_scale` / :func:`mmpose_samples_to_arrays` /
  :func:`add_mmpose_samples`: the ``PoseDataSample`` s of mmpose 1.x
  (``test_cfg=dict(output_heatmaps=True)``) -> heatmaps + boxes in daec-viz's convention.

mmpose's boxes: a center (2,) image px and a scale (2,) image **px** (width, height of
the padded, aspect-fixed box). mmpose >= 1.2 keeps them in the sample's metainfo
(``input_center``, ``input_scale``: ``TopdownAffine`` sets them, ``PackPoseInputs``
packs them, ``TopdownPoseEstimator.add_pred_to_datasample`` maps with them); its
``gt_instances`` holds ``bbox_scales`` but no ``bbox_centers``. mmpose 1.0 and 1.1 mapped
with ``gt_instances.bbox_centers`` / ``bbox_scales`` (same values). Its heatmap -> image
mapping (codec ``MSRAHeatmap``, also with ``unbiased=True``, and ``MegviiHeatmap``) is

    x_img = x_hm / W * scale_x + center_x - 0.5 * scale_x

which is daec-viz's ``hrnet`` convention ``x = c + (x_hm - W/2) * S/W`` with
``center = input_center`` and ``scale = input_scale / 200`` exactly. The ``UDPHeatmap``
codec uses ``x_hm / (W - 1)`` instead: daec-viz's ``udp`` convention, same center/scale.

Tested (tests/test_capture.py): the hook on a real CPU torch model with known heatmaps,
through the cache, ``load_dataset`` and ``predict`` to known image px (CI installs
``torch==2.13.0``). mmpose itself does not install cheaply (its wheel requires
torchvision, chumpy, xtcocotools and opencv-python), so the conversion is tested on
records laid out as mmpose 1.0-1.3 fill them, and on mmpose's own ``PoseDataSample``
where ``mmpose.structures`` imports (checked with ``pip install --no-deps mmpose mmengine
mmcv-lite``).

Example (PyTorch)
-----------------
>>> with HeatmapWriter("run/heatmaps.h5", input_size=(192, 256), sigma=2.0,
...                    convention="hrnet", model="my-hrnet") as writer:   # doctest: +SKIP
...     with TorchHeatmapCapture(model, writer) as cap:
...         for images, meta in loader:
...             cap.set_batch(image_ids=meta["image_id"], centers=meta["center"],
...                           scales=meta["scale"], scores=meta["score"])
...             model(images)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from daec_viz.exceptions import InputError
from daec_viz.geometry import PIXEL_STD

#: mmpose codec -> daec-viz convention of its heatmap -> image mapping.
MMPOSE_CODEC_CONVENTION: dict[str, str] = {
    "MSRAHeatmap": "hrnet", "MegviiHeatmap": "hrnet", "UDPHeatmap": "udp",
}


def to_numpy(x: Any) -> np.ndarray:
    """A torch tensor (any device, any float dtype) or array-like -> numpy array."""
    if hasattr(x, "detach"):
        x = x.detach()
        if hasattr(x, "float") and str(getattr(x, "dtype", "")) in ("torch.float16",
                                                                     "torch.bfloat16"):
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


class TorchHeatmapCapture:
    """Forward hook that writes every heatmap batch of a module to a ``HeatmapWriter``.

    Parameters
    ----------
    module : the ``torch.nn.Module`` whose forward output holds the heatmaps (the whole
        model, or e.g. its final layer).
    writer : an open :class:`~daec_viz.io.writer.HeatmapWriter`.
    select : picks the (n, K, H, W) heatmap tensor from the module's output (default:
        the output itself, or the first element of a tuple/list, or ``out["heatmaps"]``).
    transform : applied to the numpy heatmaps before writing (e.g. a sigmoid for logits).

    Call :meth:`set_batch` with the box metadata of each batch before its forward; every
    forward consumes it. A forward without metadata, or with another batch size, raises
    :class:`~daec_viz.exceptions.InputError`. Use as a context manager (the hook is
    removed on exit) and run the model under ``torch.no_grad()`` / ``eval()``.
    """

    def __init__(self, module: Any, writer: Any,
                 select: Callable[[Any], Any] | None = None,
                 transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.module = module
        self.writer = writer
        self.select = select
        self.transform = transform
        self._pending: dict[str, Any] | None = None
        self._handle: Any = None
        self.count = 0

    def set_batch(self, image_ids: Sequence[int] | np.ndarray, centers: Any = None,
                  scales: Any = None, scores: Any = None, bboxes: Any = None,
                  ann_ids: Any = None, splits: Sequence[str] | None = None,
                  affines: Any = None) -> None:
        """Metadata of the next forward's n instances (the arguments of
        :meth:`HeatmapWriter.add <daec_viz.io.writer.HeatmapWriter.add>`, tensors allowed):
        centers (n, 2) image px, scales (n, 2) box size / 200 px, scores (n,), bboxes
        (n, 4) x, y, w, h image px, ann_ids (n,), splits (n,), affines (n, 2, 3)."""
        meta = {"image_ids": image_ids, "centers": centers, "scales": scales,
                "scores": scores, "bboxes": bboxes, "ann_ids": ann_ids, "splits": splits,
                "affines": affines}
        self._pending = {k: (v if k == "splits" or v is None else to_numpy(v))
                         for k, v in meta.items()}

    def _select(self, output: Any) -> Any:
        if self.select is not None:
            return self.select(output)
        if isinstance(output, dict):
            if "heatmaps" not in output:
                raise InputError(f"the module returned a dict without 'heatmaps' (keys "
                                 f"{sorted(output)}); pass select=", field="select")
            return output["heatmaps"]
        if isinstance(output, (tuple, list)):
            return output[0]
        return output

    def _hook(self, module: Any, inputs: Any, output: Any) -> None:
        heat = to_numpy(self._select(output))
        if self.transform is not None:
            heat = np.asarray(self.transform(heat))
        if heat.ndim != 4:
            raise InputError(f"expected (n, K, H, W) heatmaps from the module, got shape "
                             f"{heat.shape}; pass select=", field="heatmaps")
        if self._pending is None:
            raise InputError("a forward ran without box metadata; call set_batch(...) "
                             "before each forward", field="set_batch")
        meta, self._pending = self._pending, None
        n = len(np.atleast_1d(meta["image_ids"]))
        if n != heat.shape[0]:
            raise InputError(f"set_batch got {n} instances but the forward produced "
                             f"{heat.shape[0]} heatmaps", field="set_batch")
        self.writer.add(heat, **meta)
        self.count += n

    def __enter__(self) -> TorchHeatmapCapture:
        self._handle = self.module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove the hook (idempotent)."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


# --------------------------------------------------------------------------- mmpose 1.x

def mmpose_center_scale(bbox_centers: Any, bbox_scales: Any) -> tuple[np.ndarray, np.ndarray]:
    """mmpose ``bbox_centers`` (n, 2) px and ``bbox_scales`` (n, 2) px -> daec-viz
    (center (n, 2) image px, scale (n, 2) in units of 200 px).

    With the codec's convention (:data:`MMPOSE_CODEC_CONVENTION`, ``hrnet`` for
    ``MSRAHeatmap``) :func:`daec_viz.geometry.to_image` then reproduces mmpose's
    ``keypoints = x_hm / W * bbox_scale + bbox_center - 0.5 * bbox_scale`` exactly.

    >>> c, s = mmpose_center_scale([[100.0, 50.0]], [[192.0, 256.0]])
    >>> c.tolist(), s.tolist()
    ([[100.0, 50.0]], [[0.96, 1.28]])
    """
    c = to_numpy(bbox_centers).astype(np.float64).reshape(-1, 2)
    s = to_numpy(bbox_scales).astype(np.float64).reshape(-1, 2)
    if c.shape != s.shape:
        raise InputError(f"bbox_centers {c.shape} and bbox_scales {s.shape} differ",
                         field="bbox_scales")
    return c, s / PIXEL_STD


def mmpose_samples_to_arrays(samples: Sequence[Any]) -> dict[str, np.ndarray]:
    """Heatmaps and boxes of mmpose 1.x ``PoseDataSample`` s (one per person box, as
    ``mmpose.apis.inference_topdown`` returns them with ``output_heatmaps=True``).

    Reads ``sample.pred_fields.heatmaps`` (K, H, W); the box mmpose maps with:
    ``sample.metainfo["input_center"]`` / ``["input_scale"]`` (2,) px (mmpose >= 1.2), else
    ``sample.gt_instances.bbox_centers`` / ``bbox_scales`` (1, 2) px (mmpose 1.0, 1.1);
    ``sample.gt_instances.bboxes`` (1, 4) x1, y1, x2, y2 and ``bbox_scores`` when present.

    Returns
    -------
    dict with ``heatmaps`` (n, K, H, W) float32, ``centers`` (n, 2) image px, ``scales``
    (n, 2) in 200 px, ``bboxes`` (n, 4) x, y, w, h image px (the padded box when the
    sample has no ``bboxes``), ``scores`` (n,) (1 when absent).
    """
    heat, cen, sca, box, score = [], [], [], [], []
    for i, s in enumerate(samples):
        pf = getattr(s, "pred_fields", None)
        hm = getattr(pf, "heatmaps", None) if pf is not None else None
        if hm is None:
            raise InputError(f"sample {i} has no pred_fields.heatmaps; run mmpose with "
                             f"model.test_cfg.output_heatmaps=True", field="pred_fields")
        gi = getattr(s, "gt_instances", None)
        meta = getattr(s, "metainfo", None) or {}
        if meta.get("input_center") is not None and meta.get("input_scale") is not None:
            box_c, box_s = meta["input_center"], meta["input_scale"]
        elif gi is not None and getattr(gi, "bbox_centers", None) is not None \
                and getattr(gi, "bbox_scales", None) is not None:
            box_c, box_s = gi.bbox_centers, gi.bbox_scales
        else:
            raise InputError(f"sample {i} has neither metainfo input_center/input_scale "
                             f"(mmpose >= 1.2) nor gt_instances.bbox_centers/bbox_scales "
                             f"(mmpose 1.0, 1.1)", field="metainfo")
        h = to_numpy(hm).astype(np.float32)
        if h.ndim == 4 and h.shape[0] == 1:
            h = h[0]
        if h.ndim != 3:
            raise InputError(f"sample {i}: expected (K, H, W) heatmaps, got {h.shape}",
                             field="pred_fields.heatmaps")
        c, sc = mmpose_center_scale(box_c, box_s)
        if len(c) != 1:
            raise InputError(f"sample {i} holds {len(c)} boxes but one heatmap stack; pass "
                             f"one sample per person box", field="gt_instances")
        heat.append(h)
        cen.append(c[0])
        sca.append(sc[0])
        bb = getattr(gi, "bboxes", None) if gi is not None else None
        if bb is not None:
            b = to_numpy(bb).astype(np.float64).reshape(-1, 4)[0]
            box.append([b[0], b[1], b[2] - b[0], b[3] - b[1]])
        else:
            size = sc[0] * PIXEL_STD
            box.append([*(c[0] - size / 2), *size])
        bs = getattr(gi, "bbox_scores", None) if gi is not None else None
        score.append(float(to_numpy(bs).reshape(-1)[0]) if bs is not None else 1.0)
    return {"heatmaps": np.stack(heat) if heat else np.zeros((0, 0, 0, 0), np.float32),
            "centers": np.asarray(cen).reshape(-1, 2), "scales": np.asarray(sca).reshape(-1, 2),
            "bboxes": np.asarray(box).reshape(-1, 4), "scores": np.asarray(score)}


def add_mmpose_samples(writer: Any, samples: Sequence[Any],
                       image_ids: Sequence[int] | np.ndarray,
                       ann_ids: Sequence[int] | np.ndarray | None = None,
                       scores: Any = None) -> int:
    """Append mmpose samples to a writer opened with the codec's convention (``hrnet``
    for MSRAHeatmap). ``scores`` overrides the samples' ``bbox_scores``. Returns n."""
    arr = mmpose_samples_to_arrays(samples)
    n = len(arr["centers"])
    if n == 0:
        return 0
    writer.add(arr["heatmaps"], image_ids=image_ids, centers=arr["centers"],
               scales=arr["scales"], bboxes=arr["bboxes"],
               scores=arr["scores"] if scores is None else scores, ann_ids=ann_ids)
    return n
