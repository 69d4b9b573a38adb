"""Which model channel is which annotation keypoint: ``--keypoint-map`` and ``--flip-pairs``.

A model trained on another keypoint set (MPII's 16, AI Challenger's 14, COCO-WholeBody's
133) is evaluated on the keypoints it shares with the annotations. The rule, in one
place: the dataset keeps **all** the model's channels, and its ``annotations.json`` is
the ground truth re-expressed in the model's channel order (:func:`remap_annotations`):

- a mapped channel carries its annotation keypoint: name, ground truth (x, y, v) and
  OKS sigma;
- an unmapped channel is named ``channel_<i>`` (or the name the map file gives it) and
  its ground truth is unlabelled (v = 0) in every annotation;
- ``num_keypoints`` counts the labelled mapped joints; ``bbox``, ``area`` (the OKS scale)
  and everything else stay as they were.

COCOeval (pycocotools, hotcoco) averages a person's OKS over the ground truth's labelled
joints only, so OKS, AP and every per-joint figure of the dataset are computed over the
mapped joints with their own sigmas, and unmapped channels are kept but never counted.
Nothing else in daec-viz needs to know about the map. Annotations whose mapped joints
are all unlabelled have ``num_keypoints = 0``: COCOeval ignores them and they get no
ground-truth box.

The map file (JSON) names, for each annotation keypoint the model has, its channel
(0-based); ``channel_names`` (optional) names all K channels of the model (unmapped
channels keep their name; mapped channels always take the annotation's)::

    {"keypoints": {"right_ankle": 0, "right_knee": 1, "right_hip": 2, "left_hip": 3,
                   "left_knee": 4, "left_ankle": 5, "right_wrist": 10, ...},
     "channel_names": ["r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle",
                       "pelvis", "thorax", "upper_neck", "head_top", ...]}

Flip pairs (``--flip-pairs``, JSON): a list of ``[a, b]`` channel pairs, 0-based indices
or channel names; by default they come from the channel names
(:func:`~daec_viz.io.coco_format.flip_pairs_from_names`, ``left_*`` <-> ``right_*``),
which gives COCO's pairs for COCO's 17 joints.

Examples
--------
>>> km = KeypointMap.from_dict({"keypoints": {"nose": 2, "left_eye": 0}}, num_channels=3)
>>> km.channel_names(["nose", "left_eye", "right_eye"])
('left_eye', 'channel_1', 'nose')
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daec_viz.exceptions import InputError
from daec_viz.io.annotations import oks_sigmas_of, read_json

__all__ = ["KeypointMap", "load_keypoint_map", "remap_annotations", "load_flip_pairs"]


@dataclass(frozen=True)
class KeypointMap:
    """Channel of each mapped annotation keypoint.

    Attributes
    ----------
    keypoints : ``{annotation keypoint name: model channel}`` (0-based).
    num_channels : K, the model's channel count.
    names : optional K channel names (None: ``channel_<i>`` for unmapped channels).
    path : the file it came from (for messages).
    """

    keypoints: dict[str, int]
    num_channels: int
    names: tuple[str, ...] | None = None
    path: str | None = None

    @classmethod
    def from_dict(cls, d: Any, num_channels: int, path: str | Path | None = None
                  ) -> KeypointMap:
        """Validate a map file's content for a model with ``num_channels`` channels."""
        where = None if path is None else str(path)
        if not isinstance(d, dict) or not isinstance(d.get("keypoints"), dict) \
                or not d["keypoints"]:
            raise InputError('expected an object {"keypoints": {annotation keypoint name: '
                             'model channel, ...}, "channel_names": [...] (optional)}',
                             field="keypoints", path=where)
        extra = sorted(set(d) - {"keypoints", "channel_names"})
        if extra:
            raise InputError(f"unknown field(s) {extra}; expected `keypoints` and optionally "
                             f"`channel_names`", field=extra[0], path=where)
        kp: dict[str, int] = {}
        for name, ch in d["keypoints"].items():
            if isinstance(ch, bool) or not isinstance(ch, int) or not 0 <= ch < num_channels:
                raise InputError(f"{name!r}: expected a channel index in [0, {num_channels}) "
                                 f"(the model has {num_channels} channels), got {ch!r}",
                                 field="keypoints", path=where)
            kp[str(name)] = ch
        chans = list(kp.values())
        if len(set(chans)) != len(chans):
            dup = next(c for c in chans if chans.count(c) > 1)
            raise InputError(f"channel {dup} is mapped to "
                             f"{[n for n, c in kp.items() if c == dup]}; one keypoint per "
                             f"channel", field="keypoints", path=where)
        names = d.get("channel_names")
        if names is not None:
            ok = isinstance(names, list) and len(names) == num_channels and all(
                isinstance(n, str) and n for n in names) and len(set(names)) == len(names)
            if not ok:
                raise InputError(f"expected {num_channels} unique non-empty names (one per "
                                 f"model channel), got {names!r}"[:300],
                                 field="channel_names", path=where)
            names = tuple(names)
        return cls(kp, int(num_channels), names, where)

    def channel_names(self, annotation_names: Sequence[str]) -> tuple[str, ...]:
        """The K channel names of the dataset: the annotation's name on mapped channels,
        the map file's ``channel_names`` entry (or ``channel_<i>``) on the others.

        Raises InputError when a mapped keypoint is not in ``annotation_names`` or an
        unmapped channel's name repeats one of the annotation's.
        """
        known = set(annotation_names)
        unknown = [n for n in self.keypoints if n not in known]
        if unknown:
            raise InputError(f"keypoint(s) {unknown} are not in the annotations' keypoint "
                             f"category {list(annotation_names)}", field="keypoints",
                             path=self.path)
        out = [f"channel_{i}" if self.names is None else self.names[i]
               for i in range(self.num_channels)]
        for name, ch in self.keypoints.items():
            out[ch] = name
        if len(set(out)) != len(out):
            dup = sorted({n for n in out if out.count(n) > 1})
            raise InputError(f"unmapped channel name(s) {dup} repeat an annotation keypoint's "
                             f"name; rename them in `channel_names`", field="channel_names",
                             path=self.path)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the file's content), for provenance and the run key."""
        d: dict[str, Any] = {"keypoints": dict(self.keypoints)}
        if self.names is not None:
            d["channel_names"] = list(self.names)
        return d


def load_keypoint_map(path: str | Path, num_channels: int) -> KeypointMap:
    """Read and validate a ``--keypoint-map`` file (module docstring) for a model with
    ``num_channels`` channels."""
    d = read_json(path, "keypoint map (JSON)", InputError)
    return KeypointMap.from_dict(d, num_channels, path)


def remap_annotations(data: dict, category: dict, kmap: KeypointMap,
                      path: str | Path | None = None) -> tuple[dict, dict]:
    """COCO keypoint annotations re-expressed in the model's channel order (module
    docstring): returns ``(new dataset dict, new keypoint category)``; the input is not
    modified.

    Parameters
    ----------
    data : the validated COCO keypoints dataset (dict).
    category : its keypoint category (with ``keypoints`` names, optional ``sigmas``,
        ``skeleton`` 1-based).
    kmap : the map, for the model's K channels.
    path : the annotations file (messages only).
    """
    src_names = list(category["keypoints"])
    names = kmap.channel_names(src_names)
    k_src, k = len(src_names), kmap.num_channels
    src_of = np.full(k, -1)  # (K,) annotation index of each channel, -1 unmapped
    for name, ch in kmap.keypoints.items():
        src_of[ch] = src_names.index(name)
    mapped = src_of >= 0
    sig_src = oks_sigmas_of(category, Path(path) if path is not None else Path("?"))
    sigmas = np.full(k, float(sig_src.mean()))  # never used: unmapped GT is unlabelled
    sigmas[mapped] = sig_src[src_of[mapped]]
    cat = dict(category, keypoints=list(names), sigmas=sigmas.tolist())
    if category.get("skeleton"):
        chan_of = {int(s): c for c, s in enumerate(src_of) if s >= 0}
        cat["skeleton"] = [[chan_of[a - 1] + 1, chan_of[b - 1] + 1]
                           for a, b in category["skeleton"]
                           if a - 1 in chan_of and b - 1 in chan_of]
    out = {key: value for key, value in data.items() if key not in ("annotations",
                                                                     "categories")}
    out["categories"] = [cat if c is category or c.get("id") == category["id"] else c
                         for c in data["categories"]]
    anns = []
    for a in data["annotations"]:
        b = copy.deepcopy(a)
        if a.get("category_id") == category["id"] and "keypoints" in a:
            src = np.asarray(a["keypoints"], dtype=np.float64).reshape(k_src, 3)
            kp = np.zeros((k, 3))
            kp[mapped] = src[src_of[mapped]]
            b["keypoints"] = [int(v) if float(v).is_integer() else float(v)
                              for v in kp.reshape(-1)]
            b["num_keypoints"] = int(np.count_nonzero(kp[:, 2] > 0))
        anns.append(b)
    out["annotations"] = anns
    return out, cat


def load_flip_pairs(path: str | Path, channel_names: Sequence[str]) -> list[tuple[int, int]]:
    """Read a ``--flip-pairs`` file: a JSON list of ``[a, b]`` pairs of 0-based channel
    indices or channel names; returns index pairs (each channel in at most one pair)."""
    d = read_json(path, "flip pairs (JSON)", InputError)
    index = {n: i for i, n in enumerate(channel_names)}
    k = len(channel_names)
    if not isinstance(d, list):
        raise InputError("expected a list of [a, b] channel pairs (0-based indices or "
                         "channel names)", field="flip_pairs", path=path)
    pairs: list[tuple[int, int]] = []
    for i, p in enumerate(d):
        ok = isinstance(p, list) and len(p) == 2
        ab = []
        for v in p if ok else ():
            if isinstance(v, str) and v in index:
                ab.append(index[v])
            elif isinstance(v, int) and not isinstance(v, bool) and 0 <= v < k:
                ab.append(v)
        if len(ab) != 2 or ab[0] == ab[1]:
            raise InputError(f"[{i}] expected two different channels (indices in [0, {k}) "
                             f"or names of {list(channel_names)[:20]}...), got {p!r}",
                             field="flip_pairs", path=path)
        pairs.append((ab[0], ab[1]))
    used = [c for p in pairs for c in p]
    if len(set(used)) != len(used):
        raise InputError("a channel appears in more than one pair", field="flip_pairs",
                         path=path)
    return pairs

