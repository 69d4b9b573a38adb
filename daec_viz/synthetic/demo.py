"""The bundled demo dataset: rendered people + heatmaps of the simulated network.

``build_demo(out_dir)`` writes a complete daec-viz dataset folder (loadable with
:func:`daec_viz.io.datasets.load_dataset`), generated from a seed alone:

- ``images/000001.jpg`` ...: about 300 JPEG images, 320-480 px wide, each with 1-3
  people drawn with Pillow (head, torso, limbs, clothes, hair) over varied backgrounds
  (gradients, rooms with a floor, noise textures, stripes, tiles, clutter). Poses are
  built from a small 3-D skeleton (yaw, lean, arm and leg angles) projected
  orthographically: standing, walking, arms raised, reaching, seated-ish, at different
  scales and positions, some partly out of frame, some overlapping each other or hidden
  behind foreground objects.
- ``annotations.json``: COCO keypoints annotations of every person: 17 keypoints with
  visibility 2 (visible), 1 (occluded: behind the own body, another person or an
  object) and 0 (unlabelled: out of frame, face points of a back view, a few at random),
  ``bbox`` = tight box of the person's visible pixels, ``area`` = the number of those
  pixels (as COCO's segmentation area). Each image entry carries a ``"split"`` field
  (``"train"``/``"test"``, 60/40 by image).
- ``heatmaps.h5``: the cache (schema :mod:`daec_viz.io.schema`): one instance per annotated
  person with at least one labelled keypoint, ground-truth boxes (score 1), heatmaps of
  :func:`daec_viz.synthetic.simulate.simulate_heatmaps` (192x256 input, 48x64 maps, σ = 2,
  ``"hrnet"`` convention, recorded as pipeline ``hrnet`` without flip test when the
  targets are rounded), ``split`` per instance, ``simulated=True``, model
  ``simulated-topdown-v1``, and the provenance: ``demo_version``, seed, number of
  images, split fractions and every knob of the simulated network.
- With ``pipeline=PipelineSettings(...)`` the heatmaps come from
  :func:`daec_viz.synthetic.pipeline.simulate_pipeline_heatmaps` instead: the network
  renders the targets of that code base (hrnet / dark / udp) for the crop of the test
  convention, with the chosen flip test and leak; the cache records ``pipeline``,
  ``flip_mode`` and the test convention, the provenance the settings.

The same seed gives the same bytes (images, json and HDF5). The images depend only on
the seed and ``n_images``; the knobs change only the heatmaps.

:func:`ensure_demo` returns the default demo folder (:func:`daec_viz.io.paths.demo_dir`:
``$DAEC_VIZ_DATA/demo``, the checkout's ``data/demo``, or the user data folder), building it
on first use or when its ``demo_version`` differs from :data:`DEMO_VERSION`. Builds go
to a temporary sibling folder that is renamed into place when complete, so an
interrupted build never leaves a half demo.

Example
-------
>>> from daec_viz.synthetic.demo import build_demo                           # doctest: +SKIP
>>> path = build_demo("/tmp/demo", seed=0, n_images=40)            # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from daec_viz.exceptions import DatasetError, InputError
from daec_viz.geometry import box_to_center_scale, to_heatmap
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES, make_coco_annotations
from daec_viz.io.paths import demo_dir, follow_umask
from daec_viz.io.reader import open_cache
from daec_viz.io.writer import HeatmapWriter
from daec_viz.synthetic.pipeline import PipelineSettings, simulate_pipeline_heatmaps
from daec_viz.synthetic.scene import render_image
from daec_viz.synthetic.simulate import (
    CONVENTION,
    DEFAULT_KNOBS,
    HEATMAP_SIZE,
    INPUT_SIZE,
    MODEL_NAME,
    TARGET_SIGMA,
    NetworkKnobs,
    simulate_heatmaps,
)

#: Bump when the generated content changes; :func:`ensure_demo` rebuilds older demos.
DEMO_VERSION = "2"
#: Fraction of the images in the train split (the rest is "test").
TRAIN_FRACTION = 0.6
CACHE_NAME = "heatmaps.h5"

ProgressCallback = Callable[[float, str], None]
K = len(COCO_KEYPOINT_NAMES)


# --------------------------------------------------------------------------- building

def _report(progress: ProgressCallback | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)), message)


def build_demo(out_dir: str | Path, seed: int = 0, n_images: int = 300,
               knobs: NetworkKnobs | None = None,
               progress: ProgressCallback | None = None, *, overwrite: bool = True,
               pipeline: PipelineSettings | None = None) -> Path:
    """Generate the demo dataset folder ``out_dir`` (see the module docstring).

    Parameters
    ----------
    out_dir : the dataset folder to create (replaced as a whole if it exists and
        ``overwrite``; built next to it in a temporary folder and renamed into place).
    seed : everything (images, annotations, heatmaps) follows from it.
    n_images : number of images (>= 2; 1-3 people each).
    knobs : the simulated network (:class:`daec_viz.synthetic.simulate.NetworkKnobs`), default
        :data:`daec_viz.synthetic.simulate.DEFAULT_KNOBS`.
    progress : called as ``progress(fraction in [0, 1], message)``.
    overwrite : replace an existing ``out_dir`` (else :class:`InputError`).
    pipeline : simulate a network of this training/test pipeline
        (:class:`daec_viz.synthetic.pipeline.PipelineSettings`; its input/heatmap size and
        σ must be the demo's); None: the classic simulated network.

    Returns
    -------
    Path of the dataset folder.
    """
    knobs = DEFAULT_KNOBS if knobs is None else knobs
    if not isinstance(knobs, NetworkKnobs):
        raise InputError(f"expected NetworkKnobs, got {type(knobs).__name__}", field="knobs")
    if pipeline is not None:
        if not isinstance(pipeline, PipelineSettings):
            raise InputError(f"expected PipelineSettings, got {type(pipeline).__name__}",
                             field="pipeline")
        if (pipeline.input_size, pipeline.heatmap_size, pipeline.sigma) != \
                (INPUT_SIZE, HEATMAP_SIZE, TARGET_SIGMA):
            raise InputError(f"the demo is {INPUT_SIZE} -> {HEATMAP_SIZE} with sigma "
                             f"{TARGET_SIGMA}; got {pipeline.input_size} -> "
                             f"{pipeline.heatmap_size}, sigma {pipeline.sigma}",
                             field="pipeline")
    if isinstance(n_images, bool) or not isinstance(n_images, (int, np.integer)) \
            or n_images < 2:
        raise InputError(f"expected an integer >= 2, got {n_images!r}", field="n_images")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"expected a non-negative integer, got {seed!r}", field="seed")
    out = Path(out_dir).resolve()
    if out.exists() and not overwrite:
        raise InputError("exists already; pass overwrite=True (CLI: --force) to rebuild",
                         field="out_dir", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        _build_into(tmp, int(seed), int(n_images), knobs, progress, pipeline)
        follow_umask(tmp)  # mkdtemp makes 0700 folders; a dataset is for everyone to read
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _report(progress, 1.0, "demo ready")
    return out


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Atomically replace ``out`` by ``tmp`` (the old folder is removed afterwards)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "demo")
    try:
        os.replace(tmp, out)
    except OSError:
        if old is not None and not out.exists():
            os.replace(old / "demo", out)  # put the previous demo back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _build_into(folder: Path, seed: int, n_images: int, knobs: NetworkKnobs,
                progress: ProgressCallback | None,
                pipeline: PipelineSettings | None = None) -> None:
    scene_seq, net_seq, split_seq = np.random.SeedSequence(seed).spawn(3)
    img_dir = folder / "images"
    img_dir.mkdir()
    images: list[dict] = []
    anns: list[dict] = []
    # images: ~75% of the time; heatmaps ~20%; the rest writing
    image_seeds = scene_seq.spawn(n_images)
    for i in range(n_images):
        rng = np.random.default_rng(image_seeds[i])
        jpeg, record, recs = render_image(rng, i + 1)
        (img_dir / record["file_name"]).write_bytes(jpeg)
        images.append(record)
        anns.extend(recs)
        if i % 10 == 9 or i == n_images - 1:
            _report(progress, 0.75 * (i + 1) / n_images, f"rendering images {i + 1}/{n_images}")

    split_rng = np.random.default_rng(split_seq)
    order = split_rng.permutation(n_images)
    n_train = int(round(TRAIN_FRACTION * n_images))
    split_of = {}
    for rank, idx in enumerate(order):
        split_of[idx + 1] = "train" if rank < n_train else "test"
    for rec in images:
        rec["split"] = split_of[rec["id"]]
    for a_id, a in enumerate(anns, start=1):
        a["id"] = a_id

    true_xy = np.stack([a.pop("_true_xy") for a in anns]) if anns else np.zeros((0, K, 2))
    for a in anns:
        a.pop("_pose")
    info = {"description": "daec-viz demo dataset: rendered people and heatmaps of a "
                           "simulated top-down network (see daec_viz.synthetic.demo)",
            "version": DEMO_VERSION, "seed": seed}
    coco = make_coco_annotations(images, anns, info=info)
    with open(folder / "annotations.json", "w", encoding="utf-8") as fh:
        json.dump(coco, fh, separators=(",", ":"))

    labelled = [i for i, a in enumerate(coco["annotations"]) if a["num_keypoints"] > 0]
    if not labelled:
        raise DatasetError("the demo has no labelled person; use more images",
                           field="n_images", path=folder)
    sel = np.asarray(labelled)
    ann_list = [coco["annotations"][i] for i in labelled]
    boxes = np.array([a["bbox"] for a in ann_list], dtype=np.float64)
    center, scale = box_to_center_scale(boxes, aspect_ratio=INPUT_SIZE[0] / INPUT_SIZE[1],
                                        padding=1.25)
    convention = CONVENTION if pipeline is None else pipeline.test_convention
    kp_img = true_xy[sel]
    kp_hm = to_heatmap(kp_img, center, scale, HEATMAP_SIZE, convention)
    vis = np.array([np.asarray(a["keypoints"]).reshape(K, 3)[:, 2] for a in ann_list])
    image_ids = np.array([a["image_id"] for a in ann_list])
    ann_ids = np.array([a["id"] for a in ann_list])
    splits = np.array([split_of[i] for i in image_ids])

    provenance = {
        "generator": "daec_viz.synthetic.demo.build_demo", "demo_version": DEMO_VERSION,
        "seed": seed, "n_images": n_images, "train_fraction": TRAIN_FRACTION,
        "knobs": knobs.to_dict(), "boxes": "ground truth (tight box of visible pixels)",
        "box_padding": 1.25,
        "target_encoding": "MSRA: mu = int(x_input / 4 + 0.5)" if knobs.quantize_targets
        else "exact GT location (quantize_targets off)",
    }
    if pipeline is None:
        recorded = {"pipeline": "hrnet" if knobs.quantize_targets else "unknown",
                    "flip_test": "none"}
    else:
        recorded = {"pipeline": pipeline.pipeline, "flip_test": pipeline.flip_test}
        provenance["pipeline"] = pipeline.to_dict()
        provenance["target_encoding"] = f"{pipeline.pipeline} pipeline " \
            "(daec_viz.synthetic.pipeline)"
    net_rng = np.random.default_rng(net_seq)
    n_inst = len(sel)
    batch = 128
    with HeatmapWriter(folder / CACHE_NAME, input_size=INPUT_SIZE, sigma=TARGET_SIGMA,
                       convention=convention, model=MODEL_NAME, simulated=True,
                       provenance=provenance, dtype="float16", **recorded) as writer:
        for start in range(0, n_inst, batch):
            stop = min(n_inst, start + batch)
            if pipeline is None:
                hm = simulate_heatmaps(kp_hm[start:stop], vis[start:stop], knobs, net_rng)
            else:
                hm, _ = simulate_pipeline_heatmaps(kp_img[start:stop], vis[start:stop],
                                                   center[start:stop], scale[start:stop],
                                                   pipeline, knobs, net_rng)
            writer.add(hm, image_ids=image_ids[start:stop], centers=center[start:stop],
                       scales=scale[start:stop], bboxes=boxes[start:stop],
                       ann_ids=ann_ids[start:stop], splits=splits[start:stop])
            _report(progress, 0.75 + 0.25 * stop / n_inst,
                    f"simulating heatmaps {stop}/{n_inst}")


def demo_version_of(folder: str | Path) -> str | None:
    """The ``demo_version`` stored in a demo folder's cache, or None if absent/unreadable."""
    folder = Path(folder)
    if not (folder / "annotations.json").is_file() or not (folder / "images").is_dir():
        return None
    try:
        with open_cache(folder / CACHE_NAME) as cache:
            prov = cache.meta.provenance
    except (DatasetError, OSError):
        return None
    version = prov.get("demo_version") if isinstance(prov, dict) else None
    return str(version) if version is not None else None


def ensure_demo(root: str | Path | None = None,
                progress: ProgressCallback | None = None) -> Path:
    """The demo folder ``root`` (default :func:`daec_viz.io.paths.demo_dir`), built if
    missing or stale.

    A demo is stale when its stored ``demo_version`` differs from :data:`DEMO_VERSION`
    (then it is rebuilt with the default seed, image count and knobs). A demo built
    with other settings but the current version is kept as it is.
    """
    root = demo_dir() if root is None else Path(root)
    if demo_version_of(root) == DEMO_VERSION:
        return root.resolve()
    return build_demo(root, progress=progress)
