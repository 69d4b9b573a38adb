"""COCO keypoint annotations: reading them and the one validator every entry point uses.

:func:`validate_coco_keypoints` is the single rule of what a COCO keypoints file must
hold (``load_dataset``, ``evaluate`` and ``daec-viz coco-eval`` all call it), and
:func:`oks_sigmas_of` / :func:`skeleton_of` read the keypoint category's OKS sigmas and
skeleton.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools.coco import COCO

from daec_viz.evaluation.oks import COCO_OKS_SIGMAS
from daec_viz.exceptions import DatasetError, InputError
from daec_viz.io.coco_format import COCO_KEYPOINT_NAMES, COCO_SKELETON

__all__ = ["validate_coco_keypoints", "load_annotations", "make_coco", "oks_sigmas_of",
           "skeleton_of", "read_json", "MAX_JSON_BYTES"]

#: Largest JSON file daec-viz reads (COCO's biggest keypoints file, train2017, is 238 MB;
#: parsing takes about 10x the file size in memory).
MAX_JSON_BYTES = 1 << 30


def read_json(path: str | Path, what: str = "JSON",
              error: type[InputError] = DatasetError) -> Any:
    """Parse the JSON file ``path``, with one clear error for everything that can go wrong.

    The one JSON reader of user files (annotations, results, ground truth): a missing
    file, a folder, a file that cannot be read (permission denied, a symlink into an
    unreadable folder), one larger than :data:`MAX_JSON_BYTES`, bytes that are not UTF-8,
    a parse error, or nesting too deep for Python's parser all raise ``error`` (an
    :class:`~daec_viz.exceptions.InputError`) naming the file; ``what`` says what the file
    should hold. NaN/Infinity literals parse (as Python's json does); the validators reject
    them where a finite number is expected.
    """
    path = Path(path)
    try:
        if not path.exists():
            raise error(f"file not found; expected {what} here", path=path)
        if path.is_dir():
            raise error(f"is a folder; expected a file with {what}", path=path)
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise error(f"is {size / 2**20:.0f} MiB; expected {what} of at most "
                        f"{MAX_JSON_BYTES / 2**20:.0f} MiB", path=path)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise error(f"cannot read it ({exc.strerror or exc}); expected {what}",
                    path=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"not valid JSON ({exc}); expected {what}", path=path) from None
    except RecursionError:
        raise error(f"not valid JSON (nested too deeply to parse); expected {what}",
                    path=path) from None


def make_coco(dataset: dict) -> COCO:
    """A pycocotools COCO from a dict, without its prints."""
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _keypoint_category(data: dict, path: Path | None) -> dict:
    cats = [c for c in data["categories"] if isinstance(c, dict) and c.get("keypoints")]
    if len(cats) != 1:
        raise DatasetError(f"expected exactly one category with `keypoints`, found "
                           f"{len(cats)}", field="categories", path=path)
    cat = cats[0]
    names = cat["keypoints"]
    if "id" not in cat:
        raise DatasetError("the keypoint category lacks `id`", field="categories.id", path=path)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) \
            or len(set(names)) != len(names):
        raise DatasetError(f"expected a list of unique joint names, got {names!r}",
                           field="categories.keypoints", path=path)
    return cat


def oks_sigmas_of(cat: dict, path: Path) -> np.ndarray:
    names = cat["keypoints"]
    k = len(names)
    if "sigmas" in cat:
        try:
            s = np.asarray(cat["sigmas"], dtype=np.float64)
        except (TypeError, ValueError):
            s = np.empty(0)
        if s.shape != (k,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise DatasetError(f"expected {k} positive numbers (one OKS sigma per joint), "
                               f"got {cat['sigmas']!r}", field="categories.sigmas", path=path)
        return s
    if tuple(names) == COCO_KEYPOINT_NAMES:
        return COCO_OKS_SIGMAS.copy()
    raise DatasetError(f"the keypoint set has {k} joints (not COCO's 17), so the category "
                       f"needs a `sigmas` field with {k} OKS sigmas",
                       field="categories.sigmas", path=path)


def skeleton_of(cat: dict, path: Path) -> list[tuple[int, int]]:
    k = len(cat["keypoints"])
    if "skeleton" not in cat:
        return list(COCO_SKELETON) if tuple(cat["keypoints"]) == COCO_KEYPOINT_NAMES else []
    try:
        pairs = [(int(a) - 1, int(b) - 1) for a, b in cat["skeleton"]]
    except (TypeError, ValueError):
        pairs = None
    if pairs is None or not all(0 <= a < k and 0 <= b < k for a, b in pairs):
        raise DatasetError(f"expected 1-based joint index pairs in [1, {k}], "
                           f"got {cat['skeleton']!r}", field="categories.skeleton", path=path)
    return pairs


def _first_repeat(values: list) -> Any:
    seen = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    return None


def validate_coco_keypoints(data: Any, path: Path | None = None, *,
                            require_category: bool = True) -> tuple[dict, dict | None]:
    """The one check of COCO keypoint annotations (``load_dataset``, ``evaluate`` and
    ``coco-eval`` all call it).

    Checks the top-level lists; exactly one category with ``keypoints`` (K joints);
    unique image ids; unique annotation ids with ``id``, ``image_id`` and
    ``category_id``; for every annotation of the keypoint category: a listed image,
    ``keypoints`` of 3·K numbers, a 4-number ``bbox``, a number ``area``, ``iscrowd`` 0 or
    1, ``num_keypoints`` a non-negative integer. Two fields COCOeval needs but some tools
    leave out are filled in, in the returned copy only (the file is never touched):
    a missing ``iscrowd`` is 0 (not a crowd) and a missing ``num_keypoints`` is the number
    of joints with v > 0 (what COCO's own files hold).

    With ``require_category=False`` (a bare ground truth for COCOeval, whose joint count
    comes from the OKS sigmas) a file without a keypoint category is accepted: then
    every annotation is checked, with K taken from the first one's ``keypoints``.

    Returns
    -------
    ``(data, category)``: the annotations (a shallow copy with filled-in annotations) and
    the keypoint category (None when absent and not required). Raises
    :class:`DatasetError` naming the file, the field, the annotation and what was
    expected.
    """
    if not isinstance(data, dict):
        raise DatasetError(f"expected a JSON object, got {type(data).__name__}", path=path)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError("missing or not a list; COCO annotations have `images`, "
                               "`annotations` and `categories`", field=key, path=path)
    has_cat = any(isinstance(c, dict) and c.get("keypoints") for c in data["categories"])
    cat = _keypoint_category(data, path) if (require_category or has_cat) else None
    if cat is not None:
        k = len(cat["keypoints"])
    else:  # COCOeval alone: K from the annotations (checked against the sigmas later)
        first = next((a.get("keypoints") for a in data["annotations"]
                      if isinstance(a, dict) and isinstance(a.get("keypoints"), list)), [])
        k = len(first) // 3
    for i, im in enumerate(data["images"]):
        if not isinstance(im, dict) or "id" not in im:
            raise DatasetError(f"images[{i}] lacks `id`", field="images.id", path=path)
        if not _is_id(im["id"]):
            raise DatasetError(f"images[{i}]: expected an integer id, got {im['id']!r:.80}",
                               field="images.id", path=path)
    img_ids = [im["id"] for im in data["images"]]
    known_images = set(img_ids)
    if len(known_images) != len(img_ids):
        raise DatasetError(f"expected unique image ids; e.g. {_first_repeat(img_ids)!r} "
                           f"repeats", field="images.id", path=path)
    anns = []
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or not all(key in ann for key in
                                                ("id", "image_id", "category_id")):
            raise DatasetError(f"annotations[{i}] needs `id`, `image_id` and `category_id`",
                               field="annotations", path=path)
        for key in ("id", "image_id", "category_id"):
            if not _is_id(ann[key]):
                raise DatasetError(f"annotations[{i}]: expected an integer, got "
                                   f"{ann[key]!r:.80}", field=f"annotations.{key}", path=path)
        if cat is None or ann["category_id"] == cat["id"]:
            ann = _checked_keypoint_annotation(ann, i, k, known_images, path)
        anns.append(ann)
    ids = [a["id"] for a in anns]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"expected unique annotation ids; e.g. {_first_repeat(ids)!r} "
                           f"repeats", field="annotations.id", path=path)
    return {**data, "annotations": anns}, cat


def _checked_keypoint_annotation(ann: dict, i: int, k: int, known_images: set,
                                 path: Path | None) -> dict:
    where = f"annotations[{i}] (id {ann['id']})"
    if ann["image_id"] not in known_images:
        raise DatasetError(f"{where}: image_id {ann['image_id']!r} is not in `images`",
                           field="annotations.image_id", path=path)
    kp = ann.get("keypoints")
    if not isinstance(kp, list) or len(kp) != 3 * k or not all(_is_number(v) for v in kp):
        got = len(kp) if isinstance(kp, list) and len(kp) != 3 * k else kp
        raise DatasetError(f"{where}: expected {3 * k} numbers (x, y, v of {k} joints), "
                           f"got {str(got)[:80]}", field="annotations.keypoints", path=path)
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        raise DatasetError(f"{where}: expected x, y, w, h numbers, got {bbox!r}",
                           field="annotations.bbox", path=path)
    if not _is_number(ann.get("area")):
        raise DatasetError(f"{where}: expected a number, got {ann.get('area')!r}",
                           field="annotations.area", path=path)
    filled = {}
    if "iscrowd" not in ann:
        filled["iscrowd"] = 0
    elif ann["iscrowd"] not in (0, 1) or isinstance(ann["iscrowd"], float):
        raise DatasetError(f"{where}: expected 0 or 1, got {ann['iscrowd']!r}",
                           field="annotations.iscrowd", path=path)
    if "num_keypoints" not in ann:
        filled["num_keypoints"] = int(sum(1 for v in kp[2::3] if v > 0))
    elif not (isinstance(ann["num_keypoints"], int) and not isinstance(ann["num_keypoints"],
                                                                        bool)
              and 0 <= ann["num_keypoints"] <= k):
        raise DatasetError(f"{where}: expected an integer in [0, {k}], got "
                           f"{ann['num_keypoints']!r}", field="annotations.num_keypoints",
                           path=path)
    return {**ann, **filled} if filled else ann


def _is_id(v: Any) -> bool:
    """COCO ids are integers (a cache stores them as int64)."""
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def load_annotations(path: str | Path) -> tuple[COCO, dict]:
    """Read and validate (:func:`validate_coco_keypoints`) a COCO keypoints
    ``annotations.json``: the pycocotools ``COCO`` and the keypoint category (dict)."""
    path = Path(path)
    data = read_json(path, "COCO keypoint annotations (JSON)")
    data, cat = validate_coco_keypoints(data, path)
    return make_coco(data), cat
