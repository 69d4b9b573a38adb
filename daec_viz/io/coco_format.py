"""The COCO keypoints format: constants and a builder for annotation files.

The COCO person keypoints (17 joints), their skeleton, left/right flip pairs and the OKS
sigmas of the official COCO evaluation, and :func:`make_coco_annotations`, which turns
plain image and annotation records into a dict that ``json.dump`` writes as a valid
``annotations.json`` (the format :func:`daec_viz.io.datasets.load_dataset` reads).

Indices here are 0-based (``COCO_SKELETON``, ``COCO_FLIP_PAIRS``); only the ``skeleton``
field inside a COCO json is 1-based, as in the official files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from daec_viz.exceptions import InputError

COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

#: Limbs as 0-based joint index pairs (the official 1-based COCO skeleton minus one).
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

# COCO's OKS sigmas live with the OKS rule (daec_viz.evaluation.oks); re-exported here

#: (left, right) 0-based index pairs swapped by a horizontal flip.
COCO_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
)

_SIDE = re.compile(r"(?i)(left|right)")


def flip_pairs_from_names(names: Sequence[str]) -> list[tuple[int, int]]:
    """Left/right pairs found by swapping ``left``/``right`` in the keypoint names.

    Returns 0-based ``(left, right)`` index pairs, ordered by the left index.

    Examples
    --------
    >>> flip_pairs_from_names(["nose", "left_eye", "right_eye"])
    [(1, 2)]
    """
    index = {n: i for i, n in enumerate(names)}
    pairs = []
    for i, name in enumerate(names):
        m = _SIDE.search(name)
        if m is None or m.group(1).lower() != "left":
            continue
        word = m.group(1)  # keep its case: left/Left/LEFT -> right/Right/RIGHT
        other = ("RIGHT" if word.isupper() else "Right" if word[0].isupper() else "right")
        j = index.get(name[:m.start()] + other + name[m.end():])
        if j is not None:
            pairs.append((i, j))
    return pairs


def _to_builtin(value: Any) -> Any:
    """numpy scalars/arrays -> Python numbers/lists (so ``json.dump`` accepts them)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_builtin(v) for v in value]
    return value


def make_coco_annotations(images: list[dict], annotations: list[dict],
                          keypoint_names: Sequence[str] | None = None,
                          skeleton: Iterable[Sequence[int]] | None = None,
                          *, sigmas: Sequence[float] | None = None,
                          category_name: str = "person",
                          info: dict | None = None) -> dict:
    """Build a COCO keypoints annotation dict (one keypoint category, id 1).

    Parameters
    ----------
    images : records with at least ``id``, ``file_name``, ``width``, ``height`` (other
        fields are kept).
    annotations : records with ``image_id`` and ``keypoints`` (K*3 numbers or a (K, 3)
        array of x, y in image px and visibility v in {0, 1, 2}). Optional: ``id``
        (default: 1, 2, ... in order), ``bbox`` x, y, w, h (default: the tight box of the
        labelled keypoints), ``area`` (default: w*h of the bbox), ``iscrowd`` (0),
        ``num_keypoints`` (default: the count of v > 0), ``category_id`` (1); other fields
        are kept.
    keypoint_names : the K joint names; default :data:`COCO_KEYPOINT_NAMES`.
    skeleton : limbs as **0-based** index pairs; default :data:`COCO_SKELETON` for the COCO
        names, none otherwise. Written 1-based, as COCO does.
    sigmas : K OKS sigmas, written to the category's ``sigmas`` field. Required when the
        keypoint set is not COCO's 17 (the loader needs them for OKS).
    category_name : name of the category.
    info : the ``info`` record (default: a short daec-viz description).

    Returns
    -------
    dict with ``info``, ``licenses``, ``images``, ``annotations``, ``categories``;
    plain Python types only.

    Examples
    --------
    >>> d = make_coco_annotations(
    ...     [{"id": 7, "file_name": "a.jpg", "width": 64, "height": 48}],
    ...     [{"image_id": 7, "keypoints": [[10, 20, 2]] * 17}])
    >>> d["annotations"][0]["bbox"], d["annotations"][0]["num_keypoints"]
    ([10.0, 20.0, 0.0, 0.0], 17)
    >>> d["categories"][0]["skeleton"][0]
    [16, 14]
    """
    names = list(COCO_KEYPOINT_NAMES if keypoint_names is None else keypoint_names)
    k = len(names)
    if k == 0 or len(set(names)) != k or not all(isinstance(n, str) for n in names):
        raise InputError(f"expected K >= 1 unique strings, got {names!r}",
                         field="keypoint_names")
    is_coco = tuple(names) == COCO_KEYPOINT_NAMES
    if skeleton is None:
        limbs = [list(p) for p in COCO_SKELETON] if is_coco else []
    else:
        limbs = [[int(a), int(b)] for a, b in skeleton]
    for a, b in limbs:
        if not (0 <= a < k and 0 <= b < k):
            raise InputError(f"expected 0-based joint indices in [0, {k}), got ({a}, {b})",
                             field="skeleton")
    category: dict[str, Any] = {"supercategory": category_name, "id": 1,
                                "name": category_name, "keypoints": names,
                                "skeleton": [[a + 1, b + 1] for a, b in limbs]}
    if sigmas is not None:
        s = np.asarray(sigmas, dtype=np.float64)
        if s.shape != (k,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise InputError(f"expected {k} positive finite numbers, got {list(sigmas)!r}",
                             field="sigmas")
        category["sigmas"] = s.tolist()
    elif not is_coco:
        raise InputError(f"a non-COCO keypoint set ({k} joints) needs its K OKS sigmas",
                         field="sigmas")

    out_images = []
    for i, im in enumerate(images):
        for key in ("id", "file_name", "width", "height"):
            if key not in im:
                raise InputError(f"images[{i}] lacks `{key}`", field=f"images.{key}")
        out_images.append(_to_builtin(dict(im)))
    image_ids = {im["id"] for im in out_images}

    out_anns = []
    for i, ann in enumerate(annotations):
        if "image_id" not in ann or "keypoints" not in ann:
            raise InputError(f"annotations[{i}] needs `image_id` and `keypoints`",
                             field="annotations")
        rec = _to_builtin(dict(ann))
        if rec["image_id"] not in image_ids:
            raise InputError(f"annotations[{i}] refers to unknown image id {rec['image_id']}",
                             field="annotations.image_id")
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1)
        if kp.size != 3 * k or not np.all(np.isfinite(kp)):
            raise InputError(f"annotations[{i}]: expected {3 * k} finite numbers "
                             f"(x, y, v for {k} joints), got {kp.size}",
                             field="annotations.keypoints")
        kp3 = kp.reshape(k, 3)
        labelled = kp3[:, 2] > 0
        rec["keypoints"] = [int(v) if float(v).is_integer() else float(v) for v in kp]
        rec.setdefault("num_keypoints", int(labelled.sum()))
        if "bbox" not in rec:
            if labelled.any():
                lo = kp3[labelled, :2].min(axis=0)
                hi = kp3[labelled, :2].max(axis=0)
                rec["bbox"] = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]),
                               float(hi[1] - lo[1])]
            else:
                rec["bbox"] = [0.0, 0.0, 0.0, 0.0]
        rec["bbox"] = [float(v) for v in rec["bbox"]]
        rec.setdefault("area", float(rec["bbox"][2] * rec["bbox"][3]))
        rec.setdefault("iscrowd", 0)
        rec.setdefault("category_id", 1)
        out_anns.append(rec)
    used = {a["id"] for a in out_anns if "id" in a}
    next_id = 1
    for rec in out_anns:
        if "id" not in rec:
            while next_id in used:
                next_id += 1
            rec["id"] = next_id
            used.add(next_id)
    if len({a["id"] for a in out_anns}) != len(out_anns):
        raise InputError("annotation ids must be unique", field="annotations.id")
    return {
        "info": info if info is not None else {"description": "written by daec-viz"},
        "licenses": [],
        "images": out_images,
        "annotations": out_anns,
        "categories": [category],
    }
