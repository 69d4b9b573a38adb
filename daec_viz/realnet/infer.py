"""``daec-viz infer``: BlazePose heatmaps for every person box of a COCO set -> dataset folder.

:func:`run_inference` crops every box (ground-truth boxes by default, detector boxes when
given), runs :class:`~daec_viz.realnet.blazepose.BlazePose` on CPU in batches and writes a
dataset folder that :func:`daec_viz.io.datasets.load_dataset` opens::

    OUT/annotations.json   copy of the input annotations (the ground truth)
    OUT/images             symlink to the images folder (or a copy of the used images)
    OUT/heatmaps.h5        sigmoid probabilities (N, 17, 64, 64), exact crop affines,
                           provenance (model file + sha256, crop, grid offset, σ, ...)

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
import importlib.metadata
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
from daec_viz.exceptions import InputError
from daec_viz.io.annotations import load_annotations
from daec_viz.io.schema import HEATMAP_DTYPES
from daec_viz.io.writer import HeatmapWriter
from daec_viz.realnet import blazepose as bp
from daec_viz.realnet.boxes import Boxes, detection_boxes, gt_boxes

# Boxes, gt_boxes and detection_boxes moved to realnet/boxes.py; still importable here
__all__ = ["run_inference", "InferSummary", "Boxes", "gt_boxes", "detection_boxes",
           "DEFAULT_BATCH", "PROGRESS_DIR", "MARKER_FILE"]

PROGRESS_DIR = ".daec-viz-infer"
MARKER_FILE = ".daec-viz-infer.json"
CACHE_FILE = "heatmaps.h5"
ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"
DEFAULT_BATCH = 16


@dataclass(frozen=True)
class InferSummary:
    """What :func:`run_inference` did: ``path`` (dataset folder), ``num_instances``,
    ``resumed`` (instances already done at start), ``computed`` (instances run now),
    ``seconds`` (wall time of this call) and ``boxes`` ("ground truth" or "detections")."""

    path: Path
    num_instances: int
    resumed: int
    computed: int
    seconds: float
    boxes: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "num_instances": self.num_instances,
                "resumed": self.resumed, "computed": self.computed,
                "seconds": round(self.seconds, 3), "boxes": self.boxes}


# --------------------------------------------------------------------------- helpers

def _load_rgb(path: Path) -> np.ndarray:
    from PIL import Image
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise InputError("image not found", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the image ({exc})", path=path) from exc


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _run_key(parts: dict[str, Any], boxes: Boxes) -> str:
    h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
    for a in (boxes.image_id, boxes.ann_id, boxes.bbox, boxes.score):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _atomic_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _prepare_out(out: Path, images: Path, overwrite: bool) -> None:
    """Check that OUT may be written; with overwrite, remove what an earlier run made."""
    out_r = out.resolve()
    images_r = images.resolve()
    if out_r == images_r or images_r in out_r.parents:
        raise InputError("the output folder must not be inside the images folder (the "
                         "input is never modified)", field="out", path=out)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", field="out", path=out)
    if not out.exists():
        return
    entries = {p.name for p in out.iterdir()}
    if MARKER_FILE not in entries:  # new, empty, or an unfinished run of ours
        ours = {PROGRESS_DIR, CACHE_FILE, ANNOTATIONS_FILE, IMAGES_DIR}
        if entries and (PROGRESS_DIR not in entries or entries - ours):
            raise InputError(f"exists and is not empty ({sorted(entries)[:5]}); choose a new "
                             f"or empty folder (a user's dataset folder is never written "
                             f"into)", field="out", path=out)
        return
    if not overwrite:
        raise InputError("holds a finished `daec-viz infer` result; pass --overwrite "
                         "(overwrite=True) to replace it", field="out", path=out)
    try:
        made = json.loads((out / MARKER_FILE).read_text(encoding="utf-8")).get("created", [])
    except (OSError, json.JSONDecodeError, AttributeError):
        made = []
    for name in made:
        if name not in (CACHE_FILE, ANNOTATIONS_FILE, IMAGES_DIR, PROGRESS_DIR):
            continue
        p = out / name
        if p.is_symlink() or p.is_file():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)
    (out / MARKER_FILE).unlink()


def _link_or_copy_images(out: Path, images: Path, file_names: list[str], copy: bool) -> str:
    dest = out / IMAGES_DIR
    if dest.is_symlink() or dest.exists():
        if dest.is_symlink() and dest.resolve() == images.resolve() and not copy:
            return "symlink"
        if dest.is_symlink():
            dest.unlink()
        elif not copy:
            shutil.rmtree(dest)
    if not copy:
        try:
            dest.symlink_to(images.resolve(), target_is_directory=True)
            return "symlink"
        except OSError:  # no symlinks here (e.g. Windows without the privilege): copy
            pass
    for name in file_names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copy2(images / name, target)
    return "copy"


# --------------------------------------------------------------------------- the run

@dataclass(frozen=True)
class _Job:
    """The inputs of one run, read and checked: the folders and files as given, the image
    records by id and the person boxes to run."""

    images: Path
    annotations: Path
    detections: str | Path | None
    min_score: float
    img_info: dict[int, dict]
    boxes: Boxes
    box_kind: str


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


def _read_inputs(images: Path, annotations: Path, detections: str | Path | None,
                 min_score: float) -> _Job:
    """Read the annotations and the boxes to run; check every needed image file exists.

    The keypoint category must list COCO's 17 joints (what BlazePose's channels are
    mapped to); there must be at least one box.
    """
    coco, cat = load_annotations(annotations)
    names = tuple(cat["keypoints"])
    from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES
    if names != COCO_KEYPOINT_NAMES:
        raise InputError(f"BlazePose gives COCO's 17 joints {list(COCO_KEYPOINT_NAMES)}; the "
                         f"keypoint category lists {list(names)}",
                         field="categories.keypoints", path=annotations)
    data = coco.dataset
    img_info = {int(im["id"]): im for im in data["images"]}
    if detections is None:
        boxes, box_kind = gt_boxes(data, cat["id"]), "ground truth"
    else:
        boxes = detection_boxes(detections, set(img_info), cat["id"], min_score)
        box_kind = "detections"
    if len(boxes) == 0:
        raise InputError("no person boxes to run (no annotation with keypoints, or no "
                         "detection above min_score)",
                         path=detections if detections is not None else annotations)
    for iid in np.unique(boxes.image_id):
        fn = img_info[int(iid)].get("file_name")
        if not fn or not (images / fn).is_file():
            raise InputError(f"image {int(iid)}: file {fn!r} not found in the images folder",
                             field="images.file_name", path=images)
    return _Job(images, annotations, detections, min_score, img_info, boxes, box_kind)


def _open_model(job: _Job, model_path: str | Path | None, num_threads: int | None,
                dtype: str, compression: str | None) -> tuple[bp.BlazePose, str, str]:
    """Load BlazePose (before OUT is touched, so a missing model fails early) and key the run.

    Returns the network, its model file's sha256 and the run key: a hash of the model,
    the crop and storage options and every box, which decides whether an unfinished run
    in OUT may be continued.
    """
    net = bp.BlazePose(model_path=model_path, num_threads=num_threads)
    model_sha = bp.file_sha256(net.model_path)
    options = {"model_sha256": model_sha, "grid_offset": bp.GRID_OFFSET,
               "padding": bp.PADDING, "channels": list(bp.COCO_FROM_BLAZEPOSE),
               "dtype": dtype, "compression": compression, "boxes": job.box_kind,
               "min_score": job.min_score}
    return net, model_sha, _run_key(options, job.boxes)


def _start_or_resume(job: _Job, out: Path, key: str, overwrite: bool) -> tuple[Path, np.ndarray]:
    """Prepare OUT and its progress folder; return the folder and the finished rows.

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
    return prog, done


def _run_batches(job: _Job, net: bp.BlazePose, prog: Path, done: np.ndarray, *,
                 batch_size: int, dtype: str, progress: bool,
                 on_batch: Callable[[int, int], None] | None) -> None:
    """Crop and run the rows not yet ``done`` in batches, each saved atomically to ``prog``.

    Boxes are sorted by image, so each image is read once per batch run of its boxes.
    A tqdm bar (unless not ``progress``) and ``on_batch(done, total)`` report each batch.
    """
    resumed = int(done.sum())
    todo = np.flatnonzero(~done)
    from tqdm.auto import tqdm
    bar = tqdm(total=len(job.boxes), initial=resumed, unit="box", desc="BlazePose",
               disable=not progress)
    cur_image: tuple[int, np.ndarray] | None = None
    try:
        for start in range(0, len(todo), batch_size):
            rows = todo[start:start + batch_size]
            b = job.boxes.take(rows)
            center, side = bp.square_crops(b.bbox)
            crops = np.empty((len(rows), bp.INPUT_SIZE, bp.INPUT_SIZE, 3), np.float32)
            for iid in np.unique(b.image_id):
                sel = np.flatnonzero(b.image_id == iid)
                if cur_image is None or cur_image[0] != iid:
                    cur_image = (int(iid),
                                 _load_rgb(job.images / job.img_info[int(iid)]["file_name"]))
                crops[sel] = bp.crop_images(cur_image[1], center[sel], side[sel])
            heat = net.heatmaps(crops)
            part = prog / f"part_{int(rows[0]):09d}.npz"
            tmp = part.with_name(part.name + ".tmp")
            with open(tmp, "wb") as fh:
                np.savez(fh, rows=rows, heatmaps=heat.astype(dtype))
            os.replace(tmp, part)
            bar.update(len(rows))
            if on_batch is not None:
                on_batch(resumed + start + len(rows), len(job.boxes))
    finally:
        bar.close()


def _provenance(job: _Job, net: bp.BlazePose, model_sha: str,
                command: str | None) -> dict[str, Any]:
    """What the cache records about the run: model, runtime, crop, σ, inputs, command."""
    return {
        "tool": "daec-viz infer", "daec_viz_version": __version__,
        "network": bp.MODEL_NAME, "model_file": str(net.model_path),
        "model_sha256": model_sha,
        "model_distribution": next((f"{d} {_version(d)}" for d in bp.MODEL_DISTRIBUTIONS
                                    if _version(d)), None),
        "runtime": f"ai-edge-litert {_version('ai-edge-litert')}",
        "output": bp.HEATMAP_OUTPUT, "blazepose_channels": list(bp.COCO_FROM_BLAZEPOSE),
        "stored": "sigmoid(logits) of the network's heatmap logits (probabilities in [0, 1])",
        "daec_sigma": bp.MEASURED_SIGMA,
        "sigma_note": "Gaussian fit to the sigmoid peaks of real COCO people (heatmap px); "
                      "the DAEC window should assume it",
        "crop": {"shape": "square, side = padding * max(w, h), centred on the box, no "
                          "rotation", "padding": bp.PADDING, "input_size": bp.INPUT_SIZE,
                 "input_range": [0.0, 1.0], "interpolation": "bilinear",
                 "border": "zeros", "input_px_to_image": "x = c + (u - 127.5) * S / 256"},
        "grid_offset_input_px": bp.GRID_OFFSET,
        "heatmap_to_image": "x = c + (i - 32) * S / 64 (the hrnet convention with "
                            "scale = S / 200); exact per-instance affines stored",
        "boxes": job.box_kind, "annotations_file": str(job.annotations.resolve()),
        "detections_file": None if job.detections is None
        else str(Path(job.detections).resolve()),
        "min_score": job.min_score if job.detections is not None else None,
        "images_folder": str(job.images.resolve()), "command": command,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _finalise(job: _Job, out: Path, prog: Path, provenance: dict[str, Any], *, dtype: str,
              compression: str | None, copy_images: bool) -> None:
    """Assemble the dataset folder from the saved batches, then drop the progress folder.

    Writes ``heatmaps.h5`` (with the exact crop affine per instance), copies the
    annotations, links (or copies) the images and writes the marker that says OUT holds
    a finished result.
    """
    with HeatmapWriter(out / CACHE_FILE, input_size=(bp.INPUT_SIZE, bp.INPUT_SIZE),
                       sigma=bp.MEASURED_SIGMA, convention="hrnet", model=bp.MODEL_NAME,
                       heatmap_kind="probability", provenance=provenance, dtype=dtype,
                       compression=compression, overwrite=True) as writer:
        for part in sorted(prog.glob("part_*.npz")):
            with np.load(part, allow_pickle=False) as z:
                rows, heat = z["rows"], z["heatmaps"]
            b = job.boxes.take(rows)
            center, side = bp.square_crops(b.bbox)
            c, s = bp.center_scale_of_crops(center, side)
            writer.add(heat, image_ids=b.image_id, centers=c, scales=s, scores=b.score,
                       bboxes=b.bbox, ann_ids=b.ann_id,
                       affines=bp.heatmap_affines(center, side))
    shutil.copyfile(job.annotations, out / ANNOTATIONS_FILE)
    used = sorted({job.img_info[int(i)]["file_name"] for i in np.unique(job.boxes.image_id)})
    how = _link_or_copy_images(out, job.images, used, copy_images)
    _atomic_json(out / MARKER_FILE, {"created": [CACHE_FILE, ANNOTATIONS_FILE, IMAGES_DIR],
                                     "images": how, "tool": "daec-viz infer"})
    shutil.rmtree(prog)


def run_inference(images: str | Path, annotations: str | Path, out: str | Path, *,
                  detections: str | Path | None = None, min_score: float = 0.0,
                  batch_size: int = DEFAULT_BATCH, copy_images: bool = False,
                  dtype: str = "float16", compression: str | None = "lzf",
                  model_path: str | Path | None = None, num_threads: int | None = None,
                  overwrite: bool = False, progress: bool = True,
                  on_batch: Callable[[int, int], None] | None = None,
                  command: str | None = None) -> InferSummary:
    """Run BlazePose over every person box and write a dataset folder (resumable).

    Parameters
    ----------
    images : folder holding the images (``file_name`` of each COCO image, relative).
    annotations : COCO keypoints json (17 COCO joints); copied to ``OUT/annotations.json``.
    out : the dataset folder to write (new, empty, or an unfinished run to continue).
    detections : COCO detection results json; default: the ground-truth boxes.
    min_score : detections below this score are skipped.
    batch_size : crops per network call (and per saved progress step).
    copy_images : copy the used images into ``OUT/images`` instead of a symlink.
    dtype, compression : heatmap storage (``float16``/``float32``; ``lzf``/``gzip``/None).
    model_path, num_threads : BlazePose model file (default: the installed wheel's) and
        interpreter threads.
    overwrite : replace a finished earlier result in ``out`` (or an unfinished run with
        other inputs).
    progress : show a tqdm progress bar.
    on_batch : called as ``on_batch(done, total)`` after each saved batch.
    command : the command line, recorded in the provenance.

    Returns
    -------
    :class:`InferSummary`. Raises ModelNotInstalledError (with the pip command) when the
    model or runtime is missing, InputError for bad inputs.
    """
    t0 = time.perf_counter()
    images, annotations, out = Path(images), Path(annotations), Path(out)
    _check_options(images, dtype, compression, batch_size)
    job = _read_inputs(images, annotations, detections, min_score)
    net, model_sha, key = _open_model(job, model_path, num_threads, dtype, compression)
    prog, done = _start_or_resume(job, out, key, overwrite)
    resumed = int(done.sum())
    _run_batches(job, net, prog, done, batch_size=batch_size, dtype=dtype,
                 progress=progress, on_batch=on_batch)
    _finalise(job, out, prog, _provenance(job, net, model_sha, command), dtype=dtype,
              compression=compression, copy_images=copy_images)
    n = len(job.boxes)
    return InferSummary(path=out, num_instances=n, resumed=resumed, computed=n - resumed,
                        seconds=time.perf_counter() - t0, boxes=job.box_kind)
