"""Person boxes for ``daec-viz infer``: ground truth or detector results, validated.

ground truth = non-crowd annotations of the keypoint category with ``num_keypoints > 0``
(the HRNet / mmpose rule; ``ann_id`` links each to its annotation); detections = a COCO
detection results json (``image_id``, ``bbox`` x, y, w, h, ``score``, optional
``category_id``), kept when ``score >= min_score`` (``ann_id`` -1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daec_viz.exceptions import InputError

__all__ = ["Boxes", "gt_boxes", "detection_boxes"]


@dataclass(frozen=True)
class Boxes:
    """Person boxes to run, one row per instance.

    image_id (n,) int, ann_id (n,) int (-1 for detections), bbox (n, 4) x, y, w, h image
    px, score (n,) detection score (1 for ground truth).
    """

    image_id: np.ndarray
    ann_id: np.ndarray
    bbox: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.image_id)

    def take(self, rows: np.ndarray) -> Boxes:
        """The boxes of the given rows."""
        return Boxes(self.image_id[rows], self.ann_id[rows], self.bbox[rows], self.score[rows])


def gt_boxes(coco_data: dict, category_id: int) -> Boxes:
    """Ground-truth boxes: non-crowd annotations of ``category_id`` with keypoints and a
    positive-size box, sorted by (image_id, ann_id).

    Parameters
    ----------
    coco_data : a COCO keypoints dataset (the loaded json).
    category_id : the keypoint (person) category.

    Returns
    -------
    :class:`Boxes` with score 1 and the annotation ids.
    """
    def labelled(a: dict) -> int:
        n = a.get("num_keypoints")
        return int(np.count_nonzero(np.asarray(a["keypoints"])[2::3])) if n is None else n

    rows = [a for a in coco_data["annotations"]
            if a["category_id"] == category_id and not a.get("iscrowd", 0)
            and labelled(a) > 0 and a["bbox"][2] > 0 and a["bbox"][3] > 0]
    rows.sort(key=lambda a: (a["image_id"], a["id"]))
    return Boxes(np.array([a["image_id"] for a in rows], dtype=np.int64),
                 np.array([a["id"] for a in rows], dtype=np.int64),
                 np.array([a["bbox"] for a in rows], dtype=np.float64).reshape(-1, 4),
                 np.ones(len(rows)))


def detection_boxes(path: str | Path, image_ids: set[int], category_id: int,
                    min_score: float = 0.0) -> Boxes:
    """Detector boxes from a COCO detection results json, validated.

    Keeps entries of ``category_id`` (when the field is present) with
    ``score >= min_score``; sorted by (image_id, -score).

    Parameters
    ----------
    path : the detection results json (a list of ``{image_id, bbox, score,
        category_id}``).
    image_ids : the image ids of the annotations (a detection elsewhere is an error).
    category_id : the person category (entries of other categories are skipped).
    min_score : entries below this score are skipped.

    Returns
    -------
    :class:`Boxes` with ann_id -1. Raises InputError naming the file, the entry and the
    field when an entry is malformed or its image is unknown.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            dets = json.load(fh)
    except FileNotFoundError:
        raise InputError("detections file not found", path=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"expected JSON, got a parse error ({exc})", path=path) from exc
    if not isinstance(dets, list):
        raise InputError("expected a list of detections ({image_id, bbox, score, "
                         "category_id})", path=path)
    ids, boxes, scores = [], [], []
    for i, d in enumerate(dets):
        if not isinstance(d, dict) or not all(k in d for k in ("image_id", "bbox", "score")):
            raise InputError(f"[{i}] needs `image_id`, `bbox` and `score`", field="detections",
                             path=path)
        if d.get("category_id", category_id) != category_id:
            continue
        b = d["bbox"]
        ok = isinstance(b, list) and len(b) == 4 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in b)
        if not ok or not np.all(np.isfinite(b)) or b[2] <= 0 or b[3] <= 0:
            raise InputError(f"[{i}] expected x, y, w, h with w, h > 0, got {b!r}",
                             field="bbox", path=path)
        s = d["score"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not np.isfinite(s):
            raise InputError(f"[{i}] expected a number, got {s!r}", field="score", path=path)
        if d["image_id"] not in image_ids:
            raise InputError(f"[{i}] image {d['image_id']!r} is not in the annotations",
                             field="image_id", path=path)
        if s < min_score:
            continue
        ids.append(int(d["image_id"]))
        boxes.append(b)
        scores.append(float(s))
    order = np.lexsort((-np.asarray(scores), np.asarray(ids))) if ids else np.zeros(0, int)
    return Boxes(np.asarray(ids, dtype=np.int64)[order], np.full(len(ids), -1, np.int64),
                 np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[order],
                 np.asarray(scores, dtype=np.float64)[order])
