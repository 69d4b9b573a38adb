"""``daec-viz infer``: a network's heatmaps for every person box of a COCO set -> dataset folder.

:func:`run_inference` crops every box (ground-truth boxes by default, detector boxes when
given), runs the network on CPU in batches and writes a dataset folder that
:func:`daec_viz.io.datasets.load_dataset` opens. The network is BlazePose
(:class:`~daec_viz.realnet.runners.BlazePoseRunner`, the default) or any exported
top-down heatmap model, ``.onnx`` or ``.tflite``
(:class:`~daec_viz.realnet.runners.TopDownRunner`, ``model_path=`` + ``model_options=``)::

    OUT/annotations.json   the ground truth: a copy of the input annotations, or, with a
                           keypoint map, the same re-expressed in the model's channels
                           (:mod:`daec_viz.realnet.keypoint_map`)
    OUT/images             symlink to the images folder (or a copy of the used images)
    OUT/heatmaps.h5        heatmaps (N, K, H, W) (flip-tested when asked), centre, scale
                           and exact crop affines, provenance (model file + sha256, crop,
                           normalisation, σ, flip test, keypoint map, ...)

The input images folder and annotation file are only read.

Resumable: each finished batch is saved atomically to ``OUT/.daec-viz-infer/`` together
with a key of the run's inputs and options. Running the same command again after an
interruption skips the finished instances; ``heatmaps.h5`` appears only when every
instance is done (then the progress folder is removed).

Boxes: ground truth = non-crowd annotations of the keypoint category with
``num_keypoints > 0`` (the HRNet / mmpose rule; ``ann_id`` links each to its annotation);
detections = a COCO detection results json (``image_id``, ``bbox`` x, y, w, h,
``score``, optional ``category_id``), kept when ``score >= min_score`` (``ann_id`` -1).
(:mod:`daec_viz.realnet.boxes`; ``gt_boxes`` and ``detection_boxes`` are importable from
here too).

The run goes in phases, one function each: check the options, read the inputs and boxes,
load the model and key the run, prepare OUT and find finished batches (resume), run the
remaining boxes in batches, then assemble the dataset folder.

Unreadable images: without ``skip_bad_images`` the first one stops the run with an
InputError naming it (finished batches are kept for the resume); with it, its boxes are
skipped, listed in the summary (``skipped``) and the provenance, and left out of the cache.

Examples
--------
>>> summary = run_inference("coco/val2017", "coco/person_keypoints_val2017.json",
...                         "runs/blazepose-val")                    # doctest: +SKIP
>>> summary.num_instances, summary.path                              # doctest: +SKIP
(6352, PosixPath('runs/blazepose-val'))
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daec_viz import __version__
from daec_viz.exceptions import DatasetError, InputError
from daec_viz.io.annotations import load_annotations
from daec_viz.io.datasets import read_image
from daec_viz.io.schema import HEATMAP_DTYPES
from daec_viz.io.writer import HeatmapWriter
from daec_viz.realnet.boxes import Boxes, detection_boxes, gt_boxes
from daec_viz.realnet.crops import warp_crops
from daec_viz.realnet.heatmap_model import TopDownOptions
from daec_viz.realnet.keypoint_map import remap_annotations
from daec_viz.realnet.output_folder import (
    ANNOTATIONS_FILE,
    CACHE_FILE,
    IMAGES_DIR,
    MARKER_FILE,
    PROGRESS_DIR,
    _atomic_json,
    _link_or_copy_images,
    _prepare_out,
)
from daec_viz.realnet.runners import BlazePoseRunner, Runner, TopDownRunner, is_blazepose_file

# Boxes, gt_boxes and detection_boxes moved to realnet/boxes.py; still importable here
__all__ = ["run_inference", "InferSummary", "Boxes", "gt_boxes", "detection_boxes",
           "DEFAULT_BATCH", "PROGRESS_DIR", "MARKER_FILE"]

DEFAULT_BATCH = 16


@dataclass(frozen=True)
class InferSummary:
    """What :func:`run_inference` did: ``path`` (dataset folder), ``num_instances`` (boxes
    in the cache), ``resumed`` (boxes already done at start), ``computed`` (boxes run
    now), ``seconds`` (wall time of this call), ``boxes`` ("ground truth" or
    "detections"), ``model`` (the network's name) and ``skipped`` (unreadable images
    skipped with ``skip_bad_images``: ``{"image_id", "file", "reason", "boxes"}`` each)."""

    path: Path
    num_instances: int
    resumed: int
    computed: int
    seconds: float
    boxes: str
    model: str = ""
    skipped: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "num_instances": self.num_instances,
                "resumed": self.resumed, "computed": self.computed,
                "seconds": round(self.seconds, 3), "boxes": self.boxes, "model": self.model,
                "skipped": list(self.skipped)}


# --------------------------------------------------------------------------- helpers

def _run_key(parts: dict[str, Any], boxes: Boxes) -> str:
    h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
    for a in (boxes.image_id, boxes.ann_id, boxes.bbox, boxes.score):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- the run

@dataclass(frozen=True)
class _Job:
    """The inputs of one run, read and checked: the folders and files as given, the
    ground truth (``data``; re-expressed in the model's channels when ``remapped``), the
    image records by id and the person boxes to run."""

    images: Path
    annotations: Path
    detections: str | Path | None
    min_score: float
    data: dict
    remapped: bool
    img_info: dict[int, dict]
    boxes: Boxes
    box_kind: str
    skip_bad_images: bool


def _check_options(images: Path, dtype: str, compression: str | None,
                   batch_size: int) -> None:
    """Raise InputError for a missing images folder or a bad storage or batch option."""
    if not images.is_dir():
        raise InputError("images folder not found", field="images", path=images)
    if dtype not in HEATMAP_DTYPES:
        raise InputError(f"expected one of {HEATMAP_DTYPES}, got {dtype!r}", field="dtype")
    if compression not in (None, "gzip", "lzf"):
        raise InputError(f"expected None, 'gzip' or 'lzf', got {compression!r}",
                         field="compression")
    if batch_size < 1:
        raise InputError(f"expected a positive integer, got {batch_size}", field="batch_size")


def _open_runner(annotations: Path, cat: dict, model_path: str | Path | None,
                 model_options: TopDownOptions | None, num_threads: int | None,
                 flip_test: str, flip_pairs: str | Path | None,
                 keypoint_map: str | Path | None) -> Runner:
    """Load the network (before OUT is touched, so a bad model fails early).

    BlazePose for ``model_path`` None or a ``pose_landmark_full.tflite``; else the
    top-down model file, whose channels must match the annotations' keypoints (or a
    keypoint map say which is which).
    """
    names = list(cat["keypoints"])
    if is_blazepose_file(model_path):
        for name, value in (("model_options", model_options), ("keypoint_map", keypoint_map)):
            if value is not None:
                raise InputError("applies to a top-down model file (--model FILE.onnx / "
                                 ".tflite), not to BlazePose", field=name)
        runner = BlazePoseRunner(model_path, num_threads, flip_test, flip_pairs)
        runner.check_annotations(names, annotations)
        return runner
    opts = model_options or TopDownOptions()
    if num_threads is not None and opts.num_threads is None:
        from dataclasses import replace
        opts = replace(opts, num_threads=num_threads)
    return TopDownRunner(model_path, opts, names, flip_test=flip_test, flip_pairs=flip_pairs,
                         keypoint_map=keypoint_map, annotations_path=annotations)


def _read_inputs(images: Path, annotations: Path, coco_data: dict, cat: dict, runner: Runner,
                 detections: str | Path | None, min_score: float,
                 skip_bad_images: bool) -> _Job:
    """The ground truth in the runner's channels and the boxes to run; check that every
    needed image file exists (unless ``skip_bad_images``: then missing ones are skipped
    when their turn comes). There must be at least one box."""
    data, remapped = coco_data, runner.keypoint_map is not None
    if remapped:
        data, cat = remap_annotations(coco_data, cat, runner.keypoint_map, annotations)
    img_info = {int(im["id"]): im for im in data["images"]}
    if detections is None:
        boxes, box_kind = gt_boxes(data, cat["id"]), "ground truth"
    else:
        boxes = detection_boxes(detections, set(img_info), cat["id"], min_score)
        box_kind = "detections"
    if len(boxes) == 0:
        raise InputError("no person boxes to run (no annotation with keypoints"
                         + (" the keypoint map keeps" if remapped else "")
                         + ", or no detection above min_score)",
                         path=detections if detections is not None else annotations)
    for iid in np.unique(boxes.image_id):
        fn = img_info[int(iid)].get("file_name")
        if not fn:
            raise InputError(f"image {int(iid)} has no `file_name`", field="images.file_name",
                             path=annotations)
        if not skip_bad_images and not (images / fn).is_file():
            raise InputError(f"image {int(iid)}: file {fn!r} not found in the images folder "
                             f"(--skip-bad-images skips such images)",
                             field="images.file_name", path=images)
    return _Job(images, annotations, detections, min_score, data, remapped, img_info, boxes,
                box_kind, skip_bad_images)


def _run_key_of(job: _Job, runner: Runner, dtype: str, compression: str | None) -> str:
    """A hash of the model, its options, the storage options and every box: whether an
    unfinished run in OUT may be continued."""
    options = {**runner.key(), "dtype": dtype, "compression": compression,
               "boxes": job.box_kind, "min_score": job.min_score}
    return _run_key(options, job.boxes)


def _start_or_resume(job: _Job, out: Path, key: str, overwrite: bool) -> tuple[Path, np.ndarray]:
    """Prepare OUT and its progress folder; return the folder and the finished rows
    (computed or skipped).

    An unfinished run with the same key is continued (its saved batches count as done);
    one with another key is an InputError unless ``overwrite`` (then it is discarded).
    """
    _prepare_out(out, job.images, overwrite)
    prog = out / PROGRESS_DIR
    state_file = prog / "run.json"
    if state_file.is_file():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            state = {}
        if state.get("key") != key:
            if not overwrite:
                raise InputError("holds an unfinished run with other inputs or options; run "
                                 "that command again to finish it, or pass --overwrite "
                                 "(overwrite=True) to discard it", field="out", path=out)
            shutil.rmtree(prog)
    prog.mkdir(parents=True, exist_ok=True)
    _atomic_json(state_file, {"key": key, "num_instances": len(job.boxes),
                              "annotations": str(job.annotations.resolve()),
                              "images": str(job.images.resolve())})
    done = np.zeros(len(job.boxes), bool)
    for part in sorted(prog.glob("part_*.npz")):
        with np.load(part, allow_pickle=False) as z:
            done[z["rows"]] = True
    for entry in _skipped(prog):
        done[entry["rows"]] = True
    return prog, done


def _skipped(prog: Path) -> list[dict[str, Any]]:
    """The images skipped so far (``skipped_*.json`` in the progress folder)."""
    out = []
    for p in sorted(prog.glob("skipped_*.json")):
        try:
            out.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def _image_or_skip(job: _Job, prog: Path, iid: int, rows: np.ndarray) -> np.ndarray | None:
    """The image (H, W, 3) uint8; None when it is unreadable and skipping is on (then
    its rows are recorded as skipped)."""
    name = job.img_info[iid]["file_name"]
    try:
        return read_image(job.images / name)
    except DatasetError as exc:
        if not job.skip_bad_images:
            raise InputError(f"image {iid}: {exc.message} (pass --skip-bad-images to skip "
                             f"unreadable images and list them)", field="images",
                             path=job.images / name) from None
        _atomic_json(prog / f"skipped_{iid}.json",
                     {"image_id": iid, "file": name, "reason": exc.message,
                      "rows": sorted(int(r) for r in rows)})
        return None


def _run_batches(job: _Job, runner: Runner, prog: Path, done: np.ndarray, *,
                 batch_size: int, dtype: str, progress: bool,
                 on_batch: Callable[[int, int], None] | None) -> int:
    """Crop and run the rows not yet ``done`` in batches, each saved atomically to ``prog``;
    returns the number of boxes run (boxes of skipped images do not count).

    Boxes are sorted by image, so each image is read once per batch run of its boxes.
    A tqdm bar (unless not ``progress``) and ``on_batch(done, total)`` report each batch.
    """
    resumed = int(done.sum())
    todo = np.flatnonzero(~done)
    from tqdm.auto import tqdm
    w, h = runner.input_size
    bar = tqdm(total=len(job.boxes), initial=resumed, unit="box", desc=runner.name[:24],
               disable=not progress)
    cur_image: tuple[int, np.ndarray | None] | None = None
    computed = 0
    try:
        for start in range(0, len(todo), batch_size):
            rows = todo[start:start + batch_size]
            b = job.boxes.take(rows)
            geo = runner.geometry(b.bbox)
            crops = np.empty((len(rows), h, w, 3), np.float32)
            ok = np.ones(len(rows), bool)
            for iid in np.unique(b.image_id):
                sel = np.flatnonzero(b.image_id == iid)
                if cur_image is None or cur_image[0] != iid:
                    every = np.flatnonzero(job.boxes.image_id == iid)
                    cur_image = (int(iid), _image_or_skip(job, prog, int(iid), every))
                if cur_image[1] is None:
                    ok[sel] = False
                    continue
                crops[sel] = warp_crops(cur_image[1], geo.input_affine[sel], (w, h))
            if ok.any():
                heat = runner.heatmaps(crops[ok])
                part = prog / f"part_{int(rows[0]):09d}.npz"
                tmp = part.with_name(part.name + ".tmp")
                with open(tmp, "wb") as fh:
                    np.savez(fh, rows=rows[ok], heatmaps=heat.astype(dtype))
                os.replace(tmp, part)
                computed += int(ok.sum())
            bar.update(len(rows))
            if on_batch is not None:
                on_batch(resumed + start + len(rows), len(job.boxes))
    finally:
        bar.close()
    return computed


def _provenance(job: _Job, runner: Runner, skipped: list[dict[str, Any]],
                command: str | None) -> dict[str, Any]:
    """What the cache records about the run: the runner's facts (model, runtime, crop,
    σ, flip test, keypoint map) plus the inputs, skipped images and command."""
    return {
        "tool": "daec-viz infer", "daec_viz_version": __version__, **runner.provenance(),
        "boxes": job.box_kind, "annotations_file": str(job.annotations.resolve()),
        "annotations_remapped": job.remapped,
        "detections_file": None if job.detections is None
        else str(Path(job.detections).resolve()),
        "min_score": job.min_score if job.detections is not None else None,
        "images_folder": str(job.images.resolve()), "command": command,
        "skipped_images": [{k: v for k, v in s.items() if k != "rows"} for s in skipped],
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _finalise(job: _Job, runner: Runner, out: Path, prog: Path, provenance: dict[str, Any], *,
              dtype: str, compression: str | None, copy_images: bool,
              skipped: list[dict[str, Any]]) -> int:
    """Assemble the dataset folder from the saved batches, then drop the progress folder.

    Writes ``heatmaps.h5`` (centre, scale and the exact crop affine per instance), the
    annotations (a copy, or the remapped ground truth), links (or copies) the images and
    writes the marker that says OUT holds a finished result. Returns the instance count.
    """
    parts = sorted(prog.glob("part_*.npz"))
    if not parts:
        raise InputError(f"every image was unreadable and skipped "
                         f"({[s['file'] for s in skipped][:5]}); nothing to write",
                         field="images", path=job.images)
    with HeatmapWriter(out / CACHE_FILE, **runner.writer_options(), provenance=provenance,
                       dtype=dtype, compression=compression, overwrite=True) as writer:
        for part in parts:
            with np.load(part, allow_pickle=False) as z:
                rows, heat = z["rows"], z["heatmaps"]
            b = job.boxes.take(rows)
            geo = runner.geometry(b.bbox)
            writer.add(heat, image_ids=b.image_id, centers=geo.center, scales=geo.scale,
                       scores=b.score, bboxes=b.bbox, ann_ids=b.ann_id,
                       affines=geo.heatmap_affine)
        count = writer.count
    if job.remapped:
        _atomic_json(out / ANNOTATIONS_FILE, job.data)
    else:
        shutil.copyfile(job.annotations, out / ANNOTATIONS_FILE)
    bad = {s["image_id"] for s in skipped}
    used = sorted({job.img_info[int(i)]["file_name"] for i in np.unique(job.boxes.image_id)
                   if int(i) not in bad})
    how = _link_or_copy_images(out, job.images, used, copy_images)
    _atomic_json(out / MARKER_FILE, {"created": [CACHE_FILE, ANNOTATIONS_FILE, IMAGES_DIR],
                                     "images": how, "tool": "daec-viz infer"})
    shutil.rmtree(prog)
    return count


def run_inference(images: str | Path, annotations: str | Path, out: str | Path, *,
                  detections: str | Path | None = None, min_score: float = 0.0,
                  batch_size: int = DEFAULT_BATCH, copy_images: bool = False,
                  dtype: str = "float16", compression: str | None = "lzf",
                  model_path: str | Path | None = None,
                  model_options: TopDownOptions | None = None,
                  num_threads: int | None = None, flip_test: str = "none",
                  flip_pairs: str | Path | None = None,
                  keypoint_map: str | Path | None = None, skip_bad_images: bool = False,
                  overwrite: bool = False, progress: bool = True,
                  on_batch: Callable[[int, int], None] | None = None,
                  command: str | None = None) -> InferSummary:
    """Run a network over every person box and write a dataset folder (resumable).

    Parameters
    ----------
    images : folder holding the images (``file_name`` of each COCO image, relative).
    annotations : COCO keypoints json; copied to ``OUT/annotations.json`` (re-expressed
        in the model's channels with a keypoint map).
    out : the dataset folder to write (new, empty, or an unfinished run to continue).
    detections : COCO detection results json; default: the ground-truth boxes.
    min_score : detections below this score are skipped.
    batch_size : crops per network call (and per saved progress step).
    copy_images : copy the used images into ``OUT/images`` instead of a symlink.
    dtype, compression : heatmap storage (``float16``/``float32``; ``lzf``/``gzip``/None).
    model_path : None (BlazePose from the installed wheel), a ``pose_landmark_full.tflite``
        (BlazePose), or a top-down heatmap model ``.onnx`` / ``.tflite``.
    model_options : :class:`~daec_viz.realnet.heatmap_model.TopDownOptions` of a model
        file (input size, normalisation, layout, output, convention, σ, padding,
        pipeline); default: mmpose's.
    num_threads : runtime threads.
    flip_test : ``none``, ``shift`` or ``noshift`` (:mod:`daec_viz.decoding.flip`).
    flip_pairs : a JSON file of left/right channel pairs; default: from the channel names.
    keypoint_map : a JSON file saying which model channel is which annotation keypoint
        (:mod:`daec_viz.realnet.keypoint_map`).
    skip_bad_images : skip (and list) unreadable images instead of stopping.
    overwrite : replace a finished earlier result in ``out`` (or an unfinished run with
        other inputs).
    progress : show a tqdm progress bar.
    on_batch : called as ``on_batch(done, total)`` after each saved batch.
    command : the command line, recorded in the provenance.

    Returns
    -------
    :class:`InferSummary`. Raises ModelNotInstalledError (with the pip command) when the
    model or runtime is missing, InputError for bad inputs, models or images.
    """
    t0 = time.perf_counter()
    images, annotations, out = Path(images), Path(annotations), Path(out)
    _check_options(images, dtype, compression, batch_size)
    coco, cat = load_annotations(annotations)
    runner = _open_runner(annotations, cat, model_path, model_options, num_threads,
                          flip_test, flip_pairs, keypoint_map)
    job = _read_inputs(images, annotations, coco.dataset, cat, runner, detections,
                       min_score, skip_bad_images)
    key = _run_key_of(job, runner, dtype, compression)
    prog, done = _start_or_resume(job, out, key, overwrite)
    resumed = int(done.sum())
    computed = _run_batches(job, runner, prog, done, batch_size=batch_size, dtype=dtype,
                            progress=progress, on_batch=on_batch)
    skipped = _skipped(prog)
    n = _finalise(job, runner, out, prog, _provenance(job, runner, skipped, command),
                  dtype=dtype, compression=compression, copy_images=copy_images,
                  skipped=skipped)
    return InferSummary(path=out, num_instances=n, resumed=resumed, computed=computed,
                        seconds=time.perf_counter() - t0, boxes=job.box_kind,
                        model=runner.name,
                        skipped=tuple({k: v for k, v in s.items() if k != "rows"}
                                      | {"boxes": len(s["rows"])} for s in skipped))
